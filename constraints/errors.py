"""Exceptions raised by the constraint library.

They belong to the families every optihedge layer shares (defined once, in
``factor_models.errors``, the only module of another package this one imports): a bad
limit is a :class:`SpecificationError`, so ``except SpecificationError`` catches it
whichever package raised it.
"""

from __future__ import annotations

from factor_models.errors import DataError, MissingLabelsError, SpecificationError

__all__ = [
    "ConstraintSpecificationError",
    "ConvexityError",
    "DataError",
    "MissingLabelsError",
    "NotDPPError",
    "SpecificationError",
]


class ConstraintSpecificationError(SpecificationError):
    """A constraint was given an impossible or ill-typed limit."""


class ConvexityError(ConstraintSpecificationError):
    """A constraint or objective term does not follow the DCP rules."""


class NotDPPError(ConstraintSpecificationError):
    """A term is not DPP, so the problem would be recompiled on every solve."""

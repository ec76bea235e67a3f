"""Exceptions raised by the constraint library.

Bad arguments are :class:`ValueError` subclasses, as users expect.
"""

from __future__ import annotations

__all__ = ["ConstraintSpecificationError", "ConvexityError", "NotDPPError"]


class ConstraintSpecificationError(ValueError):
    """A constraint was given an impossible or ill-typed limit."""


class ConvexityError(ConstraintSpecificationError):
    """A constraint or objective term does not follow the DCP rules."""


class NotDPPError(ConstraintSpecificationError):
    """A term is not DPP, so the problem would be recompiled on every solve."""

"""Exceptions raised by the estimation layer.

Every exception stays in the builtin family users already catch: bad data or
arguments are :class:`ValueError` subclasses.
"""

from __future__ import annotations

__all__ = [
    "CollinearityError",
    "EstimationDataError",
    "InsufficientDataError",
]


class EstimationDataError(ValueError):
    """Input data cannot be used for estimation (NaN, misaligned dates, bad shape)."""


class InsufficientDataError(EstimationDataError):
    """Fewer observations than an estimation window needs."""


class CollinearityError(EstimationDataError):
    """Regressors are constant or linearly dependent, so coefficients are not identified."""

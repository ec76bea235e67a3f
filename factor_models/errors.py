"""Exceptions of the estimation layer, and the three families every optihedge layer shares.

One mistake, one family, whichever package catches it:

- :class:`DataError` (a :class:`ValueError`): an array, series or frame the user passed
  is unusable (NaN, infinite, empty, wrong shape, implausible scale).
- :class:`MissingLabelsError` (a :class:`DataError`): labels that must match do not
  (missing, unknown or duplicated), wherever they are checked.
- :class:`SpecificationError` (a :class:`ValueError`): an argument is out of its range or
  of the wrong type (a horizon of 0, a negative limit), names an unknown option or
  parameter, or contradicts another argument.

The roots live here, in the lowest layer that needs them, because ``constraints`` and
``optihedge`` must catch and raise the very same classes (``except SpecificationError``
has to catch a constraint's bad limit too); this module imports nothing else.
"""

from __future__ import annotations

__all__ = [
    "CollinearityError",
    "DataError",
    "DataWarning",
    "EstimationDataError",
    "EstimationLabelsError",
    "InsufficientDataError",
    "MissingLabelsError",
    "SpecificationError",
]


class DataError(ValueError):
    """Input data is unusable: NaN, infinite, empty, mis-shaped or implausibly scaled."""


class MissingLabelsError(DataError):
    """Labels of two inputs that must match do not (missing, unknown or duplicated)."""


class SpecificationError(ValueError):
    """An argument is out of range, of the wrong type, unknown, or contradicts another."""


class EstimationDataError(DataError):
    """Input data cannot be used for estimation (NaN, misaligned dates, bad shape)."""


class EstimationLabelsError(EstimationDataError, MissingLabelsError):
    """Labels of the estimation layer's inputs do not match (caught as either parent)."""


class DataWarning(UserWarning):
    """Data that is usable but implausible (e.g. returns whose volatility suggests percent)."""


class InsufficientDataError(EstimationDataError):
    """Fewer observations than an estimation window needs."""


class CollinearityError(EstimationDataError):
    """Regressors are constant or linearly dependent, so coefficients are not identified."""

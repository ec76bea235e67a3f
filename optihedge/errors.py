"""Every exception optihedge raises, importable from one place.

Three families for bad input, shared by all three packages (one class each, defined in
``factor_models.errors``), so one ``except`` catches a mistake wherever it is found:

- :class:`DataError`: an array, series or frame is unusable (NaN, infinite, empty,
  implausible scale); :class:`MissingLabelsError` for labels that do not match.
- :class:`SpecificationError`: an argument is out of range or of the wrong type, names an
  unknown option or parameter, or contradicts another argument. A constraint's bad
  limit (:class:`ConstraintSpecificationError`) and a term that is not DPP
  (:class:`NotDPPError`) are specification errors too.

Solve outcomes are :class:`RuntimeError` subclasses, and so is :class:`StoreError` (a
sweep's store that cannot be used now: in use by another process, a full disk).
:class:`DataWarning` flags data that is usable but implausible (returns whose volatility
suggests percent).
"""

from __future__ import annotations

from constraints.errors import ConstraintSpecificationError, ConvexityError, NotDPPError
from factor_models.errors import (
    CollinearityError,
    DataError,
    DataWarning,
    EstimationDataError,
    EstimationLabelsError,
    InsufficientDataError,
    MissingLabelsError,
    SpecificationError,
)

__all__ = [
    "CollinearityError",
    "ConstraintSpecificationError",
    "ConvergenceError",
    "ConvexityError",
    "DataError",
    "DataWarning",
    "EstimationDataError",
    "EstimationLabelsError",
    "InfeasibleError",
    "InsufficientDataError",
    "MissingLabelsError",
    "NotDPPError",
    "SolverFailedError",
    "SpecificationError",
    "StoreError",
    "UnboundedError",
]


class ConvergenceError(RuntimeError):
    """An iterative numerical method did not converge."""


class InfeasibleError(RuntimeError):
    """No position satisfies every limit."""


class UnboundedError(RuntimeError):
    """The objective can be improved without limit."""


class SolverFailedError(RuntimeError):
    """The solver stopped without a usable answer."""


class StoreError(RuntimeError):
    """A run's store file cannot be used now: another process holds it, or the disk is full.

    Also a store of a schema version this optihedge does not read (a newer one wrote it).
    """

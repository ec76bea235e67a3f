"""Every exception optihedge raises, importable from one place.

Bad data or arguments are :class:`ValueError` subclasses; solve outcomes are
:class:`RuntimeError` subclasses. The estimation and constraint layers keep their
own exceptions, re-exported here so that users catch from one module.
"""

from __future__ import annotations

from constraints.errors import ConstraintSpecificationError, ConvexityError, NotDPPError
from factor_models.errors import CollinearityError, EstimationDataError, InsufficientDataError

__all__ = [
    "CollinearityError",
    "ConstraintSpecificationError",
    "ConvergenceError",
    "ConvexityError",
    "DataError",
    "EstimationDataError",
    "InfeasibleError",
    "InsufficientDataError",
    "MissingLabelsError",
    "NotDPPError",
    "SolverFailedError",
    "SpecificationError",
    "UnboundedError",
]


class DataError(ValueError):
    """Input data is unusable: NaN, infinite, negative where it must not be, empty."""


class MissingLabelsError(DataError):
    """Labels of two inputs that must match do not (missing, unknown or duplicated)."""


class SpecificationError(ValueError):
    """Arguments contradict each other or name an unknown option."""


class ConvergenceError(RuntimeError):
    """An iterative numerical method did not converge."""


class InfeasibleError(RuntimeError):
    """No position satisfies every limit."""


class UnboundedError(RuntimeError):
    """The objective can be improved without limit."""


class SolverFailedError(RuntimeError):
    """The solver stopped without a usable answer."""

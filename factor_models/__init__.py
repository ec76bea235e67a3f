"""Estimation layer: multi-window regressions, factor risk models, covariance estimators.

Knows nothing of cvxpy or of hedging; never imports ``optihedge`` or ``constraints``.
Heavy dependencies (statsmodels, scikit-learn) load when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from factor_models.errors import (
    CollinearityError,
    DataError,
    EstimationDataError,
    InsufficientDataError,
    MissingLabelsError,
    SpecificationError,
)
from factor_models.horizon import horizon_variance_factor

__all__ = [
    "CollinearityError",
    "DataError",
    "EWMACovariance",
    "EstimationDataError",
    "FactorModel",
    "InsufficientDataError",
    "MissingLabelsError",
    "MultiWindowRegression",
    "MultiWindowResults",
    "RiskModel",
    "RiskModelSet",
    "SpecificationError",
    "StatisticalFactorModel",
    "horizon_variance_factor",
    "newey_west_lags",
    "rolling_ols",
]

_LAZY = {
    "EWMACovariance": "factor_models.covariance",
    "FactorModel": "factor_models.factor_model",
    "StatisticalFactorModel": "factor_models.factor_model",
    "MultiWindowRegression": "factor_models.regression",
    "MultiWindowResults": "factor_models.regression",
    "newey_west_lags": "factor_models.regression",
    "rolling_ols": "factor_models.regression",
    "RiskModel": "factor_models.risk_model",
    "RiskModelSet": "factor_models.risk_model",
}

if TYPE_CHECKING:
    from factor_models.covariance import EWMACovariance
    from factor_models.factor_model import FactorModel, StatisticalFactorModel
    from factor_models.regression import (
        MultiWindowRegression,
        MultiWindowResults,
        newey_west_lags,
        rolling_ols,
    )
    from factor_models.risk_model import RiskModel, RiskModelSet


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'factor_models' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

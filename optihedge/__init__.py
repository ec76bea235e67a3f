"""optihedge: portfolio hedge optimizer.

Importing ``optihedge`` is light: submodules and the heavy libraries they need
(statsmodels, cvxpy, matplotlib) load when first used.

Units and signs (see each function): values in the book's base currency; returns are
simple decimal returns; positions are positive when long; VaR and expected shortfall
are positive loss numbers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY_NAMES = {
    "beta_adjusted_notional": "optihedge.sizing",
    "futures_contracts": "optihedge.sizing",
    "kelly_fraction": "optihedge.sizing",
    "min_variance_hedge_ratio": "optihedge.sizing",
    "target_volatility_multiplier": "optihedge.sizing",
    "returns_from_prices": "optihedge.datasets",
    "Portfolio": "optihedge.portfolio",
    "Future": "optihedge.instruments",
    "ETF": "optihedge.instruments",
    "InverseETF": "optihedge.instruments",
    "PositionReduction": "optihedge.instruments",
    "Cash": "optihedge.instruments",
    "Instrument": "optihedge.instruments",
    "HedgeProblem": "optihedge.problem",
    "HedgeResult": "optihedge.result",
    "Variance": "optihedge.objectives",
    "RobustVariance": "optihedge.objectives",
    "TradingCost": "optihedge.objectives",
    "CarryCost": "optihedge.objectives",
    "RiskModel": "factor_models",
    "RiskModelSet": "factor_models",
    "FactorModel": "factor_models",
    "StatisticalFactorModel": "factor_models",
    "MultiWindowRegression": "factor_models",
    "hedge_quality": "optihedge.diagnostics",
    "Scenarios": "optihedge.scenarios",
    "ExpectedShortfall": "optihedge.shortfall",
}
_SUBMODULES = (
    "attribution",
    "datasets",
    "diagnostics",
    "errors",
    "pricing",
    "risk",
    "sizing",
    "instruments",
    "objectives",
    "problem",
    "result",
    "portfolio",
    "scenarios",
    "shortfall",
)

__all__ = [
    "ETF",
    "CarryCost",
    "Cash",
    "ExpectedShortfall",
    "FactorModel",
    "Future",
    "HedgeProblem",
    "HedgeResult",
    "Instrument",
    "InverseETF",
    "MultiWindowRegression",
    "Portfolio",
    "PositionReduction",
    "RiskModel",
    "RiskModelSet",
    "RobustVariance",
    "Scenarios",
    "StatisticalFactorModel",
    "TradingCost",
    "Variance",
    "__version__",
    "attribution",
    "beta_adjusted_notional",
    "constraints",
    "datasets",
    "diagnostics",
    "errors",
    "futures_contracts",
    "hedge_quality",
    "instruments",
    "kelly_fraction",
    "min_variance_hedge_ratio",
    "objectives",
    "portfolio",
    "pricing",
    "problem",
    "result",
    "returns_from_prices",
    "risk",
    "scenarios",
    "shortfall",
    "sizing",
    "target_volatility_multiplier",
]

if TYPE_CHECKING:
    import constraints
    from factor_models import (
        FactorModel,
        MultiWindowRegression,
        RiskModel,
        RiskModelSet,
        StatisticalFactorModel,
    )
    from optihedge import (
        attribution,
        datasets,
        diagnostics,
        errors,
        instruments,
        objectives,
        portfolio,
        pricing,
        problem,
        result,
        risk,
        sizing,
    )
    from optihedge.datasets import returns_from_prices
    from optihedge.diagnostics import hedge_quality
    from optihedge.instruments import ETF, Cash, Future, Instrument, InverseETF, PositionReduction
    from optihedge.objectives import CarryCost, RobustVariance, TradingCost, Variance
    from optihedge.portfolio import Portfolio
    from optihedge.problem import HedgeProblem
    from optihedge.result import HedgeResult
    from optihedge.scenarios import Scenarios
    from optihedge.shortfall import ExpectedShortfall
    from optihedge.sizing import (
        beta_adjusted_notional,
        futures_contracts,
        kelly_fraction,
        min_variance_hedge_ratio,
        target_volatility_multiplier,
    )


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"optihedge.{name}")
    elif name == "constraints":
        value = importlib.import_module("constraints")
    else:
        raise AttributeError(f"module 'optihedge' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

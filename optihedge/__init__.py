"""optihedge: portfolio hedge optimizer.

Importing ``optihedge`` is light: submodules and the heavy libraries they need
(statsmodels, cvxpy, matplotlib) load when first used.

Units and signs (see each function): values in the book's base currency; returns are
simple decimal returns; positions are positive when long; VaR and expected shortfall
are positive loss numbers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from optihedge.optimize import hooks as _hooks

__version__ = "0.1.0"

_LAZY_NAMES = {
    "beta_adjusted_notional": "optihedge.measures.sizing",
    "futures_contracts": "optihedge.measures.sizing",
    "kelly_fraction": "optihedge.measures.sizing",
    "min_variance_hedge_ratio": "optihedge.measures.sizing",
    "target_volatility_multiplier": "optihedge.measures.sizing",
    "returns_from_prices": "optihedge.datasets",
    "hedge_quality": "optihedge.measures.diagnostics",
    "Portfolio": "optihedge.portfolio",
    "Instrument": "optihedge.instruments",
    "MarketState": "optihedge.instruments",
    "Future": "optihedge.instruments",
    "ETF": "optihedge.instruments",
    "InverseETF": "optihedge.instruments",
    "PositionReduction": "optihedge.instruments",
    "Cash": "optihedge.instruments",
    "Put": "optihedge.instruments",
    "Call": "optihedge.instruments",
    "Collar": "optihedge.instruments",
    "PutSpread": "optihedge.instruments",
    "EventContract": "optihedge.instruments",
    "OptionContract": "optihedge.instruments",
    "VolatilityModel": "optihedge.pricing",
    "portfolio_insurance": "optihedge.pricing",
    "delta_hedge_table": "optihedge.pricing",
    "kelly_comparison": "optihedge.analysis.evaluation",
    "explain": "optihedge.analysis.explain",
    "Explanation": "optihedge.analysis.explain",
    "report": "optihedge.analysis.report",
    "sweep": "optihedge.sweeps",
    "backtest": "optihedge.backtests",
    "BacktestResult": "optihedge.backtests",
    "HedgePolicy": "optihedge.backtests",
    "SweepResult": "optihedge.sweeps",
    "Scenarios": "optihedge.scenarios",
    "HedgeProblem": "optihedge.optimize",
    "HedgeInputs": "optihedge.optimize",
    "HedgeResult": "optihedge.optimize",
    "Objective": "optihedge.optimize",
    "Variance": "optihedge.optimize",
    "RobustVariance": "optihedge.optimize",
    "ExpectedShortfall": "optihedge.optimize",
    "TradingCost": "optihedge.optimize",
    "CarryCost": "optihedge.optimize",
    "scenario_pnl": "optihedge.analysis.evaluation",
    "stress_test": "optihedge.analysis.stress",
    "StressReport": "optihedge.analysis.stress",
    "Shock": "optihedge.analysis.stress",
    "stressed_correlation": "optihedge.analysis.stress",
    "RiskModel": "factor_models",
    "RiskModelSet": "factor_models",
    "FactorModel": "factor_models",
    "StatisticalFactorModel": "factor_models",
    "MultiWindowRegression": "factor_models",
}
#: Modules reachable as ``optihedge.<name>``. ``attribution``, ``diagnostics``, ``risk``
#: and ``sizing`` are small modules of their own (``import optihedge.risk`` works)
#: re-exporting the public names of ``measures/`` and ``analysis/``; ``evaluation`` is a
#: subpackage's module.
_MODULES = {
    "analysis": "optihedge.analysis",
    "attribution": "optihedge.attribution",
    "datasets": "optihedge.datasets",
    "diagnostics": "optihedge.diagnostics",
    "errors": "optihedge.errors",
    "evaluation": "optihedge.analysis.evaluation",
    "instruments": "optihedge.instruments",
    "measures": "optihedge.measures",
    "optimize": "optihedge.optimize",
    "portfolio": "optihedge.portfolio",
    "pricing": "optihedge.pricing",
    "risk": "optihedge.risk",
    "scenarios": "optihedge.scenarios",
    "sizing": "optihedge.sizing",
    "sweeps": "optihedge.sweeps",
    "backtests": "optihedge.backtests",
    "constraints": "constraints",
}

__all__ = [
    "ETF",
    "BacktestResult",
    "Call",
    "CarryCost",
    "Cash",
    "Collar",
    "EventContract",
    "ExpectedShortfall",
    "Explanation",
    "FactorModel",
    "Future",
    "HedgeInputs",
    "HedgePolicy",
    "HedgeProblem",
    "HedgeResult",
    "Instrument",
    "InverseETF",
    "MarketState",
    "MultiWindowRegression",
    "Objective",
    "OptionContract",
    "Portfolio",
    "PositionReduction",
    "Put",
    "PutSpread",
    "RiskModel",
    "RiskModelSet",
    "RobustVariance",
    "Scenarios",
    "Shock",
    "StatisticalFactorModel",
    "StressReport",
    "SweepResult",
    "TradingCost",
    "Variance",
    "VolatilityModel",
    "__version__",
    "analysis",
    "attribution",
    "backtest",
    "backtests",
    "beta_adjusted_notional",
    "constraints",
    "datasets",
    "delta_hedge_table",
    "diagnostics",
    "errors",
    "evaluation",
    "explain",
    "futures_contracts",
    "hedge_quality",
    "instruments",
    "kelly_comparison",
    "kelly_fraction",
    "measures",
    "min_variance_hedge_ratio",
    "optimize",
    "portfolio",
    "portfolio_insurance",
    "pricing",
    "report",
    "returns_from_prices",
    "risk",
    "scenario_pnl",
    "scenarios",
    "sizing",
    "stress_test",
    "stressed_correlation",
    "sweep",
    "sweeps",
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
        analysis,
        attribution,
        backtests,
        datasets,
        diagnostics,
        errors,
        instruments,
        measures,
        optimize,
        portfolio,
        pricing,
        risk,
        scenarios,
        sizing,
        sweeps,
    )
    from optihedge.analysis import evaluation
    from optihedge.analysis.evaluation import kelly_comparison, scenario_pnl
    from optihedge.analysis.explain import Explanation, explain
    from optihedge.analysis.report import report
    from optihedge.analysis.stress import Shock, StressReport, stress_test, stressed_correlation
    from optihedge.backtests import BacktestResult, HedgePolicy, backtest
    from optihedge.datasets import returns_from_prices
    from optihedge.instruments import (
        ETF,
        Call,
        Cash,
        Collar,
        EventContract,
        Future,
        Instrument,
        InverseETF,
        MarketState,
        OptionContract,
        PositionReduction,
        Put,
        PutSpread,
    )
    from optihedge.measures.diagnostics import hedge_quality
    from optihedge.measures.sizing import (
        beta_adjusted_notional,
        futures_contracts,
        kelly_fraction,
        min_variance_hedge_ratio,
        target_volatility_multiplier,
    )
    from optihedge.optimize import (
        CarryCost,
        ExpectedShortfall,
        HedgeInputs,
        HedgeProblem,
        HedgeResult,
        Objective,
        RobustVariance,
        TradingCost,
        Variance,
    )
    from optihedge.portfolio import Portfolio
    from optihedge.pricing import VolatilityModel, delta_hedge_table, portfolio_insurance
    from optihedge.scenarios import Scenarios
    from optihedge.sweeps import SweepResult, sweep


def _deferred(module: str, name: str) -> Callable[..., Any]:
    """``module.name``, imported at the first call (importing optihedge stays light)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


# The result's methods that the analysis layer computes (HedgeResult.explain, .report,
# .stress):
# the optimize layer calls them through its hook registry and never imports analysis.
_hooks.register("explain", _deferred("optihedge.analysis.explain", "explain"))
_hooks.register("report", _deferred("optihedge.analysis.report", "report"))
_hooks.register("stress", _deferred("optihedge.analysis.stress", "stress_result"))
# ProblemSpec.build: the problem module builds the problem (spec never imports it)
_hooks.register("build_problem", _deferred("optihedge.optimize.problem", "problem_from_spec"))


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    elif name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    else:
        raise AttributeError(f"module 'optihedge' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

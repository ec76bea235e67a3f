"""Hedge policies through history: the policy as a value and the walk-forward backtest.

The top layer (above :mod:`optihedge.sweeps`): it may use every layer below it, and only
``optihedge/__init__`` (lazily), the demo and the command line import it.

Modules
-------
policy
    The policy's parts as frozen values: the decision schedule, regime bands, triggers
    between scheduled dates, exit rules written at entry, the rolling premium budget.
triggers
    Decisions between scheduled dates (thresholds with hysteresis and cooldown, regime
    changes, any of / all of).
hedge_policy
    :class:`HedgePolicy`, the whole policy as one frozen value, with how its risk model
    (:class:`Estimation`) and scenarios (:class:`ScenarioRecipe`) are made each date.
costs
    :class:`CostModel`, the one home of the backtest's cost arithmetic.
engine
    :func:`backtest`, the walk-forward engine that marks every day.
durable
    Backtests kept in the run store (resumed after a kill), and :func:`backtest_grid`,
    many policies (:func:`policy_grid`) backtested in parallel through the run engine.
result
    :class:`BacktestResult`, its tables, and what a risk committee reads of them:
    ``summary()`` (hedged against unhedged and the divested alternative, over the whole
    period and the named windows, each row with its unit), ``variance_reduction()``,
    ``risk_forecasts()``, ``plot(kind)``, ``save_figures(folder)`` and ``to_html(path)``
    (the backtest's HTML report, also ``optihedge.report(result, path)``).
metrics
    The statistics the summary reports (performance, drawdowns, hedge efficiency,
    capture, bull-market drag, variance reduction, bias statistic, QLIKE, the divested
    alternative; :data:`~optihedge.backtests.metrics.NAMED_WINDOWS`).
figures
    The backtest's figures: equity curves and drawdowns, hedge ratio and regimes,
    cumulative costs by kind.
"""

from __future__ import annotations

from optihedge.backtests.costs import COST_KINDS, CostModel
from optihedge.backtests.durable import GridResult, backtest_grid, policy_grid
from optihedge.backtests.engine import backtest, quarterly_expiry
from optihedge.backtests.hedge_policy import Estimation, HedgePolicy, ScenarioRecipe
from optihedge.backtests.policy import (
    AllOf,
    AnyExit,
    AnyOf,
    Band,
    BetaDrift,
    CloseWhen,
    CrossRoll,
    DeltaDrift,
    Drawdown,
    ExitAction,
    Harvest,
    HoldToExpiry,
    LotView,
    PremiumBudget,
    RegimeChange,
    Regimes,
    Schedule,
    Threshold,
)
from optihedge.backtests.result import BacktestResult

__all__ = [
    "COST_KINDS",
    "AllOf",
    "AnyExit",
    "AnyOf",
    "BacktestResult",
    "Band",
    "BetaDrift",
    "CloseWhen",
    "CostModel",
    "CrossRoll",
    "DeltaDrift",
    "Drawdown",
    "Estimation",
    "ExitAction",
    "GridResult",
    "Harvest",
    "HedgePolicy",
    "HoldToExpiry",
    "LotView",
    "PremiumBudget",
    "RegimeChange",
    "Regimes",
    "ScenarioRecipe",
    "Schedule",
    "Threshold",
    "backtest",
    "backtest_grid",
    "policy_grid",
    "quarterly_expiry",
]

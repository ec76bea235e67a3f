"""HedgeResult: the allocation, risk before and after, every limit's value and price.

A result is a value: :func:`make_result` builds it from explicit numbers (the problem's
data, the positions, the limit table, the objective's report); it never reads a problem,
so it pickles, travels between processes and compares by its numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from constraints import HedgeData
from optihedge.measures.risk import expected_shortfall, parametric_es, parametric_var, value_at_risk

__all__ = ["HedgeResult", "make_result"]

_BINDING_TOL = 1e-6


@dataclass(frozen=True)
class HedgeResult:
    """The answer to a hedge problem, labelled.

    Attributes
    ----------
    weights : Series by instrument
        Positions x: signed notional as a fraction of the book's value.
    allocation : DataFrame by instrument
        ``weight``, ``notional`` (base currency), ``units`` (contracts or shares),
        ``premium`` (paid up front), ``delta_notional`` (net delta-adjusted exposure)
        and ``annual_carry`` (base currency per year; positive = a cost).
    risk : DataFrame indexed by ("before", "after")
        ``volatility``, ``variance``, ``beta`` (to the problem's market), and normal
        ``var_95``, ``es_95``, ``var_99``, ``es_99`` (zero mean), all over
        ``horizon`` trading days as fractions of the book's value. With scenarios also
        ``scenario_var``, ``scenario_es`` (at the objective's alpha, else 0.95;
        ``attrs["scenario_alpha"]``) and ``tail_scenarios`` (scenarios with a loss
        beyond the VaR).
    constraints : DataFrame by row label
        ``constraint``, ``value``, ``limit``, ``slack``, ``binding`` and
        ``shadow_price`` (objective improvement per unit of relaxation of the limit,
        in the objective's units: variance over the horizon).
    status : str
    solver_stats : dict
    objective_value : float
    horizon : int
    book_value : float
    market : str
    notes : tuple of str
        What the user must know about this solve (e.g. a limit that limits nothing).
    scenario_returns : DataFrame by scenario, optional
        With scenarios: the book's return (``before``) and the hedged book's (``after``)
        in each scenario over the horizon, fractions of the book's value.
    """

    weights: pd.Series
    allocation: pd.DataFrame
    risk: pd.DataFrame
    constraints: pd.DataFrame
    status: str
    solver_stats: dict[str, Any]
    objective_value: float
    horizon: int
    book_value: float
    market: str
    notes: tuple[str, ...] = field(default=())
    scenario_returns: pd.DataFrame | None = None

    @property
    def binding(self) -> list[str]:
        """Labels of the limits that bind at the optimum."""
        c = self.constraints
        return list(c.index[c["binding"] & ~c.index.str.startswith("whole_contracts")])

    def summary(self) -> str:
        """One plain-language sentence: what is protected, what it costs, what binds."""
        money = "{:,.0f}".format
        before, after = self.risk.loc["before"], self.risk.loc["after"]
        hedged = (before["beta"] - after["beta"]) * self.book_value
        carry = float(self.allocation["annual_carry"].sum())
        binds = ", ".join(self.binding) if self.binding else "no limit"
        verb = "binds" if len(self.binding) == 1 else "bind"
        return (
            f"Protecting against {self.market} beta for about {money(hedged)} "
            f"(beta {before['beta']:.2f} -> {after['beta']:.2f}; {self.horizon}-day volatility "
            f"{before['volatility']:.2%} -> {after['volatility']:.2%}), costing about "
            f"{money(carry)} a year in carry; {binds} {verb}."
        )

    def __str__(self) -> str:
        return self.summary()


def _risk_row(
    data: HedgeData, z: np.ndarray, beta: tuple[np.ndarray, float], x: np.ndarray
) -> dict[str, float]:
    variance = data.risk.variance_in_asset_order(z)
    vol = float(np.sqrt(max(variance, 0.0)))
    out = {"volatility": vol, "variance": variance, "beta": float(beta[0] @ x + beta[1])}
    for a in (0.95, 0.99):
        pct = round(a * 100)
        out[f"var_{pct}"] = parametric_var(0.0, vol, a)
        out[f"es_{pct}"] = parametric_es(0.0, vol, a)
    return out


def _scenario_risk(
    risk: pd.DataFrame, scenarios: pd.DataFrame, alpha: float, p: np.ndarray
) -> None:
    """Add scenario VaR, ES and tail size, before and after, to the risk table."""
    for row in ("before", "after"):
        pnl = scenarios[row].to_numpy()
        var = value_at_risk(pnl, alpha, p)
        risk.loc[row, "scenario_var"] = var
        risk.loc[row, "scenario_es"] = expected_shortfall(pnl, alpha, p)
        risk.loc[row, "tail_scenarios"] = float(np.count_nonzero(-pnl > var))
    risk.attrs["scenario_alpha"] = alpha
    risk.attrs["n_scenarios"] = len(scenarios)


def make_result(
    data: HedgeData,
    x: np.ndarray,
    *,
    limits: pd.DataFrame,
    objective_value: float,
    status: str,
    stats: dict[str, Any],
    book_value: float,
    scenario_alpha: float | None = None,
    notes: Sequence[str] = (),
) -> HedgeResult:
    """Collect a solve's numbers into a HedgeResult.

    Parameters
    ----------
    data : HedgeData
        The numbers the problem was solved for.
    x : ndarray of shape (n_instruments,)
        The positions, in ``data.instruments`` order.
    limits : DataFrame
        The limit table (see ``optihedge.optimize.solve.limit_table``).
    objective_value : float
        Unscaled.
    scenario_alpha : float, optional
        Level the scenario VaR and ES are stated at (0.95 when the objective has none).
    """
    labels = data.instruments
    weights = pd.Series(x, index=labels, name="weight")
    attrs = data.attributes
    notional = x * book_value
    delta = data.exposures.to_numpy().sum(axis=0) * notional
    carry = (
        attrs["carry_long"].to_numpy() * x + attrs["carry_short"].to_numpy() * np.maximum(-x, 0.0)
    ) * book_value
    allocation = pd.DataFrame(
        np.column_stack(
            [
                x,
                notional,
                notional / (attrs["contract_value"].to_numpy() * book_value),
                attrs["premium"].to_numpy() * notional,
                delta,
                carry,
            ]
        ),
        index=labels,
        columns=["weight", "notional", "units", "premium", "delta_notional", "annual_carry"],
    )
    market = data.market
    beta = data.beta_coefficients(market)
    w = data.book.to_numpy()
    e = data.exposures.to_numpy()
    before, after = _risk_row(data, w, beta, np.zeros_like(x)), _risk_row(data, w + e @ x, beta, x)
    risk = pd.DataFrame(
        [list(before.values()), list(after.values())],
        index=pd.Index(["before", "after"]),
        columns=list(before),
    )
    risk.attrs["horizon_days"] = data.horizon
    scenarios = None
    if data.scenario_book is not None and data.scenario_probabilities is not None:
        scenarios = pd.DataFrame(
            {"before": data.scenario_book, "after": data.hedged_scenario_returns(x)},
            index=data.scenario_index,
        )
        alpha = 0.95 if scenario_alpha is None else scenario_alpha
        _scenario_risk(risk, scenarios, alpha, data.scenario_probabilities)
    return HedgeResult(
        weights=weights,
        allocation=allocation,
        risk=risk,
        constraints=limits,
        status=status,
        solver_stats=stats,
        objective_value=objective_value,
        horizon=data.horizon,
        book_value=book_value,
        market=str(market),
        notes=tuple(notes),
        scenario_returns=scenarios,
    )

"""HedgeResult: the allocation, risk before and after, every limit's value and price."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optihedge.risk import expected_shortfall, parametric_es, parametric_var, value_at_risk

if TYPE_CHECKING:
    from constraints import HedgeData
    from optihedge.problem import HedgeProblem

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
    risk = data.risk
    b, f, d = risk.loadings.to_numpy(), risk.factor_cov.to_numpy(), risk.specific_var.to_numpy()
    fz = b.T @ z
    variance = float(fz @ f @ fz + z @ (d * z))
    vol = float(np.sqrt(max(variance, 0.0)))
    out = {"volatility": vol, "variance": variance, "beta": float(beta[0] @ x + beta[1])}
    for a in (0.95, 0.99):
        pct = round(a * 100)
        out[f"var_{pct}"] = parametric_var(0.0, vol, a)
        out[f"es_{pct}"] = parametric_es(0.0, vol, a)
    return out


def _scenario_risk(
    risk: pd.DataFrame, problem: HedgeProblem, data: HedgeData, x: np.ndarray
) -> None:
    """Add scenario VaR, ES and tail size, before and after, to the risk table."""
    alpha = float(problem.objective.parameters().get("expected_shortfall.alpha", 0.95))
    p = data.scenario_probabilities
    assert data.scenario_book is not None
    assert data.scenario_pnl is not None
    pnls = {"before": data.scenario_book, "after": data.scenario_book + data.scenario_pnl @ x}
    for row, pnl in pnls.items():
        var = value_at_risk(pnl, alpha, p)
        risk.loc[row, "scenario_var"] = var
        risk.loc[row, "scenario_es"] = expected_shortfall(pnl, alpha, p)
        risk.loc[row, "tail_scenarios"] = float(np.count_nonzero(-pnl > var))
    risk.attrs["scenario_alpha"] = alpha
    risk.attrs["n_scenarios"] = len(data.scenario_book)


def make_result(problem: HedgeProblem, status: str, stats: dict[str, Any]) -> HedgeResult:
    """Collect a solved problem's numbers into a HedgeResult."""
    data = problem.data
    value = problem.portfolio.value
    labels = data.instruments
    x = np.array(problem.x.value, dtype=np.float64)
    for whole in problem.whole_contracts:
        if whole.target is not None and (problem.exact_integer or not whole.integer):
            x[whole.index] = whole.target.value  # whole contracts exactly, not to solver tolerance
    weights = pd.Series(x, index=labels, name="weight")
    attrs = data.attributes
    notional = x * value
    delta = data.exposures.to_numpy().sum(axis=0) * notional
    carry = (
        attrs["carry_long"].to_numpy() * x + attrs["carry_short"].to_numpy() * np.maximum(-x, 0.0)
    ) * value
    allocation = pd.DataFrame(
        {
            "weight": x,
            "notional": notional,
            "units": notional / (attrs["contract_value"].to_numpy() * value),
            "premium": attrs["premium"].to_numpy() * notional,
            "delta_notional": delta,
            "annual_carry": carry,
        },
        index=labels,
    )
    market = data.market
    beta = data.beta_coefficients(market)
    w = data.book.to_numpy()
    e = data.exposures.to_numpy()
    zero = np.zeros_like(x)
    before, after = _risk_row(data, w, beta, zero), _risk_row(data, w + e @ x, beta, x)
    risk = pd.DataFrame(
        [list(before.values()), list(after.values())],
        index=pd.Index(["before", "after"]),
        columns=list(before),
    )
    risk.attrs["horizon_days"] = data.horizon
    if data.scenario_book is not None and data.scenario_pnl is not None:
        _scenario_risk(risk, problem, data, x)
    names: list[str] = []
    owners: list[str] = []
    parts: dict[str, list[np.ndarray]] = {
        "value": [],
        "limit": [],
        "slack": [],
        "binding": [],
        "shadow_price": [],
    }
    for c in problem.constraints:
        for r in problem.rows[id(c)]:
            if r.label == "whole_contracts":
                continue
            values, limits = r.values(), r.limit_values()
            slack = r.slacks(values, limits)
            names.extend(r.names())
            owners.extend([repr(c)] * len(values))
            parts["value"].append(values)
            parts["limit"].append(limits)
            parts["slack"].append(slack)
            parts["binding"].append(
                np.full(len(values), True)
                if r.sense == "=="
                else np.abs(slack) <= _BINDING_TOL * np.maximum(1.0, np.abs(limits))
            )
            parts["shadow_price"].append(r.shadow_prices() / data.objective_scale)
    table = pd.DataFrame(
        {
            "constraint": owners,
            **{k: (np.concatenate(v) if v else np.zeros(0)) for k, v in parts.items()},
        },
        index=pd.Index(names, name="label"),
    )
    table["binding"] = table["binding"].astype(bool)
    return HedgeResult(
        weights=weights,
        allocation=allocation,
        risk=risk,
        constraints=table,
        status=status,
        solver_stats=stats,
        objective_value=float(problem.problem.value) / data.objective_scale,
        horizon=data.horizon,
        book_value=value,
        market=str(market),
    )

"""Build a :class:`~optihedge.optimize.result.HedgeResult` from a solve's numbers.

:func:`make_result` collects the problem's data, the positions, the limit table and the
objective's report into the result's tables (allocation, risk before and after with its
normal and scenario VaR/ES, exposures on assets and factors). It never reads a problem:
the result it returns is a plain value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from constraints import HedgeData
from optihedge.measures import pnl
from optihedge.measures.risk import expected_shortfall, parametric_es, parametric_var, value_at_risk
from optihedge.optimize.breakdown import RiskInputs
from optihedge.optimize.data import data_frequency
from optihedge.optimize.result import POSITION_TOLERANCE, HedgeResult

__all__ = ["make_result"]

_LEVELS = (0.95, 0.99)


def _normal_risk(vol: float, mean: float | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for a in _LEVELS:
        pct = round(a * 100)
        out[f"var_{pct}"] = parametric_var(0.0, vol, a)
        out[f"es_{pct}"] = parametric_es(0.0, vol, a)
    if mean is not None:
        out["mean"] = mean
        for a in _LEVELS:
            pct = round(a * 100)
            out[f"var_{pct}_with_mean"] = parametric_var(mean, vol, a)
            out[f"es_{pct}_with_mean"] = parametric_es(mean, vol, a)
    return out


def _risk_table(data: HedgeData, x: np.ndarray) -> pd.DataFrame:
    c, c0 = data.beta_coefficients(data.market)
    w = data.book.to_numpy()
    z = {"before": w, "after": pnl.hedged_book(w, data.exposures.to_numpy(), x)}
    beta = {"before": c0, "after": float(c @ x + c0)}
    mu = None
    if data.expected_returns is not None and data.assets.isin(data.expected_returns.index).all():
        mu = data.expected_returns.reindex(data.assets).to_numpy(dtype=np.float64)
    rows = []
    for name, position in z.items():
        variance = data.risk.variance_in_asset_order(position)
        vol = float(np.sqrt(max(variance, 0.0)))
        mean = None if mu is None else float(mu @ position)
        rows.append({"volatility": vol, "variance": variance, "beta": beta[name]})
        rows[-1] |= _normal_risk(vol, mean)
    risk = pd.DataFrame(  # one block: this runs on every solve of a sweep
        np.array([list(r.values()) for r in rows]), index=list(z), columns=list(rows[0])
    )
    frequency = data_frequency(data)
    risk.attrs["horizon_days"] = int(frequency.trading_days(data.horizon))
    risk.attrs["horizon"] = frequency.label(data.horizon)
    risk.attrs["frequency"] = str(frequency)
    risk.attrs["normal_var_es"] = "var_* / es_*: normal, zero mean" + (
        "; *_with_mean: normal with the expected returns' mean" if mu is not None else ""
    )
    return risk


def _scenario_risk(
    risk: pd.DataFrame,
    scenarios: pd.DataFrame,
    alpha: float,
    p: np.ndarray,
    after: tuple[float, float] | None = None,
) -> None:
    """Add scenario VaR, ES and tail size, before and after, to the risk table.

    ``after``: the hedged book's (VaR, ES) at ``alpha`` when already computed (a
    solution's), so the scenarios are not sorted twice.
    """
    for row in ("before", "after"):
        returns = scenarios[row].to_numpy()
        if row == "after" and after is not None:
            var, es = after
        else:
            var, es = value_at_risk(returns, alpha, p), expected_shortfall(returns, alpha, p)
        risk.loc[row, "scenario_var"] = var
        risk.loc[row, "scenario_es"] = es
        risk.loc[row, "tail_scenarios"] = float(np.count_nonzero(-returns > var))
    risk.attrs["scenario_alpha"] = alpha
    risk.attrs["n_scenarios"] = len(scenarios)


def _exposure_tables(data: HedgeData, x: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    w = data.book.to_numpy()
    after = pnl.hedged_book(w, data.exposures.to_numpy(), x)
    columns = ["before", "after"]
    assets = pd.DataFrame(np.column_stack([w, after]), index=data.assets, columns=columns)
    b = data.risk.loadings.to_numpy()
    factors = pd.DataFrame(
        np.column_stack([b.T @ w, b.T @ after]), index=data.risk.factor_cov.index, columns=columns
    )
    return assets, factors


def make_result(
    data: HedgeData,
    x: np.ndarray,
    *,
    limits: pd.DataFrame,
    objective_value: float,
    status: str,
    stats: dict[str, Any],
    capital: float,
    currency: str = "USD",
    scenario_alpha: float | None = None,
    notes: Sequence[str] = (),
    scenario_after: tuple[float, float] | None = None,
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
    capital, currency
        The book's capital (what fractions are of) and its currency.
    scenario_alpha : float, optional
        Level the scenario VaR and ES are stated at (0.95 when the objective has none).
    notes : sequence of str
        What the user must know about this solve.
    scenario_after : (float, float), optional
        The hedged book's scenario VaR and ES at that level, when already computed (a
        :class:`~optihedge.optimize.solution.Solution`'s); else computed here.
    """
    x = np.where(np.abs(x) < POSITION_TOLERANCE, 0.0, x) + 0.0  # no -0.0 either
    labels = data.instruments
    notional = x * capital
    units = pnl.units(x, data.attribute("contract_value"))
    carry = pnl.annual_carry(x, data.attribute("carry_long"), data.attribute("carry_short"))
    allocation = pd.DataFrame(
        np.column_stack(
            [
                x,
                notional,
                units,
                np.round(units) + 0.0,
                pnl.premium_paid(x, data.attribute("premium")) * capital,
                data.attribute("annual_premium") * notional,
                data.exposures.to_numpy().sum(axis=0) * notional,
                carry * capital,
            ]
        ),
        index=labels,
        columns=[
            "weight",
            "notional",
            "units",
            "units_rounded",
            "premium",
            "annual_premium",
            "delta_notional",
            "annual_carry",
        ],
    )
    risk = _risk_table(data, x)
    scenarios = None
    if data.scenario_book is not None and data.scenario_probabilities is not None:
        assert data.scenario_pnl is not None
        after = pnl.hedged_pnl(data.scenario_book, data.scenario_pnl, x)
        scenarios = pd.DataFrame(
            {"before": data.scenario_book, "after": after},
            index=data.scenario_index,
        )
        alpha = 0.95 if scenario_alpha is None else scenario_alpha
        _scenario_risk(risk, scenarios, alpha, data.scenario_probabilities, scenario_after)
    exposures, factor_exposures = _exposure_tables(data, x)
    return HedgeResult(
        weights=pd.Series(x, index=labels, name="weight"),
        allocation=allocation,
        risk=risk,
        constraints=limits,
        status=status,
        solver_stats=stats,
        objective_value=objective_value,
        horizon=data.horizon,
        frequency=data_frequency(data),
        capital=capital,
        market=str(data.market),
        notes=tuple(notes),
        scenario_returns=scenarios,
        currency=currency,
        exposures=exposures,
        factor_exposures=factor_exposures,
        risk_inputs=RiskInputs(
            risk=data.risk,
            exposures=data.exposures,
            book=data.book,
            holdings=data.book.index[data.book.to_numpy() != 0],
            scenario_assets=data.scenario_assets,
            scenario_pnl=data.scenario_pnl,
            scenario_book=data.scenario_book,
            probabilities=data.scenario_probabilities,
            alpha=0.95 if scenario_alpha is None else scenario_alpha,
            attributes=data.attributes,
            beta=data.beta_coefficients(data.market),
        ),
    )

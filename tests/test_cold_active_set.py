"""Issue 19: the cold active-set expected-shortfall solve under a binding gross cap.

The cold solve goes through the kept solver (Clarabel alone), so that its limit
multipliers can be certified unique and the one-sided slopes need no re-solves. Checked
here against numbers computed by hand: the hedged scenario P&L from the weights and the
scenario returns, the expected shortfall by sorting (Acerbi-Tasche, equal weights), the
gross cap's price from a raw cvxpy LP over every scenario; and the attribution's rows
against that expected shortfall, also where the hedge offsets a holding exactly (a
position at its bound, as the dense active set answers: the attribution by factor lost
that holding's P&L).
"""

from __future__ import annotations

import dataclasses

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import optihedge as oh
from constraints import GrossExposure
from optihedge.measures.risk import expected_shortfall

ALPHA = 0.9
BOOK = oh.Portfolio.from_holdings({"A": 0.5, "B": 0.3, "C": 0.2})
INSTRUMENTS = [
    oh.ETF("E", underlying="IDX", price=40.0),
    oh.PositionReduction("sell A", holding="A", price=50.0),
]


def returns(twice: bool) -> pd.DataFrame:
    """300 one-period scenarios of A, B, C on a fat-tailed index; ``twice``: 295, each twice.

    Every scenario repeated: the losses tie in pairs, and the tail of 59 of the 590 ends
    inside a pair (the VaR scenario is tied with one outside the tail).
    """
    rng = np.random.default_rng(7)
    n = 295 if twice else 300
    idx = rng.standard_t(4, n) * 0.01
    frame = pd.DataFrame(
        {
            "A": 1.2 * idx + rng.standard_t(4, n) * 0.012,
            "B": 0.8 * idx + rng.normal(0.0, 0.006, n),
            "C": 0.5 * idx + rng.normal(0.0, 0.005, n),
            "IDX": idx,
        }
    )
    return pd.concat([frame, frame], ignore_index=True) if twice else frame


def problem(gross: float, twice: bool = False) -> oh.HedgeProblem:
    return oh.HedgeProblem(
        BOOK,
        INSTRUMENTS,
        objective=oh.ExpectedShortfall(ALPHA, method="active_set"),
        constraints=[GrossExposure(gross)],
        scenarios=oh.Scenarios.from_returns(returns(twice)),
        market="IDX",
    )


def hand_pnl(frame: pd.DataFrame, e: float, sell_a: float) -> np.ndarray:
    """The hedged book's return in each scenario: holdings, the ETF, the sale of A."""
    book = 0.5 * frame["A"] + 0.3 * frame["B"] + 0.2 * frame["C"]
    return (book + e * frame["IDX"] + sell_a * frame["A"]).to_numpy()


def hand_es(pnl: np.ndarray, alpha: float) -> float:
    """Mean loss of the worst (1 - alpha) n scenarios, the boundary one by its share."""
    losses = np.sort(-pnl)[::-1]
    m = (1.0 - alpha) * len(losses)
    whole = int(np.floor(m))
    return float((losses[:whole].sum() + (m - whole) * losses[whole]) / m)


def raw_lp_price(frame: pd.DataFrame, gross: float) -> tuple[float, float]:
    """The full Rockafellar-Uryasev LP in raw cvxpy: its optimum and the cap's multiplier."""
    n = len(frame)
    e, sell_a, zeta = cp.Variable(), cp.Variable(), cp.Variable()
    u = cp.Variable(n, nonneg=True)
    book = (0.5 * frame["A"] + 0.3 * frame["B"] + 0.2 * frame["C"]).to_numpy()
    loss = -(book + e * frame["IDX"].to_numpy() + sell_a * frame["A"].to_numpy())
    cap = cp.abs(e) <= gross
    lp = cp.Problem(
        cp.Minimize(zeta + cp.sum(u) / ((1.0 - ALPHA) * n)),
        [u >= loss - zeta, cap, sell_a >= -0.5, sell_a <= 0.0],
    )
    tight = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}
    lp.solve(solver=cp.CLARABEL, **tight)
    assert lp.status == cp.OPTIMAL
    return float(lp.value), float(cap.dual_value)


def after_rows(result: oh.HedgeResult, by: str) -> float:
    table = result.attribution(by=by, measure="expected_shortfall")
    return float(table["after"].drop("total").sum())


@pytest.mark.parametrize("gross", [0.2, 0.3])
def test_cold_solve_is_certified_and_exact(gross: float) -> None:
    frame = returns(False)
    result = problem(gross).solve()
    stats = result.solver_stats
    # certified: no re-solve measured the cap's slopes
    assert stats.get("slopes_certified") is True
    assert stats.get("slope_resolves", 0) == 0
    e, sell_a = result.weights["E"], result.weights["sell A"]
    pnl = hand_pnl(frame, e, sell_a)
    assert result.scenario_returns is not None
    np.testing.assert_allclose(result.scenario_returns["after"].to_numpy(), pnl, atol=1e-15)
    es = hand_es(pnl, ALPHA)
    assert es == pytest.approx(expected_shortfall(pnl, ALPHA), rel=1e-12)
    assert result.risk.loc["after", "scenario_es"] == pytest.approx(es, rel=1e-10)
    assert result.objective_value == pytest.approx(es, rel=1e-7)  # the LP, to its tolerance
    optimum, price = raw_lp_price(frame, gross)
    assert es == pytest.approx(optimum, rel=1e-7)
    row = result.constraints.loc["gross_exposure.max"]
    assert row["binding"]
    assert row["value"] == pytest.approx(gross, abs=1e-8)
    assert row["shadow_price"] == pytest.approx(price, rel=1e-5)
    assert row["tightening_costs"] == row["shadow_price"]
    for by in ("factor", "instrument", "leg"):
        assert after_rows(result, by) == pytest.approx(es, rel=1e-10)


@pytest.mark.parametrize("gross", [0.2, 0.3])
def test_ties_at_the_var_cold_solve_reports_the_hand_es(gross: float) -> None:
    frame = returns(True)
    result = problem(gross, twice=True).solve()
    pnl = hand_pnl(frame, result.weights["E"], result.weights["sell A"])
    losses = np.sort(-pnl)[::-1]
    assert round((1.0 - ALPHA) * len(pnl)) == 59
    assert losses[58] == losses[59]  # the tail's last scenario is tied with the next
    es = hand_es(pnl, ALPHA)
    assert result.risk.loc["after", "scenario_es"] == pytest.approx(es, rel=1e-10)
    point = problem(gross, twice=True).solve_point()
    assert point.scenario_es is not None
    assert point.scenario_es == pytest.approx(es, rel=1e-10)
    for by in ("factor", "instrument", "leg"):
        assert after_rows(result, by) == pytest.approx(es, rel=1e-10)
    assert result.constraints.loc["gross_exposure.max", "binding"]


@pytest.mark.parametrize("twice", [False, True])
def test_attribution_of_a_hedge_that_offsets_a_holding_exactly(twice: bool) -> None:
    frame = returns(twice)
    solved = problem(0.2, twice=twice).solve()
    # the vertex the dense active set answers: the cap and the sale exactly at their bounds
    weights = pd.Series([-0.2, -0.5], index=solved.weights.index, name=solved.weights.name)
    exact = dataclasses.replace(solved, weights=weights)
    es = hand_es(hand_pnl(frame, -0.2, -0.5), ALPHA)
    for by in ("factor", "instrument", "leg", "holding"):
        assert after_rows(exact, by) == pytest.approx(es, rel=1e-10)

"""Numbers a result states, against quantities computed here by an independent path.

``HedgeResult.explain``: the betas, volatilities, beta band and annual cost of the
policy sentence, from a covariance computed by hand (numpy, ddof=0, scaled to the
horizon), the book's and the instruments' own fields and textbook formulas; the band's
meaning (a drift of the beta by its half-width raises the hedged variance by the
tolerance, where the hedge leaves no market covariance) checked directly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cases import three_stocks

import optihedge as oh
from constraints import ResidualBeta

DAILY = three_stocks(500, seed=23, start="2019-01-01")
ASSETS = ["A", "B", "C", "IDX"]
# the covariance by hand: maximum likelihood (ddof=0), daily
COV = np.cov(DAILY[ASSETS].to_numpy(), rowvar=False, ddof=0)
MODEL = oh.RiskModel.from_covariance(pd.DataFrame(COV, index=ASSETS, columns=ASSETS))
HOLDINGS = {"A": 5e5, "B": 3e5, "C": 2e5}
CAPITAL = 1e6
HORIZON = 10
# per unit of notional: a future and an ETF 1 on the index
FUTURE = oh.Future("F", underlying="IDX", price=4000.0, multiplier=50.0, carry=0.012)
ETF = oh.ETF("E", underlying="IDX", price=400.0, expense_ratio=0.003, borrow_fee=0.02)


def solve(instruments: list[oh.Instrument], constraints: list[object]) -> oh.HedgeResult:
    return oh.HedgeProblem(
        oh.Portfolio.from_holdings(HOLDINGS),
        instruments,
        objective=oh.Variance(),
        constraints=constraints,  # type: ignore[arg-type]
        risk_model=MODEL,
        horizon=HORIZON,
        market="IDX",
    ).solve()


def by_hand(result: oh.HedgeResult) -> dict[str, float]:
    """Betas, variances and volatilities before and after, over the horizon, by hand."""
    sigma = COV * HORIZON  # i.i.d. daily returns: variances add over the days
    book = np.array([HOLDINGS.get(a, 0.0) / CAPITAL for a in ASSETS])
    hedge = np.zeros(len(ASSETS))
    hedge[ASSETS.index("IDX")] = float(result.weights.sum())  # every instrument: 1 on IDX
    after = book + hedge
    m = ASSETS.index("IDX")
    out = {"market_var": float(sigma[m, m])}
    for side, z in (("before", book), ("after", after)):
        out[f"var_{side}"] = float(z @ sigma @ z)
        out[f"vol_{side}"] = float(np.sqrt(z @ sigma @ z))
        out[f"beta_{side}"] = float((sigma @ z)[m] / sigma[m, m])
    return out


def annual_carry(weights: pd.Series) -> float:
    """The hedge's annual carry, fraction of capital: a future pays its carry long and
    earns it short; an ETF costs its expense ratio long, and short its borrow fee less
    the expense ratio it no longer pays."""
    x_f, x_e = float(weights.get("F", 0.0)), float(weights.get("E", 0.0))
    etf = 0.003 * x_e if x_e >= 0 else (0.02 - 0.003) * -x_e
    return 0.012 * x_f + etf


class TestExplain:
    @pytest.mark.parametrize("beta_floor", [None, 0.3])
    def test_numbers_against_a_hand_covariance(self, beta_floor: float | None) -> None:
        limits = [] if beta_floor is None else [ResidualBeta(min=beta_floor)]
        result = solve([FUTURE], limits)
        hand = by_hand(result)
        n = result.explain().numbers
        if beta_floor is not None:
            assert "residual_beta.min" in result.binding
            assert hand["beta_after"] == pytest.approx(beta_floor, abs=1e-7)
        else:
            assert hand["beta_after"] == pytest.approx(0.0, abs=1e-7)  # fully hedged
        assert n["beta_before"] == pytest.approx(hand["beta_before"], rel=1e-9)
        assert n["beta_after"] == pytest.approx(hand["beta_after"], abs=1e-9)
        assert n["beta_protected"] == pytest.approx(
            hand["beta_before"] - hand["beta_after"], rel=1e-9
        )
        assert n["volatility_before"] == pytest.approx(hand["vol_before"], rel=1e-9)
        assert n["volatility_after"] == pytest.approx(hand["vol_after"], rel=1e-9)
        # the band: the beta drift that adds 10% of the hedged variance, both over the
        # horizon: drift^2 var(market) = 0.10 var(after)
        drift = np.sqrt(0.10 * hand["var_after"] / hand["market_var"])
        assert n["band_low"] == pytest.approx(hand["beta_before"] - drift, rel=1e-9)
        assert n["band_high"] == pytest.approx(hand["beta_before"] + drift, rel=1e-9)
        assert n["annual_cost_fraction"] == pytest.approx(
            annual_carry(result.weights), rel=1e-9, abs=1e-15
        )
        assert n["annual_carry"] == pytest.approx(
            annual_carry(result.weights) * CAPITAL, rel=1e-9, abs=1e-9
        )
        sentence = result.explain().sentence
        assert f"beta of about {hand['beta_before'] - hand['beta_after']:.2f}" in sentence
        assert f"USD 1,000,000 for {HORIZON} trading days" in sentence
        assert f"{hand['beta_before'] - drift:.2f}-{hand['beta_before'] + drift:.2f}" in sentence

    def test_the_band_is_the_drift_that_adds_the_tolerance(self) -> None:
        # the minimum-variance future leaves no covariance with the market, so a drift of
        # the book's beta by d adds d^2 var(market): at the band's edge, 10% (or 25%)
        result = solve([FUTURE], [])
        sigma = COV * HORIZON
        book = np.array([HOLDINGS.get(a, 0.0) / CAPITAL for a in ASSETS])
        m = ASSETS.index("IDX")
        after = book.copy()
        after[m] += float(result.weights["F"])
        assert (sigma @ after)[m] == pytest.approx(0.0, abs=1e-12)
        base = float(after @ sigma @ after)
        for tau in (0.10, 0.25):
            n = result.explain(tau).numbers
            for edge in (n["band_low"], n["band_high"]):
                drifted = after.copy()
                drifted[m] += edge - n["beta_before"]
                grown = float(drifted @ sigma @ drifted)
                assert grown == pytest.approx((1.0 + tau) * base, rel=1e-8)

    def test_cost_of_a_short_etf_is_its_borrow_fee_net_of_the_expense_ratio(self) -> None:
        # the ETF alone, short: carry from its own fields by hand
        result = solve([ETF], [])
        assert result.weights["E"] < 0
        n = result.explain().numbers
        assert n["annual_cost_fraction"] == pytest.approx(annual_carry(result.weights), rel=1e-9)
        assert n["annual_cost_fraction"] == pytest.approx(0.017 * -result.weights["E"], rel=1e-9)


def test_rolling_ols_flags_a_factor_constant_in_a_window_without_a_warning() -> None:
    # eight zero returns then a jump: the windows of zeros have a variance that
    # differences of cumulative sums can round below zero; the factor is constant there
    from factor_models import CollinearityError, rolling_ols

    x = pd.DataFrame({"A": [0.0] * 8 + [0.125]}, index=pd.bdate_range("2021-01-01", periods=9))
    with pytest.raises(CollinearityError, match="constant or linearly dependent"):
        rolling_ols(x, x, 5)

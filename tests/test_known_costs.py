"""Costs, carry, premium and trading limits checked against numbers computed by hand.

Each test recomputes the number the library reports from the instruments' own fields
(expense ratio x notional, Black-Scholes with ``scipy.stats.norm``, participation x
days x ADV / capital, rounding to the nearest contract) or solves the same problem in
raw cvxpy written here, so that a slip in the formula (a rate divided by 252, a horizon
taken as a year, a rounding down, premium received left out, ``days`` ignored) fails
on the number.
"""

from __future__ import annotations

import math

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import optihedge as oh
from constraints import Bounds, CarryBudget, Liquidity, PremiumBudget
from constraints.errors import ConstraintSpecificationError
from factor_models import RiskModel
from optihedge.pricing import VolatilityModel

ASSETS = ["A", "B", "IDX", "NDX"]
V = 1_000_000.0  # the book's capital in every test


def _covariance() -> pd.DataFrame:
    """Daily covariance of two stocks, an index and a second index (positive definite)."""
    loadings = np.array([[0.9, 0.3], [1.2, -0.2], [1.0, 0.0], [1.1, 0.5]])
    factor_var = np.array([1.0e-4, 0.4e-4])
    specific = np.array([1.2e-4, 1.5e-4, 0.1e-4, 0.2e-4])
    sigma = loadings @ np.diag(factor_var) @ loadings.T + np.diag(specific)
    return pd.DataFrame(sigma, index=ASSETS, columns=ASSETS)


COV = _covariance()
MODEL = RiskModel.from_covariance(COV)
BOOK = oh.Portfolio.from_holdings({"A": 0.6 * V, "B": 0.4 * V})
W = np.array([0.6, 0.4, 0.0, 0.0])  # the book's weights in ASSETS order


def _exposure(labels_underlyings: list[str], deltas: list[float] | None = None) -> np.ndarray:
    """Exposure matrix (ASSETS x instruments): ``delta`` on each one's underlying."""
    e = np.zeros((len(ASSETS), len(labels_underlyings)))
    for j, u in enumerate(labels_underlyings):
        e[ASSETS.index(u), j] = 1.0 if deltas is None else deltas[j]
    return e


# ---------------------------------------------------------------------------- carry
class TestAnnualCarry:
    """``annual_carry`` = carry rate x notional (a year's carry, never a day's)."""

    def _pinned(self, instruments: list[oh.Instrument], x: dict[str, float]) -> oh.HedgeResult:
        return oh.HedgeProblem(
            BOOK,
            instruments,
            objective=oh.Variance(),
            constraints=[Bounds(lower=x, upper=x), CarryBudget(1.0)],
            risk_model=MODEL,
            horizon=21,
            market="IDX",
        ).solve()

    def test_inverse_etf_pays_its_expense_ratio_on_the_notional(self) -> None:
        sh = oh.InverseETF("SH", underlying="IDX", price=13.0, expense_ratio=0.0088)
        res = self._pinned([sh], {"SH": 0.3})
        notional = 0.3 * V
        assert res.allocation.loc["SH", "notional"] == pytest.approx(notional, rel=1e-9)
        # USD 300,000 of SH at 0.88% a year: USD 2,640 a year
        assert res.allocation.loc["SH", "annual_carry"] == pytest.approx(2_640.0, rel=1e-9)
        assert res.allocation.loc["SH", "annual_carry"] == pytest.approx(0.0088 * notional)
        # the carry budget's value is the same carry as a fraction of capital
        row = res.constraints.loc["carry_budget.max"]
        assert row["value"] == pytest.approx(0.0088 * 0.3, rel=1e-9)
        assert f"at a carry of USD {2_640:,.0f} a year" in res.summary()

    def test_etf_short_pays_borrow_and_earns_the_expense_ratio_future_its_carry(self) -> None:
        qqq = oh.ETF("QQQ", underlying="NDX", price=350.0, expense_ratio=0.002, borrow_fee=0.01)
        es = oh.Future("ES", underlying="IDX", price=4000.0, multiplier=50.0, carry=0.015)
        res = self._pinned([qqq, es], {"QQQ": -0.4, "ES": -0.5})
        # short USD 400,000 QQQ: expense ratio earned (-0.2%), borrow paid (+1%)
        qqq_carry = 0.002 * (-0.4 * V) + 0.01 * (0.4 * V)
        es_carry = 0.015 * (-0.5 * V)  # a short future earns its carry
        assert qqq_carry == pytest.approx(3_200.0)
        assert es_carry == pytest.approx(-7_500.0)
        alloc = res.allocation
        assert alloc.loc["QQQ", "annual_carry"] == pytest.approx(qqq_carry, rel=1e-9)
        assert alloc.loc["ES", "annual_carry"] == pytest.approx(es_carry, rel=1e-9)
        row = res.constraints.loc["carry_budget.max"]
        assert row["value"] == pytest.approx((qqq_carry + es_carry) / V, rel=1e-9)

    def test_a_long_future_earning_its_carry_nets_against_the_budget(self) -> None:
        # backwardation: a long future earns 1% a year; the budget nets it, never clips it
        es = oh.Future("ES", underlying="IDX", price=4000.0, multiplier=50.0, carry=-0.01)
        res = self._pinned([es], {"ES": 0.5})
        assert res.allocation.loc["ES", "annual_carry"] == pytest.approx(-0.01 * 0.5 * V)
        row = res.constraints.loc["carry_budget.max"]
        assert row["value"] == pytest.approx(-0.005, rel=1e-9)

    def test_sweep_point_states_the_same_annual_carry(self) -> None:
        sh = oh.InverseETF("SH", underlying="IDX", price=13.0, expense_ratio=0.0088)
        problem = oh.HedgeProblem(
            BOOK,
            [sh],
            objective=oh.Variance(),
            constraints=[Bounds(lower={"SH": 0.3}, upper={"SH": 0.3}), CarryBudget(1.0)],
            risk_model=MODEL,
            horizon=21,
            market="IDX",
        )
        swept = oh.sweep(problem, {"carry_budget.max": [0.5, 1.0]}, progress=False)
        np.testing.assert_allclose(swept.points["annual_carry"], 0.0088 * 0.3 * V, rtol=1e-9)


class TestCarryCostObjective:
    """``CarryCost`` charges carry over the problem's horizon: rate x h / 252."""

    @pytest.mark.parametrize(("horizon", "weight"), [(21, 1.0), (63, 0.5)])
    def test_against_raw_cvxpy(self, horizon: int, weight: float) -> None:
        es = oh.Future("ES", underlying="IDX", price=4000.0, multiplier=50.0, carry=0.06)
        qqq = oh.ETF("QQQ", underlying="NDX", price=350.0, expense_ratio=0.01, borrow_fee=0.08)
        res = oh.HedgeProblem(
            BOOK,
            [es, qqq],
            objective=oh.Variance() + weight * oh.CarryCost(),
            risk_model=MODEL,
            horizon=horizon,
            market="IDX",
        ).solve()
        assert res.status == "optimal"
        # by hand: variance over the horizon plus weight x carry over horizon / 252 days
        e = _exposure(["IDX", "NDX"])
        sigma_h = COV.to_numpy() * horizon
        carry_long = np.array([es.carry, qqq.expense_ratio])
        borrow = np.array([0.0, qqq.borrow_fee])
        x = cp.Variable(2)
        z = W + e @ x
        cost = weight * horizon / 252.0 * (carry_long @ x + borrow @ cp.neg(x))
        raw = cp.Problem(cp.Minimize(cp.quad_form(z, sigma_h) + cost))
        raw.solve(solver="CLARABEL", tol_gap_abs=1e-14, tol_gap_rel=1e-14, tol_feas=1e-14)
        assert raw.status == cp.OPTIMAL
        np.testing.assert_allclose(res.weights.to_numpy(), x.value, atol=1e-7)
        assert res.objective_value == pytest.approx(raw.value, rel=1e-8)
        # the carry moves the hedge: without it, the answer is far from this one
        plain = cp.Problem(cp.Minimize(cp.quad_form(W + e @ x, sigma_h)))
        plain.solve(solver="CLARABEL")
        assert np.abs(x.value - res.weights.to_numpy()).max() > 1e-2

    def test_value_of_carry_at_a_pinned_position(self) -> None:
        # one instrument pinned: the objective is variance + h/252 x carry at that x
        sh = oh.InverseETF("SH", underlying="IDX", price=13.0, expense_ratio=0.0088)
        res = oh.HedgeProblem(
            BOOK,
            [sh],
            objective=oh.Variance() + oh.CarryCost(),
            constraints=[Bounds(lower={"SH": 0.3}, upper={"SH": 0.3})],
            risk_model=MODEL,
            horizon=21,
            market="IDX",
        ).solve()
        z = W + _exposure(["IDX"], [-1.0]) @ np.array([0.3])
        expected = float(z @ (COV.to_numpy() * 21) @ z) + 21 / 252 * 0.0088 * 0.3
        assert res.objective_value == pytest.approx(expected, rel=1e-9)


# -------------------------------------------------------------------- whole units
class TestUnitsRounded:
    """``units_rounded`` is the nearest whole contract or share (2.6 -> 3, -2.6 -> -3)."""

    def test_nearest_whole_contract(self) -> None:
        instruments = [
            oh.Future("ES", underlying="IDX", price=4000.0, multiplier=50.0),
            oh.Future("NQ", underlying="NDX", price=15000.0, multiplier=20.0),
            oh.ETF("QQQ", underlying="NDX", price=350.0),
            oh.InverseETF("SH", underlying="IDX", price=13.0),
        ]
        # ES 2.6 contracts, NQ -2.6, QQQ 2.4 shares, SH 1,700.7 shares (of USD 13)
        pinned = {"ES": 0.52, "NQ": -0.78, "QQQ": 0.00084, "SH": 1_700.7 * 13.0 / V}
        res = oh.HedgeProblem(
            BOOK,
            instruments,
            objective=oh.Variance(),
            constraints=[Bounds(lower=pinned, upper=pinned)],
            risk_model=MODEL,
            horizon=21,
            market="IDX",
        ).solve()
        alloc = res.allocation
        by_hand = {
            label: pinned[label] * V / (inst.price * inst.multiplier)
            for label, inst in zip(pinned, instruments, strict=True)
        }
        np.testing.assert_allclose(
            [by_hand[k] for k in pinned], [2.6, -2.6, 2.4, 1_700.7], rtol=1e-12
        )
        for label, units in by_hand.items():
            assert alloc.loc[label, "units"] == pytest.approx(units, abs=1e-6)
            assert alloc.loc[label, "units_rounded"] == float(round(units))
        assert alloc["units_rounded"].to_dict() == {
            "ES": 3.0,
            "NQ": -3.0,
            "QQQ": 2.0,
            "SH": 1_701.0,
        }


# ---------------------------------------------------------------------- premium
MARKET = oh.MarketState(
    spot={"IDX": 4000.0}, volatility={"IDX": 0.2}, rate=0.04, dividend_yield={"IDX": 0.015}
)
FLAT = VolatilityModel(skew=0.0)  # today's volatility is the market state's at every strike


def _bs(kind: str, s: float, k: float, t: float, r: float, q: float, v: float) -> float:
    """Black-Scholes-Merton by hand."""
    d1 = (math.log(s / k) + (r - q + 0.5 * v * v) * t) / (v * math.sqrt(t))
    d2 = d1 - v * math.sqrt(t)
    if kind == "call":
        return s * math.exp(-q * t) * norm.cdf(d1) - k * math.exp(-r * t) * norm.cdf(d2)
    return k * math.exp(-r * t) * norm.cdf(-d2) - s * math.exp(-q * t) * norm.cdf(-d1)


def _bs_delta(kind: str, s: float, k: float, t: float, r: float, q: float, v: float) -> float:
    d1 = (math.log(s / k) + (r - q + 0.5 * v * v) * t) / (v * math.sqrt(t))
    sign = 1.0 if kind == "call" else -1.0
    return float(sign * math.exp(-q * t) * norm.cdf(sign * d1))


def _collar_numbers(put_m: float, call_m: float, days: int) -> tuple[float, float, float]:
    """Put premium, call premium (per unit of notional) and the collar's delta, by hand."""
    s, t, r, q, v = 4000.0, days / 252, 0.04, 0.015, 0.2
    put = _bs("put", s, put_m * s, t, r, q, v) / s
    call = _bs("call", s, call_m * s, t, r, q, v) / s
    put_delta = _bs_delta("put", s, put_m * s, t, r, q, v)
    call_delta = _bs_delta("call", s, call_m * s, t, r, q, v)
    delta = put_delta - call_delta  # long the put, short the call
    return put, call, delta


class TestPremiumBudgetNetsPremiumReceived:
    def test_debit_collar_under_a_budget_the_put_alone_would_break(self) -> None:
        collar = oh.Collar(
            "COLLAR", underlying="IDX", put_moneyness=0.95, call_moneyness=1.10, vol_model=FLAT
        )
        put, call, delta = _collar_numbers(0.95, 1.10, 63)
        # the variance optimum with the collar alone (delta approximation), by hand
        e = _exposure(["IDX"], [delta])[:, 0]
        sigma = COV.to_numpy()
        x_star = -float(e @ sigma @ W) / float(e @ sigma @ e)
        net, put_only = (put - call) * x_star, put * x_star
        budget = 0.5 * (net + put_only)  # above the net premium, below the put's alone
        assert net < budget < put_only
        res = oh.HedgeProblem(
            BOOK,
            [collar],
            objective=oh.Variance(),
            constraints=[PremiumBudget(budget)],
            risk_model=MODEL,
            horizon=21,
            market="IDX",
            market_state=MARKET,
        ).solve()
        assert res.status == "optimal"
        assert res.weights["COLLAR"] == pytest.approx(x_star, rel=1e-6)
        alloc = res.allocation
        # premium: put premium minus call premium (Black-Scholes by hand) x notional
        assert alloc.loc["COLLAR", "premium"] == pytest.approx(
            (put - call) * res.weights["COLLAR"] * V, rel=1e-9
        )
        row = res.constraints.loc["premium_budget.max"]
        assert row["value"] == pytest.approx(alloc.loc["COLLAR", "premium"] / V, rel=1e-9)
        assert row["value"] == pytest.approx(net, rel=1e-6)
        assert not row["binding"]

    def test_credit_collar_counts_the_premium_received(self) -> None:
        collar = oh.Collar(
            "COLLAR", underlying="IDX", put_moneyness=0.90, call_moneyness=1.03, vol_model=FLAT
        )
        put, call, _ = _collar_numbers(0.90, 1.03, 63)
        assert put - call < -0.005  # a credit: the call sold is worth more than the put
        res = oh.HedgeProblem(
            BOOK,
            [collar],
            objective=oh.Variance(),
            constraints=[Bounds(lower={"COLLAR": 1.0}, upper={"COLLAR": 1.0}), PremiumBudget(0.0)],
            risk_model=MODEL,
            horizon=21,
            market="IDX",
            market_state=MARKET,
        ).solve()
        assert res.status == "optimal"
        assert res.allocation.loc["COLLAR", "premium"] == pytest.approx((put - call) * V, rel=1e-9)
        row = res.constraints.loc["premium_budget.max"]
        assert row["value"] == pytest.approx(put - call, rel=1e-9)  # negative: received
        assert row["slack"] == pytest.approx(call - put, rel=1e-9)


# ---------------------------------------------------------------------- liquidity
class TestLiquidityDays:
    """``Liquidity(p, days=d)``: at most p x d x ADV / capital traded (or held)."""

    @pytest.mark.parametrize("on", ["trades", "positions"])
    def test_cap_is_participation_times_days_times_adv(self, on: str) -> None:
        es = oh.Future("ES", underlying="IDX", price=4000.0, multiplier=50.0, adv=2e6)
        p, days = 0.05, 3.0
        problem = oh.HedgeProblem(
            BOOK,
            [es],
            objective=oh.Variance(),
            constraints=[Liquidity(p, days=days, on=on)],  # type: ignore[arg-type]
            risk_model=MODEL,
            horizon=21,
            market="IDX",
        )
        res = problem.solve()
        cap = p * days * 2e6 / V  # 0.3 of capital, by hand
        # the unconstrained hedge is larger than the cap: it binds
        e = _exposure(["IDX"])[:, 0]
        sigma = COV.to_numpy()
        assert -float(e @ sigma @ W) / float(e @ sigma @ e) < -cap - 0.1
        key = "liquidity" if on == "trades" else "liquidity_positions"
        row = res.constraints.loc[f"{key}[ES]"]
        assert row["limit"] == pytest.approx(cap, rel=1e-12)
        assert row["binding"]
        assert res.weights["ES"] == pytest.approx(-cap, rel=1e-7)
        # the days parameter moves the cap: 5 days, USD 500,000 at 5% of USD 2m a day
        again = problem.solve({f"{key}.days": 5.0})
        assert again.weights["ES"] == pytest.approx(-p * 5.0 * 2e6 / V, rel=1e-7)


def test_liquidity_default_days_and_its_refusals() -> None:
    # one day of average volume unless told otherwise; zero days or participation refused
    assert Liquidity(0.1).values() == {"liquidity.max_participation": 0.1, "liquidity.days": 1.0}
    with pytest.raises(ConstraintSpecificationError) as info:
        Liquidity(0.1, days=0.0)
    assert str(info.value).startswith("The 'days' parameter of Liquidity must be")
    with pytest.raises(ConstraintSpecificationError) as info:
        Liquidity(0.0)
    assert str(info.value).startswith("The 'max_participation' parameter of Liquidity must be")

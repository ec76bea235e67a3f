"""Pricing, hedging and volatility against hand formulas (scipy.stats.norm, hand recursions).

Every expected number here is computed independently of optihedge: Black-Scholes-Merton
and its delta written out with ``scipy.stats.norm``, implied volatility by
``scipy.optimize.brentq`` on the hand price, the EWMA volatility by a hand recursion, the
delta-hedge accounting by a hand loop, Hull's portfolio-insurance relation solved by hand.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from scipy.stats import norm

from optihedge.errors import ConvergenceError, DataError, SpecificationError
from optihedge.pricing import (
    VolatilityModel,
    delta_hedge_table,
    ewma_volatility,
    greeks,
    implied_volatility,
    portfolio_insurance,
)


def bs_hand(kind: str, s: float, k: float, t: float, r: float, v: float, q: float = 0.0) -> float:
    d1 = (math.log(s / k) + (r - q + 0.5 * v * v) * t) / (v * math.sqrt(t))
    d2 = d1 - v * math.sqrt(t)
    if kind == "call":
        return s * math.exp(-q * t) * norm.cdf(d1) - k * math.exp(-r * t) * norm.cdf(d2)
    return k * math.exp(-r * t) * norm.cdf(-d2) - s * math.exp(-q * t) * norm.cdf(-d1)


def delta_hand(kind: str, s: float, k: float, t: float, r: float, v: float, q: float) -> float:
    if t <= 0.0:
        itm = s > k if kind == "call" else s < k
        return (1.0 if itm else 0.0) * (1.0 if kind == "call" else -1.0)
    d1 = (math.log(s / k) + (r - q + 0.5 * v * v) * t) / (v * math.sqrt(t))
    n = norm.cdf(d1)
    return math.exp(-q * t) * (n if kind == "call" else n - 1.0)


SCALAR_MSG = r"The '{}' argument must be a finite number in \(0, inf\)"


# ------------------------------------------------------------------ portfolio insurance
class TestPortfolioInsuranceHand:
    def test_hull_beta_two_with_premium_by_hand(self) -> None:
        # Hull: USD 500,000, beta 2, index 1,000, r 12%, q 4%, 3 months, floor 450,000
        plan = portfolio_insurance(
            500_000, 2.0, 1000.0, 450_000, T=0.25, r=0.12, q=0.04, sigma=0.25
        )
        assert plan.contracts == pytest.approx(10.0, abs=1e-12)
        assert plan.strike == pytest.approx(960.0, abs=1e-9)
        hand = 10.0 * 100.0 * bs_hand("put", 1000.0, 960.0, 0.25, 0.12, 0.25, 0.04)
        assert plan.premium == pytest.approx(hand, rel=1e-10)
        assert isinstance(plan.premium, float)

    def test_premium_is_none_without_sigma(self) -> None:
        plan = portfolio_insurance(500_000, 2.0, 1000.0, 450_000, T=0.25, r=0.12, q=0.04)
        assert plan.premium is None

    def test_general_relation_and_multiplier(self) -> None:
        v, b, i0, f, t, r, q, m = 2_000_000.0, 1.5, 4000.0, 1_800_000.0, 0.5, 0.03, 0.01, 50.0
        # F/V = 1 + rT + b (K/I0 - 1 + qT - rT) - qT, solved for K by hand
        k = i0 * ((f / v - 1 - r * t + q * t) / b + 1 - q * t + r * t)
        plan = portfolio_insurance(v, b, i0, f, T=t, r=r, q=q, multiplier=m)
        assert plan.strike == pytest.approx(k, rel=1e-12)
        assert plan.contracts == pytest.approx(b * v / (i0 * m), rel=1e-12)

    @pytest.mark.parametrize("arg", ["value", "index_level", "floor", "multiplier"])
    @pytest.mark.parametrize("bad", [0.0, -1.0])
    def test_positive_arguments_refused_by_name(self, arg: str, bad: float) -> None:
        kwargs = {"value": 500_000.0, "index_level": 1000.0, "floor": 450_000.0}
        extra = {"multiplier": 100.0}
        if arg == "multiplier":
            extra[arg] = bad
        else:
            kwargs[arg] = bad
        with pytest.raises(SpecificationError, match=SCALAR_MSG.format(arg)):
            portfolio_insurance(
                kwargs["value"], 1.0, kwargs["index_level"], kwargs["floor"], T=0.25, **extra
            )

    def test_small_positive_arguments_accepted(self) -> None:
        plan = portfolio_insurance(0.5, 1.0, 0.5, 0.45, T=0.25, multiplier=0.5)
        assert plan.strike == pytest.approx(0.45, rel=1e-12)
        assert plan.contracts == pytest.approx(0.5 / (0.5 * 0.5), rel=1e-12)
        with pytest.raises(SpecificationError, match=SCALAR_MSG.format("beta")):
            portfolio_insurance(500_000, 0.0, 1000.0, 450_000, T=0.25)

    def test_moneyness_bounds_are_inclusive(self) -> None:
        # beta 1, r = q = 0: strike = I0 F / V, exactly 5 times the index level
        plan = portfolio_insurance(1000.0, 1.0, 1000.0, 5000.0, T=1.0)
        assert plan.strike == 5000.0
        with pytest.raises(DataError, match=r"5\.01 times the index level 1000"):
            portfolio_insurance(1000.0, 1.0, 1000.0, 5010.0, T=1.0)

    def test_floor_messages(self) -> None:
        # beta 0.5, rT = 0.5: F/V = 0.75 maps to a strike of exactly 0
        with pytest.raises(
            DataError,
            match="below anything index puts can protect: it maps to an index level of 0;",
        ):
            portfolio_insurance(1000.0, 0.5, 1000.0, 750.0, T=2.0, r=0.25)
        # a strike of 0.5 index points: positive, so "implausible" with its moneyness
        with pytest.raises(
            DataError,
            match=r"implausible: it maps to a strike of 0\.5, 0\.0005 times the index level 1000",
        ):
            portfolio_insurance(1000.0, 1.0, 1000.0, 0.5, T=1.0)
        # a negative strike
        with pytest.raises(DataError, match="below anything index puts can protect"):
            portfolio_insurance(1000.0, 0.5, 1000.0, 700.0, T=2.0, r=0.25)


# ------------------------------------------------------------------ delta hedge table
HULL = {"kind": "call", "strike": 50.0, "r": 0.05, "sigma": 0.2, "T": 20 / 52}
PATH = [49.00, 48.12, 47.37, 50.25, 51.75, 53.12, 53.00, 51.87, 51.38, 53.00, 49.88,
        48.50, 49.88, 50.37, 52.13, 51.88, 52.87, 54.87, 54.62, 55.87, 57.25]  # fmt: skip
COLUMNS = ["spot", "time_to_expiry", "delta", "shares_held", "shares_bought", "cost",
           "cumulative_cost", "interest"]  # fmt: skip


def hedge_by_hand(path, kind, strike, r, sigma, T, position, q, steps, decimals, lot, unit):
    def rnd(x: float) -> float:
        return x if unit is None else math.floor(x / unit + 0.5 + 1e-9) * unit

    dt = 1.0 / steps
    rows = []
    held_prev, running = 0.0, 0.0
    for i, s in enumerate(path):
        tau = max(T - i * dt, 0.0)
        d = delta_hand(kind, s, strike, tau, r, sigma, q)
        if decimals is not None:
            d = round(d, decimals)
        held = round(-position * d / lot) * lot
        bought = held - held_prev
        cost = rnd(bought * s)
        running += cost
        cum = running
        interest = rnd(running * (math.exp(r * dt) - 1.0)) if i < len(path) - 1 else 0.0
        running += interest
        rows.append((s, tau, d, held, bought, cost, cum, interest))
        held_prev = held
    return pd.DataFrame(rows, columns=COLUMNS)


class TestDeltaHedgeHand:
    def test_labels_and_every_column_with_dividends(self) -> None:
        kw = dict(kind="call", strike=50.0, r=0.05, sigma=0.2, T=20 / 52, q=0.03)
        t = delta_hedge_table(PATH, **kw, position=-100_000, rounding=100)  # type: ignore[arg-type]
        assert list(t.columns) == COLUMNS
        assert isinstance(t.index, pd.RangeIndex)
        assert t.index.name == "step"
        assert list(t.index) == list(range(21))
        hand = hedge_by_hand(
            PATH, "call", 50.0, 0.05, 0.2, 20 / 52, -100_000, 0.03, 52, 3, 100.0, 100.0
        )
        for col in COLUMNS:
            np.testing.assert_allclose(
                t[col].to_numpy(), hand[col].to_numpy(), rtol=0, atol=1e-6, err_msg=col
            )
            assert t[col].dtype == np.float64
        assert t["interest"].iloc[-1] == 0.0
        assert t["interest"].iloc[1] != 0.0
        assert t["interest"].iloc[-2] != 0.0
        value = 100_000 * bs_hand("call", 49.0, 50.0, 20 / 52, 0.05, 0.2, 0.03)
        assert t.attrs["option_value"] == pytest.approx(value, rel=1e-10)
        payoff = max(PATH[-1] - 50.0, 0.0)
        net = (
            hand["cumulative_cost"].iloc[-1]
            - hand["shares_held"].iloc[-1] * PATH[-1]
            + 100_000 * payoff
        )
        assert t.attrs["hedging_cost"] == pytest.approx(net, abs=1e-6)

    def test_series_path_exact_long_put_lot_one_no_negative_zero(self) -> None:
        idx = pd.date_range("2024-01-05", periods=4, freq="7D")
        path = pd.Series([100.0, 104.0, 109.0, 115.0], index=idx)
        t = delta_hedge_table(
            path,
            kind="put",
            strike=95.0,
            r=0.02,
            sigma=0.25,
            T=3 / 52,
            position=1000.0,
            delta_decimals=None,
            lot=1.0,
        )
        hand = hedge_by_hand(
            list(path), "put", 95.0, 0.02, 0.25, 3 / 52, 1000.0, 0.0, 52, None, 1.0, None
        )
        for col in COLUMNS:
            np.testing.assert_allclose(
                t[col].to_numpy(), hand[col].to_numpy(), rtol=1e-12, atol=1e-9, err_msg=col
            )
        # a long put expiring out of the money holds no shares: +0.0, not -0.0
        assert t["shares_held"].iloc[-1] == 0.0
        assert not np.signbit(t["shares_held"].to_numpy()).any()

    def test_small_lot_rounding_strike_spot_and_zero_decimals(self) -> None:
        path = [0.5, 0.55, 0.6]
        t = delta_hedge_table(
            path,
            kind="call",
            strike=0.5,
            r=0.01,
            sigma=0.3,
            T=2 / 52,
            position=-1000.0,
            delta_decimals=0,
            lot=0.5,
            rounding=0.5,
        )
        hand = hedge_by_hand(path, "call", 0.5, 0.01, 0.3, 2 / 52, -1000.0, 0.0, 52, 0, 0.5, 0.5)
        for col in COLUMNS:
            np.testing.assert_allclose(
                t[col].to_numpy(), hand[col].to_numpy(), atol=1e-12, err_msg=col
            )

    def test_arguments_refused_by_name(self) -> None:
        base = dict(HULL, position=-100_000.0)
        cases = [
            ({"lot": 0.0}, SCALAR_MSG.format("lot")),
            ({"lot": -100.0}, SCALAR_MSG.format("lot")),
            ({"rounding": 0.0}, SCALAR_MSG.format("rounding")),
            ({"rounding": -100.0}, SCALAR_MSG.format("rounding")),
            ({"strike": -1.0}, SCALAR_MSG.format("strike")),
            ({"r": 20.0}, "'r'"),
            ({"q": 20.0}, "'q'"),
            ({"position": float("nan")}, r"The 'position' argument must be a finite number"),
            ({"steps_per_year": 0}, r"The 'steps_per_year' argument must be an integer >= 1"),
            ({"delta_decimals": -1}, r"The 'delta_decimals' argument must be an integer >= 0"),
        ]
        for change, msg in cases:
            with pytest.raises(SpecificationError, match=msg):
                delta_hedge_table(PATH, **{**base, **change})  # type: ignore[arg-type]
        with pytest.raises(SpecificationError, match="'r'.*'q'|'r'"):
            delta_hedge_table(PATH, **{**base, "r": 20.0})  # type: ignore[arg-type]
        for bad in (0.0, -49.0):
            with pytest.raises(
                DataError, match=r"The 'spot_path' argument must hold finite numbers in \(0, inf\)"
            ):
                delta_hedge_table([49.0, bad], **base)  # type: ignore[arg-type]

    def test_path_one_step_too_long_is_refused(self) -> None:
        # 21 steps of a week with T = 20 weeks: the last step would be a week past expiry
        with pytest.raises(DataError, match="longer than T"):
            delta_hedge_table([*PATH, 57.0], **HULL, position=-1.0)  # type: ignore[arg-type]
        t = delta_hedge_table(PATH, **{**HULL, "T": 0.3846}, position=-1.0)  # type: ignore[arg-type]
        assert t["time_to_expiry"].iloc[-1] == 0.0


# ------------------------------------------------------------------ implied volatility
class TestImpliedVolatilityHand:
    @pytest.mark.parametrize(
        ("kind", "s", "k", "t", "r", "q", "v"),
        [
            ("call", 100.0, 100.0, 0.5, 0.03, 0.01, 0.2),
            ("put", 100.0, 60.0, 0.25, 0.02, 0.0, 0.35),
            ("call", 100.0, 160.0, 0.25, 0.02, 0.0, 0.15),
            ("put", 100.0, 150.0, 2.0, 0.05, 0.02, 0.6),
            ("call", 100.0, 50.0, 1.0, 0.0, 0.0, 0.9),
            ("call", 100.0, 100.0, 1.0, 0.0, 0.0, 3.0),
            ("put", 10.0, 10.0, 0.1, 0.0, 0.0, 0.05),
        ],
    )
    def test_round_trip_against_brentq(self, kind, s, k, t, r, q, v) -> None:
        price = bs_hand(kind, s, k, t, r, v, q)
        ref = brentq(lambda x: bs_hand(kind, s, k, t, r, x, q) - price, 1e-4, 10.0, xtol=1e-15)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            # tol is absolute below a price of 1: ask for 1e-12 of this price
            got = implied_volatility(
                price, kind, s, k, t, r, q, tol=1e-12 * min(price, 1.0), max_iter=40
            )
        assert got == pytest.approx(ref, rel=1e-7)

    def test_newton_converges_in_few_steps(self) -> None:
        # safeguarded Newton: an at-the-money option converges in a handful of steps
        for v in (0.1, 0.2, 0.5, 1.0):
            price = bs_hand("call", 100.0, 100.0, 0.5, 0.01, v)
            assert implied_volatility(price, "call", 100.0, 100.0, 0.5, 0.01, max_iter=8) == (
                pytest.approx(v, rel=1e-9)
            )

    def test_deep_out_of_the_money_without_warnings(self) -> None:
        for k, v in ((200.0, 0.15), (300.0, 0.3)):
            price = bs_hand("call", 100.0, k, 0.1, 0.0, v)
            assert price > 0
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                got = implied_volatility(price, "call", 100.0, k, 0.1, 0.0, tol=1e-10 * price)
            assert got == pytest.approx(v, rel=1e-6)

    def test_no_arbitrage_bounds_are_exclusive(self) -> None:
        cases = [
            (10.0, "call", 110.0, 100.0),  # the intrinsic value (r = q = 0)
            (0.0, "call", 90.0, 100.0),  # zero, out of the money
            (110.0, "call", 110.0, 100.0),  # the spot
            (100.0, "put", 110.0, 100.0),  # the strike
            (60.0, "put", 100.0, 50.0),  # above the strike, below the spot
        ]
        for price, kind, s, k in cases:
            with pytest.raises(DataError, match="no-arbitrage bounds"):
                implied_volatility(price, kind, s, k, 1.0, 0.0)
        # a call above the strike but below the spot is fine
        v = implied_volatility(60.0, "call", 100.0, 50.0, 1.0, 0.0)
        assert bs_hand("call", 100.0, 50.0, 1.0, 0.0, v) == pytest.approx(60.0, rel=1e-10)

    def test_inputs_refused_by_name(self) -> None:
        with pytest.raises(
            DataError, match=r"The 'price' argument must hold finite numbers in \[0, inf\)"
        ):
            implied_volatility(-1.0, "call", 100.0, 100.0, 1.0, 0.0)
        with pytest.raises(
            DataError, match=r"The 'T' argument must hold finite numbers in \(0, inf\)"
        ):
            implied_volatility(5.0, "call", 100.0, 100.0, 0.0, 0.0)

    def test_tolerance_is_relative_to_prices_above_one(self) -> None:
        # max_iter=1: the first (and only) check is at the starting volatility 0.3
        p0 = bs_hand("call", 100.0, 100.0, 1.0, 0.0, 0.3)  # about 11.9
        got = implied_volatility(p0 + 5e-6, "call", 100.0, 100.0, 1.0, 0.0, tol=1e-6, max_iter=1)
        assert got == 0.3
        p1 = bs_hand("call", 20.0, 20.0, 0.5, 0.0, 0.3)  # about 1.69
        assert 1.0 < p1 < 2.0
        with pytest.raises(ConvergenceError):
            implied_volatility(p1 + 1.9e-6, "call", 20.0, 20.0, 0.5, 0.0, tol=1e-6, max_iter=1)
        # tol=0 is met by an exact match: the hand price at the starting volatility
        assert implied_volatility(p0, "call", 100.0, 100.0, 1.0, 0.0, tol=0.0, max_iter=1) == 0.3
        # a tolerance no price can meet: the message reports the default max_iter
        with pytest.raises(ConvergenceError, match="tol=-1.0 within max_iter=100 iterations"):
            implied_volatility(p0, "call", 100.0, 100.0, 1.0, 0.0, tol=-1.0)


# ------------------------------------------------------------------ EWMA volatility
class TestEwmaHand:
    def test_hand_recursion_defaults_and_arguments(self, rng: np.random.Generator) -> None:
        r = rng.normal(0.0, 0.01, 60)

        def hand(x, hl, ppy):
            lam = 0.5 ** (1.0 / hl)
            num = den = 0.0
            for v in x:  # oldest first: every older term decays by lam per step
                num = lam * num + v * v
                den = lam * den + 1.0
            return math.sqrt(ppy * num / den)

        assert ewma_volatility(r) == pytest.approx(hand(r, 21.0, 252), rel=1e-12)
        assert ewma_volatility(list(r), 0.5, 0.5) == pytest.approx(hand(r, 0.5, 0.5), rel=1e-12)
        s = pd.Series(r, index=pd.date_range("2020-01-01", periods=60, freq="B"))
        assert ewma_volatility(s, halflife=5.0, periods_per_year=12) == pytest.approx(
            hand(r, 5.0, 12), rel=1e-12
        )

    def test_refusals_name_the_argument(self) -> None:
        with pytest.raises(DataError, match="The 'returns' argument must hold finite numbers"):
            ewma_volatility([0.01, float("nan"), 0.02])
        with pytest.raises(
            DataError,
            match="The 'returns' argument holds returns at or below -100%.*column 'returns'",
        ):
            ewma_volatility([0.01, -1.5, 0.02])
        with pytest.raises(DataError, match="The 'returns' argument must be numeric"):
            ewma_volatility(["a", "b"])
        for bad in (0.0, -1.0):
            with pytest.raises(SpecificationError, match=SCALAR_MSG.format("halflife")):
                ewma_volatility([0.01, 0.02], halflife=bad)
            with pytest.raises(SpecificationError, match=SCALAR_MSG.format("periods_per_year")):
                ewma_volatility([0.01, 0.02], periods_per_year=bad)  # type: ignore[arg-type]


# ------------------------------------------------------------------ small classes
def test_greeks_series_is_named_and_labelled() -> None:
    g = greeks("call", 49.0, 50.0, 0.3846, 0.05, 0.2)
    s = g.to_series()
    assert s.name == "greeks"
    assert list(s.index) == ["delta", "gamma", "vega", "theta", "rho"]
    assert s["delta"] == pytest.approx(
        delta_hand("call", 49.0, 50.0, 0.3846, 0.05, 0.2, 0.0), rel=1e-12
    )


def test_volatility_model_stores_floats_and_names_arguments() -> None:
    m = VolatilityModel(beta=-1, skew=0, floor=1)
    for attr, value in (("beta", -1.0), ("skew", 0.0), ("floor", 1.0)):
        assert type(getattr(m, attr)) is float
        assert getattr(m, attr) == value
    assert VolatilityModel().beta is None
    with pytest.raises(SpecificationError, match="The 'VolatilityModel.beta' argument"):
        VolatilityModel(beta=float("nan"))
    with pytest.raises(SpecificationError, match="The 'VolatilityModel.skew' argument"):
        VolatilityModel(skew=float("inf"))
    with pytest.raises(SpecificationError, match="'VolatilityModel.floor'"):
        VolatilityModel(floor=0.0)


def test_level_move_is_float64_whatever_the_returns_dtype() -> None:
    # a float32 return column (as read from a float32 file) still moves volatility in float64
    model = VolatilityModel(beta=-1.12)
    r = np.array([-0.25, 0.0, 0.1], dtype=np.float32)
    move = model.level_move(r, 21)
    assert move.dtype == np.float64
    np.testing.assert_allclose(move, -1.12 * np.log1p(r.astype(np.float64)), rtol=1e-12)
    # a loss of 100% or more is floored at a level of 1e-12 (no -inf, no warning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        total = model.level_move(np.array([-1.0, -1.5]), 21)
    np.testing.assert_allclose(total, -1.12 * np.log(1e-12), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.longdouble])
def test_scenario_vol_is_float64_whatever_the_spots_dtype(dtype: type) -> None:
    # sigma0 + level move + the skew's shift, floored; float64 out whatever came in
    model = VolatilityModel(skew=-0.3)
    spot = np.array([90.0, 100.0, 130.0], dtype=dtype)
    level = np.array([0.05, 0.0, -0.4], dtype=dtype)
    got = model.scenario_vol(0.2, 95.0, 100.0, spot, 0.25, 0.2, level)
    assert got.dtype == np.float64

    def skew(m: float, t: float) -> float:
        return -0.3 * math.log(m) * math.sqrt(0.25 / t)

    hand = [
        max(0.2 + float(lv) + skew(95.0 / float(s), 0.2) - skew(0.95, 0.25), 0.01)
        for s, lv in zip(spot, level, strict=True)
    ]
    np.testing.assert_allclose(got, hand, rtol=1e-6)
    assert got[2] == 0.01  # the floor

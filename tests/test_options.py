"""Options and event hedges: textbook answers, repricing identities, the optimizer's choices.

Known answers: Hull's weekly delta-hedging tables (100,000 written calls, S0 = 49,
K = 50, r = 5%, sigma = 20%, 20 weeks), Hull's portfolio insurance with index puts (beta 1
and beta 2), Hull's Black-Scholes examples. Identities: put-call parity in every
scenario, a package's P&L is its legs', an option expiring inside the horizon pays its
intrinsic value. Optimizer: the premium budget binds and prices, more budget never
raises the expected shortfall, puts beat futures on the tail but not on variance when
the payoffs say so, a fairly priced event contract is not bought for its own sake.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import optihedge as oh
from constraints import CarryBudget, GrossExposure, PremiumBudget
from optihedge.datasets import load_default
from optihedge.errors import DataError, MissingLabelsError, SpecificationError
from optihedge.pricing import (
    SPOT_VOL_BETA,
    VolatilityModel,
    black_scholes,
    delta_hedge_table,
    greeks,
    portfolio_insurance,
    spot_vol_beta,
)

# --------------------------------------------------------------------- Hull's tables
ITM_PATH = [49.00, 48.12, 47.37, 50.25, 51.75, 53.12, 53.00, 51.87, 51.38, 53.00, 49.88,
            48.50, 49.88, 50.37, 52.13, 51.88, 52.87, 54.87, 54.62, 55.87, 57.25]  # fmt: skip
ITM_DELTA = [0.522, 0.458, 0.400, 0.596, 0.693, 0.774, 0.771, 0.706, 0.674, 0.787, 0.550,
             0.413, 0.542, 0.591, 0.768, 0.759, 0.865, 0.978, 0.990, 1.000, 1.000]  # fmt: skip
ITM_BOUGHT = [52_200, -6_400, -5_800, 19_600, 9_700, 8_100, -300, -6_500, -3_200, 11_300,
              -23_700, -13_700, 12_900, 4_900, 17_700, -900, 10_600, 11_300, 1_200, 1_000,
              0]  # fmt: skip
# cumulative cost including interest, USD thousands (Hull, Table "option closes in the money")
ITM_CUMULATIVE = [2557.8, 2252.3, 1979.8, 2966.6, 3471.5, 3905.1, 3893.0, 3559.5, 3398.5,
                  4000.7, 2822.3, 2160.6, 2806.2, 3055.7, 3981.3, 3938.4, 4502.6, 5126.9,
                  5197.3, 5258.2, 5263.3]  # fmt: skip
OTM_PATH = [49.00, 49.75, 52.00, 50.00, 48.38, 48.25, 48.75, 49.63, 48.25, 48.25, 51.12,
            51.50, 49.88, 49.88, 48.75, 47.50, 48.00, 46.25, 48.13, 46.63, 48.12]  # fmt: skip
OTM_DELTA = [0.522, 0.568, 0.705, 0.579, 0.459, 0.443, 0.475, 0.540, 0.420, 0.410, 0.658,
             0.692, 0.542, 0.538, 0.400, 0.236, 0.261, 0.062, 0.183, 0.007, 0.000]  # fmt: skip
OTM_HELD = [52_200, 56_800, 70_500, 57_900, 45_900, 44_300, 47_500, 54_000, 42_000, 41_000,
            65_800, 69_200, 54_200, 53_800, 40_000, 23_600, 26_100, 6_200, 18_300, 700,
            0]  # fmt: skip

HULL = {"kind": "call", "strike": 50.0, "r": 0.05, "sigma": 0.2, "T": 20 / 52}


class TestDeltaHedgeTable:
    def test_option_closes_in_the_money(self) -> None:
        t = delta_hedge_table(ITM_PATH, **HULL, position=-100_000, rounding=100)  # type: ignore[arg-type]
        np.testing.assert_array_equal(t["delta"], ITM_DELTA)
        np.testing.assert_array_equal(t["shares_bought"], ITM_BOUGHT)
        np.testing.assert_allclose(t["cumulative_cost"] / 1000, ITM_CUMULATIVE, atol=1e-9)
        # "the cost of hedging is $263,300"; the option's Black-Scholes value about $240,000
        assert t.attrs["hedging_cost"] == pytest.approx(263_300, abs=1e-6)
        assert round(t.attrs["option_value"], -3) == 240_000

    def test_option_closes_out_of_the_money(self) -> None:
        t = delta_hedge_table(OTM_PATH, **HULL, position=-100_000, rounding=100)  # type: ignore[arg-type]
        np.testing.assert_array_equal(t["delta"], OTM_DELTA)
        np.testing.assert_array_equal(t["shares_held"], OTM_HELD)
        # "the cost of hedging is $256,600"
        assert t["cumulative_cost"].iloc[-1] == pytest.approx(256_600, abs=1e-6)
        assert t.attrs["hedging_cost"] == pytest.approx(256_600, abs=1e-6)

    def test_exact_accounting_without_rounding(self) -> None:
        t = delta_hedge_table(ITM_PATH, **HULL, position=-100_000)  # type: ignore[arg-type]
        growth = math.expm1(0.05 / 52)
        running = 0.0
        for cost, cumulative in zip(
            t["shares_bought"] * t["spot"], t["cumulative_cost"], strict=True
        ):
            running = running * (1 + growth) + cost
            assert cumulative == pytest.approx(running, rel=1e-12)
        # unrounded, the table is within a few hundred dollars of the printed one
        assert t["cumulative_cost"].iloc[-1] / 1000 == pytest.approx(5263.3, abs=0.3)

    def test_long_puts_hedge_by_buying_the_underlying_as_it_falls(self) -> None:
        t = delta_hedge_table([100, 95, 90], kind="put", strike=100, r=0.0, sigma=0.2,
                              T=0.5, position=1_000, delta_decimals=None, lot=1)  # fmt: skip
        expected = -1_000 * np.array(
            [
                greeks("put", s, 100, 0.5 - i / 52, 0.0, 0.2).delta
                for i, s in enumerate([100, 95, 90])
            ]
        )
        np.testing.assert_allclose(t["shares_held"], np.round(expected))
        assert (t["shares_held"] > 0).all()

    def test_bad_input(self) -> None:
        with pytest.raises(DataError, match="'spot_path'.*at least 2"):
            delta_hedge_table([49.0], **HULL, position=-1.0)  # type: ignore[arg-type]
        with pytest.raises(DataError, match="longer than T"):
            delta_hedge_table([49.0] * 30, **HULL, position=-1.0)  # type: ignore[arg-type]
        with pytest.raises(SpecificationError, match="'strike'"):
            delta_hedge_table(ITM_PATH, kind="call", strike=0.0, r=0.05, sigma=0.2, T=0.4,
                              position=-1.0)  # fmt: skip
        with pytest.raises(SpecificationError, match="'kind'"):
            delta_hedge_table(ITM_PATH, kind="straddle", strike=50, r=0.05, sigma=0.2, T=0.4,
                              position=-1.0)  # fmt: skip


class TestPortfolioInsurance:
    def test_beta_one(self) -> None:
        # Hull: USD 500,000 tracking the index at 1,000, floor 450,000: 5 puts at 900
        plan = portfolio_insurance(500_000, 1.0, 1000.0, 450_000, T=0.25, r=0.12, q=0.04)
        assert plan.contracts == pytest.approx(5.0, abs=1e-12)
        assert plan.strike == pytest.approx(900.0, abs=1e-9)

    @pytest.mark.parametrize(
        ("floor", "index"),
        [(570_000, 1080), (530_000, 1040), (490_000, 1000), (450_000, 960), (410_000, 920),
         (370_000, 880)],
    )  # fmt: skip
    def test_beta_two_table(self, floor: float, index: float) -> None:
        # Hull's table of index level against portfolio value for beta 2.0 (r 12%, q 4%,
        # three months): the strike that protects a floor is the index level that maps to it
        plan = portfolio_insurance(500_000, 2.0, 1000.0, floor, T=0.25, r=0.12, q=0.04)
        assert plan.strike == pytest.approx(index, abs=1e-9)
        assert plan.contracts == pytest.approx(10.0, abs=1e-12)

    def test_premium_is_black_scholes(self) -> None:
        plan = portfolio_insurance(500_000, 2.0, 1000.0, 450_000, T=0.25, r=0.12, q=0.04, sigma=0.2)
        assert plan.premium == pytest.approx(
            10 * 100 * black_scholes("put", 1000, 960, 0.25, 0.12, 0.2, 0.04)
        )

    def test_bad_input(self) -> None:
        with pytest.raises(SpecificationError, match="'beta'"):
            portfolio_insurance(500_000, 0.0, 1000.0, 450_000, T=0.25)
        with pytest.raises(DataError, match="'floor'"):
            portfolio_insurance(500_000, 0.5, 1000.0, 1.0, T=0.25, r=0.5)


# --------------------------------------------------------------------- instruments
MARKET = oh.MarketState(
    spot={"IDX": 4000.0}, volatility={"IDX": 0.2}, rate=0.03, dividend_yield={"IDX": 0.015}
)
# skew 0: every strike at MARKET's 0.2; beta 0: no move with spot where scenarios state none
FLAT = VolatilityModel(beta=0.0, skew=0.0)


def _premium(legs: list[tuple[str, float, float]], days: int) -> float:
    """Today's cost per unit of notional of (kind, moneyness, sign) legs, by Black-Scholes.

    At MARKET (spot 4000, rate 0.03, dividend yield 0.015, volatility 0.2), ``days``
    trading days to expiry: what a position pays for the legs, as a fraction of spot.
    """
    value = sum(
        sign * black_scholes(kind, 4000.0, 4000.0 * m, days / 252, 0.03, 0.2, 0.015)
        for kind, m, sign in legs
    )
    return float(value) / 4000.0


def _daily(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = rng.normal(0.0003, 0.012, n)
    frame = pd.DataFrame(
        {
            "A": 0.9 * idx + rng.normal(0, 0.01, n),
            "B": 1.2 * idx + rng.normal(0, 0.01, n),
            "IDX": idx,
        },
        index=pd.bdate_range("2019-01-01", periods=n),
    )
    return frame


class TestOptionInstruments:
    def test_hull_prices_and_greeks_per_unit_of_notional(self) -> None:
        market = oh.MarketState(spot={"S": 42.0}, rate=0.1)
        call = oh.Call("C", underlying="S", strike=40.0, expiry=126, implied_vol=0.2)
        put = oh.Put("P", underlying="S", strike=40.0, expiry=126, implied_vol=0.2)
        # Hull: c = 4.76, p = 0.81 (S 42, K 40, half a year, r 10%, sigma 20%)
        assert round(call.attributes(market)["premium"] * 42.0, 2) == 4.76
        assert round(put.attributes(market)["premium"] * 42.0, 2) == 0.81
        market = oh.MarketState(spot={"S": 49.0}, rate=0.05)
        a = oh.Call("C", underlying="S", strike=50.0, expiry=97, implied_vol=0.2).attributes(market)
        # Hull: delta 0.522, gamma 0.066, vega 12.1 (20 weeks ~ 97 trading days)
        assert round(a["delta"], 3) == 0.522
        assert round(a["gamma"] / 49.0, 3) == 0.066
        assert round(a["vega"] * 49.0, 1) == 12.1
        g = greeks("call", 49.0, 50.0, 97 / 252, 0.05, 0.2)
        assert a["theta"] * 49.0 == pytest.approx(g.theta, rel=1e-12)
        assert a["carry_long"] == pytest.approx(-a["theta"], rel=1e-12)
        assert a["contract_value"] == 49.0 * 100
        assert a["annual_premium"] == pytest.approx(a["premium"] * 252 / 97)

    def test_skew_makes_out_of_the_money_puts_dearer_in_volatility(self) -> None:
        atm = oh.Put("A", underlying="IDX", moneyness=1.0).legs(MARKET)[0]
        otm = oh.Put("O", underlying="IDX", moneyness=0.9).legs(MARKET)[0]
        assert atm.sigma == pytest.approx(0.2)
        assert otm.sigma == pytest.approx(0.2 - 0.30 * math.log(0.9) * math.sqrt(0.25 / 0.25))
        flat = oh.Put("F", underlying="IDX", moneyness=0.9, vol_model=VolatilityModel(skew=0.0))
        assert (
            flat.attributes(MARKET)["premium"]
            < oh.Put("O", underlying="IDX", moneyness=0.9).attributes(MARKET)["premium"]
        )

    def test_put_call_parity_in_every_scenario(self) -> None:
        daily = _daily()
        for scenarios in (
            oh.Scenarios.historical(daily, horizon=21),
            oh.Scenarios.from_returns(daily.iloc[:50], horizon=5),
            oh.Scenarios.shock(
                oh.FactorModel().fit(daily, daily[["IDX"]]).risk_model_, {"IDX": -0.2}
            ),
        ):
            call = oh.Call("C", underlying="IDX", moneyness=0.95, expiry=63)
            put = oh.Put("P", underlying="IDX", moneyness=0.95, expiry=63)
            s0, k, q, r = 4000.0, 3800.0, 0.015, 0.03
            t0, tau = 63 / 252, (63 - scenarios.horizon) / 252
            s = s0 * (1 + scenarios.column("IDX"))
            forward_then = s * math.exp(-q * tau) - k * math.exp(-r * tau)
            forward_now = s0 * math.exp(-q * t0) - k * math.exp(-r * t0)
            lhs = call.scenario_returns(scenarios, MARKET) - put.scenario_returns(scenarios, MARKET)
            np.testing.assert_allclose(lhs, (forward_then - forward_now) / s0, atol=1e-12)

    def test_packages_are_the_sum_of_their_legs(self) -> None:
        scenarios = oh.Scenarios.historical(_daily(), horizon=21)
        collar = oh.Collar("K", underlying="IDX", put_moneyness=0.9, call_moneyness=1.1)
        put = oh.Put("P", underlying="IDX", moneyness=0.9)
        call = oh.Call("C", underlying="IDX", moneyness=1.1)
        np.testing.assert_allclose(
            collar.scenario_returns(scenarios, MARKET),
            put.scenario_returns(scenarios, MARKET) - call.scenario_returns(scenarios, MARKET),
            atol=1e-14,
        )
        for key in ("premium", "delta", "gamma", "vega", "theta"):
            assert collar.attributes(MARKET)[key] == pytest.approx(
                put.attributes(MARKET)[key] - call.attributes(MARKET)[key], rel=1e-12, abs=1e-15
            )
        spread = oh.PutSpread("S", underlying="IDX", upper_moneyness=1.0, lower_moneyness=0.8)
        upper, lower = (
            oh.Put(n, underlying="IDX", moneyness=m) for n, m in (("U", 1.0), ("L", 0.8))
        )
        np.testing.assert_allclose(
            spread.scenario_returns(scenarios, MARKET),
            upper.scenario_returns(scenarios, MARKET) - lower.scenario_returns(scenarios, MARKET),
            atol=1e-14,
        )

    def test_option_expiring_inside_the_horizon_pays_its_intrinsic_value(self) -> None:
        daily = _daily()
        scenarios = oh.Scenarios.historical(daily, horizon=21)
        put = oh.Put("P", underlying="IDX", moneyness=1.0, expiry=10, vol_model=FLAT)
        premium = _premium([("put", 1.0, 1.0)], 10)
        # the index level on the expiry day, from the daily returns of each path
        idx = daily["IDX"].to_numpy()
        level = np.array([np.prod(1 + idx[i : i + 10]) for i in range(len(daily) - 20)])
        expected = np.maximum(1.0 - level, 0.0) - premium
        np.testing.assert_allclose(put.scenario_returns(scenarios, MARKET), expected, atol=1e-12)
        # without daily paths the horizon's level stands in
        given_ = oh.Scenarios.from_returns(pd.DataFrame({"IDX": [-0.1, 0.0, 0.1]}), horizon=21)
        np.testing.assert_allclose(
            put.scenario_returns(given_, MARKET), np.array([0.1, 0.0, 0.0]) - premium, atol=1e-15
        )

    # a call's payoff and a put's, expiring inside the horizon or on its last day (0 days
    # left: the payoff, also at the money)
    @pytest.mark.parametrize("expiry", [10, 21])
    @pytest.mark.parametrize(
        ("cls", "payoff"),
        [(oh.Call, [0.0, 0.0, 0.1]), (oh.Put, [0.1, 0.0, 0.0])],
        ids=["call", "put"],
    )
    def test_an_expired_leg_pays_its_payoff(
        self, cls: type, payoff: list[float], expiry: int
    ) -> None:
        option = cls("O", underlying="IDX", moneyness=1.0, expiry=expiry, vol_model=FLAT)
        premium = _premium([("call" if cls is oh.Call else "put", 1.0, 1.0)], expiry)
        given_ = oh.Scenarios.from_returns(pd.DataFrame({"IDX": [-0.1, 0.0, 0.1]}), horizon=21)
        np.testing.assert_allclose(
            option.scenario_returns(given_, MARKET), np.array(payoff) - premium, atol=1e-15
        )

    # a package's legs all pay at expiry, summed: (spot at expiry 0.8, 0.95, 1.1 of today's)
    @pytest.mark.parametrize(
        ("package", "legs", "payoff"),
        [
            # long put at 1.00, short put at 0.90
            (
                oh.PutSpread(
                    "S",
                    underlying="IDX",
                    upper_moneyness=1.0,
                    lower_moneyness=0.9,
                    expiry=10,
                    vol_model=FLAT,
                ),
                [("put", 1.0, 1.0), ("put", 0.9, -1.0)],
                [0.2 - 0.1, 0.05, 0.0],
            ),
            # long put at 0.95, short call at 1.05
            (
                oh.Collar(
                    "C",
                    underlying="IDX",
                    put_moneyness=0.95,
                    call_moneyness=1.05,
                    expiry=10,
                    vol_model=FLAT,
                ),
                [("put", 0.95, 1.0), ("call", 1.05, -1.0)],
                [0.15, 0.0, -0.05],
            ),
        ],
        ids=["put spread", "collar"],
    )
    def test_an_expired_package_pays_every_leg(
        self, package: oh.Instrument, legs: list[tuple[str, float, float]], payoff: list[float]
    ) -> None:
        premium = _premium(legs, 10)
        given_ = oh.Scenarios.from_returns(pd.DataFrame({"IDX": [-0.2, -0.05, 0.1]}), horizon=21)
        np.testing.assert_allclose(
            package.scenario_returns(given_, MARKET), np.array(payoff) - premium, atol=1e-15
        )

    def test_one_day_left_is_priced_not_paid(self) -> None:
        # 22 days to expiry over a 21-day horizon: one day of time value is left, priced by
        # Black-Scholes at the scenario's spot with 1/252 years (a flat, still volatility)
        put = oh.Put("P", underlying="IDX", moneyness=1.0, expiry=22, vol_model=FLAT)
        given_ = oh.Scenarios.from_returns(pd.DataFrame({"IDX": [-0.1, 0.0, 0.1]}), horizon=21)
        s, k, r, q, v = 4000.0, 4000.0, 0.03, 0.015, 0.2
        value0 = black_scholes("put", s, k, 22 / 252, r, v, q)
        expected = [
            (black_scholes("put", s * (1 + m), k, 1 / 252, r, v, q) - value0) / s
            for m in (-0.1, 0.0, 0.1)
        ]
        got = put.scenario_returns(given_, MARKET)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
        assert got[1] > -put.attributes(MARKET)["premium"] + 1e-3  # at the money: time value

    def test_an_option_names_itself_for_an_underlying_the_scenarios_lack(self) -> None:
        given_ = oh.Scenarios.from_returns(pd.DataFrame({"IDX": [0.0]}), horizon=21)
        with pytest.raises(
            MissingLabelsError,
            match=r"^Put\('P'\) has underlying 'ZZZ', which the scenarios lack",
        ):
            oh.Put("P", underlying="ZZZ").scenario_returns(
                given_, oh.MarketState(spot={"ZZZ": 100.0}, volatility={"ZZZ": 0.3}, rate=0.03)
            )

    def test_volatility_rises_in_a_sell_off(self) -> None:
        model = VolatilityModel()
        move = model.level_move(np.array([-0.2, 0.0, 0.1]), 21)
        assert move[0] > 0
        assert move[1] == 0
        assert move[2] < 0
        assert move[0] == pytest.approx(SPOT_VOL_BETA[21] * math.log(0.8))
        # a put gains more in a crash than at a constant volatility
        crash = oh.Scenarios.from_returns(pd.DataFrame({"IDX": [-0.2]}), horizon=21)
        still = oh.Put("S", underlying="IDX", moneyness=0.95, vol_model=VolatilityModel(beta=0.0))
        moving = oh.Put("M", underlying="IDX", moneyness=0.95)
        assert moving.scenario_returns(crash, MARKET)[0] > still.scenario_returns(crash, MARKET)[0]
        # a stated volatility move overrides the model's
        stated = oh.Scenarios(
            crash.returns, 21, vol_moves=pd.Series([0.0], index=crash.returns.index)
        )
        assert moving.scenario_returns(stated, MARKET)[0] == pytest.approx(
            still.scenario_returns(crash, MARKET)[0], rel=1e-12
        )
        # stated per underlying (a frame): the option's own underlying's column is read
        per_label = oh.Scenarios(
            crash.returns, 21, vol_moves=pd.DataFrame({"IDX": [0.0]}, index=crash.returns.index)
        )
        assert moving.scenario_returns(per_label, MARKET)[0] == pytest.approx(
            still.scenario_returns(crash, MARKET)[0], rel=1e-12
        )

    def test_spot_vol_beta_is_measured_on_the_embedded_data(self) -> None:
        prices = load_default(columns=["SP500", "VIX"]).dropna()
        for h, beta in SPOT_VOL_BETA.items():
            r = np.log(prices["SP500"]).diff(h).dropna()
            dv = (prices["VIX"] / 100).diff(h).loc[r.index]
            slope = np.polyfit(r.to_numpy(), dv.to_numpy(), 1)[0]
            assert slope == pytest.approx(beta, abs=0.005)
        assert spot_vol_beta(10) == pytest.approx(
            np.interp(math.log(10), np.log([5, 21]), [SPOT_VOL_BETA[5], SPOT_VOL_BETA[21]])
        )
        assert spot_vol_beta(500) == SPOT_VOL_BETA[63]

    @given(
        moves=st.lists(st.floats(-0.3, 0.3), min_size=1, max_size=8),
        moneyness=st.floats(0.7, 1.3),
        expiry=st.integers(1, 300),
    )
    def test_a_long_option_never_loses_more_than_its_premium(
        self, moves: list[float], moneyness: float, expiry: int
    ) -> None:
        scenarios = oh.Scenarios.from_returns(pd.DataFrame({"IDX": moves}), horizon=21)
        for cls in (oh.Put, oh.Call):
            option = cls("O", underlying="IDX", moneyness=moneyness, expiry=expiry)
            pnl = option.scenario_returns(scenarios, MARKET)
            assert (pnl >= -option.attributes(MARKET)["premium"] - 1e-15).all()

    def test_bad_input(self) -> None:
        cases = [
            (lambda: oh.Put("P", underlying="IDX", strike=0.0), SpecificationError, "strike"),
            (lambda: oh.Put("P", underlying="IDX", strike=-5.0), SpecificationError, "strike"),
            (lambda: oh.Put("P", underlying="IDX", expiry=0), SpecificationError, "expiry"),
            (lambda: oh.Call("C", underlying="IDX", expiry=-21), SpecificationError, "expiry"),
            (
                lambda: oh.Put("P", underlying="IDX", implied_vol=0.0),
                SpecificationError,
                "implied_vol",
            ),
            (
                lambda: oh.Put("P", underlying="IDX", implied_vol=-0.2),
                SpecificationError,
                "implied_vol",
            ),
            (lambda: oh.Put("P", underlying="IDX", moneyness=0.0), SpecificationError, "moneyness"),
            (
                lambda: oh.Put("P", underlying="IDX", moneyness=50.0),
                SpecificationError,
                "strike / spot",
            ),
            (
                lambda: oh.Put("P", underlying="IDX", strike=3.0, moneyness=0.9),
                SpecificationError,
                "not both",
            ),
            (
                lambda: oh.Collar("K", underlying="IDX", put_moneyness=1.1, call_moneyness=0.9),
                SpecificationError,
                "put_moneyness < call_moneyness",
            ),
            (
                lambda: oh.PutSpread(
                    "S", underlying="IDX", upper_moneyness=0.8, lower_moneyness=0.9
                ),
                SpecificationError,
                "lower_moneyness < upper_moneyness",
            ),
            (lambda: oh.VolatilityModel(floor=0.0), SpecificationError, "floor"),
            (lambda: oh.Put("P", underlying="").legs(MARKET), SpecificationError, "underlying"),
            (
                lambda: oh.Put("P", underlying="NDX").attributes(MARKET),
                MissingLabelsError,
                "spot for 'NDX'",
            ),
            (lambda: oh.EventContract("E", event="crash", price=1.2), SpecificationError, "payout"),
            (lambda: oh.EventContract("E", event="", price=0.1), SpecificationError, "event"),
        ]
        for call, family, word in cases:
            with pytest.raises(family, match=word):
                call()


# --------------------------------------------------------------------- events
class TestEvents:
    def test_with_event_splits_every_scenario_exactly(self) -> None:
        base = oh.Scenarios.historical(_daily(), horizon=21)
        s = base.with_event("downgrade", 0.1)
        p = s.probability_array()
        assert p.sum() == pytest.approx(1.0)
        assert p @ s.event("downgrade") == pytest.approx(0.1)
        n = base.n_scenarios
        # independent: the same returns with and without the event
        np.testing.assert_array_equal(s.returns.to_numpy()[:n], s.returns.to_numpy()[n:])
        # paths are kept: the inverse ETF compounds along them in both halves
        np.testing.assert_allclose(s.compound("IDX", -1.0)[n:], base.compound("IDX", -1.0))

    def test_shock_lands_where_the_event_happens(self) -> None:
        base = oh.Scenarios.historical(_daily(), horizon=21)
        s = base.with_event("crash", 0.05, shock={"IDX": -0.2, "A": -0.2})
        n = base.n_scenarios
        r = base.returns["IDX"].to_numpy()
        np.testing.assert_allclose(s.returns["IDX"].to_numpy()[n:], (1 + r) * 0.8 - 1)
        np.testing.assert_array_equal(s.returns["B"].to_numpy()[n:], base.returns["B"].to_numpy())
        np.testing.assert_allclose(
            s.compound("IDX", -1.0)[n:], (1 + base.compound("IDX", -1.0)) * 1.2 - 1
        )

    def test_event_contract_pays_one_when_it_happens(self) -> None:
        s = oh.Scenarios.historical(_daily(), horizon=21).with_event("e", 0.3)
        contract = oh.EventContract("E", event="e", price=0.2)
        pnl = contract.scenario_returns(s, MARKET)
        np.testing.assert_allclose(pnl, s.event("e") - 0.2)
        assert contract.attributes(MARKET)["premium"] == pytest.approx(0.2)

    def test_bad_events(self) -> None:
        s = oh.Scenarios.historical(_daily(), horizon=21)
        bad = pd.DataFrame({"e": 0.5}, index=s.returns.index)
        with pytest.raises(DataError, match="'e' must hold 0"):
            oh.Scenarios(s.returns, 21, events=bad)
        with pytest.raises(MissingLabelsError, match="needs event 'e'"):
            oh.EventContract("E", event="e", price=0.2).scenario_returns(s, MARKET)
        with pytest.raises(SpecificationError, match="'probability'"):
            s.with_event("e", 1.0)
        with pytest.raises(MissingLabelsError, match="'shock' names"):
            s.with_event("e", 0.1, shock={"ZZZ": -0.1})
        with pytest.raises(SpecificationError, match="already have an event"):
            s.with_event("e", 0.1).with_event("e", 0.2)


# --------------------------------------------------------------------- the optimizer
def _crash_scenarios(
    n: int = 2000, seed: int = 5, calm: float = 0.04, often: float = 0.04, crash: float = -0.30
) -> oh.Scenarios:
    """21-day index returns: calm (volatility ``calm``), a crash in ``often`` of them."""
    rng = np.random.default_rng(seed)
    idx = rng.normal(0.01, calm, n)
    crashed = rng.random(n) < often
    idx[crashed] = rng.normal(crash, 0.05, crashed.sum())
    book = 1.0 * idx + rng.normal(0, 0.01, n)
    return oh.Scenarios.from_returns(pd.DataFrame({"BOOK": book, "IDX": idx}), horizon=21)


BOOK = oh.Portfolio.from_holdings({"BOOK": 1_000_000.0})
LINEAR = [oh.Future("F", underlying="IDX", price=4000.0, multiplier=50.0)]
OPTIONS = [
    oh.Put("P95", underlying="IDX", moneyness=0.95),
    oh.Put("P90", underlying="IDX", moneyness=0.90),
    oh.Call("C105", underlying="IDX", moneyness=1.05),
    oh.PutSpread("PS", underlying="IDX", upper_moneyness=0.95, lower_moneyness=0.8),
]


def _problem(
    instruments: list[oh.Instrument], constraints: list[object], **kw: object
) -> oh.HedgeProblem:
    args: dict[str, object] = {
        "objective": oh.ExpectedShortfall(0.975),
        "scenarios": _crash_scenarios(),
        "market": "IDX",
        "market_state": MARKET,
    }
    args.update(kw)
    return oh.HedgeProblem(BOOK, instruments, constraints=constraints, **args)  # type: ignore[arg-type]


class TestOptimizerWithOptions:
    def test_zero_premium_budget_buys_no_option(self) -> None:
        result = _problem([*LINEAR, *OPTIONS], [PremiumBudget(0.0), GrossExposure(0.3)]).solve()
        assert result.status == "optimal"
        assert (result.weights[[o.label for o in OPTIONS]] == 0.0).all()
        assert result.allocation["premium"].sum() == pytest.approx(0.0, abs=1e-6)

    def test_more_premium_never_raises_the_expected_shortfall(self) -> None:
        problem = _problem([*LINEAR, *OPTIONS], [PremiumBudget(0.0), GrossExposure(0.3)])
        budgets = [0.0, 0.0025, 0.005, 0.01, 0.02, 0.04]
        values = [problem.solve({"premium_budget.max": b}).objective_value for b in budgets]
        assert all(b <= a + 1e-9 for a, b in itertools.pairwise(values))
        assert values[-1] < values[0] - 1e-3  # puts buy real protection here
        binding = problem.solve({"premium_budget.max": 0.005})
        row = binding.constraints.loc["premium_budget.max"]
        assert row["binding"]
        assert row["shadow_price"] > 0
        assert binding.allocation["premium"].sum() == pytest.approx(0.005 * 1e6, rel=1e-6)

    def test_puts_beat_futures_on_the_tail_and_lose_on_variance(self) -> None:
        # wide calm moves, rare crashes: the crashes fill the tail, the calm the variance
        scenarios = _crash_scenarios(calm=0.06, often=0.02, crash=-0.25)
        limits = [GrossExposure(0.5), PremiumBudget(0.02)]
        futures = _problem(LINEAR, limits, scenarios=scenarios).solve()
        puts = _problem([OPTIONS[1]], limits, scenarios=scenarios).solve()
        assert puts.weights["P90"] > 0
        es_f = futures.risk.loc["after", "scenario_es"]
        es_p = puts.risk.loc["after", "scenario_es"]
        assert es_p < es_f
        # on variance of the same scenario P&L, the futures hedge is better
        var_f = np.var(futures.scenario_returns["after"])  # type: ignore[index]
        var_p = np.var(puts.scenario_returns["after"])  # type: ignore[index]
        assert var_f < var_p
        assert es_p < 0.5 * es_f
        # the expected shortfall objective reprices: its value is the scenario ES
        assert puts.objective_value == pytest.approx(es_p, rel=1e-7)
        assert scenarios.n_scenarios == len(puts.scenario_returns)  # type: ignore[arg-type]

    def test_greeks_and_carry_of_a_put_hedge(self) -> None:
        result = _problem([OPTIONS[0]], [PremiumBudget(0.01)]).solve()
        x = result.weights["P95"]
        a = OPTIONS[0].attributes(MARKET)
        g = result.greeks
        assert g is not None
        assert g.loc["after", "vega_1pt"] == pytest.approx(0.01 * a["vega"] * x * 1e6)
        assert g.loc["after", "vega_1pt"] > 0
        assert g.loc["after", "theta_1d"] < 0
        assert g.loc["before", "vega_1pt"] == 0.0
        assert result.allocation.loc["P95", "annual_carry"] == pytest.approx(-a["theta"] * x * 1e6)
        assert result.allocation.loc["P95", "units"] == pytest.approx(x * 1e6 / (4000.0 * 100))
        assert "option premium" in result.summary()
        # a carry budget sees the decay
        capped = _problem([OPTIONS[0]], [PremiumBudget(0.01), CarryBudget(0.005)]).solve()
        assert capped.allocation["annual_carry"].sum() <= 0.005 * 1e6 * (1 + 1e-6)

    def test_summary_states_premium_as_shares_of_capital_and_what_binds(self) -> None:
        capital = 1_000_000.0
        put = OPTIONS[0]
        one = _problem([put], [PremiumBudget(0.01)]).solve()
        assert one.binding == ["premium_budget.max"]
        # the budget binds: 1% of capital paid, 252 / 63 = 4 times that a year over the
        # put's 63-day life
        premium = float(one.allocation["premium"].sum())
        assert premium == pytest.approx(0.01 * capital, rel=1e-7)
        yearly = premium * 252 / put.expiry
        assert one.allocation["annual_premium"].sum() == pytest.approx(yearly, rel=1e-12)
        assert (
            f"; option premium USD {premium:,.0f} ({premium / capital:.2%} of capital, "
            f"{yearly / capital:.2%} a year over the options' lives); premium_budget.max binds."
        ) in one.summary()
        assert "(1.00% of capital, 4.00% a year" in one.summary()

        two = _problem([*LINEAR, put], [PremiumBudget(0.005), GrossExposure(0.3)]).solve()
        assert two.binding == ["premium_budget.max", "gross_exposure.max"]
        assert "; premium_budget.max, gross_exposure.max bind." in two.summary()

    def test_summary_of_a_futures_hedge_is_the_whole_sentence(self) -> None:
        res = _problem(LINEAR, []).solve()
        assert res.binding == []
        before, after = res.risk.loc["before"], res.risk.loc["after"]
        removed = (before["beta"] - after["beta"]) * 1_000_000.0
        carry = float(res.allocation["annual_carry"].sum())
        assert res.summary() == (
            f"The hedge offsets USD {removed:,.0f} of exposure to IDX (market beta of the book "
            f"{before['beta']:.2f} -> {after['beta']:.2f} on USD 1,000,000 of capital; 21-day "
            f"volatility {before['volatility']:.2%} -> {after['volatility']:.2%}), at a carry "
            f"of USD {carry:,.0f} a year; no limit binds."
        )

    def test_greeks_of_a_futures_hedge_are_zero_not_minus_zero(self) -> None:
        # a short future has no gamma, vega or theta: the hedge row reads 0, never -0 (the
        # report and the summary print it)
        res = _problem(LINEAR, []).solve()
        g = res.greeks
        assert g is not None
        assert res.weights["F"] < 0
        optional = g[["gamma_1pct", "vega_1pt", "theta_1d"]].to_numpy()
        assert (optional == 0.0).all()
        assert not np.signbit(optional).any()
        assert g.loc["hedge", "delta"] == pytest.approx(res.weights["F"] * 1_000_000.0, rel=1e-12)
        assert g.attrs["units"] == (
            "base currency: delta per 1.00 move of the market (beta-adjusted notional), gamma "
            "per 1% move, vega per volatility point, theta per trading day"
        )

    def test_variance_states_its_approximation(self) -> None:
        result = _problem([*LINEAR, OPTIONS[0]], [], objective=oh.Variance()).solve()
        assert any("delta approximation" in n for n in result.notes)

    def test_delta_gamma_variance_is_the_quadratic_form_variance(self) -> None:
        daily = _daily()
        model = oh.FactorModel().fit(daily, daily[["IDX"]]).risk_model_
        book = oh.Portfolio.from_holdings({"A": 6e5, "B": 4e5})
        put = oh.Put("P", underlying="IDX", moneyness=0.95)
        problem = oh.HedgeProblem(
            book, [put], objective=oh.Variance(approximation="delta_gamma"),
            constraints=[oh.constraints.Bounds(lower={"P": 0.7}, upper={"P": 0.7})],
            risk_model=model, horizon=21, market="IDX", market_state=MARKET,
        )  # fmt: skip
        result = problem.solve()
        a = put.attributes(MARKET)
        cov = model.to_horizon(21).covariance()
        z = pd.Series({"A": 0.6, "B": 0.4, "IDX": 0.7 * a["delta"]}).reindex(cov.index).fillna(0.0)
        linear = float(z @ cov @ z)
        # Var(a'r + r'Ar) = a'Sa + 2 tr(ASAS), A = diag(gamma x / 2) on the underlying
        quad = 2 * (0.5 * a["gamma"] * 0.7) ** 2 * float(cov.loc["IDX", "IDX"]) ** 2
        assert result.objective_value == pytest.approx(linear + quad, rel=1e-7)
        assert any("delta-gamma" in n for n in result.notes)


class TestEventHedges:
    def test_fair_contract_is_not_bought_for_expected_value(self) -> None:
        scenarios = _crash_scenarios(500).with_event("fed", 0.2)
        contract = oh.EventContract("FED", event="fed", price=0.2)
        result = _problem([*LINEAR, contract], [GrossExposure(0.3)], scenarios=scenarios).solve()
        assert result.weights["FED"] == 0.0

    def test_a_cheap_contract_on_a_crash_event_is_sized_with_the_rest(self) -> None:
        scenarios = _crash_scenarios(500).with_event(
            "default", 0.1, shock={"BOOK": -0.2, "IDX": -0.1}
        )
        contract = oh.EventContract("DEF", event="default", price=0.08)
        instruments = [*LINEAR, contract]
        result = _problem(
            instruments, [GrossExposure(0.3), PremiumBudget(0.01)], scenarios=scenarios
        ).solve()
        assert result.weights["DEF"] > 0
        table = oh.kelly_comparison(result.weights, instruments, scenarios)
        row = table.loc["DEF"]
        assert row["user_probability"] == pytest.approx(0.1)
        assert row["kelly_stake"] == pytest.approx((0.1 - 0.08) / 0.92)
        assert row["stake"] == pytest.approx(result.weights["DEF"] * 0.08)

    def test_variance_cannot_see_an_event_contract(self) -> None:
        scenarios = _crash_scenarios(200).with_event("fed", 0.2)
        contract = oh.EventContract("FED", event="fed", price=0.2)
        with pytest.raises(SpecificationError, match="ExpectedShortfall"):
            _problem([*LINEAR, contract], [], scenarios=scenarios, objective=oh.Variance())


def test_a_problem_with_options_and_events_pickles_and_solves_the_same() -> None:
    import pickle

    scenarios = _crash_scenarios(300).with_event("default", 0.1, shock={"BOOK": -0.2})
    instruments = [*LINEAR, OPTIONS[0], oh.EventContract("DEF", event="default", price=0.08)]
    problem = _problem(instruments, [PremiumBudget(0.01), GrossExposure(0.4)], scenarios=scenarios)
    here = problem.solve()
    there = pickle.loads(pickle.dumps(problem)).solve()
    np.testing.assert_allclose(there.weights, here.weights, atol=1e-9)
    assert there.objective_value == pytest.approx(here.objective_value, rel=1e-10)


def test_expected_shortfall_states_full_repricing() -> None:
    result = _problem([*LINEAR, OPTIONS[0]], [PremiumBudget(0.01)]).solve()
    assert any("repriced fully" in n for n in result.notes)
    linear = _problem(LINEAR, []).solve()
    assert not any("repriced" in n for n in linear.notes)


def test_monte_carlo_and_stress_scenarios_carry_what_repricing_needs() -> None:
    daily = _daily()
    model = oh.FactorModel().fit(daily, daily[["IDX"]]).risk_model_
    mc = oh.Scenarios.monte_carlo(model, 500, horizon=21, seed=4)
    assert mc.paths is not None
    # the paths' first 21 days are the horizon returns: the same draws
    np.testing.assert_allclose(mc.paths.through("IDX", 21), mc.column("IDX"), rtol=1e-12)
    put = oh.Put("P", underlying="IDX", moneyness=1.0, expiry=10, vol_model=FLAT)
    level = 1 + mc.return_through("IDX", 10)
    expected = np.maximum(1 - level, 0) - _premium([("put", 1.0, 1.0)], 10)
    np.testing.assert_allclose(put.scenario_returns(mc, MARKET), expected, atol=1e-12)
    assert not np.allclose(level, 1 + mc.column("IDX"))  # day 10 is not day 21
    stress = oh.Scenarios.stress(daily, (str(daily.index[10].date()), str(daily.index[60].date())))
    assert np.isfinite(oh.Put("Q", underlying="IDX").scenario_returns(stress, MARKET)).all()

"""Time in the instruments: prices in the market state, value(), dated option contracts.

Known answers against Black-Scholes written here with scipy (never the package's own
pricer): a 95% put bought for 63 trading days and re-valued 21 trading days later keeps
its strike and has 42 days left; a future's value follows its price; a roll books the
two legs' values; a held contract in a re-solved problem has aged. ``MarketState.from_data``
reads the embedded closes and the VIX up to the date and nothing after it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import optihedge as oh
from optihedge.calendar import DEFAULT_CALENDAR
from optihedge.datasets import load_default
from optihedge.errors import DataError, MissingLabelsError, SpecificationError
from optihedge.pricing import VolatilityModel

D0 = pd.Timestamp("2021-03-01")
S0, S1 = 4000.0, 3850.0
RATE, DIV, VOL0, VOL1 = 0.03, 0.015, 0.20, 0.24
FLAT = VolatilityModel(skew=0.0)


def _bs(kind: str, s: float, k: float, t: float, r: float, v: float, q: float) -> float:
    d1 = (math.log(s / k) + (r - q + 0.5 * v * v) * t) / (v * math.sqrt(t))
    d2 = d1 - v * math.sqrt(t)
    if kind == "call":
        return s * math.exp(-q * t) * norm.cdf(d1) - k * math.exp(-r * t) * norm.cdf(d2)
    return k * math.exp(-r * t) * norm.cdf(-d2) - s * math.exp(-q * t) * norm.cdf(-d1)


def _put_greeks(s: float, k: float, t: float, r: float, v: float, q: float) -> dict[str, float]:
    d1 = (math.log(s / k) + (r - q + 0.5 * v * v) * t) / (v * math.sqrt(t))
    d2 = d1 - v * math.sqrt(t)
    pdf = norm.pdf(d1)
    return {
        "delta": -math.exp(-q * t) * norm.cdf(-d1),
        "gamma": math.exp(-q * t) * pdf / (s * v * math.sqrt(t)),
        "theta": -s * math.exp(-q * t) * pdf * v / (2 * math.sqrt(t))
        + r * k * math.exp(-r * t) * norm.cdf(-d2)
        - q * s * math.exp(-q * t) * norm.cdf(-d1),
    }


def _market(asof: object, spot: float, vol: float, **kw: object) -> oh.MarketState:
    return oh.MarketState(
        spot={"IDX": spot},
        volatility={"IDX": vol},
        rate=RATE,
        dividend_yield={"IDX": DIV},
        asof=asof,
        **kw,  # type: ignore[arg-type]
    )


M0 = _market(D0, S0, VOL0)
D21 = DEFAULT_CALENDAR.add(D0, 21)
M21 = _market(D21, S1, VOL1)


# ------------------------------------------------------------------ prices and value()
class TestPricesAndValue:
    def test_future_value_follows_its_price(self) -> None:
        fut = oh.Future("ESM1", underlying="IDX", price=3900.0, multiplier=50.0)
        before = oh.MarketState(prices={"ESM1": 4000.0})
        after = oh.MarketState(prices=pd.Series({"ESM1": 4123.25}))
        assert fut.value(before) == 4000.0 * 50.0
        assert fut.value(after) - fut.value(before) == pytest.approx(123.25 * 50.0, rel=1e-15)
        # the market's price is the one home of "the price today": contract_value reads it
        assert fut.attributes(after)["contract_value"] == 4123.25 * 50.0
        # without a market price, the constructor's price stands (today's convenience)
        assert fut.value(oh.MarketState()) == 3900.0 * 50.0
        assert fut.attributes()["contract_value"] == 3900.0 * 50.0
        assert after.price_of(fut) == 4123.25
        assert M0.price_of(fut) == 3900.0

    def test_etf_reduction_and_cash_value_one_unit(self) -> None:
        etf = oh.ETF("SPY", underlying="IDX", price=400.0)
        assert etf.value(oh.MarketState(prices={"SPY": 410.5})) == 410.5
        assert oh.PositionReduction("sell A", holding="A", price=12.5).value(M0) == 12.5
        assert oh.Cash().value(M0) == 1.0

    def test_problem_contract_value_and_units_read_the_market_price(self) -> None:
        returns = _returns()
        fut = oh.Future("F", underlying="IDX", price=3000.0, multiplier=50.0)
        market = _market(D0, S0, VOL0, prices={"F": 4000.0})
        problem = oh.HedgeProblem(
            oh.Portfolio.from_holdings({"A": 1_000_000.0}),
            [fut],
            objective=oh.Variance(),
            scenarios=oh.Scenarios.historical(returns, horizon=5),
            market="IDX",
            market_state=market,
        )
        result = problem.solve()
        assert problem.data.attributes.loc["F", "contract_value"] == 4000.0 * 50.0 / 1_000_000.0
        notional = result.allocation.loc["F", "notional"]
        assert result.allocation.loc["F", "units"] == pytest.approx(notional / 200_000.0, 1e-12)

    def test_option_package_value_is_black_scholes_times_multiplier(self) -> None:
        put = oh.Put("P", underlying="IDX", moneyness=0.95, expiry=63, vol_model=FLAT)
        expected = _bs("put", S0, 0.95 * S0, 63 / 252, RATE, VOL0, DIV) * 100.0
        assert put.value(M0) == pytest.approx(expected, rel=1e-12)


# ------------------------------------------------------------------ dated contracts
class TestOptionContract:
    def test_put_bought_at_95_and_revalued_21_days_later(self) -> None:
        series = oh.Put("SPX 95", underlying="IDX", moneyness=0.95, expiry=63, vol_model=FLAT)
        held = series.contract(M0)
        assert isinstance(held, oh.OptionContract)
        assert held.options == (("put", 0.95 * S0, 1.0),)
        assert held.expiry == DEFAULT_CALENDAR.add(D0, 63)
        assert held.label == f"SPX 95 {held.expiry:%Y-%m-%d}"
        assert held.days_left(M0) == 63
        assert held.days_left(M21) == 42
        bought = _bs("put", S0, 0.95 * S0, 63 / 252, RATE, VOL0, DIV) * 100.0
        assert held.value(M0) == pytest.approx(bought, rel=1e-12)
        # 21 trading days later: original strike, 42 days left, the new spot and volatility
        later = _bs("put", S1, 0.95 * S0, 42 / 252, RATE, VOL1, DIV) * 100.0
        assert held.value(M21) == pytest.approx(later, rel=1e-12)
        # the series would re-strike at the new spot and restart its 63 days: not the same
        assert series.value(M21) != pytest.approx(later, rel=1e-3)

    def test_aged_contract_with_skew_and_own_implied_vol(self) -> None:
        skewed = oh.Put("P", underlying="IDX", moneyness=0.95, expiry=63).contract(M0)
        k, t = 0.95 * S0, 42 / 252
        sigma = VOL1 + (-0.30) * math.log(k / S1) * math.sqrt(0.25 / t)  # the stated skew
        assert skewed.value(M21) == pytest.approx(
            _bs("put", S1, k, t, RATE, sigma, DIV) * 100.0, rel=1e-12
        )
        own = oh.Put("Q", underlying="IDX", strike=3700.0, expiry=63, implied_vol=0.31)
        held = own.contract(M0, label="Q1")
        assert held.label == "Q1"
        assert held.single_vol
        assert held.value(M21) == pytest.approx(
            _bs("put", S1, 3700.0, t, RATE, 0.31, DIV) * 100.0, rel=1e-12
        )

    def test_collar_contract_keeps_both_strikes(self) -> None:
        collar = oh.Collar(
            "C", underlying="IDX", put_moneyness=0.9, call_moneyness=1.1, vol_model=FLAT,
            multiplier=10.0,
        )  # fmt: skip
        held = collar.contract(M0)
        assert held.options == (("put", 0.9 * S0, 1.0), ("call", 1.1 * S0, -1.0))
        t = 42 / 252
        expected = _bs("put", S1, 0.9 * S0, t, RATE, VOL1, DIV) - _bs(
            "call", S1, 1.1 * S0, t, RATE, VOL1, DIV
        )
        assert held.value(M21) == pytest.approx(expected * 10.0, rel=1e-12)

    def test_value_at_and_after_expiry_is_intrinsic(self) -> None:
        held = oh.Put("P", underlying="IDX", moneyness=0.95, expiry=63).contract(M0)
        on_expiry = _market(held.expiry, 3500.0, VOL1)
        after = _market(held.expiry + pd.Timedelta(days=10), 3900.0, VOL1)
        assert held.value(on_expiry) == (0.95 * S0 - 3500.0) * 100.0
        assert held.value(after) == 0.0

    def test_roll_books_exactly_the_two_legs_values(self) -> None:
        series = oh.Put("SPX 95", underlying="IDX", moneyness=0.95, expiry=63, vol_model=FLAT)
        old = series.contract(M0)
        d60 = DEFAULT_CALENDAR.add(D0, 60)
        market = _market(d60, S1, VOL1)
        new, cash = old.roll(market, into=series, contracts=7.0)
        assert old.days_left(market) == 3
        assert new.days_left(market) == 63
        assert new.options == (("put", 0.95 * S1, 1.0),)
        assert cash == 7.0 * (old.value(market) - new.value(market))
        sold = _bs("put", S1, 0.95 * S0, 3 / 252, RATE, VOL1, DIV) * 100.0
        bought = _bs("put", S1, 0.95 * S1, 63 / 252, RATE, VOL1, DIV) * 100.0
        assert cash == pytest.approx(7.0 * (sold - bought), rel=1e-12)
        # rolling on the expiry date sells at intrinsic value
        expired = _market(old.expiry, 3600.0, VOL1)
        _, cash = old.roll(expired, into=series)
        fresh = _bs("put", 3600.0, 0.95 * 3600.0, 63 / 252, RATE, VOL1, DIV) * 100.0
        assert cash == pytest.approx((0.95 * S0 - 3600.0) * 100.0 - fresh, rel=1e-12)

    def test_held_contract_ages_when_the_problem_is_resolved(self) -> None:
        series = oh.Put("P95", underlying="IDX", moneyness=0.95, expiry=63, vol_model=FLAT)
        held = series.contract(M0, label="held")
        problem = oh.HedgeProblem(
            oh.Portfolio.from_holdings({"A": 1_000_000.0}),
            [oh.Future("F", underlying="IDX", price=S0, multiplier=50.0), held, series],
            objective=oh.ExpectedShortfall(0.9),
            scenarios=oh.Scenarios.historical(_returns(), horizon=5),
            market="IDX",
            market_state=M0,
        )
        problem.solve()
        k = 0.95 * S0
        attrs = problem.data.attributes
        p0 = _bs("put", S0, k, 63 / 252, RATE, VOL0, DIV) / S0
        assert attrs.loc["held", "premium"] == pytest.approx(p0, rel=1e-12)
        problem.solve(market_state=M21)
        attrs = problem.data.attributes
        t = 42 / 252
        g = _put_greeks(S1, k, t, RATE, VOL1, DIV)
        premium = _bs("put", S1, k, t, RATE, VOL1, DIV) / S1
        assert attrs.loc["held", "premium"] == pytest.approx(premium, rel=1e-12)
        assert attrs.loc["held", "annual_premium"] == pytest.approx(premium / t, rel=1e-12)
        assert attrs.loc["held", "delta"] == pytest.approx(g["delta"], rel=1e-12)
        assert attrs.loc["held", "gamma"] == pytest.approx(g["gamma"] * S1, rel=1e-10)
        assert attrs.loc["held", "carry_long"] == pytest.approx(-g["theta"] / S1, rel=1e-10)
        assert problem.data.exposures.loc["IDX", "held"] == pytest.approx(g["delta"], 1e-12)
        # the series restarts on the later date: 63 days at a strike of 0.95 x S1
        fresh = _bs("put", S1, 0.95 * S1, 63 / 252, RATE, VOL1, DIV) / S1
        assert attrs.loc["P95", "premium"] == pytest.approx(fresh, rel=1e-12)

    def test_contract_scenarios_are_a_package_with_the_days_left(self) -> None:
        scenarios = oh.Scenarios.historical(_returns(), horizon=5)
        held = oh.Put("P", underlying="IDX", moneyness=0.95, expiry=63).contract(M0)
        same = oh.Put("P", underlying="IDX", strike=0.95 * S0, expiry=42)
        np.testing.assert_array_equal(
            held.scenario_returns(scenarios, M21), same.scenario_returns(scenarios, M21)
        )
        assert held.attributes(M21) == same.attributes(M21)

    def test_exported_like_the_other_instruments(self) -> None:
        assert oh.OptionContract is oh.instruments.OptionContract
        assert "OptionContract" in oh.__all__
        assert "OptionContract" in oh.instruments.__all__


# ------------------------------------------------------------------ from_data
class TestFromData:
    def test_spot_and_vix_on_a_date(self) -> None:
        m = oh.MarketState.from_data("2016-06-24", rate=0.01, dividend_yield={"SP500": 0.02})
        closes = load_default(start="2016-06-24", end="2016-06-24", columns=["SP500", "VIX"])
        assert m.asof == pd.Timestamp("2016-06-24")
        assert m.spot_of("SP500") == closes["SP500"].iloc[0]
        assert m.volatility_of("SP500") == closes["VIX"].iloc[0] / 100.0
        assert m.rate == 0.01
        assert m.dividend_yield_of("SP500") == 0.02

    def test_proxy_before_the_vix_and_no_future_rows(self) -> None:
        date = pd.Timestamp("2008-10-10")
        m = oh.MarketState.from_data(date)
        closes = load_default(start="2007-06-01", end=date, columns=["SP500"])["SP500"]
        r = (closes / closes.shift(1) - 1.0).dropna().to_numpy()[-252:]
        w = 0.5 ** (np.arange(len(r) - 1, -1, -1) / 21.0)
        proxy = 1.27 * math.sqrt(252 * float(w @ (r * r)) / float(w.sum()))
        assert m.spot_of("SP500") == closes.iloc[-1]
        assert m.volatility_of("SP500") == pytest.approx(proxy, rel=1e-12)
        # rows after the date, however wrong, change nothing
        data = load_default(start="2007-06-01", end="2009-12-31", columns=["SP500", "VIX"])
        spoiled = data.copy()
        spoiled.loc[spoiled.index > date, :] = 1e9
        a = oh.MarketState.from_data(date, data=data)
        b = oh.MarketState.from_data(date, data=spoiled)
        assert a.spot.equals(b.spot)
        assert a.volatility.equals(b.volatility)
        assert a.spot.equals(m.spot)
        assert a.volatility.equals(m.volatility)

    def test_weekend_takes_the_last_close(self) -> None:
        friday = oh.MarketState.from_data("2016-06-24")
        saturday = oh.MarketState.from_data("2016-06-25")
        assert saturday.asof == pd.Timestamp("2016-06-25")
        assert saturday.spot.equals(friday.spot)
        assert saturday.volatility.equals(friday.volatility)


# ------------------------------------------------------------------ bad inputs
def _held() -> oh.OptionContract:
    return oh.Put("P", underlying="IDX", moneyness=0.95, expiry=63).contract(M0)


BAD = [
    (lambda: _held().value(_market(None, S0, VOL0)), SpecificationError,
     r"OptionContract\('P 2021-05-27'\) expires on 2021-05-27 .*MarketState\(asof=\.\.\.\)"),
    (lambda: _held().attributes(_market(None, S0, VOL0)), SpecificationError, r"'P 2021.*asof"),
    (lambda: oh.Put("P", underlying="IDX").contract(_market(None, S0, VOL0)),
     SpecificationError, r"Put\('P'\)\.contract needs the market's date.*asof"),
    (lambda: _held().attributes(_market("2021-06-01", S0, VOL0)), SpecificationError,
     r"expired on 2021-05-27, on or before the market's asof 2021-06-01.*Roll it"),
    (lambda: _held().exposures(_market("2021-05-27", S0, VOL0)), SpecificationError,
     r"expired on 2021-05-27"),
    (lambda: oh.MarketState(prices={"F": -4000.0}), DataError,
     r"'prices' argument of MarketState must hold finite positive numbers.*'F'.*-4000"),
    (lambda: oh.MarketState(prices={"F": 0.0}), DataError, r"'prices'.*positive.*0\.0"),
    (lambda: oh.MarketState(prices={"F": float("nan")}), DataError, r"'prices'.*finite.*nan"),
    (lambda: oh.MarketState(prices={"F": "4000"}), DataError, r"'prices'.*must hold numbers"),
    (lambda: oh.MarketState(prices=[4000.0]), DataError, r"'prices'.*by instrument label"),
    (lambda: oh.OptionContract("X", underlying="IDX", options=[], expiry="2021-06-01"),
     SpecificationError, r"'options' of OptionContract\('X'\) must be a non-empty"),
    (lambda: oh.OptionContract("X", underlying="IDX", options=[("straddle", 1.0, 1.0)],
                               expiry="2021-06-01"),
     SpecificationError, r"kind of leg 0 .* 'put' or 'call'\. Got 'straddle'"),
    (lambda: oh.OptionContract("X", underlying="IDX", options=[("put", -1.0, 1.0)],
                               expiry="2021-06-01"),
     SpecificationError, r"X'\)\.options\[0\]\.strike"),
    (lambda: oh.OptionContract("X", underlying="IDX", options=[("put", 1.0, 1.0)],
                               expiry=20210601),
     SpecificationError, r"'OptionContract\('X'\)\.expiry' argument must be a date.*20210601"),
    (lambda: _held().roll(M21, into=oh.Future("F", underlying="IDX")),  # type: ignore[arg-type]
     SpecificationError, r"roll needs the series to buy, an OptionPackage"),
    (lambda: oh.MarketState.from_data("2030-01-02"), DataError,
     r"date 2030-01-02 lies outside the data \(1990-01-02 to 2022-12-28"),
    (lambda: oh.MarketState.from_data("1989-01-02"), DataError, r"select no rows"),
    (lambda: oh.MarketState.from_data("2016-06-24", underlyings=["NOPE"]), MissingLabelsError,
     r"'underlyings' argument of MarketState.from_data names \['NOPE'\], which the data lack"),
    (lambda: oh.MarketState.from_data(20160624), SpecificationError,
     r"'date' argument must be a date"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "error", "match"), BAD)
def test_bad_inputs(call: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()  # type: ignore[operator]


def test_problem_refuses_a_contract_without_asof() -> None:
    match = r"OptionContract\('P 2021-05-27'\) needs \['asof'\]"
    with pytest.raises(SpecificationError, match=match):
        oh.HedgeProblem(
            oh.Portfolio.from_holdings({"A": 1_000_000.0}),
            [_held()],
            objective=oh.ExpectedShortfall(0.9),
            scenarios=oh.Scenarios.historical(_returns(), horizon=5),
            market="IDX",
            market_state=_market(None, S0, VOL0),
        )


def _returns(n: int = 300, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = rng.normal(0.0003, 0.012, n)
    return pd.DataFrame(
        {"A": 0.9 * idx + rng.normal(0, 0.01, n), "IDX": idx},
        index=pd.bdate_range("2019-01-01", periods=n),
    )

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

D0 = pd.Timestamp("2021-03-01")
S0, S1 = 4000.0, 3850.0
RATE, DIV, VOL0, VOL1 = 0.03, 0.015, 0.20, 0.24


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
BAD = [
    (lambda: oh.MarketState(prices={"F": -4000.0}), DataError,
     r"'prices' argument of MarketState must hold finite positive numbers.*'F'.*-4000"),
    (lambda: oh.MarketState(prices={"F": 0.0}), DataError, r"'prices'.*positive.*0\.0"),
    (lambda: oh.MarketState(prices={"F": float("nan")}), DataError, r"'prices'.*finite.*nan"),
    (lambda: oh.MarketState(prices={"F": "4000"}), DataError, r"'prices'.*must hold numbers"),
    (lambda: oh.MarketState(prices=[4000.0]), DataError, r"'prices'.*by instrument label"),
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


def _returns(n: int = 300, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = rng.normal(0.0003, 0.012, n)
    return pd.DataFrame(
        {"A": 0.9 * idx + rng.normal(0, 0.01, n), "IDX": idx},
        index=pd.bdate_range("2019-01-01", periods=n),
    )

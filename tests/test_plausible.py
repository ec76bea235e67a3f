"""Implausible inputs (issue 20): percent for decimals, days for years, a date for a count.

One table of (call, error type, message fragment): every refusal is typed, names the
argument and the value, and gives the likely fix. Then the boundary values the bounds
must still accept, and the floors of portfolio insurance against the CAPM relation
solved by hand.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

import optihedge as oh
from optihedge._plausible import MAX_EXPIRY_DAYS
from optihedge.errors import DataError, SpecificationError
from optihedge.pricing import black_scholes, greeks, implied_volatility

MARKET = oh.MarketState(spot={"IDX": 4000.0}, volatility={"IDX": 0.2}, rate=0.03)
HULL = {"kind": "call", "strike": 50.0, "r": 0.05, "sigma": 0.2, "T": 20 / 52, "position": -1.0}
RETURNS = pd.DataFrame(
    np.random.default_rng(5).normal(0.0, 0.01, (60, 2)),
    columns=["IDX", "A"],
    index=pd.bdate_range("2021-01-01", periods=60),
)


def _bs_put(s: float, k: float, t: float, r: float, sigma: float) -> float:
    """Black-Scholes put by hand (Hull), N from erfc, independent of optihedge."""
    d1 = (math.log(s / k) + (r + 0.5 * sigma * sigma) * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)

    def n(x: float) -> float:
        return 0.5 * math.erfc(-x / math.sqrt(2.0))

    return k * math.exp(-r * t) * n(-d2) - s * n(-d1)


def _put(**kwargs: object) -> oh.Put:
    return oh.Put("P", underlying="IDX", **kwargs)  # type: ignore[arg-type]


CASES: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    # expiry and strike of options
    ("expiry typed as a date", lambda: _put(expiry=20_250_321), SpecificationError,
     "20250321 looks like a date (YYYYMMDD)"),
    ("expiry of 30 years and a day", lambda: _put(expiry=MAX_EXPIRY_DAYS + 1),
     SpecificationError, "'Put('P').expiry' argument is trading days to expiry and must lie in "
     "[1, 7560]"),
    ("strike 95 on a spot of 4,000", lambda: _put(strike=95).attributes(MARKET),
     SpecificationError, "pass moneyness=0.95 (or strike=3800)"),
    ("strike 4,000,000", lambda: _put(strike=4_000_000).exposures(MARKET), SpecificationError,
     "between 800 and 20000"),
    ("strike 95 in a problem", lambda: oh.HedgeProblem(
        oh.Portfolio.from_holdings({"A": 1e6}), [oh.Call("C", underlying="IDX", strike=95.0)],
        objective=oh.Variance(), risk_model=oh.FactorModel().fit(RETURNS[["A"]], RETURNS[["IDX"]])
        .risk_model_, market="IDX", market_state=MARKET).solve(),
     SpecificationError, "'Call('C').strike' argument 95.0 is 0.02375 times the spot"),
    ("moneyness 95", lambda: _put(moneyness=95), SpecificationError, "95 looks like percent: "
     "pass 0.95"),
    ("collar put at 90", lambda: oh.Collar("K", underlying="IDX", put_moneyness=90,
     call_moneyness=1.1), SpecificationError, "pass 0.9"),
    ("implied vol of 20", lambda: _put(implied_vol=20), SpecificationError,
     "'Put('P').implied_vol' argument is an annual volatility"),
    ("implied vol of 20, the fix", lambda: _put(implied_vol=20), SpecificationError,
     "20 looks like percent: pass 0.2"),
    # the market state
    ("volatility of 20", lambda: oh.MarketState(volatility={"IDX": 20}), DataError,
     "got {'IDX': 20}, outside the plausible range. 20 looks like percent: pass 0.2"),
    ("one volatility of 25 among decimals",
     lambda: oh.MarketState(volatility=pd.Series({"IDX": 0.2, "NDX": 25.0})), DataError,
     "{'NDX': 25}"),
    ("volatility of 6", lambda: oh.MarketState(volatility={"IDX": 6.0}), DataError,
     "(0, 5]"),
    ("rate of 4.0", lambda: oh.MarketState(rate=4.0), SpecificationError,
     "'rate' argument is an annual rate, decimal (0.04 = 4%) and must lie in [-0.2, 0.5]; got "
     "4.0, outside the plausible range. 4 looks like percent: pass 0.04"),
    ("rate of -0.5", lambda: oh.MarketState(rate=-0.5), SpecificationError, "[-0.2, 0.5]"),
    ("dividend yield of 1.5", lambda: oh.MarketState(dividend_yield={"IDX": 1.5}), DataError,
     "'dividend_yield' argument holds annual dividend yields"),
    ("dividend yield of 1.5, the fix", lambda: oh.MarketState(dividend_yield={"IDX": 1.5}),
     DataError, "1.5 looks like percent: pass 0.015"),
    ("asof as a number", lambda: oh.MarketState(asof=20230101), SpecificationError,
     "The 'asof' argument must be a date; got 20230101 of type int. A number is not a date"),
    ("asof as a float", lambda: oh.MarketState(asof=1.5), SpecificationError, "'asof'"),
    ("asof yesterday", lambda: oh.MarketState(asof="yesterday"), SpecificationError,
     "'asof' argument 'yesterday' is not an ISO 8601 date; pass a date"),
    ("asof in US order", lambda: oh.MarketState(asof="01/02/2023"), SpecificationError,
     "ISO 8601"),
    ("asof NaT", lambda: oh.MarketState(asof=pd.NaT), SpecificationError, "NaT"),
    ("a spot as text", lambda: oh.MarketState(spot={"IDX": "4000"}), DataError,
     "'spot' argument of MarketState must hold numbers; ['IDX'] hold ['4000']"),
    ("a volatility Series of text", lambda: oh.MarketState(volatility=pd.Series({"IDX": "0.2"})),
     DataError, "must hold numbers"),
    ("a spot of True", lambda: oh.MarketState(spot={"IDX": True}), DataError, "[True]"),
    ("a rate as text", lambda: oh.MarketState(rate="0.03"), SpecificationError, "'rate'"),
    ("a strike as text", lambda: _put(strike="95"), SpecificationError, "'Put('P').strike'"),
    # portfolio insurance and the delta-hedge table
    ("a floor 100 times the value", lambda: oh.portfolio_insurance(1e6, 1.0, 4000.0, 1e8, T=0.25),
     DataError, "'floor' argument 100000000.0 is implausible"),
    ("T of 63 (days)", lambda: oh.portfolio_insurance(1e6, 1.0, 4000.0, 9e5, T=63),
     SpecificationError, "'T' argument is a time in years and must lie in (0, 30]; got 63.0, "
     "outside the plausible range. 63 looks like trading days: pass 63 / 252 = 0.25"),
    ("T of 31 years", lambda: oh.portfolio_insurance(1e6, 1.0, 4000.0, 9e5, T=31.0),
     SpecificationError, "(0, 30]"),
    ("r of 12", lambda: oh.portfolio_insurance(1e6, 1.0, 4000.0, 9e5, T=0.25, r=12),
     SpecificationError, "'r' argument is an annual rate"),
    ("q of 4", lambda: oh.portfolio_insurance(1e6, 1.0, 4000.0, 9e5, T=0.25, q=4),
     SpecificationError, "'q' argument is an annual dividend yield"),
    ("insurance sigma of 20", lambda: oh.portfolio_insurance(1e6, 1.0, 4000.0, 9e5, T=0.25,
     sigma=20), SpecificationError, "'sigma'"),
    ("delta hedge sigma of 20",
     lambda: oh.delta_hedge_table([49.0, 48.0], **HULL | {"sigma": 20}),  # type: ignore[arg-type]
     SpecificationError, "'sigma' argument is an annual volatility, decimal (0.2 = 20%) and "
     "must lie in (0, 5]; got 20.0, outside the plausible range. 20 looks like percent: pass 0.2"),
    ("delta hedge r of 5",
     lambda: oh.delta_hedge_table([49.0, 48.0], **HULL | {"r": 5}),  # type: ignore[arg-type]
     SpecificationError, "pass 0.05"),
    ("delta hedge T of 20 weeks as weeks",
     lambda: oh.delta_hedge_table([49.0, 48.0], **HULL | {"T": 40}),  # type: ignore[arg-type]
     SpecificationError, "'T'"),
    # the Black-Scholes functions (arrays: DataError)
    ("black_scholes T of 63", lambda: black_scholes("put", 4000, 3800, 63, 0.03, 0.2), DataError,
     "pass 63 / 252 = 0.25"),
    ("black_scholes one rate of 4.0", lambda: black_scholes("put", 4000, 3800, 0.25,
     [0.03, 4.0], 0.2), DataError, "got 4 at position 1 (1 offending value(s))"),
    ("greeks q of 2", lambda: greeks("put", 4000, 3800, 0.25, 0.03, 0.2, q=2.0), DataError,
     "'q' argument holds annual dividend yields"),
    ("implied_volatility r of 5", lambda: implied_volatility(100, "put", 4000, 3800, 0.25, 5.0),
     DataError, "pass 0.05"),
    # the volatility model and stated volatility moves
    ("a volatility floor of 10", lambda: oh.VolatilityModel(floor=10), SpecificationError,
     "'VolatilityModel.floor' argument is an annual volatility"),
    ("a shock's volatility move of 20", lambda: oh.Scenarios.shock(
        oh.FactorModel().fit(RETURNS, RETURNS[["IDX"]]).risk_model_, {"IDX": -0.1},
        vol_move=20), SpecificationError, "'vol_move' argument is a move of annual volatility"),
    ("stated volatility moves of 15", lambda: oh.Scenarios(
        RETURNS.iloc[:2], 1, vol_moves=pd.Series([0.1, 15.0], index=RETURNS.index[:2])),
     DataError, "'vol_moves' argument holds moves of annual volatility"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "call", "family", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_implausible_input_is_refused_with_the_fix(
    what: str, call: Callable[[], object], family: type[Exception], fragment: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(family) as info:
            call()
    assert type(info.value) is family, f"{what}: {type(info.value).__name__}"
    assert fragment in str(info.value), f"{what}: {info.value}"


# ------------------------------------------------------------ boundaries accepted
@pytest.mark.parametrize("vol", [1e-6, 0.2, 5.0])
@pytest.mark.parametrize("rate", [-0.2, 0.0, 0.5])
@pytest.mark.parametrize("q", [-0.2, 0.5])
def test_market_state_accepts_the_boundaries(vol: float, rate: float, q: float) -> None:
    state = oh.MarketState(
        spot={"IDX": 4000.0}, volatility={"IDX": vol}, rate=rate, dividend_yield={"IDX": q}
    )
    assert (state.volatility_of("IDX"), state.rate, state.dividend_yield_of("IDX")) == (
        vol,
        rate,
        q,
    )
    premium = _put(expiry=MAX_EXPIRY_DAYS).attributes(state)["premium"]
    assert np.isfinite(premium)


@pytest.mark.parametrize(
    "asof",
    [
        dt.date(2023, 1, 2),
        dt.datetime(2023, 1, 2, 16, 0),
        pd.Timestamp("2023-01-02"),
        np.datetime64("2023-01-02"),
        "2023-01-02",
        "2023-01-02T16:00:00",
    ],
)
def test_asof_accepts_dates_and_iso_strings(asof: object) -> None:
    assert oh.MarketState(asof=asof).asof.normalize() == pd.Timestamp(2023, 1, 2)  # type: ignore[union-attr]


@pytest.mark.parametrize("moneyness", [0.2, 1.0, 5.0])
def test_absolute_strikes_at_the_moneyness_bounds_are_priced(moneyness: float) -> None:
    strike = 4000.0 * moneyness
    a = _put(strike=strike, expiry=63, implied_vol=0.2).attributes(MARKET)
    b = _put(moneyness=moneyness, expiry=63, implied_vol=0.2).attributes(MARKET)
    # the same put with its strike given absolutely or as moneyness: Black-Scholes by hand
    assert a["premium"] == pytest.approx(b["premium"], rel=1e-12)
    by_hand = _bs_put(4000.0, strike, 0.25, 0.03, 0.2)
    assert a["premium"] == pytest.approx(by_hand / 4000.0, rel=1e-9, abs=1e-300)


def test_pricing_functions_accept_the_boundaries() -> None:
    assert np.isfinite(black_scholes("put", 100.0, 100.0, 30.0, 0.5, 5.0, -0.2))
    assert np.isfinite(greeks("call", 100.0, 100.0, 30.0, -0.2, 0.2, 0.5).delta)
    assert oh.VolatilityModel(floor=5.0).floor == 5.0
    table = oh.delta_hedge_table([49.0, 48.0], **HULL | {"sigma": 5.0, "r": 0.5})  # type: ignore[arg-type]
    assert len(table) == 2


def test_insurance_floor_bounds_follow_the_capm_relation() -> None:
    # Hull's setting: USD 500,000, beta 2, index 1,000, r 12%, q 4%, three months. The
    # floor at strike K: F = V (1 + rT + beta (K / I0 - 1 + qT - rT) - qT), by hand
    v, beta, i0, r, q, t = 500_000.0, 2.0, 1000.0, 0.12, 0.04, 0.25
    highest = v * (1 + r * t + beta * (5.0 - 1 + q * t - r * t) - q * t)
    assert highest == pytest.approx(4_490_000.0)
    plan = oh.portfolio_insurance(v, beta, i0, highest * (1 - 1e-9), T=t, r=r, q=q)
    assert plan.strike == pytest.approx(5.0 * i0)
    with pytest.raises(DataError, match="Pass a floor between 0 and 4.49e\\+06"):
        oh.portfolio_insurance(v, beta, i0, highest * 1.001, T=t, r=r, q=q)
    # beta 0.5: the lowest floor is positive, at a strike of 20% of the index
    lowest = v * (1 + r * t + 0.5 * (0.2 - 1 + q * t - r * t) - q * t)
    assert lowest == pytest.approx(305_000.0)
    plan = oh.portfolio_insurance(v, 0.5, i0, lowest * (1 + 1e-9), T=t, r=r, q=q)
    assert plan.strike == pytest.approx(0.2 * i0)
    with pytest.raises(DataError, match="Pass a floor between 305000 and"):
        oh.portfolio_insurance(v, 0.5, i0, lowest * 0.999, T=t, r=r, q=q)
    assert oh.portfolio_insurance(v, beta, i0, 450_000.0, T=30.0, r=r, q=q).contracts == 10.0

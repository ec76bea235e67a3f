"""Known answers that tell the instruments' code from small changes to it (issue 24).

``MarketState.from_data`` on small frames written here (so every close, return and date
gap is known by hand) and the option contracts against Black-Scholes written here with
scipy. Each expected number is computed in the test, never by the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import optihedge as oh
from optihedge.calendar import TradingCalendar
from optihedge.errors import DataError, SpecificationError

RATIO = 1.27  # the implied/realised ratio of the volatility proxy, as documented


def _proxy(closes: list[float], halflife: float = 21.0) -> float:
    """EWMA volatility of the closes' simple returns, annualised by 252, times 1.27."""
    c = np.asarray(closes)
    r = c[1:] / c[:-1] - 1.0
    w = 0.5 ** (np.arange(len(r) - 1, -1, -1) / halflife)
    return RATIO * math.sqrt(252.0 * float(w @ (r * r)) / float(w.sum()))


def _frame(columns: dict[str, list[float]], start: str = "2020-01-06") -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame(columns, index=pd.bdate_range(start, periods=n))


# ------------------------------------------------------------------ from_data
class TestFromDataKnownFrames:
    def test_one_name_as_a_string_and_two_returns_suffice(self) -> None:
        d = _frame({"IDX": [100.0, 101.0, 99.0]})
        m = oh.MarketState.from_data(d.index[-1], underlyings="IDX", data=d)
        assert list(m.spot.index) == ["IDX"]
        assert m.spot_of("IDX") == 99.0
        assert m.volatility_of("IDX") == pytest.approx(_proxy([100.0, 101.0, 99.0]), rel=1e-12)

    def test_one_return_is_refused(self) -> None:
        d = _frame({"IDX": [100.0, 101.0]})
        with pytest.raises(
            DataError,
            match=r"'IDX' on 2020-01-07 needs at least two daily "
            r"returns up to that date; the data hold 1\. Pass a later date",
        ):
            oh.MarketState.from_data(d.index[-1], underlyings=["IDX"], data=d)

    def test_a_lone_close_without_vix_is_refused(self) -> None:
        # SP500 has one close (no returns); without a VIX column no volatility is known
        d = _frame({"SP500": [100.0, np.nan, np.nan], "IDX": [1.0, 2.0, 3.0]})
        with pytest.raises(DataError, match=r"'SP500' .* the data hold 0\."):
            oh.MarketState.from_data(d.index[-1], underlyings=["SP500"], data=d)

    def test_a_single_column_without_vix(self) -> None:
        d = _frame({"SP500": [100.0, 102.0, 101.0, 103.0]})
        m = oh.MarketState.from_data(d.index[-1], data=d)
        assert m.volatility_of("SP500") == pytest.approx(
            _proxy([100.0, 102.0, 101.0, 103.0]), rel=1e-12
        )

    def test_halflife_reaches_the_proxy(self) -> None:
        closes = [100.0, 103.0, 99.0, 101.0, 100.5, 104.0, 102.0, 98.0, 99.0, 100.0]
        d = _frame({"IDX": closes})
        m = oh.MarketState.from_data(d.index[-1], underlyings=["IDX"], data=d, halflife=2.0)
        assert m.volatility_of("IDX") == pytest.approx(_proxy(closes, 2.0), rel=1e-12)
        assert _proxy(closes, 2.0) != pytest.approx(_proxy(closes), rel=1e-3)

    def test_window_keeps_the_last_returns(self) -> None:
        closes = [100.0, 80.0, 101.0, 99.0, 100.0]
        d = _frame({"IDX": closes})
        m = oh.MarketState.from_data(d.index[-1], underlyings=["IDX"], data=d, window=2)
        assert m.volatility_of("IDX") == pytest.approx(_proxy(closes[-3:]), rel=1e-12)

    def test_names_after_sp500_with_its_vix(self) -> None:
        d = _frame({"SP500": [100.0, 101.0, 102.0], "VIX": [20.0, 21.0, 25.0],
                    "IDX": [50.0, 51.0, 49.0]})  # fmt: skip
        m = oh.MarketState.from_data(d.index[-1], underlyings=["SP500", "IDX"], data=d)
        assert m.spot.to_dict() == {"SP500": 102.0, "IDX": 49.0}
        assert m.volatility_of("SP500") == 0.25
        assert m.volatility_of("IDX") == pytest.approx(_proxy([50.0, 51.0, 49.0]), rel=1e-12)
        assert m.spot.dtype == np.float64
        assert m.volatility.dtype == np.float64

    def test_columns_of_the_data_not_of_the_embedded_set(self) -> None:
        d = _frame({"MYIDX": [10.0, 11.0, 12.0]})
        m = oh.MarketState.from_data(d.index[-1], underlyings=["MYIDX"], data=d)
        assert m.spot_of("MYIDX") == 12.0

    def test_stale_is_more_than_five_calendar_days_after_the_last_close(self) -> None:
        d = _frame({"IDX": [100.0, 101.0, 99.0]})  # last close Wednesday 2020-01-08
        m = oh.MarketState.from_data("2020-01-13", underlyings=["IDX"], data=d)  # 5 days on
        assert m.spot_of("IDX") == 99.0
        with pytest.raises(
            DataError,
            match=r"date 2020-01-14 lies outside the data "
            r"\(2020-01-06 to 2020-01-08, up to that date\)",
        ):
            oh.MarketState.from_data("2020-01-14", underlyings=["IDX"], data=d)

    def test_only_the_last_close_counts_for_staleness(self) -> None:
        idx = pd.DatetimeIndex(["2020-01-06", "2020-01-07", "2020-01-08", "2020-03-02"])
        d = pd.DataFrame({"IDX": [100.0, 101.0, 99.0, 98.0]}, index=idx)
        m = oh.MarketState.from_data("2020-03-02", underlyings=["IDX"], data=d)
        assert m.spot_of("IDX") == 98.0


BAD_FROM_DATA = [
    ({"window": 1}, SpecificationError,
     r"^The 'window' argument must be an integer >= 2 \(trading days\)\. Got 1 instead\.$"),
    ({"data": pd.Series([1.0, 2.0, 3.0], index=pd.bdate_range("2020-01-06", periods=3))},
     DataError, r"'data' argument of MarketState\.from_data must be a DataFrame of closes "
     r"with a DatetimeIndex\. Got Series\."),
    ({"data": pd.DataFrame({"SP500": [1.0, 2.0, 3.0]})}, DataError,
     r"'data' argument .* DatetimeIndex\. Got DataFrame\."),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_FROM_DATA)
def test_from_data_bad_inputs(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        oh.MarketState.from_data("2020-01-08", **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------ options
D0 = pd.Timestamp("2021-03-01")  # a Monday; the next trading day is Tuesday 2021-03-02
S0, RATE, DIV = 4000.0, 0.03, 0.015
FLAT = oh.pricing.VolatilityModel(skew=0.0)


def _market(asof: object = D0, vol: float = 0.2) -> oh.MarketState:
    return oh.MarketState(
        spot={"IDX": S0}, volatility={"IDX": vol}, rate=RATE, dividend_yield={"IDX": DIV},
        asof=asof,
    )  # fmt: skip


def _bs(kind: str, s: float, k: float, t: float, v: float) -> dict[str, float]:
    """Black-Scholes-Merton value and Greeks (vega per 1.00, theta per year) by hand."""
    r, q = RATE, DIV
    d1 = (math.log(s / k) + (r - q + 0.5 * v * v) * t) / (v * math.sqrt(t))
    d2 = d1 - v * math.sqrt(t)
    dq, dr, pdf = math.exp(-q * t), math.exp(-r * t), norm.pdf(d1)
    decay = -s * dq * pdf * v / (2.0 * math.sqrt(t))
    common = {"gamma": dq * pdf / (s * v * math.sqrt(t)), "vega": s * dq * pdf * math.sqrt(t)}
    if kind == "call":
        return common | {
            "value": s * dq * norm.cdf(d1) - k * dr * norm.cdf(d2),
            "delta": dq * norm.cdf(d1),
            "theta": decay - r * k * dr * norm.cdf(d2) + q * s * dq * norm.cdf(d1),
        }
    return common | {
        "value": k * dr * norm.cdf(-d2) - s * dq * norm.cdf(-d1),
        "delta": -dq * norm.cdf(-d1),
        "theta": decay + r * k * dr * norm.cdf(-d2) - q * s * dq * norm.cdf(-d1),
    }


def _collar(**kw: object) -> oh.OptionContract:
    """Long a 3800 put, short half a 4200 call, 63 trading days from D0."""
    return oh.OptionContract(
        "COL", underlying="IDX", options=[("put", 3800.0, 1.0), ("call", 4200.0, -0.5)],
        expiry="2021-06-01", vol_model=FLAT, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


class TestOptionNumbers:
    def test_greeks_sum_over_the_legs_at_the_given_vol(self) -> None:
        # implied_vol 0.3 is the package's at-the-money vol (flat skew): not the market's 0.2
        c = _collar(implied_vol=0.3)
        m = _market(vol=0.2)
        # weekdays after 2021-03-01 up to 2021-06-01: 22 (March) + 22 (April) + 21 (May) + 1
        assert c.days_left(m) == 66
        t = 66 / 252
        put, call = _bs("put", S0, 3800.0, t, 0.3), _bs("call", S0, 4200.0, t, 0.3)
        want = {g: put[g] - 0.5 * call[g] for g in put}
        assert c.value(m) == pytest.approx(100.0 * want["value"], rel=1e-10)
        assert c.exposures(m) == {"IDX": pytest.approx(want["delta"], rel=1e-10)}
        a = c.attributes(m)
        assert a["premium"] == pytest.approx(want["value"] / S0, rel=1e-10)
        assert a["gamma"] == pytest.approx(want["gamma"] * S0, rel=1e-10)
        assert a["vega"] == pytest.approx(want["vega"] / S0, rel=1e-10)
        assert a["theta"] == pytest.approx(want["theta"] / S0, rel=1e-10)
        assert a["contract_value"] == S0 * 100.0

    def test_one_trading_day_left_is_still_priced(self) -> None:
        p = oh.OptionContract(
            "P", underlying="IDX", options=[("put", 4000.0, 1.0)], expiry="2021-03-02",
            implied_vol=0.25, single_vol=True,
        )  # fmt: skip
        m = _market()
        assert p.days_left(m) == 1
        want = _bs("put", S0, 4000.0, 1 / 252, 0.25)["value"] * 100.0
        assert p.value(m) == pytest.approx(want, rel=1e-10)
        assert p.value(m) > 0.0

    def test_expired_contract_pays_its_intrinsic_value(self) -> None:
        c = oh.OptionContract(
            "E", underlying="IDX", expiry="2021-03-01",
            options=[("call", 3900.0, 2.0), ("put", 3800.0, 1.0), ("put", 4100.0, 0.5)],
        )  # fmt: skip
        # calls pay spot - strike, puts strike - spot, each floored at 0, x ratio x 100
        assert c.value(_market()) == (2.0 * 100.0 + 0.0 + 0.5 * 100.0) * 100.0

    def test_market_requirements(self) -> None:
        assert oh.Put("P", underlying="IDX").market_requirements() == {"spot", "volatility"}
        assert oh.Put("P", underlying="IDX", implied_vol=0.2).market_requirements() == {"spot"}
        assert _collar().market_requirements() == {"spot", "volatility", "asof"}
        assert _collar(implied_vol=0.2).market_requirements() == {"spot", "asof"}

    def test_default_moneyness_is_at_the_money(self) -> None:
        c = oh.Put("P", underlying="IDX").contract(_market())
        assert c.options == (("put", S0, 1.0),)

    def test_legs_normalised(self) -> None:
        c = oh.OptionContract(
            "N", underlying="IDX", options=[["put", 3600, 1]], expiry="2021-06-01 15:30"
        )
        assert c.options == (("put", 3600.0, 1.0),)
        assert isinstance(c.options, tuple)
        assert isinstance(c.options[0][1], float)
        assert c.expiry == pd.Timestamp("2021-06-01")

    def test_contract_carries_every_field_and_the_calendar(self) -> None:
        cal = TradingCalendar(("2021-03-02",))
        pkg = oh.Put(
            "P", underlying="IDX", moneyness=0.9, expiry=2, price=3.0, cost=0.002, adv=5e5,
            lower=-1.0, upper=7.0,
        )  # fmt: skip
        c = pkg.contract(_market(), calendar=cal)
        assert c.calendar == cal
        assert c.expiry == pd.Timestamp("2021-03-04")  # Wed, Thu: 2 days past the holiday
        assert (c.price, c.cost, c.adv, c.lower, c.upper) == (3.0, 0.002, 5e5, -1.0, 7.0)

    def test_roll_keeps_the_calendar_and_takes_the_label(self) -> None:
        cal = TradingCalendar(("2021-03-02",))
        old = oh.OptionContract(
            "OLD", underlying="IDX", options=[("put", 3800.0, 1.0)], expiry="2021-03-01",
            calendar=cal,
        )  # fmt: skip
        new, cash = old.roll(_market(), oh.Put("P", underlying="IDX", expiry=2), label="NEW")
        assert new.label == "NEW"
        assert new.calendar == cal
        assert new.expiry == pd.Timestamp("2021-03-04")
        put = _bs("put", S0, S0, 2 / 252, 0.2)["value"]
        assert cash == pytest.approx((0.0 - put) * 100.0, rel=1e-10)


def _contract(options: object, **kw: object) -> oh.OptionContract:
    return oh.OptionContract(
        "X",
        underlying="IDX",
        options=options,
        expiry="2021-06-01",
        **kw,  # type: ignore[arg-type]
    )


BAD_OPTIONS = [
    (lambda: _contract("abc"), r"The 'options' of OptionContract\('X'\) must be a non-empty "
     r"sequence of \(kind, strike, ratio\) legs, e\.g\. \[\('put', 3600\.0, 1\.0\)\]\. Got 'abc'"),
    (lambda: _contract(["put"]), r"Leg 0 of OptionContract\('X'\)\.options must be \(kind, "
     r"strike, ratio\), e\.g\. \('put', 3600\.0, 1\.0\)\. Got 'put'\."),
    (lambda: _contract([("put", 1.0)]), r"Leg 0 of OptionContract\('X'\)\.options must be "
     r"\(kind, strike, ratio\).*Got \('put', 1\.0\)\."),
    (lambda: _contract([("put", 0.0, 1.0)]), r"The 'OptionContract\('X'\)\.options\[0\]\."
     r"strike' argument must be a finite number in \(0, inf\)\. Got 0\.0 instead\."),
    (lambda: _contract([("put", 3600.0, math.nan)]), r"The 'OptionContract\('X'\)\.options"
     r"\[0\]\.ratio' argument must be a finite number in \(-inf, inf\)\. Got nan instead\."),
    (lambda: _contract([("put", 30000.0, 1.0)]).value(_market()),
     r"^The 'OptionContract\('X'\)\.strike' argument 30000\.0 is 7\.5 times the spot of "
     r"'IDX' 4000\.0; strike / spot must lie in \[0\.2, 5\.0\]"),
    (lambda: oh.Put("P", underlying=""), r"The 'underlying' of Put\('P'\) must be a "
     r"non-empty str \(a risk-model asset or factor\)\. Got ''\."),
    (lambda: oh.Put("P", underlying="IDX", implied_vol=0.0),
     r"The 'Put\('P'\)\.implied_vol' argument must be a finite number in \(0, inf\)\. "
     r"Got 0\.0 instead\."),
    (lambda: _contract([("put", 3600.0, 1.0)]).roll(_market(), oh.Put("P", underlying="IDX"),
                                                     contracts=math.nan),
     r"The 'OptionContract\('X'\)\.roll contracts' argument must be a finite number in "
     r"\(-inf, inf\)\. Got nan instead\."),
    (lambda: oh.EventContract("E", event="crash", payout=0.0, price=0.5),
     r"The 'EventContract\('E'\)\.payout' argument must be a finite number in \(0, inf\)\. "
     r"Got 0\.0 instead\."),
]  # fmt: skip


@pytest.mark.parametrize(("call", "match"), BAD_OPTIONS)
def test_option_bad_inputs(call: object, match: str) -> None:
    with pytest.raises(SpecificationError, match=match):
        call()  # type: ignore[operator]


def test_a_contract_s_legs_carry_the_skew_at_its_own_days_left() -> None:
    # kappa(m, tau) = skew * ln(m) * sqrt(0.25 / tau), written here; a dated contract's
    # tau is its trading days left on the market's date / 252: weekdays after it up to the
    # expiry on the default calendar (no holidays), 66 from D0 and 45 from 2021-03-30
    skewed = oh.pricing.VolatilityModel(skew=-0.1)
    contract = oh.OptionContract(
        "P", underlying="IDX", options=[("put", 3600.0, 1.0)], expiry="2021-06-01",
        vol_model=skewed,
    )  # fmt: skip
    for asof, days in ((D0, 66), (pd.Timestamp("2021-03-30"), 45)):
        (leg,) = contract.legs(_market(asof))
        kappa = -0.1 * math.log(3600.0 / S0) * math.sqrt(0.25 / (days / 252))
        assert (leg.kind, leg.strike, leg.ratio) == ("put", 3600.0, 1.0)
        assert leg.sigma == pytest.approx(0.2 + kappa, rel=1e-14)


def test_an_event_contract_priced_at_its_payout_is_refused() -> None:
    # the price is the market's probability times the payout: a certain event is no hedge
    with pytest.raises(oh.errors.SpecificationError, match=r"must lie below its payout \(100\.0\)"):
        oh.EventContract("E", event="recession", payout=100.0, price=100.0)
    assert oh.EventContract("E", event="recession", payout=100.0, price=99.99).price == 99.99


class TestPackageAndUnderlyingMessages:
    """Each refusal names the instrument and its argument (mutants dropped the names)."""

    @pytest.mark.parametrize(
        ("kw", "match"),
        [
            (
                {"put_moneyness": -1.0, "call_moneyness": 1.1},
                r"The 'Collar\('C'\)\.put_moneyness' argument must be a finite number in "
                r"\(0, inf\)\. Got -1\.0",
            ),
            (
                {"put_moneyness": 0.9, "call_moneyness": math.nan},
                r"The 'Collar\('C'\)\.call_moneyness' argument .* Got nan",
            ),
            # equal moneyness is no collar: the put must protect below the call's cap
            (
                {"put_moneyness": 1.0, "call_moneyness": 1.0},
                r"Collar\('C'\) needs put_moneyness < call_moneyness .* Got 1\.0 and 1\.0",
            ),
        ],
    )
    def test_collar(self, kw: dict[str, float], match: str) -> None:
        with pytest.raises(SpecificationError, match=match):
            oh.Collar("C", underlying="IDX", **kw)

    @pytest.mark.parametrize("cls", [oh.InverseETF, oh.Future, oh.ETF])
    def test_an_underlying_the_scenarios_lack(self, cls: type) -> None:
        scenarios = oh.Scenarios.from_returns(pd.DataFrame({"IDX": [0.01, -0.02]}), horizon=21)
        name = cls.__name__
        with pytest.raises(
            oh.errors.MissingLabelsError,
            match=rf"^{name}\('SH'\) has underlying 'ZZZ', which the scenarios lack "
            r"\(they cover \['IDX'\]\)",
        ):
            cls("SH", underlying="ZZZ").scenario_returns(scenarios, None)

    @pytest.mark.parametrize("horizon", [0, 1.5, "a"])
    def test_spot_vol_beta_names_its_horizon(self, horizon: object) -> None:
        from optihedge.pricing.volatility import spot_vol_beta

        with pytest.raises(
            SpecificationError,
            match=rf"^The 'horizon' argument must be an integer >= 1 \(trading days\)\. "
            rf"Got {horizon!r} instead",
        ):
            spot_vol_beta(horizon)  # type: ignore[arg-type]

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

import optihedge as oh
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

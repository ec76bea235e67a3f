"""The trading calendar, the trading year and data frequency (optihedge.calendar).

References are independent: pandas' own business-day offsets and hand-counted dates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optihedge.calendar import (
    DEFAULT_CALENDAR,
    TRADING_DAYS,
    Frequency,
    TradingCalendar,
    infer_frequency,
)
from optihedge.errors import DataError, SpecificationError


class TestTradingYear:
    def test_one_number(self) -> None:
        from optihedge import _plausible

        assert TRADING_DAYS == 252
        assert _plausible.TRADING_DAYS is TRADING_DAYS

    @pytest.mark.parametrize(
        ("freq", "per_year", "days", "unit"),
        [
            (Frequency.DAILY, 252, 1, "trading day"),
            (Frequency.WEEKLY, 52, 5, "week"),
            (Frequency.MONTHLY, 12, 21, "month"),
        ],
    )
    def test_members(self, freq: Frequency, per_year: int, days: int, unit: str) -> None:
        assert freq.periods_per_year == per_year
        assert freq.trading_days_per_period == days
        assert freq.unit == unit

    def test_a_13_week_horizon(self) -> None:
        w = Frequency.WEEKLY
        assert w.label(13) == "13 weeks"
        assert w.label(1) == "1 week"
        assert w.adjective(4) == "4-week"
        assert w.years(13) == 0.25
        assert w.trading_days(13) == 65.0
        assert Frequency.DAILY.label(21) == "21 trading days"
        assert Frequency.DAILY.adjective(21) == "21-day"
        assert Frequency.MONTHLY.years(3) == 0.25

    @pytest.mark.parametrize("name", ["weekly", "W", " Weekly "])
    def test_parse(self, name: str) -> None:
        assert Frequency.parse(name) is Frequency.WEEKLY

    def test_parse_refuses(self) -> None:
        with pytest.raises(SpecificationError, match=r"'frequency'.*'daily', 'weekly'.*'hourly'"):
            Frequency.parse("hourly")


class TestInferFrequency:
    @pytest.mark.parametrize(
        ("index", "expected"),
        [
            (pd.bdate_range("2020-01-01", periods=300), Frequency.DAILY),
            (pd.date_range("2020-01-01", periods=40, freq="W-FRI"), Frequency.WEEKLY),
            (pd.date_range("2020-01-01", periods=40, freq="ME"), Frequency.MONTHLY),
            (pd.date_range("2020-01-01", periods=40, freq="BME"), Frequency.MONTHLY),
        ],
    )
    def test_dated(self, index: pd.DatetimeIndex, expected: Frequency) -> None:
        assert infer_frequency(index) is expected
        assert infer_frequency(pd.Series(1.0, index=index)) is expected

    def test_weekly_with_a_holiday_week_missing(self) -> None:
        idx = pd.date_range("2020-01-03", periods=30, freq="W-FRI").delete([5, 17])
        assert infer_frequency(idx) is Frequency.WEEKLY

    def test_undated_gives_the_default(self) -> None:
        assert infer_frequency(pd.RangeIndex(100)) is Frequency.DAILY
        with pytest.raises(DataError, match=r"'returns'.*DatetimeIndex.*frequency='daily'"):
            infer_frequency(pd.RangeIndex(100), "returns", default=None)

    def test_quarterly_is_refused(self) -> None:
        idx = pd.date_range("2000-01-01", periods=20, freq="QE")
        with pytest.raises(DataError, match=r"'index' are 9\d(\.\d+)? calendar days apart"):
            infer_frequency(idx)

    def test_newest_first_is_refused(self) -> None:
        idx = pd.bdate_range("2020-01-01", periods=10)[::-1]
        with pytest.raises(DataError, match="not strictly increasing; sort"):
            infer_frequency(idx)


class TestTradingCalendar:
    def test_63_days_from_a_tuesday(self) -> None:
        # hand count: 2024-01-02 (Tue) + 63 weekdays = 12 full weeks (60) + Wed, Thu, Fri
        start = pd.Timestamp("2024-01-02")
        expiry = DEFAULT_CALENDAR.add(start, 63)
        assert expiry == pd.Timestamp("2024-03-29")
        assert DEFAULT_CALENDAR.between(start, expiry) == 63
        assert DEFAULT_CALENDAR.between(DEFAULT_CALENDAR.add(start, 21), expiry) == 42
        assert DEFAULT_CALENDAR.between(expiry, start) == -63

    @settings(max_examples=60, deadline=None)
    @given(
        day=st.dates(
            min_value=pd.Timestamp("1990-01-01").date(), max_value=pd.Timestamp("2060-01-01").date()
        ),
        n=st.integers(-600, 600),
    )
    def test_agrees_with_pandas_business_days(self, day: object, n: int) -> None:
        ts = pd.Timestamp(day)
        start = ts if ts.day_of_week < 5 else ts - pd.offsets.BDay(1)
        expected = start + pd.offsets.BDay(n) if n else start
        assert DEFAULT_CALENDAR.add(ts, n) == expected
        assert DEFAULT_CALENDAR.between(start, expected) == n

    def test_holidays_from_the_data(self) -> None:
        dates = pd.bdate_range("2024-12-20", "2025-01-10").drop(
            [pd.Timestamp("2024-12-25"), pd.Timestamp("2025-01-01")]
        )
        cal = TradingCalendar.from_dates(dates)
        assert cal.holidays == (np.datetime64("2024-12-25"), np.datetime64("2025-01-01"))
        assert not cal.is_trading_day("2024-12-25")
        assert cal.is_trading_day("2024-12-24")
        # 2024-12-24 -> 12-26, 27, 30, 31, 01-02: five trading days
        assert cal.add("2024-12-24", 5) == pd.Timestamp("2025-01-02")
        assert cal.between("2024-12-24", "2025-01-02") == 5
        assert list(cal.range("2024-12-24", "2024-12-27")) == list(
            pd.to_datetime(["2024-12-24", "2024-12-26", "2024-12-27"])
        )

    def test_a_weekend_counts_from_the_friday_before(self) -> None:
        assert DEFAULT_CALENDAR.add("2024-01-06", 1) == pd.Timestamp("2024-01-08")
        assert DEFAULT_CALENDAR.add("2024-01-06", 0) == pd.Timestamp("2024-01-05")

    def test_bad_dates(self) -> None:
        with pytest.raises(SpecificationError, match="'date' argument must be a date"):
            DEFAULT_CALENDAR.add(20240102, 5)
        with pytest.raises(SpecificationError, match=r"'days' argument must be an integer"):
            DEFAULT_CALENDAR.add("2024-01-02", 2.5)


def test_from_dates_takes_a_dated_index_at_once_with_the_same_answer() -> None:
    import pandas as pd

    from optihedge.calendar import TradingCalendar

    days = pd.bdate_range("2021-01-01", "2021-12-31").delete([10, 50, 51])
    by_index = TradingCalendar.from_dates(days)
    by_list = TradingCalendar.from_dates([d.date() for d in days])
    assert by_index == by_list
    assert len(by_index.holidays) == 3
    # wall dates of a zoned index, not their UTC instants
    zoned = pd.DatetimeIndex(days).tz_localize("America/New_York") + pd.Timedelta(hours=23)
    assert TradingCalendar.from_dates(zoned) == by_list

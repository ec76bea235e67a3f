"""Time in optihedge: the trading calendar, the trading year and the data's frequency.

One home for every conversion between dates, trading days, periods and years:

- :data:`TRADING_DAYS` (252): trading days a year, the one place the number is written.
- :class:`Frequency`: the sampling of a return series (daily, weekly, monthly) with its
  periods a year (252, 52, 12), its trading days a period (1, 5, 21) and its unit, so that
  a horizon of 13 periods on weekly data reads "13 weeks", is 13 / 52 years and decays an
  option by 65 trading days.
- :func:`infer_frequency`: the frequency of a dated index, from the median spacing of its
  dates.
- :class:`TradingCalendar`: which dates are trading days, and date arithmetic in trading
  days (the expiry date of a 63-day option bought today; the trading days left to it on a
  later date). The default calendar is Monday to Friday; :meth:`TradingCalendar.from_dates`
  takes the holidays from a series' own dates (e.g. the NYSE days of the shipped S&P 500
  data).

Bottom layer: imports only the errors and :mod:`optihedge._validation`.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optihedge._validation import check_int
from optihedge.errors import DataError, SpecificationError

__all__ = [
    "DEFAULT_CALENDAR",
    "TRADING_DAYS",
    "Frequency",
    "TradingCalendar",
    "infer_frequency",
]

#: Trading days a year.
TRADING_DAYS = 252


class Frequency(enum.Enum):
    """Sampling frequency of a return series.

    Each member's value is ``(name, periods a year, trading days a period, unit)``.
    """

    DAILY = ("daily", TRADING_DAYS, 1, "trading day")
    WEEKLY = ("weekly", 52, 5, "week")
    MONTHLY = ("monthly", 12, 21, "month")

    @property
    def periods_per_year(self) -> int:
        """Periods a year: 252, 52 or 12 (what annualisation multiplies by)."""
        return int(self.value[1])

    @property
    def trading_days_per_period(self) -> int:
        """Trading days in one period: 1, 5 or 21 (what an option decays by)."""
        return int(self.value[2])

    @property
    def unit(self) -> str:
        """Singular name of one period: ``"trading day"``, ``"week"``, ``"month"``."""
        return str(self.value[3])

    def label(self, periods: float) -> str:
        """``"21 trading days"``, ``"1 week"``, ``"13 weeks"``: a horizon in its unit."""
        n = f"{periods:g}"
        return f"{n} {self.unit}" + ("" if periods == 1 else "s")

    def adjective(self, periods: float) -> str:
        """``"21-day"``, ``"4-week"``, ``"3-month"``: a horizon before a noun."""
        unit = "day" if self is Frequency.DAILY else self.unit
        return f"{periods:g}-{unit}"

    def years(self, periods: float) -> float:
        """``periods`` of this frequency in years (``periods / periods_per_year``)."""
        return float(periods) / self.periods_per_year

    def trading_days(self, periods: float) -> float:
        """``periods`` of this frequency in trading days."""
        return float(periods) * self.trading_days_per_period

    @classmethod
    def parse(cls, value: Any, name: str = "frequency") -> Frequency:
        """Return a :class:`Frequency` from itself or its name (``"weekly"``, ``"W"``...).

        Raises
        ------
        SpecificationError
            For any other value; the message lists the accepted names.
        """
        if isinstance(value, Frequency):
            return value
        aliases = {
            "daily": cls.DAILY,
            "d": cls.DAILY,
            "b": cls.DAILY,
            "weekly": cls.WEEKLY,
            "w": cls.WEEKLY,
            "monthly": cls.MONTHLY,
            "m": cls.MONTHLY,
            "me": cls.MONTHLY,
            "bm": cls.MONTHLY,
            "bme": cls.MONTHLY,
        }
        if isinstance(value, str) and value.strip().lower() in aliases:
            return aliases[value.strip().lower()]
        raise SpecificationError(
            f"The '{name}' argument must be 'daily', 'weekly', 'monthly' or a Frequency. "
            f"Got {value!r}."
        )


#: Median spacing of consecutive dates (calendar days) read as each frequency.
_SPACING = (
    (1.0, 4.5, Frequency.DAILY),
    (5.0, 10.0, Frequency.WEEKLY),
    (25.0, 35.0, Frequency.MONTHLY),
)


def infer_frequency(
    index: Any, name: str = "index", *, default: Frequency | None = Frequency.DAILY
) -> Frequency:
    """Frequency of a dated index, from the median calendar-day spacing of its dates.

    A median spacing of 1 to 4.5 calendar days is daily (weekends and holidays included),
    5 to 10 weekly, 25 to 35 monthly.

    Parameters
    ----------
    index : DatetimeIndex (or Series / DataFrame, whose index is read)
        The dates of the observations.
    name : str
        Name of the argument, for messages.
    default : Frequency or None, default DAILY
        Returned for an index that is not dated or has fewer than three dates (nothing
        to infer from). None: refuse such an index.

    Raises
    ------
    DataError
        A dated index whose spacing is none of the three (e.g. quarterly data, or dates
        out of order), or an undated index with ``default=None``.
    """
    if isinstance(index, pd.Series | pd.DataFrame):
        index = index.index
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 3:
        if default is not None:
            return default
        raise DataError(
            f"The frequency of '{name}' cannot be inferred: it needs a DatetimeIndex of at "
            f"least three dates (got {type(index).__name__} of length {len(index)}). Pass "
            "frequency='daily', 'weekly' or 'monthly'."
        )
    steps = np.diff(index.to_numpy().astype("datetime64[s]").astype(np.int64)) / 86_400.0
    if (steps <= 0).any():
        raise DataError(
            f"The dates of '{name}' are not strictly increasing; sort them "
            "(e.g. df.sort_index()) before inferring their frequency."
        )
    median = float(np.median(steps))
    for low, high, freq in _SPACING:
        if low <= median <= high:
            return freq
    raise DataError(
        f"The dates of '{name}' are {median:g} calendar days apart (median): not daily, "
        "weekly or monthly. Resample the data to one of these, or pass frequency= explicitly."
    )


def _day(value: Any, name: str) -> np.datetime64:
    if isinstance(value, np.datetime64):
        out = value
    elif isinstance(value, _dt.date | str):
        out = np.datetime64(pd.Timestamp(value).date(), "D")
    else:
        raise SpecificationError(
            f"The '{name}' argument must be a date (date, Timestamp or ISO string). "
            f"Got {type(value).__name__}."
        )
    if np.isnat(out):
        raise SpecificationError(f"The '{name}' argument is NaT (no date); pass a date.")
    day: np.datetime64 = out.astype("datetime64[D]")
    return day


@dataclass(frozen=True)
class TradingCalendar:
    """Trading days: Monday to Friday except the given holidays.

    Parameters
    ----------
    holidays : iterable of dates, optional
        Weekdays on which the market is closed.

    Notes
    -----
    Date arithmetic counts trading days the way an option's life is counted: a 63-day
    option bought on ``d`` expires on ``add(d, 63)``; on a later date ``t`` it has
    ``between(t, expiry)`` trading days left, and ``between(d, add(d, n)) == n``.
    """

    holidays: tuple[np.datetime64, ...] = field(default=())

    def __post_init__(self) -> None:
        days = sorted({_day(h, "holidays") for h in self.holidays})
        object.__setattr__(self, "holidays", tuple(days))

    @classmethod
    def from_dates(cls, dates: Iterable[Any]) -> TradingCalendar:
        """Return the calendar whose trading days, inside the span of ``dates``, are ``dates``.

        Every weekday between the first and the last date that is not among them is a
        holiday; outside the span, Monday to Friday.
        """
        days = np.unique(np.array([_day(d, "dates") for d in dates], dtype="datetime64[D]"))
        if len(days) == 0:
            return cls()
        span = np.arange(days[0], days[-1] + np.timedelta64(1, "D"), dtype="datetime64[D]")
        weekdays = span[np.is_busday(span)]
        return cls(tuple(np.setdiff1d(weekdays, days)))

    @property
    def _holidays(self) -> np.ndarray:
        return np.array(self.holidays, dtype="datetime64[D]")

    def is_trading_day(self, date: Any) -> bool:
        """Whether ``date`` is a trading day."""
        return bool(np.is_busday(_day(date, "date"), holidays=self._holidays))

    def add(self, date: Any, days: int) -> pd.Timestamp:
        """Return the date ``days`` trading days after ``date`` (before, for negative ``days``).

        A ``date`` that is not a trading day counts from the trading day before it.
        """
        n = check_int(days, "days", lower=-(10**6), what=" (trading days)")
        out = np.busday_offset(_day(date, "date"), n, roll="preceding", holidays=self._holidays)
        return pd.Timestamp(out)

    def between(self, start: Any, end: Any) -> int:
        """Trading days in ``(start, end]``: how many trading days pass from start to end.

        Negative when ``end`` is before ``start``: ``between(a, b) == -between(b, a)``.
        """
        one = np.timedelta64(1, "D")
        a, b = _day(start, "start"), _day(end, "end")
        if b < a:
            return -self.between(b, a)
        return int(np.busday_count(a + one, b + one, holidays=self._holidays))

    def range(self, start: Any, end: Any) -> pd.DatetimeIndex:
        """Return the trading days in ``[start, end]``."""
        a, b = _day(start, "start"), _day(end, "end")
        span = np.arange(a, b + np.timedelta64(1, "D"), dtype="datetime64[D]")
        return pd.DatetimeIndex(span[np.is_busday(span, holidays=self._holidays)])


#: Monday to Friday, no holidays.
DEFAULT_CALENDAR = TradingCalendar()

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

``TRADING_DAYS``, ``Frequency`` and ``infer_frequency`` are defined in
:mod:`factor_models.frequency` (a risk model carries its data's frequency, and the
estimation layer never imports optihedge) and re-exported here: one definition.

Bottom layer: imports only the errors, :mod:`optihedge._validation` and
:mod:`factor_models.frequency`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from factor_models.frequency import (
    TRADING_DAYS,
    Frequency,
    annualisation,
    infer_frequency,
    resolve_frequency,
)
from optihedge._validation import check_int
from optihedge.errors import SpecificationError

__all__ = [
    "DEFAULT_CALENDAR",
    "TRADING_DAYS",
    "Frequency",
    "TradingCalendar",
    "annualisation",
    "infer_frequency",
    "resolve_frequency",
]


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
        if isinstance(dates, pd.DatetimeIndex):  # at once, not date by date
            if dates.hasnans:
                raise SpecificationError("The 'dates' argument is NaT (no date); pass a date.")
            local = dates.tz_localize(None) if dates.tz is not None else dates  # wall dates
            days = np.unique(local.to_numpy().astype("datetime64[D]"))
        else:
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

"""The trading year and the sampling frequency of return data: one definition.

- :data:`TRADING_DAYS` (252): trading days a year, the one place the number is written.
- :class:`Frequency`: the sampling of a return series (daily, weekly, monthly) with its
  periods a year (252, 52, 12), its trading days a period (1, 5, 21) and its unit, so that
  a horizon of 13 periods on weekly data reads "13 weeks", is 13 / 52 years and decays an
  option by 65 trading days.
- :func:`infer_frequency`: the frequency of a dated index, from the median spacing of its
  dates.

They live in the estimation layer because a :class:`~factor_models.RiskModel` carries the
frequency of the data it was fitted on; ``optihedge.calendar`` re-exports them (the
layer that owns the trading calendar). Imports only :mod:`factor_models.errors`.
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np
import pandas as pd

from factor_models.errors import DataError, SpecificationError

__all__ = [
    "TRADING_DAYS",
    "Frequency",
    "annualisation",
    "check_same_frequency",
    "infer_frequency",
    "resolve_frequency",
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

    def __str__(self) -> str:
        """``"daily"``, ``"weekly"`` or ``"monthly"``."""
        return str(self.value[0])

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


def resolve_frequency(frequency: Any, data: Any, name: str = "index") -> Frequency:
    """Return ``frequency`` when given (a :class:`Frequency` or its name), else infer it.

    The one rule of every entry point that takes return data: an explicit
    ``frequency=`` wins; otherwise the frequency is read from ``data``'s dated index
    (:func:`infer_frequency`; daily for data without dates).

    Raises
    ------
    SpecificationError
        An explicit ``frequency`` that is not a frequency's name.
    DataError
        Dates whose spacing is not daily, weekly or monthly.
    """
    if frequency is not None:
        return Frequency.parse(frequency)
    return infer_frequency(data, name)


def check_same_frequency(
    first: Frequency, first_name: str, second: Frequency, second_name: str
) -> None:
    """Refuse two inputs of different frequencies (weekly scenarios with a daily model).

    Raises
    ------
    DataError
        Naming both inputs and their frequencies.
    """
    if first is not second:
        raise DataError(
            f"Inputs of different frequencies: the {first_name} are {first} data, the "
            f"{second_name} {second}. A horizon counts periods of one frequency: pass "
            f"inputs of one frequency (e.g. fit the risk model on {first} returns), or "
            "state it with frequency=... where the data's dates mislead."
        )


def annualisation(periods_per_year: Any, data: Any, name: str = "periods_per_year") -> Any:
    """Return the periods a year to annualise ``data`` by.

    A number is returned as given (the caller checks it); a :class:`Frequency` or its
    name gives its periods a year; None reads the frequency from ``data``'s dates
    (:func:`infer_frequency`: 252 for daily or undated data, 52 weekly, 12 monthly).

    Raises
    ------
    SpecificationError
        A name that is not a frequency's.
    DataError
        Dates whose spacing is not daily, weekly or monthly.
    """
    if periods_per_year is None:
        try:
            return infer_frequency(data, "returns").periods_per_year
        except DataError as exc:
            raise DataError(
                f"{exc} Here: pass {name}= (a number, or 'daily', 'weekly', 'monthly')."
            ) from None
    if isinstance(periods_per_year, Frequency | str):
        return Frequency.parse(periods_per_year, name).periods_per_year
    return periods_per_year

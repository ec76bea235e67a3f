"""Plausibility bounds shared by every entry point that takes market numbers.

A volatility of 20, a rate of 4.0 or an expiry of 20,250,321 trading days is a valid
float and a typing mistake: percent for decimals, days for years, a date for a count.
Priced as given, each yields a confident wrong number. One set of bounds, used by
:class:`~optihedge.instruments.MarketState`, the options, the Black-Scholes functions,
the textbook hedges, the volatility model and the sizing helpers, refuses them with a
typed error that names the argument, the value, the bound and the likely fix
("20 looks like percent: pass 0.2").

The bounds are wide enough for any listed market (the calmest index option trades
above 5% volatility, 2008's worst days near 90%; rates and yields have stayed within
-1% and 20% in major currencies) and narrow enough to catch a factor of 100 or 252.

Bottom layer: imports only :mod:`optihedge._validation` and the errors.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import pandas as pd

from optihedge._typing import FloatArray
from optihedge._validation import check_int, check_scalar
from optihedge.calendar import TRADING_DAYS
from optihedge.errors import DataError, SpecificationError

__all__ = [
    "DIVIDEND_YIELD_RANGE",
    "MAX_EXPIRY_DAYS",
    "MAX_YEARS",
    "MONEYNESS_RANGE",
    "RATE_RANGE",
    "TRADING_DAYS",
    "VOLATILITY_MAX",
    "as_asof",
    "check_dividend_yield",
    "check_expiry_days",
    "check_moneyness",
    "check_rate",
    "check_strike",
    "check_vol_move",
    "check_volatility",
    "check_years",
    "check_years_array",
    "implausible_levels",
    "strike_hint",
]

#: Annual volatility (decimal) above which an input is a typo: 500%, ten times 2008's peak.
VOLATILITY_MAX = 5.0
#: Annual interest rates (decimal) a market can have.
RATE_RANGE = (-0.2, 0.5)
#: Annual continuous dividend (or carry) yields (decimal) an underlying can have.
DIVIDEND_YIELD_RANGE = (-0.2, 0.5)
#: Longest time to expiry, years (the longest listed and most OTC options are shorter).
MAX_YEARS = 30.0
#: Longest option expiry, trading days.
MAX_EXPIRY_DAYS = int(MAX_YEARS) * TRADING_DAYS
#: Moneyness (strike / spot) an option may have: outside it the strike is a typo.
MONEYNESS_RANGE = (0.2, 5.0)


def _percent_hint(value: float, lower: float, upper: float) -> str:
    """``" 20 looks like percent: pass 0.2."`` when value / 100 is inside the bounds."""
    scaled = value / 100.0
    if abs(value) > 1.0 and lower <= scaled <= upper:
        return f" {value:g} looks like percent: pass {scaled:g}."
    return ""


def _refuse(
    name: str, value: float, interval: str, what: str, hint: str, error: type[Exception]
) -> None:
    raise error(
        f"The '{name}' argument is {what} and must lie in {interval}; got {value!r}, outside "
        f"the plausible range.{hint or ' Check its units.'}"
    )


def check_volatility(
    value: Any, name: str, *, allow_zero: bool = False, error: type[Exception] = SpecificationError
) -> float:
    """Return an annual volatility (decimal) in ``(0, VOLATILITY_MAX]`` (``[0, ...]``).

    Raises
    ------
    SpecificationError
        Not a finite number, not positive, or above :data:`VOLATILITY_MAX`; the message
        suggests the decimal when the value looks like percent.
    """
    v = check_scalar(value, name, lower=0.0, lower_inclusive=allow_zero)
    if v > VOLATILITY_MAX:
        interval = f"{'[' if allow_zero else '('}0, {VOLATILITY_MAX:g}]"
        _refuse(
            name,
            v,
            interval,
            "an annual volatility, decimal (0.2 = 20%)",
            _percent_hint(v, 0.0, VOLATILITY_MAX),
            error,
        )
    return v


def check_vol_move(value: Any, name: str) -> float:
    """Return a move of implied volatility (decimal points) in ``(-1, VOLATILITY_MAX]``.

    Raises
    ------
    SpecificationError
        Not a finite number, or outside the range; the message suggests the decimal
        when the value looks like percent (``20`` for +20 points).
    """
    v = check_scalar(value, name, lower=-1.0, lower_inclusive=False)
    if v > VOLATILITY_MAX:
        _refuse(
            name,
            v,
            f"(-1, {VOLATILITY_MAX:g}]",
            "a move of annual volatility, decimal (0.10 = +10 points)",
            _percent_hint(v, -1.0, VOLATILITY_MAX),
            SpecificationError,
        )
    return v


def _check_yield(value: Any, name: str, bounds: tuple[float, float], what: str) -> float:
    v = check_scalar(value, name)
    lo, hi = bounds
    if not lo <= v <= hi:
        _refuse(name, v, f"[{lo:g}, {hi:g}]", what, _percent_hint(v, lo, hi), SpecificationError)
    return v


def check_rate(value: Any, name: str) -> float:
    """Return an annual interest rate (decimal) in :data:`RATE_RANGE`.

    Raises
    ------
    SpecificationError
        Outside the range; the message suggests the decimal when it looks like percent.
    """
    return _check_yield(value, name, RATE_RANGE, "an annual rate, decimal (0.04 = 4%)")


def check_dividend_yield(value: Any, name: str) -> float:
    """Return an annual dividend yield (decimal) in :data:`DIVIDEND_YIELD_RANGE`."""
    return _check_yield(
        value, name, DIVIDEND_YIELD_RANGE, "an annual dividend yield, decimal (0.015 = 1.5%)"
    )


def check_years(value: Any, name: str) -> float:
    """Return a time to expiry in years, in ``(0, MAX_YEARS]``.

    Raises
    ------
    SpecificationError
        Outside the range; the message suggests years when it looks like trading days.
    """
    t = check_scalar(value, name, lower=0.0, lower_inclusive=False)
    if t > MAX_YEARS:
        days = t / TRADING_DAYS
        hint = (
            f" {t:g} looks like trading days: pass {t:g} / {TRADING_DAYS} = {days:.6g}."
            if days <= MAX_YEARS
            else ""
        )
        _refuse(name, t, f"(0, {MAX_YEARS:g}]", "a time in years", hint, SpecificationError)
    return t


def check_expiry_days(value: Any, name: str) -> int:
    """Return an option expiry in trading days, in ``[1, MAX_EXPIRY_DAYS]``.

    Raises
    ------
    SpecificationError
        Not a positive integer, or longer than :data:`MAX_YEARS` years; the message
        says when the number looks like a date (YYYYMMDD).
    """
    days = check_int(value, name, what=" (trading days to expiry)")
    if days > MAX_EXPIRY_DAYS:
        if 1900_01_01 <= days <= 2199_12_31:
            hint = (
                f" {days} looks like a date (YYYYMMDD): pass the number of trading days from "
                "the as-of date to expiry (63 for three months)."
            )
        else:
            hint = f" Pass trading days ({TRADING_DAYS} a year), e.g. 63 for three months."
        _refuse(
            name,
            days,
            f"[1, {MAX_EXPIRY_DAYS}] ({MAX_YEARS:g} years)",
            "trading days to expiry",
            hint,
            SpecificationError,
        )
    return days


def check_moneyness(value: Any, name: str) -> float:
    """Return a moneyness (strike / spot) inside :data:`MONEYNESS_RANGE`."""
    lo, hi = MONEYNESS_RANGE
    m = check_scalar(value, name, lower=0.0, lower_inclusive=False)
    if not lo <= m <= hi:
        hint = (
            f" {m:g} looks like percent: pass {m / 100:g}."
            if lo <= m / 100 <= hi
            else " Give e.g. 0.9 for a put 10% out of the money, or an absolute 'strike'."
        )
        raise SpecificationError(
            f"The '{name}' argument is strike / spot and must lie in [{lo}, {hi}]; got {m!r}, "
            f"which no listed option has.{hint}"
        )
    return m


def strike_hint(strike: float, spot: float) -> str:
    """Return the likely fix for a strike whose moneyness is outside the range."""
    lo, hi = MONEYNESS_RANGE
    if lo <= strike / 100.0 <= hi:
        return (
            f" {strike:g} looks like percent of spot: pass moneyness={strike / 100:g} "
            f"(or strike={spot * strike / 100:g})."
        )
    return (
        f" Pass a strike in index points between {lo * spot:g} and {hi * spot:g}, or a "
        "'moneyness' (0.9 for 10% out of the money)."
    )


def check_strike(strike: float, spot: float, name: str, spot_name: str = "spot") -> float:
    """Check an absolute strike against the spot it is priced at: moneyness in range.

    Raises
    ------
    SpecificationError
        If ``strike / spot`` lies outside :data:`MONEYNESS_RANGE`.
    """
    lo, hi = MONEYNESS_RANGE
    m = strike / spot
    if not lo <= m <= hi:
        raise SpecificationError(
            f"The '{name}' argument {strike!r} is {m:.4g} times the {spot_name} {spot!r}; "
            f"strike / spot must lie in [{lo}, {hi}] (no listed option has it)."
            f"{strike_hint(strike, spot)}"
        )
    return strike


def implausible_levels(
    values: pd.Series | FloatArray,
    name: str,
    bounds: tuple[float, float],
    what: str,
    *,
    lower_open: bool,
) -> None:
    """Refuse any element of a labelled Series or an array outside ``bounds`` (DataError).

    The message names the first offending labels (positions for an array) and values,
    and suggests the decimal when the first looks like percent.
    """
    lo, hi = bounds
    arr = np.ravel(np.asarray(values, dtype=np.float64))
    bad = ((arr <= lo) if lower_open else (arr < lo)) | (arr > hi)
    if not bad.any():
        return
    keys = list(values.index) if isinstance(values, pd.Series) else range(arr.shape[0])
    picked = [(k, float(v)) for k, v, b in zip(keys, arr, bad, strict=True) if b][:5]
    shown = ", ".join(f"{k!r}: {v:g}" for k, v in picked)
    if isinstance(values, pd.Series):
        where = f"{{{shown}}}"
    elif arr.shape[0] > 1:
        k, v = picked[0]
        where = f"{v:g} at position {k} ({int(bad.sum())} offending value(s))"
    else:
        where = f"{picked[0][1]:g}"
    interval = f"{'(' if lower_open else '['}{lo:g}, {hi:g}]"
    hint = _percent_hint(picked[0][1], 0.0 if lower_open else lo, hi)
    raise DataError(
        f"The '{name}' argument holds {what} and must lie in {interval}; got {where}, "
        f"outside the plausible range.{hint or ' Check its units.'}"
    )


def check_years_array(value: FloatArray, name: str) -> None:
    """Refuse times in years above :data:`MAX_YEARS` (DataError; hint for trading days)."""
    arr = np.ravel(value)
    over = arr > MAX_YEARS
    if over.any():
        t = float(arr[over][0])
        hint = (
            f" {t:g} looks like trading days: pass {t:g} / {TRADING_DAYS} = {t / TRADING_DAYS:.6g}."
            if t / TRADING_DAYS <= MAX_YEARS
            else " Check its units."
        )
        raise DataError(
            f"The '{name}' argument is a time in years and must lie in [0, {MAX_YEARS:g}]; "
            f"got {t!r} ({int(over.sum())} offending value(s)), outside the plausible "
            f"range.{hint}"
        )


def as_asof(value: Any, name: str = "asof") -> pd.Timestamp:
    """Return a valuation date as a Timestamp: from a date, datetime or ISO 8601 string.

    Raises
    ------
    SpecificationError
        For a number (``20230101`` would become a 1970 timestamp) or a string that is not
        an ISO 8601 date, e.g. ``"yesterday"``.
    """
    fix = "pass a date, datetime, Timestamp or ISO string such as '2023-01-01'"
    if isinstance(value, str):
        try:
            _dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise SpecificationError(
                f"The '{name}' argument {value!r} is not an ISO 8601 date; {fix}."
            ) from None
        return pd.Timestamp(value.strip())
    if isinstance(value, _dt.date | np.datetime64):  # datetime and Timestamp are dates
        out = pd.Timestamp(value)
        if pd.isna(out):
            raise SpecificationError(f"The '{name}' argument is NaT (no date); {fix}.")
        return out
    number = (
        " A number is not a date (20230101 would be read as nanoseconds since 1970)."
        if isinstance(value, int | float | np.number) and not isinstance(value, bool)
        else ""
    )
    raise SpecificationError(
        f"The '{name}' argument must be a date; got {value!r} of type "
        f"{type(value).__name__}.{number} {fix[0].upper() + fix[1:]}."
    )

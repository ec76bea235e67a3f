"""Input checks for the estimation layer; each names the argument it checks.

Public: ``optihedge._validation`` builds on these (one home for the date, label and
returns checks both packages make).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd

from factor_models.errors import (
    DataError,
    DataWarning,
    EstimationDataError,
    EstimationLabelsError,
    SpecificationError,
)

__all__ = [
    "MAX_PERIOD_VOLATILITY",
    "as_frame",
    "check_dates",
    "check_int",
    "check_option",
    "check_returns",
    "check_scalar",
    "check_window",
    "format_labels",
    "interval_text",
    "join_dates",
]

#: Standard deviation of one-period (daily) returns above which a series is flagged as
#: implausible (10% a day, about 160% a year: more than any index or large stock has
#: shown over a year, the 2008 and 2020 crises included). Data in percent (1.0 for 1%)
#: trips it; :func:`check_returns` scales it by the square root of the periods.
MAX_PERIOD_VOLATILITY = 0.10

AlignPolicy = Literal["exact", "inner"]


def format_labels(labels: Iterable[Hashable], limit: int = 5) -> str:
    """Return the first ``limit`` labels and a count of the rest, for messages."""
    items = list(labels)
    shown = ", ".join(repr(x) for x in items[:limit])
    if len(items) > limit:
        shown += f" and {len(items) - limit} more"
    return f"[{shown}]"


def as_frame(data: Any, name: str, prefix: str, *, returns: bool = True) -> pd.DataFrame:
    """Return ``data`` as a float DataFrame with unique, sorted row labels.

    Arrays get default column labels ``{prefix}0, {prefix}1, ...``; a Series becomes a
    one-column frame named after it. Infinite values are an error; NaN are kept for the
    caller's missing-value policy.
    """
    if isinstance(data, pd.Series):
        frame = data.to_frame(name=data.name if data.name is not None else f"{prefix}0")
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        arr = np.asarray(data, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise EstimationDataError(
                f"The '{name}' argument must be 2-dimensional (observations x series). "
                f"Got shape {arr.shape} instead."
            )
        frame = pd.DataFrame(arr, columns=[f"{prefix}{i}" for i in range(arr.shape[1])])
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise EstimationDataError(
            f"The '{name}' argument is empty (shape {frame.shape}); pass observations."
        )
    if not frame.columns.is_unique:
        dupes = frame.columns[frame.columns.duplicated()].unique()
        raise EstimationLabelsError(
            f"The '{name}' argument has duplicate columns {format_labels(dupes)}."
        )
    check_dates(frame.index, name)
    try:
        values = frame.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise EstimationDataError(f"The '{name}' argument must be numeric.") from exc
    # one NaN-skipping pass finds the infinities and the range the return check needs
    low, high = np.fmin.reduce(values, axis=0), np.fmax.reduce(values, axis=0)
    if np.isinf(low).any() or np.isinf(high).any():
        r, c = np.argwhere(np.isinf(values))[0]
        raise EstimationDataError(
            f"The '{name}' argument holds an infinite value in column {frame.columns[c]!r} "
            f"at {frame.index[r]!r}; remove or repair it."
        )
    if returns:
        check_returns(values, name, frame.columns, bounds=(low, high))
    return pd.DataFrame(values, index=frame.index, columns=frame.columns, copy=False)


def _show(label: Any) -> str:
    """Show a date as ``2020-03-02`` (a timestamp with a time of day in full), others as repr."""
    if isinstance(label, pd.Timestamp) and label == label.normalize():
        return str(label.date())
    return str(label) if isinstance(label, pd.Timestamp) else repr(label)


def check_dates(index: pd.Index, name: str) -> None:
    """Refuse a time series whose dates are not unique and strictly increasing.

    The one rule of every entry point that takes a time series (estimators, rolling
    regressions, returns from prices, historical scenarios, diagnostics): they all read
    the *last* rows as the trailing window, so data sorted newest-first would silently
    give an estimate from the oldest rows, and a duplicated date would count one day
    twice. Row labels that are not dates (a ``RangeIndex``) must be increasing too;
    arrays have no labels and are taken in their row order.

    Parameters
    ----------
    index : Index
        The row labels (dates) of the argument.
    name : str
        The argument's name, for the message (e.g. ``"X"``, ``"candidates['SPY']"``).

    Raises
    ------
    EstimationLabelsError
        If a date repeats (a :class:`MissingLabelsError` too): the message names the
        first repeated dates and says to drop duplicates (and to sort, when the dates are
        also out of order).
    EstimationDataError
        If a date is not later than the one before it: the message names the first such
        pair, how many steps go backwards, and says to sort with ``.sort_index()``.
    """
    if index.is_monotonic_increasing and index.is_unique:
        return
    if not index.is_unique:
        dupes = index[index.duplicated()].unique()
        shown = ", ".join(_show(d) for d in dupes[:3])
        more = f" and {len(dupes) - 3} more" if len(dupes) > 3 else ""
        also = "" if index.is_monotonic_increasing else ", and sort the rest with .sort_index()"
        raise EstimationLabelsError(
            f"The '{name}' argument has duplicate dates ({shown}{more}): each date must "
            "appear once, in strictly increasing order. Drop the duplicates, e.g. "
            f"data[~data.index.duplicated(keep='last')]{also}."
        )
    values = index.to_numpy()
    try:
        back = np.flatnonzero(~(values[1:] > values[:-1]))
    except TypeError as exc:  # labels of mixed types have no order
        raise EstimationDataError(
            f"The '{name}' argument has row labels that cannot be ordered "
            f"({format_labels(index[:3])}): pass dates, sorted with .sort_index()."
        ) from exc
    i = int(back[0])
    newest_first = len(back) == len(index) - 1
    hint = " (the data look sorted newest-first)" if newest_first else ""
    raise EstimationDataError(
        f"The '{name}' argument's dates must be strictly increasing (oldest first): "
        f"row {i + 1} ({_show(index[i + 1])}) is not after row {i} ({_show(index[i])}); "
        f"{len(back)} of {len(index) - 1} steps go backwards{hint}. The last rows are "
        "read as the most recent: sort with .sort_index()."
    )


def check_returns(
    values: np.ndarray | list[np.ndarray],
    name: str,
    columns: Iterable[Hashable],
    *,
    periods: int = 1,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """Refuse returns of an implausible scale, the same way at every entry point.

    - A simple return at or below -100% is impossible: a :class:`DataError` naming the
      column.
    - A rise above +100% over one period (+100% compounded over ``periods``) is rare but
      real (a single stock can gain 134% in a day on a takeover): a :class:`DataWarning`
      naming the column and the move, and the move is used. Unless the column looks like
      percent or prices: when such rises are most of its moves, or its other moves have
      a standard deviation above :data:`MAX_PERIOD_VOLATILITY` x sqrt(periods) (the
      volatility test below), it is a :class:`DataError`.
    - A column whose standard deviation exceeds :data:`MAX_PERIOD_VOLATILITY` x
      sqrt(periods) gets a :class:`DataWarning` ("are these returns in percent?").

    NaN are ignored here (each caller has its missing-value policy). ``bounds`` are the
    columns' NaN-skipping minima and maxima when the caller has them already.
    ``values``: an array (periods x columns), or a list of its columns (a tall table's
    columns as they lie in memory: no copy of the whole table is made).
    """
    cols = list(columns)
    if isinstance(values, list):
        held = [np.asarray(v, dtype=np.float64) for v in values]
        if not held or held[0].size == 0:
            return  # emptiness is each caller's own error

        def column(j: int) -> np.ndarray:
            return held[j]

        if bounds is None:
            bounds = (
                np.array([np.fmin.reduce(v) for v in held]),
                np.array([np.fmax.reduce(v) for v in held]),
            )
    else:
        arr = np.asarray(values, dtype=np.float64)
        if arr.size == 0:
            return  # emptiness is each caller's own error
        arr = arr.reshape(len(arr), -1)

        def column(j: int) -> np.ndarray:
            return arr[:, j]

        if bounds is None:
            # fmin/fmax skip NaN at the speed of min/max (an all-NaN column stays NaN)
            bounds = (np.fmin.reduce(arr, axis=0), np.fmax.reduce(arr, axis=0))
    low, high = bounds
    ceiling = 2.0**periods - 1.0
    limit = MAX_PERIOD_VOLATILITY * np.sqrt(periods)
    fix = (
        "Simple decimal returns are expected (0.01 = 1%); divide returns in percent by "
        "100, and turn prices into returns with optihedge.returns_from_prices."
    )
    bad = np.flatnonzero(low <= -1.0)
    if len(bad):
        j = int(bad[0])
        raise DataError(
            f"The '{name}' argument holds returns at or below -100% over {periods} "
            f"period(s), which no asset can lose: column {cols[j]!r} ranges from "
            f"{float(low[j]):.4g} to {float(high[j]):.4g}. {fix}"
        )
    rises = np.flatnonzero(high > ceiling)
    for k in rises:
        j = int(k)
        col = column(j)
        above = col > ceiling
        rest = col[~above & ~np.isnan(col)]
        n_above = int(above.sum())
        rest_vol = float(np.std(rest)) if len(rest) > 1 else 0.0
        if n_above > len(rest) or rest_vol > limit:
            why = (
                f"{n_above} of its {n_above + len(rest)} moves are above it"
                if n_above > len(rest)
                else f"its other moves have a volatility of {rest_vol:.3g} (above {limit:.3g})"
            )
            raise DataError(
                f"The '{name}' argument holds returns above +{ceiling:.0%} over {periods} "
                f"period(s) in a column that looks like percent or prices: column "
                f"{cols[j]!r} ranges from {float(low[j]):.4g} to {float(high[j]):.4g} and "
                f"{why}. {fix}"
            )
    if len(rises):
        shown = ", ".join(f"{cols[j]!r} (up to {float(high[j]):+.4g})" for j in rises[:3])
        more = f" and {len(rises) - 3} more column(s)" if len(rises) > 3 else ""
        warnings.warn(
            f"The '{name}' argument holds returns above +{ceiling:.0%} over {periods} "
            f"period(s) in column(s) {shown}{more}; they are used as real moves (a single "
            "stock can more than double in a day). If a column is prices or percent, "
            "convert it first (optihedge.returns_from_prices, or divide by 100).",
            DataWarning,
            stacklevel=3,
        )
    # a column whose every move is within the limit cannot have a volatility above it:
    # the standard deviation is computed only where it could (columns with a rise above
    # the ceiling were judged above, on their other moves)
    wide = np.flatnonzero((np.maximum(np.abs(low), np.abs(high)) > limit) & (high <= ceiling))
    spread = np.zeros(len(low))
    for k in wide:
        col = column(int(k))
        if len(col) > 1:
            # column by column: no copy of the table (np.std of a slice copied it whole)
            std = float(np.std(col))  # a third of nanstd's time
            spread[k] = float(np.nanstd(col)) if math.isnan(std) else std
    loud = np.flatnonzero(spread > limit)
    if len(loud):
        j = int(loud[0])
        warnings.warn(
            f"The '{name}' argument has a volatility of {spread[j]:.3g} per {periods} "
            f"period(s) in column {cols[j]!r} (above {limit:.3g}): are these returns in "
            "percent? Simple decimal returns are expected (0.01 = 1%).",
            DataWarning,
            stacklevel=3,
        )


def join_dates(
    left: pd.DataFrame, right: pd.DataFrame, names: tuple[str, str], align: AlignPolicy
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Align two frames on their row labels under an explicit policy.

    ``"exact"`` requires identical row labels; ``"inner"`` keeps common labels and
    fails when there are none (non-overlapping histories).
    """
    check_option(align, "align", ("exact", "inner"))
    if left.index.equals(right.index):
        return left, right
    common = left.index.intersection(right.index)
    if align == "exact":
        only_l = left.index.difference(right.index)
        only_r = right.index.difference(left.index)
        raise EstimationLabelsError(
            f"The dates of '{names[0]}' and '{names[1]}' differ: {len(only_l)} only in "
            f"'{names[0]}' (first {format_labels(only_l[:3])}), {len(only_r)} only in "
            f"'{names[1]}' (first {format_labels(only_r[:3])}). Pass align='inner' to use "
            f"the {len(common)} common dates."
        )
    if len(common) == 0:
        raise EstimationDataError(
            f"The histories of '{names[0]}' ({left.index[0]!r} to {left.index[-1]!r}) and "
            f"'{names[1]}' ({right.index[0]!r} to {right.index[-1]!r}) do not overlap."
        )
    return left.loc[common], right.loc[common]


def check_int(value: Any, name: str, *, lower: int = 1, what: str = "") -> int:
    """Return ``value`` as an int >= ``lower``; the one check of horizons, days and counts.

    Raises
    ------
    SpecificationError
        Naming the argument, the value and the valid range.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lower:
        raise SpecificationError(
            f"The '{name}' argument must be an integer >= {lower}{what}. Got {value!r} instead."
        )
    return int(value)


def interval_text(
    lower: float | None, upper: float | None, lower_inclusive: bool, upper_inclusive: bool
) -> str:
    """Return an interval as text: ``[0, inf)``, ``(0, 1)``; None is unbounded."""
    left = "(-inf" if lower is None else ("[" if lower_inclusive else "(") + f"{lower:g}"
    right = "inf)" if upper is None else f"{upper:g}" + ("]" if upper_inclusive else ")")
    return f"{left}, {right}"


def check_scalar(
    value: Any,
    name: str,
    *,
    lower: float | None = None,
    upper: float | None = None,
    lower_inclusive: bool = True,
    upper_inclusive: bool = True,
    expected: str | None = None,
    hint: str = "",
    error: type[Exception] = SpecificationError,
) -> float:
    """Return a scalar as a finite float inside the given interval: the one scalar check.

    Every package's scalar arguments and parameters go through it (``optihedge``'s
    arguments, the constraints' parameters and limits, the horizon's autocorrelation).

    Parameters
    ----------
    value : Any
        A real number (bool is refused; numpy scalars are taken).
    name : str
        The argument's name, for the message.
    lower, upper : float, optional
        The interval's ends; None is unbounded.
    lower_inclusive, upper_inclusive : bool, default True
        Whether the ends belong to it.
    expected : str, optional
        The message's first sentence, without its full stop; default ``The '<name>'
        argument must be a finite number in <interval>``.
    hint : str
        What would fix it, appended to the message.
    error : exception class, default SpecificationError
        Raised (a subclass of ``SpecificationError`` where the caller has its own).

    Raises
    ------
    SpecificationError
        If ``value`` is not a real number, is NaN or infinite, or lies outside the
        interval; the message names the argument, the value and the valid interval.
    """
    if expected is None:
        interval = interval_text(lower, upper, lower_inclusive, upper_inclusive)
        expected = f"The '{name}' argument must be a finite number in {interval}"
    tail = f" {hint}" if hint else ""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise error(f"{expected}. Got {value!r} of type {type(value).__name__} instead.{tail}")
    out = float(value)
    below = lower is not None and (out < lower or (out == lower and not lower_inclusive))
    above = upper is not None and (out > upper or (out == upper and not upper_inclusive))
    if not math.isfinite(out) or below or above:
        raise error(f"{expected}. Got {out!r} instead.{tail}")
    return out


def check_option(value: Any, name: str, options: tuple[Any, ...]) -> Any:
    """Return ``value`` if it is one of ``options``; otherwise name them all."""
    if not any(value is o or (type(value) is type(o) and value == o) for o in options):
        choices = ", ".join(repr(o) for o in options)
        raise SpecificationError(
            f"The '{name}' argument must be one of {choices}. Got {value!r} instead."
        )
    return value


def check_window(window: Any, name: str = "windows") -> int:
    """Return a window length as an int >= 2."""
    return check_int(window, name, lower=2, what=" (observations per window)")


MISSING = ("raise", "drop")


def _finite_rows(data: Any) -> np.ndarray | None:
    """Rows of ``data`` whose every value is finite (None: not a numeric table)."""
    if np.iscomplexobj(data):
        return None
    try:
        values = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        return None
    return np.asarray(np.isfinite(values).all(axis=1))


def drop_missing(*tables: Any) -> tuple[Any, ...]:
    """Keep the rows on which every table is finite (``missing="drop"``).

    Tables of the same length (and, for pandas objects, the same index) are filtered
    together: a date is dropped from all of them when any holds NaN or an infinity on
    it. Tables of different lengths or dates are filtered each on its own (the date
    checks that follow name the difference). Non-numeric data is left as it is, for
    the checks that follow to name.
    """
    rows = [_finite_rows(t) for t in tables]
    if any(r is None for r in rows):
        return tables
    lengths = {len(r) for r in rows if r is not None}
    indexes = [t.index for t in tables if isinstance(t, pd.DataFrame | pd.Series)]
    joint = len(lengths) == 1 and all(ix.equals(indexes[0]) for ix in indexes)
    if joint:
        keep = np.logical_and.reduce([r for r in rows if r is not None])
        masks = [keep] * len(tables)
    else:
        masks = [r for r in rows if r is not None]
    return tuple(
        t.iloc[m] if isinstance(t, pd.DataFrame | pd.Series) else np.asarray(t)[m]
        for t, m in zip(tables, masks, strict=True)
    )

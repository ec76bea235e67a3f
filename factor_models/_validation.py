"""Input checks for the estimation layer; each names the argument it checks."""

from __future__ import annotations

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
    "check_int",
    "check_option",
    "check_returns",
    "check_window",
    "format_labels",
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
    if not frame.index.is_unique or not frame.index.is_monotonic_increasing:
        raise EstimationDataError(
            f"The '{name}' argument must have unique, increasing row labels (dates); "
            "sort it and drop duplicate dates."
        )
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


def check_returns(
    values: np.ndarray,
    name: str,
    columns: Iterable[Hashable],
    *,
    periods: int = 1,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """Refuse returns of an implausible scale, the same way at every entry point.

    A simple return at or below -100% is impossible; above +100% over one period (or
    +100% compounded over ``periods``) it is almost surely data in percent or prices:
    both are a :class:`DataError` naming the column. A column whose standard deviation
    exceeds :data:`MAX_PERIOD_VOLATILITY` x sqrt(periods) gets a :class:`DataWarning`.
    NaN are ignored here (each caller has its missing-value policy). ``bounds`` are the
    columns' NaN-skipping minima and maxima when the caller has them already.
    """
    cols = list(columns)
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return  # emptiness is each caller's own error
    arr = arr.reshape(len(arr), -1)
    # fmin/fmax skip NaN at the speed of min/max (an all-NaN column stays NaN: no alarm)
    low, high = (
        bounds if bounds is not None else (np.fmin.reduce(arr, axis=0), np.fmax.reduce(arr, axis=0))
    )
    ceiling = 2.0**periods - 1.0
    bad = np.flatnonzero((low <= -1.0) | (high > ceiling))
    if len(bad):
        j = int(bad[0])
        raise DataError(
            f"The '{name}' argument holds returns outside (-100%, +{ceiling:.0%}] over "
            f"{periods} period(s): column {cols[j]!r} ranges from {float(low[j]):.4g} to "
            f"{float(high[j]):.4g}. "
            "Simple decimal returns are expected (0.01 = 1%); divide returns in percent by "
            "100, and turn prices into returns with optihedge.returns_from_prices."
        )
    limit = MAX_PERIOD_VOLATILITY * np.sqrt(periods)
    # a column whose every move is within the limit cannot have a volatility above it:
    # the standard deviation is computed only where it could
    wide = np.flatnonzero(np.maximum(np.abs(low), np.abs(high)) > limit)
    spread = np.zeros(arr.shape[1])
    if len(wide) and len(arr) > 1:
        sub = arr[:, wide]
        spread[wide] = np.std(sub, axis=0)  # a third of nanstd's time (a million rows: 0.4 s)
        missing = np.isnan(spread[wide])
        if missing.any():  # a column with NaN: the NaN-skipping deviation
            spread[wide[missing]] = np.nanstd(sub[:, missing], axis=0)
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

"""Input checks shared by optihedge's public functions.

Each helper takes the *name* of the argument it checks, so that every message names
the argument, the offending value and what would fix it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from factor_models.validation import (
    check_dates,
    check_int,
    check_option,
    check_returns,
    check_scalar,
    format_labels,
)
from factor_models.validation import interval_text as _interval_text
from optihedge._typing import FloatArray
from optihedge.errors import DataError, MissingLabelsError

__all__ = [
    "align_labels",
    "as_float_array",
    "as_sample",
    "check_dates",
    "check_int",
    "check_option",
    "check_probabilities",
    "check_returns",
    "check_scalar",
    "format_labels",
]


def as_float_array(
    value: Any,
    name: str,
    *,
    lower: float | None = None,
    upper: float | None = None,
    lower_inclusive: bool = True,
    upper_inclusive: bool = True,
) -> FloatArray:
    """Return ``value`` as a float array whose every element is finite and in range.

    Raises
    ------
    DataError
        Naming the argument, the first offending element and how many offend.
    """
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"The '{name}' argument must be numeric. Got {value!r} instead.") from exc
    interval = _interval_text(lower, upper, lower_inclusive, upper_inclusive)
    bad = ~np.isfinite(arr)
    if lower is not None:
        bad |= (arr < lower) if lower_inclusive else (arr <= lower)
    if upper is not None:
        bad |= (arr > upper) if upper_inclusive else (arr >= upper)
    if bad.any():
        flat = np.ravel(arr)
        idx = int(np.flatnonzero(np.ravel(bad))[0])
        count = int(bad.sum())
        where = "" if arr.ndim == 0 else f" at position {idx} ({count} offending value(s))"
        raise DataError(
            f"The '{name}' argument must hold finite numbers in {interval}. "
            f"Got {float(flat[idx])!r}{where} instead."
        )
    return arr


def as_sample(values: Any, name: str) -> pd.Series:
    """Return a non-empty, finite, one-dimensional sample as a float Series.

    Arrays get a default ``RangeIndex``; a Series keeps its labels, which must be unique.
    """
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise DataError(
                f"The '{name}' argument must be one-dimensional. Got a DataFrame with "
                f"{values.shape[1]} columns {format_labels(values.columns)}; pass one column."
            )
        values = values.iloc[:, 0]
    if isinstance(values, pd.Series):
        series = values
    else:
        arr = np.asarray(values)
        if arr.ndim != 1:
            raise DataError(
                f"The '{name}' argument must be one-dimensional. Got shape {arr.shape} instead."
            )
        series = pd.Series(arr)
    if series.empty:
        raise DataError(f"The '{name}' argument is empty; pass at least one observation.")
    if not series.index.is_unique:
        dupes = series.index[series.index.duplicated()].unique()
        raise MissingLabelsError(
            f"The '{name}' argument has duplicate labels {format_labels(dupes)}; "
            "labels must be unique."
        )
    arr = as_float_array(series.to_numpy(), name)
    return pd.Series(arr, index=series.index, name=series.name)


def align_labels(
    left: pd.Series | pd.DataFrame,
    right: pd.Series | pd.DataFrame,
    names: Sequence[str],
) -> pd.Index:
    """Check that two labelled inputs carry the same labels; return the left's order.

    Raises
    ------
    MissingLabelsError
        Naming the labels present in one input and absent from the other.
    """
    a, b = left.index, right.index
    if a.equals(b):
        return a
    only_left = a.difference(b)
    only_right = b.difference(a)
    if len(only_left) or len(only_right):
        raise MissingLabelsError(
            f"The labels of '{names[0]}' and '{names[1]}' differ: "
            f"{format_labels(only_left)} only in '{names[0]}', "
            f"{format_labels(only_right)} only in '{names[1]}'. "
            "Reindex both to the same labels before calling."
        )
    return a


def check_probabilities(probabilities: Any, n: int, name: str = "probabilities") -> FloatArray:
    """Return probabilities as an array of length ``n`` in [0, 1] that sums to one."""
    p = as_float_array(probabilities, name, lower=0.0, upper=1.0)
    if p.ndim != 1 or p.shape[0] != n:
        raise DataError(
            f"The '{name}' argument must have one entry per outcome ({n}). "
            f"Got shape {p.shape} instead."
        )
    total = float(p.sum())
    if abs(total - 1.0) > 1e-8:
        raise DataError(
            f"The '{name}' argument must sum to 1. Got a sum of {total!r} instead; "
            "normalise the weights."
        )
    return p

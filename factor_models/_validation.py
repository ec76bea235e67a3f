"""Input checks for the estimation layer; each names the argument it checks."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd

from factor_models.errors import EstimationDataError, SpecificationError

__all__ = ["as_frame", "check_int", "check_option", "check_window", "format_labels", "join_dates"]

AlignPolicy = Literal["exact", "inner"]


def format_labels(labels: Iterable[Hashable], limit: int = 5) -> str:
    """Return the first ``limit`` labels and a count of the rest, for messages."""
    items = list(labels)
    shown = ", ".join(repr(x) for x in items[:limit])
    if len(items) > limit:
        shown += f" and {len(items) - limit} more"
    return f"[{shown}]"


def as_frame(data: Any, name: str, prefix: str) -> pd.DataFrame:
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
        raise EstimationDataError(
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
    if np.isinf(values).any():
        r, c = np.argwhere(np.isinf(values))[0]
        raise EstimationDataError(
            f"The '{name}' argument holds an infinite value in column {frame.columns[c]!r} "
            f"at {frame.index[r]!r}; remove or repair it."
        )
    return pd.DataFrame(values, index=frame.index, columns=frame.columns, copy=False)


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
        raise EstimationDataError(
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

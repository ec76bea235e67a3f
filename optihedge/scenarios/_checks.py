"""Checks of the tables a :class:`~optihedge.scenarios.Scenarios` is built from.

Daily (or weekly, monthly) returns, event columns and the horizon: each refused with a
message that names the argument and what would fix it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from optihedge._validation import check_dates, check_int, check_returns
from optihedge.errors import DataError, MissingLabelsError

#: tables of at least this many rows are checked column by column (no whole copy)
COLUMNWISE_ROWS = 1 << 16


def _check_daily(
    daily: Any, name: str = "daily", periods: int = 1, *, dated: bool = True
) -> pd.DataFrame:
    """Return ``daily`` if it is a frame of finite simple returns of a plausible scale.

    With ``dated`` (a history, not a table of scenarios) its dates must be unique and
    increasing: paths run forward in time.
    """
    if not isinstance(daily, pd.DataFrame):
        raise DataError(
            f"The '{name}' argument must be a DataFrame of daily returns (dates x assets). "
            f"Got {type(daily).__name__} instead."
        )
    if dated:
        check_dates(daily.index, name)
    values: np.ndarray | list[np.ndarray]
    try:
        if len(daily) >= COLUMNWISE_ROWS:
            # a tall table (a million scenarios): checked column by column as the frame
            # holds them, never copied whole (a frame of several blocks would be)
            values = [daily.iloc[:, j].to_numpy(dtype=np.float64) for j in range(daily.shape[1])]
        else:
            values = daily.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"The '{name}' argument must hold numbers (simple returns).") from exc
    count, first = _non_finite(values)
    if count:
        r, c = first
        raise DataError(
            f"The '{name}' argument holds {count} NaN or infinite value(s), first in "
            f"column {daily.columns[c]!r} at {daily.index[r]!r}; drop or fill them first "
            "(e.g. returns_from_prices(..., missing='drop'))."
        )
    if not daily.columns.is_unique:
        raise MissingLabelsError(f"The '{name}' argument has duplicate columns.")
    check_returns(values, name, daily.columns, periods=periods)
    return daily


def _non_finite(values: np.ndarray | list[np.ndarray]) -> tuple[int, tuple[int, int]]:
    """Count NaN and infinite values; the first by row, then column (row-major order)."""
    if not isinstance(values, list):
        bad = ~np.isfinite(values)
        if not bad.any():
            return 0, (0, 0)
        r, c = np.argwhere(bad)[0]
        return int(bad.sum()), (int(r), int(c))
    count, first = 0, (len(values[0]) if values else 0, 0)
    for j, column in enumerate(values):
        rows = np.flatnonzero(~np.isfinite(column))
        count += len(rows)
        if len(rows) and int(rows[0]) < first[0]:
            first = (int(rows[0]), j)
    return count, first


def _check_events(events: Any, index: pd.Index) -> None:
    """``events`` must be a 0/1 frame labelled like the scenarios, with unique names."""
    if not isinstance(events, pd.DataFrame):
        raise DataError(
            "The 'events' argument must be a DataFrame of 0/1 columns (scenarios x events). "
            f"Got {type(events).__name__} instead."
        )
    if not events.index.equals(index):
        raise MissingLabelsError("The 'events' must be labelled like the scenarios (same index).")
    if not events.columns.is_unique:
        raise MissingLabelsError("The 'events' argument has duplicate event names.")
    try:
        values = events.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError("The 'events' argument must hold 0 or 1 in every cell.") from exc
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(
            f"The event column {events.columns[c]!r} must hold 0 (did not happen) or 1 "
            f"(happened); it holds {values[r, c]!r} in scenario {events.index[r]!r}."
        )


def _check_horizon(horizon: Any, name: str = "horizon") -> int:
    return check_int(horizon, name, what=" (periods of the data)")

"""Simple returns from prices, with an explicit policy for missing values."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from optihedge._validation import check_dates, format_labels
from optihedge.errors import DataError, MissingLabelsError, SpecificationError

__all__ = ["returns_from_prices"]

MissingPolicy = Literal["raise", "ffill", "drop"]


def returns_from_prices(prices: pd.DataFrame, *, missing: MissingPolicy = "raise") -> pd.DataFrame:
    r"""Compute simple daily returns :math:`r_t = P_t / P_{t-1} - 1` from a price table.

    A column's history runs from its first to its last valid price; NaN before its
    first price (not yet listed, not yet in the data) or after its last are *outside*
    its history and stay NaN. A NaN *inside* a history is a gap, handled by ``missing``:

    * ``"raise"`` (default): raise :class:`DataError` naming the columns and dates.
    * ``"ffill"``: carry the last price forward: a zero return on the missing day and
      the whole move on the next quoted day (so compounded returns are preserved).
    * ``"drop"``: keep only dates on which every column has a price, then compute
      returns between consecutive kept dates (a common sample with no NaN at all).

    Parameters
    ----------
    prices : DataFrame of shape (n_dates, n_assets), DatetimeIndex
        Positive prices, dates strictly increasing.
    missing : {"raise", "ffill", "drop"}, default "raise"

    Returns
    -------
    DataFrame of shape (at most n_dates - 1, n_assets)
        Returns as decimals (0.01 = 1%), labelled like ``prices``. Dates on which no
        column has a return are dropped: the first date, and leading or trailing dates
        with no price at all (a first row of NaN, a last row not yet filled). A NaN left
        in the result is outside its column's history (before its second price or after
        its last), never a gap under ``missing="raise"``.

    Raises
    ------
    DataError
        Non-positive or infinite prices, unordered or duplicate dates, no columns,
        fewer than two dates, or a gap under ``missing="raise"``.
    SpecificationError
        An unknown ``missing`` policy.
    """
    if missing not in ("raise", "ffill", "drop"):
        raise SpecificationError(
            f"The 'missing' argument must be 'raise', 'ffill' or 'drop'. Got {missing!r}."
        )
    if not isinstance(prices, pd.DataFrame):
        raise DataError(
            f"The 'prices' argument must be a DataFrame (dates x assets). "
            f"Got {type(prices).__name__} instead."
        )
    if not isinstance(prices.index, pd.DatetimeIndex):
        raise DataError(
            "The 'prices' argument must have a DatetimeIndex. "
            f"Got {type(prices.index).__name__}; use pd.to_datetime on the index."
        )
    check_dates(prices.index, "prices")
    if prices.shape[1] == 0:
        raise DataError(
            f"The 'prices' argument has no columns (shape {prices.shape}); pass one column "
            "of prices per asset."
        )
    if not prices.columns.is_unique:
        dupes = prices.columns[prices.columns.duplicated()].unique()
        raise MissingLabelsError(
            f"The 'prices' argument has duplicate columns {format_labels(dupes)}; labels must "
            "be unique."
        )
    # numpy reads numeric text ("101.5") as a number, but pandas would then divide text:
    # any text cell is refused here, with the conversion that fixes it
    text = [
        c
        for c, d in zip(prices.columns, prices.dtypes, strict=True)
        if d.kind not in "biuf"
        and prices[c].map(lambda v: isinstance(v, str | bytes), na_action="ignore").any()
    ]
    try:
        values = prices.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        text = text or [
            c for c, d in zip(prices.columns, prices.dtypes, strict=True) if d.kind not in "biuf"
        ]
        raise DataError(
            f"The 'prices' argument must hold numbers; columns {format_labels(text)} hold "
            "text or objects. Convert them with pd.to_numeric first."
        ) from exc
    if text:
        raise DataError(
            f"The 'prices' argument must hold numbers; columns {format_labels(text)} hold "
            "text (numbers written as strings). Convert them with pd.to_numeric first."
        )
    with np.errstate(invalid="ignore"):
        bad = np.isinf(values) | (values <= 0.0)
    if bad.any():
        rows, cols = np.nonzero(bad)
        raise DataError(
            f"The 'prices' argument must hold positive finite prices. Got "
            f"{values[rows[0], cols[0]]!r} for {prices.columns[cols[0]]!r} on "
            f"{prices.index[rows[0]].date()} ({len(rows)} such values)."
        )
    counts = prices.notna().sum()
    thin = counts.index[counts.to_numpy() < 2]
    if len(thin) and len(prices) >= 2:  # (one date: the message below says so)
        raise DataError(
            f"The 'prices' argument has fewer than 2 prices in columns {format_labels(thin)}; "
            "a return needs two. Drop those columns or give their history."
        )
    if missing == "drop":
        clean = prices.dropna(how="any")
    else:
        inside = prices.ffill().notna() & prices.bfill().notna()
        gaps = prices.isna() & inside
        if gaps.any().any() and missing == "raise":
            gap_columns = gaps.columns[gaps.any()]
            first = gaps.index[gaps.any(axis=1)]
            raise DataError(
                f"The 'prices' argument has {int(gaps.to_numpy().sum())} missing prices inside "
                f"the histories of {format_labels(gap_columns)}, first on {first[0].date()}. "
                "Pass missing='ffill' to carry prices forward or missing='drop' to keep "
                "common dates only."
            )
        clean = prices.ffill().where(inside)
    if len(clean) < 2:
        raise DataError(
            f"The 'prices' argument needs at least 2 dates with prices to form a return. "
            f"Got {len(clean)}."
        )
    returns = (clean / clean.shift(1) - 1.0).iloc[1:]
    # a date before every column's second price or after every column's last price has
    # no return at all: drop it, as the first date is (every column has a return, so
    # one row at least is kept)
    some = np.flatnonzero(returns.notna().to_numpy().any(axis=1))
    return returns.iloc[int(some[0]) : int(some[-1]) + 1]

"""Loader for the embedded datasets (built by ``scripts/build_datasets.py``)."""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

import pandas as pd

from optihedge._validation import format_labels
from optihedge.errors import DataError, MissingLabelsError

__all__ = ["KNOWN_FLAWS", "load_default", "metadata"]

_FILES = ("sp500_stocks", "sp500_index", "factor_etfs", "nasdaq_composite", "vix")

_STOCKS = {
    "AAPL": ("Apple", "Information Technology"),
    "AMD": ("Advanced Micro Devices", "Information Technology"),
    "BAC": ("Bank of America", "Financials"),
    "BBY": ("Best Buy", "Consumer Discretionary"),
    "CVX": ("Chevron", "Energy"),
    "GE": ("General Electric", "Industrials"),
    "HD": ("Home Depot", "Consumer Discretionary"),
    "JNJ": ("Johnson & Johnson", "Health Care"),
    "JPM": ("JPMorgan Chase", "Financials"),
    "KO": ("Coca-Cola", "Consumer Staples"),
    "LLY": ("Eli Lilly", "Health Care"),
    "MRK": ("Merck", "Health Care"),
    "MSFT": ("Microsoft", "Information Technology"),
    "PEP": ("PepsiCo", "Consumer Staples"),
    "PFE": ("Pfizer", "Health Care"),
    "PG": ("Procter & Gamble", "Consumer Staples"),
    "RRC": ("Range Resources", "Energy"),
    "UNH": ("UnitedHealth Group", "Health Care"),
    "WMT": ("Walmart", "Consumer Staples"),
    "XOM": ("Exxon Mobil", "Energy"),
}
_OTHERS = {
    "SP500": ("index", "S&P 500 index (price, no dividends)", "sp500_index"),
    "NASDAQ": ("index", "NASDAQ Composite index (price)", "nasdaq_composite"),
    "MTUM": ("etf", "iShares MSCI USA Momentum Factor ETF", "factor_etfs"),
    "QUAL": ("etf", "iShares MSCI USA Quality Factor ETF", "factor_etfs"),
    "SIZE": ("etf", "iShares MSCI USA Size Factor ETF", "factor_etfs"),
    "USMV": ("etf", "iShares MSCI USA Min Vol Factor ETF", "factor_etfs"),
    "VLUE": ("etf", "iShares MSCI USA Value Factor ETF", "factor_etfs"),
    "VIX": ("volatility_index", "CBOE Volatility Index (level, vol points)", "vix"),
}

#: Known flaws of the embedded data, to handle rather than hide.
KNOWN_FLAWS: tuple[str, ...] = (
    "Stock prices are dividend-adjusted closes rounded to 3 decimals: returns of "
    "low-priced stocks in the 1990s are coarse (e.g. AAPL near 0.26 moves in steps "
    "of about 0.4%).",
    "RRC is stale before about 1997 (44% of its 1990-1997 daily returns are exactly "
    "zero); start analyses in 2000 or later.",
    "SP500 and NASDAQ are price indexes: their returns omit dividends (about 1.5-2% a "
    "year), so index betas are unaffected but total-return comparisons are not.",
    "The 20 stocks are today's survivors (survivorship bias): they are not the index "
    "constituents of the 1990s.",
    "Factor ETFs start on 2014-01-02, NASDAQ covers 1999-01-04 to 2018-12-31 and VIX "
    "2014-01-03 to 2018-12-31; outside those dates their columns are NaN.",
    "VIX quotes on market holidays are absent in the source ('.') and were dropped.",
)


def _read_manifest() -> dict[str, Any]:
    text = resources.files("optihedge.datasets").joinpath("data/MANIFEST.json").read_text()
    manifest: dict[str, Any] = json.loads(text)
    return manifest


def _check_digest(name: str, raw: bytes) -> None:
    expected = _read_manifest()["files"][name]["sha256"]
    digest = hashlib.sha256(raw).hexdigest()
    if digest != expected:
        raise DataError(
            f"The embedded data file {name!r} is corrupted: SHA-256 {digest} does not "
            f"match MANIFEST.json ({expected}). Reinstall optihedge or rebuild the data "
            "with scripts/build_datasets.py."
        )


@functools.cache
def _read_file(key: str, verify: bool) -> pd.DataFrame:
    name = f"{key}.csv.gz"
    raw = resources.files("optihedge.datasets").joinpath(f"data/{name}").read_bytes()
    if verify:
        _check_digest(name, raw)
    frame = pd.read_csv(io.BytesIO(gzip.decompress(raw)), index_col=0)
    frame.index = pd.to_datetime(frame.index, format="%Y-%m-%d")
    frame.index.name = "date"
    return frame.astype("float64")


def metadata() -> pd.DataFrame:
    """Describe every column of :func:`load_default`.

    Returns
    -------
    DataFrame indexed by ticker
        ``kind`` (stock, index, etf, volatility_index), ``name``, ``sector`` (stocks
        only), ``source`` (package, version and file), ``licence``, ``first`` and
        ``last`` dates with data.
    """
    files = _read_manifest()["files"]
    rows: dict[str, dict[str, str]] = {}
    for ticker, (name, sector) in _STOCKS.items():
        rows[ticker] = {"kind": "stock", "name": name, "sector": sector, "file": "sp500_stocks"}
    for ticker, (kind, name, key) in _OTHERS.items():
        rows[ticker] = {"kind": kind, "name": name, "sector": "", "file": key}
    out = pd.DataFrame.from_dict(rows, orient="index")
    for col in ("source", "licence", "first", "last"):
        out[col] = [files[f"{key}.csv.gz"][col] for key in out["file"]]
    out.index.name = "ticker"
    return out.drop(columns="file")


def load_default(
    *,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    columns: Sequence[str] | None = None,
    verify: bool = True,
) -> pd.DataFrame:
    """Load the embedded daily prices: 20 US stocks, indexes, factor ETFs and VIX.

    The calendar is that of the S&P 500 data (NYSE trading days, 1990-01-02 to
    2022-12-28); other series are aligned to it and are NaN outside their coverage.
    Read :data:`KNOWN_FLAWS` before drawing conclusions.

    Parameters
    ----------
    start, end : str or Timestamp, optional
        Inclusive date bounds.
    columns : sequence of str, optional
        Tickers to keep (see :func:`metadata`); all by default.
    verify : bool, default True
        Check each file's SHA-256 against the shipped manifest.

    Returns
    -------
    DataFrame of shape (n_dates, n_tickers), DatetimeIndex named ``date``
        Prices in USD (VIX in volatility points). ``attrs["metadata"]`` holds the rows of
        :func:`metadata` for the columns returned (a dict by ticker) and
        ``attrs["known_flaws"]`` the flaws.

    Raises
    ------
    MissingLabelsError
        If ``columns`` names a ticker that is not embedded.
    DataError
        If a data file fails its checksum, or the date range selects no rows.
    """
    frames = [_read_file(key, verify) for key in _FILES]
    prices = pd.concat(frames, axis=1, join="outer").reindex(frames[0].index)
    if columns is not None:
        unknown = [c for c in columns if c not in prices.columns]
        if unknown:
            raise MissingLabelsError(
                f"The 'columns' argument names tickers that are not embedded: "
                f"{format_labels(unknown)}. Available: {format_labels(prices.columns, 40)}."
            )
        prices = prices[list(columns)]
    prices = prices.loc[start:end].copy()
    if prices.empty:
        raise DataError(
            f"The dates start={start!r}, end={end!r} select no rows; the data covers "
            "1990-01-02 to 2022-12-28."
        )
    prices.attrs["metadata"] = metadata().loc[list(prices.columns)].to_dict(orient="index")
    prices.attrs["known_flaws"] = KNOWN_FLAWS
    return prices

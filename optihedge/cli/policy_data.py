"""A policy file's data and book, and the problem of an as-of date.

:func:`read_data` reads the closes (the embedded data or a CSV / Parquet of prices or
returns) and refuses NaN; :func:`book_values` reads the book (market values, or
quantities valued at the as-of date's closes); :func:`build_problem` estimates the risk
model, builds the scenarios and the market state of an as-of date and the problem.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optihedge.calendar import Frequency, infer_frequency
from optihedge.cli.policy_file import (
    Issues,
    PolicyFile,
    date_value,
    number,
    show,
    string_value,
)
from optihedge.errors import DataError

__all__ = [
    "OPTION_KINDS",
    "STALE_DAYS",
    "book_values",
    "build_problem",
    "read_data",
    "read_table",
    "value_book",
]

#: Calendar days an as-of date may fall after the data's last close (a weekend, holidays),
#: as :meth:`~optihedge.instruments.MarketState.from_data` allows.
STALE_DAYS = 5
#: Instrument kinds priced on the market state of the as-of date.
OPTION_KINDS = ("put", "call", "collar", "put_spread", "option_contract")


def read_table(path: Path, date_column: str | None) -> pd.DataFrame:
    """Read a CSV or Parquet table; index it by ``date_column`` (dates) when given."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except ImportError:
            raise DataError(
                f"reading {str(path)!r} needs a Parquet engine: pip install pyarrow, or give "
                "the table as a CSV"
            ) from None
    elif suffix in (".csv", ".txt"):
        frame = pd.read_csv(path)
    else:
        raise DataError(f"{str(path)!r} is neither .csv nor .parquet")
    if date_column is not None:
        if date_column not in frame.columns:
            if isinstance(frame.index, pd.DatetimeIndex):
                return frame
            raise DataError(
                f"{str(path)!r} has no column {date_column!r} (its columns: "
                f"{list(frame.columns)[:10]}); name the dates' column in data.date_column"
            )
        frame = frame.set_index(date_column)
        frame.index = pd.to_datetime(frame.index)
    return frame


def read_data(
    issues: Issues,
    t: dict[str, Any],
    base: Path,
    needed: list[str],
    may_gap: frozenset[str] = frozenset(),
    could_gap: frozenset[str] = frozenset(),
) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """Return the closes the file needs (and VIX when there is one) and the resolved section.

    ``may_gap``: columns that may hold NaN (a hedge instrument's price, when the policy
    trades it only when it has data: the backtest checks and names those gaps itself);
    ``could_gap``: those that could, were the policy to say so (the message says how).
    """
    from optihedge.datasets import load_default, metadata

    res: dict[str, Any] = {"kind": t.get("kind", "prices")}
    start = date_value(issues, t["start"], "data.start") if "start" in t else None
    end = date_value(issues, t["end"], "data.end") if "end" in t else None
    if start is not None and end is not None and start >= end:
        issues.add("data.end", f"must be after data.start ({start.date()}), got {end.date()}")
        return None, res
    if res["kind"] not in ("prices", "returns"):
        issues.add("data.kind", f"must be 'prices' or 'returns', got {show(res['kind'])}")
        return None, res
    for k, v in (("start", start), ("end", end)):
        if v is not None:
            res[k] = v
    if "file" in t:
        if t.get("embedded", False) is not False:
            issues.add("data.embedded", "give either data.file or data.embedded = true, not both")
            return None, res
        name = string_value(issues, t["file"], "data.file")
        column = t.get("date_column", "date")
        if name is None or string_value(issues, column, "data.date_column") is None:
            return None, res
        path = (base / name).resolve()
        res |= {"file": str(path), "date_column": column}
        frame = issues.guard("data.file", lambda: read_table(path, column))
        if frame is None:
            return None, res
        key = "data.file"
    else:
        emb = t.get("embedded", True)
        if emb is not True:
            issues.add("data.embedded", f"must be true (or give data.file), got {show(emb)}")
            return None, res
        res["embedded"] = True
        if res["kind"] != "prices":
            issues.add("data.kind", "the embedded data are prices: data.kind is for data.file")
            return None, res
        have = list(metadata().index)
        cols = [c for c in dict.fromkeys([*needed, "VIX"]) if c in have]
        frame = issues.guard("data", lambda: load_default(columns=cols, verify=False))
        if frame is None:
            return None, res
        key = "data.start"
    if not isinstance(frame.index, pd.DatetimeIndex) or not frame.index.is_monotonic_increasing:
        issues.add(key, "the data's dates must be increasing (sort the file by date)")
        return None, res
    if frame.index.has_duplicates:
        issues.add(key, "the data repeat dates; keep one row a date")
        return None, res
    frame = frame.loc[start:end] if start is not None or end is not None else frame
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        return frame, res  # each missing column is reported where it is named
    use = frame[needed]
    nonnum = [c for c in needed if not pd.api.types.is_numeric_dtype(use[c])]
    if nonnum:
        issues.add(key, f"the columns {nonnum} hold values that are not numbers")
        return None, res
    nan = use.drop(columns=[c for c in needed if c in may_gap]).isna()
    if nan.to_numpy().any():
        col = str(nan.any().idxmax())
        gaps = nan.index[nan[col].to_numpy()]
        after = frame.index[frame.index > gaps[-1]]
        if key == "data.start" and len(after):
            fix = f"the embedded data start it later: pass data.start = {after[0].date()} or later"
        elif col in could_gap:
            fix = (
                "fill or drop those rows, or trade that hedge only when it has data: "
                '[policy] missing_data = "trade_when_available"'
            )
        else:
            fix = "fill or drop those rows"
        issues.add(
            key,
            f"the data hold NaN: {int(nan.to_numpy().sum())} in all, in column {col!r} from "
            f"{gaps[0].date()} to {gaps[-1].date()} ({len(gaps)} dates); {fix}",
        )
        return None, res
    if len(frame) < 3:
        issues.add(key, f"the data hold {len(frame)} dates: too few to estimate anything")
        return None, res
    if res["kind"] == "returns":
        frame = 100.0 * (1.0 + frame[needed]).cumprod()
    return frame, res


def book_values(
    issues: Issues, t: dict[str, Any], base: Path, res: dict[str, Any]
) -> tuple[dict[str, float] | None, pd.DataFrame | None]:
    """Return the book as market values by ticker, or quantities (with prices) to value."""
    from optihedge.datasets import metadata

    if ("embedded" in t) == ("file" in t):
        issues.add("book", "give one of book.embedded (tickers and values) or book.file")
        return None, None
    if "file" in t:
        name = string_value(issues, t["file"], "book.file")
        if name is None:
            return None, None
        path = (base / name).resolve()
        res["file"] = str(path)
        frame = issues.guard("book.file", lambda: read_table(path, None))
        if frame is None:
            return None, None
        cols = {str(c).lower(): c for c in frame.columns}
        if "ticker" not in cols or not ({"value", "quantity"} & set(cols)):
            issues.add(
                "book.file",
                f"needs the columns ticker and value, or ticker and quantity (with an "
                f"optional price); it has {list(frame.columns)}",
            )
            return None, None
        out = frame.rename(columns={v: k for k, v in cols.items()})
        out["ticker"] = out["ticker"].astype(str)
        if "value" in out:
            return dict(zip(out["ticker"], out["value"], strict=True)), None
        return None, out
    emb = t["embedded"]
    if isinstance(emb, str | list):
        if emb == "stocks":
            tickers = list(metadata().query("kind == 'stock'").index)
        elif isinstance(emb, list) and emb and all(isinstance(x, str) for x in emb):
            tickers = list(emb)
        else:
            issues.add(
                "book.embedded",
                f"must be 'stocks', an array of tickers or a table of ticker = value, got "
                f"{show(emb)}",
            )
            return None, None
        if "value" not in t:
            issues.add("book.value", "missing: the book's value, split equally over its tickers")
            return None, None
        value = number(issues, t, "value", "book", lower=0.0)
        return (None if value is None else dict.fromkeys(tickers, value / len(tickers))), None
    if isinstance(emb, Mapping) and emb:
        values = {}
        for k, v in emb.items():
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                issues.add(f"book.embedded.{k}", f"must be a market value, got {show(v)}")
            else:
                values[k] = float(v)
        return (values if len(values) == len(emb) else None), None
    issues.add("book.embedded", f"must be 'stocks', tickers or ticker = value, got {show(emb)}")
    return None, None


def value_book(
    issues: Issues,
    prices: pd.DataFrame,
    date: pd.Timestamp | None,
    estimation: Any,
    scenarios: Any,
    values: dict[str, float] | None,
    quantities: pd.DataFrame | None,
    book_t: dict[str, Any],
) -> tuple[Any, Any]:
    """Check the as-of date against the data; return the book (valued then) and frequency."""
    from optihedge.portfolio import Portfolio

    frequency = issues.guard("data", lambda: infer_frequency(prices.index))
    last = prices.index[-1]
    when = date if date is not None else last
    k = int(prices.index.searchsorted(when, side="right")) - 1
    need = 0 if estimation is None else estimation.needs
    need = max(need, scenarios.window if scenarios is not None else 0)
    if (when - last).days > STALE_DAYS:
        issues.add("as_of", f"{when.date()} is after the data's last date ({last.date()})")
    elif k < need + 1:
        first_ok = prices.index[min(need + 1, len(prices) - 1)].date()
        issues.add(
            "as_of" if date is not None else "estimation.window",
            f"the estimation reads {need} returns before the as-of date {when.date()} but the "
            f"data hold {max(k, 0)}; use an as-of date on or after {first_ok} or earlier data",
        )
    if quantities is not None:
        if not set(quantities["ticker"]) <= set(prices.columns):
            return None, frequency  # the tickers the data lack are reported already
        row = prices.iloc[max(k, 0)]
        q = quantities
        if "price" in q:
            vals = q["quantity"].astype(float) * q["price"].astype(float)
        else:
            vals = q["quantity"].astype(float) * row[q["ticker"]].to_numpy()
        values = dict(zip(q["ticker"], vals, strict=True))
    capital = None
    if "capital" in book_t:
        capital = number(issues, book_t, "capital", "book", lower=0.0)
    currency = book_t.get("currency", "USD")
    book = issues.guard(
        "book",
        lambda: Portfolio.from_holdings(
            pd.Series(values, dtype=np.float64), capital=capital, currency=currency
        ),
        ("capital", "currency"),
    )
    return book, frequency


# --------------------------------------------------------------------------- the problem


def _signal(pf: PolicyFile, name: str, k: int) -> float:
    """Return the regime signal on day ``k`` as the backtest reads it (NaN if unknown).

    ``vix`` and ``realised_vol`` by :mod:`optihedge.backtests.signals`, the engine's own:
    the VIX close in index points (else the S&P 500's proxy in the same points), and the
    annualised volatility of the book's value (its holdings as shares at day ``k``'s
    closes) over the last 21 returns up to day ``k``.
    """
    from optihedge.backtests.signals import implied_volatility, realised_volatility

    prices = pf.prices
    frequency = infer_frequency(prices.index)
    if name == "vix":
        vix = float(prices["VIX"].iloc[k]) if "VIX" in prices.columns else math.nan
        if "SP500" not in prices.columns:
            return vix if math.isfinite(vix) else math.nan
        returns = prices["SP500"].pct_change().iloc[1 : k + 1]
        value = implied_volatility("SP500", returns, vix, frequency)
        return 100.0 * value if value > 0 else math.nan
    if name == "realised_vol":
        held = prices[list(pf.book.holdings.index)].iloc[: k + 1]
        shares = pf.book.holdings / held.iloc[k]
        return float(realised_volatility((held @ shares).to_numpy(), frequency)[-1])
    return math.nan
    if name == "realised_vol":
        held = pf.prices[list(pf.book.holdings.index)]
        shares = pf.book.holdings / held.iloc[k]
        month = Frequency.MONTHLY.trading_days_per_period
        values = (held.iloc[max(0, k - month) : k + 1] @ shares).to_numpy()
        if len(values) < 3:
            return math.nan
        r = np.diff(values) / values[:-1]
        periods = infer_frequency(pf.prices.index).periods_per_year
        return float(np.std(r, ddof=1) * math.sqrt(periods))
    return math.nan


def build_problem(pf: PolicyFile, as_of: Any = None) -> tuple[Any, dict[str, Any]]:
    """Return ``(problem, inputs record)`` on ``as_of`` (see :meth:`PolicyFile.problem`)."""
    from optihedge.backtests.hedge_policy import read_only
    from optihedge.instruments import Future, MarketState
    from optihedge.optimize import HedgeProblem

    prices = pf.prices
    when = pd.Timestamp(as_of) if as_of is not None else pf.as_of
    when = prices.index[-1] if when is None else when
    k = int(prices.index.searchsorted(when, side="right")) - 1
    need = pf.estimation.needs
    if pf.scenarios is not None:
        need = max(need, pf.scenarios.window)
    if k < need + 1 or (when - prices.index[-1]).days > STALE_DAYS:
        raise DataError(
            f"The as-of date {when.date()} needs {need} returns before it within the data "
            f"({prices.index[0].date()} to {prices.index[-1].date()}); pass an as-of date "
            f"between {prices.index[min(need + 1, len(prices) - 1)].date()} and the data's end."
        )
    date = prices.index[k]
    columns = list(pf.market_state["columns"])
    returns = prices[columns].pct_change()
    frequency = infer_frequency(prices.index)
    window = returns.iloc[max(1, k - pf.estimation.window) : k]
    reads = max(pf.estimation.window, pf.scenarios.window if pf.scenarios is not None else 0)
    read = prices[columns].iloc[max(0, k - reads - 1) : k + 1]
    if read.isna().to_numpy().any():  # a hedge's gaps (allowed for backtests only)
        bad = [c for c in columns if read[c].isna().any()]
        gaps = read.index[read[bad].isna().any(axis=1)]
        raise DataError(
            f"The data have no close of {bad[:5]} on {len(gaps)} dates the solve for "
            f"{date.date()} reads (first {gaps[0].date()}, last {gaps[-1].date()}): one "
            "date's hedge needs every close of its window (missing_data applies to "
            "backtests, which hold such an instrument at 0); pass an as-of date whose "
            "window has them, or drop that instrument."
        )
    risk_model = pf.estimation.estimate(read_only(window), frequency)
    record: dict[str, Any] = {
        "as_of": date.date().isoformat(),
        "estimation": pf.estimation.to_dict()
        | {
            "first": window.index[0].date().isoformat(),
            "last": window.index[-1].date().isoformat(),
            "returns": len(window),
        },
    }
    scenarios = None
    if pf.scenarios is not None:
        sw = returns.iloc[max(1, k - pf.scenarios.window) : k]
        scenarios = pf.scenarios.build(read_only(sw), risk_model, date)
        record["scenarios"] = pf.scenarios.to_dict() | {"count": int(scenarios.n_scenarios)}
    inputs: dict[str, Any] = {"risk_model": risk_model, "scenarios": scenarios}
    options = sorted(
        {str(getattr(i, "underlying", "")) for i in pf.spec.instruments if i.kind in OPTION_KINDS}
    )
    # today's price of one unit: a future at its underlying's close, a fund at its own
    # close where the data have it (else the price the file states)
    unit_prices: dict[str, float] = {}
    for inst in pf.spec.instruments:
        if isinstance(inst, Future):
            unit_prices[inst.label] = float(prices[inst.underlying].to_numpy()[k])
        elif inst.kind in ("etf", "inverse_etf") and inst.label in prices.columns:
            unit_prices[inst.label] = float(prices[inst.label].iloc[k])
    if unit_prices:
        record["prices"] = unit_prices
    if options:
        ms = pf.market_state
        market = MarketState.from_data(
            date,
            rate=ms["rate"],
            underlyings=options,
            dividend_yield=ms["dividend_yield"] or None,
            prices=pd.Series(unit_prices, dtype="float64") if unit_prices else None,
            data=prices.iloc[: k + 1],
            halflife=ms["volatility_halflife"],
            window=ms["volatility_window"],
        )
        inputs["market_state"] = market
        record["market_state"] = {
            "spot": {str(u): float(v) for u, v in market.spot.items()},
            "volatility": {str(u): float(v) for u, v in market.volatility.items()},
            "rate": ms["rate"],
        }
    if not options:
        inputs["market_state"] = MarketState(
            prices=pd.Series(unit_prices, dtype="float64"), asof=date
        )
    problem = HedgeProblem.from_spec(pf.spec, pf.book, **inputs)
    params: dict[str, float] = {}
    hedge, ratio, regime = True, 1.0, None
    if pf.policy is not None:
        params = dict(pf.policy.params)
        ratio = pf.policy.hedge_ratio
        if pf.policy.regimes is not None:
            value = _signal(pf, pf.policy.regimes.signal, k)
            record["signal"] = {pf.policy.regimes.signal: value}
            if math.isfinite(value):
                band = pf.policy.regimes.band_of(value)
                regime, hedge = band.name, band.hedge
                ratio *= band.hedge_ratio
                params |= dict(band.params)
    if params:
        problem.set(params)
    record |= {
        "params": params,
        "regime": regime,
        "hedge": hedge,
        "hedge_ratio": ratio if hedge else 0.0,
        "book_value": pf.book.value,
        "defaults": list(pf.defaults),
    }
    return problem, record

"""Building a policy file's objects, section by section, collecting every error.

The reading side of :mod:`optihedge.cli.policy_file`: :func:`build` turns the TOML as
read into the project's objects through their own constructors and ``from_dict`` (each
section guarded, so that one bad section does not hide the errors of the next) and
:func:`build_problem` makes the problem of an as-of date.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optihedge.cli.policy_file import (
    BACKTEST_KEYS,
    BOOK_KEYS,
    COST_KEYS,
    DATA_KEYS,
    ESTIMATION_KEYS,
    MARKET_STATE_KEYS,
    POLICY_KEYS,
    SCENARIO_KEYS,
    SCHEMA_VERSION,
    TOP_KEYS,
    Issues,
    PolicyFile,
    _show,
    number,
)
from optihedge.errors import DataError

__all__ = ["TEMPLATE", "build", "build_problem"]

_NONNEGATIVE = ("max", "max_participation")
_OPTION_KINDS = ("put", "call", "collar", "put_spread", "option_contract")


# --------------------------------------------------------------------------- encoding


def to_spec(value: Any) -> Any:
    """Return a TOML value in the spec's encoding (:mod:`optihedge.optimize.spec`)."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": repr(value)}
    if isinstance(value, _dt.date | _dt.datetime):
        return {"$timestamp": value.isoformat()}
    if isinstance(value, list):
        return [to_spec(v) for v in value]
    if isinstance(value, Mapping):
        if "kind" in value:
            return {k: to_spec(v) for k, v in value.items()}
        return {"$dict": [[k, to_spec(v)] for k, v in value.items()]}
    return value


def from_spec(value: Any) -> Any:
    """Return a value of the spec's encoding as TOML types (None dropped)."""
    if isinstance(value, list):
        return [from_spec(v) for v in value]
    if not isinstance(value, Mapping):
        return value
    if len(value) == 1:
        ((marker, inner),) = value.items()
        if marker == "$float":
            return float(inner)
        if marker == "$timestamp":
            return pd.Timestamp(inner).to_pydatetime()
        if marker == "$tuple":
            return [from_spec(v) for v in inner]
        if marker in ("$dict", "$series"):
            return {str(from_spec(k)): from_spec(v) for k, v in inner}
    return {k: from_spec(v) for k, v in value.items() if v is not None}


def _no_kind(d: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != "kind"}


def _tidy(text: str, where: str) -> str:
    """Shorten a spec error: drop its place prefix and the refused fields' repr."""
    if text.startswith(f"{where}: "):
        text = text[len(where) + 2 :]
    return re.sub(r"refused its fields \{.*\}: ", "refused: ", text, flags=re.S)


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"max": 1}}`` -> ``{"a.max": 1}`` (a registry key written unquoted)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, Mapping):
            out |= _flatten(v, key)
        else:
            out[key] = v
    return out


def _date(issues: Issues, value: Any, key: str) -> pd.Timestamp | None:
    if isinstance(value, _dt.date | _dt.datetime | str) and not isinstance(value, bool):
        try:
            ts = pd.Timestamp(value)
        except (ValueError, TypeError, OverflowError):
            ts = None
        if ts is not None and not pd.isna(ts):
            return ts.tz_localize(None) if ts.tz is not None else ts
    issues.add(key, f"must be a date (2020-03-31), got {_show(value)}")
    return None


def _string(issues: Issues, value: Any, key: str) -> str | None:
    if isinstance(value, str) and value:
        return value
    issues.add(key, f"must be a non-empty string, got {_show(value)}")
    return None


def _int(issues: Issues, value: Any, key: str, lower: int = 1) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lower:
        issues.add(key, f"must be an integer >= {lower}, got {_show(value)}")
        return None
    return value


# --------------------------------------------------------------------------- spec parts


def _kinds(family: str) -> list[str]:
    from optihedge.optimize.spec import KINDS

    return sorted(k for k, v in KINDS.items() if v.family == family)


def _part(issues: Issues, d: Any, key: str, family: str, kind: str | None = None) -> Any:
    """Build one registered object (instrument, constraint, objective) from its table."""
    from optihedge.optimize.spec import KINDS, from_dict

    if not isinstance(d, Mapping):
        issues.add(key, f"must be a table, got {_show(d)}")
        return None
    name = kind if kind is not None else d.get("kind")
    known = _kinds(family)
    if name is None:
        issues.add(f"{key}.kind", f"missing: the {family}'s kind, one of {known}")
        return None
    if not isinstance(name, str) or name not in known:
        near = [k for k in known if isinstance(name, str) and k.startswith(name[:3])]
        hint = f"; did you mean {near[0]!r}?" if near else ""
        where = key if kind is not None else f"{key}.kind"
        issues.add(where, f"unknown {family} kind {name!r}{hint} (known: {', '.join(known)})")
        return None
    spec = KINDS[name]
    bad = False
    fields = _no_kind(d)
    for f in fields:
        if f not in spec.fields:
            issues.unknown(f"{key}.{f}", f, list(spec.fields))
            bad = True
    for f in sorted(spec.required - set(fields)):
        issues.add(key, f"missing the key {f!r} (the {name} needs {sorted(spec.required)})")
        bad = True
    if family == "constraint":
        for f in _NONNEGATIVE:
            v = fields.get(f)
            if isinstance(v, int | float) and not isinstance(v, bool) and v < 0:
                issues.add(f"{key}.{f}", f"must be >= 0, got {v!r}")
                bad = True
    if bad:
        return None
    where = key

    def make() -> Any:
        try:
            return from_dict(to_spec({"kind": name, **fields}), where=where, family=family)
        except ValueError as exc:
            raise type(exc)(_tidy(str(exc), where)) from None

    return issues.guard(key, make, {f: 1 for f in fields})


def _instruments(issues: Issues, raw: Any) -> list[Any] | None:
    if raw is None:
        issues.add("instruments", "missing: at least one [[instruments]] table (kind, label...)")
        return None
    if not isinstance(raw, list) or not raw:
        issues.add("instruments", f"must be an array of tables [[instruments]], got {_show(raw)}")
        return None
    out = [_part(issues, d, f"instruments[{i}]", "instrument") for i, d in enumerate(raw)]
    return None if any(x is None for x in out) else out


def _constraints(issues: Issues, raw: Any) -> tuple[list[Any] | None, list[str]]:
    if raw is None:
        return [], []
    if not isinstance(raw, Mapping):
        issues.add("constraints", f"must be a table of constraint kinds, got {_show(raw)}")
        return None, []
    known = _kinds("constraint")
    out, kinds, ok = [], [], True
    for kind, value in raw.items():
        key = f"constraints.{kind}"
        if kind not in known:
            issues.unknown(key, kind, known)
            ok = False
            continue
        items = value if isinstance(value, list) else [value]
        for j, item in enumerate(items):
            where = f"{key}[{j}]" if isinstance(value, list) else key
            if isinstance(item, Mapping) and "kind" in item:
                issues.add(f"{where}.kind", "a constraint's kind is its table's name; drop 'kind'")
                ok = False
                continue
            c = _part(issues, item, where, "constraint", kind=kind)
            ok = ok and c is not None
            out.append(c)
            kinds.append(kind)
    return (out if ok else None), kinds


# --------------------------------------------------------------------------- data and book


def _read_table(path: Path, date_column: str | None) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
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


def _data(
    issues: Issues, t: dict[str, Any], base: Path, needed: list[str]
) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """Return the closes the file needs (and VIX when there is one) and the resolved section."""
    from optihedge.datasets import load_default, metadata

    res: dict[str, Any] = {"kind": t.get("kind", "prices")}
    start = _date(issues, t["start"], "data.start") if "start" in t else None
    end = _date(issues, t["end"], "data.end") if "end" in t else None
    if start is not None and end is not None and start >= end:
        issues.add("data.end", f"must be after data.start ({start.date()}), got {end.date()}")
        return None, res
    if res["kind"] not in ("prices", "returns"):
        issues.add("data.kind", f"must be 'prices' or 'returns', got {_show(res['kind'])}")
        return None, res
    for k, v in (("start", start), ("end", end)):
        if v is not None:
            res[k] = v
    if "file" in t:
        if t.get("embedded", False) is not False:
            issues.add("data.embedded", "give either data.file or data.embedded = true, not both")
            return None, res
        name = _string(issues, t["file"], "data.file")
        column = t.get("date_column", "date")
        if name is None or _string(issues, column, "data.date_column") is None:
            return None, res
        path = (base / name).resolve()
        res |= {"file": str(path), "date_column": column}
        frame = issues.guard("data.file", lambda: _read_table(path, column))
        if frame is None:
            return None, res
        key = "data.file"
    else:
        emb = t.get("embedded", True)
        if emb is not True:
            issues.add("data.embedded", f"must be true (or give data.file), got {_show(emb)}")
            return None, res
        res["embedded"] = True
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
    nan = use.isna()
    if nan.to_numpy().any():
        col = str(nan.any().idxmax())
        first = nan[col].idxmax()
        fix = (
            f"start the data after it (data.start after {first.date()})"
            if key == "data.start"
            else "fill or drop those rows"
        )
        issues.add(
            key,
            f"the data hold NaN: {int(nan.to_numpy().sum())} in all, first in column {col!r} "
            f"on {first.date()}; {fix}",
        )
        return None, res
    if len(frame) < 3:
        issues.add(key, f"the data hold {len(frame)} dates: too few to estimate anything")
        return None, res
    if res["kind"] == "returns":
        frame = 100.0 * (1.0 + frame[needed]).cumprod()
    return frame, res


def _book_values(
    issues: Issues, t: dict[str, Any], base: Path, res: dict[str, Any]
) -> tuple[dict[str, float] | None, pd.DataFrame | None]:
    """Return the book as market values by ticker, or quantities (with prices) to value."""
    from optihedge.datasets import metadata

    if ("embedded" in t) == ("file" in t):
        issues.add("book", "give one of book.embedded (tickers and values) or book.file")
        return None, None
    if "file" in t:
        name = _string(issues, t["file"], "book.file")
        if name is None:
            return None, None
        path = (base / name).resolve()
        res["file"] = str(path)
        frame = issues.guard("book.file", lambda: _read_table(path, None))
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
                f"{_show(emb)}",
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
                issues.add(f"book.embedded.{k}", f"must be a market value, got {_show(v)}")
            else:
                values[k] = float(v)
        return (values if len(values) == len(emb) else None), None
    issues.add("book.embedded", f"must be 'stocks', tickers or ticker = value, got {_show(emb)}")
    return None, None


# --------------------------------------------------------------------------- the policy


def _policy_parts(issues: Issues, t: dict[str, Any], frequency: Any) -> dict[str, Any] | None:
    from optihedge.backtests.policy import Band, Regimes, part_from_dict

    out: dict[str, Any] = {}
    ok = True
    if "schedule" not in t:
        issues.add("policy.schedule", "missing: when the policy decides (rule = 'month_end')")
        ok = False
    else:
        s = t["schedule"]
        s = s if not isinstance(s, Mapping) else {"kind": "schedule", **s}
        out["schedule"] = issues.guard("policy.schedule", lambda: part_from_dict(s), _fields(s))
        if out["schedule"] is not None and frequency is not None:
            sched = out["schedule"]
            key = "policy.schedule.every" if sched.rule == "every" else "policy.schedule.rule"
            issues.guard(key, lambda: sched.check_frequency(frequency))
        ok = ok and out["schedule"] is not None
    if "hedge_ratio" in t:
        out["hedge_ratio"] = number(issues, t, "hedge_ratio", "policy", lower=0.0)
        ok = ok and out["hedge_ratio"] is not None
    if "regimes" in t:
        r = issues.table(t["regimes"], "policy.regimes", ("signal", "bands"))
        bands = r.get("bands")
        if not isinstance(bands, list) or not bands:
            issues.add("policy.regimes.bands", "missing: an array of [[policy.regimes.bands]]")
            ok = False
        else:
            built = []
            for i, b in enumerate(bands):
                if isinstance(b, Mapping) and isinstance(b.get("params"), Mapping):
                    b = {**b, "params": _flatten(b["params"])}
                key = f"policy.regimes.bands[{i}]"
                built.append(issues.guard(key, lambda b=b: Band.from_dict(b), _fields(b)))
            if all(x is not None for x in built):
                sig = r.get("signal")
                out["regimes"] = issues.guard(
                    "policy.regimes", lambda: Regimes(sig, tuple(built)), {"signal": 1}
                )
            ok = ok and out.get("regimes") is not None
    if "triggers" in t:
        trig = t["triggers"]
        if not isinstance(trig, list):
            issues.add("policy.triggers", "must be an array of [[policy.triggers]] tables")
            ok = False
        else:
            built = [
                issues.guard(f"policy.triggers[{i}]", lambda x=x: part_from_dict(x), _fields(x))
                for i, x in enumerate(trig)
            ]
            ok = ok and all(x is not None for x in built)
            out["triggers"] = tuple(built)
    if "exit" in t:
        e = t["exit"]
        out["exit_rule"] = issues.guard("policy.exit", lambda: part_from_dict(e), _fields(e))
        ok = ok and out["exit_rule"] is not None
    if "budget" in t:
        b = t["budget"]
        b = b if not isinstance(b, Mapping) else {"kind": "premium_budget", **b}
        out["premium_budget"] = issues.guard("policy.budget", lambda: part_from_dict(b), _fields(b))
        ok = ok and out["premium_budget"] is not None
    for key in ("params", "lots"):
        if key in t:
            v = t[key]
            if not isinstance(v, Mapping):
                issues.add(f"policy.{key}", f"must be a table, got {_show(v)}")
                ok = False
            else:
                out[key] = _flatten(v)
    return out if ok else None


def _fields(d: Any) -> dict[str, Any]:
    return dict(d) if isinstance(d, Mapping) else {}


def _resolved_policy(policy: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "schedule": _no_kind(policy.schedule.to_dict()),
        "hedge_ratio": policy.hedge_ratio,
    }
    if policy.regimes is not None:
        r = policy.regimes.to_dict()
        out["regimes"] = {"signal": r["signal"], "bands": [_no_kind(b) for b in r["bands"]]}
    if policy.triggers:
        out["triggers"] = [t.to_dict() for t in policy.triggers]
    out["exit"] = policy.exit_rule.to_dict()
    if policy.premium_budget is not None:
        out["budget"] = _no_kind(policy.premium_budget.to_dict())
    out["params"] = dict(policy.params)
    out["lots"] = dict(policy.lots)
    return out


def _defaults(resolved: Any, raw: Any, prefix: str, out: list[str]) -> None:
    """Append the dotted keys of ``resolved`` that ``raw`` does not write."""
    for k, v in resolved.items():
        key = f"{prefix}.{k}" if prefix else k
        if not isinstance(raw, Mapping) or k not in raw:
            out.append(key)
        elif isinstance(v, Mapping) and isinstance(raw[k], Mapping) and v:
            _defaults(v, raw[k], key, out)
        elif isinstance(v, list) and isinstance(raw[k], list) and len(v) == len(raw[k]):
            for i, (a, b) in enumerate(zip(v, raw[k], strict=True)):
                if isinstance(a, Mapping):
                    _defaults(a, b, f"{key}[{i}]", out)


# --------------------------------------------------------------------------- build


def _underlying(inst: Any) -> str | None:
    name = getattr(inst, "holding", None) or getattr(inst, "underlying", None)
    return name if isinstance(name, str) else None


def _value_book(
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
    from optihedge.calendar import infer_frequency
    from optihedge.portfolio import Portfolio

    frequency = issues.guard("data", lambda: infer_frequency(prices.index))
    last = prices.index[-1]
    when = date if date is not None else last
    k = int(prices.index.searchsorted(when, side="right")) - 1
    need = 0 if estimation is None else estimation.needs
    need = max(need, scenarios.window if scenarios is not None else 0)
    if (when - last).days > 5:
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
        {"capital": 1, "currency": 1},
    )
    return book, frequency


def build(raw: dict[str, Any], issues: Issues, path: Path | None, as_of: Any) -> Any:
    """Build the :class:`PolicyFile` of ``raw``; every error recorded in ``issues``."""
    from optihedge.backtests import CostModel, Estimation, HedgePolicy, ScenarioRecipe
    from optihedge.calendar import infer_frequency
    from optihedge.optimize.spec import ProblemSpec, to_dict
    from optihedge.portfolio import Portfolio

    base = path.parent if path is not None else Path.cwd()
    for k in raw:
        if k not in TOP_KEYS:
            issues.unknown(k, k, TOP_KEYS)
    res: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    name = raw.get("name", path.stem if path is not None else "policy")
    name = _string(issues, name, "name") or "policy"
    res["name"] = name
    date = None
    if as_of is not None:
        date = _date(issues, as_of, "as_of")
    elif "as_of" in raw:
        date = _date(issues, raw["as_of"], "as_of")
    if date is not None:
        res["as_of"] = date
    horizon = None
    if "horizon" in raw:
        horizon = _int(issues, raw["horizon"], "horizon")
        res["horizon"] = horizon
    market = None
    if "market" in raw:
        market = _string(issues, raw["market"], "market")
        res["market"] = market

    # the problem's structure
    instruments = _instruments(issues, raw.get("instruments"))
    objective = _part(issues, raw.get("objective", {"kind": "variance"}), "objective", "objective")
    constraints, ckinds = _constraints(issues, raw.get("constraints"))
    spec = None
    if instruments is not None and objective is not None and constraints is not None:
        spec = issues.guard(
            "instruments",
            lambda: ProblemSpec(tuple(instruments), objective, tuple(constraints), horizon, market),
        )

    # estimation, scenarios, market state
    est_t = issues.table(raw.get("estimation", {}), "estimation", ESTIMATION_KEYS)
    estimation = issues.guard("estimation", lambda: Estimation.from_dict(est_t), est_t)
    if estimation is not None:
        res["estimation"] = estimation.to_dict()
    scenarios = None
    if "scenarios" in raw:
        sc_t = issues.table(raw["scenarios"], "scenarios", SCENARIO_KEYS)
        scenarios = issues.guard("scenarios", lambda: ScenarioRecipe.from_dict(sc_t), sc_t)
        if scenarios is not None:
            res["scenarios"] = scenarios.to_dict()
    ms_t = issues.table(raw.get("market_state", {}), "market_state", MARKET_STATE_KEYS)
    ms: dict[str, Any] = {
        "rate": 0.0,
        "dividend_yield": {},
        "volatility_halflife": 21.0,
        "volatility_window": 252,
    }
    for k in ("rate", "volatility_halflife"):
        if k in ms_t:
            ms[k] = number(issues, ms_t, k, "market_state", lower=None if k == "rate" else 0.0)
    if "volatility_window" in ms_t:
        ms["volatility_window"] = _int(
            issues, ms_t["volatility_window"], "market_state.volatility_window", 2
        )
    if "dividend_yield" in ms_t:
        dy = ms_t["dividend_yield"]
        if not isinstance(dy, Mapping) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in dy.values()
        ):
            issues.add("market_state.dividend_yield", "must be a table of underlying = yield")
        else:
            ms["dividend_yield"] = {k: float(v) for k, v in dy.items()}
    res["market_state"] = ms

    # book and data
    book_res: dict[str, Any] = {}
    if "book" not in raw:
        issues.add("book", "missing: the book to hedge ([book] with embedded or file)")
        values, quantities, book_t = None, None, {}
    else:
        book_t = issues.table(raw["book"], "book", BOOK_KEYS)
        book_res = {k: v for k, v in book_t.items() if k != "file"}
        values, quantities = _book_values(issues, book_t, base, book_res)
    tickers = list(values) if values is not None else []
    if quantities is not None:
        tickers = list(quantities["ticker"])
    unders = [_underlying(i) for i in instruments or ()]
    needed = list(dict.fromkeys([*tickers, *(u for u in unders if u is not None)]))
    if market is not None:
        needed.append(market) if market not in needed else None
    if estimation is not None and estimation.kind == "factor":
        needed += [f for f in estimation.factors if f not in needed]
    data_t = issues.table(raw.get("data", {}), "data", (*DATA_KEYS, "embedded"))
    prices, data_res = _data(issues, data_t, base, needed) if needed else (None, {})
    res["data"] = data_res
    cols = set(prices.columns) if prices is not None else None
    if cols is not None:
        lacking = [t for t in tickers if t not in cols]
        if lacking:
            key = "book.file" if "file" in book_t else "book.embedded"
            if values is not None and isinstance(book_t.get("embedded"), Mapping):
                key = f"book.embedded.{lacking[0]}"
            issues.add(
                key,
                f"the book holds {lacking}, which the data lack (they have "
                f"{sorted(cols)[:12]}...); add their prices or drop them",
            )
        for i, u in enumerate(unders):
            if u is not None and u not in cols and u not in tickers:
                issues.add(
                    f"instruments[{i}].underlying",
                    f"{u!r} is not a column of the data (they have {sorted(cols)[:12]}...)",
                )
        if market is not None and market not in cols:
            issues.add("market", f"{market!r} is not a column of the data")
        if estimation is not None and estimation.kind == "factor":
            for f in estimation.factors:
                if f not in cols:
                    issues.add("estimation.factors", f"{f!r} is not a column of the data")
    frequency = None
    book = None
    if prices is not None and (values is not None or quantities is not None):
        book, frequency = _value_book(
            issues, prices, date, estimation, scenarios, values, quantities, book_t
        )
    if book is not None:
        book_res |= {"capital": book.capital, "currency": book.currency}
    res["book"] = book_res

    # policy and backtest
    policy = None
    if "policy" in raw:
        pol_t = issues.table(raw["policy"], "policy", POLICY_KEYS)
        parts = _policy_parts(issues, pol_t, frequency)
        if parts is not None and spec is not None and estimation is not None:
            fields = {"lots": 1, "premium_budget": 1, "params": 1}
            policy = issues.guard(
                "policy",
                lambda: HedgePolicy(
                    name=name, spec=spec, estimation=estimation, scenarios=scenarios, **parts
                ),
                fields,
            )
            if policy is not None:
                res["policy"] = _resolved_policy(policy)
    bt_t = issues.table(raw.get("backtest", {}), "backtest", BACKTEST_KEYS)
    bt: dict[str, Any] = {"start": None, "end": None, "capital": None, "rate": ms["rate"]}
    for k in ("start", "end"):
        if k in bt_t:
            bt[k] = _date(issues, bt_t[k], f"backtest.{k}")
    if bt["start"] is not None and bt["end"] is not None and bt["start"] >= bt["end"]:
        issues.add("backtest.end", f"must be after backtest.start ({bt['start'].date()})")
    if "capital" in bt_t:
        bt["capital"] = number(issues, bt_t, "capital", "backtest", lower=0.0)
    if "rate" in bt_t:
        bt["rate"] = number(issues, bt_t, "rate", "backtest")
    costs_t = issues.table(bt_t.get("costs", {}), "backtest.costs", COST_KEYS)
    bt["costs"] = issues.guard("backtest.costs", lambda: CostModel.from_dict(costs_t), costs_t)
    if bt["costs"] is not None:
        res["backtest"] = {k: v for k, v in bt.items() if v is not None and k != "costs"}
        res["backtest"]["costs"] = {
            k: v for k, v in bt["costs"].to_dict().items() if v is not None
        }
    if issues.items or spec is None or book is None:
        return None

    d = spec.to_dict()
    res["instruments"] = [from_spec(i) for i in d["instruments"]]
    res["objective"] = from_spec(d["objective"])
    grouped: dict[str, list[Any]] = {}
    for kind, c in zip(ckinds, spec.constraints, strict=True):
        grouped.setdefault(kind, []).append(_no_kind(from_spec(to_dict(c))))
    raw_c = raw.get("constraints", {})
    res["constraints"] = {
        k: v if isinstance(raw_c.get(k), list) else v[0] for k, v in grouped.items()
    }
    order = [k for k in TOP_KEYS if k in res]
    resolved = {k: res[k] for k in order}
    defaults: list[str] = []
    _defaults(resolved, raw, "", defaults)
    ms_out = dict(ms) | {"columns": [c for c in needed if c in prices.columns]}
    return PolicyFile(
        path=path,
        schema_version=SCHEMA_VERSION,
        raw=raw,
        resolved=resolved,
        defaults=tuple(defaults),
        name=name,
        spec=spec,
        book=book,
        prices=prices,
        estimation=estimation,
        scenarios=scenarios,
        policy=policy,
        backtest=bt,
        as_of=date,
        market_state=ms_out,
    )


# --------------------------------------------------------------------------- the problem


def _signal(pf: PolicyFile, name: str, k: int) -> float:
    """The regime signal on day ``k`` as the backtest reads it (NaN where the data lack it).

    ``vix``: the VIX close / 100; ``realised_vol``: the annualised volatility of the book's
    value (its holdings held as shares) over the last 21 returns up to day ``k``.
    """
    if name == "vix" and "VIX" in pf.prices.columns:
        return float(pf.prices["VIX"].iloc[k]) / 100.0
    if name == "realised_vol":
        from optihedge.calendar import infer_frequency

        held = pf.prices[list(pf.book.holdings.index)]
        shares = pf.book.holdings / held.iloc[k]
        values = (held.iloc[max(0, k - 21) : k + 1] @ shares).to_numpy()
        if len(values) < 3:
            return math.nan
        r = np.diff(values) / values[:-1]
        periods = infer_frequency(pf.prices.index).periods_per_year
        return float(np.std(r, ddof=1) * math.sqrt(periods))
    return math.nan


def build_problem(pf: PolicyFile, as_of: Any = None) -> tuple[Any, dict[str, Any]]:
    """Return ``(problem, inputs record)`` on ``as_of`` (see :meth:`PolicyFile.problem`)."""
    from optihedge.backtests.hedge_policy import read_only
    from optihedge.calendar import infer_frequency
    from optihedge.instruments import MarketState
    from optihedge.optimize import HedgeProblem

    prices = pf.prices
    when = pd.Timestamp(as_of) if as_of is not None else pf.as_of
    when = prices.index[-1] if when is None else when
    k = int(prices.index.searchsorted(when, side="right")) - 1
    need = pf.estimation.needs
    if pf.scenarios is not None:
        need = max(need, pf.scenarios.window)
    if k < need + 1 or (when - prices.index[-1]).days > 5:
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
        {i.underlying for i in pf.spec.instruments if getattr(i, "kind", "") in _OPTION_KINDS}
    )
    if options:
        ms = pf.market_state
        market = MarketState.from_data(
            date,
            rate=ms["rate"],
            underlyings=options,
            dividend_yield=ms["dividend_yield"] or None,
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

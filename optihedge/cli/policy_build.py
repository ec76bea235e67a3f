"""Building a policy file's objects, section by section, collecting every error.

The reading side of :mod:`optihedge.cli.policy_file`: :func:`build` turns the TOML as
read into the project's objects through their own constructors and ``from_dict`` (each
section guarded, so that one bad section does not hide the errors of the next) and
:func:`build_problem` makes the problem of an as-of date.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
import re
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from optihedge.calendar import TRADING_DAYS, Frequency
from optihedge.cli.policy_data import OPTION_KINDS, book_values, read_data, value_book
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
    date_value,
    int_value,
    number,
    plain,
    show,
    string_value,
)

__all__ = ["build", "from_spec", "to_spec"]

_NONNEGATIVE = ("max", "max_participation")


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
    """Flatten nested tables to dotted keys: ``{"a": {"max": 1}}`` -> ``{"a.max": 1}``."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, Mapping):
            out |= _flatten(v, key)
        else:
            out[key] = v
    return out


# --------------------------------------------------------------------------- spec parts


def _kinds(family: str) -> list[str]:
    from optihedge.optimize.spec import KINDS

    return sorted(k for k, v in KINDS.items() if v.family == family)


def _part(issues: Issues, d: Any, key: str, family: str, kind: str | None = None) -> Any:
    """Build one registered object (instrument, constraint, objective) from its table."""
    from optihedge.optimize.spec import KINDS, from_dict

    if not isinstance(d, Mapping):
        issues.add(key, f"must be a table, got {show(d)}")
        return None
    name = kind if kind is not None else d.get("kind")
    known = _kinds(family)
    if name is None:
        issues.add(f"{key}.kind", f"missing: the {family}'s kind, one of {known}")
        return None
    if not isinstance(name, str) or name not in known:
        near = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
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

    return issues.guard(key, make, list(fields))


def _instruments(issues: Issues, raw: Any) -> list[Any] | None:
    if raw is None:
        issues.add("instruments", "missing: at least one [[instruments]] table (kind, label...)")
        return None
    if not isinstance(raw, list) or not raw:
        issues.add("instruments", f"must be an array of tables [[instruments]], got {show(raw)}")
        return None
    out = [_part(issues, d, f"instruments[{i}]", "instrument") for i, d in enumerate(raw)]
    seen: dict[str, int] = {}
    for i, inst in enumerate(out):
        label = getattr(inst, "label", None)
        if isinstance(label, str) and label in seen:
            issues.add(
                f"instruments[{i}].label",
                f"{label!r} is the label of instruments[{seen[label]}] already; give each "
                "instrument its own label",
            )
            out[i] = None
        elif isinstance(label, str):
            seen[label] = i
    return None if any(x is None for x in out) else out


def _constraints(issues: Issues, raw: Any) -> tuple[list[Any] | None, list[str]]:
    if raw is None:
        return [], []
    if not isinstance(raw, Mapping):
        issues.add("constraints", f"must be a table of constraint kinds, got {show(raw)}")
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
            built: list[Any] = []
            for i, b in enumerate(bands):
                if isinstance(b, Mapping) and isinstance(b.get("params"), Mapping):
                    b = {**b, "params": _flatten(b["params"])}
                key = f"policy.regimes.bands[{i}]"
                built.append(issues.guard(key, partial(Band.from_dict, b), _fields(b)))
            if all(x is not None for x in built):
                sig: Any = r.get("signal")
                out["regimes"] = issues.guard(
                    "policy.regimes", lambda: Regimes(sig, tuple(built)), ("signal",)
                )
            ok = ok and out.get("regimes") is not None
    if "triggers" in t:
        trig = t["triggers"]
        if not isinstance(trig, list):
            issues.add("policy.triggers", "must be an array of [[policy.triggers]] tables")
            ok = False
        else:
            built = [
                issues.guard(f"policy.triggers[{i}]", partial(part_from_dict, x), _fields(x))
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
    if "missing_data" in t:  # the policy checks the value (and the error names the key)
        out["missing_data"] = t["missing_data"]
    for key in ("params", "lots"):
        if key in t:
            v = t[key]
            if not isinstance(v, Mapping):
                issues.add(f"policy.{key}", f"must be a table, got {show(v)}")
                ok = False
            else:
                out[key] = _flatten(v)
    return out if ok else None


def _check_params(issues: Issues, spec: Any, parts: dict[str, Any]) -> None:
    """Record the registry keys of ``policy.params`` and the bands' params the spec lacks.

    The keys are the spec's terms' parameters (``gross_exposure.max``, ``variance.weight``,
    ``bounds.lower[label]``...); ``bounds.*`` keys are not checked when the spec has option
    packages (the backtest bounds each package itself), nor ``premium_budget.max``, which a
    budget sets.
    """
    known: set[str] = {"premium_budget.max"}
    for term in (*spec.constraints, spec.objective):
        try:
            known |= {p.key for p in term.parameters()}
        except (AttributeError, TypeError, ValueError):  # a term without a registry entry
            return
    packages = any(getattr(i, "kind", "") in OPTION_KINDS for i in spec.instruments)
    places: list[tuple[str, Mapping[str, Any]]] = [("policy.params", parts.get("params", {}))]
    regimes = parts.get("regimes")
    if regimes is not None:
        places += [
            (f"policy.regimes.bands[{i}].params", b.params) for i, b in enumerate(regimes.bands)
        ]
    for where, params in places:
        for key in params:
            if key in known or (packages and key.startswith("bounds.")):
                continue
            near = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            issues.add(
                where,
                f"{key!r} is not a parameter of the problem{hint} (its parameters: "
                f"{', '.join(sorted(known))})",
            )


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
    out["missing_data"] = policy.missing_data
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


def build(raw: dict[str, Any], issues: Issues, path: Path | None, as_of: Any) -> Any:
    """Build the :class:`PolicyFile` of ``raw``; every error recorded in ``issues``."""
    from optihedge.backtests import CostModel, Estimation, HedgePolicy, ScenarioRecipe
    from optihedge.optimize.spec import ProblemSpec, to_dict

    base = path.parent if path is not None else Path.cwd()
    for k in raw:
        if k not in TOP_KEYS:
            issues.unknown(k, k, TOP_KEYS)
    res: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    name = raw.get("name", path.stem if path is not None else "policy")
    name = string_value(issues, name, "name") or "policy"
    res["name"] = name
    date = None
    if as_of is not None:
        date = date_value(issues, as_of, "as_of")
    elif "as_of" in raw:
        date = date_value(issues, raw["as_of"], "as_of")
    if date is not None:
        res["as_of"] = date
    horizon = None
    if "horizon" in raw:
        horizon = int_value(issues, raw["horizon"], "horizon")
        res["horizon"] = horizon
    market = None
    if "market" in raw:
        market = string_value(issues, raw["market"], "market")
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
        "volatility_halflife": float(Frequency.MONTHLY.trading_days_per_period),
        "volatility_window": TRADING_DAYS,
    }
    for k in ("rate", "volatility_halflife"):
        if k in ms_t:
            ms[k] = number(issues, ms_t, k, "market_state", lower=None if k == "rate" else 0.0)
    if "volatility_window" in ms_t:
        ms["volatility_window"] = int_value(
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
        values, quantities = book_values(issues, book_t, base, book_res)
    tickers = list(values) if values is not None else []
    if quantities is not None:
        tickers = list(quantities["ticker"])
    unders = [_underlying(i) for i in instruments or ()]
    needed = list(dict.fromkeys([*tickers, *(u for u in unders if u is not None)]))
    if market is not None and market not in needed:
        needed.append(market)
    if estimation is not None and estimation.kind == "factor":
        needed += [f for f in estimation.factors if f not in needed]
    data_t = issues.table(raw.get("data", {}), "data", DATA_KEYS)
    # a hedge instrument's price may have gaps when the policy trades it only when it has
    # data (not the book's, the market's or a factor's: the backtest refuses those)
    pol = raw.get("policy")
    kept = {
        *tickers,
        market,
        *(estimation.factors if estimation is not None and estimation.kind == "factor" else ()),
    }
    could = frozenset(u for u in unders if u is not None and u not in kept)
    allowed = isinstance(pol, Mapping) and pol.get("missing_data") == "trade_when_available"
    may = could if allowed else frozenset()
    prices, data_res = read_data(issues, data_t, base, needed, may, could) if needed else (None, {})
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
        for i, inst in enumerate(instruments or ()):
            holding = getattr(inst, "holding", None)
            if isinstance(holding, str) and holding not in tickers:
                issues.add(
                    f"instruments[{i}].holding",
                    f"{holding!r} is not a holding of the book (it holds {tickers[:12]})",
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
        book, frequency = value_book(
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
        if parts is not None and spec is not None:
            _check_params(issues, spec, parts)
        if parts is not None and spec is not None and estimation is not None:
            aliases = {
                "lots": "lots",
                "premium_budget": "budget",
                "params": "params",
                "missing_data": "missing_data",
            }
            policy = issues.guard(
                "policy",
                lambda: HedgePolicy(
                    name=name, spec=spec, estimation=estimation, scenarios=scenarios, **parts
                ),
                aliases=aliases,
            )
            if policy is not None:
                res["policy"] = _resolved_policy(policy)
    bt_t = issues.table(raw.get("backtest", {}), "backtest", BACKTEST_KEYS)
    bt: dict[str, Any] = {"start": None, "end": None, "capital": None, "rate": ms["rate"]}
    for k in ("start", "end"):
        if k in bt_t:
            bt[k] = date_value(issues, bt_t[k], f"backtest.{k}")
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
        res["backtest"]["costs"] = {k: v for k, v in bt["costs"].to_dict().items() if v is not None}
    if issues.items or spec is None or book is None or prices is None or estimation is None:
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
    resolved = plain({k: res[k] for k in order})
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

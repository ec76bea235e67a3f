"""Backtests kept in the run store, and grids of policies run in parallel.

**Durable.** ``backtest(..., store=path)`` names the run by the content of what it runs
(:func:`backtest_id`: the policy's ``to_dict``, the data, the arguments) and registers it
in the shared DuckDB store (:class:`optihedge.runs.Store`, kind ``"backtest"``). After
every decision date, the rows recorded since the last commit (daily rows, decisions,
trades, positions; one JSON record each) and the engine's state (pickled: everything but
the inputs it is built from and the compiled problem) are written in one transaction.
Run again with the same store and arguments, a killed backtest resumes after the last
committed decision date (the problem is compiled again from the spec at the next
decision and re-solved on the same inputs, so the tables are the same as an
uninterrupted run's); a finished one is read back, not run.

**Parallel.** :func:`backtest_grid` runs many policies (:func:`policy_grid` builds them:
schedule x hedge ratio x premium budget, for instance) on the same data through the
shared run engine (:func:`optihedge.runs.run`: in this process, joblib processes or a
Dask cluster), one backtest per policy, and returns one row per policy with its
parameters and summary numbers (:class:`GridResult`). Each finished backtest is
committed to the store as a finished backtest run: a grid run again computes only the
policies it lacks, and a single ``backtest(policy, ..., store=path)`` of a grid's policy
reads its result back.

**Estimates.** The engine caches risk-model estimates by data fingerprint, estimator and
date in its process; a worker keeps its process across the chunks of a run, so the
policies of a grid that share an estimation on the same data estimate once per date and
worker. ``result.meta["estimates"]`` counts the estimates a backtest made itself.
"""

from __future__ import annotations

import base64
import dataclasses
import inspect
import itertools
import json
import math
import os
import pickle
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optihedge.backtests.costs import COST_KINDS
from optihedge.backtests.hedge_policy import HedgePolicy, read_only
from optihedge.backtests.policy import PremiumBudget as PolicyBudget
from optihedge.backtests.policy import Schedule
from optihedge.backtests.result import BacktestResult
from optihedge.errors import SpecificationError
from optihedge.optimize.spec import decode, encode
from optihedge.runs.fingerprint import run_id
from optihedge.runs.store import BACKTEST_TABLES, Store

__all__ = [
    "STATE_VERSION",
    "TABLES",
    "GridResult",
    "backtest_grid",
    "backtest_id",
    "policy_grid",
    "run_stored",
]

#: The layout of the engine's pickled state; part of every backtest's id, so a store
#: written with another layout is never resumed from.
STATE_VERSION = 1
#: The result's tables (the store also keeps the compiled problem's solve log, "solves").
TABLES = BACKTEST_TABLES[:4]
#: The engine's list attribute that holds each stored table's rows.
_ATTRIBUTE = {
    "daily": "rows",
    "decisions": "decisions",
    "trades": "trades",
    "positions": "positions",
}


def backtest_id(policy: HedgePolicy, data: pd.DataFrame, arguments: Mapping[str, Any]) -> str:
    """Return the id of a backtest: a hash of the policy, the data and the arguments.

    Parameters
    ----------
    policy : HedgePolicy
        Digested by its ``to_dict`` (and its given risk model, which ``to_dict`` leaves out).
    data : DataFrame
    arguments : mapping
        ``backtest``'s keyword arguments (``start``, ``end``, ``book``, ``costs``, ...;
        not ``progress`` nor ``store``); ``start`` and ``end`` are read as dates.
    """
    args = dict(sorted(arguments.items()))
    for key in ("start", "end"):
        if args.get(key) is not None:
            args[key] = pd.Timestamp(args[key])
    return run_id(
        "backtest",
        STATE_VERSION,
        policy.to_dict(),
        policy.estimation.risk_model,
        data,
        args,
    )


def _encode(row: Mapping[str, Any]) -> str:
    return json.dumps(encode(dict(row)), allow_nan=False)


def _decode(text: str) -> dict[str, Any]:
    out = decode(json.loads(text), "a stored backtest row")
    assert isinstance(out, dict)
    return out


class _Sink:
    """An in-memory stand-in for the store: keeps a backtest's rows and last state.

    A grid's worker runs each backtest into one and hands its contents back; the parent
    commits them to the store file (which one process writes).
    """

    def __init__(self) -> None:
        self.rows: dict[str, list[str]] = {t: [] for t in BACKTEST_TABLES}
        self.day = -1
        self.finished = False
        self.state = b""

    def register(self, kind: str, run_id: str, n_points: int, keys: Sequence[str]) -> None:
        pass

    def load_backtest(self, run_id: str) -> None:
        return None

    def commit_backtest(
        self,
        run_id: str,
        rows: Mapping[str, Sequence[str]],
        start: dict[str, int],
        day: int,
        finished: bool,
        state: bytes,
    ) -> None:
        for table, records in rows.items():
            self.rows[table].extend(records)
        self.day, self.finished, self.state = day, finished, state

    def close(self) -> None:
        pass


class _Recorded:
    """The engine's compiled problem in a durable run, with the log of its solves.

    A compiled problem's answers depend a little on the solves before (its first solve
    takes the parameters as constants, the second compiles the parameterised program,
    later ones go through kept solvers warm-started from the last working set; with a
    positive semidefinite objective the answer moves within the solver's tolerance,
    about 1e-10, with the start). So the problem built again after a restore first
    replays every solve of the run, from its log, on the same inputs, and its next
    solve starts where the uninterrupted run's did: the same answers to the bit.

    The log keeps, per solve, the decision's day, the registry values, the book and the
    inputs but the risk model and the scenarios, which are made again from the data
    (the estimate of that day, the scenarios of that day's window and seed).
    """

    def __init__(self, engine: Any, log: Sequence[tuple[Any, ...]] = ()) -> None:
        self.engine = engine
        self.problem: Any = None
        self.log: list[tuple[Any, ...]] = list(log)

    def _inputs(self, i: int, kept: Mapping[str, Any]) -> dict[str, Any]:
        """Return the inputs of the solve on day ``i``: ``kept``, risk model, scenarios."""
        engine = self.engine
        risk_model = engine._estimate(i)
        scenarios = None
        recipe = engine.policy.scenarios
        if recipe is not None:  # as _Engine.decide builds them
            k = engine.first + i
            window = engine.returns.iloc[max(1, k - recipe.window) : k]
            scenarios = recipe.build(read_only(window), risk_model, engine.days[i])
        return {"risk_model": risk_model, "scenarios": scenarios, **kept}

    def solve_point(self, params: Mapping[str, float], *, portfolio: Any, **inputs: Any) -> Any:
        from optihedge.errors import InfeasibleError, SolverFailedError

        if self.problem is None and self.log:
            i, old_params, old_portfolio, kept = self.log[0]
            self.problem = self.engine._problem(old_portfolio, self._inputs(i, kept))
            for i, old_params, old_portfolio, kept in self.log:
                try:
                    self.problem.solve_point(
                        old_params, portfolio=old_portfolio, **self._inputs(i, kept)
                    )
                except (InfeasibleError, SolverFailedError):
                    pass
        elif self.problem is None:
            self.problem = self.engine._problem(portfolio, inputs)
        i = int(self.engine.today)
        kept = {k: v for k, v in inputs.items() if k not in ("risk_model", "scenarios")}
        self.log.append((i, dict(params), portfolio, kept))
        return self.problem.solve_point(params, portfolio=portfolio, **inputs)

    def __getattr__(self, name: str) -> Any:
        if name == "problem":
            raise AttributeError(name)
        return getattr(self.problem, name)


def run_stored(
    engine: Any,
    store: str | Path | _Sink,
    *,
    policy: HedgePolicy,
    data: pd.DataFrame,
    arguments: Mapping[str, Any],
    schedule: pd.DatetimeIndex,
    progress: Any = None,
) -> str:
    """Run ``engine`` (or read it back) through ``store``; return the backtest's id.

    The hook :func:`~optihedge.backtests.backtest` calls with a store: it registers the
    run, restores the last committed state, rows and solve log (none for a new run),
    runs the days after it, committing after each decision date and at the end, and
    leaves the engine holding every row of the run.
    """
    rid = backtest_id(policy, data, arguments)
    db = store if isinstance(store, _Sink) else Store(store)
    try:
        db.register("backtest", rid, len(engine.days), list(TABLES))
        found = db.load_backtest(rid)
        first = 0
        log: list[tuple[Any, ...]] = []
        if found is not None:
            tables, day, finished, state = found
            engine.restore(state)
            for table, records in tables.items():
                if table == "solves":
                    log = [pickle.loads(base64.b64decode(r)) for r in records]
                else:
                    setattr(engine, _ATTRIBUTE[table], [_decode(r) for r in records])
            if finished:
                return rid
            first = day + 1
        recorded = _Recorded(engine, log)
        engine.problem = recorded
        committed = {t: len(getattr(engine, _ATTRIBUTE[t])) for t in TABLES}
        committed["solves"] = len(log)

        def commit(i: int, finished: bool = False) -> None:
            t0 = time.perf_counter()
            rows = {
                t: [_encode(r) for r in getattr(engine, _ATTRIBUTE[t])[committed[t] :]]
                for t in TABLES
            }
            rows["solves"] = [
                base64.b64encode(pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)).decode()
                for entry in recorded.log[committed["solves"] :]
            ]
            db.commit_backtest(rid, rows, dict(committed), i, finished, engine.state())
            for t, records in rows.items():
                committed[t] += len(records)
            spent = time.perf_counter() - t0
            engine.timings["store"] = engine.timings.get("store", 0.0) + spent

        engine.run(schedule, progress, first=first, commit=commit)
        commit(len(engine.days) - 1, finished=True)
    finally:
        db.close()
    return rid


# --------------------------------------------------------------------------- grids


def _label(value: Any) -> str:
    if isinstance(value, Schedule):
        return value.describe()
    if isinstance(value, PolicyBudget):
        return f"{value.annual:g}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def policy_grid(base: HedgePolicy, axes: Mapping[str, Any]) -> list[HedgePolicy]:
    """Return ``base`` varied over every combination of ``axes`` (a Cartesian product).

    Parameters
    ----------
    base : HedgePolicy
    axes : mapping of field to values
        Keys are fields of :class:`HedgePolicy` (``"hedge_ratio"``, ``"schedule"``,
        ``"premium_budget"``, ``"estimation"``, ...), each with a list of values; a
        schedule may be given by its rule (``"month_end"``) and a premium budget by its
        annual fraction (``0.02``). The key ``"params"`` takes a mapping of registry
        key to values (``{"gross_exposure.max": [0.5, 1.0]}``), each merged over
        ``base.params``.

    Returns
    -------
    list of HedgePolicy
        The last key varies fastest; each is named ``"<base>[key=value, ...]"``.

    Raises
    ------
    SpecificationError
        An unknown field (listing the fields), an axis with no values, or values a
        policy refuses.
    """
    if not isinstance(base, HedgePolicy):
        raise SpecificationError(
            f"The 'base' argument of policy_grid must be a HedgePolicy. Got {type(base).__name__}."
        )
    if not isinstance(axes, Mapping) or not axes:
        raise SpecificationError(
            "The 'axes' argument of policy_grid must be a non-empty mapping of policy field "
            f"to a list of values (e.g. {{'hedge_ratio': [0.5, 1.0]}}). Got {axes!r}."
        )
    fields = [f.name for f in dataclasses.fields(HedgePolicy) if f.name != "name"]
    keys: list[tuple[str, str]] = []  # (field or "params", key)
    values: list[list[Any]] = []
    for key, given in axes.items():
        if key == "params":
            if not isinstance(given, Mapping) or not given:
                raise SpecificationError(
                    "The 'params' axis of policy_grid must be a non-empty mapping of registry "
                    f"key to a list of values. Got {given!r}."
                )
            for name, options in given.items():
                keys.append(("params", str(name)))
                values.append(_axis(f"params[{name!r}]", options))
        elif key in fields:
            keys.append((key, key))
            values.append(_axis(key, given))
        else:
            raise SpecificationError(
                f"policy_grid has no axis {key!r}: the axes are the policy's fields {fields} "
                "and 'params'."
            )
    out = []
    for combination in itertools.product(*values):
        changes: dict[str, Any] = {}
        params = dict(base.params)
        for (part, key), value in zip(keys, combination, strict=True):
            if part == "params":
                params[key] = value
            elif part == "schedule" and isinstance(value, str):
                changes[part] = Schedule(value)
            elif part == "premium_budget" and isinstance(value, int | float):
                changes[part] = PolicyBudget(float(value))
            else:
                changes[part] = value
        label = ", ".join(
            f"{key}={_label(value)}" for (_, key), value in zip(keys, combination, strict=True)
        )
        out.append(
            dataclasses.replace(base, name=f"{base.name}[{label}]", params=params, **changes)
        )
    return out


def _axis(name: str, values: Any) -> list[Any]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
        raise SpecificationError(
            f"The policy_grid axis {name} must be a non-empty list of values. Got {values!r}."
        )
    return list(values)


@dataclass(frozen=True)
class GridResult:
    """What a grid of backtests found: one row per policy, and each backtest.

    Attributes
    ----------
    table : DataFrame indexed by policy name
        The parameters (``hedge_ratio``, ``schedule``, ``premium_budget``: the annual
        fraction or NaN, and one column per registry key a policy's ``params`` sets),
        then the summary: ``hedged_value`` and ``unhedged_value`` at the end,
        ``max_drawdown_hedged`` and ``max_drawdown_unhedged`` (the largest fall from a
        running peak of the daily values, a fraction), ``decisions``, ``trades`` (trades
        made, expiries aside) and ``costs`` (every cost paid, base currency).
    results : dict of policy name to BacktestResult
    computed : int
        Backtests this call ran (the others were read from the store).
    run_ids : tuple of str
        Each policy's backtest id (its key in a store).
    """

    table: pd.DataFrame
    results: dict[str, BacktestResult] = field(repr=False)
    computed: int
    run_ids: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.table)


def _max_drawdown(values: pd.Series) -> float:
    v = values.to_numpy(dtype=np.float64)
    return float(np.max(1.0 - v / np.maximum.accumulate(v))) if len(v) else math.nan


def _summary(policy: HedgePolicy, result: BacktestResult) -> dict[str, Any]:
    row: dict[str, Any] = {
        "hedge_ratio": policy.hedge_ratio,
        "schedule": policy.schedule.describe(),
        "premium_budget": (
            math.nan if policy.premium_budget is None else float(policy.premium_budget.annual)
        ),
    }
    row |= dict(policy.params)
    daily, trades = result.daily, result.trades
    made = 0 if trades.empty else int((trades["why"] != "expiry").sum())
    row |= {
        "hedged_value": float(daily["hedged_value"].iloc[-1]),
        "unhedged_value": float(daily["unhedged_value"].iloc[-1]),
        "max_drawdown_hedged": _max_drawdown(daily["hedged_value"]),
        "max_drawdown_unhedged": _max_drawdown(daily["unhedged_value"]),
        "decisions": len(result.decisions),
        "trades": made,
        "costs": float(daily[[f"cost_{k}" for k in COST_KINDS]].to_numpy().sum()),
    }
    return row


def _solve_chunk(
    compiled: tuple[pd.DataFrame, dict[str, Any]],
    shared: Any,
    chunk: Sequence[tuple[int, HedgePolicy]],
    state: dict[str, Any],
) -> list[tuple[int, BacktestResult, _Sink]]:
    """Run the chunk's backtests in this worker (its estimates cache serves them all)."""
    from optihedge.backtests.engine import backtest

    data, common = compiled
    out = []
    for k, policy in chunk:
        sink = _Sink()
        result = backtest(policy, data, store=sink, **common)
        out.append((k, result, sink))
    return out


def _arguments(common: Mapping[str, Any]) -> dict[str, Any]:
    """``backtest``'s keyword arguments with ``common`` over their defaults (for the ids)."""
    from optihedge.backtests.engine import backtest

    defaults = {
        name: p.default
        for name, p in inspect.signature(backtest).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in ("progress", "store")
    }
    unknown = sorted(set(common) - set(defaults))
    if unknown:
        raise SpecificationError(
            f"backtest_grid passes {unknown} to backtest, which takes {sorted(defaults)}."
        )
    return defaults | dict(common)


def backtest_grid(
    policies: Sequence[HedgePolicy],
    data: pd.DataFrame,
    *,
    n_jobs: int = 1,
    scheduler: Any = None,
    store: str | Path | None = None,
    progress: Any = None,
    chunk_size: int | None = None,
    **common: Any,
) -> GridResult:
    """Backtest every policy on ``data``, in parallel, one row per policy.

    Parameters
    ----------
    policies : sequence of HedgePolicy
        With distinct names (:func:`policy_grid` builds them).
    data : DataFrame
        As :func:`~optihedge.backtests.backtest`.
    n_jobs : int, default 1
        joblib worker processes (-1: one per core); 1 runs in this process.
    scheduler : str, distributed.Client or Dask cluster, optional
        Run the backtests on a Dask cluster.
    store : path, optional
        A local DuckDB file: each finished backtest is committed as a finished backtest
        run (by its :func:`backtest_id`); a grid run again runs only the policies the
        store lacks, and ``backtest(policy, data, store=path, ...)`` of a grid's policy
        reads its result back.
    progress : bool or callable, optional
        As :func:`optihedge.sweep` (a bar, or ``callable(done, total)`` per backtest).
    chunk_size : int, optional
        Policies per chunk (a unit of work): about four chunks per worker by default.
    **common
        ``backtest``'s other keyword arguments, the same for every policy (``start``,
        ``end``, ``book``, ``costs``, ...).

    Returns
    -------
    GridResult

    Raises
    ------
    SpecificationError
        Before any work: no policies, a policy that is no HedgePolicy, two policies of one
        name, an argument ``backtest`` does not take, a bad ``n_jobs``, ``chunk_size``,
        ``store`` or ``scheduler``.
    """
    from optihedge._validation import check_int
    from optihedge.runs.runner import Progress, check_scheduler, connect, run
    from optihedge.runs.runner import Task as RunTask

    policies = list(policies) if isinstance(policies, Sequence) else []
    if not policies:
        raise SpecificationError(
            "The 'policies' argument of backtest_grid must be a non-empty list of "
            "HedgePolicy (policy_grid(base, axes) builds one)."
        )
    for p in policies:
        if not isinstance(p, HedgePolicy):
            raise SpecificationError(
                f"The 'policies' argument of backtest_grid holds a {type(p).__name__}; it "
                "takes HedgePolicy values only."
            )
    names = [p.name for p in policies]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SpecificationError(
            f"The 'policies' argument of backtest_grid names {twice} more than once; give "
            "each policy its own name (the grid's table is indexed by name)."
        )
    arguments = _arguments(common)
    every = isinstance(n_jobs, int) and not isinstance(n_jobs, bool) and n_jobs == -1
    workers = (
        (os.cpu_count() or 1) if every else check_int(n_jobs, "n_jobs", what=" (or -1: one a core)")
    )
    if chunk_size is not None:
        size = check_int(chunk_size, "chunk_size")
    else:
        size = max(1, math.ceil(len(policies) / (4 * max(workers, 1))))
    if scheduler is not None:
        check_scheduler(scheduler)
    ids = tuple(backtest_id(p, data, arguments) for p in policies)
    results: dict[int, BacktestResult] = {}
    db = Store(store) if store is not None else None
    stored: set[int] = set()
    computed = 0
    client, own = None, False
    try:
        if db is not None:
            finished = db.finished_backtests()
            stored = {k for k, rid in enumerate(ids) if rid in finished}
        client, own = connect(scheduler) if scheduler is not None else (None, False)
        todo = [(k, policies[k]) for k in range(len(policies)) if k not in stored]
        chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
        task: RunTask[tuple[int, HedgePolicy], list[tuple[int, BacktestResult, _Sink]]] = RunTask(
            run_id("backtest grid", ids),
            pickle.dumps((data, common), protocol=pickle.HIGHEST_PROTOCOL),
            _solve_chunk,
        )
        bar = Progress(len(todo), progress, "backtests")
        try:
            for rows in run(task, chunks, n_jobs=workers, client=client):
                for k, result, sink in rows:
                    if db is not None:
                        db.register("backtest", ids[k], len(result.daily), list(TABLES))
                        start = dict.fromkeys(BACKTEST_TABLES, 0)
                        db.commit_backtest(
                            ids[k], sink.rows, start, sink.day, True, sink.state, replace=True
                        )
                    results[k] = result
                    computed += 1
                bar.update(len(rows))
        finally:
            bar.close()
    finally:
        if own and client is not None:
            client.close()
        if db is not None:
            db.close()
    if stored:
        from optihedge.backtests.engine import backtest

        for k in sorted(stored):
            results[k] = backtest(policies[k], data, store=store, **common)
    table = pd.DataFrame.from_records(
        [_summary(policies[k], results[k]) for k in range(len(policies))],
        index=pd.Index(names, name="policy"),
    )
    return GridResult(table, {names[k]: results[k] for k in range(len(policies))}, computed, ids)

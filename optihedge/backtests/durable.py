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
import json
import pickle
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from optihedge.backtests.hedge_policy import HedgePolicy, read_only
from optihedge.optimize.spec import decode, encode
from optihedge.runs.fingerprint import run_id
from optihedge.runs.store import BACKTEST_TABLES, Store

__all__ = ["STATE_VERSION", "TABLES", "backtest_id", "run_stored"]

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
        i = int(self.engine.days.get_loc(inputs["market_state"].asof))
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

"""``optihedge.sweep``: many points of one problem, in parallel, kept in a DuckDB file."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optihedge._files import write_atomically
from optihedge._validation import check_int, format_labels
from optihedge.analysis.report import check_writable
from optihedge.errors import MissingLabelsError, SpecificationError
from optihedge.optimize.problem import HedgeProblem, sweep_recipe
from optihedge.runs.runner import Progress, check_scheduler, connect, run
from optihedge.runs.runner import Task as RunTask
from optihedge.runs.store import Store
from optihedge.sweeps._grid import Grid, make_grid
from optihedge.sweeps._run import Task, solve_chunk

__all__ = ["SweepResult", "sweep"]

_FIRST = ["status", "objective", "volatility", "beta", "scenario_var", "scenario_es"]
_COSTS = [
    "premium",
    "annual_carry",
    "turnover",
    "binding",
    "message",
    "rebuilds",
    "solver",
    "solver_time",
]
_WEIGHTS = ["point", "instrument", "weight", "notional", "units"]


@dataclass(frozen=True)
class SweepResult:
    """What a sweep found, one row per point.

    Attributes
    ----------
    points : DataFrame indexed by point
        The grid's keys (parameter values; inputs by label), ``status``, ``objective``,
        risk after the hedge (``volatility`` and ``beta`` over the horizon from the risk
        model; ``scenario_var`` and ``scenario_es`` with scenarios), costs
        (``premium`` and ``annual_carry`` in the book's currency, ``turnover`` in
        fractions of capital), ``binding`` (the limits that bind), ``message`` (why a
        point failed: an infeasible one names the conflicting limits; for a solved
        point, what makes it less than exact: an uncertified expected shortfall, an
        inaccurate solver answer; else empty), ``rebuilds``,
        ``solver`` (the solver that answered: ``DAQP``, the dense active set, for a
        small problem under linear limits; ``CLARABEL`` otherwise, or when the active
        set's answer failed its optimality check), ``solver_time`` (seconds), one
        ``shadow_price[<limit>]`` column per limit and, for expected shortfall,
        ``shortfall_method`` and (cutting planes, band) ``certified``.
    weights : DataFrame
        Long table: ``point``, ``instrument``, ``weight`` (fraction of capital),
        ``notional`` (currency), ``units`` (contracts or shares).
    computed : int
        Points this call solved (the others came from the store).
    sweep_id : str
        Hash of the problem (structure, inputs, parameter values) and the grid: the key
        of the sweep in a store.
    keys : tuple of str
        The grid's keys.
    """

    points: pd.DataFrame
    weights: pd.DataFrame
    computed: int
    sweep_id: str
    keys: tuple[str, ...]
    elapsed: float = field(default=0.0, compare=False)

    def __len__(self) -> int:
        return len(self.points)

    def to_csv(self, path: str | Path) -> tuple[Path, Path]:
        """Write ``points`` to ``path`` and ``weights`` beside it (``<stem>_weights.csv``).

        A path without an extension gets ``.csv`` (both files). Both files are written
        beside their targets and renamed over them: a failure leaves the old files.
        """
        target, weights = _export_paths(path, ".csv")
        write_atomically(
            {
                target: self.points.to_csv,
                weights: lambda temporary: self.weights.to_csv(temporary, index=False),
            }
        )
        return target, weights

    def to_parquet(self, path: str | Path) -> tuple[Path, Path]:
        """Write ``points`` to ``path`` and ``weights`` beside it, as Parquet (via DuckDB).

        A path without an extension gets ``.parquet`` (both files); both are replaced
        whole, as :meth:`to_csv`.
        """
        import duckdb

        target, weights = _export_paths(path, ".parquet")
        con = duckdb.connect()
        try:
            con.register("points", self.points.reset_index())
            con.register("weights", self.weights)

            def copy(table: str) -> Callable[[Path], None]:
                def write(out: Path) -> None:
                    escaped = str(out).replace("'", "''")
                    con.execute(f"COPY (SELECT * FROM {table}) TO '{escaped}' (FORMAT PARQUET)")

                return write

            write_atomically({target: copy("points"), weights: copy("weights")})
        finally:
            con.close()
        return target, weights

    def select(self, fixed: Mapping[str, Any] | None = None, /, **more: Any) -> SweepResult:
        """Return the points where each given key has the given value, with their weights.

        Use it to plot one slice of a multi-key sweep:
        ``allocation_plot(result.select({"gross_exposure.max": 0.5}), "premium_budget.max")``.

        Parameters
        ----------
        fixed : mapping of grid key to value, optional
            Keys hold dots, so a mapping is the natural form; ``**more`` takes the same
            keys (``select(**{"turnover.max": 0.2})``) and is merged over it. A number
            matches a grid value within 1e-9 relative (1e-12 absolute); an input key
            (``"scenarios"``) takes the label of the input.

        Returns
        -------
        SweepResult
            The same sweep id, keys and ``computed``; ``points`` and ``weights`` hold the
            selected points only (their point numbers kept).

        Raises
        ------
        MissingLabelsError
            For a key that is not one of the sweep's (listing them) or a value the sweep
            does not hold (listing the values it holds).
        """
        if fixed is not None and not isinstance(fixed, Mapping):
            raise SpecificationError(
                "The 'fixed' argument must be a mapping of grid key to value. "
                f"Got {type(fixed).__name__} instead."
            )
        wanted = {**(fixed or {}), **more}
        unknown = [k for k in wanted if k not in self.keys]
        if unknown:
            raise MissingLabelsError(
                f"Unknown sweep key(s) {format_labels(unknown)}; this sweep's keys are "
                f"{list(self.keys)}."
            )
        mask = np.ones(len(self.points), dtype=bool)
        for key, value in wanted.items():
            column = self.points[key]
            present = list(dict.fromkeys(column))
            numeric = pd.api.types.is_numeric_dtype(column)
            number = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
                value, bool
            )
            if numeric and number and math.isfinite(float(value)):
                hit = np.isclose(
                    column.to_numpy(dtype=np.float64), float(value), rtol=1e-9, atol=1e-12
                )
            elif numeric:
                hit = np.zeros(len(column), dtype=bool)
            else:
                hit = (column == value).to_numpy(dtype=bool)
            if not hit.any():
                raise MissingLabelsError(
                    f"The sweep holds no point with {key} = {value!r}; its values of {key} "
                    f"are {sorted(present) if numeric else present}."
                )
            mask &= hit
        points = self.points[mask]
        weights = self.weights[self.weights["point"].isin(points.index)].reset_index(drop=True)
        return replace(self, points=points, weights=weights)

    def _varying(self, *but: str) -> list[str]:
        """Return the grid keys, other than ``but``, that take more than one value."""
        return [k for k in self.keys if k not in but and self.points[k].nunique() > 1]

    def pivot(self, column: str = "weight") -> pd.DataFrame:
        """Weights (or ``notional``, ``units``) as a table: points x instruments."""
        table = self.weights.pivot(index="point", columns="instrument", values=column)
        order = list(dict.fromkeys(self.weights["instrument"]))
        return table[order]


def _export_paths(path: str | Path, suffix: str) -> tuple[Path, Path]:
    """Return the points file (``suffix`` added if it has none) and the weights file."""
    target = check_writable(path)
    if not target.suffix:
        target = target.with_name(target.name + suffix)
    return target, target.with_name(f"{target.stem}_weights{target.suffix}")


def _chunks(order: np.ndarray, size: int) -> list[np.ndarray]:
    return [order[i : i + size] for i in range(0, len(order), size)]


def _tasks(grid: Grid, points: np.ndarray) -> list[Task]:
    out: list[Task] = []
    for p in points:
        params, _ = grid.split(int(p))
        labels = {k: grid.points[int(p)][k] for k in grid.input_keys}
        out.append((int(p), params, labels))
    return out


def sweep(
    problem: HedgeProblem,
    grid: Any,
    *,
    n_jobs: int = 1,
    store: str | Path | None = None,
    resume: bool = True,
    progress: bool | Callable[[int, int], None] | None = None,
    scheduler: Any = None,
    chunk_size: int | None = None,
) -> SweepResult:
    """Solve ``problem`` at every point of ``grid``: parameters and inputs, in parallel.

    Parameters
    ----------
    problem : HedgeProblem
        Compiled once per worker; each point changes its parameters (and inputs) and
        re-solves, never rebuilds. The problem itself is left as it was.
    grid : mapping of key to values, or list of points
        Keys are registry keys (``problem.parameters``) or inputs (``"portfolio"``,
        ``"risk_model"``, ``"scenarios"``, ``"current"``, ``"expected_returns"``,
        ``"market_state"``); see ``optihedge.sweeps._grid``. A mapping sweeps the
        Cartesian product.
    n_jobs : int, default 1
        joblib worker processes (-1: one per core).
    store : path, optional
        A local DuckDB file: every finished chunk is committed in one transaction; a
        sweep killed at any moment and run again solves only the points not stored.
        ``":memory:"``, ``"md:..."`` and URLs are refused (nothing durable, or not a
        local file). A file that is not a DuckDB database, is damaged (truncated,
        corrupt) or was changed (views, macros, points without their weights) raises
        :class:`~optihedge.errors.DataError`; a file in use by another process, or a
        full disk, :class:`~optihedge.errors.StoreError` (the chunks committed before
        are kept).
    resume : bool, default True
        Read points of the same sweep (same problem, inputs and grid) from the store.
    progress : bool or callable, optional
        A progress bar (points, rate, time left) on a terminal: None shows it when
        standard error is a terminal, True always, False never; a callable is called
        with ``(done, total)`` after each committed chunk.
    scheduler : str, distributed.Client or Dask cluster, optional
        A Dask scheduler address (``"tcp://host:8786"``), client or cluster: chunks run
        on the cluster. An address that does not answer within
        ``optihedge.runs.runner.CONNECT_TIMEOUT`` (5 s) is a
        :class:`SpecificationError` naming it.
    chunk_size : int, optional
        Points per chunk (a unit of work and of the store's transactions). By default
        about four chunks per worker, at most 100 points.

    Returns
    -------
    SweepResult

    Raises
    ------
    SpecificationError
        Before any work: an empty grid, an unknown key (listing the valid ones), a value
        of the wrong type or out of range, a grid of more than ``MAX_POINTS`` points, a
        store path that cannot be written, a scheduler of the wrong type or one that
        does not answer.
    DataError
        A store file with another schema.
    """
    if not isinstance(problem, HedgeProblem):
        raise SpecificationError(
            f"The 'problem' argument must be a HedgeProblem. Got {type(problem).__name__}."
        )
    checked = make_grid(problem, grid)
    every = isinstance(n_jobs, int | np.integer) and not isinstance(n_jobs, bool) and n_jobs == -1
    workers = (
        (os.cpu_count() or 1) if every else check_int(n_jobs, "n_jobs", what=" (or -1: one a core)")
    )
    if chunk_size is not None:
        size = check_int(chunk_size, "chunk_size")
    else:
        size = max(1, min(100, math.ceil(len(checked.points) / (4 * max(workers, 1)))))
    sweep_id = checked.digest(problem)
    started = time.perf_counter()
    if scheduler is not None:
        check_scheduler(scheduler)
    db = Store(store) if store is not None else None
    client, own = None, False
    try:
        client, own = connect(scheduler) if scheduler is not None else (None, False)
        stored: set[int] = set()
        if db is not None:
            db.register("sweep", sweep_id, len(checked.points), checked.keys)
            if resume:
                stored = db.done("sweep", sweep_id)
        todo = np.array([p for p in checked.order if int(p) not in stored], dtype=np.int64)
        chunks = _chunks(todo, size)
        bar = Progress(len(todo), progress, "sweep")
        records: list[dict[str, Any]] = []
        weights: list[pd.DataFrame] = []
        computed = 0
        try:
            task: RunTask[Task, tuple[list[dict[str, Any]], pd.DataFrame]] = RunTask(
                sweep_id, sweep_recipe(problem), solve_chunk, checked.inputs
            )
            source = run(task, (_tasks(checked, c) for c in chunks), n_jobs=workers, client=client)
            for chunk_records, chunk_weights in source:
                if db is not None:
                    db.write("sweep", sweep_id, chunk_records, chunk_weights)
                records.extend(chunk_records)
                weights.append(chunk_weights)
                computed += len(chunk_records)
                bar.update(len(chunk_records))
        finally:
            bar.close()
        if db is not None and stored:
            labels = [str(i) for i in problem.data.instruments]
            old_records, old_weights = db.load("sweep", sweep_id, labels)
            records = [r for r in old_records if int(r["point"]) in stored] + records
            weights.insert(0, old_weights[old_weights["point"].isin(stored)])
    finally:
        if own and client is not None:
            client.close()
        if db is not None:
            db.close()
    return _result(problem, checked, records, weights, computed, sweep_id, started)


def _result(
    problem: HedgeProblem,
    grid: Grid,
    records: Sequence[dict[str, Any]],
    weights: Sequence[pd.DataFrame],
    computed: int,
    sweep_id: str,
    started: float,
) -> SweepResult:
    points = pd.DataFrame.from_records(list(records)).set_index("point").sort_index()
    points.index.name = "point"
    shadow = sorted(c for c in points.columns if c.startswith("shadow_price["))
    keys = list(grid.keys)
    first = [c for c in _FIRST if c in points.columns]
    costs = [c for c in _COSTS if c in points.columns]
    rest = [c for c in points.columns if c not in {*keys, *first, *costs, *shadow}]
    points = points[[*keys, *first, *costs, *shadow, *rest]]
    order = {str(label): i for i, label in enumerate(problem.data.instruments)}
    frames = [w for w in weights if len(w)]
    table = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({c: [] for c in _WEIGHTS})
    )
    table = table[_WEIGHTS].astype({"point": np.int64})
    table = table.sort_values(
        ["point", "instrument"], key=lambda s: s.map(order) if s.name == "instrument" else s
    ).reset_index(drop=True)
    return SweepResult(points, table, computed, sweep_id, grid.keys, time.perf_counter() - started)

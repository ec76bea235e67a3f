"""The run engine (``optihedge.runs``): runner, store, fingerprint, and killed parents.

- the runner solves a task's chunks the same on every backend (sequential, joblib, Dask),
  compiling the recipe once per worker and run and keeping the solve function's state;
- the store keeps runs by run id and kind; a store file in today's sweep layout
  (schema version 1, built here with that layout's SQL) is migrated in place on open and
  its rows survive (a sweep run again on it solves nothing); another version is refused
  with a StoreError naming the file, its version and the fix, the file left as it was;
- one fingerprint, in ``runs``: sweeps name their runs with it;
- the workers of a run end within 10 s of a SIGKILLed parent.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import numpy as np
import pandas as pd
import pytest
from cases import three_stocks

import optihedge as oh
from constraints import GrossExposure, Turnover
from optihedge import runs
from optihedge.errors import SpecificationError, StoreError
from optihedge.runs import Store, Task

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


# -- the runner ---------------------------------------------------------------------------


class Scaled:
    """A toy compiled problem: counts how often this process unpickled (compiled) one."""

    unpickled: ClassVar[int] = 0

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def __setstate__(self, state: dict[str, Any]) -> None:
        type(self).unpickled += 1
        self.__dict__.update(state)


Row = tuple[int, float, int, int, int]


def solve_scaled(
    compiled: Scaled, shared: dict[str, float], chunk: Sequence[int], state: dict[str, Any]
) -> list[Row]:
    """One row per point: scale * point + offset, with who solved it (pid, object, chunk)."""
    state["chunks"] = state.get("chunks", 0) + 1
    return [
        (p, compiled.scale * p + shared["offset"], os.getpid(), id(compiled), state["chunks"])
        for p in chunk
    ]


def _task(name: str, scale: float = 2.5) -> Task[int, list[Row]]:
    return Task(name, pickle.dumps(Scaled(scale)), solve_scaled, {"offset": 1.0})


CHUNKS = [list(range(i, i + 3)) for i in range(0, 24, 3)]
EXPECTED = {p: 2.5 * p + 1.0 for p in range(24)}  # by hand


def _check(rows: list[Row]) -> None:
    assert {p: v for p, v, *_ in rows} == EXPECTED
    assert len(rows) == 24
    by_pid: dict[int, set[int]] = {}
    for _, _, pid, obj, _ in rows:
        by_pid.setdefault(pid, set()).add(obj)
    # one compiled problem per worker: every chunk a worker solved used the same object
    assert all(len(objects) == 1 for objects in by_pid.values())


def test_sequential_compiles_once_and_keeps_state() -> None:
    task = _task("sequential")
    caller = pickle.loads(task.recipe)
    before = Scaled.unpickled
    rows = [row for chunk in runs.run(task, CHUNKS) for row in chunk]
    _check(rows)
    assert Scaled.unpickled == before + 1
    assert {pid for _, _, pid, _, _ in rows} == {os.getpid()}
    assert [c for *_, c in rows] == [1 + i // 3 for i in range(24)]  # the state carries on
    assert caller.scale == 2.5


def test_joblib_workers_compile_once_per_run() -> None:
    rows = [row for chunk in runs.run(_task("joblib"), CHUNKS, n_jobs=2) for row in chunk]
    _check(rows)
    assert os.getpid() not in {pid for _, _, pid, _, _ in rows}
    # a worker's state for the run counts its chunks: 1, 2, ... within each worker
    for pid in {pid for _, _, pid, _, _ in rows}:
        counts = sorted({c for _, _, q, _, c in rows if q == pid})
        assert counts == list(range(1, len(counts) + 1))


def test_dask_client_runs_the_same_task() -> None:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=2, processes=False, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        rows = [row for chunk in runs.run(_task("dask"), CHUNKS, client=client) for row in chunk]
    _check(rows)


def test_worker_cache_keeps_the_last_runs() -> None:
    before = Scaled.unpickled
    names = [f"cache-{i}" for i in range(runs.runner.KEEP + 1)]
    for name in names:  # each run compiled once, the first one dropped at the last
        runs.work(name, pickle.dumps(Scaled(1.0)), {"offset": 0.0}, solve_scaled, [1])
        runs.work(name, pickle.dumps(Scaled(1.0)), {"offset": 0.0}, solve_scaled, [2])
    assert Scaled.unpickled == before + len(names)
    runs.work(names[-1], pickle.dumps(Scaled(1.0)), {"offset": 0.0}, solve_scaled, [3])
    assert Scaled.unpickled == before + len(names)  # still kept
    runs.work(names[0], pickle.dumps(Scaled(1.0)), {"offset": 0.0}, solve_scaled, [3])
    assert Scaled.unpickled == before + len(names) + 1  # dropped, compiled again


def test_progress_callback_counts_points() -> None:
    seen: list[tuple[int, int]] = []
    bar = runs.Progress(5, lambda done, total: seen.append((done, total)), "backtest")
    bar.update(2)
    bar.update(3)
    bar.close()
    assert seen == [(2, 5), (5, 5)]


# -- the store ----------------------------------------------------------------------------

# today's (schema version 1) layout, as optihedge wrote it before the run engine
V1_DDL = [
    "CREATE TABLE IF NOT EXISTS optihedge_store (version INTEGER)",
    "CREATE TABLE IF NOT EXISTS sweeps (sweep_id VARCHAR PRIMARY KEY, created TIMESTAMP, "
    "n_points INTEGER, keys VARCHAR)",
    "CREATE TABLE IF NOT EXISTS sweep_points (sweep_id VARCHAR, point INTEGER, status VARCHAR, "
    "record VARCHAR, PRIMARY KEY (sweep_id, point))",
    "CREATE TABLE IF NOT EXISTS sweep_weights (sweep_id VARCHAR, point INTEGER, instrument "
    "VARCHAR, weight DOUBLE, notional DOUBLE, units DOUBLE, PRIMARY KEY (sweep_id, point, "
    "instrument))",
    "INSERT INTO optihedge_store VALUES (1)",
]


def _sql(path: Path, *statements: str) -> list[list[tuple[Any, ...]]]:
    con = duckdb.connect(str(path))
    try:
        return [con.execute(s).fetchall() for s in statements]
    finally:
        con.close()


def _tables(path: Path) -> list[str]:
    rows = _sql(path, "SELECT table_name FROM duckdb_tables() ORDER BY 1")[0]
    return [r[0] for r in rows]


def _version_1_store(path: Path) -> None:
    _sql(
        path,
        *V1_DDL,
        "INSERT INTO sweeps VALUES ('abc', TIMESTAMP '2026-01-02 03:04:05', 3, "
        """'["gross_exposure.max"]')""",
        "INSERT INTO sweep_points VALUES "
        """('abc', 0, 'optimal', '{"point": 0, "gross_exposure.max": 0.1, "status": """
        """"optimal", "objective": 1.5}'), """
        """('abc', 2, 'infeasible', '{"point": 2, "gross_exposure.max": 0.0, "status": """
        """"infeasible", "message": "no room"}')""",
        "INSERT INTO sweep_weights VALUES ('abc', 0, 'F', 0.25, 250000.0, 1.0), "
        "('abc', 0, 'E', -0.5, -500000.0, -12500.0)",
    )


def test_a_version_1_store_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    _version_1_store(path)
    assert "sweeps" in _tables(path)
    store = Store(path)
    try:
        table = store.runs()
        records, weights = store.load("sweep", "abc", ["F", "E"])
        assert store.done("sweep", "abc") == {0, 2}
    finally:
        store.close()
    assert table[["run_id", "kind", "n_points", "stored"]].to_dict("records") == [
        {"run_id": "abc", "kind": "sweep", "n_points": 3, "stored": 2}
    ]
    assert table["created"].tolist() == [pd.Timestamp("2026-01-02 03:04:05")]
    assert table["keys"].tolist() == [["gross_exposure.max"]]
    assert records == [
        {"point": 0, "gross_exposure.max": 0.1, "status": "optimal", "objective": 1.5},
        {"point": 2, "gross_exposure.max": 0.0, "status": "infeasible", "message": "no room"},
    ]
    assert weights.to_dict("records") == [
        {"point": 0, "instrument": "E", "weight": -0.5, "notional": -500000.0, "units": -12500.0},
        {"point": 0, "instrument": "F", "weight": 0.25, "notional": 250000.0, "units": 1.0},
    ]
    # migrated in place: today's version, a runs table, no sweeps table, backtest tables
    assert _sql(path, "SELECT version FROM optihedge_store")[0] == [(runs.SCHEMA_VERSION,)]
    assert _tables(path) == [
        "backtest_rows",
        "backtest_state",
        "optihedge_store",
        "runs",
        "sweep_points",
        "sweep_weights",
    ]


DAILY = three_stocks(300, seed=7, start="2020-01-01")
MODEL = oh.FactorModel(windows=(252,)).fit(DAILY, DAILY[["IDX"]]).risk_model_
BOOK = oh.Portfolio.from_holdings({"A": 5e5, "B": 3e5, "C": 2e5})
GRID = {"gross_exposure.max": [0.1, 0.3], "turnover.max": [0.2, 1.0]}


def problem() -> oh.HedgeProblem:
    """A small variance hedge (two instruments) under two limits."""
    return oh.HedgeProblem(
        BOOK,
        [
            oh.Future("F", underlying="IDX", price=100.0, multiplier=50.0, cost=0.0002),
            oh.ETF("E", underlying="IDX", price=40.0, expense_ratio=0.001, cost=0.0005),
        ],
        objective=oh.Variance() + oh.TradingCost(),
        constraints=[GrossExposure(0.5), Turnover(1.0)],
        risk_model=MODEL,
        horizon=10,
        market="IDX",
    )


def test_a_sweep_stored_in_the_version_1_layout_resumes_after_migration(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sweeps.duckdb"
    first = oh.sweep(problem(), GRID, store=path, progress=False)
    # the same store, rewritten in today's layout (version 1): sweeps(sweep_id, ...)
    _sql(
        path,
        "CREATE TABLE sweeps (sweep_id VARCHAR PRIMARY KEY, created TIMESTAMP, "
        "n_points INTEGER, keys VARCHAR)",
        "INSERT INTO sweeps SELECT run_id, created, n_points, keys FROM runs",
        "DROP TABLE runs",
        "DROP TABLE backtest_rows",
        "DROP TABLE backtest_state",
        "UPDATE optihedge_store SET version = 1",
    )
    again = oh.sweep(problem(), GRID, store=path, progress=False)
    assert again.computed == 0  # every row survived the migration and was read back
    assert again.sweep_id == first.sweep_id
    pd.testing.assert_frame_equal(again.points, first.points)
    pd.testing.assert_frame_equal(again.weights, first.weights)
    assert _sql(path, "SELECT run_id, kind, n_points FROM runs")[0] == [
        (first.sweep_id, "sweep", 4)
    ]


@pytest.mark.parametrize(
    ("version", "fix"),
    [
        (4, r"A newer optihedge wrote it: upgrade optihedge"),
        (0, r"not written by optihedge"),
    ],
)
def test_a_store_of_another_version_is_refused_and_left_alone(
    tmp_path: Path, version: int, fix: str
) -> None:
    path = tmp_path / "other.duckdb"
    _version_1_store(path)
    _sql(path, f"UPDATE optihedge_store SET version = {version}")
    with pytest.raises(
        StoreError,
        match=rf"'store' file '{path}' has schema version {version}; this optihedge reads "
        rf"versions \[1, 2, 3\].*{fix}",
    ):
        Store(path)
    with pytest.raises(StoreError, match=rf"schema version {version}"):
        oh.sweep(problem(), GRID, store=path, progress=False)
    assert _sql(path, "SELECT version FROM optihedge_store")[0] == [(version,)]
    assert _tables(path) == ["optihedge_store", "sweep_points", "sweep_weights", "sweeps"]


def test_a_kind_the_store_does_not_hold_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    try:
        with pytest.raises(
            SpecificationError, match=r"'kind' argument .*\['sweep', 'backtest'\].*'bt'"
        ):
            store.register("bt", "x", 1, [])
        assert store.runs().empty
    finally:
        store.close()


# -- the fingerprint ----------------------------------------------------------------------


def test_one_fingerprint_and_sweeps_name_runs_with_it() -> None:
    sources = {
        p.relative_to(ROOT).as_posix(): p.read_text() for p in (ROOT / "optihedge").rglob("*.py")
    }
    homes = [name for name, text in sources.items() if "def fingerprint(" in text]
    assert homes == ["optihedge/runs/fingerprint.py"]
    assert [n for n, t in sources.items() if "hashlib" in t and "sweeps" in n] == []
    result = oh.sweep(problem(), {"gross_exposure.max": [0.2]}, progress=False)
    p = problem()
    points = [{"gross_exposure.max": 0.2}]
    assert result.sweep_id == runs.run_id(p.__getstate__(), (("gross_exposure.max",), points))


def test_run_id_is_a_hash_of_content_across_processes() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0]}, index=pd.date_range("2024-01-01", periods=2))
    here = runs.run_id(frame, {"k": np.arange(3)}, "x")
    script = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "import numpy as np, pandas as pd\n"
        "from optihedge.runs import run_id\n"
        "frame = pd.DataFrame({'a': [1.0, 2.0]}, index=pd.date_range('2024-01-01', periods=2))\n"
        "print(run_id(frame, {'k': np.arange(3)}, 'x'))\n"
    )
    there = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert here == there
    assert len(here) == 32
    assert set(here) <= set("0123456789abcdef")
    assert runs.run_id(frame.assign(a=[1.0, 2.5]), {"k": np.arange(3)}, "x") != here
    # a hash (not the pickle's bytes): sha256 of the parts' digests
    memo: dict[int, tuple[Any, bytes]] = {}
    parts = b"".join(runs.fingerprint(x, memo) for x in ("x",))
    assert runs.run_id("x") == hashlib.sha256(parts).hexdigest()[:32]


# -- a killed parent ----------------------------------------------------------------------

TOY = """
import os, time


class Slow:
    pass


def solve(compiled, shared, chunk, state):
    if not state:  # the worker's first chunk of the run: say who it is
        state["seen"] = True
        (shared / str(os.getpid())).write_text("")
    time.sleep(0.2)
    return list(chunk)
"""


def _gone(pid: int) -> bool:
    """The process ended (a zombie counts: it runs nothing and holds no memory)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_end_within_10_s_of_a_killed_parent(tmp_path: Path) -> None:
    (tmp_path / "toy_run.py").write_text(TOY)
    pids = tmp_path / "pids"
    pids.mkdir()
    script = textwrap.dedent(
        f"""
        import pickle, sys
        sys.path[:0] = [{str(ROOT)!r}, {str(tmp_path)!r}]
        from pathlib import Path
        import toy_run
        from optihedge import runs

        task = runs.Task("killed", pickle.dumps(toy_run.Slow()), toy_run.solve, Path({str(pids)!r}))
        for rows in runs.run(task, [[i] for i in range(400)], n_jobs=2):
            print(rows[0], flush=True)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # loky's trackers report the killed run's leftovers
        text=True,
    )
    assert child.stdout is not None
    workers: list[int] = []
    try:
        started = time.monotonic()
        while len(workers) < 2 and time.monotonic() - started < 60:
            time.sleep(0.05)
            workers = sorted(int(p.name) for p in pids.iterdir())
        assert len(workers) == 2, f"workers seen: {workers}"
        assert child.poll() is None
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        killed = time.monotonic()
        alive = workers
        while alive and time.monotonic() - killed < 10:
            time.sleep(0.1)
            alive = [p for p in alive if not _gone(p)]
        assert alive == [], f"workers alive 10 s after their parent was killed: {alive}"
    finally:
        child.stdout.close()
        if child.poll() is None:
            child.kill()
        for pid in workers:  # none, unless the test failed
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)


def test_store_json_of_a_record_round_trips(tmp_path: Path) -> None:
    store = Store(tmp_path / "r.duckdb")
    try:
        store.register("sweep", "r", 1, ["k"])
        record = {"point": 0, "status": "optimal", "x": float("inf"), "n": np.int64(3)}
        store.write(
            "sweep",
            "r",
            [record],
            pd.DataFrame(
                {
                    "point": [0],
                    "instrument": ["F"],
                    "weight": [0.5],
                    "notional": [5.0],
                    "units": [1.0],
                }
            ),
        )
        records, _ = store.load("sweep", "r", ["F"])
    finally:
        store.close()
    assert records == [{"point": 0, "status": "optimal", "x": float("inf"), "n": 3}]
    assert json.loads(_sql(tmp_path / "r.duckdb", "SELECT keys FROM runs")[0][0][0]) == ["k"]

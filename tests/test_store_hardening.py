"""The sweep store and the runtime, hardened (issue 20).

- every DuckDB error from a truncated, corrupt, tampered or locked store, and from a full
  disk, is the project's typed error naming the 'store' argument and the fix;
- only a local file path is a store (no ``:memory:``, no ``md:`` service, no URL);
- opening a foreign file (SQLite) makes no network attempt: DuckDB's extension
  auto-install is off (proved with a local extension repository that records requests);
- a store is data, not code: views and macros are refused, and a stored optimal point
  must have its weight rows;
- the workers of a parallel sweep end within seconds of a SIGKILLed parent;
- exports and saved figures are written atomically.
"""

from __future__ import annotations

import errno
import http.server
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from cases import three_stocks

import optihedge as oh
from constraints import GrossExposure, PremiumBudget, Turnover
from optihedge.errors import DataError, SpecificationError, StoreError

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

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


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one finished sweep of ``GRID`` (copied by the tests that change it)."""
    path = tmp_path_factory.mktemp("stored") / "sweeps.duckdb"
    oh.sweep(problem(), GRID, store=path, progress=False)
    return path


def _copy(stored: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.duckdb"
    shutil.copyfile(stored, target)
    return target


def _alter(path: Path, *statements: str) -> None:
    con = duckdb.connect(str(path))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


class TestOnlyALocalFile:
    @pytest.mark.parametrize(
        "store",
        [":memory:", ":memory:named", Path(":memory:"), "md:my_db", "motherduck:my_db",
         "s3://bucket/sweeps.duckdb", "https://example.com/sweeps.duckdb"],
    )  # fmt: skip
    def test_refused_before_any_work(self, store: object) -> None:
        calls: list[int] = []
        with pytest.raises(SpecificationError, match=r"'store' argument must be a local file"):
            oh.sweep(problem(), GRID, store=store, progress=lambda d, t: calls.append(d))  # type: ignore[arg-type]
        assert calls == []

    def test_a_colon_in_a_local_name_is_reachable(self, tmp_path: Path) -> None:
        here = Path.cwd()
        os.chdir(tmp_path)
        try:
            result = oh.sweep(problem(), GRID, store="./md:local.duckdb", progress=False)
        finally:
            os.chdir(here)
        assert result.computed == 4
        assert (tmp_path / "md:local.duckdb").is_file()


@pytest.fixture
def repository(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[str]]:
    """Every DuckDB connection asks a local extension repository; the paths it was asked."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    real = duckdb.connect

    def connect(database: str = ":memory:", *args: Any, **kwargs: Any) -> Any:
        config = dict(kwargs.pop("config", None) or {})
        config["custom_extension_repository"] = f"http://127.0.0.1:{server.server_address[1]}"
        config["extension_directory"] = str(tmp_path / "extensions")  # none installed here
        kwargs["config"] = config
        return real(database, *args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", connect)
    try:
        yield asked
    finally:
        server.shutdown()
        server.server_close()


class TestNoNetwork:
    def test_the_repository_sees_an_auto_install(
        self, repository: list[str], tmp_path: Path
    ) -> None:
        # the probe works: a plain connection to an SQLite file asks for sqlite_scanner
        lite = tmp_path / "lite.db"
        con = sqlite3.connect(lite)
        con.execute("CREATE TABLE t (x INTEGER)")
        con.commit()
        con.close()
        with pytest.raises(duckdb.Error, match="sqlite_scanner"):
            duckdb.connect(str(lite)).execute("SELECT 1")
        assert any("sqlite_scanner" in p for p in repository)

    def test_a_foreign_file_is_refused_without_a_network_attempt(
        self, repository: list[str], tmp_path: Path
    ) -> None:
        lite = tmp_path / "sweeps.db"
        con = sqlite3.connect(lite)
        con.execute("CREATE TABLE prices (day TEXT, close REAL)")
        con.commit()
        con.close()
        with pytest.raises(DataError, match=r"'store' file .*sweeps\.db.* not a DuckDB database"):
            oh.sweep(problem(), GRID, store=lite, progress=False)
        assert repository == []


class TestDamagedStores:
    def test_truncated(self, stored: Path, tmp_path: Path) -> None:
        path = _copy(stored, tmp_path)
        with path.open("r+b") as f:
            f.truncate(path.stat().st_size // 3)
        with pytest.raises(DataError, match=r"'store' file .*copy\.duckdb.*(truncated|corrupt)"):
            oh.sweep(problem(), GRID, store=path, progress=False)

    def test_corrupt(self, stored: Path, tmp_path: Path) -> None:
        path = _copy(stored, tmp_path)
        size = path.stat().st_size
        with path.open("r+b") as f:  # every block after the headers overwritten
            f.seek(3 * 4096)
            f.write(np.random.default_rng(0).bytes(size - 3 * 4096))
        with pytest.raises(DataError, match=r"'store' file .*copy\.duckdb.*(corrupt|damaged)"):
            oh.sweep(problem(), GRID, store=path, progress=False)

    def test_header_overwritten(self, stored: Path, tmp_path: Path) -> None:
        path = _copy(stored, tmp_path)
        with path.open("r+b") as f:
            f.write(b"\0" * 4096)
        with pytest.raises(DataError, match=r"'store' file .*not a DuckDB database"):
            oh.sweep(problem(), GRID, store=path, progress=False)

    def test_a_damaged_record(self, stored: Path, tmp_path: Path) -> None:
        path = _copy(stored, tmp_path)
        _alter(path, "UPDATE sweep_points SET record = '{not json' WHERE point = 2")
        with pytest.raises(DataError, match=r"damaged record for point 2.*resume=False"):
            oh.sweep(problem(), GRID, store=path, progress=False)


class TestDataNotCode:
    def test_a_view_in_place_of_a_table(self, stored: Path, tmp_path: Path) -> None:
        # the crafted store of the issue: its weights are a view reading a local file
        secret = tmp_path / "secret.csv"
        secret.write_text("point,instrument,weight,notional,units\n0,SECRET,0.5,1,1\n")
        path = _copy(stored, tmp_path)
        escaped = str(secret).replace("'", "''")
        _alter(
            path,
            "DROP TABLE sweep_weights",
            "CREATE VIEW sweep_weights AS SELECT sweep_id, point, instrument, weight, notional, "
            f"units FROM sweep_points JOIN read_csv('{escaped}') USING (point)",
        )
        with pytest.raises(DataError, match=r"'store' file .*views or macros.*sweep_weights"):
            oh.sweep(problem(), GRID, store=path, progress=False)

    def test_a_macro_shadowing_a_function(self, stored: Path, tmp_path: Path) -> None:
        path = _copy(stored, tmp_path)
        _alter(path, "CREATE MACRO max(a) AS 1")  # would answer the version check
        with pytest.raises(DataError, match=r"'store' file .*views or macros.*'max'"):
            oh.sweep(problem(), GRID, store=path, progress=False)

    @pytest.mark.parametrize(
        ("statements", "match"),
        [
            (
                ["ALTER TABLE sweep_points ALTER record TYPE JSON"],
                r"table 'sweep_points' with types .*JSON",
            ),
            (
                ["ALTER TABLE sweep_weights ALTER units SET DEFAULT 1.0"],
                r"columns optihedge does not write \(\['sweep_weights\.units'\]",
            ),
            (["CREATE TABLE notes (text VARCHAR)"], r"does not write \(\['notes'\]"),
            (["DROP TABLE sweep_weights"], r"tables missing"),
            (["CREATE SCHEMA extra", "CREATE TABLE extra.t (x INTEGER)"], r"\['extra\.t'\]"),
        ],
    )
    def test_tables_that_are_not_what_optihedge_writes(
        self, stored: Path, tmp_path: Path, statements: list[str], match: str
    ) -> None:
        path = _copy(stored, tmp_path)
        _alter(path, *statements)
        with pytest.raises(DataError, match=r"'store' file .*" + match):
            oh.sweep(problem(), GRID, store=path, progress=False)

    def test_an_optimal_point_without_its_weights(self, stored: Path, tmp_path: Path) -> None:
        path = _copy(stored, tmp_path)
        _alter(path, "DELETE FROM sweep_weights WHERE point = 1")
        with pytest.raises(
            DataError, match=r"holds point 1 \(status 'optimal'\) without its weight rows"
        ):
            oh.sweep(problem(), GRID, store=path, progress=False)

    def test_weights_of_no_point(self, stored: Path, tmp_path: Path) -> None:
        path = _copy(stored, tmp_path)
        _alter(path, "DELETE FROM sweep_points WHERE point = 3")
        # point 3 is solved again (not stored); its old weights are replaced, not doubled
        result = oh.sweep(problem(), GRID, store=path, progress=False)
        assert result.computed == 1
        assert len(result.weights) == 4 * 2

    def test_a_point_solved_again_as_infeasible_drops_its_old_weights(self, tmp_path: Path) -> None:
        path = tmp_path / "s.duckdb"
        oh.sweep(problem(), {"gross_exposure.max": [0.3]}, store=path, progress=False)
        # the same sweep id, now infeasible at point 0: the file is changed by hand to a
        # failed record with weights, the state a replaced point used to leave
        _alter(
            path,
            "UPDATE sweep_points SET status = 'infeasible', record = "
            "json_object('point', 0, 'status', 'infeasible')::VARCHAR",
        )
        with pytest.raises(DataError, match=r"holds point 0 \(status 'infeasible'\)"):
            oh.sweep(problem(), {"gross_exposure.max": [0.3]}, store=path, progress=False)
        again = oh.sweep(
            problem(), {"gross_exposure.max": [0.3]}, store=path, resume=False, progress=False
        )
        assert again.computed == 1
        con = duckdb.connect(str(path), read_only=True)
        try:
            assert con.execute("SELECT count(*) FROM sweep_weights").fetchone() == (2,)
        finally:
            con.close()


class TestLocked:
    def test_a_store_held_by_another_process(self, stored: Path, tmp_path: Path) -> None:
        path = _copy(stored, tmp_path)
        holder = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(f"""
                import sys, duckdb
                con = duckdb.connect({str(path)!r})
                print("holding", flush=True)
                sys.stdin.read()
                """)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert holder.stdin is not None
        assert holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "holding"
            with pytest.raises(
                StoreError, match=r"'store' file .*copy\.duckdb.* in use by another process"
            ):
                oh.sweep(problem(), GRID, store=path, progress=False)
        finally:
            holder.stdin.close()
            holder.wait(timeout=30)
            holder.stdout.close()
        assert oh.sweep(problem(), GRID, store=path, progress=False).computed == 0


FULL_DISK = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    sys.path[:0] = [{root!r}, {tests!r}]
    import duckdb
    import test_store_hardening as t
    import optihedge as oh

    folder, how = sys.argv[1], sys.argv[2]
    store = os.path.join(folder, "sweeps.duckdb")
    oh.sweep(t.problem(), t.GRID, store=store, progress=False)  # the old store

    def fill(done, total):
        # after the first chunk of the second sweep is committed, the disk is full
        if done != 2:
            return
        if how == "tmpfs":
            free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
            with open(os.path.join(folder, "filler"), "wb") as f:
                try:
                    f.write(bytes(free))
                except OSError:
                    pass
        else:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))

    out = {{}}
    try:
        oh.sweep(t.problem(), {{"gross_exposure.max": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}},
                 store=store, progress=fill, chunk_size=2)
    except Exception as exc:
        out["error"] = [type(exc).__name__, str(exc)]
    con = duckdb.connect(store, read_only=True)
    out["stored"] = con.execute(
        "SELECT count(*) FROM sweep_points GROUP BY sweep_id ORDER BY 1 DESC"
    ).fetchall()
    con.close()
    print(json.dumps(out))
    """
)


def _full_disk_command(folder: Path, script: Path) -> tuple[list[str], str]:
    """A 4 MB tmpfs in a mount namespace of its own, or else a file-size limit."""
    unshare = shutil.which("unshare")
    if unshare is not None:
        probe = subprocess.run(
            [unshare, "-rm", "sh", "-c", f"mount -t tmpfs -o size=4m tmpfs {folder}"],
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            mount = f'mount -t tmpfs -o size=4m tmpfs \'{folder}\' && exec "$0" "$@"'
            return [unshare, "-rm", "sh", "-c", mount, sys.executable, str(script)], "tmpfs"
    return [sys.executable, str(script)], "limit"


def test_a_full_disk_says_so_and_keeps_the_old_store(tmp_path: Path) -> None:
    folder = tmp_path / "disk"
    folder.mkdir()
    script = tmp_path / "full.py"
    script.write_text(FULL_DISK.format(root=str(ROOT), tests=str(TESTS)))
    command, how = _full_disk_command(folder, script)
    done = subprocess.run(
        [*command, str(folder), how],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    kind, message = out["error"]
    assert kind == "StoreError"
    expected = "no space left on device" if how == "tmpfs" else "file-size limit"
    assert f"'store' file '{folder / 'sweeps.duckdb'}' could not be written: " in message
    assert expected in message
    assert "resumes" in message or "kept" in message
    assert "ROLLBACK" not in message
    # the old sweep whole, and the second sweep's committed chunk (at least)
    assert out["stored"][0] == [4]
    assert out["stored"][1][0] >= 2


@pytest.fixture(scope="module")
def result() -> oh.SweepResult:
    return oh.sweep(problem(), GRID, progress=False)


def _refuse_rename(monkeypatch: pytest.MonkeyPatch, folder: Path, seen: list[set[str]]) -> None:
    def refuse(src: object, dst: object) -> None:
        seen.append({p.name for p in folder.iterdir()})
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)


class TestAtomicExports:
    @pytest.mark.parametrize(("method", "suffix"), [("to_csv", ".csv"), ("to_parquet", ".parquet")])
    def test_a_name_without_extension_gets_it_on_both_files(
        self, result: oh.SweepResult, tmp_path: Path, method: str, suffix: str
    ) -> None:
        points, weights = getattr(result, method)(tmp_path / "frontier")
        assert points == tmp_path / f"frontier{suffix}"
        assert weights == tmp_path / f"frontier_weights{suffix}"
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([points.name, weights.name])

    @pytest.mark.parametrize(("method", "suffix"), [("to_csv", ".csv"), ("to_parquet", ".parquet")])
    def test_a_failed_write_leaves_the_old_files(
        self,
        result: oh.SweepResult,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        method: str,
        suffix: str,
    ) -> None:
        old = {f"s{suffix}": b"old points", f"s_weights{suffix}": b"old weights"}
        for name, content in old.items():
            (tmp_path / name).write_bytes(content)
        seen: list[set[str]] = []
        _refuse_rename(monkeypatch, tmp_path, seen)
        with pytest.raises(
            SpecificationError, match=r"'path' argument .*s\.\w+' cannot be written: No space"
        ):
            getattr(result, method)(tmp_path / f"s{suffix}")
        monkeypatch.undo()
        assert len(seen) == 1
        assert len(seen[0]) == 4  # both new files were written whole beside the old ones
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == old

    def test_csv_round_trip(self, result: oh.SweepResult, tmp_path: Path) -> None:
        points, weights = result.to_csv(tmp_path / "s.csv.gz")  # compressed, by extension
        back = pd.read_csv(points, index_col="point")
        np.testing.assert_allclose(back["objective"], result.points["objective"], rtol=1e-12)
        assert len(pd.read_csv(weights)) == len(result.weights)

    def test_a_missing_folder(self, result: oh.SweepResult, tmp_path: Path) -> None:
        with pytest.raises(SpecificationError, match=r"'path' argument .* does not exist"):
            result.to_csv(tmp_path / "no" / "s.csv")

    def test_the_demo_figure_is_replaced_whole(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from optihedge.demo import save_frontier

        scenarios = oh.Scenarios.historical(DAILY, horizon=10)
        shortfall = oh.HedgeProblem(
            BOOK,
            [oh.Put("P", underlying="IDX", moneyness=0.95, expiry=42)],
            objective=oh.ExpectedShortfall(0.9),
            constraints=[GrossExposure(0.5), PremiumBudget(0.005)],
            scenarios=scenarios,
            risk_model=MODEL,
            horizon=10,
            market="IDX",
            market_state=oh.MarketState(spot={"IDX": 100.0}, volatility={"IDX": 0.2}, rate=0.02),
        )
        frontier = oh.sweep(
            shortfall,
            {"gross_exposure.max": [0.2, 0.5], "premium_budget.max": [0.0, 0.005]},
            progress=False,
        )
        demo = SimpleNamespace(frontier=frontier, value=1e6)
        target = tmp_path / "frontier.png"
        target.write_bytes(b"old picture")
        seen: list[set[str]] = []
        _refuse_rename(monkeypatch, tmp_path, seen)
        with pytest.raises(SpecificationError, match=r"frontier\.png' cannot be written"):
            save_frontier(demo, target)  # type: ignore[arg-type]
        monkeypatch.undo()
        assert len(seen[0]) == 2
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {
            "frontier.png": b"old picture"
        }
        assert save_frontier(demo, target) == target  # type: ignore[arg-type]
        assert target.read_bytes().startswith(b"\x89PNG")
        assert [p.name for p in tmp_path.iterdir()] == ["frontier.png"]


def test_workers_end_within_seconds_of_a_killed_sweep(tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil")
    script = tmp_path / "parallel.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys, time
            sys.path[:0] = [{str(ROOT)!r}, {str(TESTS)!r}]
            import numpy as np
            import test_store_hardening as t
            import optihedge as oh

            def progress(done, total):
                print(done, flush=True)
                time.sleep(0.3)

            grid = {{"gross_exposure.max": list(np.linspace(0.05, 0.5, 40))}}
            oh.sweep(t.problem(), grid, n_jobs=2, chunk_size=1, progress=progress)
            print("finished", flush=True)
            """
        )
    )
    child = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # loky's trackers report the killed sweep's leftovers
        text=True,
    )
    assert child.stdout is not None
    processes: list[Any] = []
    try:
        assert child.stdout.readline().strip() == "1"  # both workers started
        processes = psutil.Process(child.pid).children(recursive=True)
        workers = [p for p in processes if "loky" in " ".join(p.cmdline())]
        assert len(workers) >= 2
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        killed = time.monotonic()
        alive = processes
        while alive and time.monotonic() - killed < 10:
            time.sleep(0.1)
            alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert alive == [], f"alive 10 s after the sweep was killed: {alive}"
        assert time.monotonic() - killed < 3  # within a second or two, not loky's 300 s
    finally:
        child.stdout.close()
        if child.poll() is None:
            child.kill()
        for p in processes:  # none, unless the test failed
            if p.is_running():
                p.kill()

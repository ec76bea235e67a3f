"""A DuckDB file that keeps every finished chunk of a run, so a killed run loses nothing.

A run is many solves of one problem (a sweep, a backtest), named by its kind and its id
(a content hash, :func:`optihedge.runs.fingerprint.run_id`). Tables (one file holds any
number of runs, told apart by kind and id), schema version 3:

- ``optihedge_store(version)``: the schema's version;
- ``runs(run_id, kind, created, n_points, keys)``: one row per run, keyed by
  ``(run_id, kind)``;
- a sweep's rows: ``sweep_points(sweep_id, point, status, record)``, one row per
  solved point, its numbers as JSON (the columns differ between problems), and
  ``sweep_weights(sweep_id, point, instrument, weight, notional, units)``;
- a backtest's rows: ``backtest_rows(backtest_id, tab, n, record)``, row ``n`` of its
  table ``tab`` (``daily``, ``decisions``, ``trades``, ``positions`` as JSON;
  ``solves``, the compiled problem's solve log, pickled in base64), and
  ``backtest_state(backtest_id, day, finished, state)``, the engine's pickled state
  after the last committed ``day`` (one row per backtest, replaced at each commit).

Every chunk (a sweep's points, a backtest's rows up to a decision date with the state
after it) is written in one transaction: it is in the file whole or not at all.
``(<kind>_id, point)`` is a primary key: a point is never stored twice.

**Versions.** A file of version 1 (written by optihedge before the run engine: a
``sweeps(sweep_id, created, n_points, keys)`` table in place of ``runs``) or 2 (no
backtest tables) is migrated in place when it is opened, in one transaction (version
1's sweeps become runs of kind ``"sweep"``; their points and weights stay where they
are). A file of any other version (a newer optihedge wrote it) is refused with a
:class:`~optihedge.errors.StoreError` naming the file, its version and what to do,
before anything in it is changed.

A store file is data, not code: it is opened with DuckDB's extension auto-install and
auto-load and every access outside the file turned off (a foreign file such as SQLite
fails there, with no network attempt), and a file that holds views or macros, or tables
whose columns differ from these (types, defaults, generated columns), is refused before
any query reads it. Every DuckDB error becomes a :class:`~optihedge.errors.DataError`
(a damaged or foreign file) or a :class:`~optihedge.errors.StoreError` (a file in use by
another process, a full disk) that names the file and the fix. One exception: a
backtest's ``state`` and ``solves`` are pickles, which a resumed backtest unpickles:
resume backtests only from store files you trust (your own runs wrote them).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from optihedge.errors import DataError, SpecificationError, StoreError

__all__ = ["BACKTEST_TABLES", "KINDS", "SCHEMA_VERSION", "Store"]

#: the version of the tables this code writes (1: the sweep store before the run engine;
#: 2: runs of kind "sweep" only)
SCHEMA_VERSION = 3
#: the kinds of run a store holds, each with its own tables of rows
KINDS = ("sweep", "backtest")
#: the tables of a backtest's rows: the result's four, then the log of its solves
BACKTEST_TABLES = ("daily", "decisions", "trades", "positions", "solves")


def _rows(kind: str) -> dict[str, list[tuple[str, str]]]:
    """(column, type) of the two row tables of ``kind``, as DuckDB reports them."""
    return {
        f"{kind}_points": [
            (f"{kind}_id", "VARCHAR"),
            ("point", "INTEGER"),
            ("status", "VARCHAR"),
            ("record", "VARCHAR"),
        ],
        f"{kind}_weights": [
            (f"{kind}_id", "VARCHAR"),
            ("point", "INTEGER"),
            ("instrument", "VARCHAR"),
            ("weight", "DOUBLE"),
            ("notional", "DOUBLE"),
            ("units", "DOUBLE"),
        ],
    }


# a backtest's rows (one JSON record per row of each of its tables) and its state
_BACKTEST: dict[str, list[tuple[str, str]]] = {
    "backtest_rows": [
        ("backtest_id", "VARCHAR"),
        ("tab", "VARCHAR"),
        ("n", "INTEGER"),
        ("record", "VARCHAR"),
    ],
    "backtest_state": [
        ("backtest_id", "VARCHAR"),
        ("day", "INTEGER"),
        ("finished", "BOOLEAN"),
        ("state", "BLOB"),
    ],
}
_VERSION_TABLE = {"optihedge_store": [("version", "INTEGER")]}
# (column, type) of each table of each schema version, as DuckDB reports them
_LAYOUTS: dict[int, dict[str, list[tuple[str, str]]]] = {
    1: {
        **_VERSION_TABLE,
        "sweeps": [
            ("sweep_id", "VARCHAR"),
            ("created", "TIMESTAMP"),
            ("n_points", "INTEGER"),
            ("keys", "VARCHAR"),
        ],
        **_rows("sweep"),
    },
    2: {
        **_VERSION_TABLE,
        "runs": [
            ("run_id", "VARCHAR"),
            ("kind", "VARCHAR"),
            ("created", "TIMESTAMP"),
            ("n_points", "INTEGER"),
            ("keys", "VARCHAR"),
        ],
        **_rows("sweep"),
    },
}
_LAYOUTS[3] = {**_LAYOUTS[2], **_BACKTEST}
_TYPES = _LAYOUTS[SCHEMA_VERSION]
# the kinds whose rows are points and weights (a sweep's)
_POINTS = ("sweep",)
_TABLES = {name: [c for c, _ in columns] for name, columns in _TYPES.items()}
# no extension is installed or loaded, and nothing outside the file is read or written
_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "enable_external_access": False,
}
# point statuses that have no weights (every other stored point has one row per instrument)
_FAILED = {"infeasible", "unbounded", "solver_failed"}
# DuckDB's own paths (":memory:"), services ("md:", "motherduck:") and URLs ("s3://");
# one letter before the colon is a Windows drive
_NOT_A_FILE = re.compile(r"^(:memory:|[A-Za-z][A-Za-z0-9+.\-]+:)")
_RUNS_DDL = (
    "CREATE TABLE IF NOT EXISTS runs (run_id VARCHAR, kind VARCHAR, created TIMESTAMP, "
    "n_points INTEGER, keys VARCHAR, PRIMARY KEY (run_id, kind))"
)


def _rows_ddl(kind: str) -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {kind}_points ({kind}_id VARCHAR, point INTEGER, status "
        f"VARCHAR, record VARCHAR, PRIMARY KEY ({kind}_id, point))",
        f"CREATE TABLE IF NOT EXISTS {kind}_weights ({kind}_id VARCHAR, point INTEGER, "
        "instrument VARCHAR, weight DOUBLE, notional DOUBLE, units DOUBLE, PRIMARY KEY "
        f"({kind}_id, point, instrument))",
    ]


_BACKTEST_DDL = [
    "CREATE TABLE IF NOT EXISTS backtest_rows (backtest_id VARCHAR, tab VARCHAR, n INTEGER, "
    "record VARCHAR, PRIMARY KEY (backtest_id, tab, n))",
    "CREATE TABLE IF NOT EXISTS backtest_state (backtest_id VARCHAR, day INTEGER, finished "
    "BOOLEAN, state BLOB, PRIMARY KEY (backtest_id))",
]
_DDL = [
    "CREATE TABLE IF NOT EXISTS optihedge_store (version INTEGER)",
    _RUNS_DDL,
    *_rows_ddl("sweep"),
    *_BACKTEST_DDL,
    f"INSERT INTO optihedge_store VALUES ({SCHEMA_VERSION})",
]
# version 1 -> 2: the sweeps become runs of kind 'sweep'; their rows stay in place
_MIGRATE_1 = [
    _RUNS_DDL,
    "INSERT INTO runs SELECT sweep_id, 'sweep', created, n_points, keys FROM sweeps",
    "DROP TABLE sweeps",
    "UPDATE optihedge_store SET version = 2",
]
# version 2 -> 3: the backtests' tables
_MIGRATE_2 = [*_BACKTEST_DDL, "UPDATE optihedge_store SET version = 3"]
_MIGRATIONS = {1: [*_MIGRATE_1, *_MIGRATE_2], 2: _MIGRATE_2}


def _json_value(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        f = float(v)
        return f if math.isfinite(f) else {"nonfinite": repr(f)}
    if isinstance(v, np.integer):
        return int(v)
    return v


def _from_json(v: Any) -> Any:
    if isinstance(v, dict) and "nonfinite" in v:
        return float(v["nonfinite"])
    return v


def _check_kind(kind: str, kinds: Sequence[str] = KINDS) -> str:
    if kind not in kinds:
        raise SpecificationError(
            f"The 'kind' argument must be one of {list(kinds)} (the kinds of run a store "
            f"holds{'' if kinds == KINDS else ' as points'}). Got {kind!r}."
        )
    return kind


class Store:
    """The run store in one DuckDB file (opened for a run, closed after it).

    A file of schema version 1 (a sweep store written before the run engine) is migrated
    in place on open; see the module's docstring.

    Raises
    ------
    SpecificationError
        A path that cannot be written (no folder, no permission, a directory), or that
        is not a local file (``":memory:"``, ``"md:..."``, a URL).
    DataError
        A DuckDB file with another schema, views or macros, a file that is not a DuckDB
        database, a damaged one, or stored points without their weights.
    StoreError
        A file in use by another process, or a full disk; a file of a schema version
        this code does not read (a newer optihedge wrote it).
    """

    def __init__(self, path: str | Path) -> None:
        if not isinstance(path, str | Path) or not str(path):
            raise SpecificationError(
                f"The 'store' argument must be a file path (e.g. 'sweeps.duckdb'). Got {path!r}."
            )
        if _NOT_A_FILE.match(str(path)):
            raise SpecificationError(
                f"The 'store' argument must be a local file path (e.g. 'sweeps.duckdb'). Got "
                f"{str(path)!r}: an in-memory database keeps nothing and a DuckDB service "
                "('md:') or URL is not a local file. Give a file name (for a file whose name "
                "has a colon, './name' or an absolute path)."
            )
        self.path = Path(path)
        if self.path.is_dir():
            raise SpecificationError(
                f"The 'store' path {str(self.path)!r} is a directory; give a file name in it."
            )
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if not folder.is_dir():
            raise SpecificationError(
                f"The 'store' path {str(self.path)!r} cannot be written: its folder "
                f"{str(folder)!r} does not exist. Create it first."
            )
        if not os.access(folder, os.W_OK) or (
            self.path.exists() and not os.access(self.path, os.W_OK)
        ):
            raise SpecificationError(
                f"The 'store' path {str(self.path)!r} cannot be written: no write permission."
            )
        with self._errors("open"):
            # an absolute path: DuckDB reads a relative 'md:name' as a service
            self.con = duckdb.connect(str(self.path.absolute()), config=_CONFIG)
        try:
            with self._errors("read"):
                self._check_schema()
        except BaseException:
            self.con.close()
            raise

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn a DuckDB error into the project's error: what happened and the fix."""
        try:
            yield
        except duckdb.Error as exc:
            raise _translate(self.path, doing, exc) from exc

    def _check_schema(self) -> None:
        # the catalog functions by their full names: a macro in the file could shadow them
        code = self.con.execute(
            "SELECT function_name FROM system.main.duckdb_functions() WHERE NOT internal "
            "UNION ALL SELECT view_name FROM system.main.duckdb_views() WHERE NOT internal "
            "AND database_name <> 'temp'"
        ).fetchall()
        if code:
            raise DataError(
                f"The 'store' file {str(self.path)!r} holds views or macros "
                f"({sorted({r[0] for r in code})[:5]}); a sweep store holds tables of data "
                "only, so this file was not written by optihedge (or was changed by another "
                "program). Give another path."
            )
        present: dict[str, list[tuple[str, str]]] = {}
        odd: list[str] = []
        for schema, table, column, kind, default, generated in self.con.execute(
            "SELECT schema_name, table_name, column_name, data_type, column_default, "
            "is_generated FROM system.main.duckdb_columns() WHERE database_name <> 'temp' "
            "AND NOT internal ORDER BY schema_name, table_name, column_index"
        ).fetchall():
            if schema != "main":
                odd.append(f"{schema}.{table}")
                continue
            present.setdefault(table, []).append((column, kind))
            if default is not None or generated:
                odd.append(f"{table}.{column}")
        if present and "optihedge_store" not in present:
            raise DataError(
                f"The 'store' file {str(self.path)!r} holds other tables "
                f"({sorted(present)[:5]}) and no optihedge sweeps; give another path."
            )
        version = self._version(present)
        layout = _LAYOUTS[version]
        for name, types in layout.items():
            columns = [c for c, _ in types]
            if name in present and [c for c, _ in present[name]] != columns:
                raise DataError(
                    f"The 'store' file {str(self.path)!r} has a table {name!r} with columns "
                    f"{[c for c, _ in present[name]]}, not the {columns} this version writes; "
                    "give another path."
                )
            if name in present and present[name] != types:
                raise DataError(
                    f"The 'store' file {str(self.path)!r} has a table {name!r} with types "
                    f"{[t for _, t in present[name]]}, not the {[t for _, t in types]} "
                    "this version writes; give another path."
                )
        if odd or (present and set(present) != set(layout)):
            raise DataError(
                f"The 'store' file {str(self.path)!r} has tables or columns optihedge does not "
                f"write ({sorted({*odd, *(set(present) - set(layout))})[:5]}"
                f"{'' if set(layout) <= set(present) else ', tables missing'}); give another "
                "path."
            )
        if present and version == SCHEMA_VERSION:
            return
        self._transaction(_MIGRATIONS[version] if present else _DDL)

    def _version(self, present: dict[str, list[tuple[str, str]]]) -> int:
        """Return the file's schema version (this code's for a new file), or refuse it."""
        if "optihedge_store" not in present:
            return SCHEMA_VERSION
        if present["optihedge_store"] != _VERSION_TABLE["optihedge_store"]:
            raise DataError(
                f"The 'store' file {str(self.path)!r} has a table 'optihedge_store' with "
                f"columns {present['optihedge_store']}, not the [('version', 'INTEGER')] "
                "optihedge writes; give another path."
            )
        rows = self.con.execute("SELECT DISTINCT version FROM optihedge_store").fetchall()
        versions = [r[0] for r in rows]
        if len(versions) == 1 and versions[0] in _LAYOUTS:
            return int(versions[0])
        found = versions[0] if len(versions) == 1 else versions
        newer = len(versions) == 1 and isinstance(found, int) and found > SCHEMA_VERSION
        raise StoreError(
            f"The 'store' file {str(self.path)!r} has schema version {found!r}; this "
            f"optihedge reads versions {sorted(_LAYOUTS)} (older ones are migrated in place to "
            f"{SCHEMA_VERSION}). "
            + (
                "A newer optihedge wrote it: upgrade optihedge (pip install -U optihedge) to "
                "read it, or give another path."
                if newer
                else "It was not written by optihedge, or was changed by another program; "
                "give another path."
            )
        )

    def _transaction(self, statements: Sequence[str]) -> None:
        """Run ``statements`` in one transaction: all of them, or none (rolled back)."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            for statement in statements:
                self.con.execute(statement)
            self.con.execute("COMMIT")
        except BaseException:
            try:
                self.con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            raise

    def register(self, kind: str, run_id: str, n_points: int, keys: Sequence[str]) -> None:
        """Record the run of ``kind`` (``"sweep"``) named ``run_id`` (once)."""
        _check_kind(kind)
        with self._errors("write"):
            self.con.execute(
                "INSERT INTO runs VALUES (?, ?, now(), ?, ?) ON CONFLICT DO NOTHING",
                [run_id, kind, n_points, json.dumps(list(keys))],
            )

    def runs(self) -> pd.DataFrame:
        """Return every run the file holds, oldest first.

        Columns ``run_id``, ``kind``, ``created``, ``n_points``, ``keys`` (a list) and
        ``stored`` (the points stored).
        """
        counts = " UNION ALL ".join(
            f"SELECT {kind}_id AS run_id, '{kind}' AS kind, count(*) AS stored "
            f"FROM {kind}_points GROUP BY 1"
            for kind in _POINTS
        )
        counts += (
            " UNION ALL SELECT backtest_id AS run_id, 'backtest' AS kind, day + 1 AS stored "
            "FROM backtest_state"
        )
        with self._errors("read"):
            table = self.con.execute(
                "SELECT r.run_id, r.kind, r.created, r.n_points, r.keys, "
                f"coalesce(c.stored, 0) AS stored FROM runs r LEFT JOIN ({counts}) c "
                "USING (run_id, kind) ORDER BY r.created, r.run_id"
            ).df()
        table["keys"] = [json.loads(k) for k in table["keys"]]
        table["stored"] = table["stored"].astype(np.int64)
        return table

    def done(self, kind: str, run_id: str) -> set[int]:
        """Point numbers already stored for the run."""
        _check_kind(kind, _POINTS)
        with self._errors("read"):
            rows = self.con.execute(
                f"SELECT point FROM {kind}_points WHERE {kind}_id = ?", [run_id]
            ).fetchall()
        return {int(r[0]) for r in rows}

    def write(
        self, kind: str, run_id: str, records: Sequence[dict[str, Any]], weights: pd.DataFrame
    ) -> None:
        """Write one chunk's points and weights in one transaction."""
        _check_kind(kind, _POINTS)
        points = pd.DataFrame(
            {
                f"{kind}_id": run_id,
                "point": [int(r["point"]) for r in records],
                "status": [str(r["status"]) for r in records],
                "record": [json.dumps({k: _json_value(v) for k, v in r.items()}) for r in records],
            }
        )
        w = weights.assign(**{f"{kind}_id": run_id})[_TABLES[f"{kind}_weights"]]
        with self._errors("write"):
            self.con.register("chunk_points", points)
            self.con.register("chunk_weights", w)
            try:
                self.con.execute("BEGIN TRANSACTION")
                try:
                    # a point solved again (resume=False) replaces what was stored, its
                    # weights too (a point that failed this time has none)
                    self.con.execute(
                        f"DELETE FROM {kind}_weights WHERE {kind}_id = ? AND point IN "
                        "(SELECT point FROM chunk_points)",
                        [run_id],
                    )
                    self.con.execute(
                        f"INSERT OR REPLACE INTO {kind}_points SELECT * FROM chunk_points"
                    )
                    if len(w):
                        self.con.execute(f"INSERT INTO {kind}_weights SELECT * FROM chunk_weights")
                    self.con.execute("COMMIT")
                except BaseException:
                    # a failed COMMIT (a full disk) has ended the transaction already: the
                    # error to report is the first one, not the ROLLBACK's
                    try:
                        self.con.execute("ROLLBACK")
                    except duckdb.Error:
                        pass
                    raise
            finally:
                for name in ("chunk_points", "chunk_weights"):
                    try:
                        self.con.unregister(name)
                    except duckdb.Error:
                        pass

    def load(
        self, kind: str, run_id: str, instruments: Sequence[str]
    ) -> tuple[list[dict[str, Any]], pd.DataFrame]:
        """Every stored point's record and the weights of the run.

        Each stored point that did not fail must have one weight row per instrument (and a
        failed one none): a store that lost them is refused, not read as points without
        weights.
        """
        _check_kind(kind, _POINTS)
        with self._errors("read"):
            rows = self.con.execute(
                f"SELECT point, status, record FROM {kind}_points WHERE {kind}_id = ? "
                "ORDER BY point",
                [run_id],
            ).fetchall()
            weights = self.con.execute(
                f"SELECT point, instrument, weight, notional, units FROM {kind}_weights "
                f"WHERE {kind}_id = ? ORDER BY point, instrument",
                [run_id],
            ).df()
        records: list[dict[str, Any]] = []
        for point, status, text in rows:
            try:
                record = {k: _from_json(v) for k, v in json.loads(text).items()}
            except (ValueError, AttributeError) as exc:
                raise DataError(
                    f"The 'store' file {str(self.path)!r} holds a damaged record for point "
                    f"{point} ({exc}); give another path or run the {kind} with resume=False."
                ) from exc
            if record.get("point") != point or record.get("status") != status:
                raise DataError(
                    f"The 'store' file {str(self.path)!r} holds a record for point {point} "
                    f"that names point {record.get('point')!r} and status "
                    f"{record.get('status')!r}; the file was changed by another program. Give "
                    f"another path or run the {kind} with resume=False."
                )
            records.append(record)
        expected = sorted(str(i) for i in instruments)
        held = {
            int(str(p)): sorted(group.astype(str))
            for p, group in weights.groupby("point")["instrument"]
        }
        for record in records:
            point = int(record["point"])
            want = [] if record["status"] in _FAILED else expected
            if held.pop(point, []) != want:
                raise DataError(
                    f"The 'store' file {str(self.path)!r} holds point {point} (status "
                    f"{record['status']!r}) without its weight rows for {want} (lost or "
                    f"changed by another program); give another path or run the {kind} with "
                    "resume=False."
                )
        if held:
            raise DataError(
                f"The 'store' file {str(self.path)!r} holds weights for points {sorted(held)[:5]} "
                f"it has no record of; give another path or run the {kind} with resume=False."
            )
        return records, weights

    def commit_backtest(
        self,
        run_id: str,
        rows: Mapping[str, Sequence[str]],
        start: Mapping[str, int],
        day: int,
        finished: bool,
        state: bytes,
        *,
        replace: bool = False,
    ) -> None:
        """Write a backtest's new rows and its state in one transaction.

        Parameters
        ----------
        run_id : str
        rows : mapping of table (:data:`BACKTEST_TABLES`) to JSON records
            The rows recorded since the last commit.
        start : mapping of table to int
            The number of the first of those rows in its table (the rows committed
            before).
        day : int
            The last day (0-based) the state has marked.
        finished : bool
            Whether the backtest has run to its end.
        state : bytes
            The engine's pickled state after ``day``; it replaces the stored one.
        replace : bool, default False
            Drop the rows stored before (a backtest run again whole, in a grid).
        """
        table = pd.DataFrame(
            {
                "backtest_id": run_id,
                "tab": [t for t in BACKTEST_TABLES for _ in rows.get(t, ())],
                "n": np.array(
                    [start[t] + k for t in BACKTEST_TABLES for k in range(len(rows.get(t, ())))],
                    dtype=np.int32,
                ),
                "record": [r for t in BACKTEST_TABLES for r in rows.get(t, ())],
            }
        )
        with self._errors("write"):
            self.con.register("chunk_rows", table)
            try:
                self.con.execute("BEGIN TRANSACTION")
                try:
                    if replace:
                        self.con.execute(
                            "DELETE FROM backtest_rows WHERE backtest_id = ?", [run_id]
                        )
                    if len(table):
                        self.con.execute("INSERT INTO backtest_rows SELECT * FROM chunk_rows")
                    self.con.execute(
                        "INSERT OR REPLACE INTO backtest_state VALUES (?, ?, ?, ?)",
                        [run_id, int(day), bool(finished), state],
                    )
                    self.con.execute("COMMIT")
                except BaseException:
                    try:
                        self.con.execute("ROLLBACK")
                    except duckdb.Error:
                        pass
                    raise
            finally:
                try:
                    self.con.unregister("chunk_rows")
                except duckdb.Error:
                    pass

    def load_backtest(self, run_id: str) -> tuple[dict[str, list[str]], int, bool, bytes] | None:
        """Return a stored backtest: its records by table, last day, finished, state.

        None when the store holds no commit of the run. Each table's rows must be
        numbered 0, 1, ... without a gap (a store that lost some is refused).
        """
        with self._errors("read"):
            found = self.con.execute(
                "SELECT day, finished, state FROM backtest_state WHERE backtest_id = ?", [run_id]
            ).fetchone()
            if found is None:
                return None
            rows = self.con.execute(
                "SELECT tab, n, record FROM backtest_rows WHERE backtest_id = ? ORDER BY tab, n",
                [run_id],
            ).fetchall()
        tables: dict[str, list[str]] = {t: [] for t in BACKTEST_TABLES}
        for tab, n, record in rows:
            held = tables.get(tab)
            if held is None or n != len(held):
                raise DataError(
                    f"The 'store' file {str(self.path)!r} holds backtest {run_id}'s rows with "
                    f"a gap or an unknown table ({tab!r} row {n}): they were lost or changed "
                    "by another program. Give another path."
                )
            held.append(record)
        day, finished, state = found
        return tables, int(day), bool(finished), bytes(state)

    def finished_backtests(self) -> set[str]:
        """Return the ids of the backtests the store holds to their end."""
        with self._errors("read"):
            rows = self.con.execute(
                "SELECT backtest_id FROM backtest_state WHERE finished"
            ).fetchall()
        return {str(r[0]) for r in rows}

    def close(self) -> None:
        """Close the file."""
        self.con.close()


def _translate(path: Path, doing: str, exc: duckdb.Error) -> Exception:
    """Return the project's error for a DuckDB error while ``doing`` (open, read, write)."""
    text = str(exc)
    lower = text.lower()
    name = str(path)
    if "conflicting lock" in lower or "could not set lock" in lower:
        return StoreError(
            f"The 'store' file {name!r} is in use by another process (a sweep still running, "
            "or a program holding it open for writing). Wait for it to finish or close it, or "
            f"give another path. (DuckDB: {text})"
        )
    if "no space left on device" in lower or "disk quota exceeded" in lower:
        return StoreError(
            f"The 'store' file {name!r} could not be written: no space left on device. Free "
            "space on that disk, or give a store on another disk; every chunk committed before "
            f"is kept, and running the sweep again resumes from them. (DuckDB: {text})"
        )
    if "file too large" in lower:
        return StoreError(
            f"The 'store' file {name!r} could not be written: it reached the file-size limit "
            "of this process (ulimit -f). Raise the limit or give another path; every chunk "
            f"committed before is kept. (DuckDB: {text})"
        )
    if doing == "open":
        return DataError(
            f"The 'store' file {name!r} is not a DuckDB database this version can open (a "
            "foreign file, or a store that is truncated or corrupt). Give another path, or "
            f"restore the file from a copy. (DuckDB: {text})"
        )
    return DataError(
        f"The 'store' file {name!r} could not be {'read' if doing == 'read' else 'written'}: "
        "it is damaged (truncated or corrupt) or was changed by another program. Give another "
        f"path, or restore the file from a copy. (DuckDB: {text})"
    )

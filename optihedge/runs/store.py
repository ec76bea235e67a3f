"""A DuckDB file that keeps every finished chunk of a sweep, so a killed sweep loses nothing.

Tables (one file holds any number of sweeps, told apart by ``sweep_id``):

- ``optihedge_store(version)``: the schema's version; a file without it, or with another
  version, is refused before any work;
- ``sweeps(sweep_id, created, n_points, keys)``;
- ``sweep_points(sweep_id, point, status, record)``: one row per solved point, its
  numbers as JSON (the columns differ between problems);
- ``sweep_weights(sweep_id, point, instrument, weight, notional, units)``.

Every chunk is written in one transaction: a chunk is in the file whole or not at all.
``(sweep_id, point)`` is a primary key: a point is never stored twice.

A store file is data, not code: it is opened with DuckDB's extension auto-install and
auto-load and every access outside the file turned off (a foreign file such as SQLite
fails there, with no network attempt), and a file that holds views or macros, or tables
whose columns differ from these (types, defaults, generated columns), is refused before
any query reads it. Every DuckDB error becomes a :class:`~optihedge.errors.DataError`
(a damaged or foreign file) or a :class:`~optihedge.errors.StoreError` (a file in use by
another process, a full disk) that names the file and the fix.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from optihedge.errors import DataError, SpecificationError, StoreError

__all__ = ["SCHEMA_VERSION", "Store"]

SCHEMA_VERSION = 1
_TABLES = {
    "optihedge_store": ["version"],
    "sweeps": ["sweep_id", "created", "n_points", "keys"],
    "sweep_points": ["sweep_id", "point", "status", "record"],
    "sweep_weights": ["sweep_id", "point", "instrument", "weight", "notional", "units"],
}
# (column, type) of each table, as DuckDB reports them
_TYPES = {
    "optihedge_store": [("version", "INTEGER")],
    "sweeps": [
        ("sweep_id", "VARCHAR"),
        ("created", "TIMESTAMP"),
        ("n_points", "INTEGER"),
        ("keys", "VARCHAR"),
    ],
    "sweep_points": [
        ("sweep_id", "VARCHAR"),
        ("point", "INTEGER"),
        ("status", "VARCHAR"),
        ("record", "VARCHAR"),
    ],
    "sweep_weights": [
        ("sweep_id", "VARCHAR"),
        ("point", "INTEGER"),
        ("instrument", "VARCHAR"),
        ("weight", "DOUBLE"),
        ("notional", "DOUBLE"),
        ("units", "DOUBLE"),
    ],
}
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
_DDL = [
    "CREATE TABLE IF NOT EXISTS optihedge_store (version INTEGER)",
    "CREATE TABLE IF NOT EXISTS sweeps (sweep_id VARCHAR PRIMARY KEY, created TIMESTAMP, "
    "n_points INTEGER, keys VARCHAR)",
    "CREATE TABLE IF NOT EXISTS sweep_points (sweep_id VARCHAR, point INTEGER, status VARCHAR, "
    "record VARCHAR, PRIMARY KEY (sweep_id, point))",
    "CREATE TABLE IF NOT EXISTS sweep_weights (sweep_id VARCHAR, point INTEGER, instrument "
    "VARCHAR, weight DOUBLE, notional DOUBLE, units DOUBLE, PRIMARY KEY (sweep_id, point, "
    "instrument))",
]


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


class Store:
    """The sweep store in one DuckDB file (opened for the sweep, closed after it).

    Raises
    ------
    SpecificationError
        A path that cannot be written (no folder, no permission, a directory), or that
        is not a local file (``":memory:"``, ``"md:..."``, a URL).
    DataError
        A DuckDB file with another schema, views or macros, a file that is not a DuckDB
        database, a damaged one, or stored points without their weights.
    StoreError
        A file in use by another process, or a full disk.
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
        for name, columns in _TABLES.items():
            if name in present and [c for c, _ in present[name]] != columns:
                raise DataError(
                    f"The 'store' file {str(self.path)!r} has a table {name!r} with columns "
                    f"{[c for c, _ in present[name]]}, not the {columns} this version writes; "
                    "give another path."
                )
            if name in present and present[name] != _TYPES[name]:
                raise DataError(
                    f"The 'store' file {str(self.path)!r} has a table {name!r} with types "
                    f"{[t for _, t in present[name]]}, not the {[t for _, t in _TYPES[name]]} "
                    "this version writes; give another path."
                )
        if odd or (present and set(present) != set(_TABLES)):
            raise DataError(
                f"The 'store' file {str(self.path)!r} has tables or columns optihedge does not "
                f"write ({sorted({*odd, *(set(present) - set(_TABLES))})[:5]}"
                f"{'' if set(_TABLES) <= set(present) else ', tables missing'}); give another "
                "path."
            )
        if "optihedge_store" in present:
            version = self.con.execute("SELECT max(version) FROM optihedge_store").fetchone()
            if version is None or version[0] != SCHEMA_VERSION:
                raise DataError(
                    f"The 'store' file {str(self.path)!r} has schema version "
                    f"{None if version is None else version[0]}, not {SCHEMA_VERSION}; give "
                    "another path."
                )
            return
        self.con.execute("BEGIN TRANSACTION")
        for statement in _DDL:
            self.con.execute(statement)
        self.con.execute("INSERT INTO optihedge_store VALUES (?)", [SCHEMA_VERSION])
        self.con.execute("COMMIT")

    def register(self, sweep_id: str, n_points: int, keys: Sequence[str]) -> None:
        """Record the sweep (once)."""
        with self._errors("write"):
            self.con.execute(
                "INSERT INTO sweeps VALUES (?, now(), ?, ?) ON CONFLICT DO NOTHING",
                [sweep_id, n_points, json.dumps(list(keys))],
            )

    def done(self, sweep_id: str) -> set[int]:
        """Point numbers already stored for the sweep."""
        with self._errors("read"):
            rows = self.con.execute(
                "SELECT point FROM sweep_points WHERE sweep_id = ?", [sweep_id]
            ).fetchall()
        return {int(r[0]) for r in rows}

    def write(
        self, sweep_id: str, records: Sequence[dict[str, Any]], weights: pd.DataFrame
    ) -> None:
        """Write one chunk's points and weights in one transaction."""
        points = pd.DataFrame(
            {
                "sweep_id": sweep_id,
                "point": [int(r["point"]) for r in records],
                "status": [str(r["status"]) for r in records],
                "record": [json.dumps({k: _json_value(v) for k, v in r.items()}) for r in records],
            }
        )
        w = weights.assign(sweep_id=sweep_id)[_TABLES["sweep_weights"]]
        with self._errors("write"):
            self.con.register("chunk_points", points)
            self.con.register("chunk_weights", w)
            try:
                self.con.execute("BEGIN TRANSACTION")
                try:
                    # a point solved again (resume=False) replaces what was stored, its
                    # weights too (a point that failed this time has none)
                    self.con.execute(
                        "DELETE FROM sweep_weights WHERE sweep_id = ? AND point IN "
                        "(SELECT point FROM chunk_points)",
                        [sweep_id],
                    )
                    self.con.execute(
                        "INSERT OR REPLACE INTO sweep_points SELECT * FROM chunk_points"
                    )
                    if len(w):
                        self.con.execute("INSERT INTO sweep_weights SELECT * FROM chunk_weights")
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
        self, sweep_id: str, instruments: Sequence[str]
    ) -> tuple[list[dict[str, Any]], pd.DataFrame]:
        """Every stored point's record and the weights of the sweep.

        Each stored point that did not fail must have one weight row per instrument (and a
        failed one none): a store that lost them is refused, not read as points without
        weights.
        """
        with self._errors("read"):
            rows = self.con.execute(
                "SELECT point, status, record FROM sweep_points WHERE sweep_id = ? ORDER BY point",
                [sweep_id],
            ).fetchall()
            weights = self.con.execute(
                "SELECT point, instrument, weight, notional, units FROM sweep_weights "
                "WHERE sweep_id = ? ORDER BY point, instrument",
                [sweep_id],
            ).df()
        records: list[dict[str, Any]] = []
        for point, status, text in rows:
            try:
                record = {k: _from_json(v) for k, v in json.loads(text).items()}
            except (ValueError, AttributeError) as exc:
                raise DataError(
                    f"The 'store' file {str(self.path)!r} holds a damaged record for point "
                    f"{point} ({exc}); give another path or run the sweep with resume=False."
                ) from exc
            if record.get("point") != point or record.get("status") != status:
                raise DataError(
                    f"The 'store' file {str(self.path)!r} holds a record for point {point} "
                    f"that names point {record.get('point')!r} and status "
                    f"{record.get('status')!r}; the file was changed by another program. Give "
                    "another path or run the sweep with resume=False."
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
                    "changed by another program); give another path or run the sweep with "
                    "resume=False."
                )
        if held:
            raise DataError(
                f"The 'store' file {str(self.path)!r} holds weights for points {sorted(held)[:5]} "
                "it has no record of; give another path or run the sweep with resume=False."
            )
        return records, weights

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

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
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from optihedge.errors import DataError, SpecificationError

__all__ = ["SCHEMA_VERSION", "Store"]

SCHEMA_VERSION = 1
_TABLES = {
    "optihedge_store": ["version"],
    "sweeps": ["sweep_id", "created", "n_points", "keys"],
    "sweep_points": ["sweep_id", "point", "status", "record"],
    "sweep_weights": ["sweep_id", "point", "instrument", "weight", "notional", "units"],
}
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
        A path that cannot be written (no folder, no permission, a directory).
    DataError
        A DuckDB file with another schema, or a file that is not a DuckDB database.
    """

    def __init__(self, path: str | Path) -> None:
        if not isinstance(path, str | Path) or not str(path):
            raise SpecificationError(
                f"The 'store' argument must be a file path (e.g. 'sweeps.duckdb'). Got {path!r}."
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
        try:
            self.con = duckdb.connect(str(self.path))
        except duckdb.Error as exc:
            raise DataError(
                f"The 'store' file {str(self.path)!r} is not a DuckDB database this version "
                f"can open ({exc}); give another path."
            ) from exc
        try:
            self._check_schema()
        except BaseException:
            self.con.close()
            raise

    def _check_schema(self) -> None:
        present = {
            name: [r[0] for r in self.con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position",
                [name],
            ).fetchall()]
            for (name,) in self.con.execute(
                "SELECT table_name FROM information_schema.tables"
            ).fetchall()
        }  # fmt: skip
        if present and "optihedge_store" not in present:
            raise DataError(
                f"The 'store' file {str(self.path)!r} holds other tables "
                f"({sorted(present)[:5]}) and no optihedge sweeps; give another path."
            )
        for name, columns in _TABLES.items():
            if name in present and present[name] != columns:
                raise DataError(
                    f"The 'store' file {str(self.path)!r} has a table {name!r} with columns "
                    f"{present[name]}, not the {columns} this version writes; give another path."
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
        self.con.execute(
            "INSERT INTO sweeps VALUES (?, now(), ?, ?) ON CONFLICT DO NOTHING",
            [sweep_id, n_points, json.dumps(list(keys))],
        )

    def done(self, sweep_id: str) -> set[int]:
        """Point numbers already stored for the sweep."""
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
        self.con.register("chunk_points", points)
        self.con.register("chunk_weights", w)
        self.con.execute("BEGIN TRANSACTION")
        try:
            # a point solved again (resume=False) replaces what was stored
            self.con.execute("INSERT OR REPLACE INTO sweep_points SELECT * FROM chunk_points")
            if len(w):
                self.con.execute("INSERT OR REPLACE INTO sweep_weights SELECT * FROM chunk_weights")
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        finally:
            self.con.unregister("chunk_points")
            self.con.unregister("chunk_weights")

    def load(self, sweep_id: str) -> tuple[list[dict[str, Any]], pd.DataFrame]:
        """Every stored point's record and the weights of the sweep."""
        rows = self.con.execute(
            "SELECT record FROM sweep_points WHERE sweep_id = ? ORDER BY point", [sweep_id]
        ).fetchall()
        records = [{k: _from_json(v) for k, v in json.loads(r[0]).items()} for r in rows]
        weights = self.con.execute(
            "SELECT point, instrument, weight, notional, units FROM sweep_weights "
            "WHERE sweep_id = ? ORDER BY point, instrument",
            [sweep_id],
        ).df()
        return records, weights

    def close(self) -> None:
        """Close the file."""
        self.con.close()

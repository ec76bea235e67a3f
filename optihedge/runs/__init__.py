"""Runs: many solves of one compiled problem, in parallel, kept in a DuckDB file.

The engine sweeps, backtests and the command line stand on: the runner
(:mod:`optihedge.runs.runner`: sequential, joblib or Dask; one compiled problem per
worker; progress; workers that end with their parent), the store
(:mod:`optihedge.runs.store`: runs and their rows by run id and kind, schema versioned,
an older store migrated on open) and the content fingerprint that names a run
(:mod:`optihedge.runs.fingerprint`). It imports no sweep: sweeps import it.
"""

from __future__ import annotations

from optihedge.runs.fingerprint import fingerprint, run_id
from optihedge.runs.runner import CONNECT_TIMEOUT, Progress, Task, run, work
from optihedge.runs.store import KINDS, SCHEMA_VERSION, Store

__all__ = [
    "CONNECT_TIMEOUT",
    "KINDS",
    "SCHEMA_VERSION",
    "Progress",
    "Store",
    "Task",
    "fingerprint",
    "run",
    "run_id",
    "work",
]

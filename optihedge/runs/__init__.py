"""Runs: many solves of one compiled problem, in parallel, kept in a DuckDB file.

The engine sweeps stand on (and the backtest and the command line will): the runner
(:mod:`optihedge.runs.runner`: sequential, joblib or Dask; one compiled problem per
worker; progress), the store (:mod:`optihedge.runs.store`: runs and their rows by run id
and kind, schema versioned) and the content fingerprint that names a run
(:mod:`optihedge.runs.fingerprint`). It imports no sweep: sweeps import it.
"""

from __future__ import annotations

from optihedge.runs.store import SCHEMA_VERSION, Store

__all__ = ["SCHEMA_VERSION", "Store"]

"""Solving a sweep's chunks: in this process, in joblib workers, or on a Dask cluster.

A worker receives the problem pickled (its recipe) once per sweep, compiles it once and
keeps it for every chunk of that sweep it solves; each point changes parameters (and
inputs, when they change) and re-solves. A point that fails (infeasible, unbounded, no
solver answer) is a record with its status and the reason, never an exception.

A joblib (loky) worker watches its parent: when the sweep's process dies (SIGKILL), the
worker ends within a second instead of idling for loky's five minutes.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from optihedge.errors import InfeasibleError, SolverFailedError, UnboundedError
from optihedge.measures import pnl
from optihedge.optimize.problem import HedgeProblem

__all__ = ["Task", "solve_chunk", "solve_task", "watch_parent"]

#: (point number, parameters, input labels) of each point of a chunk
Task = tuple[int, dict[str, float], dict[str, Any]]

# compiled problems of the sweeps this process works on, by sweep id
_COMPILED: dict[str, tuple[HedgeProblem, dict[str, Any], dict[str, Any]]] = {}
_KEEP = 4


def _problem(sweep_id: str, blob: bytes, inputs: dict[str, dict[Any, Any]]) -> HedgeProblem:
    if sweep_id not in _COMPILED:
        while len(_COMPILED) >= _KEEP:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[sweep_id] = (pickle.loads(blob), inputs, {})
    return _COMPILED[sweep_id][0]


def solve_task(
    sweep_id: str, blob: bytes, inputs: dict[str, dict[Any, Any]], chunk: Sequence[Task]
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Solve one chunk with this process's compiled copy of the sweep's problem."""
    problem = _problem(sweep_id, blob, inputs)
    held = _COMPILED[sweep_id][2]
    return solve_chunk(problem, inputs, chunk, held)


# the parent process this worker's watchdog thread watches (one thread per process)
_WATCHED: list[int] = []
_POLL = 0.5  # seconds between two looks at the parent


def watch_parent(parent: int) -> None:
    """Start (once) a thread that ends this process when ``parent`` is no longer its parent.

    The initializer of each joblib (loky) worker of a sweep: loky starts its workers as
    children of the process that runs the sweep, ``parent``. A worker whose parent was
    killed is adopted by another process (``os.getppid`` changes); it then exits at
    once, without cleanup (its results have no reader), and so does a worker whose
    parent died while it was starting.
    """
    if os.getppid() != parent:
        os._exit(1)
    if _WATCHED:
        return
    _WATCHED.append(parent)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_POLL)
        os._exit(1)

    threading.Thread(target=watch, name="optihedge-parent-watch", daemon=True).start()


def solve_chunk(
    problem: HedgeProblem,
    inputs: dict[str, dict[Any, Any]],
    chunk: Sequence[Task],
    held: dict[str, Any],
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Solve the points of ``chunk`` in order on ``problem``; records and weights.

    ``held`` maps each input key to the label the problem holds now (only inputs that
    change are passed on, so a run of points with the same inputs only re-solves).
    """
    records: list[dict[str, Any]] = []
    solved: list[int] = []
    positions: list[np.ndarray] = []
    labels = problem.data.instruments
    for point, params, input_labels in chunk:
        changed = {
            key: inputs[key][label]
            for key, label in input_labels.items()
            if held.get(key, _NOTHING) != label
        }
        record: dict[str, Any] = {"point": point, **params}
        record |= {key: str(label) for key, label in input_labels.items()}
        try:
            solution = problem.solve_point(params, **changed)
        except InfeasibleError as exc:
            record |= {"status": "infeasible", "message": str(exc)}
            records.append(record)
            held.update({k: input_labels[k] for k in changed})
            continue
        except (UnboundedError, SolverFailedError) as exc:
            kind = "unbounded" if isinstance(exc, UnboundedError) else "solver_failed"
            record |= {"status": kind, "message": str(exc)}
            records.append(record)
            held.update({k: input_labels[k] for k in changed})
            continue
        held.update({k: input_labels[k] for k in changed})
        positions.append(solution.positions)
        solved.append(point)
        record |= solution.record() | {"message": ""}
        records.append(record)
    # the chunk's weights in one table (not one frame per point)
    n = len(labels)
    x = np.concatenate(positions) if positions else np.zeros(0)
    capital = float(problem.portfolio.capital or 1.0)
    units = pnl.units(x, np.tile(problem.data.attribute("contract_value"), len(positions)))
    table = pd.DataFrame(
        {
            "point": np.repeat(np.asarray(solved, dtype=np.int64), n),
            "instrument": np.tile(np.array([str(i) for i in labels], dtype=object), len(solved)),
            "weight": x,
            "notional": x * capital,
            "units": units,
        }
    )
    return records, table


class _Nothing:
    pass


_NOTHING = _Nothing()

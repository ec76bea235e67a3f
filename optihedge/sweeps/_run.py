"""Solving a sweep's chunk on a compiled problem: the sweep's solve function for the runner.

The run engine (:mod:`optihedge.runs.runner`) gives each worker one compiled copy of the
problem per sweep and calls :func:`solve_chunk` with it for each chunk; each point
changes parameters (and inputs, when they change) and re-solves. A point that fails
(infeasible, unbounded, no solver answer) is a record with its status and the reason,
never an exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from optihedge.errors import InfeasibleError, SolverFailedError, UnboundedError
from optihedge.measures import pnl
from optihedge.optimize.problem import HedgeProblem

__all__ = ["Task", "solve_chunk"]

#: (point number, parameters, input labels) of each point of a chunk
Task = tuple[int, dict[str, float], dict[str, Any]]


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
        record |= solution.record() | {"message": solution.warning}
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

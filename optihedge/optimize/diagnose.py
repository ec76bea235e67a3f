"""Why a hedge problem is infeasible: the smallest set of limits that conflict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cvxpy as cp

from constraints import Compiled, Constraint
from constraints.errors import ConvexityError, NotDPPError
from optihedge.optimize.solve import INFEASIBLE

__all__ = ["conflicting_limits", "limit_groups", "name_the_culprit"]

Group = tuple[str, list[cp.Constraint]]


def limit_groups(named: Sequence[tuple[str, Compiled]], *, exact: bool) -> list[Group]:
    """Each compiled term's cvxpy constraints under its name (integer rows when exact)."""
    groups = [
        (
            name,
            [r.constraint for r in comp.rows]
            + (comp.integer.integer_rows if comp.integer is not None and exact else []),
        )
        for name, comp in named
    ]
    return [g for g in groups if g[1]]


def _feasible(groups: Sequence[Group], solver: str) -> bool:
    cons = [c for _, g in groups for c in g]
    if not cons:
        return True
    probe = cp.Problem(cp.Minimize(0), cons)
    probe.solve(solver=solver)
    return probe.status not in INFEASIBLE


def conflicting_limits(groups: Sequence[Group], solver: str) -> str:
    """Name a conflicting set by deletion: drop groups whose removal keeps infeasibility.

    ``groups`` pairs each limit's name with its cvxpy constraints. The result is
    irreducible: removing any group it names makes the rest feasible.
    """
    core = list(groups)
    for group in list(core):
        trial = [g for g in core if g is not group]
        if not _feasible(trial, solver):
            core = trial
    names = " with ".join(name for name, _ in core) or "the objective's own constraints"
    return (
        f"Hedge problem is infeasible: {names} conflict. Relax one of them (or move it to "
        "the objective as a penalty)."
    )


def name_the_culprit(
    objective: Any,
    compiled_objective: Any,
    constraints: Sequence[Constraint],
    compiled: Sequence[Compiled],
) -> None:
    """Raise ConvexityError or NotDPPError naming the term that makes a problem not DPP."""
    alone = cp.Problem(cp.Minimize(compiled_objective.expression), compiled_objective.constraints)
    if not alone.is_dcp():
        raise ConvexityError(f"{objective!r} is not DCP.")
    if not alone.is_dpp():
        raise NotDPPError(f"{objective!r} is not DPP; it would recompile every solve.")
    for c, comp in zip(constraints, compiled, strict=True):
        c.check(comp)
    raise NotDPPError("The hedge problem is not DPP.")

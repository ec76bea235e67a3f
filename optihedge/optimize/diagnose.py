"""Why a hedge problem is infeasible: the smallest set of limits that conflict."""

from __future__ import annotations

from collections.abc import Sequence

import cvxpy as cp

from optihedge.optimize.solve import INFEASIBLE

__all__ = ["conflicting_limits"]

Group = tuple[str, list[cp.Constraint]]


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

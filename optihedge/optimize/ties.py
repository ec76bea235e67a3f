r"""Exact ties: instruments that carry the same risk per unit, and how to choose among them.

When instruments are collinear in everything the objective reads (their exposures, and
their scenario returns when the objective reads scenarios), the risk depends only on
each tied group's net position along its shared direction, :math:`s_g = a_g^\top x_g`.
The solver's split within the group is then arbitrary (an inverse ETF with a 0.88% fee
beside a free future). optihedge breaks such ties lexicographically, after the risk
solve and only when ties exist: every untied position and every :math:`s_g` is fixed at
the optimum, and the split minimises

.. math:: f(x) + \epsilon_1 \sum_{i \in T} c_i |x_i|
          + \epsilon_2 \sum_g \lVert P_g x_g \rVert^2

under copies of the same limits: :math:`f` is the user's own objective (its risk part
is constant there, so only its cost terms, if any, choose), :math:`c_i` the trading
cost, absolute carry and borrow fee per unit, and :math:`P_g = I - a_g a_g^\top /
a_g^\top a_g` (zero along the risk direction, so equal costs split in proportion to
:math:`a_g`). The risk, the objective's value and the limits' shadow prices are those of
the first solve.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import cvxpy as cp
import numpy as np
import pandas as pd

from constraints import HedgeData

__all__ = ["TieBreaker", "tie_notes", "tied_groups"]

_COST = 1e-3  # a thousandth of the user's own cost terms (weight 1): they choose first
_RIDGE = 1e-7
# the second stage is small; its cost differences are small too: solve it tightly
# (at 1e-12 Clarabel was seen to report "optimal" for a point far outside the limits:
# the answer is checked, not trusted)
_TIGHT = {"CLARABEL": {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}}
_FEASIBLE = 1e-7
_HOLD = 1e-9  # positions of the first stage are held to this (fractions of capital)


def _directions(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column as a unit vector with its first non-zero entry positive.

    Returns the unit columns (rounded to 12 decimals, so that exact ties compare equal)
    and a mask of the columns that are not zero.
    """
    norms = np.linalg.norm(columns, axis=0)
    live = norms > 0
    unit = columns[:, live] / norms[live]
    first = np.argmax(unit != 0, axis=0)
    unit = unit * np.sign(unit[first, np.arange(unit.shape[1])])
    out = np.zeros_like(columns)
    out[:, live] = unit
    return np.round(out, 12) + 0.0, live  # + 0.0: no -0.0 to make equal keys differ


def _profile(data: HedgeData, scenarios: bool, attributes: Sequence[str] = ()) -> np.ndarray:
    """Return what the objective reads of each instrument per unit, one column each.

    ``attributes`` are per-unit attributes the objective reads too (an option's gamma
    in a delta-gamma variance).
    """
    cols = [data.exposures.to_numpy(), *(data.attribute(a)[None, :] for a in attributes)]
    if scenarios and data.scenario_pnl is not None:
        cols.append(data.scenario_pnl)
    return np.vstack(cols)


def _same_direction(columns: np.ndarray) -> list[list[int]]:
    """Group the columns (by position) that are equal up to scale and sign."""
    unit, live = _directions(columns)
    groups: dict[bytes, list[int]] = {}
    for i in np.flatnonzero(live):
        groups.setdefault(unit[:, i].tobytes(), []).append(int(i))
    return [g for g in groups.values() if len(g) > 1]


def tied_groups(
    data: HedgeData, *, scenarios: bool, attributes: Sequence[str] = ()
) -> list[list[int]]:
    """Return the groups of instruments whose profile is the same up to scale and sign.

    The profile is the exposure column, and the scenario returns as well when the
    objective reads scenarios (a daily-reset inverse ETF is then not tied to a future:
    its path differs). Exposures are compared first; the long scenario columns only
    within the groups they leave, so a problem without ties costs nothing more.
    """
    groups = _same_direction(data.exposures.to_numpy())
    if (not scenarios or data.scenario_pnl is None) and not attributes:
        return groups
    out = []
    for group in groups:
        sub = _same_direction(_profile(data, scenarios, attributes)[:, group])
        out.extend([[group[i] for i in s] for s in sub])
    return out


class TieBreaker:
    """The second stage of a problem with ties: cheapest split at the same risk.

    Parameters
    ----------
    x : Variable
        The problem's positions.
    objective : Expression
        The user's objective (scaled), whose cost terms choose first.
    limits : list of Constraint
        The objective's auxiliary constraints and the problem's limits (copied, so that
        their duals stay the first stage's).
    groups : list of list of int
        Tied groups, from :func:`tied_groups`.
    scenarios : bool
        Whether the objective reads scenarios.
    """

    def __init__(
        self,
        x: cp.Variable,
        objective: cp.Expression,
        limits: Sequence[cp.Constraint],
        groups: list[list[int]],
        *,
        scenarios: bool,
        attributes: Sequence[str] = (),
    ) -> None:
        self.x, self.groups, self.scenarios = x, groups, scenarios
        self.attributes = tuple(attributes)
        self.objective = objective
        n = x.shape[0]
        tied = [i for g in groups for i in g]
        self.free = np.asarray(sorted(set(range(n)) - set(tied)), dtype=int)
        self.tied = np.asarray(tied, dtype=int)
        self.held = cp.Parameter(len(self.free))
        self.nets = [cp.Parameter() for _ in groups]
        self.sizes = [cp.Parameter(len(g)) for g in groups]
        self.cost = cp.Parameter(len(self.tied), nonneg=True)
        self.project = cp.Parameter((len(self.tied), len(self.tied)))
        fixed = [self.sizes[k] @ x[g] == self.nets[k] for k, g in enumerate(groups)]
        if len(self.free):
            fixed.append(x[self.free] == self.held)
        xt = x[self.tied]
        self.goal = cp.Minimize(
            objective
            + cp.sum(cp.multiply(self.cost, cp.abs(xt)))
            + cp.sum_squares(self.project @ xt)
        )
        self.limits = list(limits)
        self.problem = cp.Problem(self.goal, [c.copy() for c in limits] + fixed)
        self._held: cp.Problem | None = None

    @property
    def held_problem(self) -> cp.Problem:
        """The split with the first stage held within :data:`_HOLD`, not exactly.

        The first stage's point may sit 1e-10 outside a limit; held exactly, the split is
        then infeasible (and Clarabel was seen to call such a split "optimal" at a point
        1e16 outside the limits). Built the first time it is needed.
        """
        if self._held is None:
            x = self.x
            hold = [
                cp.abs(self.sizes[k] @ x[g] - self.nets[k]) <= _HOLD
                for k, g in enumerate(self.groups)
            ]
            if len(self.free):
                hold.append(cp.abs(x[self.free] - self.held) <= _HOLD)
            self._held = cp.Problem(self.goal, [c.copy() for c in self.limits] + hold)
        return self._held

    def refresh(self, data: HedgeData) -> None:
        """Set the costs, the groups' directions and the projections from ``data``."""
        rate = (
            data.attribute("cost")
            + np.abs(data.attribute("carry_long"))
            + np.maximum(data.attribute("carry_short"), 0.0)
        )
        # in the scaled objective's units, like the user's own cost terms
        self.cost.value = _COST * data.objective_scale * rate[self.tied]
        profile = _profile(data, self.scenarios, self.attributes)
        blocks = []
        for k, group in enumerate(self.groups):
            cols = profile[:, group]
            u = cols[:, np.argmax(np.linalg.norm(cols, axis=0))]
            a = cols.T @ u / (u @ u)  # each member's size along the shared direction
            self.sizes[k].value = a
            blocks.append(np.eye(len(group)) - np.outer(a, a) / (a @ a))
        p = np.zeros((len(self.tied), len(self.tied)))
        start = 0
        for block in blocks:
            p[start : start + len(block), start : start + len(block)] = block
            start += len(block)
        self.project.value = np.sqrt(_RIDGE) * p

    def choose(self, x_opt: np.ndarray, optimum: float, solver: str, first: bool) -> bool:
        """Re-split the tied positions of ``x_opt``; True if the second stage solved.

        An inaccurate or failed second stage is not used (the caller keeps ``x_opt`` and
        says so): the solver's warning is recorded and acted on here, not passed on, and
        its answer must satisfy every limit and keep the user's objective.
        """
        if len(self.free):
            self.held.value = x_opt[self.free]
        for k, group in enumerate(self.groups):
            assert self.sizes[k].value is not None
            self.nets[k].value = float(self.sizes[k].value @ x_opt[group])
        if self._solve_checked(self.problem, solver, first, _TIGHT.get(solver, {}), optimum):
            return True
        # the first stage held within the solver's accuracy (see held_problem)
        fresh = self._held is None
        return self._solve_checked(
            self.held_problem, solver, fresh, _TIGHT.get(solver, {}), optimum
        ) or self._solve_checked(self.held_problem, solver, False, {}, optimum)

    def _solve_checked(
        self,
        problem: cp.Problem,
        solver: str,
        first: bool,
        options: dict[str, float],
        optimum: float,
    ) -> bool:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                problem.solve(solver=solver, ignore_dpp=first, **options)
            except cp.error.SolverError:
                return False
        if problem.status != cp.OPTIMAL or caught:
            return False
        feasible = all(
            float(np.max(np.atleast_1d(c.violation()), initial=0.0)) <= _FEASIBLE
            for c in problem.constraints
        )
        kept = float(self.objective.value) <= optimum + _FEASIBLE * max(1.0, abs(optimum))
        return feasible and kept

    def apply(self, optimum: float, solver: str, first: bool) -> str:
        """Re-split the positions the risk solve left in ``x``; say what happened."""
        x_opt = np.array(self.x.value, dtype=np.float64)
        if self.choose(x_opt, optimum, solver, first):
            return "cheapest split at the same risk"
        self.x.value = x_opt  # keep the risk solve's split
        return "not applied: the split problem did not solve"


def tie_notes(
    labels: pd.Index,
    groups: list[list[int]],
    applied: bool,
    exposures: np.ndarray | None = None,
) -> list[str]:
    """Return one note per tied group for the result.

    With ``exposures`` (assets x instruments, per unit), the note states how much of the
    first instrument's risk each other one carries per unit (an option: its delta, a
    short-index product: -1), instead of calling them the same.
    """
    how = (
        "the split is the cheapest (cost and carry) at the same risk"
        if applied
        else "with whole contracts the split is the solver's"
    )
    notes = []
    for group in groups:
        names = ", ".join(str(labels[i]) for i in group)
        scales = []
        if exposures is not None:
            first = exposures[:, group[0]]
            scales = [float(exposures[:, i] @ first / (first @ first)) for i in group[1:]]
        if all(abs(s - 1.0) <= 1e-9 for s in scales):
            what = "carry the same risk per unit"
        elif all(abs(abs(s) - 1.0) <= 1e-9 for s in scales):
            opposite = ", ".join(
                str(labels[i]) for i, s in zip(group[1:], scales, strict=True) if s < 0
            )
            what = f"carry the same risk per unit ({opposite} in the opposite direction)"
        else:
            ratios = "; ".join(
                f"one unit of {labels[i]} carries {s:.4g} times the exposure of one unit of "
                f"{labels[group[0]]}"
                for i, s in zip(group[1:], scales, strict=True)
            )
            what = f"carry the same risk up to scale ({ratios})"
        notes.append(f"{names} {what}, so the objective cannot choose between them; {how}.")
    return notes

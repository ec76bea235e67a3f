"""Whole contracts: an exact MIP where a solver allows, a documented rounding search otherwise.

Exact: integer variables, solved by HiGHS when the objective is linear (expected
shortfall, costs: a MILP, with a 1e-9 relative gap) or by SCIP when it is quadratic
(``pip install optihedge[mip]``). Limits are then priced by re-solving with the contracts
fixed at the integer optimum (a continuous problem has duals).

Rounding search: solve the continuous relaxation, then evaluate every floor/ceiling
combination of the contract counts (up to 10 instruments; beyond that, nearest rounding
improved by one-contract moves), re-optimising the other positions for each, and keep
the best feasible one.

Either way the answer is then checked (:func:`polish`): against the floor/ceiling
neighbours of the continuous optimum, then improved by moves of the counts (one
contract, or the step a quadratic through three neighbours points to) until none gains.
Candidates are compared by the objective's exact difference (``CompiledObjective.
difference``), not by two solver values: a position is a count times one contract's
value, which at a USD 1bn book and a USD 13 share is about 1e-8 of capital, and the
objectives of neighbouring counts differ below the solvers' tolerances. Above
:data:`MAX_MIP_COUNT` contracts in any position the MIP is not run at all (its
integrality and feasibility tolerances, about 1e-6, are then more than a contract): the
search is used, and the result's notes say so.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np

from constraints import IntegerPart
from optihedge.errors import InfeasibleError, SpecificationError
from optihedge.measures.pnl import units
from optihedge.optimize.solve import OK

__all__ = [
    "MAX_MIP_COUNT",
    "IntegerPlan",
    "Polished",
    "counts_of",
    "fix",
    "integer_plan",
    "polish",
]

_MAX_ENUMERATED = 10
#: above this many contracts in a position, whole contracts skip the MIP (see the module)
MAX_MIP_COUNT = 1_000_000
_MAX_MOVES = 200  # rounds of moves of the polish (each tries every count)
_MAX_LATTICE = 100_000  # lattice points of a quadratic model's ellipsoid enumerated

Solve = Callable[[cp.Problem, bool], tuple[str, dict[str, Any]]]
Difference = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class IntegerPlan:
    """How whole positions are solved: exactly (and with which solvers) or by rounding."""

    wanted: bool
    exact: bool
    solvers: tuple[str, ...] = ()


def integer_plan(methods: set[str], quadratic: bool) -> IntegerPlan:
    """Choose the method from what the terms ask for and the installed solvers.

    Raises
    ------
    SpecificationError
        If terms ask for different methods, or for ``"exact"`` with no solver for it.
    """
    if not methods:
        return IntegerPlan(wanted=False, exact=False)
    if len(methods) > 1:
        raise SpecificationError(
            f"Whole-contract constraints ask for different methods {sorted(methods)}; use one."
        )
    installed = cp.installed_solvers()
    linear = not quadratic and "HIGHS" in installed
    have_exact = linear or "SCIP" in installed
    method = methods.pop()
    if method == "exact" and not have_exact:
        raise SpecificationError(
            "WholeContracts(method='exact') with a quadratic objective needs the SCIP "
            "solver: pip install 'optihedge[mip]'. Or use method='rounding'."
        )
    solvers = ("HIGHS", "SCIP") if linear else ("SCIP",)
    exact = method == "exact" or (method == "auto" and have_exact)
    return IntegerPlan(wanted=True, exact=exact, solvers=solvers)


def _units(part: IntegerPart, contract_value: np.ndarray) -> np.ndarray:
    return np.asarray(contract_value[part.index], dtype=np.float64)


def _fix(parts: Sequence[IntegerPart], counts: Sequence[np.ndarray], cv: np.ndarray) -> None:
    for part, k in zip(parts, counts, strict=True):
        part.target.value = _units(part, cv) * k


def counts_of(x: np.ndarray, parts: Sequence[IntegerPart], cv: np.ndarray) -> list[np.ndarray]:
    """Contract counts (not rounded) of positions ``x``, part by part."""
    return [units(np.asarray(x[p.index], dtype=np.float64), _units(p, cv)) for p in parts]


def _roundings(
    x: np.ndarray, parts: Sequence[IntegerPart], cv: np.ndarray
) -> Iterator[list[np.ndarray]]:
    per = [x[p.index] / _units(p, cv) for p in parts]
    if sum(len(v) for v in per) <= _MAX_ENUMERATED:
        choices = [list(itertools.product(*[(np.floor(k), np.ceil(k)) for k in v])) for v in per]
        seen = set()
        for combo in itertools.product(*choices):
            sig = tuple(float(v) for c in combo for v in c)
            if sig not in seen:
                seen.add(sig)
                yield [np.array(c) for c in combo]
        return
    base = [np.round(v) for v in per]
    yield base
    for i, b in enumerate(base):
        for j in range(len(b)):
            for step in (-1.0, 1.0):
                moved = [v.copy() for v in base]
                moved[i][j] += step
                yield moved


@dataclass(frozen=True)
class Polished:
    """The checked whole-contract answer: counts part by part and how it was reached.

    ``start_beaten``: a rounding or a move beat the starting point (the MIP's answer).
    """

    counts: list[np.ndarray]
    roundings_tried: int
    moves_tried: int
    start_beaten: bool


@dataclass
class _Point:
    counts: np.ndarray  # flat, in part order
    x: np.ndarray
    value: float


class _Search:
    """Evaluate whole-contract candidates (the other positions re-optimised) and compare."""

    def __init__(
        self,
        fixed: cp.Problem,
        parts: Sequence[IntegerPart],
        cv: np.ndarray,
        x: cp.Variable,
        solve: Solve,
        difference: Difference | None,
    ) -> None:
        self.fixed, self.parts, self.cv, self.x = fixed, parts, cv, x
        self.solve, self.difference = solve, difference
        self.sizes = np.cumsum([len(p.index) for p in parts])[:-1]
        self.seen: dict[tuple[float, ...], _Point | None] = {}
        self.noise = 0.0  # relative solver noise a MIP's answer must be beaten by

    def split(self, flat: np.ndarray) -> list[np.ndarray]:
        return list(np.split(flat, self.sizes))

    def evaluate(self, flat: np.ndarray) -> _Point | None:
        key = tuple(float(v) for v in flat)
        if key in self.seen:
            return self.seen[key]
        _fix(self.parts, self.split(flat), self.cv)
        status, _ = self.solve(self.fixed, False)
        point = None
        if status in OK:
            xv = np.array(self.x.value, dtype=np.float64)
            for part in self.parts:
                xv[part.index] = part.target.value  # whole contracts exactly
            point = _Point(flat.copy(), xv, float(self.fixed.value))
        self.seen[key] = point
        return point

    def gain(self, a: _Point, b: _Point) -> float:
        """How much ``a`` lowers the objective against ``b`` (> 0: ``a`` is better)."""
        if self.difference is not None:
            return -self.difference(a.x, b.x)
        # solver values: coarse; a MIP's answer gives way only beyond the solver's accuracy
        margin = max(1e-15, self.noise * max(1.0, abs(b.value)))
        return b.value - a.value - margin

    def better(self, a: _Point | None, b: _Point | None) -> bool:
        return a is not None and (b is None or self.gain(a, b) > 0.0)

    def moves(self, best: _Point) -> _Point:
        """Move one count at a time (one contract, the quadratic's step, doubling)."""
        for _ in range(_MAX_MOVES):
            moved = False
            for j in range(len(best.counts)):
                unit = np.zeros(len(best.counts))
                unit[j] = 1.0
                up, down = self.evaluate(best.counts + unit), self.evaluate(best.counts - unit)
                steps: list[float] = []
                if up is not None and down is not None:
                    slope_up, slope_down = -self.gain(up, best), -self.gain(down, best)
                    curvature = slope_up + slope_down
                    if curvature > 0.0:
                        step = -(slope_up - slope_down) / (2.0 * curvature)
                        if 1.5 <= abs(step) < 1e15:  # beyond one contract, and finite
                            steps.append(float(np.round(step)))
                step_best = best
                for candidate in (up, down):
                    if self.better(candidate, step_best):
                        assert candidate is not None
                        step_best = candidate
                for length in steps:
                    jump = self.evaluate(best.counts + length * unit)
                    if self.better(jump, step_best):
                        assert jump is not None
                        step_best = jump
                if step_best is not best:  # then keep going while it gains, doubling
                    direction = step_best.counts[j] - best.counts[j]
                    while True:
                        further = self.evaluate(step_best.counts + direction * unit)
                        if not self.better(further, step_best):
                            break
                        assert further is not None
                        step_best, direction = further, 2.0 * direction
                    best, moved = step_best, True
            if not moved:
                jump = self.quadratic_step(best)
                if jump is None:
                    break
                best = jump
        return best

    def quadratic_step(self, best: _Point) -> _Point | None:
        r"""Return the best lattice point of the objective's quadratic model around ``best``.

        One-contract moves stall in a valley (instruments on correlated indices): the
        better counts lie along a diagonal. The model :math:`q(d) = g^\top d +
        \tfrac12 d^\top H d` is measured by exact differences at ``best``, its steps
        and its pairwise steps (exact for a quadratic objective); the lattice points in
        its ellipsoid :math:`q(d) \le 0` are enumerated (up to :data:`_MAX_LATTICE`
        of them), and the model's best is kept if the objective confirms it. None when
        the model is not convex, a neighbour is infeasible, or nothing gains.
        """
        if self.difference is None:
            return None
        n = len(best.counts)
        eye = np.eye(n)

        def change(d: np.ndarray) -> float | None:
            point = self.evaluate(best.counts + d)
            return None if point is None else -self.gain(point, best)

        ups = [change(eye[i]) for i in range(n)]
        downs = [change(-eye[i]) for i in range(n)]
        if any(v is None for v in ups + downs):
            return None
        up, down = np.array(ups, dtype=float), np.array(downs, dtype=float)
        g = (up - down) / 2.0
        h = np.diag(up + down)
        for i, j in itertools.combinations(range(n), 2):
            both = change(eye[i] + eye[j])
            if both is None:
                return None
            h[i, j] = h[j, i] = both - g[i] - g[j] - (h[i, i] + h[j, j]) / 2.0
        try:
            inverse = np.linalg.inv(h)
            np.linalg.cholesky(h)
        except np.linalg.LinAlgError:
            return None
        centre = -inverse @ g
        radius = max(-0.5 * float(g @ centre), 0.0)  # q(0) - q(centre)
        half = np.sqrt(2.0 * radius * np.maximum(np.diag(inverse), 0.0))
        axes = [
            np.arange(np.ceil(c - w), np.floor(c + w) + 1.0)
            for c, w in zip(centre, half, strict=True)
        ]
        if any(len(a) == 0 for a in axes) or np.prod([len(a) for a in axes]) > _MAX_LATTICE:
            return None
        lattice = np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, n)
        model = lattice @ g + 0.5 * np.einsum("ij,jk,ik->i", lattice, h, lattice)
        step = lattice[int(np.argmin(model))]
        if not step.any():
            return None
        jump = self.evaluate(best.counts + step)
        return jump if self.better(jump, best) else None


def polish(
    start: list[np.ndarray] | None,
    x_relaxed: np.ndarray,
    fixed: cp.Problem,
    parts: Sequence[IntegerPart],
    contract_value: np.ndarray,
    x: cp.Variable,
    solve: Solve,
    difference: Difference | None,
) -> Polished:
    """Return the best of ``start``, the continuous optimum's roundings, and moves from it.

    ``solve(problem, diagnose)`` runs the solver; ``fixed`` is the problem with every
    part's positions fixed to its ``target`` (the other positions are re-optimised for
    every candidate). ``difference(a, b)``: the objective at ``a`` minus at ``b``,
    computed exactly; None compares the solver's objective values (then without moves,
    and ``start`` gives way only to a gain beyond 1e-9 relative).

    Raises
    ------
    InfeasibleError
        If no candidate satisfies every limit.
    """
    search = _Search(fixed, parts, contract_value, x, solve, difference)
    best: _Point | None = None
    first: _Point | None = None
    if start is not None:
        best = first = search.evaluate(np.concatenate(start))
        search.noise = 1e-9
    tried = 0
    for counts in _roundings(x_relaxed, parts, contract_value):
        tried += 1
        point = search.evaluate(np.concatenate(counts))
        if search.better(point, best):
            best = point
    if best is None:
        raise InfeasibleError(
            f"No whole-contract position among {tried} roundings of the continuous optimum "
            "satisfies every limit. Install the 'mip' extra for an exact search, or relax a "
            "limit."
        )
    evaluated = len(search.seen)
    if difference is not None:  # moves need exact comparisons (solver noise would walk)
        best = search.moves(best)
    return Polished(
        search.split(best.counts),
        tried,
        len(search.seen) - evaluated,
        first is not None and best is not first,
    )


def fix(parts: Sequence[IntegerPart], counts: Sequence[np.ndarray], cv: np.ndarray) -> None:
    """Fix every part's positions at ``counts`` contracts."""
    _fix(parts, counts, cv)

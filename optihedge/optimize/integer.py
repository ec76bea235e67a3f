"""Whole contracts: an exact MIP where a solver allows, a documented rounding search otherwise.

Exact: integer variables, solved by HiGHS when the objective is linear (expected
shortfall, costs: a MILP, with a 1e-9 relative gap) or by SCIP when it is quadratic
(``pip install optihedge[mip]``). Limits are then priced by re-solving with the contracts
fixed at the integer optimum (a continuous problem has duals).

Rounding search: solve the continuous relaxation, then evaluate every floor/ceiling
combination of the contract counts (up to 10 instruments; beyond that, nearest rounding
improved by one-contract moves), re-optimising the other positions for each, and keep
the best feasible one. It is exact among those roundings, not globally; tests compare
it with brute-force enumeration on small cases.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np

from constraints import IntegerPart
from optihedge.errors import InfeasibleError, SolverFailedError, SpecificationError
from optihedge.optimize.solve import OK

__all__ = ["IntegerPlan", "integer_plan", "price_limits", "search_roundings"]

_MAX_ENUMERATED = 10

Solve = Callable[[cp.Problem, bool], tuple[str, dict[str, Any]]]


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


def search_roundings(
    relaxed: cp.Problem,
    fixed: cp.Problem,
    parts: Sequence[IntegerPart],
    contract_value: np.ndarray,
    x: cp.Variable,
    solve: Solve,
) -> tuple[str, dict[str, Any]]:
    """Solve the relaxation, then the best feasible rounding of its contract counts.

    ``solve(problem, diagnose)`` runs the solver; ``fixed`` is the problem with every
    part's positions fixed to its ``target``.
    """
    solve(relaxed, True)
    x_relaxed = np.asarray(x.value, dtype=np.float64)
    best: tuple[float, list[np.ndarray]] | None = None
    tried = 0
    for counts in _roundings(x_relaxed, parts, contract_value):
        tried += 1
        _fix(parts, counts, contract_value)
        status, _ = solve(fixed, False)
        if status in OK and (best is None or fixed.value < best[0] - 1e-15):
            best = (float(fixed.value), counts)
    if best is None:
        raise InfeasibleError(
            f"No whole-contract position among {tried} roundings of the continuous optimum "
            "satisfies every limit. Install the 'mip' extra for an exact search, or relax a "
            "limit."
        )
    _fix(parts, best[1], contract_value)
    status, stats = solve(fixed, True)
    stats["roundings_tried"] = tried
    return status, stats


def price_limits(
    mip: cp.Problem,
    fixed: cp.Problem,
    parts: Sequence[IntegerPart],
    contract_value: np.ndarray,
    x: cp.Variable,
    solver: str,
) -> None:
    """Re-solve with the integer contracts fixed so that every limit has a dual."""
    xv = np.asarray(x.value, dtype=np.float64)
    _fix(parts, [np.round(xv[p.index] / _units(p, contract_value)) for p in parts], contract_value)
    mip_value = float(mip.value)
    fixed.solve(solver=solver)
    tolerance = 1e-6 * max(1.0, abs(mip_value))
    if fixed.status not in OK or abs(fixed.value - mip_value) > tolerance:
        raise SolverFailedError(
            "Re-solving with the contracts fixed did not reproduce the integer optimum "
            f"({fixed.status}, {fixed.value!r} vs {mip_value!r})."
        )

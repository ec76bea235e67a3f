"""HiGHS on the LP's dual (optimize/dual_lp.py) against HiGHS on the primal, by cvxpy.

The reference is cvxpy's own HiGHS interface solving the primal (another formulation,
another basis); random LPs in general position have one optimum and one set of
multipliers, which both must give: objective, positions and every row's multiplier.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optihedge.optimize.dual_lp import HIGHS_DUAL, _dual, custom_solver, time_left

TIGHT = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


def random_lp(seed: int, rows: int, free: int, lower: int, upper: int) -> cp.Problem:
    """A feasible, bounded LP: every kind of column, equality and inequality rows."""
    rng = np.random.default_rng(seed)
    parts = [cp.Variable(free)] if free else []
    floor = rng.normal(size=lower)
    if lower:
        parts.append(cp.Variable(lower, bounds=[floor, None]))
    ceiling = rng.normal(size=upper)
    if upper:
        parts.append(cp.Variable(upper, bounds=[None, ceiling]))
    z = cp.hstack(parts) if len(parts) > 1 else parts[0]
    n = free + lower + upper
    a = rng.normal(size=(rows, n))
    start = rng.normal(size=n)
    if lower:
        start[free : free + lower] = floor + np.abs(start[free : free + lower]) + 0.1  # above
    if upper:
        start[free + lower :] = ceiling - np.abs(start[free + lower :]) - 0.1  # below
    slack = rng.uniform(0.1, 1.0, rows)
    e = rng.normal(size=(1, n))
    constraints = [
        a @ z <= a @ start + slack,
        e @ z == e @ start,
        z <= 20.0,  # bounded whatever the cost
        z >= -20.0,
    ]
    return cp.Problem(cp.Minimize(rng.normal(size=n) @ z), constraints)


def answer(problem: cp.Problem, solver: object) -> tuple[float, np.ndarray, list[np.ndarray]]:
    problem.solve(solver=solver, **TIGHT)
    assert problem.status == cp.OPTIMAL
    x = np.concatenate([np.atleast_1d(v.value) for v in problem.variables()])
    duals = [np.atleast_1d(np.asarray(c.dual_value, dtype=float)) for c in problem.constraints]
    return float(problem.value), x, duals


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 40),
    free=st.integers(0, 6),
    lower=st.integers(0, 6),
    upper=st.integers(0, 6),
)
def test_the_dual_gives_the_primal_optimum_positions_and_multipliers(
    seed: int, rows: int, free: int, lower: int, upper: int
) -> None:
    if free + lower + upper == 0:
        free = 1
    value, x, duals = answer(random_lp(seed, rows, free, lower, upper), "HIGHS")
    problem = random_lp(seed, rows, free, lower, upper)
    got_value, got_x, got_duals = answer(problem, HIGHS_DUAL)
    assert problem.solver_stats.solver_name == "HIGHS_DUAL"
    data, _, _ = problem.get_problem_data(HIGHS_DUAL)
    assert _dual(data, dict(TIGHT)) is not None  # answered by the dual, not the fallback
    assert got_value == pytest.approx(value, rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(got_x, x, rtol=1e-7, atol=1e-7)
    for got, want in zip(got_duals, duals, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-7)


def _chvatal() -> cp.Problem:
    """Chvatal, Linear Programming (1983), ch. 2: max 5x1 + 4x2 + 3x3 over three rows."""
    x = cp.Variable(3, nonneg=True)
    rows = [
        2 * x[0] + 3 * x[1] + x[2] <= 5,
        4 * x[0] + x[1] + 2 * x[2] <= 11,
        3 * x[0] + 4 * x[1] + 2 * x[2] <= 8,
    ]
    return cp.Problem(cp.Maximize(5 * x[0] + 4 * x[1] + 3 * x[2]), rows)


def test_a_textbook_lp_by_its_dual() -> None:
    """Chvatal, Linear Programming (1983), ch. 2: max 5x1 + 4x2 + 3x3, optimum 13 at (2, 0, 1).

    Constraints 2x1 + 3x2 + x3 <= 5, 4x1 + x2 + 2x3 <= 11, 3x1 + 4x2 + 2x3 <= 8, x >= 0;
    the book's dual answer is y = (1, 0, 1).
    """
    problem = _chvatal()
    (x,) = problem.variables()
    rows = problem.constraints
    problem.solve(solver=HIGHS_DUAL)
    assert problem.value == pytest.approx(13.0, abs=1e-12)
    np.testing.assert_allclose(x.value, [2.0, 0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose([r.dual_value for r in rows], [1.0, 0.0, 1.0], atol=1e-12)


def test_what_the_dual_cannot_answer_goes_to_the_primal() -> None:
    """Infeasible, unbounded, integer and boxed columns: HiGHS on the primal answers."""
    x = cp.Variable(2)
    infeasible = cp.Problem(cp.Minimize(cp.sum(x)), [x >= 1, cp.sum(x) <= 1])
    infeasible.solve(solver=HIGHS_DUAL)
    assert infeasible.status == cp.INFEASIBLE
    unbounded = cp.Problem(cp.Minimize(cp.sum(x)), [x[0] <= 1])
    unbounded.solve(solver=HIGHS_DUAL)
    assert unbounded.status == cp.UNBOUNDED  # as HiGHS on the primal says
    k = cp.Variable(2, integer=True)
    mip = cp.Problem(cp.Minimize(-cp.sum(k)), [2 * k[0] + 2 * k[1] <= 7, k >= 0])
    mip.solve(solver=HIGHS_DUAL)
    assert mip.value == pytest.approx(-3.0)
    boxed = cp.Variable(2, bounds=[np.array([-1.0, 0.0]), np.array([1.0, 2.0])])
    box = cp.Problem(cp.Minimize(boxed[0] - boxed[1]), [cp.sum(boxed) <= 1.5])
    box.solve(solver=HIGHS_DUAL)
    assert box.value == pytest.approx(-3.0)
    np.testing.assert_allclose(boxed.value, [-1.0, 2.0], atol=1e-9)


def test_a_refused_option_is_named() -> None:
    x = cp.Variable(2, nonneg=True)
    problem = cp.Problem(cp.Minimize(cp.sum(x)), [cp.sum(x) >= 1])
    with pytest.raises(ValueError, match="no_such_option"):
        problem.solve(solver=HIGHS_DUAL, no_such_option=1)


def test_the_solver_is_given_by_name() -> None:
    assert custom_solver("HIGHS_DUAL") is HIGHS_DUAL
    assert custom_solver("CLARABEL") == "CLARABEL"


def test_tolerances_named_for_the_primal_bind_the_primal() -> None:
    """The primal's row tolerance is the dual's reduced-cost one: the option is carried over.

    Asked for rows met to 1e-10 and loose optimality (0.2), the rows must hold to 1e-9
    (applied to the dual's own rows, the same options had left rows missed by 0.2).
    """
    rng = np.random.default_rng(0)
    options = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 0.2}
    worst = 0.0
    for _ in range(300):
        x = cp.Variable(4)
        a, b = rng.normal(size=(12, 4)), rng.normal(size=12) * 0.1 + 0.05
        rows = [a @ x <= b, x <= 3, x >= -3]
        problem = cp.Problem(cp.Minimize(rng.normal(size=4) @ x), rows)
        problem.solve(solver=HIGHS_DUAL, **options)
        if problem.status == cp.OPTIMAL:
            worst = max(worst, max(float(np.max(r.violation())) for r in rows))
    assert worst <= 1e-9


@pytest.mark.parametrize("far", [1e6, 1e9, 1e12])
def test_far_bounds_lose_no_digits(far: float) -> None:
    """A bound far from the answer: rebuilt from the dual it would lose digits (checked)."""
    rng = np.random.default_rng(3)
    x = cp.Variable(5, bounds=[np.full(5, -far), None])
    a, start = rng.normal(size=(8, 5)), rng.normal(size=5)
    rows = [a @ x <= a @ start + 0.3, x <= 3, x >= -3]
    cost = rng.normal(size=5)
    primal = cp.Problem(cp.Minimize(cost @ x + 0.123), rows)
    primal.solve(solver="HIGHS", **TIGHT)
    want, want_x = float(primal.value), x.value.copy()
    problem = cp.Problem(cp.Minimize(cost @ x + 0.123), rows)
    data, _, _ = problem.get_problem_data(HIGHS_DUAL)
    assert _dual(data, dict(TIGHT)) is not None  # the dual answers: no fallback
    problem.solve(solver=HIGHS_DUAL, **TIGHT)
    assert problem.value == pytest.approx(want, rel=1e-9)
    np.testing.assert_allclose(x.value, want_x, atol=1e-9)
    assert max(float(np.max(r.violation())) for r in rows) <= 1e-9


@pytest.mark.parametrize("verbose", [True, False])
def test_verbose_shows_highs_log_of_the_dual_and_quiet_shows_none(
    verbose: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    problem = _chvatal()
    problem.solve(solver=HIGHS_DUAL, verbose=verbose)
    assert problem.value == pytest.approx(13.0, abs=1e-12)
    out = capfd.readouterr().out
    # HiGHS's report of the dual LP (its banner prints once a process: not checked)
    assert ("Model status        : Optimal" in out) is verbose
    assert ("Objective value     :  1.3000000000e+01" in out) is verbose


def test_the_primal_gets_what_the_dual_left_of_the_time_limit() -> None:
    assert time_left({"time_limit": 2.0, "presolve": "on"}, 0.5) == {
        "time_limit": 1.5,
        "presolve": "on",
    }
    assert time_left({"time_limit": 0.5}, 2.0) == {"time_limit": 0.0}  # spent: none left
    assert time_left({"presolve": "on"}, 9.0) == {"presolve": "on"}  # no limit, none set
    # a fallback with time left answers as the primal does
    x = cp.Variable(2)
    infeasible = cp.Problem(cp.Minimize(cp.sum(x)), [x >= 1, cp.sum(x) <= 1])
    infeasible.solve(solver=HIGHS_DUAL, time_limit=60.0)
    assert infeasible.status == cp.INFEASIBLE


def test_the_fallback_is_given_the_time_the_dual_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dual declines after 0.5 s (a clock that jumps); the primal gets 2.0 - 0.5 s."""
    from cvxpy.reductions.solvers.conic_solvers.highs_conif import HIGHS

    import optihedge.optimize.dual_lp as dual_lp

    clock = iter([100.0, 100.5])  # read by solve_via_data only: its module's clock
    given: list[dict[str, Any]] = []
    real = HIGHS.solve_via_data

    def primal(self: Any, data: Any, warm: Any, verbose: Any, opts: Any, *rest: Any) -> Any:
        given.append(dict(opts))
        return real(self, data, warm, verbose, opts, *rest)

    monkeypatch.setattr(dual_lp, "_dual", lambda *args: None)
    monkeypatch.setattr(dual_lp, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    monkeypatch.setattr(HIGHS, "solve_via_data", primal)
    problem = _chvatal()
    # nested the way cvxpy's HIGHS takes options too
    problem.solve(solver=HIGHS_DUAL, highs_options={"time_limit": 2.0})
    assert given == [{"time_limit": 1.5}]
    assert problem.value == pytest.approx(13.0, abs=1e-9)

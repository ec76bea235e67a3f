"""Issue 19's "no slowdown": the one-sided slopes' re-solves skipped where they cannot differ.

Where the limits' multipliers are certainly unique (an expected-shortfall LP whose limit
rows are strictly complementary and whose active rows, with the scenarios tied at the
VaR, are linearly independent) both one-sided slopes are the multiplier and no re-solve
is made (``SolveStats.slope_resolves == 0``, ``details["slopes_certified"]``). At a
kink the re-solves still run. The skipped numbers equal the probed ones and a finite
difference of the whole LP solved by raw cvxpy at tight tolerances.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_shadow_kinks import GROSS
from test_shadow_one_sided import small_shortfall

import optihedge as oh
from constraints import Bounds, Budget, GrossExposure
from optihedge.optimize.compiled import CompiledHedge

N_INST, N_SCEN, ALPHA = 6, 1500, 0.95


def frame(seed: int) -> pd.DataFrame:
    """Fat-tailed factor returns (benchmarks/bench_shortfall.py's generator, smaller)."""
    rng = np.random.default_rng(seed)
    b = rng.normal(0.5, 0.3, (N_INST, 3))
    f = rng.standard_t(4, (N_SCEN, 3)) * 0.02
    u = f @ b.T + rng.standard_t(4, (N_SCEN, N_INST)) * 0.01
    book = f @ rng.normal(0.8, 0.3, 3) + rng.standard_t(4, N_SCEN) * 0.015
    out = pd.DataFrame(u, columns=[f"U{i}" for i in range(N_INST)])
    out.insert(0, "book", book)
    return out


FRAMES = {seed: frame(seed) for seed in (0, 1, 2)}


def problem(seed: int, method: str) -> oh.HedgeProblem:
    return oh.HedgeProblem(
        oh.Portfolio.from_holdings({"book": 1.0}),
        [oh.ETF(label=f"E{i}", underlying=f"U{i}") for i in range(N_INST)],
        objective=oh.ExpectedShortfall(ALPHA, method=method),  # type: ignore[arg-type]
        constraints=[Bounds(-1.0, 1.0), Budget(0.0), GrossExposure(2.0)],
        scenarios=oh.Scenarios.from_returns(FRAMES[seed]),
    )


def lp_optimum(seed: int, gross: float) -> float:
    """The whole Rockafellar-Uryasev LP by raw cvxpy, Clarabel at tight tolerances."""
    data = FRAMES[seed].to_numpy()
    book, g = data[:, 0], data[:, 1:]
    x, zeta = cp.Variable(N_INST), cp.Variable()
    u = cp.Variable(N_SCEN, nonneg=True)
    lp = cp.Problem(
        cp.Minimize(zeta + cp.sum(u) / (N_SCEN * (1 - ALPHA))),
        [u >= -(book + g @ x) - zeta, x >= -1, x <= 1, cp.sum(x) == 0, cp.norm1(x) <= gross],
    )
    lp.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    assert lp.status == cp.OPTIMAL
    return float(lp.value)


def gross_row(solution: oh.optimize.Solution) -> tuple[float, bool]:
    i = solution.limits.names.index("gross_exposure.max")
    return float(solution.limits.numbers[i, 3]), bool(solution.limits.binding[i])


@pytest.mark.parametrize("method", ["active_set", "cutting_plane"])
def test_the_skip_is_taken_at_a_non_degenerate_point(method: str) -> None:
    hedge = problem(0, method)
    hedge.solve_point({"gross_exposure.max": 0.4})  # the kept solver's first solve
    got = hedge.solve_point({"gross_exposure.max": 0.5})
    price, binding = gross_row(got)
    assert got.status == "optimal"
    assert binding
    assert got.stats.slope_resolves == 0
    assert got.stats.details["slopes_certified"] is True
    assert not got.limits.tightening  # no limit flagged degenerate
    # the whole LP's slope, by a central difference (its optimum is linear in the cap)
    h = 1e-5
    slope = (lp_optimum(0, 0.5 - h) - lp_optimum(0, 0.5 + h)) / (2 * h)
    assert price == pytest.approx(slope, rel=1e-5, abs=1e-8)


@pytest.mark.parametrize(
    "point",
    [
        {GROSS: 0.483, "residual_beta.min": 0.03, "residual_beta.max": 0.436},
        {GROSS: 1.0, "residual_beta.min": -0.1875, "residual_beta.max": 0.5},
    ],
    ids=["beta_0.03", "beta_-0.1875"],
)
def test_the_skip_is_not_taken_at_a_kink(point: dict[str, float]) -> None:
    """test_shadow_kinks' zero-budget points: the budget cannot be tightened (a kink)."""
    hedge = small_shortfall("active_set")
    hedge.solve_point({**point, "premium_budget.max": 0.1})
    got = hedge.solve_point({**point, "premium_budget.max": 0.0})
    assert got.status == "optimal"
    assert got.stats.slope_resolves > 0
    assert "slopes_certified" not in got.stats.details
    assert got.limits.tightening["premium_budget.max"] == np.inf


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.sampled_from(sorted(FRAMES)),
    method=st.sampled_from(["active_set", "cutting_plane"]),
    gross=st.floats(0.15, 1.2),
)
def test_skipped_numbers_equal_the_probed_ones(seed: int, method: str, gross: float) -> None:
    """Every certified point prices its limits as the re-solves do, to 1e-9.

    Two copies solve the same two points in turn (the same warm starts, so the same
    answers); the second measures the slopes by re-solves.
    """
    fast = slow = None
    for probing in (False, True):
        hedge = problem(seed, method)
        with pytest.MonkeyPatch.context() as patch:
            if probing:
                patch.setattr(CompiledHedge, "_unique_multipliers", lambda self: False)
            hedge.solve_point({"gross_exposure.max": gross + 0.05})
            got = hedge.solve_point({"gross_exposure.max": gross})
        if probing:
            slow = got
        else:
            fast = got
    assert fast is not None
    assert slow is not None
    if fast.stats.details.get("slopes_certified") is None:
        return  # not certified here: the re-solves ran (the kink tests cover them)
    assert fast.stats.slope_resolves == 0 < slow.stats.slope_resolves
    np.testing.assert_allclose(fast.positions, slow.positions, rtol=0, atol=1e-8)
    np.testing.assert_allclose(
        fast.limits.numbers[:, 3], slow.limits.numbers[:, 3], rtol=1e-9, atol=1e-12
    )
    assert dict(slow.limits.tightening) == {}

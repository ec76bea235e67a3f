"""The multiplier range at a degenerate optimum, block by block, against linear programs.

``optimize.direct.multiplier_range`` splits the multipliers' free directions into blocks
that share no active row and solves small blocks by their vertices; the reference here
takes scipy's dense null space and solves every row's two linear programs with HiGHS.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from optihedge.optimize.direct import multiplier_range


def _reference(a: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    null = scipy.linalg.null_space(a.T)
    least, greatest = z.copy(), z.copy()
    for j in range(len(z)):
        if np.allclose(null[j], 0.0, atol=1e-12):
            continue
        ends = []
        for sign in (1.0, -1.0):
            lp = linprog(
                sign * null[j],
                A_ub=-null,
                b_ub=z,
                bounds=[(None, None)] * null.shape[1],
                method="highs",
            )
            ends.append(sign * lp.fun if lp.status == 0 else sign * -np.inf)
        least[j] = max(z[j] + ends[0], 0.0)
        greatest[j] = z[j] + ends[1]
    return least, greatest


@st.composite
def degenerate(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(2, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    rows = [rng.normal(size=n) for _ in range(draw(st.integers(1, n)))]
    # dependent rows: a variable held by two bounds (+e_i, -e_i), repeats, combinations
    for i in draw(st.lists(st.integers(0, n - 1), max_size=3, unique=True)):
        e = np.zeros(n)
        e[i] = 1.0
        rows += [e, -e] if draw(st.booleans()) else [e, e.copy(), -e]
    if draw(st.booleans()) and len(rows) >= 2:
        rows.append(rows[0] + 2.0 * rows[1])
    a = np.array(rows)
    z = rng.uniform(0.0, 2.0, size=len(rows))
    return a, z


@settings(max_examples=80, deadline=None)
@given(degenerate())
def test_blocks_and_vertices_give_the_linear_programs_range(case) -> None:  # type: ignore[no-untyped-def]
    a, z = case
    b = np.ones(len(z))
    got = multiplier_range(a, b, 0, np.zeros(len(z)), z)
    least, greatest = _reference(a, z)
    if got is None:  # independent rows: a unique multiplier
        np.testing.assert_allclose(least, z, atol=1e-9)
        np.testing.assert_allclose(greatest, z, atol=1e-9)
        return
    np.testing.assert_allclose(got[0], least, rtol=1e-7, atol=1e-8)
    finite = np.isfinite(greatest)
    assert np.array_equal(np.isfinite(got[1]), finite)
    np.testing.assert_allclose(got[1][finite], greatest[finite], rtol=1e-7, atol=1e-8)


def test_a_variable_held_by_two_bounds_is_a_block_of_its_own() -> None:
    # x1 >= 0 and x1 <= 0 (rows e1 and -e1), plus an unrelated independent row
    a = np.array([[1.0, 0.0], [-1.0, 0.0], [0.3, 1.0]])
    z = np.array([0.7, 0.2, 1.1])
    got = multiplier_range(a, np.ones(3), 0, np.zeros(3), z)
    assert got is not None
    # z1 - z2 is fixed at 0.5; z1 >= 0.5 (z2 >= 0) and unbounded above
    assert got[0][:2] == pytest.approx([0.5, 0.0])
    assert np.isinf(got[1][0])
    assert np.isinf(got[1][1])
    assert got[0][2] == got[1][2] == pytest.approx(1.1)


def test_a_ray_of_nearly_parallel_rows_is_unbounded_not_a_large_finite_number() -> None:
    # a review's case: two nearly parallel rows made a non-negative least-squares fit
    # reach the direction with weights of 1e14, read as "bounded"; the range is infinite
    a = np.array(
        [
            [-0.068343490973, 1.105709103627, -2.685708695841, 1.270448264809,
             -0.164376066215, 0.680265883415, -0.041920551088],
            [-0.001, -0.001, -0.001, -0.001, -0.001, 0.002, -0.001],
            [0.0, 1.0, 1.0, 1.0, -1.0, 2.0, 2.0],
            [-0.257698604231, 0.004700612094, 0.079046115308, -0.15272765761,
             -0.200978803578, 0.010308329167, 0.101408570897],
            [3.0, -4.0, -2.0, 2.0, -4.0, 2.0, -1.0],
            [-1.0, 0.5, 0.0, -1.0, 1.0, -0.5, -0.5],
            [0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0],
            [0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [-0.002, 0.001, 0.0, -0.002, 0.002, -0.001, -0.001],
        ]
    )  # fmt: skip
    z = np.array([-0.72096611394, -0.50248866030, 2.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    slack = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    got = multiplier_range(a, np.ones(10), 2, slack, z)
    assert got is not None
    active = np.flatnonzero(slack == 0)
    signed = active >= 2
    null = scipy.linalg.null_space(a[active].T)
    for jj, j in enumerate(active):
        if j < 2:
            continue
        lp = linprog(
            -null[jj],
            A_ub=-null[signed],
            b_ub=z[active][signed],
            bounds=[(None, None)] * null.shape[1],
            method="highs",
        )
        if lp.status == 3:  # unbounded above
            assert np.isinf(got[1][j]), j
        else:
            assert got[1][j] == pytest.approx(z[j] - lp.fun, rel=1e-7, abs=1e-9), j

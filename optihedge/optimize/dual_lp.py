r"""HiGHS on an LP's dual: for restricted LPs with many more rows than columns.

The band expected shortfall (:mod:`optihedge.optimize.band`) solves LPs of a few thousand
scenario rows over about a hundred instruments. HiGHS's simplex works in a basis of the
row count: on the primal that is every row (2,421 at 100 instruments and 2,020 band
slots: 1.5-3 s a solve, 3,000-7,500 iterations), on the dual it is the column count
(after presolve about the instruments: 0.2-0.45 s, 300-850 iterations, the same
optimum to 1e-15). This module gives cvxpy a solver, :data:`HIGHS_DUAL`, that takes
cvxpy's HiGHS problem data, writes the dual LP, solves it with HiGHS and hands cvxpy
the primal answer, its objective and the rows' multipliers as the HiGHS interface
would. Anything but an optimal dual (infeasible, unbounded, an error), integer
columns, or a column bounded on both sides goes to HiGHS on the primal, whose statuses
and rays are what the caller expects.

cvxpy's HiGHS data, in its cone form: minimise :math:`c^\top z` subject to
:math:`A_e z = b_e`, :math:`A_i z \le b_i` and column bounds :math:`z_k \ge l_k`
(:math:`k \in L`) or :math:`z_k \le u_k` (:math:`k \in U`). With multipliers
:math:`y = (y_e, y_i)`, :math:`y_i \ge 0`, the dual is

.. math::
    \min_{y, d}\; b^\top y - \sum_{k \in L} l_k d_k + \sum_{k \in U} u_k d_k
    \quad\text{s.t.}\quad c_k + A_k^\top y - d_k = 0 \;(k \in L),\;
    c_k + A_k^\top y + d_k = 0 \;(k \in U),\; c_k + A_k^\top y = 0 \text{ (free)},

:math:`d \ge 0`, whose optimum is minus the primal's; the primal answer :math:`z` is
the dual rows' multipliers and the primal rows' multipliers are :math:`y`. A bound at
zero needs no :math:`d_k` (its row is the inequality :math:`c_k + A_k^\top y \ge 0`,
or :math:`\le 0`): the band's slots, bounded below by zero, add no columns. Bounds are
never shifted into the rows, which lost digits with far bounds (-1e6: 2e-9 relative).
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import cvxpy.settings as s
import numpy as np
import scipy.sparse as sp
from cvxpy.reductions.solvers.conic_solvers.highs_conif import (
    HIGHS,
    unpack_highs_options_inplace,
)

__all__ = ["HIGHS_DUAL", "DualHighs", "custom_solver"]


class DualHighs(HIGHS):  # type: ignore[misc]
    """cvxpy's HiGHS interface, solving the LP's dual (see the module)."""

    def name(self) -> str:
        """Return the solver's name (cvxpy requires one of its own for a custom solver)."""
        return "HIGHS_DUAL"

    def solve_via_data(
        self,
        data: dict[str, Any],
        warm_start: bool,
        verbose: bool,
        solver_opts: dict[str, Any],
        solver_cache: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Solve the dual LP; anything but its optimum: HiGHS on the primal.

        ``verbose`` shows HiGHS's log of either; a ``time_limit`` bounds both together
        (the primal gets what the dual left).
        """
        opts = dict(solver_opts)
        unpack_highs_options_inplace(opts)  # cvxpy's nested highs_options={...} too
        integer = data.get(s.BOOL_IDX) or data.get(s.INT_IDX)
        start = time.perf_counter()
        answer = None if integer else _dual(data, opts, verbose)
        if answer is not None:
            return answer
        primal = time_left(opts, time.perf_counter() - start)
        return super().solve_via_data(data, False, verbose, primal, None)  # type: ignore[no-any-return]


def time_left(opts: dict[str, Any], spent: float) -> dict[str, Any]:
    """Return ``opts`` with HiGHS's ``time_limit`` (seconds) less ``spent``, at least 0."""
    out = dict(opts)
    if "time_limit" in out:
        out["time_limit"] = max(float(out["time_limit"]) - spent, 0.0)
    return out


def _dual(
    data: dict[str, Any], opts: dict[str, Any], verbose: bool = False
) -> dict[str, Any] | None:
    """Solve the dual of cvxpy's HiGHS data; None when it cannot answer for the primal."""
    import highspy as hp

    a = sp.csr_matrix(data["A"])
    b = np.asarray(data["b"], dtype=np.float64)
    c = np.asarray(data["c"], dtype=np.float64)
    m, n = a.shape
    n_eq = int(data["dims"].zero)
    lower = data.get("lower_bounds")
    upper = data.get("upper_bounds")
    lo = np.full(n, -np.inf) if lower is None else np.asarray(lower, dtype=np.float64)
    hi = np.full(n, np.inf) if upper is None else np.asarray(upper, dtype=np.float64)
    has_lo, has_hi = np.isfinite(lo), np.isfinite(hi)
    if np.any(has_lo & has_hi):
        return None  # a column boxed on both sides: its dual row splits; the primal does
    at_zero_lo, at_zero_hi = has_lo & (lo == 0.0), has_hi & (hi == 0.0)
    far = np.flatnonzero((has_lo & ~at_zero_lo) | (has_hi & ~at_zero_hi))  # a d_k each
    sign = np.where(has_lo[far], -1.0, 1.0)
    extra = sp.csc_matrix((sign, (far, np.arange(len(far)))), shape=(n, len(far)))
    # the dual's matrix: column by column the primal's rows, then the d_k
    at = sp.hstack([sp.csc_matrix(a.T), extra], format="csc")
    lp = hp.HighsLp()
    lp.num_col_, lp.num_row_ = m + len(far), n
    lp.col_cost_ = np.concatenate([b, np.where(has_lo[far], -lo[far], hi[far])])
    lp.col_lower_ = np.concatenate([np.full(n_eq, -np.inf), np.zeros(m - n_eq + len(far))])
    lp.col_upper_ = np.full(m + len(far), np.inf)
    lp.row_lower_ = np.where(at_zero_hi, -np.inf, -c)
    lp.row_upper_ = np.where(at_zero_lo, np.inf, -c)
    lp.a_matrix_.format_ = hp.MatrixFormat.kColwise
    lp.a_matrix_.start_ = at.indptr
    lp.a_matrix_.index_ = at.indices
    lp.a_matrix_.value_ = at.data
    solver = hp.Highs()  # type: ignore[no-untyped-call]
    solver.setOptionValue("output_flag", bool(verbose))
    for key, value in opts.items():
        if key == "write_model_file":
            continue
        # the primal's rows are the dual's reduced costs and the other way round
        key = _SIDES.get(key, key)
        if solver.setOptionValue(key, value) == hp.HighsStatus.kError:
            raise ValueError(f"HiGHS refused the option {key!r} = {value!r}")
    solver.passModel(lp)
    start = time.perf_counter()
    solver.run()
    if solver.getModelStatus() != hp.HighsModelStatus.kOptimal:
        return None
    info = solver.getInfo()
    solution = solver.getSolution()
    if not solution.dual_valid:
        return None
    z = np.asarray(solution.row_dual, dtype=np.float64)
    y = np.asarray(solution.col_value, dtype=np.float64)[:m]
    value = -float(info.objective_function_value)
    tol = 10.0 * float(opts.get("primal_feasibility_tolerance", 1e-7))
    if not _answers(a, b, c, n_eq, lo, hi, z, value, tol):
        return None  # the positions rebuilt from the dual miss the rows: the primal answers
    primal = SimpleNamespace(col_value=z, row_dual=-y)
    stated = SimpleNamespace(
        objective_function_value=value,
        ipm_iteration_count=info.ipm_iteration_count,
        crossover_iteration_count=info.crossover_iteration_count,
        pdlp_iteration_count=info.pdlp_iteration_count,
        qp_iteration_count=info.qp_iteration_count,
        simplex_iteration_count=info.simplex_iteration_count,
    )
    return {
        "solution": primal,
        "info": stated,
        "model_status": "kOptimal",
        "run_time": time.perf_counter() - start,
    }


def _answers(
    a: sp.csr_matrix,
    b: np.ndarray,
    c: np.ndarray,
    n_eq: int,
    lo: np.ndarray,
    hi: np.ndarray,
    z: np.ndarray,
    value: float,
    tol: float,
) -> bool:
    """Whether ``z`` meets the primal's rows and bounds and has the dual's objective.

    Each row to ``tol`` times its size (1 + |b_i| + |a_i| |z|); the objective to ``tol``
    times (1 + |c| |z|): a dual HiGHS called optimal whose multipliers miss the primal
    goes to the primal instead.
    """
    ax = a @ z
    size = 1.0 + np.abs(b) + abs(a) @ np.abs(z)
    miss = ax - b
    miss[:n_eq] = np.abs(miss[:n_eq])
    if np.any(miss > tol * size):
        return False
    scale = 1.0 + np.abs(z)
    if np.any(lo - z > tol * scale) or np.any(z - hi > tol * scale):
        return False
    return bool(abs(float(c @ z) - value) <= tol * (1.0 + float(np.abs(c) @ np.abs(z))))


#: HiGHS's options named for the primal, as they apply to the dual
_SIDES = {
    "primal_feasibility_tolerance": "dual_feasibility_tolerance",
    "dual_feasibility_tolerance": "primal_feasibility_tolerance",
}

#: the dual-LP HiGHS solver, one instance (cvxpy caches a problem's chain by solver)
HIGHS_DUAL = DualHighs()


def custom_solver(name: str) -> Any:
    """Return the solver cvxpy is given for ``name``: this module's instance, or the name."""
    return HIGHS_DUAL if name == HIGHS_DUAL.name() else name

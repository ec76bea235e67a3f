"""Re-solving a compiled problem straight through Clarabel, when only its vectors change.

cvxpy's DPP program maps the parameter vector to the solver's data by fixed sparse
tensors. When a re-solve changes only the linear objective ``q`` and the right-hand side
``b`` (limits, bounds, the current hedge: every sweep over limits), the matrices ``P`` and
``A`` are unchanged, and this path computes ``q`` and ``b`` from the tensors, updates a
Clarabel solver kept for the problem (its symbolic factorisation reused) and solves;
cvxpy's own inversion then sets the variables, duals and status, exactly as a standard
solve does. Anything else (a matrix value changed, a status other than solved, a
solver error) is not handled here: the caller solves the standard way.
"""

from __future__ import annotations

import time
from typing import Any

import cvxpy as cp
import numpy as np
from cvxpy.cvxcore.python import canonInterface
from cvxpy.reductions.solvers.conic_solvers.clarabel_conif import dims_to_solver_cones

__all__ = ["DirectClarabel"]


class DirectClarabel:
    """Clarabel kept for one compiled cvxpy problem (see the module docstring)."""

    def __init__(self, problem: cp.Problem) -> None:
        import clarabel
        import scipy.sparse as sp

        data, chain, inverse = problem.get_problem_data(cp.CLARABEL, enforce_dpp=True)
        program = problem._cache.param_prog
        if program is None or chain.solver.name() != cp.CLARABEL:
            raise ValueError("no DPP program for Clarabel")
        self.problem, self.chain, self.inverse = problem, chain, inverse
        solver_data = inverse[-1]
        if getattr(solver_data, "solver_options", {}) is None:
            solver_data.solver_options = {}  # what a standard solve sets: no options
        self.program = program
        program.reduced_A.cache(keep_zeros=True)
        program.reduced_P.cache(keep_zeros=True)
        indices, indptr, shape = program.reduced_A.problem_data_index
        # the offset b is the last column of the stacked [A | b] data
        self.b_slice = slice(int(indptr[-2]), int(indptr[-1]))
        self.b_rows = np.asarray(indices[self.b_slice])
        self.n_rows = int(shape[0])
        vec = self._param_vec()
        self.a_values = self._a_values(vec)
        self.p_values = self._p_values(vec)
        # the vectors this path computes must be the solver's data, to the bit, here
        q, b = self._vectors(vec)
        if not (np.array_equal(q, data["c"]) and np.array_equal(b, data["b"])):
            raise ValueError("the tensors do not reproduce the solver's data")
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        settings.presolve_enable = False
        settings.input_sparse_dropzeros = False
        p_matrix = data.get("P")
        n = data["c"].size
        p_upper = sp.triu(p_matrix if p_matrix is not None else sp.csc_array((n, n))).tocsc()
        self.solver = clarabel.DefaultSolver(
            p_upper,
            data["c"],
            data["A"].tocsc(),
            data["b"],
            dims_to_solver_cones(data["dims"]),
            settings,
        )

    def _param_vec(self) -> np.ndarray:
        program = self.program
        vec: np.ndarray = canonInterface.get_parameter_vector(
            program.total_param_size,
            program.param_id_to_col,
            program.param_id_to_size,
            lambda i: np.asarray(program.id_to_param[i].value),
        )
        return vec

    def _a_values(self, vec: np.ndarray) -> np.ndarray:
        flat = np.asarray(self.program.reduced_A.reduced_mat @ vec, dtype=np.float64)
        return np.delete(flat, np.arange(self.b_slice.start, self.b_slice.stop))

    def _p_values(self, vec: np.ndarray) -> np.ndarray:
        reduced = self.program.reduced_P.reduced_mat
        if reduced is None:
            return np.zeros(0)
        return np.asarray(reduced @ vec, dtype=np.float64)

    def _vectors(self, vec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the linear objective ``q`` and the right-hand side ``b`` for ``vec``."""
        flat = np.asarray(self.program.reduced_A.reduced_mat @ vec, dtype=np.float64)
        b = np.zeros(self.n_rows)
        b[self.b_rows] = flat[self.b_slice]
        q_full = np.asarray(self.program.q @ vec, dtype=np.float64).ravel()
        return q_full[:-1], b

    def solve(self) -> tuple[dict[str, Any] | None, bool]:
        """Solve for the parameters' current values.

        Returns the statistics of :func:`optihedge.optimize.solve.stats` on success (the
        problem's variables, duals, value and status are set by cvxpy's inversion), or
        None when this path cannot answer; and whether this object stays usable (False
        once a matrix has changed).
        """
        vec = self._param_vec()
        if not (
            np.array_equal(self._a_values(vec), self.a_values)
            and np.array_equal(self._p_values(vec), self.p_values)
        ):
            return None, False  # a matrix changed: the standard path, then a new object
        q, b = self._vectors(vec)
        start = time.perf_counter()
        self.solver.update(q=q, b=b)
        raw = self.solver.solve()
        elapsed = time.perf_counter() - start
        if str(raw.status) != "Solved":
            return None, True
        self.problem.unpack_results(raw, self.chain, self.inverse)
        if self.problem.status != cp.OPTIMAL:
            return None, True
        return {
            "solver": cp.CLARABEL,
            "solve_time": float(raw.solve_time),
            "setup_time": None,
            "num_iters": int(raw.iterations),
            "compilation_time": None,
            "direct": True,
            "update_and_solve_time": elapsed,
        }, True

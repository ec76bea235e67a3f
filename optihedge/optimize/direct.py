"""Re-solving a compiled problem straight through Clarabel, when only its numbers change.

cvxpy's DPP program maps the parameter vector to the solver's data by fixed sparse
tensors. A re-solve that changes parameters keeps the sparsity pattern of ``A`` (the
tensor stores every entry a parameter can touch, zeros included): this path computes
``q``, ``b`` and the values of ``A`` from the tensors, updates a Clarabel solver kept for
the problem (its symbolic factorisation reused) and solves; cvxpy's own inversion then
sets the variables, duals and status, exactly as a standard solve does. Limits, bounds
and the current hedge change ``q`` and ``b``; the scenario slots of the expected
shortfall and its cutting planes change values of ``A``. A change of the quadratic
``P`` (a new risk model), a status other than solved or a solver error is not handled
here: the caller solves the standard way.
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

    def __init__(self, problem: cp.Problem, options: dict[str, Any] | None = None) -> None:
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
        # A's columns come before the offset column, in the tensor's CSC order
        self.a_indices = np.asarray(indices[: self.b_slice.start])
        self.a_indptr = np.asarray(indptr[:-1])
        self.a_shape = (self.n_rows, int(shape[1]) - 1)
        vec = self._param_vec()
        self.a_values = self._a_values(vec)
        self.p_values = self._p_values(vec)
        # the numbers this path computes must be the solver's data, to the bit, here
        q, b = self._vectors(vec)
        if not (np.array_equal(q, data["c"]) and np.array_equal(b, data["b"])):
            raise ValueError("the tensors do not reproduce the solver's data")
        # cvxpy hands Clarabel the tensor's matrix negated (A x + s = b)
        a_matrix = self._a_matrix(self.a_values)
        given = data["A"].tocsc()
        if a_matrix.shape != given.shape or (a_matrix - given).count_nonzero():
            raise ValueError("the tensors do not reproduce the solver's matrix")
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        settings.presolve_enable = False
        settings.input_sparse_dropzeros = False
        for name, value in (options or {}).items():
            setattr(settings, name, value)
        p_matrix = data.get("P")
        n = data["c"].size
        p_upper = sp.triu(p_matrix if p_matrix is not None else sp.csc_array((n, n))).tocsc()
        self.solver = clarabel.DefaultSolver(
            p_upper,
            data["c"],
            a_matrix,
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
        return -flat[: self.b_slice.start]  # b is the last column: A's values come first

    def _a_matrix(self, values: np.ndarray) -> Any:
        """Return A with the tensor's full pattern (explicit zeros kept, so updates fit)."""
        import scipy.sparse as sp

        return sp.csc_matrix((values, self.a_indices, self.a_indptr), shape=self.a_shape)

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
        once ``P`` has changed).
        """
        vec = self._param_vec()
        if not np.array_equal(self._p_values(vec), self.p_values):
            return None, False  # P changed: the standard path, then a new object
        q, b = self._vectors(vec)
        a_values = self._a_values(vec)
        start = time.perf_counter()
        if np.array_equal(a_values, self.a_values):
            self.solver.update(q=q, b=b)
        else:
            self.solver.update(q=q, A=a_values, b=b)
            self.a_values = a_values
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

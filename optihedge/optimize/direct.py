"""Re-solving a compiled problem straight through kept solvers, when only its numbers change.

cvxpy's DPP program maps the parameter vector to the solver's data by fixed sparse
tensors. A re-solve that changes parameters keeps the sparsity pattern of ``A`` (the
tensor stores every entry a parameter can touch, zeros included): this path computes
``q``, ``b`` and the values of ``A`` from the tensors, updates solvers kept for the
problem and solves; cvxpy's own inversion then sets the variables, duals and status,
exactly as a standard solve does. Limits, bounds and the current hedge change ``q`` and
``b``; the scenario slots of the expected shortfall and its cutting planes change values
of ``A``. A change of the quadratic ``P`` (a new risk model), a status other than solved
or a solver error is not handled here: the caller solves the standard way.

Two solvers are kept:

- a dense active-set QP (DAQP), for small problems whose cones are only equalities and
  inequalities (a variance hedge under linear limits), when no solver was asked for. Its
  working set carries from one solve to the next, so a sweep point that moves a limit
  a little costs a few pivots. Its answer is used only when it passes a check of the
  optimality (KKT) conditions of the solver's data to ``KKT_TOLERANCE`` relative:
  stationarity, primal and dual feasibility and the duality gap. An answer that does not
  pass goes to Clarabel, silently: the same problem, the interior-point way.
- Clarabel (its symbolic factorisation reused) for everything else.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import cvxpy as cp
import numpy as np
from cvxpy.cvxcore.python import canonInterface
from cvxpy.reductions.solvers.conic_solvers.clarabel_conif import dims_to_solver_cones

__all__ = ["KKT_TOLERANCE", "DirectSolve", "solve_fresh"]

KKT_TOLERANCE = 1e-9
"""Relative tolerance of the optimality check an active-set answer must pass."""

_ACTIVE_SET_VARIABLES = 400
"""The dense active set is kept for problems up to this many variables..."""
_ACTIVE_SET_ROWS = 2000
"""...and this many constraint rows (dense matrices: beyond, Clarabel's sparsity wins)."""


class DirectSolve:
    """Solvers kept for one compiled cvxpy problem (see the module docstring)."""

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
        q, b, self.a_values = self._numbers(vec)
        self.p_values = self._p_values(vec)
        # the numbers this path computes must be the solver's data, to the bit, here
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
        self.qp: _ActiveSetQP | None = None
        if not options and _fits_active_set(data):
            self.qp = _ActiveSetQP.from_data(data, a_matrix)
            self.qp.a_values = self.a_values

    def _param_vec(self) -> np.ndarray:
        program = self.program
        vec: np.ndarray = canonInterface.get_parameter_vector(
            program.total_param_size,
            program.param_id_to_col,
            program.param_id_to_size,
            lambda i: np.asarray(program.id_to_param[i].value),
        )
        return vec

    def _a_matrix(self, values: np.ndarray) -> Any:
        """Return A with the tensor's full pattern (explicit zeros kept, so updates fit)."""
        import scipy.sparse as sp

        return sp.csc_matrix((values, self.a_indices, self.a_indptr), shape=self.a_shape)

    def _p_values(self, vec: np.ndarray) -> np.ndarray:
        reduced = self.program.reduced_P.reduced_mat
        if reduced is None:
            return np.zeros(0)
        return np.asarray(reduced @ vec, dtype=np.float64)

    def _numbers(self, vec: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return ``q``, ``b`` and the values of ``A`` for ``vec`` (one product each)."""
        flat = np.asarray(self.program.reduced_A.reduced_mat @ vec, dtype=np.float64)
        b = np.zeros(self.n_rows)
        b[self.b_rows] = flat[self.b_slice]
        q_full = np.asarray(self.program.q @ vec, dtype=np.float64).ravel()
        # b is the last column of the stacked data: A's values come first, negated
        return q_full[:-1], b, -flat[: self.b_slice.start]

    def solve(self, *, active_set: bool = True) -> tuple[dict[str, Any] | None, bool]:
        """Solve for the parameters' current values.

        Returns the statistics of :func:`optihedge.optimize.solve.stats` on success (the
        problem's variables, duals, value and status are set by cvxpy's inversion), or
        None when this path cannot answer; and whether this object stays usable (False
        once ``P`` has changed). ``active_set``: whether the dense active set may answer
        (False when the caller asked for a solver by name: then Clarabel only).
        """
        vec = self._param_vec()
        if not np.array_equal(self._p_values(vec), self.p_values):
            return None, False  # P changed: the standard path, then a new object
        q, b, a_values = self._numbers(vec)
        start = time.perf_counter()
        raw: Any = None
        solver = cp.CLARABEL
        if self.qp is not None and active_set:
            # each kept solver holds the A it was last given
            same = np.array_equal(a_values, self.qp.a_values)
            raw = self.qp.solve(q, b, None if same else (a_values, self._a_matrix(a_values)))
            solver = "DAQP"
        if raw is None:
            solver = cp.CLARABEL
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
            "solver": solver,
            "solve_time": float(raw.solve_time),
            "setup_time": None,
            "num_iters": int(raw.iterations),
            "compilation_time": None,
            "direct": True,
            "update_and_solve_time": elapsed,
        }, True


def _fits_active_set(data: dict[str, Any]) -> bool:
    """Whether the dense active set takes these data: linear cones, small sizes."""
    dims = data["dims"]
    linear = not (dims.soc or dims.psd or dims.exp or dims.p3d or dims.pnd)
    n, m = data["c"].size, data["A"].shape[0]
    return bool(linear and n <= _ACTIVE_SET_VARIABLES and m <= _ACTIVE_SET_ROWS)


def solve_fresh(problem: cp.Problem, *, ignore_dpp: bool) -> str:
    """Canonicalise ``problem`` for Clarabel and solve it: the dense active set first.

    What ``problem.solve(solver="CLARABEL", ignore_dpp=...)`` does, with one step more:
    when the data fit the dense active set, its answer is taken if it passes the
    optimality check; otherwise (or on any surprise from it) Clarabel solves the same
    data, with no second canonicalisation. Returns the name of the solver that answered.
    """
    data, chain, inverse = problem.get_problem_data(cp.CLARABEL, ignore_dpp=ignore_dpp)
    solver_data = inverse[-1]
    if getattr(solver_data, "solver_options", {}) is None:
        solver_data.solver_options = {}  # what a standard solve sets: no options
    if _fits_active_set(data):
        try:
            answer = _ActiveSetQP.from_data(data, data["A"].tocsc()).solve(
                data["c"], data["b"], None
            )
        except Exception:  # any surprise: Clarabel answers
            answer = None
        if answer is not None:
            problem.unpack_results(answer, chain, inverse)
            if problem.status == cp.OPTIMAL:
                return "DAQP"
    solution = chain.solve_via_data(problem, data, False, False, {})
    problem.unpack_results(solution, chain, inverse)
    return str(cp.CLARABEL)


class _Answer:
    """An active-set answer in the shape cvxpy's Clarabel inversion reads."""

    status = "Solved"

    def __init__(
        self, x: np.ndarray, z: np.ndarray, s: np.ndarray, value: float, seconds: float, its: int
    ) -> None:
        self.x, self.z, self.s = x, z, s
        self.obj_val = value
        self.solve_time = seconds
        self.iterations = its


class _ActiveSetQP:
    """DAQP kept with its working set; answers only what passes the optimality check.

    The data are Clarabel's: minimise ``x'Px/2 + q'x`` subject to ``A x + s = b`` with
    ``s`` zero on the first ``n_zero`` rows and non-negative on the rest; DAQP reads them
    as ``A x = b`` and ``A x <= b``. ``P`` is only semidefinite (auxiliary variables), so
    DAQP runs proximal-point iterations (weight ``1e-6``) to a step of ``1e-12``.
    """

    _SETTINGS: ClassVar[dict[str, float]] = {
        "eps_prox": 1e-6,
        "eta_prox": 1e-12,
        "primal_tol": 1e-10,
        "iter_limit": 5000,
    }

    def __init__(self, p: np.ndarray, q: np.ndarray, a: Any, b: np.ndarray, n_zero: int) -> None:
        import daqp

        self.p, self.a, self.n_zero = p, a.toarray(), int(n_zero)
        self.a_values = np.asarray(a.data)  # the sparse values this A was made from
        self.sense = np.zeros(a.shape[0], dtype=np.int32)
        self.sense[: self.n_zero] = 5  # DAQP's flag for an equality
        self.model = daqp.Model()
        self.model.settings = dict(self._SETTINGS)
        flag, _ = self.model.setup(p, q, self.a, b.copy(), self._lower(b), self.sense.copy())
        self.ready = flag >= 0
        self.fresh = True  # no working set to carry yet

    @classmethod
    def from_data(cls, data: dict[str, Any], a_matrix: Any) -> _ActiveSetQP:
        """Build from cvxpy's data for Clarabel (``a_matrix``: its A, sparse)."""
        p_matrix = data.get("P")
        n = data["c"].size
        p_dense = p_matrix.toarray() if p_matrix is not None else np.zeros((n, n))
        return cls(p_dense, data["c"], a_matrix, data["b"], data["dims"].zero)

    def _lower(self, b: np.ndarray) -> np.ndarray:
        lower = np.full(b.size, -1e30)  # DAQP's infinity
        lower[: self.n_zero] = b[: self.n_zero]
        return lower

    def solve(
        self, q: np.ndarray, b: np.ndarray, new_a: tuple[np.ndarray, Any] | None
    ) -> _Answer | None:
        """Return the optimum for the new numbers, or None (then Clarabel answers).

        ``new_a``: when A changed, its sparse values and the sparse matrix.
        """
        if not self.ready:
            return None
        a = None
        if new_a is not None:
            self.a_values, a = new_a[0], new_a[1].toarray()
            self.a = a
        # the last working set is kept unless the last answer failed
        sense = self.sense.copy() if self.fresh else None
        code = self.model.update(f=q, A=a, bupper=b.copy(), blower=self._lower(b), sense=sense)
        if code < 0:
            self.fresh = True
            return None
        x, _, flag, info = self.model.solve()
        x = np.asarray(x, dtype=np.float64)
        z = np.asarray(info["lam"], dtype=np.float64)
        self.fresh = flag != 1
        if flag != 1 or not kkt_holds(self.p, q, self.a, b, self.n_zero, x, z, KKT_TOLERANCE):
            self.fresh = True
            return None
        s = b - self.a @ x
        s[: self.n_zero] = 0.0
        np.maximum(s, 0.0, out=s)
        z[self.n_zero :] = np.maximum(z[self.n_zero :], 0.0)
        value = float(0.5 * x @ self.p @ x + q @ x)
        return _Answer(x, z, s, value, float(info["solve_time"]), int(info["iterations"]))


def kkt_holds(
    p: np.ndarray,
    q: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    n_zero: int,
    x: np.ndarray,
    z: np.ndarray,
    tol: float = KKT_TOLERANCE,
) -> bool:
    """Check that ``(x, z)`` is optimal for ``min x'Px/2 + q'x, A x + s = b, s in K``.

    ``K`` is zero on the first ``n_zero`` rows and non-negative on the others, ``z`` the
    multipliers (free, then non-negative). Each condition is relative to the size of the
    numbers it compares: stationarity ``Px + q + A'z = 0``, primal feasibility, dual
    feasibility and the duality gap ``z's`` (for a convex QP, a point meeting all four
    exactly is optimal, and the gap bounds how far the objective is from the optimum).
    """
    if not (np.isfinite(x).all() and np.isfinite(z).all()):
        return False
    px = p @ x
    az = a.T @ z
    terms = np.abs(np.stack([px + q + az, q, px, az]))
    stationarity, sizes = terms[0].max(initial=0.0), terms[1:].max(initial=0.0)
    if stationarity > tol * (1.0 + sizes):
        return False
    ax = a @ x
    slack = b - ax
    scale = tol * (1.0 + max(np.abs(b).max(initial=0.0), np.abs(ax).max(initial=0.0)))
    if np.abs(slack[:n_zero]).max(initial=0.0) > scale or -slack[n_zero:].min(initial=0.0) > scale:
        return False
    duals = z[n_zero:]
    if -duals.min(initial=0.0) > tol * (1.0 + np.abs(z).max(initial=0.0)):
        return False
    gap = abs(float(np.maximum(duals, 0.0) @ np.maximum(slack[n_zero:], 0.0)))
    value = float(0.5 * x @ px + q @ x)
    return gap <= tol * (1.0 + abs(value))

"""Re-solving a compiled problem straight through kept solvers, when only its numbers change.

cvxpy's DPP program maps the parameter vector to the solver's data by fixed sparse
tensors. A re-solve that changes parameters keeps the sparsity pattern of ``A`` (the
tensor stores every entry a parameter can touch, zeros included): this path computes
``q``, ``b`` and the values of ``A`` from the tensors, updates solvers kept for the
problem and solves; the variables, duals and status are then set as a standard solve
sets them (cvxpy's inversion, or the selection of entries it was found to make, see
``_selection_maps``). Limits, bounds and the current hedge change ``q`` and
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
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import cvxpy as cp
import numpy as np
from cvxpy.cvxcore.python import canonInterface
from cvxpy.reductions.solvers.conic_solvers.clarabel_conif import dims_to_solver_cones

__all__ = ["KKT_TOLERANCE", "DirectSolve", "OneSided", "multiplier_range", "solve_fresh"]

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
        self.maps = _selection_maps(chain, inverse, n, self.n_rows)
        self.dims = data["dims"]
        self.variables = {v.id: v for v in problem.variables()}
        # cvxpy's inversion projects a variable with a sign or bounds onto them (an
        # interior point leaves a nonneg variable at -2e-10): done here as there, so that
        # the values, and the objective cvxpy evaluates from them, are the standard solve's
        self.projected = {v.id for v in problem.variables() if _projects(v)}
        # the last answer: the solver's x, z, s, the values of A, and the problem's
        # variables as it set them (a later standard solve leaves them different)
        self.last: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        self.set_values: list[tuple[Any, np.ndarray]] = []
        # unique_multipliers' split of A, by the objective's variables and A's pattern
        self.partition: tuple[Any, np.ndarray, Any] | None = None

    def _param_vec(self) -> np.ndarray:
        program = self.program
        vec: np.ndarray = canonInterface.get_parameter_vector(
            program.total_param_size,
            program.param_id_to_col,
            program.param_id_to_size,
            lambda i: np.asarray(program.id_to_param[i].value),
        )
        return vec

    def _value_of(self, key: int, value: np.ndarray) -> Any:
        """Return a variable's value as cvxpy's inversion gives it (projected, see above)."""
        return self.variables[key].project(value) if key in self.projected else value

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
        problem's variables, duals, value and status set as cvxpy's inversion sets them), or
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
        if self.maps is None:
            self.problem.unpack_results(raw, self.chain, self.inverse)
        else:  # cvxpy's inversion, found once to be a selection of entries: done directly
            from cvxpy.reductions.solution import Solution

            primal, duals = self.maps
            x, z = np.asarray(raw.x, dtype=np.float64), np.asarray(raw.z, dtype=np.float64)
            self.problem.unpack(
                Solution(
                    cp.OPTIMAL,
                    float(raw.obj_val),
                    {key: self._value_of(key, x[idx]) for key, idx, _ in primal},
                    {key: sign * z[idx] for key, idx, sign in duals},
                    {},
                )
            )
        if self.problem.status != cp.OPTIMAL:
            return None, True
        self.last = (
            np.array(raw.x, dtype=np.float64),
            np.array(raw.z, dtype=np.float64),
            np.array(raw.s, dtype=np.float64),
            a_values,
        )
        self.set_values = [(v, np.array(v.value)) for v in self.variables.values()]
        out = {
            "solver": solver,
            "solve_time": float(raw.solve_time),
            "setup_time": None,
            "num_iters": int(raw.iterations),
            "compilation_time": None,
            "direct": True,
            "update_and_solve_time": elapsed,
        }
        if isinstance(raw, _Answer) and raw.z_max is not None:
            out[ONE_SIDED] = OneSided(self.problem, self.chain, self.inverse, raw)
        return out, True

    def unique_multipliers(
        self, own: Sequence[cp.Variable], x: cp.Variable, tied: np.ndarray
    ) -> bool:
        """Whether the last answer's multipliers of the limits are certainly unique.

        ``own``, ``tied``: the objective's own variables and its active rows in the
        positions ``x`` (:meth:`~optihedge.optimize.terms.CompiledTerm.tied_rows`): the
        rows that read ``own``, or read what a cone other than the linear ones reads,
        are the objective's; the others are the limits' rows. True when the problem's
        variables are still as this answer set them, every limit row is strictly
        complementary (its slack or its multiplier is zero, the other clearly not:
        :data:`STRICT`) and the active limit rows with ``tied`` (each reading one more
        common column) are linearly independent: then no other multipliers meet the
        optimality conditions, the optimum is differentiable in each limit and both
        one-sided slopes are the multiplier.
        """
        if self.last is None or self.maps is None or not self.set_values:
            return False
        if any(not np.array_equal(v.value, value) for v, value in self.set_values):
            return False
        dims = self.dims
        if dims.psd or dims.exp or dims.p3d or dims.pnd:
            return False
        _, z, s, a_values = self.last
        nonzero = a_values != 0.0
        key = (frozenset(v.id for v in own), x.id)
        held = self.partition
        if held is None or held[0] != key or not np.array_equal(held[1], nonzero):
            held = self.partition = (key, nonzero, self._partition(*key, nonzero))
        found = held[2]
        if found is None:
            return False
        limits, kept, where, sign = found
        n_zero = int(dims.zero)
        rows = np.flatnonzero(limits)
        signed = rows[rows >= n_zero]
        small, large = np.minimum(s[signed], z[signed]), np.maximum(s[signed], z[signed])
        if not np.all((large > 0.0) & (small <= STRICT * large)):
            return False
        active = rows[(rows < n_zero) | (z[rows] > s[rows])]
        if active.size + len(tied) > kept.size + 1:
            return False
        if active.size + len(tied) == 0:
            return True
        dense = np.zeros((active.size + len(tied), kept.size + 1))
        dense[: active.size, :-1] = self._a_matrix(a_values)[:, kept].tocsr()[active].toarray()
        dense[active.size :, where] = sign * np.asarray(tied, dtype=np.float64)
        dense[active.size :, -1] = 1.0
        return _null_space(dense) is None

    def _partition(
        self, own: frozenset[int], x: int, nonzero: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float] | None:
        """Split the rows and columns of A (by its pattern) for :meth:`unique_multipliers`.

        Returns the limits' rows (a mask), the columns kept (those neither of ``own``
        nor read by a cone other than the linear ones), where the positions ``x`` lie
        among them and the sign they are stored with; None when the split fails (an
        objective's variable the solver does not hold, the positions read by a cone, a
        row coupling a cone's columns with others).
        """
        assert self.maps is not None
        n_linear = int(self.dims.zero + self.dims.nonneg)
        aside = np.zeros(self.a_shape[1], dtype=bool)
        columns: tuple[np.ndarray, float] | None = None
        missing = set(own)
        for key, idx, sign in self.maps[0]:
            if key in own:
                aside[idx] = True
                missing.discard(key)
            elif key == x:
                columns = (np.asarray(idx), float(sign))
        if missing or columns is None:
            return None
        pattern = self._a_matrix(nonzero.astype(np.float64)).tocsr()
        cones = np.arange(self.n_rows) >= n_linear
        coned = np.asarray(pattern[cones].sum(axis=0)).ravel() > 0
        aside |= coned
        reads_aside = np.asarray(pattern @ aside.astype(np.float64)).ravel() > 0
        # a row that reads both columns a cone reads and the others couples them (a
        # proximal term in use): no certificate
        mixed = np.asarray(pattern @ (~aside).astype(np.float64)).ravel() > 0
        if np.any(mixed & (np.asarray(pattern @ coned.astype(np.float64)).ravel() > 0)):
            return None
        kept = np.flatnonzero(~aside)
        where = np.searchsorted(kept, columns[0])
        if not np.array_equal(kept[np.minimum(where, kept.size - 1)], columns[0]):
            return None  # the positions read by a cone: not a linear program
        return ~cones & ~reads_aside, kept, where, columns[1]


#: strict complementarity, told apart from an interior-point answer's noise: a row's
#: slack or multiplier at most this share of the other
STRICT = 1e-3

_Maps = tuple[list[tuple[int, np.ndarray, float]], list[tuple[int, np.ndarray, float]]]


def _selection_maps(chain: Any, inverse: Any, n: int, m: int) -> _Maps | None:
    """Find how cvxpy's inversion picks variables and duals out of the solver's x and z.

    For the problems here it selects entries (with a sign for some duals): inverting a
    probe of distinct whole numbers tells which, a second probe of random reals checks it
    (a scaled or summed entry would not reproduce them exactly), and the re-solves then
    skip the inversion's reductions. None when anything is more than a selection.
    """
    rng = np.random.default_rng(0)
    probes = []
    for x, z in (
        (np.arange(1.0, n + 1.0), np.arange(1.0, m + 1.0)),
        (rng.uniform(1.0, 2.0, n), rng.uniform(1.0, 2.0, m)),
    ):
        try:
            probes.append((x, z, chain.invert(_Answer(x, z, np.zeros(m), 0.0, 0.0, 0), inverse)))
        except Exception:  # any surprise: cvxpy's own inversion every time
            return None
    primal: list[tuple[int, np.ndarray, float]] = []
    duals: list[tuple[int, np.ndarray, float]] = []
    (x1, z1, first), (x2, z2, second) = probes
    for source, target, values1, values2 in (
        (first.primal_vars, primal, x1, x2),
        (first.dual_vars, duals, z1, z2),
    ):
        other = second.primal_vars if target is primal else second.dual_vars
        for key, value in source.items():
            found = _selection(value, values1, other.get(key), values2)
            if found is None:
                return None
            target.append((key, *found))
    return primal, duals


def _selection(
    value: Any, values: np.ndarray, value2: Any, values2: np.ndarray
) -> tuple[np.ndarray, float] | None:
    """Return (indices, sign) with ``value == sign * values[indices]`` for both probes.

    ``values`` is 1..size in some order (it finds the indices); ``values2`` checks them.
    """
    if value is None or value2 is None:
        return None
    v, v2 = np.asarray(value, dtype=np.float64), np.asarray(value2, dtype=np.float64)
    if v.shape != v2.shape or v.size == 0 or not np.isfinite(v).all():
        return None
    sign = 1.0 if (v > 0).all() else -1.0 if (v < 0).all() else 0.0
    if sign == 0.0 or not np.array_equal(np.abs(v), np.rint(np.abs(v))):
        return None
    k = np.rint(np.abs(v)).astype(np.int64)
    if k.min() < 1 or k.max() > values.size:
        return None
    idx = np.argsort(values)[k - 1]  # values are 1..size in some order: k sits there
    if not (np.array_equal(sign * values[idx], v) and np.array_equal(sign * values2[idx], v2)):
        return None
    return idx, sign


def _projects(variable: cp.Variable) -> bool:
    """Whether cvxpy's inversion projects this variable's value (a sign or bounds)."""
    attributes = variable.attributes
    signed = any(attributes.get(a) for a in ("nonneg", "nonpos", "pos", "neg"))
    return signed or attributes.get("bounds") is not None


def _fits_active_set(data: dict[str, Any]) -> bool:
    """Whether the dense active set takes these data: linear cones, small sizes."""
    dims = data["dims"]
    linear = not (dims.soc or dims.psd or dims.exp or dims.p3d or dims.pnd)
    n, m = data["c"].size, data["A"].shape[0]
    return bool(linear and n <= _ACTIVE_SET_VARIABLES and m <= _ACTIVE_SET_ROWS)


def solve_fresh(problem: cp.Problem, *, ignore_dpp: bool) -> tuple[str, OneSided | None]:
    """Canonicalise ``problem`` for Clarabel and solve it: the dense active set first.

    What ``problem.solve(solver="CLARABEL", ignore_dpp=...)`` does, with one step more:
    when the data fit the dense active set, its answer is taken if it passes the
    optimality check; otherwise (or on any surprise from it) Clarabel solves the same
    data, with no second canonicalisation. Returns the name of the solver that answered
    and, when the active set's multipliers are not unique, their range (:class:`OneSided`).
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
                kink = None if answer.z_max is None else OneSided(problem, chain, inverse, answer)
                return "DAQP", kink
    solution = chain.solve_via_data(problem, data, False, False, {})
    problem.unpack_results(solution, chain, inverse)
    return str(cp.CLARABEL), None


ONE_SIDED = "_one_sided"
"""Key of a :class:`OneSided` in the statistics a solve returns (popped before results)."""


class OneSided:
    """The range of a solve's multipliers where they are not unique (a limit at a kink).

    The problem holds the least multipliers row by row: each is what relaxing that limit
    alone gains per unit (the one-sided derivative of the optimum); the greatest are what
    tightening it costs. :meth:`tightening` reads the problem's duals as the greatest.
    """

    def __init__(self, problem: cp.Problem, chain: Any, inverse: Any, answer: _Answer) -> None:
        self.problem, self.chain, self.inverse, self.answer = problem, chain, inverse, answer

    def tightening(self, read: Callable[[], Any]) -> Any:
        """Return ``read()`` with the greatest multipliers in place; restore the least."""
        greatest = self.answer.z_max
        if greatest is None:
            return read()
        # the positions as they are now (a tie-break may have moved them since the solve)
        held = [(v, v.value) for v in self.problem.variables()]
        least, self.answer.z = self.answer.z, greatest
        try:
            self.problem.unpack_results(self.answer, self.chain, self.inverse)
            return read()
        finally:
            self.answer.z = least
            self.problem.unpack_results(self.answer, self.chain, self.inverse)
            for variable, value in held:
                variable.save_value(value)


class _Answer:
    """An active-set answer in the shape cvxpy's Clarabel inversion reads."""

    status = "Solved"

    def __init__(
        self, x: np.ndarray, z: np.ndarray, s: np.ndarray, value: float, seconds: float, its: int
    ) -> None:
        self.x, self.z, self.s = x, z, s
        self.z_max: np.ndarray | None = None  # set when the multipliers are not unique
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
        self.q, self.b = q.copy(), b.copy()  # what the model holds
        self.null_spaces: dict[bytes, np.ndarray | None] = {}  # by active set, this A

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
            self.null_spaces.clear()  # found for the old A
        # the last working set is kept unless the last answer failed
        sense = self.sense.copy() if self.fresh else None
        # only what changed is handed over (DAQP re-derives what depends on it)
        f = q if self.fresh or not np.array_equal(q, self.q) else None
        new_b = self.fresh or not np.array_equal(b, self.b)
        upper, lower = (b.copy(), self._lower(b)) if new_b else (None, None)
        code = self.model.update(f=f, A=a, bupper=upper, blower=lower, sense=sense)
        self.q, self.b = q, b
        if code < 0:
            self.fresh = True
            return None
        x, _, flag, info = self.model.solve()
        x = np.array(x, dtype=np.float64)  # copies: DAQP's buffers are its own
        z = np.array(info["lam"], dtype=np.float64)
        self.fresh = flag != 1
        if flag != 1 or not kkt_holds(self.p, q, self.a, b, self.n_zero, x, z, KKT_TOLERANCE):
            self.fresh = True
            return None
        s = b - self.a @ x
        z[self.n_zero :] = np.maximum(z[self.n_zero :], 0.0)
        ranges = multiplier_range(self.a, b, self.n_zero, s, z, known=self.null_spaces)
        s[: self.n_zero] = 0.0
        np.maximum(s, 0.0, out=s)
        value = float(0.5 * x @ self.p @ x + q @ x)
        answer = _Answer(
            x,
            z if ranges is None else ranges[0],
            s,
            value,
            float(info["solve_time"]),
            int(info["iterations"]),
        )
        answer.z_max = None if ranges is None else ranges[1]
        return answer


def multiplier_range(
    a: np.ndarray,
    b: np.ndarray,
    n_zero: int,
    slack: np.ndarray,
    z: np.ndarray,
    tol: float = KKT_TOLERANCE,
    known: dict[bytes, np.ndarray | None] | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the least and greatest multiplier of each inequality row over the optimal set.

    At an optimum ``x`` with multipliers ``z`` (which meet the optimality conditions),
    every optimal multiplier vector is ``z + N t`` where ``N`` spans the null space of
    the active rows' transpose (stationarity fixes ``A_W' z_W``), subject to ``z_i >= 0``
    on the active inequality rows and 0 elsewhere (the multipliers are the same set at
    every optimum of a convex QP, so one ``x`` serves). When the active rows are
    linearly independent ``z`` is unique: None. Otherwise each inequality row's least
    value is the gain per unit from relaxing that limit alone (the derivative of the
    optimum from that side) and the greatest the cost per unit of tightening it (``inf``
    when tightening it at all leaves nothing feasible). Equality rows keep ``z``.

    ``known``: null spaces already found for these ``a``, by active set (a sweep meets
    the same active sets again and again); filled here.
    """
    scale = tol * (1.0 + np.abs(b).max(initial=0.0))
    active = np.flatnonzero((np.arange(b.size) < n_zero) | (slack <= scale))
    if active.size == 0:
        return None
    key = active.tobytes()
    if known is None or key not in known:
        null = _null_space(a[active])
        if known is not None:
            if len(known) > 512:
                known.clear()
            known[key] = null
    else:
        null = known[key]
    if null is None:
        return None
    base = z[active]
    signed = active >= n_zero  # which active rows must stay >= 0
    least, greatest = z.copy(), z.copy()
    rows, cols = null[signed], base[signed]
    groups = _components(rows)
    for j in np.flatnonzero(signed & np.any(null != 0.0, axis=1)):
        # the free directions that move row j, and the rows they move: a block of their own
        keep = np.flatnonzero(null[j] != 0.0)
        keep = groups[keep[0]]
        touched = np.flatnonzero(np.any(rows[:, keep] != 0.0, axis=1))
        lo, hi = _extremes(rows[np.ix_(touched, keep)], cols[touched], null[j, keep])
        least[active[j]] = max(base[j] + lo, 0.0)
        greatest[active[j]] = base[j] + hi
    return least, greatest


def _components(null: np.ndarray) -> list[np.ndarray]:
    """Return, for each column of ``null``, the columns linked to it through shared rows.

    Two free directions of the multipliers interact only through rows both move; the
    least and greatest multipliers of a row are found within its block of directions
    (a variable held at one value by two bounds is a block of one: a closed form).
    """
    n = null.shape[1]
    link = (null != 0.0).astype(np.int64)
    graph = (link.T @ link) > 0  # columns sharing a row
    label = np.full(n, -1)
    for start in range(n):
        if label[start] >= 0:
            continue
        stack, label[start] = [start], start
        while stack:
            c = stack.pop()
            for d in np.flatnonzero(graph[c] & (label < 0)):
                label[d] = start
                stack.append(int(d))
    return [np.flatnonzero(label == label[c]) for c in range(n)]


def _null_space(rows: np.ndarray) -> np.ndarray | None:
    """Return a basis of the null space of ``rows.T`` (one column each), or None if trivial."""
    # clearly independent rows (each well off the span of those before it, in the
    # Cholesky factor of their Gram matrix) skip the singular value decomposition
    gram = rows @ rows.T
    try:
        pivots = np.abs(np.diag(np.linalg.cholesky(gram)))
        if pivots.min() > 1e-6 * np.sqrt(np.diag(gram).max()):
            return None
    except np.linalg.LinAlgError:
        pass  # not positive definite: dependent rows
    # pivoted QR of rows.T: the pivot rows span, each other row gives one null vector with
    # a 1 at its own place (sparse when the dependence is local, e.g. a variable held by a
    # lower and an upper bound: a pair), so the multipliers' free directions split in blocks
    from scipy.linalg import qr, solve_triangular

    m = rows.shape[0]
    _, r, piv = qr(rows.T, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > 1e-10 * diag.max(initial=0.0))) if diag.size else 0
    if rank == m:
        return None
    null = np.zeros((m, m - rank))
    null[piv[:rank]] = -solve_triangular(r[:rank, :rank], r[:rank, rank:])
    null[piv[rank:], np.arange(m - rank)] = 1.0
    null /= np.linalg.norm(null, axis=0)
    null[np.abs(null) < 1e-12] = 0.0
    return null


def _extremes(null: np.ndarray, base: np.ndarray, direction: np.ndarray) -> tuple[float, float]:
    """Return min and max of ``direction @ t`` subject to ``base + null @ t >= 0``."""
    if null.shape[1] == 1:  # one free direction: an interval of t, in closed form
        col, d = null[:, 0], float(direction[0])
        up, down = col > 0, col < 0
        t_lo = np.max(-base[up] / col[up], initial=-np.inf)
        t_hi = np.min(-base[down] / col[down], initial=np.inf)
        ends = (d * t_lo, d * t_hi) if d > 0 else (d * t_hi, d * t_lo)
        return float(ends[0]), float(ends[1])
    if null.shape[1] <= 3 and null.shape[0] <= 16:  # a small block: its vertices, exactly
        small = _small_extremes(null, base, direction)
        if small is not None:
            return small
    from scipy.optimize import linprog

    out = []
    for sign in (1.0, -1.0):
        lp = linprog(
            sign * direction,
            A_ub=-null,
            b_ub=base,
            bounds=[(None, None)] * null.shape[1],
            method="highs",
        )
        out.append(sign * lp.fun if lp.status == 0 else (-np.inf if sign > 0 else np.inf))
    return float(out[0]), float(out[1])


def _small_extremes(
    null: np.ndarray, base: np.ndarray, direction: np.ndarray
) -> tuple[float, float] | None:
    """:func:`_extremes` for a few free directions by enumerating vertices and rays.

    ``min d't`` subject to ``base + N t >= 0`` (``N`` of full column rank ``k``) is
    unbounded exactly when an extreme ray ``r`` of the cone ``N r >= 0`` has ``d'r < 0``
    (each such ray holds ``k - 1`` rows at equality); otherwise it is reached at a vertex,
    where ``k`` rows hold with equality. None when ``N`` is rank deficient or no vertex is
    found (numerical trouble: the caller solves the LP).
    """
    from itertools import combinations

    k = null.shape[1]
    if np.linalg.matrix_rank(null) < k:
        return None
    scale = 1.0 + float(np.abs(base).max(initial=0.0))
    vertices = []
    for rows in combinations(range(null.shape[0]), k):
        sub = null[list(rows)]
        if abs(np.linalg.det(sub)) < 1e-12:
            continue
        t = np.linalg.solve(sub, -base[list(rows)])
        if np.all(base + null @ t >= -1e-9 * scale):
            vertices.append(t)
    candidates = [np.ones(1), -np.ones(1)] if k == 1 else []
    for rows in combinations(range(null.shape[0]), k - 1) if k > 1 else ():
        _, sv, vt = np.linalg.svd(null[list(rows)])
        if sv.size < k - 1 or sv[-1] < 1e-10 * sv[0]:
            continue  # not k - 1 independent rows: no edge of the cone
        candidates += [vt[-1], -vt[-1]]
    rays = [r for r in candidates if np.all(null @ r >= -1e-9)]
    out = []
    for sign in (1.0, -1.0):
        objective = sign * direction
        size = 1e-9 * (1.0 + float(np.abs(objective).max()))
        if any(float(objective @ r) < -size for r in rays):
            out.append(-np.inf)  # unbounded below along a ray
            continue
        if not vertices:
            return None
        out.append(min(float(objective @ t) for t in vertices))
    return float(out[0]), float(-out[1])


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

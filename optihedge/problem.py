"""HedgeProblem: one compiled, DPP cvxpy problem re-solved for new parameter values.

Whole contracts: with SCIP installed (``pip install optihedge[mip]``) the problem is a
mixed-integer program solved exactly. Without it, optihedge runs a documented rounding
search: solve the continuous relaxation, then evaluate every floor/ceiling combination
of the contract counts (up to 10 instruments; beyond that, nearest rounding improved by
one-contract moves), re-optimising the other positions for each, and keep the best
feasible one. It is exact among those roundings, not globally; tests compare it with
brute-force enumeration on small cases.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from constraints import Constraint, HedgeContext, HedgeData, Row, Turnover, WholeContracts
from constraints.errors import ConvexityError, NotDPPError
from optihedge._data import build_data
from optihedge.errors import (
    InfeasibleError,
    SolverFailedError,
    SpecificationError,
    UnboundedError,
)
from optihedge.instruments import Instrument
from optihedge.objectives import Objective
from optihedge.portfolio import Portfolio
from optihedge.result import HedgeResult, make_result
from optihedge.shortfall import CapacityExceededError, ExpectedShortfall

__all__ = ["HedgeProblem"]

DEFAULT_SOLVERS = ("CLARABEL", "SCS")
_OK = (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)
_INFEASIBLE = (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE)
_UNBOUNDED = (cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE)
_MAX_ENUMERATED = 10
# HiGHS stops at a 1e-4 relative MIP gap by default; whole contracts must be optimal
_EXACT_MIP_OPTIONS: dict[str, dict[str, Any]] = {"HIGHS": {"mip_rel_gap": 1e-9}}


class HedgeProblem:
    """Minimise a book's risk over hedge positions within the mandate's limits.

    Parameters
    ----------
    portfolio : Portfolio
    instruments : sequence of Instrument
        Unique labels; positions are signed notional / book value.
    objective : Objective
        E.g. ``Variance()``, ``RobustVariance()``, ``Variance() + 0.5 * TradingCost()``.
    constraints : sequence of Constraint, default ()
    risk_model : RiskModel or RiskModelSet
        Per-day (or per-``horizon``) model; scaled to ``horizon`` days.
    scenarios : None
        Reserved for the expected-shortfall objective (not in this version).
    horizon : int, default 21
        Trading days the risk is stated over.
    current : Series by instrument, optional
        Current hedge positions (fractions of book value); zero if omitted.
    market : str, optional
        Factor or asset that "beta" refers to; the risk model's first factor if omitted.
    expected_returns : Series by asset, optional
        Over the horizon, for ``ExpectedPnL``.

    Examples
    --------
    >>> problem = HedgeProblem(book, [es, spy], objective=Variance(),  # doctest: +SKIP
    ...                        constraints=[GrossExposure(0.8)], risk_model=model)
    >>> problem.solve({"gross_exposure.max": 0.5}).weights  # doctest: +SKIP
    """

    def __init__(
        self,
        portfolio: Portfolio,
        instruments: Sequence[Instrument],
        *,
        objective: Objective,
        constraints: Sequence[Constraint] = (),
        risk_model: Any = None,
        scenarios: Any = None,
        horizon: int = 21,
        current: pd.Series | None = None,
        market: Hashable | None = None,
        expected_returns: pd.Series | None = None,
    ) -> None:
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
            raise SpecificationError(
                f"The 'horizon' argument must be an int >= 1. Got {horizon!r}."
            )
        if not isinstance(objective, Objective):
            raise SpecificationError(
                f"The 'objective' argument must be an Objective. Got {type(objective).__name__}."
            )
        for c in constraints:
            if not isinstance(c, Constraint):
                raise SpecificationError(f"{c!r} is not a Constraint from the constraints package.")
        self.portfolio = portfolio
        self.instruments = list(instruments)
        self.objective = objective
        self.constraints = list(constraints)
        self.horizon = horizon
        self.market = market
        self.expected_returns = expected_returns
        self._risk_model = risk_model
        self.scenarios = scenarios
        self._current = self._current_from(current)
        self.data = self._build_data()
        self._check_keys()
        self._compile()

    # ----------------------------------------------------------------- building
    def _current_from(self, current: pd.Series | None) -> pd.Series | None:
        for c in self.constraints:
            if isinstance(c, Turnover) and c.current is not None:
                if current is not None and not current.equals(c.current):
                    raise SpecificationError(
                        "The problem's 'current' hedge and Turnover(current=...) differ; give it "
                        "once."
                    )
                current = c.current
        return current

    def _build_data(self) -> HedgeData:
        data = build_data(
            self.portfolio,
            self.instruments,
            self._risk_model,
            horizon=self.horizon,
            current=self._current,
            market=self.market,
            expected_returns=self.expected_returns,
            scenarios=self.scenarios,
        )
        reference = self.objective.reference(data)
        if reference > 0 and np.isfinite(reference):
            data = dataclasses.replace(data, objective_scale=1.0 / reference)
        return data

    def _check_keys(self) -> None:
        seen: dict[str, Constraint] = {}
        for c in self.constraints:
            for key in c.parameters():
                if key in seen:
                    raise SpecificationError(
                        f"Parameter {key!r} is defined by both {seen[key]!r} and {c!r}; a problem "
                        "takes one constraint per parameter name."
                    )
                seen[key] = c

    def _compile(self) -> None:
        data = self.data
        n = len(data.instruments)
        self.x = cp.Variable(n, name="x")
        self._current_param = cp.Parameter(n, name="current")
        self._current_param.value = data.current.to_numpy()
        ctx = HedgeContext(data=data, x=self.x, current=self._current_param)
        self._whole = [c for c in self.constraints if isinstance(c, WholeContracts)]
        self.exact_integer = self._integer_method()
        for w in self._whole:
            w.integer = self.exact_integer
        try:
            expr, aux = self.objective.build(ctx)
            self.objective.update(data)
        except Exception as exc:
            exc.add_note(f"raised while building {self.objective!r}")
            raise
        self.rows: dict[int, list[Row]] = {}
        for c in self.constraints:
            try:
                self.rows[id(c)] = c.build(ctx)
            except Exception as exc:
                exc.add_note(f"raised while building {c!r}")
                raise
        self._bound_rows = self._instrument_bounds(ctx)
        whole_rows = [r.constraint for c in self._whole for r in self.rows[id(c)]]
        plain = [
            r.constraint
            for c in self.constraints
            if not isinstance(c, WholeContracts)
            for r in self.rows[id(c)]
        ] + [r.constraint for r in self._bound_rows]
        self._check_terms(expr, ctx)
        self.problem = cp.Problem(cp.Minimize(expr), aux + plain + whole_rows)
        self._relaxed = (
            cp.Problem(cp.Minimize(expr), aux + plain)
            if self._whole and not self.exact_integer
            else None
        )
        # after an exact integer solve: contracts fixed, continuous, so duals exist
        fixed = [w.fixed_row.constraint for w in self._whole if w.fixed_row is not None]
        self._fixed = (
            cp.Problem(cp.Minimize(expr), aux + plain + fixed) if self.exact_integer else None
        )
        if not self.problem.is_dcp():
            raise ConvexityError("The hedge problem is not DCP; see the terms named above.")

    def _integer_method(self) -> bool:
        methods = {w.method for w in self._whole}
        if len(methods) > 1:
            raise SpecificationError(
                f"WholeContracts constraints ask for different methods {sorted(methods)}; use one."
            )
        if not methods:
            return False
        installed = cp.installed_solvers()
        # a linear objective (expected shortfall, costs) is a MILP: HiGHS solves it exactly
        linear = not self.objective.is_quadratic and "HIGHS" in installed
        have_exact = linear or "SCIP" in installed
        method = methods.pop()
        if method == "exact" and not have_exact:
            raise SpecificationError(
                "WholeContracts(method='exact') with a quadratic objective needs the SCIP "
                "solver: pip install 'optihedge[mip]'. Or use method='rounding'."
            )
        self._integer_solvers = ("HIGHS", "SCIP") if linear else ("SCIP",)
        return method == "exact" or (method == "auto" and have_exact)

    def _instrument_bounds(self, ctx: HedgeContext) -> list[Row]:
        rows = []
        self._bound_params: list[tuple[cp.Parameter, str, np.ndarray]] = []
        for side, sense in (("lower", ">="), ("upper", "<=")):
            values = ctx.data.attribute(side)
            index = np.flatnonzero(np.isfinite(values))
            if len(index) == 0:
                continue
            p = cp.Parameter(len(index))
            p.value = values[index]
            self._bound_params.append((p, side, index))
            expr = ctx.x[index]
            cons = expr >= p if sense == ">=" else expr <= p
            names = tuple(f"instrument.{side}[{ctx.instruments[int(i)]}]" for i in index)
            rows.append(Row(f"instrument.{side}", cons, expr, p, sense, names))  # type: ignore[arg-type]
        return rows

    def _check_terms(self, expr: cp.Expression, ctx: HedgeContext) -> None:
        if not cp.Problem(cp.Minimize(expr)).is_dpp():
            raise NotDPPError(f"{self.objective!r} is not DPP; it would recompile every solve.")
        for c in self.constraints:
            for r in self.rows[id(c)]:
                if not cp.Problem(cp.Minimize(0), [r.constraint]).is_dpp():
                    raise NotDPPError(f"{c!r} built a row that is not DPP: {r.label}.")

    @property
    def whole_contracts(self) -> list[WholeContracts]:
        """The WholeContracts constraints of this problem."""
        return list(self._whole)

    # ------------------------------------------------------------------ solving
    def parameters(self) -> dict[str, float | None]:
        """Every named parameter of the objective and the constraints, with its value."""
        out: dict[str, float | None] = dict(self.objective.parameters())
        for c in self.constraints:
            out.update(c.parameters())
        return out

    def _owner(self, key: str) -> Constraint | Objective:
        if key in self.objective.parameters():
            return self.objective
        for c in self.constraints:
            if key in c.parameters():
                return c
        raise SpecificationError(
            f"Unknown parameter {key!r}; this problem's parameters are {sorted(self.parameters())}."
        )

    def solve(
        self,
        params: Mapping[str, float] | None = None,
        *,
        current: pd.Series | None = None,
        risk_model: Any = None,
        portfolio: Portfolio | None = None,
        solver: str | None = None,
        **solver_options: Any,
    ) -> HedgeResult:
        """Solve for new parameter values without recompiling.

        Parameters
        ----------
        params : mapping of parameter name to value, optional
            E.g. ``{"turnover.max": 0.1, "residual_beta.max": 0.3}``.
        current, risk_model, portfolio : optional
            New current hedge, risk model (same assets and factors) or book (same
            tickers); the problem's numbers are refreshed, not rebuilt.
        solver : str, optional
            A cvxpy solver name; the default tries Clarabel then SCS.
        **solver_options
            Passed to the solver.

        Raises
        ------
        InfeasibleError
            Naming the smallest set of constraints that conflict.
        UnboundedError, SolverFailedError
        """
        for key, value in (params or {}).items():
            self._owner(key).set_parameter(key, value)
        if current is not None or risk_model is not None or portfolio is not None:
            if current is not None:
                self._current = current
            if risk_model is not None:
                self._risk_model = risk_model
            if portfolio is not None:
                self.portfolio = portfolio
            self.data = self._build_data()
            self.objective.update(self.data)
            for c in self.constraints:
                c.update(self.data)
            for p, side, index in self._bound_params:
                p.value = self.data.attribute(side)[index]
            self._current_param.value = self.data.current.to_numpy()
        try:
            if self._relaxed is not None:
                status, stats = self._solve_rounding(solver, solver_options)
            else:
                status, stats = self._run(self.problem, solver, solver_options)
            if self._fixed is not None:
                self._price_limits()
        except CapacityExceededError as exc:
            self._grow(int(exc.args[0]))
            return self.solve(solver=solver, **solver_options)
        return make_result(self, status, stats)

    def _grow(self, needed: int) -> None:
        """Recompile with more scenario slots (the active set outgrew them)."""
        for term in [self.objective, *self.objective.children()]:
            if isinstance(term, ExpectedShortfall):
                term.grow(needed)
        self._compile()

    def _price_limits(self) -> None:
        """Re-solve with the integer contracts fixed so that every limit has a dual."""
        assert self._fixed is not None
        for w in self._whole:
            assert w.target is not None
            cv = self.data.attribute("contract_value")[w.index]
            w.target.value = cv * np.round(np.asarray(self.x.value)[w.index] / cv)
        mip_value = float(self.problem.value)
        self._fixed.solve(solver=DEFAULT_SOLVERS[0])
        tolerance = 1e-6 * max(1.0, abs(mip_value))
        if self._fixed.status not in _OK or abs(self._fixed.value - mip_value) > tolerance:
            raise SolverFailedError(
                "Re-solving with the contracts fixed did not reproduce the integer optimum "
                f"({self._fixed.status}, {self._fixed.value!r} vs {mip_value!r})."
            )

    def _solvers(self, solver: str | None) -> tuple[str, ...]:
        if solver is not None:
            return (solver,)
        if self.exact_integer:
            return self._integer_solvers
        return DEFAULT_SOLVERS

    def _run(
        self,
        problem: cp.Problem,
        solver: str | None,
        options: Mapping[str, Any],
        diagnose: bool = True,
    ) -> tuple[str, dict[str, Any]]:
        last: Exception | None = None
        for name in self._solvers(solver):
            if self.exact_integer and name in _EXACT_MIP_OPTIONS:
                options = {**_EXACT_MIP_OPTIONS[name], **options}
            try:
                problem.solve(solver=name, **options)
                refinements = 0
                while problem.status in _OK and self.objective.refine(
                    np.asarray(self.x.value, dtype=np.float64)
                ):
                    refinements += 1
                    problem.solve(solver=name, **options)
            except cp.error.SolverError as exc:
                last = exc
                continue
            if problem.status in _OK:
                stats = _stats(problem, name)
                stats["refinements"] = refinements
                return str(problem.status), stats
            if problem.status in _INFEASIBLE:
                if diagnose:
                    raise InfeasibleError(self._diagnose())
                return str(problem.status), _stats(problem, name)
            if problem.status in _UNBOUNDED:
                raise UnboundedError(
                    "The hedge problem is unbounded: the objective improves without limit. Add "
                    "bounds (Bounds, GrossExposure) on the instruments."
                )
        raise SolverFailedError(
            f"No solver returned a usable answer (tried {list(self._solvers(solver))}); pass "
            "another solver= or check the data's scale."
        ) from last

    def _groups(self) -> list[tuple[str, list[cp.Constraint]]]:
        groups = [
            (repr(c), [r.constraint for r in self.rows[id(c)]])
            for c in self.constraints
            if self.rows[id(c)] and not (isinstance(c, WholeContracts) and not c.integer)
        ]
        if self._bound_rows:
            groups.append(("instrument bounds", [r.constraint for r in self._bound_rows]))
        return groups

    def _feasible(self, groups: list[tuple[str, list[cp.Constraint]]]) -> bool:
        cons = [c for _, g in groups for c in g]
        if not cons:
            return True
        probe = cp.Problem(cp.Minimize(0), cons)
        probe.solve(solver=self._solvers(None)[0])
        return probe.status not in _INFEASIBLE

    def _diagnose(self) -> str:
        """Name a conflicting set by deletion: drop groups whose removal keeps infeasibility."""
        core = self._groups()
        for group in list(core):
            trial = [g for g in core if g is not group]
            if not self._feasible(trial):
                core = trial
        names = " with ".join(name for name, _ in core) or "the objective's own constraints"
        return (
            f"Hedge problem is infeasible: {names} conflict. Relax one of them (or move it to "
            "the objective as a penalty)."
        )

    def _solve_rounding(
        self, solver: str | None, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        assert self._relaxed is not None
        self._run(self._relaxed, solver, options)
        x_relaxed = np.asarray(self.x.value, dtype=np.float64)
        best: tuple[float, np.ndarray] | None = None
        tried = 0
        for counts in self._roundings(x_relaxed):
            tried += 1
            self._fix(counts)
            status, _ = self._run(self.problem, solver, options, diagnose=False)
            if status in _OK and (best is None or self.problem.value < best[0] - 1e-15):
                best = (float(self.problem.value), counts)
        if best is None:
            raise InfeasibleError(
                f"No whole-contract position among {tried} roundings of the continuous optimum "
                "satisfies every limit. Install the 'mip' extra for an exact search, or relax a "
                "limit."
            )
        self._fix(best[1])
        status, stats = self._run(self.problem, solver, options)
        stats["roundings_tried"] = tried
        return status, stats

    def _fix(self, counts: Mapping[int, np.ndarray] | Any) -> None:
        for w in self._whole:
            assert w.target is not None
            cv = self.data.attribute("contract_value")[w.index]
            w.target.value = cv * counts[id(w)]

    def _roundings(self, x: np.ndarray) -> Any:
        per = {
            id(w): x[w.index] / self.data.attribute("contract_value")[w.index] for w in self._whole
        }
        total = sum(len(v) for v in per.values())
        keys = list(per)
        if total <= _MAX_ENUMERATED:
            choices = [
                list(itertools.product(*[(np.floor(k), np.ceil(k)) for k in per[key]]))
                for key in keys
            ]
            seen = set()
            for combo in itertools.product(*choices):
                counts = {key: np.array(c) for key, c in zip(keys, combo, strict=True)}
                sig = tuple(float(v) for c in combo for v in c)
                if sig not in seen:
                    seen.add(sig)
                    yield counts
            return
        base = {key: np.round(v) for key, v in per.items()}
        yield base
        for key in keys:
            for j in range(len(base[key])):
                for step in (-1.0, 1.0):
                    moved = {k: v.copy() for k, v in base.items()}
                    moved[key][j] += step
                    yield moved


def _stats(problem: cp.Problem, name: str) -> dict[str, Any]:
    s = problem.solver_stats
    return {
        "solver": name,
        "solve_time": getattr(s, "solve_time", None),
        "setup_time": getattr(s, "setup_time", None),
        "num_iters": getattr(s, "num_iters", None),
        "compilation_time": getattr(problem, "compilation_time", None),
    }

"""CompiledHedge: the compiled cvxpy program of a hedge problem and its state.

One compiled core, owned by :class:`~optihedge.optimize.problem.HedgeProblem` (the facade
users build) and read by sweeps and the backtest through the facade's public calls. It
holds the structure's compiled terms, the inputs and parameter values they hold now, and
the solver state: the checked-whole update with rollback (:meth:`CompiledHedge.set`,
``_commit``), the recompile when a term asks for a rebuild, the solve loop (continuous,
whole contracts, kept direct solvers), the light answer (:meth:`CompiledHedge.solve_point`
-> :class:`~optihedge.optimize.solution.Solution`) with every binding limit priced (the
one-sided slopes by re-solves, ``optimize.slopes``) and the record arrays the answer
reads. It builds no :class:`~optihedge.optimize.result.HedgeResult`: the facade does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import cvxpy as cp
import numpy as np

from constraints import Compiled, Constraint, HedgeContext, HedgeData, RebuildRequired
from optihedge._validation import check_int
from optihedge.errors import (
    InfeasibleError,
    SolverFailedError,
    SpecificationError,
    UnboundedError,
)
from optihedge.instruments import Instrument
from optihedge.measures import pnl
from optihedge.measures.risk import expected_shortfall, value_at_risk
from optihedge.optimize import integer
from optihedge.optimize.bounds import instrument_bounds
from optihedge.optimize.data import build_data, check_instruments, scaled
from optihedge.optimize.diagnose import conflicting_limits, limit_groups, name_the_culprit
from optihedge.optimize.direct import ONE_SIDED, DirectSolve
from optihedge.optimize.inputs import HedgeInputs, carry_inputs
from optihedge.optimize.objective import QUADRATIC_OPTION, SWEEP_OPTION, Objective
from optihedge.optimize.registry import ParameterRegistry
from optihedge.optimize.result import POSITION_TOLERANCE
from optihedge.optimize.slopes import TIGHT, Slopes, measure
from optihedge.optimize.solution import LimitNumbers, Solution, SolveStats
from optihedge.optimize.solve import (
    DEFAULT_SOLVERS,
    OK,
    check_solver_options,
    limit_numbers,
    run,
)
from optihedge.optimize.terms import CompiledTerm
from optihedge.optimize.ties import TieBreaker, tied_groups

__all__ = ["CompiledHedge"]

_MAX_REBUILDS = 4


class CompiledHedge:
    """The compiled program of a hedge problem: update, solve, answer.

    Built from the structure (instruments, objective, constraints, horizon, market), the
    inputs, build options and parameter values; every argument is checked. A
    :class:`~optihedge.optimize.problem.HedgeProblem` owns one and delegates to it.

    Parameters
    ----------
    instruments : sequence of Instrument
    objective : Objective
    constraints : sequence of Constraint
    horizon : int
        Periods of the data the risk is stated over.
    market : hashable, optional
    inputs : HedgeInputs
    options : mapping
        Build options passed to the terms (e.g. :data:`SWEEP_OPTION`).
    values : mapping of registry key to value, optional
        Parameter values to start from (checked).
    """

    # re-solves that measure a limit's slopes: no diagnosis, no tie-break (see _slopes)
    _probing: bool = False
    _asked: tuple[str | None, dict[str, Any]] = (None, {})

    def __init__(
        self,
        instruments: Sequence[Instrument],
        objective: Objective,
        constraints: Sequence[Constraint],
        horizon: Any,
        market: Hashable | None,
        inputs: HedgeInputs,
        options: Mapping[str, Any],
        values: Mapping[str, float] | None,
    ) -> None:
        self.horizon = check_int(horizon, "horizon", what=" (periods of the data)")
        if not isinstance(objective, Objective):
            raise SpecificationError(
                f"The 'objective' argument must be an Objective. Got {type(objective).__name__}."
            )
        for c in constraints:
            if not isinstance(c, Constraint):
                raise SpecificationError(f"{c!r} is not a Constraint from the constraints package.")
        check_instruments(instruments)
        self.instruments: tuple[Instrument, ...] = tuple(instruments)
        self.objective = objective
        self.constraints: tuple[Constraint, ...] = tuple(constraints)
        self.market = market
        inputs = carry_inputs(inputs, self.constraints)
        if inputs.scenarios is None:
            needing = [t for t in objective.terms() if t.needs_scenarios]
            if needing:
                raise SpecificationError(
                    f"{needing[0]!r} needs scenarios: pass scenarios=Scenarios(...) to the problem."
                )
        self.registry = ParameterRegistry(
            [(repr(t), t.parameters()) for t in objective.terms()]
            + [(repr(c), c.parameters()) for c in self.constraints]
        )
        self._objective_keys = {s.key for t in objective.terms() for s in t.parameters()}
        self._constraint_keys = [{s.key for s in c.parameters()} for c in self.constraints]
        if values:
            self.registry.apply(self.registry.validate(values))
        methods = {m for c in self.constraints if (m := c.integer_method()) is not None}
        self._plan = integer.integer_plan(methods, objective.is_quadratic)
        self._options: dict[str, Any] = dict(options)
        self._inputs = inputs
        # float32 only when every term that reads the scenarios asks for it
        asked = {t.scenario_precision() for t in objective.terms() if t.needs_scenarios}
        self._precision = "float32" if asked == {"float32"} else "float64"
        self._data = scaled(self._build_data(inputs), self.objective, self.registry.values)
        self._reads_scenarios = any(t.needs_scenarios for t in objective.terms())
        self._reads_attributes = sorted({a for t in objective.terms() for a in t.reads()})
        self._ties = tied_groups(
            self._data, scenarios=self._reads_scenarios, attributes=self._reads_attributes
        )
        self._compile()

    def _build_data(self, inputs: HedgeInputs) -> HedgeData:
        return build_data(
            inputs,
            self.instruments,
            horizon=self.horizon,
            market=self.market,
            checked=True,
            precision=self._precision,
        )

    def _compile(self) -> None:
        data = self._data
        n = len(data.instruments)
        self._x = cp.Variable(n, name="x")
        self._current = cp.Parameter(n, name="current")
        options = {**self._options, QUADRATIC_OPTION: self.objective.is_quadratic}
        ctx = HedgeContext(data, self._x, self._current, self._plan.exact, options)
        try:
            self._objective: CompiledTerm = self.objective.build(ctx)
        except Exception as exc:
            exc.add_note(f"raised while building {self.objective!r}")
            raise
        self._compiled: list[Compiled] = []
        for c in self.constraints:
            try:
                self._compiled.append(c.build(ctx))
            except Exception as exc:
                exc.add_note(f"raised while building {c!r}")
                raise
        self._bounds = instrument_bounds(ctx)
        parts = [c.integer for c in self._compiled if c.integer is not None]
        self._parts = parts
        plain = [
            *self._objective.constraints,
            *(r.constraint for comp in self._compiled for r in comp.rows),
            *(r.constraint for r in self._bounds.rows),
        ]
        goal = cp.Minimize(self._objective.expression)
        # the objective's own trust-region rows bound its rounds, not the answer's ties
        trust = {id(c) for c in self._objective.trust_rows}
        self._tie_breaker = (
            TieBreaker(
                self._x,
                self._objective.expression,
                [c for c in plain if id(c) not in trust],
                self._ties,
                scenarios=self._reads_scenarios,
                attributes=self._reads_attributes,
            )
            if self._ties and not parts
            else None
        )
        fixed = [p.fixed for p in parts]
        self._relaxed: cp.Problem | None = None
        self._fixed: cp.Problem | None = None
        if parts and self._plan.exact:
            self._problem = cp.Problem(goal, plain + [r for p in parts for r in p.integer_rows])
            self._fixed = cp.Problem(goal, plain + fixed)
            self._relaxed = cp.Problem(goal, plain)
        elif parts:
            self._relaxed = cp.Problem(goal, plain)
            self._problem = self._fixed = cp.Problem(goal, plain + fixed)
        else:
            self._problem = cp.Problem(goal, plain)
        self._objective.bind(self._problem)
        # DPP implies DCP: one walk of the tree; the terms are named only on failure
        if not self._problem.is_dpp():
            name_the_culprit(self.objective, self._objective, self.constraints, self._compiled)
        self._warm: set[int] = set()
        self._direct: dict[int, DirectSolve] = {}
        self._record_arrays: tuple[Any, ...] = (None,)  # _point_record's arrays, by data
        self._refresh(refresh_all=True, changed=())

    def _refresh(self, *, refresh_all: bool, changed: Sequence[str]) -> None:
        data, values = self._data, self.registry.values
        if refresh_all or self._objective_keys.intersection(changed):
            self._objective.refresh(data, values)
        for keys, comp in zip(self._constraint_keys, self._compiled, strict=True):
            if refresh_all or keys.intersection(changed):
                comp.refresh(data, values)
        if refresh_all:
            self._bounds.refresh(data, values)
            self._current.value = data.current.to_numpy()
            if self._tie_breaker is not None:
                self._tie_breaker.refresh(data)

    # ------------------------------------------------------------------ solving
    def compile_inputs(self, **inputs: Any) -> HedgeData:
        """Check new inputs against the compiled problem; return the data a solve would use.

        Nothing is applied: the problem keeps its inputs. A sweep checks each of its
        grid's inputs this way before the first point is solved.

        Parameters
        ----------
        **inputs
            Any of ``portfolio``, ``risk_model``, ``scenarios``, ``current``,
            ``expected_returns``, ``market_state``, replacing the problem's current
            ones (None keeps it).

        Returns
        -------
        HedgeData
            The labels checked and the numbers assembled (scenario probabilities
            included), as :meth:`solve` would build them.

        Raises
        ------
        SpecificationError, DataError
            For an unknown input name, or labels and shapes the problem cannot hold.
        """
        known = [f.name for f in dataclasses.fields(HedgeInputs)]
        unknown = sorted(str(k) for k in inputs if k not in known)
        if unknown:
            raise SpecificationError(
                f"compile_inputs takes the inputs {known}. Got {unknown}; pass each as a "
                "keyword argument, e.g. compile_inputs(scenarios=new_scenarios)."
            )
        return self._build_data(self._inputs.replace(**inputs))

    def _solve_core(
        self,
        params: Mapping[str, float] | None,
        *,
        solver: str | None = None,
        solver_options: Mapping[str, Any] | None = None,
        **changes: Any,
    ) -> tuple[str, dict[str, Any]]:
        """Apply parameters and inputs, solve; the positions stay in the variables.

        What :meth:`solve` does before it builds the result (sweeps read the solution
        without building one per point).
        """
        exact = self._parts and self._plan.exact
        self._asked = (solver, dict(solver_options or {}))  # what the slopes re-solve with
        solver = check_solver_options(
            solver,
            solver_options or {},
            (solver,)
            if solver is not None
            else (self._plan.solvers if exact else self._defaults(solver_options)),
        )
        pending = self._commit(params, changes)
        rebuilds = 0
        while True:
            try:
                if pending is not None:
                    if rebuilds == _MAX_REBUILDS:
                        break
                    self._options.update(pending.options)
                    pending = None
                    rebuilds += 1
                    self._compile()  # refreshes every term; may ask again
                status, stats = self._solve_once(solver, solver_options or {})
                break
            except RebuildRequired as request:
                pending = request
        if pending is not None:
            raise SolverFailedError(
                f"The problem was rebuilt {rebuilds} times and still asks for more "
                f"({pending}); build a new HedgeProblem with these inputs."
            ) from pending
        stats["rebuilds"] = rebuilds
        return status, stats

    def solve_point(
        self,
        params: Mapping[str, float] | None = None,
        *,
        solver: str | None = None,
        solver_options: Mapping[str, Any] | None = None,
        **inputs: Any,
    ) -> Solution:
        """Apply parameters and inputs (checked whole), solve, return the :class:`Solution`.

        What :meth:`HedgeProblem.solve_point <optihedge.optimize.problem.HedgeProblem.solve_point>`
        does; ``inputs`` by the names of :class:`~optihedge.optimize.inputs.HedgeInputs`
        (None keeps an input).
        """
        status, stats = self._solve_core(
            params, solver=solver, solver_options=solver_options, **inputs
        )
        return self._solution(status, stats)

    def set(self, params: Any) -> None:
        """Check and store parameter values without solving (rebuilding if a term asks).

        ``params``: a mapping of registry key to value (anything else is refused by the
        registry's check, naming its type). Nothing is applied unless every value is valid.
        """
        merged = params

        pending = self._commit(merged, {})
        rebuilds = 0
        while pending is not None:
            if rebuilds == _MAX_REBUILDS:
                raise SolverFailedError(
                    f"The problem was rebuilt {rebuilds} times and still asks for more "
                    f"({pending}); build a new HedgeProblem with these values."
                ) from pending
            self._options.update(pending.options)
            rebuilds += 1
            try:
                self._compile()
                pending = None
            except RebuildRequired as request:
                pending = request

    def _commit(
        self, params: Mapping[str, float] | None, changes: Mapping[str, Any]
    ) -> RebuildRequired | None:
        """Check, then apply parameters and inputs; return a compiled term's rebuild request.

        Nothing is applied unless everything is valid; a compiled term that refuses the
        new numbers (other than by asking for a rebuild) rolls everything back.
        """
        checked = self.registry.validate(params)
        refresh_all = any(v is not None for v in changes.values())
        new_inputs = self._inputs.replace(**changes) if refresh_all else self._inputs
        values = {**self.registry.values, **checked}
        data = self._build_data(new_inputs) if refresh_all else self._data
        if refresh_all or self._objective_keys.intersection(checked):
            data = scaled(data, self.objective, values)
            refresh_all = True
        # everything is checked: commit, and roll back if the compiled terms refuse it
        before = (dict(self.registry.values), self._inputs, self._data)
        self.registry.apply(checked)
        self._inputs, self._data = new_inputs, data
        pending: RebuildRequired | None = None
        try:
            self._refresh(refresh_all=refresh_all, changed=tuple(checked))
        except RebuildRequired as request:
            pending = request  # the compiled terms cannot hold the new numbers: rebuild
        except Exception:
            self.registry.values, self._inputs, self._data = before
            self._refresh(refresh_all=True, changed=())
            raise
        return pending

    def _solve_once(
        self, solver: str | None, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        if self._parts:
            return self._solve_whole(solver, options)
        status, stats = self._run(self._problem, solver, options, not self._probing)
        if self._tie_breaker is not None and not self._probing:
            tb = self._tie_breaker.problem
            first = id(tb) not in self._warm
            self._warm.add(id(tb))
            optimum = float(self._problem.value)
            stats["tie_break"] = self._tie_breaker.apply(
                optimum, solver or DEFAULT_SOLVERS[0], first
            )
        return status, stats

    def _solve_whole(
        self, solver: str | None, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """Whole contracts: the MIP or the rounding search, then checked (``integer.polish``).

        The continuous relaxation is solved first: its counts decide whether the MIP can
        tell neighbouring counts apart (at most ``integer.MAX_MIP_COUNT`` contracts in
        every position), and its roundings are the MIP answer's check. The limits are
        priced by a last continuous solve with the contracts fixed.
        """
        assert self._relaxed is not None
        assert self._fixed is not None
        cv = self._data.attribute("contract_value")
        x, parts, fixed = self._x, self._parts, self._fixed

        def solve(problem: cp.Problem, diagnose: bool) -> tuple[str, dict[str, Any]]:
            return self._run(problem, solver, options, diagnose)

        solve(self._relaxed, True)
        x_relaxed = np.asarray(x.value, dtype=np.float64)
        relaxed_counts = integer.counts_of(x_relaxed, parts, cv)
        largest = max(float(np.max(np.abs(k))) for k in relaxed_counts)
        mip = self._plan.exact and largest <= integer.MAX_MIP_COUNT
        start: list[np.ndarray] | None = None
        mip_stats: dict[str, Any] = {}
        if mip:
            _, mip_stats = solve(self._problem, True)
            start = [np.round(k) for k in integer.counts_of(np.asarray(x.value), parts, cv)]
        difference = self._objective.exact_difference(x)
        polished = integer.polish(start, x_relaxed, fixed, parts, cv, x, solve, difference)
        integer.fix(parts, polished.counts, cv)
        status, stats = solve(fixed, True)  # every limit priced at the whole contracts
        stats = {**stats, **mip_stats}  # the MIP solver's figures when it ran
        stats["roundings_tried"] = polished.roundings_tried
        stats["moves_tried"] = polished.moves_tried
        labels = self._data.instruments
        where = int(np.argmax([np.max(np.abs(k)) for k in relaxed_counts]))
        at = int(np.argmax(np.abs(relaxed_counts[where])))
        label = labels[int(parts[where].index[at])]
        if mip:
            stats["whole_contracts_method"] = "mip"
            if polished.start_beaten:
                stats["whole_contracts_note"] = (
                    f"Whole contracts: the {mip_stats.get('solver', 'MIP')} answer was beaten "
                    "by a rounding of the continuous optimum or a move of the counts (its "
                    "tolerances exceed one contract's effect here); the better counts are "
                    "reported."
                )
        elif self._plan.exact:
            stats["whole_contracts_method"] = "rounding_search"
            stats["whole_contracts_note"] = (
                f"Whole contracts: {label} needs about {largest:,.0f} contracts, more than "
                f"{integer.MAX_MIP_COUNT:,} (beyond a MIP solver's tolerances), so they were "
                "found by the exact rounding search instead of the MIP: every floor/ceiling "
                "combination of the continuous optimum, then moves of the counts while the "
                "objective falls, compared by exact differences."
                if difference is not None
                else "combination of the continuous optimum, compared by the solver's "
                "objective values (this objective has no exact difference: neighbouring "
                "counts may be told apart only to the solver's accuracy)."
            )
        else:
            stats["whole_contracts_method"] = "rounding_search"
        return status, stats

    def _run(
        self, problem: cp.Problem, solver: str | None, options: Mapping[str, Any], diagnose: bool
    ) -> tuple[str, dict[str, Any]]:
        # lazy DPP: the first solve of a compiled problem takes the parameter values as
        # constants (half the canonicalisation time); the parameterised program is
        # compiled on its first re-solve, and re-used from then on. An objective that
        # re-solves within one call (the active set) compiles it at once, and so does a
        # sweep's copy: its every point then goes through the same kept solvers, whatever
        # the chunk it falls in.
        # the problem solved now: the rounding search solves the relaxation and the
        # fixed problem in turn, and a cutting-plane term reads the master's value
        self._objective.bind(problem)
        self._objective.start()
        iterative = self._objective.iterative
        eager = bool(self._options.get(SWEEP_OPTION))
        cold = id(problem) not in self._warm and not eager  # a sweep's copy: as it was
        first = cold and not iterative
        self._warm.add(id(problem))
        exact = self._parts and self._plan.exact and problem is self._problem
        # the kept solvers stand in for Clarabel only (not for a term's own first solver)
        direct = not first and not exact and (solver or self._defaults(options)[0]) == cp.CLARABEL
        direct = direct and not options
        if direct and not iterative:
            done = self._direct_solve(problem, solver)
            if done is not None:
                return cp.OPTIMAL, done
        solvers = (
            (solver,)
            if solver is not None
            else (self._plan.solvers if exact else self._defaults(options))
        )
        return run(
            problem,
            solvers,
            options,
            x=self._x,
            term=self._objective,
            diagnose=self._diagnose if diagnose else None,
            mip=bool(exact),
            parameters_as_constants=first,
            resolve=(lambda: self._direct_solve(problem, solver, within=True, cold=cold))
            if direct
            else None,
        )

    def _defaults(self, options: Mapping[str, Any] | None) -> tuple[str, ...]:
        """Return the solvers tried when the caller names none (the objective's own first).

        Options given without a solver are Clarabel's (as the documentation says): the
        default order then.
        """
        own = self._objective.solvers
        if not own or options:
            return DEFAULT_SOLVERS
        return (*own, *(s for s in DEFAULT_SOLVERS if s not in own))

    def _direct_solve(
        self, problem: cp.Problem, named: str | None, *, within: bool = False, cold: bool = False
    ) -> dict[str, Any] | None:
        """Re-solve through the kept solvers (see ``optimize.direct``).

        None sends the solve the standard way. ``named``: the solver the caller asked
        for (then Clarabel only). ``within``: a solve inside one call (the scenario
        active set, cutting planes), the only way such an objective uses this path; its
        first call (``cold``) comes here too, so that its answer can be certified
        (``_unique_multipliers``: no slope re-solves), and is answered by Clarabel alone,
        as the standard path answers it: the dense active set would stop at an exact
        vertex of the linear program after hundreds of pivots (a position exactly at
        its bound), where an interior point stops inside the tolerances.
        """
        iterative = self._objective.iterative
        if iterative and not within:
            return None
        if problem._cache.param_prog is None and not (
            self._options.get(SWEEP_OPTION) or (iterative and cold)
        ):
            return None  # no DPP program yet (a sweep's copy compiles it here)
        kept = self._direct.get(id(problem))
        if kept is None or kept.problem is not problem:
            try:
                kept = DirectSolve(problem, self._objective.settings.get(cp.CLARABEL))
            except Exception:  # any surprise: the standard path is always there
                self._direct.pop(id(problem), None)
                return None
            self._direct[id(problem)] = kept  # built from this state: solve it now
        stats, usable = kept.solve(active_set=named is None and not (iterative and cold))
        if not usable:
            del self._direct[id(problem)]
        if stats is not None:
            stats.update(refinements=0, canonicalisation="dpp")
        return stats

    def _diagnose(self) -> str:
        exact = self._plan.exact
        solver = self._plan.solvers[0] if self._parts and exact else DEFAULT_SOLVERS[0]
        named = [
            (self._describe(c), comp)
            for c, comp in zip(self.constraints, self._compiled, strict=True)
        ]
        return conflicting_limits(
            limit_groups([*named, ("instrument bounds", self._bounds)], exact=exact), solver
        )

    def _describe(self, constraint: Constraint) -> str:
        """Describe the constraint as the user wrote it, with the values it holds now."""
        values = self.registry.values
        changed = [
            f"{spec.key}={values[spec.key]:g}"
            for spec in constraint.parameters()
            if values[spec.key] != spec.value
        ]
        return repr(constraint) + (f" now at {', '.join(changed)}" if changed else "")

    @property
    def _answered(self) -> cp.Problem:
        """The problem whose value is the answer's: with whole contracts, the fixed one."""
        return self._fixed if self._fixed is not None else self._problem

    def _positions(self) -> np.ndarray:
        x = np.array(self._x.value, dtype=np.float64)
        for part in self._parts:
            x[part.index] = part.target.value  # whole contracts exactly, not to solver tolerance
        return x

    def _limit_rows(self) -> list[tuple[str, Any]]:
        return [
            (repr(c), r)
            for c, comp in zip(self.constraints, self._compiled, strict=True)
            for r in comp.rows
        ]

    def _point_record(self, status: str, stats: dict[str, Any]) -> dict[str, Any]:
        """Return the sweep row of the last solve with its positions (``x``)."""
        solution = self._solution(status, stats)
        return {"x": solution.positions, **solution.record()}

    def _solution(self, status: str, stats: dict[str, Any]) -> Solution:
        """Collect the numbers of the last solve into a :class:`Solution` (no HedgeResult).

        Positions (0 below :data:`POSITION_TOLERANCE`), status, objective, risk after
        the hedge (volatility, beta, and with scenarios VaR and ES at the objective's
        alpha, else 0.95), costs (premium and carry in currency, turnover in fractions
        of capital), the limit numbers with each binding limit priced by what relaxing
        it gains (and, where it differs, what tightening costs), and the statistics.
        """
        data = self._data
        x = self._positions()
        x = np.where(np.abs(x) < POSITION_TOLERANCE, 0.0, x) + 0.0
        x.flags.writeable = False
        capital = float(self._inputs.portfolio.capital or 1.0)
        if self._record_arrays[0] is not data:  # the same numbers until the inputs change
            c, c0 = data.beta_coefficients(data.market)
            self._record_arrays = (
                data,
                data.book.to_numpy(),
                data.exposures.to_numpy(),
                c,
                c0,
                data.attribute("carry_long"),
                data.attribute("carry_short"),
                data.attribute("premium"),
                data.current.to_numpy(),
            )
        _, book, exposures, c, c0, carry_long, carry_short, premium, current = self._record_arrays
        z = pnl.hedged_book(book, exposures, x)
        report = self._objective.report()  # before the slopes' probes re-solve it
        names, owners, numbers, binds, sided = self._priced(stats, self._limit_rows())
        numbers.flags.writeable = False
        binds.flags.writeable = False
        scenario_var = scenario_es = alpha = None
        if data.scenario_book is not None and data.scenario_probabilities is not None:
            alpha = 0.95 if report.scenario_alpha is None else float(report.scenario_alpha)
            assert data.scenario_pnl is not None
            hedged = pnl.hedged_pnl(data.scenario_book, data.scenario_pnl, x)
            p = data.scenario_probabilities
            scenario_var = value_at_risk(hedged, alpha, p)
            scenario_es = expected_shortfall(hedged, alpha, p)
        return Solution(
            instruments=data.instruments,
            positions=x,
            status=status,
            objective=float(self._answered.value) / data.objective_scale,
            volatility=float(np.sqrt(max(data.risk.variance_in_asset_order(z), 0.0))),
            beta=float(c @ x + c0),
            premium=float((pnl.premium_paid(x, premium) * capital).sum()),
            annual_carry=float((pnl.annual_carry(x, carry_long, carry_short) * capital).sum()),
            turnover=pnl.turnover(x, current),
            limits=LimitNumbers(
                names=tuple(names),
                owners=tuple(owners),
                numbers=numbers,
                binding=binds,
                tightening=MappingProxyType(
                    {k: float(v.tightening_costs) for k, v in sided.items()}
                ),
            ),
            stats=SolveStats.from_stats(stats, report),
            contract_values=data.attribute("contract_value"),
            scenario_var=scenario_var,
            scenario_es=scenario_es,
            scenario_alpha=alpha,
        )

    def _priced(
        self, stats: dict[str, Any], rows: list[tuple[str, Any]]
    ) -> tuple[list[str], list[str], np.ndarray, np.ndarray, dict[str, Slopes]]:
        """Return the limit numbers, each binding limit priced by what relaxing it gains.

        Returns :func:`limit_numbers`' output, its shadow prices the relaxing side, and
        the degenerate limits (relaxing gains less than tightening costs) by label. The
        dense active set's multiplier range gives both sides exactly
        (``optimize.direct.multiplier_range``) for a problem solved whole; every other
        continuous path (Clarabel, a named solver, an objective that re-solves within a
        call: the expected shortfall's restricted LPs and cutting-plane masters) measures
        them by re-solves (:meth:`_measured`). Whole contracts: the limits are priced by the
        continuous problem with the counts fixed, whose multipliers are kept (the integer
        optimum is a step function of a limit: no slope to measure).
        """
        scale = self._data.objective_scale
        names, owners, numbers, binds = limit_numbers(rows, scale)
        kink = stats.pop(ONE_SIDED, None)
        if self._objective.iterative:
            kink = None  # the multipliers of a restricted LP or a master: measure
        elif kink is not None:
            _, _, tight, _ = kink.tightening(lambda: limit_numbers(rows, scale))
            sided = {}
            for i, name in enumerate(names):
                gain, cost = float(numbers[i, 3]), float(tight[i, 3])
                if binds[i] and cost > gain * (1.0 + 1e-6) + 1e-12:
                    sided[name] = Slopes(gain, cost)
            return names, owners, numbers, binds, sided
        if self._parts or (stats.get("solver") == "DAQP" and not self._objective.iterative):
            return names, owners, numbers, binds, {}  # whole contracts; unique multipliers
        return names, owners, numbers, binds, self._measured(stats, rows, names, numbers, binds)

    def _measured(
        self,
        stats: dict[str, Any],
        rows: list[tuple[str, Any]],
        names: list[str],
        numbers: np.ndarray,
        binds: np.ndarray,
    ) -> dict[str, Slopes]:
        """Measure the one-sided slopes of the binding limits by re-solves (``slopes``).

        Only binding scalar inequality limits with a parameter key are measured (a
        per-instrument or equality row keeps the solver's multiplier). The relaxing side
        replaces ``numbers``' shadow price; the degenerate limits are returned. The
        problem is left as the solve left it: parameters, positions, duals, value.
        ``stats["slope_resolves"]`` counts the re-solves.
        """
        values = dict(self.registry.values)
        shape = [(r.sense, r.labels is None) for _, r in rows for _ in r.names()]
        todo = [
            i
            for i, name in enumerate(names)
            if binds[i]
            and shape[i][1]
            and shape[i][0] != "=="
            and name in values
            and np.isfinite(numbers[i, 3])
        ]
        if not todo:
            return {}
        if self._unique_multipliers():
            stats["slopes_certified"] = True  # no re-solve: both sides are the multiplier
            return {}
        scale = self._data.objective_scale
        objective = float(self._answered.value) / scale
        solver, options = self._asked
        held = {names[i]: values[names[i]] for i in todo}  # each probe moves one alone
        restore = self._hold(solver, options)
        count = 0
        interior = str(stats.get("solver", "")).upper() == cp.CLARABEL
        asked = self._asked

        def prober(
            named: str | None, opts: Mapping[str, Any], accurate: bool
        ) -> Callable[[str, float], tuple[float, float, float] | None]:
            def probe(key: str, value: float) -> tuple[float, float, float] | None:
                nonlocal count
                count += 1
                try:
                    status, _ = self._solve_core(
                        {**held, key: value}, solver=named, solver_options=opts
                    )
                except InfeasibleError:
                    return np.inf, np.nan, np.nan
                except (SpecificationError, SolverFailedError, UnboundedError):
                    return None
                if status not in OK or (accurate and status != cp.OPTIMAL):
                    return (np.inf, np.nan, np.nan) if "infeasible" in status else None
                got, _, moved, _ = limit_numbers(self._limit_rows(), self._data.objective_scale)
                j = got.index(key)
                return float(self._answered.value) / scale, moved[j, 1], moved[j, 3]

            return probe

        tight = None
        if interior:  # Clarabel at TIGHT tolerances, never looser than asked or set
            # (a cutting-plane master is solved tighter already: no tight probe then)
            merged = {**self._objective.settings.get(cp.CLARABEL, {}), **options}
            tighter = {
                k: min(float(merged.get(k, TIGHT)), TIGHT)
                for k in ("tol_gap_abs", "tol_gap_rel", "tol_feas")
            }
            if any(float(merged.get(k, 1.0)) > v for k, v in tighter.items()):
                tight = prober(cp.CLARABEL, {**options, **tighter}, True)
        probe = prober(solver, options, False)
        sided: dict[str, Slopes] = {}
        self._probing = True
        try:
            for i in todo:
                name = names[i]
                got = measure(
                    probe,
                    name,
                    values[name],
                    relax_sign=1.0 if shape[i][0] == "<=" else -1.0,
                    objective=objective,
                    limit=float(numbers[i, 1]),
                    multiplier=float(numbers[i, 3]),
                    interior=interior,
                    scale=scale,
                    tight=tight,
                )
                if got is None:
                    continue
                numbers[i, 3] = got.relaxing_gains
                if got.degenerate:
                    sided[name] = got
        finally:
            self._probing = False
            restore()
            self._asked = asked  # the probes' own solver and options are not the caller's
        stats["slope_resolves"] = count
        return sided

    def _unique_multipliers(self) -> bool:
        """Whether the last answer's limit multipliers are certainly unique (no re-solves).

        Asked of a linear-programming objective that states its active rows
        (:meth:`~optihedge.optimize.terms.CompiledTerm.tied_rows`: the expected
        shortfall's scenarios tied at its VaR) solved last through the kept solver,
        which checks strict complementarity and the independence of the active rows
        (:meth:`~optihedge.optimize.direct.DirectSolve.unique_multipliers`).
        """
        problem = self._answered
        kept = self._direct.get(id(problem))
        if kept is None or kept.problem is not problem or self._x.value is None:
            return False
        tied = self._objective.tied_rows(np.asarray(self._x.value, dtype=np.float64))
        return tied is not None and kept.unique_multipliers(tied[0], self._x, tied[1])

    def _hold(self, solver: str | None, options: Mapping[str, Any]) -> Any:
        """Return a function that puts the problem back as the last solve left it."""
        values = dict(self.registry.values)
        compiled = self._problem
        problems = {id(p): p for p in (self._problem, self._answered)}
        if self._tie_breaker is not None:
            problems[id(self._tie_breaker.problem)] = self._tie_breaker.problem
        leaves = [
            (leaf, leaf.value)
            for p in problems.values()
            for leaf in [
                *p.variables(),
                *(d for c in p.constraints for d in c.dual_variables),
            ]
        ]
        states = [(p, p._value, p._status) for p in problems.values()]

        def restore() -> None:
            changed = [k for k, v in values.items() if self.registry.values[k] != v]
            self.registry.values.update(values)
            self._refresh(refresh_all=False, changed=changed)
            if self._problem is not compiled:  # a re-solve rebuilt it: solve here again
                self._solve_core({}, solver=solver, solver_options=options)
                return
            for leaf, value in leaves:
                leaf.save_value(value)
            for p, value, status in states:
                p._value, p._status = value, status

        return restore

    def recipe(self) -> dict[str, Any]:
        """Return the recipe: structure, inputs, parameter values, build options (no cvxpy)."""
        return {
            "instruments": self.instruments,
            "objective": self.objective,
            "constraints": self.constraints,
            "horizon": self.horizon,
            "market": self.market,
            "inputs": self._inputs,
            "options": dict(self._options),
            "values": dict(self.registry.values),
        }

"""HedgeProblem: one compiled, DPP cvxpy problem, re-solved for new parameters and inputs.

The problem's *structure* (instruments, objective, constraints, horizon, market) is fixed
at construction and compiled once. Its *inputs* (book, risk model, scenarios, current
hedge, expected returns, market state) and its *parameters* (the registry's keys, such
as ``"turnover.max"``) are refreshed by :meth:`HedgeProblem.solve` without recompiling.
The terms it is built from are never changed: one constraint list serves any number of
problems. A problem pickles (its recipe: structure, inputs, parameter values), so it
travels to sweep and backtest workers, which compile it once each.

The problem asks its terms what they need through their protocol (whole positions, bounds
from the book, scenarios, market state, a rebuild when scenario capacity grows); it names
no concrete term class. Integer positions are in ``optihedge.optimize.integer``,
infeasibility diagnosis in ``optihedge.optimize.diagnose``, the solver loop in
``optihedge.optimize.solve``.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable, Hashable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from constraints import Compiled, Constraint, HedgeContext, HedgeData, RebuildRequired
from optihedge._validation import check_int
from optihedge.calendar import Frequency
from optihedge.errors import (
    InfeasibleError,
    SolverFailedError,
    SpecificationError,
    UnboundedError,
)
from optihedge.instruments import Instrument, MarketState
from optihedge.measures import pnl
from optihedge.measures.risk import expected_shortfall, value_at_risk
from optihedge.optimize import integer
from optihedge.optimize.bounds import instrument_bounds
from optihedge.optimize.data import (
    build_data,
    check_instruments,
    data_frequency,
    frequency_of,
    scaled,
)
from optihedge.optimize.diagnose import conflicting_limits, limit_groups, name_the_culprit
from optihedge.optimize.direct import ONE_SIDED, DirectSolve
from optihedge.optimize.inputs import HedgeInputs, carry_inputs
from optihedge.optimize.objectives import SWEEP_OPTION, Objective
from optihedge.optimize.registry import ParameterRegistry
from optihedge.optimize.result import POSITION_TOLERANCE, HedgeResult, make_result
from optihedge.optimize.slopes import TIGHT, Slopes, measure
from optihedge.optimize.solution import LimitNumbers, Solution, SolveStats
from optihedge.optimize.solve import (
    DEFAULT_SOLVERS,
    OK,
    check_solver_options,
    limit_numbers,
    run,
)
from optihedge.optimize.spec import ProblemSpec, spec_of
from optihedge.optimize.terms import CompiledTerm
from optihedge.optimize.ties import TieBreaker, tie_notes, tied_groups
from optihedge.portfolio import Portfolio
from optihedge.scenarios import Scenarios

__all__ = ["SWEEP_OPTION", "HedgeProblem", "sweep_recipe"]

#: Trading days of the default horizon (21 on daily data, 4 weeks, 1 month).
DEFAULT_HORIZON = 21
_MAX_REBUILDS = 4
_NO_MARKET = MarketState()  # frozen: one empty market state serves every problem


def _default_horizon(frequency: Frequency) -> int:
    """:data:`DEFAULT_HORIZON` trading days in whole periods of ``frequency`` (at least 1)."""
    return max(1, round(DEFAULT_HORIZON / frequency.trading_days_per_period))


class HedgeProblem:
    """Minimise a book's risk over hedge positions within the mandate's limits.

    Parameters
    ----------
    portfolio : Portfolio
    instruments : sequence of Instrument
        Unique labels; positions are signed notional / book value.
    objective : Objective
        E.g. ``Variance()``, ``RobustVariance()``, ``ExpectedShortfall(0.975)``,
        ``Variance() + 0.5 * TradingCost()``.
    constraints : sequence of Constraint, default ()
        Never changed by the problem; the same objects may serve other problems.
    risk_model : RiskModel or RiskModelSet, optional
        Per-period (or per-``horizon``) model, scaled to ``horizon`` periods. Without one, the
        covariance of the scenarios is used.
    scenarios : Scenarios, optional
        Needed by ``ExpectedShortfall``; also give scenario VaR and ES in the result.
    horizon : int, optional
        Periods of the data the risk is stated over (trading days on daily data, weeks on
        weekly data: the frequency of the risk model and scenarios, which must agree):
        the scenarios' horizon when scenarios are given, else 21 trading days in periods
        (21 daily, 4 weekly, 1 monthly).
    current : Series by instrument, optional
        Current hedge positions (fractions of book value); zero if omitted.
    market : str, optional
        Factor or asset that "beta" refers to; the risk model's first factor if omitted.
    expected_returns : Series by asset, optional
        Over the horizon, for ``ExpectedPnL``.
    market_state : MarketState, optional
        Spots, volatilities, rates and date instruments are valued at.

    Attributes
    ----------
    parameters : DataFrame
        Every registry key with its current value, valid range, owner and meaning.

    Examples
    --------
    >>> problem = HedgeProblem(book, [es, spy], objective=Variance(),  # doctest: +SKIP
    ...                        constraints=[GrossExposure(0.8)], risk_model=model)
    >>> problem.solve({"gross_exposure.max": 0.5}).weights  # doctest: +SKIP
    >>> problem.solve(risk_model=tomorrows_model, current=todays_hedge)  # doctest: +SKIP
    """

    # re-solves that measure a limit's slopes: no diagnosis, no tie-break (see _slopes)
    _probing: bool = False
    _asked: tuple[str | None, dict[str, Any]] = (None, {})

    def __init__(
        self,
        portfolio: Portfolio,
        instruments: Sequence[Instrument],
        *,
        objective: Objective,
        constraints: Sequence[Constraint] = (),
        risk_model: Any = None,
        scenarios: Scenarios | None = None,
        horizon: int | None = None,
        current: pd.Series | None = None,
        market: Hashable | None = None,
        expected_returns: pd.Series | None = None,
        market_state: MarketState | None = None,
    ) -> None:
        if horizon is None:
            horizon = (
                scenarios.horizon
                if isinstance(scenarios, Scenarios)
                else _default_horizon(frequency_of(risk_model, None))
            )
        inputs = HedgeInputs(
            portfolio=portfolio,
            risk_model=risk_model,
            scenarios=scenarios,
            current=current,
            expected_returns=expected_returns,
            market_state=_NO_MARKET if market_state is None else market_state,
        )
        self._setup(instruments, objective, constraints, horizon, market, inputs, {}, None)

    @classmethod
    def from_spec(cls, spec: ProblemSpec, portfolio: Portfolio, **inputs: Any) -> HedgeProblem:
        """Build a problem from its structure (``spec``) and the inputs of the constructor.

        ``inputs``: ``risk_model``, ``scenarios``, ``current``, ``expected_returns`` (and
        ``market_state``, which replaces the spec's).
        """
        if not isinstance(spec, ProblemSpec):
            raise SpecificationError(
                f"The 'spec' argument must be a ProblemSpec. Got {type(spec).__name__}."
            )
        inputs.setdefault("market_state", spec.market_state)
        return cls(
            portfolio,
            spec.instruments,
            objective=spec.objective,
            constraints=spec.constraints,
            horizon=spec.horizon,
            market=spec.market,
            **inputs,
        )

    @property
    def spec(self) -> ProblemSpec:
        """The problem's structure as a value (``spec.to_dict()`` serialises it)."""
        state = self._inputs.market_state
        return spec_of(
            self.instruments,
            self.objective,
            self.constraints,
            self.horizon,
            self.market,
            None if state is _NO_MARKET else state,
        )

    # ----------------------------------------------------------------- building
    def _setup(
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
        ctx = HedgeContext(data, self._x, self._current, self._plan.exact, dict(self._options))
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
        self._tie_breaker = (
            TieBreaker(
                self._x,
                self._objective.expression,
                plain,
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

    # ---------------------------------------------------------------- accessors
    @property
    def parameters(self) -> pd.DataFrame:
        """Every registry key: value, lower, upper, range, owner and description."""
        return self.registry.frame()

    @property
    def inputs(self) -> HedgeInputs:
        """The inputs the next solve uses."""
        return self._inputs

    @property
    def data(self) -> HedgeData:
        """The labelled numbers the next solve uses (a value; changing it changes nothing)."""
        return self._data

    @property
    def frequency(self) -> Frequency:
        """The data's frequency: what one period of ``horizon`` is (from the inputs)."""
        return data_frequency(self._data)

    @property
    def cvxpy_problem(self) -> cp.Problem:
        """The compiled cvxpy problem (read it; changing it is not supported)."""
        return self._problem

    @property
    def portfolio(self) -> Portfolio:
        """The book."""
        return self._inputs.portfolio

    @property
    def scenarios(self) -> Scenarios | None:
        """The scenarios, if any."""
        return self._inputs.scenarios

    # ------------------------------------------------------------------ solving
    def solve(
        self,
        params: Mapping[str, float] | None = None,
        *,
        portfolio: Portfolio | None = None,
        risk_model: Any = None,
        scenarios: Scenarios | None = None,
        current: pd.Series | None = None,
        expected_returns: pd.Series | None = None,
        market_state: MarketState | None = None,
        solver: str | None = None,
        **solver_options: Any,
    ) -> HedgeResult:
        """Solve for new parameter values and inputs without recompiling.

        Parameters
        ----------
        params : mapping of registry key to value, optional
            E.g. ``{"turnover.max": 0.1, "residual_beta.max": 0.3}``. Every key and value
            is checked before any is applied; the values stay for later solves.
        portfolio, risk_model, scenarios, current, expected_returns, market_state : optional
            New inputs of the compiled shapes (same assets and factors; scenarios of any
            count the problem can hold); they stay for later solves. A rejected input
            leaves the problem as it was.
        solver : str, optional
            An installed cvxpy solver's name; the default tries Clarabel then SCS.
        **solver_options
            Passed to the solver: plain numbers, flags or text, checked first (by name
            and type against Clarabel's settings when Clarabel answers).

        Raises
        ------
        SpecificationError
            For an unknown key (the message lists the valid ones) or a value out of range;
            an unknown solver or a solver option it does not take.
        InfeasibleError
            Naming the smallest set of constraints that conflict.
        UnboundedError, SolverFailedError
        """
        status, stats = self._solve_core(
            params,
            portfolio=portfolio,
            risk_model=risk_model,
            scenarios=scenarios,
            current=current,
            expected_returns=expected_returns,
            market_state=market_state,
            solver=solver,
            solver_options=solver_options,
        )
        return self._result(status, stats)

    def solve_point(
        self,
        params: Mapping[str, float] | None = None,
        *,
        portfolio: Portfolio | None = None,
        risk_model: Any = None,
        scenarios: Scenarios | None = None,
        current: pd.Series | None = None,
        expected_returns: pd.Series | None = None,
        market_state: MarketState | None = None,
        solver: str | None = None,
        **solver_options: Any,
    ) -> Solution:
        """Solve like :meth:`solve`, and return the light answer: a :class:`Solution`.

        The same update and solve as :meth:`solve` (every parameter and input checked
        before any is applied, a rejected one leaving the problem as it was; the values
        stay for later solves), without building a :class:`HedgeResult` (no allocation,
        exposure or scenario tables): what a sweep point or a backtest step reads. Its
        numbers are the result's, to the bit; :meth:`Solution.record` is the sweep row.

        Parameters
        ----------
        params : mapping of registry key to value, optional
            E.g. ``{"gross_exposure.max": 0.5}``.
        portfolio, risk_model, scenarios, current, expected_returns, market_state : optional
            New inputs of the compiled shapes, as for :meth:`solve`.
        solver : str, optional
            An installed cvxpy solver's name; the default tries Clarabel then SCS.
        **solver_options
            Passed to the solver, checked first (as for :meth:`solve`).

        Returns
        -------
        Solution
            Weights, status, objective, risk after the hedge, costs, the limit numbers
            with their shadow prices and the solve's statistics.

        Raises
        ------
        SpecificationError
            For an unknown key or a value out of range; an unknown solver or option.
        InfeasibleError
            Naming the smallest set of constraints that conflict.
        UnboundedError, SolverFailedError

        Examples
        --------
        >>> problem.solve_point({"gross_exposure.max": 0.5}).record()  # doctest: +SKIP
        """
        status, stats = self._solve_core(
            params,
            portfolio=portfolio,
            risk_model=risk_model,
            scenarios=scenarios,
            current=current,
            expected_returns=expected_returns,
            market_state=market_state,
            solver=solver,
            solver_options=solver_options,
        )
        return self._solution(status, stats)

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
            (solver,) if solver is not None else (self._plan.solvers if exact else DEFAULT_SOLVERS),
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

    def set(self, params: Mapping[str, float] | None = None, /, **values: float) -> HedgeProblem:
        """Set parameter values without solving; the next :meth:`solve` uses them.

        The values are checked and stored exactly as ``solve(params)`` would (every key
        and value checked before any is applied; the compiled terms are refreshed, and
        rebuilt if they cannot hold the new numbers), but no solver runs.

        Parameters
        ----------
        params : mapping of registry key to value, optional
            E.g. ``{"gross_exposure.max": 0.5}`` (keys hold dots, so a mapping is the
            natural form; ``**values`` takes the same keys, ``set(**{"a.max": 1})``).
        **values
            More keys and values, merged over ``params``.

        Returns
        -------
        HedgeProblem
            This problem, so that ``problem.set({...}).solve()`` chains.

        Raises
        ------
        SpecificationError
            For an unknown key (the message lists the valid ones) or a value out of its
            range; nothing is applied then.
        """
        merged: Any = params  # not a mapping: validate names the type
        if values and (params is None or isinstance(params, Mapping)):
            merged = {**(params or {}), **values}
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
        return self

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
        first = id(problem) not in self._warm and not iterative and not eager
        self._warm.add(id(problem))
        exact = self._parts and self._plan.exact and problem is self._problem
        direct = not first and not exact and solver in (None, cp.CLARABEL) and not options
        if direct and not iterative:
            done = self._direct_solve(problem, solver)
            if done is not None:
                return cp.OPTIMAL, done
        solvers = (
            (solver,) if solver is not None else (self._plan.solvers if exact else DEFAULT_SOLVERS)
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
            resolve=(lambda: self._direct_solve(problem, solver, within=True)) if direct else None,
        )

    def _direct_solve(
        self, problem: cp.Problem, named: str | None, *, within: bool = False
    ) -> dict[str, Any] | None:
        """Re-solve through the kept solvers (see ``optimize.direct``).

        None sends the solve the standard way. ``named``: the solver the caller asked
        for (then Clarabel only). ``within``: a re-solve inside one call (the scenario
        active set, cutting planes), the only way such an objective uses this path.
        """
        if self._objective.iterative and not within:
            return None
        if problem._cache.param_prog is None and not self._options.get(SWEEP_OPTION):
            return None  # no DPP program yet (a sweep's copy compiles it here)
        kept = self._direct.get(id(problem))
        if kept is None or kept.problem is not problem:
            try:
                kept = DirectSolve(problem, self._objective.settings.get(cp.CLARABEL))
            except Exception:  # any surprise: the standard path is always there
                self._direct.pop(id(problem), None)
                return None
            self._direct[id(problem)] = kept  # built from this state: solve it now
        stats, usable = kept.solve(active_set=named is None)
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
        names, owners, numbers, binds, sided = self._priced(stats, self._limit_rows())
        numbers.flags.writeable = False
        binds.flags.writeable = False
        report = self._objective.report()
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

    def _result(self, status: str, stats: dict[str, Any]) -> HedgeResult:
        """Build the HedgeResult of the last solve from its :class:`Solution`.

        The positions, objective and limit numbers are the Solution's (one computation);
        the objective's report is read before the limits' slopes are measured (their
        re-solves may move an iterative term's figures), as the result always read it.
        """
        data = self._data
        report = self._objective.report()
        solution = self._solution(status, stats)
        x = solution.positions
        limits = solution.constraints
        numbers = solution.limits
        sided = {
            name: Slopes(float(numbers.numbers[numbers.names.index(name), 3]), cost)
            for name, cost in numbers.tightening.items()
        }
        kink_notes = _kink_notes(stats, sided)
        portfolio = self._inputs.portfolio
        assert portfolio.capital is not None  # Portfolio resolves it at construction
        return make_result(
            data,
            x,
            limits=limits,
            objective_value=solution.objective,
            status=status,
            stats={
                **stats,
                **report.statistics(),
                "tied": [[self._data.instruments[i] for i in g] for g in self._ties],
            },
            capital=portfolio.capital,
            currency=portfolio.currency,
            scenario_alpha=report.scenario_alpha,
            scenario_after=(
                (solution.scenario_var, solution.scenario_es)
                if solution.scenario_var is not None
                and solution.scenario_es is not None
                and solution.scenario_alpha
                == (0.95 if report.scenario_alpha is None else float(report.scenario_alpha))
                else None
            ),
            notes=[
                *([stats["accuracy"]] if "accuracy" in stats else []),
                *([stats["whole_contracts_note"]] if "whole_contracts_note" in stats else []),
                *tie_notes(
                    self._data.instruments,
                    self._ties,
                    self._tie_breaker is not None,
                    self._data.exposures.to_numpy(),
                ),
                *(n for comp in self._compiled for n in comp.notes),
                *no_hedge_note(data, x, limits),
                *kink_notes,
                *([report.approximation_note] if report.approximation_note else []),
                *report.notes,
            ],
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

    # ----------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
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

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Recompile from the recipe (once per process)."""
        self._setup(
            state["instruments"],
            state["objective"],
            state["constraints"],
            state["horizon"],
            state["market"],
            state["inputs"],
            state["options"],
            state["values"],
        )

    def _recipe_with(self, options: Mapping[str, Any]) -> _Recipe:
        """Return this problem's recipe with more build options, to pickle (not compiled)."""
        state = self.__getstate__()
        state["options"] = {**state["options"], **options}
        return _Recipe(state)

    def __repr__(self) -> str:
        return (
            f"HedgeProblem({len(self.instruments)} instruments, objective={self.objective!r}, "
            f"constraints={list(self.constraints)!r}, horizon={self.horizon})"
        )


def _kink_notes(stats: dict[str, Any], sided: Mapping[str, Slopes]) -> list[str]:
    """Name the degenerate limits in a note; ``one_sided_shadow_prices`` in ``stats``."""
    if not sided:
        return []
    stats["one_sided_shadow_prices"] = {
        k: {"relaxing_gains": v.relaxing_gains, "tightening_costs": v.tightening_costs}
        for k, v in sided.items()
    }
    said = "; ".join(
        f"{k}: relaxing gains {v.relaxing_gains:.4g} per unit, tightening "
        + (
            "leaves nothing feasible"
            if not np.isfinite(v.tightening_costs)
            else f"costs {v.tightening_costs:.4g}"
        )
        for k, v in sided.items()
    )
    return [
        "Some limits bind where the objective has a kink, so their shadow price depends "
        "on the direction: the table shows what relaxing each gains; tightening costs "
        f"more ({said}); the limit table flags them (degenerate)."
    ]


def _from_recipe(state: dict[str, Any]) -> HedgeProblem:
    problem = HedgeProblem.__new__(HedgeProblem)
    problem.__setstate__(state)
    return problem


class _Recipe:
    """A problem's recipe that unpickles as the compiled problem (sweeps send it)."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        return (_from_recipe, (self.state,))


def sweep_recipe(problem: HedgeProblem) -> bytes:
    """Return the pickled recipe a sweep's workers compile: the problem, for re-solves.

    The build option :data:`SWEEP_OPTION` lets a term choose what re-solves best (the
    expected shortfall's ``"auto"`` takes cutting planes, whose planes carry from one
    point to the next); the user's problem is not changed.
    """
    return pickle.dumps(problem._recipe_with({SWEEP_OPTION: True}))


def no_hedge_note(data: HedgeData, x: np.ndarray, limits: pd.DataFrame) -> list[str]:
    """Say so when the optimum is to hold nothing and only the bounds stand in the way.

    With no current hedge, every position at zero and no limit binding, the optimum says
    that nothing the instruments' own bounds allow improves on holding none. Where
    instruments sit at a bound of zero (an inverse ETF or a bought option: long only; a
    short book offered only those gets no hedge), the note names them and the fix.
    """
    scale = np.maximum(np.abs(data.current.to_numpy()), np.abs(x))
    if x.size == 0 or float(scale.max()) > POSITION_TOLERANCE or bool(limits["binding"].any()):
        return []
    lower, upper = data.attribute("lower"), data.attribute("upper")
    sides = [
        f"{name} (long only)" if lo == 0.0 else f"{name} (short only)"
        for name, lo, hi in zip(data.instruments, lower, upper, strict=True)
        if lo == 0.0 or hi == 0.0
    ]
    if not sides:
        return []
    return [
        "No hedge: no position the instruments' bounds allow improves on holding none, "
        f"and these can be held on one side only: {', '.join(sides)}. If this book needs "
        "the other side (a short book is reduced by long exposure), offer an instrument "
        "that moves against it, or allow the other side where it can be traded."
    ]

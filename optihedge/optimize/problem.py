"""HedgeProblem, the facade over its compiled core (:mod:`~optihedge.optimize.compiled`).

The problem's *structure* (instruments, objective, constraints, horizon, market) is fixed
at construction and compiled once. Its *inputs* (book, risk model, scenarios, current
hedge, expected returns, market state) and its *parameters* (the registry's keys, such
as ``"turnover.max"``) are refreshed by :meth:`HedgeProblem.solve` without recompiling.
The terms it is built from are never changed: one constraint list serves any number of
problems. A problem pickles (its recipe: structure, inputs, parameter values), so it
travels to sweep and backtest workers, which compile it once each.

The problem asks its terms what they need through their protocol (whole positions, bounds
from the book, scenarios, market state, a rebuild when scenario capacity grows); it names
no concrete term class. This module is the facade users build (the constructor,
:meth:`HedgeProblem.solve` -> :class:`HedgeResult`, ``set``, ``from_spec`` / ``spec``,
pickling); the compiled program and its state (update with rollback, the solve loop,
``solve_point`` -> :class:`Solution`, the limits' pricing) are the compiled core,
:class:`~optihedge.optimize.compiled.CompiledHedge`, which the problem owns and delegates
to. Integer positions are in ``optihedge.optimize.integer``, infeasibility diagnosis in
``optihedge.optimize.diagnose``, the solver loop in ``optihedge.optimize.solve``, the
result's notes on kinks and no hedge in ``optihedge.optimize.notes``.
"""

from __future__ import annotations

import pickle
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from constraints import Constraint, HedgeData
from optihedge.calendar import Frequency
from optihedge.errors import SpecificationError
from optihedge.instruments import Instrument, MarketState
from optihedge.optimize.assemble import make_result
from optihedge.optimize.compiled import CompiledHedge
from optihedge.optimize.data import data_frequency, frequency_of
from optihedge.optimize.inputs import HedgeInputs
from optihedge.optimize.notes import kink_notes, no_hedge_note
from optihedge.optimize.objective import SWEEP_OPTION, Objective
from optihedge.optimize.registry import ParameterRegistry
from optihedge.optimize.result import HedgeResult
from optihedge.optimize.slopes import Slopes
from optihedge.optimize.solution import Solution
from optihedge.optimize.spec import ProblemSpec, spec_of
from optihedge.optimize.terms import CompiledTerm
from optihedge.optimize.ties import tie_notes
from optihedge.portfolio import Portfolio
from optihedge.scenarios import Scenarios

__all__ = ["SWEEP_OPTION", "HedgeProblem", "sweep_recipe"]

#: Trading days of the default horizon (21 on daily data, 4 weeks, 1 month).
DEFAULT_HORIZON = 21
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
        self._core = CompiledHedge(
            instruments, objective, constraints, horizon, market, inputs, {}, None
        )

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
        state = self._core._inputs.market_state
        return spec_of(
            self.instruments,
            self.objective,
            self.constraints,
            self.horizon,
            self.market,
            None if state is _NO_MARKET else state,
        )

    # ---------------------------------------------------------------- accessors
    @property
    def compiled(self) -> CompiledHedge:
        """The compiled core this problem delegates to (update, solve_point, record)."""
        return self._core

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        """The instruments, in the order of the positions."""
        return self._core.instruments

    @property
    def objective(self) -> Objective:
        """The objective."""
        return self._core.objective

    @property
    def constraints(self) -> tuple[Constraint, ...]:
        """The constraints (never changed by the problem)."""
        return self._core.constraints

    @property
    def horizon(self) -> int:
        """Periods of the data the risk is stated over."""
        return self._core.horizon

    @property
    def market(self) -> Hashable | None:
        """The factor or asset "beta" refers to (None: the risk model's first factor)."""
        return self._core.market

    @property
    def registry(self) -> ParameterRegistry:
        """The parameter registry: every key, its value and valid range."""
        return self._core.registry

    @property
    def _objective(self) -> CompiledTerm:
        """The compiled objective (the core's)."""
        return self._core._objective

    @property
    def _direct(self) -> dict[int, Any]:
        """The kept direct solvers by compiled problem (the core's)."""
        return self._core._direct

    def _positions(self) -> np.ndarray:
        return self._core._positions()

    @property
    def parameters(self) -> pd.DataFrame:
        """Every registry key: value, lower, upper, range, owner and description."""
        return self.registry.frame()

    @property
    def inputs(self) -> HedgeInputs:
        """The inputs the next solve uses."""
        return self._core._inputs

    @property
    def data(self) -> HedgeData:
        """The labelled numbers the next solve uses (a value; changing it changes nothing)."""
        return self._core._data

    @property
    def frequency(self) -> Frequency:
        """The data's frequency: what one period of ``horizon`` is (from the inputs)."""
        return data_frequency(self._core._data)

    @property
    def cvxpy_problem(self) -> cp.Problem:
        """The compiled cvxpy problem (read it; changing it is not supported)."""
        return self._core._problem

    @property
    def portfolio(self) -> Portfolio:
        """The book."""
        return self._core._inputs.portfolio

    @property
    def scenarios(self) -> Scenarios | None:
        """The scenarios, if any."""
        return self._core._inputs.scenarios

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
        return self._core._solution(status, stats)

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
        return self._core.compile_inputs(**inputs)

    def _solve_core(
        self,
        params: Mapping[str, float] | None,
        *,
        solver: str | None = None,
        solver_options: Mapping[str, Any] | None = None,
        **changes: Any,
    ) -> tuple[str, dict[str, Any]]:
        """Apply parameters and inputs, solve (the compiled core's ``_solve_core``)."""
        return self._core._solve_core(
            params, solver=solver, solver_options=solver_options, **changes
        )

    def _point_record(self, status: str, stats: dict[str, Any]) -> dict[str, Any]:
        """Return the sweep row of the last solve with its positions (``x``)."""
        return self._core._point_record(status, stats)

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
        self._core.set(merged)
        return self

    def _result(self, status: str, stats: dict[str, Any]) -> HedgeResult:
        """Build the HedgeResult of the last solve from its :class:`Solution`.

        The positions, objective and limit numbers are the Solution's (one computation);
        the objective's report is read before the limits' slopes are measured (their
        re-solves may move an iterative term's figures), as the result always read it.
        """
        core = self._core
        data = core._data
        report = core._objective.report()
        solution = core._solution(status, stats)
        x = solution.positions
        limits = solution.constraints
        numbers = solution.limits
        sided = {
            name: Slopes(float(numbers.numbers[numbers.names.index(name), 3]), cost)
            for name, cost in numbers.tightening.items()
        }
        kinks = kink_notes(stats, sided)
        portfolio = core._inputs.portfolio
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
                "tied": [[data.instruments[i] for i in g] for g in core._ties],
            },
            capital=portfolio.capital,
            currency=portfolio.currency,
            # the level, VaR and ES the solution stated (with scenarios: no second sort)
            scenario_alpha=solution.scenario_alpha,
            scenario_after=(
                None
                if solution.scenario_var is None or solution.scenario_es is None
                else (solution.scenario_var, solution.scenario_es)
            ),
            notes=[
                *([stats["accuracy"]] if "accuracy" in stats else []),
                *([stats["whole_contracts_note"]] if "whole_contracts_note" in stats else []),
                *tie_notes(
                    data.instruments,
                    core._ties,
                    core._tie_breaker is not None,
                    data.exposures.to_numpy(),
                ),
                *(n for comp in core._compiled for n in comp.notes),
                *no_hedge_note(data, x, limits),
                *kinks,
                *([report.approximation_note] if report.approximation_note else []),
                *report.notes,
            ],
        )

    # ----------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        """Return the recipe: structure, inputs, parameter values, build options (no cvxpy)."""
        return self._core.recipe()

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Recompile from the recipe (once per process)."""
        self._core = CompiledHedge(
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


def problem_from_spec(spec: ProblemSpec, portfolio: Portfolio, **inputs: Any) -> HedgeProblem:
    """Build a :class:`HedgeProblem` from a spec (``ProblemSpec.build`` calls it)."""
    return HedgeProblem.from_spec(spec, portfolio, **inputs)


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

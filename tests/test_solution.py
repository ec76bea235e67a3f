"""The public light solve (issue 19 item 2): ``HedgeProblem.solve_point`` and ``Solution``.

A sweep's row is ``Solution.record()`` of the worker's problem at that point, and a
Solution agrees to the bit with ``HedgeProblem.solve``'s HedgeResult and with
``oh.scenario_pnl`` on P&L, carry, units and risk figures (variance, expected
shortfall, options). The problems, the hand formulas' inputs and the row/result check
are those of ``test_formula_homes`` (extended here, not copied).
"""

from __future__ import annotations

import dataclasses
import math
import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_formula_homes import (
    BOOK,
    CURRENT,
    DAILY_10,
    MARKET,
    SCENARIOS,
    _assert_row_is_result,
    _problem,
    brute_tail,
)

import optihedge as oh
from optihedge.errors import DataError, MissingLabelsError, SpecificationError
from optihedge.measures import pnl
from optihedge.measures.risk import expected_shortfall, value_at_risk
from optihedge.optimize import LimitNumbers, Solution, SolveStats
from optihedge.optimize.problem import sweep_recipe

KINDS = ["variance", "shortfall", "options"]
POINT = {"gross_exposure.max": 0.45}


@pytest.mark.parametrize("kind", KINDS)
def test_record_is_the_sweep_row(kind: str) -> None:
    """``oh.sweep``'s row of a point is the record of the worker's problem at that point.

    The worker's problem is the sweep's own copy (``sweep_recipe``: an expected
    shortfall may choose another method there), solved once at the point.
    """
    problem, _ = _problem(kind)
    sweep = oh.sweep(problem, {"gross_exposure.max": [POINT["gross_exposure.max"]]}, progress=False)
    row = sweep.points.iloc[0].to_dict()
    worker = pickle.loads(sweep_recipe(problem))
    solution = worker.solve_point(POINT)
    record = solution.record()
    assert set(row) - set(record) == {"gross_exposure.max", "message"}
    assert row["message"] == ""
    for key, value in record.items():
        if key == "solver_time":  # a clock: each solve measures its own
            assert isinstance(value, float)
            assert math.isnan(value) or value >= 0.0
            continue
        assert row[key] == value, key
        assert type(value) in (float, int, bool, str), key  # plain values, not numpy
    # the weights and units tables of the sweep are the solution's, to the bit
    assert np.array_equal(sweep.pivot().to_numpy()[0], solution.positions)
    assert np.array_equal(sweep.pivot("units").to_numpy()[0], solution.units.to_numpy())
    if kind == "shortfall":
        assert row["shortfall_method"] == solution.stats.shortfall_method


@pytest.mark.parametrize("kind", KINDS)
def test_solution_result_and_scenario_pnl_agree_to_the_bit(kind: str) -> None:
    """Two problems built alike: one answers solve_point, the other solve (a HedgeResult)."""
    light, instruments = _problem(kind)
    full, _ = _problem(kind)
    solution = light.solve_point(POINT)
    result = full.solve(POINT)
    assert solution.status == result.status == "optimal"
    x = solution.positions
    assert np.abs(x).max() > 1e-3  # a hedge, not the empty one
    # the row check of test_formula_homes: weights, volatility, beta, premium, carry, VaR, ES
    _assert_row_is_result({"x": x, **solution.record()}, result)
    assert solution.objective == result.objective_value
    assert solution.weights.equals(result.weights)
    assert np.array_equal(solution.units.to_numpy(), result.allocation["units"].to_numpy())
    assert list(solution.units.index) == list(result.allocation.index)
    pd.testing.assert_frame_equal(solution.constraints, result.constraints, check_exact=True)
    assert solution.binding == result.binding
    assert solution.scenario_alpha == result.risk.attrs["scenario_alpha"]
    assert solution.turnover == pnl.turnover(
        result.weights.to_numpy(), CURRENT.reindex(result.weights.index, fill_value=0.0).to_numpy()
    )

    # oh.scenario_pnl of the solution's weights gives its VaR and ES, to the bit
    table = oh.scenario_pnl(BOOK, instruments, solution.weights, SCENARIOS, MARKET)
    alpha = solution.scenario_alpha
    assert alpha is not None
    p = light.data.scenario_probabilities
    after = table["after"].to_numpy()
    assert solution.scenario_var == value_at_risk(after, alpha, p)
    assert solution.scenario_es == expected_shortfall(after, alpha, p)

    # ... and by hand: the tail of the losses filled from the worst (brute force), the
    # book's scenario P&L from the raw returns, carry and units from the attributes
    weights, var = brute_tail(list(-after), list(p), alpha)
    assert solution.scenario_var == pytest.approx(var, rel=1e-12)
    assert solution.scenario_es == pytest.approx(float(np.dot(weights, -after)), rel=1e-12)
    w = BOOK.weights
    book_hand = DAILY_10[w.index].to_numpy() @ w.to_numpy()
    np.testing.assert_allclose(table["before"].to_numpy(), book_hand, rtol=1e-12, atol=1e-15)
    attrs = light.data.attributes
    capital = BOOK.capital
    carry_hand = sum(
        (cl * xi + cs * max(-xi, 0.0)) * capital
        for cl, cs, xi in zip(attrs["carry_long"], attrs["carry_short"], x, strict=True)
    )
    assert solution.annual_carry == pytest.approx(carry_hand, rel=1e-12, abs=1e-9)
    premium_hand = sum(pr * xi * capital for pr, xi in zip(attrs["premium"], x, strict=True))
    assert solution.premium == pytest.approx(premium_hand, rel=1e-12, abs=1e-9)
    np.testing.assert_allclose(
        solution.units.to_numpy(), x / attrs["contract_value"].to_numpy(), rtol=1e-12
    )


def test_solution_is_a_frozen_value() -> None:
    problem, _ = _problem("variance")
    solution = problem.solve_point(POINT)
    assert isinstance(solution, Solution)
    with pytest.raises(dataclasses.FrozenInstanceError):
        solution.status = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        solution.stats.solver = "changed"  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        solution.positions[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        solution.limits.numbers[0, 3] = 1.0
    with pytest.raises(TypeError):
        solution.stats.details["x"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        solution.limits.tightening["x"] = 1.0  # type: ignore[index]
    # the tables handed out are new objects: changing one changes nothing
    before = solution.record()
    weights = solution.weights
    weights.iloc[:] = 9.0
    table = solution.constraints
    table.iloc[:, 1] = 9.0
    assert solution.record() == before
    assert not np.any(solution.positions == 9.0)
    # a later solve of the same problem leaves the first answer as it was
    first = solution.positions.copy()
    problem.solve_point({"gross_exposure.max": 0.2})
    assert np.array_equal(solution.positions, first)


def test_solve_stats_are_typed() -> None:
    problem, _ = _problem("variance")
    stats = problem.solve_point(POINT).stats
    assert isinstance(stats, SolveStats)
    assert stats.solver
    assert isinstance(stats.solver, str)
    assert isinstance(stats.iterations, int)
    assert stats.iterations > 0
    assert isinstance(stats.rebuilds, int)
    assert stats.rebuilds == 0
    assert stats.canonicalisation in ("dpp", "constants")
    assert stats.shortfall_method is None
    assert stats.certified is None
    # a certified method (in a sweep of this many instruments, the band): the method,
    # its certificate and its gap, typed
    planes, _ = _problem("shortfall")
    planes_stats = pickle.loads(sweep_recipe(planes)).solve_point(POINT).stats
    assert planes_stats.shortfall_method == "band"
    assert planes_stats.certified is True
    assert isinstance(planes_stats.certificate_gap, float)
    assert abs(planes_stats.certificate_gap) <= 1e-9 * abs(
        planes_stats.details["objective_upper_bound"]
    )
    assert planes_stats.details["band_rounds"] >= 1
    # from string keys, as the solver loop reports them
    typed = SolveStats.from_stats(
        {"solver": "SCS", "solve_time": None, "num_iters": 7.0, "tie_break": "x"},
        {"shortfall_method": "lp", "certified": 1},
    )
    assert typed.solver == "SCS"
    assert typed.iterations == 7
    assert typed.certified is True
    assert math.isnan(typed.solve_time)
    assert dict(typed.details) == {"tie_break": "x"}


BAD = [
    # params, solver options, inputs, error, what the message names
    ({"gross.max": 0.5}, {}, {}, SpecificationError, r"Unknown parameter key\(s\) \['gross.max'\]"),
    ({"gross_exposure.max": -1.0}, {}, {}, SpecificationError, "gross_exposure.max"),
    ({"gross_exposure.max": "wide"}, {}, {}, SpecificationError, "gross_exposure.max"),
    ([("gross_exposure.max", 0.5)], {}, {}, SpecificationError, "params"),
    (POINT, {"solver": "NOPE"}, {}, SpecificationError, "'solver' argument"),
    (POINT, {"max_itre": 5}, {}, SpecificationError, "max_itre"),
    (POINT, {}, {"current": pd.Series({"ZZ": 0.1})}, MissingLabelsError, "'current' argument"),
]


@pytest.mark.parametrize(("params", "solver", "inputs", "error", "match"), BAD)
def test_bad_arguments_raise_what_solve_raises_and_change_nothing(
    params: Any, solver: dict[str, Any], inputs: dict[str, Any], error: type, match: str
) -> None:
    problem, _ = _problem("variance")
    values = problem.parameters.copy()
    held = problem.inputs
    with pytest.raises(error, match=match) as light:
        problem.solve_point(params, **solver, **inputs)
    pd.testing.assert_frame_equal(problem.parameters, values)  # rolled back whole
    assert problem.inputs is held
    with pytest.raises(error) as full:
        problem.solve(params, **solver, **inputs)
    assert type(light.value) is type(full.value)
    assert str(light.value) == str(full.value)
    # the problem still solves as before
    assert problem.solve_point(POINT).status == "optimal"


def test_compile_inputs_checks_without_applying() -> None:
    problem, _ = _problem("shortfall")
    held = problem.inputs
    fewer = oh.Scenarios(SCENARIOS.returns.iloc[:100], horizon=10)
    data = problem.compile_inputs(scenarios=fewer)
    assert problem.inputs is held  # nothing applied
    assert data.scenario_probabilities is not None
    np.testing.assert_allclose(data.scenario_probabilities, np.full(100, 0.01), rtol=1e-15)
    assert list(data.instruments) == list(problem.data.instruments)
    with pytest.raises(
        SpecificationError, match=r"compile_inputs takes the inputs .*\['scenario'\]"
    ):
        problem.compile_inputs(scenario=fewer)
    with pytest.raises((MissingLabelsError, DataError), match="'current' argument"):
        problem.compile_inputs(current=pd.Series({"ZZ": 0.1}))
    assert problem.inputs is held


def test_limit_numbers_table_is_the_limit_frame() -> None:
    limits = LimitNumbers(
        names=("a.max", "b.min"),
        owners=("A()", "B()"),
        numbers=np.array([[1.0, 1.0, 0.0, 0.5], [2.0, 1.0, 1.0, 0.0]]),
        binding=np.array([True, False]),
        tightening={"a.max": 0.75},
    )
    table = limits.table()
    assert list(table.index) == ["a.max", "b.min"]
    assert table.loc["a.max", "degenerate"]
    assert not table.loc["b.min", "degenerate"]
    assert table.loc["a.max", "tightening_costs"] == 0.75
    assert table.loc["a.max", "relaxing_gains"] == 0.5
    assert table.loc["b.min", "tightening_costs"] == 0.0


def test_a_degenerate_limit_reads_the_same_in_the_solution_and_the_result() -> None:
    """A zero premium budget binds at a kink: tightening leaves nothing feasible.

    The result is built from the Solution: the same limit table, flags and one-sided
    prices, and the note naming the limit.
    """
    zero = {"premium_budget.max": 0.0}
    light, _ = _problem("shortfall")
    full, _ = _problem("shortfall")
    solution = light.solve_point(zero)
    result = full.solve(zero)
    assert solution.limits.tightening == {"premium_budget.max": np.inf}
    row = solution.record()
    assert row["shadow_degenerate[premium_budget.max]"] is True
    assert row["shadow_tightening[premium_budget.max]"] == np.inf
    assert row["shadow_price[premium_budget.max]"] > 0.0
    pd.testing.assert_frame_equal(solution.constraints, result.constraints, check_exact=True)
    sided = result.solver_stats["one_sided_shadow_prices"]["premium_budget.max"]
    assert sided["relaxing_gains"] == row["shadow_price[premium_budget.max]"]
    assert sided["tightening_costs"] == np.inf
    assert any("premium_budget.max" in n and "nothing feasible" in n for n in result.notes)
    assert solution.objective == result.objective_value
    assert solution.stats.slope_resolves == result.solver_stats["slope_resolves"] > 0

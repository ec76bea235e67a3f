"""The compiled-term protocol: a new iterative, stateful term plugs in without editing the problem.

A toy cutting-plane term on :math:`\\lambda \\sum_i |x_i|` (planes ``t_i >= s_i x_i``
added by ``refine`` until every ``|x_i|`` is met) is written here only, as a
:class:`CompiledTerm` subclass and through the :class:`CompiledObjective` adapter; both
solve to the optimum of the same problem written in raw cvxpy.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import optihedge as oh
from constraints import GrossExposure, HedgeContext, HedgeData
from optihedge.optimize.objectives import Objective
from optihedge.optimize.terms import CompiledObjective, CompiledTerm, TermReport

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ["A", "B", "C", "IDX", "NDX"]
LAMBDA = 2e-4  # the L1 term's weight: enough to move the hedge off the plain variance one
TIGHT = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}


@pytest.fixture(scope="module")
def risk() -> oh.RiskModel:
    rng = np.random.default_rng(7)
    n = 500
    idx = rng.normal(0.0004, 0.011, n)
    ndx = 1.2 * idx + rng.normal(0, 0.006, n)
    stocks = np.outer(idx, [0.7, 1.1, 1.4]) + rng.normal(0, 0.012, (n, 3))
    frame = pd.DataFrame(np.column_stack([stocks, idx, ndx]), columns=ASSETS)
    return oh.FactorModel().fit(frame, frame[["IDX", "NDX"]]).risk_model_


def hedges() -> list[oh.Instrument]:
    return [
        oh.Future(label="ESZ6", underlying="IDX", price=5000.0, multiplier=50.0),
        oh.ETF(label="QQQ", underlying="NDX", price=400.0),
    ]


BOOK = {"A": 4e5, "B": 3e5, "C": 3e5}


class _PlanesL1(CompiledTerm):
    """``weight * sum |x|`` by planes ``t >= up * x``, ``t >= down * x`` added in rounds."""

    iterative = True

    def __init__(self, ctx: HedgeContext, log: list[str]) -> None:
        n = len(ctx.instruments)
        self.t = cp.Variable(n, name="l1_t")
        self.up, self.down = cp.Parameter(n), cp.Parameter(n)
        self.rate = cp.Parameter(nonneg=True)
        self.log = log
        self.rounds = 0
        super().__init__(
            self.rate * cp.sum(self.t),
            [self.t >= cp.multiply(self.up, ctx.x), self.t >= cp.multiply(self.down, ctx.x)],
        )

    def refresh(self, data: HedgeData, values: Mapping[str, float]) -> None:
        self.log.append("refresh")
        n = len(data.instruments)
        self.rate.value = values["l1.weight"] * data.objective_scale
        self.up.value, self.down.value = np.zeros(n), np.zeros(n)  # t >= 0: a valid plane

    def start(self) -> None:
        self.log.append("start")
        self.rounds = 0

    def refine(self, x: np.ndarray) -> bool:
        t = np.asarray(self.t.value)
        tol = 1e-9 * max(1.0, float(np.abs(x).max()))
        above, below = x > t + tol, -x > t + tol
        if not (above.any() or below.any()):
            return False
        self.rounds += 1
        self.up.value = np.where(above, 1.0, self.up.value)
        self.down.value = np.where(below, -1.0, self.down.value)
        return True

    def report(self) -> TermReport:
        return TermReport(details={"l1_rounds": self.rounds})


class L1(Objective):
    """The toy term: a subclass of the protocol, or (``adapter=True``) the callback form."""

    key: ClassVar[str] = "l1"

    def __init__(self, weight: float = 1.0, *, adapter: bool = False) -> None:
        super().__init__(weight)
        self.adapter = adapter
        self.log: list[str] = []

    def build(self, ctx: HedgeContext) -> CompiledTerm:
        term = _PlanesL1(ctx, self.log)
        if not self.adapter:
            return term
        return CompiledObjective(
            term.expression,
            term.constraints,
            term.refresh,
            refine=term.refine,
            report=lambda: term.report().as_dict(),
            start=term.start,
        )


def _problem(risk: oh.RiskModel, objective: Objective, **kwargs: Any) -> oh.HedgeProblem:
    return oh.HedgeProblem(
        oh.Portfolio.from_holdings(BOOK),
        hedges(),
        objective=oh.Variance() + objective,
        risk_model=risk,
        market="IDX",
        **kwargs,
    )


def _raw(risk: oh.RiskModel, weight: float) -> tuple[np.ndarray, float]:
    """The same problem by hand: variance over 21 days plus weight * sum |x|."""
    cov = risk.covariance().loc[ASSETS, ASSETS].to_numpy() * 21
    w = np.array([0.4, 0.3, 0.3, 0.0, 0.0])
    e = np.zeros((5, 2))
    e[3, 0] = e[4, 1] = 1.0  # the future on IDX, the ETF on NDX
    x = cp.Variable(2)
    z = w + e @ x
    raw = cp.Problem(cp.Minimize(cp.quad_form(z, cov) + weight * cp.norm1(x)))
    raw.solve(solver="CLARABEL", **TIGHT)
    assert raw.status == cp.OPTIMAL
    return np.asarray(x.value), float(raw.value)


def test_new_iterative_term_solves_against_raw_cvxpy(risk: oh.RiskModel) -> None:
    term = L1(LAMBDA)
    p = _problem(risk, term)
    got = p.solve()
    x, value = _raw(risk, LAMBDA)
    assert list(got.weights.index) == ["ESZ6", "QQQ"]
    np.testing.assert_allclose(got.weights.to_numpy(), x, atol=1e-6)
    assert got.objective_value == pytest.approx(value, rel=1e-7)
    # the L1 term moved the hedge (a plain variance hedge differs), in >= 1 refine round
    plain = _raw(risk, 0.0)[0]
    assert np.abs(plain - x).max() > 1e-3
    assert got.solver_stats["l1_rounds"] >= 1
    assert got.solver_stats["refinements"] == got.solver_stats["l1_rounds"]
    # a new weight through the registry: refreshed, re-solved to the new optimum
    again = p.solve(params={"l1.weight": 2 * LAMBDA})
    x2, value2 = _raw(risk, 2 * LAMBDA)
    np.testing.assert_allclose(again.weights.to_numpy(), x2, atol=1e-6)
    assert again.objective_value == pytest.approx(value2, rel=1e-7)


def test_adapter_and_subclass_give_identical_results(risk: oh.RiskModel) -> None:
    sub = _problem(risk, L1(LAMBDA)).solve()
    ada = _problem(risk, L1(LAMBDA, adapter=True)).solve()
    np.testing.assert_array_equal(sub.weights.to_numpy(), ada.weights.to_numpy())
    assert sub.objective_value == ada.objective_value
    assert sub.solver_stats["l1_rounds"] == ada.solver_stats["l1_rounds"]
    assert sub.solver_stats["refinements"] == ada.solver_stats["refinements"]


def test_stateful_term_refresh_and_start_when_documented(risk: oh.RiskModel) -> None:
    term = L1(LAMBDA)
    p = _problem(risk, term, constraints=[GrossExposure(max=5.0)])
    assert term.log == ["refresh"]  # at compile time, once
    p.solve()
    assert term.log[0] == "refresh"
    assert "refresh" not in term.log[1:]  # a solve alone does not refresh
    assert term.log.count("start") >= 1  # before every solve
    term.log.clear()
    p.solve(params={"gross_exposure.max": 4.0})  # a constraint's number: no refresh
    assert term.log
    assert set(term.log) == {"start"}
    term.log.clear()
    p.solve(params={"l1.weight": 3 * LAMBDA})  # an objective's number: refreshed first
    assert term.log[0] == "refresh"
    assert "start" in term.log
    term.log.clear()
    p.solve(portfolio=oh.Portfolio.from_holdings({"A": 5e5, "B": 5e5}))  # new inputs
    assert term.log[0] == "refresh"


def test_term_report_merges_and_reads_the_older_dicts() -> None:
    older = {"scenario_alpha": 0.9, "certified": False, "notes": ["n1"], "swaps": 3}
    read = TermReport.from_dict(older)
    assert read.scenario_alpha == 0.9
    assert read.certified is False
    assert read.notes == ("n1",)
    assert dict(read.details) == {"swaps": 3}
    assert read.as_dict() == older
    later = TermReport(scenario_alpha=0.95, notes=("n2",), details={"swaps": 4, "k": 1})
    both = read.merged(later)
    assert both.scenario_alpha == 0.95  # the later term's figure wins, as dict.update did
    assert both.certified is False  # kept where the later term says nothing
    assert both.notes == ("n1", "n2")
    assert dict(both.details) == {"swaps": 4, "k": 1}
    assert both.statistics() == {"certified": False, "swaps": 4, "k": 1}


def test_builtin_terms_are_compiled_term_subclasses(risk: oh.RiskModel) -> None:
    scenarios = oh.Scenarios.from_returns(
        pd.DataFrame(np.random.default_rng(3).normal(0.0, 0.01, (400, 5)), columns=ASSETS)
    )
    p = oh.HedgeProblem(
        oh.Portfolio.from_holdings(BOOK),
        hedges(),
        objective=oh.Variance()
        + oh.RobustVariance()
        + oh.TradingCost()
        + oh.CarryCost()
        + oh.ExpectedShortfall(),
        risk_model=risk,
        market="IDX",
        scenarios=scenarios,
    )
    parts = p._objective.parts  # type: ignore[attr-defined]
    assert all(isinstance(part, CompiledTerm) for part in parts)
    assert not any(isinstance(part, CompiledObjective) for part in parts)
    assert [part.iterative for part in parts] == [False, False, False, False, True]


# a term's callbacks as attributes (``self._objective.refine is None``): the older protocol
FORBIDDEN = {"refine", "bind", "start", "unbounded", "report", "difference", "refresh"}


@pytest.mark.parametrize("module", ["problem.py", "solve.py"])
def test_problem_module_tests_no_term_callback_against_none(module: str) -> None:
    source = (ROOT / "optihedge/optimize" / module).read_text()
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            isinstance(op, ast.Is | ast.IsNot) for op in node.ops
        ):
            sides = [node.left, *node.comparators]
            named = {s.attr for s in sides if isinstance(s, ast.Attribute)}
            if named & FORBIDDEN and any(
                isinstance(s, ast.Constant) and s.value is None for s in sides
            ):
                found.append(ast.unparse(node))
    assert found == []
    # the terms' report is read by typed fields, not popped by string keys
    for key in ('"scenario_alpha"', '"approximation_note"', '"notes"'):
        assert key not in source


def test_adapter_defaults_and_callbacks() -> None:
    x = cp.Variable(2)
    plain = CompiledObjective(cp.sum(cp.abs(x)))
    assert plain.iterative is False
    assert plain.refine(np.zeros(2)) is False
    assert plain.report() == TermReport()
    plain.start()
    plain.on_unbounded()  # nothing to do: the problem raises UnboundedError itself
    by_value = plain.exact_difference(x)
    assert by_value is not None
    assert by_value(np.array([1.0, -2.0]), np.array([0.5, 0.0])) == 2.5  # |1|+|-2| - 0.5
    calls: list[str] = []
    given = CompiledObjective(
        cp.sum_squares(x),
        refine=lambda _: False,
        report=lambda: {"scenario_alpha": 0.975, "notes": ["n"], "k": 2},
        unbounded=lambda: calls.append("unbounded"),
        difference=lambda a, b: 7.0,
    )
    assert given.iterative is True
    assert given.report() == TermReport(scenario_alpha=0.975, notes=("n",), details={"k": 2})
    given.on_unbounded()
    assert calls == ["unbounded"]
    own = given.exact_difference(x)
    assert own is not None
    assert own(np.zeros(2), np.ones(2)) == 7.0
    assert CompiledObjective(cp.sum_squares(x)).exact_difference(x) is not None
    other = cp.Variable()
    assert CompiledObjective(cp.sum_squares(x) + other).exact_difference(x) is None

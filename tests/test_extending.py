"""The term protocol: new instruments and constraints plug in without editing the optimizer.

The classes come from ``examples/04_extending.py`` (the worked example the architecture
notes point to), checked here against cvxpy written by hand.
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType
from typing import Any

import cvxpy as cp
import numpy as np
import pytest
from cases import load_script

import optihedge as oh
from constraints import Constraint, ParameterSpec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_script("extending", ROOT / "examples/04_extending.py")


def test_worked_example_classes_are_short() -> None:
    tree = ast.parse((ROOT / "examples/04_extending.py").read_text())
    sizes = {
        node.name: node.end_lineno - node.lineno + 1  # type: ignore[operator]
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    }
    assert set(sizes) == {"VolTargetFund", "NetNotional"}
    assert max(sizes.values()) < 50


def test_market_dependent_instrument_refreshes_without_a_rebuild(example: ModuleType) -> None:
    p = example.problem
    compiled = p.cvxpy_problem
    for vol in (0.15, 0.30):
        state = oh.MarketState(volatility={"IDX": vol})
        got = p.solve(market_state=state)
        assert p.cvxpy_problem is compiled
        assert p.data.exposures.loc["IDX", "VT"] == pytest.approx(0.10 / vol)
        fresh = oh.HedgeProblem(
            p.portfolio,
            p.instruments,
            objective=oh.Variance() + oh.CarryCost(),
            constraints=p.constraints,
            risk_model=example.model,
            market="IDX",
            market_state=state,
        ).solve()
        np.testing.assert_allclose(got.weights, fresh.weights, atol=1e-7)


def test_new_constraint_against_raw_cvxpy(example: ModuleType) -> None:
    model = example.model
    book = oh.Portfolio.from_holdings({"A": 1e6})
    futures = [
        oh.Future(label="ESZ6", underlying="IDX", price=5000.0, multiplier=50.0),
        oh.ETF(label="SPY", underlying="IDX", price=500.0, expense_ratio=0.001),
    ]
    res = oh.HedgeProblem(
        book,
        futures,
        objective=oh.Variance(),
        constraints=[example.NetNotional(min=-0.3, max=-0.1)],
        risk_model=model,
        market="IDX",
    ).solve()
    cov = model.covariance().to_numpy() * 21
    x = cp.Variable(2)
    z = np.array([1.0, 0.0]) + np.array([[0.0, 0.0], [1.0, 1.0]]) @ x
    raw = cp.Problem(cp.Minimize(cp.quad_form(z, cov)), [cp.sum(x) >= -0.3, cp.sum(x) <= -0.1])
    raw.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    assert raw.status == cp.OPTIMAL
    assert res.weights.sum() == pytest.approx(-0.3, abs=1e-9)  # the floor binds
    assert res.objective_value == pytest.approx(raw.value, rel=1e-9)
    assert res.constraints.loc["net_notional.min", "binding"]
    assert list(res.constraints.index) == ["net_notional.min", "net_notional.max"]


def test_optimizer_names_no_concrete_term_class() -> None:
    concrete = {
        name
        for module in ("constraints", "optihedge.instruments", "optihedge.optimize")
        for name in __import__(module, fromlist=["__all__"]).__all__
        if name[0].isupper() and not name.endswith("Error")
    } - {
        "Constraint",
        "Compiled",
        "HedgeContext",
        "HedgeData",
        "Row",
        "ParameterSpec",
        "RebuildRequired",
        "IntegerPart",
        "Instrument",
        "MarketState",
        "Objective",
        "CompiledObjective",
        "HedgeInputs",
        "HedgeProblem",
        "HedgeResult",
        "Solution",  # the light answer and its parts: values, like HedgeResult
        "SolveStats",
        "LimitNumbers",
        "ParameterRegistry",
        "ATTRIBUTES",
        "FactorRisk",
    }
    assert {"Turnover", "WholeContracts", "ExpectedShortfall", "PositionReduction"} <= concrete
    modules = ["problem", "data", "solve", "integer", "result", "inputs", "ties", "diagnose"]
    for module in [f"{m}.py" for m in [*modules, "bounds", "registry"]]:
        tree = ast.parse((ROOT / "optihedge/optimize" / module).read_text())
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        used |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        assert not used & concrete, f"optimize/{module} names {sorted(used & concrete)}"


def test_a_new_term_is_shown_by_its_parameters(example: ModuleType) -> None:
    """The base repr: the class, then each parameter by the last part of its key."""
    assert repr(example.NetNotional(min=-0.3, max=-0.1)) == "NetNotional(min=-0.3, max=-0.1)"
    assert repr(example.NetNotional(max=0.2)) == "NetNotional(max=0.2)"

    class DeskLimit(Constraint):  # a key of several dotted parts
        def parameters(self) -> tuple[ParameterSpec, ...]:
            return (ParameterSpec("desk.var.max", 0.1), ParameterSpec("desk.var.min", -0.1))

        def _build(self, ctx: Any) -> Any:
            raise NotImplementedError

    assert repr(DeskLimit()) == "DeskLimit(max=0.1, min=-0.1)"

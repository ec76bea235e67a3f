"""Problems and results pickle, before and after a solve, and travel to other processes."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optihedge as oh
from constraints import GrossExposure, ResidualBeta, Turnover, WholeContracts

ASSETS = ["A", "B", "IDX"]


@pytest.fixture(scope="module")
def scenarios() -> oh.Scenarios:
    rng = np.random.default_rng(5)
    idx = rng.standard_t(4, 3000) * 0.02
    frame = pd.DataFrame(
        {"A": 0.9 * idx + rng.normal(0, 0.01, 3000), "B": 1.3 * idx + rng.normal(0, 0.015, 3000)}
    )
    frame["IDX"] = idx
    return oh.Scenarios.from_returns(frame, horizon=21)


def variance_problem(scenarios: oh.Scenarios) -> oh.HedgeProblem:
    return oh.HedgeProblem(
        oh.Portfolio.from_holdings({"A": 6e5, "B": 4e5}),
        [
            oh.Future(label="ESZ6", underlying="IDX", price=5000.0, multiplier=50.0),
            oh.InverseETF(label="SH", underlying="IDX", price=40.0, expense_ratio=0.009),
        ],
        objective=oh.Variance() + oh.TradingCost() + oh.CarryCost(),
        constraints=[GrossExposure(0.9), ResidualBeta(min=0.1), Turnover(1.0)],
        scenarios=scenarios,
        market="IDX",
    )


def shortfall_problem(scenarios: oh.Scenarios) -> oh.HedgeProblem:
    return oh.HedgeProblem(
        oh.Portfolio.from_holdings({"A": 6e5, "B": 4e5}),
        [oh.Future(label="ESZ6", underlying="IDX", price=5000.0, multiplier=50.0)],
        objective=oh.ExpectedShortfall(0.95),
        constraints=[GrossExposure(1.2), WholeContracts()],
        scenarios=scenarios,
        market="IDX",
    )


@pytest.mark.parametrize("make", [variance_problem, shortfall_problem])
def test_problem_pickles_before_and_after_a_solve(scenarios: oh.Scenarios, make: object) -> None:
    p = make(scenarios)  # type: ignore[operator]
    unsolved = pickle.loads(pickle.dumps(p))
    first = p.solve()
    p.solve({"gross_exposure.max": 0.5})  # a changed parameter travels with the problem
    solved = pickle.loads(pickle.dumps(p))
    assert solved.parameters.loc["gross_exposure.max", "value"] == 0.5
    np.testing.assert_allclose(unsolved.solve().weights, first.weights, atol=1e-10)
    np.testing.assert_allclose(solved.solve().weights, p.solve().weights, atol=1e-10)


def test_result_pickles_and_compares_by_its_numbers(scenarios: oh.Scenarios) -> None:
    res = variance_problem(scenarios).solve()
    back = pickle.loads(pickle.dumps(res))
    pd.testing.assert_frame_equal(back.allocation, res.allocation)
    pd.testing.assert_frame_equal(back.constraints, res.constraints)
    pd.testing.assert_frame_equal(back.risk, res.risk)
    assert back.scenario_returns is not None
    pd.testing.assert_frame_equal(back.scenario_returns, res.scenario_returns)
    assert back.summary() == res.summary()


@pytest.mark.parametrize("make", [variance_problem, shortfall_problem])
def test_solved_in_another_process_gives_the_same_answer(
    scenarios: oh.Scenarios, make: object, tmp_path: Path
) -> None:
    p = make(scenarios)  # type: ignore[operator]
    p.solve({"gross_exposure.max": 0.7})
    here = p.solve()
    (tmp_path / "problem.pkl").write_bytes(pickle.dumps(p))
    code = (
        "import pickle, sys; from pathlib import Path; d = Path(sys.argv[1]); "
        "p = pickle.loads((d / 'problem.pkl').read_bytes()); "
        "(d / 'result.pkl').write_bytes(pickle.dumps(p.solve()))"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, timeout=300)
    there = pickle.loads((tmp_path / "result.pkl").read_bytes())
    np.testing.assert_allclose(there.weights, here.weights, atol=1e-10, rtol=0)
    assert there.objective_value == pytest.approx(here.objective_value, rel=1e-10, abs=1e-14)

"""The problem module split by concept (issue 19 item 7): facade, compiled core, notes.

``optimize/problem.py`` holds the facade ``HedgeProblem`` (constructor, ``solve`` ->
HedgeResult, ``set``, ``from_spec`` / ``spec``, pickling); the compiled program and its
state are ``optimize/compiled.py``'s ``CompiledHedge``, which the facade owns and
delegates to; ``spec.py`` never imports ``problem.py`` (no circle). The facade's solve
is the core's ``solve_point`` plus the result, to the bit.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_formula_homes import BOOK, MARKET, SCENARIOS, _problem, brute_tail

import optihedge as oh
from optihedge.optimize.compiled import CompiledHedge

OPTIMIZE = Path(__file__).resolve().parents[1] / "optihedge" / "optimize"
CORE_CLASSES = {"HedgeProblem", "CompiledHedge"}
POINT = {"gross_exposure.max": 0.45}


def _tree(name: str) -> ast.Module:
    return ast.parse((OPTIMIZE / name).read_text(), filename=name)


def _imported(tree: ast.Module) -> set[str]:
    """Every module an import statement names, at any depth (functions included)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_the_problem_module_is_the_facade_and_spec_does_not_import_it() -> None:
    """Before the split: problem.py had 1,237 lines with the whole compiled core, and
    ``ProblemSpec.build`` imported ``optihedge.optimize.problem`` (a circle)."""
    lines = len((OPTIMIZE / "problem.py").read_text().splitlines())
    assert lines < 600, lines
    spec = _tree("spec.py")
    assert not any("optimize.problem" in name for name in _imported(spec))
    # nor through importlib: no call is given the module's name
    texts = [
        a.value
        for n in ast.walk(spec)
        if isinstance(n, ast.Call)
        for a in n.args
        if isinstance(a, ast.Constant)
    ]
    assert not any(isinstance(t, str) and "optimize.problem" in t for t in texts)
    homes: dict[str, list[str]] = {}
    for path in sorted(OPTIMIZE.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name in CORE_CLASSES:
                homes.setdefault(path.name, []).append(node.name)
    assert homes == {"problem.py": ["HedgeProblem"], "compiled.py": ["CompiledHedge"]}


@pytest.mark.parametrize("kind", ["variance", "shortfall"])
def test_the_facades_solve_is_the_cores_solve_point_and_result(kind: str) -> None:
    """Two problems built alike: the facade's solve, and its core's solve_point."""
    facade, instruments = _problem(kind)
    light, _ = _problem(kind)
    result = facade.solve(POINT)
    core = light.compiled
    assert isinstance(core, CompiledHedge)
    solution = core.solve_point(POINT)
    assert solution.status == result.status == "optimal"
    assert np.abs(solution.positions).max() > 1e-3  # a hedge, not the empty one
    assert solution.weights.equals(result.weights)
    assert solution.objective == result.objective_value
    pd.testing.assert_frame_equal(solution.constraints, result.constraints, check_exact=True)
    assert solution.binding == result.binding
    # the core's state is the facade's; a warm re-solve answers alike (to the solver)
    assert light.registry is core.registry
    assert light.data is core._data
    np.testing.assert_allclose(light.solve_point(POINT).positions, solution.positions, atol=1e-7)
    # the facade's solve is its result built on the core's solve, to the bit
    third, _ = _problem(kind)
    status, stats = third.compiled._solve_core(POINT)
    rebuilt = third._result(status, stats)
    assert rebuilt.weights.equals(result.weights)
    assert rebuilt.objective_value == result.objective_value
    pd.testing.assert_frame_equal(rebuilt.constraints, result.constraints, check_exact=True)
    assert rebuilt.notes == result.notes
    # an independent figure: VaR and ES of the hedged scenarios, by brute force
    table = oh.scenario_pnl(BOOK, instruments, solution.weights, SCENARIOS, MARKET)
    alpha = solution.scenario_alpha
    assert alpha is not None
    after = table["after"].to_numpy()
    p = light.data.scenario_probabilities
    assert p is not None
    weights, var = brute_tail(list(-after), list(p), alpha)
    assert solution.scenario_var == pytest.approx(var, rel=1e-12)
    assert solution.scenario_es == pytest.approx(float(np.dot(weights, -after)), rel=1e-12)

"""Issue 19 item 7: modules that held several concepts are split, one concept a file.

``optimize/result.py`` keeps the ``HedgeResult`` value; its builder ``make_result`` and the
tables it fills live in ``optimize/assemble.py``. ``optimize/objective.py`` holds the
``Objective`` base and ``SumObjective``; the variance terms live in ``optimize/variance.py``
and the cost terms in ``optimize/costs.py``; ``optimize/objectives.py``, their former module,
only hands them on. ``optihedge/demo.py`` became the package
``optihedge/demo/`` (``setup``, ``hedges``, ``run``, ``text``, ``files``).

Checked here: each name is defined in its new module and nowhere else (read from the
source), every old import path still gives the same object, a module whose builder
imports it does not import the builder back at run time, the new modules import first in
a fresh interpreter (no import cycle), and pickles and run fingerprints written by the
code before the split still load and match.
"""

from __future__ import annotations

import ast
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cases import fat_tailed

import optihedge as oh

ROOT = Path(__file__).resolve().parents[1]
OPT = ROOT / "optihedge" / "optimize"
DEMO = ROOT / "optihedge" / "demo"


def _defined(path: Path) -> set[str]:
    """Names a module defines at top level (classes, functions, assignments)."""
    out: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            out.add(node.name)
        elif isinstance(node, ast.Assign):
            out |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out.add(node.target.id)
    return out - {"__all__", "__getattr__"}


def _runtime_imports(path: Path) -> set[str]:
    """Modules imported at module level outside ``if TYPE_CHECKING:`` (run-time imports)."""
    out: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


# module -> the names it, and no other module of the split, defines
HOMES = {
    OPT / "result.py": {"HedgeResult", "POSITION_TOLERANCE", "SOLVED", "_greeks_table"},
    OPT / "assemble.py": {
        "make_result",
        "_LEVELS",
        "_normal_risk",
        "_risk_table",
        "_scenario_risk",
        "_exposure_tables",
    },
    OPT / "objective.py": {"Objective", "SumObjective", "SWEEP_OPTION", "QUADRATIC_OPTION"},
    OPT / "objectives.py": set(),  # the former module: it only hands the terms on
    OPT / "variance.py": {
        "Variance",
        "RobustVariance",
        "_RiskParameters",
        "_GammaParameters",
        "_CompiledVariance",
        "_CompiledRobustVariance",
        "_refuse_scenario_only",
        "_has_options",
    },
    OPT / "costs.py": {"TradingCost", "CarryCost", "_CompiledTradingCost", "_CompiledCarryCost"},
    DEMO / "__init__.py": set(),  # re-exports only
    DEMO / "setup.py": {
        "WINDOWS",
        "HORIZON",
        "FUTURES_MULTIPLIER",
        "FUTURE_CODE",
        "OPTION_MULTIPLIER",
        "RATE",
        "DIVIDEND_YIELD",
        "PUT_MONEYNESS",
        "OPTION_EXPIRY",
        "COLLAR",
        "PREMIUM_BUDGET",
        "SWEEP_GRID",
        "START",
        "_horizon_returns",
        "_index_hedges",
        "_limits",
    },
    DEMO / "hedges.py": {"optimize_hedge", "shortfall_hedge", "option_alternatives"},
    DEMO / "run.py": {"DemoResult", "run_demo", "put_quote"},
    DEMO / "text.py": {
        "format_demo",
        "put_text",
        "_allocation_text",
        "_limits_header",
        "_limits_text",
        "_windows_note",
        "_sweep_text",
    },
    DEMO / "files.py": {"save_frontier", "write_report"},
}


@pytest.mark.parametrize("path", list(HOMES), ids=lambda p: str(p.relative_to(ROOT)))
def test_each_module_defines_exactly_its_concept(path: Path) -> None:
    assert _defined(path) == HOMES[path]


def test_the_demo_module_is_a_package_now() -> None:
    assert not (ROOT / "optihedge" / "demo.py").exists()
    assert (DEMO / "__init__.py").exists()


@pytest.mark.parametrize(
    ("value", "builder"),
    [
        ("optihedge.optimize.result", "optihedge.optimize.assemble"),
        ("optihedge.optimize.objective", "optihedge.optimize.variance"),
        ("optihedge.optimize.objective", "optihedge.optimize.costs"),
    ],
)
def test_the_old_module_does_not_import_its_new_neighbour_at_run_time(
    value: str, builder: str
) -> None:
    # the new module imports the old one; the old one re-exports lazily (no cycle)
    path = ROOT / Path(*value.split(".")).with_suffix(".py")
    assert builder not in _runtime_imports(path)
    new = ROOT / Path(*builder.split(".")).with_suffix(".py")
    assert value in _runtime_imports(new)


def test_old_import_paths_give_the_same_objects() -> None:
    from optihedge.optimize import assemble, costs, objectives, result, variance
    from optihedge.optimize.objectives import CarryCost, RobustVariance, TradingCost, Variance

    # make_result (a builder, never pickled, not in the README) lives only in assemble:
    # a re-export from result.py would tie the value back to its builder
    assert not hasattr(result, "make_result")
    assert callable(assemble.make_result)
    assert Variance is variance.Variance is oh.Variance is oh.optimize.Variance
    assert RobustVariance is variance.RobustVariance is oh.RobustVariance
    assert TradingCost is costs.TradingCost is oh.TradingCost is oh.optimize.TradingCost
    assert CarryCost is costs.CarryCost is oh.CarryCost
    assert objectives.Objective is oh.optimize.Objective
    for name in ("HedgeResult", "POSITION_TOLERANCE"):
        assert hasattr(result, name)


@pytest.mark.parametrize(
    ("module", "name"),
    [("optihedge.optimize.result", "nope"), ("optihedge.optimize.objectives", "Nope")],
)
def test_an_unknown_name_of_an_old_module_is_still_an_attribute_error(
    module: str, name: str
) -> None:
    import importlib

    with pytest.raises(AttributeError, match=f"{module}.*no attribute '{name}'"):
        getattr(importlib.import_module(module), name)


def test_every_name_of_the_former_demo_module_imports_from_optihedge_demo() -> None:
    import optihedge.demo as demo
    from optihedge.demo import (  # tests/test_package.py
        DemoResult,
        files,
        format_demo,
        hedges,
        run,
        run_demo,
        setup,
        text,
    )

    former = {
        "DemoResult",
        "format_demo",
        "put_quote",
        "put_text",
        "run_demo",
        "save_frontier",
        "write_report",
        "option_alternatives",
        "shortfall_hedge",
        "optimize_hedge",
        *(n for n in HOMES[DEMO / "setup.py"] if not n.startswith("_")),
    }
    assert former <= set(demo.__all__)
    homes = {m.__name__: m for m in (files, hedges, run, setup, text)}
    for name in former:
        value = getattr(demo, name)
        home = next(m for m in homes.values() if name in m.__all__)
        assert value is getattr(home, name), name
    assert DemoResult is run.DemoResult
    assert format_demo is text.format_demo
    assert run_demo is run.run_demo


@pytest.mark.parametrize(
    "module",
    ["optihedge.optimize.assemble", "optihedge.optimize.variance", "optihedge.optimize.costs"],
)
def test_a_new_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    # the order that would break an eager re-export at the end of the old module
    code = (
        f"import {module} as m\n"
        "from optihedge.optimize.result import HedgeResult\n"
        "from optihedge.optimize.objectives import Variance, TradingCost\n"
        "print(m.__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == module


#: ``pickle.dumps(Variance(2.0, approximation="delta_gamma") + RobustVariance(0.5) +
#: 0.25 * TradingCost() + CarryCost(3.0), protocol=4)`` written by the code before the
#: split (commit 469f5d4): every class named as ``optihedge.optimize.objectives``
OLD_TERMS_PICKLE = (
    b"\x80\x04\x95\x06\x01\x00\x00\x00\x00\x00\x00\x8c\x1doptihedge.optimize.objectives\x94"
    b"\x8c\x0cSumObjective\x94\x93\x94)\x81\x94}\x94(\x8c\x06weight\x94G?\xf0\x00\x00\x00"
    b"\x00\x00\x00\x8c\x06_terms\x94]\x94(h\x00\x8c\x08Variance\x94\x93\x94)\x81\x94}\x94("
    b"h\x05G@\x00\x00\x00\x00\x00\x00\x00\x8c\rapproximation\x94\x8c\x0bdelta_gamma\x94ubh"
    b"\x00\x8c\x0eRobustVariance\x94\x93\x94)\x81\x94}\x94h\x05G?\xe0\x00\x00\x00\x00\x00"
    b"\x00sbh\x00\x8c\x0bTradingCost\x94\x93\x94)\x81\x94}\x94h\x05G?\xd0\x00\x00\x00\x00"
    b"\x00\x00sbh\x00\x8c\tCarryCost\x94\x93\x94)\x81\x94}\x94h\x05G@\x08\x00\x00\x00\x00"
    b"\x00\x00sbeub."
)
#: ``optihedge.runs.fingerprint.fingerprint`` of the same terms, by the code before the
#: split: a stored sweep run of a problem with these terms is found again
OLD_TERMS_FINGERPRINT = "49af8d77f814960cb9574b0e534221b426a5887fd2bf0d83f3d0d1bb6ec73865"


def _terms() -> oh.Objective:
    return (
        oh.Variance(2.0, approximation="delta_gamma")
        + oh.RobustVariance(0.5)
        + 0.25 * oh.TradingCost()
        + oh.CarryCost(3.0)
    )


def test_a_pickle_of_terms_written_before_the_split_loads() -> None:
    from optihedge.optimize import costs, variance

    old = pickle.loads(OLD_TERMS_PICKLE)
    assert repr(old) == repr(_terms())
    kinds = [type(t) for t in old.terms()]
    assert kinds == [variance.Variance, variance.RobustVariance, costs.TradingCost, costs.CarryCost]
    assert [t.weight for t in old.terms()] == [2.0, 0.5, 0.25, 3.0]
    assert old.terms()[0].approximation == "delta_gamma"


def test_terms_pickle_round_trip_and_fingerprint_unchanged() -> None:
    from optihedge.runs.fingerprint import fingerprint

    back = pickle.loads(pickle.dumps(_terms()))
    assert repr(back) == repr(_terms())
    assert fingerprint(_terms()).hex() == OLD_TERMS_FINGERPRINT


def test_a_result_pickles_under_its_unchanged_module_path() -> None:
    scenarios, book, instruments = fat_tailed(3, 200, 2)
    res = oh.HedgeProblem(
        book, instruments, objective=oh.Variance(), scenarios=scenarios, market="U0"
    ).solve()
    assert (type(res).__module__, type(res).__qualname__) == (
        "optihedge.optimize.result",
        "HedgeResult",
    )
    data = pickle.dumps(res)
    assert b"optihedge.optimize.result" in data
    back = pickle.loads(data)
    assert type(back) is type(res)
    np.testing.assert_array_equal(back.weights.to_numpy(), res.weights.to_numpy())
    assert back.risk.equals(res.risk)
    assert back.allocation.equals(res.allocation)

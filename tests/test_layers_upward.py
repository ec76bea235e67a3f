"""No layer reaches upward, whichever way the import is spelled (issue 19 item 7).

``tests/test_package.py`` checks absolute ``import`` statements; here every spelling is
read from the source: absolute and relative imports (at module level, inside functions
and methods, under ``TYPE_CHECKING``), ``importlib.import_module`` / ``__import__``
calls, and any string constant (docstrings aside) that is exactly a dotted first-party
module name, such as a table of names to import later. A module may reach only its own
layer and the layers below it:

``factor_models`` < ``constraints`` < optihedge's foundation (``errors``, ``calendar``,
``_validation`` ...) < ``measures`` < ``pricing`` < ``scenarios`` < ``instruments`` <
``optimize`` < ``analysis`` < ``sweeps`` < the product (``optihedge`` itself, ``demo``,
``cli`` and the public re-export modules ``risk``, ``sizing``, ``diagnostics``,
``attribution``).

The result's ``explain`` and ``report`` reach the analysis layer through
``optihedge.optimize.hooks``, filled in by the top-level package.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_package import LAYERS  # one layer order: the import test's

import optihedge as oh
from optihedge.errors import SpecificationError
from optihedge.optimize import hooks

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("optihedge", "factor_models", "constraints")
FOUNDATION = {
    "calendar",
    "errors",
    "_validation",
    "_plausible",
    "_typing",
    "_files",
    "datasets",
    "portfolio",
}
PRODUCT = 100
_MODULE = re.compile(r"^(optihedge|factor_models|constraints)(\.[A-Za-z_]\w*)*$")


def rank(module: str) -> int:
    """The layer of a dotted first-party module name (higher = later)."""
    parts = module.split(".")
    if parts[0] == "factor_models":
        return -2
    if parts[0] == "constraints":
        return -1
    if len(parts) == 1:
        return PRODUCT  # the top-level package: the product
    if parts[1] in FOUNDATION:
        return 0
    if parts[1] in LAYERS:
        return 1 + LAYERS.index(parts[1])
    return PRODUCT


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(dotted: str) -> bool:
    base = ROOT / Path(*dotted.split("."))
    return (base / "__init__.py").exists() or base.with_suffix(".py").exists()


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _docstrings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _is_import_call(node: ast.Call) -> bool:
    f = node.func
    return (isinstance(f, ast.Attribute) and f.attr == "import_module") or (
        isinstance(f, ast.Name) and f.id in {"import_module", "__import__"}
    )


def references(module: str, source: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, dotted target) of every first-party module ``module``'s source reaches.

    A dynamic import whose target cannot be read is yielded as ``"<dynamic>"``, except
    ``import_module(f"{__name__}.{name}")`` (a package's own submodule) and a lookup in
    a module-level table whose string values are read as constants.
    """
    tree = ast.parse(source)
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield node.lineno, full if _is_module(full) else base
        elif isinstance(node, ast.Call) and _is_import_call(node) and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                continue  # read below, with every string constant
            own = (
                isinstance(arg, ast.JoinedStr)
                and isinstance(arg.values[0], ast.FormattedValue)
                and isinstance(arg.values[0].value, ast.Name)
                and arg.values[0].value.id == "__name__"
            )
            table = isinstance(arg, ast.Subscript) and isinstance(arg.value, ast.Name)
            if not (own or table):
                yield node.lineno, "<dynamic>"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in skip and _MODULE.match(node.value):
                yield node.lineno, node.value


def upward(module: str, source: str, is_package: bool = False) -> list[str]:
    """Every reference of ``module`` to a later layer, as ``"line: target"``."""
    own = rank(module)
    return [
        f"{line}: {target}"
        for line, target in references(module, source, is_package)
        if target == "<dynamic>" or (target.split(".")[0] in PACKAGES and rank(target) > own)
    ]


def _sources() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield _module_name(path), path


def test_no_module_reaches_a_later_layer() -> None:
    bad = [
        f"  {module}:{hit}"
        for module, path in _sources()
        if rank(module) < PRODUCT
        for hit in upward(module, path.read_text(), path.name == "__init__.py")
    ]
    assert not bad, "modules that reach a later layer:\n" + "\n".join(bad)


def test_the_result_module_imports_nothing_above_optimize() -> None:
    source = (ROOT / "optihedge" / "optimize" / "result.py").read_text()
    assert "importlib" not in source
    assert "import_module" not in source
    assert upward("optihedge.optimize.result", source) == []


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("import importlib\nx = importlib.import_module('optihedge.analysis.report')", 1),
        ("from importlib import import_module\nimport_module('optihedge.sweeps')", 1),
        ("__import__('optihedge.analysis')", 1),
        ("def f():\n    from optihedge.analysis import report\n    return report", 1),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import optihedge.sweeps", 1),
        ("from ..analysis.report import write_report", 1),  # relative
        ("from .. import analysis", 1),
        ("import optihedge", 1),  # the top-level package is the product
        ("_TABLE = {'x': 'optihedge.analysis.explain'}", 1),
        ("import importlib\ndef f(n):\n    return importlib.import_module(n)", 1),
        ('"""Mentions optihedge.analysis.report in a docstring."""', 0),
        ("from optihedge.measures.risk import value_at_risk", 0),
        ("from . import hooks\nimport constraints\nimport factor_models.errors", 0),
        ("msg = 'see optihedge.analysis.report for the page'", 0),  # prose, not a name
    ],
)
def test_the_checker_sees_every_spelling(source: str, found: int) -> None:
    # as if written in optihedge/optimize/result.py
    assert len(upward("optihedge.optimize.result", source)) == found, source


def test_lower_packages_reach_no_optihedge() -> None:
    assert upward("constraints._probe", "x = 'optihedge.errors'") == ["1: optihedge.errors"]
    assert upward("factor_models._probe", "import constraints") == ["1: constraints"]


def test_the_analysis_functions_are_the_results_methods(tmp_path: Path) -> None:
    # the top-level names are the new homes; the methods delegate to them
    from optihedge.analysis.explain import Explanation, explain

    assert oh.explain is explain
    assert oh.Explanation is Explanation
    assert set(hooks.HOOKS) >= {"explain", "report"}
    result = _solved()
    assert isinstance(result.explain(), Explanation)
    assert result.explain(0.25) == oh.explain(result, 0.25)
    page = oh.report(result, tmp_path / "a.html").read_text()
    assert result.explain().sentence.split(";")[0] in page
    assert result.report(tmp_path / "b.html").read_text() == page


def test_a_hook_with_nothing_registered_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hooks, "HOOKS", {})
    result = _solved()
    with pytest.raises(SpecificationError, match=r"Nothing is registered under the hook 'explain'"):
        result.explain()
    with pytest.raises(SpecificationError, match=r"optihedge\.report\(result, \.\.\.\)"):
        result.report("never.html")


def test_register_refuses_what_it_cannot_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hooks, "HOOKS", {})
    with pytest.raises(SpecificationError, match="The hook 'explain' must be callable. Got int"):
        hooks.register("explain", 3)  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="The hook 'name' must be non-empty text"):
        hooks.register("", print)
    hooks.register("explain", lambda result, tolerance: ("called", tolerance))
    assert _solved().explain(0.5) == ("called", 0.5)


_CACHE: dict[str, oh.HedgeResult] = {}


def _solved() -> oh.HedgeResult:
    """A small solved hedge: one holding, one future on the market (cached)."""
    if "result" not in _CACHE:
        import numpy as np
        import pandas as pd

        rng = np.random.default_rng(1)
        idx = rng.normal(0, 0.01, 300)
        daily = pd.DataFrame(
            {"A": idx + rng.normal(0, 0.01, 300), "IDX": idx},
            index=pd.bdate_range("2020-01-01", periods=300),
        )
        model = oh.FactorModel(windows=(250,)).fit(daily, daily[["IDX"]]).risk_model_
        _CACHE["result"] = oh.HedgeProblem(
            oh.Portfolio.from_holdings({"A": 1e6}),
            [oh.Future("F", underlying="IDX", price=100.0, multiplier=50.0)],
            objective=oh.Variance(),
            risk_model=model,
            horizon=10,
            market="IDX",
        ).solve()
    return _CACHE["result"]


def test_scenarios_keep_one_concept_per_file() -> None:
    # the paths and the input checks live in their own modules; the value keeps the
    # old names importable (pickles that name optihedge.scenarios._scenarios load)
    import pickle

    from optihedge import scenarios
    from optihedge.scenarios import _checks, _paths, _scenarios

    assert scenarios.Scenarios is _scenarios.Scenarios
    for name in ("_Paths", "_IndexedPaths", "_SimulatedPaths", "_EventPaths", "_log_growth"):
        assert getattr(_paths, name).__module__ == "optihedge.scenarios._paths"
    for name in ("_check_daily", "_check_events", "_check_horizon"):
        assert getattr(_checks, name).__module__ == "optihedge.scenarios._checks"
    assert vars(_scenarios)["_IndexedPaths"] is _paths._IndexedPaths
    old = pickle.dumps(_paths._Paths(), protocol=0).replace(  # text: names unprefixed
        b"optihedge.scenarios._paths", b"optihedge.scenarios._scenarios"
    )
    assert b"optihedge.scenarios._scenarios" in old
    assert type(pickle.loads(old)) is _paths._Paths
    text = (ROOT / "optihedge" / "scenarios" / "_scenarios.py").read_text()
    assert "class _Paths" not in text
    assert "def _check_daily" not in text

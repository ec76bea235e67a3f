"""Package-level contracts: light import, one-way layers, demo and command line."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import optihedge as oh
from optihedge.demo import DemoResult, format_demo, run_demo

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "first_use",
    ["pass", "optihedge.futures_contracts; optihedge.risk; optihedge.pricing; optihedge.errors"],
)
def test_import_is_light(first_use: str) -> None:
    # importing optihedge, and using its sizing, risk and pricing functions, loads none
    # of the heavy libraries
    code = (
        f"import sys, optihedge; {first_use}; heavy = [m for m in ('statsmodels', 'cvxpy', "
        "'sklearn', 'matplotlib', 'duckdb') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bare_import_loads_no_numerical_library() -> None:
    # `import optihedge` alone (a command line's start, a script's first line) loads
    # neither numpy nor pandas: the hook registration must not pull in the errors module
    code = (
        "import sys, optihedge; print([m for m in ('numpy', 'pandas', 'scipy') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module or "")
    return names


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("factor_models", {"optihedge", "constraints", "cvxpy"}),
        ("constraints", {"optihedge", "factor_models", "statsmodels", "sklearn"}),
    ],
)
def test_layers_point_down(package: str, forbidden: set[str]) -> None:
    # the allowed edges between the two lower packages: the shared exception families and
    # the one scalar checker
    allowed = {"factor_models.errors", "factor_models.validation"}
    for path in (ROOT / package).rglob("*.py"):
        for name in _imports(path):
            if name in allowed:
                continue
            assert name.split(".")[0] not in forbidden, f"{path} imports {name}"


#: optihedge's subpackages in layer order: each may import only those before it
LAYERS = [
    "measures",
    "pricing",
    "scenarios",
    "instruments",
    "optimize",
    "analysis",
    "runs",
    "sweeps",
    "backtests",
]
#: foundation modules any layer may use
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


@pytest.mark.parametrize("layer", LAYERS)
def test_subpackages_import_one_way(layer: str) -> None:
    later = set(LAYERS[LAYERS.index(layer) + 1 :]) | {"demo", "cli"}
    for path in (ROOT / "optihedge" / layer).rglob("*.py"):
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] != "optihedge" or len(parts) < 2:
                continue
            assert parts[1] not in later, f"{path} imports {name}, a later layer"
            assert parts[1] in FOUNDATION | set(LAYERS), f"{path} imports {name}"


def test_foundation_imports_no_layer() -> None:
    for module in FOUNDATION - {"datasets"}:
        for name in _imports(ROOT / "optihedge" / f"{module}.py"):
            parts = name.split(".")
            assert not (parts[0] == "optihedge" and parts[1:2] and parts[1] in LAYERS), (
                f"{module} imports {name}"
            )


def test_lazy_attributes_and_dir() -> None:
    assert callable(oh.futures_contracts)
    assert oh.risk.value_at_risk is not None
    assert "pricing" in dir(oh)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = oh.nope  # type: ignore[attr-defined]


def test_errors_reexported_in_builtin_families() -> None:
    from optihedge import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        family = UserWarning if name.endswith("Warning") else ValueError | RuntimeError
        assert issubclass(cls, family), name


@pytest.fixture(scope="module")
def demo() -> DemoResult:
    return run_demo(value=1_000_000.0)


def test_demo_figures_are_consistent(demo: DemoResult) -> None:
    result = demo
    assert list(result.betas.index) == ["63d", "126d", "252d", "504d"]
    assert ((result.betas["beta"] > 0.5) & (result.betas["beta"] < 1.5)).all()
    assert (result.hedges["contracts"] <= 0).all()
    assert result.hedges.loc["100%", "notional"] == pytest.approx(1e6 * result.sizing_beta)
    tail = result.tail_risk
    assert (tail.loc["50% beta hedge"] < tail.loc["unhedged"]).all()
    assert (tail["ES 95%"] >= tail["VaR 95%"]).all()
    assert 0 < result.put["premium_pct"] < 0.05
    assert -1 < result.put["delta"] < 0
    opt = result.optimized
    assert opt.risk.loc["after", "volatility"] < opt.risk.loc["before", "volatility"]
    assert opt.risk.loc["after", "beta"] >= 0.25 - 1e-6
    assert opt.allocation.loc["ESH3", "units"] == round(opt.allocation.loc["ESH3", "units"])
    assert (opt.constraints["slack"] >= -1e-7).all()
    comp = result.comparison
    es = result.shortfall
    # the ES hedge has the lowest ES on its own scenarios, the variance hedge the lowest
    # volatility (both under the same limits)
    assert comp.loc["expected-shortfall hedge", "ES 95%"] <= comp["ES 95%"].min() + 1e-9
    assert comp.loc["minimum-variance hedge", "volatility"] <= comp["volatility"].min() + 1e-9
    assert es.risk.loc["after", "scenario_es"] == pytest.approx(
        comp.loc["expected-shortfall hedge", "ES 95%"], rel=1e-9
    )
    assert es.allocation.loc["SH", "weight"] >= 0
    text = format_demo(result)
    assert "21-day historical risk" in text
    assert "E-mini" in text
    assert "Optimised hedge" in text
    assert "Expected-shortfall hedge" in text


def test_demo_text_names_what_it_shows(demo: DemoResult) -> None:
    text = format_demo(demo)
    # "ES" would be ambiguous beside expected shortfall: the future has its contract code
    assert "\nES " not in text
    assert "ESH3" in text
    # every limit in a table appears in the header that introduces it
    header = next(line for line in text.splitlines() if line.startswith("Optimised hedge"))
    for label in demo.optimized.constraints.index:
        key = label.split("[")[0]
        assert key.split(".")[0] in header, label
    # whole contracts and shares, and money with its currency
    assert "contracts/shares" in text
    assert "notional (USD)" in text
    assert "2 SPX contracts" in text
    assert "Different windows, not an error" in text
    # the option alternatives: cost against protection in one table
    assert list(demo.protection.index) == [
        "unhedged", "futures, inverse ETF, sales", "+ protective put", "+ collar",
    ]  # fmt: skip
    assert demo.protection.loc["+ protective put", "premium (USD)"] > 0
    put = demo.option_hedges["+ protective put"]
    assert put.allocation["premium"].sum() <= 0.01 * 1e6 * (1 + 1e-6)
    # the linear hedge is feasible with an option on offer (premium 0, no carry cap):
    # the offer can only lower the objective (expected shortfall plus trading cost)
    for offer in ("+ protective put", "+ collar"):
        assert demo.option_hedges[offer].objective_value <= demo.shortfall.objective_value + 1e-9


def test_command_line_demo(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    out = subprocess.run(
        [sys.executable, "-m", "optihedge", "demo", "--value", "2000000", "--report", str(report)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert "USD 2,000,000" in out.stdout
    assert "The put that insures it" in out.stdout
    assert "Cost against protection" in out.stdout
    assert f"The HTML report of the expected-shortfall hedge is at {report}" in out.stdout
    page = report.read_text()
    assert 'id="allocation"' in page
    frontier = tmp_path / "report-frontier.png"
    assert f"is at {frontier}" in out.stdout
    assert frontier.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Sweep (20 points" in out.stdout
    assert page.count("data:image/png;base64,") == 4


def test_command_line_rejects_unknown_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "optihedge", "frobnicate"], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 2
    assert "invalid choice" in out.stderr


def test_the_repository_root_is_not_a_package() -> None:
    # a clone lands in a folder named 'optihedge': an __init__.py at its root made pytest
    # import the root as a package named 'optihedge', putting the clone's parent first on
    # sys.path, and worker processes that inherit it then imported the folder, not the package
    assert not (ROOT / "__init__.py").exists()
    assert (ROOT / "optihedge" / "__init__.py").exists()


def test_constraints_lazy_names_resolve_to_their_modules_objects() -> None:
    # the package's __getattr__ called directly: a name already imported elsewhere never
    # reaches it through attribute access
    import importlib

    import constraints

    lazy = constraints._LAZY
    assert lazy
    for name, module in lazy.items():
        assert constraints.__getattr__(name) is getattr(importlib.import_module(module), name)
        assert vars(constraints)[name] is getattr(importlib.import_module(module), name)
    with pytest.raises(AttributeError, match="module 'constraints' has no attribute 'Nope'"):
        constraints.__getattr__("Nope")

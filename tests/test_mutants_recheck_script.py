"""scripts/mutants_recheck.py: where a re-checked kill is recorded, and what it leaves alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cases import load_script

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "mutants_recheck.py"


@pytest.fixture(scope="module")
def recheck() -> Any:
    return load_script("mutants_recheck", _PATH)


def _meta(path: Path, codes: dict[str, int | None]) -> dict[str, Any]:
    data = {
        "exit_code_by_key": codes,
        "hash_by_function_name": {"x": "abc"},
        "type_check_error_by_key": {},
        "durations_by_key": {"a": 1.5},
        "estimated_durations_by_key": {"a": 2.0},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=4))
    return data


def test_a_kill_is_written_as_mutmut_writes_it_and_nothing_else_moves(
    recheck: Any, tmp_path: Path
) -> None:
    method = "pkg.mod.xǁCǁf__mutmut_3"
    function = "pkg.mod.x_g__mutmut_1"
    other = "pkg.mod.x_g__mutmut_2"
    before = _meta(tmp_path / "pkg" / "mod.py.meta", {method: 0, function: None, other: 0})
    assert recheck.record_kill(method, tmp_path)
    assert recheck.record_kill(function, tmp_path)
    text = (tmp_path / "pkg" / "mod.py.meta").read_text()
    after = json.loads(text)
    assert after["exit_code_by_key"] == {method: 1, function: 1, other: 0}
    assert {k: v for k, v in after.items() if k != "exit_code_by_key"} == {
        k: v for k, v in before.items() if k != "exit_code_by_key"
    }
    assert text == json.dumps(after, indent=4)  # mutmut's own layout


def test_a_package_module_and_unknown_mutants(recheck: Any, tmp_path: Path) -> None:
    name = "pkg.x_h__mutmut_7"
    _meta(tmp_path / "pkg" / "__init__.py.meta", {name: 0})
    assert recheck.record_kill(name, tmp_path)
    assert json.loads((tmp_path / "pkg" / "__init__.py.meta").read_text())["exit_code_by_key"] == {
        name: 1
    }
    # a mutant no record lists, or a module with no record: nothing written
    untouched = (tmp_path / "pkg" / "__init__.py.meta").read_text()
    assert not recheck.record_kill("pkg.x_h__mutmut_8", tmp_path)
    assert not recheck.record_kill("other.x_h__mutmut_1", tmp_path)
    assert (tmp_path / "pkg" / "__init__.py.meta").read_text() == untouched
    assert not (tmp_path / "other.py.meta").exists()


@pytest.mark.parametrize(
    ("name", "where"),
    [
        (
            "optihedge.measures.risk.x_tail_rows__mutmut_114",
            ("optihedge.measures.risk", None, "tail_rows"),
        ),
        (
            "constraints.bounds.xǁWholeContractsǁ_build__mutmut_41",
            ("constraints.bounds", "WholeContracts", "_build"),
        ),
        (
            "factor_models.regression.x__check_design__mutmut_9",
            ("factor_models.regression", None, "_check_design"),
        ),
    ],
)
def test_a_mangled_name_gives_its_module_class_and_function(
    recheck: Any, name: str, where: tuple[str, str | None, str]
) -> None:
    assert recheck._function(name) == where


@pytest.mark.parametrize(
    ("code", "stdout", "verdict"),
    [
        (
            1,
            "FAILED tests/test_a.py::test_x - AssertionError\n1 failed",
            ("killed", "tests/test_a.py::test_x"),
        ),
        (
            1,
            "ERROR tests/test_a.py::test_x - EstimationDataError\n2 passed, 1 error",
            ("killed", "tests/test_a.py::test_x"),
        ),  # its fixture raised under the mutant
        (0, "3 passed", ("survived", "")),
        # pytest could not run the tests: nothing is said about the mutant
        (1, "1 failed", ("error", "pytest exit code 1")),  # no failing test named
        (2, "ERROR collecting tests/test_a.py", ("error", "pytest exit code 2")),
        (1, "ERROR tests/test_a.py\n1 error", ("error", "pytest exit code 1")),  # no test id
        (
            4,
            "ERROR: file or directory not found: tests/test_typo.py",
            ("error", "pytest exit code 4"),
        ),
        (5, "no tests ran", ("error", "pytest exit code 5")),
    ],
)
def test_only_a_named_failing_test_is_a_kill(
    recheck: Any, code: int, stdout: str, verdict: tuple[str, str]
) -> None:
    assert recheck.decide(code, stdout) == verdict


def test_nothing_is_judged_unless_the_tests_pass_unmutated(
    recheck: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A setup error of the tests themselves (a missing fixture) would read as a kill of
    every mutant: the clean run refuses before any mutant is tried."""
    (tmp_path / "test_own_error.py").write_text("def test_a(no_such_fixture):\n    pass\n")
    names = tmp_path / "names.txt"
    names.write_text("pkg.mod.x_f__mutmut_1\n")
    monkeypatch.setattr(
        "sys.argv",
        ["mutants_recheck.py", str(names), "test_own_error.py", "--tree", str(tmp_path)],
    )
    assert recheck.main() == 2
    out = capsys.readouterr()
    assert out.out == ""  # no mutant judged
    assert out.err.startswith(
        f"The tests fail on the unmutated tree {tmp_path} (pytest exit code 1)"
    )


def test_after_a_clean_run_each_mutant_is_judged(
    recheck: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The other side of the clean run: tests that pass unmutated go on to judge each
    mutant (here one that breaks the function the test checks), and the tree is restored."""
    (tmp_path / "pkg").mkdir()
    source = "def f():\n    return 1\n"
    (tmp_path / "pkg" / "mod.py").write_text(source)
    (tmp_path / "test_f.py").write_text(
        "from pkg.mod import f\n\n\ndef test_f():\n    assert f() == 1\n"
    )
    names = tmp_path / "names.txt"
    names.write_text("pkg.mod.x_f__mutmut_1\n")
    diff = (
        "--- pkg/mod.py\n+++ pkg/mod.py\n@@ -1,2 +1,2 @@\n def f():\n-    return 1\n+    return 2\n"
    )
    monkeypatch.setattr(recheck, "_show", lambda name: diff)
    monkeypatch.setattr(
        "sys.argv", ["mutants_recheck.py", str(names), "test_f.py", "--tree", str(tmp_path)]
    )
    assert recheck.main() == 0
    assert capsys.readouterr().out == "pkg.mod.x_f__mutmut_1: killed by test_f.py::test_f\n"
    assert (tmp_path / "pkg" / "mod.py").read_text() == source

"""scripts/mutants_ledger.py: which mutmut verdicts it carries to the next machine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cases import load_script

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "mutants_ledger.py"
KEY = "optihedge.m.x_f__mutmut_{}"


def _nothing_aside(root: Path) -> set[str]:
    """No message-only survivor (the report's own finder needs mutmut's mutated files)."""
    return set()


@pytest.fixture(scope="module")
def ledger() -> Any:
    return load_script("mutants_ledger", _PATH)


def _project(
    root: Path, *, constant: float = 10.0, test_text: str = "def test(): pass\n", k: str = "x"
) -> None:
    (root / "tests").mkdir(parents=True, exist_ok=True)
    (root / "tests" / "test_a.py").write_text(test_text)
    (root / "optihedge").mkdir(exist_ok=True)
    (root / "optihedge" / "m.py").write_text("def f():\n    return 1\n")
    (root / "pyproject.toml").write_text(
        '[tool.mutmut]\nsource_paths = ["optihedge"]\ntimeout_multiplier = 3.0\n'
        f'timeout_constant = {constant}\npytest_add_cli_args = ["-k", "{k}"]\n'
    )


def _meta(mutants: Path, codes: dict[int, int | None]) -> Path:
    path = mutants / "optihedge" / "m.py.meta"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "exit_code_by_key": {KEY.format(i): c for i, c in codes.items()},
                "hash_by_function_name": {"x_f": "abc123"},
                "type_check_error_by_key": {},
                "durations_by_key": {},
                "estimated_durations_by_key": {},
            }
        )
    )
    return path


def _codes(path: Path) -> dict[int, int | None]:
    meta = json.loads(path.read_text())
    return {int(k.rsplit("_", 1)[1]): v for k, v in meta["exit_code_by_key"].items()}


# killed, survived, no tests, timeout, SIGKILL after the CPU limit, interrupted, unchecked
CODES = {1: 1, 2: 0, 3: 33, 4: -24, 5: -9, 6: 2, 7: None}


def _round_trip(ledger: Any, tmp_path: Path, **change: Any) -> dict[int, int | None]:
    """A run started by restore, saved, then restored on a new machine after ``change``."""
    root, mutants, book = tmp_path / "repo", tmp_path / "repo" / "mutants", tmp_path / "l.json"
    _project(root)
    ledger.restore(book, mutants, root)  # no ledger yet: stamps the run
    _meta(mutants, CODES)
    counts = ledger.save(book, mutants, root, _nothing_aside)
    assert counts == {"1": 1, "0": 1, "33": 1, "-24": 1, "-9": 1, "2": 1}
    (mutants / "optihedge" / "m.py.meta").unlink()
    (mutants / ledger.STAMP).unlink()
    forget = change.pop("forget_kills", False)
    keep = change.pop("keep_survivors", False)
    _project(root, **change)
    ledger.restore(book, mutants, root, forget_kills=forget, keep_survivors=keep)
    meta = json.loads((mutants / "optihedge" / "m.py.meta").read_text())
    assert meta["hash_by_function_name"] == {"x_f": "abc123"}
    assert set(meta) == {
        "exit_code_by_key",
        "hash_by_function_name",
        "type_check_error_by_key",
        "durations_by_key",
        "estimated_durations_by_key",
    }
    return _codes(mutants / "optihedge" / "m.py.meta")


def test_unchanged_project_keeps_every_verdict_but_an_interrupted_check(
    ledger: Any, tmp_path: Path
) -> None:
    # the unchecked mutant is not in the ledger at all: mutmut adds it back as unchecked;
    # "no tests" is tested again: a new machine collects which tests reach what anew
    got = _round_trip(ledger, tmp_path)
    assert got == {1: 1, 2: 0, 3: None, 4: -24, 5: -9, 6: None}


def test_changed_tests_retest_survivors_and_keep_kills(ledger: Any, tmp_path: Path) -> None:
    got = _round_trip(ledger, tmp_path, test_text="def test(): assert 1\n")
    assert got == {1: 1, 2: None, 3: None, 4: -24, 5: -9, 6: None}


def test_keep_survivors_carries_them_across_changed_tests_only(ledger: Any, tmp_path: Path) -> None:
    # a survivor stays one (an upper bound); "no tests" is still tested again, as the
    # tests that reach what are collected anew
    got = _round_trip(ledger, tmp_path, test_text="def test(): assert 1\n", keep_survivors=True)
    assert got == {1: 1, 2: 0, 3: None, 4: -24, 5: -9, 6: None}
    # not across a change of the settings that choose the tests
    got = _round_trip(ledger, tmp_path / "k", k="not slow", keep_survivors=True)
    assert got == {1: None, 2: None, 3: None, 4: None, 5: None, 6: None}


def test_changed_timeout_retests_timeouts_only(ledger: Any, tmp_path: Path) -> None:
    got = _round_trip(ledger, tmp_path, constant=1.0)
    assert got == {1: 1, 2: 0, 3: None, 4: None, 5: None, 6: None}


def test_changed_test_selection_retests_everything(ledger: Any, tmp_path: Path) -> None:
    got = _round_trip(ledger, tmp_path, k="not slow")
    assert got == {1: None, 2: None, 3: None, 4: None, 5: None, 6: None}


def test_forget_kills_retests_kills_and_timeouts(ledger: Any, tmp_path: Path) -> None:
    got = _round_trip(ledger, tmp_path, forget_kills=True)
    assert got == {1: None, 2: 0, 3: None, 4: None, 5: None, 6: None}


def test_tests_edited_during_a_run_do_not_pass_for_its_survivors(
    ledger: Any, tmp_path: Path
) -> None:
    root, mutants, book = tmp_path / "repo", tmp_path / "repo" / "mutants", tmp_path / "l.json"
    _project(root)
    ledger.restore(book, mutants, root)
    _meta(mutants, CODES)
    _project(root, test_text="def test(): assert 2\n")  # edited while mutmut ran
    ledger.save(book, mutants, root, _nothing_aside)
    assert json.loads(book.read_text())["tests_hash"] != ledger.suite_hash(root)
    # the next restore, here and elsewhere, tests the survivors again
    ledger.restore(book, mutants, root)
    assert _codes(mutants / "optihedge" / "m.py.meta") == {
        1: 1, 2: None, 3: None, 4: -24, 5: -9, 6: None, 7: None,
    }  # fmt: skip


def test_a_run_not_started_by_restore_retests_survivors_and_timeouts(
    ledger: Any, tmp_path: Path
) -> None:
    root, mutants, book = tmp_path / "repo", tmp_path / "repo" / "mutants", tmp_path / "l.json"
    _project(root)
    _meta(mutants, CODES)  # mutmut run by hand: no stamp
    ledger.save(book, mutants, root, _nothing_aside)
    saved = json.loads(book.read_text())
    assert (saved["tests_hash"], saved["timeout"]) == ("unknown", "unknown")
    (mutants / "optihedge" / "m.py.meta").unlink()
    ledger.restore(book, mutants, root)
    assert _codes(mutants / "optihedge" / "m.py.meta") == {
        1: 1, 2: None, 3: None, 4: None, 5: None, 6: None,
    }  # fmt: skip


def test_restore_keeps_a_later_verdict_this_machine_has(ledger: Any, tmp_path: Path) -> None:
    root, mutants, book = tmp_path / "repo", tmp_path / "repo" / "mutants", tmp_path / "l.json"
    _project(root)
    ledger.restore(book, mutants, root)
    path = _meta(mutants, {1: 1})
    ledger.save(book, mutants, root, _nothing_aside)
    _meta(mutants, {1: 0})  # a later verdict on this machine, same tests
    ledger.restore(book, mutants, root)
    assert _codes(path) == {1: 0}


def test_a_ledger_of_another_format_is_refused(ledger: Any, tmp_path: Path) -> None:
    _project(tmp_path)
    book = tmp_path / "l.json"
    book.write_text(json.dumps({"format": 99}))
    with pytest.raises(SystemExit, match="format 99, expected 2"):
        ledger.restore(book, tmp_path / "mutants", tmp_path)


def test_suite_hash_sees_a_renamed_file(ledger: Any, tmp_path: Path) -> None:
    _project(tmp_path)
    before = ledger.suite_hash(tmp_path)
    (tmp_path / "tests" / "test_a.py").rename(tmp_path / "tests" / "test_b.py")
    assert ledger.suite_hash(tmp_path) != before


def test_restore_removes_stale_tests_and_a_mutated_copy_it_cannot_vouch_for(
    ledger: Any, tmp_path: Path
) -> None:
    root, mutants, book = tmp_path / "repo", tmp_path / "repo" / "mutants", tmp_path / "l.json"
    _project(root)
    ledger.restore(book, mutants, root)
    _meta(mutants, {1: 1})
    ledger.save(book, mutants, root, _nothing_aside)
    (mutants / "optihedge" / "m.py.meta").unlink()
    copy = mutants / "optihedge" / "m.py"
    copy.write_text("# mutated, newer than the source: mutmut would not regenerate it\n")
    stale = mutants / "tests" / "test_gone.py"
    stale.parent.mkdir(parents=True)
    stale.write_text("def test(): assert 0\n")
    ledger.restore(book, mutants, root)
    assert not stale.exists()
    assert not copy.exists()
    assert _codes(mutants / "optihedge" / "m.py.meta") == {1: 1}


def test_a_stamp_that_no_longer_matches_is_saved_as_unknown(ledger: Any, tmp_path: Path) -> None:
    root, mutants, book = tmp_path / "repo", tmp_path / "repo" / "mutants", tmp_path / "l.json"
    _project(root)
    ledger.restore(book, mutants, root)
    _meta(mutants, {1: 1})
    _project(root, constant=20.0)  # the timeout changed after the run started
    ledger.save(book, mutants, root, _nothing_aside)
    saved = json.loads(book.read_text())
    assert saved["timeout"] == "unknown"
    assert saved["tests_hash"] == ledger.suite_hash(root)
    assert saved["config_hash"] == ledger.config_hash(root)


@pytest.mark.parametrize("change", ["none", "source", "tests", "selection", "no stamp"])
def test_which_tests_reach_what_is_collected_again_after_a_change(
    ledger: Any, tmp_path: Path, change: str
) -> None:
    # mutmut collects its stats only for tests it has not seen: a function added to the
    # sources since would count as reached by no test ("no tests", a survivor)
    root, mutants, book = tmp_path / "repo", tmp_path / "repo" / "mutants", tmp_path / "l.json"
    _project(root)
    ledger.restore(book, mutants, root)
    stats = mutants / ledger.STATS
    stats.write_text("{}")
    if change == "source":
        (root / "optihedge" / "m.py").write_text("def f():\n    return 1\n\n\ndef g(): ...\n")
    elif change == "tests":
        _project(root, test_text="def test(): assert 3\n")
    elif change == "selection":
        _project(root, k="not slow")
    elif change == "no stamp":
        (mutants / ledger.STAMP).unlink()
    _meta(mutants, {1: 1, 2: 0, 3: 33})  # a kill, a survivor, "no tests"
    counts = ledger.restore(book, mutants, root)
    assert stats.exists() is (change == "none")
    assert counts.get("stats_removed", 0) == (change != "none")
    # "no tests" under the old record is not carried (mutmut would never re-run it); the
    # survivor is kept when only the sources changed, dropped when the tests, the test
    # selection or the stamp did
    survivor = 0 if change in ("none", "source") else None
    expected = {1: 1, 2: survivor, 3: 33 if change == "none" else None}
    if change == "selection":
        expected[1] = None  # a narrower selection keeps no kill
    assert _codes(mutants / "optihedge" / "m.py.meta") == expected
    stamp = json.loads((mutants / ledger.STAMP).read_text())
    assert stamp["sources_hash"] == ledger.sources_hash(root)


@pytest.mark.parametrize("here", [False, True], ids=["another machine", "this machine"])
def test_message_only_survivors_wait_on_no_test(ledger: Any, tmp_path: Path, here: bool) -> None:
    # 2 a plain survivor, 8 message-only, 9 shown equivalent by the list (tested again: an
    # entry can be wrong), 11 killed (named by the finder: not a survivor)
    root, mutants, book = tmp_path / "repo", tmp_path / "repo" / "mutants", tmp_path / "l.json"
    _project(root)
    ledger.restore(book, mutants, root)
    _meta(mutants, {1: 1, 2: 0, 8: 0, 9: 0, 11: 1})
    (mutants / "optihedge" / "m.py").write_text("def f(): ...\n")  # the mutated copy

    def finder(at: Path) -> set[str]:
        assert at == root
        return {KEY.format(8), KEY.format(11)}

    ledger.save(book, mutants, root, finder)
    saved = json.loads(book.read_text())["files"]["optihedge/m.py"]["set_aside"]
    assert saved == {"message": [KEY.format(8)]}
    if not here:
        (mutants / "optihedge" / "m.py.meta").unlink()
    _project(root, test_text="def test(): assert 5\n")  # the tests changed
    ledger.restore(book, mutants, root)
    got = _codes(mutants / "optihedge" / "m.py.meta")
    assert got == {1: 1, 2: None, 8: 0, 9: None, 11: 1}
    # the settings that choose the tests changed: nothing is carried
    _project(root, test_text="def test(): assert 5\n", k="not slow")
    ledger.restore(book, mutants, root)
    assert set(_codes(mutants / "optihedge" / "m.py.meta").values()) == {None}


def test_a_save_right_after_a_restore_keeps_the_ledger_s_set_aside(
    ledger: Any, tmp_path: Path
) -> None:
    # restore wrote the file's verdicts from the ledger and removed its mutated copy: the
    # finder cannot classify it, so the ledger's own list carries over
    root, mutants, book = tmp_path / "repo", tmp_path / "repo" / "mutants", tmp_path / "l.json"
    _project(root)
    ledger.restore(book, mutants, root)
    _meta(mutants, {1: 1, 8: 0})
    (mutants / "optihedge" / "m.py").write_text("def f(): ...\n")
    ledger.save(book, mutants, root, lambda at: {KEY.format(8)})
    (mutants / "optihedge" / "m.py.meta").unlink()
    ledger.restore(book, mutants, root)
    assert not (mutants / "optihedge" / "m.py").exists()
    ledger.save(book, mutants, root, _nothing_aside)
    saved = json.loads(book.read_text())["files"]["optihedge/m.py"]
    assert saved["set_aside"] == {"message": [KEY.format(8)]}
    assert saved["exit_code_by_key"] == {KEY.format(1): 1, KEY.format(8): 0}

"""Carry `make mutants` verdicts from one machine to the next: a ledger in the repository.

A whole mutation run (about 8,300 mutants) takes longer than one sitting on two cores, and
``mutants/``, where mutmut keeps its verdicts, is not in the repository. The ledger,
``scripts/mutants-ledger.json``, keeps each mutated file's verdicts with the hash of every
mutated function, so a run can go on where the last one stopped, on any machine.

A verdict holds for the tests and the settings it was reached under. ``restore`` writes
them down before a run, in ``mutants/ledger-stamp.json``: the hash of every file under
``tests/`` (the hypothesis profiles live there), of the settings that choose and run the
tests (``[tool.mutmut]`` but its timeouts, ``[tool.pytest.ini_options]``) and the timeout
settings. ``save`` records the stamp's values with the verdicts, each one that differs
from today's as unknown: tests edited during a run do not pass for the ones its survivors
were found under. A run not started by ``restore`` (mutmut by hand) has no stamp: its
survivors and timeouts are recorded as reached under unknown tests and timeouts, and its
kills under today's test selection.

``restore`` (before ``mutmut run``):

* in verdicts this machine already has (``mutants/<file>.meta``), and in the ledger's
  for files it has none of, it forgets what no longer holds:

  - a survivor, or a mutant no test reached, when the tests changed: a new test may
    kill it;
  - a timeout when the timeout settings changed;
  - every verdict when the settings that choose and run the tests changed (a narrower
    ``-k`` could leave a kill standing that its tests no longer make);
  - anything but a kill, a timeout, a survivor or "no tests" (an interrupted check,
    a suspicious one): never carried;

* it removes mutmut's record of which tests reach which function
  (``mutants/mutmut-stats.json``) when the sources, the tests or the settings differ
  from those of the last restore (the stamp also holds the sources' hash): mutmut
  collects it again only for tests it has not seen, so a function added since would
  count as reached by no test; whenever that record is collected anew (removed here,
  or none on this machine), "no tests" verdicts are not carried: mutmut never re-runs a
  mutant that has a verdict;

* it removes ``mutants/tests`` (mutmut copies ``tests/`` over it without deleting, so a
  test file deleted or renamed since would go on deciding mutants) and, for a file whose
  verdicts it writes from the ledger, the mutated copy of that file: mutmut then
  generates the mutants afresh and keeps a verdict only where the function's source hash
  is unchanged (mutmut's own cache rule): a function edited since is tested again.

A kill is otherwise kept while its function is unchanged: that assumes tests are only
added or tightened; after loosening one, run ``restore --forget-kills``.

``restore --keep-survivors`` keeps survivors reached under other tests too (under the
same settings, function unchanged): each stays counted as a survivor, an upper bound, as
a newer test can only kill it, and the run spends its time on mutants never checked
instead of on the survivors' whole test lists. Kills by the newer tests are recorded by
``scripts/mutants_recheck.py --record``, survivor by survivor.

A survivor that differs from the original only in the text of a message, which the report
sets aside whatever its verdict, is kept across test changes too (``save`` lists them per
file under ``set_aside``, ``message``; for a file whose mutated copy is not at hand, as
just after a restore, the ledger's list carries over): testing them again cost every run
the full time of their tests (about 300 such mutants). Survivors listed as equivalent in
``scripts/mutants_equivalent.toml`` are tested again like any survivor: a list entry can
be wrong, and a new test is what shows it.

``save`` (after ``mutmut run``, or at any time during one: mutmut writes a meta after each
verdict) reads ``mutants/**/*.meta`` and rewrites the ledger.

Usage: ``python scripts/mutants_ledger.py restore|save [--ledger PATH] [--forget-kills]
[--keep-survivors]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LEDGER = ROOT / "scripts" / "mutants-ledger.json"
MUTANTS = ROOT / "mutants"
STAMP = "ledger-stamp.json"
STATS = "mutmut-stats.json"
FORMAT = 2
UNKNOWN = "unknown"
# mutmut's exit codes (mutmut.stats.status_by_exit_code); -9 is the SIGKILL that follows
# the CPU limit, a timeout too
KILLED = {1, 3, 37}
TIMEOUT = {36, 24, -24, 152, 255, -9}
LIVED = {0, 5, 33}  # survived, no tests
NO_TESTS = {5, 33}
_TIMEOUT_KEYS = ("timeout_multiplier", "timeout_constant")


def suite_hash(root: Path = ROOT) -> str:
    """Hash every file under tests/ (names and bytes), in a stable order."""
    digest = hashlib.sha256()
    for path in sorted((root / "tests").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:16]


def sources_hash(root: Path = ROOT) -> str:
    """Hash the Python files under ``[tool.mutmut] source_paths`` (names and bytes)."""
    digest = hashlib.sha256()
    for folder in _tool(root).get("mutmut", {}).get("source_paths", []):
        for path in sorted((root / folder).rglob("*.py")):
            if "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(b"\0")
                digest.update(path.read_bytes())
                digest.update(b"\0")
    return digest.hexdigest()[:16]


def _tool(root: Path) -> dict[str, Any]:
    tool: dict[str, Any] = tomllib.loads((root / "pyproject.toml").read_text())["tool"]
    return tool


def config_hash(root: Path = ROOT) -> str:
    """Hash the settings that choose and run a mutant's tests (all but the timeouts)."""
    tool = _tool(root)
    mutmut = {k: v for k, v in tool.get("mutmut", {}).items() if k not in _TIMEOUT_KEYS}
    pytest = tool.get("pytest", {}).get("ini_options", {})
    text = json.dumps([mutmut, pytest], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def timeout_settings(root: Path = ROOT) -> list[float]:
    """Read ``[timeout_multiplier, timeout_constant]`` as mutmut does (its defaults 15, 1)."""
    config = _tool(root)["mutmut"]
    return [
        float(config.get("timeout_multiplier", 15.0)),
        float(config.get("timeout_constant", 1.0)),
    ]


def current(root: Path = ROOT) -> dict[str, Any]:
    """Return the tests and settings that verdicts reached now would hold for."""
    return {
        "tests_hash": suite_hash(root),
        "config_hash": config_hash(root),
        "timeout": timeout_settings(root),
    }


def kept(exit_code: int | None, recorded: dict[str, Any], now: dict[str, Any]) -> bool:
    """Whether a verdict reached under ``recorded`` still stands ``now`` (see the module)."""
    if exit_code is None or recorded.get("config_hash") != now["config_hash"]:
        return False
    if exit_code in KILLED:
        return True
    if exit_code in TIMEOUT:
        return recorded.get("timeout") == now["timeout"]
    if exit_code in LIVED:
        return recorded.get("tests_hash") == now["tests_hash"]
    return False


def _stamp(mutants: Path, root: Path) -> dict[str, Any]:
    """Return what the verdicts in ``mutants/`` were reached under (see the module)."""
    path = mutants / STAMP
    if path.is_file():
        stamp: dict[str, Any] = json.loads(path.read_text())
        return stamp
    # no restore before the run: the settings that choose the tests are today's (a kill
    # stands), the tests and timeouts unknown (survivors and timeouts are tested again)
    return {"tests_hash": UNKNOWN, "config_hash": config_hash(root), "timeout": UNKNOWN}


def _report_message_only(root: Path) -> set[str]:
    """Return the report's message-only survivors (``mutants_report.message_only_survivors``).

    None of them when mutmut is not installed here (its verdicts cannot be read then).
    """
    import importlib.util
    import os

    try:
        import mutmut  # noqa: F401
    except ImportError:
        return set()
    spec = importlib.util.spec_from_file_location(
        "mutants_report", Path(__file__).with_name("mutants_report.py")
    )
    assert spec is not None
    assert spec.loader is not None
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    here = Path.cwd()
    os.chdir(root)  # mutmut reads mutants/ relative to the working directory
    try:
        found: set[str] = report.message_only_survivors()
    finally:
        os.chdir(here)
    return found


def save(
    ledger: Path = LEDGER,
    mutants: Path = MUTANTS,
    root: Path = ROOT,
    message_only: Callable[[Path], set[str]] = _report_message_only,
) -> dict[str, int]:
    """Write the ledger from ``mutants/**/*.meta``; return the count of verdicts by code.

    ``message_only(root)`` names the message-only survivors (see the module).
    """
    files: dict[str, dict[str, object]] = {}
    counts: dict[str, int] = {}
    aside = message_only(root)
    before = json.loads(ledger.read_text()).get("files", {}) if ledger.is_file() else {}
    for meta_path in sorted(mutants.rglob("*.py.meta")):
        meta = json.loads(meta_path.read_text())
        verdicts = {k: v for k, v in sorted(meta["exit_code_by_key"].items()) if v is not None}
        if not verdicts:
            continue
        source = meta_path.relative_to(mutants).as_posix().removesuffix(".meta")
        files[source] = {
            "hash_by_function_name": dict(sorted(meta["hash_by_function_name"].items())),
            "exit_code_by_key": verdicts,
        }
        survivors = {k for k, v in verdicts.items() if v == 0}
        found = aside
        if not (mutants / source).is_file():  # no mutated copy to classify: as last saved
            found = set(before.get(source, {}).get("set_aside", {}).get("message", []))
        if survivors & found:
            files[source]["set_aside"] = {"message": sorted(survivors & found)}
        for code in verdicts.values():
            counts[str(code)] = counts.get(str(code), 0) + 1
    now = current(root)
    local = _stamp(mutants, root)
    stamp = {k: local.get(k) if local.get(k) == v else UNKNOWN for k, v in now.items()}
    data = {"format": FORMAT, **stamp, "files": files}
    ledger.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return counts


def _meta(verdicts: dict[str, int | None], hashes: dict[str, str]) -> str:
    return json.dumps(
        {
            "exit_code_by_key": verdicts,
            "hash_by_function_name": hashes,
            "type_check_error_by_key": {},
            "durations_by_key": {},
            "estimated_durations_by_key": {},
        },
        indent=1,
        ensure_ascii=False,
    )


def restore(
    ledger: Path = LEDGER,
    mutants: Path = MUTANTS,
    root: Path = ROOT,
    *,
    forget_kills: bool = False,
    keep_survivors: bool = False,
) -> dict[str, int]:
    """Forget what no longer holds here and write the ledger's other files; stamp the run."""
    now = current(root)
    counts = {"kept": 0, "dropped": 0}

    local = _stamp(mutants, root)
    # which tests reach which function (mutmut's stats) is collected again when the
    # sources or the tests differ from those of the last restore, or when this machine
    # has none: mutmut collects it only for tests it has not seen, so a function added
    # since would have "no tests"; and a "no tests" verdict reached under the old record
    # is not carried (mutmut never re-runs a mutant that has a verdict)
    sources = sources_hash(root)
    stats = mutants / STATS
    fresh_stats = not stats.exists() or (
        local.get("sources_hash") != sources
        or local.get("tests_hash") != now["tests_hash"]
        or local.get("config_hash") != now["config_hash"]
    )

    # message-only survivors, from the ledger: carried across test changes
    aside: set[str] = set()
    data = json.loads(ledger.read_text()) if ledger.is_file() else {}
    if data and data.get("format") != FORMAT:
        raise SystemExit(f"{ledger}: format {data.get('format')!r}, expected {FORMAT}")
    for entry in data.get("files", {}).values():
        aside |= set(entry.get("set_aside", {}).get("message", []))

    def settle(verdicts: dict[str, Any], recorded: dict[str, Any]) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        for key, code in verdicts.items():
            keep = kept(code, recorded, now) or (
                code == 0
                and (keep_survivors or key in aside)
                and recorded.get("config_hash") == now["config_hash"]
            )
            keep = keep and not (forget_kills and code not in LIVED)
            keep = keep and not (fresh_stats and code in NO_TESTS)
            out[key] = code if keep else None
            if code is not None:
                counts["kept" if keep else "dropped"] += 1
        return out

    for meta_path in sorted(mutants.rglob("*.py.meta")) if mutants.is_dir() else []:
        meta = json.loads(meta_path.read_text())
        meta["exit_code_by_key"] = settle(meta["exit_code_by_key"], local)
        meta_path.write_text(json.dumps(meta, indent=1, ensure_ascii=False))
    shutil.rmtree(mutants / "tests", ignore_errors=True)
    if data:
        for source, entry in data["files"].items():
            meta_path = mutants / f"{source}.meta"
            if meta_path.exists():
                continue
            meta_path.parent.mkdir(parents=True, exist_ok=True)
            (mutants / source).unlink(missing_ok=True)  # regenerated, hashes compared
            verdicts = settle(entry["exit_code_by_key"], data)
            meta_path.write_text(_meta(verdicts, entry["hash_by_function_name"]))
    if stats.exists() and fresh_stats:
        stats.unlink()
        counts["stats_removed"] = 1
    mutants.mkdir(parents=True, exist_ok=True)
    (mutants / STAMP).write_text(json.dumps({**now, "sources_hash": sources}) + "\n")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["restore", "save"])
    parser.add_argument("--ledger", type=Path, default=LEDGER)
    parser.add_argument("--forget-kills", action="store_true")
    parser.add_argument("--keep-survivors", action="store_true")
    args = parser.parse_args(argv)
    if args.action == "save":
        counts = save(args.ledger)
        print(f"{args.ledger}: verdicts by mutmut exit code {dict(sorted(counts.items()))}")
    else:
        counts = restore(
            args.ledger, forget_kills=args.forget_kills, keep_survivors=args.keep_survivors
        )
        print(f"{args.ledger}: {counts['kept']} verdicts kept, {counts['dropped']} to test again")
        if counts.get("stats_removed"):
            print("sources or tests changed: mutmut collects which tests reach what again")
    return 0


if __name__ == "__main__":
    sys.exit(main())

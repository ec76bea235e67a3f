"""Re-check mutmut survivors against named test files, by hand.

mutmut 3 runs, for each mutant, only the tests its coverage pass saw call the mutated
function; that pass can miss callers (a private helper reached through another), so a
mutant a test does kill can be listed as survived. This script applies each named
survivor's changed lines to the source tree itself (the `-` lines of `mutmut show`
replaced by its `+` lines inside the mutated function), runs the given test files, and
restores the file, whatever happens.

Usage (from the repository root, after `make mutants`)::

    python scripts/mutants_recheck.py NAMES_FILE tests/test_a.py tests/test_b.py [--tree DIR]

Prints one line per mutant: ``killed`` (a test failed or errored), ``survived`` (all passed),
``error`` (pytest could not run the tests: a collection or usage error, none collected)
or ``not applied`` (the change could not be located, with why). The tests are first run
once on the unmutated tree, as mutmut's clean run: unless they pass, nothing is judged
(exit code 2), so a setup error of their own is never read as a kill.

``--record`` also writes each kill into mutmut's own record (``mutants/<file>.meta``, exit
code 1, as ``mutmut run`` records a kill), so that ``scripts/mutants_ledger.py save`` and
the report count it. Use it only while no ``mutmut run`` is going (mutmut rewrites those
files from memory) and only with test files of the suite (a kill stands while its test
does). Survivors are never recorded: a survivor is what mutmut itself says.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _show(name: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "show", name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return out.stdout


def _function(name: str) -> tuple[str, str | None, str]:
    """Return (module path, class or None, function) of a mangled mutant name."""
    module, _, rest = name.rpartition(".x")
    rest = rest.rsplit("__mutmut_", 1)[0]
    if rest.startswith("ǁ"):
        _, cls, func = rest.split("ǁ")
        return module, cls, func
    return module, None, rest[1:] if rest.startswith("_") else rest


def _apply(source: str, cls: str | None, func: str, diff: str) -> str:
    minus = [ln[1:] for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    plus = [ln[1:] for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    if not minus:
        raise ValueError("no removed line in the diff")
    start = 0
    if cls is not None:
        match = re.search(rf"^class {re.escape(cls)}\b", source, flags=re.M)
        if match is None:
            raise ValueError(f"class {cls} not found")
        start = match.start()
    match = re.compile(rf"^\s*def {re.escape(func)}\(", flags=re.M).search(source, start)
    if match is None:
        raise ValueError(f"def {func} not found")
    at = source.index("\n".join(minus), match.start())
    return source[:at] + "\n".join(plus) + source[at + len("\n".join(minus)) :]


def decide(returncode: int, stdout: str) -> tuple[str, str]:
    """Return the verdict of one run of the tests and the first failing test's id.

    ``killed`` only when pytest says tests failed (exit code 1) and names one: a test that
    failed (``FAILED``) or whose setup raised (``ERROR`` with a test id, e.g. a fixture
    building a model the mutant refuses), as mutmut counts any failing run; ``survived``
    when every test passed (0); anything else (a collection or usage error, no test
    collected, an interruption) is ``error``: it says nothing about the mutant.
    """
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+::\S+)", stdout, flags=re.M)
    if returncode == 1 and failed:
        return "killed", failed[0]
    if returncode == 0:
        return "survived", ""
    return "error", f"pytest exit code {returncode}"


def record_kill(name: str, mutants: Path) -> bool:
    """Mark mutant ``name`` killed (exit code 1) in ``mutants``; return whether it is known.

    The record is mutmut's ``<file>.meta`` of the mutant's module (JSON, indented by 4 as
    mutmut writes it); its other entries are kept as they are, and a file that does not
    list the mutant stays untouched.
    """
    module, _, _ = _function(name)
    stem = module.replace(".", "/")
    for source in (f"{stem}.py", f"{stem}/__init__.py"):
        meta = mutants / f"{source}.meta"
        if not meta.is_file():
            continue
        data = json.loads(meta.read_text(encoding="utf-8"))
        if name in data["exit_code_by_key"]:
            data["exit_code_by_key"][name] = 1
            meta.write_text(json.dumps(data, indent=4), encoding="utf-8")
            return True
    return False


def run_tests(tree: Path, tests: list[str]) -> subprocess.CompletedProcess[str]:
    """Run the test files in ``tree`` as a re-check does: stop at the first failure."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-n", "0", "-p", "no:cacheprovider", *tests],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def main() -> int:
    """Re-check each named mutant; return 0 (2 if the tests fail without any mutant)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", type=Path, help="file with one mutant name a line")
    parser.add_argument("tests", nargs="+", help="test files to run against each mutant")
    parser.add_argument(
        "--tree",
        type=Path,
        default=ROOT,
        help="checkout to mutate and test in (default: this one; a git worktree keeps "
        "this one free while it runs)",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="write each kill into mutants/<file>.meta (only while no mutmut run is going)",
    )
    args = parser.parse_args()
    tree = args.tree.resolve()
    names = args.names.read_text(encoding="utf-8").split()
    # as mutmut's clean run: a failure or setup error of the unmutated code would read as a
    # kill of every mutant, so nothing is judged unless the tests pass as they stand
    clean = run_tests(tree, args.tests)
    if clean.returncode != 0:
        print(
            f"The tests fail on the unmutated tree {tree} (pytest exit code "
            f"{clean.returncode}); nothing re-checked. Make them pass first.\n"
            + "\n".join(clean.stdout.splitlines()[-15:]),
            file=sys.stderr,
        )
        return 2
    for name in names:
        module, cls, func = _function(name)
        path = tree / (module.replace(".", "/") + ".py")
        if not path.exists():  # a package's own module
            path = tree / module.replace(".", "/") / "__init__.py"
        original = path.read_text(encoding="utf-8")
        try:
            mutated = _apply(original, cls, func, _show(name))
        except ValueError as exc:
            print(f"{name}: not applied ({exc})", flush=True)
            continue
        try:
            path.write_text(mutated, encoding="utf-8")
            run = run_tests(tree, args.tests)
        finally:
            path.write_text(original, encoding="utf-8")
        verdict, failed = decide(run.returncode, run.stdout)
        recorded = ""
        if verdict == "killed" and args.record:
            recorded = (
                " (recorded)" if record_kill(name, ROOT / "mutants") else " (not in mutants/)"
            )
        print(f"{name}: {verdict}{' by ' + failed if failed else ''}{recorded}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

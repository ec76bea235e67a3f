"""Carry `make mutants` verdicts from one machine to the next: a ledger in the repository.

A whole mutation run (about 8,300 mutants) takes longer than one sitting on two cores, and
``mutants/``, where mutmut keeps its verdicts, is not in the repository. The ledger,
``scripts/mutants-ledger.json``, keeps each mutated file's verdicts with the hash of every
mutated function, so a run can go on where the last one stopped, on any machine.

``restore`` (before ``mutmut run``) writes ``mutants/<file>.meta`` from the ledger for
every file that has no meta yet. mutmut then generates the mutants afresh and keeps a
verdict only where the function's source hash is unchanged (mutmut's own cache rule): a
function edited since is tested again. Two more verdicts are dropped on restore:

* a survivor (or a mutant no test reached) when the tests have changed since it was
  recorded (the hash of every file under ``tests/``): a new test may kill it;
* a timeout recorded under other timeout settings than ``[tool.mutmut]``'s now.

A kill is kept while its function is unchanged. That assumes tests are only added or
tightened, never loosened; a change that weakens a test should be followed by
``restore --forget-kills``.

``save`` (after ``mutmut run``, or at any time during one: mutmut writes a meta after each
verdict) reads ``mutants/**/*.meta`` and rewrites the ledger.

Usage: ``python scripts/mutants_ledger.py restore|save [--ledger PATH] [--forget-kills]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEDGER = ROOT / "scripts" / "mutants-ledger.json"
MUTANTS = ROOT / "mutants"
FORMAT = 1
# mutmut's exit codes (mutmut.stats.status_by_exit_code)
KILLED = {1, 3, 37}
TIMEOUT = {36, 24, -24, 152, 255}


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


def timeout_settings(root: Path = ROOT) -> list[float]:
    """Read ``[timeout_multiplier, timeout_constant]`` as mutmut does (its defaults 15, 1)."""
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["mutmut"]
    return [
        float(config.get("timeout_multiplier", 15.0)),
        float(config.get("timeout_constant", 1.0)),
    ]


def kept(
    exit_code: int | None, *, same_tests: bool, same_timeout: bool, forget_kills: bool
) -> bool:
    """Whether a recorded verdict still stands (see the module's text)."""
    if exit_code is None:
        return False
    if exit_code in KILLED:
        return not forget_kills
    if exit_code in TIMEOUT:
        return same_timeout and not forget_kills
    return same_tests


def save(ledger: Path = LEDGER, mutants: Path = MUTANTS, root: Path = ROOT) -> dict[str, int]:
    """Write the ledger from ``mutants/**/*.meta``; return the count of verdicts by code."""
    files: dict[str, dict[str, object]] = {}
    counts: dict[str, int] = {}
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
        for code in verdicts.values():
            counts[str(code)] = counts.get(str(code), 0) + 1
    data = {
        "format": FORMAT,
        "tests_hash": suite_hash(root),
        "timeout": timeout_settings(root),
        "files": files,
    }
    ledger.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return counts


def restore(
    ledger: Path = LEDGER, mutants: Path = MUTANTS, root: Path = ROOT, *, forget_kills: bool = False
) -> dict[str, int]:
    """Write ``mutants/<file>.meta`` for files that have none; return what was kept and dropped."""
    if not ledger.is_file():
        return {"kept": 0, "dropped": 0}
    data = json.loads(ledger.read_text())
    if data.get("format") != FORMAT:
        raise SystemExit(f"{ledger}: format {data.get('format')!r}, expected {FORMAT}")
    same_tests = data["tests_hash"] == suite_hash(root)
    same_timeout = [float(v) for v in data["timeout"]] == timeout_settings(root)
    counts = {"kept": 0, "dropped": 0}
    for source, entry in data["files"].items():
        meta_path = mutants / f"{source}.meta"
        if meta_path.exists():
            continue
        verdicts = {}
        for key, code in entry["exit_code_by_key"].items():
            keep = kept(
                code, same_tests=same_tests, same_timeout=same_timeout, forget_kills=forget_kills
            )
            verdicts[key] = code if keep else None
            counts["kept" if keep else "dropped"] += 1
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        meta_path.write_text(
            json.dumps(
                {
                    "exit_code_by_key": verdicts,
                    "hash_by_function_name": entry["hash_by_function_name"],
                    "type_check_error_by_key": {},
                    "durations_by_key": {},
                    "estimated_durations_by_key": {},
                },
                indent=1,
                ensure_ascii=False,
            )
        )
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["restore", "save"])
    parser.add_argument("--ledger", type=Path, default=LEDGER)
    parser.add_argument("--forget-kills", action="store_true")
    args = parser.parse_args(argv)
    if args.action == "save":
        counts = save(args.ledger)
        print(f"{args.ledger}: verdicts by mutmut exit code {dict(sorted(counts.items()))}")
    else:
        counts = restore(args.ledger, forget_kills=args.forget_kills)
        print(f"{args.ledger}: {counts['kept']} verdicts kept, {counts['dropped']} to re-test")
    return 0


if __name__ == "__main__":
    sys.exit(main())

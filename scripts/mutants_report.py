"""Summarise a `mutmut run` (``make mutants``): counts by module and every survivor.

Run from the repository root after ``mutmut run``. A survivor is set aside as
*equivalent* only when the mutant differs from the original in nothing but the text of
an error or warning message (a string inside a ``raise`` statement or a ``warn(...)``
call, changed or replaced by ``None``): the user sees other words, never another number
or another exception type. Everything else that lived is
listed with its diff, in ``mutants-report.md``, so a reader can check each verdict.

Other survivors shown equivalent by reading them (no input can tell them from the
original: a default passed explicitly, a flag on arrays of equal length...) are listed in
``scripts/mutants_equivalent.toml``, each with its reason and the mutant's changed line; an
entry whose line no longer matches the mutant (the source moved) is ignored and reported
as stale, so the list cannot hide a new survivor. The report prints every such mutant with
its reason and diff.

Survivors that are not equivalent but were left on purpose (a test would have to reach
into a solver's internals, or the difference is below any tolerance a user acts on...)
are listed in the same file as ``[[left]]`` tables (``mutant``, ``line``, ``reason``):
they stay counted as survivors, and the report prints the reason next to the survivor's
diff; a stale ``[[left]]`` entry is reported like a stale equivalent.

Usage: ``python scripts/mutants_report.py [--out mutants-report.md] [--diffs]``.
"""

from __future__ import annotations

import argparse
import ast
import sys
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

LIVED = ("survived", "no tests", "suspicious", "not checked", "skipped")


class _BlankMessages(ast.NodeTransformer):
    """Replace the strings of raise statements and warn calls with one placeholder."""

    def __init__(self) -> None:
        self.depth = 0

    def _blank_inside(self, node: ast.AST) -> ast.AST:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1
        return node

    def visit_Raise(self, node: ast.Raise) -> ast.AST:
        return self._blank_inside(node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        name = getattr(node.func, "attr", None) or getattr(node.func, "id", "")
        if name in {"warn", "_warn"}:
            return self._blank_inside(node)
        self.generic_visit(node)
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        if self.depth:
            return ast.Constant("")
        self.generic_visit(node)
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        # a message's text, or the message dropped (None): what the user reads, not a number
        if self.depth and (isinstance(node.value, str) or node.value is None):
            return ast.Constant("")
        return node


def _normalised(code: str) -> str:
    tree = ast.parse(code)
    return ast.dump(_BlankMessages().visit(tree))


def only_message_differs(original: str, mutant: str) -> bool:
    """Whether two function sources differ only in raise/warn message strings."""
    if original == mutant:
        return True
    try:
        return _normalised(original) == _normalised(mutant)
    except SyntaxError:
        return False


EQUIVALENT_LIST = Path(__file__).with_name("mutants_equivalent.toml")


def shown_equivalent(
    path: Path = EQUIVALENT_LIST, kind: str = "mutant"
) -> dict[str, tuple[str, str]]:
    """Mutant name -> (reason, changed line) from the reviewed list.

    ``kind="mutant"`` reads the survivors shown equivalent, ``kind="left"`` the survivors
    left on purpose, each with its reason.
    """
    if not path.exists():
        return {}
    entries = tomllib.loads(path.read_text())
    return {e["mutant"]: (e["reason"], e["line"].strip()) for e in entries.get(kind, [])}


def left_reasons(path: Path = EQUIVALENT_LIST) -> dict[str, tuple[str, str]]:
    """Mutant name -> (reason, changed line) of the survivors left on purpose."""
    return shown_equivalent(path, kind="left")


def changed_lines(diff: str) -> set[str]:
    """Return the added lines of a unified diff, stripped; for a deletion, the removed ones.

    A mutant that only deletes (an argument dropped from a call: every line it adds, such
    as a re-indented ``)``, is one it removed) is quoted in the list as ``-<the removed
    line>``. Any other mutant also removes the line it changes, so a ``-`` quote never
    matches it.
    """
    added = {
        line[1:].strip()
        for line in diff.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    }
    removed = {
        line[1:].strip()
        for line in diff.splitlines()
        if line.startswith("-") and not line.startswith("---")
    }
    if added <= removed:
        return added | {"-" + line for line in removed - added}
    return added


def verdict(
    key: str,
    diff: str,
    reviewed: dict[str, tuple[str, str]],
    left: dict[str, tuple[str, str]],
) -> tuple[str, str]:
    """Classify one survivor: ``("shown", reason)``, ``("left", reason)`` or ``("lived", "")``.

    A list entry counts only while its quoted line is still one of the mutant's changed
    lines; otherwise the mutant is an unexplained survivor (and the entry is stale).
    """
    added = changed_lines(diff)
    if key in reviewed and reviewed[key][1] in added:
        return "shown", reviewed[key][0]
    if key in left and left[key][1] in added:
        return "left", left[key][0]
    return "lived", ""


def message_only_survivors() -> set[str]:
    """Survivors that differ from the original only in a message's text (set aside).

    Run from the repository root with ``mutants/`` at hand (mutmut reads it there); a file
    whose mutated copy is missing is skipped. Such a verdict waits on no test (the report
    sets the mutant aside whatever a later test did to it), so
    ``scripts/mutants_ledger.py`` carries them across test changes.
    """
    import libcst as cst
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import (
        read_mutant_function,
        read_mutants_module,
        read_original_function,
    )
    from mutmut.utils.file_utils import walk_mutatable_files

    out: set[str] = set()
    for path in sorted(walk_mutatable_files()):
        data = SourceFileMutationData(path=path)
        data.load()
        survivors = [k for k, code in sorted(data.exit_code_by_key.items()) if code == 0]
        if not survivors or not (Path("mutants") / path).is_file():
            continue  # no mutated copy (just restored from the ledger): nothing to read
        module = read_mutants_module(path)
        for key in survivors:
            original = cst.Module([read_original_function(module, key)]).code.strip()
            mutant = cst.Module([read_mutant_function(module, key)]).code.strip()
            if only_message_differs(original, mutant):
                out.add(key)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="mutants-report.md")
    parser.add_argument("--diffs", action="store_true", help="print survivors' diffs too")
    args = parser.parse_args(argv)

    import libcst as cst
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import (
        get_diff_for_mutant,
        read_mutant_function,
        read_mutants_module,
        read_original_function,
    )
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.file_utils import walk_mutatable_files

    counts: dict[str, Counter[str]] = defaultdict(Counter)
    lived: list[tuple[str, str, str, str]] = []
    equivalent: list[tuple[str, str]] = []
    reviewed = shown_equivalent()
    left = left_reasons()
    matched_left: set[str] = set()
    shown: list[tuple[str, str, str]] = []
    matched: set[str] = set()
    for path in sorted(walk_mutatable_files()):
        data = SourceFileMutationData(path=path)
        data.load()
        if not data.exit_code_by_key:
            continue
        module = read_mutants_module(path)
        for key, code in sorted(data.exit_code_by_key.items()):
            status = status_by_exit_code[code]
            if status == "caught by type check":
                status = "killed"
            row = counts[str(path)]
            row["generated"] += 1
            if status not in LIVED:
                row[status] += 1
                continue
            original = cst.Module([read_original_function(module, key)]).code.strip()
            mutant = cst.Module([read_mutant_function(module, key)]).code.strip()
            if only_message_differs(original, mutant):
                row["equivalent (message)"] += 1
                equivalent.append((key, str(path)))
                continue
            diff = get_diff_for_mutant(key, path=path)
            kind, reason = verdict(key, diff, reviewed, left)
            if kind == "shown":
                matched.add(key)
                row["equivalent (shown)"] += 1
                shown.append((key, reason, diff))
                continue
            if kind == "left":
                matched_left.add(key)
            row[status] += 1
            lived.append((key, status, diff, reason))

    columns = [
        "generated",
        "killed",
        "timeout",
        "equivalent (message)",
        "equivalent (shown)",
        "survived",
        "no tests",
        "suspicious",
        "not checked",
    ]
    lines = [
        "# Mutation testing (`make mutants`)",
        "",
        "| module | " + " | ".join(columns) + " | lived % |",
        "|---" * (len(columns) + 2) + "|",
    ]
    total: Counter[str] = Counter()
    for path, row in sorted(counts.items()):
        total.update(row)
        lines.append(_row(path, row, columns))
    lines.append(_row("**all**", total, columns))
    lines += [
        "",
        "lived % = (survived + no tests + suspicious + not checked) / "
        "(generated - equivalent (message) - equivalent (shown)).",
        "",
        f"## Survivors ({len(lived)}, {sum(1 for e in lived if e[3])} left with a reason)",
        "",
    ]
    for key, status, diff, reason in lived:
        why = [f"Left: {reason}", ""] if reason else ["No reason given yet.", ""]
        lines += [f"### {key} ({status})", "", *why, "```diff", diff, "```", ""]
    lines += [f"## Shown equivalent ({len(shown)}, from {EQUIVALENT_LIST.name})", ""]
    for key, reason, diff in shown:
        lines += [f"### {key}", "", reason, "", "```diff", diff, "```", ""]
    stale = sorted((set(reviewed) - matched) | (set(left) - matched_left))
    if stale:
        lines += [f"## Stale entries of {EQUIVALENT_LIST.name} ({len(stale)}, ignored)", ""]
        lines += [f"- {key}" for key in stale] + [""]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines[: len(counts) + 8]))
    if args.diffs:
        for key, status, diff, reason in lived:
            print(f"\n# {key} ({status}) {reason}\n{diff}")
    explained = sum(1 for entry in lived if entry[3])
    print(
        f"\nwritten: {args.out} ({len(lived)} survivors, {explained} of them left with a "
        f"reason, {len(equivalent)} message-only, "
        f"{len(shown)} shown equivalent, {len(stale)} stale list entries)"
    )
    return 0


def _row(name: str, row: Counter[str], columns: list[str]) -> str:
    kept = row["generated"] - row["equivalent (message)"] - row["equivalent (shown)"]
    alive = row["survived"] + row["no tests"] + row["suspicious"] + row["not checked"]
    share = 100.0 * alive / kept if kept else 0.0
    return f"| {name} | " + " | ".join(str(row[c]) for c in columns) + f" | {share:.1f} |"


if __name__ == "__main__":
    sys.exit(main())

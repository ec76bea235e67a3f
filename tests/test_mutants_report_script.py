"""scripts/mutants_report.py: which survivors it sets aside, explains or keeps counting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cases import load_script

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "mutants_report.py"


@pytest.fixture(scope="module")
def report() -> Any:
    return load_script("mutants_report", _PATH)


DIFF = """--- m.py
+++ m.py
@@ -1,2 +1,2 @@
 def f(x):
-    return x + 1
+    return x + 2
"""


def test_message_only_mutant_is_set_aside_and_a_number_is_not(report: Any) -> None:
    original = "def f(x):\n    raise ValueError(f'bad {x}')\n"
    assert report.only_message_differs(original, original.replace("bad", "XXbadXX"))
    plus_one, plus_two = "def f(x):\n    return x + 1\n", "def f(x):\n    return x + 2\n"
    assert not report.only_message_differs(plus_one, plus_two)


def test_left_entries_keep_the_survivor_counted_with_a_reason(report: Any, tmp_path: Path) -> None:
    listing = tmp_path / "list.toml"
    listing.write_text(
        '[[mutant]]\nmutant = "m.x_g__mutmut_1"\nline = "return x + 2"\nreason = "same"\n\n'
        '[[left]]\nmutant = "m.x_f__mutmut_1"\nline = "return x + 2"\nreason = "why"\n\n'
        '[[left]]\nmutant = "m.x_f__mutmut_2"\nline = "return x - 1"\nreason = "moved"\n'
    )
    reviewed = report.shown_equivalent(listing)
    left = report.left_reasons(listing)
    assert set(reviewed) == {"m.x_g__mutmut_1"}
    assert left == {
        "m.x_f__mutmut_1": ("why", "return x + 2"),
        "m.x_f__mutmut_2": ("moved", "return x - 1"),
    }
    assert report.verdict("m.x_g__mutmut_1", DIFF, reviewed, left) == ("shown", "same")
    assert report.verdict("m.x_f__mutmut_1", DIFF, reviewed, left) == ("left", "why")
    # the quoted line no longer matches the mutant: a survivor without a reason (stale entry)
    assert report.verdict("m.x_f__mutmut_2", DIFF, reviewed, left) == ("lived", "")
    assert report.verdict("m.x_h__mutmut_9", DIFF, reviewed, left) == ("lived", "")


def test_a_deleted_line_is_quoted_after_a_minus(report: Any) -> None:
    deletion = "--- m.py\n+++ m.py\n@@ -1,3 +1,2 @@\n f(\n-    lower=-1.0,\n     upper=1.0,\n"
    assert report.changed_lines(deletion) == {"-lower=-1.0,"}
    # a replacement removes the line it changes: no '-' quote can match it
    assert report.changed_lines(DIFF) == {"return x + 2"}
    # a deletion that re-indents the closing parenthesis is still a deletion
    closing = "--- m.py\n+++ m.py\n@@ -1,3 +1,2 @@\n f(a,\n-    b=1,\n-)\n+    )\n"
    assert report.changed_lines(closing) == {")", "-b=1,"}
    replaced = deletion.replace("     upper=1.0,", "+    lower=None,")
    assert report.verdict(
        "m.x_f__mutmut_3", replaced, {"m.x_f__mutmut_3": ("r", "-lower=-1.0,")}, {}
    ) == ("lived", "")
    reviewed = {"m.x_f__mutmut_3": ("checked again later", "-lower=-1.0,")}
    assert report.verdict("m.x_f__mutmut_3", deletion, reviewed, {}) == (
        "shown",
        "checked again later",
    )
    # the same entry against a mutant that deleted another line: stale, a survivor
    other = deletion.replace("-    lower=-1.0,", "-    upper=1.0,")
    assert report.verdict("m.x_f__mutmut_3", other, reviewed, {}) == ("lived", "")

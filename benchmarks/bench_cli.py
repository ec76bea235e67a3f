"""The command's start and its cost over the same solve from Python.

Measured in one run (the machine is shared and noisy: each side is timed several times,
the two sides taking turns, and the best of each is kept):

1. ``optihedge --help`` and ``optihedge --version`` against ``python -c pass`` (the
   interpreter's own start). Target (issue 23): at most 0.15 s more.
2. ``optihedge solve examples/policies/overlay.toml`` against a Python process that
   imports what the command imports, reads the same policy and solves it (the same
   work without the command). Target: the command adds at most 0.3 s beyond imports.

Run from the repository's root: ``python benchmarks/bench_cli.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "examples" / "policies" / "overlay.toml"
REPEATS = 5
PYTHON_SOLVE = f"""
import optihedge.cli.commands
from optihedge.cli.policy_file import load_policy
problem, _ = load_policy({str(POLICY)!r}).problem()
problem.solve()
"""


def _command() -> list[str]:
    """Return the installed ``optihedge`` beside this Python, else ``python -m optihedge``."""
    found = Path(sys.executable).with_name("optihedge")
    if found.exists():
        return [str(found)]
    which = shutil.which("optihedge")
    return [which] if which else [sys.executable, "-m", "optihedge"]


def _time(argv: list[str], cwd: str) -> float:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    begin = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - begin
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds


def _best(sides: dict[str, list[str]], cwd: str) -> dict[str, float]:
    best = dict.fromkeys(sides, float("inf"))
    for _ in range(REPEATS):
        for name, argv in sides.items():  # taking turns: a load spike falls on both sides
            best[name] = min(best[name], _time(argv, cwd))
    return best


def main() -> None:
    command = _command()
    with tempfile.TemporaryDirectory() as cwd:
        start = _best(
            {
                "python -c pass": [sys.executable, "-c", "pass"],
                "optihedge --help": [*command, "--help"],
                "optihedge --version": [*command, "--version"],
            },
            cwd,
        )
        base = start["python -c pass"]
        print(f"start (best of {REPEATS}): python -c pass {base:.3f} s")
        for name in ("optihedge --help", "optihedge --version"):
            extra = start[name] - base
            verdict = "ok" if extra <= 0.15 else "OVER the 0.15 s target"
            print(f"  {name}: {start[name]:.3f} s, {extra:+.3f} s over python ({verdict})")
        if not POLICY.exists():
            print(f"skipped the solve: {POLICY} is missing")
            return
        solve = _best(
            {
                "python": [sys.executable, "-c", PYTHON_SOLVE],
                "command": [*command, "solve", str(POLICY), "--quiet", "--records", cwd],
            },
            cwd,
        )
        extra = solve["command"] - solve["python"]
        verdict = "ok" if extra <= 0.3 else "OVER the 0.3 s target"
        print(
            f"solve {POLICY.name} (best of {REPEATS}): from Python {solve['python']:.3f} s, "
            f"the command {solve['command']:.3f} s, {extra:+.3f} s more ({verdict})"
        )


if __name__ == "__main__":
    main()

"""The command's start and its cost over the same solve from Python.

Measured in one run (the machine is shared and noisy: each side is timed several times,
the two sides taking turns, and the best of each is kept). Each time is the child's CPU
time (user + system, from ``getrusage``), which a loaded machine disturbs far less than
the wall clock; the best wall-clock times are printed beside them.

1. ``optihedge --help`` and ``optihedge --version`` against ``python -c pass`` (the
   interpreter's own start). Target (issue 23): at most 0.15 s more.
2. ``optihedge solve examples/policies/overlay.toml`` against a Python process that
   imports what the command imports, reads the same policy and solves it (the same
   work without the command). Target: the command adds at most 0.3 s beyond imports.

Run from the repository's root: ``python benchmarks/bench_cli.py``.
"""

from __future__ import annotations

import os
import resource
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


def _time(argv: list[str], cwd: str) -> tuple[float, float]:
    """Return the CPU seconds (user + system) and the wall seconds of one run."""
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begin = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - begin
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return cpu, wall


def _best(sides: dict[str, list[str]], cwd: str) -> tuple[dict[str, float], dict[str, float]]:
    """Return the best CPU and the best wall seconds of each side."""
    cpu = dict.fromkeys(sides, float("inf"))
    wall = dict.fromkeys(sides, float("inf"))
    for _ in range(REPEATS):
        for name, argv in sides.items():  # taking turns: a load spike falls on both sides
            c, w = _time(argv, cwd)
            cpu[name], wall[name] = min(cpu[name], c), min(wall[name], w)
    return cpu, wall


def main() -> None:
    command = _command()
    with tempfile.TemporaryDirectory() as cwd:
        start, start_wall = _best(
            {
                "python -c pass": [sys.executable, "-c", "pass"],
                "optihedge --help": [*command, "--help"],
                "optihedge --version": [*command, "--version"],
            },
            cwd,
        )
        base = start["python -c pass"]
        print(
            f"start, CPU seconds (best of {REPEATS}; wall in brackets): python -c pass "
            f"{base:.3f} s ({start_wall['python -c pass']:.3f} s)"
        )
        for name in ("optihedge --help", "optihedge --version"):
            extra = start[name] - base
            verdict = "ok" if extra <= 0.15 else "OVER the 0.15 s target"
            print(
                f"  {name}: {start[name]:.3f} s ({start_wall[name]:.3f} s), {extra:+.3f} s "
                f"over python ({verdict})"
            )
        if not POLICY.exists():
            print(f"skipped the solve: {POLICY} is missing")
            return
        solve, solve_wall = _best(
            {
                "python": [sys.executable, "-c", PYTHON_SOLVE],
                "command": [*command, "solve", str(POLICY), "--quiet", "--records", cwd],
            },
            cwd,
        )
        extra = solve["command"] - solve["python"]
        verdict = "ok" if extra <= 0.3 else "OVER the 0.3 s target"
        print(
            f"solve {POLICY.name}, CPU seconds (best of {REPEATS}; wall in brackets): from "
            f"Python {solve['python']:.3f} s ({solve_wall['python']:.3f} s), the command "
            f"{solve['command']:.3f} s ({solve_wall['command']:.3f} s), {extra:+.3f} s more "
            f"({verdict})"
        )


if __name__ == "__main__":
    main()

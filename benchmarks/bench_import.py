"""Import time of ``optihedge`` against its heavy dependencies, measured in one run.

Each import runs in a fresh interpreter (``python -X importtime`` would also work);
the figure of merit is the ratio to a bare interpreter start and to statsmodels.
Target: ``import optihedge`` under 1.3 s on this 2-core machine.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def wall(code: str, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    bare = wall("pass")
    results = {
        name: wall(f"import {name}")
        for name in ("optihedge", "numpy", "pandas", "statsmodels.api", "cvxpy")
    }
    first_use = wall(
        "import optihedge; optihedge.futures_contracts; optihedge.risk; optihedge.pricing"
    )
    print(f"bare interpreter: {bare:.3f} s (median of 5)")
    for name, t in results.items():
        print(
            f"import {name:16s} {t:.3f} s  net {t - bare:.3f} s  "
            f"ratio to optihedge {t / results['optihedge']:.2f}"
        )
    print(f"import optihedge + first use of sizing, risk, pricing: {first_use:.3f} s")
    verdict = "OK" if results["optihedge"] < 1.3 else "OVER TARGET"
    print(f"optihedge import {results['optihedge']:.3f} s vs target 1.3 s: {verdict}")


if __name__ == "__main__":
    main()

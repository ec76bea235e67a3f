"""Time the exact expected-shortfall methods cell by cell, and the one ``auto`` picks.

The problem of ``bench_shortfall.py`` (a book and N hedge instruments in [-1, 1] netting to
zero, 95% expected shortfall over fat-tailed scenarios) on a grid of instrument and
scenario counts. In each cell the exact methods (the active set, the cutting planes up to
50 instruments, the band) solve cold (problem built and solved, what a user pays), taking
turns, best of ``REPEATS`` (a method run for less than ``SETTLE`` seconds in all runs
again, up to ``MAX_REPEATS`` times: a cell of a few tens of milliseconds is otherwise
decided by the machine's noise); each answer's expected shortfall over all scenarios must be
within 1e-8 relative of the lowest one found (the run lists those that are not, and
exits 1). The table gives each method's time, the fastest, what ``method="auto"``
resolves to there (``ExpectedShortfall.chosen_method``) and the ratio of auto's time to
the fastest: target at most 1.2 in every cell (issue 21).

BLAS on one thread; ratios from one run (the machine is shared and noisy). The rule
``auto`` follows is in ``optihedge/optimize/shortfall.py`` (``AUTO_PLANES_INSTRUMENTS``,
``auto_scenarios``, ``AUTO_BAND_SCENARIOS``, ``AUTO_INSTRUMENTS``): these runs measured it.

Usage: ``python benchmarks/bench_auto.py [--quick] [--unbounded] [--sweep]``
(``--quick``: the smaller cells; ``--unbounded``: the positions without their bounds, net
zero only; ``--sweep``: a sweep of the confidence level over one problem per method,
``oh.sweep``, where the cutting planes carry their planes from point to point).
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_shortfall as bs  # noqa: E402

import optihedge as oh  # noqa: E402

REPEATS = 2
MAX_REPEATS = 15
SETTLE = 0.5  # seconds of each method's runs in all before a cell's best is taken
METHODS = ("active_set", "cutting_plane", "band")
#: instruments above which the cutting planes are not run (they do not certify at 100);
#: without bounds, above 20 (at 50 x 5,000-20,000 they reach no certificate in 2,000
#: iterations, 40-44 s a solve: measured with ``--unbounded``)
PLANES_UP_TO = 50
PLANES_UP_TO_UNBOUNDED = 20
CELLS = [
    (2, 500),
    (2, 2_000),
    (2, 100_000),
    (5, 1_000),
    (5, 5_000),
    (5, 20_000),
    (5, 100_000),
    (8, 20_000),
    (10, 5_000),
    (10, 10_000),
    (10, 20_000),
    (10, 50_000),
    (10, 200_000),
    (20, 2_500),
    (20, 10_000),
    (20, 20_000),
    (20, 100_000),
    (30, 50_000),
    (30, 200_000),
    (50, 5_000),
    (50, 10_000),
    (50, 20_000),
    (50, 100_000),
    (50, 200_000),
    (100, 1_000),
    (100, 2_000),
    (100, 5_000),
    (100, 20_000),
    (100, 100_000),
]
QUICK = [cell for cell in CELLS if cell[0] * cell[1] <= 1_000_000]


def cold(frame: bs.pd.DataFrame, method: str, bounded: bool) -> tuple[float, float]:
    """Return the seconds of a cold build and solve, and the optimum's expected shortfall."""
    start = time.perf_counter()
    result = bs.problem(frame, method, bounded=bounded).solve()
    seconds = time.perf_counter() - start
    return seconds, bs.es_of(frame, result.weights.to_numpy())


#: the sweep's points (``--sweep``): the confidence level, one problem built for all
SWEEP_ALPHAS = (0.9, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99)


def swept(frame: bs.pd.DataFrame, method: str, bounded: bool) -> tuple[float, float]:
    """Return the seconds of a sweep over ``SWEEP_ALPHAS`` (build included), and the ES.

    The expected shortfall at ``bs.ALPHA`` of the sweep's positions at that point (the
    point compared across methods), infinite when a point is not optimal.
    """
    start = time.perf_counter()
    result = oh.sweep(
        bs.problem(frame, method, bounded=bounded),
        {"expected_shortfall.alpha": list(SWEEP_ALPHAS)},
        progress=False,
    )
    seconds = time.perf_counter() - start
    if not (result.points["status"] == "optimal").all():
        return seconds, float("inf")
    point = result.points.index[SWEEP_ALPHAS.index(bs.ALPHA)]
    rows = result.weights[result.weights["point"] == point].set_index("instrument")
    x = rows["weight"].reindex([f"E{i}" for i in range(frame.shape[1] - 1)]).to_numpy()
    return seconds, bs.es_of(frame, x)


def main(argv: list[str]) -> int:
    cells = QUICK if "--quick" in argv else CELLS
    bounded = "--unbounded" not in argv
    sweep = "--sweep" in argv
    run = swept if sweep else cold
    what = f"a {len(SWEEP_ALPHAS)}-point sweep of alpha" if sweep else "cold build + solve"
    print(
        f"expected shortfall {bs.ALPHA:.0%}, {what}, best of {REPEATS}+ taking "
        f"turns; positions {'in [-1, 1]' if bounded else 'unbounded'} netting to zero; "
        "BLAS on 1 thread"
    )
    header = ("instruments", "scenarios", *(f"{m} s" for m in METHODS), "fastest", "auto")
    rows = [(*header, "auto / fastest")]
    worst = 0.0
    off: list[str] = []
    for n_inst, n_scen in cells:
        frame = bs.scenarios(n_inst, n_scen)
        most = PLANES_UP_TO if bounded else PLANES_UP_TO_UNBOUNDED
        methods = [m for m in METHODS if m != "cutting_plane" or n_inst <= most]
        times: dict[str, list[float]] = {m: [] for m in methods}
        optimum: dict[str, float] = {}
        for turn in range(MAX_REPEATS):
            # past REPEATS, only the methods not yet run for SETTLE seconds in all
            due = [m for m in methods if turn < REPEATS or sum(times[m]) < SETTLE]
            if not due:
                break
            for method in due:
                seconds, es = run(frame, method, bounded)
                times[method].append(seconds)
                optimum[method] = es
        # every answer is feasible: the lowest expected shortfall is nearest the optimum
        low = min(optimum.values())
        for method in methods:
            excess = (optimum[method] - low) / abs(low)
            if excess > 1e-8:
                off.append(f"{n_inst} x {n_scen:,}: {method} {excess:.1e} above the lowest")
        best = {m: min(t) for m, t in times.items()}
        fastest = min(best, key=best.__getitem__)
        auto = oh.ExpectedShortfall(bs.ALPHA).chosen_method(n_scen, n_inst, False, sweep)
        # auto's method not run here (the planes above PLANES_UP_TO...): no answer in time
        ratio = best[auto] / best[fastest] if auto in best else float("inf")
        worst = max(worst, ratio)
        rows.append(
            (
                str(n_inst),
                f"{n_scen:,}",
                *(f"{best[m]:.3f}" if m in best else "-" for m in METHODS),
                fastest,
                auto,
                f"{ratio:.2f}x",
            )
        )
        print(f"  {n_inst} x {n_scen:,}: {rows[-1][2:]}", flush=True)
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    print(f"worst auto / fastest: {worst:.2f}x (target <= 1.2x in every cell)")
    for line in off:  # an answer more than 1e-8 relative above the best one found
        print(f"  not exact: {line}")
    return 1 if off else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

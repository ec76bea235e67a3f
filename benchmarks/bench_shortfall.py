"""Expected-shortfall hedging from 20,000 to 1,000,000 fat-tailed scenarios.

The same problem everywhere: a book (one asset, weight fixed at 1) and N hedge
instruments in [-1, 1] netting to zero; minimise the 95% expected shortfall over the
scenarios. Each measurement runs in a child process of its own (a time limit, and the
peak memory of the solve: the kernel's peak resident size, reset just before the build
and solve, less the memory before it; the scenarios are made before). Compared:

- optihedge's default (``method="auto"``), its cutting planes (``"cutting_plane"``; at
  1,000,000 also with the scenario P&L in float32), its exact active set, its band
  (what ``"auto"`` takes from 15,000 scenarios above 5 instruments, and at every count
  beyond 50; ``benchmarks/bench_auto.py`` measures the rule), its plain LP;
- the plain Rockafellar-Uryasev LP written by hand in cvxpy with Clarabel, skfolio and
  Riskfolio-Lib (the 'bench' extra), where they finish within the time limit;
- before the choice of method (issue 13), the two stabilisations of the cutting-plane
  method on the same master: the proximal bundle (chosen) and the level bundle
  (Lemarechal-Nemirovskii-Nesterov), written out at the end of this file.

Optimum gaps are the relative difference of the expected shortfall, recomputed over all
scenarios, from the best found. Ratios are measured in one run (the machine is shared
and noisy; a measurement under ``REPEAT_UNDER`` seconds is the fastest of ``REPEATS``
runs); BLAS on one thread. Targets (issue 13): time grows at most linearly from
100,000 to 1,000,000 scenarios (ratio <= 12), at least 20x faster than the plain LP and
both peers at 20 x 100,000, 20 x 1,000,000 solved within 1 GB of peak memory; (issue
21) 100 x 1,000,000 certified within 30 s and +1.5 GB, 100 x 100,000 at least 20x faster
than the plain LP, auto at 20 x 100,000 at least 20x faster than the LP and within 1.2x
of the fastest exact method at every cell.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import multiprocessing as mp  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import cvxpy as cp  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import optihedge as oh  # noqa: E402
from constraints import Bounds, Budget  # noqa: E402
from optihedge.measures.risk import expected_shortfall  # noqa: E402
from optihedge.optimize.cutting import tail_cut  # noqa: E402

ALPHA = 0.95
LIMIT = 240.0  # seconds a child may take


def scenarios(n_inst: int, n_scen: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    k = 5
    b = rng.normal(0.5, 0.3, (n_inst, k))
    f = rng.standard_t(4, (n_scen, k)) * 0.02
    u = np.clip(f @ b.T + rng.standard_t(4, (n_scen, n_inst)) * 0.01, -0.9, 0.9)
    book = np.clip(f @ rng.normal(0.8, 0.3, k) + rng.standard_t(4, n_scen) * 0.015, -0.9, 0.9)
    frame = pd.DataFrame(u, columns=[f"U{i}" for i in range(n_inst)])
    frame.insert(0, "book", book)
    return frame


def es_of(frame: pd.DataFrame, x: np.ndarray) -> float:
    return expected_shortfall(frame["book"].to_numpy() + frame.iloc[:, 1:].to_numpy() @ x, ALPHA)


def problem(
    frame: pd.DataFrame, method: str, precision: str = "float64", bounded: bool = True
) -> oh.HedgeProblem:
    """Return the benchmark's problem (``bounded=False``: no bounds, net zero only)."""
    n_inst = frame.shape[1] - 1
    return oh.HedgeProblem(
        oh.Portfolio.from_holdings({"book": 1.0}),
        [oh.ETF(f"E{i}", underlying=f"U{i}") for i in range(n_inst)],
        objective=oh.ExpectedShortfall(
            ALPHA,
            method=method,  # type: ignore[arg-type]
            precision=precision,  # type: ignore[arg-type]
        ),
        constraints=[Bounds(-1.0, 1.0), Budget(0.0)] if bounded else [Budget(0.0)],
        scenarios=oh.Scenarios.from_returns(frame),
        horizon=1,
        market="U0",
    )


def ours(frame: pd.DataFrame, method: str) -> tuple[float, float, np.ndarray]:
    """Return the first solve (build included), a re-solve after an alpha change, x."""
    start = time.perf_counter()
    p = problem(frame, method)
    x = p.solve().weights.to_numpy()
    first = time.perf_counter() - start
    p.solve({"expected_shortfall.alpha": 0.96})
    start = time.perf_counter()
    p.solve({"expected_shortfall.alpha": ALPHA})
    return first, time.perf_counter() - start, x


def raw_lp(frame: pd.DataFrame) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    book, g = frame["book"].to_numpy(), frame.iloc[:, 1:].to_numpy()
    x, zeta = cp.Variable(g.shape[1]), cp.Variable()
    loss = -(book + g @ x)
    prob = cp.Problem(
        cp.Minimize(zeta + cp.sum(cp.pos(loss - zeta)) / ((1 - ALPHA) * len(book))),
        [x >= -1, x <= 1, cp.sum(x) == 0],
    )
    prob.solve(solver="CLARABEL")
    return time.perf_counter() - start, np.asarray(x.value)


def skfolio_solve(frame: pd.DataFrame) -> tuple[float, np.ndarray]:
    from skfolio import RiskMeasure
    from skfolio.optimization import MeanRisk

    n = frame.shape[1]
    lower = np.r_[1.0, -np.ones(n - 1)]
    upper = np.ones(n)
    start = time.perf_counter()
    m = MeanRisk(
        risk_measure=RiskMeasure.CVAR,
        cvar_beta=ALPHA,
        min_weights=lower,
        max_weights=upper,
        budget=1.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the peer's warnings, not ours
        m.fit(frame)
    return time.perf_counter() - start, np.asarray(m.weights_)[1:]


def riskfolio_solve(frame: pd.DataFrame) -> tuple[float, np.ndarray]:
    import riskfolio as rp

    n = frame.shape[1]
    lower = np.r_[1.0, -np.ones(n - 1)]
    upper = np.ones(n)
    start = time.perf_counter()
    port = rp.Portfolio(
        returns=frame, sht=True, uppersht=1.0, upperlng=1.0, budgetsht=float(n), alpha=1 - ALPHA
    )
    port.assets_stats(method_mu="hist", method_cov="hist")
    port.ainequality = np.vstack([-np.eye(n), np.eye(n)])  # riskfolio: A w <= B
    port.binequality = np.r_[-lower, upper][:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = port.optimization(model="Classic", rm="CVaR", obj="MinRisk", hist=True)
    return time.perf_counter() - start, w.to_numpy().ravel()[1:]


# ------------------------------------------------------------------ children
def _status(key: str) -> int:
    """Return a /proc/self/status figure in bytes (VmRSS: now, VmHWM: the peak)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def _measure(run: Callable[[], tuple[float, np.ndarray, dict[str, Any]]]) -> dict[str, Any]:
    """Run ``run``; its peak resident memory less the memory before it (no sampling)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # Linux: reset the peak resident size (VmHWM) to the current one
    base = _status("VmRSS")
    seconds, x, extra = run()
    return {"seconds": seconds, "x": x, "memory": (_status("VmHWM") - base) / 2**20, **extra}


def _child(name: str, n_inst: int, n_scen: int, queue: Any) -> None:
    frame = scenarios(n_inst, n_scen)

    def run() -> tuple[float, np.ndarray, dict[str, Any]]:
        if name.startswith("optihedge"):
            _, method, *precision = name.split(" ")
            start = time.perf_counter()
            p = problem(frame, method, *precision)
            res = p.solve()
            seconds = time.perf_counter() - start
            st = res.solver_stats
            keys = (
                "shortfall_method",
                "cutting_plane_iterations",
                "certified",
                "scenario_slots",
                "band_slots",
                "band_rounds",
            )
            return seconds, res.weights.to_numpy(), {k: st[k] for k in keys if k in st}
        fn = {"raw cvxpy LP": raw_lp, "skfolio": skfolio_solve, "Riskfolio-Lib": riskfolio_solve}
        seconds, x = fn[name](frame)
        return seconds, x, {}

    try:
        out = _measure(run)
        out["es"] = es_of(frame, out["x"])
        queue.put(out)
    except ImportError as exc:
        queue.put({"error": f"not run ({exc.name} not installed)"})
    except Exception as exc:
        queue.put({"error": f"failed: {type(exc).__name__}: {exc}"[:200]})


#: a measurement faster than this runs again, up to REPEATS times in all, and the fastest
#: run is kept with the largest peak memory of its runs (one run of a fraction of a second
#: on a shared machine is as likely the machine's noise as the method's time)
REPEAT_UNDER = 30.0
REPEATS = 3


def measure(name: str, n_inst: int, n_scen: int) -> dict[str, Any]:
    """Return the fastest of up to ``REPEATS`` runs (see ``REPEAT_UNDER``), each a child."""
    best = _measure_once(name, n_inst, n_scen)
    for _ in range(REPEATS - 1):
        if "error" in best or best["seconds"] >= REPEAT_UNDER:
            break
        again = _measure_once(name, n_inst, n_scen)
        if "error" in again:
            break
        memory = max(best["memory"], again["memory"])
        best = min(best, again, key=lambda r: r["seconds"]) | {"memory": memory}
    return best


def _measure_once(name: str, n_inst: int, n_scen: int) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(name, n_inst, n_scen, queue))
    child.start()
    limit = LIMITS.get((n_inst, n_scen), LIMIT)
    try:
        return dict(queue.get(timeout=limit))
    except Exception:
        return {"error": f"did not finish within {limit:.0f} s"}
    finally:
        child.kill()
        child.join()


_OURS = ("optihedge auto", "optihedge cutting_plane", "optihedge active_set", "optihedge band")
_PEERS = ("raw cvxpy LP", "skfolio", "Riskfolio-Lib")
CASES: dict[tuple[int, int], tuple[str, ...]] = {
    (20, 20_000): (*_OURS, "optihedge lp", *_PEERS),
    (20, 100_000): (*_OURS, *_PEERS),
    (20, 1_000_000): (*_OURS, "optihedge cutting_plane float32", *_PEERS),
    (50, 20_000): (*_OURS, "raw cvxpy LP"),
    (50, 100_000): (*_OURS, "raw cvxpy LP"),
    (50, 1_000_000): _OURS,
    (100, 20_000): (*_OURS, *_PEERS),
    (100, 100_000): (*_OURS, "raw cvxpy LP"),
    (100, 1_000_000): ("optihedge auto", "optihedge active_set", "optihedge band"),
}
# cases given longer than LIMIT
LIMITS = {(20, 1_000_000): 900.0, (50, 1_000_000): 1500.0, (100, 1_000_000): 1500.0}
NOT_RUN = {
    (100, 1_000_000): "the plain LP and the peers: not run (at 100 x 100,000 the LP takes "
    "about 114 s and +1.9 GB; ten times the scenarios would need some 19 GB, most of this "
    "24 GB machine, and far more than the time limit); cutting planes "
    "are not certified at 100 instruments in 2,000 iterations (see 100 x 20,000)",
}


def scale_section() -> dict[tuple[int, int, str], dict[str, Any]]:
    results: dict[tuple[int, int, str], dict[str, Any]] = {}
    for (n_inst, n_scen), names in CASES.items():
        print(f"{n_inst} instruments x {n_scen:,} scenarios (Student-t), ES {ALPHA:.0%}:")
        rows = {name: measure(name, n_inst, n_scen) for name in names}
        best = min((r["es"] for r in rows.values() if "es" in r), default=np.nan)
        for name, r in rows.items():
            results[(n_inst, n_scen, name)] = r
            if "error" in r:
                print(f"  {name}: {r['error']}")
                continue
            extra = {k: v for k, v in r.items() if k not in ("seconds", "x", "memory", "es")}
            print(
                f"  {name}: {r['seconds']:.2f} s, peak memory of the solve "
                f"+{r['memory']:.0f} MB, ES gap {abs(r['es'] - best) / abs(best):.1e}"
                + (f"  {extra}" if extra else "")
            )
        if (n_inst, n_scen) in NOT_RUN:
            print(f"  {NOT_RUN[(n_inst, n_scen)]}")
        sys.stdout.flush()
    return results


def targets(results: dict[tuple[int, int, str], dict[str, Any]]) -> None:
    def t(n: int, s: int, name: str) -> float:
        r = results.get((n, s, name), {})
        return float(r.get("seconds", np.nan))

    cp_100k = t(20, 100_000, "optihedge cutting_plane")
    cp_1m = t(20, 1_000_000, "optihedge cutting_plane")
    print("targets (issue 13):")
    print(f"  20 instruments, 100,000 -> 1,000,000 scenarios: {cp_1m / cp_100k:.1f}x (<= 12)")
    for peer in ("raw cvxpy LP", "skfolio", "Riskfolio-Lib"):
        print(f"  20 x 100,000: {t(20, 100_000, peer) / cp_100k:.1f}x faster than {peer} (>= 20)")
    for peer in ("raw cvxpy LP", "skfolio", "Riskfolio-Lib"):
        ratio = t(20, 1_000_000, peer) / cp_1m
        print(f"  20 x 1,000,000: {ratio:.1f}x faster than {peer} (no target; nan: not finished)")
    memory = results.get((20, 1_000_000, "optihedge cutting_plane"), {}).get("memory", np.nan)
    print(f"  20 x 1,000,000: peak memory of the solve +{memory:.0f} MB (< 1,024)")
    print("targets (issue 21):")
    band = results.get((100, 1_000_000, "optihedge band"), {})
    print(
        f"  100 x 1,000,000 by the band: {band.get('seconds', np.nan):.1f} s (<= 30), "
        f"+{band.get('memory', np.nan):.0f} MB (<= 1,536), certified {band.get('certified')}"
    )
    exact = [name for name in _OURS if name != "optihedge auto"]
    lp_100 = t(100, 100_000, "raw cvxpy LP") / min(t(100, 100_000, name) for name in exact)
    print(f"  100 x 100,000: the fastest exact method {lp_100:.1f}x faster than the LP (>= 20)")
    lp_20 = t(20, 100_000, "raw cvxpy LP") / t(20, 100_000, "optihedge auto")
    print(f"  20 x 100,000: auto {lp_20:.1f}x faster than the LP (>= 20)")
    for (n, size), names in CASES.items():
        times = [t(n, size, name) for name in exact if name in names]
        finished = [x for x in times if not np.isnan(x)]
        ratio = t(n, size, "optihedge auto") / min(finished, default=np.nan)
        print(f"  {n} x {size:,}: auto {ratio:.2f}x the fastest exact method measured (<= 1.2)")


# ---------------------------------------------------- stabilisations compared
def _master(n: int, k: int) -> dict[str, Any]:
    x, t = cp.Variable(n), cp.Variable()
    a, g = cp.Parameter(k), cp.Parameter((k, n))
    s, v = cp.Parameter(nonneg=True), cp.Parameter(n)
    level, centre = cp.Parameter(), cp.Parameter(n)
    cons = [t >= a + g @ x, x >= -1, x <= 1, cp.sum(x) == 0]
    tight = {"tol_gap_abs": 1e-13, "tol_gap_rel": 1e-13, "tol_feas": 1e-12}
    return {
        "x": x,
        "t": t,
        "a": a,
        "g": g,
        "s": s,
        "v": v,
        "level": level,
        "centre": centre,
        "tight": tight,
        "lp": cp.Problem(cp.Minimize(t), cons),
        "prox": cp.Problem(cp.Minimize(t + cp.sum_squares(s * x - v)), cons),
        "proj": cp.Problem(cp.Minimize(cp.sum_squares(x - centre)), [*cons, t <= level]),
    }


class _Planes:
    def __init__(self, m: dict[str, Any], book: np.ndarray, g: np.ndarray, k: int) -> None:
        self.m, self.book, self.g, self.k = m, book, g, k
        self.p = np.full(len(book), 1.0 / len(book))
        self.a: list[float] = []
        self.grads: list[np.ndarray] = []

    def add(self, x: np.ndarray) -> float:
        es, a, grad, _ = tail_cut(self.book, self.g, self.p, ALPHA, x, equal=True)
        self.a, self.grads = [*self.a, a][-self.k :], [*self.grads, grad][-self.k :]
        pad = self.k - len(self.a)
        self.m["a"].value = np.r_[self.a, [self.a[0]] * pad]
        self.m["g"].value = np.vstack([*self.grads, *[self.grads[0]] * pad])
        return es


def _proximal(book: np.ndarray, g: np.ndarray, k: int) -> int:
    m = _master(g.shape[1], k)
    planes = _Planes(m, book, g, k)
    centre = np.zeros(g.shape[1])
    f_centre, mu, lower, best = planes.add(centre), 1.0, -np.inf, np.inf
    for it in range(1, 2_001):
        m["s"].value = np.sqrt(mu / 2)
        m["v"].value = m["s"].value * centre
        m["prox"].solve(solver="CLARABEL", **m["tight"])
        x = m["x"].value.copy()
        model = float(m["t"].value)
        f = planes.add(x)
        best = min(best, f)
        if f <= f_centre - 0.1 * (f_centre - model):
            centre, f_centre, mu = x, f, max(mu * 0.5, 1e-8)
        else:
            mu = min(mu * 1.5, 1e12)
        if it % 6 == 0 or f_centre - model <= 1e-9 * abs(f_centre):
            m["lp"].solve(solver="CLARABEL", **m["tight"])
            lower = float(m["lp"].value)
            best = min(best, planes.add(m["x"].value.copy()))
        if best - lower <= 1e-9 * abs(best):
            return it
    return -1


def _level(book: np.ndarray, g: np.ndarray, k: int) -> int:
    m = _master(g.shape[1], k)
    planes = _Planes(m, book, g, k)
    centre = np.zeros(g.shape[1])
    best = planes.add(centre)
    for it in range(1, 2_001):
        m["lp"].solve(solver="CLARABEL", **m["tight"])
        lower = float(m["lp"].value)
        f = planes.add(m["x"].value.copy())
        if f < best:
            best, centre = f, m["x"].value.copy()
        if best - lower <= 1e-9 * abs(best):
            return it
        m["level"].value = lower + 0.3 * (best - lower)
        m["centre"].value = centre
        try:
            m["proj"].solve(solver="CLARABEL")
        except cp.error.SolverError:
            continue
        if m["proj"].status != "optimal":
            continue
        x = m["x"].value.copy()
        f = planes.add(x)
        if f < best:
            best, centre = f, x
    return -1


def stabilisation_section() -> None:
    print("cutting-plane stabilisations on one master (cvxpy + Clarabel), to 1e-9:")
    warnings.simplefilter("ignore", UserWarning)  # an inaccurate master: counted, not shown
    for n_inst, n_scen in ((20, 20_000), (20, 100_000)):
        frame = scenarios(n_inst, n_scen)
        book, g = frame["book"].to_numpy(), np.ascontiguousarray(frame.iloc[:, 1:].to_numpy())
        for name, fn in (("proximal bundle", _proximal), ("level bundle", _level)):
            start = time.perf_counter()
            iterations = fn(book, g, 2 * (n_inst + 1))
            took = time.perf_counter() - start
            status = f"{iterations} iterations" if iterations > 0 else "not converged in 2,000"
            print(f"  {n_inst} x {n_scen:,}: {name}: {status}, {took:.2f} s")


def load_modules() -> None:
    """Solve a tiny problem once in the parent (the children are forked from it).

    The children then time the solve, not the first import of the modules a solve loads
    lazily.
    """
    for method in ("cutting_plane", "active_set", "lp", "band"):
        problem(scenarios(2, 500), method).solve()


if __name__ == "__main__":
    load_modules()
    stabilisation_section()
    targets(scale_section())

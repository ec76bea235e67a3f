"""HedgeProblem speed: cold and warm solves, against the solver's own time and the peers.

Problem: a book of 20 or 2,000 holdings (weights fixed) and 20 hedge instruments; minimise
the variance of book + hedges with every hedge in [-1, 1] and the hedges netting to zero
(so that the same problem can be posed to skfolio and Riskfolio-Lib, which always impose
a budget), under a 10-factor risk model.

Like with like: a skfolio or Riskfolio-Lib user hedging a book passes the book as ONE
asset (weight fixed at 1) beside the 20 hedges, with the 21 x 21 covariance of book and
hedges. That is the main comparison ("same problem"); optihedge gets exactly that
covariance, in factored form with the book as one asset. A second, labelled line gives
the peers the full covariance of every holding (what they need to see the book's
holdings), against optihedge on the whole book.

Every figure is what a user pays: "cold" is build + first solve (a new problem object,
canonicalisation included), "warm" a re-solve of a compiled problem with a new limit.
Printed ratios are measured in one run (the machine is shared and noisy), three repeats
each, BLAS pinned to one thread. Peers run only when the 'bench' extra is installed.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import optihedge as oh  # noqa: E402
from constraints import Bounds, Budget, GrossExposure  # noqa: E402
from factor_models import RiskModel  # noqa: E402

N_HEDGES, N_FACTORS, REPEATS, WARM = 20, 10, 3, 15


def model(n_holdings: int, seed: int = 0) -> tuple[RiskModel, pd.Series]:
    rng = np.random.default_rng(seed)
    assets = [f"S{i:04d}" for i in range(n_holdings)] + [f"H{j:02d}" for j in range(N_HEDGES)]
    factors = [f"F{k}" for k in range(N_FACTORS)]
    b = rng.normal(0.0, 0.3, (len(assets), N_FACTORS))
    b[:, 0] += 1.0  # a market factor
    a = rng.normal(size=(N_FACTORS, N_FACTORS)) * 0.003
    f = a @ a.T + np.eye(N_FACTORS) * 1e-5
    d = rng.uniform(1e-5, 4e-4, len(assets))
    d[n_holdings:] *= 0.05  # hedge instruments carry little specific risk
    rm = RiskModel(
        pd.DataFrame(b, index=assets, columns=factors),
        pd.DataFrame(f, index=factors, columns=factors),
        pd.Series(d, index=assets),
    )
    holdings = pd.Series(rng.uniform(1e4, 1e5, n_holdings), index=assets[:n_holdings])
    return rm, holdings


def as_one_asset(rm: RiskModel, holdings: pd.Series) -> RiskModel:
    """Return the same risk with the book aggregated into one asset named 'book' (exact)."""
    w = (holdings / holdings.sum()).reindex(rm.assets).fillna(0.0)
    hedges = rm.assets[len(holdings) :]
    loadings = pd.concat([(rm.loadings.T @ w).to_frame("book").T, rm.loadings.loc[hedges]])
    book_specific = float((w**2 * rm.specific_var).sum())
    specific = pd.concat([pd.Series({"book": book_specific}), rm.specific_var.loc[hedges]])
    return RiskModel(loadings, rm.factor_cov, specific)


def timed(fn: Callable[[], object]) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(REPEATS):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return times, out


def ours(rm: RiskModel, holdings: pd.Series) -> dict[str, object]:
    hedges = [oh.ETF(label=f"H{j:02d}", underlying=f"H{j:02d}") for j in range(N_HEDGES)]
    limits = [Bounds(-1.0, 1.0), Budget(0.0), GrossExposure(100.0)]  # gross: no cap

    def build() -> oh.HedgeProblem:
        return oh.HedgeProblem(
            oh.Portfolio.from_holdings(holdings),
            hedges,
            objective=oh.Variance(),
            constraints=limits,
            risk_model=rm,
            horizon=1,
            market="F0",
        )

    build().solve()  # import and first-call costs are not the problem's
    cold, first = timed(lambda: build().solve())
    problem = build()
    problem.solve()
    start = time.perf_counter()
    problem.solve({"gross_exposure.max": 50.0})  # first re-solve: compiles the DPP program
    first_resolve = time.perf_counter() - start
    caps = np.linspace(0.3, 1.5, WARM)
    start = time.perf_counter()
    solver_time = 0.0
    for cap in caps:
        res = problem.solve({"gross_exposure.max": float(cap)})
        solver_time += res.solver_stats["solve_time"] or 0.0
    warm = (time.perf_counter() - start) / WARM
    assert isinstance(first, oh.HedgeResult)
    return {
        "cold": cold,
        "first_resolve": first_resolve,
        "warm": warm,
        "solver": solver_time / WARM,
        "weights": first.weights.to_numpy(),
    }


def peers(sigma: pd.DataFrame, n_book: int, w0: np.ndarray) -> dict[str, object]:
    """Each peer solves min variance over [book assets fixed at w0 | hedges in [-1, 1]]."""
    lower = np.concatenate([w0, -np.ones(N_HEDGES)])
    upper = np.concatenate([w0, np.ones(N_HEDGES)])
    out: dict[str, object] = {}
    rng = np.random.default_rng(1)
    x_returns = pd.DataFrame(rng.normal(0, 0.01, (60, len(sigma))), columns=sigma.columns)
    try:
        from skfolio.moments import BaseCovariance
        from skfolio.optimization import MeanRisk
        from skfolio.prior import EmpiricalPrior

        class Fixed(BaseCovariance):  # type: ignore[misc]
            def fit(self, X: object, y: object = None) -> Fixed:
                self._set_covariance(sigma.to_numpy())
                return self

        def skfolio_solve() -> np.ndarray:
            m = MeanRisk(
                min_weights=lower,
                max_weights=upper,
                budget=1.0,
                prior_estimator=EmpiricalPrior(covariance_estimator=Fixed()),
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the peer's own warnings, not ours
                m.fit(x_returns)
            return np.asarray(m.weights_)[n_book:]

        out["skfolio"] = timed(skfolio_solve)
    except Exception as exc:
        out["skfolio"] = f"not run: {type(exc).__name__}: {exc}"[:200]
    try:
        import riskfolio as rp

        def riskfolio_solve() -> np.ndarray:
            port = rp.Portfolio(
                returns=x_returns, sht=True, uppersht=1.0, upperlng=1.0, budgetsht=float(N_HEDGES)
            )
            port.assets_stats(method_mu="hist", method_cov="hist")
            port.cov = sigma
            a = np.vstack([-np.eye(len(lower)), np.eye(len(lower))])  # riskfolio: A w <= B
            port.ainequality = a
            port.binequality = np.concatenate([-lower, upper])[:, None]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                w = port.optimization(model="Classic", rm="MV", obj="MinRisk", hist=True)
            return w.to_numpy().ravel()[n_book:] if w is not None else np.full(N_HEDGES, np.nan)

        out["riskfolio"] = timed(riskfolio_solve)
    except Exception as exc:
        out["riskfolio"] = f"not run: {type(exc).__name__}: {exc}"[:200]
    return out


def ms(times: list[float]) -> str:
    return "/".join(f"{t * 1e3:.1f}" for t in times) + " ms"


def report(title: str, r: dict[str, object], peer: dict[str, object]) -> None:
    cold = r["cold"]
    assert isinstance(cold, list)
    warm, solver = float(r["warm"]), float(r["solver"])  # type: ignore[arg-type]
    print(title)
    first = float(r["first_resolve"])  # type: ignore[arg-type]
    print(
        f"  optihedge cold (build + solve) {ms(cold)}; first re-solve (compiles the DPP "
        f"program, once per problem) {first * 1e3:.1f} ms; warm re-solve {warm * 1e3:.2f} ms; "
        f"solver's own time {solver * 1e3:.2f} ms (warm / solver {warm / solver:.1f}x)"
    )
    for name, value in peer.items():
        if isinstance(value, str):
            print(f"  {name}: {value}")
            continue
        times, w = value  # type: ignore[misc]
        gap = float(np.max(np.abs(np.asarray(w) - np.asarray(r["weights"]))))
        print(
            f"  {name}: {ms(times)} per solve; optihedge cold / {name} = "
            f"{min(cold) / min(times):.2f}x (best of {REPEATS}), warm / {name} = "
            f"{warm / min(times):.3f}x; max |weight gap| {gap:.1e}"
        )


def main() -> None:
    for n in (20, 2_000):
        rm, holdings = model(n)
        w = (holdings / holdings.sum()).to_numpy()
        reduced = as_one_asset(rm, holdings)
        book = pd.Series({"book": 1.0})
        report(
            f"same problem: book of {n} holdings as one asset + {N_HEDGES} hedges "
            f"({N_FACTORS}-factor covariance, 21 x 21 for the peers):",
            ours(reduced, book),
            peers(reduced.covariance(), 1, np.ones(1)),
        )
        report(
            f"full covariance: the peers get all {n} holdings + {N_HEDGES} hedges "
            f"({n + N_HEDGES} x {n + N_HEDGES}); optihedge the whole book in factored form:",
            ours(rm, holdings),
            peers(rm.covariance(), n, w) if n <= 2_000 else {},
        )


if __name__ == "__main__":
    main()

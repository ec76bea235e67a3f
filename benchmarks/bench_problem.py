"""HedgeProblem speed: re-solve vs rebuild vs the solver's own time, and against peers.

Problem: a book (20 or 2,000 holdings, weights fixed) and 20 hedge instruments; minimise
the variance of book + hedges with every hedge in [-1, 1] and the hedges netting to zero
(so that the same problem can be posed to skfolio and Riskfolio-Lib, which always impose
a budget). The risk model is a 10-factor model; optihedge uses it in factored form, the
peers get the same covariance as a dense matrix.

Printed ratios are measured in one run (the machine is shared and noisy). BLAS pinned to
one thread. Peers run only when the 'bench' extra is installed.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import optihedge as oh  # noqa: E402
from constraints import Bounds, Budget, GrossExposure  # noqa: E402
from factor_models import RiskModel  # noqa: E402

N_HEDGES, N_FACTORS, REPEATS = 20, 10, 15


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


def ours(rm: RiskModel, holdings: pd.Series) -> dict[str, float]:
    hedges = [oh.ETF(label=f"H{j:02d}", underlying=f"H{j:02d}") for j in range(N_HEDGES)]

    def build() -> oh.HedgeProblem:
        return oh.HedgeProblem(
            oh.Portfolio.from_holdings(holdings),
            hedges,
            objective=oh.Variance(),
            constraints=[Bounds(-1.0, 1.0), Budget(0.0), GrossExposure(2.0)],
            risk_model=rm,
            horizon=1,
            market="F0",
        )

    start = time.perf_counter()
    problem = build()
    first = problem.solve()
    t_first = time.perf_counter() - start
    caps = np.linspace(0.3, 1.5, REPEATS)
    start = time.perf_counter()
    solver_time = 0.0
    for cap in caps:
        res = problem.solve({"gross_exposure.max": float(cap)})
        solver_time += res.solver_stats["solve_time"] or 0.0
    t_resolve = (time.perf_counter() - start) / REPEATS
    start = time.perf_counter()
    for cap in caps[:5]:
        fresh = build()
        fresh.constraints[2].set_parameter("gross_exposure.max", float(cap))
        fresh.solve()
    t_rebuild = (time.perf_counter() - start) / 5
    slack = problem.solve({"gross_exposure.max": 100.0})  # no cap: the peers' problem
    return {
        "first": t_first,
        "resolve": t_resolve,
        "solver": solver_time / REPEATS,
        "rebuild": t_rebuild,
        "objective": first.objective_value,
        "weights": slack.weights.to_numpy(),
    }


def peers(rm: RiskModel, holdings: pd.Series) -> dict[str, tuple[float, np.ndarray] | str]:
    sigma = rm.covariance()
    w0 = (holdings / holdings.sum()).to_numpy()
    n_book = len(w0)
    lower = np.concatenate([w0, -np.ones(N_HEDGES)])
    upper = np.concatenate([w0, np.ones(N_HEDGES)])
    out: dict[str, tuple[float, np.ndarray] | str] = {}
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

        start = time.perf_counter()
        m = MeanRisk(
            min_weights=lower,
            max_weights=upper,
            budget=1.0,
            prior_estimator=EmpiricalPrior(covariance_estimator=Fixed()),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # peer's own warnings, not ours
            m.fit(x_returns)
        out["skfolio"] = (time.perf_counter() - start, np.asarray(m.weights_)[n_book:])
    except Exception as exc:
        out["skfolio"] = f"not run: {type(exc).__name__}: {exc}"[:200]
    try:
        import riskfolio as rp

        start = time.perf_counter()
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
        out["riskfolio"] = (
            time.perf_counter() - start,
            w.to_numpy().ravel()[n_book:] if w is not None else np.nan,
        )
    except Exception as exc:
        out["riskfolio"] = f"not run: {type(exc).__name__}: {exc}"[:200]
    return out


def main() -> None:
    for n in (20, 2_000):
        rm, holdings = model(n)
        r = ours(rm, holdings)
        print(f"book of {n} holdings, {N_HEDGES} hedge instruments, {N_FACTORS}-factor model:")
        print(
            f"  first build + solve {r['first'] * 1e3:.0f} ms; re-solve {r['resolve'] * 1e3:.1f} "
            f"ms per point; solver's own time {r['solver'] * 1e3:.2f} ms"
        )
        print(
            f"  re-solve / solver time: {r['resolve'] / r['solver']:.1f}x; "
            f"rebuild / re-solve: {r['rebuild'] / r['resolve']:.1f}x"
        )
        for name, value in peers(rm, holdings).items():
            if isinstance(value, str):
                print(f"  {name}: {value}")
                continue
            t, w = value
            gap = float(np.max(np.abs(np.asarray(w) - r["weights"])))
            print(
                f"  {name}: {t * 1e3:.0f} ms per solve = {t / r['resolve']:.0f}x optihedge's "
                f"re-solve, {t / r['first']:.1f}x its first solve; max |weight gap| {gap:.1e}"
            )


if __name__ == "__main__":
    main()

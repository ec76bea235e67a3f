"""Expected-shortfall attribution against the solve it explains.

20 hedge instruments, 2,000 holdings, 100,000 fat-tailed scenarios of 21-day returns from
a 5-factor model (the factors are columns of the scenarios, so their returns are read,
not estimated). Measured in one run (the machine is shared and noisy; BLAS on one
thread): the expected-shortfall solve with its problem build, then the attribution of
the result by leg, by holding and by factor, each as a ratio to the solve.

Target (issue 12): attribution costs less than the solve.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import optihedge as oh  # noqa: E402
from constraints import GrossExposure  # noqa: E402

N_SCENARIOS = 100_000
N_HOLDINGS = 2_000
N_FACTORS = 5
HORIZON = 21


def setup(seed: int = 0) -> tuple[oh.Portfolio, list[oh.Instrument], oh.Scenarios, oh.RiskModel]:
    rng = np.random.default_rng(seed)
    factors = [f"F{k}" for k in range(N_FACTORS)]
    stocks = [f"S{i}" for i in range(N_HOLDINGS)]
    loadings = rng.normal(0.0, 0.4, (N_HOLDINGS, N_FACTORS))
    loadings[:, 0] += 1.0  # a market factor
    f = np.clip(rng.standard_t(4, (N_SCENARIOS, N_FACTORS)) * 0.03, -0.5, 0.5)
    specific = rng.uniform(0.03, 0.08, N_HOLDINGS)
    r = np.clip(f @ loadings.T + rng.standard_t(5, (N_SCENARIOS, N_HOLDINGS)) * specific, -0.9, 0.9)
    frame = pd.DataFrame(np.hstack([r, f]), columns=[*stocks, *factors])
    scenarios = oh.Scenarios.from_returns(frame, horizon=HORIZON)
    model = oh.RiskModel(
        pd.DataFrame(loadings, index=stocks, columns=factors),
        pd.DataFrame(np.cov(f.T), index=factors, columns=factors),
        pd.Series(specific**2, index=stocks),
        horizon=HORIZON,
    )
    book = oh.Portfolio.from_holdings(pd.Series(1.0 / N_HOLDINGS, index=stocks))
    instruments: list[oh.Instrument] = [oh.Future(f"FUT {k}", underlying=k) for k in factors]
    instruments += [oh.ETF(f"ETF {s}", underlying=s) for s in stocks[:15]]
    return book, instruments, scenarios, model


def timed(fn: object) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()  # type: ignore[operator]
    return time.perf_counter() - start, out


def main() -> None:
    book, instruments, scenarios, model = setup()

    def solve() -> oh.HedgeResult:
        problem = oh.HedgeProblem(
            book,
            instruments,
            objective=oh.ExpectedShortfall(0.95),
            constraints=[GrossExposure(1.5)],
            scenarios=scenarios,
            risk_model=model,
            horizon=HORIZON,
            market="F0",
        )
        return problem.solve()

    solve_time, result = timed(solve)
    assert isinstance(result, oh.HedgeResult)
    print(
        f"{len(instruments)} instruments x {N_HOLDINGS:,} holdings x {N_SCENARIOS:,} scenarios: "
        f"expected-shortfall solve with build {solve_time:.2f} s (status {result.status})"
    )
    for by in ("leg", "holding", "factor"):
        best = min(
            timed(lambda b=by: result.attribution(b, "expected_shortfall"))[0] for _ in range(3)
        )
        print(f"  attribution by {by:<8} {best * 1e3:8.1f} ms   / solve {best / solve_time:6.3f}")
    best = min(timed(lambda: result.attribution("factor"))[0] for _ in range(3))
    print(f"  volatility by factor   {best * 1e3:8.1f} ms   / solve {best / solve_time:6.3f}")


if __name__ == "__main__":
    main()

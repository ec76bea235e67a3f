"""Option repricing in scenarios against the expected-shortfall solve that follows.

50 option instruments (puts, calls, collars and put spreads on one index, strikes from
80% to 120%, expiries from 10 to 252 trading days, some expiring inside the horizon) are
repriced over 100,000 Monte Carlo scenarios: Black-Scholes at each scenario's level, its
volatility (spot-volatility beta, skew) and the time left. Reported, as ratios measured
in one run (the machine is shared and noisy; BLAS on one thread):

- repricing against pure scenario linear algebra: the same 50 columns for linear
  instruments (delta times the underlying's return), and one pass of the hedged P&L
  (scenarios x instruments times positions), what the solver does per iteration;
- repricing against the expected-shortfall solve that follows (problem build included).

Target (issue 10): the repricing must not dominate the solve.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import optihedge as oh  # noqa: E402
from constraints import GrossExposure, PremiumBudget  # noqa: E402
from optihedge.optimize.data import scenario_matrix  # noqa: E402

N_SCENARIOS = 100_000
HORIZON = 21
REPEATS = 3
MARKET = oh.MarketState(
    spot={"IDX": 4000.0}, volatility={"IDX": 0.2}, rate=0.04, dividend_yield={"IDX": 0.015}
)


def scenarios(seed: int = 0) -> oh.Scenarios:
    """Fat-tailed 21-day returns of a book and its index."""
    rng = np.random.default_rng(seed)
    idx = np.clip(rng.standard_t(4, N_SCENARIOS) * 0.04, -0.6, 0.6)
    book = np.clip(0.9 * idx + rng.standard_t(4, N_SCENARIOS) * 0.015, -0.9, 0.9)
    frame = pd.DataFrame({"BOOK": book, "IDX": idx})
    return oh.Scenarios.from_returns(frame, horizon=HORIZON)


def options() -> list[oh.Instrument]:
    out: list[oh.Instrument] = []
    expiries = [10, 21, 42, 63, 126, 252]
    for i in range(50):
        m = 0.8 + 0.4 * (i % 11) / 10
        expiry = expiries[i % len(expiries)]
        kind = i % 4
        if kind == 0:
            out.append(oh.Put(f"P{i}", underlying="IDX", moneyness=m, expiry=expiry))
        elif kind == 1:
            out.append(oh.Call(f"C{i}", underlying="IDX", moneyness=m, expiry=expiry))
        elif kind == 2:
            out.append(
                oh.Collar(f"K{i}", underlying="IDX", put_moneyness=min(m, 0.95),
                          call_moneyness=max(m, 0.95) + 0.05, expiry=expiry)
            )  # fmt: skip
        else:
            out.append(
                oh.PutSpread(f"S{i}", underlying="IDX", upper_moneyness=max(m, 0.85),
                             lower_moneyness=max(m, 0.85) - 0.1, expiry=expiry)
            )  # fmt: skip
    return out


def best(fn: object, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    s = scenarios()
    opts = options()
    linear = [oh.Future(f"F{i}", underlying="IDX") for i in range(50)]
    x = np.full(50, 0.01)
    reprice = best(lambda: scenario_matrix(opts, s, MARKET))
    columns = best(lambda: scenario_matrix(linear, s, MARKET))
    matrix = scenario_matrix(opts, s, MARKET)
    matvec = best(lambda: s.returns["BOOK"].to_numpy() + matrix @ x, 20)

    book = oh.Portfolio.from_holdings({"BOOK": 1.0})
    instruments = [oh.Future("F", underlying="IDX"), *opts]

    def solve() -> oh.HedgeResult:
        problem = oh.HedgeProblem(
            book,
            instruments,
            objective=oh.ExpectedShortfall(0.975),
            constraints=[GrossExposure(1.0), PremiumBudget(0.01)],
            scenarios=s,
            market="IDX",
            market_state=MARKET,
        )
        return problem.solve()

    result = solve()
    total = best(solve, 2)
    print(f"{len(opts)} option instruments x {N_SCENARIOS:,} scenarios, horizon {HORIZON} days")
    print(f"  repricing (full Black-Scholes, vol model)  {reprice * 1e3:8.1f} ms")
    print(f"  linear columns (delta x return), 50        {columns * 1e3:8.1f} ms")
    print(f"  one hedged-P&L pass (matrix @ x)           {matvec * 1e3:8.1f} ms")
    print(f"  expected-shortfall solve, build included   {total * 1e3:8.1f} ms "
          f"(status {result.status}, {int((result.weights != 0).sum())} positions)")  # fmt: skip
    print(f"  repricing / linear columns      {reprice / columns:6.1f}x")
    print(f"  repricing / one P&L pass        {reprice / matvec:6.1f}x")
    print(f"  repricing / whole solve         {reprice / total:6.2f}  (target < 1: not dominant)")


if __name__ == "__main__":
    main()

"""Backtest speed (issue 22, Benchmark (a)): optihedge against cvxportfolio 1.5.

The 22-year monthly futures overlay, the same problem on both sides.

Problem: a book of the 20 embedded stocks, equal value (USD 1m in all) on the first day of
the data (2000-01-03), bought and held to 2022-12-28; its hedge is a position in the S&P
500 (the ``SP500`` column) that minimises the variance of book + hedge, re-chosen at the
close of each month from a risk model estimated on the three years of returns before the
decision date (nothing from the decision date on). The first decision is the first month
end with three years of returns behind it (2003-01-31); the last is the month end before
the last date of the data: 239 rebalances.

cvxportfolio, set up the way its documentation and examples do it:

- market data as DataFrames (``UserProvidedMarketData``): its returns are forward
  returns (the row of date t is the return from the close of t to the next close), the
  21 assets plus a cash column of zero returns (the hedge is a futures overlay: short
  index plus its proceeds in cash is a future at a zero rate; and a cash column given
  with the data is what keeps cvxportfolio from downloading rates from FRED);
- ``trading_frequency="monthly"``: cvxportfolio resamples the returns to months and
  decides at the first trading day of each month (the close after our month end: the same
  239 months, one day later) and marks only then;
- ``SinglePeriodOptimization`` maximising ``-FullCovariance(...)``: the full covariance of
  the 21 assets from its ``HistoricalFactorizedCovariance`` forecaster (classic
  covariance, ``kelly=False``; a rolling three years of its monthly returns), with the
  stocks held by ``MaxTradeWeights`` / ``MinTradeWeights`` at 0 (only the hedge trades),
  no costs (``MarketSimulator`` has none by default), solver Clarabel (what its timing
  example uses; its default for a QP would be OSQP, which the ``osqp<1`` that
  cvxportfolio 1.5 pins cannot run under cvxpy 1.9).

cvxportfolio must not download anything: its import and backtest run with Python's
sockets and its HTTP getter refused, in a temporary data folder that must stay empty;
the script prints both checks.

The optihedge side is :func:`optihedge_side` (clearly marked: the integrator replaces its
body with the optihedge backtest call). Until then it runs the plain loop issue 22
describes: monthly ``problem.solve(portfolio=..., risk_model=..., current=...)`` with a
Future on SP500 and ``Variance()``, a one-factor model (SP500) on three years of daily
returns; it marks nothing between decisions.

Every figure is from one run, BLAS on one thread, each side run ``REPEATS`` times, the
two sides taking turns (the machine is shared: both see the same load); the ratio uses
the best of each. The time per rebalance is the whole backtest call (build,
estimation, solves, marking) over the rebalances; the data's own preparation (returns,
cvxportfolio's resampling) is printed apart and not counted. Without cvxportfolio (the
``bench`` extra) the script says so and stops.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import contextlib  # noqa: E402
import importlib.util  # noqa: E402
import socket  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import optihedge as oh  # noqa: E402
from factor_models import FactorModel, RiskModel  # noqa: E402
from optihedge.calendar import TRADING_DAYS, Frequency  # noqa: E402

START, END = "2000-01-01", "2022-12-28"
HEDGE = "SP500"  # the traded hedge asset (the S&P 500 index level)
CAPITAL = 1_000_000.0  # the book's value on the first day, split equally
YEARS = 3  # estimation window of both sides, in years
WINDOW = YEARS * TRADING_DAYS  # daily returns in optihedge's estimation window
CASH = "cash"  # cvxportfolio's cash column: zero returns (a futures overlay at a zero rate)
REPEATS = 3
PEER = "cvxportfolio"


# ---------------------------------------------------------------------------------------
# The data and the calendar (pure: tests/test_bench_backtest.py checks them)
# ---------------------------------------------------------------------------------------


def load_prices(start: str = START, end: str = END) -> pd.DataFrame:
    """Return the closes of the 20 embedded stocks and of the hedge asset, from the data."""
    meta = oh.datasets.metadata()
    stocks = [str(t) for t in meta.index[meta["kind"] == "stock"]]
    return oh.datasets.load_default(start=start, end=end, columns=[*stocks, HEDGE])


def stock_names(prices: pd.DataFrame) -> list[str]:
    """Return the book's tickers: every column but the hedge asset."""
    return [str(c) for c in prices.columns if c != HEDGE]


def book_shares(prices: pd.DataFrame, capital: float = CAPITAL) -> pd.Series:
    """Return the shares of the buy-and-hold book: equal value on the first date."""
    stocks = stock_names(prices)
    first = prices[stocks].iloc[0]
    return (capital / len(stocks)) / first


def book_holdings(prices: pd.DataFrame, shares: pd.Series, date: pd.Timestamp) -> pd.Series:
    """Return the book's market value by stock at the close of ``date``."""
    return shares * prices.loc[date, shares.index]


def daily_returns(prices: pd.DataFrame) -> pd.DataFrame:
    """Return simple daily returns, each dated at its end (known at that close)."""
    return oh.returns_from_prices(prices)


def month_ends(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Return the last date of each calendar month present in ``index``."""
    dates = pd.Series(index, index=index)
    return pd.DatetimeIndex(dates.groupby(index.to_period("M")).max().to_numpy())


def decision_dates(prices: pd.DataFrame, window: int = WINDOW) -> pd.DatetimeIndex:
    """Return the rebalance dates: month ends with ``window`` returns before them.

    The last date of the data is left out (nothing follows it to hold a hedge over).
    """
    returns_index = daily_returns(prices).index
    ends = month_ends(pd.DatetimeIndex(prices.index))
    before = returns_index.searchsorted(ends, side="left")  # returns dated < each end
    keep = (before >= window) & (ends < prices.index[-1])
    return ends[keep]


def estimation_window(
    returns: pd.DataFrame, date: pd.Timestamp, window: int = WINDOW
) -> pd.DataFrame:
    """Return the ``window`` returns dated strictly before ``date`` (ends the day before)."""
    past = returns.loc[returns.index < date]
    if len(past) < window:
        raise ValueError(
            f"estimation_window: {len(past)} returns before {date:%Y-%m-%d}, window "
            f"{window} needs {window}; start the decisions later"
        )
    return past.iloc[-window:]


def peer_returns(prices: pd.DataFrame) -> pd.DataFrame:
    """Return cvxportfolio's market data: forward returns and a zero-return cash column.

    The row of date t is the return from the close of t to the next close (cvxportfolio's
    convention: known only after t); the last row is unknown (NaN). The cash column comes
    last, as cvxportfolio requires of user-provided cash.
    """
    forward = prices.shift(-1) / prices - 1.0
    forward[CASH] = 0.0
    return forward


# ---------------------------------------------------------------------------------------
# One side's run
# ---------------------------------------------------------------------------------------


@dataclass
class SideRun:
    """What one side's backtest took and what it decided."""

    name: str
    setup: str  # one line: how the side was set up
    seconds: list[float] = field(default_factory=list)  # wall time of each repeat
    rebalances: int = 0
    hedge_ratio: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    components: dict[str, float] = field(default_factory=dict)  # ms per rebalance, best run
    notes: list[str] = field(default_factory=list)

    @property
    def per_rebalance(self) -> float:
        """Best wall time per rebalance, in seconds."""
        return min(self.seconds) / self.rebalances


# =======================================================================================
# OPTIHEDGE SIDE -- the integrator replaces the body of this function with the optihedge
# backtest call (the policy: this futures overlay, variance, monthly at month ends, a
# three-year estimation window; marking every day), keeping its signature and the
# SideRun it returns: the wall time of each repeat, the number of rebalances, the hedge
# ratio (short hedge notional / book value) at each decision, and the time split by
# component (estimate, scenarios, solve, mark, store) in ms per rebalance.
# For now it runs the plain loop of issue 22 (no daily marks, no P&L, no costs).
# =======================================================================================
def optihedge_side(
    prices: pd.DataFrame, shares: pd.Series, dates: pd.DatetimeIndex, repeats: int = REPEATS
) -> SideRun:
    """Run the optihedge side of the benchmark ``repeats`` times; see the module text."""
    stocks = list(shares.index)
    returns = daily_returns(prices)  # data preparation: not timed
    run = SideRun(
        name="optihedge",
        setup=(
            "plain loop, issue 22: monthly problem.solve(portfolio=, risk_model=, current=), "
            f"Future on {HEDGE}, Variance(), FactorModel({HEDGE}) on {WINDOW} daily returns; "
            "no daily marks"
        ),
        rebalances=len(dates),
    )

    def model_at(date: pd.Timestamp) -> RiskModel:
        past = estimation_window(returns, date)
        return FactorModel(windows=(WINDOW,)).fit(past[stocks], past[[HEDGE]]).risk_model_

    def book_at(date: pd.Timestamp) -> oh.Portfolio:
        return oh.Portfolio.from_holdings(book_holdings(prices, shares, date))

    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        first = dates[0]
        future = oh.Future(
            label="ES", underlying=HEDGE, price=float(prices.loc[first, HEDGE]), multiplier=50.0
        )
        problem = oh.HedgeProblem(
            book_at(first),
            [future],
            objective=oh.Variance(),
            constraints=[],
            risk_model=model_at(first),
            horizon=Frequency.MONTHLY.trading_days_per_period,
            market=HEDGE,
        )
        build = time.perf_counter() - start
        estimate = solve = 0.0
        current: pd.Series | None = None
        ratio: dict[pd.Timestamp, float] = {}
        for date in dates:
            tick = time.perf_counter()
            model, book = model_at(date), book_at(date)
            tock = time.perf_counter()
            result = problem.solve(portfolio=book, risk_model=model, current=current)
            estimate += tock - tick
            solve += time.perf_counter() - tock
            current = result.weights
            ratio[date] = -float(result.weights["ES"])
        total = time.perf_counter() - start
        run.seconds.append(total)
        if total < best:
            best = total
            n = len(dates)
            run.components = {
                "build (once)": build * 1e3 / n,
                "estimate": estimate * 1e3 / n,
                "solve": solve * 1e3 / n,
            }
            run.hedge_ratio = pd.Series(ratio, name="optihedge")
    return run


# =======================================================================================
# CVXPORTFOLIO SIDE
# =======================================================================================


@contextlib.contextmanager
def no_network(attempts: list[str]) -> Iterator[None]:
    """Refuse Python sockets (and cvxportfolio's HTTP getter, when loaded); log attempts."""

    def refuse(what: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{what}{args[:2]!r}")
            raise OSError(f"bench_backtest: network refused ({what})")

        return call

    saved = {
        "connect": socket.socket.connect,
        "create_connection": socket.create_connection,
        "getaddrinfo": socket.getaddrinfo,
    }
    socket.socket.connect = refuse("socket.connect")  # type: ignore[method-assign]
    socket.create_connection = refuse("socket.create_connection")
    socket.getaddrinfo = refuse("socket.getaddrinfo")
    try:
        yield
    finally:
        socket.socket.connect = saved["connect"]  # type: ignore[method-assign]
        socket.create_connection = saved["create_connection"]
        socket.getaddrinfo = saved["getaddrinfo"]


def peer_available() -> bool:
    """Return whether cvxportfolio can be imported (the ``bench`` extra)."""
    try:
        return importlib.util.find_spec(PEER) is not None
    except (ImportError, ValueError):
        return False


def cvxportfolio_side(
    prices: pd.DataFrame, shares: pd.Series, dates: pd.DatetimeIndex, repeats: int = REPEATS
) -> SideRun:
    """Run the cvxportfolio side ``repeats`` times; see the module text for the choices."""
    stocks = list(shares.index)
    attempts: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench_backtest_cvxportfolio_") as folder:
        base = Path(folder)
        with no_network(attempts):
            import cvxportfolio as cvx
            import cvxportfolio.data.symbol_data as symbol_data

            symbol_data.get = no_network_getter(attempts)  # its HTTP getter (curl_cffi)
            run = SideRun(
                name=f"cvxportfolio {cvx.__version__}",
                setup=(
                    "SinglePeriodOptimization(-FullCovariance(HistoricalFactorizedCovariance"
                    f"(rolling={YEARS} years, kelly=False))), stocks' trade weights fixed at 0, "
                    "solver CLARABEL; UserProvidedMarketData(trading_frequency='monthly'): "
                    "decides and marks monthly"
                ),
            )
            limit = pd.Series(0.0, index=[*stocks, HEDGE])
            limit[HEDGE] = 10.0  # only the hedge trades (weights of the book's value)
            forward = peer_returns(prices)
            best = np.inf
            for _ in range(repeats):
                tick = time.perf_counter()
                market = cvx.UserProvidedMarketData(
                    returns=forward, cash_key=CASH, trading_frequency="monthly", base_location=base
                )
                prepare = time.perf_counter() - tick
                calendar = market.trading_calendar(start_time=dates[0] + pd.Timedelta(1, "D"))
                first = calendar[0]
                h0 = pd.concat(
                    [book_holdings(prices, shares, first), pd.Series({HEDGE: 0.0, CASH: 0.0})]
                )
                start = time.perf_counter()
                risk = cvx.FullCovariance(
                    cvx.forecast.HistoricalFactorizedCovariance(
                        rolling=pd.Timedelta(f"{YEARS * 365.24}D"),  # cvxportfolio's year
                        kelly=False,
                    )
                )
                policy = cvx.SinglePeriodOptimization(
                    -risk,
                    [cvx.MaxTradeWeights(limit), cvx.MinTradeWeights(-limit)],
                    solver="CLARABEL",
                )
                simulator = cvx.MarketSimulator(market_data=market, base_location=base)
                result = simulator.backtest(policy, start_time=first, h=h0)
                total = time.perf_counter() - start
                run.seconds.append(total)
                trades = result.u
                run.rebalances = len(trades)
                if total < best:
                    best = total
                    n = len(trades)
                    run.components = {
                        "policy (estimate + solve)": float(result.policy_times.sum()) * 1e3 / n,
                        "simulator (mark + trade)": float(result.simulator_times.sum()) * 1e3 / n,
                        "data resampling (not counted)": prepare * 1e3 / n,
                    }
                    held = result.h.loc[trades.index]
                    ratio = -(held[HEDGE] + trades[HEDGE]) / held[stocks].sum(axis=1)
                    # its decision at the first close of a month is our previous month end
                    position = prices.index.get_indexer(ratio.index)
                    ratio.index = prices.index[position - 1]
                    run.hedge_ratio = ratio.rename("cvxportfolio")
                    stock_trades = float((trades[stocks].abs().sum(axis=1) / result.v).max())
        written = sorted(p.name for p in base.rglob("*"))
    run.notes.append(
        f"no network: {len(attempts)} attempt(s) refused"
        + (f" ({'; '.join(attempts[:3])})" if attempts else "")
        + f"; {len(written)} file(s) written in its data folder"
        + (f" ({', '.join(written[:5])})" if written else "")
    )
    run.notes.append(f"the stocks' trades at most {stock_trades:.1e} of the portfolio's value")
    return run


def no_network_getter(attempts: list[str]) -> Any:
    """Return a stand-in for cvxportfolio's HTTP ``get`` that refuses and logs the call."""

    def get(*args: Any, **kwargs: Any) -> Any:
        attempts.append(f"http get {kwargs.get('url', args[:1])!r}")
        raise OSError("bench_backtest: network refused (cvxportfolio http get)")

    return get


# ---------------------------------------------------------------------------------------


def best_of(runs: list[SideRun]) -> SideRun:
    """Return the fastest run, carrying the wall times of all of them."""
    best = min(runs, key=lambda run: min(run.seconds))
    best.seconds = [seconds for run in runs for seconds in run.seconds]
    return best


def ms(seconds: list[float], n: int) -> str:
    return "/".join(f"{s * 1e3 / n:.2f}" for s in seconds) + " ms"


def report(run: SideRun) -> None:
    parts = ", ".join(f"{k} {v:.2f}" for k, v in run.components.items())
    print(f"  {run.name}: {run.setup}")
    print(
        f"    {run.rebalances} rebalances in {'/'.join(f'{s:.2f}' for s in run.seconds)} s: "
        f"{ms(run.seconds, run.rebalances)} per rebalance (ms per rebalance, best run: {parts})"
    )
    for note in run.notes:
        print(f"    {note}")


def main() -> int:
    if not peer_available():
        print(
            "bench_backtest: skipped: cvxportfolio is not installed "
            "(pip install -e '.[bench]' installs cvxportfolio 1.5.0)"
        )
        return 0
    prices = load_prices()
    shares = book_shares(prices)
    dates = decision_dates(prices)
    print(
        f"backtest: book of {len(shares)} stocks (buy and hold, equal value on "
        f"{prices.index[0]:%Y-%m-%d}) hedged with {HEDGE} at minimum variance, monthly "
        f"{dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d}, {YEARS}-year estimation window; "
        f"BLAS on 1 thread, {REPEATS} repeats taking turns"
    )
    ours_runs: list[SideRun] = []
    peer_runs: list[SideRun] = []
    for _ in range(REPEATS):  # interleaved: both sides see the same load of a shared machine
        ours_runs.append(optihedge_side(prices, shares, dates, repeats=1))
        peer_runs.append(cvxportfolio_side(prices, shares, dates, repeats=1))
    ours, peer = best_of(ours_runs), best_of(peer_runs)
    report(ours)
    report(peer)
    both = pd.concat([ours.hedge_ratio, peer.hedge_ratio], axis=1, join="inner")
    print(
        f"  hedge ratio (short {HEDGE} notional / book): optihedge mean "
        f"{ours.hedge_ratio.mean():.3f}, cvxportfolio mean {peer.hedge_ratio.mean():.3f}; "
        f"{len(both)} common months, correlation {both.corr().iloc[0, 1]:.2f}, mean |gap| "
        f"{(both.iloc[:, 0] - both.iloc[:, 1]).abs().mean():.3f} (daily against monthly returns)"
    )
    print(
        f"  ratio: cvxportfolio / optihedge time per rebalance = "
        f"{peer.per_rebalance / ours.per_rebalance:.2f}x (best of {REPEATS} each; issue 22 "
        "asks >= 2x with optihedge marking every day)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

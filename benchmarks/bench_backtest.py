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

optihedge, :func:`optihedge_side`: ``optihedge.backtest`` of :func:`overlay_policy` (a
Future ``ES`` on SP500, multiplier 50, ``Variance()``, the sample covariance of the 756
daily returns before each decision, ``Schedule("month_end")`` on the data's own calendar,
no costs, no rate), from the first decision to the data's last day: it decides at the same
239 month ends, trades whole contracts, rolls the future quarterly and marks every day
(5,013 marks). The time by component is the result's ``meta["timings"]`` (estimate,
scenarios, solve, mark, trade; "other" is the rest of the call: the day loop's rolls,
signals and records, and the result's tables); the store's cost is measured by one more
run with ``store=`` (a commit per decision), reported beside the split, not in the ratio.
The engine keeps estimates across backtests of a process: each repeat empties
that cache first, so every repeat estimates as a first run does.

Benchmark (b), :func:`shortfall_side`: the same backtest with ``ExpectedShortfall(0.95)``
over 10,000 bootstrapped one-month paths of the window (``ScenarioRecipe("bootstrap")``),
against one cold solve of that problem (``HedgeProblem(...)`` built and ``solve_point()``
from scratch on one decision date's risk model and scenarios, made before the clock; the
mean over 12 dates spread over the period); the two take turns, ``REPEATS_B`` times. Issue
22 asks the time per rebalance to be at most 1.5 times the cold solve. A second ratio
counts the making of the date's inputs (estimate and scenarios) on the cold side too.

``--profile`` prints cProfile's top entries of one optihedge run (after a short warm-up
run, so imports are not counted); ``--no-shortfall`` skips Benchmark (b).

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
from collections.abc import Iterator, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import optihedge as oh  # noqa: E402
from optihedge.backtests import (  # noqa: E402
    CostModel,
    Estimation,
    HedgePolicy,
    ScenarioRecipe,
    Schedule,
)
from optihedge.calendar import TRADING_DAYS, Frequency, TradingCalendar  # noqa: E402
from optihedge.optimize.spec import ProblemSpec  # noqa: E402

START, END = "2000-01-01", "2022-12-28"
HEDGE = "SP500"  # the traded hedge asset (the S&P 500 index level)
CAPITAL = 1_000_000.0  # the book's value on the first day, split equally
YEARS = 3  # estimation window of both sides, in years
WINDOW = YEARS * TRADING_DAYS  # daily returns in optihedge's estimation window
CASH = "cash"  # cvxportfolio's cash column: zero returns (a futures overlay at a zero rate)
REPEATS = 3
PEER = "cvxportfolio"
FUTURE = "ES"  # the hedge: a future on HEDGE
MULTIPLIER = 50.0  # index points to dollars, as the E-mini S&P 500
HORIZON = Frequency.MONTHLY.trading_days_per_period  # the problem's horizon: one month
SCENARIOS = 10_000  # Benchmark (b): scenarios of the expected-shortfall objective
ALPHA = 0.95  # Benchmark (b): the expected shortfall's level
REPEATS_B = 2  # Benchmark (b): repeats (a backtest of 239 shortfall solves is long)
COLD_DATES = 12  # Benchmark (b): decision dates the cold solve is timed on


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
    marks: int = 0  # days marked (0: the side marks only when it decides)
    hedge_ratio: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    components: dict[str, float] = field(default_factory=dict)  # ms per rebalance, best run
    store_ms: float | None = None  # ms per rebalance a store adds (a commit per decision)
    notes: list[str] = field(default_factory=list)

    @property
    def per_rebalance(self) -> float:
        """Best wall time per rebalance, in seconds."""
        return min(self.seconds) / self.rebalances


# =======================================================================================
# OPTIHEDGE SIDE: the walk-forward backtest (optihedge.backtest), marking every day
# =======================================================================================


def overlay_policy(
    prices: pd.DataFrame,
    objective: Any = None,
    scenarios: Any = None,
    name: str = "futures overlay",
) -> HedgePolicy:
    """Return the benchmark's policy: a Future on the hedge asset, month-end decisions.

    The problem of both sides: the variance of book + hedge (``objective`` None), or the
    given objective (an expected shortfall with its ``scenarios`` recipe, Benchmark
    (b)); the risk model is the sample covariance of the ``WINDOW`` daily returns before
    each decision (what cvxportfolio's ``HistoricalFactorizedCovariance`` is over its
    monthly returns); decisions at each month end of the data's own calendar.
    """
    first = float(prices[HEDGE].iloc[0])
    future = oh.Future(label=FUTURE, underlying=HEDGE, price=first, multiplier=MULTIPLIER)
    spec = ProblemSpec(
        (future,),
        oh.Variance() if objective is None else objective,
        (),
        Frequency.MONTHLY.trading_days_per_period,
        HEDGE,
    )
    return HedgePolicy(
        name=name,
        spec=spec,
        schedule=Schedule("month_end", calendar=TradingCalendar.from_dates(prices.index)),
        estimation=Estimation(kind="sample", window=WINDOW),
        scenarios=scenarios,
    )


def shortfall_recipe(n: int = SCENARIOS) -> ScenarioRecipe:
    """Return Benchmark (b)'s scenarios: ``n`` bootstrapped one-month paths of the window."""
    return ScenarioRecipe(kind="bootstrap", n=n, window=WINDOW, horizon=HORIZON)


def hedge_ratios(result: Any) -> pd.Series:
    """Return the solved hedge ratio at each decision: short notional / book value.

    The decision's target weight of the future is a fraction of the hedged account's
    value (``hedged_value``); the ratio is against the book's (``book_value``) that day.
    """
    decisions, daily = result.decisions, result.daily
    weight = decisions[f"weight[{FUTURE}]"].astype(float)
    nav = daily["hedged_value"].reindex(decisions.index)
    book = daily["book_value"].reindex(decisions.index)
    ratio: pd.Series = (-weight * nav / book).rename("optihedge")
    return ratio


def component_ms(timings: dict[str, float], wall: float, rebalances: int) -> dict[str, float]:
    """Return ms per rebalance by component, with ``other`` the wall time none of them hold.

    ``timings``: seconds by component (the result's ``meta["timings"]``); ``wall``: the
    whole backtest call, seconds.
    """
    if rebalances < 1:
        raise ValueError(f"component_ms: rebalances={rebalances}; pass at least 1")
    out = {k: v * 1e3 / rebalances for k, v in timings.items()}
    out["other"] = (wall - sum(timings.values())) * 1e3 / rebalances
    return out


def clear_estimates() -> None:
    """Empty the engine's estimate cache (kept across backtests of one process).

    Every repeat must estimate from scratch, as the first backtest of a process does; the
    engine has no public switch for it yet (see the report of issue 22's benchmark).
    """
    engine = importlib.import_module("optihedge.backtests.engine")
    cache = getattr(engine, "_ESTIMATES", None)
    if cache is not None:
        cache.clear()


def run_backtest(
    prices: pd.DataFrame,
    shares: pd.Series,
    dates: pd.DatetimeIndex,
    policy: HedgePolicy,
    store: Path | None = None,
) -> tuple[Any, float]:
    """Run ``policy`` from the first decision date to the data's end; return it and its time.

    The book: the buy-and-hold holdings at the first decision's close; the account's value
    is the book's (no cash), no costs (the peer's simulator has none), no rate.
    """
    book = oh.Portfolio.from_holdings(book_holdings(prices, shares, dates[0]))
    clear_estimates()
    start = time.perf_counter()
    result = oh.backtest(policy, prices, start=dates[0], book=book, costs=CostModel(), store=store)
    return result, time.perf_counter() - start


def optihedge_side(
    prices: pd.DataFrame, shares: pd.Series, dates: pd.DatetimeIndex, repeats: int = REPEATS
) -> SideRun:
    """Run the optihedge backtest ``repeats`` times; see the module text.

    ``dates[0]`` is the first decision (the backtest's start); the policy decides at each
    month end from there and marks every day to the data's last.
    """
    policy = overlay_policy(prices)
    run = SideRun(
        name="optihedge",
        setup=(
            f"optihedge.backtest: Future on {HEDGE}, Variance(), sample covariance of "
            f"{WINDOW} daily returns, Schedule('month_end'), marks every day, whole contracts"
        ),
    )
    best = np.inf
    for _ in range(repeats):
        result, total = run_backtest(prices, shares, dates, policy)
        run.seconds.append(total)
        if total < best:
            best = total
            run.rebalances = len(result.decisions)
            run.marks = len(result.daily)
            run.components = component_ms(result.meta["timings"], total, run.rebalances)
            run.hedge_ratio = hedge_ratios(result)
    with tempfile.TemporaryDirectory() as folder:  # the same run, each decision committed
        _, stored = run_backtest(prices, shares, dates, policy, Path(folder) / "bt.duckdb")
    store_ms = (stored - best) * 1e3 / max(run.rebalances, 1)
    run.store_ms = store_ms
    run.notes.append(
        f"{run.marks} daily marks; compiles {result.meta['compiles']}; store: the same run "
        f"with store= (a DuckDB commit per decision) took {stored:.2f} s, "
        f"{store_ms:.2f} ms more per rebalance (not in the ratio); the estimate cache "
        "emptied before each repeat"
    )
    return run


def shortfall_side(
    prices: pd.DataFrame,
    shares: pd.Series,
    dates: pd.DatetimeIndex,
    repeats: int = REPEATS_B,
    n: int = SCENARIOS,
    cold_dates: int = COLD_DATES,
) -> ShortfallRun:
    """Benchmark (b): the backtest with an expected-shortfall objective against cold solves.

    Each repeat times one cold solve on each of ``cold_dates`` decision dates spread over
    the period (``HedgeProblem(...)`` built and ``solve_point()`` from scratch, on that
    date's risk model and scenarios, made on a clock of their own: ``inputs``), then the
    whole backtest; the two take turns. The ratio: the backtest's time per rebalance over
    the mean cold solve (best repeat of each); ``ratio_with_inputs`` counts the inputs'
    making on the cold side too (the backtest makes them on every decision).
    """
    recipe = shortfall_recipe(n)
    objective = oh.ExpectedShortfall(ALPHA)
    policy = overlay_policy(prices, objective=objective, scenarios=recipe, name="ES overlay")
    returns = daily_returns(prices)
    returns.attrs = {}  # as the engine does: pandas deep-copies attrs on every operation
    picks = dates[np.linspace(0, len(dates) - 1, min(cold_dates, len(dates))).astype(int)]
    future = policy.spec.instruments[0]
    out = ShortfallRun(scenarios=n, cold_dates=len(picks))
    for _ in range(repeats):
        cold, made = [], []
        for date in picks:
            tick = time.perf_counter()
            window = estimation_window(returns, date)
            model = policy.estimation.estimate(window, Frequency.DAILY)
            scen = recipe.build(window, model, date)
            book = oh.Portfolio.from_holdings(book_holdings(prices, shares, date))
            tock = time.perf_counter()
            problem = oh.HedgeProblem(
                book,
                [future],
                objective=oh.ExpectedShortfall(ALPHA),
                risk_model=model,
                scenarios=scen,
                horizon=HORIZON,
                market=HEDGE,
            )
            problem.solve_point()
            cold.append(time.perf_counter() - tock)
            made.append(tock - tick)
        out.cold.append(float(np.mean(cold)))
        out.inputs.append(float(np.mean(made)))
        result, total = run_backtest(prices, shares, dates, policy)
        out.seconds.append(total)
        if total <= min(out.seconds):
            out.rebalances = len(result.decisions)
            out.components = component_ms(result.meta["timings"], total, out.rebalances)
            rows = result.decisions
            out.statuses = rows["status"].value_counts().to_dict()
            out.rebuilds = int(pd.to_numeric(rows.get("rebuilds"), errors="coerce").sum())
    return out


@dataclass
class ShortfallRun:
    """What Benchmark (b) measured: the backtest and the mean cold solve of each repeat."""

    scenarios: int
    cold_dates: int
    seconds: list[float] = field(default_factory=list)  # whole backtest, each repeat
    cold: list[float] = field(default_factory=list)  # mean cold solve, each repeat
    inputs: list[float] = field(default_factory=list)  # mean estimate + scenarios, each repeat
    rebalances: int = 0
    components: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    rebuilds: int = 0

    @property
    def per_rebalance(self) -> float:
        """Best wall time per rebalance, in seconds."""
        return min(self.seconds) / self.rebalances

    @property
    def ratio(self) -> float:
        """Time per rebalance over one cold solve (best of each)."""
        return self.per_rebalance / min(self.cold)

    @property
    def ratio_with_inputs(self) -> float:
        """Time per rebalance over a cold solve that also makes its date's inputs."""
        return self.per_rebalance / (min(self.cold) + min(self.inputs))


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


def table(rows: Sequence[Sequence[str]]) -> str:
    """Return ``rows`` (the first the header) as a plain text table, columns aligned."""
    widths = [max(len(row[j]) for row in rows) for j in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def profile(prices: pd.DataFrame, shares: pd.Series, dates: pd.DatetimeIndex, top: int) -> None:
    """Print cProfile's ``top`` entries (cumulative, then own time) of one optihedge run."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    policy = overlay_policy(prices)
    run_backtest(prices.loc[: dates[3]], shares, dates[:3], policy)  # imports, not profiled
    profiler.enable()
    run_backtest(prices, shares, dates, policy)
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


GRID_YEARS = ("2016-01-04", "2018-12-31")  # (c): three years, every policy marked daily


def grid_policies(base: Any) -> list[Any]:
    """Return the 64 policies of Benchmark (c): schedule x hedge ratio x gross cap."""
    from optihedge.backtests.durable import policy_grid

    schedules = [Schedule("month_end"), Schedule("week_end"), Schedule("third_friday")]
    return policy_grid(
        base,
        {
            "schedule": [*schedules, Schedule("every", every=10)],
            "hedge_ratio": [0.25, 0.5, 0.75, 1.0],
            "params": {"gross_exposure.max": [0.5, 1.0, 1.5, 2.0]},
        },
    )


def grid_side(prices: pd.DataFrame, shares: pd.Series) -> tuple[int, float, float]:
    """(c): the 64-policy grid on two joblib workers against one; (count, s one, s two)."""
    from constraints import GrossExposure
    from optihedge.backtests import HedgePolicy
    from optihedge.backtests.durable import backtest_grid
    from optihedge.optimize.spec import ProblemSpec

    start, end = GRID_YEARS
    future = oh.Future("ES", underlying=HEDGE, multiplier=50.0)
    base = HedgePolicy(
        name="grid",
        spec=ProblemSpec((future,), oh.Variance(), (GrossExposure(2.0),), 21, HEDGE),
        schedule=Schedule("month_end"),
        estimation=Estimation(kind="sample", window=252),
    )
    policies = grid_policies(base)
    first = prices.index.searchsorted(pd.Timestamp(start))
    data = prices.iloc[first - 300 : prices.index.searchsorted(pd.Timestamp(end)) + 1]
    book = oh.Portfolio(book_holdings(data, shares, data.index[300]))
    times = []
    for jobs in (1, 2):
        clear_estimates()
        began = time.perf_counter()
        backtest_grid(policies, data, n_jobs=jobs, start=data.index[300], book=book)
        times.append(time.perf_counter() - began)
    return len(policies), times[0], times[1]


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="cProfile one optihedge run")
    parser.add_argument("--no-shortfall", action="store_true", help="skip Benchmark (b)")
    parser.add_argument("--no-grid", action="store_true", help="skip Benchmark (c)")
    args = parser.parse_args([] if argv is None else argv)
    if not peer_available():
        print(
            "bench_backtest: skipped: cvxportfolio is not installed "
            "(pip install -e '.[bench]' installs cvxportfolio 1.5.0)"
        )
        return 0
    prices = load_prices()
    shares = book_shares(prices)
    dates = decision_dates(prices)
    if args.profile:
        profile(prices, shares, dates, top=30)
        return 0
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
    speed = peer.per_rebalance / ours.per_rebalance
    rows = [
        ("benchmark", "side", "rebalances", "marks", "ms / rebalance", "target"),
        (
            "(a) variance",
            "optihedge, marks daily",
            str(ours.rebalances),
            str(ours.marks),
            f"{ours.per_rebalance * 1e3:.2f}",
            "",
        ),
        (
            "(a) variance",
            f"{peer.name}, marks monthly",
            str(peer.rebalances),
            str(peer.rebalances),
            f"{peer.per_rebalance * 1e3:.2f}",
            "",
        ),
        ("(a) ratio", "cvxportfolio / optihedge", "", "", f"{speed:.2f}x", ">= 2x"),
    ]
    if not args.no_shortfall:
        es = shortfall_side(prices, shares, dates)
        parts = ", ".join(f"{k} {v:.2f}" for k, v in es.components.items())
        print(
            f"  (b) expected shortfall {ALPHA} over {es.scenarios:,} bootstrapped one-month "
            f"paths ({es.rebalances} rebalances, {REPEATS_B} repeats taking turns with the "
            f"cold solves): backtest {'/'.join(f'{s:.2f}' for s in es.seconds)} s; ms per "
            f"rebalance, best run: {parts}; statuses {es.statuses}, rebuilds {es.rebuilds}"
        )
        print(
            f"      cold solve (HedgeProblem(...) + solve_point(), inputs made before the "
            f"clock) mean over {es.cold_dates} decision dates: "
            f"{'/'.join(f'{c * 1e3:.1f}' for c in es.cold)} ms; making its inputs (estimate "
            f"+ scenarios): {'/'.join(f'{c * 1e3:.1f}' for c in es.inputs)} ms"
        )
        rows += [
            (
                "(b) ES 10k",
                "optihedge backtest",
                str(es.rebalances),
                str(ours.marks),
                f"{es.per_rebalance * 1e3:.1f}",
                "",
            ),
            ("(b) ES 10k", "one cold solve", "1", "", f"{min(es.cold) * 1e3:.1f}", ""),
            ("(b) ratio", "backtest / cold solve", "", "", f"{es.ratio:.2f}x", "<= 1.5x"),
            (
                "(b) ratio",
                "backtest / (inputs + cold solve)",
                "",
                "",
                f"{es.ratio_with_inputs:.2f}x",
                "",
            ),
        ]
    if not args.no_grid:
        n, one, two = grid_side(prices, shares)
        rows += [
            ("(c) grid", f"{n} policies, 1 worker", str(n), "", f"{one * 1e3 / n:.1f}", ""),
            ("(c) grid", f"{n} policies, 2 workers", str(n), "", f"{two * 1e3 / n:.1f}", ""),
            ("(c) ratio", "1 worker / 2 workers", "", "", f"{one / two:.2f}x", "(2 cores)"),
        ]
    print(table(rows))
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))

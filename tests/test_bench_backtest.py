"""benchmarks/bench_backtest.py (issue 22, Benchmark (a)): its data, its monthly calendar,
its estimation window (no look-ahead), its network guard and its skip, all without
cvxportfolio; each number recomputed here by hand (numpy) from the embedded prices."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from cases import load_script
from scipy.optimize import minimize_scalar

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_backtest.py"


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    yield load_script("bench_backtest", SCRIPT)
    sys.modules.pop("bench_backtest", None)


@pytest.fixture(scope="module")
def prices(bench: ModuleType) -> pd.DataFrame:
    return bench.load_prices()


def test_prices_are_the_20_stocks_and_the_hedge_from_2000_to_2022(
    bench: ModuleType, prices: pd.DataFrame
) -> None:
    assert prices.shape[1] == 21
    assert prices.columns[-1] == "SP500"
    assert bench.stock_names(prices) == list(prices.columns[:20])
    assert "SP500" not in bench.stock_names(prices)
    assert prices.index[0] == pd.Timestamp("2000-01-03")
    assert prices.index[-1] == pd.Timestamp("2022-12-28")
    assert not prices.isna().any().any()


def test_book_is_equal_value_on_the_first_day_then_bought_and_held(
    bench: ModuleType, prices: pd.DataFrame
) -> None:
    shares = bench.book_shares(prices, capital=1_000_000.0)
    first = prices.iloc[0, :20].to_numpy()
    np.testing.assert_allclose(shares.to_numpy() * first, np.full(20, 50_000.0), rtol=1e-12)
    date = pd.Timestamp("2008-10-10")
    held = bench.book_holdings(prices, shares, date)
    by_hand = 50_000.0 * prices.loc[date].to_numpy()[:20] / first
    np.testing.assert_allclose(held.to_numpy(), by_hand, rtol=1e-12)
    assert list(held.index) == list(prices.columns[:20])


def test_decision_dates_are_the_month_ends_with_three_years_behind_them(
    bench: ModuleType, prices: pd.DataFrame
) -> None:
    dates = bench.decision_dates(prices)
    index = prices.index
    # by hand: a month end is a date whose next date is in another month; the returns
    # dated before the date at position i are those at positions 1 .. i-1
    expected = [
        index[i]
        for i in range(len(index) - 1)
        if index[i + 1].month != index[i].month and i - 1 >= 3 * 252
    ]
    assert list(dates) == expected
    assert dates[0] == pd.Timestamp("2003-01-31")
    assert dates[-1] == pd.Timestamp("2022-11-30")  # the data's last day has no month after
    assert len(dates) == 239  # the count issue 22's plain loop reported
    months = dates.to_period("M")
    assert months.is_unique
    ordinals = np.array([m.ordinal for m in months])
    assert (np.diff(ordinals) == 1).all()  # every month from Jan 2003 to Nov 2022
    assert sorted({d.year for d in dates}) == list(range(2003, 2023))


def test_the_estimation_window_ends_the_day_before_the_decision(
    bench: ModuleType, prices: pd.DataFrame
) -> None:
    returns = bench.daily_returns(prices)
    for date in bench.decision_dates(prices)[[0, 68, 238]]:
        window = bench.estimation_window(returns, date)
        position = prices.index.get_loc(date)
        assert len(window) == 756
        assert window.index[-1] == prices.index[position - 1]  # the day before
        assert window.index[0] == prices.index[position - 756]
        by_hand = (
            prices.iloc[position - 756 : position].to_numpy()
            / prices.iloc[position - 757 : position - 1].to_numpy()
            - 1.0
        )
        np.testing.assert_allclose(window.to_numpy(), by_hand, rtol=1e-12, atol=1e-15)
        # no look-ahead: returns from the decision date on can be anything
        poisoned = returns.copy()
        poisoned.loc[poisoned.index >= date] = 1e6
        pd.testing.assert_frame_equal(bench.estimation_window(poisoned, date), window)


def test_an_estimation_window_without_enough_history_is_refused(
    bench: ModuleType, prices: pd.DataFrame
) -> None:
    returns = bench.daily_returns(prices)
    with pytest.raises(ValueError, match=r"returns before 2002-12-31, window 756 needs 756"):
        bench.estimation_window(returns, pd.Timestamp("2002-12-31"))


def test_the_peer_gets_forward_returns_and_a_zero_cash_column_last(
    bench: ModuleType, prices: pd.DataFrame
) -> None:
    forward = bench.peer_returns(prices)
    assert list(forward.columns) == [*prices.columns, "cash"]
    p = prices.to_numpy()
    np.testing.assert_allclose(forward.iloc[:-1, :21].to_numpy(), p[1:] / p[:-1] - 1.0, rtol=1e-12)
    assert forward.iloc[-1, :21].isna().all()  # the return after the last close is unknown
    assert (forward["cash"] == 0.0).all()


@pytest.fixture(scope="module")
def short(bench: ModuleType) -> pd.DataFrame:
    """Seven months of decisions (Jan to Jul 2003), the data ending mid-August."""
    return bench.load_prices(end="2003-08-27")


def _beta(bench: ModuleType, prices: pd.DataFrame, shares: pd.Series, date: pd.Timestamp) -> float:
    """The book's OLS beta on SP500 over the window before ``date``, by numpy."""
    returns = bench.daily_returns(prices)
    window = bench.estimation_window(returns, date).to_numpy()
    held = shares.to_numpy() * prices.loc[date].to_numpy()[:20]
    cov = np.cov(window, rowvar=False)
    betas = cov[:20, 20] / cov[20, 20]  # each stock's OLS slope on SP500
    return float(held @ betas / held.sum())


def test_the_policy_is_the_peer_problem_decided_at_the_benchmark_month_ends(
    bench: ModuleType, prices: pd.DataFrame
) -> None:
    policy = bench.overlay_policy(prices)
    dates = bench.decision_dates(prices)
    days = prices.index[prices.index >= dates[0]]
    assert list(policy.schedule.dates(days)) == list(dates)  # the 239 month ends
    assert policy.warmup() == 756
    assert policy.estimation.kind == "sample"
    assert policy.estimation.window == 756
    assert policy.scenarios is None
    (future,) = policy.spec.instruments
    assert type(future).__name__ == "Future"
    assert (future.label, future.underlying, future.multiplier) == ("ES", "SP500", 50.0)
    assert type(policy.spec.objective).__name__ == "Variance"
    assert policy.spec.constraints == ()
    assert policy.spec.horizon == 21


def test_the_optihedge_backtest_marks_every_day_and_hedges_the_book_beta(
    bench: ModuleType, short: pd.DataFrame
) -> None:
    shares = bench.book_shares(short)
    dates = bench.decision_dates(short)
    assert len(dates) == 7
    run = bench.optihedge_side(short, shares, dates, repeats=1)
    assert run.rebalances == 7
    assert run.marks == int((short.index >= dates[0]).sum())  # every day from the first
    assert run.marks > 100
    assert len(run.seconds) == 1
    assert set(run.components) == {"estimate", "scenarios", "solve", "mark", "trade", "other"}
    assert isinstance(run.store_ms, float)  # the same run with store=: its extra per decision
    assert sum(run.components.values()) == pytest.approx(run.seconds[0] * 1e3 / 7, rel=1e-9)
    assert list(run.hedge_ratio.index) == list(dates)
    for date in dates:
        assert run.hedge_ratio[date] == pytest.approx(_beta(bench, short, shares, date), rel=1e-6)


def test_the_shortfall_benchmark_times_the_backtest_against_cold_solves(
    bench: ModuleType, short: pd.DataFrame
) -> None:
    shares = bench.book_shares(short)
    dates = bench.decision_dates(short)
    es = bench.shortfall_side(short, shares, dates, repeats=1, n=200, cold_dates=2)
    assert (es.scenarios, es.cold_dates, es.rebalances) == (200, 2, 7)
    assert es.statuses == {"optimal": 7}
    assert len(es.seconds) == len(es.cold) == len(es.inputs) == 1
    assert es.per_rebalance == pytest.approx(es.seconds[0] / 7)
    assert es.ratio == pytest.approx(es.seconds[0] / 7 / es.cold[0])
    assert es.ratio_with_inputs == pytest.approx(es.seconds[0] / 7 / (es.cold[0] + es.inputs[0]))
    assert es.components["scenarios"] > 0
    recipe = bench.shortfall_recipe()
    assert (recipe.kind, recipe.n, recipe.window, recipe.horizon) == ("bootstrap", 10_000, 756, 21)


def test_hedge_ratios_are_the_short_notional_over_the_book(bench: ModuleType) -> None:
    dates = pd.DatetimeIndex(["2010-01-29", "2010-02-26"])
    days = pd.DatetimeIndex(["2010-01-28", "2010-01-29", "2010-02-25", "2010-02-26"])
    result = SimpleNamespace(
        decisions=pd.DataFrame({"weight[ES]": [-0.5, -0.8]}, index=dates),
        daily=pd.DataFrame(
            {"hedged_value": [9.0, 10.0, 11.0, 12.0], "book_value": [8.0, 8.0, 10.0, 15.0]},
            index=days,
        ),
    )
    ratio = bench.hedge_ratios(result)
    assert list(ratio.index) == list(dates)
    np.testing.assert_allclose(ratio.to_numpy(), [0.5 * 10.0 / 8.0, 0.8 * 12.0 / 15.0])


def test_component_ms_splits_the_wall_time_per_rebalance(bench: ModuleType) -> None:
    out = bench.component_ms({"estimate": 0.2, "solve": 0.5, "mark": 0.1}, wall=1.0, rebalances=4)
    assert out == pytest.approx({"estimate": 50.0, "solve": 125.0, "mark": 25.0, "other": 50.0})
    with pytest.raises(ValueError, match="rebalances=0; pass at least 1"):
        bench.component_ms({}, wall=1.0, rebalances=0)


def test_the_table_aligns_its_columns(bench: ModuleType) -> None:
    text = bench.table([("a", "side"), ("long name", "x"), ("b", "yy")])
    assert text.splitlines() == [
        "a          side",
        "---------  ----",
        "long name  x",
        "b          yy",
    ]


def test_the_network_guard_refuses_and_restores(bench: ModuleType) -> None:
    attempts: list[str] = []
    connect = socket.socket.connect
    with bench.no_network(attempts):
        with pytest.raises(OSError, match="network refused"):
            socket.create_connection(("fred.stlouisfed.org", 443))
        with pytest.raises(OSError, match="network refused"):
            socket.getaddrinfo("fred.stlouisfed.org", 443)
        with pytest.raises(OSError, match="cvxportfolio http get"):
            bench.no_network_getter(attempts)(url="https://fred.stlouisfed.org/x")
    assert len(attempts) == 3
    assert "fred.stlouisfed.org/x" in attempts[-1]
    assert socket.socket.connect is connect


def test_without_cvxportfolio_the_script_says_so_and_does_no_work(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "cvxportfolio", None)  # import cvxportfolio fails

    def no_work() -> None:
        raise AssertionError("loaded data although the peer is missing")

    monkeypatch.setattr(bench, "load_prices", no_work)
    assert bench.main() == 0
    assert "skipped: cvxportfolio is not installed" in capsys.readouterr().out


def _es_of_hedge(returns: np.ndarray, held: np.ndarray, ratio: float, tail: int) -> float:
    """Mean of the ``tail`` worst losses of the book short ``ratio`` x its value of SP500."""
    pnl = returns[:, :20] @ held - ratio * held.sum() * returns[:, 20]
    return float(-np.sort(pnl)[:tail].mean())


def test_a_compiled_shortfall_resolved_on_new_scenarios_starts_like_a_cold_solve(
    bench: ModuleType, short: pd.DataFrame
) -> None:
    # Benchmark (b)'s finding: on the next date's scenarios (as many, all new), the last
    # active set's indices named unrelated scenarios; it outgrew its slots and the problem
    # rebuilt at 2.5x the slots for good (302 -> 770 here, 1102 -> 4891 at 10,000), each
    # later solve 3-4x slower than a cold one.
    import optihedge as oh
    from optihedge.calendar import Frequency

    shares = bench.book_shares(short)
    dates = bench.decision_dates(short)
    policy = bench.overlay_policy(short)
    returns = bench.daily_returns(short)
    recipe = bench.shortfall_recipe(2_000)

    def inputs(date: pd.Timestamp) -> tuple[oh.Portfolio, object, oh.Scenarios]:
        window = bench.estimation_window(returns, date)
        model = policy.estimation.estimate(window, Frequency.DAILY)
        book = oh.Portfolio.from_holdings(bench.book_holdings(short, shares, date))
        return book, model, recipe.build(window, model, date)

    book, model, scenarios = inputs(dates[0])
    problem = oh.HedgeProblem(
        book,
        list(policy.spec.instruments),
        objective=oh.ExpectedShortfall(0.95, method="active_set"),  # its slots
        risk_model=model,
        scenarios=scenarios,
        horizon=21,
        market="SP500",
    )
    cold = problem.solve_point()
    slots = cold.stats.details["scenario_slots"]
    book, model, scenarios = inputs(dates[1])
    got = problem.solve_point(portfolio=book, risk_model=model, scenarios=scenarios)
    assert got.stats.rebuilds == 0
    assert got.stats.details["scenario_slots"] == slots
    # the answer: the hedge ratio minimising the mean of the 100 worst of 2,000 losses
    held = book.holdings.to_numpy()
    r = scenarios.returns.to_numpy()
    ratio = -float(got.positions[0])  # weight of the book's value (no cash)
    best = minimize_scalar(
        lambda h: _es_of_hedge(r, held, h, 100), bounds=(0.0, 2.0), options={"xatol": 1e-10}
    )
    assert ratio == pytest.approx(best.x, abs=1e-6)
    assert _es_of_hedge(r, held, ratio, 100) == pytest.approx(best.fun, rel=1e-9)

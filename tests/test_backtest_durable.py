"""Backtests kept in the run store and grids of policies (issue 22, item 5).

- a backtest with a store commits after every decision date; stopped at any day (an
  exception, or SIGKILL of the process) and run again, it resumes after the last
  committed decision date and gives the same tables as an uninterrupted run, to the
  bit (the wall-clock ``solver_time`` aside); a finished one is read back, not run;
- the run's id is the content of what it runs (policy, data, arguments);
- a grid of policies (``policy_grid``: schedule x hedge ratio x registry values) runs
  each policy as its own backtest, in this process, joblib workers or a Dask cluster,
  with the same tables; its summary numbers are checked against hand computations
  (the maximum drawdown over every pair of days); it resumes from its store;
- the policies of one worker that share an estimation estimate once per date.

The reference is always the same backtest run without a store, in one go.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from cases import three_stocks

import optihedge as oh
from constraints import GrossExposure
from constraints import PremiumBudget as ConstraintBudget
from optihedge.backtests import (
    BacktestResult,
    Estimation,
    HedgePolicy,
    PremiumBudget,
    ScenarioRecipe,
    Schedule,
    backtest,
    backtest_grid,
    policy_grid,
)
from optihedge.backtests.durable import backtest_id
from optihedge.errors import DataError, SpecificationError
from optihedge.optimize.spec import ProblemSpec
from optihedge.runs import Store

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("daily", "decisions", "trades", "positions")

RETURNS = three_stocks(380, seed=3, start="2020-01-01")
PRICES = 100.0 * (1.0 + RETURNS).cumprod()
START = PRICES.index[125]  # a year of daily marks (255), 120 returns before for estimation
BOOK = oh.Portfolio.from_holdings({"A": 5e5, "B": 3e5, "C": 2e5})
FUTURE = oh.Future("F", underlying="IDX", price=100.0, multiplier=50.0, cost=0.0002)
ETF = oh.ETF("E", underlying="IDX", price=40.0, expense_ratio=0.001, cost=0.0005)


def policy(name: str = "overlay", **changes: Any) -> HedgePolicy:
    """A monthly futures-and-ETF variance overlay (its quadratic form is singular)."""
    spec = ProblemSpec(
        (FUTURE, ETF),
        oh.Variance() + oh.TradingCost(),
        (GrossExposure(0.8),),
        horizon=21,
        market="IDX",
    )
    fields: dict[str, Any] = {
        "name": name,
        "spec": spec,
        "schedule": Schedule("month_end"),
        "estimation": Estimation(window=120),
    }
    return HedgePolicy(**(fields | changes))


def shortfall_policy() -> HedgePolicy:
    """Expected shortfall on 60 bootstrapped scenarios, re-drawn each decision."""
    spec = ProblemSpec(
        (FUTURE,), oh.ExpectedShortfall(0.9), (GrossExposure(0.8),), horizon=5, market="IDX"
    )
    return HedgePolicy(
        name="shortfall",
        spec=spec,
        schedule=Schedule("month_end"),
        estimation=Estimation(window=120),
        scenarios=ScenarioRecipe(kind="bootstrap", window=120, horizon=5, n=60, seed=4),
    )


def assert_same(a: BacktestResult, b: BacktestResult) -> None:
    """Every table equal to the bit (``solver_time`` is wall-clock time)."""
    for name in TABLES:
        left, right = getattr(a, name), getattr(b, name)
        if name == "decisions":
            left = left.drop(columns="solver_time")
            right = right.drop(columns="solver_time")
        pd.testing.assert_frame_equal(left, right, check_exact=True)


class Stop(Exception):
    pass


def stop_at(day: int) -> Any:
    def progress(done: int, total: int) -> None:
        if done == day:
            raise Stop

    return progress


WHOLE: dict[tuple[str, Any], BacktestResult] = {}
#: a quarter of daily marks for the expected shortfall (slower to solve): 4 decisions
QUARTER = PRICES.index[125 + 65]


def whole(p: HedgePolicy, end: Any = None) -> BacktestResult:
    if (p.name, end) not in WHOLE:
        WHOLE[p.name, end] = backtest(p, PRICES, start=START, end=end, book=BOOK)
    return WHOLE[p.name, end]


@pytest.mark.parametrize(
    ("make", "end", "day"),
    [
        (policy, None, 1),  # right after the entry
        (policy, None, 131),
        (policy, None, 255),  # after the last day, before the run is marked finished
        (shortfall_policy, QUARTER, 1),
        (shortfall_policy, QUARTER, 45),
        (shortfall_policy, QUARTER, 66),
    ],
)
def test_stopped_and_run_again_resumes_to_the_same_tables(
    tmp_path: Path, make: Any, end: Any, day: int
) -> None:
    p = make()
    store = tmp_path / "bt.duckdb"
    with pytest.raises(Stop):
        backtest(p, PRICES, start=START, end=end, book=BOOK, store=store, progress=stop_at(day))
    seen: list[int] = []
    resumed = backtest(
        p,
        PRICES,
        start=START,
        end=end,
        book=BOOK,
        store=store,
        progress=lambda d, t: seen.append(d),
    )
    reference = whole(p, end)
    decided = [int(i) for i in reference.daily.index.get_indexer(reference.decisions.index)]
    last = max(i for i in decided if i <= day - 1)  # the last decision day committed
    assert seen[0] == last + 2  # resumed on the day after it (days count from 1)
    assert seen[-1] == len(reference.daily) == (255 if end is None else 66)
    assert len(reference.decisions) >= (12 if end is None else 4)
    assert_same(resumed, reference)
    assert resumed.meta["run_id"] == backtest_id(
        p,
        PRICES,
        {
            "start": START,
            "end": end,
            "book": BOOK,
            "book_options": (),
            "capital": None,
            "costs": None,
            "rate": 0.0,
            "volatility": None,
            "calendar": None,
            "roll_days": 5,
        },
    )


EMBEDDED = oh.datasets.load_default(
    start="2018-09-01", end="2019-07-31", columns=["JPM", "SP500", "VIX"]
)
PUTS = HedgePolicy(
    name="puts and futures",
    spec=ProblemSpec(
        (
            oh.Put("P", underlying="SP500", moneyness=0.95, expiry=21, implied_vol=0.2),
            oh.Future("ES", underlying="SP500", multiplier=50.0, cost=1e-4),
        ),
        oh.Variance() + oh.TradingCost(),
        (),
        horizon=21,
        market="SP500",
    ),
    schedule=Schedule("month_end"),
    estimation=Estimation(window=63),
)
PUTS_ARGS: dict[str, Any] = {
    "start": "2019-01-02",
    "book": oh.Portfolio.from_holdings({"JPM": 1e7}),
    "rate": 0.01,
    "volatility": 0.2,
}


@pytest.mark.parametrize("day", [40, 100])
def test_option_lots_expiries_and_rolls_resume_to_the_same_tables(tmp_path: Path, day: int) -> None:
    # puts minted, aged and expired at intrinsic value, futures rolled quarterly: a
    # restored lot is the same contract (strike, expiry, exit rule) it was
    store = tmp_path / "bt.duckdb"
    with pytest.raises(Stop):
        backtest(PUTS, EMBEDDED, store=store, progress=stop_at(day), **PUTS_ARGS)
    resumed = backtest(PUTS, EMBEDDED, store=store, **PUTS_ARGS)
    if ("puts", None) not in WHOLE:
        WHOLE["puts", None] = backtest(PUTS, EMBEDDED, **PUTS_ARGS)
    reference = WHOLE["puts", None]
    legs = reference.trades["leg"].value_counts()
    assert legs["P"] >= 10
    assert legs["ES"] >= 4
    assert (reference.trades["why"] == "expiry").sum() >= 5
    assert (reference.trades["why"] == "roll").sum() >= 2
    assert_same(resumed, reference)


def test_a_finished_backtest_is_read_back_not_run(tmp_path: Path) -> None:
    store = tmp_path / "bt.duckdb"
    first = backtest(policy(), PRICES, start=START, book=BOOK, store=store)
    calls: list[int] = []
    again = backtest(
        policy(), PRICES, start=str(START.date()), book=BOOK, store=store, progress=calls.append
    )
    assert calls == []  # nothing run: read back
    assert_same(again, first)
    assert_same(again, whole(policy()))
    assert again.meta["run_id"] == first.meta["run_id"]  # a start given as text: the same run
    db = Store(store)
    try:
        runs = db.runs()
    finally:
        db.close()
    assert runs[["run_id", "kind", "n_points", "stored"]].to_dict("records") == [
        {"run_id": first.meta["run_id"], "kind": "backtest", "n_points": 255, "stored": 255}
    ]


def test_another_policy_data_or_argument_is_another_run(tmp_path: Path) -> None:
    store = tmp_path / "bt.duckdb"
    base = backtest(policy(), PRICES, start=START, book=BOOK, store=store)
    other_ratio = backtest(policy(hedge_ratio=0.5), PRICES, start=START, book=BOOK, store=store)
    other_rate = backtest(policy(), PRICES, start=START, book=BOOK, rate=0.01, store=store)
    changed = PRICES.copy()
    changed.iloc[-1, 0] *= 1.01
    other_data = backtest(policy(), changed, start=START, book=BOOK, store=store)
    ids = {r.meta["run_id"] for r in (base, other_ratio, other_rate, other_data)}
    assert len(ids) == 4
    # each is its own run, not the first read back
    assert other_ratio.decisions["hedge_ratio"].eq(0.5).all()
    assert other_rate.daily["interest"].iloc[-1] != 0.0
    assert other_data.daily["book_value"].iloc[-1] != base.daily["book_value"].iloc[-1]


def test_a_store_that_is_no_local_file_is_refused_before_any_work(tmp_path: Path) -> None:
    calls: list[int] = []
    with pytest.raises(SpecificationError, match=r"'store' argument must be a local file"):
        backtest(policy(), PRICES, start=START, book=BOOK, store=":memory:", progress=calls.append)
    assert calls == []


def test_killed_with_sigkill_and_resumed(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.pkl"
    inputs.write_bytes(pickle.dumps((policy(), PRICES, START, BOOK)))
    store = tmp_path / "bt.duckdb"
    code = textwrap.dedent(
        f"""
        import pickle, time
        from optihedge.backtests import backtest
        policy, prices, start, book = pickle.loads(open({str(inputs)!r}, 'rb').read())
        def progress(done, total):
            print(done, flush=True)
            time.sleep(0.01)
        backtest(policy, prices, start=start, book=book, store={str(store)!r}, progress=progress)
        print("finished", flush=True)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert child.stdout is not None
    # DuckDB locks the file while the child writes it: the child's progress tells where
    # it is (it reports a day after committing it)
    line = ""
    while line != "150":
        line = child.stdout.readline().strip()
        assert line, "the child ended before day 150"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=60)
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    con = duckdb.connect(str(store), read_only=True)
    try:
        state = con.execute("SELECT day, finished FROM backtest_state").fetchall()
        decisions = con.execute(
            "SELECT count(*) FROM backtest_rows WHERE tab = 'decisions'"
        ).fetchall()
    finally:
        con.close()
    reference = whole(policy())
    decided = [int(i) for i in reference.daily.index.get_indexer(reference.decisions.index)]
    ((day, finished),) = state
    assert not finished
    # committed on a decision date: the last one before day 150 or a later one
    assert day in decided
    assert max(i for i in decided if i < 150) <= day < 254
    assert decisions == [(sum(1 for i in decided if i <= day),)]
    assert decisions[0][0] >= 6
    seen: list[int] = []
    resumed = backtest(
        policy(), PRICES, start=START, book=BOOK, store=store, progress=lambda d, t: seen.append(d)
    )
    assert seen[0] == day + 2
    assert_same(resumed, reference)
    np.testing.assert_allclose(resumed.accounting_error(), 0.0, atol=1e-6)


def test_a_version_2_store_gains_the_backtest_tables_in_place(tmp_path: Path) -> None:
    path = tmp_path / "runs.duckdb"
    first = backtest(policy(), PRICES, start=START, end=QUARTER, book=BOOK, store=path)
    # the same file as optihedge wrote it before backtests were stored (version 2)
    con = duckdb.connect(str(path))
    try:
        con.execute("DROP TABLE backtest_rows")
        con.execute("DROP TABLE backtest_state")
        con.execute("DELETE FROM runs")
        con.execute("UPDATE optihedge_store SET version = 2")
    finally:
        con.close()
    again = backtest(policy(), PRICES, start=START, end=QUARTER, book=BOOK, store=path)
    assert_same(again, first)
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT version FROM optihedge_store").fetchall() == [(3,)]
        stored = con.execute("SELECT day, finished FROM backtest_state").fetchall()
    finally:
        con.close()
    assert stored == [(65, True)]


def test_a_store_that_lost_rows_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.duckdb"
    backtest(policy(), PRICES, start=START, end=QUARTER, book=BOOK, store=path)
    con = duckdb.connect(str(path))
    try:
        con.execute("DELETE FROM backtest_rows WHERE tab = 'daily' AND n = 3")
    finally:
        con.close()
    with pytest.raises(DataError, match=r"'store' file .* holds backtest \w+'s rows with a gap"):
        backtest(policy(), PRICES, start=START, end=QUARTER, book=BOOK, store=path)


# --------------------------------------------------------------------------- grids


def fresh_prices(seed: int) -> pd.DataFrame:
    """Prices no other test uses (the estimates cache of a process is keyed by data)."""
    returns = three_stocks(200, seed=seed, start="2021-01-01")
    return 100.0 * (1.0 + returns).cumprod()


def max_drawdown_by_hand(values: pd.Series) -> float:
    """The largest fall from an earlier value: every pair (s <= t), brute force."""
    v = list(values)
    return max(1.0 - v[t] / v[s] for t in range(len(v)) for s in range(t + 1))


GRID_AXES = {"hedge_ratio": [0.5, 1.0], "schedule": ["month_end", Schedule("every", every=10)]}


def test_policy_grid_builds_the_product_of_its_axes() -> None:
    grid = policy_grid(policy(), GRID_AXES | {"params": {"gross_exposure.max": [0.4, 0.8]}})
    assert len(grid) == 8
    assert [p.hedge_ratio for p in grid] == [0.5] * 4 + [1.0] * 4
    assert [p.schedule.rule for p in grid] == ["month_end"] * 2 + ["every"] * 2 + (
        ["month_end"] * 2 + ["every"] * 2
    )
    assert [p.params["gross_exposure.max"] for p in grid] == [0.4, 0.8] * 4
    assert grid[3].name == (
        "overlay[hedge_ratio=0.5, schedule=every 10 trading days, gross_exposure.max=0.8]"
    )
    assert all(p.spec == policy().spec and p.estimation == policy().estimation for p in grid)


def test_policy_grid_sets_the_premium_budget_by_its_annual_fraction() -> None:
    spec = policy().spec
    with_budget = ProblemSpec(
        spec.instruments,
        spec.objective,
        (*spec.constraints, ConstraintBudget(0.05)),
        horizon=21,
        market="IDX",
    )
    grid = policy_grid(policy(spec=with_budget), {"premium_budget": [0.01, PremiumBudget(0.02)]})
    assert [p.premium_budget for p in grid] == [PremiumBudget(0.01), PremiumBudget(0.02)]
    assert [p.name for p in grid] == [
        "overlay[premium_budget=0.01]",
        "overlay[premium_budget=0.02]",
    ]


@pytest.mark.parametrize(
    ("axes", "message"),
    [
        ({}, r"'axes' argument of policy_grid must be a non-empty mapping"),
        ({"ratio": [1.0]}, r"policy_grid has no axis 'ratio': the axes are the policy's fields"),
        ({"hedge_ratio": []}, r"axis hedge_ratio must be a non-empty list of values. Got \[\]"),
        ({"hedge_ratio": 0.5}, r"axis hedge_ratio must be a non-empty list of values. Got 0.5"),
        ({"params": [0.5]}, r"'params' axis of policy_grid must be a non-empty mapping"),
        ({"hedge_ratio": [-1.0]}, r"hedge_ratio"),
    ],
)
def test_policy_grid_refuses_bad_axes(axes: Any, message: str) -> None:
    with pytest.raises(SpecificationError, match=message):
        policy_grid(policy(), axes)


def test_a_grid_runs_each_policy_as_its_own_backtest() -> None:
    prices = fresh_prices(11)
    start = prices.index[125]
    policies = policy_grid(policy(), GRID_AXES)
    grid = backtest_grid(policies, prices, start=start, book=BOOK, progress=False)
    assert grid.computed == 4
    assert list(grid.table.index) == [p.name for p in policies]
    for p in policies:
        alone = backtest(p, prices, start=start, book=BOOK)
        assert_same(grid.results[p.name], alone)
        row = grid.table.loc[p.name]
        daily = alone.daily
        assert row["hedge_ratio"] == p.hedge_ratio
        assert row["schedule"] == p.schedule.describe()
        assert row["hedged_value"] == daily["hedged_value"].iloc[-1]
        assert row["unhedged_value"] == daily["unhedged_value"].iloc[-1]
        assert row["max_drawdown_hedged"] == pytest.approx(
            max_drawdown_by_hand(daily["hedged_value"]), rel=1e-12
        )
        assert row["max_drawdown_unhedged"] == pytest.approx(
            max_drawdown_by_hand(daily["unhedged_value"]), rel=1e-12
        )
        assert row["decisions"] == len(alone.decisions)
        assert row["trades"] == sum(1 for why in alone.trades["why"] if why != "expiry")
        paid = sum(daily[c].sum() for c in daily.columns if c.startswith("cost_"))
        assert row["costs"] == pytest.approx(paid, rel=1e-12)
    # the hedge ratio halves the positions (to whole contracts)
    half, full = policies[0].name, policies[2].name
    held = grid.results[half].positions["F"].abs().max()
    assert 0 < held < grid.results[full].positions["F"].abs().max()


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_policies_of_one_worker_share_their_estimates(n_jobs: int) -> None:
    prices = fresh_prices(20 + n_jobs)
    start = prices.index[125]
    same = policy_grid(policy(), {"hedge_ratio": [1.0, 0.5, 0.25]})
    other = policy(name="other window", estimation=Estimation(window=100))
    grid = backtest_grid(
        [*same, other], prices, start=start, book=BOOK, n_jobs=n_jobs, chunk_size=4
    )
    made = {name: r.meta["estimates"] for name, r in grid.results.items()}
    dates = len(grid.results[same[0].name].decisions)
    assert dates >= 4
    # the first policy estimates on each decision date; the next two read its estimates
    assert [made[p.name] for p in same] == [dates, 0, 0]
    assert made[other.name] == dates  # another window: its own estimates


def test_a_grid_on_a_dask_cluster_gives_the_same_table() -> None:
    distributed = pytest.importorskip("distributed")
    prices = fresh_prices(31)
    start = prices.index[125]
    policies = policy_grid(policy(), {"hedge_ratio": [0.5, 1.0]})
    here = backtest_grid(policies, prices, start=start, book=BOOK, progress=False)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        there = backtest_grid(
            policies, prices, start=start, book=BOOK, scheduler=client, chunk_size=1
        )
    pd.testing.assert_frame_equal(there.table, here.table, check_exact=True)
    for name in here.results:
        assert_same(there.results[name], here.results[name])


def test_a_grid_resumes_from_its_store(tmp_path: Path) -> None:
    prices = fresh_prices(41)
    start = prices.index[125]
    store = tmp_path / "grid.duckdb"
    policies = policy_grid(policy(), GRID_AXES)
    first = backtest_grid(policies[:3], prices, start=start, book=BOOK, store=store)
    assert first.computed == 3
    calls: list[tuple[int, int]] = []
    whole_grid = backtest_grid(
        policies,
        prices,
        start=start,
        book=BOOK,
        store=store,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert whole_grid.computed == 1  # only the policy the store lacked
    assert calls == [(1, 1)]
    assert whole_grid.run_ids[:3] == first.run_ids
    pd.testing.assert_frame_equal(whole_grid.table.iloc[:3], first.table, check_exact=True)
    for p in policies:
        assert_same(whole_grid.results[p.name], backtest(p, prices, start=start, book=BOOK))
    # a grid's backtest is a finished backtest run: backtest() reads it back
    seen: list[int] = []
    alone = backtest(policies[3], prices, start=start, book=BOOK, store=store, progress=seen.append)
    assert seen == []
    assert alone.meta["run_id"] == whole_grid.run_ids[3]
    assert_same(alone, whole_grid.results[policies[3].name])


def test_a_grid_runs_whole_a_policy_the_store_holds_half_done(tmp_path: Path) -> None:
    prices = fresh_prices(51)
    start = prices.index[125]
    store = tmp_path / "grid.duckdb"
    policies = policy_grid(policy(), {"hedge_ratio": [0.5, 1.0]})
    with pytest.raises(Stop):
        backtest(policies[1], prices, start=start, book=BOOK, store=store, progress=stop_at(40))
    grid = backtest_grid(policies, prices, start=start, book=BOOK, store=store)
    assert grid.computed == 2
    again = backtest(policies[1], prices, start=start, book=BOOK, store=store)
    assert_same(again, backtest(policies[1], prices, start=start, book=BOOK))
    assert_same(grid.results[policies[1].name], again)


@pytest.mark.parametrize(
    ("policies", "common", "error", "message"),
    [
        ([], {}, SpecificationError, r"'policies' argument of backtest_grid must be a non-empty"),
        (["p"], {}, SpecificationError, r"'policies' argument of backtest_grid holds a str"),
        (
            [policy(), policy()],
            {},
            SpecificationError,
            r"names \['overlay'\] more than once; give each policy its own name",
        ),
        ([policy()], {"begin": 1}, SpecificationError, r"passes \['begin'\] to backtest"),
        ([policy()], {"n_jobs": 0}, SpecificationError, r"n_jobs"),
        ([policy()], {"chunk_size": 0}, SpecificationError, r"chunk_size"),
        ([policy()], {"store": ":memory:"}, SpecificationError, r"'store' argument must be a"),
        ([policy()], {"scheduler": 3}, SpecificationError, r"'scheduler' argument must be"),
    ],
)
def test_a_grid_refuses_bad_input_before_any_work(
    policies: Any, common: dict[str, Any], error: type[Exception], message: str
) -> None:
    calls: list[int] = []
    with pytest.raises(error, match=message):
        backtest_grid(policies, PRICES, start=START, book=BOOK, progress=calls.append, **common)
    assert calls == []

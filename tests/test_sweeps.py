"""Sweeps: equal to solving each point from scratch, whatever the backend; durable; checked.

A sweep re-solves one compiled problem per worker; every point must equal a fresh
problem solved at that point (weights to 1e-6, objective to 1e-8 relative), for
parameters and for inputs (scenario sets, estimation windows, books); n_jobs=1, n_jobs=2
and a Dask LocalCluster agree; a sweep killed with SIGKILL and run again loses no
committed point and repeats none; theory's monotonicity holds along the grid.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from cases import three_stocks

import optihedge as oh
from constraints import GrossExposure, PremiumBudget, ResidualBeta, Turnover
from optihedge.errors import DataError, MissingLabelsError, SpecificationError

ROOT = Path(__file__).resolve().parents[1]


DAILY = three_stocks(500, seed=3, start="2019-01-01")
MODELS = oh.RiskModelSet(
    {w: oh.FactorModel(windows=(w,)).fit(DAILY, DAILY[["IDX"]]).risk_model_ for w in (126, 252)}
)
MODEL = MODELS[252]
BOOK = oh.Portfolio.from_holdings({"A": 5e5, "B": 3e5, "C": 2e5})
MARKET = oh.MarketState(spot={"IDX": 100.0}, volatility={"IDX": 0.2}, rate=0.02)
LINEAR = [
    oh.Future("F", underlying="IDX", price=100.0, multiplier=50.0, cost=0.0002),
    oh.ETF("E", underlying="IDX", price=40.0, expense_ratio=0.001, cost=0.0005),
    oh.PositionReduction("sell A", holding="A", price=50.0, cost=0.001),
]
PUT = oh.Put("P", underlying="IDX", moneyness=0.95, expiry=42)


def variance_problem(**kw: object) -> oh.HedgeProblem:
    args: dict[str, object] = {
        "objective": oh.Variance() + oh.TradingCost(),
        "constraints": [GrossExposure(0.5), Turnover(1.0), ResidualBeta(min=0.1)],
        "risk_model": MODEL,
        "horizon": 10,
        "market": "IDX",
        "current": pd.Series({"F": -0.1}),
    }
    args.update(kw)
    book = args.pop("portfolio", BOOK)
    return oh.HedgeProblem(book, LINEAR, **args)  # type: ignore[arg-type]


SCENARIOS = oh.Scenarios.historical(DAILY, horizon=10)


def shortfall_problem(**kw: object) -> oh.HedgeProblem:
    args: dict[str, object] = {
        "objective": oh.ExpectedShortfall(0.9),
        "constraints": [GrossExposure(0.5), PremiumBudget(0.0)],
        "scenarios": SCENARIOS,
        "risk_model": MODEL,
        "horizon": 10,
        "market": "IDX",
        "market_state": MARKET,
    }
    args.update(kw)
    book = args.pop("portfolio", BOOK)
    return oh.HedgeProblem(book, [*LINEAR, PUT], **args)  # type: ignore[arg-type]


VARIANCE_GRID = {"gross_exposure.max": [0.1, 0.2, 0.35, 0.5], "turnover.max": [0.15, 1.0]}
SHORTFALL_GRID = {"premium_budget.max": [0.0, 0.002, 0.005], "gross_exposure.max": [0.2, 0.5]}


def _fresh(make: object, point: dict[str, object]) -> oh.HedgeResult:
    params = {k: v for k, v in point.items() if "." in k}
    inputs = {k: v for k, v in point.items() if "." not in k}
    problem = make(**inputs)  # type: ignore[operator]
    return problem.solve(params)


def _assert_equal_to_fresh(
    result: oh.SweepResult, make: object, inputs: dict[str, dict[str, object]] | None = None
) -> None:
    for point, row in result.points.iterrows():
        values: dict[str, object] = {k: row[k] for k in result.keys if k not in (inputs or {})}
        for key, objects in (inputs or {}).items():
            values[key] = objects[row[key]]
        fresh = _fresh(make, values)
        got = result.pivot().loc[point]
        np.testing.assert_allclose(got.to_numpy(), fresh.weights.to_numpy(), atol=1e-6)
        assert row["objective"] == pytest.approx(fresh.objective_value, rel=1e-8, abs=1e-12)
        assert row["volatility"] == pytest.approx(fresh.risk.loc["after", "volatility"], rel=1e-7)


class TestEqualsFreshSolves:
    def test_variance_grid(self) -> None:
        result = oh.sweep(variance_problem(), VARIANCE_GRID, progress=False)
        assert len(result) == 8
        assert result.computed == 8
        assert (result.points["status"] == "optimal").all()
        _assert_equal_to_fresh(result, variance_problem)
        # tidy: the grid's keys, then the numbers, shadow prices per limit
        assert list(result.points.columns[:3]) == ["gross_exposure.max", "turnover.max", "status"]
        assert "shadow_price[gross_exposure.max]" in result.points.columns
        assert set(result.weights.columns) == {"point", "instrument", "weight", "notional", "units"}
        assert len(result.weights) == 8 * 3

    @pytest.mark.parametrize(("method", "took"), [("auto", "band"), ("cutting_plane",) * 2])
    def test_expected_shortfall_grid(self, method: str, took: str) -> None:
        def make() -> oh.HedgeProblem:
            return shortfall_problem(objective=oh.ExpectedShortfall(0.9, method=method))  # type: ignore[arg-type]

        result = oh.sweep(make(), SHORTFALL_GRID, progress=False)
        # "auto" sweeps on the band (each point from the last one's band), the planes
        # carry theirs; fresh solves by the default (the active set here) point by point
        assert (result.points["shortfall_method"] == took).all()
        _assert_equal_to_fresh(result, shortfall_problem)
        es = result.points["scenario_es"]
        assert (es - result.points["objective"]).abs().max() < 1e-9

    def test_a_list_of_points(self) -> None:
        points = [
            {"gross_exposure.max": 0.3, "turnover.max": 0.2},
            {"gross_exposure.max": 0.1, "turnover.max": 1.0},
        ]
        result = oh.sweep(variance_problem(), points, progress=False)
        assert list(result.points.index) == [0, 1]
        assert list(result.points["gross_exposure.max"]) == [0.3, 0.1]
        _assert_equal_to_fresh(result, variance_problem)

    def test_inputs_scenarios_windows_and_books(self) -> None:
        scenario_sets = {
            "historical": SCENARIOS,
            "stress": oh.Scenarios.stress(DAILY, ("2019-03-01", "2019-09-30"), horizon=10),
            "monte carlo": oh.Scenarios.monte_carlo(MODELS[252], 400, horizon=10, seed=1),
        }
        result = oh.sweep(
            shortfall_problem(),
            {"scenarios": scenario_sets, "gross_exposure.max": [0.2, 0.5]},
            progress=False,
        )
        assert list(result.points["scenarios"].unique()) == list(scenario_sets)
        _assert_equal_to_fresh(result, shortfall_problem, {"scenarios": scenario_sets})
        windows = oh.sweep(
            variance_problem(), {"risk_model": MODELS, "gross_exposure.max": [0.2]}, progress=False
        )
        assert sorted(windows.points["risk_model"]) == ["126", "252"]
        _assert_equal_to_fresh(
            windows, variance_problem, {"risk_model": {"126": MODELS[126], "252": MODELS[252]}}
        )
        books = {
            "long": BOOK,
            "tilted": oh.Portfolio.from_holdings({"A": 2e5, "B": 6e5, "C": 2e5}),
        }
        by_book = oh.sweep(
            variance_problem(),
            {"portfolio": books, "gross_exposure.max": [0.2, 0.5]},
            progress=False,
        )
        _assert_equal_to_fresh(by_book, variance_problem, {"portfolio": books})

    def test_the_users_problem_is_left_as_it_was(self) -> None:
        problem = variance_problem()
        before = problem.parameters["value"].copy()
        oh.sweep(problem, VARIANCE_GRID, progress=False)
        pd.testing.assert_series_equal(problem.parameters["value"], before)


class TestBackends:
    def test_jobs_chunks_and_dask_agree(self) -> None:
        problem = variance_problem()
        one = oh.sweep(problem, VARIANCE_GRID, progress=False)
        two = oh.sweep(problem, VARIANCE_GRID, n_jobs=2, chunk_size=3, progress=False)
        single = oh.sweep(problem, VARIANCE_GRID, chunk_size=1, progress=False)
        from distributed import Client, LocalCluster

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the cluster's own start-up chatter
            cluster = LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
            )
            client = Client(cluster)
        try:
            on_dask = oh.sweep(
                problem, VARIANCE_GRID, scheduler=client, chunk_size=2, progress=False
            )
            by_address = oh.sweep(
                problem, VARIANCE_GRID, scheduler=cluster.scheduler_address, progress=False
            )
        finally:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                client.close()
                cluster.close()
        for other in (one, two, single, on_dask, by_address):
            # a sweep's copy compiles its program at once: every point, whatever its chunk,
            # is answered by the kept active set (see test_direct)
            assert set(other.points["solver"]) == {"DAQP"}
            assert other.sweep_id == one.sweep_id
            np.testing.assert_allclose(other.weights["weight"], one.weights["weight"], atol=1e-9)
            np.testing.assert_allclose(
                other.points["objective"], one.points["objective"], rtol=1e-9
            )
            assert list(other.points["binding"]) == list(one.points["binding"])


class TestTheory:
    def test_a_looser_cap_never_gives_a_higher_risk(self) -> None:
        caps = list(np.linspace(0.05, 0.6, 12))
        result = oh.sweep(variance_problem(), {"gross_exposure.max": caps}, progress=False)
        objective = result.points.sort_values("gross_exposure.max")["objective"].to_numpy()
        assert (np.diff(objective) <= 1e-10).all()

    def test_a_bigger_premium_budget_never_a_higher_shortfall(self) -> None:
        budgets = [0.0, 0.001, 0.002, 0.004, 0.008, 0.016]
        result = oh.sweep(shortfall_problem(), {"premium_budget.max": budgets}, progress=False)
        es = result.points.sort_values("premium_budget.max")["objective"].to_numpy()
        assert (np.diff(es) <= 1e-10).all()
        assert es[-1] < es[0]

    def test_an_infeasible_point_is_a_row_not_a_crash(self) -> None:
        # a residual beta of at most 0.2 needs a hedge; no gross exposure allows none
        problem = variance_problem(constraints=[GrossExposure(0.5), ResidualBeta(min=0.1, max=0.2)])
        result = oh.sweep(problem, {"gross_exposure.max": [0.0, 0.5]}, progress=False)
        bad = result.points.loc[0]
        assert bad["status"] == "infeasible"
        # the conflict names the limits with the values they had at that point
        assert "gross_exposure.max=0" in bad["message"]
        assert "ResidualBeta(min=0.1, max=0.2)" in bad["message"]
        assert np.isnan(bad["objective"])
        assert result.points.loc[1, "status"] == "optimal"
        assert set(result.weights["point"]) == {1}


class TestStore:
    def test_resume_reads_what_is_stored_and_several_sweeps_share_a_file(
        self, tmp_path: Path
    ) -> None:
        store = tmp_path / "sweeps.duckdb"
        first = oh.sweep(variance_problem(), VARIANCE_GRID, store=store, progress=False)
        assert first.computed == 8
        again = oh.sweep(variance_problem(), VARIANCE_GRID, store=store, progress=False)
        assert again.computed == 0
        pd.testing.assert_frame_equal(again.points, first.points, check_dtype=False)
        pd.testing.assert_frame_equal(again.weights, first.weights, check_dtype=False)
        other = oh.sweep(shortfall_problem(), SHORTFALL_GRID, store=store, progress=False)
        assert other.computed == 6
        fresh = oh.sweep(
            variance_problem(), VARIANCE_GRID, store=store, resume=False, progress=False
        )
        assert fresh.computed == 8
        con = duckdb.connect(str(store), read_only=True)
        try:
            counts = dict(
                con.execute("SELECT sweep_id, count(*) FROM sweep_points GROUP BY 1").fetchall()
            )
        finally:
            con.close()
        assert counts == {first.sweep_id: 8, other.sweep_id: 6}  # none stored twice

    def test_export(self, tmp_path: Path) -> None:
        result = oh.sweep(variance_problem(), VARIANCE_GRID, progress=False)
        points, weights = result.to_parquet(tmp_path / "s.parquet")
        back = duckdb.connect().execute(f"SELECT * FROM '{points}' ORDER BY point").df()
        np.testing.assert_allclose(back["objective"], result.points["objective"])
        back_w = duckdb.connect().execute(f"SELECT * FROM '{weights}'").df()
        assert len(back_w) == len(result.weights)
        csv_points, csv_weights = result.to_csv(tmp_path / "s.csv")
        np.testing.assert_allclose(pd.read_csv(csv_points)["objective"], result.points["objective"])
        assert len(pd.read_csv(csv_weights)) == len(result.weights)

    def test_killed_with_sigkill_and_resumed(self, tmp_path: Path) -> None:
        problem = variance_problem()
        grid = {"gross_exposure.max": list(np.linspace(0.05, 0.5, 10)), "turnover.max": [0.2, 1.0]}
        (tmp_path / "problem.pkl").write_bytes(pickle.dumps((problem, grid)))
        store = tmp_path / "sweeps.duckdb"
        script = tmp_path / "run.py"
        script.write_text(
            textwrap.dedent(
                f"""
                import pickle, time
                import optihedge as oh
                problem, grid = pickle.loads(open({str(tmp_path / "problem.pkl")!r}, 'rb').read())
                def progress(done, total):
                    print(done, flush=True)
                    time.sleep(0.4)
                oh.sweep(problem, grid, store={str(store)!r}, chunk_size=2, progress=progress)
                print("finished", flush=True)
                """
            )
        )
        child = subprocess.Popen(
            [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert child.stdout is not None
        seen = [child.stdout.readline().strip() for _ in range(3)]
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
        child.stdout.close()
        assert child.returncode == -signal.SIGKILL
        assert "finished" not in seen
        con = duckdb.connect(str(store), read_only=True)
        try:
            committed = con.execute("SELECT count(*) FROM sweep_points").fetchone()
        finally:
            con.close()
        assert committed is not None
        assert 6 <= committed[0] < 20
        resumed = oh.sweep(problem, grid, store=store, progress=False)
        assert resumed.computed == 20 - committed[0]  # nothing repeated, nothing lost
        assert len(resumed) == 20
        whole = oh.sweep(problem, grid, progress=False)
        np.testing.assert_allclose(
            resumed.points["objective"], whole.points["objective"], rtol=1e-9
        )
        np.testing.assert_allclose(resumed.weights["weight"], whole.weights["weight"], atol=1e-9)


class TestProgressAndPlots:
    def test_progress(self, capsys: pytest.CaptureFixture[str]) -> None:
        calls: list[tuple[int, int]] = []
        oh.sweep(
            variance_problem(),
            VARIANCE_GRID,
            progress=lambda d, t: calls.append((d, t)),
            chunk_size=3,
        )
        assert calls[-1] == (8, 8)
        assert [c[0] for c in calls] == [3, 6, 8]
        oh.sweep(variance_problem(), VARIANCE_GRID, progress=False)
        assert capsys.readouterr().err == ""
        oh.sweep(variance_problem(), VARIANCE_GRID, progress=True)
        err = capsys.readouterr().err
        assert "8/8" in err
        assert "point" in err

    def test_plots(self) -> None:
        result = oh.sweep(shortfall_problem(), SHORTFALL_GRID, progress=False)
        fig = oh.sweeps.frontier_plot(
            result, risk="scenario_es", cost="premium", by="gross_exposure.max"
        )
        assert len(fig.axes[0].lines) == 2
        with pytest.raises(SpecificationError, match=r"result\.select"):
            oh.sweeps.shadow_price_plot(result, "premium_budget.max")  # two keys vary
        fig = oh.sweeps.shadow_price_plot(
            result.select({"gross_exposure.max": 0.5}), "premium_budget.max"
        )
        assert len(fig.axes[0].lines[0].get_xdata()) == 3
        one_d = oh.sweep(
            shortfall_problem(), {"premium_budget.max": [0.0, 0.002, 0.005]}, progress=False
        )
        fig = oh.sweeps.allocation_plot(one_d, "premium_budget.max")
        assert len(fig.axes[0].collections) >= 4
        with pytest.raises(SpecificationError, match="one-dimensional"):
            oh.sweeps.allocation_plot(result, "premium_budget.max")


class TestBadInput:
    @pytest.mark.parametrize(
        ("grid", "word"),
        [
            ({}, "empty"),
            ([], "empty"),
            ({"gross": [0.1]}, "gross_exposure.max"),
            ({"gross_exposure.max": []}, "no values"),
            ({"gross_exposure.max": 0.3}, "list of values"),
            ({"gross_exposure.max": [0.2, -1.0]}, "gross_exposure.max"),
            ({"gross_exposure.max": [0.2, "wide"]}, "gross_exposure.max"),
            ({"scenarios": [BOOK]}, "not a Scenarios"),
            ([{"gross_exposure.max": 0.2}, {"turnover.max": 0.2}], "same keys"),
        ],
    )
    def test_refused_before_any_work(self, grid: object, word: str) -> None:
        calls: list[int] = []
        with pytest.raises(SpecificationError, match=word):
            oh.sweep(variance_problem(), grid, progress=lambda d, t: calls.append(d))
        assert calls == []

    def test_an_input_that_does_not_fit_the_problem(self) -> None:
        stranger = oh.Portfolio.from_holdings({"A": 5e5, "ZZZ": 5e5})
        calls: list[int] = []
        with pytest.raises(MissingLabelsError, match="grid's 'portfolio' value 'odd'.*'ZZZ'"):
            oh.sweep(
                variance_problem(),
                {"portfolio": {"book": BOOK, "odd": stranger}, "gross_exposure.max": [0.2]},
                progress=lambda d, t: calls.append(d),
            )
        assert calls == []

    def test_a_store_that_cannot_be_used(self, tmp_path: Path) -> None:
        with pytest.raises(SpecificationError, match="does not exist"):
            oh.sweep(variance_problem(), VARIANCE_GRID, store=tmp_path / "no" / "s.duckdb")
        with pytest.raises(SpecificationError, match="directory"):
            oh.sweep(variance_problem(), VARIANCE_GRID, store=tmp_path)
        other = tmp_path / "other.duckdb"
        con = duckdb.connect(str(other))
        con.execute("CREATE TABLE prices (day DATE, close DOUBLE)")
        con.close()
        with pytest.raises(DataError, match="other tables"):
            oh.sweep(variance_problem(), VARIANCE_GRID, store=other)
        changed = tmp_path / "changed.duckdb"
        oh.sweep(variance_problem(), {"gross_exposure.max": [0.2]}, store=changed, progress=False)
        con = duckdb.connect(str(changed))
        con.execute("ALTER TABLE sweep_points ADD COLUMN extra INTEGER")
        con.close()
        with pytest.raises(DataError, match="sweep_points"):
            oh.sweep(variance_problem(), VARIANCE_GRID, store=changed)
        not_db = tmp_path / "text.duckdb"
        not_db.write_text("hello")
        with pytest.raises(DataError, match="not a DuckDB database"):
            oh.sweep(variance_problem(), VARIANCE_GRID, store=not_db)


class TestDirectPath:
    """Re-solves that change only limits go straight to a kept Clarabel solver."""

    def test_same_numbers_as_the_standard_path(self) -> None:
        problem = variance_problem()
        points = [
            {"gross_exposure.max": g, "turnover.max": t}
            for g, t in ((0.5, 1.0), (0.4, 1.0), (0.3, 0.2), (0.2, 0.15))
        ]
        results = [problem.solve(p) for p in points]
        assert results[0].solver_stats.get("direct") is None  # constants, then DPP
        assert results[-1].solver_stats.get("direct") is True
        for point, got in zip(points, results, strict=True):
            fresh = variance_problem().solve(point)
            np.testing.assert_allclose(got.weights, fresh.weights, atol=1e-7)
            assert got.objective_value == pytest.approx(fresh.objective_value, rel=1e-8)
            pd.testing.assert_series_equal(got.constraints["binding"], fresh.constraints["binding"])
            np.testing.assert_allclose(
                got.constraints["shadow_price"],
                fresh.constraints["shadow_price"],
                rtol=1e-5,
                atol=1e-9,
            )
            np.testing.assert_allclose(
                got.constraints["value"], fresh.constraints["value"], atol=1e-7
            )

    def test_infeasible_after_direct_solves_is_diagnosed(self) -> None:
        problem = variance_problem(constraints=[GrossExposure(0.5), ResidualBeta(min=0.1, max=0.2)])
        for g in (0.5, 0.45, 0.4):
            assert problem.solve({"gross_exposure.max": g}).status == "optimal"
        with pytest.raises(oh.errors.InfeasibleError, match="gross_exposure.max=0"):
            problem.solve({"gross_exposure.max": 0.0})
        assert problem.solve({"gross_exposure.max": 0.5}).status == "optimal"

    def test_a_new_risk_model_updates_the_matrix_in_place(self) -> None:
        problem = variance_problem()
        for g in (0.5, 0.4, 0.3):
            problem.solve({"gross_exposure.max": g})
        other = problem.solve(risk_model=MODELS[126])  # the factor roots are values of A
        assert other.solver_stats.get("direct") is True
        fresh = variance_problem(risk_model=MODELS[126]).solve({"gross_exposure.max": 0.3})
        np.testing.assert_allclose(other.weights, fresh.weights, atol=1e-7)
        again = problem.solve({"gross_exposure.max": 0.35})
        again = problem.solve({"gross_exposure.max": 0.3})
        assert again.solver_stats.get("direct") is True
        np.testing.assert_allclose(again.weights, fresh.weights, atol=1e-7)

    def test_worst_case_variance_over_windows(self) -> None:
        def make() -> oh.HedgeProblem:
            return variance_problem(
                objective=oh.RobustVariance() + oh.TradingCost(), risk_model=MODELS
            )

        problem = make()
        for g in (0.5, 0.4, 0.3, 0.2):
            result = problem.solve({"gross_exposure.max": g})
        assert result.solver_stats.get("direct") is True
        fresh = make().solve({"gross_exposure.max": 0.2})
        np.testing.assert_allclose(result.weights, fresh.weights, atol=1e-7)
        assert result.objective_value == pytest.approx(fresh.objective_value, rel=1e-8)
        np.testing.assert_allclose(
            result.constraints["shadow_price"],
            fresh.constraints["shadow_price"],
            rtol=1e-5,
            atol=1e-9,
        )

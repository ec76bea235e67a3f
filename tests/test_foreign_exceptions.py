"""Foreign exceptions that reached users (issue 20): each is now the project's typed error.

Numeric text in prices, wrong types to ``kelly_comparison`` / ``scenario_pnl`` /
``Scenarios`` / the plots / ``report``, a Dask scheduler given as a number or a dead
address, a grid too large to build, duplicate labels in a hedge, solver options passed
through unchecked, and an expected-shortfall alpha whose tail holds less than one
scenario at a grid point. Each gets a typed error whose message names the argument and
the fix; where the call succeeds, the numbers are checked against a hand computation.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cases import three_stocks

import optihedge as oh
from constraints import GrossExposure
from optihedge.errors import DataError, MissingLabelsError, SpecificationError

DAILY = three_stocks(300, seed=5, start="2019-01-01")
MODEL = oh.FactorModel(windows=(252,)).fit(DAILY, DAILY[["IDX"]]).risk_model_
BOOK = oh.Portfolio.from_holdings({"A": 5e5, "B": 3e5, "C": 2e5})
FUTURE = oh.Future("F", underlying="IDX", price=100.0, multiplier=50.0, cost=0.0002)
ETF = oh.ETF("E", underlying="IDX", price=40.0, expense_ratio=0.001)
SCENARIOS = oh.Scenarios.historical(DAILY, horizon=10)


def variance_problem(**kw: object) -> oh.HedgeProblem:
    args: dict[str, object] = {
        "objective": oh.Variance(),
        "constraints": [GrossExposure(0.5)],
        "risk_model": MODEL,
        "horizon": 10,
        "market": "IDX",
    }
    args.update(kw)
    return oh.HedgeProblem(BOOK, [FUTURE, ETF], **args)  # type: ignore[arg-type]


def shortfall_problem(**kw: object) -> oh.HedgeProblem:
    args: dict[str, object] = {
        "objective": oh.ExpectedShortfall(0.9),
        "constraints": [GrossExposure(0.5)],
        "scenarios": SCENARIOS,
        "horizon": 10,
        "market": "IDX",
    }
    args.update(kw)
    return oh.HedgeProblem(BOOK, [FUTURE], **args)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TestPrices:
    def test_numbers_written_as_text_are_refused_with_the_conversion(self) -> None:
        prices = (1 + DAILY).cumprod() * 100
        text = prices.map(lambda v: f"{v:.4f}")  # "101.2345": numpy would read it
        with pytest.raises(DataError, match=r"'prices'.*\['A', 'B', 'C', 'IDX'\].*pd.to_numeric"):
            oh.returns_from_prices(text)
        one = prices.astype(object)
        one["B"] = one["B"].astype(str)
        with pytest.raises(DataError, match=r"columns \['B'\] hold text"):
            oh.returns_from_prices(one)

    def test_numbers_in_object_columns_still_give_the_returns(self) -> None:
        prices = (1 + DAILY).cumprod() * 100
        got = oh.returns_from_prices(prices.astype(object))
        values = prices.to_numpy()
        expected = values[1:] / values[:-1] - 1.0
        np.testing.assert_allclose(got.to_numpy(dtype=float), expected, rtol=1e-12)


class TestEvaluationTypes:
    def test_scenario_pnl_wrong_types(self) -> None:
        w = pd.Series({"F": -0.3})
        with pytest.raises(SpecificationError, match=r"'portfolio'.*Portfolio.from_holdings"):
            oh.scenario_pnl({"A": 1.0}, [FUTURE], w, SCENARIOS)  # type: ignore[arg-type]
        with pytest.raises(SpecificationError, match=r"'scenarios'.*Got DataFrame"):
            oh.scenario_pnl(BOOK, [FUTURE], w, DAILY)  # type: ignore[arg-type]
        with pytest.raises(SpecificationError, match=r"'market_state'.*Got dict"):
            oh.scenario_pnl(BOOK, [FUTURE], w, SCENARIOS, {"spot": 1.0})  # type: ignore[arg-type]
        with pytest.raises(MissingLabelsError, match=r"'weights' argument repeats.*\['F'\]"):
            oh.scenario_pnl(BOOK, [FUTURE], pd.Series([0.1, 0.2], index=["F", "F"]), SCENARIOS)

    def test_scenario_pnl_numbers_by_hand(self) -> None:
        w = pd.Series({"F": -0.3})
        got = oh.scenario_pnl(BOOK, [FUTURE], w, SCENARIOS)
        r = SCENARIOS.returns
        book = 0.5 * r["A"] + 0.3 * r["B"] + 0.2 * r["C"]
        np.testing.assert_allclose(got["before"], book, rtol=1e-12)
        np.testing.assert_allclose(got["after"], book - 0.3 * r["IDX"], rtol=1e-12, atol=1e-15)

    def test_kelly_comparison_wrong_types(self) -> None:
        events = SCENARIOS.with_event("e", 0.2)
        contract = oh.EventContract("K", event="e", price=0.1)
        with pytest.raises(SpecificationError, match=r"'scenarios'.*Got DataFrame"):
            oh.kelly_comparison(pd.Series({"K": 0.1}), [contract], events.returns)  # type: ignore[arg-type]
        with pytest.raises(DataError, match=r"'weights'.*Got dict.*pd.Series"):
            oh.kelly_comparison({"K": 0.1}, [contract], events)  # type: ignore[arg-type]
        table = oh.kelly_comparison(pd.Series({"K": 0.1}), [contract], events)
        # Kelly for a bet at price 0.1 on a 0.2 event: (q - p) / (1 - p)
        assert table.loc["K", "kelly_stake"] == pytest.approx((0.2 - 0.1) / 0.9, rel=1e-12)
        assert table.loc["K", "stake"] == pytest.approx(0.1 * 0.1, rel=1e-12)


def test_scenarios_probabilities_as_a_list() -> None:
    rows = DAILY.iloc[:3]
    with pytest.raises(DataError, match=r"'probabilities'.*Series.*Got list.*from_returns"):
        oh.Scenarios(rows, 1, probabilities=[0.2, 0.3, 0.5])  # type: ignore[arg-type]
    ok = oh.Scenarios.from_returns(rows, probabilities=[0.2, 0.3, 0.5])
    np.testing.assert_allclose(ok.probability_array(), [0.2, 0.3, 0.5])


class TestScheduler:
    def test_a_number_is_refused_before_any_work(self, tmp_path: Path) -> None:
        store = tmp_path / "s.duckdb"
        with pytest.raises(SpecificationError, match=r"'scheduler'.*tcp://host:8786.*Got int"):
            oh.sweep(
                variance_problem(),
                {"gross_exposure.max": [0.2]},
                scheduler=8786,
                store=store,
                progress=False,
            )
        assert not store.exists()

    def test_a_dead_address_fails_in_seconds_naming_it(self) -> None:
        address = f"tcp://127.0.0.1:{free_port()}"
        started = time.perf_counter()
        with pytest.raises(SpecificationError, match=rf"{address}.*did not answer.*5 s"):
            oh.sweep(
                variance_problem(), {"gross_exposure.max": [0.2]}, scheduler=address, progress=False
            )
        assert time.perf_counter() - started < 15.0  # was a 30 s hang, then an OSError

    def test_a_malformed_address(self) -> None:
        with pytest.raises(SpecificationError, match=r"'nowhere'.*check the address"):
            oh.sweep(
                variance_problem(),
                {"gross_exposure.max": [0.2]},
                scheduler="nowhere",
                progress=False,
            )


class TestGridSize:
    def test_a_trillion_points_are_counted_not_built(self) -> None:
        values = list(np.linspace(0.1, 1.0, 1_000_000))
        weights = list(np.linspace(0.5, 2.0, 1_000_000))
        started = time.perf_counter()
        with pytest.raises(SpecificationError, match=r"1,000,000,000,000 points.*1,000,000"):
            oh.sweep(
                variance_problem(),
                {"gross_exposure.max": values, "variance.weight": weights},
                progress=False,
            )
        assert time.perf_counter() - started < 5.0

    def test_a_list_of_too_many_points(self) -> None:
        points = [{"gross_exposure.max": 0.2}] * 1_000_001
        with pytest.raises(SpecificationError, match=r"1,000,001 points.*several sweeps"):
            oh.sweep(variance_problem(), points, progress=False)


@pytest.fixture(scope="module")
def result() -> oh.SweepResult:
    return oh.sweep(
        variance_problem(),
        {"gross_exposure.max": [0.1, 0.3], "variance.weight": [1.0, 2.0]},
        progress=False,
    )


class TestPlotsAndReport:
    def test_frontier_by_an_unknown_key(self, result: oh.SweepResult) -> None:
        with pytest.raises(MissingLabelsError, match=r"'by'.*'nope'.*\['gross_exposure.max'"):
            oh.sweeps.frontier_plot(result, cost="turnover", by="nope")
        fig = oh.sweeps.frontier_plot(result, cost="turnover", by="variance.weight")
        assert len(fig.axes[0].lines) == 2

    def test_plots_given_the_points_table(self, result: oh.SweepResult) -> None:
        for plot, args in (
            (oh.sweeps.frontier_plot, ()),
            (oh.sweeps.shadow_price_plot, ("gross_exposure.max",)),
            (oh.sweeps.allocation_plot, ("gross_exposure.max",)),
        ):
            with pytest.raises(SpecificationError, match=r"SweepResult.*Got DataFrame"):
                plot(result.points, *args)  # type: ignore[operator]

    def test_report_inputs_as_a_list(self, tmp_path: Path) -> None:
        solved = variance_problem().solve()
        target = tmp_path / "r.html"
        with pytest.raises(SpecificationError, match=r"'inputs'.*mapping.*Got list"):
            solved.report(target, inputs=["data 2019"])  # type: ignore[arg-type]
        assert not target.exists()


class TestDuplicateLabels:
    def test_a_current_hedge_with_duplicate_labels(self) -> None:
        dup = pd.Series([0.1, -0.2], index=["F", "F"])
        with pytest.raises(MissingLabelsError, match=r"'current' argument repeats.*groupby"):
            variance_problem(current=dup)
        p = variance_problem()
        before = p.solve().weights
        with pytest.raises(MissingLabelsError, match=r"'current'"):
            p.solve(current=dup)
        pd.testing.assert_series_equal(p.solve().weights, before, atol=1e-10, rtol=0)


class TestSolverOptions:
    def test_an_unknown_clarabel_setting_is_named_with_close_ones(self) -> None:
        p = variance_problem()
        with pytest.raises(SpecificationError, match=r"no setting 'max_iters'.*'max_iter'"):
            p.solve(max_iters=10)

    def test_values_of_the_wrong_type(self) -> None:
        p = variance_problem()
        with pytest.raises(SpecificationError, match=r"'max_iter' takes a int.*Got 1.5"):
            p.solve(max_iter=1.5)
        with pytest.raises(SpecificationError, match=r"'tol_feas'.*finite.*nan"):
            p.solve(tol_feas=float("nan"))
        with pytest.raises(SpecificationError, match=r"'verbose' takes a bool"):
            p.solve(solver="CLARABEL", verbose="yes")
        with pytest.raises(SpecificationError, match=r"keyword arguments"):
            p.solve(solver_options={"max_iter": 10})

    def test_options_the_package_sets_itself(self) -> None:
        with pytest.raises(SpecificationError, match=r"'ignore_dpp'.*sets it itself"):
            variance_problem().solve(ignore_dpp=True)

    def test_an_unknown_solver(self) -> None:
        with pytest.raises(SpecificationError, match=r"'solver'.*installed.*CLARABEL.*Got 'NOPE'"):
            variance_problem().solve(solver="NOPE")

    def test_another_solver_refusing_an_option(self) -> None:
        with pytest.raises(SpecificationError, match=r"SCS refused the options.*'bogus'"):
            variance_problem().solve(solver="SCS", bogus=1)

    def test_a_refused_option_changes_nothing(self) -> None:
        p = variance_problem()
        with pytest.raises(SpecificationError):
            p.solve({"gross_exposure.max": 0.05}, max_iters=10)
        assert p.registry.values["gross_exposure.max"] == 0.5

    def test_valid_options_still_pass_and_agree(self) -> None:
        p = variance_problem()
        plain = p.solve()
        tight = variance_problem().solve(
            solver="clarabel", max_iter=500, tol_gap_abs=1e-12, tol_gap_rel=1e-12, verbose=False
        )
        np.testing.assert_allclose(tight.weights, plain.weights, atol=1e-7)


class TestShortfallTail:
    def test_an_alpha_too_high_for_the_scenarios_is_refused_before_any_point(self) -> None:
        n = len(SCENARIOS.returns)
        alpha = 1.0 - 0.5 / n  # a tail of half a scenario
        calls: list[tuple[int, int]] = []
        with pytest.raises(
            SpecificationError, match=rf"Grid point 1: alpha=.*0.5 scenario.*out of {n}.*before"
        ):
            oh.sweep(
                shortfall_problem(),
                {"expected_shortfall.alpha": [0.9, alpha, 0.95]},
                progress=lambda done, total: calls.append((done, total)),
            )
        assert calls == []

    def test_a_small_scenario_set_in_the_grid(self) -> None:
        small = oh.Scenarios.from_returns(SCENARIOS.returns.iloc[:20], horizon=10)
        with pytest.raises(SpecificationError, match=r"scenarios 'small'.*out of 20"):
            oh.sweep(
                shortfall_problem(),
                {
                    "scenarios": {"all": SCENARIOS, "small": small},
                    "expected_shortfall.alpha": [0.97],
                },
                progress=False,
            )
        # at 0.9 the small set's tail holds two scenarios: the sweep runs
        done = oh.sweep(
            shortfall_problem(),
            {"scenarios": {"all": SCENARIOS, "small": small}, "expected_shortfall.alpha": [0.9]},
            progress=False,
        )
        assert list(done.points["status"]) == ["optimal", "optimal"]

"""Issue 20, "Also (found on the way)": Portfolio.from_shares, HedgeProblem.set,
SweepResult.select (and the plots on a multi-key sweep), expected shortfall's factor
split when only scenarios are given."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from cases import three_stocks
from hypothesis import given
from hypothesis import strategies as st

import optihedge as oh
from constraints import GrossExposure, ResidualBeta, Turnover
from optihedge.errors import DataError, MissingLabelsError, SpecificationError
from optihedge.optimize.compiled import CompiledHedge

# --------------------------------------------------------------------------------------
# 1. Portfolio.from_shares


def test_from_shares_hand_numbers() -> None:
    # 100 x 50 + 40 x 25 - 20 x 10 = 5000 + 1000 - 200 = 5800
    book = oh.Portfolio.from_shares(
        {"AAA": 100, "BBB": 40, "CCC": -20}, pd.Series({"CCC": 10.0, "AAA": 50.0, "BBB": 25.0})
    )
    assert book.capital == pytest.approx(5800.0)
    assert book.holdings.to_dict() == pytest.approx({"AAA": 5000.0, "BBB": 1000.0, "CCC": -200.0})
    assert book.weights["AAA"] == pytest.approx(5000.0 / 5800.0)
    assert book.weights["CCC"] == pytest.approx(-200.0 / 5800.0)
    assert book.currency == "USD"


def test_from_shares_short_book_with_capital() -> None:
    book = oh.Portfolio.from_shares({"JET": -1000}, {"JET": 2.5}, capital=10_000, currency="EUR")
    assert book.weights["JET"] == pytest.approx(-0.25)
    assert book.currency == "EUR"


@pytest.mark.parametrize(
    ("shares", "prices", "error", "match"),
    [
        (
            {"A": 1, "B": 2},
            {"A": 1.0, "C": 2.0},
            MissingLabelsError,
            r"\['B'\] only in 'shares'.*\['C'\] only in 'prices'",
        ),
        ({"A": 1}, {"A": float("nan")}, DataError, r"'prices'.*finite prices > 0.*'A': nan"),
        ({"A": 1}, {"A": math.inf}, DataError, r"'prices'.*'A': inf"),
        ({"A": 1, "B": 1}, {"A": 1.0, "B": 0.0}, DataError, r"'prices'.*'B': 0\.0"),
        ({"A": 1}, {"A": -3.0}, DataError, r"'prices'.*'A': -3\.0"),
        ({"A": float("nan")}, {"A": 1.0}, DataError, r"'shares'"),
        ({"A": 1, "B": -1}, {"A": 5.0, "B": 5.0}, DataError, r"net value is 0\.00.*pass capital="),
        ({"A": -2}, {"A": 5.0}, DataError, r"net value is -10\.00.*pass capital="),
        ([1, 2], {"A": 1.0}, DataError, r"'shares' argument must be a Series or dict"),
    ],
)
def test_from_shares_bad_inputs(shares, prices, error, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        oh.Portfolio.from_shares(shares, prices)


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=1_000_000),
            st.floats(min_value=0.01, max_value=10_000.0),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_from_shares_round_trip(rows: list[tuple[int, float]]) -> None:
    labels = [f"T{i}" for i in range(len(rows))]
    shares = pd.Series([float(q) for q, _ in rows], index=labels)
    prices = pd.Series([p for _, p in rows], index=labels).iloc[::-1]  # the other order
    book = oh.Portfolio.from_shares(shares, prices)
    assert book.capital is not None
    back = book.weights * book.capital / prices.reindex(book.weights.index)
    np.testing.assert_allclose(back.reindex(labels).to_numpy(), shares.to_numpy(), rtol=1e-12)
    assert book.capital == pytest.approx(float((shares * prices.reindex(labels)).sum()), rel=1e-12)


# --------------------------------------------------------------------------------------
# 2. HedgeProblem.set: parameters without solving

DAILY = three_stocks(500, seed=3, start="2019-01-01")
MODEL = oh.FactorModel(windows=(252,)).fit(DAILY, DAILY[["IDX"]]).risk_model_
BOOK = oh.Portfolio.from_holdings({"A": 5e5, "B": 3e5, "C": 2e5})
LINEAR = [
    oh.Future("F", underlying="IDX", price=100.0, multiplier=50.0, cost=0.0002),
    oh.ETF("E", underlying="IDX", price=40.0, expense_ratio=0.001, cost=0.0005),
    oh.PositionReduction("sell A", holding="A", price=50.0, cost=0.001),
]
SCENARIOS = oh.Scenarios.historical(DAILY, horizon=10)


def variance_problem(gross: float = 0.5) -> oh.HedgeProblem:
    return oh.HedgeProblem(
        BOOK,
        LINEAR,
        objective=oh.Variance() + oh.TradingCost(),
        constraints=[GrossExposure(gross), Turnover(1.0), ResidualBeta(min=0.1)],
        risk_model=MODEL,
        horizon=10,
        market="IDX",
    )


def shortfall_problem() -> oh.HedgeProblem:
    return oh.HedgeProblem(
        BOOK,
        LINEAR,
        objective=oh.ExpectedShortfall(0.9),
        constraints=[GrossExposure(0.5)],
        scenarios=SCENARIOS,
        horizon=10,
        market="IDX",
    )


def test_set_then_solve_equals_solve_with_the_values(monkeypatch: pytest.MonkeyPatch) -> None:
    params = {"gross_exposure.max": 0.2, "turnover.max": 0.15}
    by_solve = variance_problem().solve(params)
    problem = variance_problem()
    first = problem.solve()
    calls: list[object] = []
    real = CompiledHedge._solve_once  # the compiled core solves (optimize.compiled)

    def counted(self: CompiledHedge, *args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(CompiledHedge, "_solve_once", counted)
    assert problem.set(params) is problem
    assert calls == []  # no solver ran
    assert problem.parameters.loc["gross_exposure.max", "value"] == 0.2
    assert problem.parameters.loc["turnover.max", "value"] == 0.15
    assert first.weights.abs().sum() > 0.2 + 1e-6  # the earlier result is untouched
    by_set = problem.solve()
    assert len(calls) == 1
    np.testing.assert_allclose(by_set.weights, by_solve.weights, atol=1e-8)
    assert by_set.objective_value == pytest.approx(by_solve.objective_value, rel=1e-8)
    # and a problem built with the limit: the same answer
    built = variance_problem(gross=0.2).solve({"turnover.max": 0.15})
    np.testing.assert_allclose(by_set.weights, built.weights, atol=1e-7)
    assert by_set.weights.abs().sum() <= 0.2 + 1e-7


def test_set_objective_key_and_keyword_form() -> None:
    # alpha is an objective key: the data's scale is refreshed as solve would
    one = shortfall_problem()
    one.set(**{"expected_shortfall.alpha": 0.95})
    two = shortfall_problem()
    a, b = one.solve(), two.solve({"expected_shortfall.alpha": 0.95})
    np.testing.assert_allclose(a.weights, b.weights, atol=1e-8)
    assert a.objective_value == pytest.approx(b.objective_value, rel=1e-8)


def test_set_bad_key_or_value_applies_nothing() -> None:
    problem = variance_problem()
    before = problem.parameters["value"].copy()
    with pytest.raises(
        SpecificationError,
        match=r"Unknown parameter key\(s\) \['gross\.max'\].*gross_exposure\.max",
    ):
        problem.set({"gross.max": 0.2})
    with pytest.raises(SpecificationError, match=r"gross_exposure\.max.*-0\.1"):
        problem.set({"turnover.max": 0.3, "gross_exposure.max": -0.1})
    with pytest.raises(SpecificationError, match=r"'params' argument must be a mapping"):
        problem.set([("turnover.max", 0.3)])  # type: ignore[arg-type]
    pd.testing.assert_series_equal(problem.parameters["value"], before)


# --------------------------------------------------------------------------------------
# 3. SweepResult.select, and the plots on a multi-key sweep

GRID3 = {
    "gross_exposure.max": [0.1, 0.3],
    "turnover.max": [0.15, 1.0],
    "variance.weight": [1.0, 2.0],
}


@pytest.fixture(scope="module")
def sweep3() -> oh.SweepResult:
    return oh.sweep(variance_problem(), GRID3, progress=False)


def test_select_restricts_points_and_weights(sweep3: oh.SweepResult) -> None:
    assert len(sweep3) == 8
    # 0.1 + 0.2 is not 0.3 in floats: matched with a tolerance
    one = sweep3.select({"gross_exposure.max": 0.1 + 0.2, "turnover.max": 1.0})
    assert len(one) == 2
    assert set(one.points["variance.weight"]) == {1.0, 2.0}
    assert np.allclose(one.points["gross_exposure.max"], 0.3)
    assert set(one.weights["point"]) == set(one.points.index)
    full = sweep3.weights.set_index(["point", "instrument"])["weight"]
    mine = one.weights.set_index(["point", "instrument"])["weight"]
    pd.testing.assert_series_equal(mine, full.loc[mine.index])
    # the selected points are the ones a fresh solve gives at those values
    for point, row in one.points.iterrows():
        fresh = variance_problem().solve(
            {
                "gross_exposure.max": 0.3,
                "turnover.max": 1.0,
                "variance.weight": row["variance.weight"],
            }
        )
        np.testing.assert_allclose(
            one.pivot().loc[point].reindex(fresh.weights.index), fresh.weights, atol=1e-6
        )
    assert one.select(**{"variance.weight": 2.0}).points.index.tolist() == [
        p for p in one.points.index if one.points.loc[p, "variance.weight"] == 2.0
    ]


def test_select_bad_keys_and_values(sweep3: oh.SweepResult) -> None:
    with pytest.raises(
        MissingLabelsError, match=r"Unknown sweep key\(s\) \['gross\.max'\].*'gross_exposure\.max'"
    ):
        sweep3.select({"gross.max": 0.1})
    with pytest.raises(
        MissingLabelsError, match=r"no point with turnover\.max = 0\.5.*\[0\.15, 1\.0\]"
    ):
        sweep3.select({"turnover.max": 0.5})
    with pytest.raises(MissingLabelsError, match=r"turnover\.max = 'a'"):
        sweep3.select({"turnover.max": "a"})


def test_plots_on_a_multi_key_sweep_point_to_select(sweep3: oh.SweepResult) -> None:
    cases = (
        (
            lambda r: oh.sweeps.allocation_plot(r, "gross_exposure.max"),
            "allocation_plot",
            "turnover",
        ),
        (
            lambda r: oh.sweeps.shadow_price_plot(r, "gross_exposure.max"),
            "shadow_price_plot",
            "turnover",
        ),
        # the frontier lets one key vary along each line: turnover.max here
        (
            lambda r: oh.sweeps.frontier_plot(r, cost="turnover", by="gross_exposure.max"),
            "frontier_plot",
            "variance",
        ),
    )
    for call, name, first in cases:
        with pytest.raises(
            SpecificationError, match=rf"{name}.*vary too.*result\.select\(\{{'{first}"
        ):
            call(sweep3)
    fixed = sweep3.select({"turnover.max": 1.0, "variance.weight": 1.0})
    fig = oh.sweeps.allocation_plot(fixed, "gross_exposure.max")
    assert len(fig.axes[0].collections) >= 3
    fig = oh.sweeps.shadow_price_plot(fixed, "gross_exposure.max")
    np.testing.assert_allclose(fig.axes[0].lines[0].get_xdata(), [0.1, 0.3])
    two = sweep3.select({"variance.weight": 1.0})
    fig = oh.sweeps.frontier_plot(two, cost="turnover", by="gross_exposure.max")
    assert len(fig.axes[0].lines) == 2
    assert all(len(line.get_xdata()) == 2 for line in fig.axes[0].lines)


# --------------------------------------------------------------------------------------
# 4. Expected shortfall by factor when only scenarios are given: the note


def test_factor_split_with_scenarios_only_says_to_pass_the_risk_model() -> None:
    result = shortfall_problem().solve()
    for measure in ("expected_shortfall", "volatility"):
        table = result.attribution(by="factor", measure=measure)
        # each asset is its own "factor": the rows are the assets
        assert {"A", "B", "C", "IDX"} <= set(table.index)
        assert "split by asset" in table.attrs["note"]
        assert "pass a factor risk model" in table.attrs["note"]
        assert "risk_model=" in table.attrs["note"]
    # the same scenarios with a factor model: a split by factor, and no note
    with_model = oh.HedgeProblem(
        BOOK,
        LINEAR,
        objective=oh.ExpectedShortfall(0.9),
        constraints=[GrossExposure(0.5)],
        scenarios=SCENARIOS,
        risk_model=MODEL,
        horizon=10,
        market="IDX",
    ).solve()
    table = with_model.attribution(by="factor", measure="expected_shortfall")
    assert list(table.index) == ["IDX", "specific", "non-linear", "total"]
    assert "note" not in table.attrs
    # the rows add up to the hedged book's scenario ES, computed here by hand:
    # mean loss beyond the VaR, the VaR scenario weighted by its share (equal weights)
    pnl = np.sort(with_model.scenario_returns["after"].to_numpy())
    n, alpha = len(pnl), 0.9
    k = n * (1 - alpha)
    whole = int(np.floor(k))
    es = -(pnl[:whole].sum() + (k - whole) * pnl[whole]) / k
    assert table.loc["total", "after"] == pytest.approx(es, rel=1e-9)
    assert table["after"].iloc[:-1].sum() == pytest.approx(es, rel=1e-9)

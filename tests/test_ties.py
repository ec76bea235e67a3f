"""Exact ties between instruments are broken deterministically, at the same risk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import optihedge as oh
from constraints import GrossExposure

ASSETS = ["A", "IDX"]


@pytest.fixture(scope="module")
def model() -> oh.RiskModel:
    cov = pd.DataFrame([[4e-4, 1.6e-4], [1.6e-4, 2e-4]], index=ASSETS, columns=ASSETS)
    return oh.RiskModel.from_covariance(cov)


BOOK = oh.Portfolio.from_holdings({"A": 1e6})
FUTURE = oh.Future(label="ESZ6", underlying="IDX", price=5000.0, multiplier=50.0, cost=1e-4)
INVERSE = oh.InverseETF(label="SH", underlying="IDX", price=40.0, expense_ratio=0.0088, cost=3e-4)


def solve(model: oh.RiskModel, instruments: list[oh.Instrument], **kw: object) -> oh.HedgeResult:
    args: dict[str, object] = {"objective": oh.Variance(), "horizon": 1, "market": "IDX"}
    args.update(kw)
    return oh.HedgeProblem(BOOK, instruments, risk_model=model, **args).solve()  # type: ignore[arg-type]


def test_the_free_future_is_chosen_over_the_costly_inverse_etf(model: oh.RiskModel) -> None:
    both = solve(model, [FUTURE, INVERSE])
    alone = solve(model, [FUTURE])
    assert both.weights["SH"] == 0.0
    assert both.weights["ESZ6"] == pytest.approx(alone.weights["ESZ6"], abs=1e-7)
    assert both.objective_value == pytest.approx(alone.objective_value, rel=1e-9)
    assert both.risk.loc["after", "variance"] == pytest.approx(
        alone.risk.loc["after", "variance"], rel=1e-7
    )
    assert any("ESZ6, SH carry the same risk per unit" in n for n in both.notes)
    assert both.solver_stats["tie_break"] == "cheapest split at the same risk"
    assert alone.notes == ()


def test_equal_costs_split_evenly_and_the_order_does_not_matter(model: oh.RiskModel) -> None:
    twins = [
        oh.Future(label="F1", underlying="IDX", price=5000.0, multiplier=50.0),
        oh.Future(label="F2", underlying="IDX", price=5000.0, multiplier=50.0),
    ]
    res = solve(model, twins)
    back = solve(model, twins[::-1])
    assert res.weights["F1"] == pytest.approx(res.weights["F2"], abs=1e-7)
    pd.testing.assert_series_equal(res.weights, back.weights.loc[res.weights.index], atol=1e-7)
    total = solve(model, twins[:1]).weights["F1"]
    assert res.weights.sum() == pytest.approx(total, abs=1e-7)


def test_the_users_own_cost_terms_choose_first(model: oh.RiskModel) -> None:
    # a future whose carry a short position earns, beside an inverse ETF that is cheaper
    # by the tie-break's measure: the user's CarryCost decides, not the tie-break
    earning = oh.Future(label="ESZ6", underlying="IDX", price=5000.0, multiplier=50.0, carry=0.02)
    res = solve(model, [earning, INVERSE], objective=oh.Variance() + oh.CarryCost())
    assert res.weights["ESZ6"] < 0
    assert res.weights["SH"] == 0.0


def test_limits_still_hold_and_keep_the_risk_solves_prices(model: oh.RiskModel) -> None:
    res = solve(model, [FUTURE, INVERSE], constraints=[GrossExposure(0.3)])
    alone = solve(model, [FUTURE], constraints=[GrossExposure(0.3)])
    row = res.constraints.loc["gross_exposure.max"]
    assert row["value"] <= 0.3 + 1e-8
    assert row["binding"]
    assert row["shadow_price"] == pytest.approx(
        alone.constraints.loc["gross_exposure.max", "shadow_price"], rel=1e-5
    )


def test_shortfall_ties_and_a_path_dependent_product_that_is_not_one() -> None:
    rng = np.random.default_rng(2)
    days = pd.bdate_range("2020-01-01", periods=600)
    idx = rng.standard_t(4, 600) * 0.01
    daily = pd.DataFrame({"A": 0.9 * idx + rng.normal(0, 0.008, 600), "IDX": idx}, index=days)
    paths = oh.Scenarios.historical(daily, horizon=10)
    twins = [
        oh.Future(label="F1", underlying="IDX", price=5000.0, multiplier=50.0, cost=2e-4),
        oh.Future(label="F2", underlying="IDX", price=5000.0, multiplier=50.0, cost=1e-4),
    ]
    es = oh.HedgeProblem(
        BOOK, twins, objective=oh.ExpectedShortfall(0.9), scenarios=paths, market="IDX"
    ).solve()
    assert es.weights["F1"] == 0.0  # the dearer twin
    assert es.weights["F2"] < 0
    # an inverse ETF compounds along each path: not tied to the future under ES
    mixed = oh.HedgeProblem(
        BOOK, [FUTURE, INVERSE], objective=oh.ExpectedShortfall(0.9), scenarios=paths, market="IDX"
    ).solve()
    assert not any("same risk per unit" in n for n in mixed.notes)

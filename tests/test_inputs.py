"""One compiled problem, new inputs: every input given at construction refreshes by solve().

Each refresh is checked against a fresh build with the same inputs; a rejected input
leaves the problem as it was.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import optihedge as oh
from constraints import ExpectedPnL, GrossExposure, ResidualBeta, Turnover
from factor_models import horizon_variance_factor
from optihedge.errors import DataError, MissingLabelsError, SpecificationError
from optihedge.measures.risk import scale_to_horizon

ASSETS = ["A", "B", "IDX"]


def daily(seed: int, n: int = 1500) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = rng.standard_t(5, n) * 0.008
    return pd.DataFrame(
        {
            "A": 0.8 * idx + rng.normal(0, 0.01, n),
            "B": 1.4 * idx + rng.normal(0, 0.012, n),
            "IDX": idx,
        },
        index=pd.bdate_range("2015-01-01", periods=n),
    )


def instruments() -> list[oh.Instrument]:
    return [
        oh.Future(label="ESZ6", underlying="IDX", price=5000.0, multiplier=50.0, cost=1e-4),
        oh.InverseETF(label="SH", underlying="IDX", price=40.0, expense_ratio=0.009, cost=3e-4),
    ]


BOOK = oh.Portfolio.from_holdings({"A": 6e5, "B": 4e5})


def model(seed: int) -> oh.RiskModel:
    d = daily(seed)
    return oh.FactorModel().fit(d, d[["IDX"]]).risk_model_


def variance(**kwargs: object) -> oh.HedgeProblem:
    args: dict[str, object] = {
        "objective": oh.Variance() + oh.TradingCost(),
        "constraints": [GrossExposure(1.0), Turnover(0.8)],
        "market": "IDX",
    }
    args.update(kwargs)
    return oh.HedgeProblem(args.pop("portfolio", BOOK), instruments(), **args)  # type: ignore[arg-type]


def shortfall(scen: oh.Scenarios, method: str = "auto", **kwargs: object) -> oh.HedgeProblem:
    return oh.HedgeProblem(
        BOOK,
        instruments(),
        objective=oh.ExpectedShortfall(0.95, method=method),  # type: ignore[arg-type]
        constraints=[GrossExposure(1.2)],
        scenarios=scen,
        market="IDX",
        **kwargs,  # type: ignore[arg-type]
    )


class TestRefresh:
    def test_risk_model_current_and_book(self) -> None:
        p = variance(risk_model=model(1))
        p.solve()
        compiled = p.cvxpy_problem
        book = oh.Portfolio.from_holdings({"A": 2e5, "B": 8e5})
        current = pd.Series({"ESZ6": -0.3})
        got = p.solve(risk_model=model(2), current=current, portfolio=book)
        assert p.cvxpy_problem is compiled  # refreshed, not rebuilt
        fresh = variance(risk_model=model(2), current=current, portfolio=book).solve()
        np.testing.assert_allclose(got.weights, fresh.weights, atol=1e-7)
        # the new inputs stay for later solves
        np.testing.assert_allclose(p.solve().weights, fresh.weights, atol=1e-7)

    def test_scenarios_of_the_same_size(self) -> None:
        first = oh.Scenarios.historical(daily(1).iloc[:800], horizon=21)
        second = oh.Scenarios.historical(daily(2).iloc[:800], horizon=21)
        p = shortfall(first)
        p.solve()
        compiled = p.cvxpy_problem
        got = p.solve(scenarios=second)
        assert p.cvxpy_problem is compiled
        fresh = shortfall(second).solve()
        assert got.objective_value == pytest.approx(fresh.objective_value, rel=1e-7)
        np.testing.assert_allclose(got.weights, fresh.weights, atol=1e-5)

    def test_fewer_scenarios_than_slots_rebuilds_and_stays_exact(self) -> None:
        big = oh.Scenarios.historical(daily(1), horizon=21)
        small = oh.Scenarios.historical(daily(3).iloc[:200], horizon=21)
        p = shortfall(big, method="active_set")  # the active set's slots
        assert p.solve().solver_stats["scenario_slots"] == 256
        assert small.n_scenarios < 256  # the compiled slots cannot hold these
        got = p.solve(scenarios=small)
        assert got.solver_stats["rebuilds"] == 1
        assert got.solver_stats["scenario_slots"] == small.n_scenarios
        fresh = shortfall(small).solve()
        assert got.objective_value == pytest.approx(fresh.objective_value, rel=1e-9)
        np.testing.assert_allclose(got.weights, fresh.weights, atol=1e-7)

    def test_expected_returns(self) -> None:
        mu_a = pd.Series({"A": 0.01, "B": 0.02, "IDX": 0.005})
        mu_b = pd.Series({"A": 0.0, "B": 0.04, "IDX": 0.02})
        kwargs = {
            "risk_model": model(1),
            "constraints": [ExpectedPnL(0.011), GrossExposure(1.0)],
        }
        p = variance(expected_returns=mu_a, **kwargs)
        p.solve()
        got = p.solve(expected_returns=mu_b)
        fresh = variance(expected_returns=mu_b, **kwargs).solve()
        np.testing.assert_allclose(got.weights, fresh.weights, atol=1e-7)
        assert got.constraints.loc["expected_pnl.min", "value"] >= 0.011 - 1e-8

    def test_rejected_input_leaves_the_problem_as_it_was(self) -> None:
        p = variance(risk_model=model(1))
        before = p.solve().weights
        with pytest.raises(MissingLabelsError, match=r"holds \['ZZZ'\]"):
            p.solve(portfolio=oh.Portfolio.from_holdings({"ZZZ": 1.0}), params={})
        with pytest.raises(DataError, match="'current' argument holds NaN"):
            p.solve(current=pd.Series({"ESZ6": np.nan}))
        with pytest.raises(SpecificationError, match="must be a MarketState"):
            p.solve(market_state={"spot": 1.0})  # type: ignore[arg-type]
        pd.testing.assert_series_equal(p.solve().weights, before, atol=1e-10, rtol=0)

    def test_refused_refresh_rolls_back(self) -> None:
        # a model whose new factor count differs from the compiled one is refused by the
        # compiled variance term after every label check passed: nothing may stay half-set
        p = variance(risk_model=model(1))
        before = p.solve().weights
        d = daily(4)
        d["X"] = d["IDX"] * 0.5 + np.random.default_rng(0).normal(0, 0.01, len(d))
        two = oh.FactorModel().fit(d[ASSETS], d[["IDX", "X"]]).risk_model_
        with pytest.raises(SpecificationError, match="build a new HedgeProblem"):
            p.solve(risk_model=two, params={"gross_exposure.max": 0.2})
        assert p.parameters.loc["gross_exposure.max", "value"] == 1.0
        pd.testing.assert_series_equal(p.solve().weights, before, atol=1e-10, rtol=0)

    def test_horizon_defaults_to_the_scenarios(self) -> None:
        scen = oh.Scenarios.historical(daily(1), horizon=10)
        p = shortfall(scen)
        assert p.horizon == 10
        assert p.solve().horizon == 10
        with pytest.raises(SpecificationError, match="scenarios span 10 trading days"):
            shortfall(scen, horizon=21)


class TestMarketState:
    def test_validation_names_the_field(self) -> None:
        with pytest.raises(DataError, match="'spot' argument of MarketState must hold finite "):
            oh.MarketState(spot={"IDX": -1.0})
        with pytest.raises(DataError, match="'volatility'.*Series or dict"):
            oh.MarketState(volatility=0.2)  # type: ignore[arg-type]
        with pytest.raises(SpecificationError, match="'rate'"):
            oh.MarketState(rate=float("nan"))
        state = oh.MarketState(spot={"IDX": 5000.0}, volatility={"IDX": 0.18}, asof="2022-12-30")
        assert state.spot_of("IDX") == 5000.0
        assert state.dividend_yield_of("IDX") == 0.0
        assert state.asof == pd.Timestamp("2022-12-30")
        with pytest.raises(MissingLabelsError, match="no volatility for 'NDX'"):
            state.volatility_of("NDX")

    def test_instrument_needing_market_data_names_what_is_missing(self) -> None:
        from dataclasses import dataclass

        @dataclass(frozen=True, kw_only=True)
        class NeedsVol(oh.Future):
            def market_requirements(self) -> frozenset[str]:
                return frozenset({"volatility"})

        with pytest.raises(SpecificationError, match=r"NeedsVol\('V'\) needs \['volatility'\]"):
            oh.HedgeProblem(
                BOOK,
                [NeedsVol(label="V", underlying="IDX")],
                objective=oh.Variance(),
                risk_model=model(1),
            )


class TestScenarioVolatility:
    def test_per_scenario_moves(self) -> None:
        s = oh.Scenarios.from_returns(daily(1).iloc[:3].reset_index(drop=True))
        moves = pd.DataFrame({"IDX": [0.1, 0.0, -0.05]}, index=s.returns.index)
        with_moves = oh.Scenarios(s.returns, 1, vol_moves=moves)
        np.testing.assert_array_equal(with_moves.vol_move_of("IDX"), [0.1, 0.0, -0.05])
        np.testing.assert_array_equal(with_moves.vol_move_of("A"), [0.0, 0.0, 0.0])
        with pytest.raises(MissingLabelsError, match="'vol_moves' must be labelled"):
            oh.Scenarios(s.returns, 1, vol_moves=moves.iloc[:2])
        with pytest.raises(DataError, match="finite volatility moves"):
            oh.Scenarios(s.returns, 1, vol_moves=moves * np.nan)


class TestOneFamilyPerMistake:
    def test_a_bad_horizon_is_the_same_error_everywhere(self) -> None:
        calls = [
            lambda: variance(risk_model=model(1), horizon=0),
            lambda: oh.Scenarios.historical(daily(1), horizon=0),
            lambda: oh.Scenarios.from_returns(daily(1), horizon=0),
            lambda: scale_to_horizon(0.01, 0),
            lambda: horizon_variance_factor(0),
            lambda: model(1).to_horizon(0),
        ]
        for call in calls:
            with pytest.raises(SpecificationError, match=r"argument must be an integer >= 1"):
                call()

    def test_one_except_catches_each_family_from_every_package(self) -> None:
        from constraints.errors import ConstraintSpecificationError
        from factor_models.errors import EstimationDataError

        assert issubclass(ConstraintSpecificationError, SpecificationError)
        assert issubclass(EstimationDataError, DataError)
        with pytest.raises(SpecificationError):
            GrossExposure(-1.0)  # raised by the constraints package
        with pytest.raises(SpecificationError):
            horizon_variance_factor(5, 2.0)  # by factor_models
        with pytest.raises(SpecificationError):
            ResidualBeta()  # by constraints
        with pytest.raises(DataError):
            oh.FactorModel().fit(daily(1) * np.nan, daily(1)[["IDX"]])  # by factor_models


def test_portfolio_from_returns_takes_the_series_name() -> None:
    r = daily(1)["A"].rename("fund")
    assert list(oh.Portfolio.from_returns(r, 1e6).holdings.index) == ["fund"]
    assert list(oh.Portfolio.from_returns(r.rename(None), 1e6).holdings.index) == ["book"]
    assert list(oh.Portfolio.from_returns(r, 1e6, name="mine").holdings.index) == ["mine"]

"""Bad input to the objects added with the optimizer: typed errors naming the culprit."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import optihedge as oh
from constraints import (
    Bounds,
    ConstraintSpecificationError,
    ExpectedPnL,
    Liquidity,
    WholeContracts,
)
from factor_models import EstimationDataError, RiskModel, RiskModelSet
from optihedge.errors import DataError, MissingLabelsError, SpecificationError
from optihedge.scenarios import Scenarios


def model() -> RiskModel:
    labels = ["A", "IDX"]
    return RiskModel.from_covariance(
        pd.DataFrame([[4e-4, 1e-4], [1e-4, 2e-4]], index=labels, columns=labels)
    )


class TestPortfolio:
    def test_not_positive(self) -> None:
        with pytest.raises(DataError, match=r"net value is -5.00 .* pass capital="):
            oh.Portfolio.from_holdings({"A": 5.0, "B": -10.0})

    def test_wrong_type_and_nan(self) -> None:
        with pytest.raises(DataError, match="'holdings' argument must be a Series or dict"):
            oh.Portfolio.from_holdings([1.0, 2.0])  # type: ignore[arg-type]
        with pytest.raises(DataError, match="'holdings'.*nan"):
            oh.Portfolio.from_holdings({"A": math.nan})
        with pytest.raises(SpecificationError, match="'value'"):
            oh.Portfolio.from_returns(pd.Series([0.01]), value=0.0)


class TestInstruments:
    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"price": 0.0}, r"'Future\('ES'\).price'"),
            ({"multiplier": -50.0}, r"'Future\('ES'\).multiplier'"),
            ({"cost": 1.5}, r"'Future\('ES'\).cost'"),
            ({"adv": 0.0}, r"'Future\('ES'\).adv'"),
            ({"lower": 1.0, "upper": 0.0}, r"bounds of Future\('ES'\) are inverted"),
        ],
    )
    def test_future_fields(self, kwargs: dict[str, float], match: str) -> None:
        with pytest.raises(SpecificationError, match=match):
            oh.Future(label="ES", underlying="IDX", **kwargs)

    def test_labels_and_leverage(self) -> None:
        with pytest.raises(SpecificationError, match="'label' must be a non-empty str"):
            oh.Future(label="", underlying="IDX")
        with pytest.raises(
            SpecificationError, match="'leverage' of InverseETF\\('SH'\\) must be negative"
        ):
            oh.InverseETF(label="SH", underlying="IDX", leverage=2.0)
        with pytest.raises(SpecificationError, match="borrow_fee"):
            oh.ETF(label="E", underlying="IDX", borrow_fee=-0.01)

    def test_duplicate_instrument_labels(self) -> None:
        ins = [oh.ETF(label="E", underlying="IDX"), oh.Future(label="E", underlying="IDX")]
        with pytest.raises(oh.errors.MissingLabelsError, match=r"repeated: \['E'\]"):
            oh.HedgeProblem(
                oh.Portfolio.from_holdings({"A": 1.0}),
                ins,
                objective=oh.Variance(),
                risk_model=model(),
            )

    def test_reduction_of_a_holding_not_held(self) -> None:
        with pytest.raises(oh.errors.MissingLabelsError, match="'IDX', which the portfolio"):
            oh.HedgeProblem(
                oh.Portfolio.from_holdings({"A": 1.0}),
                [oh.PositionReduction(label="s", holding="IDX")],
                objective=oh.Variance(),
                risk_model=model(),
            )


class TestConstraintOptions:
    def test_liquidity_on(self) -> None:
        with pytest.raises(ConstraintSpecificationError, match="'on' parameter of Liquidity"):
            Liquidity(0.1, on="both")  # type: ignore[arg-type]

    def test_whole_contracts(self) -> None:
        with pytest.raises(ConstraintSpecificationError, match="'method' parameter"):
            WholeContracts(method="guess")  # type: ignore[arg-type]
        p = oh.Portfolio.from_holdings({"A": 1.0})
        with pytest.raises(MissingLabelsError, match="lacks: \\['NQ'\\]"):
            oh.HedgeProblem(
                p,
                [oh.Future(label="ES", underlying="IDX")],
                objective=oh.Variance(),
                constraints=[WholeContracts(["NQ"])],
                risk_model=model(),
            )

    def test_bounds(self) -> None:
        with pytest.raises(ConstraintSpecificationError, match="needs 'lower', 'upper'"):
            Bounds()
        p = oh.Portfolio.from_holdings({"A": 1.0})
        with pytest.raises(ConstraintSpecificationError, match="lower 0.5 exceeds upper 0.1"):
            oh.HedgeProblem(
                p,
                [oh.ETF(label="E", underlying="IDX")],
                objective=oh.Variance(),
                constraints=[Bounds(lower={"E": 0.5}, upper={"E": 0.1})],
                risk_model=model(),
            )

    def test_expected_pnl_needs_returns(self) -> None:
        p = oh.Portfolio.from_holdings({"A": 1.0})
        with pytest.raises(ConstraintSpecificationError, match="ExpectedPnL needs expected"):
            oh.HedgeProblem(
                p,
                [oh.ETF(label="E", underlying="IDX")],
                objective=oh.Variance(),
                constraints=[ExpectedPnL(0.0)],
                risk_model=model(),
            )
        with pytest.raises(MissingLabelsError, match=r"lack assets \['IDX'\]"):
            oh.HedgeProblem(
                p,
                [oh.ETF(label="E", underlying="IDX")],
                objective=oh.Variance(),
                constraints=[ExpectedPnL(0.0, pd.Series({"A": 0.01}))],
                risk_model=model(),
            )


class TestProblemArguments:
    def test_types(self) -> None:
        p = oh.Portfolio.from_holdings({"A": 1.0})
        ins = [oh.ETF(label="E", underlying="IDX")]
        with pytest.raises(SpecificationError, match="'horizon' argument must be an integer >= 1"):
            oh.HedgeProblem(p, ins, objective=oh.Variance(), risk_model=model(), horizon=0)
        with pytest.raises(SpecificationError, match="'objective' argument must be an Objective"):
            oh.HedgeProblem(p, ins, objective="variance", risk_model=model())  # type: ignore[arg-type]
        with pytest.raises(SpecificationError, match="needs a risk_model"):
            oh.HedgeProblem(p, ins, objective=oh.Variance())
        with pytest.raises(SpecificationError, match="'weight'"):
            oh.Variance(weight=-1.0)

    def test_risk_model_set_entries(self) -> None:
        with pytest.raises(EstimationDataError, match="entry 5 is a str"):
            RiskModelSet({5: "model"})  # type: ignore[dict-item]


class TestScenarioConstructors:
    def test_bootstrap_block_longer_than_data(self) -> None:
        daily = pd.DataFrame({"A": [0.01, 0.02]}, index=pd.bdate_range("2024-01-01", periods=2))
        with pytest.raises(DataError, match="a block needs 5"):
            Scenarios.bootstrap(daily, 10, block=5)

    def test_historical_too_short(self) -> None:
        daily = pd.DataFrame({"A": [0.01] * 5}, index=pd.bdate_range("2024-01-01", periods=5))
        with pytest.raises(DataError, match="a 21-day path needs 21"):
            Scenarios.historical(daily, horizon=21)

    def test_monte_carlo_needs_daily_model(self) -> None:
        with pytest.raises(
            SpecificationError, match=r"per-period risk model \(horizon 1\).*stated over 21 periods"
        ):
            Scenarios.monte_carlo(model().to_horizon(21), 10)

    def test_probabilities_must_match_labels(self) -> None:
        frame = pd.DataFrame({"A": [0.01, 0.02]})
        with pytest.raises(oh.errors.MissingLabelsError, match="labelled like the scenarios"):
            Scenarios(frame, 1, pd.Series([0.5, 0.5], index=["x", "y"]))
        assert np.isclose(
            Scenarios.from_returns(frame, probabilities=[0.3, 0.7]).probability_array().sum(), 1.0
        )

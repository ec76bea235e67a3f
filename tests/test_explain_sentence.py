"""The policy sentence reads right for every kind of binding limit (issue 20, report items)."""

from __future__ import annotations

import pytest

from optihedge.analysis.explain import _limit_phrase


@pytest.mark.parametrize(
    ("label", "value", "phrase"),
    [
        ("residual_beta.min", 0.25, "residual beta >= 0.25"),
        ("gross_exposure.max", 0.5, "gross exposure <= 0.5"),
        ("budget.total", 0.0, "budget = 0"),
        ("bounds.lower[F0]", 0.0, "bounds F0 >= 0"),
        ("bounds.upper[ES Z4]", 1.25, "bounds ES Z4 <= 1.25"),
        ("premium_budget.max", 0.001234567, "premium budget <= 0.001235"),
        ("whole_contracts", 3.0, "whole contracts at 3"),  # no side: shown whole
        ("my.limit.odd", 2.0, "my.limit.odd at 2"),
    ],
)
def test_limit_phrase(label: str, value: float, phrase: str) -> None:
    assert _limit_phrase(label, value) == phrase
    assert "  " not in _limit_phrase(label, value)


def test_one_period_is_singular() -> None:
    import numpy as np
    import pandas as pd

    import optihedge as oh

    rng = np.random.default_rng(1)
    idx = rng.normal(0, 0.01, 300)
    daily = pd.DataFrame(
        {"A": idx + rng.normal(0, 0.01, 300), "IDX": idx},
        index=pd.bdate_range("2020-01-01", periods=300),
    )
    model = oh.FactorModel(windows=(250,)).fit(daily, daily[["IDX"]]).risk_model_
    result = oh.HedgeProblem(
        oh.Portfolio.from_holdings({"A": 1e6}),
        [oh.Future("F", underlying="IDX", price=100.0, multiplier=50.0)],
        objective=oh.Variance(),
        risk_model=model,
        horizon=1,
        market="IDX",
    ).solve()
    sentence = result.explain().sentence
    assert "for 1 trading day," in sentence
    assert "  " not in sentence

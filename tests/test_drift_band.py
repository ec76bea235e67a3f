"""The beta-drift band (``measures.diagnostics.beta_drift_band``) against hand numbers.

The band is the drift d of the book's beta that adds ``tolerance`` times the hedged
book's variance: d^2 var(market) = tolerance * var(after), around the book's beta.
"""

from __future__ import annotations

import numpy as np
import pytest

import optihedge as oh
from optihedge.errors import SpecificationError
from optihedge.measures.diagnostics import beta_drift_band


def test_known_answer() -> None:
    # var(after) = 0.0004 (2% volatility), var(market) = 0.0025 (5%), tau = 0.25:
    # d = sqrt(0.25 * 0.0004 / 0.0025) = sqrt(0.04) = 0.2, around beta 0.9
    low, high = beta_drift_band(0.9, 0.0004, 0.0025, 0.25)
    assert low == pytest.approx(0.7, rel=1e-12)
    assert high == pytest.approx(1.1, rel=1e-12)
    # the default tolerance is 10%: d = sqrt(0.1 * 0.0004 / 0.0025) = 0.4 / sqrt(10)
    low, high = beta_drift_band(0.9, 0.0004, 0.0025)
    assert high - 0.9 == pytest.approx(0.4 / np.sqrt(10.0), rel=1e-12)
    assert 0.9 - low == pytest.approx(0.4 / np.sqrt(10.0), rel=1e-12)


def test_the_edge_adds_the_tolerance_to_a_two_asset_variance() -> None:
    # a book whose residual is uncorrelated with the market: moving its market weight by
    # the band's half-width raises the variance by exactly tau * var(after)
    cov = np.array([[0.04, 0.0], [0.0, 0.01]])  # market, residual
    after = np.array([0.0, 0.5])  # fully hedged on the market, residual left
    var_after = float(after @ cov @ after)
    low, high = beta_drift_band(1.2, var_after, cov[0, 0], 0.3)
    for edge in (low, high):
        drifted = after + np.array([edge - 1.2, 0.0])
        assert float(drifted @ cov @ drifted) == pytest.approx(1.3 * var_after, rel=1e-12)


def test_no_market_risk_and_rounding_noise_give_a_point() -> None:
    assert beta_drift_band(0.5, 0.01, 0.0) == (0.5, 0.5)
    assert beta_drift_band(0.5, -1e-18, 0.04) == (0.5, 0.5)


def test_public_homes() -> None:
    assert oh.diagnostics.beta_drift_band is beta_drift_band


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0.5, 0.01, 0.04, 0.0), r"'tolerance'.*> 0|'tolerance'"),
        ((0.5, 0.01, 0.04, -0.1), "'tolerance'"),
        ((0.5, 0.01, -0.04), "'market_variance'"),
        ((float("nan"), 0.01, 0.04), "'beta'"),
        ((0.5, float("inf"), 0.04), "'variance_after'"),
    ],
)
def test_bad_inputs_name_the_argument(args: tuple[float, ...], match: str) -> None:
    with pytest.raises(SpecificationError, match=match):
        beta_drift_band(*args)

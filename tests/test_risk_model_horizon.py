"""RiskModel.to_horizon: the scaled model equals the one its constructor checks and builds."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from factor_models import RiskModel


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    days=st.integers(1, 260),
    autocorrelation=st.sampled_from([0.0, 0.1, -0.2]),
)
@example(seed=1079, days=2, autocorrelation=0.1)  # a nearly singular factor covariance
def test_scaled_model_equals_the_constructed_one(
    seed: int, days: int, autocorrelation: float
) -> None:
    rng = np.random.default_rng(seed)
    assets, factors = [f"a{i}" for i in range(5)], ["f0", "f1"]
    loadings = pd.DataFrame(rng.normal(size=(5, 2)), index=assets, columns=factors)
    root = rng.normal(size=(2, 2)) * 0.01
    factor_cov = pd.DataFrame(root @ root.T, index=factors, columns=factors)
    specific = pd.Series(rng.uniform(0, 1e-4, size=5), index=assets)
    model = RiskModel(loadings, factor_cov, specific, window=252)
    scaled = model.to_horizon(days, autocorrelation)
    from factor_models import horizon_variance_factor

    k = horizon_variance_factor(days, autocorrelation)
    built = RiskModel(loadings, factor_cov * k, specific * k, window=252, horizon=days)
    assert scaled.horizon == built.horizon == days
    pd.testing.assert_frame_equal(scaled.covariance(), built.covariance(), rtol=1e-12)
    w = pd.Series(rng.normal(size=5), index=assets)
    assert np.isclose(scaled.variance(w), built.variance(w), rtol=1e-12, atol=0.0)
    b_s, d_s = scaled.root_factors()
    b_b, d_b = built.root_factors()
    # the square roots agree to rounding of the largest eigenvalue (an eigendecomposition's
    # accuracy): a nearly singular factor covariance leaves its small entries to that
    expected = b_b @ b_b.T
    np.testing.assert_allclose(b_s @ b_s.T, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
    np.testing.assert_allclose(d_s, d_b, rtol=1e-12)
    assert model.horizon == 1  # the original is untouched

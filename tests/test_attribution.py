"""Euler risk contributions: hand values, finite differences, labels, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from optihedge.analysis.attribution import euler_contributions
from optihedge.errors import DataError, MissingLabelsError


def test_two_uncorrelated_positions_by_hand() -> None:
    x = pd.Series([1.0, 1.0], index=["a", "b"])
    cov = pd.DataFrame([[0.04, 0.0], [0.0, 0.01]], index=["a", "b"], columns=["a", "b"])
    out = euler_contributions(x, cov)
    sigma = np.sqrt(0.05)
    assert out.attrs["volatility"] == pytest.approx(sigma)
    assert out.loc["a", "contribution"] == pytest.approx(0.04 / sigma)
    assert out.loc["b", "share"] == pytest.approx(0.2)
    assert list(out.columns) == ["marginal", "contribution", "share"]


def test_hedge_has_negative_contribution() -> None:
    # a long book and a short, correlated hedge: the hedge reduces risk
    x = pd.Series([1.0, -0.5], index=["book", "hedge"])
    cov = pd.DataFrame([[0.04, 0.03], [0.03, 0.0225]], index=x.index, columns=x.index)
    out = euler_contributions(x, cov)
    assert out.loc["hedge", "contribution"] < 0


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8))
def test_sums_and_gradient(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n + 2))
    cov = a @ a.T / (n + 2)
    x = rng.normal(size=n)
    out = euler_contributions(x, cov)
    sigma = np.sqrt(x @ cov @ x)
    assert out["contribution"].sum() == pytest.approx(sigma, rel=1e-10)
    assert out["share"].sum() == pytest.approx(1.0, rel=1e-10)
    h = 1e-6
    grad = [
        (np.sqrt((x + h * e) @ cov @ (x + h * e)) - np.sqrt((x - h * e) @ cov @ (x - h * e)))
        / (2 * h)
        for e in np.eye(n)
    ]
    np.testing.assert_allclose(out["marginal"], grad, rtol=1e-5, atol=1e-8)


def test_covariance_aligned_by_label() -> None:
    labels = ["a", "b", "c"]
    cov = pd.DataFrame(
        [[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]], index=labels, columns=labels
    )
    x = pd.Series([1.0, 2.0, -1.0], index=labels)
    shuffled = cov.loc[["c", "a", "b"], ["c", "a", "b"]]
    pd.testing.assert_frame_equal(euler_contributions(x, shuffled), euler_contributions(x, cov))


class TestBadInput:
    labels = ("a", "b")

    def cov(self, values: list[list[float]]) -> pd.DataFrame:
        return pd.DataFrame(values, index=list(self.labels), columns=list(self.labels))

    def test_misaligned_labels(self) -> None:
        x = pd.Series([1.0, 1.0], index=["a", "z"])
        with pytest.raises(MissingLabelsError, match=r"\['z'\] only in 'exposures'"):
            euler_contributions(x, self.cov([[1.0, 0.0], [0.0, 1.0]]))

    def test_index_and_columns_differ(self) -> None:
        cov = pd.DataFrame(np.eye(2), index=["a", "b"], columns=["b", "a"])
        with pytest.raises(MissingLabelsError, match="'covariance'.*index and columns"):
            euler_contributions(pd.Series([1.0, 1.0], index=["a", "b"]), cov)

    def test_not_psd(self) -> None:
        with pytest.raises(DataError, match="'covariance'.*positive semi-definite"):
            euler_contributions([1.0, 1.0], [[1.0, 2.0], [2.0, 1.0]])

    def test_asymmetric(self) -> None:
        with pytest.raises(DataError, match="'covariance'.*symmetric"):
            euler_contributions([1.0, 1.0], [[1.0, 0.5], [0.1, 1.0]])

    def test_nan_and_shape(self) -> None:
        with pytest.raises(DataError, match="'covariance'.*nan"):
            euler_contributions([1.0, 1.0], [[1.0, np.nan], [np.nan, 1.0]])
        with pytest.raises(DataError, match="'covariance'.*square matrix"):
            euler_contributions([1.0, 1.0], np.eye(3))
        with pytest.raises(DataError, match="'exposures'.*inf"):
            euler_contributions([1.0, np.inf], np.eye(2))

    def test_zero_volatility(self) -> None:
        with pytest.raises(DataError, match="zero volatility"):
            euler_contributions([0.0, 0.0], np.eye(2))

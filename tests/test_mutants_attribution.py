"""Euler contributions and realised return attribution against hand computations.

Every expected number here is computed in the test from the documented formulas with
plain numpy: Euler contributions ``x_i (Sigma x)_i / sigma``; realised P&L split into
``f_t * (B' z)`` plus specific, with the factor returns either the returns' own columns
or the GLS cross-sectional fit done by hand as a square-root-weighted least squares;
stress-window returns compounded as ``prod(1 + r) - 1``; the drag summed over the days
the market rose.
"""

from __future__ import annotations

import types
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

import optihedge as oh
from optihedge.attribution import euler_contributions, return_attribution
from optihedge.datasets import STRESS_WINDOWS
from optihedge.errors import DataError, MissingLabelsError, SpecificationError


# ------------------------------------------------------------------ euler_contributions
def _euler_by_hand(x: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    sigma_x = cov @ x
    vol = float(np.sqrt(x @ sigma_x))
    return sigma_x / vol, x * sigma_x / vol, vol


class TestEulerCovarianceInput:
    def test_decimal_covariance_is_read_as_floats(self) -> None:
        # exact decimals (as read from a database) are numbers: the result is float
        cov = [
            [Decimal("0.04"), Decimal("0.006")],
            [Decimal("0.006"), Decimal("0.0225")],
        ]
        x = pd.Series([0.7, -0.2], index=["eq", "hedge"])
        out = euler_contributions(x, cov)
        marginal, contribution, vol = _euler_by_hand(
            x.to_numpy(), np.array([[0.04, 0.006], [0.006, 0.0225]])
        )
        assert list(out.index) == ["eq", "hedge"]
        assert list(out.columns) == ["marginal", "contribution", "share"]
        assert (out.dtypes == np.float64).all()
        np.testing.assert_allclose(out["marginal"], marginal, rtol=1e-13)
        np.testing.assert_allclose(out["contribution"], contribution, rtol=1e-13)
        np.testing.assert_allclose(out["share"], contribution / vol, rtol=1e-13)
        assert out.attrs["volatility"] == pytest.approx(vol, rel=1e-14)

    @pytest.mark.parametrize(
        "covariance",
        [
            [1.0, 1.0],  # one-dimensional
            np.ones((2, 3)),  # one row per position, but not square
            np.ones((3, 2)),
            np.eye(3),  # square, the wrong size
        ],
    )
    def test_a_matrix_of_the_wrong_shape_is_refused(self, covariance: object) -> None:
        with pytest.raises(DataError, match=r"'covariance'.*square matrix.*\(2\)"):
            euler_contributions([1.0, 1.0], covariance)

    def test_symmetry_tolerance_is_absolute_and_scaled_by_the_largest_entry(self) -> None:
        # entries of order 1: an asymmetry of 1e-9 is refused (no relative slack)
        with pytest.raises(DataError, match="'covariance'.*symmetric"):
            euler_contributions([1.0, 1.0], [[1.0, 0.5 + 1e-9], [0.5, 1.0]])
        # entries below 1: the tolerance is 1e-12 (scaled by at least 1), not more
        with pytest.raises(DataError, match="'covariance'.*symmetric"):
            euler_contributions([1.0, 1.0], [[0.04, 1.5e-12], [0.0, 0.01]])
        # entries of order 1e4: an asymmetry of 1e-10 is rounding, accepted
        cov = np.array([[1e4, 2e3 + 1e-10], [2e3, 5e3]])
        out = euler_contributions([1.0, -0.5], cov)
        marginal, contribution, vol = _euler_by_hand(np.array([1.0, -0.5]), cov)
        np.testing.assert_allclose(out["marginal"], marginal, rtol=1e-12)
        np.testing.assert_allclose(out["contribution"], contribution, rtol=1e-12)
        assert out.attrs["volatility"] == pytest.approx(vol, rel=1e-12)

    def test_psd_tolerance_is_scaled_by_the_largest_entry(self) -> None:
        # exactly at the tolerance (-1e-10 with entries of order 1): accepted
        cov = np.diag([1.0, -1e-10])
        out = euler_contributions([1.0, 0.0], cov)
        assert out.loc[0, "contribution"] == pytest.approx(1.0, rel=1e-15)
        assert out.loc[1, "contribution"] == 0.0
        # beyond it: refused (entries below 1 scale the tolerance by 1, not more)
        with pytest.raises(DataError, match="positive semi-definite"):
            euler_contributions([1.0, 0.0], np.diag([0.5, -1.5e-10]))
        # entries of order 1e4: an eigenvalue of -1e-8 is rounding, accepted
        out = euler_contributions([1.0, 0.0], np.diag([1e4, -1e-8]))
        assert out.attrs["volatility"] == pytest.approx(100.0, rel=1e-15)

    def test_misaligned_labels_name_both_arguments(self) -> None:
        x = pd.Series([1.0, 1.0], index=["a", "z"])
        cov = pd.DataFrame(np.eye(2), index=["a", "b"], columns=["a", "b"])
        with pytest.raises(
            MissingLabelsError,
            match=r"'exposures' and 'covariance' differ: \['z'\] only in 'exposures', "
            r"\['b'\] only in 'covariance'",
        ):
            euler_contributions(x, cov)


# ------------------------------------------------------------------ return_attribution
FACTORS = ["M", "V"]
LOADINGS = pd.DataFrame(
    [[0.9, 0.4], [1.2, -0.3], [0.7, 0.0], [1.1, 0.2], [1.0, 0.0]],
    index=["A", "B", "C", "D", "M"],
    columns=FACTORS,
)
SPECIFIC = pd.Series([1e-4, 3e-4, 1.5e-4, 0.6e-4, 0.0], index=LOADINGS.index)
FACTOR_COV = pd.DataFrame([[1e-4, 1e-5], [1e-5, 4e-5]], index=FACTORS, columns=FACTORS)
MODEL = oh.RiskModel(LOADINGS, FACTOR_COV, SPECIFIC)


def _returns(n: int = 40, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    m = rng.normal(0.0, 0.01, n)
    m[[3, 10, 17]] = 0.0  # flat market days: not rising
    v = rng.normal(0.0, 0.005, n)
    cols = {"M": m, "V": v}
    for asset in ["A", "B", "C", "D"]:
        b = LOADINGS.loc[asset]
        cols[asset] = b["M"] * m + b["V"] * v + rng.normal(0.0, 0.008, n)
    frame = pd.DataFrame(cols, index=pd.bdate_range("2021-03-01", periods=n))
    return frame[["A", "B", "C", "D", "M", "V"]]


RETURNS = _returns()
POSITIONS = pd.DataFrame(
    {"before": [0.5, 0.3, 0.2, 0.0, 0.0], "after": [0.5, 0.3, 0.2, -0.6, 0.0]},
    index=["A", "B", "C", "M", "Z"],  # Z: no position, in neither the returns nor the model
)


def _daily_by_hand(f: np.ndarray, returns: pd.DataFrame, positions: pd.DataFrame) -> pd.DataFrame:
    """Columns (book, source): f_t * (B' z) per factor, specific, total."""
    held = positions.index[(positions != 0).any(axis=1)]
    b = LOADINGS.loc[held].to_numpy()
    blocks = {}
    for side in ("before", "after"):
        z = positions.loc[held, side].to_numpy()
        exposure = b.T @ z
        total = returns[held].to_numpy() @ z
        block = pd.DataFrame(
            {k: f[:, j] * exposure[j] for j, k in enumerate(FACTORS)}, index=returns.index
        )
        block["specific"] = total - sum(f[:, j] * exposure[j] for j in range(len(FACTORS)))
        block["total"] = total
        blocks[side] = block
    out = pd.concat(blocks, axis=1)
    out.columns = out.columns.set_names(["book", "source"])
    return out


def _gls_by_hand(returns: pd.DataFrame, specific: pd.Series) -> np.ndarray:
    """Factor returns by weighted least squares: rows scaled by 1/sqrt(specific variance)."""
    assets = [a for a in LOADINGS.index if a in returns.columns]
    scale = 1.0 / np.sqrt(specific[assets].to_numpy())
    b = LOADINGS.loc[assets].to_numpy() * scale[:, None]
    r = returns[assets].to_numpy() * scale[None, :]
    return np.array([np.linalg.lstsq(b, row, rcond=None)[0] for row in r])


class TestReturnAttributionByHand:
    def test_own_factor_columns(self) -> None:
        result = types.SimpleNamespace(exposures=POSITIONS, market="M")
        out = return_attribution(result, RETURNS, MODEL)
        expected = _daily_by_hand(RETURNS[FACTORS].to_numpy(), RETURNS, POSITIONS)
        pd.testing.assert_frame_equal(out.daily, expected, rtol=1e-13, atol=1e-17)
        assert out.daily.attrs["factor_returns"] == "the returns' own factor columns"
        # the period totals: simple sums of the daily contributions
        assert list(out.total.index) == ["M", "V", "specific", "total"]
        assert list(out.total.columns) == ["before", "after"]
        for side in ("before", "after"):
            np.testing.assert_allclose(
                out.total[side].to_numpy(), expected[side].sum().to_numpy(), rtol=1e-12
            )
        assert out.total.attrs["note"] == (
            "sums of daily returns (fractions of capital), not compounded"
        )
        # the default stress windows: none is covered by 2021 data
        eff = out.effectiveness
        assert list(eff.index) == list(STRESS_WINDOWS)
        assert list(eff.columns) == ["book", "hedged", "offset", "covered"]
        assert not eff["covered"].any()
        assert eff[["book", "hedged", "offset"]].isna().all().all()
        assert eff.attrs["offset"] == (
            "share of the book's loss the hedge offset (NaN where the book gained)"
        )

    def test_object_dtype_returns_give_the_same_float_numbers(self) -> None:
        result = types.SimpleNamespace(exposures=POSITIONS, market="M")
        expected = return_attribution(result, RETURNS, MODEL)
        out = return_attribution(result, RETURNS.astype(object), MODEL)
        assert (out.daily.dtypes == np.float64).all()
        pd.testing.assert_frame_equal(out.daily, expected.daily, rtol=1e-15)
        pd.testing.assert_series_equal(out.drag, expected.drag)
        positions = POSITIONS.drop(index="M")
        assets = RETURNS[["A", "B", "C", "D"]]  # the factor returns by GLS
        gls = return_attribution(positions, assets, MODEL, market="A")
        gls_object = return_attribution(positions, assets.astype(object), MODEL, market="A")
        assert (gls_object.daily.dtypes == np.float64).all()
        pd.testing.assert_frame_equal(gls_object.daily, gls.daily, rtol=1e-13)

    def test_cross_sectional_gls_factor_returns(self) -> None:
        returns = RETURNS[["A", "B", "C", "D"]]  # no factor columns: estimated
        positions = POSITIONS.drop(index="M")
        f = _gls_by_hand(returns, SPECIFIC)
        out = return_attribution(positions, returns, MODEL, market="A")
        expected = _daily_by_hand(f, returns, positions)
        pd.testing.assert_frame_equal(out.daily, expected, rtol=1e-10, atol=1e-16)
        assert out.daily.attrs["factor_returns"] == "cross-sectional GLS estimates"
        # the fit is weighted (not OLS): unequal specific variances change it
        ols = np.linalg.lstsq(
            LOADINGS.loc[returns.columns].to_numpy(), returns.to_numpy().T, rcond=None
        )[0].T
        assert np.abs(f - ols).max() > 1e-5
        # GLS depends only on the relative specific variances, however small they are
        tiny = oh.RiskModel(LOADINGS, FACTOR_COV, SPECIFIC * 1e-14)
        scaled = return_attribution(positions, returns, tiny, market="A")
        pd.testing.assert_frame_equal(scaled.daily, expected, rtol=1e-9, atol=1e-16)

    def test_one_series_of_weights_is_both_books(self) -> None:
        weights = pd.Series({"A": 1, "M": -1})  # integers; a weight of exactly 1 is held
        out = return_attribution(weights, RETURNS, MODEL, market="M")
        both = pd.DataFrame({"before": [1.0, -1.0], "after": [1.0, -1.0]}, index=["A", "M"])
        expected = _daily_by_hand(RETURNS[FACTORS].to_numpy(), RETURNS, both)
        pd.testing.assert_frame_equal(out.daily, expected, rtol=1e-13, atol=1e-17)
        np.testing.assert_allclose(
            out.daily[("before", "total")], RETURNS["A"] - RETURNS["M"], rtol=1e-13
        )
        assert out.drag["total"] == 0.0

    def test_drag_in_rising_markets(self) -> None:
        result = types.SimpleNamespace(exposures=POSITIONS, market="M")
        out = return_attribution(result, RETURNS, MODEL)
        up = RETURNS["M"].to_numpy() > 0  # flat days (exactly 0) are not rising
        assert (RETURNS["M"] == 0).sum() == 3
        before = RETURNS[["A", "B", "C"]].to_numpy() @ np.array([0.5, 0.3, 0.2])
        after = before - 0.6 * RETURNS["M"].to_numpy()
        diff = (after - before)[up]
        assert list(out.drag.index) == ["up_days", "mean_daily", "total"]
        assert out.drag.name == "drag when M rose"
        assert out.drag["up_days"] == float(up.sum())
        assert out.drag["mean_daily"] == pytest.approx(diff.sum() / up.sum(), rel=1e-12)
        assert out.drag["total"] == pytest.approx(diff.sum(), rel=1e-12)
        assert out.drag["total"] < 0  # short the market: gives away the rise
        # market= overrides the result's own market
        other = return_attribution(result, RETURNS, MODEL, market="V")
        assert other.drag.name == "drag when V rose"
        assert other.drag["up_days"] == float((RETURNS["V"] > 0).sum())

    def test_drag_without_a_rising_day(self) -> None:
        falling = RETURNS.copy()
        falling["M"] = -falling["M"].abs()
        out = return_attribution(POSITIONS, falling, MODEL, market="M")  # no warning
        assert out.drag["up_days"] == 0.0
        assert np.isnan(out.drag["mean_daily"])
        assert out.drag["total"] == 0.0
        assert list(out.drag.index) == ["up_days", "mean_daily", "total"]


STRESS = {
    "before the data": ("2019-12-02", "2019-12-20"),
    "all of it": ("2020-01-06", "2020-01-31"),  # exactly the first and last dates
    "loss": ("2020-01-08", "2020-01-14"),
    "gain": ("2020-01-27", "2020-01-31"),
    "flat": ("2020-01-20", "2020-01-22"),
    "past the end": ("2020-01-20", "2020-02-28"),
    "starts a day early": ("2020-01-03", "2020-01-10"),
}


class TestStressWindows:
    DATES = pd.bdate_range("2020-01-06", periods=20)  # 6 Jan to 31 Jan 2020

    def _returns(self) -> pd.DataFrame:
        a = np.full(20, 0.004)
        m = np.full(20, 0.002)
        loss = slice(2, 7)  # 8 to 14 Jan
        a[loss] = [-0.03, -0.02, 0.01, -0.04, -0.01]
        m[loss] = [-0.02, -0.015, 0.005, -0.03, -0.01]
        a[10:13] = 0.0  # 20 to 22 Jan: the book is flat
        m[10:13] = 0.01
        frame = pd.DataFrame({"A": a, "M": m, "V": 0.0}, index=self.DATES)
        return frame

    def test_effectiveness_by_hand(self) -> None:
        returns = self._returns()
        positions = pd.DataFrame({"before": [0.8, 0.0], "after": [0.8, -0.5]}, index=["A", "M"])
        out = return_attribution(
            positions, returns, MODEL, market="M", stress_windows=STRESS
        ).effectiveness
        assert list(out.index) == list(STRESS)
        assert list(out.columns) == ["book", "hedged", "offset", "covered"]
        book_daily = 0.8 * returns["A"]
        hedged_daily = book_daily - 0.5 * returns["M"]
        covered = {"all of it", "loss", "gain", "flat"}
        assert out["covered"].tolist() == [name in covered for name in STRESS]
        for name, (start, end) in STRESS.items():
            row = out.loc[name]
            if name not in covered:
                assert np.isnan(row[["book", "hedged", "offset"]].to_numpy(dtype=float)).all()
                continue
            book = float(np.prod(1.0 + book_daily.loc[start:end]) - 1.0)
            hedged = float(np.prod(1.0 + hedged_daily.loc[start:end]) - 1.0)
            assert row["book"] == pytest.approx(book, rel=1e-12, abs=1e-17)
            assert row["hedged"] == pytest.approx(hedged, rel=1e-12, abs=1e-17)
            if book < 0:
                assert row["offset"] == pytest.approx(1.0 - hedged / book, rel=1e-12)
            else:
                assert np.isnan(row["offset"])
        assert out.loc["loss", "book"] < 0
        assert 0.0 < out.loc["loss", "offset"] < 1.0
        assert out.loc["gain", "book"] > 0
        assert np.isnan(out.loc["gain", "offset"])
        assert out.loc["flat", "book"] == 0.0
        assert np.isnan(out.loc["flat", "offset"])  # nothing lost: nothing to offset
        assert out["offset"].dtype == np.float64
        assert out.attrs["offset"] == (
            "share of the book's loss the hedge offset (NaN where the book gained)"
        )


class TestReturnAttributionBadInput:
    def test_a_frame_without_after(self) -> None:
        with pytest.raises(MissingLabelsError, match=r"'before' and 'after'.*lacks \['after'\]"):
            return_attribution(POSITIONS[["before"]], RETURNS, MODEL, market="M")

    def test_returns_need_dates(self) -> None:
        with pytest.raises(DataError, match="DatetimeIndex"):
            return_attribution(POSITIONS, RETURNS.reset_index(drop=True), MODEL, market="M")

    def test_implausible_returns_name_the_argument(self) -> None:
        bad = RETURNS.copy()
        bad.iloc[4, 0] = -1.5
        with pytest.raises(DataError, match=r"^The 'returns' argument holds returns at or below"):
            return_attribution(POSITIONS, bad, MODEL, market="M")

    def test_the_market_must_be_a_column(self) -> None:
        with pytest.raises(MissingLabelsError, match=r"market 'ZZZ' is not a column"):
            return_attribution(POSITIONS, RETURNS, MODEL, market="ZZZ")
        # weights carry no market: it must be given
        with pytest.raises(MissingLabelsError, match=r"market None is not a column"):
            return_attribution(pd.Series({"A": 1.0}), RETURNS, MODEL)


# ---------------------------------------- survivors of `make mutants` (issue 24), by hand
class TestCompoundingAWipeOut:
    """A day that loses all the capital (or more, for a levered book) ends the window at -1.

    By hand: capital cannot go below nothing, so the compounded return is exactly -1.0,
    whatever follows, without a NaN from log1p of a loss beyond 100% and without a
    divide-by-zero warning at exactly 100%.
    """

    @pytest.mark.parametrize(
        "daily",
        [
            [0.01, -1.0, 0.05],  # exactly all of it
            [0.02, -1.5, 0.3],  # a levered book losing 150%
            [-1.0000001],
        ],
    )
    def test_minus_one(self, daily: list[float]) -> None:
        from optihedge.analysis.attribution import _compound

        assert _compound(pd.Series(daily)) == -1.0

    def test_otherwise_the_product(self) -> None:
        from optihedge.analysis.attribution import _compound

        daily = [0.01, -0.999, 0.5]
        assert _compound(pd.Series(daily)) == pytest.approx(1.01 * 0.001 * 1.5 - 1.0, rel=1e-14)


class TestPositionsMustBeNumbers:
    def test_text_is_refused_with_the_argument_named(self) -> None:
        frame = pd.DataFrame({"before": [0.8, "half"], "after": [0.8, -0.5]}, index=["A", "M"])
        with pytest.raises(DataError, match=r"'result_or_weights' argument must hold numbers"):
            return_attribution(frame, RETURNS, MODEL, market="M")

    def test_exact_decimals_are_read_as_floats(self) -> None:
        frame = POSITIONS.map(lambda v: Decimal(repr(v))).astype(object)
        got = return_attribution(frame, RETURNS, MODEL, market="M").total
        want = return_attribution(POSITIONS, RETURNS, MODEL, market="M").total
        pd.testing.assert_frame_equal(got, want)


def test_a_risk_model_without_specific_variances_is_refused() -> None:
    half = types.SimpleNamespace(loadings=MODEL.loadings)
    with pytest.raises(SpecificationError, match=r"'risk_model' argument must be a RiskModel"):
        return_attribution(POSITIONS, RETURNS, half, market="M")

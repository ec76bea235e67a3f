"""factor_models.regression pinned against statsmodels and hand numbers (issue 24 mutants)."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from factor_models import (
    CollinearityError,
    EstimationDataError,
    InsufficientDataError,
    MultiWindowRegression,
    SpecificationError,
    newey_west_lags,
    rolling_ols,
)


def _hand_ols(y: np.ndarray, f: np.ndarray) -> np.ndarray:
    x = np.column_stack([np.ones(len(y)), f])
    return np.linalg.lstsq(x, y, rcond=None)[0]


@pytest.mark.parametrize(
    ("n", "lags"), [(10, 2), (63, 3), (100, 4), (252, 4), (500, 5), (1000, 6), (5000, 9)]
)
def test_newey_west_lags_hand_values(n: int, lags: int) -> None:
    assert math.floor(4.0 * (n / 100.0) ** (2.0 / 9.0)) == lags
    assert newey_west_lags(n) == lags


class TestRollingOLS:
    def test_arrays_two_small_factors_against_lstsq(self) -> None:
        rng = np.random.default_rng(3)
        n, w = 40, 12
        f = rng.normal(0.0, 0.01, (n, 2))
        y = f @ np.array([[0.8, -0.2], [0.3, 1.1]]) + rng.normal(0, 0.004, (n, 2)) + 0.001
        out = rolling_ols(y, f, w)
        assert out.shape == (n - w + 1, 6)
        assert out.columns.names == ["series", "coef"]
        assert list(out.columns) == [
            ("y0", "alpha"), ("y0", "f0"), ("y0", "f1"),
            ("y1", "alpha"), ("y1", "f0"), ("y1", "f1"),
        ]  # fmt: skip
        assert list(out.index) == list(range(w - 1, n))
        for t in range(w - 1, n):
            for s in range(2):
                ref = _hand_ols(y[t - w + 1 : t + 1, s], f[t - w + 1 : t + 1])
                np.testing.assert_allclose(out.loc[t, f"y{s}"].to_numpy(), ref, atol=1e-12)
        # the result owns its values
        out.iloc[0, 0] = 99.0
        assert out.iloc[0, 0] == 99.0

    def test_window_boundaries(self) -> None:
        rng = np.random.default_rng(4)
        f = rng.normal(0, 0.01, (5, 2))
        y = rng.normal(0, 0.01, 5)
        with pytest.raises(InsufficientDataError, match="Window 3 is too short for 3"):
            rolling_ols(y, f, 3)
        one = rolling_ols(y, f, 4)  # window 4 > 3 coefficients
        assert one.shape == (2, 3)
        full = rolling_ols(y, f, 5)  # n == window: a single row
        assert full.shape == (1, 3)
        np.testing.assert_allclose(full.iloc[0].to_numpy(), _hand_ols(y, f), atol=1e-12)
        with pytest.raises(InsufficientDataError, match="6 needs 6"):
            rolling_ols(y, f, 6)
        with pytest.raises(SpecificationError, match="'window' argument"):
            rolling_ols(y, f, 1)

    def test_argument_names_in_errors(self) -> None:
        rng = np.random.default_rng(5)
        f = rng.normal(0, 0.01, (20, 1))
        y = rng.normal(0, 0.01, 20)
        with pytest.raises(EstimationDataError, match="'exog' argument"):
            rolling_ols(y, np.zeros((20, 1, 1)), 5)
        with pytest.raises(EstimationDataError, match="'endog' argument"):
            rolling_ols(np.zeros((20, 1, 1)), f, 5)
        fn = f.copy()
        fn[3, 0] = np.nan
        with pytest.raises(EstimationDataError, match="'exog' argument has NaN"):
            rolling_ols(y, fn, 5)
        dates = pd.bdate_range("2020-01-01", periods=20)
        ys = pd.Series(y, index=dates, name="book")
        fs = pd.DataFrame(f, index=dates.shift(1, freq="B"), columns=["MKT"])
        with pytest.raises(Exception, match="'endog' and 'exog' differ"):
            rolling_ols(ys, fs, 5)

    def test_validate_returns(self) -> None:
        rng = np.random.default_rng(6)
        f = rng.normal(0, 0.01, (20, 1))
        y = rng.normal(0, 0.01, 20)
        bad = f.copy()
        bad[4, 0] = -1.5  # a simple return below -100%
        with pytest.raises(Exception, match="100%"):
            rolling_ols(y, bad, 5)
        with pytest.raises(Exception, match="100%"):
            rolling_ols(bad[:, 0], f, 5)
        levels_y = 100.0 + np.cumsum(y)
        levels_f = 50.0 + np.cumsum(f, axis=0) * 10
        out = rolling_ols(levels_y, levels_f, 8, validate_returns=False)
        np.testing.assert_allclose(
            out.iloc[-1].to_numpy(), _hand_ols(levels_y[-8:], levels_f[-8:]), atol=1e-8
        )

    def test_constant_factor_in_a_late_window_is_named_by_date(self) -> None:
        rng = np.random.default_rng(8)
        n, w = 30, 6
        dates = pd.bdate_range("2021-03-01", periods=n)
        f = rng.normal(0, 0.01, (n, 2))
        f[20:26, 1] = 0.002  # flat in exactly one window: rows 20..25
        y = rng.normal(0, 0.01, n)
        fs = pd.DataFrame(f, index=dates, columns=["A", "B"])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(CollinearityError, match=re.escape(repr(dates[25]))):
                rolling_ols(pd.Series(y, index=dates), fs, w)

    def test_nearly_flat_but_genuine_factor_is_fitted(self) -> None:
        # full-sample variance ~1, last window variance ~1e-7: far above round-off
        rng = np.random.default_rng(9)
        n, w = 40, 10
        f = rng.normal(0.0, 1.0, (n, 1))
        f[-w:, 0] = 0.3 + rng.normal(0, 3e-4, w)
        y = 0.5 * f[:, 0] + rng.normal(0, 0.01, n)
        out = rolling_ols(y, f, w, validate_returns=False)
        np.testing.assert_allclose(
            out.iloc[-1].to_numpy(), _hand_ols(y[-w:], f[-w:]), rtol=1e-6, atol=1e-8
        )

    def test_small_variance_factor_is_not_flat(self) -> None:
        # returns-scale data (variance ~1e-6): a window variance of 1e-4 of the
        # full-sample variance is a real factor
        rng = np.random.default_rng(10)
        n, w = 40, 10
        f = rng.normal(0.0, 1e-3, (n, 2))
        f[-w:, 1] = 2e-3 + rng.normal(0, 1e-5, w)
        y = f @ np.array([0.7, 0.2]) + rng.normal(0, 1e-4, n)
        out = rolling_ols(y, f, w)
        np.testing.assert_allclose(
            out.iloc[-1].to_numpy(), _hand_ols(y[-w:], f[-w:]), rtol=1e-6, atol=1e-9
        )

    def test_round_off_flat_factor_with_large_other_factor(self) -> None:
        # factor B has a round-off-level window variance, factor A is large; B is flat
        rng = np.random.default_rng(11)
        n, w = 30, 8
        f = np.column_stack([rng.normal(0, 100.0, n), rng.normal(0, 1e-3, n)])
        f[-w:, 1] = 1e-3 * (1 + 1e-9 * rng.normal(size=w))
        y = rng.normal(0, 1e-3, n)
        with pytest.raises(CollinearityError, match="constant or linearly dependent"):
            rolling_ols(y, f, w, validate_returns=False)

    def test_collinear_factors(self) -> None:
        rng = np.random.default_rng(12)
        n, w = 30, 8
        a = rng.normal(0, 0.01, n)
        f = np.column_stack([a, 2.0 * a + 1e-7 * rng.normal(size=n)])
        y = rng.normal(0, 0.01, n)
        with pytest.raises(CollinearityError, match="constant or linearly dependent"):
            rolling_ols(y, f, w)


@pytest.fixture(scope="module")
def small() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(21)
    f = rng.normal(0, 0.01, (80, 2))
    y = f @ np.array([[1.1, 0.2], [-0.3, 0.9]]) + rng.normal(0, 0.005, (80, 2))
    return y, f


class TestMultiWindow:
    def test_explicit_hac_lags_against_statsmodels(self, small) -> None:
        y, f = small
        res = MultiWindowRegression(y, f, windows=(30, 60), hac_maxlags=7).fit()
        assert list(res.params.columns) == ["alpha", "f0", "f1"]
        assert list(res.params.index) == [(30, "y0"), (30, "y1"), (60, "y0"), (60, "y1")]
        assert list(res.dates["hac_lags"]) == [7, 7, 7, 7]
        for w in (30, 60):
            for s in range(2):
                x = sm.add_constant(f[-w:])
                hac = sm.OLS(y[-w:, s], x).fit(cov_type="HAC", cov_kwds={"maxlags": 7})
                np.testing.assert_allclose(res.bse_hac.loc[(w, f"y{s}")], hac.bse, rtol=1e-10)
                np.testing.assert_allclose(
                    res.tvalues_hac.loc[(w, f"y{s}")], hac.tvalues, rtol=1e-10
                )

    def test_zero_hac_lags_is_white(self, small) -> None:
        y, f = small
        res = MultiWindowRegression(y, f, windows=(40,), hac_maxlags=0).fit()
        x = sm.add_constant(f[-40:])
        hac = sm.OLS(y[-40:, 0], x).fit(cov_type="HAC", cov_kwds={"maxlags": 0})
        np.testing.assert_allclose(res.bse_hac.loc[(40, "y0")], hac.bse, rtol=1e-10)
        assert res.dates.loc[(40, "y0"), "hac_lags"] == 0

    @pytest.mark.parametrize("bad", [True, False, -1, 2.0, "3"])
    def test_bad_hac_lags(self, small, bad) -> None:
        y, f = small
        with pytest.raises(SpecificationError, match="hac_maxlags"):
            MultiWindowRegression(y, f, windows=(40,), hac_maxlags=bad)

    def test_default_hac_lags_newey_west(self, small) -> None:
        y, f = small
        res = MultiWindowRegression(y, f, windows=(40, 80)).fit()
        assert list(res.dates["hac_lags"]) == [3, 3, 3, 3]  # floor(4 (n/100)^(2/9))
        x = sm.add_constant(f[-80:])
        hac = sm.OLS(y[-80:, 1], x).fit(cov_type="HAC", cov_kwds={"maxlags": 3})
        np.testing.assert_allclose(res.bse_hac.loc[(80, "y1")], hac.bse, rtol=1e-10)

    def test_summary_columns_and_values(self, small) -> None:
        y, f = small
        res = MultiWindowRegression(y, f, windows=(30, 60), hac_maxlags=2).fit()
        out = res.summary()
        assert list(out.columns) == [
            "alpha", "f0", "f1", "t_hac_alpha", "t_hac_f0", "t_hac_f1",
            "rsquared", "resid_vol", "nobs",
        ]  # fmt: skip
        assert list(out.index) == [(30, "y0"), (30, "y1"), (60, "y0"), (60, "y1")]
        x = sm.add_constant(f[-30:])
        ref = sm.OLS(y[-30:, 1], x).fit()
        hac = sm.OLS(y[-30:, 1], x).fit(cov_type="HAC", cov_kwds={"maxlags": 2})
        row = out.loc[(30, "y1")]
        np.testing.assert_allclose(row[["alpha", "f0", "f1"]].to_numpy(float), ref.params)
        np.testing.assert_allclose(
            row[["t_hac_alpha", "t_hac_f0", "t_hac_f1"]].to_numpy(float), hac.tvalues
        )
        assert row["rsquared"] == pytest.approx(ref.rsquared, abs=1e-12)
        assert row["resid_vol"] == pytest.approx(math.sqrt(ref.scale), rel=1e-12)
        assert row["nobs"] == 30

    def test_validate_returns_covers_both_arguments(self, small) -> None:
        y, f = small
        bad = f.copy()
        bad[5, 0] = -1.5
        with pytest.raises(Exception, match="100%"):
            MultiWindowRegression(y, bad, windows=(30,))
        with pytest.raises(Exception, match="100%"):
            MultiWindowRegression(bad, f, windows=(30,))
        MultiWindowRegression(y, bad, windows=(30,), validate_returns=False)

    def test_nan_message_names_argument_column_and_date(self, small) -> None:
        y, f = small
        dates = pd.bdate_range("2019-01-01", periods=80)
        ys = pd.DataFrame(y, index=dates, columns=["p", "q"])
        fs = pd.DataFrame(f, index=dates, columns=["MKT", "SMB"])
        ys.iloc[7, 1] = np.nan
        ys.iloc[9, 1] = np.nan
        with pytest.raises(EstimationDataError) as err:
            MultiWindowRegression(ys, fs, windows=(30,))
        msg = str(err.value)
        assert "'endog' argument has NaN in column 'q'" in msg
        assert repr(dates[7]) in msg
        fs.iloc[3, 0] = np.nan
        with pytest.raises(EstimationDataError, match="'exog' argument has NaN in column 'MKT'"):
            MultiWindowRegression(ys.fillna(0.0), fs, windows=(30,))

    def test_dependent_factors_named_with_window(self) -> None:
        rng = np.random.default_rng(31)
        a = rng.normal(0, 0.01, 50)
        b = rng.normal(0, 0.01, 50)
        y = rng.normal(0, 0.01, 50)
        f = pd.DataFrame({"A": a, "B": b, "C": a - b})
        with pytest.raises(CollinearityError) as err:
            MultiWindowRegression(y, f, windows=(20,)).fit()
        msg = str(err.value)
        assert "'A', 'B', 'C'" in msg or "A, B, C" in msg
        assert "in window 20 of series 'y0'" in msg
        assert "alpha" not in msg

    def test_dependence_with_intercept_names_alpha(self) -> None:
        rng = np.random.default_rng(32)
        a = rng.normal(0, 0.01, 50)
        f = pd.DataFrame({"A": a, "B": a + 0.25})
        y = rng.normal(0, 0.01, 50)
        with pytest.raises(CollinearityError) as err:
            MultiWindowRegression(y, f, windows=(20,)).fit()
        assert "alpha" in str(err.value)

"""MultiWindowRegression and rolling_ols against statsmodels and NIST Longley."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.datasets import longley
from statsmodels.regression.rolling import RollingOLS

import optihedge as oh
from factor_models import (
    CollinearityError,
    EstimationDataError,
    InsufficientDataError,
    MultiWindowRegression,
    SpecificationError,
    newey_west_lags,
    rolling_ols,
)
from factor_models.errors import EstimationLabelsError


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    dates = pd.bdate_range("2010-01-01", periods=600, name="date")
    f = pd.DataFrame(rng.normal(0, 0.01, (600, 2)), index=dates, columns=["MKT", "VAL"])
    b = np.array([[1.2, 0.6, 0.9], [0.3, -0.4, 0.0]])
    y = pd.DataFrame(
        f.to_numpy() @ b + rng.standard_t(5, (600, 3)) * 0.006, index=dates, columns=["a", "b", "c"]
    )
    return y, f


def hand_lags(n: int) -> int:
    """Newey and West's (1994) rule, written here: floor(4 (n / 100)^(2/9))."""
    return int(np.floor(4.0 * (n / 100.0) ** (2.0 / 9.0)))


@pytest.mark.parametrize(("n", "lags"), [(63, 3), (126, 4), (252, 4), (504, 5)])
def test_newey_west_lag_rule(n: int, lags: int) -> None:
    # 4 (0.63)^(2/9) = 3.61, 4 (1.26)^(2/9) = 4.21, 4 (2.52)^(2/9) = 4.91, 4 (5.04)^(2/9) = 5.73
    assert hand_lags(n) == lags
    assert newey_west_lags(n) == lags


class TestAgainstStatsmodels:
    @pytest.mark.parametrize("window", [63, 126, 252, 504])
    def test_window_by_window(self, data: tuple[pd.DataFrame, pd.DataFrame], window: int) -> None:
        y, f = data
        res = MultiWindowRegression(y, f, windows=(63, 126, 252, 504)).fit()
        lags = hand_lags(window)  # the rule as stated, not the library's function
        for series in y.columns:
            x = sm.add_constant(f.iloc[-window:].to_numpy())
            ref = sm.OLS(y[series].iloc[-window:].to_numpy(), x).fit()
            hac = sm.OLS(y[series].iloc[-window:].to_numpy(), x).fit(
                cov_type="HAC", cov_kwds={"maxlags": lags}
            )
            key = (window, series)
            np.testing.assert_allclose(res.params.loc[key], ref.params, rtol=0, atol=1e-10)
            np.testing.assert_allclose(res.bse.loc[key], ref.bse, rtol=1e-10)
            np.testing.assert_allclose(res.bse_hac.loc[key], hac.bse, rtol=1e-10)
            np.testing.assert_allclose(res.tvalues_hac.loc[key], hac.tvalues, rtol=1e-10)
            assert res.rsquared.loc[window, series] == pytest.approx(ref.rsquared, abs=1e-10)
            assert res.resid_vol.loc[window, series] == pytest.approx(np.sqrt(ref.scale), rel=1e-10)
            assert res.nobs.loc[window, series] == window

    def test_labels(self, data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        y, f = data
        res = MultiWindowRegression(y, f, windows=(63,)).fit()
        assert list(res.params.columns) == ["alpha", "MKT", "VAL"]
        assert res.params.index.names == ["window", "series"]
        assert list(res.betas.columns) == ["MKT", "VAL"]
        assert res.dates.loc[(63, "a"), "end"] == y.index[-1]
        assert res.dates.loc[(63, "a"), "start"] == y.index[-63]
        assert res.windows == [63]

    def test_missing_drop_uses_each_series_history(
        self, data: tuple[pd.DataFrame, pd.DataFrame]
    ) -> None:
        y, f = data
        y = y.copy()
        y.iloc[:500, 1] = np.nan  # series b listed late: 100 observations
        y.iloc[550, 0] = np.nan  # a one-day gap in a
        res = MultiWindowRegression(y, f, windows=(63,), missing="drop").fit()
        keep = y["a"].notna()
        ref = sm.OLS(
            y["a"][keep].iloc[-63:].to_numpy(), sm.add_constant(f[keep].iloc[-63:].to_numpy())
        ).fit()
        np.testing.assert_allclose(res.params.loc[(63, "a")], ref.params, atol=1e-12)
        with pytest.raises(
            InsufficientDataError, match="'b' has 100 complete observations; window 252 needs 252"
        ):
            MultiWindowRegression(y, f, windows=(252,), missing="drop").fit()

    def test_missing_drop_skips_a_factor_gap_for_every_series(
        self, data: tuple[pd.DataFrame, pd.DataFrame]
    ) -> None:
        # a factor missing on one date removes that date from every series, and only it
        y, f = data
        f = f.copy()
        f.iloc[-10, 1] = np.nan
        res = MultiWindowRegression(y, f, windows=(63,), missing="drop").fit()
        keep = f.notna().all(axis=1)
        for series in y.columns:
            ref = sm.OLS(
                y[series][keep].iloc[-63:].to_numpy(),
                sm.add_constant(f[keep].iloc[-63:].to_numpy()),
            ).fit()
            np.testing.assert_allclose(res.params.loc[(63, series)], ref.params, atol=1e-12)
            assert res.dates.loc[(63, series), "start"] == y.index[-64]


class TestLongley:
    # NIST StRD certified values for the Longley data (higher difficulty).
    CERT_B = (
        -3482258.63459582,
        15.0618722713733,
        -0.358191792925910e-01,
        -2.02022980381683,
        -1.03322686717359,
        -0.511041056535807e-01,
        1829.15146461355,
    )
    CERT_SD = (
        890420.383607373,
        84.9149257747669,
        0.334910077722432e-01,
        0.488399681651699,
        0.214274163161675,
        0.226073200069370,
        455.478499142212,
    )
    RESID_SD = 304.854073561965
    R2 = 0.995479004577296

    def test_certified_values(self) -> None:
        d = longley.load_pandas()
        dates = pd.to_datetime(d.exog["YEAR"].astype(int).astype(str))
        y = pd.Series(d.endog.to_numpy(), index=dates, name="TOTEMP")
        x = pd.DataFrame(d.exog.to_numpy(), index=dates, columns=list(d.exog.columns))
        res = MultiWindowRegression(y, x, windows=(16,), validate_returns=False).fit()

        def lre(got: np.ndarray, cert: np.ndarray) -> np.ndarray:
            return -np.log10(np.abs(got - cert) / np.abs(cert))

        # The Longley design has condition number ~5e9, so about 9.7 of double
        # precision's 15.9 digits can be lost in the worst case; the pinv solution
        # keeps at least 10.9 (coefficients) and 12.5 (errors) here. Require 10.
        assert lre(res.params.loc[(16, "TOTEMP")].to_numpy(), np.array(self.CERT_B)).min() > 10
        assert lre(res.bse.loc[(16, "TOTEMP")].to_numpy(), np.array(self.CERT_SD)).min() > 10
        assert lre(res.resid_vol.loc[16, "TOTEMP"], self.RESID_SD) > 10
        assert lre(res.rsquared.loc[16, "TOTEMP"], self.R2) > 10


class TestRolling:
    def test_against_rolling_ols(self, data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        y, f = data
        out = rolling_ols(y, f, 63)
        assert out.index[0] == y.index[62]
        for series in y.columns:
            ref = (
                RollingOLS(y[series], sm.add_constant(f), window=63)
                .fit(params_only=True)
                .params.dropna()
            )
            got = out[series]
            np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=0, atol=1e-10)
            assert list(got.columns) == ["alpha", "MKT", "VAL"]

    def test_last_row_equals_window_fit(self, data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        y, f = data
        model = MultiWindowRegression(y, f, windows=(126,))
        last = model.rolling(126).iloc[-1]["b"]
        np.testing.assert_allclose(last, model.fit().params.loc[(126, "b")], atol=1e-12)

    def test_errors(self, data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        y, f = data
        with pytest.raises(EstimationDataError, match="'endog' argument has NaN"):
            rolling_ols(y.where(y > -0.05), f, 63)
        with pytest.raises(InsufficientDataError, match="window 700 needs 700"):
            rolling_ols(y, f, 700)
        g = f.copy()
        g.iloc[100:200, 1] = 0.0
        with pytest.raises(CollinearityError, match="constant or linearly dependent"):
            rolling_ols(y, g, 63)


class TestRollingFlatFactors:
    """Which windows are refused: a factor's window variance against its own full sample."""

    DATES = pd.bdate_range("2020-01-01", periods=200)

    def _data(self, c: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
        rng = np.random.default_rng(11)
        m = rng.normal(0.0, 0.01, 200)
        y = pd.DataFrame({"a": 0.8 * m + 0.5 * c + rng.normal(0.0, 0.005, 200)}, index=self.DATES)
        return y, pd.DataFrame({"m": m, "c": c}, index=self.DATES)

    def test_a_factor_constant_over_the_whole_sample(self) -> None:
        # its centred values are exactly zero: 0 / 0 in the correlation of every window,
        # refused with the first window's end date and no warning (warnings are errors)
        y, f = self._data(np.full(200, 0.001))
        with pytest.raises(CollinearityError, match="window ending Timestamp\\('2020-03-27"):
            rolling_ols(y, f, 63, validate_returns=False)

    def test_a_factor_still_to_a_millionth_of_its_sd_in_one_stretch(self) -> None:
        # window variance 1e-12 of the full sample's (sd 1e-8 against 1e-2): flat, since
        # at most 1e-10 is the rule; rows 100-199 hold it, so the first flat window is the
        # one ending on row 162 (the 63 rows 100-162)
        rng = np.random.default_rng(12)
        c = rng.normal(0.0, 0.01, 200)
        c[100:] = 0.002 + rng.normal(0.0, 1e-8, 100)
        y, f = self._data(c)
        with pytest.raises(CollinearityError, match="constant or linearly dependent") as caught:
            rolling_ols(y, f, 63, validate_returns=False)
        assert repr(self.DATES[162]) in str(caught.value)
        # the windows before it are fitted as statsmodels fits them
        head = rolling_ols(y.iloc[:162], f.iloc[:162], 63, validate_returns=False)
        ref = RollingOLS(y["a"].iloc[:162], sm.add_constant(f.iloc[:162]), window=63)
        expected = ref.fit(params_only=True).params.dropna()
        np.testing.assert_allclose(head["a"].to_numpy(), expected.to_numpy(), rtol=1e-9)

    def test_a_factor_in_small_units_is_not_flat(self) -> None:
        # a factor quoted in tiny units (sd 1e-8) moves as much as any other relative to
        # itself: fitted, slopes as statsmodels gives them (about 0.5 / 1e-6 for it)
        rng = np.random.default_rng(13)
        c = rng.normal(0.0, 0.01, 200)
        y, f = self._data(c)
        small = f.assign(c=f["c"] * 1e-6)
        got = rolling_ols(y, small, 63, validate_returns=False)["a"]
        ref = RollingOLS(y["a"], sm.add_constant(small), window=63).fit(params_only=True)
        np.testing.assert_allclose(got.to_numpy(), ref.params.dropna().to_numpy(), rtol=1e-9)
        assert got["c"].abs().min() > 1e5


class TestCoefficientNames:
    """The intercept is 'alpha' and each factor its label as text: names must not repeat."""

    DATES = pd.bdate_range("2020-01-01", periods=120)

    @pytest.mark.parametrize(
        ("labels", "repeated"), [(["alpha"], "['alpha']"), ([1, "1"], "['1']")], ids=str
    )
    def test_a_factor_named_like_another_coefficient_is_refused(
        self, labels: list[object], repeated: str
    ) -> None:
        rng = np.random.default_rng(21)
        y = pd.DataFrame({"a": rng.normal(0.0, 0.01, 120)}, index=self.DATES)
        f = pd.DataFrame(rng.normal(0.0, 0.01, (120, len(labels))), index=self.DATES)
        f.columns = pd.Index(labels, dtype=object)
        message = (
            f"^The 'exog' argument's factor labels give the coefficient names "
            f"{re.escape(repeated)} more than once"
        )
        # before: MultiWindowRegression's betas came back empty (the factor dropped with
        # the intercept), rolling_ols gave two columns of one name
        with pytest.raises(EstimationLabelsError, match=message):
            MultiWindowRegression(y, f, windows=(63,))
        with pytest.raises(EstimationLabelsError, match=message):
            rolling_ols(y, f, 63)

    def test_distinct_names_give_unique_columns(self) -> None:
        rng = np.random.default_rng(22)
        y = pd.DataFrame({"a": rng.normal(0.0, 0.01, 120)}, index=self.DATES)
        f = pd.DataFrame(rng.normal(0.0, 0.01, (120, 2)), index=self.DATES, columns=[1, "b"])
        out = rolling_ols(y, f, 63)
        assert out.columns.is_unique
        assert list(out.columns) == [("a", "alpha"), ("a", "1"), ("a", "b")]


class TestNearlyDependentFactors:
    def test_refused_at_numpy_s_rank_tolerance_not_fitted(self) -> None:
        # F2 = F1 + 1e-14 noise: numpy's rank of the 63 x 3 design is 2 (smallest singular
        # value 5.5e-14 below s_max 63 eps = 1.1e-13); statsmodels' own rank test (tolerance
        # s_max 3 eps) called it full and the betas came back as -2.4e10 and +2.4e10
        rng = np.random.default_rng(0)
        dates = pd.bdate_range("2020-01-01", periods=100)
        f1 = rng.normal(0, 0.01, 100)
        f = pd.DataFrame({"F1": f1, "F2": f1 + 1e-14 * rng.normal(0, 1, 100)}, index=dates)
        y = pd.Series(0.8 * f1 + rng.normal(0, 0.003, 100), index=dates, name="y")
        design = np.column_stack([np.ones(63), f.to_numpy()[-63:]])
        assert np.linalg.matrix_rank(design) == 2
        with pytest.raises(
            CollinearityError,
            match=r"^Factors \['F1', 'F2'\] are linearly dependent in window 63 of series 'y'",
        ):
            MultiWindowRegression(y, f, windows=(63,)).fit()
        # 1e-6 apart the design has full rank: fitted as statsmodels fits it
        f["F2"] = f1 + 1e-6 * rng.normal(0, 1, 100)
        res = MultiWindowRegression(y, f, windows=(63,)).fit()
        ref = sm.OLS(y.iloc[-63:].to_numpy(), sm.add_constant(f.iloc[-63:].to_numpy())).fit()
        np.testing.assert_allclose(res.params.loc[(63, "y")], ref.params, rtol=1e-9)


class TestStability:
    def test_flags_a_beta_that_moved(self) -> None:
        rng = np.random.default_rng(3)
        dates = pd.bdate_range("2015-01-01", periods=504)
        m = rng.normal(0, 0.01, 504)
        beta = np.where(np.arange(504) >= 441, 1.8, 0.6)  # the last 63 days moved
        y = pd.DataFrame(
            {
                "moved": beta * m + rng.normal(0, 0.004, 504),
                "steady": 0.9 * m + rng.normal(0, 0.004, 504),
            },
            index=dates,
        )
        res = MultiWindowRegression(y, pd.Series(m, index=dates, name="MKT")).fit()
        st = res.stability()
        assert st.loc[("moved", "MKT"), "unstable"]
        assert not st.loc[("steady", "MKT"), "unstable"]
        assert st.loc[("moved", "MKT"), "range"] > 0.5
        assert list(st.columns[:4]) == [63, 126, 252, 504]

    def test_every_column_by_hand_against_statsmodels(self) -> None:
        # two series, two factors, three windows: each beta and HAC error from statsmodels,
        # the dispersion and the largest pairwise z by hand
        rng = np.random.default_rng(35)
        dates = pd.bdate_range("2016-01-01", periods=300)
        f = pd.DataFrame(rng.normal(0, 0.01, (300, 2)), index=dates, columns=["MKT", "VAL"])
        drift = np.linspace(0.4, 1.6, 300)
        y = pd.DataFrame(
            {
                "a": drift * f["MKT"] + 0.3 * f["VAL"] + rng.normal(0, 0.004, 300),
                "b": 0.9 * f["MKT"] - 0.2 * f["VAL"] + rng.normal(0, 0.004, 300),
            },
            index=dates,
        )
        windows = (60, 150, 300)
        res = MultiWindowRegression(y, f, windows=windows).fit()
        z_threshold = 2.5
        st = res.stability(z_threshold)
        assert st.index.names == ["series", "factor"]
        assert list(st.index) == [("a", "MKT"), ("a", "VAL"), ("b", "MKT"), ("b", "VAL")]
        assert list(st.columns) == [*windows, "mean", "std", "range", "max_z", "unstable"]
        for series in ("a", "b"):
            beta, se = {}, {}
            for w in windows:
                x = sm.add_constant(f.iloc[-w:].to_numpy())
                fit = sm.OLS(y[series].iloc[-w:].to_numpy(), x).fit()
                hac = fit.get_robustcov_results(
                    cov_type="HAC", maxlags=int(4 * (w / 100) ** (2 / 9))
                )
                beta[w], se[w] = fit.params[1:], hac.bse[1:]
            for i, factor in enumerate(("MKT", "VAL")):
                row = st.loc[(series, factor)]
                b = np.array([beta[w][i] for w in windows])
                np.testing.assert_allclose(row[list(windows)].to_numpy(float), b, atol=1e-12)
                assert row["mean"] == pytest.approx(b.sum() / 3, abs=1e-12)
                assert row["std"] == pytest.approx(
                    np.sqrt(((b - b.mean()) ** 2).sum() / 3), abs=1e-12
                )
                assert row["range"] == pytest.approx(b.max() - b.min(), abs=1e-12)
                z = max(
                    abs(beta[u][i] - beta[v][i]) / np.hypot(se[u][i], se[v][i])
                    for u, v in [(60, 150), (60, 300), (150, 300)]
                )
                assert row["max_z"] == pytest.approx(z, rel=1e-9)
                assert row["unstable"] == (z > z_threshold)
        # the drifting beta is flagged, the steady one not
        assert st.loc[("a", "MKT"), "unstable"]
        assert not st.loc[("b", "MKT"), "unstable"]
        # the default threshold is 1.96: b's VAL beta (z 2.54) is flagged by it
        default = res.stability()
        assert default.loc[("b", "VAL"), "max_z"] == pytest.approx(2.54, abs=0.01)
        assert default["unstable"].tolist() == [True, False, False, True]
        # strictly above: a z equal to the threshold is not flagged
        at = float(default.loc[("b", "VAL"), "max_z"])
        assert not res.stability(at).loc[("b", "VAL"), "unstable"]
        assert res.stability(np.nextafter(at, 0.0)).loc[("b", "VAL"), "unstable"]


class TestEmbeddedData:
    def test_financials_and_staples(self) -> None:
        p = oh.datasets.load_default(start="2007-01-01", end="2009-12-31")
        r = oh.returns_from_prices(p[["JPM", "BAC", "KO", "PG", "PEP", "SP500"]])
        res = MultiWindowRegression(r.drop(columns="SP500"), r["SP500"], windows=(len(r),)).fit()
        b = res.betas["SP500"].droplevel("window")
        # measured: JPM 1.74, BAC 2.15, KO 0.55, PG 0.59, PEP 0.53
        assert b["JPM"] > 1.5
        assert b["BAC"] > 1.5
        for staple in ("KO", "PG", "PEP"):
            assert 0.4 < b[staple] < 0.7


class TestBadInput:
    def test_too_few_observations(self, data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        y, f = data
        with pytest.raises(
            InsufficientDataError, match="'a' has 600 complete observations; window 1000 needs 1000"
        ):
            MultiWindowRegression(y, f, windows=(1000,)).fit()

    def test_window_too_short_for_coefficients(
        self, data: tuple[pd.DataFrame, pd.DataFrame]
    ) -> None:
        y, f = data
        with pytest.raises(InsufficientDataError, match="too short for 3 coefficients"):
            MultiWindowRegression(y, f, windows=(3,)).fit()

    def test_constant_factor(self, data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        y, f = data
        g = f.assign(VAL=0.0)
        with pytest.raises(CollinearityError, match=r"\['VAL'\] are constant in window 63"):
            MultiWindowRegression(y, g, windows=(63,)).fit()

    def test_collinear_factors(self, data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        y, f = data
        g = f.assign(TWICE=2 * f["MKT"])
        with pytest.raises(CollinearityError, match=r"\['MKT', 'TWICE'\] are linearly dependent"):
            MultiWindowRegression(y, g, windows=(63,)).fit()

    def test_nan_raises_by_default(self, data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        y, f = data
        g = f.copy()
        g.iloc[10, 0] = np.nan
        with pytest.raises(EstimationDataError, match="'exog' argument has NaN in column 'MKT'"):
            MultiWindowRegression(y, g)

    def test_infinite(self, data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        y, f = data
        g = f.copy()
        g.iloc[10, 1] = np.inf
        with pytest.raises(EstimationDataError, match="'exog'.*infinite value in column 'VAL'"):
            MultiWindowRegression(y, g)

    def test_misaligned_dates(self, data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        y, f = data
        with pytest.raises(EstimationDataError, match="dates of 'endog' and 'exog' differ: 5 only"):
            MultiWindowRegression(y, f.iloc[5:])
        res = MultiWindowRegression(y, f.iloc[5:], windows=(63,), align="inner").fit()
        assert res.nobs.loc[63, "a"] == 63

    def test_non_overlapping(self, data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        y, f = data
        with pytest.raises(EstimationDataError, match="do not overlap"):
            MultiWindowRegression(y.iloc[:100], f.iloc[200:], align="inner")

    @pytest.mark.parametrize("windows", [(), (1,), (63, 63), (2.5,)])
    def test_bad_windows(
        self, data: tuple[pd.DataFrame, pd.DataFrame], windows: tuple[int, ...]
    ) -> None:
        y, f = data
        with pytest.raises(SpecificationError, match="'windows'"):
            MultiWindowRegression(y, f, windows=windows)

    def test_bad_options(self, data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        y, f = data
        with pytest.raises(SpecificationError, match="'hac_maxlags'"):
            MultiWindowRegression(y, f, hac_maxlags=-1)
        with pytest.raises(SpecificationError, match="'missing'"):
            MultiWindowRegression(y, f, missing="zero")  # type: ignore[arg-type]
        with pytest.raises(SpecificationError, match="'align'"):
            MultiWindowRegression(y, f, align="outer")  # type: ignore[arg-type]

"""RiskModel, FactorModel, StatisticalFactorModel, EWMACovariance and horizon scaling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given
from hypothesis import strategies as st
from scipy.linalg import toeplitz
from sklearn.base import clone
from sklearn.covariance import OAS, EmpiricalCovariance, LedoitWolf
from sklearn.utils.estimator_checks import parametrize_with_checks

from factor_models import (
    CollinearityError,
    EstimationDataError,
    EWMACovariance,
    FactorModel,
    InsufficientDataError,
    RiskModel,
    RiskModelSet,
    SpecificationError,
    StatisticalFactorModel,
    horizon_variance_factor,
)
from optihedge.measures.risk import scale_to_horizon


@pytest.fixture(scope="module")
def returns() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)
    dates = pd.bdate_range("2012-01-02", periods=400, name="date")
    f = pd.DataFrame(
        rng.multivariate_normal([0, 0], [[1e-4, 3e-5], [3e-5, 5e-5]], 400),
        index=dates,
        columns=["MKT", "MOM"],
    )
    b = rng.normal(1.0, 0.4, (2, 6))
    x = pd.DataFrame(
        f.to_numpy() @ b + rng.normal(0, 0.008, (400, 6)),
        index=dates,
        columns=[f"S{i}" for i in range(6)],
    )
    return x, f


def small_model() -> RiskModel:
    assets, factors = ["a", "b", "c"], ["m", "v"]
    return RiskModel(
        loadings=pd.DataFrame([[1.0, 0.2], [0.8, -0.1], [1.2, 0.5]], index=assets, columns=factors),
        factor_cov=pd.DataFrame([[4e-4, 1e-4], [1e-4, 2e-4]], index=factors, columns=factors),
        specific_var=pd.Series([1e-4, 2e-4, 3e-4], index=assets),
    )


class TestRiskModel:
    def test_covariance_and_factored_variance(self) -> None:
        m = small_model()
        b, f, d = m.loadings.to_numpy(), m.factor_cov.to_numpy(), m.specific_var.to_numpy()
        dense = b @ f @ b.T + np.diag(d)
        np.testing.assert_allclose(m.covariance().to_numpy(), dense, rtol=1e-14)
        w = pd.Series([0.5, -0.2, 0.7], index=["a", "b", "c"])
        assert m.variance(w) == pytest.approx(w.to_numpy() @ dense @ w.to_numpy(), rel=1e-12)
        r = m.factor_cov_sqrt().to_numpy()
        np.testing.assert_allclose(r.T @ r, f, atol=1e-18)
        np.testing.assert_allclose(m.exposures(w), b.T @ w.to_numpy())

    def test_weights_by_label(self) -> None:
        m = small_model()
        w = pd.Series({"c": 0.7, "a": 0.5})  # b omitted: held at zero
        full = pd.Series([0.5, 0.0, 0.7], index=["a", "b", "c"])
        assert m.variance(w) == pytest.approx(m.variance(full))
        with pytest.raises(EstimationDataError, match=r"lacks: \['zzz'\]"):
            m.variance(pd.Series({"zzz": 1.0}))
        with pytest.raises(EstimationDataError, match="Series labelled by asset"):
            m.variance(np.ones(3))  # type: ignore[arg-type]

    def test_horizon(self) -> None:
        m = small_model().to_horizon(21, autocorrelation=0.1)
        k = toeplitz(0.1 ** np.arange(21)).sum()
        np.testing.assert_allclose(m.factor_cov, small_model().factor_cov * k)
        assert m.horizon == 21

    def test_validation(self) -> None:
        m = small_model()
        with pytest.raises(EstimationDataError, match="'specific_var' argument must be >= 0.*'b'"):
            RiskModel(m.loadings, m.factor_cov, m.specific_var.replace(2e-4, -1.0))
        with pytest.raises(EstimationDataError, match="'specific_var' labels must equal"):
            RiskModel(m.loadings, m.factor_cov, m.specific_var.rename({"c": "z"}))
        with pytest.raises(EstimationDataError, match="'factor_cov' labels must equal"):
            RiskModel(m.loadings, m.factor_cov.rename(columns={"v": "q"}), m.specific_var)
        bad = m.factor_cov.copy()
        bad.iloc[0, 1] = bad.iloc[1, 0] = 1.0
        with pytest.raises(EstimationDataError, match="positive semi-definite"):
            RiskModel(m.loadings, bad, m.specific_var)
        with pytest.raises(EstimationDataError, match="'loadings' argument holds NaN"):
            RiskModel(m.loadings.replace(0.2, np.nan), m.factor_cov, m.specific_var)

    def test_from_covariance(self) -> None:
        labels = ["x", "y"]
        cov = pd.DataFrame([[1.0, 2.0], [2.0, 1.0]], index=labels, columns=labels)
        with pytest.raises(EstimationDataError, match="not|positive semi-definite"):
            RiskModel.from_covariance(cov)
        fixed = RiskModel.from_covariance(cov, repair="clip").covariance().to_numpy()
        # nearest PSD matrix: eigenvalues 3 and -1 -> 3 and 0
        np.testing.assert_allclose(fixed, [[1.5, 1.5], [1.5, 1.5]], atol=1e-12)
        good = pd.DataFrame([[2.0, 0.5], [0.5, 1.0]], index=labels, columns=labels)
        m = RiskModel.from_covariance(good)
        np.testing.assert_allclose(m.covariance(), good)
        assert m.variance(pd.Series({"x": 1.0, "y": 1.0})) == pytest.approx(4.0)

    def test_model_set(self) -> None:
        s = RiskModelSet({63: small_model(), 252: small_model()})
        assert list(s) == [63, 252]
        assert s[63].assets.equals(s.assets)
        assert repr(s) == "RiskModelSet(windows=[63, 252])"
        other = RiskModel.from_covariance(
            pd.DataFrame(np.eye(2), index=["p", "q"], columns=["p", "q"])
        )
        with pytest.raises(EstimationDataError, match="entry 252 has assets"):
            RiskModelSet({63: small_model(), 252: other})


class TestHorizon:
    @given(days=st.integers(1, 60), rho=st.floats(-0.9, 0.9))
    def test_against_toeplitz(self, days: int, rho: float) -> None:
        expected = toeplitz(rho ** np.arange(days)).sum()
        assert horizon_variance_factor(days, rho) == pytest.approx(expected, rel=1e-10)
        assert scale_to_horizon(1.0, days, rho) == pytest.approx(np.sqrt(expected), rel=1e-10)

    def test_errors(self) -> None:
        with pytest.raises(SpecificationError, match="'days'"):
            horizon_variance_factor(0)
        with pytest.raises(SpecificationError, match="'autocorrelation'"):
            horizon_variance_factor(5, 1.0)


class TestFactorModel:
    def test_loadings_match_statsmodels(self, returns: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        x, f = returns
        fm = FactorModel().fit(x, f)
        for asset in x.columns:
            ref = sm.OLS(x[asset].to_numpy(), sm.add_constant(f.to_numpy())).fit()
            np.testing.assert_allclose(fm.loadings_.loc[asset], ref.params[1:], atol=1e-12)
            assert fm.alpha_[asset] == pytest.approx(ref.params[0], abs=1e-12)
            # ddof=0 residual variance
            assert fm.specific_variance_[asset] == pytest.approx(ref.ssr / len(x), rel=1e-10)
        assert fm.risk_model_.asof == x.index[-1]

    def test_empirical_model_reproduces_sample_variances(
        self, returns: tuple[pd.DataFrame, pd.DataFrame]
    ) -> None:
        x, f = returns
        cov = FactorModel().fit(x, f).risk_model_.covariance()
        np.testing.assert_allclose(np.diag(cov), x.var(ddof=0), rtol=1e-10)

    def test_all_factors_reproduces_sample_covariance(
        self, returns: tuple[pd.DataFrame, pd.DataFrame]
    ) -> None:
        x, _ = returns
        fm = FactorModel().fit(x, x)  # every asset is a factor: k = all, D = 0
        np.testing.assert_allclose(fm.specific_variance_, 0.0, atol=1e-20)
        expected = EmpiricalCovariance().fit(x).covariance_
        np.testing.assert_allclose(fm.risk_model_.covariance(), expected, rtol=1e-9, atol=1e-16)

    @pytest.mark.parametrize(
        "estimator", [EmpiricalCovariance(), LedoitWolf(), OAS(), EWMACovariance(halflife=30)]
    )
    def test_psd_and_pluggable(
        self, returns: tuple[pd.DataFrame, pd.DataFrame], estimator: object
    ) -> None:
        x, f = returns
        fm = FactorModel(covariance_estimator=estimator).fit(x, f)
        expected = clone(estimator).fit(f.to_numpy()).covariance_
        np.testing.assert_allclose(fm.factor_covariance_, expected, rtol=1e-12)
        eig = np.linalg.eigvalsh(fm.risk_model_.covariance())
        assert eig.min() >= -1e-15 * eig.max()

    def test_windows(self, returns: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        x, f = returns
        fm = FactorModel(windows=(63, 252)).fit(x, f)
        assert list(fm.risk_models_) == [63, 252]
        assert fm.risk_model_ is fm.risk_models_[63]
        ref = FactorModel().fit(x.iloc[-252:], f.iloc[-252:])
        np.testing.assert_allclose(fm.risk_models_[252].loadings, ref.loadings_)

    def test_nested_params(self) -> None:
        fm = FactorModel(covariance_estimator=EWMACovariance(halflife=30))
        fm.set_params(covariance_estimator__halflife=10)
        assert fm.get_params()["covariance_estimator__halflife"] == 10
        assert clone(fm).covariance_estimator.halflife == 10

    def test_bad_input(self, returns: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        x, f = returns
        gap = x.copy()
        gap.iloc[5, 2] = np.nan
        with pytest.raises(EstimationDataError, match="'X' argument has 1 NaN.*'S2'"):
            FactorModel().fit(gap, f)
        with pytest.raises(EstimationDataError, match="dates of 'X' and 'y' differ"):
            FactorModel().fit(x.iloc[1:], f.iloc[:-1])
        with pytest.raises(InsufficientDataError, match="has 400 observation.*window 500 needs"):
            FactorModel(windows=(500,)).fit(x, f)
        with pytest.raises(CollinearityError, match=r"\['MOM'\] are constant"):
            FactorModel().fit(x, f.assign(MOM=0.0))
        with pytest.raises(EstimationDataError, match="requires y"):
            FactorModel().fit(x, None)
        with pytest.raises(ValueError, match="specific_variance_floor"):
            FactorModel(specific_variance_floor=-1.0).fit(x, f)

    def test_floor(self, returns: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        x, _ = returns
        fm = FactorModel(specific_variance_floor=1e-6).fit(x, x)
        np.testing.assert_allclose(fm.specific_variance_, 1e-6)


class TestStatisticalFactorModel:
    def test_all_components_reproduce_sample_covariance(
        self, returns: tuple[pd.DataFrame, pd.DataFrame]
    ) -> None:
        x, _ = returns
        sm_ = StatisticalFactorModel().fit(x)
        np.testing.assert_allclose(
            sm_.risk_model_.covariance(),
            EmpiricalCovariance().fit(x).covariance_,
            rtol=1e-9,
            atol=1e-15,
        )
        assert sm_.specific_variance_.max() < 1e-15

    def test_explained_variance_choice(self, returns: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        x, _ = returns
        full = StatisticalFactorModel().fit(x).explained_variance_ratio_
        k = int(np.searchsorted(np.cumsum(full.to_numpy()), 0.8) + 1)
        sm_ = StatisticalFactorModel(n_components=0.8).fit(x)
        assert sm_.loadings_.shape[1] == k
        assert list(sm_.loadings_.columns) == [f"PC{i + 1}" for i in range(k)]
        eig = np.linalg.eigvalsh(sm_.risk_model_.covariance())
        assert eig.min() >= -1e-15 * eig.max()
        # diagonal stays the sample variance: unexplained part goes to D
        np.testing.assert_allclose(np.diag(sm_.risk_model_.covariance()), x.var(ddof=0), rtol=1e-10)

    def test_two_factor_structure_found(self, returns: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        x, _ = returns
        ratio = StatisticalFactorModel(n_components=2).fit(x).explained_variance_ratio_
        assert ratio.sum() > 0.5

    def test_too_many_components(self, returns: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        x, _ = returns
        with pytest.raises(EstimationDataError, match="'n_components' parameter \\(9\\)"):
            StatisticalFactorModel(n_components=9).fit(x)


def test_ewma_against_pandas(returns: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, f = returns
    est = EWMACovariance(halflife=20).fit(f)
    ref = f.ewm(halflife=20).cov(bias=True).loc[f.index[-1]]
    np.testing.assert_allclose(est.covariance_, ref.to_numpy(), rtol=1e-10)


# scikit-learn's checks feed arrays that are not returns (values of any scale): the API
# is checked with the return-scale check off; the check itself is tested with the rest
# of the bad inputs
@parametrize_with_checks(
    [
        EWMACovariance(),
        StatisticalFactorModel(validate_returns=False),
        FactorModel(validate_returns=False),
    ]
)
def test_sklearn_compatible(estimator: object, check: object) -> None:
    check(estimator)  # type: ignore[operator]

r"""Factor risk models as scikit-learn estimators.

:class:`FactorModel` regresses asset returns on observed factor returns;
:class:`StatisticalFactorModel` takes principal components as factors. Both produce
:class:`~factor_models.RiskModel` objects with

.. math:: \Sigma = B F B^\top + D

Every moment is the maximum-likelihood (``ddof=0``) estimate, as scikit-learn's
covariance estimators compute them, so that with the empirical estimator the model's
variance of each asset equals its sample variance exactly (OLS residuals are
orthogonal to the factors in sample).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.covariance import EmpiricalCovariance
from sklearn.decomposition import PCA
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import validate_data

from factor_models.errors import (
    CollinearityError,
    EstimationDataError,
    EstimationLabelsError,
    InsufficientDataError,
    SpecificationError,
)
from factor_models.frequency import Frequency, resolve_frequency
from factor_models.regression import MissingPolicy, _check_design
from factor_models.risk_model import RiskModel, RiskModelSet
from factor_models.validation import (
    MISSING,
    AlignPolicy,
    check_dates,
    check_option,
    check_returns,
    check_window,
    drop_missing,
    format_labels,
    join_dates,
)

__all__ = ["FactorModel", "StatisticalFactorModel"]


def _labels(data: Any, n: int, prefix: str) -> pd.Index:
    if isinstance(data, pd.DataFrame):
        return pd.Index([str(c) for c in data.columns])
    if isinstance(data, pd.Series):
        return pd.Index([str(data.name) if data.name is not None else f"{prefix}0"])
    return pd.Index([f"{prefix}{i}" for i in range(n)])


def _dates(data: Any) -> pd.Index | None:
    return data.index if isinstance(data, pd.DataFrame | pd.Series) else None


def _checked(data: Any, name: str, prefix: str, *, returns: bool) -> Any:
    """Return ``data`` with string column labels, after the checks every input gets.

    Typed errors (naming ``name``) for non-numeric values, NaN, infinite values,
    duplicate labels and dates that are not unique and increasing (:func:`check_dates`),
    before scikit-learn sees the data; with ``returns``, the return
    scale check shared by every entry point (:func:`check_returns`).
    """
    if sparse.issparse(data) or np.iscomplexobj(data):
        return data  # scikit-learn refuses these with its own messages
    if isinstance(data, pd.Series):
        data = data.to_frame(name=data.name if data.name is not None else f"{prefix}0")
    if isinstance(data, pd.DataFrame):
        if data.shape[0] == 0 or data.shape[1] == 0:
            raise EstimationDataError(
                f"The '{name}' argument is empty (shape {data.shape}); pass observations."
            )
        if data.shape[0] < 2:
            raise InsufficientDataError(
                f"The '{name}' argument has {data.shape[0]} observation; a risk model needs "
                "at least 2."
            )
        text = [c for c, d in zip(data.columns, data.dtypes, strict=True) if d.kind not in "biuf"]
        if text:
            raise EstimationDataError(
                f"The '{name}' argument must hold numbers (simple returns); columns "
                f"{format_labels(text)} hold text or objects."
            )
        check_dates(data.index, name)
        if not all(isinstance(c, str) for c in data.columns):
            data = data.set_axis([str(c) for c in data.columns], axis=1)
        if not data.columns.is_unique:
            dupes = data.columns[data.columns.duplicated()].unique()
            raise EstimationLabelsError(
                f"The '{name}' argument has duplicate columns {format_labels(dupes)} (as "
                "strings); labels must be unique."
            )
        columns, rows = list(data.columns), data.index
    else:
        columns, rows = None, None
    raw = np.asarray(data)
    if raw.dtype.kind not in "biuf" or raw.size == 0:
        return data  # arrays of strings, objects or nothing: scikit-learn's own message
    values = raw.astype(np.float64)
    values = values.reshape(len(values), -1) if values.ndim == 1 else values
    if values.ndim != 2:
        return data  # scikit-learn's own shape error names the array
    bad = ~np.isfinite(values)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        where = (
            f" first in column {columns[c]!r} at {rows[r]!r}"
            if columns is not None and rows is not None
            else f" first at row {r}, column {c}"
        )
        raise EstimationDataError(
            f"The '{name}' argument has {int(bad.sum())} NaN or infinite value(s),{where}. "
            "Drop or fill the gaps first (e.g. optihedge.returns_from_prices(..., "
            "missing='drop')), or pass missing='drop' to leave those dates out."
        )
    if returns:
        check_returns(values, name, columns if columns is not None else range(values.shape[1]))
    return data


def _window_list(windows: Sequence[int] | None, n: int) -> list[int]:
    if windows is None:
        return [n]
    out = [check_window(w) for w in windows]
    if not out:
        raise SpecificationError("The 'windows' argument must hold at least one window.")
    return out


def _need(n: int, window: int, what: str) -> None:
    if n < window:
        raise InsufficientDataError(
            f"{what} has {n} observation(s) (got {n} sample(s)); window {window} needs "
            f"{window}. Use a shorter window or more history."
        )


class FactorModel(BaseEstimator):  # type: ignore[misc]
    """Observed-factor risk model: time-series OLS of each asset on factor returns.

    Parameters
    ----------
    covariance_estimator : estimator with ``fit`` and ``covariance_``, optional
        Estimator of the factor covariance: scikit-learn's ``EmpiricalCovariance``
        (default), ``LedoitWolf``, ``OAS``, or :class:`~factor_models.EWMACovariance`.
        Cloned for each window.
    windows : sequence of int, optional
        Trailing windows (observations) to fit, one risk model each, all ending at the
        last date. All rows if omitted.
    specific_variance_floor : float, default 0.0
        Lower bound on each asset's specific variance (per period).
    align : {"exact", "inner"}, default "exact"
        Dates of ``X`` and ``y``: ``"exact"`` requires the same dates (an error names
        the differences); ``"inner"`` keeps the common dates. As in
        :class:`~factor_models.MultiWindowRegression`.
    missing : {"raise", "drop"}, default "raise"
        NaN policy, as in :class:`~factor_models.MultiWindowRegression`: ``"raise"``:
        a NaN or infinite value is an error naming the argument, column and date;
        ``"drop"``: the dates on which any asset or factor return is missing are left
        out (one set of dates for every asset: the covariances need common dates), and
        the windows count the dates kept.
    frequency : Frequency or {"daily", "weekly", "monthly"}, optional
        Sampling of the returns: what one period of the risk models is (their
        ``frequency``). None: read from the dates of ``X`` (daily when they are not dates).
    validate_returns : bool, default True
        Refuse data of an implausible scale for simple returns (a move at or below -100%,
        or above +100% in a column that looks like percent or prices), warn of a rise
        above +100% in one period otherwise and above a daily volatility of 10%
        (:func:`factor_models.validation.check_returns`). Turn off only for inputs that
        are not simple returns.

    Attributes
    ----------
    loadings_ : DataFrame of shape (n_assets, n_factors)
        Betas of the first window listed.
    alpha_ : Series of shape (n_assets,)
        Intercepts (per period) of the first window.
    factor_covariance_ : DataFrame of shape (n_factors, n_factors)
    specific_variance_ : Series of shape (n_assets,)
    risk_model_ : RiskModel
        The model of the first window listed.
    risk_models_ : RiskModelSet
        One model per window, keyed by window length.
    n_features_in_ : int
    """

    _parameter_constraints: ClassVar[dict[str, list[Any] | str]] = {
        "covariance_estimator": [HasMethods(["fit"]), None],
        "windows": ["array-like", None],
        "specific_variance_floor": [Interval(Real, 0.0, None, closed="left")],
        "align": "no_validation",  # checked in fit, with MultiWindowRegression's message
        "validate_returns": ["boolean"],
        "missing": "no_validation",  # checked in fit, with the project's message
        "frequency": "no_validation",  # checked in fit: Frequency.parse
    }

    def __init__(
        self,
        *,
        covariance_estimator: Any = None,
        windows: Sequence[int] | None = None,
        specific_variance_floor: float = 0.0,
        align: AlignPolicy = "exact",
        validate_returns: bool = True,
        missing: MissingPolicy = "raise",
        frequency: Frequency | str | None = None,
    ) -> None:
        self.covariance_estimator = covariance_estimator
        self.windows = windows
        self.specific_variance_floor = specific_variance_floor
        self.align = align
        self.validate_returns = validate_returns
        self.missing = missing
        self.frequency = frequency

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    @_fit_context(prefer_skip_nested_validation=False)  # type: ignore[untyped-decorator]
    def fit(self, X: Any, y: Any) -> FactorModel:
        """Fit the model.

        Parameters
        ----------
        X : DataFrame of shape (n_observations, n_assets)
            Asset returns, indexed by date (unique and increasing: the last rows are
            the trailing windows).
        y : DataFrame of shape (n_observations, n_factors) or Series
            Factor returns on the same dates.

        Returns
        -------
        self
        """
        if y is None:
            raise EstimationDataError(
                "FactorModel requires y to be passed, but the target y is None: pass the "
                "factor returns (n_observations, n_factors) as y."
            )
        check_option(self.align, "align", ("exact", "inner"))
        if check_option(self.missing, "missing", MISSING) == "drop":
            X, y = drop_missing(X, y)
        X = _checked(X, "X", "x", returns=self.validate_returns)
        y = _checked(y, "y", "f", returns=self.validate_returns)
        if isinstance(X, pd.DataFrame) and isinstance(y, pd.DataFrame):
            X, y = join_dates(X, y, ("X", "y"), self.align)
        x, f = validate_data(self, X, y, multi_output=True, y_numeric=True)
        f = np.asarray(f, dtype=np.float64).reshape(x.shape[0], -1)
        assets = _labels(X, x.shape[1], "x")
        factors = _labels(y, f.shape[1], "f")
        dates = _dates(X) if _dates(X) is not None else _dates(y)
        frequency = resolve_frequency(self.frequency, dates, "X")
        estimator = (
            EmpiricalCovariance()
            if self.covariance_estimator is None
            else (self.covariance_estimator)
        )
        models: dict[int, RiskModel] = {}
        alphas: dict[int, pd.Series] = {}
        for window in _window_list(self.windows, x.shape[0]):
            _need(x.shape[0], window, "X")
            xw, fw = x[-window:], f[-window:]
            design = np.column_stack([np.ones(window), fw])
            if window <= design.shape[1]:
                raise InsufficientDataError(
                    f"Window {window} has {window} sample(s) for {design.shape[1]} "
                    f"coefficients; it needs at least {design.shape[1] + 1}."
                )
            try:
                _check_design(design, list(factors), f"in window {window}")
            except CollinearityError as exc:
                exc.add_note(f"raised while fitting {self!r}")
                raise
            coef, *_ = np.linalg.lstsq(design, xw, rcond=None)
            resid = xw - design @ coef
            spec = np.maximum((resid * resid).mean(axis=0), float(self.specific_variance_floor))
            cov = clone(estimator).fit(fw).covariance_
            models[window] = RiskModel(
                loadings=pd.DataFrame(coef[1:].T, index=assets, columns=factors),
                factor_cov=pd.DataFrame(0.5 * (cov + cov.T), index=factors, columns=factors),
                specific_var=pd.Series(spec, index=assets),
                window=window,
                asof=dates[-1] if dates is not None else None,
                frequency=frequency,
            )
            alphas[window] = pd.Series(coef[0], index=assets, name="alpha")
        first = next(iter(models))
        self.risk_models_ = RiskModelSet(models)
        self.risk_model_ = models[first]
        self.loadings_ = self.risk_model_.loadings
        self.alpha_ = alphas[first]
        self.factor_covariance_ = self.risk_model_.factor_cov
        self.specific_variance_ = self.risk_model_.specific_var
        return self


class StatisticalFactorModel(BaseEstimator):  # type: ignore[misc]
    """Statistical risk model: principal components of the returns as factors.

    Parameters
    ----------
    n_components : int or float, optional
        An int k keeps k components; a float in (0, 1) keeps the fewest components that
        explain that fraction of variance (scikit-learn's ``PCA`` semantics). All
        components if omitted.
    windows : sequence of int, optional
        Trailing windows, one risk model each; all rows if omitted.
    specific_variance_floor : float, default 0.0
        Lower bound on each asset's specific variance (per period).
    validate_returns : bool, default True
        As in :class:`FactorModel`.
    missing : {"raise", "drop"}, default "raise"
        As in :class:`FactorModel`: ``"drop"`` leaves out the dates on which any asset
        return is missing.
    frequency : Frequency or {"daily", "weekly", "monthly"}, optional
        As in :class:`FactorModel` (None: read from the dates of ``X``).

    Attributes
    ----------
    loadings_ : DataFrame of shape (n_assets, n_components)
        Principal axes, columns ``PC1 ... PCk``.
    factor_covariance_ : DataFrame of shape (n_components, n_components)
        Diagonal: variance of each component (``ddof=0``).
    specific_variance_ : Series of shape (n_assets,)
        Sample variance not explained by the kept components, floored.
    explained_variance_ratio_ : Series of shape (n_components,)
    factor_returns_ : DataFrame of shape (window, n_components)
        Component scores over the first window.
    risk_model_, risk_models_ : RiskModel, RiskModelSet
    n_features_in_ : int
    """

    _parameter_constraints: ClassVar[dict[str, list[Any] | str]] = {
        "n_components": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0.0, 1.0, closed="neither"),
            None,
        ],
        "windows": ["array-like", None],
        "specific_variance_floor": [Interval(Real, 0.0, None, closed="left")],
        "validate_returns": ["boolean"],
        "missing": "no_validation",  # checked in fit, with the project's message
        "frequency": "no_validation",  # checked in fit: Frequency.parse
    }

    def __init__(
        self,
        *,
        n_components: int | float | None = None,
        windows: Sequence[int] | None = None,
        specific_variance_floor: float = 0.0,
        validate_returns: bool = True,
        missing: MissingPolicy = "raise",
        frequency: Frequency | str | None = None,
    ) -> None:
        self.n_components = n_components
        self.windows = windows
        self.specific_variance_floor = specific_variance_floor
        self.validate_returns = validate_returns
        self.missing = missing
        self.frequency = frequency

    @_fit_context(prefer_skip_nested_validation=True)  # type: ignore[untyped-decorator]
    def fit(self, X: Any, y: Any = None) -> StatisticalFactorModel:
        """Fit the model on asset returns ``X`` (n_observations, n_assets); return self."""
        if check_option(self.missing, "missing", MISSING) == "drop":
            (X,) = drop_missing(X)
        X = _checked(X, "X", "x", returns=self.validate_returns)
        x = validate_data(self, X, ensure_min_samples=2)
        assets = _labels(X, x.shape[1], "x")
        dates = _dates(X)
        frequency = resolve_frequency(self.frequency, dates, "X")
        models: dict[int, RiskModel] = {}
        first_scores: pd.DataFrame | None = None
        first_ratio: pd.Series | None = None
        for window in _window_list(self.windows, x.shape[0]):
            _need(x.shape[0], window, "X")
            xw = x[-window:]
            k = self.n_components
            if isinstance(k, Integral) and k > min(xw.shape):
                raise EstimationDataError(
                    f"The 'n_components' parameter ({k}) exceeds min(n_samples, n_assets) = "
                    f"{min(xw.shape)} in window {window}."
                )
            if not np.any(xw.var(axis=0) > 0):
                raise EstimationDataError(
                    f"The 'X' argument does not vary in window {window} (every column is "
                    "constant): principal components are undefined."
                )
            pca = PCA(n_components=k, svd_solver="full").fit(xw)
            names = pd.Index([f"PC{i + 1}" for i in range(pca.n_components_)])
            loadings = pca.components_.T
            fvar = pca.explained_variance_ * (window - 1) / window  # ddof=0
            total = xw.var(axis=0)  # ddof=0
            explained = (loadings**2) @ fvar
            spec = np.maximum(total - explained, float(self.specific_variance_floor))
            models[window] = RiskModel(
                loadings=pd.DataFrame(loadings, index=assets, columns=names),
                factor_cov=pd.DataFrame(np.diag(fvar), index=names, columns=names),
                specific_var=pd.Series(spec, index=assets),
                window=window,
                asof=dates[-1] if dates is not None else None,
                frequency=frequency,
            )
            if first_scores is None:
                idx = dates[-window:] if dates is not None else None
                first_scores = pd.DataFrame(pca.transform(xw), index=idx, columns=names)
                first_ratio = pd.Series(pca.explained_variance_ratio_, index=names)
        self.risk_models_ = RiskModelSet(models)
        self.risk_model_ = next(iter(models.values()))
        self.loadings_ = self.risk_model_.loadings
        self.factor_covariance_ = self.risk_model_.factor_cov
        self.specific_variance_ = self.risk_model_.specific_var
        self.factor_returns_ = first_scores
        self.explained_variance_ratio_ = first_ratio
        return self

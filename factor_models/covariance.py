r"""Covariance estimators beyond scikit-learn's: exponentially weighted (EWMA).

Follows the scikit-learn covariance API (``fit(X)`` sets ``covariance_`` and
``location_``), so it plugs into :class:`factor_models.FactorModel` like
``EmpiricalCovariance``, ``LedoitWolf`` or ``OAS``.
"""

from __future__ import annotations

from numbers import Real
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import validate_data

from factor_models.errors import EstimationDataError
from factor_models.validation import MISSING, check_dates, check_option, drop_missing

__all__ = ["EWMACovariance"]


class EWMACovariance(BaseEstimator):  # type: ignore[misc]
    r"""Exponentially weighted covariance with a half-life, at the last observation.

    .. math::
        w_t = 2^{-(T - t)/h}, \quad \tilde w_t = w_t / \textstyle\sum_s w_s, \quad
        \mu = \sum_t \tilde w_t x_t, \quad
        \Sigma = \sum_t \tilde w_t (x_t - \mu)(x_t - \mu)^\top

    (no bias correction, like ``EmpiricalCovariance``; pandas' ``ewm(...).cov(bias=True)``
    gives the same numbers).

    Parameters
    ----------
    halflife : float, default 63.0
        Half-life in observations (> 0).
    assume_centered : bool, default False
        Take the mean as zero (common for daily returns).
    missing : {"raise", "drop"}, default "raise"
        NaN policy, as in :class:`~factor_models.FactorModel`: ``"raise"``: a NaN or
        infinite value is an :class:`~factor_models.errors.EstimationDataError` naming
        ``X``, the column and the date; ``"drop"``: the rows holding one are left out
        and the half-life counts the rows kept.

    Attributes
    ----------
    covariance_ : ndarray of shape (n_features, n_features)
    location_ : ndarray of shape (n_features,)
    n_features_in_ : int
    """

    _parameter_constraints: ClassVar[dict[str, list[Any] | str]] = {
        "halflife": [Interval(Real, 0.0, None, closed="neither")],
        "assume_centered": ["boolean"],
        "missing": "no_validation",  # checked in fit, with the project's message
    }

    def __init__(
        self,
        *,
        halflife: float = 63.0,
        assume_centered: bool = False,
        missing: Literal["raise", "drop"] = "raise",
    ) -> None:
        self.halflife = halflife
        self.assume_centered = assume_centered
        self.missing = missing

    @_fit_context(prefer_skip_nested_validation=True)  # type: ignore[untyped-decorator]
    def fit(self, X: Any, y: Any = None) -> EWMACovariance:
        """Estimate the covariance of the rows of ``X``; return self.

        The last row is the most recent (weight 1); a DataFrame or Series must have
        unique, increasing dates (:func:`factor_models.validation.check_dates`).
        """
        if isinstance(X, pd.DataFrame | pd.Series):
            check_dates(X.index, "X")
        if check_option(self.missing, "missing", MISSING) == "drop":
            (X,) = drop_missing(X)
        else:
            _refuse_missing(X)
        x = validate_data(self, X, ensure_min_samples=2)
        n = x.shape[0]
        w = 0.5 ** (np.arange(n - 1, -1, -1, dtype=np.float64) / float(self.halflife))
        w /= w.sum()
        mu = np.zeros(x.shape[1]) if self.assume_centered else w @ x
        xc = x - mu
        self.location_ = mu
        self.covariance_ = (xc * w[:, None]).T @ xc
        return self


def _refuse_missing(X: Any) -> None:
    """Raise a typed error naming ``X``, the column and the date of the first gap."""
    if np.iscomplexobj(X):
        return  # scikit-learn's own message
    try:
        values = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        return  # not numbers: scikit-learn's own message
    values = values.reshape(len(values), -1) if values.ndim == 1 else values
    if values.ndim != 2:
        return
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    r, c = (int(i) for i in np.argwhere(bad)[0])
    if isinstance(X, pd.DataFrame):
        where = f"first in column {X.columns[c]!r} at {X.index[r]!r}"
    elif isinstance(X, pd.Series):
        where = f"first at {X.index[r]!r}"
    else:
        where = f"first at row {r}, column {c}"
    raise EstimationDataError(
        f"The 'X' argument of EWMACovariance has {int(bad.sum())} NaN or infinite "
        f"value(s), {where}. Drop or fill the gaps first, or pass missing='drop' to leave "
        "those rows out."
    )

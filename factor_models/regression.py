r"""Multi-window OLS regressions of return series on factor returns.

For each series :math:`y` and each trailing window of :math:`w` observations,

.. math:: y_t = \alpha + \sum_j \beta_j f_{j,t} + \varepsilon_t

is fitted by OLS with statsmodels, which also gives plain and HAC (Newey-West)
standard errors. Rolling estimates through time use cumulative sums of cross-products
(:func:`rolling_ols`), verified against statsmodels ``RollingOLS``. Coefficients are in
the units of the data: daily returns give a daily alpha.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from factor_models.errors import (
    CollinearityError,
    EstimationDataError,
    EstimationLabelsError,
    InsufficientDataError,
    SpecificationError,
)
from factor_models.validation import (
    AlignPolicy,
    as_frame,
    check_option,
    check_window,
    join_dates,
)
from factor_models.validation import format_labels as _labels

__all__ = ["MultiWindowRegression", "MultiWindowResults", "newey_west_lags", "rolling_ols"]

MissingPolicy = Literal["raise", "drop"]
_STATS = ("params", "bse", "bse_hac", "tvalues", "tvalues_hac")


def newey_west_lags(n_observations: int) -> int:
    r"""Return the Newey-West (1994) lag rule :math:`\lfloor 4 (n/100)^{2/9} \rfloor`."""
    growth: float = (n_observations / 100.0) ** (2.0 / 9.0)
    return math.floor(4.0 * growth)


def _check_constant(x: np.ndarray, factors: Sequence[str], where: str) -> None:
    """Raise CollinearityError when a factor (column 1 on) is constant."""
    flat = np.ptp(x[:, 1:], axis=0) == 0.0
    if flat.any():
        constant = [f for f, bad in zip(factors, flat, strict=True) if bad]
        raise CollinearityError(
            f"Factor(s) {_labels(constant)} are constant {where}, so their betas are not "
            "identified with an intercept; drop them or use a longer window."
        )


def repeated_coefficient_names(columns: pd.Index) -> list[str]:
    """Return the coefficient names that factors labelled ``columns`` would repeat, sorted.

    A regression names its intercept ``alpha`` and each factor by its label as text, so
    labels must stay distinct as text and none may be ``alpha``: a factor named so would
    share the intercept's column (its beta dropped with the intercept, or two columns of
    one name).
    """
    names = ["alpha", *[str(c) for c in columns]]
    return sorted({n for n in names if names.count(n) > 1})


def _coefficient_names(columns: pd.Index) -> list[str]:
    """Return ``alpha``, then each factor's label as text.

    Raises
    ------
    EstimationLabelsError
        Naming the repeated names (see :func:`repeated_coefficient_names`).
    """
    repeated = repeated_coefficient_names(columns)
    if repeated:
        raise EstimationLabelsError(
            f"The 'exog' argument's factor labels give the coefficient names {_labels(repeated)} "
            "more than once (the intercept is 'alpha'; each factor is named by its label as "
            "text): rename those factors."
        )
    return ["alpha", *[str(c) for c in columns]]


def _check_design(x: np.ndarray, factors: Sequence[str], where: str) -> None:
    """Raise CollinearityError when a factor is constant or the factors are dependent."""
    _check_constant(x, factors, where)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    tol = s[0] * max(x.shape) * np.finfo(np.float64).eps
    if s[-1] <= tol:
        null = np.abs(vt[-1])
        names = ["alpha", *factors]
        involved = [n for n, v in zip(names, null, strict=True) if v > 1e-6 * null.max()]
        raise CollinearityError(
            f"Factors {_labels(involved)} are linearly dependent {where} (smallest singular "
            f"value {s[-1]:.3g}); drop one of them."
        )


class MultiWindowRegression:
    """OLS of return series on factors over several trailing windows at once.

    Parameters
    ----------
    endog : Series or DataFrame of shape (n_observations, n_series)
        Returns to explain (a book, or each holding), indexed by date.
    exog : Series or DataFrame of shape (n_observations, n_factors)
        Factor returns (an index, ETFs, ...), indexed by date. An intercept (``alpha``)
        is always added.
    windows : sequence of int, default (63, 126, 252, 504)
        Trailing window lengths in observations, each ending at the last date.
    hac_maxlags : int, optional
        Lags of the Newey-West covariance; the Newey-West (1994) rule per window if
        omitted.
    missing : {"raise", "drop"}, default "raise"
        NaN policy. ``"raise"``: any NaN is an error naming the column and date.
        ``"drop"``: each series uses the dates on which it and every factor are finite,
        and its windows count those observations.
    align : {"exact", "inner"}, default "exact"
        Date policy. ``"exact"``: ``endog`` and ``exog`` must carry the same dates.
        ``"inner"``: use their common dates.
    validate_returns : bool, default True
        Refuse data of an implausible scale for simple returns and warn above a daily
        volatility of 10%, as every entry point that takes returns does
        (:func:`factor_models.validation.check_returns`). Turn off to regress series
        that are not returns (levels, spreads).

    Examples
    --------
    >>> res = MultiWindowRegression(stocks, market, windows=(63, 252)).fit()  # doctest: +SKIP
    >>> res.betas.loc[252]  # doctest: +SKIP
    """

    def __init__(
        self,
        endog: Any,
        exog: Any,
        *,
        windows: Sequence[int] = (63, 126, 252, 504),
        hac_maxlags: int | None = None,
        missing: MissingPolicy = "raise",
        align: AlignPolicy = "exact",
        validate_returns: bool = True,
    ) -> None:
        y = as_frame(endog, "endog", "y", returns=validate_returns)
        x = as_frame(exog, "exog", "f", returns=validate_returns)
        self.endog, self.exog = join_dates(y, x, ("endog", "exog"), align)
        _coefficient_names(self.exog.columns)
        if len(windows) == 0:
            raise SpecificationError("The 'windows' argument must hold at least one window.")
        self.windows = tuple(check_window(w) for w in windows)
        if len(set(self.windows)) != len(self.windows):
            raise SpecificationError(f"The 'windows' argument has duplicates: {self.windows!r}.")
        if hac_maxlags is not None and (
            isinstance(hac_maxlags, bool) or not isinstance(hac_maxlags, int) or hac_maxlags < 0
        ):
            raise SpecificationError(
                f"The 'hac_maxlags' argument must be an integer >= 0. Got {hac_maxlags!r}."
            )
        self.hac_maxlags = hac_maxlags
        self.missing = check_option(missing, "missing", ("raise", "drop"))
        if missing == "raise":
            for name, frame in (("endog", self.endog), ("exog", self.exog)):
                if frame.isna().any().any():
                    col = frame.columns[frame.isna().any()][0]
                    date = frame.index[frame[col].isna()][0]
                    raise EstimationDataError(
                        f"The '{name}' argument has NaN in column {col!r} (first at {date!r}). "
                        "Pass missing='drop' to use each series' complete observations."
                    )

    @property
    def factor_names(self) -> list[str]:
        """Factor labels, in the order of ``exog``."""
        return [str(c) for c in self.exog.columns]

    def _series_rows(self, series: Any) -> np.ndarray:
        valid = self.exog.notna().all(axis=1) & self.endog[series].notna()
        return np.flatnonzero(valid.to_numpy())

    def fit(self) -> MultiWindowResults:
        """Fit every series over every window; return labelled results.

        Raises
        ------
        InsufficientDataError
            When a series has fewer observations than a window needs, or a window has
            too few observations for the number of coefficients.
        CollinearityError
            When a factor is constant in a window or the factors are linearly dependent.
        """
        import statsmodels.api as sm

        n_coef = 1 + self.exog.shape[1]
        names = ["alpha", *self.factor_names]
        stats: dict[str, dict[tuple[int, Any], np.ndarray]] = {k: {} for k in _STATS}
        scalars: dict[str, dict[tuple[int, Any], Any]] = {
            k: {} for k in ("rsquared", "resid_vol", "nobs", "start", "end", "hac_lags")
        }
        exog_values = self.exog.to_numpy(dtype=np.float64)
        for series in self.endog.columns:
            rows = self._series_rows(series)
            y_all = self.endog[series].to_numpy(dtype=np.float64)
            for window in self.windows:
                if window <= n_coef:
                    raise InsufficientDataError(
                        f"Window {window} is too short for {n_coef} coefficients (alpha and "
                        f"{n_coef - 1} factor(s)); it needs at least {n_coef + 1} observations."
                    )
                if len(rows) < window:
                    raise InsufficientDataError(
                        f"Series {series!r} has {len(rows)} complete observations; window "
                        f"{window} needs {window}. Use a shorter window or more history."
                    )
                pos = rows[-window:]
                x = np.column_stack([np.ones(window), exog_values[pos]])
                y = y_all[pos]
                where = f"in window {window} of series {series!r}"
                # before the fit, at numpy's rank tolerance for the whole design
                # (s_max max(n, k) eps): statsmodels' own rank test uses k, not n, and
                # fitted nearly dependent factors (1e-14 apart) to betas of +-1e10
                _check_design(x, self.factor_names, where)
                lags = newey_west_lags(window) if self.hac_maxlags is None else self.hac_maxlags
                res = sm.OLS(y, x).fit()
                hac = res.get_robustcov_results(cov_type="HAC", maxlags=lags)
                dates = self.endog.index[pos]
                key = (window, series)
                stats["params"][key] = res.params
                stats["bse"][key] = res.bse
                stats["bse_hac"][key] = hac.bse
                stats["tvalues"][key] = res.tvalues
                stats["tvalues_hac"][key] = hac.tvalues
                scalars["rsquared"][key] = res.rsquared
                scalars["resid_vol"][key] = math.sqrt(res.scale)
                scalars["nobs"][key] = int(res.nobs)
                scalars["start"][key] = dates[0]
                scalars["end"][key] = dates[-1]
                scalars["hac_lags"][key] = lags
        index = pd.MultiIndex.from_tuples(
            list(itertools.product(self.windows, self.endog.columns)), names=["window", "series"]
        )
        tables = {
            k: pd.DataFrame([v[i] for i in index], index=index, columns=names)
            for k, v in stats.items()
        }
        per_fit = pd.DataFrame({k: [v[i] for i in index] for k, v in scalars.items()}, index=index)
        return MultiWindowResults(tables, per_fit)

    def rolling(self, window: int) -> pd.DataFrame:
        """Estimate rolling OLS coefficients of every series (see :func:`rolling_ols`)."""
        return rolling_ols(self.endog, self.exog, window)


class MultiWindowResults:
    """Labelled results of :class:`MultiWindowRegression`.

    Coefficient tables (``params``, ``bse``, ``bse_hac``, ``tvalues``, ``tvalues_hac``)
    are DataFrames indexed by (window, series) with columns ``alpha`` and one per
    factor. Per-fit statistics (``rsquared``, ``resid_vol``, ``nobs``) are DataFrames
    indexed by window with one column per series.
    """

    def __init__(self, tables: dict[str, pd.DataFrame], per_fit: pd.DataFrame) -> None:
        self._tables = tables
        self._per_fit = per_fit

    def _table(self, key: str) -> pd.DataFrame:
        return self._tables[key].copy()

    def _unstack(self, key: str) -> pd.DataFrame:
        return self._per_fit[key].unstack("series")

    params = property(functools.partial(_table, key="params"), doc="Alpha and betas.")
    bse = property(functools.partial(_table, key="bse"), doc="Plain OLS standard errors.")
    bse_hac = property(
        functools.partial(_table, key="bse_hac"), doc="Newey-West (HAC) standard errors."
    )
    tvalues = property(functools.partial(_table, key="tvalues"), doc="Plain t-statistics.")
    tvalues_hac = property(functools.partial(_table, key="tvalues_hac"), doc="HAC t-statistics.")
    rsquared = property(functools.partial(_unstack, key="rsquared"), doc="R squared.")
    resid_vol = property(
        functools.partial(_unstack, key="resid_vol"),
        doc="Residual standard deviation (per observation).",
    )
    nobs = property(functools.partial(_unstack, key="nobs"), doc="Observations used.")

    @property
    def windows(self) -> list[int]:
        """Window lengths fitted, in the order given."""
        return list(self._tables["params"].index.unique("window"))

    @property
    def betas(self) -> pd.DataFrame:
        """Factor loadings: ``params`` without the intercept."""
        return self._tables["params"].drop(columns="alpha")

    @property
    def alpha(self) -> pd.DataFrame:
        """Intercepts by window (rows) and series (columns), per observation."""
        return self._tables["params"]["alpha"].unstack("series")

    @property
    def dates(self) -> pd.DataFrame:
        """First and last date (row label) of each fit, indexed by (window, series)."""
        return self._per_fit[["start", "end", "nobs", "hac_lags"]].copy()

    def stability(self, z_threshold: float = 1.96) -> pd.DataFrame:
        r"""Dispersion of each beta across windows, and a flag when windows disagree.

        For every pair of windows the disagreement is
        :math:`z = |b_i - b_j| / \sqrt{s_i^2 + s_j^2}` with HAC standard errors. Trailing
        windows are nested, so their estimates are positively correlated and the true
        standard error of the difference is smaller than this denominator: the flag is
        conservative (it understates instability).

        Returns
        -------
        DataFrame indexed by (series, factor)
            One column per window with the beta, then ``mean``, ``std`` (dispersion
            across windows, ddof=0), ``range``, ``max_z`` and ``unstable``
            (``max_z > z_threshold``).
        """
        betas = _by_window(self.betas)
        se = _by_window(self._tables["bse_hac"].drop(columns="alpha"))
        betas.index.names = ["series", "factor"]
        se.index.names = ["series", "factor"]
        values = betas.to_numpy()
        out = betas.copy()
        out["mean"] = values.mean(axis=1)
        out["std"] = values.std(axis=1, ddof=0)
        out["range"] = values.max(axis=1) - values.min(axis=1)
        se_values = se.to_numpy()
        z = np.zeros(len(betas))
        for a, b in itertools.combinations(range(values.shape[1]), 2):
            gap = np.abs(values[:, a] - values[:, b])
            z = np.maximum(z, gap / np.sqrt(se_values[:, a] ** 2 + se_values[:, b] ** 2))
        out["max_z"] = z
        out["unstable"] = z > z_threshold
        return out

    def summary(self) -> pd.DataFrame:
        """One row per (window, series): betas, HAC t-stats, alpha, R2, residual vol, nobs."""
        t = self._tables["tvalues_hac"].add_prefix("t_hac_")
        extra = self._per_fit[["rsquared", "resid_vol", "nobs"]]
        return pd.concat([self._tables["params"], t, extra], axis=1)


def _by_window(table: pd.DataFrame) -> pd.DataFrame:
    """Reshape a (window, series) x factor table to (series, factor) x window."""
    long = table.stack()
    return pd.DataFrame(long.unstack("window"))


def _window_sums(cumulative: np.ndarray, w: int) -> np.ndarray:
    """Return sums over trailing windows of ``w`` from cumulative sums (last axis)."""
    out = cumulative[..., w - 1 :].copy()
    out[..., 1:] -= cumulative[..., :-w]
    return out


def rolling_ols(
    endog: Any, exog: Any, window: int, *, validate_returns: bool = True
) -> pd.DataFrame:
    r"""Estimate rolling OLS coefficients by cumulative sums of cross-products.

    For each date :math:`t` with a full window, solve
    :math:`(X_w^\top X_w)\,b = X_w^\top y_w` with the window sums obtained as
    differences of cumulative sums. Data are centred by their full-sample means first,
    which keeps the sums small and the differences accurate; the slopes are solved on
    sums centred within each window (Frisch-Waugh), one k x k inverse per date shared
    by every series, and the intercept restored afterwards. Agrees with statsmodels
    ``RollingOLS`` to about 1e-12.

    Parameters
    ----------
    endog : Series or DataFrame of shape (n_observations, n_series)
    exog : Series or DataFrame of shape (n_observations, n_factors)
        Same dates as ``endog``; no NaN (drop incomplete rows first).
    window : int
        Observations per window (more than the number of coefficients).
    validate_returns : bool, default True
        As in :class:`MultiWindowRegression`.

    Returns
    -------
    DataFrame of shape (n_observations - window + 1, n_series * (1 + n_factors))
        Indexed by each window's last date; columns a MultiIndex (series, coefficient)
        with coefficients ``alpha`` and the factor names.
    """
    y = as_frame(endog, "endog", "y", returns=validate_returns)
    x = as_frame(exog, "exog", "f", returns=validate_returns)
    names = _coefficient_names(x.columns)
    y, x = join_dates(y, x, ("endog", "exog"), "exact")
    for name, frame in (("endog", y), ("exog", x)):
        if frame.isna().any().any():
            raise EstimationDataError(
                f"The '{name}' argument has NaN; rolling_ols needs complete rows "
                "(drop incomplete dates first)."
            )
    w = check_window(window, "window")
    n, k = x.shape
    p = k + 1
    if w <= p:
        raise InsufficientDataError(
            f"Window {w} is too short for {p} coefficients; it needs at least {p + 1}."
        )
    if n < w:
        raise InsufficientDataError(f"rolling_ols has {n} observations; window {w} needs {w}.")
    xv = x.to_numpy()
    yv = y.to_numpy()
    x_mean, y_mean = xv.mean(axis=0), yv.mean(axis=0)
    # layout (..., time): every pass, cumsum included, runs over contiguous memory
    xt = np.vstack([np.ones(n), (xv - x_mean).T])  # (p, n); row 0 is the intercept
    yt = np.ascontiguousarray((yv - y_mean).T)  # (m, n)
    cxx = np.cumsum(xt[:, None, :] * xt[None, :, :], axis=-1)  # (p, p, n), shared
    cxy = xt[None, 1:, :] * yt[:, None, :]  # (m, k, n): sums of x_j y
    np.cumsum(cxy, axis=-1, out=cxy)
    cy = np.cumsum(yt, axis=-1)  # (m, n): sums of y
    sxx = _window_sums(cxx, w)  # (p, p, t)
    sxy = _window_sums(cxy, w)  # (m, k, t)
    sy = _window_sums(cy, w)  # (m, t)
    # Frisch-Waugh: slopes from sums centred within each window, then the intercept
    sx = sxx[0, 1:]  # (k, t)
    cov_xx = sxx[1:, 1:] - sx[:, None, :] * sx[None, :, :] / w  # (k, k, t)
    for j in range(k):
        sxy[:, j] -= sx[j] * sy / w  # centred cross products, in place
    xx = np.moveaxis(cov_xx, -1, 0)  # (t, k, k)
    # a window's variance from differences of cumulative sums can round below zero
    # (a factor constant in that window): it is zero, and flagged as flat below
    scale = np.sqrt(np.maximum(np.einsum("tii->ti", xx), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        sign, logdet = np.linalg.slogdet(xx / (scale[:, :, None] * scale[:, None, :]))
    # a factor whose window variance is round-off next to its full-sample variance is
    # constant in that window
    flat_factor = (scale**2 <= 1e-10 * w * np.maximum(xv.var(axis=0), 1e-300)).any(axis=1)
    singular = flat_factor | (sign <= 0) | (logdet < np.log(1e-10))
    if singular.any():
        i = int(np.flatnonzero(singular)[0])
        raise CollinearityError(
            f"The factors are constant or linearly dependent in the window ending "
            f"{x.index[i + w - 1]!r}; drop the offending factor."
        )
    inv = np.ascontiguousarray(np.moveaxis(np.linalg.inv(xx), 0, -1))  # (k, k, t)
    coef = np.empty((yt.shape[0], p, sxx.shape[-1]))  # (m, p, t)
    for i in range(k):
        acc = coef[:, i + 1]
        np.multiply(inv[i, 0], sxy[:, 0], out=acc)
        for j in range(1, k):
            acc += inv[i, j] * sxy[:, j]
    # intercept of centred data, then undo the global centring
    coef[:, 0] = (sy - np.einsum("kt,mkt->mt", sx, coef[:, 1:])) / w
    coef[:, 0] += y_mean[:, None] - np.einsum("k,mkt->mt", x_mean, coef[:, 1:])
    m = yt.shape[0]
    columns = pd.MultiIndex(
        levels=[list(y.columns), names],
        codes=[np.repeat(np.arange(m), p).tolist(), np.tile(np.arange(p), m).tolist()],
        names=["series", "coef"],
        verify_integrity=False,
    )
    flat = coef.reshape(-1, coef.shape[-1]).T  # (t, m * p), a view
    return pd.DataFrame(flat, index=y.index[w - 1 :], columns=columns, copy=False)

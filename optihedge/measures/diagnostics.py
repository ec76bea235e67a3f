r"""Hedge-quality diagnostics: how well a candidate hedge tracks the book.

For a book's returns :math:`r_b` and a candidate hedge (one instrument or a basket)
with returns :math:`r_h`, per trailing window: the OLS beta(s), the correlation
(multiple correlation for a basket), the hedge effectiveness (in-sample variance
reduction of the minimum-variance hedge, equal to :math:`R^2`), and the tracking error
of the hedged book (annualised residual volatility). In named stress windows the
hedge sized *before* the stress (on the trailing ``estimation_window`` observations)
is applied out of sample: does it work when it is needed?
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from optihedge._validation import check_dates, check_scalar, format_labels
from optihedge.calendar import Frequency, annualisation
from optihedge.datasets import STRESS_WINDOWS
from optihedge.errors import DataError

__all__ = ["STRESS_WINDOWS", "HedgeQuality", "beta_drift_band", "hedge_quality"]


@dataclass(frozen=True)
class HedgeQuality:
    """Diagnostics of candidate hedges for one book.

    Attributes
    ----------
    windows : DataFrame indexed by (candidate, window)
        ``correlation``, ``effectiveness`` (R2), ``tracking_error`` and ``book_vol``
        (both annualised), ``nobs``.
    betas : DataFrame indexed by (candidate, window), one column per hedge component
        Units of book return per unit of hedge return (NaN where a component is not part
        of that candidate).
    stress : DataFrame indexed by (candidate, stress window)
        ``covered`` (data for the window and for the estimation before it),
        ``beta_before`` (sum of betas for a basket), ``beta_during``, ``book_return``,
        ``hedged_return`` (compounded, hedge held at ``beta_before``), ``effectiveness``
        (realised variance reduction in the window).
    """

    windows: pd.DataFrame
    betas: pd.DataFrame
    stress: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """One row per candidate: correlation by window and realised stress effectiveness."""
        corr = self.windows["correlation"].unstack("window").add_prefix("corr_")
        eff = self.stress["effectiveness"].unstack("stress").add_prefix("stress_eff: ")
        return corr.join(eff)


def beta_drift_band(
    beta: float, variance_after: float, market_variance: float, tolerance: float = 0.10
) -> tuple[float, float]:
    r"""Return the band of the book's market beta inside which a hedge needs no rebalancing.

    A drift :math:`\delta` of the book's beta adds :math:`\delta^2 \sigma^2_m` to the
    hedged book's variance (the hedge is held, the book moves). The band is the drift
    that adds ``tolerance`` times the hedged variance, around the book's beta:

    .. math:: \delta = \sqrt{\tau \, \sigma^2_{\text{after}} / \sigma^2_m},
              \qquad [\beta - \delta, \beta + \delta].

    Parameters
    ----------
    beta : float
        The book's beta to the market (before the hedge): dimensionless, return of the
        book per unit return of the market.
    variance_after : float
        Variance of the hedged book's return over the horizon, in (fraction of
        capital) squared. A small negative value (rounding) is taken as 0.
    market_variance : float
        Variance of the market's return over the same horizon, in (simple return)
        squared; >= 0. With 0 (no market risk) the band is the point ``beta``.
    tolerance : float, default 0.10
        The relative rise of the hedged variance the band allows (0.10: 10%); > 0.

    Returns
    -------
    (low, high) : tuple of float
        The band's ends, in beta units (dimensionless).

    Raises
    ------
    SpecificationError
        A value that is not a finite number, a ``tolerance`` that is not positive, a
        negative ``market_variance``.
    """
    b = check_scalar(beta, "beta")
    v = check_scalar(variance_after, "variance_after")
    m = check_scalar(market_variance, "market_variance", lower=0.0)
    tau = check_scalar(tolerance, "tolerance", lower=0.0, lower_inclusive=False)
    drift = math.sqrt(tau * max(v, 0.0) / m) if m > 0 else 0.0
    return b - drift, b + drift


def _check_factor_names(frame: pd.DataFrame, name: str) -> None:
    """Refuse a candidate's columns that the regression could not tell from its intercept."""
    from factor_models.regression import repeated_coefficient_names  # heavy: on first use

    repeated = repeated_coefficient_names(frame.columns)
    if repeated:
        raise DataError(
            f"The 'candidates' entry {name!r} has columns named {format_labels(repeated)} more "
            "than once as text, or 'alpha' (the regression intercept's name): rename them."
        )


def _candidates(candidates: Any) -> dict[str, pd.DataFrame]:
    if isinstance(candidates, pd.DataFrame):
        check_dates(candidates.index, "candidates")
        out = {str(c): candidates[[c]] for c in candidates.columns}
        for name, value in out.items():
            _check_factor_names(value, name)
        return out
    if isinstance(candidates, Mapping):
        out = {}
        for name, value in candidates.items():
            if isinstance(value, pd.Series):
                value = value.to_frame(name=value.name if value.name is not None else name)
            if not isinstance(value, pd.DataFrame):
                raise DataError(
                    f"The 'candidates' entry {name!r} must be a Series or DataFrame of "
                    f"returns. Got {type(value).__name__} instead."
                )
            out[str(name)] = value
        for name, value in out.items():
            check_dates(value.index, f"candidates[{name!r}]")
            _check_factor_names(value, name)
        return out
    raise DataError(
        "The 'candidates' argument must be a DataFrame (one candidate per column) or a "
        f"mapping of name to returns. Got {type(candidates).__name__} instead."
    )


def hedge_quality(
    book: pd.Series,
    candidates: Any,
    *,
    windows: tuple[int, ...] = (63, 126, 252, 504),
    stress_windows: Mapping[str, tuple[str, str]] | None = None,
    estimation_window: int = 252,
    periods_per_year: float | Frequency | str | None = None,
) -> HedgeQuality:
    """Diagnose candidate hedges of a book over trailing windows and stress windows.

    Parameters
    ----------
    book : Series of shape (n_observations,), DatetimeIndex
        The book's simple returns (daily, weekly or monthly).
    candidates : DataFrame or mapping of str to Series/DataFrame
        Candidate hedges' returns on the book's dates: each DataFrame column is one candidate; a
        mapping value that is a DataFrame is a basket regressed jointly.
    windows : tuple of int, default (63, 126, 252, 504)
        Trailing windows (observations) ending at each candidate's last common date.
    stress_windows : mapping of name to (start, end), optional
        Defaults to :data:`STRESS_WINDOWS`. Windows the data do not cover are reported
        with ``covered=False`` and NaN figures, never estimated from partial data.
    estimation_window : int, default 252
        Observations before a stress window used to size the hedge applied in it.
    periods_per_year : number, Frequency or str, optional
        Annualisation of volatilities: a number, a frequency or its name (``"weekly"``:
        52). None: from the book's dates (252 daily, 52 weekly, 12 monthly). Windows
        count observations of the data.

    Returns
    -------
    HedgeQuality
    """
    from factor_models import MultiWindowRegression

    if not isinstance(book, pd.Series):
        raise DataError(f"The 'book' argument must be a Series. Got {type(book).__name__}.")
    check_dates(book.index, "book")
    stress = STRESS_WINDOWS if stress_windows is None else dict(stress_windows)
    ppy = check_scalar(
        annualisation(periods_per_year, book.index),
        "periods_per_year",
        lower=0.0,
        lower_inclusive=False,
    )
    annual = np.sqrt(ppy)
    rows, beta_rows, stress_rows = {}, {}, {}
    for name, hedge in _candidates(candidates).items():
        overlap = book.index.intersection(hedge.dropna().index)
        if len(overlap) == 0:
            raise DataError(
                f"The 'book' and candidate {name!r} ({format_labels(hedge.columns)}) have no "
                "dates in common."
            )
        y = pd.Series(book.loc[overlap].to_numpy(dtype=np.float64), index=overlap, name="book")
        x = hedge.loc[overlap]
        res = MultiWindowRegression(y, x, windows=windows).fit()
        for window in windows:
            r2 = float(res.rsquared.loc[window, "book"])
            b = pd.Series(res.betas.loc[(window, "book")])
            sign = float(np.sign(b.to_numpy(dtype=np.float64)[0])) if len(b) == 1 else 1.0
            rows[(name, window)] = {
                "correlation": sign * np.sqrt(max(r2, 0.0)),
                "effectiveness": r2,
                "tracking_error": float(res.resid_vol.loc[window, "book"]) * annual,
                "book_vol": float(y.iloc[-window:].std()) * annual,
                "nobs": int(res.nobs.loc[window, "book"]),
            }
            beta_rows[(name, window)] = b
        for label, (start, end) in stress.items():
            stress_rows[(name, label)] = _stress_row(y, x, start, end, estimation_window)
    return HedgeQuality(
        _frame(rows, ["candidate", "window"]),
        _frame(beta_rows, ["candidate", "window"]),
        # its columns even without stress windows (summary() reads them)
        _frame(stress_rows, ["candidate", "stress"], _STRESS_COLUMNS),
    )


_STRESS_COLUMNS = (
    "covered",
    "beta_before",
    "beta_during",
    "book_return",
    "hedged_return",
    "effectiveness",
)


def _frame(
    rows: Mapping[tuple[str, Any], Any], names: list[str], columns: tuple[str, ...] | None = None
) -> pd.DataFrame:
    index = pd.MultiIndex.from_tuples(list(rows), names=names)
    return pd.DataFrame(
        [dict(v) for v in rows.values()],
        index=index,
        columns=None if columns is None else list(columns),
    )


def _stress_row(
    y: pd.Series, x: pd.DataFrame, start: str, end: str, estimation_window: int
) -> dict[str, Any]:
    nan = float("nan")
    during = y.loc[start:end].index
    before = y.loc[: pd.Timestamp(start) - pd.Timedelta(days=1)].index[-estimation_window:]
    covered = (
        len(during) > 2
        and len(before) == estimation_window
        and during[0] - pd.Timestamp(start) <= pd.Timedelta(days=7)
        and pd.Timestamp(end) - during[-1] <= pd.Timedelta(days=7)
    )
    if not covered:
        return {
            "covered": False,
            "beta_before": nan,
            "beta_during": nan,
            "book_return": nan,
            "hedged_return": nan,
            "effectiveness": nan,
        }
    b_before = _ols_slopes(y.loc[before], x.loc[before])
    b_during = _ols_slopes(y.loc[during], x.loc[during])
    book_r = y.loc[during].to_numpy()
    hedged = book_r - x.loc[during].to_numpy() @ b_before
    return {
        "covered": True,
        "beta_before": float(b_before.sum()),
        "beta_during": float(b_during.sum()),
        "book_return": float(np.prod(1.0 + book_r) - 1.0),
        "hedged_return": float(np.prod(1.0 + hedged) - 1.0),
        "effectiveness": float(1.0 - hedged.var() / book_r.var()),
    }


def _ols_slopes(y: pd.Series, x: pd.DataFrame) -> np.ndarray:
    design = np.column_stack([np.ones(len(x)), x.to_numpy()])
    coef, *_ = np.linalg.lstsq(design, y.to_numpy(), rcond=None)
    return np.asarray(coef[1:], dtype=np.float64)

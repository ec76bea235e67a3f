"""Risk measures: value at risk, expected shortfall, drawdown, horizon scaling.

Conventions: ``pnl`` holds gains (positive = profit); VaR and expected shortfall are
returned as *loss* numbers (positive = a loss), in the units of ``pnl``. ``alpha`` is
the confidence level in (0, 1), e.g. 0.95.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from factor_models.horizon import horizon_variance_factor
from optihedge._typing import FloatArray
from optihedge._validation import (
    as_float_array,
    as_sample,
    check_dates,
    check_int,
    check_probabilities,
    check_scalar,
)

__all__ = [
    "expected_shortfall",
    "max_drawdown",
    "parametric_es",
    "parametric_var",
    "scale_to_horizon",
    "value_at_risk",
]

_CUM_TOL = 1e-12


def _check_alpha(alpha: float) -> float:
    return check_scalar(
        alpha, "alpha", lower=0.0, upper=1.0, lower_inclusive=False, upper_inclusive=False
    )


def _sorted_losses(pnl: Any, probabilities: Any) -> tuple[FloatArray, FloatArray]:
    sample = as_sample(pnl, "pnl")
    losses = -sample.to_numpy()
    n = losses.shape[0]
    p = np.full(n, 1.0 / n) if probabilities is None else check_probabilities(probabilities, n)
    order = np.argsort(losses, kind="stable")
    return losses[order], p[order]


def _tail_index(cum: FloatArray, alpha: float) -> int:
    # first outcome whose cumulative probability reaches alpha (lower alpha-quantile)
    k = int(np.searchsorted(cum, alpha - _CUM_TOL, side="left"))
    return min(k, int(cum.shape[0]) - 1)


def value_at_risk(pnl: Any, alpha: float = 0.95, probabilities: Any = None) -> float:
    r"""Value at risk of a P&L distribution given by a sample or weighted outcomes.

    .. math:: \mathrm{VaR}_\alpha = \inf\{\ell : P(L \le \ell) \ge \alpha\}, \quad L = -\mathrm{pnl}

    Parameters
    ----------
    pnl : Series or array-like of shape (n_outcomes,)
        Gains per outcome (positive = profit).
    alpha : float, default 0.95
        Confidence level in (0, 1).
    probabilities : array-like of shape (n_outcomes,), optional
        Probability of each outcome (in [0, 1], summing to 1). Equal weights if omitted.

    Returns
    -------
    float
        The loss not exceeded with probability ``alpha`` (positive = a loss).
    """
    a = _check_alpha(alpha)
    losses, p = _sorted_losses(pnl, probabilities)
    return float(losses[_tail_index(np.cumsum(p), a)])


def expected_shortfall(pnl: Any, alpha: float = 0.95, probabilities: Any = None) -> float:
    r"""Compute expected shortfall: the mean loss over the worst ``1 - alpha`` of probability.

    When an outcome straddles the ``alpha`` quantile only the part of its mass inside
    the tail is counted (Acerbi and Tasche, 2002), so the measure is coherent and
    equals the Rockafellar-Uryasev CVaR:

    .. math::
        \mathrm{ES}_\alpha = \frac{1}{1-\alpha}\Big(E[L\,1\{L > v\}]
        + v\,(P(L \le v) - \alpha)\Big), \quad v = \mathrm{VaR}_\alpha

    Parameters
    ----------
    pnl : Series or array-like of shape (n_outcomes,)
        Gains per outcome (positive = profit).
    alpha : float, default 0.95
        Confidence level in (0, 1).
    probabilities : array-like of shape (n_outcomes,), optional
        Probability of each outcome (in [0, 1], summing to 1). Equal weights if omitted.

    Returns
    -------
    float
        The expected loss in the tail (positive = a loss); never below the VaR.
    """
    a = _check_alpha(alpha)
    losses, p = _sorted_losses(pnl, probabilities)
    cum = np.cumsum(p)
    k = _tail_index(cum, a)
    beyond = float(losses[k + 1 :] @ p[k + 1 :])
    boundary_mass = max(float(cum[k]) - a, 0.0)
    tail_mass = 1.0 - a
    es = (beyond + losses[k] * boundary_mass) / tail_mass
    # rounding in the mass bookkeeping must never push ES below VaR
    return float(max(es, losses[k]))


def parametric_var(mean: float, std: float, alpha: float = 0.95) -> float:
    r"""Return the VaR of normally distributed gains: :math:`-\mu + \sigma\,\Phi^{-1}(\alpha)`."""
    mu = check_scalar(mean, "mean")
    sigma = check_scalar(std, "std", lower=0.0)
    a = _check_alpha(alpha)
    return -mu + sigma * float(ndtri(a))


def parametric_es(mean: float, std: float, alpha: float = 0.95) -> float:
    r"""Return the expected shortfall of normal gains.

    .. math:: \mathrm{ES}_\alpha = -\mu + \sigma\,\varphi(\Phi^{-1}(\alpha)) / (1 - \alpha)
    """
    mu = check_scalar(mean, "mean")
    sigma = check_scalar(std, "std", lower=0.0)
    a = _check_alpha(alpha)
    z = float(ndtri(a))
    density = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return -mu + sigma * density / (1.0 - a)


def max_drawdown(returns: Any) -> float | pd.Series:
    r"""Largest peak-to-trough fall of wealth compounded from simple returns.

    .. math:: \mathrm{MDD} = \max_t \big(1 - W_t / \max_{s \le t} W_s\big),
              \quad W_t = \prod_{u \le t} (1 + r_u), \; W_0 = 1

    Parameters
    ----------
    returns : Series, array-like of shape (n_periods,), or DataFrame
        Simple returns (0.01 = 1%), each above -1. A DataFrame gives one drawdown per
        column (each column's own history; leading NaN before it starts are skipped).
        Oldest first: a Series or DataFrame must have unique, increasing dates.

    Returns
    -------
    float or Series
        The drawdown as a positive fraction of the peak (0.25 = a 25% fall).
    """
    if isinstance(returns, pd.Series | pd.DataFrame):
        check_dates(returns.index, "returns")
    if isinstance(returns, pd.DataFrame):
        return pd.Series(
            {
                col: max_drawdown(returns[col].loc[returns[col].first_valid_index() :])
                for col in returns.columns
            },
            name="max_drawdown",
        )
    r = as_sample(returns, "returns").to_numpy()
    as_float_array(r, "returns", lower=-1.0, lower_inclusive=False)
    wealth = np.concatenate(([1.0], np.cumprod(1.0 + r)))
    peaks = np.maximum.accumulate(wealth)
    return float(np.max(1.0 - wealth / peaks))


def scale_to_horizon(sigma: Any, days: int, autocorrelation: float = 0.0) -> Any:
    r"""Scale a one-period volatility to ``days`` periods, with AR(1) autocorrelation.

    For returns with first-order autocorrelation :math:`\rho` (autocorrelation at lag
    k equal to :math:`\rho^k`), the variance of the sum over h periods is

    .. math:: \sigma_h^2 = \sigma^2 \Big(h + 2 \sum_{k=1}^{h-1} (h-k)\,\rho^k\Big)

    which reduces to the square-root-of-time rule when :math:`\rho = 0` (Lo, 2002);
    see :func:`factor_models.horizon_variance_factor`.

    Parameters
    ----------
    sigma : float, array-like or Series
        One-period volatility (>= 0).
    days : int
        Horizon in periods (>= 1).
    autocorrelation : float, default 0.0
        First-order autocorrelation in (-1, 1).

    Returns
    -------
    float, ndarray or Series
        The horizon volatility, shaped and labelled like ``sigma``.
    """
    check_int(days, "days")
    rho = check_scalar(
        autocorrelation,
        "autocorrelation",
        lower=-1.0,
        upper=1.0,
        lower_inclusive=False,
        upper_inclusive=False,
    )
    factor = math.sqrt(horizon_variance_factor(int(days), rho))
    if isinstance(sigma, pd.Series):
        values = as_float_array(sigma.to_numpy(), "sigma", lower=0.0)
        return pd.Series(values * factor, index=sigma.index, name=sigma.name)
    arr = as_float_array(sigma, "sigma", lower=0.0)
    return float(arr * factor) if arr.ndim == 0 else arr * factor

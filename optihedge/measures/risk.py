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
# tail_weights and tail_rows are this module's too (the one tail rule), public through
# optihedge.measures.contributions; optihedge.risk keeps the measures only

_CUM_TOL = 1e-12


def _check_alpha(alpha: float) -> float:
    return check_scalar(
        alpha, "alpha", lower=0.0, upper=1.0, lower_inclusive=False, upper_inclusive=False
    )


def _losses(pnl: Any, probabilities: Any) -> tuple[FloatArray, FloatArray]:
    sample = as_sample(pnl, "pnl")
    losses = -sample.to_numpy()
    n = losses.shape[0]
    p = np.full(n, 1.0 / n) if probabilities is None else check_probabilities(probabilities, n)
    return np.asarray(losses, dtype=np.float64), p


def _sorted_losses(pnl: Any, probabilities: Any) -> tuple[FloatArray, FloatArray]:
    losses, p = _losses(pnl, probabilities)
    order = np.argsort(losses, kind="stable")
    return losses[order], p[order]


def _tail_index(p: FloatArray, tail: float) -> tuple[int, float]:
    """Return the VaR's index in loss order and the tail mass it carries.

    The first outcome whose cumulative probability reaches ``alpha = 1 - tail`` (the
    lower ``alpha``-quantile), and ``P(L <= v) - alpha``; ``tail`` is given, not
    ``alpha``, so that a tail rescaled to a subset of outcomes keeps its digits. Both are
    read from the mass *above* each outcome, summed from the largest loss down: near the
    tail those sums are small, so their rounding is relative to the tail (a running sum
    from the smallest loss up carries the rounding of the whole mass: 5e-10 of the ES at
    a million equally likely outcomes and alpha 0.99, and sometimes the wrong order
    statistic).
    """
    above = np.cumsum(p[::-1])[::-1]  # above[j]: the mass of outcomes j..n-1
    after = np.append(above[1:], 0.0)  # the mass strictly beyond outcome j
    # cumulative probability at j is 1 - after[j]: it reaches alpha when after[j] <= tail
    k = min(int(np.count_nonzero(after > tail + _CUM_TOL)), len(p) - 1)
    return k, max(tail - float(after[k]), 0.0)


def tail_rows(
    losses: FloatArray,
    p: FloatArray | None,
    alpha: float,
    *,
    hint: float | None = None,
) -> tuple[np.ndarray, FloatArray, float]:
    r"""Expected-shortfall tail weights: the one home of the rule, in sparse form.

    The weights :math:`\omega_s` of the Acerbi-Tasche estimator, ``ES = omega @ losses``:
    with :math:`v` the VaR (the lower ``alpha``-quantile of the losses, the first
    scenario in loss order whose cumulative probability reaches ``alpha``),

    - a scenario with :math:`L_s > v` weighs :math:`p_s / (1-\alpha)`;
    - a scenario with :math:`L_s < v` weighs 0;
    - the scenarios tied at :math:`L_s = v` share the tail's remaining mass
      :math:`(1-\alpha) - P(L > v)` in proportion to their probabilities.

    So :math:`0 \le \omega_s \le p_s / (1-\alpha)` and :math:`\sum_s \omega_s = 1` (to
    rounding). ``optihedge.risk.expected_shortfall``, the expected-shortfall
    contributions (through :func:`tail_weights`) and the cutting planes read their
    weights here. With equal probabilities and a ``hint`` the work is an O(n)
    selection; the weights are the same rule's to rounding (1/m with m = (1-alpha) n
    scenarios in the tail, a tie group sharing m less the number beyond it).

    Parameters
    ----------
    losses : ndarray of shape (n,)
        Loss per scenario (positive = a loss), in any unit.
    p : ndarray of shape (n,) or None
        Probabilities (summing to 1); None for equal probabilities ``1/n``, which needs
        no sort (an O(n) selection).
    alpha : float
        Confidence level in (0, 1).
    hint : float, optional
        With equal probabilities, a loss level the tail probably lies above (e.g. the
        last point's); only narrows the work, never the answer: too few scenarios above
        it and all are used. With unequal probabilities a candidate tail (the largest
        ``1.2 (1-alpha) n`` losses, doubled until it holds the tail) is sorted, not all.

    Returns
    -------
    rows, weights, var : ndarray of int, ndarray of float, float
        The scenarios with a non-zero weight (ascending, except that with equal
        probabilities the ones beyond the VaR come before the tied ones), their weights,
        and the VaR.
    """
    n = len(losses)
    tail = 1.0 - alpha
    if p is None:
        m = tail * n  # scenarios in the tail, fractional
        # the VaR is the k-th largest loss, k = floor(m) + 1 (the sort's lower quantile:
        # the first scenario whose cumulative probability reaches alpha, same tolerance)
        k = min(n, math.floor(m + _CUM_TOL * n) + 1)
        cand = None if hint is None else np.flatnonzero(losses >= hint)
        if cand is None or len(cand) < k:
            cand = np.arange(n)  # the hint was too high: every scenario
        sub = losses[cand]
        # the k-th largest loss; every loss at or above it is among the candidates
        var = float(np.partition(sub, len(sub) - k)[len(sub) - k])
        above = cand[sub > var]
        tied = cand[sub == var]
        # the tied scenarios share what the tail has left: m - (number above)
        share = max(m - len(above), 0.0) / len(tied)
        if share == 0.0:  # the tail is filled by the scenarios beyond the VaR
            return above, np.ones(len(above)) / m, var
        rows = np.concatenate([above, tied])
        w = np.concatenate([np.ones(len(above)), np.full(len(tied), share)]) / m
        return rows, w, var
    k = min(n, max(64, math.ceil(1.2 * tail * n) + 1))  # a candidate tail, grown if short
    while k < n:
        threshold = losses[np.argpartition(losses, n - k)[n - k]]
        cand = np.flatnonzero(losses >= threshold)  # ties at the threshold included
        mass = float(p[cand].sum())
        # the candidates must hold the tail strictly, so that the VaR lies inside them
        if mass > tail * (1.0 + 1e-9) + 1e-15:
            # the tail of the whole distribution is the tail of the candidates, rescaled
            wc, var = _sorted_tail(losses[cand], p[cand] / mass, tail / mass)
            keep = np.flatnonzero(wc)
            return cand[keep], wc[keep], var  # already the whole tail's weights p/(1-alpha)
        k *= 2
    weights, var = _sorted_tail(losses, p, tail)
    rows = np.flatnonzero(weights)
    return rows, weights[rows], var


def _sorted_tail(losses: FloatArray, p: FloatArray, tail: float) -> tuple[FloatArray, float]:
    """Weigh every scenario's tail share by one stable sort (see :func:`tail_rows`).

    ``tail`` is ``1 - alpha``, the tail's probability.
    """
    order = np.argsort(losses, kind="stable")
    k, boundary = _tail_index(p[order], tail)
    var = float(losses[order[k]])
    weights = np.zeros(len(losses))
    above = losses > var
    weights[above] = p[above]
    tied = losses == var
    # the tie group's tail mass: the boundary's share plus any tied scenarios beyond it
    mass = boundary + float(p[order[k + 1 :]][losses[order[k + 1 :]] == var].sum())
    tied_p = float(p[tied].sum())
    if tied_p > 0:
        weights[tied] = mass * p[tied] / tied_p
    return weights / tail, var


def tail_weights(losses: Any, p: Any, alpha: float) -> tuple[FloatArray, float]:
    r"""Tail weights :math:`\omega_s` of every scenario (``ES = omega @ losses``) and the VaR.

    The rule of :func:`tail_rows`, for every scenario, by one stable sort of them all
    (no shortcut: this is the reference the shortcuts of :func:`tail_rows` agree with).

    Parameters
    ----------
    losses : ndarray of shape (n,)
        Loss per scenario (positive = a loss).
    p : ndarray of shape (n,)
        Probabilities, summing to 1.
    alpha : float
        Confidence level in (0, 1).

    Returns
    -------
    weights, var : ndarray of shape (n,), float
        ``0 <= weights[s] <= p[s] / (1 - alpha)``, summing to 1; the VaR.

    Raises
    ------
    SpecificationError
        If ``alpha`` is not a finite number in (0, 1).
    """
    a = _check_alpha(alpha)
    as_array = np.asarray
    losses_, p_ = as_array(losses, dtype=np.float64), as_array(p, dtype=np.float64)
    return _sorted_tail(losses_, p_, 1.0 - a)


def value_at_risk(pnl: Any, alpha: float = 0.95, probabilities: Any = None) -> float:
    r"""Value at risk of a P&L distribution given by a sample or weighted outcomes.

    .. math:: \mathrm{VaR}_\alpha = \inf\{\ell : P(L \le \ell) \ge \alpha\}, \quad L = -\mathrm{pnl}

    A cumulative probability within ``1e-12`` of ``alpha`` counts as reaching it (sums of
    probabilities carry rounding): at 0.95, a loss with :math:`P(L \le \ell) = 0.95 -
    10^{-12}` is the VaR.

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
    return float(losses[_tail_index(p, 1.0 - a)[0]])


def expected_shortfall(pnl: Any, alpha: float = 0.95, probabilities: Any = None) -> float:
    r"""Compute expected shortfall: the mean loss over the worst ``1 - alpha`` of probability.

    When an outcome straddles the ``alpha`` quantile only the part of its mass inside
    the tail is counted (Acerbi and Tasche, 2002), so the measure is coherent and
    equals the Rockafellar-Uryasev CVaR:

    .. math::
        \mathrm{ES}_\alpha = \frac{1}{1-\alpha}\Big(E[L\,1\{L > v\}]
        + v\,(P(L \le v) - \alpha)\Big), \quad v = \mathrm{VaR}_\alpha

    with the VaR of :func:`value_at_risk` (the same ``1e-12`` tolerance on ``alpha``).

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
    losses, p = _losses(pnl, probabilities)
    weights, var = tail_weights(losses, p, a)
    es = float(weights @ losses)
    # rounding in the mass bookkeeping must never push ES below VaR
    return max(es, var)


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
    # horizon_variance_factor checks days (an integer >= 1) and the autocorrelation (in
    # (-1, 1)), naming each argument as this function does
    factor = math.sqrt(horizon_variance_factor(days, autocorrelation))
    if isinstance(sigma, pd.Series):
        values = as_float_array(sigma.to_numpy(), "sigma", lower=0.0)
        return pd.Series(values * factor, index=sigma.index, name=sigma.name)
    arr = as_float_array(sigma, "sigma", lower=0.0)
    return float(arr * factor) if arr.ndim == 0 else arr * factor

r"""Black-Scholes-Merton prices, Greeks and implied volatility for European options.

Units: ``S`` and ``K`` in currency, ``T`` in years, ``r`` (continuously compounded
risk-free rate), ``q`` (continuous dividend yield) and ``sigma`` as annual decimals.
Implausible inputs are refused with the fix (:class:`DataError`): ``T`` above 30 years
(63 looks like trading days), ``r`` or ``q`` outside [-0.2, 0.5] (4.0 looks like
percent). ``sigma`` has no upper bound here: scenario repricing reaches high
volatilities in crashes; the entry points that take a volatility from a user bound it.
Greeks are in textbook units (Hull): delta per 1 of ``S``, gamma per 1 of ``S``
squared, vega per 1.00 of volatility, theta per year, rho per 1.00 of rate.

All functions broadcast over numpy arrays. ``kind`` is ``"call"`` or ``"put"``.

.. math::
    d_1 = \frac{\ln(S/K) + (r - q + \sigma^2/2) T}{\sigma\sqrt T}, \quad
    d_2 = d_1 - \sigma\sqrt T

    c = S e^{-qT} N(d_1) - K e^{-rT} N(d_2), \quad
    p = K e^{-rT} N(-d_2) - S e^{-qT} N(-d_1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from optihedge._plausible import (
    DIVIDEND_YIELD_RANGE,
    RATE_RANGE,
    check_years_array,
    implausible_levels,
)
from optihedge._typing import FloatArray
from optihedge._validation import as_float_array, check_dates, check_returns, check_scalar
from optihedge.calendar import Frequency, annualisation
from optihedge.errors import ConvergenceError, DataError, SpecificationError

__all__ = [
    "IMPLIED_TO_REALISED_RATIO",
    "Greeks",
    "black_scholes",
    "ewma_volatility",
    "greeks",
    "implied_volatility",
    "volatility_proxy",
]

#: Ratio of implied to realised volatility used by :func:`volatility_proxy`. Measured on
#: the embedded data: the median of VIX / (EWMA realised volatility of the S&P 500,
#: half-life 21 days over the trailing 252 days, annualised), 2014-01 to 2018-12, is
#: 1.27 (interquartile range 1.09 to 1.48); the test suite recomputes it. Index options
#: are priced above realised volatility on average: the variance risk premium.
IMPLIED_TO_REALISED_RATIO = 1.27

_SQRT_2PI = float(np.sqrt(2.0 * np.pi))


def _kind_sign(kind: str) -> float:
    if kind == "call":
        return 1.0
    if kind == "put":
        return -1.0
    raise SpecificationError(f"The 'kind' argument must be 'call' or 'put'. Got {kind!r} instead.")


def _inputs(
    S: Any, K: Any, T: Any, r: Any, q: Any, sigma: Any | None, *, strict: bool
) -> tuple[FloatArray, ...]:
    pos = {"lower": 0.0, "lower_inclusive": False}
    nonneg = {"lower": 0.0, "lower_inclusive": True}
    s = as_float_array(S, "S", **pos)  # type: ignore[arg-type]
    k = as_float_array(K, "K", **pos)  # type: ignore[arg-type]
    t = as_float_array(T, "T", **(pos if strict else nonneg))  # type: ignore[arg-type]
    rr = as_float_array(r, "r")
    qq = as_float_array(q, "q")
    # plausibility (optihedge._plausible): 63 for T, 4.0 for r are typos, not prices
    check_years_array(t, "T")
    implausible_levels(rr, "r", RATE_RANGE, "annual rates, decimal", lower_open=False)
    implausible_levels(
        qq, "q", DIVIDEND_YIELD_RANGE, "annual dividend yields, decimal", lower_open=False
    )
    if sigma is None:
        return s, k, t, rr, qq
    v = as_float_array(sigma, "sigma", **(pos if strict else nonneg))  # type: ignore[arg-type]
    return s, k, t, rr, qq, v


def _d1_d2(
    s: FloatArray, k: FloatArray, t: FloatArray, r: FloatArray, q: FloatArray, v: FloatArray
) -> tuple[FloatArray, FloatArray]:
    vol_t = v * np.sqrt(t)
    d1 = (np.log(s / k) + (r - q + 0.5 * v * v) * t) / vol_t
    return d1, d1 - vol_t


def _out(x: FloatArray) -> Any:
    return float(x) if np.ndim(x) == 0 else x


def black_scholes(kind: str, S: Any, K: Any, T: Any, r: Any, sigma: Any, q: Any = 0.0) -> Any:
    """Black-Scholes-Merton price of a European call or put.

    Parameters
    ----------
    kind : {"call", "put"}
    S : float or array
        Spot price (> 0).
    K : float or array
        Strike (> 0).
    T : float or array
        Time to expiry in years (>= 0; at 0 the price is the intrinsic value).
    r : float or array
        Continuously compounded risk-free rate.
    sigma : float or array
        Volatility, annual (>= 0; at 0 the price is the discounted forward payoff).
    q : float or array, default 0.0
        Continuous dividend yield.

    Returns
    -------
    float or ndarray
        The option price in the currency of ``S``.

    Examples
    --------
    Hull's example: S=42, K=40, T=0.5, r=10%, sigma=20%:

    >>> round(black_scholes("call", 42, 40, 0.5, 0.1, 0.2), 2)
    4.76
    """
    sign = _kind_sign(kind)
    s, k, t, rr, qq, v = _inputs(S, K, T, r, q, sigma, strict=False)
    s, k, t, rr, qq, v = np.broadcast_arrays(s, k, t, rr, qq, v)
    fwd_s = s * np.exp(-qq * t)
    disc_k = k * np.exp(-rr * t)
    degenerate = (t == 0.0) | (v == 0.0)
    safe_t = np.where(degenerate, 1.0, t)
    safe_v = np.where(degenerate, 1.0, v)
    d1, d2 = _d1_d2(s, k, safe_t, rr, qq, safe_v)
    price = sign * (fwd_s * ndtr(sign * d1) - disc_k * ndtr(sign * d2))
    intrinsic = np.maximum(sign * (fwd_s - disc_k), 0.0)
    return _out(np.where(degenerate, intrinsic, price))


@dataclass(frozen=True)
class Greeks:
    """Black-Scholes-Merton sensitivities in textbook units (see the module docstring)."""

    delta: Any
    gamma: Any
    vega: Any
    theta: Any
    rho: Any

    def to_series(self) -> pd.Series:
        """Return the Greeks of a single option as a labelled Series."""
        return pd.Series(
            {
                "delta": self.delta,
                "gamma": self.gamma,
                "vega": self.vega,
                "theta": self.theta,
                "rho": self.rho,
            },
            name="greeks",
        )


def greeks(kind: str, S: Any, K: Any, T: Any, r: Any, sigma: Any, q: Any = 0.0) -> Greeks:
    r"""Delta, gamma, vega, theta and rho of a European option (Black-Scholes-Merton).

    .. math::
        \Delta_c = e^{-qT}N(d_1), \quad \Delta_p = e^{-qT}(N(d_1) - 1), \quad
        \Gamma = \frac{e^{-qT} N'(d_1)}{S \sigma \sqrt T}, \quad
        \mathcal V = S e^{-qT} N'(d_1)\sqrt T

        \Theta = -\frac{S e^{-qT} N'(d_1)\sigma}{2\sqrt T} \pm q S e^{-qT} N(\pm d_1)
                 \mp r K e^{-rT} N(\pm d_2), \quad
        \rho = \pm K T e^{-rT} N(\pm d_2)

    (upper signs for calls). At expiry (``T = 0``) or with no volatility (``sigma =
    0``) the Greeks are their limits: the option is worth its (discounted) intrinsic
    value, so delta is ``e^{-qT}`` or 0 by whether the forward is above or below the
    strike (half of it exactly at the strike, the limit of :math:`N(d_1)`), gamma and
    vega are 0 away from the strike (gamma is infinite at it), and theta and rho are
    those of the intrinsic value. This is what a delta-hedging table needs on its last
    row.

    Examples
    --------
    Hull's example: S=49, K=50, T=20 weeks, r=5%, sigma=20%:

    >>> g = greeks("call", 49, 50, 0.3846, 0.05, 0.2)
    >>> round(float(g.delta), 3), round(float(g.vega), 1)
    (0.522, 12.1)
    """
    sign = _kind_sign(kind)
    s, k, t, rr, qq, v = _inputs(S, K, T, r, q, sigma, strict=False)
    s, k, t, rr, qq, v = np.broadcast_arrays(s, k, t, rr, qq, v)
    degenerate = (t == 0.0) | (v == 0.0)
    d1, d2 = _d1_d2(s, k, np.where(degenerate, 1.0, t), rr, qq, np.where(degenerate, 1.0, v))
    # the limits: d1 = d2 = +-inf by the forward's side of the strike, 0 exactly at it
    side = np.sign(np.log(s / k) + (rr - qq) * t)
    limit = np.where(side > 0, np.inf, np.where(side < 0, -np.inf, 0.0))
    d1 = np.where(degenerate, limit, d1)
    d2 = np.where(degenerate, limit, d2)
    disc_q = np.exp(-qq * t)
    disc_r = np.exp(-rr * t)
    sqrt_t = np.sqrt(t)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # |d1| beyond ~1e154 (a volatility of 1e-250) squares to inf: the density is 0
        density = np.exp(-0.5 * d1 * d1) / _SQRT_2PI
        # at the strike with no time left: gamma is infinite and theta minus infinite
        scale = np.where(density > 0, density / (s * v * sqrt_t), 0.0)
        decay = np.where(density > 0, density * v / (2.0 * sqrt_t), 0.0)
        delta = disc_q * (ndtr(d1) - (sign < 0))
        gamma = disc_q * scale
        vega = s * disc_q * density * sqrt_t
        theta = (
            -s * disc_q * np.nan_to_num(decay, nan=0.0, posinf=np.inf)
            + sign * qq * s * disc_q * ndtr(sign * d1)
            - sign * rr * k * disc_r * ndtr(sign * d2)
        )
        rho = sign * k * t * disc_r * ndtr(sign * d2) + 0.0
    return Greeks(
        *(_out(np.asarray(x, dtype=np.float64)) for x in (delta, gamma, vega, theta, rho))
    )


def implied_volatility(
    price: Any,
    kind: str,
    S: Any,
    K: Any,
    T: Any,
    r: Any,
    q: Any = 0.0,
    *,
    tol: float = 1e-12,
    max_iter: int = 100,
) -> Any:
    """Volatility that makes the Black-Scholes-Merton price equal ``price``.

    Safeguarded Newton iteration on a bracket that always contains the root, so every
    element converges even deep in or out of the money.

    Raises
    ------
    DataError
        If a price lies outside the no-arbitrage bounds (no volatility reproduces it).
    ConvergenceError
        If the iteration has not met ``tol`` after ``max_iter`` steps.

    Examples
    --------
    Hull's example: a call at 1.875 with S=21, K=20, T=0.25, r=10%:

    >>> round(implied_volatility(1.875, "call", 21, 20, 0.25, 0.1), 3)
    0.235
    """
    sign = _kind_sign(kind)
    p = as_float_array(price, "price", lower=0.0)
    s, k, t, rr, qq = _inputs(S, K, T, r, q, None, strict=True)
    p, s, k, t, rr, qq = (
        np.array(x, dtype=np.float64) for x in np.broadcast_arrays(p, s, k, t, rr, qq)
    )
    fwd_s, disc_k = s * np.exp(-qq * t), k * np.exp(-rr * t)
    lower = np.maximum(sign * (fwd_s - disc_k), 0.0)
    upper = fwd_s if sign > 0 else disc_k
    bad = (p <= lower) | (p >= upper)
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        raise DataError(
            f"The 'price' argument must lie strictly between the no-arbitrage bounds "
            f"({lower.ravel()[i]:.6g}, {upper.ravel()[i]:.6g}) for a {kind}. "
            f"Got {float(p.ravel()[i])!r} at position {i} instead; no volatility reproduces it."
        )
    lo = np.full_like(p, 1e-9)
    hi = np.full_like(p, 10.0)
    vol = np.full_like(p, 0.3)
    for _ in range(max_iter):
        model = np.asarray(black_scholes(kind, s, k, t, rr, vol, qq))
        diff = model - p
        if np.all(np.abs(diff) <= tol * np.maximum(1.0, p)):
            return _out(vol)
        hi = np.where(diff > 0, vol, hi)
        lo = np.where(diff <= 0, vol, lo)
        d1, _d2 = _d1_d2(s, k, t, rr, qq, vol)
        vega = fwd_s * np.exp(-0.5 * d1 * d1) / _SQRT_2PI * np.sqrt(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = vol - diff / vega
        inside = np.isfinite(newton) & (newton > lo) & (newton < hi)
        vol = np.where(inside, newton, 0.5 * (lo + hi))
    raise ConvergenceError(
        f"implied_volatility did not converge to tol={tol} within max_iter={max_iter} "
        "iterations; raise max_iter or loosen tol."
    )


def ewma_volatility(
    returns: Any,
    halflife: float = 21.0,
    periods_per_year: float | Frequency | str | None = None,
) -> float:
    r"""Annualised exponentially weighted volatility of returns, at the last date.

    .. math:: \sigma^2 = \frac{\sum_t w_t r_t^2}{\sum_t w_t}, \quad
              w_t = 2^{-(T - t)/\text{halflife}}

    (zero-mean, as is usual for daily risk), times ``periods_per_year``: a number, a
    :class:`~optihedge.calendar.Frequency` or its name (``"weekly"``: 52), or None to
    read the frequency from the dates of ``returns`` (252 for daily or undated data, 52
    weekly, 12 monthly). ``halflife`` counts periods of the data. The last return is the
    most recent: a Series must have unique, increasing dates.
    """
    if isinstance(returns, pd.Series | pd.DataFrame):
        check_dates(returns.index, "returns")
    r = as_float_array(returns, "returns")
    if r.ndim != 1 or r.shape[0] < 2:
        raise DataError(
            f"The 'returns' argument must be a 1-D series of at least 2 returns. "
            f"Got shape {r.shape} instead."
        )
    check_returns(r, "returns", ["returns"])
    hl = check_scalar(halflife, "halflife", lower=0.0, lower_inclusive=False)
    ppy = check_scalar(
        annualisation(periods_per_year, returns),
        "periods_per_year",
        lower=0.0,
        lower_inclusive=False,
    )
    age = np.arange(r.shape[0] - 1, -1, -1, dtype=np.float64)
    w = 0.5 ** (age / hl)
    return float(np.sqrt(ppy * float(w @ (r * r)) / float(w.sum())))


def volatility_proxy(
    returns: Any,
    *,
    halflife: float = 21.0,
    ratio: float = IMPLIED_TO_REALISED_RATIO,
    periods_per_year: float | Frequency | str | None = None,
) -> float:
    """Implied-volatility proxy: EWMA realised volatility times an implied/realised ratio.

    No option prices are bundled, so options are priced on this proxy. The default
    ``ratio`` is :data:`IMPLIED_TO_REALISED_RATIO`, measured on the embedded data.
    ``periods_per_year`` as in :func:`ewma_volatility` (None: from the dates).
    """
    k = check_scalar(ratio, "ratio", lower=0.0, lower_inclusive=False)
    return k * ewma_volatility(returns, halflife, periods_per_year)

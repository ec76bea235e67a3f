"""Textbook hedge sizing rules: beta-adjusted notional, futures contracts, hedge ratios.

Signs: a positive notional or contract count is long, negative is short. Values are in
the book's base currency.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from optihedge._validation import align_labels, as_sample, check_dates, check_scalar
from optihedge.errors import DataError, SpecificationError

__all__ = [
    "beta_adjusted_notional",
    "futures_contracts",
    "kelly_fraction",
    "min_variance_hedge_ratio",
    "target_volatility_multiplier",
]


def beta_adjusted_notional(
    value: float, beta: float, fraction: float = 1.0, hedge_beta: float = 1.0
) -> float:
    r"""Notional of a benchmark hedge that offsets ``fraction`` of a book's beta exposure.

    .. math:: N = V \beta f / \beta_h

    Parameters
    ----------
    value : float
        Market value of the book, in the base currency (any sign: a short book gives a
        negative notional).
    beta : float
        The book's beta to the benchmark.
    fraction : float, default 1.0
        Fraction of the beta exposure to hedge, in [0, 1].
    hedge_beta : float, default 1.0
        Beta of the hedge instrument to the same benchmark; must not be zero.

    Returns
    -------
    float
        The hedge notional, a positive number to be *sold* when the book is long.

    Examples
    --------
    A 100,000 book with beta 1.25, half hedged:

    >>> beta_adjusted_notional(100_000, 1.25, 0.5)
    62500.0
    """
    v = check_scalar(value, "value")
    b = check_scalar(beta, "beta")
    f = check_scalar(fraction, "fraction", lower=0.0, upper=1.0)
    hb = check_scalar(hedge_beta, "hedge_beta")
    if hb == 0.0:
        raise SpecificationError(
            "The 'hedge_beta' argument must be non-zero: an instrument with zero beta "
            "cannot hedge beta. Got 0.0 instead."
        )
    return v * b * f / hb


def futures_contracts(
    value: float,
    beta: float,
    futures_price: float,
    multiplier: float,
    *,
    fraction: float = 1.0,
    target_beta: float | None = None,
    whole: bool = True,
) -> float | int:
    r"""Signed number of futures contracts that moves a book's beta to a target.

    .. math:: N = (\beta^* - \beta) \, V / (F \cdot m)

    with :math:`\beta^* = \beta (1 - f)` unless ``target_beta`` is given (Hull,
    *Options, Futures, and Other Derivatives*, "Changing the beta of a portfolio").

    Parameters
    ----------
    value : float
        Market value of the book in the base currency.
    beta : float
        The book's current beta to the futures' index.
    futures_price : float
        Futures price in index points (> 0).
    multiplier : float
        Currency per index point of one contract (> 0), e.g. 50 for E-mini S&P 500.
    fraction : float, default 1.0
        Fraction of the beta to remove, in [0, 1]. Ignored in favour of ``target_beta``
        when that is given (passing both with ``fraction != 1`` is an error).
    target_beta : float, optional
        The beta wanted after the trade.
    whole : bool, default True
        Round to the nearest whole contract (halves away from zero) and return an int.

    Returns
    -------
    int or float
        Contracts to trade: negative means sell.

    Examples
    --------
    Hull's example: a 5,050,000 book with beta 1.5, futures at 1,010, multiplier 250:

    >>> futures_contracts(5_050_000, 1.5, 1_010, 250)
    -30
    """
    v = check_scalar(value, "value")
    b = check_scalar(beta, "beta")
    price = check_scalar(futures_price, "futures_price", lower=0.0, lower_inclusive=False)
    mult = check_scalar(multiplier, "multiplier", lower=0.0, lower_inclusive=False)
    f = check_scalar(fraction, "fraction", lower=0.0, upper=1.0)
    if target_beta is None:
        target = b * (1.0 - f)
    else:
        if f != 1.0:
            raise SpecificationError(
                "Pass either 'fraction' or 'target_beta', not both: got fraction="
                f"{fraction!r} and target_beta={target_beta!r}. Use target_beta alone."
            )
        target = check_scalar(target_beta, "target_beta")
    contracts = (target - b) * v / (price * mult)
    if not whole:
        return contracts
    return int(math.copysign(math.floor(abs(contracts) + 0.5), contracts))


def min_variance_hedge_ratio(exposure_changes: Any, hedge_changes: Any) -> float:
    r"""Minimum-variance hedge ratio of an exposure hedged with one instrument.

    .. math:: h^* = \frac{\operatorname{cov}(\Delta S, \Delta F)}{\operatorname{var}(\Delta F)}
              = \rho \frac{\sigma_S}{\sigma_F}

    This is the OLS slope of ``exposure_changes`` on ``hedge_changes``; the hedge that
    minimises variance is to *sell* ``h*`` units of the instrument per unit of exposure.

    Parameters
    ----------
    exposure_changes, hedge_changes : Series or array-like of shape (n_observations,)
        Matching price changes or returns. Two Series must carry the same dates, unique
        and increasing (the rule of every time series); otherwise the lengths must match.

    Returns
    -------
    float
        The hedge ratio h*.

    Raises
    ------
    DataError
        On NaN or infinite values, dates out of order, fewer than two observations,
        mismatched lengths or a constant hedge series.
    MissingLabelsError
        When two Series carry different labels, or a date repeats.
    """
    for value, name in ((exposure_changes, "exposure_changes"), (hedge_changes, "hedge_changes")):
        if isinstance(value, pd.Series | pd.DataFrame):
            check_dates(value.index, name)
    s = as_sample(exposure_changes, "exposure_changes")
    f = as_sample(hedge_changes, "hedge_changes")
    labelled = isinstance(exposure_changes, pd.Series) and isinstance(hedge_changes, pd.Series)
    if labelled:
        order = align_labels(s, f, ("exposure_changes", "hedge_changes"))
        s, f = s.reindex(order), f.reindex(order)
    elif len(s) != len(f):
        raise DataError(
            f"The 'exposure_changes' ({len(s)} observations) and 'hedge_changes' "
            f"({len(f)} observations) arguments must have the same length."
        )
    if len(s) < 2:
        raise DataError(
            f"The 'hedge_changes' argument needs at least 2 observations. Got {len(s)}."
        )
    x = f.to_numpy() - f.to_numpy().mean()
    y = s.to_numpy() - s.to_numpy().mean()
    if np.ptp(f.to_numpy()) == 0.0:
        raise DataError(
            "The 'hedge_changes' argument is constant, so its variance is zero and no "
            "hedge ratio exists. Pass a series that moves."
        )
    return float(x @ y) / float(x @ x)


def target_volatility_multiplier(target_vol: float, estimated_vol: float) -> float:
    r"""Exposure multiplier that brings a book's volatility to a target.

    .. math:: m = \sigma^* / \hat\sigma

    Both volatilities must be stated over the same horizon (e.g. annualised).

    Examples
    --------
    >>> target_volatility_multiplier(0.15, 0.25)
    0.6
    """
    t = check_scalar(target_vol, "target_vol", lower=0.0)
    e = check_scalar(estimated_vol, "estimated_vol", lower=0.0, lower_inclusive=False)
    return t / e


def kelly_fraction(p: float, b: float) -> float:
    r"""Kelly criterion for a bet that pays ``b`` to 1 with win probability ``p``.

    .. math:: f^* = p - \frac{1 - p}{b}

    A negative value means the bet has negative edge and should not be taken (or
    taken the other way round where that is possible).

    Examples
    --------
    An even-money bet won 60% of the time:

    >>> round(kelly_fraction(0.6, 1.0), 12)
    0.2
    """
    prob = check_scalar(p, "p", lower=0.0, upper=1.0)
    odds = check_scalar(b, "b", lower=0.0, lower_inclusive=False)
    return prob - (1.0 - prob) / odds

r"""Scaling daily risk estimates to an h-day horizon.

For daily returns with first-order autocorrelation :math:`\rho` (lag-k autocorrelation
:math:`\rho^k`), the variance of the h-day sum is the daily variance times

.. math:: k(h, \rho) = h + 2 \sum_{j=1}^{h-1} (h - j)\,\rho^j

which is :math:`h` (square-root-of-time for volatility) when :math:`\rho = 0`
(Lo, 2002, "The Statistics of Sharpe Ratios").
"""

from __future__ import annotations

import numpy as np

from factor_models.validation import check_int, check_scalar

__all__ = ["horizon_variance_factor"]


def horizon_variance_factor(days: int, autocorrelation: float = 0.0) -> float:
    """Return the factor that turns a one-day variance into a ``days``-day variance.

    Parameters
    ----------
    days : int
        Horizon in trading days (>= 1).
    autocorrelation : float, default 0.0
        First-order autocorrelation of daily returns, in (-1, 1).

    Raises
    ------
    SpecificationError
        If ``days`` is not an integer >= 1 or ``autocorrelation`` is outside (-1, 1).
    """
    h = check_int(days, "days")
    rho = check_scalar(
        autocorrelation,
        "autocorrelation",
        lower=-1.0,
        upper=1.0,
        lower_inclusive=False,
        upper_inclusive=False,
    )
    lags = np.arange(1, h)
    return float(h + 2.0 * np.sum((h - lags) * rho**lags))

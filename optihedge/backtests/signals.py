"""The data's state series a hedge policy reads: one home for the engine and the command line.

- :func:`implied_volatility`: an underlying's implied volatility on a day: the VIX close /
  100 for ``"SP500"`` where the data have one, else the EWMA proxy of its returns
  (:func:`optihedge.pricing.volatility_proxy`, the last year of returns up to the day);
- :func:`realised_volatility`: the annualised volatility of a value path over its last
  21 returns, day by day.

The engine's ``vix`` signal is ``100 * implied_volatility("SP500", ...)`` (index points)
and its ``realised_vol`` the book's :func:`realised_volatility`; ``optihedge solve`` reads
the same numbers for the as-of date.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from optihedge.calendar import TRADING_DAYS, Frequency
from optihedge.pricing import volatility_proxy

__all__ = ["REALISED_WINDOW", "implied_volatility", "realised_volatility"]

#: Returns the realised volatility reads (a month of trading days).
REALISED_WINDOW = 21


def implied_volatility(
    underlying: str, returns: pd.Series, vix: float, frequency: Frequency
) -> float:
    """Return ``underlying``'s annual implied volatility on the last day of ``returns``.

    Parameters
    ----------
    underlying : str
    returns : Series
        The underlying's returns up to the day, most recent last (the last year is read).
    vix : float
        The VIX close that day, index points (NaN when the data have none).
    frequency : Frequency
        The data's, to annualise the proxy.

    Returns
    -------
    float
        Decimal (0.2 = 20%); 0.0 when there is neither a VIX close nor two returns.
    """
    if underlying == "SP500" and math.isfinite(vix) and vix > 0:
        return vix / 100.0
    r = returns.iloc[-TRADING_DAYS:].dropna()
    if len(r) < 2:
        return 0.0
    return volatility_proxy(r, periods_per_year=frequency)


def realised_volatility(values: np.ndarray, frequency: Frequency) -> np.ndarray:
    """Return, for each day, the annualised volatility of ``values``' last 21 returns.

    NaN until two returns are known, and everywhere when a value is not positive.
    """
    path = np.asarray(values, dtype=np.float64)
    if not np.all(path > 0):
        return np.full(len(path), math.nan)
    r = pd.Series(path).pct_change()
    vol = r.rolling(REALISED_WINDOW, min_periods=2).std()
    return np.asarray(vol.to_numpy() * math.sqrt(frequency.periods_per_year), dtype=np.float64)

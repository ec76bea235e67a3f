r"""How implied volatility moves in a scenario: a spot-volatility beta and a skew.

Options are revalued at the horizon at the scenario's volatility, which is not today's:
implied volatility rises in sell-offs and falls in rallies, and out-of-the-money puts
trade above at-the-money options. optihedge models both, simply and stated:

.. math::
    \sigma_s(K) = \max\Big(\sigma_0(K) + \Delta\sigma_s
        + \big[\kappa(K / S_s, \tau) - \kappa(K / S_0, T)\big],\ \sigma_{\min}\Big)

with :math:`\sigma_0(K)` the option's volatility today, :math:`S_0, S_s` the underlying
today and in scenario ``s``, :math:`T, \tau` the time to expiry today and at the horizon,
and

- the **level move** :math:`\Delta\sigma_s = \beta_h \ln(S_s / S_0)`: the spot-volatility
  beta :math:`\beta_h` of :data:`SPOT_VOL_BETA` for the scenario's horizon ``h``
  (interpolated in log-horizon), unless the scenarios carry their own move
  (``Scenarios.vol_moves``, a stress or shock with a stated volatility move);
- the **skew** :math:`\kappa(m, \tau) = \text{skew}\cdot\ln m\,\sqrt{0.25/\tau}`
  (volatility points per unit of log-moneyness, for a 3-month option; steeper for
  shorter expiries, :math:`\tau` floored at one week). Strikes keep their moneyness'
  volatility as the underlying moves (sticky moneyness).

Units: volatilities are annual decimals (0.2 = 20%); ``horizon`` in trading days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from optihedge._plausible import check_volatility
from optihedge._validation import check_int, check_scalar
from optihedge.calendar import TRADING_DAYS

__all__ = ["SKEW", "SPOT_VOL_BETA", "VolatilityModel", "spot_vol_beta"]

#: Spot-volatility beta by horizon (trading days): the OLS slope of the change in the
#: VIX (annual decimal) over ``h`` days on the S&P 500's log return over the same days,
#: overlapping windows, 2014-01 to 2018-12 of the embedded data (the test suite
#: recomputes it). A 10% fall of the index over 21 days comes with about +11 volatility
#: points. The slope flattens with the horizon as volatility mean-reverts.
SPOT_VOL_BETA: dict[int, float] = {1: -1.52, 5: -1.49, 21: -1.12, 63: -0.84}

#: Skew of a 3-month option: volatility points per unit of log-moneyness. At -0.30 a
#: 90% put trades about 3.2 points above the at-the-money option, typical of the S&P
#: 500. A convention, not a fit: the embedded data hold no option prices. Pass your
#: own ``VolatilityModel(skew=...)`` to match your desk's surface.
SKEW = -0.30

_MIN_EXPIRY_YEARS = 5.0 / TRADING_DAYS


def spot_vol_beta(horizon: int) -> float:
    """Spot-volatility beta for ``horizon`` trading days (log-horizon interpolation).

    Horizons outside the table take its nearest end.
    """
    h = check_int(horizon, "horizon", what=" (trading days)")
    days = np.array(sorted(SPOT_VOL_BETA), dtype=np.float64)
    betas = np.array([SPOT_VOL_BETA[int(d)] for d in days])
    return float(np.interp(math.log(h), np.log(days), betas))


@dataclass(frozen=True)
class VolatilityModel:
    """Implied volatility in a scenario: level moves with the market, a skew by moneyness.

    Parameters
    ----------
    beta : float, optional
        Spot-volatility beta (volatility points per unit of log return). ``None``: the
        measured :func:`spot_vol_beta` for the scenarios' horizon. ``0.0``: volatility
        does not move with the market.
    skew : float, default :data:`SKEW`
        Volatility points per unit of log-moneyness at 3 months (<= 0 for equity-like
        skew; 0 for a flat surface).
    floor : float, default 0.01
        Lowest volatility a scenario can reach, annual decimal in (0, 5].
    """

    beta: float | None = None
    skew: float = SKEW
    floor: float = 0.01

    def __post_init__(self) -> None:
        if self.beta is not None:
            object.__setattr__(self, "beta", check_scalar(self.beta, "VolatilityModel.beta"))
        object.__setattr__(self, "skew", check_scalar(self.skew, "VolatilityModel.skew"))
        floor = check_volatility(self.floor, "VolatilityModel.floor")
        object.__setattr__(self, "floor", floor)

    def skew_term(self, moneyness: Any, years: Any) -> Any:
        r"""Skew :math:`\\kappa(m, \\tau)` in volatility points (0 at the money)."""
        t = np.maximum(np.asarray(years, dtype=np.float64), _MIN_EXPIRY_YEARS)
        return self.skew * np.log(moneyness) * np.sqrt(0.25 / t)

    def beta_for(self, horizon: int) -> float:
        """Return the spot-volatility beta used over ``horizon`` trading days."""
        return spot_vol_beta(horizon) if self.beta is None else float(self.beta)

    def scenario_vol(
        self,
        sigma0: float,
        strike: float,
        spot0: float,
        spot: np.ndarray,
        years0: float,
        years: float,
        level_move: np.ndarray,
    ) -> np.ndarray:
        r"""Volatility of a strike in each scenario (see the module formula).

        ``level_move`` is :math:`\\Delta\\sigma_s` by scenario (see :meth:`level_move`).
        """
        shift = self.skew_term(strike / spot, years) - self.skew_term(strike / spot0, years0)
        return np.asarray(np.maximum(sigma0 + level_move + shift, self.floor), dtype=np.float64)

    def level_move(self, spot_return: np.ndarray, horizon: int) -> np.ndarray:
        r""":math:`\\beta_h \\ln(1 + R_s)` by scenario, from the underlying's horizon return."""
        gross = 1.0 + np.asarray(spot_return, dtype=np.float64)  # float32 input: float64 logs
        with np.errstate(divide="ignore"):
            logs = np.log(np.maximum(gross, 1e-12))
        return np.asarray(self.beta_for(horizon) * logs, dtype=np.float64)

"""Option pricing: Black-Scholes-Merton, Greeks, implied volatility, how volatility moves.

See ``optihedge.pricing.black_scholes`` for units and formulas,
``optihedge.pricing.volatility`` for the scenario volatility model (spot-volatility beta
and skew) and ``optihedge.pricing.hedging`` for textbook hedges (portfolio insurance,
dynamic delta hedging).
"""

from __future__ import annotations

from optihedge.pricing.black_scholes import (
    IMPLIED_TO_REALISED_RATIO,
    Greeks,
    black_scholes,
    ewma_volatility,
    greeks,
    implied_volatility,
    volatility_proxy,
)
from optihedge.pricing.hedging import InsurancePlan, delta_hedge_table, portfolio_insurance
from optihedge.pricing.volatility import SKEW, SPOT_VOL_BETA, VolatilityModel, spot_vol_beta

__all__ = [
    "IMPLIED_TO_REALISED_RATIO",
    "SKEW",
    "SPOT_VOL_BETA",
    "Greeks",
    "InsurancePlan",
    "VolatilityModel",
    "black_scholes",
    "delta_hedge_table",
    "ewma_volatility",
    "greeks",
    "implied_volatility",
    "portfolio_insurance",
    "spot_vol_beta",
    "volatility_proxy",
]

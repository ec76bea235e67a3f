"""Option pricing: Black-Scholes-Merton prices, Greeks, implied volatility, volatility proxy.

See ``optihedge.pricing.black_scholes`` for units and formulas.
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

__all__ = [
    "IMPLIED_TO_REALISED_RATIO",
    "Greeks",
    "black_scholes",
    "ewma_volatility",
    "greeks",
    "implied_volatility",
    "volatility_proxy",
]

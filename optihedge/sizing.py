"""Textbook hedge sizing, the public module ``optihedge.sizing``.

It re-exports the public names of :mod:`optihedge.measures.sizing`: beta-adjusted
notional, futures contracts, the minimum-variance hedge ratio, the target volatility
multiplier and the Kelly fraction.
``import optihedge.sizing`` and ``from optihedge import sizing`` give this module.
"""

from __future__ import annotations

from optihedge.measures.sizing import (
    beta_adjusted_notional,
    futures_contracts,
    kelly_fraction,
    min_variance_hedge_ratio,
    target_volatility_multiplier,
)

__all__ = [
    "beta_adjusted_notional",
    "futures_contracts",
    "kelly_fraction",
    "min_variance_hedge_ratio",
    "target_volatility_multiplier",
]

"""Hedge instruments and the market state they are valued in.

``Instrument`` is the protocol (see ``optihedge.instruments._base``); ``linear`` holds
futures, ETFs, inverse ETFs and cash; ``reductions`` the sale of part of a holding.
"""

from __future__ import annotations

from optihedge.instruments._base import Instrument, MarketState
from optihedge.instruments.linear import ETF, Cash, Future, InverseETF
from optihedge.instruments.reductions import PositionReduction

__all__ = ["ETF", "Cash", "Future", "Instrument", "InverseETF", "MarketState", "PositionReduction"]

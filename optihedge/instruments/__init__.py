"""Hedge instruments and the market state they are valued in.

``Instrument`` is the protocol (see ``optihedge.instruments._base``); ``linear`` holds
futures, ETFs, inverse ETFs and cash; ``reductions`` the sale of part of a holding;
``options`` puts, calls, collars, put spreads (repriced in every scenario), the dated
option contracts they mint (``Put(...).contract(market)``) and binary event contracts.
"""

from __future__ import annotations

from optihedge.instruments._base import Instrument, MarketState
from optihedge.instruments.linear import ETF, Cash, Future, InverseETF
from optihedge.instruments.options import (
    Call,
    Collar,
    EventContract,
    OptionContract,
    OptionPackage,
    Put,
    PutSpread,
)
from optihedge.instruments.reductions import PositionReduction

__all__ = [
    "ETF",
    "Call",
    "Cash",
    "Collar",
    "EventContract",
    "Future",
    "Instrument",
    "InverseETF",
    "MarketState",
    "OptionContract",
    "OptionPackage",
    "PositionReduction",
    "Put",
    "PutSpread",
]

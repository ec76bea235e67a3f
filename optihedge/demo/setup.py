"""The demo's set-up: its stated assumptions, the instruments on offer and the mandate.

Market conventions (contract multipliers, the assumed rate and dividend yield), the option
offers, the closing sweep's grid, the E-mini future, the inverse ETF and the position
reductions the hedges choose from, and the mandate's limits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from constraints import (
    CarryBudget,
    Constraint,
    GrossExposure,
    Liquidity,
    ResidualBeta,
    Turnover,
    WholeContracts,
)
from optihedge.instruments import Future, Instrument, InverseETF, PositionReduction

__all__ = [
    "COLLAR",
    "DIVIDEND_YIELD",
    "FUTURES_MULTIPLIER",
    "FUTURE_CODE",
    "HORIZON",
    "OPTION_EXPIRY",
    "OPTION_MULTIPLIER",
    "PREMIUM_BUDGET",
    "PUT_MONEYNESS",
    "RATE",
    "START",
    "SWEEP_GRID",
    "WINDOWS",
]

WINDOWS = (63, 126, 252, 504)
HORIZON = 21
FUTURES_MULTIPLIER = 50.0  # E-mini S&P 500: USD 50 per index point
FUTURE_CODE = "ESH3"  # the E-mini S&P 500 March 2023 contract, front month at the data's end
OPTION_MULTIPLIER = 100.0  # SPX index options: USD 100 per index point
RATE = 0.04  # assumed continuously compounded USD rate at the end of 2022
DIVIDEND_YIELD = 0.016  # assumed S&P 500 dividend yield
PUT_MONEYNESS = 0.95
OPTION_EXPIRY = 63  # trading days: listed 3-month SPX options
COLLAR = (0.95, 1.05)  # put and call strikes / spot
PREMIUM_BUDGET = 0.01  # the option mandate: 1% of the book on premium
#: the closing sweep: what each step of the gross cap and of the premium budget buys
SWEEP_GRID = {
    "gross_exposure.max": [0.4, 0.6, 0.8, 1.0],
    "premium_budget.max": [0.0, 0.0025, 0.005, 0.01, 0.02],
}
START = "2000-01-01"  # RRC is stale before about 1997 (see KNOWN_FLAWS)


def _horizon_returns(daily: pd.DataFrame, days: int) -> pd.DataFrame:
    """Overlapping compounded ``days``-day returns from daily simple returns."""
    log_growth = pd.DataFrame(np.log1p(daily.to_numpy()), daily.index, daily.columns)
    summed = log_growth.rolling(days).sum().dropna()
    return pd.DataFrame(np.expm1(summed.to_numpy()), summed.index, summed.columns)


def _index_hedges(last: pd.Series) -> list[Instrument]:
    """E-mini futures, an inverse ETF and three position reductions (assumed terms)."""
    return [
        Future(
            label=FUTURE_CODE,
            underlying="SP500",
            price=float(last["SP500"]),
            multiplier=FUTURES_MULTIPLIER,
            cost=0.0001,
            adv=2e11,
        ),
        InverseETF(
            label="SH",
            underlying="SP500",
            price=13.0,
            leverage=-1.0,
            expense_ratio=0.0088,
            cost=0.0003,
            adv=1e8,
        ),
        *[
            PositionReduction(label=f"sell {t}", holding=t, price=float(last[t]), cost=0.0005)
            for t in ("AMD", "BAC", "RRC")
        ],
    ]


def _limits() -> list[Constraint]:
    """Return the demo mandate: gross, residual beta, liquidity, carry, turnover, contracts."""
    return [
        GrossExposure(0.8),
        ResidualBeta(min=0.25),
        Liquidity(0.05, days=1.0),
        CarryBudget(0.002),
        Turnover(1.0),
        WholeContracts([FUTURE_CODE]),
    ]

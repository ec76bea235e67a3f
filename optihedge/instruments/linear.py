"""Linear hedge instruments: futures, ETFs, daily-reset inverse ETFs, cash.

Their exposure is a fixed amount of their underlying per unit of position, whatever the
market state; an inverse ETF's return over a horizon is its compounded daily reset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from optihedge._validation import check_scalar
from optihedge.errors import SpecificationError
from optihedge.instruments._base import Instrument, MarketState

if TYPE_CHECKING:
    from optihedge.scenarios import Scenarios

__all__ = ["ETF", "Cash", "Future", "InverseETF"]


@dataclass(frozen=True, kw_only=True)
class Future(Instrument):
    """An index future: exposure 1 on its underlying per unit of notional.

    ``carry`` is the annual cost of holding it long relative to the underlying
    (financing net of dividends, roll), e.g. ``r - q``; a short earns it.
    """

    kind: ClassVar[str] = "future"

    underlying: str
    carry: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_scalar(self.carry, f"{self.name}.carry")

    def exposures(self, market: MarketState | None = None) -> dict[str, float]:
        """Exposure 1 on the underlying."""
        return {self.underlying: 1.0}

    def attributes(self, market: MarketState | None = None) -> dict[str, float]:
        """Carry per unit long."""
        return super().attributes(market) | {"carry_long": self.carry}


@dataclass(frozen=True, kw_only=True)
class ETF(Instrument):
    """An exchange-traded fund: exposure 1 on its underlying per unit of notional.

    Long holders pay ``expense_ratio`` (>= 0); short sellers pay ``borrow_fee`` (>= 0),
    and the expense ratio works in their favour.
    """

    kind: ClassVar[str] = "etf"

    underlying: str
    expense_ratio: float = 0.0
    borrow_fee: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_scalar(self.expense_ratio, f"{self.name}.expense_ratio", lower=0.0)
        check_scalar(self.borrow_fee, f"{self.name}.borrow_fee", lower=0.0)

    def exposures(self, market: MarketState | None = None) -> dict[str, float]:
        """Exposure 1 on the underlying."""
        return {self.underlying: 1.0}

    def attributes(self, market: MarketState | None = None) -> dict[str, float]:
        """Expense ratio long, borrow fee short."""
        return super().attributes(market) | {
            "carry_long": self.expense_ratio,
            "carry_short": self.borrow_fee,
        }


@dataclass(frozen=True, kw_only=True)
class InverseETF(Instrument):
    """A daily-reset leveraged inverse ETF, held long (lower bound 0 by default).

    For variance its exposure is ``leverage`` on the underlying per unit of notional
    (the one-day delta). Over a horizon its return is the compounded daily reset,
    never simply ``leverage`` times the horizon return: scenario revaluation uses
    :meth:`horizon_return`.

    Carry in scenarios: a scenario's P&L is the change in the instrument's value over
    the horizon, so what accrues in its price is in it (an option loses its theta: it is
    repriced with the time left). The fund's expense ratio accrues in its net asset
    value, so each scenario's return is the compounded daily reset less
    ``expense_ratio`` times the horizon in years per unit of notional (a cost to a long
    holder).
    """

    kind: ClassVar[str] = "inverse_etf"

    underlying: str
    leverage: float = -1.0
    expense_ratio: float = 0.0
    lower: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_scalar(self.expense_ratio, f"{self.name}.expense_ratio", lower=0.0)
        if not (
            isinstance(self.leverage, int | float)
            and not isinstance(self.leverage, bool)
            and -math.inf < self.leverage < 0
        ):
            raise SpecificationError(
                f"The 'leverage' of {self.name} must be negative and finite (e.g. -1, -2). "
                f"Got {self.leverage!r}."
            )

    def exposures(self, market: MarketState | None = None) -> dict[str, float]:
        """One-day exposure: ``leverage`` on the underlying."""
        return {self.underlying: self.leverage}

    def attributes(self, market: MarketState | None = None) -> dict[str, float]:
        """Expense ratio long."""
        return super().attributes(market) | {"carry_long": self.expense_ratio}

    def scenario_returns(
        self, scenarios: Scenarios, market: MarketState | None = None
    ) -> np.ndarray:
        """Compounded daily reset along each scenario's path (delta if it has none).

        Less the expense ratio over the scenarios' horizon (``expense_ratio *
        scenarios.horizon_years``: horizon / 252 on daily data, / 52 on weekly), which the
        fund's value pays.
        """
        scenarios.column(self.underlying, owner=self.name)  # checks the underlying is covered
        fee = self.expense_ratio * scenarios.horizon_years
        return scenarios.compound(self.underlying, self.leverage) - fee

    def horizon_return(self, daily_underlying_returns: list[float] | tuple[float, ...]) -> float:
        """Compounded return over a path of daily underlying returns (daily reset)."""
        growth = 1.0
        for r in daily_underlying_returns:
            growth *= max(1.0 + self.leverage * float(r), 0.0)  # a wipe-out stays at zero
        return growth - 1.0


@dataclass(frozen=True, kw_only=True)
class Cash(Instrument):
    """Cash: no exposure, no cost. Useful with ``Budget``."""

    kind: ClassVar[str] = "cash"

    label: str = "cash"

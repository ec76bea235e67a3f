"""Hedge instruments: futures, ETFs, inverse ETFs, position reductions, cash.

Each knows, per unit of position ``x`` (signed notional / book value), its exposure on
the risk model's assets, premium, annual carry, trading cost, ADV and contract size.

All rates are annual decimals of notional; ``adv`` is in currency notional per day;
``price`` x ``multiplier`` is the value of one contract (or share).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from optihedge._validation import check_scalar, format_labels
from optihedge.errors import DataError, MissingLabelsError

if TYPE_CHECKING:
    from optihedge.scenarios import Scenarios

__all__ = ["ETF", "Cash", "Future", "Instrument", "InverseETF", "PositionReduction"]


@dataclass(frozen=True, kw_only=True)
class Instrument:
    """Base of every hedge instrument (keyword-only fields).

    Parameters
    ----------
    label : str
        Unique name in the problem (e.g. ``"ES"``).
    price : float, default 1.0
        Price of one unit (index points for a future, share price for an ETF).
    multiplier : float, default 1.0
        Currency per price point of one contract.
    cost : float, default 0.0
        One-way trading cost (half spread plus fees), fraction of traded notional.
    adv : float, default inf
        Average daily traded notional, base currency.
    lower, upper : float, default -inf, inf
        Hard bounds on the position, fractions of the book's value.
    """

    kind: ClassVar[str] = "instrument"

    label: str
    price: float = 1.0
    multiplier: float = 1.0
    cost: float = 0.0
    adv: float = math.inf
    lower: float = -math.inf
    upper: float = math.inf

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label:
            raise DataError(f"An instrument's 'label' must be a non-empty str. Got {self.label!r}.")
        name = f"{type(self).__name__}({self.label!r})"
        for field_name, lower in (("price", 0.0), ("multiplier", 0.0)):
            check_scalar(
                getattr(self, field_name),
                f"{name}.{field_name}",
                lower=lower,
                lower_inclusive=False,
            )
        check_scalar(self.cost, f"{name}.cost", lower=0.0, upper=1.0)
        if not (isinstance(self.adv, int | float) and self.adv > 0):
            raise DataError(f"The '{name}.adv' argument must be > 0 (or inf). Got {self.adv!r}.")
        if not self.lower <= self.upper:
            raise DataError(
                f"The bounds of {name} are inverted: lower {self.lower!r} > upper {self.upper!r}."
            )

    def exposure_map(self) -> dict[str, float]:
        """Exposure on each risk-model asset per unit of x (delta approximation)."""
        return {}

    def scenario_returns(self, scenarios: Scenarios) -> np.ndarray:
        """Return per unit of x in each scenario (linear in the underlyings by default)."""
        out = np.zeros(scenarios.n_scenarios)
        for asset, amount in self.exposure_map().items():
            if asset not in scenarios.returns.columns:
                raise MissingLabelsError(
                    f"Instrument {self.label!r} has underlying {asset!r}, which the scenarios "
                    f"lack (they cover {format_labels(scenarios.returns.columns)})."
                )
            out += amount * scenarios.returns[asset].to_numpy(dtype=np.float64)
        return out

    @property
    def premium(self) -> float:
        """Premium paid up front per unit of notional held long."""
        return 0.0

    @property
    def carry_long(self) -> float:
        """Annual carry cost per unit of x, linear (a short earns it back)."""
        return 0.0

    @property
    def carry_short(self) -> float:
        """Extra annual cost per unit of short notional (borrow fee)."""
        return 0.0

    @property
    def gross_weight(self) -> float:
        """Delta-adjusted notional per unit of x, counted in gross exposure."""
        return float(sum(abs(v) for v in self.exposure_map().values()))

    @property
    def contract_value(self) -> float:
        """Value of one contract or share, base currency."""
        return self.price * self.multiplier


@dataclass(frozen=True, kw_only=True)
class Future(Instrument):
    """An index future: exposure 1 on its underlying per unit of notional.

    ``carry`` is the annual cost of holding it long relative to the underlying
    (financing net of dividends, roll), e.g. ``r - q``; a short earns it.
    """

    kind: ClassVar[str] = "future"

    underlying: str
    carry: float = 0.0

    def exposure_map(self) -> dict[str, float]:
        """Exposure 1 on the underlying."""
        return {self.underlying: 1.0}

    @property
    def carry_long(self) -> float:
        """Annual carry per unit long."""
        return self.carry


@dataclass(frozen=True, kw_only=True)
class ETF(Instrument):
    """An exchange-traded fund: exposure 1 on its underlying per unit of notional.

    Long holders pay ``expense_ratio``; short sellers pay ``borrow_fee`` (and the
    expense ratio works in their favour).
    """

    kind: ClassVar[str] = "etf"

    underlying: str
    expense_ratio: float = 0.0
    borrow_fee: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_scalar(self.borrow_fee, f"ETF({self.label!r}).borrow_fee", lower=0.0)

    def exposure_map(self) -> dict[str, float]:
        """Exposure 1 on the underlying."""
        return {self.underlying: 1.0}

    @property
    def carry_long(self) -> float:
        """Expense ratio."""
        return self.expense_ratio

    @property
    def carry_short(self) -> float:
        """Borrow fee on short notional."""
        return self.borrow_fee


@dataclass(frozen=True, kw_only=True)
class InverseETF(Instrument):
    """A daily-reset leveraged inverse ETF, held long (lower bound 0 by default).

    For variance its exposure is ``leverage`` on the underlying per unit of notional
    (the one-day delta). Over a horizon its return is the compounded daily reset,
    never simply ``leverage`` times the horizon return: scenario revaluation uses
    :meth:`horizon_return`.
    """

    kind: ClassVar[str] = "inverse_etf"

    underlying: str
    leverage: float = -1.0
    expense_ratio: float = 0.0
    lower: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.leverage < 0:
            raise DataError(
                f"The 'leverage' of InverseETF({self.label!r}) must be negative (e.g. -1, -2). "
                f"Got {self.leverage!r}."
            )

    def exposure_map(self) -> dict[str, float]:
        """One-day exposure: ``leverage`` on the underlying."""
        return {self.underlying: self.leverage}

    @property
    def carry_long(self) -> float:
        """Expense ratio."""
        return self.expense_ratio

    def scenario_returns(self, scenarios: Scenarios) -> np.ndarray:
        """Compounded daily reset along each scenario's path (delta if it has none)."""
        super().scenario_returns(scenarios)  # checks the underlying is covered
        return scenarios.compound(self.underlying, self.leverage)

    def horizon_return(self, daily_underlying_returns: list[float] | tuple[float, ...]) -> float:
        """Compounded return over a path of daily underlying returns (daily reset)."""
        growth = 1.0
        for r in daily_underlying_returns:
            growth *= max(1.0 + self.leverage * float(r), 0.0)  # a wipe-out stays at zero
        return growth - 1.0


@dataclass(frozen=True, kw_only=True)
class PositionReduction(Instrument):
    """Selling part of a holding: the cleanest hedge (no basis risk, no carry).

    Its position is in [-holding weight, 0] (the problem sets the bound from the
    book). It counts zero in gross exposure.
    """

    kind: ClassVar[str] = "reduction"

    holding: str
    upper: float = 0.0

    def exposure_map(self) -> dict[str, float]:
        """Exposure 1 on the holding."""
        return {self.holding: 1.0}

    @property
    def gross_weight(self) -> float:
        """Selling adds no exposure."""
        return 0.0


@dataclass(frozen=True, kw_only=True)
class Cash(Instrument):
    """Cash: no exposure, no cost. Useful with ``Budget``."""

    kind: ClassVar[str] = "cash"

    label: str = "cash"

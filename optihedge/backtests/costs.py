"""What trading and holding a hedge costs in a backtest, item by item.

One home for the backtest's cost arithmetic. Every amount is in the book's base currency
and positive when paid. Trading costs are charged on the day of the trade; holding costs
accrue over the trading days between two marks (``days / TRADING_DAYS`` of a year).

Kinds (the ``cost_<kind>`` columns of :attr:`BacktestResult.daily`):

- ``commission``: per contract (futures, options) or per share (ETFs, holdings);
- ``spread``: half the bid-ask spread times the traded notional (the instrument's own
  ``cost``, a fraction, unless the model states ``half_spread``);
- ``impact``: ``impact x daily volatility x sqrt(traded notional / ADV) x traded notional``
  (the square-root law; zero for an instrument whose ``adv`` is infinite);
- ``roll``: the trading costs of closing a future and opening the next contract;
- ``borrow``: the annual ``borrow`` rate (or the ETF's own ``borrow_fee``) on the value of
  short ETF positions;
- ``expense``: an ETF's or inverse ETF's expense ratio on the value held long, when the
  backtest synthesises its price from the underlying (a fund's own price series already
  pays it);
- ``financing``: ``financing_spread`` over the rate on a negative cash balance.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from optihedge._validation import check_scalar

__all__ = ["COST_KINDS", "CostModel"]

#: Every cost kind a backtest reports, in the order of its daily table.
COST_KINDS = ("commission", "spread", "impact", "roll", "borrow", "expense", "financing")


@dataclass(frozen=True, kw_only=True)
class CostModel:
    """Trading and holding costs of a backtest.

    Parameters
    ----------
    commission_per_contract : float, default 0.0
        Currency per futures or option contract traded (each side).
    commission_per_share : float, default 0.0
        Currency per ETF share or share of a holding traded.
    half_spread : float, optional
        Half the bid-ask spread, a fraction of traded notional (0.0005 = 5 bp). None: each
        instrument's own ``cost``.
    impact : float, default 0.0
        Coefficient of the square-root market-impact law (dimensionless; 0.1 to 1 in the
        literature): ``impact * daily_vol * sqrt(notional / adv) * notional``.
    borrow : float, optional
        Annual fee on the value of short ETF and holding positions, decimal. None: each
        ETF's own ``borrow_fee`` (0 for others).
    financing_spread : float, default 0.0
        Annual spread over the cash rate paid on a negative cash balance, decimal.

    Raises
    ------
    SpecificationError
        A negative or non-finite amount (costs are paid, never received).
    """

    commission_per_contract: float = 0.0
    commission_per_share: float = 0.0
    half_spread: float | None = None
    impact: float = 0.0
    borrow: float | None = None
    financing_spread: float = 0.0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value is None:
                continue
            upper = 1.0 if name in ("half_spread", "borrow", "financing_spread") else None
            checked = check_scalar(
                value,
                f"costs.{name}",
                lower=0.0,
                upper=upper,
                hint="A cost is paid, never received: pass 0 for none.",
            )
            object.__setattr__(self, name, checked)

    def to_dict(self) -> dict[str, Any]:
        """Plain fields, for a policy file or the store."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CostModel:
        """Inverse of :meth:`to_dict`."""
        return cls(**values)

    def trade(
        self,
        *,
        units: float,
        notional: float,
        per_contract: bool,
        own_cost: float,
        adv: float,
        daily_vol: float,
    ) -> dict[str, float]:
        """Costs of one trade, by kind (``commission``, ``spread``, ``impact``).

        Parameters
        ----------
        units : float
            Contracts or shares traded (sign ignored).
        notional : float
            Traded notional, base currency (sign ignored): contracts x multiplier x price
            for futures, the underlying's notional for options, shares x price otherwise.
        per_contract : bool
            Futures and options pay ``commission_per_contract``; others per share.
        own_cost : float
            The instrument's one-way ``cost`` (fraction), used when ``half_spread`` is None.
        adv : float
            Average daily traded notional, base currency (inf: no impact).
        daily_vol : float
            Daily volatility of the instrument's underlying (decimal), for impact.
        """
        n, amount = abs(float(units)), abs(float(notional))
        rate = self.commission_per_contract if per_contract else self.commission_per_share
        spread = own_cost if self.half_spread is None else self.half_spread
        impact = 0.0
        if self.impact > 0 and math.isfinite(adv) and adv > 0 and amount > 0:
            impact = self.impact * daily_vol * math.sqrt(amount / adv) * amount
        return {"commission": rate * n, "spread": spread * amount, "impact": impact}

    def borrow_rate(self, own_fee: float) -> float:
        """Annual fee on short ETF or holding value: the model's, else the ETF's own."""
        return own_fee if self.borrow is None else float(self.borrow)

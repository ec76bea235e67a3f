"""BacktestResult: what a walk-forward backtest of a hedge policy did, day by day.

Money in the book's base currency; dates are the data's; every rate is annual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from optihedge.backtests.costs import COST_KINDS

__all__ = ["BacktestResult"]


@dataclass(frozen=True)
class BacktestResult:
    """A backtest's tables (see :func:`~optihedge.backtests.backtest`).

    Attributes
    ----------
    policy : str
        The policy's name.
    daily : DataFrame indexed by date
        One row per mark: ``unhedged_value`` (the book and its cash, never hedged),
        ``hedged_value``, ``book_value`` (holdings and book options), ``cash``,
        ``hedge_value`` (non-margined hedge positions; futures are margined daily),
        ``pnl_book`` and ``pnl_<leg>`` (each hedge instrument's P&L that day),
        ``interest`` (on cash), ``cost_<kind>`` (paid, >= 0; kinds in
        :data:`~optihedge.backtests.costs.COST_KINDS`), ``hedge_ratio`` (the hedge's delta
        notional against the book's, positive when it offsets a long book) and ``regime``.
        Each day ``hedged_value.diff() == pnl_book + sum(pnl_<leg>) + interest -
        sum(cost_<kind>)``.
    decisions : DataFrame indexed by date
        ``why`` (entry, schedule, which trigger, roll), ``regime``, ``hedge_ratio``, the
        solve's record (status, objective, volatility over the problem's ``horizon``,
        binding limits, shadow prices) and the target ``weight[<leg>]``.
    trades : DataFrame
        Every trade: date, leg, contract, units (signed), price per unit, notional,
        cost, why.
    positions : DataFrame indexed by date
        Units held at each close, after that day's trades, by leg (contracts for
        futures and options, shares or fund units otherwise).
    meta : dict
        ``start``, ``end``, ``frequency``, ``rate``, ``capital``, ``compiles`` (times the
        problem was compiled), ``timings`` (seconds by step: estimate, scenarios, solve,
        mark, trade).
    """

    policy: str
    daily: pd.DataFrame
    decisions: pd.DataFrame
    trades: pd.DataFrame
    positions: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def legs(self) -> list[str]:
        """The hedge legs (the policy's instrument labels)."""
        return [c[4:] for c in self.daily.columns if c.startswith("pnl_") and c != "pnl_book"]

    def costs(self) -> pd.DataFrame:
        """Costs by kind: ``per_day`` (mean per mark) and ``total``, base currency."""
        table = self.daily[[f"cost_{k}" for k in COST_KINDS]]
        table.columns = list(COST_KINDS)
        return pd.DataFrame({"total": table.sum(), "per_day": table.mean()})

    def accounting_error(self) -> pd.Series:
        """Each day's change of the hedged value less its legs, interest and costs."""
        d = self.daily
        pnl = d[["pnl_book", *[f"pnl_{leg}" for leg in self.legs]]].sum(axis=1)
        costs = d[[f"cost_{k}" for k in COST_KINDS]].sum(axis=1)
        explained = pnl + d["interest"] - costs
        change = d["hedged_value"].diff()
        out = (change - explained).iloc[1:]
        first = d["hedged_value"].iloc[0] - self.meta.get("capital", d["hedged_value"].iloc[0])
        first -= float(explained.iloc[0])
        return pd.concat([pd.Series([first], index=d.index[:1]), out])

    def __repr__(self) -> str:
        d = self.daily
        return (
            f"BacktestResult({self.policy!r}, {d.index[0]:%Y-%m-%d} to {d.index[-1]:%Y-%m-%d}, "
            f"{len(d)} marks, {len(self.decisions)} decisions, {len(self.trades)} trades; "
            f"hedged {d['hedged_value'].iloc[-1]:,.2f} vs unhedged "
            f"{d['unhedged_value'].iloc[-1]:,.2f})"
        )


def frame(rows: list[dict[str, Any]], index: str = "date") -> pd.DataFrame:
    """Rows to a DataFrame indexed by ``index`` (an empty frame when there are none)."""
    if not rows:
        return pd.DataFrame(index=pd.DatetimeIndex([], name=index))
    out = pd.DataFrame(rows)
    return out.set_index(index) if index in out.columns else out

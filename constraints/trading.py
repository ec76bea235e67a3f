"""Limits on trading: turnover against the current hedge, liquidity from ADV."""

from __future__ import annotations

from typing import ClassVar, Literal

import cvxpy as cp
import numpy as np
import pandas as pd

from constraints._base import Constraint, Row, check_limit
from constraints._context import HedgeContext, HedgeData
from constraints.errors import ConstraintSpecificationError

__all__ = ["Liquidity", "Turnover"]


class Turnover(Constraint):
    r"""Cap on total trading against the current hedge.

    .. math:: \sum_i |x_i - x_i^{\text{current}}| \le \text{max}

    Parameters
    ----------
    max : float
        Fraction of the book's value (>= 0). Parameter ``"turnover.max"``.
    current : Series by instrument, optional
        The current hedge (fractions of book value). The problem's current hedge is used
        when omitted; giving both, and different, is an error.
    """

    name: ClassVar[str] = "turnover"

    def __init__(self, max: float, current: pd.Series | None = None) -> None:
        super().__init__()
        self.max = check_limit(type(self).__name__, "max", max)
        if current is not None and not isinstance(current, pd.Series):
            raise ConstraintSpecificationError(
                "The 'current' parameter of Turnover must be a Series by instrument label. "
                f"Got {type(current).__name__} instead."
            )
        self.current = current
        self._max = cp.Parameter(nonneg=True, name="turnover.max")

    def _build(self, ctx: HedgeContext) -> list[Row]:
        expr = cp.sum(cp.abs(ctx.trade))
        return [Row("turnover.max", expr <= self._max, expr, self._max, "<=")]

    def _refresh(self, data: HedgeData) -> None:
        self._max.value = self.max

    def parameters(self) -> dict[str, float | None]:
        """Named parameters and their values."""
        return {"turnover.max": self.max}

    def _set(self, key: str, value: float) -> None:
        self.max = check_limit(type(self).__name__, "max", value)


class Liquidity(Constraint):
    r"""Participation limit from average daily volume, on trades or on positions.

    .. math:: |t_i| \le p \cdot d \cdot \mathrm{ADV}_i / V

    with :math:`t = x - x^{\text{current}}` (``on="trades"``: trade within ``days`` days
    at participation ``p``) or :math:`t = x` (``on="positions"``: able to exit within
    ``days`` days). Instruments without an ADV are not limited.

    Parameters
    ----------
    max_participation : float
        Fraction of ADV (> 0). Parameter ``"liquidity.max_participation"``.
    days : float, default 1.0
        Days allowed. Parameter ``"liquidity.days"``.
    on : {"trades", "positions"}, default "trades"
    """

    name: ClassVar[str] = "liquidity"

    def __init__(
        self,
        max_participation: float,
        days: float = 1.0,
        *,
        on: Literal["trades", "positions"] = "trades",
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.max_participation = check_limit(owner, "max_participation", max_participation)
        self.days = check_limit(owner, "days", days)
        if on not in ("trades", "positions"):
            raise ConstraintSpecificationError(
                f"The 'on' parameter of Liquidity must be 'trades' or 'positions'. Got {on!r}."
            )
        self.on = on
        self._cap: cp.Parameter | None = None
        self._index: np.ndarray = np.zeros(0, dtype=int)

    @property
    def key(self) -> str:
        """Prefix of the row labels."""
        return "liquidity" if self.on == "trades" else "liquidity_positions"

    def _build(self, ctx: HedgeContext) -> list[Row]:
        adv = ctx.data.attribute("adv")
        self._index = np.flatnonzero(np.isfinite(adv))
        if len(self._index) == 0:
            return []
        self._cap = cp.Parameter(len(self._index), nonneg=True)
        moved = ctx.trade if self.on == "trades" else ctx.x
        expr = cp.abs(moved[self._index])
        names = tuple(f"{self.key}[{ctx.instruments[int(i)]}]" for i in self._index)
        return [Row(self.key, expr <= self._cap, expr, self._cap, "<=", names)]

    def _refresh(self, data: HedgeData) -> None:
        if self._cap is not None:
            adv = data.attribute("adv")[self._index]
            self._cap.value = self.max_participation * self.days * adv

    def parameters(self) -> dict[str, float | None]:
        """Named parameters and their values."""
        return {"liquidity.max_participation": self.max_participation, "liquidity.days": self.days}

    def _set(self, key: str, value: float) -> None:
        attr = key.split(".", 1)[1]
        setattr(self, attr, check_limit(type(self).__name__, attr, value))

    def __repr__(self) -> str:
        return (
            f"Liquidity(max_participation={self.max_participation!r}, days={self.days!r}, "
            f"on={self.on!r})"
        )

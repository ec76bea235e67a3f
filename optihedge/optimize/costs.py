r"""The cost terms: :class:`TradingCost` (trading to the new hedge) and :class:`CarryCost`.

Costs are fractions of book value over the problem's horizon, linear in the positions
(DPP: each rate times its weight and scale is one Parameter). Re-exported by
:mod:`optihedge.optimize.objectives`, their first home.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import cvxpy as cp
import numpy as np

from constraints import HedgeContext, HedgeData
from optihedge.optimize.data import data_frequency
from optihedge.optimize.objective import Objective
from optihedge.optimize.terms import CompiledTerm

__all__ = ["CarryCost", "TradingCost"]


class TradingCost(Objective):
    r"""Cost of trading to the new hedge: :math:`\sum_i c_i |x_i - x_i^{\text{current}}|`."""

    key: ClassVar[str] = "trading_cost"

    def build(self, ctx: HedgeContext) -> CompiledTerm:
        """Build ``sum |c * x - c * current|`` (c >= 0; the product is one parameter, DPP)."""
        return _CompiledTradingCost(self, ctx)


class CarryCost(Objective):
    r"""Carry over the horizon: :math:`t_h\,(c^\top x + b^\top \max(-x, 0))`.

    :math:`t_h` is the horizon in years in the data's frequency (``frequency.years(h)``:
    h / 252 on daily data, h / 52 on weekly, h / 12 on monthly).
    """

    key: ClassVar[str] = "carry_cost"

    def build(self, ctx: HedgeContext) -> CompiledTerm:
        """Build linear carry plus borrow fees on shorts."""
        return _CompiledCarryCost(self, ctx)


class _CompiledTradingCost(CompiledTerm):
    """:class:`TradingCost` built into one problem."""

    def __init__(self, term: TradingCost, ctx: HedgeContext) -> None:
        n = len(ctx.instruments)
        self.term = term
        self.c, self.c_current = cp.Parameter(n, nonneg=True), cp.Parameter(n)
        super().__init__(cp.sum(cp.abs(cp.multiply(self.c, ctx.x) - self.c_current)))

    def refresh(self, data: HedgeData, values: Mapping[str, float]) -> None:
        """Set the cost rates and the current positions' products."""
        rate = self.term._weight(values) * data.objective_scale * data.attribute("cost")
        self.c.value = rate
        self.c_current.value = rate * data.current.to_numpy()


class _CompiledCarryCost(CompiledTerm):
    """:class:`CarryCost` built into one problem."""

    def __init__(self, term: CarryCost, ctx: HedgeContext) -> None:
        n = len(ctx.instruments)
        self.term = term
        self.long, self.short = cp.Parameter(n), cp.Parameter(n, nonneg=True)
        super().__init__(self.long @ ctx.x + self.short @ cp.neg(ctx.x))

    def refresh(self, data: HedgeData, values: Mapping[str, float]) -> None:
        """Set the carry rates over the horizon, in the data's frequency."""
        years = data_frequency(data).years(data.horizon)
        scale = self.term._weight(values) * data.objective_scale * years
        self.long.value = scale * data.attribute("carry_long")
        self.short.value = scale * np.maximum(data.attribute("carry_short"), 0.0)

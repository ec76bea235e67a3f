"""Budgets: option premium, carry, the sum of positions, expected P&L."""

from __future__ import annotations

from typing import ClassVar

import cvxpy as cp
import numpy as np
import pandas as pd

from constraints._base import Constraint, Row, check_limit
from constraints._context import HedgeContext, HedgeData
from constraints.errors import ConstraintSpecificationError

__all__ = ["Budget", "CarryBudget", "ExpectedPnL", "PremiumBudget"]


class _CapOnLinear(Constraint):
    """``expression(x) <= max`` for a scalar cap."""

    def __init__(self, max: float) -> None:
        super().__init__()
        self.max = check_limit(type(self).__name__, "max", max)
        self._max = cp.Parameter(nonneg=True)

    def _refresh(self, data: HedgeData) -> None:
        self._max.value = self.max

    def parameters(self) -> dict[str, float | None]:
        """Named parameters and their values."""
        return {f"{self.name}.max": self.max}

    def _set(self, key: str, value: float) -> None:
        self.max = check_limit(type(self).__name__, "max", value)


class PremiumBudget(_CapOnLinear):
    r"""Cap on option premium paid up front (premium received offsets it).

    .. math:: \sum_i \pi_i x_i \le \text{max}

    with :math:`\pi_i` the premium per unit of notional. ``max`` is a fraction of the
    book's value. Parameter ``"premium_budget.max"``.
    """

    name: ClassVar[str] = "premium_budget"

    def _build(self, ctx: HedgeContext) -> list[Row]:
        self._premium = cp.Parameter(len(ctx.instruments))
        expr = self._premium @ ctx.x
        return [Row("premium_budget.max", expr <= self._max, expr, self._max, "<=")]

    def _refresh(self, data: HedgeData) -> None:
        super()._refresh(data)
        if hasattr(self, "_premium"):
            self._premium.value = data.attribute("premium")


class CarryBudget(_CapOnLinear):
    r"""Cap on the hedge's annual carry: financing, expense ratios, borrow fees.

    .. math:: \sum_i c_i x_i + b_i \max(-x_i, 0) \le \text{max}

    with :math:`c_i` the annual carry per unit held long and :math:`b_i \ge 0` the
    borrow fee on short notional. ``max`` is a fraction of the book's value per year.
    Parameter ``"carry_budget.max"``.
    """

    name: ClassVar[str] = "carry_budget"

    def _build(self, ctx: HedgeContext) -> list[Row]:
        n = len(ctx.instruments)
        self._long = cp.Parameter(n)
        self._short = cp.Parameter(n, nonneg=True)
        expr = self._long @ ctx.x + self._short @ cp.neg(ctx.x)
        return [Row("carry_budget.max", expr <= self._max, expr, self._max, "<=")]

    def _refresh(self, data: HedgeData) -> None:
        super()._refresh(data)
        if hasattr(self, "_long"):
            self._long.value = data.attribute("carry_long")
            self._short.value = np.maximum(data.attribute("carry_short"), 0.0)


class Budget(Constraint):
    r"""The positions sum to a total: :math:`\sum_i x_i = \text{total}`.

    With instruments that are the whole portfolio (a book of zero plus assets to
    buy), ``Budget(1.0)`` is the fully invested constraint. Parameter ``"budget.total"``.
    """

    name: ClassVar[str] = "budget"

    def __init__(self, total: float = 1.0) -> None:
        super().__init__()
        self.total = check_limit(type(self).__name__, "total", total, lower=None)
        self._total = cp.Parameter()

    def _build(self, ctx: HedgeContext) -> list[Row]:
        expr = cp.sum(ctx.x)
        return [Row("budget.total", expr == self._total, expr, self._total, "==")]

    def _refresh(self, data: HedgeData) -> None:
        self._total.value = self.total

    def parameters(self) -> dict[str, float | None]:
        """Named parameters and their values."""
        return {"budget.total": self.total}

    def _set(self, key: str, value: float) -> None:
        self.total = check_limit(type(self).__name__, "total", value, lower=None)


class ExpectedPnL(Constraint):
    r"""Floor on the hedged book's expected return over the horizon.

    .. math:: \mu^\top (w + E x) \ge \text{min}

    Parameters
    ----------
    min : float
        Expected return, a fraction of the book's value over the horizon. Parameter
        ``"expected_pnl.min"``.
    expected_returns : Series by asset, optional
        Expected return of each risk-model asset over the horizon; the problem's
        expected returns when omitted.
    """

    name: ClassVar[str] = "expected_pnl"

    def __init__(self, min: float, expected_returns: pd.Series | None = None) -> None:
        super().__init__()
        self.min = check_limit(type(self).__name__, "min", min, lower=None)
        self.expected_returns = expected_returns
        self._min = cp.Parameter()
        self._offset = cp.Parameter()
        self._mu: cp.Parameter | None = None

    def _mu_assets(self, data: HedgeData) -> np.ndarray:
        mu = self.expected_returns if self.expected_returns is not None else data.expected_returns
        if mu is None:
            raise ConstraintSpecificationError(
                "ExpectedPnL needs expected returns: pass expected_returns=Series by asset "
                "to it or to the problem."
            )
        missing = data.assets.difference(mu.index)
        if len(missing):
            raise ConstraintSpecificationError(
                f"ExpectedPnL's expected returns lack assets {list(missing)[:5]} of the risk model."
            )
        return mu.reindex(data.assets).to_numpy(dtype=np.float64)

    def _build(self, ctx: HedgeContext) -> list[Row]:
        self._mu_assets(ctx.data)
        self._mu = cp.Parameter(len(ctx.instruments))
        expr = self._mu @ ctx.x + self._offset
        return [Row("expected_pnl.min", expr >= self._min, expr, self._min, ">=")]

    def _refresh(self, data: HedgeData) -> None:
        mu = self._mu_assets(data)
        if self._mu is not None:
            self._mu.value = data.exposures.to_numpy().T @ mu
        self._offset.value = float(data.book.to_numpy() @ mu)
        self._min.value = self.min

    def parameters(self) -> dict[str, float | None]:
        """Named parameters and their values."""
        return {"expected_pnl.min": self.min}

    def _set(self, key: str, value: float) -> None:
        self.min = check_limit(type(self).__name__, "min", value, lower=None)

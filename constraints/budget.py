"""Budgets: option premium, carry, the sum of positions, expected P&L."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import ClassVar

import cvxpy as cp
import numpy as np
import pandas as pd

from constraints._base import Compiled, Constraint, ParameterSpec, Row, assign, check_limit
from constraints._context import HedgeContext, HedgeData
from constraints.errors import ConstraintSpecificationError, MissingLabelsError
from factor_models.errors import DataError, DataWarning

__all__ = ["Budget", "CarryBudget", "ExpectedPnL", "PremiumBudget"]


class _CapOnLinear(Constraint):
    """``expression(x) <= max`` for a scalar cap; subclasses give the expression."""

    what: ClassVar[str]

    def __init__(self, max: float) -> None:
        self.max = check_limit(type(self).__name__, "max", max)

    def parameters(self) -> tuple[ParameterSpec, ...]:
        """``<name>.max``."""
        return (ParameterSpec(f"{self.name}.max", self.max, description=self.what),)

    def _expression(
        self, ctx: HedgeContext
    ) -> tuple[cp.Expression, list[tuple[cp.Parameter, str, bool]]]:
        """Return the capped expression and its coefficient parameters with their attributes."""
        raise NotImplementedError

    def _build(self, ctx: HedgeContext) -> Compiled:
        cap = cp.Parameter(nonneg=True)
        expr, coefficients = self._expression(ctx)
        key = f"{self.name}.max"

        def refresh(data: HedgeData, values: Mapping[str, float]) -> None:
            assign(cap, values[key])
            for param, attribute, clip in coefficients:
                v = data.attribute(attribute)
                assign(param, np.maximum(v, 0.0) if clip else v)

        return Compiled([Row(key, expr <= cap, expr, cap, "<=")], refresh)


class PremiumBudget(_CapOnLinear):
    r"""Cap on option premium paid up front (premium received offsets it).

    .. math:: \sum_i \pi_i x_i \le \text{max}

    with :math:`\pi_i` the premium per unit of notional. ``max`` is a fraction of the
    book's value. Parameter ``"premium_budget.max"``.
    """

    name: ClassVar[str] = "premium_budget"
    what: ClassVar[str] = "net premium paid / book value"

    def _expression(
        self, ctx: HedgeContext
    ) -> tuple[cp.Expression, list[tuple[cp.Parameter, str, bool]]]:
        premium = cp.Parameter(len(ctx.instruments))
        return premium @ ctx.x, [(premium, "premium", False)]


class CarryBudget(_CapOnLinear):
    r"""Cap on the hedge's annual carry: financing, expense ratios, borrow fees.

    .. math:: \sum_i c_i x_i + b_i \max(-x_i, 0) \le \text{max}

    with :math:`c_i` the annual carry per unit held long and :math:`b_i \ge 0` the
    borrow fee on short notional. ``max`` is a fraction of the book's value per year.
    Parameter ``"carry_budget.max"``.
    """

    name: ClassVar[str] = "carry_budget"
    what: ClassVar[str] = "annual carry / book value"

    def _expression(
        self, ctx: HedgeContext
    ) -> tuple[cp.Expression, list[tuple[cp.Parameter, str, bool]]]:
        n = len(ctx.instruments)
        long, short = cp.Parameter(n), cp.Parameter(n, nonneg=True)
        expr = long @ ctx.x + short @ cp.neg(ctx.x)
        return expr, [(long, "carry_long", False), (short, "carry_short", True)]


class Budget(Constraint):
    r"""The positions sum to a total: :math:`\sum_i x_i = \text{total}`.

    With instruments that are the whole portfolio (a book of zero plus assets to
    buy), ``Budget(1.0)`` is the fully invested constraint. Parameter ``"budget.total"``.
    """

    name: ClassVar[str] = "budget"

    def __init__(self, total: float = 1.0) -> None:
        self.total = check_limit(type(self).__name__, "total", total, lower=None)

    def parameters(self) -> tuple[ParameterSpec, ...]:
        """``budget.total``."""
        return (ParameterSpec("budget.total", self.total, lower=None, description="sum of x"),)

    def _build(self, ctx: HedgeContext) -> Compiled:
        total = cp.Parameter()
        expr = cp.sum(ctx.x)

        def refresh(data: HedgeData, values: Mapping[str, float]) -> None:
            assign(total, values["budget.total"])

        return Compiled([Row("budget.total", expr == total, expr, total, "==")], refresh)


def check_expected_returns(mu: pd.Series, name: str = "expected_returns") -> None:
    """Apply the rule every entry point applies to returns, to expected returns.

    An expected return at or below -100% over the horizon is impossible (a
    :class:`DataError`); one above +100% is implausible and likely percent (a
    :class:`DataWarning`; it is used). NaN and infinities are left to the callers.
    """
    values = pd.to_numeric(mu, errors="coerce").to_numpy(dtype=np.float64)
    low = np.flatnonzero(values <= -1.0)
    if len(low):
        shown = ", ".join(f"{mu.index[i]!r} ({values[i]:.4g})" for i in low[:3])
        raise DataError(
            f"The '{name}' argument holds expected returns at or below -100% over the "
            f"horizon, which no asset can lose: {shown}. Pass simple decimal returns "
            "(0.01 = 1%) over the problem's horizon; divide percent by 100."
        )
    high = np.flatnonzero(values > 1.0)
    if len(high):
        shown = ", ".join(f"{mu.index[i]!r} ({values[i]:+.4g})" for i in high[:3])
        warnings.warn(
            f"The '{name}' argument holds expected returns above +100% over the horizon: "
            f"{shown}; they are used as given. If they are percent, divide by 100 "
            "(0.01 = 1%).",
            DataWarning,
            stacklevel=3,
        )


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
        expected returns when omitted. At or below -100% is a ``DataError``, above
        +100% a ``DataWarning`` (the rule of every entry point that takes returns).
    """

    name: ClassVar[str] = "expected_pnl"

    def __init__(self, min: float, expected_returns: pd.Series | None = None) -> None:
        self.min = check_limit(type(self).__name__, "min", min, lower=None)
        if expected_returns is not None and not isinstance(expected_returns, pd.Series):
            raise ConstraintSpecificationError(
                "The 'expected_returns' parameter of ExpectedPnL must be a Series by asset. "
                f"Got {type(expected_returns).__name__} instead."
            )
        if expected_returns is not None:
            check_expected_returns(expected_returns, "ExpectedPnL.expected_returns")
        self.expected_returns = None if expected_returns is None else expected_returns.copy()

    def parameters(self) -> tuple[ParameterSpec, ...]:
        """``expected_pnl.min``."""
        return (
            ParameterSpec(
                "expected_pnl.min",
                self.min,
                lower=None,
                description="expected return of the hedged book over the horizon",
            ),
        )

    def _mu_assets(self, data: HedgeData) -> np.ndarray:
        mu = self.expected_returns if self.expected_returns is not None else data.expected_returns
        if mu is None:
            raise ConstraintSpecificationError(
                "ExpectedPnL needs expected returns: pass expected_returns=Series by asset "
                "to it or to the problem."
            )
        missing = data.assets.difference(mu.index)
        if len(missing):
            raise MissingLabelsError(
                f"ExpectedPnL's expected returns lack assets {list(missing)[:5]} of the risk model."
            )
        out = mu.reindex(data.assets).to_numpy(dtype=np.float64)
        if not np.isfinite(out).all():
            raise ConstraintSpecificationError("ExpectedPnL's expected returns hold NaN or inf.")
        return out

    def _build(self, ctx: HedgeContext) -> Compiled:
        self._mu_assets(ctx.data)
        mu, offset, floor = cp.Parameter(len(ctx.instruments)), cp.Parameter(), cp.Parameter()
        expr = mu @ ctx.x + offset

        def refresh(data: HedgeData, values: Mapping[str, float]) -> None:
            m = self._mu_assets(data)
            assign(mu, data.exposures.to_numpy().T @ m)
            assign(offset, float(data.book.to_numpy() @ m))
            assign(floor, values["expected_pnl.min"])

        return Compiled([Row("expected_pnl.min", expr >= floor, expr, floor, ">=")], refresh)

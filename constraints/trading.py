"""Limits on trading: turnover against the current hedge, liquidity from ADV."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import cvxpy as cp
import numpy as np
import pandas as pd

from constraints._base import Compiled, Constraint, ParameterSpec, Row, assign, check_limit
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
        The current hedge (fractions of book value), given to the problem as its current
        hedge; giving the problem another one as well is an error.
    """

    name: ClassVar[str] = "turnover"

    def __init__(self, max: float, current: pd.Series | None = None) -> None:
        self.max = check_limit(type(self).__name__, "max", max)
        if current is not None and not isinstance(current, pd.Series):
            raise ConstraintSpecificationError(
                "The 'current' parameter of Turnover must be a Series by instrument label. "
                f"Got {type(current).__name__} instead."
            )
        self.current = None if current is None else current.copy()

    def parameters(self) -> tuple[ParameterSpec, ...]:
        """``turnover.max``, fraction of the book's value."""
        return (ParameterSpec("turnover.max", self.max, description="sum |trade| / book value"),)

    def problem_inputs(self) -> Mapping[str, Any]:
        """Return the current hedge, when given here."""
        return {} if self.current is None else {"current": self.current}

    def _build(self, ctx: HedgeContext) -> Compiled:
        cap = cp.Parameter(nonneg=True, name="turnover.max")
        expr = cp.sum(cp.abs(ctx.trade))

        def refresh(data: HedgeData, values: Mapping[str, float]) -> None:
            assign(cap, values["turnover.max"])

        return Compiled([Row("turnover.max", expr <= cap, expr, cap, "<=")], refresh)


class Liquidity(Constraint):
    r"""Participation limit from average daily volume, on trades or on positions.

    .. math:: |t_i| \le p \cdot d \cdot \mathrm{ADV}_i / V

    with :math:`t = x - x^{\text{current}}` (``on="trades"``: trade within ``days`` days
    at participation ``p``) or :math:`t = x` (``on="positions"``: able to exit within
    ``days`` days). Instruments without an ADV are not limited; if none has one, the
    result says so in its notes.

    Parameters
    ----------
    max_participation : float
        Fraction of ADV, > 0 (a zero participation would forbid trading; use ``Bounds``
        for that). Parameter ``"liquidity.max_participation"`` (``on="trades"``) or
        ``"liquidity_positions.max_participation"`` (``on="positions"``).
    days : float, default 1.0
        Days allowed, > 0. Parameter ``"liquidity.days"`` or ``"liquidity_positions.days"``.
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
        owner = type(self).__name__
        self.max_participation = check_limit(
            owner, "max_participation", max_participation, lower_open=True
        )
        self.days = check_limit(owner, "days", days, lower_open=True)
        if on not in ("trades", "positions"):
            raise ConstraintSpecificationError(
                f"The 'on' parameter of Liquidity must be 'trades' or 'positions'. Got {on!r}."
            )
        self.on = on

    @property
    def key(self) -> str:
        """Prefix of the parameter keys and row labels: distinct for the two modes."""
        return "liquidity" if self.on == "trades" else "liquidity_positions"

    def parameters(self) -> tuple[ParameterSpec, ...]:
        """Participation (fraction of ADV) and days."""
        return (
            ParameterSpec(
                f"{self.key}.max_participation",
                self.max_participation,
                lower_open=True,
                description=f"fraction of ADV ({self.on})",
            ),
            ParameterSpec(
                f"{self.key}.days", self.days, lower_open=True, description=f"days ({self.on})"
            ),
        )

    def _build(self, ctx: HedgeContext) -> Compiled:
        index = np.flatnonzero(np.isfinite(ctx.data.attribute("adv")))
        if len(index) == 0:
            note = f"{self!r} limits no instrument: none of them has an ADV (instrument adv=...)."
            return Compiled([], lambda data, values: None, notes=[note])
        cap = cp.Parameter(len(index), nonneg=True)
        moved = ctx.trade if self.on == "trades" else ctx.x
        expr = cp.abs(moved[index])
        names = tuple(f"{self.key}[{ctx.instruments[int(i)]}]" for i in index)
        p_key, d_key = f"{self.key}.max_participation", f"{self.key}.days"

        def refresh(data: HedgeData, values: Mapping[str, float]) -> None:
            assign(cap, values[p_key] * values[d_key] * data.attribute("adv")[index])

        return Compiled([Row(self.key, expr <= cap, expr, cap, "<=", names)], refresh)

    def __repr__(self) -> str:
        return (
            f"Liquidity(max_participation={self.max_participation!r}, days={self.days!r}, "
            f"on={self.on!r})"
        )

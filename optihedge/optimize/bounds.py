"""The instruments' own bounds (an inverse ETF held long, a sale of at most the holding)."""

from __future__ import annotations

from collections.abc import Mapping

import cvxpy as cp
import numpy as np

from constraints import Compiled, HedgeContext, HedgeData, Row
from optihedge.errors import SpecificationError

__all__ = ["instrument_bounds"]


def instrument_bounds(ctx: HedgeContext) -> Compiled:
    """Rows for the instruments' finite bounds, their values refreshed from the data."""
    rows: list[Row] = []
    params: list[tuple[cp.Parameter, str, np.ndarray]] = []
    for side in ("lower", "upper"):
        index = np.flatnonzero(np.isfinite(ctx.data.attribute(side)))
        if len(index) == 0:
            continue
        p = cp.Parameter(len(index))
        params.append((p, side, index))
        expr = ctx.x[index]
        cons = expr >= p if side == "lower" else expr <= p
        names = tuple(f"instrument.{side}[{ctx.instruments[int(i)]}]" for i in index)
        sense = ">=" if side == "lower" else "<="
        rows.append(Row(f"instrument.{side}", cons, expr, p, sense, names))  # type: ignore[arg-type]

    def refresh(data: HedgeData, values: Mapping[str, float]) -> None:
        for p, side, index in params:
            bound = data.attribute(side)[index]
            if not np.isfinite(bound).all():
                raise SpecificationError(
                    "An instrument's bound became infinite; build a new HedgeProblem."
                )
            p.value = bound

    return Compiled(rows, refresh)

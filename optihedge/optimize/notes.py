"""The notes a hedge result carries about its limits: kinks and no hedge.

:func:`kink_notes` names the limits whose shadow price depends on the direction (measured
by ``optimize.slopes``); :func:`no_hedge_note` says why the optimum holds nothing when
only the instruments' own bounds stand in the way. Tied instruments are noted by
``optimize.ties``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from constraints import HedgeData
from optihedge.optimize.result import POSITION_TOLERANCE
from optihedge.optimize.slopes import Slopes

__all__ = ["kink_notes", "no_hedge_note"]


def kink_notes(stats: dict[str, Any], sided: Mapping[str, Slopes]) -> list[str]:
    """Name the degenerate limits in a note; ``one_sided_shadow_prices`` in ``stats``."""
    if not sided:
        return []
    stats["one_sided_shadow_prices"] = {
        k: {"relaxing_gains": v.relaxing_gains, "tightening_costs": v.tightening_costs}
        for k, v in sided.items()
    }
    said = "; ".join(
        f"{k}: relaxing gains {v.relaxing_gains:.4g} per unit, tightening "
        + (
            "leaves nothing feasible"
            if not np.isfinite(v.tightening_costs)
            else f"costs {v.tightening_costs:.4g}"
        )
        for k, v in sided.items()
    )
    return [
        "Some limits bind where the objective has a kink, so their shadow price depends "
        "on the direction: the table shows what relaxing each gains; tightening costs "
        f"more ({said}); the limit table flags them (degenerate)."
    ]


def no_hedge_note(data: HedgeData, x: np.ndarray, limits: pd.DataFrame) -> list[str]:
    """Say so when the optimum is to hold nothing and only the bounds stand in the way.

    With no current hedge, every position at zero and no limit binding, the optimum says
    that nothing the instruments' own bounds allow improves on holding none. Where
    instruments sit at a bound of zero (an inverse ETF or a bought option: long only; a
    short book offered only those gets no hedge), the note names them and the fix.
    """
    scale = np.maximum(np.abs(data.current.to_numpy()), np.abs(x))
    if x.size == 0 or float(scale.max()) > POSITION_TOLERANCE or bool(limits["binding"].any()):
        return []
    lower, upper = data.attribute("lower"), data.attribute("upper")
    sides = [
        f"{name} (long only)" if lo == 0.0 else f"{name} (short only)"
        for name, lo, hi in zip(data.instruments, lower, upper, strict=True)
        if lo == 0.0 or hi == 0.0
    ]
    if not sides:
        return []
    return [
        "No hedge: no position the instruments' bounds allow improves on holding none, "
        f"and these can be held on one side only: {', '.join(sides)}. If this book needs "
        "the other side (a short book is reduced by long exposure), offer an instrument "
        "that moves against it, or allow the other side where it can be traded."
    ]

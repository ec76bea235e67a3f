"""Risk measures, the public module ``optihedge.risk``.

It re-exports the public names of :mod:`optihedge.measures.risk`: VaR and expected
shortfall (sample or weighted outcomes), their normal (parametric) forms, maximum
drawdown and horizon scaling.
``import optihedge.risk`` and ``from optihedge import risk`` give this module.
"""

from __future__ import annotations

from optihedge.measures.risk import (
    expected_shortfall,
    max_drawdown,
    parametric_es,
    parametric_var,
    scale_to_horizon,
    value_at_risk,
)

__all__ = [
    "expected_shortfall",
    "max_drawdown",
    "parametric_es",
    "parametric_var",
    "scale_to_horizon",
    "value_at_risk",
]

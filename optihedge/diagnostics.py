"""Hedge-quality diagnostics, the public module ``optihedge.diagnostics``.

It re-exports the public names of :mod:`optihedge.measures.diagnostics`:
``hedge_quality`` (correlation, beta, effectiveness and tracking error by window; the
pre-sized hedge applied out of sample in stress windows) and ``beta_drift_band`` (the
book beta band inside which a hedge needs no rebalancing).
``import optihedge.diagnostics`` and ``from optihedge import diagnostics`` give this module.
"""

from __future__ import annotations

from optihedge.measures.diagnostics import (
    STRESS_WINDOWS,
    HedgeQuality,
    beta_drift_band,
    hedge_quality,
)

__all__ = ["STRESS_WINDOWS", "HedgeQuality", "beta_drift_band", "hedge_quality"]

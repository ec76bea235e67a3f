"""Hedge policies through history: the policy as a value and the walk-forward backtest.

The top layer (above :mod:`optihedge.sweeps`): it may use every layer below it, and only
``optihedge/__init__`` (lazily), the demo and the command line import it.

Modules
-------
policy
    The policy's parts as frozen values: the decision schedule, regime bands, triggers
    between scheduled dates, exit rules written at entry, the rolling premium budget.
metrics
    Performance and hedge statistics of daily value paths (drawdowns, hedge efficiency,
    bull-market drag, capture, calibration of predicted risk, the divested alternative).
"""

from __future__ import annotations

__all__: list[str] = []

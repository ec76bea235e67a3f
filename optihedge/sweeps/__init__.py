"""Sweeps: one problem solved at many parameter and input points, in parallel, durably.

``sweep(problem, grid, ...)`` returns a :class:`SweepResult` (a tidy table of points and
a long table of weights); ``plots`` draws frontiers, shadow prices and allocations.
"""

from __future__ import annotations

from optihedge.sweeps._sweep import SweepResult, sweep
from optihedge.sweeps.plots import allocation_plot, frontier_plot, shadow_price_plot

__all__ = ["SweepResult", "allocation_plot", "frontier_plot", "shadow_price_plot", "sweep"]

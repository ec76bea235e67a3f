"""Scenarios of asset returns over a horizon: historical, bootstrap, Monte Carlo, stress."""

from __future__ import annotations

from optihedge.scenarios._scenarios import STRESS_WINDOWS, Scenarios

__all__ = ["STRESS_WINDOWS", "Scenarios"]

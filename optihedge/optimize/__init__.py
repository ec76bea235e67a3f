"""The optimizer: objectives, the compiled hedge problem, its inputs and its results.

Modules: ``problem`` (HedgeProblem: compile once, refresh, solve), ``inputs`` (what
changes from day to day), ``data`` (labels checked, numbers assembled), ``registry``
(one key per tunable number), ``objectives`` and ``shortfall`` (objective terms),
``solve`` (solver loop, limit table), ``integer`` (whole contracts), ``diagnose``
(infeasibility), ``solution`` (Solution, a solve's light answer: the sweep row),
``result`` (HedgeResult, a value).
"""

from __future__ import annotations

from optihedge.optimize.inputs import HedgeInputs
from optihedge.optimize.objectives import (
    CarryCost,
    CompiledObjective,
    Objective,
    RobustVariance,
    TradingCost,
    Variance,
)
from optihedge.optimize.problem import HedgeProblem
from optihedge.optimize.registry import ParameterRegistry
from optihedge.optimize.result import HedgeResult
from optihedge.optimize.shortfall import ExpectedShortfall
from optihedge.optimize.solution import LimitNumbers, Solution, SolveStats

__all__ = [
    "CarryCost",
    "CompiledObjective",
    "ExpectedShortfall",
    "HedgeInputs",
    "HedgeProblem",
    "HedgeResult",
    "LimitNumbers",
    "Objective",
    "ParameterRegistry",
    "RobustVariance",
    "Solution",
    "SolveStats",
    "TradingCost",
    "Variance",
]

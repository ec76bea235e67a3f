"""The optimizer: objectives, the compiled hedge problem, its inputs and its results.

Modules: ``problem`` (HedgeProblem, the facade), ``compiled`` (CompiledHedge, the
compiled core it delegates to: compile once, refresh, solve), ``inputs`` (what
changes from day to day), ``data`` (labels checked, numbers assembled), ``registry``
(one key per tunable number), ``objective`` (the term and its algebra;
``objectives`` hands every term on), ``variance``, ``costs`` and ``shortfall``
(objective terms),
``terms`` (the compiled-term protocol), ``solve`` (solver loop, limit table),
``integer`` (whole contracts), ``diagnose``
(infeasibility), ``solution`` (Solution, a solve's light answer: the sweep row),
``result`` (HedgeResult, a value), ``assemble`` (a result built from a solve's
numbers), ``hooks`` (the calls a result
makes into the analysis layer, registered by it).

The names below load on first use, so that ``optihedge.optimize.hooks`` is light (the
top-level package fills it when imported, before cvxpy is needed).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

_LAZY_NAMES = {
    "HedgeInputs": "optihedge.optimize.inputs",
    "CarryCost": "optihedge.optimize.costs",
    "CompiledObjective": "optihedge.optimize.objectives",
    "Objective": "optihedge.optimize.objective",
    "RobustVariance": "optihedge.optimize.variance",
    "TradingCost": "optihedge.optimize.costs",
    "Variance": "optihedge.optimize.variance",
    "HedgeProblem": "optihedge.optimize.problem",
    "ParameterRegistry": "optihedge.optimize.registry",
    "HedgeResult": "optihedge.optimize.result",
    "ExpectedShortfall": "optihedge.optimize.shortfall",
    "LimitNumbers": "optihedge.optimize.solution",
    "Solution": "optihedge.optimize.solution",
    "SolveStats": "optihedge.optimize.solution",
}

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

if TYPE_CHECKING:
    from optihedge.optimize.costs import CarryCost, TradingCost
    from optihedge.optimize.inputs import HedgeInputs
    from optihedge.optimize.objectives import CompiledObjective, Objective
    from optihedge.optimize.problem import HedgeProblem
    from optihedge.optimize.registry import ParameterRegistry
    from optihedge.optimize.result import HedgeResult
    from optihedge.optimize.shortfall import ExpectedShortfall
    from optihedge.optimize.solution import LimitNumbers, Solution, SolveStats
    from optihedge.optimize.variance import RobustVariance, Variance


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    elif not name.startswith("_") and (Path(__file__).parent / f"{name}.py").exists():
        value = importlib.import_module(f"{__name__}.{name}")  # a submodule, as before
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""The objective terms under one name (their former module, kept for imports and pickles).

The base and its algebra are in :mod:`~optihedge.optimize.objective`, the terms in
:mod:`~optihedge.optimize.variance`, :mod:`~optihedge.optimize.costs` and
:mod:`~optihedge.optimize.shortfall`, the compiled-term protocol in
:mod:`~optihedge.optimize.terms`. ``from optihedge.optimize.objectives import Variance``
and a pickle naming ``optihedge.optimize.objectives.Variance`` keep working.
"""

from __future__ import annotations

from optihedge.optimize.costs import CarryCost, TradingCost
from optihedge.optimize.objective import SWEEP_OPTION, Objective, SumObjective
from optihedge.optimize.terms import (
    CompiledObjective,
    CompiledTerm,
    TermReport,
    expression_difference,
)
from optihedge.optimize.variance import RobustVariance, Variance

__all__ = [
    "SWEEP_OPTION",
    "CarryCost",
    "CompiledObjective",
    "CompiledTerm",
    "Objective",
    "RobustVariance",
    "SumObjective",
    "TermReport",
    "TradingCost",
    "Variance",
    "expression_difference",
]

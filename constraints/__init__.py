"""The constraint library: each limit turns a hedge context into cvxpy constraints.

Every number a user may change lives in a ``cp.Parameter`` under a stable name
(``"turnover.max"``), so a compiled problem is re-solved without rebuilding. Knows
nothing of statsmodels or of optihedge; never imports ``optihedge`` or
``factor_models``.
"""

from __future__ import annotations

from constraints._base import Constraint, Row, check_limit
from constraints._context import ATTRIBUTES, FactorRisk, HedgeContext, HedgeData
from constraints.bounds import Bounds, WholeContracts
from constraints.budget import Budget, CarryBudget, ExpectedPnL, PremiumBudget
from constraints.errors import ConstraintSpecificationError, ConvexityError, NotDPPError
from constraints.exposure import FactorExposure, GrossExposure, ResidualBeta
from constraints.trading import Liquidity, Turnover

__all__ = [
    "ATTRIBUTES",
    "Bounds",
    "Budget",
    "CarryBudget",
    "Constraint",
    "ConstraintSpecificationError",
    "ConvexityError",
    "ExpectedPnL",
    "FactorExposure",
    "FactorRisk",
    "GrossExposure",
    "HedgeContext",
    "HedgeData",
    "Liquidity",
    "NotDPPError",
    "PremiumBudget",
    "ResidualBeta",
    "Row",
    "Turnover",
    "WholeContracts",
    "check_limit",
]

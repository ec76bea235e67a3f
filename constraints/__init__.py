"""The constraint library: each limit turns a hedge context into cvxpy constraints.

A constraint is a description: it holds the user's numbers and never changes. Building
it into a problem creates that problem's cvxpy Parameters (see ``constraints._base``),
so one constraint object serves many problems. Every number a user may change has a
stable key (``"turnover.max"``) with its valid range, so a compiled problem is re-solved
without rebuilding. Knows nothing of statsmodels or of optihedge; never imports
``optihedge``, and of ``factor_models`` only the shared exception families
(``factor_models.errors``). cvxpy loads when a constraint class is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from constraints.errors import ConstraintSpecificationError, ConvexityError, NotDPPError

__all__ = [
    "ATTRIBUTES",
    "Bounds",
    "Budget",
    "CarryBudget",
    "Compiled",
    "Constraint",
    "ConstraintSpecificationError",
    "ConvexityError",
    "ExpectedPnL",
    "FactorExposure",
    "FactorRisk",
    "GrossExposure",
    "HedgeContext",
    "HedgeData",
    "IntegerPart",
    "Liquidity",
    "NotDPPError",
    "ParameterSpec",
    "PremiumBudget",
    "RebuildRequired",
    "ResidualBeta",
    "Row",
    "Turnover",
    "WholeContracts",
    "check_limit",
    "check_optional_limit",
    "covariance_with",
    "hedged_returns",
]

_LAZY = {
    "ATTRIBUTES": "constraints._context",
    "FactorRisk": "constraints._context",
    "HedgeContext": "constraints._context",
    "HedgeData": "constraints._context",
    "covariance_with": "constraints._context",
    "hedged_returns": "constraints._context",
    "Compiled": "constraints._base",
    "Constraint": "constraints._base",
    "IntegerPart": "constraints._base",
    "ParameterSpec": "constraints._base",
    "RebuildRequired": "constraints._base",
    "Row": "constraints._base",
    "check_limit": "constraints._base",
    "check_optional_limit": "constraints._base",
    "Bounds": "constraints.bounds",
    "WholeContracts": "constraints.bounds",
    "Budget": "constraints.budget",
    "CarryBudget": "constraints.budget",
    "ExpectedPnL": "constraints.budget",
    "PremiumBudget": "constraints.budget",
    "FactorExposure": "constraints.exposure",
    "GrossExposure": "constraints.exposure",
    "ResidualBeta": "constraints.exposure",
    "Liquidity": "constraints.trading",
    "Turnover": "constraints.trading",
}

if TYPE_CHECKING:
    from constraints._base import (
        Compiled,
        Constraint,
        IntegerPart,
        ParameterSpec,
        RebuildRequired,
        Row,
        check_limit,
        check_optional_limit,
    )
    from constraints._context import (
        ATTRIBUTES,
        FactorRisk,
        HedgeContext,
        HedgeData,
        covariance_with,
        hedged_returns,
    )
    from constraints.bounds import Bounds, WholeContracts
    from constraints.budget import Budget, CarryBudget, ExpectedPnL, PremiumBudget
    from constraints.exposure import FactorExposure, GrossExposure, ResidualBeta
    from constraints.trading import Liquidity, Turnover


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'constraints' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

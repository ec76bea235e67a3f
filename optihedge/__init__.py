"""optihedge: portfolio hedge optimizer.

Importing ``optihedge`` is light: submodules and the heavy libraries they need
(statsmodels, cvxpy, matplotlib) load when first used.

Units and signs (see each function): values in the book's base currency; returns are
simple decimal returns; positions are positive when long; VaR and expected shortfall
are positive loss numbers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY_NAMES = {
    "beta_adjusted_notional": "optihedge.sizing",
    "futures_contracts": "optihedge.sizing",
    "kelly_fraction": "optihedge.sizing",
    "min_variance_hedge_ratio": "optihedge.sizing",
    "target_volatility_multiplier": "optihedge.sizing",
    "returns_from_prices": "optihedge.datasets",
}
_SUBMODULES = ("attribution", "datasets", "errors", "pricing", "risk", "sizing")

__all__ = [
    "__version__",
    "attribution",
    "beta_adjusted_notional",
    "datasets",
    "errors",
    "futures_contracts",
    "kelly_fraction",
    "min_variance_hedge_ratio",
    "pricing",
    "returns_from_prices",
    "risk",
    "sizing",
    "target_volatility_multiplier",
]

if TYPE_CHECKING:
    from optihedge import attribution, datasets, errors, pricing, risk, sizing
    from optihedge.datasets import returns_from_prices
    from optihedge.sizing import (
        beta_adjusted_notional,
        futures_contracts,
        kelly_fraction,
        min_variance_hedge_ratio,
        target_volatility_multiplier,
    )


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"optihedge.{name}")
    else:
        raise AttributeError(f"module 'optihedge' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

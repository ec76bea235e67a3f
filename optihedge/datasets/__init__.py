"""Real daily market data embedded in optihedge, usable offline.

See :func:`load_default` for what is inside and its known flaws, and
:func:`returns_from_prices` for turning prices into returns with an explicit policy
for missing values.
"""

from __future__ import annotations

from optihedge.datasets._loader import KNOWN_FLAWS, load_default, metadata
from optihedge.datasets._returns import returns_from_prices
from optihedge.datasets._windows import STRESS_WINDOWS

__all__ = ["KNOWN_FLAWS", "STRESS_WINDOWS", "load_default", "metadata", "returns_from_prices"]

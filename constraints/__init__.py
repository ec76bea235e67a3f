"""The constraint library: each limit turns a hedge context into cvxpy constraints.

Knows nothing of statsmodels or of optihedge; never imports ``optihedge`` or
``factor_models``.
"""

from __future__ import annotations

from constraints.errors import ConstraintSpecificationError, ConvexityError, NotDPPError

__all__ = ["ConstraintSpecificationError", "ConvexityError", "NotDPPError"]

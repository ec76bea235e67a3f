"""Estimation layer: multi-window regressions, factor risk models, covariance estimators.

Knows nothing of cvxpy or of hedging; never imports ``optihedge`` or ``constraints``.
"""

from __future__ import annotations

from factor_models.errors import CollinearityError, EstimationDataError, InsufficientDataError

__all__ = ["CollinearityError", "EstimationDataError", "InsufficientDataError"]

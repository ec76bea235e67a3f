"""The constraint protocol: build once into cvxpy, update parameter values per solve."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import cvxpy as cp
import numpy as np

from constraints._context import HedgeContext, HedgeData
from constraints.errors import ConstraintSpecificationError, ConvexityError

__all__ = ["Constraint", "Row", "check_limit", "check_optional_limit"]

Sense = Literal["<=", ">=", "=="]


@dataclass(frozen=True)
class Row:
    """A limit of a constraint, scalar or one per element, for reporting.

    ``expression`` and ``limit`` are scalars, or vectors of the same length with one
    label per element in ``labels``.
    """

    label: str
    constraint: cp.Constraint
    expression: cp.Expression
    limit: cp.Expression
    sense: Sense
    labels: tuple[str, ...] | None = None

    def names(self) -> tuple[str, ...]:
        """One label per element."""
        return self.labels if self.labels is not None else (self.label,)

    def values(self) -> np.ndarray:
        """Return the constrained quantities at the last solve."""
        return np.atleast_1d(np.asarray(self.expression.value, dtype=np.float64))

    def limit_values(self) -> np.ndarray:
        """Return the limits at the last solve."""
        return np.broadcast_to(
            np.atleast_1d(np.asarray(self.limit.value, dtype=np.float64)), self.values().shape
        )

    def slacks(self, values: np.ndarray, limits: np.ndarray) -> np.ndarray:
        """Room left before each limit (>= 0 when satisfied)."""
        if self.sense == "<=":
            out = limits - values
        elif self.sense == ">=":
            out = values - limits
        else:
            out = -np.abs(values - limits)
        return np.asarray(out, dtype=np.float64)

    def shadow_prices(self) -> np.ndarray:
        """Objective improvement per unit of relaxation of each limit (>= 0)."""
        dual = self.constraint.dual_value
        n = len(self.names())
        if dual is None:
            return np.full(n, np.nan)
        d = np.abs(np.atleast_1d(np.asarray(dual, dtype=np.float64)))
        return d if d.shape == (n,) else np.full(n, np.nan)


def check_optional_limit(
    owner: str, name: str, value: Any, *, lower: float | None = 0.0
) -> float | None:
    """Like :func:`check_limit`, but ``None`` (no limit) passes through."""
    return None if value is None else check_limit(owner, name, value, lower=lower)


def check_limit(owner: str, name: str, value: Any, *, lower: float | None = 0.0) -> float:
    """Validate a scalar limit; the message names the constraint and the parameter."""
    bound = "" if lower is None else f" >= {lower:g}"
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ConstraintSpecificationError(
            f"The '{name}' parameter of {owner} must be a finite number{bound}. "
            f"Got {value!r} instead."
        )
    out = float(value)
    if not math.isfinite(out) or (lower is not None and out < lower):
        raise ConstraintSpecificationError(
            f"The '{name}' parameter of {owner} must be a finite number{bound}. "
            f"Got {value!r} instead."
        )
    return out


class Constraint(ABC):
    """A mandate limit: ``build`` once into cvxpy rows, ``update`` numbers per solve.

    Subclasses keep every number a user may change in a ``cp.Parameter`` and expose
    it under a stable name (``"turnover.max"``) through :meth:`parameters` and
    :meth:`set_parameter`.
    """

    name: ClassVar[str]

    def __init__(self) -> None:
        self._rows: list[Row] = []
        self._data: HedgeData | None = None

    @abstractmethod
    def _build(self, ctx: HedgeContext) -> list[Row]:
        """Create parameters and rows from the context."""

    def _refresh(self, data: HedgeData) -> None:  # noqa: B027 - optional hook
        """Set parameter values from ``data`` and the constraint's own limits."""

    @abstractmethod
    def parameters(self) -> dict[str, float | None]:
        """User-facing named numbers of this constraint (e.g. ``{"turnover.max": 0.2}``)."""

    @abstractmethod
    def _set(self, key: str, value: float) -> None:
        """Store a new value for a parameter key (validated)."""

    def build(self, ctx: HedgeContext) -> list[Row]:
        """Build the cvxpy rows once; raise ConvexityError if one is not DCP."""
        self._data = ctx.data
        rows = self._build(ctx)
        for row in rows:
            if not row.constraint.is_dcp():
                raise ConvexityError(f"{self!r} built a constraint that is not DCP: {row.label}")
        self._rows = rows
        self._refresh(ctx.data)
        return rows

    def update(self, data: HedgeData) -> None:
        """Refresh parameter values for new data (risk model, current hedge, ...)."""
        self._data = data
        self._refresh(data)

    def set_parameter(self, key: str, value: float) -> None:
        """Change one named parameter; takes effect at the next solve without rebuilding."""
        if key not in self.parameters():
            raise ConstraintSpecificationError(
                f"{self!r} has no parameter {key!r}; its parameters are "
                f"{sorted(self.parameters())}."
            )
        self._set(key, value)
        if self._data is not None:
            self._refresh(self._data)

    @property
    def rows(self) -> list[Row]:
        """The rows built, in order."""
        return list(self._rows)

    def __repr__(self) -> str:
        args = ", ".join(
            f"{k.split('.', 1)[1]}={v!r}" for k, v in self.parameters().items() if v is not None
        )
        return f"{type(self).__name__}({args})"

"""The term protocol: a constraint is a description; building it into a problem compiles it.

A :class:`Constraint` holds the user's numbers and never changes. ``build(ctx)`` creates
the cvxpy Parameters and rows *inside one problem* and returns them as a
:class:`Compiled`, whose ``refresh(data, values)`` sets the parameter values from the
problem's numbers and its parameter registry. So one constraint object can sit in any
number of problems, and changing a parameter of one problem changes nothing else.

Every number a user may change between solves is declared by :meth:`Constraint.parameters`
as a :class:`ParameterSpec`: one unique key (``"turnover.max"``), its value, its valid
range and what it means. The problem keeps the values; sweeps and stored results use
the keys as column names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import cvxpy as cp
import numpy as np

from constraints._context import HedgeContext, HedgeData
from constraints.errors import ConstraintSpecificationError, ConvexityError, NotDPPError
from factor_models.validation import check_scalar, interval_text

__all__ = [
    "Compiled",
    "Constraint",
    "IntegerPart",
    "ParameterSpec",
    "RebuildRequired",
    "Row",
    "assign",
    "check_limit",
    "check_optional_limit",
]

Sense = Literal["<=", ">=", "=="]
Refresh = Callable[[HedgeData, Mapping[str, float]], None]


_SIGNS = frozenset({"nonneg", "nonpos"})


def assign(param: cp.Parameter, value: Any) -> None:
    """Set ``param`` to ``value`` unless it holds that value already.

    cvxpy's setter checks every value (about 20 microseconds, a sizeable part of a sweep
    point). The checks that matter for a real parameter with at most a sign attribute
    are made here, cheaper: the shape, finite numbers, the sign. Anything else (other
    attributes, a value these checks refuse) goes through cvxpy's setter, whose error
    names the problem.
    """
    old = param.value
    if old is not None and np.shape(old) == np.shape(value) and np.array_equal(old, value):
        return
    attrs = {k for k, on in param.attributes.items() if on is True}
    arr = np.asarray(value)
    if (
        attrs <= _SIGNS
        and arr.shape == param.shape
        and arr.dtype.kind in "fiu"
        and np.isfinite(arr).all()
        and ("nonneg" not in attrs or bool((arr >= 0).all()))
        and ("nonpos" not in attrs or bool((arr <= 0).all()))
    ):
        arr = arr.astype(np.float64)
        param.save_value(float(arr) if arr.ndim == 0 else arr)
        return
    param.value = value


@dataclass(frozen=True)
class ParameterSpec:
    """One tunable number of a term: its registry key, value, valid range and meaning.

    Attributes
    ----------
    key : str
        Unique in a problem, e.g. ``"turnover.max"``; used as a column name by sweeps.
    value : float
        The value the term was constructed with (the problem's starting value).
    lower, upper : float or None
        Valid range; None is unbounded. ``lower_open`` / ``upper_open`` exclude the end.
    description : str
        What the number means, with its unit.
    hint : str
        What would fix a value out of range, added to the error (empty: nothing added).
    """

    key: str
    value: float
    lower: float | None = 0.0
    upper: float | None = None
    lower_open: bool = False
    upper_open: bool = False
    description: str = ""
    hint: str = ""

    @property
    def interval(self) -> str:
        """The valid range as text, e.g. ``[0, inf)``."""
        return interval_text(self.lower, self.upper, not self.lower_open, not self.upper_open)

    def check(self, value: Any) -> float:
        """Return ``value`` as a float in range, or raise naming the key and the range."""
        return check_scalar(
            value,
            self.key,
            lower=self.lower,
            upper=self.upper,
            lower_inclusive=not self.lower_open,
            upper_inclusive=not self.upper_open,
            expected=f"The '{self.key}' parameter must be a finite number in {self.interval}",
            hint=self.hint,
            error=ConstraintSpecificationError,
        )


@dataclass(frozen=True)
class Row:
    """A limit of a compiled constraint, scalar or one per element, for reporting.

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

    def limit_values(self, values: np.ndarray | None = None) -> np.ndarray:
        """Return the limits at the last solve (``values``: :meth:`values`, if at hand)."""
        shape = (self.values() if values is None else values).shape
        limit = np.atleast_1d(np.asarray(self.limit.value, dtype=np.float64))
        return limit if limit.shape == shape else np.broadcast_to(limit, shape)

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


@dataclass(frozen=True)
class IntegerPart:
    r"""Positions a compiled term makes whole multiples of a unit: :math:`x_i = k_i u_i`.

    Attributes
    ----------
    index : ndarray of int
        Positions (in instrument order) that must be whole.
    target : Parameter
        Positions fixed from outside: by a rounding search, or at the integer optimum to
        price every limit with a continuous re-solve.
    fixed : Constraint
        ``x[index] == target``.
    integer_rows : list of Constraint
        ``x[index] == u * k`` with integer ``k``; empty when the problem has no exact
        integer solver (the rounding search fixes ``target`` instead).
    """

    index: np.ndarray
    target: cp.Parameter
    fixed: cp.Constraint
    integer_rows: list[cp.Constraint]


@dataclass
class Compiled:
    """One term built into one problem: its rows and how to refresh their numbers.

    Attributes
    ----------
    rows : list of Row
        The limits, for solving and reporting.
    refresh : callable ``(data, values) -> None``
        Sets every parameter value from the problem's numbers and parameter registry.
    integer : IntegerPart, optional
        Set by terms that make positions whole.
    notes : list of str
        Things a user must know about this term in this problem (e.g. a liquidity limit
        that limits no instrument); results carry them.
    """

    rows: list[Row]
    refresh: Refresh
    integer: IntegerPart | None = None
    notes: list[str] = field(default_factory=list)


class RebuildRequired(RuntimeError):
    """A compiled term needs the problem rebuilt with other build options.

    ``options`` is merged into :attr:`HedgeContext.options` for the rebuild (for example
    a larger scenario capacity). The problem rebuilds and solves again; users never see it.
    """

    def __init__(self, options: Mapping[str, Any], reason: str) -> None:
        super().__init__(reason)
        self.options = dict(options)


def check_optional_limit(
    owner: str, name: str, value: Any, *, lower: float | None = 0.0
) -> float | None:
    """Like :func:`check_limit`, but ``None`` (no limit) passes through."""
    return None if value is None else check_limit(owner, name, value, lower=lower)


def check_limit(
    owner: str, name: str, value: Any, *, lower: float | None = 0.0, lower_open: bool = False
) -> float:
    """Validate a scalar limit; the message names the constraint and the parameter."""
    bound = "" if lower is None else f" {'>' if lower_open else '>='} {lower:g}"
    return check_scalar(
        value,
        name,
        lower=lower,
        lower_inclusive=not lower_open,
        expected=f"The '{name}' parameter of {owner} must be a finite number{bound}",
        error=ConstraintSpecificationError,
    )


class Constraint(ABC):
    """A mandate limit: a description that compiles into any number of problems.

    Subclasses store the user's numbers in ``__init__`` (validated, never changed
    afterwards), declare them in :meth:`parameters`, and implement :meth:`_build`, which
    creates the cvxpy Parameters and rows for one problem and returns them with a
    ``refresh`` function. They never keep problem state on ``self``.

    A term says what it needs of the problem through this protocol, never by its class:
    :meth:`problem_inputs` (inputs it carries, e.g. a current hedge), :meth:`integer_method`
    (whole positions), and the :class:`Compiled` it returns (rows, integer part, notes).
    """

    name: ClassVar[str]

    @abstractmethod
    def parameters(self) -> tuple[ParameterSpec, ...]:
        """Return the tunable numbers of this constraint, with their values as constructed."""

    @abstractmethod
    def _build(self, ctx: HedgeContext) -> Compiled:
        """Create parameters and rows for one problem."""

    def build(self, ctx: HedgeContext) -> Compiled:
        """Compile into the problem of ``ctx``.

        The problem checks its whole cvxpy problem for DCP and DPP once; only if that
        fails does it call :meth:`check` on each term to name the one at fault.
        """
        return self._build(ctx)

    def check(self, compiled: Compiled) -> None:
        """Raise ConvexityError or NotDPPError naming the first row that breaks the rules."""
        for row in compiled.rows:
            if not row.constraint.is_dcp():
                raise ConvexityError(f"{self!r} built a constraint that is not DCP: {row.label}")
            if not cp.Problem(cp.Minimize(0), [row.constraint]).is_dpp():
                raise NotDPPError(f"{self!r} built a row that is not DPP: {row.label}.")

    def problem_inputs(self) -> Mapping[str, Any]:
        """Return the problem inputs this constraint carries (none by default)."""
        return {}

    def integer_method(self) -> str | None:
        """How whole positions are wanted (``"auto"``, ``"exact"``, ``"rounding"``), or None."""
        return None

    def values(self) -> dict[str, float]:
        """Return the constructed value of each parameter, by key."""
        return {spec.key: spec.value for spec in self.parameters()}

    def __repr__(self) -> str:
        args = ", ".join(f"{s.key.rsplit('.', 1)[1]}={s.value!r}" for s in self.parameters())
        return f"{type(self).__name__}({args})"

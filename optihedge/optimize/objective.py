r"""The objective term and its algebra: :class:`Objective`, :class:`SumObjective`.

A term is a description, like a constraint: ``build(ctx)`` compiles it into one problem
(a :class:`~optihedge.optimize.terms.CompiledTerm` holding that problem's Parameters) and
never changes the term. Terms add and scale: ``Variance() + 0.5 * TradingCost()``
(scaling returns a new term). Each term's weight is a registry parameter
(``"trading_cost.weight"``), baked into the parameter values at refresh, since a
Parameter times a Parameter would not be DPP.

Units: variance of the hedged book's return over the problem's horizon (fraction of
book value squared); costs as fractions of book value over the horizon.

The terms live in their own modules: :mod:`~optihedge.optimize.variance` (``Variance``,
``RobustVariance``), :mod:`~optihedge.optimize.costs` (``TradingCost``, ``CarryCost``),
:mod:`~optihedge.optimize.shortfall` (``ExpectedShortfall``); each imports this one.
:mod:`~optihedge.optimize.objectives` hands all of them on under their old module path.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from constraints import HedgeContext, HedgeData, ParameterSpec
from optihedge._validation import check_scalar
from optihedge.errors import SpecificationError
from optihedge.optimize.terms import (
    CompiledSum,
    CompiledTerm,
)

__all__ = ["QUADRATIC_OPTION", "SWEEP_OPTION", "Objective", "SumObjective"]

#: build option a sweep sets on its copy of a problem (terms may compile for re-solves)
SWEEP_OPTION = "sweep"
#: build option the problem sets: whether the objective is quadratic (a term then knows its
#: LP is not the whole problem: a QP solver answers every round)
QUADRATIC_OPTION = "objective.quadratic"


class Objective(ABC):
    """A term of the objective: a description that compiles into any number of problems.

    Parameters
    ----------
    weight : float, default 1.0
        Multiplies the term (>= 0). Registry parameter ``"<key>.weight"``.
    """

    key: ClassVar[str] = "objective"
    #: the term needs scenarios (the problem says so at construction when there are none)
    needs_scenarios: ClassVar[bool] = False

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = check_scalar(weight, "weight", lower=0.0)

    @abstractmethod
    def build(self, ctx: HedgeContext) -> CompiledTerm:
        """Compile the term into the problem of ``ctx``."""

    def children(self) -> list[Objective]:
        """Sub-terms (a sum lists them; a plain term has none)."""
        return []

    def terms(self) -> list[Objective]:
        """Return the plain terms: the term itself, or a sum's terms."""
        return [self]

    def parameters(self) -> tuple[ParameterSpec, ...]:
        """Named parameters a solve may change: the weight."""
        return (
            ParameterSpec(f"{self.key}.weight", self.weight, description=f"weight of {self!r}"),
        )

    def reads(self) -> tuple[str, ...]:
        """Per-unit instrument attributes the term's risk reads beyond the exposures."""
        return ()

    def scenario_precision(self) -> str:
        """Return the dtype the scenario P&L should be held in for this term."""
        return "float64"

    def reference(self, data: HedgeData, values: Mapping[str, float]) -> float:
        """Return the term's value for the unhedged book (scales the objective); 0 for costs."""
        return 0.0

    @property
    def is_quadratic(self) -> bool:
        """Whether the term makes the objective quadratic (needs a QP/MIQP solver)."""
        return False

    def __add__(self, other: Objective) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return SumObjective([*self.terms(), *other.terms()])

    def __mul__(self, factor: float) -> Objective:
        if isinstance(factor, bool) or not isinstance(factor, int | float):
            return NotImplemented
        scaled = object.__new__(type(self))
        scaled.__dict__.update(self.__dict__)
        scaled.weight = check_scalar(factor, "weight", lower=0.0) * self.weight
        return scaled

    __rmul__ = __mul__

    def __le__(self, other: object) -> Any:
        raise SpecificationError(
            f"{self!r} <= value is not supported yet: use the matching constraint "
            "(e.g. CarryBudget) to cap a cost."
        )

    def _weight(self, values: Mapping[str, float]) -> float:
        return values[f"{self.key}.weight"]

    def __repr__(self) -> str:
        w = "" if self.weight == 1.0 else f"weight={self.weight!r}"
        return f"{type(self).__name__}({w})"


class SumObjective(Objective):
    """The sum of several terms."""

    def __init__(self, terms: list[Objective]) -> None:
        self.weight = 1.0
        self._terms = list(terms)

    def children(self) -> list[Objective]:
        """Return the terms summed."""
        return list(self._terms)

    def terms(self) -> list[Objective]:
        """Return the terms summed."""
        return list(self._terms)

    def parameters(self) -> tuple[ParameterSpec, ...]:
        """Every term's named parameters."""
        return tuple(spec for term in self._terms for spec in term.parameters())

    def build(self, ctx: HedgeContext) -> CompiledTerm:
        """Build every term; the sum asks each of them (:class:`CompiledSum`)."""
        return CompiledSum([term.build(ctx) for term in self._terms])

    def reference(self, data: HedgeData, values: Mapping[str, float]) -> float:
        """Sum of the terms' references."""
        return sum(term.reference(data, values) for term in self._terms)

    @property
    def is_quadratic(self) -> bool:
        """Whether any term is quadratic."""
        return any(term.is_quadratic for term in self._terms)

    def __mul__(self, factor: float) -> Objective:
        if isinstance(factor, bool) or not isinstance(factor, int | float):
            return NotImplemented
        return SumObjective([factor * term for term in self._terms])

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return " + ".join(repr(t) for t in self._terms)

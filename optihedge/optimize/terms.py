r"""The compiled-term protocol: what an objective term is once built into one problem.

:meth:`Objective.build <optihedge.optimize.objectives.Objective.build>` returns a
:class:`CompiledTerm`. The problem asks it, through typed methods with do-nothing
defaults, for everything it needs: the cvxpy expression and auxiliary constraints, new
parameter values (:meth:`~CompiledTerm.refresh`), whether and how to iterate within one
solve (:attr:`~CompiledTerm.iterative`, :meth:`~CompiledTerm.start`,
:meth:`~CompiledTerm.refine`, :meth:`~CompiledTerm.on_unbounded`), the exact difference
the whole-contract search compares counts by (:meth:`~CompiledTerm.exact_difference`),
solver settings, and what the result should state (:meth:`~CompiledTerm.report`, a
:class:`TermReport`). A new iterative or stateful term (an active set, cutting planes, a
parameter fixed in rounds) overrides these methods and edits no line of the problem
module.

:class:`CompiledObjective` is the adapter of the older callback form (a term built from
closures keeps working); :class:`CompiledSum` is a sum of terms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

import cvxpy as cp
import numpy as np

from constraints import HedgeData

__all__ = [
    "CompiledObjective",
    "CompiledSum",
    "CompiledTerm",
    "Difference",
    "TermReport",
    "expression_difference",
]

Refresh = Callable[[HedgeData, Mapping[str, float]], None]
Difference = Callable[[np.ndarray, np.ndarray], float]

_NO_DETAILS: Mapping[str, Any] = MappingProxyType({})
#: TermReport's typed fields, by the string key the older report dicts used
_TYPED_KEYS = (
    "scenario_alpha",
    "shortfall_method",
    "certified",
    "certificate_gap",
    "approximation_note",
)


@dataclass(frozen=True)
class TermReport:
    """What a compiled term states about its last solve (typed; the rest in ``details``).

    Attributes
    ----------
    scenario_alpha : float, optional
        The confidence level the scenario VaR and expected shortfall are stated at (the
        expected-shortfall objective's alpha); None: the result's default (0.95).
    shortfall_method : str, optional
        How an expected-shortfall objective was solved (``"active_set"``, ``"lp"``,
        ``"cutting_plane"``).
    certified : bool, optional
        Cutting planes: whether the certificate (bounds within tolerance) was reached.
    certificate_gap : float, optional
        Cutting planes: upper minus lower bound of the optimum, in the objective's units.
    approximation_note : str, optional
        How options enter the term (delta, delta-gamma, full repricing).
    notes : tuple of str
        Notes the result should show (an uncertified solve, a fallback).
    details : mapping
        Every other figure, by name (``window_variance``, ``scenario_slots``,
        ``active_set_swaps``, ``cutting_plane_iterations``, the certificate's bounds ...):
        the result's solver statistics and :attr:`SolveStats.details` show them.
    """

    scenario_alpha: float | None = None
    shortfall_method: str | None = None
    certified: bool | None = None
    certificate_gap: float | None = None
    approximation_note: str | None = None
    notes: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=lambda: _NO_DETAILS)

    def __post_init__(self) -> None:
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    @classmethod
    def from_dict(cls, report: Mapping[str, Any]) -> TermReport:
        """Read the older form: a dict of string keys (``"scenario_alpha"``, ``"notes"`` ...)."""
        typed = {k: report[k] for k in _TYPED_KEYS if report.get(k) is not None}
        rest = {k: v for k, v in report.items() if k not in _TYPED_KEYS and k != "notes"}
        return cls(**typed, notes=tuple(report.get("notes") or ()), details=rest)

    def as_dict(self) -> dict[str, Any]:
        """Return the older string-keyed form: fields that are set, then the details."""
        out: dict[str, Any] = {
            k: getattr(self, k) for k in _TYPED_KEYS if getattr(self, k) is not None
        }
        if self.notes:
            out["notes"] = list(self.notes)
        out.update(self.details)
        return out

    def statistics(self) -> dict[str, Any]:
        """Return what a result's solver statistics show (notes and alpha go elsewhere)."""
        out = {
            k: getattr(self, k)
            for k in ("shortfall_method", "certified", "certificate_gap")
            if getattr(self, k) is not None
        }
        out.update(self.details)
        return out

    def merged(self, later: TermReport) -> TermReport:
        """Combine two terms' reports: ``later``'s figures win where both give one; notes add."""
        typed = {
            f.name: getattr(later, f.name)
            if getattr(later, f.name) is not None
            else getattr(self, f.name)
            for f in fields(self)
            if f.name in _TYPED_KEYS
        }
        return TermReport(
            **typed,
            notes=(*self.notes, *later.notes),
            details={**self.details, **later.details},
        )


EMPTY_REPORT = TermReport()


def expression_difference(expression: cp.Expression, x: cp.Variable) -> Difference | None:
    """``f(a) - f(b)`` by evaluating ``expression`` if it reads ``x`` only, else None.

    Exact enough for terms linear or piecewise linear in the positions (costs): their
    values at neighbouring counts differ in the first order of one contract's value.
    ``x.value`` is left at ``b``.
    """
    if [v.id for v in expression.variables()] != [x.id]:
        return None

    def difference(a: np.ndarray, b: np.ndarray) -> float:
        x.value = a
        high = float(expression.value)
        x.value = b
        return high - float(expression.value)

    return difference


class CompiledTerm:
    """An objective term built into one problem: its expression and its typed protocol.

    Every method has a do-nothing default; a term overrides what it needs.

    Parameters
    ----------
    expression : Expression
        Scaled by ``data.objective_scale`` through the parameter values.
    constraints : sequence of Constraint, optional
        Auxiliary constraints the term needs (epigraph, scenario slots, planes).
    settings : mapping, optional
        Solver options by solver name the term needs (a certificate's tolerances).

    Attributes
    ----------
    iterative : bool
        Whether the term re-solves within one call (:meth:`refine` may return True). The
        problem then compiles the parameterised program at once, measures the limits'
        slopes by re-solves (a restricted problem's multipliers are not the whole one's),
        and uses no kept solver outside the term's own rounds. Default False.
    """

    iterative: bool = False
    #: solvers to try first, in order, when the caller names none (an exact restricted
    #: LP that needs a vertex answer); empty: the default order (Clarabel, then SCS)
    solvers: tuple[str, ...] = ()
    #: rows of :attr:`constraints` that only bound the term's own rounds (a trust region):
    #: left out where the answer is reused (the tie-breaker)
    trust_rows: tuple[cp.Constraint, ...] = ()

    def __init__(
        self,
        expression: cp.Expression,
        constraints: Sequence[cp.Constraint] = (),
        settings: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.expression = expression
        self.constraints: list[cp.Constraint] = list(constraints)
        self.settings: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (settings or {}).items()}

    def refresh(self, data: HedgeData, values: Mapping[str, float]) -> None:
        """Set the parameter values from the problem's data and the registry's values.

        Called at compile time, then whenever the inputs or one of the term's registry
        keys change. May raise :class:`constraints.RebuildRequired`.
        """

    def start(self) -> None:
        """Start a solve (called before every solve, after any refresh): a loop anew."""

    def bind(self, problem: cp.Problem) -> None:
        """Given the cvxpy problem about to be solved (and once, when it is compiled)."""

    def refine(self, x: np.ndarray) -> bool:
        """After a solve at positions ``x``: adjust parameters; True if another solve is due.

        Asked only while the solve succeeds. May raise :class:`constraints.RebuildRequired`.
        """
        return False

    def on_unbounded(self) -> None:
        """React to the solver reporting the problem unbounded.

        A term that solves a restriction of itself (the active set) raises
        :class:`constraints.RebuildRequired` to grow; otherwise the problem is unbounded.
        """

    def report(self) -> TermReport:
        """Return what the result should state about the term's last solve."""
        return EMPTY_REPORT

    def tied_rows(self, x: np.ndarray) -> tuple[tuple[cp.Variable, ...], np.ndarray] | None:
        """Return the term's own variables and its active rows at ``x``; None: unknown.

        Asked after a solve at ``x`` (the last answer) to skip the re-solves that measure
        the binding limits' one-sided slopes. A linear-programming term returns its own
        variables (every row of the problem solved last that reads them is the term's)
        and, for the term's whole LP (not merely the restriction or model solved last),
        the positions' coefficients of its active rows once those with a variable of
        their own are set aside, each row also reading one common variable of the term
        (the expected shortfall's scenarios tied at its VaR, ``(G_s, 1)``). The limits'
        multipliers are then unique when these rows and the active limit rows are
        linearly independent (``CompiledHedge._unique_multipliers``). Default None.
        """
        return None

    def exact_difference(self, x: cp.Variable) -> Difference | None:
        """Return ``f(a) - f(b)`` computed without cancellation, or None when there is none.

        Whole contracts compare neighbouring counts whose objectives differ in the 15th
        digit and beyond. The default evaluates the expression if it reads the positions
        ``x`` only (:func:`expression_difference`).
        """
        return expression_difference(self.expression, x)


class CompiledSum(CompiledTerm):
    """The sum of compiled terms: each method asks every part."""

    def __init__(self, parts: Sequence[CompiledTerm]) -> None:
        self.parts = list(parts)
        super().__init__(
            cp.sum(cp.hstack([p.expression for p in self.parts])),
            [c for p in self.parts for c in p.constraints],
            {k: v for p in self.parts for k, v in p.settings.items()},
        )
        self.iterative = any(p.iterative for p in self.parts)
        self.solvers = next((p.solvers for p in self.parts if p.solvers), ())
        self.trust_rows = tuple(r for p in self.parts for r in p.trust_rows)

    def refresh(self, data: HedgeData, values: Mapping[str, float]) -> None:
        """Refresh every part."""
        for part in self.parts:
            part.refresh(data, values)

    def start(self) -> None:
        """Start every part."""
        for part in self.parts:
            part.start()

    def bind(self, problem: cp.Problem) -> None:
        """Bind every part."""
        for part in self.parts:
            part.bind(problem)

    def refine(self, x: np.ndarray) -> bool:
        """Refine every part (each one, not stopping at the first); True if any asks."""
        return any([part.refine(x) for part in self.parts])

    def on_unbounded(self) -> None:
        """Tell every part."""
        for part in self.parts:
            part.on_unbounded()

    def report(self) -> TermReport:
        """Merge the parts' reports in order (:meth:`TermReport.merged`)."""
        out = EMPTY_REPORT
        for part in self.parts:
            out = out.merged(part.report())
        return out

    def exact_difference(self, x: cp.Variable) -> Difference | None:
        """Return the parts' differences summed, when every part has one."""
        known = [part.exact_difference(x) for part in self.parts]
        if any(d is None for d in known):
            return None
        found = [d for d in known if d is not None]

        def difference(a: np.ndarray, b: np.ndarray) -> float:
            return sum(d(a, b) for d in found)

        return difference


def _nothing(data: HedgeData, values: Mapping[str, float]) -> None:
    return None


class CompiledObjective(CompiledTerm):
    """A compiled term built from callbacks (the adapter of the older protocol).

    Takes the arguments of the older dataclass, in its order; a callback left out (None)
    means the :class:`CompiledTerm` default. ``unbounded`` and ``difference`` stay
    attributes; the other callbacks are the protocol's methods now (a callback assigned
    after construction replaces the method, but ``iterative`` is read from the ``refine``
    given to the constructor). New terms may subclass :class:`CompiledTerm` instead.

    Parameters
    ----------
    expression : Expression
    constraints : list of Constraint, optional
    refresh : callable ``(data, values) -> None``, optional
    refine : callable ``(x) -> bool``, optional
        Given: the term is :attr:`~CompiledTerm.iterative`.
    report : callable ``() -> dict``, optional
        String keys as before (``"scenario_alpha"``, ``"notes"`` ...), read into a
        :class:`TermReport` (:meth:`TermReport.from_dict`).
    unbounded : callable ``() -> None``, optional
        :meth:`~CompiledTerm.on_unbounded`.
    bind : callable ``(problem) -> None``, optional
    settings : dict, optional
    start : callable ``() -> None``, optional
    difference : callable ``(a, b) -> float``, optional
        :meth:`~CompiledTerm.exact_difference`; when None, the expression's value if it
        reads the positions only.
    """

    def __init__(
        self,
        expression: cp.Expression,
        constraints: Sequence[cp.Constraint] | None = None,
        refresh: Refresh = _nothing,
        refine: Callable[[np.ndarray], bool] | None = None,
        report: Callable[[], Mapping[str, Any]] | None = None,
        unbounded: Callable[[], None] | None = None,
        bind: Callable[[cp.Problem], None] | None = None,
        settings: Mapping[str, Mapping[str, Any]] | None = None,
        start: Callable[[], None] | None = None,
        difference: Difference | None = None,
    ) -> None:
        super().__init__(expression, constraints or (), settings)
        self._refresh = refresh
        self._refine = refine
        self._report = report
        self.unbounded = unbounded  # no method of that name: readable and settable as before
        self._bind = bind
        self._start = start
        self.difference = difference
        self.iterative = refine is not None

    def refresh(self, data: HedgeData, values: Mapping[str, float]) -> None:
        """Call the ``refresh`` callback."""
        self._refresh(data, values)

    def start(self) -> None:
        """Call the ``start`` callback, if given."""
        if self._start is not None:
            self._start()

    def bind(self, problem: cp.Problem) -> None:
        """Call the ``bind`` callback, if given."""
        if self._bind is not None:
            self._bind(problem)

    def refine(self, x: np.ndarray) -> bool:
        """Call the ``refine`` callback, if given (else no other solve is due)."""
        return self._refine is not None and bool(self._refine(x))

    def on_unbounded(self) -> None:
        """Call the ``unbounded`` callback, if given."""
        if self.unbounded is not None:
            self.unbounded()

    def report(self) -> TermReport:
        """Read the ``report`` callback's dict into a :class:`TermReport`."""
        return EMPTY_REPORT if self._report is None else TermReport.from_dict(self._report())

    def exact_difference(self, x: cp.Variable) -> Difference | None:
        """Return the ``difference`` callback, else the default (the expression's value)."""
        return self.difference or super().exact_difference(x)

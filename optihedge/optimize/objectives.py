r"""Objective terms: risk (variance, worst-case variance) and costs, with term algebra.

A term is a description, like a constraint: ``build(ctx)`` compiles it into one problem
(a :class:`CompiledObjective` holding that problem's Parameters) and never changes the
term. Terms add and scale: ``Variance() + 0.5 * TradingCost()`` (scaling returns a new
term). Each term's weight is a registry parameter (``"trading_cost.weight"``), baked into
the parameter values at refresh, since a Parameter times a Parameter would not be DPP.

Units: variance of the hedged book's return over the problem's horizon (fraction of
book value squared); costs as fractions of book value over the horizon.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import cvxpy as cp
import numpy as np

from constraints import FactorRisk, HedgeContext, HedgeData, ParameterSpec
from optihedge._validation import check_option, check_scalar
from optihedge.errors import SpecificationError
from optihedge.optimize.data import data_frequency

__all__ = [
    "CarryCost",
    "CompiledObjective",
    "Objective",
    "RobustVariance",
    "TradingCost",
    "Variance",
    "expression_difference",
]

Refresh = Callable[[HedgeData, Mapping[str, float]], None]
Difference = Callable[[np.ndarray, np.ndarray], float]


#: build option a sweep sets on its copy of a problem (terms may compile for re-solves)
SWEEP_OPTION = "sweep"


def _nothing(data: HedgeData, values: Mapping[str, float]) -> None:
    return None


@dataclass
class CompiledObjective:
    """An objective term built into one problem.

    Attributes
    ----------
    expression : Expression
        Scaled by ``data.objective_scale`` through the parameter values.
    constraints : list of Constraint
        Auxiliary constraints the term needs (epigraph, scenario slots).
    refresh : callable ``(data, values) -> None``
        Sets the parameter values.
    refine : callable ``(x) -> bool``, optional
        After a solve: adjust parameters and return True if another solve is due. May
        raise :class:`constraints.RebuildRequired`.
    report : callable ``() -> dict``, optional
        What the result should state about the term (``"scenario_alpha"``, method,
        iterations).
    unbounded : callable ``() -> None``, optional
        Called when the solver reports the problem unbounded: a term that solves a
        restriction of itself (the active set) raises
        :class:`constraints.RebuildRequired` to grow; otherwise the problem is unbounded.
    bind : callable ``(problem) -> None``, optional
        Given the compiled cvxpy problem once it exists (a cutting-plane term reads the
        master's value to separate the other terms' part).
    settings : dict, optional
        Solver options by solver name the term needs (a certificate's tolerances).
    start : callable ``() -> None``, optional
        Called before every solve (a cutting-plane loop starts again, keeping its
        planes, when only limits changed and ``refresh`` was not called).
    difference : callable ``(a, b) -> float``, optional
        The expression's value at positions ``a`` minus its value at ``b``, computed
        without the cancellation of two large values (whole contracts compare
        neighbouring counts whose objectives differ in the 15th digit and beyond).
        When None, :func:`expression_difference` evaluates the expression if it reads
        the positions only.
    """

    expression: cp.Expression
    constraints: list[cp.Constraint] = field(default_factory=list)
    refresh: Refresh = _nothing
    refine: Callable[[np.ndarray], bool] | None = None
    report: Callable[[], dict[str, Any]] | None = None
    unbounded: Callable[[], None] | None = None
    bind: Callable[[cp.Problem], None] | None = None
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    start: Callable[[], None] | None = None
    difference: Difference | None = None


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
    def build(self, ctx: HedgeContext) -> CompiledObjective:
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

    def build(self, ctx: HedgeContext) -> CompiledObjective:
        """Sum the terms' expressions; collect their constraints, refreshes and refinements."""
        parts = [term.build(ctx) for term in self._terms]

        def refresh(data: HedgeData, values: Mapping[str, float]) -> None:
            for part in parts:
                part.refresh(data, values)

        refiners = [part.refine for part in parts if part.refine is not None]

        def refine(x: np.ndarray) -> bool:
            return any([r(x) for r in refiners])

        def report() -> dict[str, Any]:
            out: dict[str, Any] = {}
            for part in parts:
                out.update(part.report() if part.report is not None else {})
            return out

        def unbounded() -> None:
            for part in parts:
                if part.unbounded is not None:
                    part.unbounded()

        def bind(problem: cp.Problem) -> None:
            for part in parts:
                if part.bind is not None:
                    part.bind(problem)

        def start() -> None:
            for part in parts:
                if part.start is not None:
                    part.start()

        differences = [p.difference or expression_difference(p.expression, ctx.x) for p in parts]
        known = [d for d in differences if d is not None]

        def difference(a: np.ndarray, b: np.ndarray) -> float:
            return sum(d(a, b) for d in known)

        return CompiledObjective(
            cp.sum(cp.hstack([p.expression for p in parts])),
            [c for p in parts for c in p.constraints],
            refresh,
            refine if refiners else None,
            report,
            unbounded,
            bind,
            {k: v for p in parts for k, v in p.settings.items()},
            start,
            difference if len(known) == len(parts) else None,
        )

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


class _RiskParameters:
    r"""Parameters of :math:`\lVert a_0 + A x\rVert^2 + c`, the factored variance.

    With the risk model's square-root factors :math:`(G, d)` (``root_factors``), the
    rows of :math:`A` are :math:`G E` (one per factor) stacked on
    :math:`\operatorname{diag}(d) E` restricted to the assets some instrument is exposed
    to, and :math:`a_0` likewise stacks :math:`G w` on :math:`d \circ w`. Every other
    holding's specific variance is the constant :math:`c`, so the problem's size is
    independent of the number of holdings. One sum of squares (not two) keeps cvxpy's
    canonicalisation short.
    """

    def __init__(self, n_factors: int, touched: np.ndarray, n_instruments: int) -> None:
        self.touched = touched
        self.n_factors = n_factors
        self.a0 = cp.Parameter(n_factors + len(touched))
        self.a = cp.Parameter((n_factors + len(touched), n_instruments))
        self.c = cp.Parameter(nonneg=True)

    @classmethod
    def for_data(cls, data: HedgeData, risk: FactorRisk) -> _RiskParameters:
        touched = np.flatnonzero(np.any(data.exposures.to_numpy() != 0.0, axis=1))
        return cls(risk.loadings.shape[1], touched, len(data.instruments))

    def expression(self, x: cp.Variable) -> cp.Expression:
        return cp.sum_squares(self.a0 + self.a @ x) + self.c

    def difference(self, a: np.ndarray, b: np.ndarray) -> float:
        r"""``f(a) - f(b)`` as :math:`(A(a-b))^\top (2a_0 + A(a+b))`: no cancellation."""
        m = np.asarray(self.a.value)
        return float(m @ (a - b) @ (2.0 * np.asarray(self.a0.value) + m @ (a + b)))

    def set(self, risk: FactorRisk, data: HedgeData, scale: float) -> None:
        g, d = risk.root_factors()
        root = np.sqrt(scale)
        g, d = root * g, root * d
        e = data.exposures.to_numpy()
        w = data.book.to_numpy()
        rest = np.ones(len(w), dtype=bool)
        rest[self.touched] = False
        if g.shape[0] != self.n_factors or np.any(e[rest] != 0.0):
            raise SpecificationError(
                "The new data's factors or instrument exposures differ from the compiled "
                "problem's; build a new HedgeProblem."
            )
        t = self.touched
        self.a0.value = np.concatenate([g @ w, d[t] * w[t]])
        self.a.value = np.vstack([g @ e, d[t, None] * e[t]])
        self.c.value = float(np.sum((d[rest] * w[rest]) ** 2))


def _refuse_scenario_only(data: HedgeData, term: str) -> None:
    """Refuse instruments whose risk lives only in the scenarios (a variance cannot see it)."""
    only = data.attribute("scenario_only") > 0
    if only.any():
        raise SpecificationError(
            f"{term} cannot see the risk of {list(data.instruments[only])}: it lives only in "
            "the scenarios (an event contract). Minimise ExpectedShortfall() instead."
        )


def _has_options(data: HedgeData) -> bool:
    return bool(np.any(data.attribute("gamma") != 0) or np.any(data.attribute("vega") != 0))


class _GammaParameters:
    r"""The delta-gamma term :math:`\tfrac12 G^\top (\Sigma_U \circ \Sigma_U) G`.

    With P&L :math:`\approx (w + Ex)^\top r + \tfrac12 \sum_u G_u r_u^2`,
    :math:`G_u = \sum_j \gamma_j x_j` over the instruments on underlying ``u``, and
    normal zero-mean returns, :math:`\operatorname{Cov}(r_u, r_v^2) = 0` and
    :math:`\operatorname{Cov}(r_u^2, r_v^2) = 2\sigma_{uv}^2`: the variance gains
    :math:`\tfrac12 G^\top (\Sigma_U \circ \Sigma_U) G`, a PSD quadratic in ``x``
    (a Hadamard product of PSD matrices is PSD), kept as a sum of squares.
    """

    def __init__(self, data: HedgeData) -> None:
        gamma = data.attribute("gamma")
        e = data.exposures.to_numpy()
        rows = np.zeros(len(gamma), dtype=np.int64)
        for j in np.flatnonzero(gamma):
            on = np.flatnonzero(e[:, j])
            if len(on) != 1:
                raise SpecificationError(
                    f"The delta-gamma variance needs {data.instruments[int(j)]!r}, which has "
                    f"gamma, to be on one underlying; it has exposure on {len(on)} assets."
                )
            rows[j] = on[0]
        self.columns = np.flatnonzero(gamma)
        self.underlyings = np.unique(rows[self.columns])
        self.rows = rows
        self.b = cp.Parameter((len(self.underlyings), len(gamma)))

    def expression(self, x: cp.Variable) -> cp.Expression:
        return cp.sum_squares(self.b @ x)

    def difference(self, a: np.ndarray, b: np.ndarray) -> float:
        """``f(a) - f(b)`` as a product of a difference and a sum (no cancellation)."""
        m = np.asarray(self.b.value)
        return float(m @ (a - b) @ (m @ (a + b)))

    def set(self, data: HedgeData, scale: float) -> None:
        gamma = data.attribute("gamma")
        if not np.array_equal(np.flatnonzero(gamma), self.columns):
            raise SpecificationError(
                "The new data's option gammas differ in pattern from the compiled problem's; "
                "build a new HedgeProblem."
            )
        u = self.underlyings
        loadings = data.risk.loadings.to_numpy()[u]
        cov = loadings @ data.risk.factor_cov.to_numpy() @ loadings.T
        cov[np.diag_indices_from(cov)] += data.risk.specific_var.to_numpy()[u]
        m = 0.5 * cov * cov
        values, vectors = np.linalg.eigh(m)
        root = vectors * np.sqrt(np.maximum(values, 0.0))  # m = root @ root.T
        g = np.zeros((len(u), len(gamma)))
        for j in self.columns:
            g[int(np.searchsorted(u, self.rows[j])), j] = gamma[j]
        self.b.value = np.sqrt(scale) * root.T @ g


class Variance(Objective):
    r"""Variance of the hedged book over the horizon, in factored form.

    .. math:: \sigma^2(x) = (w + E x)^\top (B F B^\top + D) (w + E x)
              = \lVert F^{1/2} B^\top (w + Ex) \rVert^2 + \lVert D^{1/2} (w + Ex)\rVert^2

    No dense assets x assets matrix enters the problem.

    Parameters
    ----------
    weight : float, default 1.0
    approximation : {"delta", "delta_gamma"}, default "delta"
        How options enter: through their delta (the exposures), or adding the
        gamma term :math:`\tfrac12 G^\top(\Sigma_U \circ \Sigma_U)G` of the
        delta-gamma-normal approximation (see :class:`_GammaParameters`). The result
        states which; scenario measures always reprice options fully.
    """

    key: ClassVar[str] = "variance"

    def __init__(self, weight: float = 1.0, *, approximation: str = "delta") -> None:
        super().__init__(weight)
        self.approximation = check_option(approximation, "approximation", ("delta", "delta_gamma"))

    def build(self, ctx: HedgeContext) -> CompiledObjective:
        """Build the factored sum of squares on the primary risk model."""
        _refuse_scenario_only(ctx.data, "Variance")
        p = _RiskParameters.for_data(ctx.data, ctx.data.risk)
        gamma = (
            _GammaParameters(ctx.data)
            if self.approximation == "delta_gamma" and np.any(ctx.data.attribute("gamma"))
            else None
        )
        options = {"flag": _has_options(ctx.data)}

        def refresh(data: HedgeData, values: Mapping[str, float]) -> None:
            scale = self._weight(values) * data.objective_scale
            p.set(data.risk, data, scale)
            if gamma is not None:
                gamma.set(data, scale)
            options["flag"] = _has_options(data)

        def report() -> dict[str, Any]:
            if not options["flag"]:
                return {}
            how = (
                "their delta and gamma (delta-gamma-normal approximation)"
                if self.approximation == "delta_gamma"
                else "their delta (delta approximation)"
            )
            return {
                "approximation_note": f"Options enter the variance objective through {how}; "
                "the scenario VaR and expected shortfall reprice them fully."
            }

        expr = p.expression(ctx.x)
        if gamma is not None:
            expr = expr + gamma.expression(ctx.x)

        def difference(a: np.ndarray, b: np.ndarray) -> float:
            return p.difference(a, b) + (0.0 if gamma is None else gamma.difference(a, b))

        return CompiledObjective(expr, refresh=refresh, report=report, difference=difference)

    def reads(self) -> tuple[str, ...]:
        """Read the gamma, in the delta-gamma approximation."""
        return ("gamma",) if self.approximation == "delta_gamma" else ()

    def __repr__(self) -> str:
        parts = [] if self.weight == 1.0 else [f"weight={self.weight!r}"]
        if self.approximation != "delta":
            parts.append(f"approximation={self.approximation!r}")
        return f"Variance({', '.join(parts)})"

    def reference(self, data: HedgeData, values: Mapping[str, float]) -> float:
        """Variance of the unhedged book."""
        return self._weight(values) * data.risk.variance_in_asset_order(data.book.to_numpy())

    @property
    def is_quadratic(self) -> bool:
        """A variance is quadratic."""
        return True


class RobustVariance(Objective):
    r"""Worst case of the variance over several risk models (estimation windows).

    .. math:: \min_x \max_k \sigma_k^2(x) \iff \min_{x,t} t \;\text{s.t.}\; \sigma_k^2(x) \le t

    Practitioners distrust any single window. The windows' variances at the optimum are
    reported in the result's solver statistics (``window_variance``).
    """

    key: ClassVar[str] = "robust_variance"

    def build(self, ctx: HedgeContext) -> CompiledObjective:
        """Build one variance constraint per risk model and the epigraph variable."""
        _refuse_scenario_only(ctx.data, "RobustVariance")
        t = cp.Variable(name="worst_variance")
        weight = cp.Parameter(nonneg=True)
        params = {
            key: _RiskParameters.for_data(ctx.data, r) for key, r in ctx.data.risk_models.items()
        }
        exprs = {key: p.expression(ctx.x) for key, p in params.items()}
        state: dict[str, float] = {"scale": 1.0}

        def refresh(data: HedgeData, values: Mapping[str, float]) -> None:
            if list(data.risk_models) != list(params):
                raise SpecificationError(
                    f"RobustVariance was built for windows {list(params)}; got "
                    f"{list(data.risk_models)}. Build a new HedgeProblem for other windows."
                )
            for key, risk in data.risk_models.items():
                params[key].set(risk, data, data.objective_scale)
            weight.value = self._weight(values)
            state["scale"] = data.objective_scale

        def report() -> dict[str, Any]:
            return {
                "window_variance": {
                    k: float(e.value) / state["scale"]
                    for k, e in exprs.items()
                    if e.value is not None
                }
            }

        def difference(a: np.ndarray, b: np.ndarray) -> float:
            # max_k f_k(a) - max_k f_k(b) = max_k (f_k(b) - max f(b) + (f_k(a) - f_k(b))):
            # each window's change exact; the windows' gaps at b matter only near a tie
            at_b = [float(np.sum((p.a.value @ b + p.a0.value) ** 2)) for p in params.values()]
            top = max(at_b)
            changes = [p.difference(a, b) for p in params.values()]
            worst = max(v - top + d for v, d in zip(at_b, changes, strict=True))
            return float(weight.value) * worst

        cons = [e <= t for e in exprs.values()]
        return CompiledObjective(weight * t, cons, refresh, report=report, difference=difference)

    def reference(self, data: HedgeData, values: Mapping[str, float]) -> float:
        """Largest variance of the unhedged book across the windows."""
        w = data.book.to_numpy()
        return self._weight(values) * max(
            r.variance_in_asset_order(w) for r in data.risk_models.values()
        )

    @property
    def is_quadratic(self) -> bool:
        """A variance is quadratic."""
        return True


class TradingCost(Objective):
    r"""Cost of trading to the new hedge: :math:`\sum_i c_i |x_i - x_i^{\text{current}}|`."""

    key: ClassVar[str] = "trading_cost"

    def build(self, ctx: HedgeContext) -> CompiledObjective:
        """Build ``sum |c * x - c * current|`` (c >= 0; the product is one parameter, DPP)."""
        n = len(ctx.instruments)
        c, c_current = cp.Parameter(n, nonneg=True), cp.Parameter(n)

        def refresh(data: HedgeData, values: Mapping[str, float]) -> None:
            rate = self._weight(values) * data.objective_scale * data.attribute("cost")
            c.value = rate
            c_current.value = rate * data.current.to_numpy()

        return CompiledObjective(cp.sum(cp.abs(cp.multiply(c, ctx.x) - c_current)), refresh=refresh)


class CarryCost(Objective):
    r"""Carry over the horizon: :math:`t_h\,(c^\top x + b^\top \max(-x, 0))`.

    :math:`t_h` is the horizon in years in the data's frequency (``frequency.years(h)``:
    h / 252 on daily data, h / 52 on weekly, h / 12 on monthly).
    """

    key: ClassVar[str] = "carry_cost"

    def build(self, ctx: HedgeContext) -> CompiledObjective:
        """Build linear carry plus borrow fees on shorts."""
        n = len(ctx.instruments)
        long, short = cp.Parameter(n), cp.Parameter(n, nonneg=True)

        def refresh(data: HedgeData, values: Mapping[str, float]) -> None:
            years = data_frequency(data).years(data.horizon)
            scale = self._weight(values) * data.objective_scale * years
            long.value = scale * data.attribute("carry_long")
            short.value = scale * np.maximum(data.attribute("carry_short"), 0.0)

        return CompiledObjective(long @ ctx.x + short @ cp.neg(ctx.x), refresh=refresh)

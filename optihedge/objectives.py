r"""Objective terms: risk (variance, worst-case variance) and costs, with term algebra.

Every term builds once into a cvxpy expression whose numbers are Parameters and is
updated per solve. Terms add and scale: ``Variance() + 0.5 * TradingCost()``; a
weight is a compile-time float baked into the parameter values (a Parameter times a
Parameter would not be DPP).

Units: variance of the hedged book's return over the problem's horizon (fraction of
book value squared); costs as fractions of book value over the horizon.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import cvxpy as cp
import numpy as np

from constraints import HedgeContext, HedgeData
from constraints._context import FactorRisk
from optihedge._validation import check_scalar
from optihedge.errors import SpecificationError

__all__ = ["CarryCost", "Objective", "RobustVariance", "TradingCost", "Variance"]

TRADING_DAYS = 252


class Objective(ABC):
    """A term of the objective: ``build(ctx)`` once, ``update(data)`` per solve."""

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = check_scalar(weight, "weight", lower=0.0)

    @abstractmethod
    def build(self, ctx: HedgeContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        """Return the term's expression and any auxiliary constraints it needs."""

    @abstractmethod
    def update(self, data: HedgeData) -> None:
        """Set parameter values from ``data``."""

    def children(self) -> list[Objective]:
        """Sub-terms (a sum lists them; a plain term has none)."""
        return []

    def parameters(self) -> dict[str, float]:
        """Named parameters a solve may change (none by default)."""
        return {}

    def set_parameter(self, key: str, value: float) -> None:
        """Change a named parameter."""
        raise SpecificationError(f"{self!r} has no parameter {key!r}.")

    def reference(self, data: HedgeData) -> float:
        """Return the term's value for the unhedged book (scales the objective); 0 for costs."""
        return 0.0

    def refine(self, x: np.ndarray) -> bool:
        """After a solve: adjust parameters and return True if another solve is needed."""
        return False

    @property
    def is_quadratic(self) -> bool:
        """Whether the term makes the objective quadratic (needs a QP/MIQP solver)."""
        return False

    def __add__(self, other: Objective) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return SumObjective([*self._flat(), *other._flat()])

    def __mul__(self, factor: float) -> Objective:
        if isinstance(factor, bool) or not isinstance(factor, int | float):
            return NotImplemented
        scaled = self._copy()
        scaled.weight = check_scalar(factor, "weight", lower=0.0) * self.weight
        return scaled

    __rmul__ = __mul__

    def __le__(self, other: object) -> Any:
        raise SpecificationError(
            f"{self!r} <= value is not supported yet: use the matching constraint "
            "(e.g. CarryBudget) to cap a cost."
        )

    def _flat(self) -> list[Objective]:
        return [self]

    def _copy(self) -> Objective:
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def __repr__(self) -> str:
        w = "" if self.weight == 1.0 else f"weight={self.weight!r}"
        return f"{type(self).__name__}({w})"


class SumObjective(Objective):
    """The sum of several terms."""

    def __init__(self, terms: list[Objective]) -> None:
        super().__init__(1.0)
        self.terms = terms

    def children(self) -> list[Objective]:
        """Return the terms summed."""
        return list(self.terms)

    def _flat(self) -> list[Objective]:
        return list(self.terms)

    def build(self, ctx: HedgeContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        """Sum the terms' expressions and collect their constraints."""
        exprs, cons = [], []
        for term in self.terms:
            e, c = term.build(ctx)
            exprs.append(e)
            cons.extend(c)
        return cp.sum(cp.hstack(exprs)), cons

    def update(self, data: HedgeData) -> None:
        """Update every term."""
        for term in self.terms:
            term.update(data)

    def parameters(self) -> dict[str, float]:
        """Every term's named parameters."""
        out: dict[str, float] = {}
        for term in self.terms:
            out.update(term.parameters())
        return out

    def set_parameter(self, key: str, value: float) -> None:
        """Route a parameter to the term that owns it."""
        for term in self.terms:
            if key in term.parameters():
                term.set_parameter(key, value)
                return
        raise SpecificationError(f"{self!r} has no parameter {key!r}.")

    def reference(self, data: HedgeData) -> float:
        """Sum of the terms' references."""
        return sum(term.reference(data) for term in self.terms)

    def refine(self, x: np.ndarray) -> bool:
        """Refine every term; True if any needs another solve."""
        return any([term.refine(x) for term in self.terms])

    @property
    def is_quadratic(self) -> bool:
        """Whether any term is quadratic."""
        return any(term.is_quadratic for term in self.terms)

    def __repr__(self) -> str:
        return " + ".join(repr(t) for t in self.terms)


class _RiskParameters:
    r"""Parameters of :math:`\lVert g_0 + M x\rVert^2 + \lVert s_0 + S x\rVert^2 + c`.

    With :math:`G = F^{1/2} B^\top` (factors x assets), :math:`M = G E`,
    :math:`g_0 = G w`. The specific part only involves the assets some instrument is
    exposed to (:math:`S = \operatorname{diag}(d) E`, :math:`s_0 = d \circ w` on those
    rows); every other holding's specific variance is the constant :math:`c`. The
    problem's size is therefore independent of the number of holdings.
    """

    def __init__(self, n_factors: int, touched: np.ndarray, n_instruments: int) -> None:
        self.touched = touched
        self.g0 = cp.Parameter(n_factors)
        self.m = cp.Parameter((n_factors, n_instruments))
        self.s0 = cp.Parameter(len(touched))
        self.s = cp.Parameter((len(touched), n_instruments))
        self.c = cp.Parameter(nonneg=True)

    @classmethod
    def for_data(cls, data: HedgeData, risk: FactorRisk) -> _RiskParameters:
        touched = np.flatnonzero(np.any(data.exposures.to_numpy() != 0.0, axis=1))
        return cls(risk.loadings.shape[1], touched, len(data.instruments))

    def expression(self, x: cp.Variable) -> cp.Expression:
        return cp.sum_squares(self.g0 + self.m @ x) + cp.sum_squares(self.s0 + self.s @ x) + self.c

    def set(self, risk: FactorRisk, data: HedgeData, scale: float) -> None:
        vals, vecs = np.linalg.eigh(risk.factor_cov.to_numpy())
        f_half = (vecs * np.sqrt(np.clip(vals, 0.0, None))).T
        g = np.sqrt(scale) * (f_half @ risk.loadings.to_numpy().T)
        d = np.sqrt(scale * risk.specific_var.to_numpy())
        e = data.exposures.to_numpy()
        w = data.book.to_numpy()
        if g.shape[0] != self.g0.shape[0] or np.any(
            e[np.setdiff1d(np.arange(len(w)), self.touched)] != 0.0
        ):
            raise SpecificationError(
                "The new data's shape or instrument exposures differ from the compiled "
                "problem's; build a new HedgeProblem."
            )
        self.g0.value, self.m.value = g @ w, g @ e
        t = self.touched
        self.s0.value, self.s.value = d[t] * w[t], d[t, None] * e[t]
        rest = np.ones(len(w), dtype=bool)
        rest[t] = False
        self.c.value = float(np.sum((d[rest] * w[rest]) ** 2))


def _book_variance(risk: FactorRisk, w: np.ndarray) -> float:
    fw = risk.loadings.to_numpy().T @ w
    return float(fw @ risk.factor_cov.to_numpy() @ fw + w @ (risk.specific_var.to_numpy() * w))


class Variance(Objective):
    r"""Variance of the hedged book over the horizon, in factored form.

    .. math:: \sigma^2(x) = (w + E x)^\top (B F B^\top + D) (w + E x)
              = \lVert F^{1/2} B^\top (w + Ex) \rVert^2 + \lVert D^{1/2} (w + Ex)\rVert^2

    No dense assets x assets matrix enters the problem.
    """

    def build(self, ctx: HedgeContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        """Build the factored sum of squares on the primary risk model."""
        self._p = _RiskParameters.for_data(ctx.data, ctx.data.risk)
        return self._p.expression(ctx.x), []

    def update(self, data: HedgeData) -> None:
        """Set the square-root factors of the primary risk model."""
        self._p.set(data.risk, data, self.weight * data.objective_scale)

    def reference(self, data: HedgeData) -> float:
        """Variance of the unhedged book."""
        return self.weight * _book_variance(data.risk, data.book.to_numpy())

    @property
    def is_quadratic(self) -> bool:
        """A variance is quadratic."""
        return True


class RobustVariance(Objective):
    r"""Worst case of the variance over several risk models (estimation windows).

    .. math:: \min_x \max_k \sigma_k^2(x) \iff \min_{x,t} t \;\text{s.t.}\; \sigma_k^2(x) \le t

    Practitioners distrust any single window; the dual value of each window's
    constraint says which windows bind.
    """

    def build(self, ctx: HedgeContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        """Build one variance constraint per risk model and the epigraph variable."""
        self._t = cp.Variable(name="worst_variance")
        self._params: dict[Any, _RiskParameters] = {}
        self.window_constraints: dict[Any, cp.Constraint] = {}
        cons = []
        for key, risk in ctx.data.risk_models.items():
            p = _RiskParameters.for_data(ctx.data, risk)
            self._params[key] = p
            c = p.expression(ctx.x) <= self._t
            self.window_constraints[key] = c
            cons.append(c)
        return self.weight * self._t, cons

    def update(self, data: HedgeData) -> None:
        """Set every window's square-root factors."""
        if set(data.risk_models) != set(self._params):
            raise SpecificationError(
                f"RobustVariance was built for windows {list(self._params)}; got "
                f"{list(data.risk_models)}. Build a new HedgeProblem for other windows."
            )
        for key, risk in data.risk_models.items():
            self._params[key].set(risk, data, data.objective_scale)

    def reference(self, data: HedgeData) -> float:
        """Largest variance of the unhedged book across the windows."""
        w = data.book.to_numpy()
        return self.weight * max(_book_variance(r, w) for r in data.risk_models.values())

    @property
    def is_quadratic(self) -> bool:
        """A variance is quadratic."""
        return True


class TradingCost(Objective):
    r"""Cost of trading to the new hedge: :math:`\sum_i c_i |x_i - x_i^{\text{current}}|`."""

    def build(self, ctx: HedgeContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        """Build ``sum |c * x - c * current|`` (c >= 0; the product is one parameter, DPP)."""
        n = len(ctx.instruments)
        self._c = cp.Parameter(n, nonneg=True)
        self._c_current = cp.Parameter(n)
        return cp.sum(cp.abs(cp.multiply(self._c, ctx.x) - self._c_current)), []

    def update(self, data: HedgeData) -> None:
        """Set cost rates (times the weight) and their product with the current hedge."""
        c = self.weight * data.objective_scale * data.attribute("cost")
        self._c.value = c
        self._c_current.value = c * data.current.to_numpy()


class CarryCost(Objective):
    r"""Carry over the horizon: :math:`\tfrac{h}{252}\,(c^\top x + b^\top \max(-x, 0))`."""

    def build(self, ctx: HedgeContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        """Build linear carry plus borrow fees on shorts."""
        n = len(ctx.instruments)
        self._long = cp.Parameter(n)
        self._short = cp.Parameter(n, nonneg=True)
        return self._long @ ctx.x + self._short @ cp.neg(ctx.x), []

    def update(self, data: HedgeData) -> None:
        """Set carry rates scaled to the horizon (times the weight)."""
        scale = self.weight * data.objective_scale * data.horizon / TRADING_DAYS
        self._long.value = scale * data.attribute("carry_long")
        self._short.value = scale * np.maximum(data.attribute("carry_short"), 0.0)

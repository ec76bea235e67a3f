r"""The variance terms: :class:`Variance` and :class:`RobustVariance` (worst case over windows).

Both minimise the hedged book's variance over the horizon (fraction of book value squared)
in factored form: no dense assets x assets matrix enters the problem. Options enter through
their delta, or (``Variance(approximation="delta_gamma")``) adding the delta-gamma-normal
gamma term. Re-exported by :mod:`optihedge.optimize.objectives`, their first home.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import cvxpy as cp
import numpy as np

from constraints import FactorRisk, HedgeContext, HedgeData
from optihedge._validation import check_option
from optihedge.errors import SpecificationError
from optihedge.optimize.objective import Objective
from optihedge.optimize.terms import CompiledTerm, Difference, TermReport

__all__ = ["RobustVariance", "Variance"]


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

    def build(self, ctx: HedgeContext) -> CompiledTerm:
        """Build the factored sum of squares on the primary risk model."""
        _refuse_scenario_only(ctx.data, "Variance")
        return _CompiledVariance(self, ctx)

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

    def build(self, ctx: HedgeContext) -> CompiledTerm:
        """Build one variance constraint per risk model and the epigraph variable."""
        _refuse_scenario_only(ctx.data, "RobustVariance")
        return _CompiledRobustVariance(self, ctx)

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


class _CompiledVariance(CompiledTerm):
    """:class:`Variance` built into one problem (factored, plus the gamma term if asked)."""

    def __init__(self, term: Variance, ctx: HedgeContext) -> None:
        self.term = term
        self.risk = _RiskParameters.for_data(ctx.data, ctx.data.risk)
        self.gamma = (
            _GammaParameters(ctx.data)
            if term.approximation == "delta_gamma" and np.any(ctx.data.attribute("gamma"))
            else None
        )
        self.options = _has_options(ctx.data)
        expr = self.risk.expression(ctx.x)
        if self.gamma is not None:
            expr = expr + self.gamma.expression(ctx.x)
        super().__init__(expr)

    def refresh(self, data: HedgeData, values: Mapping[str, float]) -> None:
        """Set the factors (and gammas) scaled by the weight and the objective's scale."""
        scale = self.term._weight(values) * data.objective_scale
        self.risk.set(data.risk, data, scale)
        if self.gamma is not None:
            self.gamma.set(data, scale)
        self.options = _has_options(data)

    def report(self) -> TermReport:
        """State how options enter the variance, when there are options."""
        if not self.options:
            return TermReport()
        how = (
            "their delta and gamma (delta-gamma-normal approximation)"
            if self.term.approximation == "delta_gamma"
            else "their delta (delta approximation)"
        )
        return TermReport(
            approximation_note=f"Options enter the variance objective through {how}; "
            "the scenario VaR and expected shortfall reprice them fully."
        )

    def exact_difference(self, x: cp.Variable) -> Difference:
        """Return the factored difference (and the gamma term's): no cancellation."""
        risk, gamma = self.risk, self.gamma

        def difference(a: np.ndarray, b: np.ndarray) -> float:
            return risk.difference(a, b) + (0.0 if gamma is None else gamma.difference(a, b))

        return difference


class _CompiledRobustVariance(CompiledTerm):
    """:class:`RobustVariance` built into one problem: an epigraph over the windows."""

    def __init__(self, term: RobustVariance, ctx: HedgeContext) -> None:
        self.term = term
        t = cp.Variable(name="worst_variance")
        self.weight = cp.Parameter(nonneg=True)
        self.params = {
            key: _RiskParameters.for_data(ctx.data, r) for key, r in ctx.data.risk_models.items()
        }
        self.exprs = {key: p.expression(ctx.x) for key, p in self.params.items()}
        self.scale = 1.0
        super().__init__(self.weight * t, [e <= t for e in self.exprs.values()])

    def refresh(self, data: HedgeData, values: Mapping[str, float]) -> None:
        """Set every window's factors; refuse other windows than the compiled ones."""
        if list(data.risk_models) != list(self.params):
            raise SpecificationError(
                f"RobustVariance was built for windows {list(self.params)}; got "
                f"{list(data.risk_models)}. Build a new HedgeProblem for other windows."
            )
        for key, risk in data.risk_models.items():
            self.params[key].set(risk, data, data.objective_scale)
        self.weight.value = self.term._weight(values)
        self.scale = data.objective_scale

    def report(self) -> TermReport:
        """Report each window's variance at the optimum (``window_variance``)."""
        return TermReport(
            details={
                "window_variance": {
                    k: float(e.value) / self.scale
                    for k, e in self.exprs.items()
                    if e.value is not None
                }
            }
        )

    def exact_difference(self, x: cp.Variable) -> Difference:
        """Return the worst window's change, each window's change exact."""
        params, weight = list(self.params.values()), self.weight

        def difference(a: np.ndarray, b: np.ndarray) -> float:
            # max_k f_k(a) - max_k f_k(b) = max_k (f_k(b) - max f(b) + (f_k(a) - f_k(b))):
            # each window's change exact; the windows' gaps at b matter only near a tie
            at_b = [float(np.sum((p.a.value @ b + p.a0.value) ** 2)) for p in params]
            top = max(at_b)
            changes = [p.difference(a, b) for p in params]
            worst = max(v - top + d for v, d in zip(at_b, changes, strict=True))
            return float(weight.value) * worst

        return difference

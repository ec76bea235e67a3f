"""Limits on how much exposure the hedged book carries: gross, beta, factor exposure."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import ClassVar

import cvxpy as cp
import numpy as np

from constraints._base import (
    Compiled,
    Constraint,
    ParameterSpec,
    Row,
    assign,
    check_limit,
    check_optional_limit,
)
from constraints._context import HedgeContext, HedgeData
from constraints.errors import ConstraintSpecificationError

__all__ = ["FactorExposure", "GrossExposure", "ResidualBeta"]


class GrossExposure(Constraint):
    r"""Cap on the hedge's gross, delta-adjusted notional.

    .. math:: \sum_i g_i\,|x_i| \le \text{max}

    with :math:`g_i` the delta-adjusted notional per unit (2 for a -2x inverse ETF).
    Position reductions count zero: selling a holding adds no exposure.

    Parameters
    ----------
    max : float
        Fraction of the book's value (>= 0). Parameter ``"gross_exposure.max"``.
    """

    name: ClassVar[str] = "gross_exposure"

    def __init__(self, max: float) -> None:
        self.max = check_limit(type(self).__name__, "max", max)

    def parameters(self) -> tuple[ParameterSpec, ...]:
        """``gross_exposure.max``, fraction of the book's value."""
        return (
            ParameterSpec(
                "gross_exposure.max", self.max, description="gross delta notional / book value"
            ),
        )

    def _build(self, ctx: HedgeContext) -> Compiled:
        weights = cp.Parameter(len(ctx.instruments), nonneg=True)
        cap = cp.Parameter(nonneg=True, name="gross_exposure.max")
        expr = weights @ cp.abs(ctx.x)

        def refresh(data: HedgeData, values: Mapping[str, float]) -> None:
            assign(cap, values["gross_exposure.max"])
            assign(weights, np.abs(data.attribute("gross_weight")))

        return Compiled([Row("gross_exposure.max", expr <= cap, expr, cap, "<=")], refresh)


class _LinearBand(Constraint):
    """``min <= c @ x + c0 <= max`` with ``c, c0`` from the data."""

    what: ClassVar[str]

    def __init__(self, min: float | None, max: float | None) -> None:
        owner = type(self).__name__
        self.min = check_optional_limit(owner, "min", min, lower=None)
        self.max = check_optional_limit(owner, "max", max, lower=None)
        if self.min is None and self.max is None:
            raise ConstraintSpecificationError(f"{owner} needs 'min', 'max' or both.")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ConstraintSpecificationError(
                f"The 'min' parameter of {owner} ({self.min!r}) exceeds its 'max' "
                f"({self.max!r}); swap them."
            )

    @property
    def key(self) -> str:
        """Prefix of this constraint's parameter names."""
        return self.name

    def parameters(self) -> tuple[ParameterSpec, ...]:
        """``<key>.min`` and/or ``<key>.max``, whichever were given."""
        return tuple(
            ParameterSpec(f"{self.key}.{side}", v, lower=None, description=f"{side} {self.what}")
            for side, v in (("min", self.min), ("max", self.max))
            if v is not None
        )

    def _coefficients(self, data: HedgeData) -> tuple[np.ndarray, float]:
        raise NotImplementedError

    def _build(self, ctx: HedgeContext) -> Compiled:
        self._coefficients(ctx.data)  # fail early on unknown labels
        coef = cp.Parameter(len(ctx.instruments))
        offset = cp.Parameter()
        expr = coef @ ctx.x + offset
        rows, limits = [], []
        for side, sense in (("min", ">="), ("max", "<=")):
            if getattr(self, side) is None:
                continue
            limit = cp.Parameter()
            key = f"{self.key}.{side}"
            limits.append((key, limit))
            cons = expr >= limit if sense == ">=" else expr <= limit
            rows.append(Row(key, cons, expr, limit, sense))  # type: ignore[arg-type]

        def refresh(data: HedgeData, values: Mapping[str, float]) -> None:
            coef.value, offset.value = self._coefficients(data)
            for key, limit in limits:
                assign(limit, values[key])

        return Compiled(rows, refresh)


class ResidualBeta(_LinearBand):
    r"""Band on the book's beta left after the hedge: "how much market do I still want?".

    .. math:: \text{min} \le \beta_m(w + E x) = \frac{\operatorname{cov}(r_{w+Ex}, r_m)}
              {\operatorname{var}(r_m)} \le \text{max}

    computed from the risk model, linear in ``x``.

    Parameters
    ----------
    min, max : float, optional
        Bounds on the residual beta. Parameters ``"residual_beta.min"`` and ``".max"``.
    factor : str, optional
        A factor or asset of the risk model; the problem's market if omitted.
    """

    name: ClassVar[str] = "residual_beta"
    what: ClassVar[str] = "beta of the hedged book"

    def __init__(
        self,
        min: float | None = None,
        max: float | None = None,
        *,
        factor: Hashable | None = None,
    ) -> None:
        super().__init__(min, max)
        self.factor = factor

    def _coefficients(self, data: HedgeData) -> tuple[np.ndarray, float]:
        label = self.factor if self.factor is not None else data.market
        if label is None:
            raise ConstraintSpecificationError(
                "ResidualBeta needs a factor: pass factor=... or give the problem a market."
            )
        return data.beta_coefficients(label)

    def __repr__(self) -> str:
        base = super().__repr__()[:-1]
        return base + (f", factor={self.factor!r})" if self.factor is not None else ")")


class FactorExposure(_LinearBand):
    r"""Band on the hedged book's loading on one factor (exposures owned on purpose).

    .. math:: \text{min} \le B_f^\top (w + E x) \le \text{max}

    Parameters
    ----------
    factor : str
        A factor of the risk model.
    min, max : float, optional
        Parameters ``"factor_exposure[<factor>].min"`` and ``".max"``.
    """

    name: ClassVar[str] = "factor_exposure"
    what: ClassVar[str] = "loading of the hedged book"

    def __init__(
        self,
        factor: Hashable,
        min: float | None = None,
        max: float | None = None,
    ) -> None:
        super().__init__(min, max)
        self.factor = factor

    @property
    def key(self) -> str:
        """Prefix of this constraint's parameter names."""
        return f"factor_exposure[{self.factor}]"

    def _coefficients(self, data: HedgeData) -> tuple[np.ndarray, float]:
        return data.factor_coefficients(self.factor)

    def __repr__(self) -> str:
        args = ", ".join(
            f"{k}={getattr(self, k)!r}" for k in ("min", "max") if getattr(self, k) is not None
        )
        return f"FactorExposure({self.factor!r}, {args})"

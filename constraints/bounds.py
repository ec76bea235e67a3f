"""Per-instrument bounds and whole contracts."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, ClassVar, Literal

import cvxpy as cp
import numpy as np
import pandas as pd

from constraints._base import Constraint, Row, check_limit
from constraints._context import HedgeContext, HedgeData
from constraints.errors import ConstraintSpecificationError

__all__ = ["Bounds", "WholeContracts"]


def _by_label(value: Any, name: str) -> dict[Hashable, float] | float | None:
    if value is None:
        return None
    if isinstance(value, Mapping | pd.Series):
        return {
            k: check_limit("Bounds", f"{name}[{k}]", v, lower=None) for k, v in dict(value).items()
        }
    return check_limit("Bounds", name, value, lower=None)


class Bounds(Constraint):
    r"""Lower and upper bounds on each position: :math:`l_i \le x_i \le u_i`.

    Parameters
    ----------
    lower, upper : float, or mapping / Series by instrument label, optional
        A float applies to every instrument; a mapping to the instruments it names
        (unknown labels are an error). Fractions of the book's value. Parameters
        ``"bounds.lower[<label>]"`` and ``"bounds.upper[<label>]"``.
    """

    name: ClassVar[str] = "bounds"

    def __init__(self, lower: Any = None, upper: Any = None) -> None:
        super().__init__()
        self.lower = _by_label(lower, "lower")
        self.upper = _by_label(upper, "upper")
        if self.lower is None and self.upper is None:
            raise ConstraintSpecificationError("Bounds needs 'lower', 'upper' or both.")
        self._values: dict[str, dict[Hashable, float]] = {}
        self._params: dict[str, cp.Parameter] = {}

    def _resolve(
        self, spec: dict[Hashable, float] | float | None, labels: pd.Index, side: str
    ) -> dict[Hashable, float]:
        if spec is None:
            return {}
        if isinstance(spec, dict):
            unknown = [k for k in spec if k not in labels]
            if unknown:
                raise ConstraintSpecificationError(
                    f"Bounds({side}=...) names instruments the problem lacks: {unknown[:5]}. "
                    f"Known: {list(labels)[:10]}."
                )
            return dict(spec)
        return dict.fromkeys(labels, spec)

    def _build(self, ctx: HedgeContext) -> list[Row]:
        labels = ctx.instruments
        rows = []
        for side, spec, sense in (("lower", self.lower, ">="), ("upper", self.upper, "<=")):
            values = self._resolve(spec, labels, side)
            self._values[side] = values
            if not values:
                continue
            param = cp.Parameter(len(values))
            self._params[side] = param
            index = labels.get_indexer(pd.Index(list(values)))
            expr = ctx.x[index]
            cons = expr >= param if sense == ">=" else expr <= param
            names = tuple(f"bounds.{side}[{label}]" for label in values)
            rows.append(Row(f"bounds.{side}", cons, expr, param, sense, names))  # type: ignore[arg-type]
        lo, hi = self._values.get("lower", {}), self._values.get("upper", {})
        for label in set(lo) & set(hi):
            if lo[label] > hi[label]:
                raise ConstraintSpecificationError(
                    f"Bounds for {label!r}: lower {lo[label]!r} exceeds upper {hi[label]!r}."
                )
        return rows

    def _refresh(self, data: HedgeData) -> None:
        for side, param in self._params.items():
            param.value = np.array(list(self._values[side].values()), dtype=np.float64)

    def parameters(self) -> dict[str, float | None]:
        """Named parameters and their values."""
        out: dict[str, float | None] = {}
        for side in ("lower", "upper"):
            spec = getattr(self, side)
            if isinstance(spec, dict):
                out.update({f"bounds.{side}[{k}]": v for k, v in spec.items()})
            elif spec is not None:
                out[f"bounds.{side}"] = spec
        for side, values in self._values.items():
            out.update({f"bounds.{side}[{k}]": v for k, v in values.items()})
        return out

    def _set(self, key: str, value: float) -> None:
        side = key.split(".", 1)[1].split("[", 1)[0]
        v = check_limit("Bounds", key, value, lower=None)
        if "[" not in key:
            setattr(self, side, v)
            self._values[side] = dict.fromkeys(self._values.get(side, {}), v)
            return
        label_text = key.split("[", 1)[1][:-1]
        values = self._values.setdefault(side, {})
        label = next((k for k in values if str(k) == label_text), label_text)
        values[label] = v
        spec = getattr(self, side)
        if isinstance(spec, dict):
            spec[label] = v

    def __repr__(self) -> str:
        return f"Bounds(lower={self.lower!r}, upper={self.upper!r})"


class WholeContracts(Constraint):
    r"""Trade whole contracts (or shares): :math:`x_i = k_i\,c_i`, :math:`k_i \in \mathbb Z`.

    with :math:`c_i` one contract's value as a fraction of the book. The problem becomes
    mixed-integer: solved exactly with SCIP (``pip install optihedge[mip]``) for a
    quadratic objective, or by the documented rounding search otherwise (see
    ``optihedge.problem``).

    Parameters
    ----------
    instruments : sequence of labels, optional
        Instruments to trade in whole contracts; every instrument with a contract
        value when omitted.
    method : {"auto", "exact", "rounding"}, default "auto"
        ``"exact"``: integer variables and a MIP solver (SCIP); ``"rounding"``: the
        rounding search; ``"auto"``: exact when SCIP is installed.
    """

    name: ClassVar[str] = "whole_contracts"

    def __init__(
        self,
        instruments: Sequence[Hashable] | None = None,
        *,
        method: Literal["auto", "exact", "rounding"] = "auto",
    ) -> None:
        super().__init__()
        if method not in ("auto", "exact", "rounding"):
            raise ConstraintSpecificationError(
                f"The 'method' parameter of WholeContracts must be 'auto', 'exact' or "
                f"'rounding'. Got {method!r} instead."
            )
        self.method = method
        self.instruments = None if instruments is None else list(instruments)
        self.index: np.ndarray = np.zeros(0, dtype=int)
        self.contracts: cp.Variable | None = None
        self._value: cp.Parameter | None = None
        self.target: cp.Parameter | None = None
        self.fixed_row: Row | None = None
        #: integer variables (exact, needs a MIP solver) or positions fixed by a parameter
        self.integer = True

    def _build(self, ctx: HedgeContext) -> list[Row]:
        labels = ctx.instruments
        cv = ctx.data.attribute("contract_value")
        if self.instruments is None:
            chosen = [i for i in range(len(labels)) if np.isfinite(cv[i]) and cv[i] > 0]
        else:
            unknown = [k for k in self.instruments if k not in labels]
            if unknown:
                raise ConstraintSpecificationError(
                    f"WholeContracts names instruments the problem lacks: {unknown[:5]}."
                )
            chosen = [int(labels.get_indexer(pd.Index([k]))[0]) for k in self.instruments]
            bad = [labels[i] for i in chosen if not (np.isfinite(cv[i]) and cv[i] > 0)]
            if bad:
                raise ConstraintSpecificationError(
                    f"WholeContracts: instruments {bad[:5]} have no contract value."
                )
        self.index = np.asarray(chosen, dtype=int)
        if len(self.index) == 0:
            return []
        zero = cp.Constant(0.0)
        # positions fixed from outside (rounding search, or duals after an exact solve)
        self.target = cp.Parameter(len(self.index), name="whole_contracts.target")
        self.target.value = np.zeros(len(self.index))
        self.fixed_row = Row(
            "whole_contracts", ctx.x[self.index] == self.target, cp.sum(zero), zero, "=="
        )
        if not self.integer:
            return [self.fixed_row]
        self.contracts = cp.Variable(len(self.index), integer=True, name="contracts")
        self._value = cp.Parameter(len(self.index), nonneg=True)
        cons = ctx.x[self.index] == cp.multiply(self._value, self.contracts)
        return [Row("whole_contracts", cons, cp.sum(zero), zero, "==")]

    def _refresh(self, data: HedgeData) -> None:
        if self._value is not None:
            self._value.value = data.attribute("contract_value")[self.index]

    def parameters(self) -> dict[str, float | None]:
        """Named parameters and their values."""
        return {}

    def _set(self, key: str, value: float) -> None:  # pragma: no cover - no parameters
        raise ConstraintSpecificationError("WholeContracts has no parameters.")

    def __repr__(self) -> str:
        return f"WholeContracts(instruments={self.instruments!r}, method={self.method!r})"

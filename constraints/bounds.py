"""Per-instrument bounds and whole contracts."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, ClassVar, Literal

import cvxpy as cp
import numpy as np
import pandas as pd

from constraints._base import (
    Compiled,
    Constraint,
    IntegerPart,
    ParameterSpec,
    Row,
    assign,
    check_limit,
)
from constraints._context import HedgeContext, HedgeData
from constraints.errors import ConstraintSpecificationError, MissingLabelsError

__all__ = ["Bounds", "WholeContracts"]

_SIDES = (("lower", ">="), ("upper", "<="))


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
        A float applies to every instrument (one parameter, ``"bounds.lower"``); a
        mapping to the instruments it names, one parameter each
        (``"bounds.lower[<label>]"``); unknown labels are an error when the problem is
        built. Fractions of the book's value.
    """

    name: ClassVar[str] = "bounds"

    def __init__(self, lower: Any = None, upper: Any = None) -> None:
        self.lower = _by_label(lower, "lower")
        self.upper = _by_label(upper, "upper")
        if self.lower is None and self.upper is None:
            raise ConstraintSpecificationError("Bounds needs 'lower', 'upper' or both.")
        lo, hi = self.lower, self.upper
        for label in self._labels():
            a = lo.get(label, lo) if isinstance(lo, dict) else lo
            b = hi.get(label, hi) if isinstance(hi, dict) else hi
            if isinstance(a, float) and isinstance(b, float) and a > b:
                raise ConstraintSpecificationError(
                    f"Bounds for {label!r}: lower {a!r} exceeds upper {b!r}."
                )

    def _labels(self) -> list[Hashable | None]:
        named = [k for side in (self.lower, self.upper) if isinstance(side, dict) for k in side]
        return [None, *dict.fromkeys(named)]

    def _keys(self, side: str) -> dict[str, tuple[Hashable | None, float]]:
        """Registry key -> (instrument label or None for all, value), for one side."""
        spec = getattr(self, side)
        if spec is None:
            return {}
        if isinstance(spec, dict):
            return {f"bounds.{side}[{k}]": (k, v) for k, v in spec.items()}
        return {f"bounds.{side}": (None, spec)}

    def parameters(self) -> tuple[ParameterSpec, ...]:
        """One key per side, or one per named instrument."""
        return tuple(
            ParameterSpec(key, value, lower=None, description=f"{side} bound on x")
            for side, _ in _SIDES
            for key, (_, value) in self._keys(side).items()
        )

    def _build(self, ctx: HedgeContext) -> Compiled:
        labels = ctx.instruments
        rows: list[Row] = []
        refreshers: list[tuple[cp.Parameter, list[str]]] = []
        for side, sense in _SIDES:
            keys = self._keys(side)
            if not keys:
                continue
            named = [k for k, _ in keys.values()]
            if named == [None]:
                index = np.arange(len(labels))
                per_element = [next(iter(keys))] * len(labels)
            else:
                unknown = [k for k in named if k not in labels]
                if unknown:
                    raise MissingLabelsError(
                        f"Bounds({side}=...) names instruments the problem lacks: {unknown[:5]}."
                        f" Known: {list(labels)[:10]}."
                    )
                index = labels.get_indexer(pd.Index(named))
                per_element = list(keys)
            param = cp.Parameter(len(index))
            refreshers.append((param, per_element))
            whole = len(index) == len(labels) and bool(np.all(index == np.arange(len(labels))))
            expr = ctx.x if whole else ctx.x[index]
            cons = expr >= param if sense == ">=" else expr <= param
            names = tuple(f"bounds.{side}[{labels[int(i)]}]" for i in index)
            rows.append(Row(f"bounds.{side}", cons, expr, param, sense, names))  # type: ignore[arg-type]

        def refresh(data: HedgeData, values: Mapping[str, float]) -> None:
            for param, element_keys in refreshers:
                assign(param, np.array([values[k] for k in element_keys], dtype=np.float64))

        return Compiled(rows, refresh)

    def __repr__(self) -> str:
        return f"Bounds(lower={self.lower!r}, upper={self.upper!r})"


class WholeContracts(Constraint):
    r"""Trade whole contracts (or shares): :math:`x_i = k_i\,c_i`, :math:`k_i \in \mathbb Z`.

    with :math:`c_i` one contract's value as a fraction of the book. The problem becomes
    mixed-integer: solved exactly by a MIP solver (HiGHS when the objective is linear,
    such as expected shortfall; SCIP, ``pip install optihedge[mip]``, when it is
    quadratic), or by the documented rounding search otherwise; either answer is then
    checked against the roundings of the continuous optimum and moves of the counts, and
    above 1,000,000 contracts in a position the search replaces the MIP (see
    ``optihedge.optimize.integer``).

    Parameters
    ----------
    instruments : sequence of labels, optional
        Instruments to trade in whole contracts; every instrument with a contract
        value when omitted.
    method : {"auto", "exact", "rounding"}, default "auto"
        ``"exact"``: integer variables and a MIP solver; ``"rounding"``: the rounding
        search; ``"auto"``: exact when a suitable MIP solver is installed.
    """

    name: ClassVar[str] = "whole_contracts"

    def __init__(
        self,
        instruments: Sequence[Hashable] | None = None,
        *,
        method: Literal["auto", "exact", "rounding"] = "auto",
    ) -> None:
        if method not in ("auto", "exact", "rounding"):
            raise ConstraintSpecificationError(
                f"The 'method' parameter of WholeContracts must be 'auto', 'exact' or "
                f"'rounding'. Got {method!r} instead."
            )
        self.method = method
        self.instruments = None if instruments is None else list(instruments)

    def parameters(self) -> tuple[ParameterSpec, ...]:
        """None: whole contracts have no tunable number."""
        return ()

    def integer_method(self) -> str | None:
        """Return the method asked for."""
        return self.method

    def _build(self, ctx: HedgeContext) -> Compiled:
        labels = ctx.instruments
        cv = ctx.data.attribute("contract_value")
        if self.instruments is None:
            chosen = [i for i in range(len(labels)) if np.isfinite(cv[i]) and cv[i] > 0]
        else:
            unknown = [k for k in self.instruments if k not in labels]
            if unknown:
                raise MissingLabelsError(
                    f"WholeContracts names instruments the problem lacks: {unknown[:5]}."
                )
            chosen = [int(labels.get_indexer(pd.Index([k]))[0]) for k in self.instruments]
            bad = [labels[i] for i in chosen if not (np.isfinite(cv[i]) and cv[i] > 0)]
            if bad:
                raise ConstraintSpecificationError(
                    f"WholeContracts: instruments {bad[:5]} have no contract value."
                )
        index = np.asarray(chosen, dtype=int)
        if len(index) == 0:
            return Compiled([], lambda data, values: None)
        target = cp.Parameter(len(index), name="whole_contracts.target")
        assign(target, np.zeros(len(index)))
        integer_rows: list[cp.Constraint] = []
        unit = cp.Parameter(len(index), nonneg=True)
        if ctx.exact_integer:
            contracts = cp.Variable(len(index), integer=True, name="contracts")
            integer_rows.append(ctx.x[index] == cp.multiply(unit, contracts))

        def refresh(data: HedgeData, values: Mapping[str, float]) -> None:
            assign(unit, data.attribute("contract_value")[index])

        part = IntegerPart(index, target, ctx.x[index] == target, integer_rows)
        return Compiled([], refresh, integer=part)

    def __repr__(self) -> str:
        return f"WholeContracts(instruments={self.instruments!r}, method={self.method!r})"

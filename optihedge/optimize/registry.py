"""One parameter registry per problem: every tunable number under one documented key.

The terms declare their numbers (:class:`constraints.ParameterSpec`); the registry keeps
the problem's current values, so the terms themselves never change. A ``solve(params)``
call is validated whole before any value is applied: an unknown key or a value out of
range leaves the problem exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from constraints import ParameterSpec
from optihedge._validation import format_labels
from optihedge.errors import SpecificationError

__all__ = ["ParameterRegistry"]


class ParameterRegistry:
    """The named parameters of one problem, their owners, ranges and current values.

    Parameters
    ----------
    owners : iterable of (owner repr, specs)
        Each term's repr and the parameters it declares.

    Raises
    ------
    SpecificationError
        If two terms declare the same key.
    """

    def __init__(self, owners: Iterable[tuple[str, Iterable[ParameterSpec]]]) -> None:
        self.specs: dict[str, ParameterSpec] = {}
        self.owner: dict[str, str] = {}
        for owner, specs in owners:
            for spec in specs:
                if spec.key in self.specs:
                    raise SpecificationError(
                        f"Parameter {spec.key!r} is defined by both {self.owner[spec.key]} and "
                        f"{owner}; a problem takes one term per parameter key."
                    )
                self.specs[spec.key] = spec
                self.owner[spec.key] = owner
        self.values: dict[str, float] = {k: s.value for k, s in self.specs.items()}

    def validate(self, params: Mapping[str, Any] | None) -> dict[str, float]:
        """Check every key and value of ``params``; return them as floats. Changes nothing.

        Raises
        ------
        SpecificationError
            For an unknown key (listing the valid ones) or a value outside its range.
        """
        if params is None:
            return {}
        if not isinstance(params, Mapping):
            raise SpecificationError(
                "The 'params' argument must be a mapping of parameter key to value. "
                f"Got {type(params).__name__} instead."
            )
        unknown = [k for k in params if k not in self.specs]
        if unknown:
            raise SpecificationError(
                f"Unknown parameter key(s) {format_labels(unknown)}; this problem's keys are "
                f"{sorted(self.specs)}."
            )
        return {k: self.specs[k].check(v) for k, v in params.items()}

    def apply(self, checked: Mapping[str, float]) -> None:
        """Store values already returned by :meth:`validate`."""
        self.values.update(checked)

    def frame(self) -> pd.DataFrame:
        """Return every parameter: value, lower, upper, range, owner, description."""
        rows = {
            key: {
                "value": self.values[key],
                "lower": spec.lower,
                "upper": spec.upper,
                "range": spec.interval,
                "owner": self.owner[key],
                "description": spec.description,
            }
            for key, spec in self.specs.items()
        }
        columns = ["value", "lower", "upper", "range", "owner", "description"]
        table = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
        table.index.name = "key"
        return table

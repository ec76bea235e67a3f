"""The inputs of a hedge problem that change from day to day, as one value.

A problem's *structure* (instruments, objective, constraints, horizon, market) is fixed
when it is built; its *inputs* (the book, risk model, scenarios, current hedge, expected
returns, market state) are refreshed by ``HedgeProblem.solve(...)`` without recompiling,
as long as they keep the compiled shapes (same assets and factors, the same instruments'
underlyings, no more scenarios than the problem can hold without a rebuild).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from constraints import Constraint
from constraints.budget import check_expected_returns
from optihedge.errors import SpecificationError
from optihedge.instruments import MarketState
from optihedge.portfolio import Portfolio
from optihedge.scenarios import Scenarios

__all__ = ["HedgeInputs", "carry_inputs", "same_input"]


@dataclass(frozen=True)
class HedgeInputs:
    """The numbers a compiled problem is solved for.

    Attributes
    ----------
    portfolio : Portfolio
    risk_model : RiskModel or RiskModelSet, optional
        Per-period (or per-``horizon``) model; scaled to the problem's horizon. Without
        one, a covariance of the scenarios is used.
    scenarios : Scenarios, optional
        Needed by expected shortfall; their horizon is the problem's.
    current : Series by instrument, optional
        Current hedge positions (fractions of the book's value); zero if omitted.
    expected_returns : Series by asset, optional
        Expected return of each asset over the horizon.
    market_state : MarketState
        Spots, volatilities, rates and the as-of date instruments are valued at.
    """

    portfolio: Portfolio
    risk_model: Any = None
    scenarios: Scenarios | None = None
    current: pd.Series | None = None
    expected_returns: pd.Series | None = None
    market_state: MarketState = field(default_factory=MarketState)

    def __post_init__(self) -> None:
        if isinstance(self.expected_returns, pd.Series):
            check_expected_returns(self.expected_returns)
        if not isinstance(self.market_state, MarketState):
            raise SpecificationError(
                "The 'market_state' argument must be a MarketState. Got "
                f"{type(self.market_state).__name__} instead."
            )

    def replace(self, **changes: Any) -> HedgeInputs:
        """Return a copy with the given inputs changed (None means "keep")."""
        given = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **given)


def same_input(a: Any, b: Any) -> bool:
    """Whether two inputs are the same (equal Series, or the same object)."""
    if isinstance(a, pd.Series) and isinstance(b, pd.Series):
        return bool(a.equals(b))
    return a is b


def carry_inputs(inputs: HedgeInputs, constraints: Sequence[Constraint]) -> HedgeInputs:
    """Merge inputs that constraints carry (``Turnover(current=...)``) into ``inputs``.

    Raises
    ------
    SpecificationError
        If the problem and a constraint give different values of one input.
    """
    for c in constraints:
        for name, value in c.problem_inputs().items():
            given = getattr(inputs, name)
            if given is not None and not same_input(given, value):
                raise SpecificationError(
                    f"The problem's {name!r} and {c!r}'s differ; give it once."
                )
            inputs = dataclasses.replace(inputs, **{name: value})
    return inputs

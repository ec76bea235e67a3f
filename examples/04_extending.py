"""Adding an instrument and a constraint: each a small class, no edit to the optimizer.

A volatility-target fund whose leverage is its target volatility over the market's
implied volatility (so its exposure comes from the market state), and a band on the
hedge's net notional. The problem asks both what they need through the term protocol;
a new market state is a refresh of the compiled problem, not a rebuild.
"""

# %%
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import cvxpy as cp
import numpy as np
import pandas as pd

import optihedge as oh
from constraints import Compiled, Constraint, HedgeContext, HedgeData, ParameterSpec, Row


# %% A new instrument: ~20 lines
@dataclass(frozen=True, kw_only=True)
class VolTargetFund(oh.Instrument):
    """A fund holding ``target_vol / implied vol`` of its underlying per unit of notional."""

    underlying: str
    target_vol: float = 0.10
    fee: float = 0.005  # annual, paid by holders

    def market_requirements(self) -> frozenset[str]:
        """Its leverage needs the implied volatility."""
        return frozenset({"volatility"})

    def exposures(self, market: oh.MarketState | None = None) -> dict[str, float]:
        """Target volatility over implied volatility, on the underlying."""
        assert market is not None
        return {self.underlying: self.target_vol / market.volatility_of(self.underlying)}

    def attributes(self, market: oh.MarketState | None = None) -> dict[str, float]:
        """Add the fee, a carry paid by holders."""
        return super().attributes(market) | {"carry_long": self.fee}


# %% A new constraint: ~30 lines
class NetNotional(Constraint):
    r"""Band on the hedge's net notional: :math:`\text{min} \le \sum_i x_i \le \text{max}`."""

    name: ClassVar[str] = "net_notional"

    def __init__(self, min: float = -np.inf, max: float = np.inf) -> None:
        self.min, self.max = float(min), float(max)

    def parameters(self) -> tuple[ParameterSpec, ...]:
        """``net_notional.min`` and/or ``.max``, whichever is finite."""
        return tuple(
            ParameterSpec(f"net_notional.{side}", v, lower=None, description="sum of x")
            for side, v in (("min", self.min), ("max", self.max))
            if np.isfinite(v)
        )

    def _build(self, ctx: HedgeContext) -> Compiled:
        net = cp.sum(ctx.x)
        limits = {spec.key: cp.Parameter() for spec in self.parameters()}
        rows = [
            Row(
                key,
                net >= p if key.endswith("min") else net <= p,
                net,
                p,
                ">=" if key.endswith("min") else "<=",
            )
            for key, p in limits.items()
        ]

        def refresh(data: HedgeData, values: Mapping[str, float]) -> None:
            for key, p in limits.items():
                p.value = values[key]

        return Compiled(rows, refresh)


# %% Use them like the built-in ones
rng = np.random.default_rng(0)
idx = rng.normal(0.0003, 0.011, 1000)
returns = pd.DataFrame({"A": 0.9 * idx + rng.normal(0, 0.01, 1000), "IDX": idx})
model = oh.FactorModel().fit(returns, returns[["IDX"]]).risk_model_
problem = oh.HedgeProblem(
    oh.Portfolio.from_holdings({"A": 1e6}),
    [
        VolTargetFund(label="VT", underlying="IDX", lower=-5.0, upper=5.0),
        oh.Future(label="ESZ6", underlying="IDX", price=5000.0, multiplier=50.0),
    ],
    objective=oh.Variance() + oh.CarryCost(),
    constraints=[NetNotional(min=-0.5)],
    risk_model=model,
    market="IDX",
    market_state=oh.MarketState(volatility={"IDX": 0.20}),
)
calm = problem.solve()
print(calm.allocation[["weight", "delta_notional"]].round(3))
stressed = problem.solve(market_state=oh.MarketState(volatility={"IDX": 0.40}))
print("leverage of VT at 20% and 40% implied vol:", 0.10 / 0.20, 0.10 / 0.40)
print(stressed.constraints[["value", "limit", "binding"]])
print(problem.parameters[["value", "range", "owner"]])

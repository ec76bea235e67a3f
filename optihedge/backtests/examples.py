"""The example hedge policies, on the embedded data's 20 stocks hedged with S&P 500 products.

- :func:`futures_overlay`: half the minimum-variance (beta) hedge in E-mini futures,
  re-solved at every month end.
- :func:`protective_puts`: a one-month put 5% out of the money bought at each expiry, held
  to expiry, sized by the variance it removes under a rolling premium budget.
- :func:`collar`: a three-month 95% put bought and a one-month 110% call sold, each rolled
  at its expiry; both cross-rolled when a new call's strike would fall below the put's.
- :func:`regime_schedule`: the background article's schedule on the VIX (the embedded VIX
  where it has a close, else the S&P 500's implied-volatility proxy): calm, no hedge;
  rising risk, a partial futures hedge; stress, a full one; crisis, gross exposure cut by
  selling part of the holdings.

:func:`embedded_book` is the book they hedge (equal value in the 20 embedded stocks) and
:func:`embedded_prices` the closes they read.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from constraints import Bounds, GrossExposure
from constraints import PremiumBudget as PremiumLimit
from optihedge.backtests.hedge_policy import Estimation, HedgePolicy
from optihedge.backtests.policy import (
    AnyExit,
    Band,
    CrossRoll,
    HoldToExpiry,
    PremiumBudget,
    Regimes,
    Schedule,
)
from optihedge.instruments import Call, Future, PositionReduction, Put
from optihedge.optimize import Variance
from optihedge.optimize.spec import ProblemSpec
from optihedge.portfolio import Portfolio

__all__ = [
    "EXAMPLES",
    "collar",
    "embedded_book",
    "embedded_prices",
    "futures_overlay",
    "protective_puts",
    "regime_schedule",
]

#: The E-mini S&P 500 future: 50 USD per index point, 1 bp half-spread, deep liquidity.
_ES = Future("ES", underlying="SP500", multiplier=50.0, cost=1e-4, adv=2e11)
_ESTIMATION = Estimation(kind="sample", window=252)


def embedded_prices(start: Any = "1998-06-01", end: Any = "2022-12-28") -> pd.DataFrame:
    """Return the embedded closes of the 20 stocks, the S&P 500 and the VIX."""
    from optihedge.datasets import load_default, metadata

    stocks = [str(t) for t, kind in metadata()["kind"].items() if kind == "stock"]
    return load_default(start=start, end=end, columns=[*stocks, "SP500", "VIX"])


def embedded_book(prices: pd.DataFrame, value: float = 1e7) -> Portfolio:
    """Return equal market values in every stock of ``prices`` (all but SP500 and VIX)."""
    stocks = [c for c in prices.columns if c not in ("SP500", "VIX")]
    return Portfolio.from_holdings(dict.fromkeys(stocks, value / len(stocks)))


def futures_overlay(hedge_ratio: float = 0.5) -> HedgePolicy:
    """Half the minimum-variance futures hedge, re-solved at every month end."""
    spec = ProblemSpec((_ES,), Variance(), (GrossExposure(2.0),), 21, "SP500")
    return HedgePolicy(
        name=f"futures overlay ({hedge_ratio:.0%} of the beta hedge, monthly)",
        spec=spec,
        schedule=Schedule("month_end"),
        estimation=_ESTIMATION,
        hedge_ratio=hedge_ratio,
    )


def protective_puts(annual_budget: float = 0.04) -> HedgePolicy:
    """Buy a one-month 95% put at each expiry and hold it, under a premium budget."""
    put = Put("P95", underlying="SP500", moneyness=0.95, expiry=21, lower=0.0, upper=1.0)
    spec = ProblemSpec((put,), Variance(), (PremiumLimit(1.0),), 21, "SP500")
    return HedgePolicy(
        name="protective puts (one month, 95%, held to expiry)",
        spec=spec,
        schedule=Schedule("month_end"),
        estimation=_ESTIMATION,
        exit_rule=HoldToExpiry(roll=True),
        premium_budget=PremiumBudget(annual=annual_budget),
    )


def collar(put_moneyness: float = 0.95, call_moneyness: float = 1.10) -> HedgePolicy:
    """Buy a three-month put and sell a one-month call, cross-rolled as the book falls."""
    put = Put("P3M", underlying="SP500", moneyness=put_moneyness, expiry=63, lower=1.0, upper=1.0)
    call = Call(
        "C1M", underlying="SP500", moneyness=call_moneyness, expiry=21, lower=-1.0, upper=-1.0
    )
    rule = AnyExit(HoldToExpiry(roll=True), CrossRoll(call_moneyness))
    spec = ProblemSpec((put, call), Variance(), (), 21, "SP500")
    return HedgePolicy(
        name=f"collar ({put_moneyness:.0%} 3-month put, {call_moneyness:.0%} 1-month call)",
        spec=spec,
        schedule=Schedule("month_end"),
        estimation=_ESTIMATION,
        exit_rules={"P3M": rule, "C1M": rule},
    )


def regime_schedule(holdings: list[str]) -> HedgePolicy:
    """Hedge by the VIX: none, partial, full, then cut gross exposure (the article's schedule).

    Bands on the VIX (points): calm below 15, no hedge; rising risk 15 to 25, a
    third of the beta hedge; stress 25 to 40, the full hedge; crisis from 40, the full hedge
    with the futures' gross capped at half the book, the rest of the risk cut by selling
    each holding down by up to half its starting (equal) weight.
    """
    cuts = [PositionReduction(f"cut {h}", holding=h, cost=5e-4) for h in holdings]
    no_cut = {f"bounds.lower[{c.label}]": 0.0 for c in cuts}
    half = -0.5 / len(holdings)  # half of an equal-weighted holding, fraction of the book
    half_cut = {f"bounds.lower[{c.label}]": half for c in cuts}
    spec = ProblemSpec(
        (_ES, *cuts),
        Variance(),
        (GrossExposure(2.0), Bounds(lower={c.label: 0.0 for c in cuts})),
        21,
        "SP500",
    )
    bands = (
        Band("calm", 0.0, 15.0, hedge=False),
        Band("rising risk", 15.0, 25.0, params=no_cut, hedge_ratio=1 / 3),
        Band("stress", 25.0, 40.0, params=no_cut),
        Band("crisis", 40.0, math.inf, params={**half_cut, "gross_exposure.max": 0.5}),
    )
    return HedgePolicy(
        name="regime schedule (VIX: calm, rising, stress, crisis)",
        spec=spec,
        schedule=Schedule("month_end"),
        estimation=_ESTIMATION,
        regimes=Regimes("vix", bands),
    )


#: Name -> builder of each example policy (the regime schedule takes the holdings).
EXAMPLES = {
    "futures overlay": futures_overlay,
    "protective puts": protective_puts,
    "collar": collar,
    "regime schedule": regime_schedule,
}

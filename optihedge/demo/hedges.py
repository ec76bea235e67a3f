"""The demo's optimised hedges: minimum variance, minimum expected shortfall, with options.

Each builds and solves a :class:`~optihedge.optimize.problem.HedgeProblem` on the
embedded data under the mandate of :mod:`optihedge.demo.setup`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.covariance import LedoitWolf

from constraints import CarryBudget, PremiumBudget
from factor_models import FactorModel
from optihedge.datasets import load_default, returns_from_prices
from optihedge.demo.setup import (
    COLLAR,
    HORIZON,
    OPTION_EXPIRY,
    OPTION_MULTIPLIER,
    PREMIUM_BUDGET,
    PUT_MONEYNESS,
    START,
    _index_hedges,
    _limits,
)
from optihedge.instruments import ETF, Collar, Instrument, MarketState, Put
from optihedge.measures.risk import expected_shortfall, value_at_risk
from optihedge.optimize.costs import TradingCost
from optihedge.optimize.problem import HedgeProblem
from optihedge.optimize.result import HedgeResult
from optihedge.optimize.shortfall import ExpectedShortfall
from optihedge.optimize.variance import Variance
from optihedge.portfolio import Portfolio
from optihedge.scenarios import Scenarios

__all__ = ["optimize_hedge", "option_alternatives", "shortfall_hedge"]


def option_alternatives(
    daily: pd.DataFrame,
    last: pd.Series,
    stocks: list[str],
    value: float,
    market: MarketState,
    linear: HedgeResult,
) -> tuple[pd.DataFrame, dict[str, HedgeResult], HedgeProblem]:
    """Solve the expected-shortfall hedge again, with a protective put or a collar on offer.

    Same scenarios, objective and limits as :func:`shortfall_hedge`, except that the
    carry cap gives way to the option mandate's premium budget (an option's carry is its
    premium decaying). Options are repriced in every scenario (Black-Scholes at the
    scenario's index level and volatility, 42 trading days left). Returns the cost
    against protection table (USD and fractions of the book), the results and the
    protective-put problem (for the sweep).
    """
    scenarios = Scenarios.historical(daily[[*stocks, "SP500"]], horizon=HORIZON)
    offers: dict[str, Instrument] = {
        "+ protective put": Put(
            f"SPX {PUT_MONEYNESS:.0%} put", underlying="SP500", moneyness=PUT_MONEYNESS,
            multiplier=OPTION_MULTIPLIER, expiry=OPTION_EXPIRY, cost=0.002,
        ),
        "+ collar": Collar(
            f"SPX {COLLAR[0]:.0%}/{COLLAR[1]:.0%} collar", underlying="SP500",
            put_moneyness=COLLAR[0], call_moneyness=COLLAR[1],
            multiplier=OPTION_MULTIPLIER, expiry=OPTION_EXPIRY, cost=0.002,
        ),
    }  # fmt: skip
    limits = [c for c in _limits() if not isinstance(c, CarryBudget)] + [
        PremiumBudget(PREMIUM_BUDGET)
    ]
    results = {"futures, inverse ETF, sales": linear}
    problems = {}
    for name, option in offers.items():
        problem = HedgeProblem(
            Portfolio.from_holdings(pd.Series(value / len(stocks), index=stocks)),
            [*_index_hedges(last), option],
            objective=ExpectedShortfall(0.95) + TradingCost(),
            constraints=limits,
            scenarios=scenarios,
            horizon=HORIZON,
            market="SP500",
            market_state=market,
        )
        results[name] = problem.solve()
        problems[name] = problem
    rows = {}
    for name, res in results.items():
        assert res.scenario_returns is not None
        assert res.greeks is not None
        after = res.scenario_returns["after"].to_numpy()
        rows[name] = {
            "premium (USD)": float(res.allocation["premium"].sum()),
            "carry (USD/yr)": float(res.allocation["annual_carry"].sum()),
            "ES 95%": expected_shortfall(after, 0.95),
            "ES 99%": expected_shortfall(after, 0.99),
            "worst": float(-after.min()),
            "volatility (repriced)": float(np.std(after)),
            "vega (USD/pt)": float(res.greeks["vega_1pt"].to_numpy()[-1]),  # after
        }
    unhedged = linear.scenario_returns["before"].to_numpy()  # type: ignore[index]
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.loc["unhedged"] = {
        "premium (USD)": 0.0,
        "carry (USD/yr)": 0.0,
        "ES 95%": expected_shortfall(unhedged, 0.95),
        "ES 99%": expected_shortfall(unhedged, 0.99),
        "worst": float(-unhedged.min()),
        "volatility (repriced)": float(np.std(unhedged)),
        "vega (USD/pt)": 0.0,
    }
    table = table.loc[["unhedged", *results]]
    hedges = {k: v for k, v in results.items() if k in offers}
    return table, hedges, problems["+ protective put"]


def shortfall_hedge(
    daily: pd.DataFrame, last: pd.Series, stocks: list[str], value: float
) -> tuple[HedgeResult, pd.DataFrame]:
    """Minimum 95% expected-shortfall hedge on historical 21-day paths since 2000.

    The inverse ETF is revalued along each path (daily reset); betas for the residual-
    beta floor come from the scenarios. Returns the result and a comparison, on the same
    scenarios, of the unhedged book, the minimum-variance hedge with the same
    instruments and limits (variance from the scenarios) and this hedge.
    """
    scenarios = Scenarios.historical(daily[[*stocks, "SP500"]], horizon=HORIZON)
    instruments = _index_hedges(last)
    results = {}
    for name, risk in (
        ("minimum-variance hedge", Variance()),
        ("expected-shortfall hedge", ExpectedShortfall(0.95)),
    ):
        problem = HedgeProblem(
            Portfolio.from_holdings(pd.Series(value / len(stocks), index=stocks)),
            instruments,
            objective=risk + TradingCost(),
            constraints=_limits(),
            scenarios=scenarios,
            horizon=HORIZON,
            market="SP500",
        )
        results[name] = problem.solve()
    result = results["expected-shortfall hedge"]
    pnl: dict[str, np.ndarray] = {}
    for name, res in results.items():
        assert res.scenario_returns is not None
        pnl.setdefault("unhedged", res.scenario_returns["before"].to_numpy())
        pnl[name] = res.scenario_returns["after"].to_numpy()
    comparison = pd.DataFrame(
        {
            name: {
                "VaR 95%": value_at_risk(v, 0.95),
                "ES 95%": expected_shortfall(v, 0.95),
                "ES 99%": expected_shortfall(v, 0.99),
                "volatility": float(np.std(v)),
            }
            for name, v in pnl.items()
        }
    ).T
    comparison.attrs["n_scenarios"] = scenarios.n_scenarios
    return result, comparison


def optimize_hedge(
    daily: pd.DataFrame, last: pd.Series, stocks: list[str], factor_etfs: list[str], value: float
) -> HedgeResult:
    """Minimum-variance hedge of the book with futures, an inverse ETF, ETFs and reductions.

    Risk model: the stocks, the S&P 500 and the factor ETFs regressed on the S&P 500 and
    the ETFs over the last 252 days (Ledoit-Wolf factor covariance). Prices, ADV and costs
    of the instruments are stated assumptions, not data.
    """
    etfs = returns_from_prices(load_default(start=START, columns=factor_etfs))
    assets = pd.concat([daily[[*stocks, "SP500"]], etfs], axis=1).dropna()
    model = FactorModel(covariance_estimator=LedoitWolf(), windows=(252,)).fit(
        assets, assets[["SP500", *factor_etfs]]
    )
    etf_hedges = [
        ETF(
            label=t,
            underlying=t,
            price=100.0,
            expense_ratio=0.0015,
            borrow_fee=0.005,
            cost=0.0005,
            adv=5e7,
        )
        for t in factor_etfs
    ]
    problem = HedgeProblem(
        Portfolio.from_holdings(pd.Series(value / len(stocks), index=stocks)),
        [*_index_hedges(last), *etf_hedges],
        objective=Variance() + TradingCost(),
        constraints=_limits(),
        risk_model=model.risk_model_,
        horizon=HORIZON,
        market="SP500",
    )
    return problem.solve()

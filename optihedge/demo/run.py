"""The demo's run: every figure it shows, computed into one :class:`DemoResult`.

:func:`run_demo` reads the embedded data, measures the book's beta by window and the
hedge quality, sizes the textbook hedges (futures, a put quoted by :func:`put_quote`),
solves the optimised hedges of :mod:`optihedge.demo.hedges` and sweeps the protective-put
problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from factor_models import MultiWindowRegression
from optihedge.datasets import load_default, metadata, returns_from_prices
from optihedge.demo.hedges import optimize_hedge, option_alternatives, shortfall_hedge
from optihedge.demo.setup import (
    DIVIDEND_YIELD,
    FUTURES_MULTIPLIER,
    HORIZON,
    OPTION_MULTIPLIER,
    PUT_MONEYNESS,
    RATE,
    START,
    SWEEP_GRID,
    WINDOWS,
    _horizon_returns,
)
from optihedge.instruments import MarketState
from optihedge.measures.diagnostics import hedge_quality
from optihedge.measures.risk import expected_shortfall, value_at_risk
from optihedge.measures.sizing import beta_adjusted_notional, futures_contracts
from optihedge.optimize.result import HedgeResult
from optihedge.pricing import black_scholes, greeks, volatility_proxy
from optihedge.sweeps import SweepResult, sweep

__all__ = ["DemoResult", "put_quote", "run_demo"]


@dataclass(frozen=True)
class DemoResult:
    """Everything the demo prints, labelled."""

    value: float
    asof: pd.Timestamp
    betas: pd.DataFrame
    quality: pd.DataFrame
    sizing_beta: float
    futures_price: float
    hedges: pd.DataFrame
    tail_risk: pd.DataFrame
    put: pd.Series
    optimized: HedgeResult
    shortfall: HedgeResult
    comparison: pd.DataFrame
    protection: pd.DataFrame
    option_hedges: dict[str, HedgeResult]
    daily: pd.DataFrame
    frontier: SweepResult


def run_demo(value: float = 1_000_000.0) -> DemoResult:
    """Compute the demo's figures for a book worth ``value`` USD."""
    stocks = list(metadata().query("kind == 'stock'").index)
    prices = load_default(start=START, columns=[*stocks, "SP500"])
    daily = returns_from_prices(prices)
    book = daily[stocks].mean(axis=1).rename("book")
    index = daily["SP500"]

    regression = MultiWindowRegression(book, index, windows=WINDOWS).fit()
    stability = regression.stability()
    betas = pd.DataFrame(
        {
            "beta": regression.betas["SP500"].droplevel("series"),
            "se_hac": regression.bse_hac["SP500"].droplevel("series"),
            "r2": regression.rsquared["book"],
            "start": regression.dates["start"].droplevel("series").dt.date,
        }
    )
    betas.index = [f"{w}d" for w in WINDOWS]
    betas.attrs["unstable"] = bool(stability["unstable"].iloc[0])
    betas.attrs["max_z"] = float(stability["max_z"].iloc[0])
    factor_etfs = ["MTUM", "QUAL", "SIZE", "USMV", "VLUE"]
    etf_returns = returns_from_prices(load_default(start=START, columns=factor_etfs))
    quality = hedge_quality(
        book, {"S&P 500": index, "factor ETFs": etf_returns.dropna()}, windows=(63, 252)
    ).summary()
    beta = float(betas["beta"].loc["252d"])
    spot = float(prices["SP500"].iloc[-1])

    hedges = pd.DataFrame(
        {
            "notional": [beta_adjusted_notional(value, beta, f) for f in (0.25, 0.5, 1.0)],
            "contracts": [
                futures_contracts(value, beta, spot, FUTURES_MULTIPLIER, fraction=f)
                for f in (0.25, 0.5, 1.0)
            ],
        },
        index=pd.Index(["25%", "50%", "100%"], name="hedge"),
    )

    h = _horizon_returns(pd.concat([book, index], axis=1), HORIZON)
    unhedged = value * h["book"]
    hedged = unhedged - beta_adjusted_notional(value, beta, 0.5) * h["SP500"]
    tail = {}
    for name, pnl in (("unhedged", unhedged), ("50% beta hedge", hedged)):
        tail[name] = {f"VaR {a:.0%}": value_at_risk(pnl, a) for a in (0.95, 0.99)} | {
            f"ES {a:.0%}": expected_shortfall(pnl, a) for a in (0.95, 0.99)
        }
    tail_risk = pd.DataFrame.from_dict(tail, orient="index")
    tail_risk.attrs["n_scenarios"] = len(h)

    vol = volatility_proxy(index.iloc[-252:])
    put = put_quote(value, beta, spot, vol)
    optimized = optimize_hedge(daily, prices.iloc[-1], stocks, factor_etfs, value)
    shortfall, comparison = shortfall_hedge(daily, prices.iloc[-1], stocks, value)
    market = MarketState(
        spot=pd.Series({"SP500": spot}),
        volatility=pd.Series({"SP500": vol}),
        rate=RATE,
        dividend_yield=pd.Series({"SP500": DIVIDEND_YIELD}),
        asof=prices.index[-1],
    )
    protection, option_hedges, put_problem = option_alternatives(
        daily, prices.iloc[-1], stocks, value, market, shortfall
    )
    frontier = sweep(put_problem, SWEEP_GRID, progress=False)
    return DemoResult(
        value,
        prices.index[-1],
        betas,
        quality,
        beta,
        spot,
        hedges,
        tail_risk,
        put,
        optimized,
        shortfall,
        comparison,
        protection,
        option_hedges,
        daily,
        frontier,
    )


def put_quote(value: float, beta: float, spot: float, vol: float) -> pd.Series:
    """Quote the listed puts that insure the book's beta, in whole contracts.

    The price per index unit is Black-Scholes rounded to the cent (as quoted); the premium,
    its share of the book and the delta-adjusted notional are those of the whole
    contracts shown: ``contracts_rounded * OPTION_MULTIPLIER * price_per_unit``. A book
    too small for one contract buys none, and pays no premium.
    """
    strike = PUT_MONEYNESS * spot
    years = HORIZON / 252.0
    price = round(float(black_scholes("put", spot, strike, years, RATE, vol, DIVIDEND_YIELD)), 2)
    g = greeks("put", spot, strike, years, RATE, vol, DIVIDEND_YIELD)
    exact = beta_adjusted_notional(value, beta) / spot / OPTION_MULTIPLIER
    contracts = float(round(exact))
    units = contracts * OPTION_MULTIPLIER  # index units insured by the whole contracts
    return pd.Series(
        {
            "strike": strike,
            "volatility": vol,
            "price_per_unit": price,
            "contracts": exact,
            "contracts_rounded": contracts,
            "premium": units * price,
            "premium_pct": units * price / value,
            "delta": float(g.delta),
            "delta_notional": float(g.delta) * units * spot,
        }
    )

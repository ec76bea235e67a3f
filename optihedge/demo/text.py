"""The demo's text: a :class:`~optihedge.demo.run.DemoResult` rendered as the command prints it."""

from __future__ import annotations

import pandas as pd

from optihedge.demo.run import DemoResult
from optihedge.demo.setup import (
    COLLAR,
    DIVIDEND_YIELD,
    FUTURE_CODE,
    FUTURES_MULTIPLIER,
    HORIZON,
    OPTION_EXPIRY,
    OPTION_MULTIPLIER,
    PREMIUM_BUDGET,
    PUT_MONEYNESS,
    RATE,
    START,
    _limits,
)
from optihedge.optimize.result import HedgeResult

__all__ = ["format_demo", "put_text"]


def put_text(put: pd.Series) -> str:
    """Return the line that states the put quote (contracts, price, premium, delta)."""
    money = "{:,.0f}".format
    return (
        f"  {put['contracts_rounded']:.0f} SPX contracts (x{OPTION_MULTIPLIER:.0f}; "
        f"{put['contracts']:.2f} would insure the beta exactly) at "
        f"{put['price_per_unit']:.2f} = premium USD {money(put['premium'])} "
        f"({put['premium_pct']:.2%} of the book); delta {put['delta']:.3f}, "
        f"delta-adjusted notional USD {money(put['delta_notional'])}."
    )


def _allocation_text(result: HedgeResult) -> str:
    alloc = result.allocation
    columns = ["weight", "notional", "units_rounded", "annual_carry"]
    tied = {label for group in result.solver_stats.get("tied", []) for label in group}
    # at least one currency unit, and every instrument a note about a tie names
    keep = (alloc["notional"].abs() >= 0.5) | alloc.index.isin(list(tied))
    shown = alloc.loc[keep, columns]
    shown.columns = pd.Index(
        [
            "weight",
            f"notional ({result.currency})",
            "contracts/shares",
            f"carry ({result.currency}/year)",
        ]
    )
    money = "{:,.0f}".format
    return shown.to_string(
        formatters={
            "weight": "{:.4f}".format,
            f"notional ({result.currency})": money,
            "contracts/shares": money,
            f"carry ({result.currency}/year)": money,
        }
    )


def _limits_header() -> str:
    """Every limit of the demo's mandate, by its registry key, as the tables name them."""
    limits = _limits()
    named = [f"{s.key} {s.value:g}" for c in limits for s in c.parameters()]
    return ", ".join(named + [repr(c) for c in limits if not c.parameters()])


def _limits_text(result: HedgeResult) -> str:
    table = result.constraints
    liquidity = table.index.str.startswith("liquidity")
    shown = table.loc[~liquidity | table["binding"], ["value", "limit", "binding", "shadow_price"]]
    n_liq = int(liquidity.sum())
    n_bind = int((liquidity & table["binding"]).sum())
    text: str = shown.to_string(float_format="{:.4g}".format)
    return text + f"\n(liquidity: {n_liq} instruments limited, {n_bind} binding)"


def _windows_note(r: DemoResult) -> str:
    """Why the two sections' beta and volatility before the hedge differ."""
    es = r.shortfall.risk["beta"].to_numpy(), r.shortfall.risk["volatility"].to_numpy()
    var = r.optimized.risk["beta"].to_numpy(), r.optimized.risk["volatility"].to_numpy()
    return (
        f"(Its beta and volatility before the hedge, {es[0][0]:.2f} and {es[1][0]:.2%}, are "
        f"those of every {HORIZON}-day path since {START[:4]}; the variance hedge's "
        f"{var[0][0]:.2f} and {var[1][0]:.2%} come from the 252 days of 2022. Different "
        "windows, not an error: the hedge ratio depends on the window, which is why the "
        "windows are compared at the top.)"
    )


def _sweep_text(r: DemoResult) -> str:
    """Tabulate the closing sweep: ES after the hedge by gross cap and premium budget."""
    points = r.frontier.points
    table = points.pivot(
        index="premium_budget.max", columns="gross_exposure.max", values="scenario_es"
    )
    table.index = [f"{b:.2%}" for b in table.index]
    table.columns = [f"gross {g:.0%}" for g in table.columns]
    failed = int((~points["status"].str.startswith("optimal")).sum())
    return "\n".join(
        [
            f"Sweep ({len(points)} points, {r.frontier.computed} solved on one compiled "
            f"problem in {r.frontier.elapsed:.2f} s): the protective-put hedge's {HORIZON}-day "
            "95% expected shortfall by premium budget (rows, fraction of the book) and gross "
            f"exposure cap (columns){f'; {failed} infeasible' if failed else ''}:",
            table.to_string(float_format="{:.4f}".format),
        ]
    )


def format_demo(result: DemoResult) -> str:
    """Render a :class:`DemoResult` as the text the command prints."""
    r = result
    money = "{:,.0f}".format
    lines = [
        f"optihedge demo: equal-weight book of 20 US stocks worth USD {money(r.value)}, "
        f"as of {r.asof.date()} (embedded data, from {START[:4]}).",
        "",
        "Beta to the S&P 500 by trailing window (OLS on daily returns, Newey-West errors):",
        r.betas.to_string(float_format="{:.3f}".format),
        f"Windows {'disagree' if r.betas.attrs['unstable'] else 'agree'} beyond their "
        f"standard errors (largest z = {r.betas.attrs['max_z']:.2f}).",
        "",
        "Hedge quality (correlation by window; realised variance reduction in stress "
        "windows of the hedge sized on the 252 days before; NaN = not covered by the data):",
        r.quality.to_string(float_format="{:.3f}".format),
        "",
        f"Hedges sized on the 252-day beta {r.sizing_beta:.3f}; E-mini S&P 500 futures at "
        f"{r.futures_price:,.2f} (assumed equal to the index: basis ignored), "
        f"multiplier USD {FUTURES_MULTIPLIER:.0f}; negative contracts = sell:",
        r.hedges.to_string(formatters={"notional": money}),
        "",
        f"{HORIZON}-day historical risk, USD loss (overlapping {HORIZON}-day windows, "
        f"{r.tail_risk.attrs['n_scenarios']} scenarios; hedge = short index at its return):",
        r.tail_risk.to_string(float_format=money),
        "",
        f"The put that insures it: {HORIZON}-trading-day S&P 500 put, strike "
        f"{r.put['strike']:,.2f} ({PUT_MONEYNESS:.0%} of spot), Black-Scholes at volatility "
        f"{r.put['volatility']:.1%} (EWMA realised vol x implied/realised ratio), "
        f"r={RATE:.1%}, q={DIVIDEND_YIELD:.1%}:",
        put_text(r.put),
        "",
        f"Optimised hedge: minimum {HORIZON}-day variance plus trading costs, over "
        f"{FUTURE_CODE} (E-mini S&P 500 future), the SH inverse ETF, factor ETFs and sales "
        f"of three holdings (assumed prices, ADV and costs). Limits: {_limits_header()}.",
        _allocation_text(r.optimized),
        "",
        f"Risk over {HORIZON} days (fraction of the book; normal value-at-risk and expected "
        "shortfall from the 252-day factor model of 2022):",
        r.optimized.risk.to_string(float_format="{:.4f}".format),
        "",
        "Limits (shadow price = variance saved per unit of relaxation):",
        _limits_text(r.optimized),
        "",
        r.optimized.summary(),
        "",
        f"Expected-shortfall hedge: minimum 95% expected shortfall over "
        f"{r.comparison.attrs['n_scenarios']} historical {HORIZON}-day paths since "
        f"{START[:4]}, SH revalued along each path; the same limits, without the factor "
        "ETFs.",
        _allocation_text(r.shortfall),
        "",
        f"On the same historical scenarios ({HORIZON}-day loss, fraction of the book; the "
        "minimum-variance hedge uses the same instruments and limits):",
        r.comparison.to_string(float_format="{:.4f}".format),
        "",
        r.shortfall.summary(),
        _windows_note(r),
        "",
        f"Options on offer: the same expected-shortfall hedge with a {OPTION_EXPIRY}-day "
        f"S&P 500 put ({PUT_MONEYNESS:.0%} strike) or collar ({COLLAR[0]:.0%}/"
        f"{COLLAR[1]:.0%}) added, repriced in every scenario (Black-Scholes at the "
        "scenario's index level, a spot-volatility beta measured on the VIX and a skew); "
        f"the carry cap gives way to a premium budget of {PREMIUM_BUDGET:.0%} of the book. "
        "Cost against protection (USD; risk as a fraction of the book over "
        f"{HORIZON} days; vega after the hedge per volatility point). Two volatilities "
        "after the hedge: 'volatility (repriced)' below is the standard deviation of the "
        "repriced scenario P&L (options at their full value); the 'volatility' in each "
        "hedge's sentence further down is the risk model's (the scenarios' covariance), "
        "which sees options through their delta only:",
        r.protection.to_string(
            formatters={
                "premium (USD)": money,
                "carry (USD/yr)": money,
                "vega (USD/pt)": money,
                **{
                    c: "{:.4f}".format
                    for c in ("ES 95%", "ES 99%", "worst", "volatility (repriced)")
                },
            }
        ),
        "",
        *(
            line
            for name, res in r.option_hedges.items()
            for line in (f"{name[2:].capitalize()}:", _allocation_text(res), res.summary(), "")
        ),
        _sweep_text(r),
        "",
    ]
    return "\n".join(lines)

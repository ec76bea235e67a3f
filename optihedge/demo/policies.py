"""The demo's short backtest: two example hedge policies through 2020-2022, marked daily.

The demo's book (equal value in the 20 embedded stocks, bought on the first day and held)
is hedged by the futures overlay and the protective-put programme of
:mod:`optihedge.backtests.examples` from 2020 to 2022 (the COVID crash and the 2022 bear
market), paying commissions, spreads and impact, cash at the demo's rate. The full
2000-2022 run of all four example policies is ``examples/05_backtest.py``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from optihedge.backtests import BacktestResult, CostModel, backtest, examples
from optihedge.demo.setup import RATE

__all__ = ["POLICY_WINDOW", "format_policies", "run_policies", "save_policies"]

#: The demo backtest's window (first and last trading day).
POLICY_WINDOW = ("2020-01-02", "2022-12-28")
_COSTS = CostModel(commission_per_contract=1.5, commission_per_share=0.005, impact=0.1)
_ROWS = {
    "annualised_return": "annualised return",
    "annualised_volatility": "annualised volatility",
    "max_drawdown": "maximum drawdown",
    "hedge_efficiency": "hedge efficiency (share of losses offset)",
}


def run_policies(value: float = 1_000_000.0) -> dict[str, BacktestResult]:
    """Backtest the futures overlay and the protective puts on a book worth ``value`` USD."""
    start, end = POLICY_WINDOW
    prices = examples.embedded_prices(start="2018-06-01", end=end)
    book = examples.embedded_book(prices, value=value)
    policies = {
        "futures overlay": examples.futures_overlay(),
        "protective puts": examples.protective_puts(),
    }
    return {
        name: backtest(policy, prices, start=start, end=end, book=book, costs=_COSTS, rate=RATE)
        for name, policy in policies.items()
    }


def format_policies(results: dict[str, BacktestResult]) -> str:
    """Return the demo's text: each policy's summary, whole period and the COVID crash."""
    start, end = POLICY_WINDOW
    lines = [
        f"\nHedge policies through history ({start} to {end}, marked every trading day, "
        "decided at month ends and option expiries)",
    ]
    for name, result in results.items():
        summary = result.summary()
        d = result.daily
        lines.append(
            f"\n{name}: {len(result.decisions)} decisions, {len(result.trades)} trades, "
            f"costs {result.costs()['total'].sum():,.0f} USD; final value hedged "
            f"{d['hedged_value'].iloc[-1]:,.0f} USD against {d['unhedged_value'].iloc[-1]:,.0f} "
            "unhedged"
        )
        rows = []
        for window in ("whole period", "COVID 2020"):
            if window not in summary.index.get_level_values(0):
                continue
            part = summary.loc[window]
            for key, label in _ROWS.items():
                if key in part.index:
                    rows.append((window, label, part.loc[key, "hedged"], part.loc[key, "unhedged"]))
        table = pd.DataFrame(rows, columns=["window", "measure", "hedged", "unhedged"])
        lines.append(table.set_index(["window", "measure"]).round(4).to_string())
    return "\n".join(lines) + "\n"


def save_policies(results: dict[str, BacktestResult], folder: str | Path) -> list[Path]:
    """Save each policy's figures and HTML report under ``folder``; return the reports."""
    root = Path(folder)
    out = []
    for name, result in results.items():
        slug = name.replace(" ", "-")
        result.save_figures(root / slug)
        out.append(result.to_html(root / f"{slug}.html").resolve())
    return out

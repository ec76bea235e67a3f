"""The demo's files: the closing sweep's frontier figure and the HTML report."""

from __future__ import annotations

from pathlib import Path

from optihedge._files import write_atomically
from optihedge.demo.run import DemoResult
from optihedge.demo.setup import FUTURE_CODE, FUTURES_MULTIPLIER, HORIZON, START
from optihedge.sweeps import frontier_plot

__all__ = ["save_frontier", "write_report"]


def save_frontier(result: DemoResult, path: str | Path) -> Path:
    """Save the closing sweep's frontier (ES after the hedge against premium) as a PNG."""
    fig = frontier_plot(
        result.frontier, risk="scenario_es", cost="premium", by="gross_exposure.max"
    )
    fig.axes[0].set_xlabel(f"premium paid (USD, book of USD {result.value:,.0f})")
    fig.axes[0].set_ylabel(f"{HORIZON}-day 95% expected shortfall after the hedge")
    target = Path(path)
    # replaced whole: a reader never sees half a picture, a failure leaves the old one
    write_atomically({target: lambda temporary: fig.savefig(temporary, dpi=110)})
    return target


def write_report(result: DemoResult, path: str | Path) -> Path:
    """Write the HTML report of the demo's expected-shortfall hedge to ``path``."""
    first, last = result.daily.index[0].date(), result.daily.index[-1].date()
    return result.shortfall.report(
        path,
        title=f"optihedge demo: expected-shortfall hedge of a USD {result.value:,.0f} book",
        inputs={
            "book": "equal weights in the 20 embedded US stocks, rebalanced daily",
            "data span": f"daily returns {first} to {last} (embedded data)",
            "scenarios": f"every overlapping {HORIZON}-day path since {START[:4]}",
            "risk model": "the scenarios' own covariance (betas and volatility)",
            "assumptions": (
                f"{FUTURE_CODE} at the index level (basis ignored), multiplier "
                f"{FUTURES_MULTIPLIER:.0f}; SH at USD 13, expense ratio 0.88%; trading costs "
                "of 1-5 bp; ADV as stated in the demo's source"
            ),
            "realised returns": f"the same daily data, {first} to {last}",
        },
        returns=result.daily,
    )

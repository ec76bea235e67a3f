"""Figures of a backtest (matplotlib, object API: no global state, safe in any thread).

Each function takes a :class:`~optihedge.backtests.BacktestResult` and returns a
``matplotlib.figure.Figure`` (``BacktestResult.plot(kind)`` picks one by name,
``BacktestResult.save_figures(folder)`` writes them all):

- :func:`equity_curves`: hedged and unhedged values, their drawdowns below;
- :func:`hedge_ratio_regimes`: the hedge ratio through time, regimes shaded;
- :func:`cost_curves`: cumulative costs by kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from optihedge.analysis.figures import AFTER, BEFORE
from optihedge.backtests.costs import COST_KINDS
from optihedge.backtests.metrics import drawdown

__all__ = ["FIGURES", "cost_curves", "equity_curves", "hedge_ratio_regimes"]

#: Colours of the regime bands, in order of first appearance.
REGIME_COLOURS = ("#d9ead3", "#fff2cc", "#fce5cd", "#f4cccc", "#cfe2f3", "#d9d2e9")


def equity_curves(result: Any) -> Figure:
    """Plot hedged and unhedged values (top) and their drawdowns from the running peak (bottom)."""
    d = result.daily
    fig = Figure(figsize=(8.0, 5.6))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    for column, colour, label in (
        ("unhedged_value", BEFORE, "unhedged"),
        ("hedged_value", AFTER, "hedged"),
    ):
        values = d[column].astype(float)
        top.plot(d.index, values, color=colour, linewidth=1.2, label=label)
        bottom.plot(d.index, -drawdown(values), color=colour, linewidth=1.0, label=label)
    top.set_ylabel("value (base currency)")
    top.set_title(f"{result.policy}: hedged against unhedged")
    top.legend(loc="upper left")
    bottom.set_ylabel("drawdown (fraction of peak)")
    bottom.axhline(0.0, color="black", linewidth=0.6)
    fig.tight_layout()
    return fig


def _regime_spans(regime: pd.Series) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """Return runs of one regime: (first date, last date, label); no-regime runs dropped."""
    labels = regime.astype(object).where(regime.notna(), None).tolist()
    spans: list[tuple[pd.Timestamp, pd.Timestamp, str]] = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            if labels[start] is not None:
                end = i if i < len(labels) else i - 1
                spans.append((regime.index[start], regime.index[end], str(labels[start])))
            start = i
    return spans


def hedge_ratio_regimes(result: Any) -> Figure:
    """Plot the hedge ratio each day (delta notional against the book's), regimes shaded."""
    d = result.daily
    fig = Figure(figsize=(8.0, 3.6))
    ax = fig.subplots()
    colours: dict[str, str] = {}
    for first, last, label in _regime_spans(d["regime"]):
        colour = colours.setdefault(label, REGIME_COLOURS[len(colours) % len(REGIME_COLOURS)])
        # dates on a date axis (matplotlib's stubs ask for floats)
        ax.axvspan(first, last, color=colour, alpha=0.8, linewidth=0)  # type: ignore[arg-type]
    for label, colour in colours.items():
        ax.fill_between([], [], color=colour, label=f"regime: {label}")
    ax.plot(
        d.index, d["hedge_ratio"].astype(float), color=AFTER, linewidth=1.2, label="hedge ratio"
    )
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_ylabel("hedge ratio (hedge delta / book)")
    ax.set_title("Hedge ratio" + (" and regime" if colours else "") + " through time")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def cost_curves(result: Any) -> Figure:
    """Plot the cumulative costs by kind (only kinds that cost something), base currency."""
    d = result.daily
    fig = Figure(figsize=(8.0, 3.6))
    ax = fig.subplots()
    paid = [k for k in COST_KINDS if float(d[f"cost_{k}"].sum()) > 0.0]
    if paid:
        cumulative = np.vstack([d[f"cost_{k}"].astype(float).cumsum().to_numpy() for k in paid])
        ax.stackplot(d.index, cumulative, labels=paid, alpha=0.85)
        ax.legend(loc="upper left", fontsize=8)
        total = float(cumulative[:, -1].sum())
        ax.set_title(f"Cumulative costs by kind: {total:,.0f} in total")
    else:
        ax.plot(d.index, np.zeros(len(d)), color=BEFORE)
        ax.set_title("Cumulative costs: none paid")
    ax.set_ylabel("cumulative cost (base currency)")
    fig.tight_layout()
    return fig


#: The figures by the name ``BacktestResult.plot`` takes.
FIGURES: dict[str, Callable[[Any], Figure]] = {
    "equity": equity_curves,
    "hedge_ratio": hedge_ratio_regimes,
    "costs": cost_curves,
}

"""Figures of a hedge (matplotlib, object API: no global state, safe in any thread).

Every function returns a ``matplotlib.figure.Figure``; save it with
``fig.savefig(path)``. Risk figures are fractions of capital over the result's horizon.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from optihedge.errors import SpecificationError
from optihedge.measures.risk import expected_shortfall, value_at_risk

if TYPE_CHECKING:
    import pandas as pd

    from optihedge.analysis.attribution import ReturnAttribution

__all__ = ["attribution_bars", "effectiveness_bars", "pnl_distribution"]

BEFORE, AFTER = "#8c8c8c", "#1f5fa8"


def attribution_bars(table: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Horizontal bars of an attribution table's contributions, before and after.

    ``table`` is a ``HedgeResult.attribution(...)`` table (its ``"total"`` row is shown
    in the title, not as a bar).
    """
    rows = table.drop(index="total")
    fig = Figure(figsize=(7.0, 0.45 * len(rows) + 1.6))
    ax = fig.subplots()
    y = np.arange(len(rows))
    ax.barh(y + 0.2, rows["before"], height=0.38, color=BEFORE, label="before")
    ax.barh(y - 0.2, rows["after"], height=0.38, color=AFTER, label="after")
    ax.set_yticks(y, [str(i) for i in rows.index])
    ax.invert_yaxis()
    ax.axvline(0.0, color="black", linewidth=0.6)
    measure = str(table.attrs.get("measure", "risk")).replace("_", " ")
    total = table.loc["total"]
    by = table.attrs.get("by", "")
    ax.set_title(title or f"{measure} by {by}: {total['before']:.2%} -> {total['after']:.2%}")
    ax.set_xlabel(f"contribution ({table.attrs.get('units', 'fraction of capital')})")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def pnl_distribution(result: Any, *, alpha: float | None = None, bins: int = 80) -> Figure:
    """Histogram of the horizon P&L before and after the hedge, VaR and ES marked.

    Needs a result solved with scenarios (``result.scenario_returns``).
    """
    scenarios = result.scenario_returns
    if scenarios is None:
        raise SpecificationError(
            "pnl_distribution needs a result solved with scenarios (its scenario_returns)."
        )
    a = float(result.risk.attrs.get("scenario_alpha", 0.95) if alpha is None else alpha)
    p = None if result.risk_inputs is None else result.risk_inputs.probabilities
    fig = Figure(figsize=(7.0, 4.0))
    ax = fig.subplots()
    before, after = scenarios["before"].to_numpy(), scenarios["after"].to_numpy()
    edges = list(np.histogram_bin_edges(np.concatenate([before, after]), bins=bins))
    for values, color, name in ((before, BEFORE, "before"), (after, AFTER, "after")):
        ax.hist(values, bins=edges, weights=p, color=color, alpha=0.55, label=name)
        var = value_at_risk(values, a, p)
        es = expected_shortfall(values, a, p)
        ax.axvline(-var, color=color, linestyle="--", linewidth=1.2)
        ax.axvline(-es, color=color, linestyle=":", linewidth=1.6)
        ax.annotate(
            f"VaR {var:.1%} / ES {es:.1%}",
            xy=(-es, 0.92 if name == "before" else 0.82),
            xycoords=("data", "axes fraction"),
            color=color,
            fontsize=8,
            ha="right",
        )
    ax.set_xlabel(f"return over {result.horizon} trading days (fraction of capital)")
    ax.set_ylabel("probability" if p is not None else "scenarios")
    ax.set_title(f"Horizon P&L, {len(before)} scenarios; dashed VaR, dotted ES at {a:g}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def effectiveness_bars(attribution: ReturnAttribution) -> Figure:
    """Compounded book and hedged returns in each covered stress window."""
    table = attribution.effectiveness
    covered = table[table["covered"].astype(bool)]
    fig = Figure(figsize=(7.0, 3.6))
    ax = fig.subplots()
    x = np.arange(len(covered))
    ax.bar(x - 0.2, covered["book"], width=0.38, color=BEFORE, label="book")
    ax.bar(x + 0.2, covered["hedged"], width=0.38, color=AFTER, label="hedged")
    labels = [
        f"{name}\n{'' if np.isnan(off) else f'offset {off:.0%}'}"
        for name, off in zip(covered.index, covered["offset"], strict=True)
    ]
    ax.set_xticks(x, labels)
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_ylabel("return over the window")
    ax.set_title("Hedge effectiveness in stress windows (hedge held through)")
    ax.legend()
    fig.tight_layout()
    return fig

"""Figures of a hedge (matplotlib, object API: no global state, safe in any thread).

Every function returns a ``matplotlib.figure.Figure``; save it with
``fig.savefig(path)``. Risk figures are fractions of capital over the result's horizon.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from optihedge.errors import SpecificationError
from optihedge.measures.risk import (
    expected_shortfall,
    parametric_es,
    parametric_var,
    value_at_risk,
)

if TYPE_CHECKING:
    from optihedge.analysis.attribution import ReturnAttribution

__all__ = ["attribution_bars", "effectiveness_bars", "pnl_distribution"]

BEFORE, AFTER = "#8c8c8c", "#1f5fa8"
#: bars drawn in an attribution figure before the rest are summed into one
TOP_BARS = 12


def _top_rows(rows: pd.DataFrame, top: int) -> pd.DataFrame:
    """Keep the ``top`` largest rows by ``max(|before|, |after|)`` and one row of the rest."""
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise SpecificationError(f"The 'top' argument must be an integer >= 1. Got {top!r}.")
    if len(rows) <= top:
        return rows
    size = rows[["before", "after"]].abs().max(axis=1).to_numpy()
    order = np.argsort(-size, kind="stable")
    kept = rows.iloc[order[: top - 1]]
    rest = rows.iloc[order[top - 1 :]]
    other = rest[["before", "after"]].sum().to_frame(f"other ({len(rest)})").T
    return pd.concat([kept[["before", "after"]], other])


def attribution_bars(
    table: pd.DataFrame, *, title: str | None = None, top: int = TOP_BARS
) -> Figure:
    """Horizontal bars of an attribution table's contributions, before and after.

    ``table`` is a ``HedgeResult.attribution(...)`` table (its ``"total"`` row is shown
    in the title, not as a bar). Only the ``top`` rows with the largest contribution
    (before or after, in absolute value) get a bar each, largest first; the others are
    summed into one bar, ``"other (n)"``, so that the bars still add up to the total.
    """
    rows = _top_rows(table.drop(index="total"), top)
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
    """Distribution of the horizon P&L before and after the hedge, VaR and ES marked.

    With scenarios (``result.scenario_returns``): their histogram, with the scenario VaR
    and ES at ``alpha``. Without (a variance result): the normal densities of the risk
    model's volatility before and after, zero mean, with the normal VaR and ES.
    """
    scenarios = result.scenario_returns
    if scenarios is None:
        return _normal_distribution(result, 0.95 if alpha is None else alpha)
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
    ax.set_xlabel(f"return over {result.horizon_label} (fraction of capital)")
    ax.set_ylabel("probability" if p is not None else "scenarios")
    ax.set_title(f"Horizon P&L, {len(before)} scenarios; dashed VaR, dotted ES at {a:g}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def _normal_distribution(result: Any, alpha: float) -> Figure:
    """Draw the normal densities of the horizon P&L (the risk model's volatility, zero mean)."""
    a = float(alpha)
    if not 0.5 <= a < 1.0:
        raise SpecificationError(f"The 'alpha' argument must be in [0.5, 1). Got {alpha!r}.")
    vols = {k: float(result.risk.loc[k, "volatility"]) for k in ("before", "after")}
    widest = max(max(vols.values()), 1e-12)
    grid = np.linspace(-4.5 * widest, 4.5 * widest, 601)
    fig = Figure(figsize=(7.0, 4.0))
    ax = fig.subplots()
    for name, color in (("before", BEFORE), ("after", AFTER)):
        vol = vols[name]
        var, es = parametric_var(0.0, vol, a), parametric_es(0.0, vol, a)
        if vol > 0.0:
            density = np.exp(-0.5 * (grid / vol) ** 2) / (vol * np.sqrt(2.0 * np.pi))
            ax.plot(grid, density, color=color, label=f"{name} (volatility {vol:.2%})")
            ax.fill_between(grid, density, where=grid <= -var, color=color, alpha=0.25)
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
    ax.set_xlabel(f"return over {result.horizon_label} (fraction of capital)")
    ax.set_ylabel("density")
    ax.set_title(
        f"Horizon P&L, normal with the risk model's volatility; dashed VaR, dotted ES at {a:g}"
    )
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

"""Figures of a sweep (matplotlib object API; each returns a Figure to show or save)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from optihedge.errors import MissingLabelsError, SpecificationError
from optihedge.sweeps._sweep import SweepResult

__all__ = ["allocation_plot", "frontier_plot", "shadow_price_plot"]


def _check_result(result: object, plot: str) -> None:
    if not isinstance(result, SweepResult):
        raise SpecificationError(
            f"{plot} takes the SweepResult that oh.sweep returns. Got "
            f"{type(result).__name__}: pass the result itself, not its points table."
        )


def _one_slice(result: SweepResult, plot: str, *keys: str | None) -> None:
    """Refuse a sweep in which keys other than ``keys`` vary: its points would mix."""
    others = result._varying(*(k for k in keys if k is not None))
    if others:
        first = [result.points[k].iloc[0] for k in others]
        example = {
            k: v.item() if isinstance(v, np.generic) else v
            for k, v in zip(others, first, strict=True)
        }
        shown = ", ".join(f"{k!r}: {v!r}" for k, v in example.items())
        raise SpecificationError(
            f"{plot} draws a one-dimensional slice of the sweep, but {others} vary too and "
            f"their points would be mixed in one line. Select a slice first: "
            f"{plot}(result.select({{{shown}}}), ...)."
        )


def _column(result: SweepResult, name: str, what: str) -> np.ndarray:
    if not isinstance(name, str) or name not in result.points.columns:
        raise MissingLabelsError(
            f"The sweep has no column {name!r} for the {what}; it has "
            f"{[c for c in result.points.columns if not c.startswith('shadow_price[')]}."
        )
    return result.points[name].to_numpy(dtype=np.float64)


def frontier_plot(
    result: SweepResult, *, risk: str = "volatility", cost: str = "premium", by: str | None = None
) -> Figure:
    """Risk after the hedge against its cost, one line per value of ``by`` (a grid key).

    ``risk`` and ``cost`` are columns of ``result.points`` (``"scenario_es"``,
    ``"annual_carry"``, ``"turnover"``, ...). Failed points are left out. Besides
    ``by``, one grid key may vary (along each line); with more, the lines would mix
    points, so the plot refuses and shows the :meth:`SweepResult.select` call to make.
    """
    _check_result(result, "frontier_plot")
    ok = result.points["status"].astype(str).str.startswith("optimal").to_numpy()
    x, y = _column(result, cost, "cost"), _column(result, risk, "risk")
    if by is not None and (not isinstance(by, str) or by not in result.keys):
        raise MissingLabelsError(
            f"The 'by' argument {by!r} is not a key of the sweep; its keys are "
            f"{list(result.keys)}, or leave 'by' out for one line."
        )
    along = result._varying(*([by] if by is not None else []))
    if len(along) > 1:  # one key may vary along each line; more would mix points
        _one_slice(result, "frontier_plot", by, along[0])
    fig = Figure(figsize=(6.5, 4.2))
    ax = fig.subplots()
    groups = [(None, ok)]
    if by is not None:
        values = result.points[by]
        groups = [(v, ok & (values == v).to_numpy()) for v in values.unique()]
    for value, mask in groups:
        order = np.argsort(x[mask], kind="stable")
        label = None if value is None else f"{by} = {value}"
        ax.plot(x[mask][order], y[mask][order], marker="o", markersize=3, label=label)
    ax.set_xlabel(cost.replace("_", " "))
    ax.set_ylabel(f"{risk.replace('_', ' ')} after the hedge")
    ax.set_title(f"What each unit of {cost.replace('_', ' ')} buys ({int(ok.sum())} points)")
    if by is not None:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def shadow_price_plot(result: SweepResult, limit: str, *, key: str | None = None) -> Figure:
    """Plot a limit's shadow price against a swept key (the limit's own key by default).

    Only ``key`` may vary; on a multi-key sweep, plot a slice: ``result.select({...})``.
    The shadow price is what relaxing the limit gains per unit. Where that differs from
    what tightening it costs (``shadow_degenerate[<limit>]``: the limit binds at a kink
    of the optimum, see ``HedgeResult.constraints``), no single price exists: the line
    has a gap there and a cross on the axis marks the point (named in the legend).
    """
    _check_result(result, "shadow_price_plot")
    column = f"shadow_price[{limit}]"
    y = _column(result, column, "shadow price")
    key = limit if key is None else key
    x = _column(result, key, "swept key")
    _one_slice(result, "shadow_price_plot", key)
    flag = f"shadow_degenerate[{limit}]"
    flagged = (
        result.points[flag].fillna(False).to_numpy(dtype=bool)
        if flag in result.points.columns
        else np.zeros(len(y), dtype=bool)
    )
    order = np.argsort(x, kind="stable")
    fig = Figure(figsize=(6.5, 4.2))
    ax = fig.subplots()
    drawn = np.where(flagged, np.nan, y)
    ax.plot(x[order], drawn[order], marker="o", markersize=3, label="shadow price")
    if flagged.any():
        # on the axis (axes coordinates in y): a mark, not a value
        ax.plot(
            x[flagged],
            np.zeros(int(flagged.sum())),
            linestyle="none",
            marker="x",
            color="C3",
            clip_on=False,
            transform=ax.get_xaxis_transform(),
            label="degenerate: relaxing and tightening differ (not drawn)",
        )
        ax.legend(fontsize=8)
    ax.set_xlabel(key)
    ax.set_ylabel(f"shadow price of {limit}")
    ax.set_title("Objective saved per unit of relaxation")
    fig.tight_layout()
    return fig


def allocation_plot(result: SweepResult, key: str, *, column: str = "weight") -> Figure:
    """Stack the allocation by instrument across a one-dimensional sweep of ``key``.

    Raises
    ------
    SpecificationError
        If another grid key varies too (the sweep is not one-dimensional in ``key``);
        the message shows the :meth:`SweepResult.select` call that takes one slice.
    """
    _check_result(result, "allocation_plot")
    if not isinstance(key, str) or key not in result.keys:
        raise MissingLabelsError(
            f"The 'key' argument {key!r} is not a key of the sweep; its keys are "
            f"{list(result.keys)}."
        )
    if not isinstance(column, str) or column not in ("weight", "notional", "units"):
        raise SpecificationError(
            f"The 'column' argument must be 'weight', 'notional' or 'units'. Got {column!r}."
        )
    _one_slice(result, "allocation_plot", key)
    x = _column(result, key, "swept key")
    table = result.pivot(column).reindex(result.points.index).fillna(0.0)
    order = np.argsort(x, kind="stable")
    values = table.to_numpy()[order].T
    fig = Figure(figsize=(6.5, 4.2))
    ax = fig.subplots()
    positive, negative = np.clip(values, 0, None), np.clip(values, None, 0)
    colors = [f"C{i % 10}" for i in range(values.shape[0])]
    ax.stackplot(x[order], positive, labels=list(table.columns), colors=colors, alpha=0.85)
    ax.stackplot(x[order], negative, colors=colors, alpha=0.85)
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_xlabel(key)
    ax.set_ylabel(f"{column} by instrument")
    ax.legend(fontsize=7, loc="best")
    ax.set_title("Allocation across the sweep")
    fig.tight_layout()
    return fig

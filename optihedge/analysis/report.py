"""The hedge report: one self-contained HTML page a chief risk officer can open anywhere.

No network: styles are inline, figures are embedded PNGs (base64), and the only script
is a few inline lines that record each figure's rendered size on the page (so that a
headless browser can check it). Sections: the inputs, the policy sentence, the
allocation, risk before and after, the Greeks, the limits (binding flags and shadow
prices), attribution tables, figures, and, given realised returns, what the hedge earned
by factor and how it did in stress windows.

A backtest's report (:func:`write_backtest_report`; ``optihedge.report`` picks it for a
backtest's result) has its own sections: the summary, hedged against unhedged over the
whole period and the named windows, the costs by kind, the first and last decisions, and
the figures.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from optihedge._files import write_atomically
from optihedge.analysis.attribution import return_attribution
from optihedge.analysis.explain import explain
from optihedge.analysis.figures import attribution_bars, effectiveness_bars, pnl_distribution
from optihedge.calendar import infer_frequency
from optihedge.errors import SpecificationError

__all__ = ["check_writable", "report", "write_backtest_report", "write_report"]

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1000px; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.policy { font-size: 1.1em; background: #eef4fb; padding: 0.8em 1em;
          border-left: 4px solid #1f5fa8; }
.note { color: #555; font-size: 0.9em; }
figure { margin: 1em 0; } img { max-width: 100%; }
"""

_SCRIPT = """
window.addEventListener("load", function () {
  document.querySelectorAll("img").forEach(function (img) {
    img.setAttribute("data-rendered", img.naturalWidth + "x" + img.naturalHeight);
  });
  document.body.setAttribute("data-ready", "1");
});
"""


def check_writable(path: str | Path) -> Path:
    """Return ``path`` as a Path if a file can be written there.

    Raises
    ------
    SpecificationError
        Naming the path and why not (a directory, a missing or read-only folder, a
        folder that is a file).
    """
    if not isinstance(path, str | Path) or not str(path):
        raise SpecificationError(
            f"The 'path' argument must be a file path (str or Path). Got {path!r}."
        )
    target = Path(path)
    if target.is_dir():
        raise SpecificationError(
            f"The 'path' argument {str(target)!r} is a directory; give a file name in it "
            "(e.g. 'hedge.html')."
        )
    folder = target.parent if str(target.parent) else Path(".")
    if folder.exists() and not folder.is_dir():
        raise SpecificationError(
            f"The 'path' argument {str(target)!r} cannot be written: {str(folder)!r} is a "
            "file, not a folder."
        )
    if not folder.is_dir():
        raise SpecificationError(
            f"The 'path' argument {str(target)!r} cannot be written: its folder "
            f"{str(folder)!r} does not exist. Create it first."
        )
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise SpecificationError(
            f"The 'path' argument {str(target)!r} cannot be written: no write permission. "
            "Choose a writable location."
        )
    return target


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _number(fmt: str) -> Callable[[float], str]:
    """``fmt.format`` without the sign of a number that shows as zero (no ``-0.0000``)."""

    def show(value: float) -> str:
        text = fmt.format(value)
        if text.startswith("-") and not any(c in "123456789" for c in text.split("e")[0]):
            return text[1:]
        return text

    return show


def _table(
    frame: pd.DataFrame,
    table_id: str,
    fmt: str = "{:,.4f}",
    columns: Mapping[str, str] | None = None,
) -> str:
    """Render an HTML table: floats in ``fmt`` (``columns``: one by column), no index row."""
    formatters = {c: _number(f) for c, f in (columns or {}).items() if c in frame.columns}
    return frame.to_html(
        table_id=table_id,
        float_format=_number(fmt),
        formatters=formatters or None,  # type: ignore[arg-type]
        border=0,
        na_rep="",
        escape=True,
        index_names=False,
    )


#: the allocation's columns: fractions to 4 decimals, money to the unit, counts to 2
_ALLOCATION = {
    "weight": "{:,.4f}",
    "notional": "{:,.0f}",
    "units": "{:,.2f}",
    "units_rounded": "{:,.0f}",
    "premium": "{:,.0f}",
    "annual_premium": "{:,.0f}",
    "delta_notional": "{:,.0f}",
    "annual_carry": "{:,.0f}",
}


def _drag_table(drag: pd.Series, returns: pd.DataFrame) -> pd.DataFrame:
    """Tabulate the drag in rising markets with its units: days, daily mean, annualised, total."""
    freq = infer_frequency(returns.index)
    unit = freq.unit
    mean = float(drag["mean_daily"])
    rows = {
        f"{unit}s the market rose": f"{drag['up_days']:,.0f}",
        f"mean per {unit} (hedged minus book, % of capital)": f"{mean:.4%}",
        f"annualised (x {freq.periods_per_year} {unit}s a year, % of capital)": (
            f"{mean * freq.periods_per_year:.3%}"
        ),
        "total over those days (% of capital, summed)": f"{float(drag['total']):.3%}",
    }
    return pd.DataFrame({str(drag.name): rows})


def _percent(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].map(lambda v: "" if pd.isna(v) else _number("{:.3%}")(v))
    return out


def _inputs_table(result: Any, extra: Mapping[str, str] | None) -> pd.DataFrame:
    ri = result.risk_inputs
    rows: dict[str, str] = {
        "capital": result.money(result.capital),
        "horizon": f"{result.horizon_label} ({result.frequency} data)",
        "market (beta reference)": str(result.market),
        "holdings": f"{len(ri.holdings)}",
        "hedge instruments": ", ".join(str(i) for i in result.weights.index),
        "risk model factors": ", ".join(str(f) for f in ri.loadings.columns),
    }
    if ri.probabilities is not None:
        rows["scenarios"] = (
            f"{len(ri.probabilities):,} over {result.horizon_label}; expected shortfall at "
            f"alpha {ri.alpha:g}"
        )
    rows |= {str(k): str(v) for k, v in (extra or {}).items()}
    return pd.DataFrame({"value": rows}).rename_axis("input")


def _figure(fig: Figure, fig_id: str, caption: str) -> str:
    return (
        f'<figure><img id="{fig_id}" alt="{html.escape(caption)}" '
        f'src="data:image/png;base64,{_png(fig)}"><figcaption class="note">'
        f"{html.escape(caption)}</figcaption></figure>"
    )


def report(
    result: Any,
    path: str | Path,
    *,
    title: str | None = None,
    inputs: Mapping[str, str] | None = None,
    returns: pd.DataFrame | None = None,
) -> Path:
    """Write the hedge report of ``result`` to ``path`` and return the path.

    ``optihedge.report`` and ``HedgeResult.report`` (through
    :mod:`optihedge.optimize.hooks`); the parameters are :func:`write_report`'s. A
    backtest's result (one with ``daily`` and ``decisions`` tables) gets
    :func:`write_backtest_report` (``inputs`` and ``returns`` do not apply to it).
    """
    if _is_backtest(result):
        if inputs is not None or returns is not None:
            raise SpecificationError(
                "The 'inputs' and 'returns' arguments apply to a hedge's report, not a "
                "backtest's (its returns are its own daily table): leave them out."
            )
        return write_backtest_report(result, path, title=title)
    return write_report(result, path, title=title, inputs=inputs, returns=returns)


def _is_backtest(result: Any) -> bool:
    return all(hasattr(result, name) for name in ("daily", "decisions", "summary", "plot"))


def _page(heading: str, parts: list[str]) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(heading)}</title><style>{_STYLE}</style></head><body>"
        + "\n".join(parts)
        + f"<script>{_SCRIPT}</script></body></html>"
    )


def write_report(
    result: Any,
    path: str | Path,
    *,
    title: str | None = None,
    inputs: Mapping[str, str] | None = None,
    returns: pd.DataFrame | None = None,
) -> Path:
    """Write the hedge report of ``result`` to ``path`` (one HTML file) and return the path.

    Parameters
    ----------
    result : HedgeResult
        A solved result.
    path : str or Path
        The file to write (replaced atomically: a failure leaves any old file intact).
    title : str, optional
    inputs : mapping of str to str, optional
        What else the reader should know (data span, estimation windows, volatility
        proxy, assumptions), shown with what the result itself knows.
    returns : DataFrame (dates x assets), optional
        Realised daily returns: adds the return attribution, hedge effectiveness in
        stress windows and the drag in rising markets.

    Raises
    ------
    SpecificationError
        A path that cannot be written (checked first; a write the file system refuses
        later is reported the same way), or a result from a failed solve or without
        its risk inputs (checked before anything else).
    """
    result.solved_inputs("report on")
    if inputs is not None and not isinstance(inputs, Mapping):
        raise SpecificationError(
            f"The 'inputs' argument must be a mapping of name to text. Got "
            f"{type(inputs).__name__}: pass a dict such as {{'data': '2015-2024 daily'}}."
        )
    if title is not None and not isinstance(title, str):
        raise SpecificationError(
            f"The 'title' argument must be text or None. Got {type(title).__name__}."
        )
    target = check_writable(path)
    explanation = explain(result)
    has_scenarios = result.scenario_returns is not None
    parts: list[str] = []
    heading = title or f"Hedge report: {result.money(result.capital)} book, {result.horizon_label}"
    parts.append(f"<h1>{html.escape(heading)}</h1>")
    parts.append(f'<p class="policy" id="policy">{html.escape(explanation.sentence)}</p>')
    parts.append("<h2>Inputs</h2>" + _table(_inputs_table(result, inputs), "inputs"))

    alloc = result.allocation.copy()
    parts.append(
        f"<h2>Allocation</h2><p class='note'>weight: signed notional / capital; money in "
        f"{html.escape(result.currency)}; units: contracts or shares.</p>"
        + _table(alloc, "allocation", "{:,.4f}", _ALLOCATION)
    )
    risk = result.risk.copy()
    parts.append(
        f"<h2>Risk before and after</h2><p class='note'>Fractions of capital over "
        f"{result.horizon_label}; losses positive.</p>" + _table(risk, "risk")
    )
    if result.greeks is not None:
        parts.append(
            "<h2>Greeks</h2><p class='note'>"
            + html.escape(str(result.greeks.attrs.get("units", "")))
            + "</p>"
            + _table(result.greeks, "greeks", "{:,.0f}")
        )
    limits = result.constraints.copy()
    parts.append(
        "<h2>Limits</h2><p class='note'>shadow price: objective improvement per unit of "
        "relaxation (0 where the limit does not bind).</p>" + _table(limits, "limits", "{:.4g}")
    )

    figures: list[str] = []
    parts.append("<h2>Where the risk comes from</h2>")
    measures = ["volatility", *(["expected_shortfall"] if has_scenarios else [])]
    for measure in measures:
        for by in ("factor", "leg"):
            table = result.attribution(by=by, measure=measure)
            label = measure.replace("_", " ")
            parts.append(
                f"<h3>{html.escape(label)} by {by}</h3><p class='note'>"
                + html.escape(str(table.attrs.get("estimator", "")))
                + f"; units: {html.escape(str(table.attrs.get('units', '')))}.</p>"
                + _table(_percent(table), f"attribution-{measure}-{by}")
            )
            if by == "factor":
                figures.append(
                    _figure(
                        attribution_bars(table),
                        f"fig-attribution-{measure}",
                        f"{label} by factor, before and after the hedge",
                    )
                )
    figures.append(
        _figure(
            pnl_distribution(result),
            "fig-pnl",
            "Distribution of the horizon P&L before and after, VaR and ES marked"
            + ("" if has_scenarios else " (normal, with the risk model's volatility)"),
        )
    )
    if returns is not None:
        realised = return_attribution(result, returns, result.risk_inputs.risk)
        span = realised.daily.index
        period = (
            f"{len(span):,} {infer_frequency(span).unit}s from {span[0]:%Y-%m-%d} to "
            f"{span[-1]:%Y-%m-%d}"
            if isinstance(span, pd.DatetimeIndex) and len(span)
            else f"{len(span):,} periods"
        )
        parts.append(
            "<h2>What the hedge earned</h2><p class='note'>"
            + html.escape(str(realised.total.attrs.get("note", "")))
            + f", over {html.escape(period)} (not annualised); positions held constant "
            "(rebalanced daily), options by their delta.</p>"
            + _table(_percent(realised.total), "return-attribution")
            + "<h3>Stress windows</h3><p class='note'>book, hedged: compounded returns over "
            "each window (fractions of capital); offset: share of the book's loss the "
            "hedge offset.</p>"
            + _table(realised.effectiveness, "effectiveness", "{:.3f}")
            + "<h3>Drag in rising markets</h3>"
            + _table(_drag_table(realised.drag, returns), "drag")
        )
        figures.append(
            _figure(
                effectiveness_bars(realised),
                "fig-effectiveness",
                "Hedge effectiveness by stress window",
            )
        )
    parts.append("<h2>Figures</h2>" + "".join(figures))
    if result.notes:
        parts.append(
            "<h2>Notes</h2><ul>"
            + "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
            + "</ul>"
        )
    page = _page(heading, parts)
    # written beside the target, then renamed over it: a reader never sees half a page
    write_atomically({target: lambda temporary: temporary.write_text(page, encoding="utf-8")})
    return target


#: How a backtest summary's measures are shown: fractions as percentages, counts whole.
_PERCENT_MEASURES = {
    "total_return",
    "annualised_return",
    "annualised_volatility",
    "max_drawdown",
    "max_drawdown_reduction",
    "bull_market_drag",
    "variance_reduction_mean",
    "variance_reduction_median",
    "divested_fraction",
}
_COUNT_MEASURES = {"longest_drawdown", "trades"}
#: decisions shown at each end of the decisions table
DECISION_ROWS = 5


def _shown(measure: str, value: float) -> str:
    if pd.isna(value):
        return ""
    if measure in _PERCENT_MEASURES:
        return _number("{:.2%}")(value)
    if measure in _COUNT_MEASURES:
        return _number("{:,.0f}")(value)
    return _number("{:.3f}")(value)


def _summary_tables(summary: pd.DataFrame) -> str:
    parts = []
    for window in summary.index.get_level_values("window").unique():
        block = summary.xs(window, level="window")
        shown = pd.DataFrame(
            {
                col: [_shown(str(m), v) for m, v in block[col].items()]
                for col in ("hedged", "unhedged", "divested")
            },
            index=block.index,
        )
        shown["unit"] = block["unit"]
        slug = "".join(c if c.isalnum() else "-" for c in str(window).lower())
        parts.append(f"<h3>{html.escape(str(window))}</h3>" + _table(shown, f"summary-{slug}"))
    return "".join(parts)


def _decisions_table(decisions: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    keep = [
        c
        for c in decisions.columns
        if c in ("why", "regime", "hedge_ratio", "status", "predicted_volatility", "horizon")
        or c == "binding"
        or str(c).startswith("weight[")
    ]
    table = decisions[keep]
    n = len(table)
    if n > 2 * DECISION_ROWS:
        table = pd.concat([table.iloc[:DECISION_ROWS], table.iloc[-DECISION_ROWS:]])
        note = f"the first and last {DECISION_ROWS} of {n:,} decisions"
    else:
        note = f"all {n:,} decisions"
    table = table.copy()
    if "regime" in table.columns:  # no regime table: blank, not "None"
        table["regime"] = table["regime"].map(lambda r: "" if r is None or pd.isna(r) else r)
    table.index = [f"{d:%Y-%m-%d}" if isinstance(d, pd.Timestamp) else str(d) for d in table.index]
    return table, note


def write_backtest_report(result: Any, path: str | Path, *, title: str | None = None) -> Path:
    """Write a backtest's report (one self-contained HTML file) and return the path.

    Sections: what was run (policy, period, marks, decisions, trades, compiles), the
    summary of each window (``result.summary()``: hedged, unhedged and the divested
    alternative, with units), the costs by kind (``result.costs()``), the first and last
    decisions, and the figures (``result.plot(kind)`` for each kind, embedded PNGs).

    Parameters
    ----------
    result : BacktestResult
    path : str or Path
        The file to write (replaced atomically: a failure leaves any old file intact).
    title : str, optional

    Raises
    ------
    SpecificationError
        A path that cannot be written, or a title that is not text (checked first).
    """
    if title is not None and not isinstance(title, str):
        raise SpecificationError(
            f"The 'title' argument must be text or None. Got {type(title).__name__}."
        )
    target = check_writable(path)
    daily = result.daily
    first, last = daily.index[0], daily.index[-1]
    heading = title or f"Backtest report: {result.policy}, {first:%Y-%m-%d} to {last:%Y-%m-%d}"
    meta = result.meta
    summary = result.summary()
    facts = {
        "policy": str(result.policy),
        "period": f"{first:%Y-%m-%d} to {last:%Y-%m-%d}, {len(daily):,} {summary.attrs['unit']}s",
        "capital": f"{float(meta.get('capital', daily['hedged_value'].iloc[0])):,.2f}",
        "cash rate": f"{summary.attrs['rate']:.4g} a year (continuously compounded)",
        "hedge legs": ", ".join(result.legs),
        "decisions": f"{len(result.decisions):,}",
        "trades": f"{len(result.trades):,}",
        "final value, hedged": f"{float(daily['hedged_value'].iloc[-1]):,.2f}",
        "final value, unhedged": f"{float(daily['unhedged_value'].iloc[-1]):,.2f}",
        "problem compiles": str(meta.get("compiles", "")),
    }
    parts = [f"<h1>{html.escape(heading)}</h1>"]
    parts.append(
        "<h2>What was run</h2>"
        + _table(pd.DataFrame({"value": facts}).rename_axis("input"), "backtest-inputs")
    )
    notes = []
    if summary.attrs["skipped"]:
        notes.append("windows the data do not cover: " + ", ".join(summary.attrs["skipped"]))
    if summary.attrs["divested_note"]:
        notes.append("no divested alternative: " + summary.attrs["divested_note"])
    parts.append(
        "<h2>Summary</h2><p class='note'>Hedged against unhedged, and the divested "
        "alternative (the mix of the unhedged book and cash with the hedged policy's "
        "compound return over the whole period). Figures of the hedge itself are in the "
        "hedged column. Percentages are fractions of value; each row states its unit.</p>"
        + _summary_tables(summary)
    )
    costs = result.costs()
    parts.append(
        f"<h2>Costs</h2><p class='note'>Base currency: the total over the backtest and the "
        f"mean per {html.escape(summary.attrs['unit'])} (mark).</p>"
        + _table(costs, "backtest-costs", "{:,.2f}")
    )
    decisions, which = _decisions_table(result.decisions)
    parts.append(
        f"<h2>Decisions</h2><p class='note'>{html.escape(which)}; predicted volatility: the "
        "hedged book's, a fraction of its value over the horizon (periods of the data); "
        "weights: fractions of the hedged value.</p>"
        + _table(decisions, "backtest-decisions", "{:.4f}", {"horizon": "{:.0f}"})
    )
    figures = [
        _figure(
            result.plot("equity"), "fig-backtest-equity", "Hedged and unhedged value and drawdowns"
        ),
        _figure(
            result.plot("hedge_ratio"),
            "fig-backtest-hedge-ratio",
            "Hedge ratio and regime through time",
        ),
        _figure(result.plot("costs"), "fig-backtest-costs", "Cumulative costs by kind"),
    ]
    parts.append("<h2>Figures</h2>" + "".join(figures))
    if notes:
        parts.append(
            "<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"
        )
    page = _page(heading, parts)
    write_atomically({target: lambda temporary: temporary.write_text(page, encoding="utf-8")})
    return target

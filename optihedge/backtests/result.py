"""BacktestResult: what a walk-forward backtest of a hedge policy did, day by day.

Money in the book's base currency; dates are the data's; every rate is annual.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optihedge._validation import check_option
from optihedge.backtests import metrics
from optihedge.backtests.costs import COST_KINDS
from optihedge.calendar import Frequency, infer_frequency
from optihedge.errors import SpecificationError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["BacktestResult"]


@dataclass(frozen=True)
class BacktestResult:
    """A backtest's tables (see :func:`~optihedge.backtests.backtest`).

    Attributes
    ----------
    policy : str
        The policy's name.
    daily : DataFrame indexed by date
        One row per mark: ``unhedged_value`` (the book and its cash, never hedged),
        ``hedged_value``, ``book_value`` (holdings and book options), ``cash``,
        ``hedge_value`` (non-margined hedge positions; futures are margined daily),
        ``pnl_book`` and ``pnl_<leg>`` (each hedge instrument's P&L that day),
        ``interest`` (on cash), ``option_premium`` (premium paid for options bought that
        day, negative when received for options sold: an exchange of cash for the option,
        not a P&L; the option's decay is in its leg's P&L), ``option_decay`` (the part of
        the option legs' P&L due to time alone: each held contract's value at the previous
        close's spot and volatility with today's time to expiry, less its value at the
        previous close, times the units held, summed over the lots; usually negative for
        options held long; it is already in ``pnl_<leg>``, not a cost and not in any
        cost total), ``cost_<kind>`` (paid, >= 0;
        kinds in
        :data:`~optihedge.backtests.costs.COST_KINDS`), ``hedge_ratio`` (the hedge's delta
        notional against the book's, positive when it offsets a long book) and ``regime``.
        Each day ``hedged_value.diff() == pnl_book + sum(pnl_<leg>) + interest -
        sum(cost_<kind>)``.
    decisions : DataFrame indexed by date
        ``why`` (entry, schedule, which trigger, roll), ``regime``, ``hedge_ratio``, the
        solve's record (status, objective, volatility over the problem's ``horizon``,
        binding limits, shadow prices) and the target ``weight[<leg>]``; with a policy's
        ``missing_data="trade_when_available"``, ``unavailable`` (the instruments held to
        0 on that decision for want of data, comma-separated; "" for none).
    trades : DataFrame
        Every trade: date, leg, contract, units (signed), price per unit, notional,
        cost, why.
    positions : DataFrame indexed by date
        Units held at each close, after that day's trades, by leg (contracts for
        futures and options, shares or fund units otherwise).
    meta : dict
        ``start``, ``end``, ``frequency``, ``rate``, ``capital``, ``compiles`` (times the
        problem was compiled), ``timings`` (seconds by step: estimate, scenarios, solve,
        mark, trade); with ``missing_data="trade_when_available"``, ``missing``: by
        instrument with gaps, the (first, last) dates of each run of missing closes from
        the first row the first decision's estimation reads to the end.

    Notes
    -----
    What a reviewer reads of the tables: :meth:`summary` (hedged against unhedged and the
    divested alternative, whole period and named windows), :meth:`costs`,
    :meth:`variance_reduction`, :meth:`risk_forecasts`, :meth:`plot` and
    :meth:`save_figures`, and :meth:`to_html` (the backtest's HTML report).
    """

    policy: str
    daily: pd.DataFrame
    decisions: pd.DataFrame
    trades: pd.DataFrame
    positions: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def legs(self) -> list[str]:
        """The hedge legs (the policy's instrument labels)."""
        return [c[4:] for c in self.daily.columns if c.startswith("pnl_") and c != "pnl_book"]

    def costs(self) -> pd.DataFrame:
        """Costs by kind: ``per_day`` (mean per mark) and ``total``, base currency.

        The rows are the cost kinds paid (:data:`~optihedge.backtests.costs.COST_KINDS`,
        each >= 0). ``attrs["option_decay"]`` holds the options' decay the same way
        (``total`` and ``per_day`` of the daily ``option_decay`` column): the part of the
        option legs' P&L due to time alone, already in their ``pnl_<leg>``; it is not a
        row, so that summing the rows never counts it twice.
        """
        table = self.daily[[f"cost_{k}" for k in COST_KINDS]]
        table.columns = list(COST_KINDS)
        out = pd.DataFrame({"total": table.sum(), "per_day": table.mean()})
        if "option_decay" in self.daily.columns:
            decay = self.daily["option_decay"].astype(float)
            out.attrs["option_decay"] = {
                "total": float(decay.sum()),
                "per_day": float(decay.mean()),
            }
        return out

    def accounting_error(self) -> pd.Series:
        """Each day's change of the hedged value less its legs, interest and costs."""
        d = self.daily
        pnl = d[["pnl_book", *[f"pnl_{leg}" for leg in self.legs]]].sum(axis=1)
        costs = d[[f"cost_{k}" for k in COST_KINDS]].sum(axis=1)
        explained = pnl + d["interest"] - costs
        change = d["hedged_value"].diff()
        out = (change - explained).iloc[1:]
        first = d["hedged_value"].iloc[0] - self.meta.get("capital", d["hedged_value"].iloc[0])
        first -= float(explained.iloc[0])
        return pd.concat([pd.Series([first], index=d.index[:1]), out])

    # ------------------------------------------------------------ summary statistics

    @property
    def frequency(self) -> Frequency:
        """The frequency of the marks (``meta["frequency"]``; inferred from the dates if absent)."""
        given = self.meta.get("frequency")
        if given is not None:
            return Frequency.parse(given)
        return infer_frequency(self.daily.index, "daily")

    def _returns(self, column: str) -> pd.Series:
        values = self.daily[column].astype(float)
        return (values / values.shift(1) - 1.0).iloc[1:].rename(column)

    def variance_reduction(self) -> pd.Series:
        """Out-of-sample variance reduction of each rebalance window.

        :func:`~optihedge.backtests.metrics.variance_reduction` of the hedged value's
        returns against the unhedged value's, per mark, with the decision dates as the
        window starts: window *i* holds the returns after decision *i* up to and
        including the next decision's date (the last: to the end).

        Returns
        -------
        Series
            ``1 - var(hedged) / var(unhedged)`` per window (unitless), indexed by the
            window's start (``"window_start"``); NaN for a window with fewer than two
            returns. Empty when there were no decisions.
        """
        starts = pd.DatetimeIndex(self.decisions.index).unique()
        if len(starts) == 0 or len(self.daily) < 3:
            return pd.Series(
                [],
                index=pd.DatetimeIndex([], name="window_start"),
                dtype=np.float64,
                name="variance_reduction",
            )
        return metrics.variance_reduction(
            self._returns("unhedged_value"), self._returns("hedged_value"), starts
        )

    def risk_forecasts(self) -> pd.DataFrame:
        """Each decision's predicted volatility beside the return realised after it.

        For each decision with a ``predicted_volatility`` (the hedged book's volatility
        over the problem's ``horizon`` periods, a fraction of its value) whose horizon
        ends inside the data, the hedged value's simple return from the decision's close
        to the close ``horizon`` marks later (trades and costs in between included).

        Returns
        -------
        DataFrame indexed by decision date
            ``horizon`` (periods of the data), ``predicted_volatility`` and
            ``realised_return`` (fractions of the hedged value over the horizon),
            ``standardised`` (their ratio: its standard deviation is the bias
            statistic).
        """
        columns = ["horizon", "predicted_volatility", "realised_return", "standardised"]
        dec = self.decisions
        if "predicted_volatility" not in dec.columns or "horizon" not in dec.columns:
            return pd.DataFrame(columns=columns, index=pd.DatetimeIndex([], name="date"))
        values = self.daily["hedged_value"].to_numpy(dtype=float)
        where = self.daily.index.get_indexer(dec.index)
        rows = {}
        for k, (date, row) in enumerate(dec.iterrows()):
            vol, h = row["predicted_volatility"], row["horizon"]
            if pd.isna(vol) or pd.isna(h) or not float(vol) > 0.0 or where[k] < 0:
                continue
            end = where[k] + int(h)
            if end >= len(values):
                continue
            realised = values[end] / values[where[k]] - 1.0
            rows[date] = (int(h), float(vol), realised, realised / float(vol))
        out = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
        out.index = pd.DatetimeIndex(out.index, name="date")
        return out.astype({"horizon": int})

    def divested(self) -> tuple[float, pd.Series]:
        """Return the equal-return divested alternative over the whole period.

        :func:`~optihedge.backtests.metrics.divested_alternative` of the unhedged and
        hedged values at the backtest's ``meta["rate"]``: the fraction of the unhedged
        book (the rest in cash, rebalanced each mark) with the hedged policy's compound
        return, and that mix's value path.

        Raises
        ------
        SpecificationError
            No mix matches (the hedged policy grew more than any mix can).
        """
        return metrics.divested_alternative(
            self.daily["unhedged_value"],
            self.daily["hedged_value"],
            rate=float(self.meta.get("rate", 0.0)),
            frequency=self.frequency,
        )

    def summary(
        self, windows: Mapping[str, tuple[Any, Any]] = metrics.NAMED_WINDOWS
    ) -> pd.DataFrame:
        """Tabulate the figures, hedged against unhedged, over the whole period and windows.

        Every figure comes from :mod:`optihedge.backtests.metrics` applied to the daily
        table (``hedged_value``, ``unhedged_value``, the P&L and cost columns), the
        trades and the decisions. A window runs from the close on (or last before) its
        start to its end, as in :func:`~optihedge.backtests.metrics.summary`; windows
        the marks do not cover are left out and listed in ``attrs["skipped"]``.

        Rows (``measure``; the ``unit`` column states each one's unit, frequency and
        horizon):

        - ``total_return``, ``annualised_return``, ``annualised_volatility``,
          ``sharpe`` (at ``meta["rate"]``), ``max_drawdown``, ``longest_drawdown``
          (marks): :func:`~optihedge.backtests.metrics.performance` of the hedged, the
          unhedged and the divested paths;
        - ``max_drawdown_reduction``: unhedged less hedged maximum drawdown;
        - ``hedge_efficiency``: :func:`~optihedge.backtests.metrics.hedge_efficiency` of
          ``pnl_book`` against the legs' P&L less the costs, per mark;
        - ``bull_market_drag``, ``upside_capture``, ``downside_capture``: hedged against
          unhedged returns, by calendar month;
        - ``turnover``: the sum of |traded notional| (every trade booked, rolls and
          expiries included) over the average hedged value, a year; ``trades``: their
          number;
        - ``variance_reduction_mean``, ``variance_reduction_median``: of
          :meth:`variance_reduction` over the windows starting inside the window;
        - ``bias_statistic``, ``qlike``: of :meth:`risk_forecasts` (decisions inside
          the window; realised return against predicted volatility, squared realised
          return against predicted variance, over the problem's horizon); NaN with
          fewer than two forecasts;
        - ``divested_fraction``: the book's share of the divested mix (whole period;
          its path's figures are in the ``divested`` column of the rows above).

        Parameters
        ----------
        windows : mapping of name to (start, end), default ``NAMED_WINDOWS``
            Inclusive date ranges (:data:`~optihedge.backtests.metrics.NAMED_WINDOWS`).

        Returns
        -------
        DataFrame indexed by (``window``, ``measure``)
            Columns ``hedged``, ``unhedged``, ``divested`` and ``unit``. A figure of
            the hedge itself (reduction, efficiency, drag, capture, turnover, trades,
            variance reduction, calibration) is in ``hedged``; the other columns are
            NaN there. ``attrs``: ``skipped`` (windows left out), ``divested_note``
            (why the divested column is empty, when it is), ``frequency``, ``rate``.
        """
        freq = self.frequency
        rate = float(self.meta.get("rate", 0.0))
        daily = self.daily
        paths = daily[["hedged_value", "unhedged_value"]].astype(float)
        paths.columns = ["hedged", "unhedged"]
        note = ""
        fraction = math.nan
        try:
            fraction, mix = self.divested()
            paths["divested"] = mix
        except SpecificationError as exc:
            note = str(exc)
        perf = metrics.summary(paths, windows, rate=rate, frequency=freq)
        spans = metrics._windows(windows)
        index = pd.DatetimeIndex(daily.index)
        forecasts = self.risk_forecasts()
        reductions = self.variance_reduction()
        unit = freq.unit
        horizon = int(forecasts["horizon"].iloc[0]) if len(forecasts) else None
        units = _units(freq, rate, horizon)
        rows: list[tuple[str, str, dict[str, float]]] = []
        names = [metrics.WHOLE_PERIOD, *[n for n in spans if n not in perf.attrs["skipped"]]]
        for name in names:
            if name == metrics.WHOLE_PERIOD:
                part = slice(0, len(index))
                lo, hi = index[0], index[-1]
            else:
                start, end = spans[name]
                found = metrics._window_rows(index, start, end)
                assert found is not None  # covered: metrics.summary kept it
                part = found
                lo, hi = start, end
            block = perf.xs(name, level="window")
            for field_name in metrics.PERFORMANCE_FIELDS:
                rows.append(
                    (name, field_name, {p: float(block.loc[p, field_name]) for p in block.index})
                )
            mdd = block["max_drawdown"]
            rows.append(
                (name, "max_drawdown_reduction", {"hedged": mdd["unhedged"] - mdd["hedged"]})
            )
            rows += [
                (name, measure, {"hedged": value})
                for measure, value in self._hedge_rows(part, lo, hi, freq, reductions, forecasts)
            ]
            if name == metrics.WHOLE_PERIOD:
                rows.append((name, "divested_fraction", {"divested": fraction}))
        out = pd.DataFrame(
            [values for _, _, values in rows],
            index=pd.MultiIndex.from_tuples(
                [(w, m) for w, m, _ in rows], names=["window", "measure"]
            ),
            columns=["hedged", "unhedged", "divested"],
            dtype=np.float64,
        )
        out["unit"] = [units[m] for _, m, _ in rows]
        out.attrs.update(
            skipped=list(perf.attrs["skipped"]),
            divested_note=note,
            frequency=str(freq),
            rate=rate,
            unit=unit,
        )
        return out

    def _hedge_rows(
        self,
        part: slice,
        lo: pd.Timestamp,
        hi: pd.Timestamp,
        freq: Frequency,
        reductions: pd.Series,
        forecasts: pd.DataFrame,
    ) -> list[tuple[str, float]]:
        """Compute the hedge's own figures over the marks ``part`` (decisions dated in [lo, hi])."""
        d = self.daily.iloc[part]
        legs = [f"pnl_{leg}" for leg in self.legs]
        cost = d[[f"cost_{k}" for k in COST_KINDS]].sum(axis=1)
        hedge_pnl = d[legs].sum(axis=1) - cost
        # the window's first mark is its base: P&L is counted after it (the whole period:
        # from the first mark, whose P&L is the entry's costs)
        first = 0 if part.start == 0 else 1
        efficiency = metrics.hedge_efficiency(
            d["pnl_book"].iloc[first:].astype(float), hedge_pnl.iloc[first:]
        )
        hedged = d["hedged_value"].astype(float)
        unhedged = d["unhedged_value"].astype(float)
        h_ret = (hedged / hedged.shift(1) - 1.0).iloc[1:]
        u_ret = (unhedged / unhedged.shift(1) - 1.0).iloc[1:]
        upside, downside = metrics.capture(h_ret, u_ret)
        drag = metrics.bull_market_drag(h_ret, u_ret)
        trades = self.trades
        if len(trades):
            dates = pd.DatetimeIndex(trades["date"])
            window = (dates > d.index[0] if first else dates >= d.index[0]) & (dates <= d.index[-1])
            traded = float(trades.loc[window, "notional"].abs().sum())
            count = int(window.sum())
        else:
            traded, count = 0.0, 0
        years = freq.years(len(d) - 1)
        turnover = traded / float(hedged.mean()) / years if years > 0 else math.nan
        inside = reductions[(reductions.index >= lo) & (reductions.index <= hi)].dropna()
        f = forecasts[(forecasts.index >= lo) & (forecasts.index <= hi)]
        if len(f) >= 2:
            bias = metrics.bias_statistic(f["realised_return"], f["predicted_volatility"])
            loss = metrics.qlike(f["realised_return"] ** 2, f["predicted_volatility"] ** 2)
        else:
            bias = loss = math.nan
        return [
            ("hedge_efficiency", efficiency),
            ("upside_capture", upside),
            ("downside_capture", downside),
            ("bull_market_drag", drag),
            ("turnover", turnover),
            ("trades", float(count)),
            ("variance_reduction_mean", float(inside.mean()) if len(inside) else math.nan),
            ("variance_reduction_median", float(inside.median()) if len(inside) else math.nan),
            ("bias_statistic", bias),
            ("qlike", loss),
        ]

    # ------------------------------------------------------------ figures and the report

    def plot(self, kind: str = "equity") -> Figure:
        """One figure of the backtest (matplotlib, no global state).

        Parameters
        ----------
        kind : {"equity", "hedge_ratio", "costs"}, default "equity"
            ``"equity"``: hedged and unhedged values with their drawdowns below;
            ``"hedge_ratio"``: the hedge ratio through time, regimes shaded;
            ``"costs"``: cumulative costs by kind (see :mod:`optihedge.backtests.figures`).
        """
        from optihedge.backtests import figures

        chosen = check_option(kind, "kind", tuple(figures.FIGURES))
        return figures.FIGURES[str(chosen)](self)

    def save_figures(self, folder: str | Path, *, dpi: int = 110) -> list[Path]:
        """Save every figure as PNG in ``folder`` (created if missing) and return the paths.

        Files ``backtest_<kind>.png`` for each kind :meth:`plot` draws.

        Raises
        ------
        SpecificationError
            ``folder`` is a file, or cannot be created.
        """
        from optihedge.backtests import figures

        target = Path(folder)
        if target.exists() and not target.is_dir():
            raise SpecificationError(
                f"The 'folder' argument {str(target)!r} is a file, not a folder: give a "
                "folder to save the figures in."
            )
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpecificationError(
                f"The 'folder' argument {str(target)!r} cannot be created ({exc.strerror}). "
                "Choose a writable location."
            ) from None
        paths = []
        for kind, draw in figures.FIGURES.items():
            path = target / f"backtest_{kind}.png"
            draw(self).savefig(path, format="png", dpi=dpi)
            paths.append(path)
        return paths

    def to_html(self, path: str | Path, *, title: str | None = None) -> Path:
        """Write the backtest report (one self-contained HTML file) and return its path.

        The summary table, the costs, the first and last decisions and the figures
        (embedded PNGs; no network): :func:`optihedge.analysis.report.write_backtest_report`.
        ``optihedge.report(result, path)`` does the same.
        """
        from optihedge.analysis.report import write_backtest_report

        return write_backtest_report(self, path, title=title)

    def __repr__(self) -> str:
        d = self.daily
        return (
            f"BacktestResult({self.policy!r}, {d.index[0]:%Y-%m-%d} to {d.index[-1]:%Y-%m-%d}, "
            f"{len(d)} marks, {len(self.decisions)} decisions, {len(self.trades)} trades; "
            f"hedged {d['hedged_value'].iloc[-1]:,.2f} vs unhedged "
            f"{d['unhedged_value'].iloc[-1]:,.2f})"
        )


def _units(freq: Frequency, rate: float, horizon: int | None) -> dict[str, str]:
    """Return the ``unit`` text of each summary row."""
    data = f"{freq} marks"
    p = freq.periods_per_year
    over = "the problem's horizon" if horizon is None else freq.label(horizon)
    return {
        "total_return": "fraction, compounded over the window",
        "annualised_return": f"fraction a year, geometric ({data}, {p} a year)",
        "annualised_volatility": f"fraction a year, std of {freq.unit} returns x sqrt({p})",
        "sharpe": f"annualised, excess over cash at {rate:.4g} a year ({data})",
        "max_drawdown": "fraction of the running peak",
        "longest_drawdown": f"{freq.unit}s, peak to recovery",
        "max_drawdown_reduction": "fraction of the peak, unhedged less hedged",
        "hedge_efficiency": (
            f"share of the book's losses (per {freq.unit}) offset by the legs' P&L less costs"
        ),
        "upside_capture": "ratio of monthly geometric means, hedged / unhedged (rising months)",
        "downside_capture": "ratio of monthly geometric means, hedged / unhedged (falling months)",
        "bull_market_drag": "fraction a year given up in months the unhedged book rose",
        "turnover": "sum |traded notional| / average hedged value, a year",
        "trades": "count of trades booked (rolls and expiries included)",
        "variance_reduction_mean": (
            f"1 - var(hedged)/var(unhedged) of {freq.unit} returns per rebalance window, mean"
        ),
        "variance_reduction_median": (
            f"1 - var(hedged)/var(unhedged) of {freq.unit} returns per rebalance window, median"
        ),
        "bias_statistic": f"std of realised / predicted volatility over {over}; 1 = calibrated",
        "qlike": f"mean log-variance loss over {over} (lower is better)",
        "divested_fraction": "book's share of a book-and-cash mix with the hedged return",
    }


def frame(rows: list[dict[str, Any]], index: str = "date") -> pd.DataFrame:
    """Rows to a DataFrame indexed by ``index`` (an empty frame when there are none)."""
    if not rows:
        return pd.DataFrame(index=pd.DatetimeIndex([], name=index))
    out = pd.DataFrame(rows)
    return out.set_index(index) if index in out.columns else out

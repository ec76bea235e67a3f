"""The walk-forward backtest: a hedge policy run through history, marked every day.

Two calendars: **marks** on every row of the data (every trading day of daily data, every
week of weekly data) and **decisions** on the policy's schedule, on the days a trigger
fires, when an option lot expires or an exit rule acts, and on the first day (the entry).

On a decision dated ``t`` (taken at ``t``'s close):

1. the risk model is estimated on the returns that end the day before ``t`` (the
   estimator gets a read-only frame), and the scenarios are built the same way;
2. the problem the policy's spec compiles (once, on the first decision) is re-solved
   (:meth:`~optihedge.HedgeProblem.solve_point`) with the book as it is at ``t`` (its
   holdings' market values plus the delta of the options it holds), turnover measured
   against the hedge actually held, and the regime's and budget's registry values;
3. the positions are scaled by the hedge ratio, converted to units (contracts, shares,
   option contracts with their strikes and expiry) at ``t``'s prices, rounded to the
   policy's lots, and traded at ``t``'s close, paying the cost model's costs.

Every mark values what was held after the previous day's trades at the day's close:
the book's holdings; futures by daily variation margin (contracts x multiplier x price
change, into cash) less their stated carry; ETFs at their price (synthesised from the
underlying, the expense ratio accrued as a cost, when the data have no column of their
own); inverse ETFs at their own daily-reset value; options repriced (Black-Scholes on the
day's volatility with the contract's skew) and expired at intrinsic value into cash; cash
earning ``rate`` over the trading days between marks. Each day the change of the hedged
book's value is the sum of the legs' P&L and the interest less the costs, to the cent.

Time: option lives and interest both count trading days of the backtest's calendar, a year
being :data:`~optihedge.calendar.TRADING_DAYS` of them.

Gaps: a close missing inside the backtest is refused with its dates, unless the policy's
``missing_data`` is ``"trade_when_available"`` and the column is only a future's, ETF's or
inverse ETF's price. Such an instrument is then held to 0 on each decision whose date or
estimation and scenario windows (the rows before it) miss one of its closes (its bounds,
set on the compiled problem's registry, for every such instrument whether its data have
gaps or not). A position it holds on a day with no close is marked at its last close that
day (no P&L from its price) and closed there, at that last close: decided on the day the
close is missing, so that nothing reads a date after its own (a backtest on the data cut
at any date decides and trades as the full one up to that date). The decisions'
``unavailable`` column names them; ``meta["missing"]`` lists their gaps.
"""

from __future__ import annotations

import dataclasses
import math
import pickle
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from constraints import Bounds
from optihedge.backtests.costs import COST_KINDS, CostModel
from optihedge.backtests.hedge_policy import HedgePolicy, read_only
from optihedge.backtests.policy import LotView
from optihedge.backtests.signals import implied_volatility, realised_volatility
from optihedge.calendar import (
    DEFAULT_CALENDAR,
    TRADING_DAYS,
    Frequency,
    TradingCalendar,
    infer_frequency,
)
from optihedge.errors import (
    DataError,
    InfeasibleError,
    MissingLabelsError,
    SolverFailedError,
    SpecificationError,
)
from optihedge.instruments import (
    ETF,
    Future,
    Instrument,
    InverseETF,
    MarketState,
    OptionContract,
    PositionReduction,
)
from optihedge.instruments.options import OptionPackage
from optihedge.portfolio import Portfolio
from optihedge.runs.fingerprint import fingerprint

__all__ = ["backtest", "quarterly_expiry"]

#: A free position's bound for the engine's own Bounds (fractions of the book: no limit).
_FREE = 1e6
#: Decisions' reasons, in the order they are written when several coincide.
_ENTRY, _SCHEDULE, _ROLL = "entry", "schedule", "roll"
#: Estimates kept across backtests of one process (keyed by data, estimator and date).
_ESTIMATES: dict[tuple[bytes, str, pd.Timestamp], Any] = {}
_ESTIMATES_MAX = 4096


def quarterly_expiry(
    date: pd.Timestamp, calendar: TradingCalendar = DEFAULT_CALENDAR
) -> pd.Timestamp:
    """Return the first quarterly index-future expiry on or after ``date``.

    The third Friday of March, June, September or December (the trading day before it
    when the calendar closes that Friday).
    """
    d = pd.Timestamp(date).normalize()
    for k in range(6):
        month = pd.Timestamp(year=d.year, month=d.month, day=1) + pd.DateOffset(months=k)
        if month.month % 3:
            continue
        first = month + pd.Timedelta(days=(4 - month.weekday()) % 7)  # first Friday
        third = first + pd.Timedelta(days=14)
        if not calendar.is_trading_day(third):
            third = calendar.add(third, -1)
        if third >= d:
            return pd.Timestamp(third)
    raise AssertionError("unreachable: a quarter month lies within six months")


@dataclass
class _Lot:
    """A held position in one of the policy's instruments (mutable inside the engine)."""

    leg: str
    held: Instrument
    units: float
    opened: pd.Timestamp
    entry_value: float
    value: float  # per unit at the last mark
    exit_rule: Any = None
    expiry: pd.Timestamp | None = None
    contract: str = ""
    roll_on: pd.Timestamp | None = (
        None  # a future's roll date (its contract's expiry less roll_days)
    )


@dataclass
class _Day:
    """What one mark books, by column of the daily table."""

    pnl: dict[str, float] = field(default_factory=dict)
    costs: dict[str, float] = field(default_factory=lambda: dict.fromkeys(COST_KINDS, 0.0))
    interest: float = 0.0
    premium: float = 0.0  # option premium paid (received: negative), an exchange of cash
    decay: float = 0.0  # the option legs' value change due to time alone (part of their P&L)


#: The state series the engine computes each day (see ``_Engine.compute_signals``).
SIGNALS = ("vix", "realised_vol", "drawdown", "beta_drift", "delta_drift", "regime")


def _signals_read(policy: HedgePolicy) -> list[str]:
    """Return the signals the policy's triggers, regimes and exit rules name."""
    names: list[str] = []

    def walk(part: Any) -> None:
        if isinstance(getattr(part, "signal", None), str):
            names.append(part.signal)
        for child in getattr(part, "triggers", ()) or getattr(part, "rules", ()) or ():
            walk(child)

    for trigger in policy.triggers:
        walk(trigger)
    for rule in (policy.exit_rule, *policy.exit_rules.values()):
        walk(rule)
    if policy.regimes is not None:
        names.append(policy.regimes.signal)
    return names


def _check_signals(policy: HedgePolicy, data: pd.DataFrame) -> None:
    unknown = sorted({n for n in _signals_read(policy) if n not in SIGNALS})
    if unknown:
        raise SpecificationError(
            f"The policy reads the signals {unknown}, which the backtest does not compute; "
            f"the signals are {list(SIGNALS)}."
        )
    if "vix" in _signals_read(policy) and not {"VIX", "SP500"} & set(data.columns):
        raise DataError(
            "The policy reads the 'vix' signal, but the data have neither a 'VIX' column nor "
            "'SP500' (whose volatility proxy stands in for it); pass data with one of them."
        )
    if "regime" in _signals_read(policy) and policy.regimes is None:
        raise SpecificationError(
            "The policy's triggers read the 'regime' signal but it has no regimes: add "
            "regimes=Regimes(...) or drop the RegimeChange trigger."
        )


_NYSE: list[pd.DatetimeIndex] = []


def _exchange_calendar(data: pd.DataFrame) -> TradingCalendar:
    """Return the trading days of the embedded data's exchange joined with ``data``'s own."""
    if not _NYSE:
        from optihedge.datasets import load_default

        _NYSE.append(pd.DatetimeIndex(load_default(columns=["SP500"], verify=False).index))
    return TradingCalendar.from_dates(_NYSE[0].union(pd.DatetimeIndex(data.index)))


def _schedule(policy: HedgePolicy, calendar: TradingCalendar) -> Any:
    """Return the policy's schedule on the backtest's calendar when it states none of its own.

    A schedule with the default calendar (Monday to Friday) would take a month's last
    weekday for its last trading day; on the data's own calendar a holiday moves it.
    """
    schedule = policy.schedule
    if schedule.calendar == DEFAULT_CALENDAR and calendar != DEFAULT_CALENDAR:
        return dataclasses.replace(schedule, calendar=calendar)
    return schedule


def _check_data(data: Any) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame) or not isinstance(data.index, pd.DatetimeIndex):
        raise DataError(
            "The 'data' argument of backtest must be a DataFrame of closes by ticker with a "
            f"DatetimeIndex. Got {type(data).__name__}."
        )
    if data.empty:
        raise DataError("The 'data' argument of backtest is empty; pass closes by ticker.")
    if not data.index.is_monotonic_increasing or not data.index.is_unique:
        raise DataError(
            "The 'data' argument's dates must be unique and increasing; sort it "
            "(data.sort_index()) and drop duplicate dates."
        )
    return data


def _check_window(data: pd.DataFrame, start: Any, end: Any, warmup: int) -> pd.DatetimeIndex:
    first, last = data.index[0], data.index[-1]
    try:
        a = pd.Timestamp(first if start is None else start)
        b = pd.Timestamp(last if end is None else end)
    except (TypeError, ValueError) as exc:
        raise SpecificationError(
            f"The 'start' and 'end' arguments must be dates. Got {start!r} and {end!r}."
        ) from exc
    if not a < b:
        raise SpecificationError(
            f"The 'start' argument ({a:%Y-%m-%d}) must be before 'end' ({b:%Y-%m-%d}); swap them."
        )
    days = pd.DatetimeIndex(data.index[(data.index >= a) & (data.index <= b)])
    if len(days) < 2:
        raise DataError(
            f"The data hold {len(days)} dates between {a:%Y-%m-%d} and {b:%Y-%m-%d} (they run "
            f"from {first:%Y-%m-%d} to {last:%Y-%m-%d}); pass a window inside them."
        )
    rows = int(data.index.searchsorted(days[0]))  # rows before the first decision
    before = max(rows - 1, 0)  # returns dated before it (the first row has none)
    if before < warmup:
        need = data.index[min(warmup + 1, len(data.index) - 1)]
        raise DataError(
            f"The backtest starts on {days[0]:%Y-%m-%d} with {before} returns before it, but "
            f"the policy's estimation reads {warmup} (its estimation and scenario windows): "
            f"pass start >= {need:%Y-%m-%d}, or data that begin earlier."
        )
    return days


def _ranges(dates: pd.Index, missing: np.ndarray) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Return the (first, last) dates of each run of ``True`` in ``missing``."""
    flags = np.asarray(missing, dtype=bool)
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [
        (pd.Timestamp(dates[int(a)]), pd.Timestamp(dates[int(b)]))
        for a, b in zip(starts, ends, strict=True)
    ]


def _ranges_text(dates: pd.Index, missing: np.ndarray) -> str:
    """Return the runs of missing dates as text (at most five, then how many more)."""
    runs = _ranges(dates, missing)
    parts = [f"{a:%Y-%m-%d}" if a == b else f"{a:%Y-%m-%d} to {b:%Y-%m-%d}" for a, b in runs]
    more = f" and {len(parts) - 5} more" if len(parts) > 5 else ""
    return ", ".join(parts[:5]) + more


def _underlying(inst: Instrument) -> str:
    if isinstance(inst, PositionReduction):
        return inst.holding
    name = getattr(inst, "underlying", None)
    if not isinstance(name, str):
        raise SpecificationError(
            f"The backtest cannot trade {inst.name} ({type(inst).__name__}): it needs an "
            "instrument with an underlying (Future, ETF, InverseETF, PositionReduction, "
            "option packages)."
        )
    return name


class _Engine:
    """One backtest's state and its day loop (see the module docstring)."""

    def __init__(
        self,
        policy: HedgePolicy,
        data: pd.DataFrame,
        days: pd.DatetimeIndex,
        book: Portfolio | None,
        book_options: Sequence[tuple[OptionContract, float]],
        capital: float | None,
        costs: CostModel,
        rate: float,
        volatility: Any,
        calendar: TradingCalendar,
        frequency: Frequency,
    ) -> None:
        self.days = days
        self.day: list[pd.Timestamp] = list(days)  # boxed once: the loop reads them often
        # the last two market states built (today's, and yesterday's that decay reads)
        self._market: list[tuple[tuple[int, tuple[str, ...]], MarketState]] = []
        self._deltas: dict[tuple[int, int], tuple[OptionContract, MarketState, float]] = {}
        self._vols: dict[tuple[int, str], float] = {}
        self.policy = policy
        self.costs = costs
        self.rate = rate
        self.calendar = calendar
        self.frequency = frequency
        self.instruments = {i.label: i for i in policy.spec.instruments}
        for inst in self.instruments.values():
            if not isinstance(inst, Future | ETF | InverseETF | PositionReduction | OptionPackage):
                raise SpecificationError(
                    f"The backtest cannot trade {inst.name}: it trades futures, ETFs, inverse "
                    "ETFs, position reductions and option packages (Put, Call, Collar, "
                    "PutSpread)."
                )
        self.packages = [k for k, i in self.instruments.items() if isinstance(i, OptionPackage)]
        holdings = pd.Series(dtype=np.float64) if book is None else book.holdings
        self.book_options = [(c, float(u)) for c, u in book_options]
        underlyings = {_underlying(i) for i in self.instruments.values()}
        underlyings |= {c.underlying for c, _ in self.book_options}
        if "vix" in _signals_read(policy) and "SP500" in data.columns:
            underlyings.add("SP500")  # its volatility proxy stands in where the VIX has no close
        self.assets = list(dict.fromkeys([*holdings.index, *sorted(underlyings)]))
        columns = [*self.assets, *[k for k in self.instruments if k in data.columns]]
        columns = list(dict.fromkeys(columns))
        missing = [c for c in self.assets if c not in data.columns]
        if missing:
            raise MissingLabelsError(
                f"The book or the policy names {missing}, which the data lack (they have "
                f"{list(data.columns)[:12]}...); pass data with those columns."
            )
        first = int(data.index.searchsorted(days[0]))
        window = data[columns].iloc[: first + len(days)].copy()
        window.attrs = {}  # pandas copies attrs on every operation: the engine needs none
        inside = window.iloc[first:]
        # label -> its price columns, for the hedge instruments allowed to have gaps
        self.missing: dict[str, list[tuple[pd.Timestamp, pd.Timestamp]]] = {}
        self.gappy = self._gaps(policy, holdings, window, inside, first)
        gap_cols = sorted({c for cols in self.gappy.values() for c in cols})
        closes = inside.to_numpy()
        if gap_cols:  # the closes a gap lacks are checked by the availability below
            closes = inside.drop(columns=gap_cols).to_numpy()
            kept = inside[gap_cols].to_numpy()
            if (kept[~np.isnan(kept)] <= 0).any() or np.isinf(kept).any():
                raise DataError("The data's closes inside the backtest must be finite and > 0.")
        if (closes <= 0).any() or not np.isfinite(closes).all():
            raise DataError("The data's closes inside the backtest must be finite and > 0.")
        self.days = days
        self.first = first
        self.prices = window  # rows up to the last day; estimation reads the earlier ones
        self.P = window.to_numpy(dtype=np.float64)
        self.col = {c: j for j, c in enumerate(window.columns)}
        self.asset_cols = np.array([self.col[a] for a in self.assets], dtype=np.intp)
        self.where = {a: j for j, a in enumerate(self.assets)}
        self.asset_index = pd.Index(self.assets)
        self.instrument_index = pd.Index(list(self.instruments))
        self.returns = window[self.assets].pct_change()
        # the returns as the data give them (the estimators read zero-filled gaps, see
        # _availability; the impact's volatility reads only the closes there were)
        self.raw_returns = self.returns
        self.P_book = self.P  # the book's arithmetic: a gap's column (held 0 shares) reads 0
        self.unavailable: dict[str, np.ndarray] = {}
        self.no_close: dict[str, np.ndarray] = {}
        if self.gappy:
            self._availability(window, first, len(days), gap_cols)
        self.fingerprint = fingerprint(window[self.assets])
        self.vix = data["VIX"].reindex(days) if "VIX" in data.columns else None  # points
        self.volatility = volatility
        self.unit_values = self._unit_values()
        self.dt = np.zeros(len(days))  # years between consecutive marks, in trading days
        if len(days) > 1:
            d = days.to_numpy().astype("datetime64[D]")
            holidays = np.array(calendar.holidays, dtype="datetime64[D]")
            one = np.timedelta64(1, "D")
            self.dt[1:] = np.busday_count(d[:-1] + one, d[1:] + one, holidays=holidays)
            self.dt /= TRADING_DAYS
        self.tday = np.rint(np.cumsum(self.dt) * TRADING_DAYS)  # trading days since the start
        p0 = inside.iloc[0]
        shares = holdings / p0.reindex(holdings.index)
        self.shares = shares.reindex(self.assets).fillna(0.0).to_numpy(dtype=np.float64)
        book_path = self.P_book[:, self.asset_cols] @ self.shares if self.shares.any() else None
        self.realised = np.full(len(days), math.nan)
        if book_path is not None:
            self.realised = realised_volatility(book_path, frequency)[first:]
        book_value = float(holdings.sum())
        opt0 = self._book_options_value(0)
        nav0 = book_value + opt0 if capital is None else float(capital)
        if not nav0 > 0:
            raise SpecificationError(
                f"The hedged book starts with a value of {nav0:,.2f}: pass capital > 0 "
                "(cash plus the book's value)."
            )
        self.cash = nav0 - book_value - opt0
        self.cash_unhedged = self.cash
        self.book_value_options = opt0
        self.book_path: list[float] = []
        self.signals: dict[str, float] = {}
        self.lots: dict[str, _Lot] = {}
        self.problem: Any = None
        self.compiles = 0
        self.rows: list[dict[str, Any]] = []
        self.decisions: list[dict[str, Any]] = []
        self.trades: list[dict[str, Any]] = []
        self.positions: list[dict[str, Any]] = []
        self.trigger_states: list[Any] = [None] * len(policy.triggers)
        self.spent: list[tuple[int, float]] = []
        self.last_decision: int | None = None
        self.last_offer: int | None = None  # trading day of the last decision that could buy
        self.peak = nav0
        self.nav = nav0
        self.capital = nav0
        self.decided_beta: float | None = None
        self.decided_delta = 0.0
        self.betas: np.ndarray | None = None
        self.timings = dict.fromkeys(("estimate", "scenarios", "solve", "mark", "trade"), 0.0)
        self.estimates = 0  # risk models this run estimated (not found in the cache)
        self.regime: Any = None
        # signals are read by triggers, regimes and exit rules; drifts by triggers only
        self.watch = bool(policy.triggers or policy.regimes is not None or self.packages)

    # ------------------------------------------------------------------ gaps in the data
    def _gaps(
        self,
        policy: HedgePolicy,
        holdings: pd.Series,
        window: pd.DataFrame,
        inside: pd.DataFrame,
        first: int,
    ) -> dict[str, list[str]]:
        """Return the hedge instruments that may have gaps (label -> their gappy columns).

        Refuse a gap inside the backtest (naming each column's missing dates) unless the
        policy trades when available and the column is only a linear hedge instrument's
        price (not a holding, nor what the book's options, the option packages, the
        factor model or the signals read). With ``"trade_when_available"`` every such
        instrument is returned, with its data's gaps or not (whether the data after a
        date have gaps must not change the problem solved on that date), and
        :attr:`missing` lists the gaps from the rows the first decision's estimation reads.
        """
        read = window.iloc[max(first - policy.warmup() - 1, 0) :]
        allowed = policy.missing_data == "trade_when_available"
        cols_of: dict[str, list[str]] = {}
        for label, inst in self.instruments.items():
            if isinstance(inst, Future | ETF | InverseETF):
                cols_of[label] = [c for c in dict.fromkeys([_underlying(inst), label]) if c in read]
        protected = set(holdings.index) | {c.underlying for c, _ in self.book_options}
        protected |= {_underlying(self.instruments[k]) for k in self.packages}
        if policy.estimation.kind == "factor":
            protected |= set(policy.estimation.factors)
        if "vix" in _signals_read(policy):
            protected.add("SP500")
        # the market and the factors the constraints read (residual beta): their
        # covariances with every position matter, so zero-filled returns would change them
        protected |= {policy.spec.market} | {
            getattr(c, "factor", None) for c in policy.spec.constraints
        }
        linear = {c for cols in cols_of.values() for c in cols} - protected
        # "refuse" refuses gaps in the estimation before the start too (its estimators
        # would read them); "trade_when_available" handles those by availability below
        inside = read if not allowed else inside
        nan = inside.isna()
        inside_bad = [c for c in nan.columns if nan[c].any()]
        refused = [c for c in inside_bad if not (allowed and c in linear)]
        if refused:
            when = inside.index[nan[refused].any(axis=1)]
            where = "; ".join(
                f"{c!r} on {_ranges_text(inside.index, nan[c].to_numpy())}" for c in refused[:5]
            )
            if allowed or not set(refused) <= linear:
                fix = (
                    f"{sorted(set(refused) - linear)} are the book's holdings or what its "
                    "options, option hedges, factor model or signals read: they need a close "
                    "on every date to be marked (missing_data='trade_when_available' lets only "
                    "a future's, ETF's or inverse ETF's price have gaps); start after the gaps, "
                    "or fill or drop those columns."
                )
            else:
                fix = (
                    "start after them, fill or drop those columns, or let the policy trade "
                    "those hedge instruments only when they have data: "
                    "HedgePolicy(missing_data='trade_when_available') (in a policy file, "
                    "[policy] missing_data = 'trade_when_available')."
                )
            raise DataError(
                f"The data have no close of {refused[:5]} on {len(when)} dates the backtest "
                f"reads (its window and the estimation before its start; first "
                f"{when[0]:%Y-%m-%d}, last {when[-1]:%Y-%m-%d}): {where}; {fix}"
            )
        if not (allowed and linear):
            return {}
        gappy = {
            k: [c for c in cols if c in linear]
            for k, cols in cols_of.items()
            if any(c in linear for c in cols)
        }
        if any(isinstance(c, Bounds) for c in policy.spec.constraints):
            raise SpecificationError(
                f"missing_data='trade_when_available' lets the data of {sorted(gappy)} have "
                "gaps and bounds their positions to 0 on the decisions that lack their data; "
                "the policy's spec cannot carry its own Bounds constraint too: state the "
                "bounds on the instruments (lower=, upper=)."
            )
        self.missing = {
            k: _ranges(read.index, read[cols].isna().any(axis=1).to_numpy())
            for k, cols in gappy.items()
            if read[cols].isna().any().any()
        }
        return gappy

    def _availability(self, window: pd.DataFrame, first: int, n: int, gap_cols: list[str]) -> None:
        """Mark, for each decision day, the gappy instruments it cannot trade.

        Day ``i`` (row ``k``) cannot trade an instrument whose closes miss on any row its
        estimation and scenario windows read (``k - warmup - 1`` to ``k - 1``) or on ``k``
        itself; nothing after ``k`` is read. :attr:`no_close` flags the days an
        instrument has no close (a position it holds is closed there, at its last close,
        by :meth:`close_on_gaps`). Its missing returns are read as 0 by the estimators:
        with its position bounded to 0 on every decision whose window holds one, its row
        and column of the covariance (and its scenario returns) multiply a zero position,
        and every other entry of a sample or EWMA covariance, a factor model's other
        assets and the historical or bootstrapped scenarios of the other columns do not
        depend on them, so the solve is the one of the problem without that instrument.
        """
        warmup = self.policy.warmup()
        rows = first + n
        for label, cols in self.gappy.items():
            nan = window[cols].isna().any(axis=1).to_numpy()
            count = np.concatenate([[0], np.cumsum(nan)])
            k = first + np.arange(n)
            lo = np.maximum(k - warmup - 1, 0)
            hi = np.minimum(k + 1, rows)  # rows lo .. k: none after the decision's date
            self.unavailable[label] = count[hi] - count[lo] > 0
            self.no_close[label] = nan[k]
        self.raw_returns = self.returns.copy()
        filled = [c for c in gap_cols if c in self.returns]
        self.returns[filled] = self.returns[filled].fillna(0.0)
        self.P_book = self.P.copy()
        idx = [self.col[c] for c in gap_cols]
        self.P_book[:, idx] = np.nan_to_num(self.P_book[:, idx], nan=0.0)

    def unavailable_on(self, i: int) -> list[str]:
        """Return the gappy instruments decision day ``i`` cannot trade."""
        return [k for k, off in self.unavailable.items() if off[i]]

    def close_on_gaps(self, i: int, day: _Day) -> None:
        """Close each position with no close on day ``i``, at its last close.

        Called right after day ``i``'s mark, which valued the position at that last close
        (its unit value is carried over the gap: no P&L from its price that day; a
        future's carry, an ETF's expense and a short's borrow accrue as on any day held,
        the position being held to that day's close). The trade pays the cost model's
        costs on that stale price, all finite: the notional is the last close's, the
        impact reads the returns there were before day ``i``, as a sale at the last known
        price would.
        """
        for label, gap in self.no_close.items():
            if gap[i] and label in self.lots:
                last = self.day[int(np.flatnonzero(~gap[:i])[-1])]
                why = (
                    f"no close on {self.day[i]:%Y-%m-%d}: "
                    f"closed at its last close of {last:%Y-%m-%d}"
                )
                self.trade(i, label, -self.lots[label].units, why, day)

    # ------------------------------------------------------------------ prices
    def _unit_values(self) -> dict[str, np.ndarray]:
        """Value of one unit of each linear leg on every backtest day.

        A leg with no close on a day is valued at its last close (stale, so that a mark
        never reads NaN: no P&L from its price that day); NaN only before its first close
        inside the backtest, where it is never held.
        """
        out: dict[str, np.ndarray] = {}
        rows = self.prices.iloc[self.first :]
        for label, inst in self.instruments.items():
            if isinstance(inst, OptionPackage):
                continue
            under = rows[_underlying(inst)].to_numpy(dtype=np.float64)
            gaps = np.isnan(under)
            if label in rows.columns:
                gaps |= np.isnan(rows[label].to_numpy(dtype=np.float64))
            if gaps.all():
                out[label] = np.full(len(under), math.nan)  # never traded: no close inside
                continue
            if gaps.any():  # a synthetic price runs on the closes it has (NaN on the gaps)
                under = pd.Series(under).ffill().bfill().to_numpy(dtype=np.float64)
            if isinstance(inst, Future):
                out[label] = under * float(inst.multiplier)
            elif label in rows.columns:
                out[label] = rows[label].to_numpy(dtype=np.float64) * float(inst.multiplier)
            elif isinstance(inst, InverseETF):
                r = np.diff(under) / under[:-1]
                growth = np.maximum(1.0 + inst.leverage * r, 0.0)
                path = float(inst.price) * np.concatenate([[1.0], np.cumprod(growth)])
                out[label] = path * float(inst.multiplier)
            elif isinstance(inst, PositionReduction):
                out[label] = under
            else:  # an ETF tracking its underlying from its stated price
                out[label] = float(inst.price) * under / under[0] * float(inst.multiplier)
            if gaps.any():  # stale on a gap (its last close), NaN before its first close
                out[label][gaps] = math.nan
                out[label] = pd.Series(out[label]).ffill().to_numpy(dtype=np.float64)
        return out

    def _synthetic(self, label: str) -> bool:
        return label not in self.prices.columns

    def _vol(self, i: int, underlying: str) -> float:
        key = (i, underlying)
        if key not in self._vols:
            if len(self._vols) > 256:
                self._vols.clear()
            self._vols[key] = self._vol_of(i, underlying)
        return self._vols[key]

    def _vol_of_data(self, i: int) -> float:
        """Return the S&P 500's implied volatility from the data (not the ``volatility`` given)."""
        k = self.first + i
        returns = self.returns["SP500"].iloc[max(1, k - TRADING_DAYS + 1) : k + 1]
        vix = math.nan if self.vix is None else float(self.vix.iloc[i])
        return implied_volatility("SP500", returns, vix, self.frequency)

    def _vol_of(self, i: int, underlying: str) -> float:
        given = self.volatility
        if isinstance(given, int | float) and not isinstance(given, bool):
            return float(given)
        if isinstance(given, pd.DataFrame) and underlying in given.columns:
            v = given[underlying].asof(self.day[i])
            if not (isinstance(v, float) and math.isfinite(v) and v > 0):
                raise DataError(
                    f"The 'volatility' argument has no value of {underlying!r} on or before "
                    f"{self.day[i]:%Y-%m-%d}; give one for every backtest day."
                )
            return float(v)
        k = self.first + i  # 0.0 without a proxy yet: options that need it say so when priced
        returns = self.returns[underlying].iloc[max(1, k - TRADING_DAYS + 1) : k + 1]
        vix = math.nan if self.vix is None else float(self.vix.iloc[i])
        return implied_volatility(underlying, returns, vix, self.frequency)

    def market(self, i: int, underlyings: Sequence[str] | None = None) -> MarketState:
        """Return the market state at day ``i``'s close (spot, volatility, rate, date).

        Built once a day for each set of underlyings (the day's marks, exits, signals and
        decision read the same one; the option decay reads yesterday's again).
        """
        names = tuple(self.assets if underlyings is None else underlyings)
        key = (i, names)
        for have, state in self._market:
            if have == key:
                return state
        row = self.P[self.first + i]
        vols = {u: self._vol(i, u) for u in names}
        market = MarketState(
            spot=pd.Series({u: float(row[self.col[u]]) for u in names}, dtype=np.float64),
            volatility=pd.Series({u: v for u, v in vols.items() if v > 0}, dtype=np.float64),
            rate=self.rate,
            asof=self.day[i],
        )
        self._market = [(key, market), *self._market[:1]]
        return market

    def _option_underlyings(self) -> list[str]:
        names = {c.underlying for c, _ in self.book_options}
        names |= {_underlying(self.instruments[k]) for k in self.packages}
        return sorted(names)

    def _book_options_value(self, i: int, market: MarketState | None = None) -> float:
        if not self.book_options:
            return 0.0
        m = market or self.market(i, self._option_underlyings())
        return float(sum(u * c.value(m) for c, u in self.book_options))

    def _delta(self, contract: OptionContract, market: MarketState) -> float:
        """Delta per contract in units of the underlying (the expiry limit once expired).

        The contract's own Greeks (its legs' volatilities with their skew) while it lives;
        computed once per contract and market state.
        """
        key = (id(contract), id(market))
        hit = self._deltas.get(key)
        if hit is not None and hit[0] is contract and hit[1] is market:  # ids not reused
            return hit[2]
        if len(self._deltas) > 64:
            self._deltas.clear()
        out = self._delta_of(contract, market)
        self._deltas[key] = (contract, market, out)
        return out

    @staticmethod
    def _delta_of(contract: OptionContract, market: MarketState) -> float:
        if contract.days_to_expiry(market) > 0:
            per_unit = contract.exposures(market)[contract.underlying]
            return float(per_unit) * float(contract.multiplier)
        spot = market.spot_of(contract.underlying)
        total = 0.0
        for kind, strike, ratio in contract.options:
            itm = spot > strike if kind == "call" else spot < strike
            total += ratio * ((1.0 if kind == "call" else -1.0) if itm else 0.0)
        return total * float(contract.multiplier)

    # ------------------------------------------------------------------ marks
    def mark(self, i: int) -> _Day:
        """Book day ``i``: the change from day ``i - 1``'s close, expiries and rolls."""
        day = _Day()
        dt = float(self.dt[i])
        growth = math.expm1(self.rate * dt)
        day.interest = self.cash * growth
        if self.cash < 0 and self.costs.financing_spread > 0:
            day.costs["financing"] += -self.cash * self.costs.financing_spread * dt
        financed = 0.0  # the unhedged book borrows on the same terms
        if self.cash_unhedged < 0 and self.costs.financing_spread > 0:
            financed = -self.cash_unhedged * self.costs.financing_spread * dt
        self.cash_unhedged += self.cash_unhedged * growth - financed
        k = self.first + i
        move = self.P_book[k, self.asset_cols] - self.P_book[k - 1, self.asset_cols]
        book_pnl = float(self.shares @ move)
        market = None
        if self.book_options or any(isinstance(x.held, OptionContract) for x in self.lots.values()):
            market = self.market(i, self._option_underlyings())
        if self.book_options:
            before = self.book_value_options
            after = self._book_options_value(i, market)
            book_pnl += after - before
            self.book_value_options = after
        day.pnl["book"] = book_pnl
        aged = None  # yesterday's spot and volatility, today's date: time alone moves
        for label, lot in list(self.lots.items()):
            inst = self.instruments[label]
            if isinstance(lot.held, OptionContract):
                assert market is not None
                if aged is None:
                    aged = dataclasses.replace(
                        self.market(i - 1, self._option_underlyings()), asof=self.day[i]
                    )
                day.decay += lot.units * (lot.held.value(aged) - lot.value)
                value = lot.held.value(market)
                pnl = lot.units * (value - lot.value)
                lot.value = value
            else:
                value = float(self.unit_values[label][i])
                pnl = lot.units * (value - lot.value)
                if isinstance(inst, Future):
                    pnl -= lot.units * lot.value * inst.carry * dt  # carry: a long pays it
                    self.cash += pnl
                elif isinstance(inst, ETF | InverseETF) and lot.units != 0:
                    held_value = lot.units * lot.value
                    if lot.units > 0 and self._synthetic(label):
                        day.costs["expense"] += held_value * inst.expense_ratio * dt
                    if lot.units < 0:
                        fee = self.costs.borrow_rate(getattr(inst, "borrow_fee", 0.0))
                        day.costs["borrow"] += -held_value * fee * dt
                elif isinstance(inst, PositionReduction) and lot.units < 0:
                    pass  # a sale of the holding: no borrow
                lot.value = value
            day.pnl[label] = day.pnl.get(label, 0.0) + pnl
        self.cash += day.interest - sum(day.costs.values())
        return day

    def settle_book_options(self, i: int) -> None:
        """Pay the book's expired options their intrinsic value (after the day's decision)."""
        if not self.book_options:
            return
        market = self.market(i, self._option_underlyings())
        still = []
        for c, u in self.book_options:
            if c.days_to_expiry(market) <= 0:
                settled = u * c.value(market)
                self.cash += settled
                self.cash_unhedged += settled
                self.book_value_options -= settled
            else:
                still.append((c, u))
        self.book_options = still

    @property
    def hedge_value(self) -> float:
        """Value of the non-margined hedge positions (futures are margined: 0)."""
        return float(
            sum(
                x.units * x.value
                for k, x in self.lots.items()
                if not isinstance(self.instruments[k], Future)
            )
        )

    def book_value(self, i: int) -> float:
        return float(self.shares @ self.P_book[self.first + i, self.asset_cols])

    def unhedged(self, i: int) -> float:
        """Value of the book and its cash, never hedged, at day ``i``'s close."""
        return self.book_value(i) + self.book_value_options + self.cash_unhedged

    def nav_at(self, i: int) -> float:
        return self.book_value(i) + self.book_value_options + self.cash + self.hedge_value

    # ------------------------------------------------------------------ trades
    def trade(
        self, i: int, label: str, units: float, why: str, day: _Day, *, kind: str = ""
    ) -> None:
        """Trade ``units`` of leg ``label`` at day ``i``'s close; book cash and costs."""
        if units == 0:
            return
        inst = self.instruments[label]
        lot = self.lots.get(label)
        if isinstance(inst, OptionPackage):
            assert lot is not None
            value = lot.value
            spot = self.spot(i, inst.underlying)
            notional = abs(units) * spot * float(inst.multiplier)
            per_contract = True
        else:
            value = float(self.unit_values[label][i])
            notional = abs(units) * value
            per_contract = isinstance(inst, Future)
        daily_vol = 0.0
        if self.costs.impact > 0:  # the square-root law reads the last 63 returns' volatility
            k = self.first + i
            r = self.raw_returns[_underlying(inst)].iloc[max(1, k - 63) : k].dropna()
            daily_vol = float(r.std()) if len(r) > 1 else 0.0
        charged = self.costs.trade(
            units=units,
            notional=notional,
            per_contract=per_contract,
            own_cost=inst.cost,
            adv=inst.adv,
            daily_vol=daily_vol,
        )
        if kind == "roll":
            charged = {"roll": sum(charged.values())}
        for name, amount in charged.items():
            day.costs[name] += amount
        self.cash -= sum(charged.values())
        if not isinstance(inst, Future):
            self.cash -= units * value
        if isinstance(inst, OptionPackage):
            day.premium += units * value
        if lot is None:
            self.lots[label] = _Lot(label, inst, units, self.day[i], value, value)
            lot = self.lots[label]
            if isinstance(inst, Future):
                self._contract(lot, i)
        else:
            lot.units += units
        self.trades.append(
            {
                "date": self.day[i],
                "leg": label,
                "contract": lot.contract,
                "units": units,
                "price": value,
                "notional": notional,
                "cost": sum(charged.values()),
                "why": why,
            }
        )
        if abs(lot.units) < 1e-12:
            del self.lots[label]

    def open_option(self, i: int, label: str, units: float, why: str, day: _Day) -> None:
        """Buy (sell) ``units`` contracts of the package ``label``, minted at day ``i``."""
        pkg = self.instruments[label]
        assert isinstance(pkg, OptionPackage)
        market = self.market(i, self._option_underlyings())
        contract = pkg.contract(market, calendar=self.calendar)
        value = contract.value(market)
        self.lots[label] = _Lot(
            label,
            contract,
            0.0,
            self.day[i],
            value,
            value,
            exit_rule=self.policy.exit_rules.get(label, self.policy.exit_rule),
            expiry=contract.expiry,
            contract=contract.label,
        )
        self.trade(i, label, units, why, day)
        if value > 0 and units > 0:
            self.spent.append((int(self.tday[i]), units * value))

    def _contract(self, lot: _Lot, i: int) -> None:
        """Give a future's lot the next quarterly contract whose roll date is after day ``i``."""
        expiry = quarterly_expiry(self.day[i], self.calendar)
        roll_on = self.calendar.add(expiry, -self.roll_days)
        if roll_on <= self.day[i]:
            expiry = quarterly_expiry(expiry + pd.Timedelta(days=1), self.calendar)
            roll_on = self.calendar.add(expiry, -self.roll_days)
        lot.expiry, lot.roll_on = expiry, roll_on
        lot.contract = f"{lot.leg} {expiry:%Y-%m-%d}"

    def roll_futures(self, i: int, day: _Day) -> None:
        """Roll every future whose contract reaches its roll date at day ``i``."""
        for label, lot in list(self.lots.items()):
            if lot.roll_on is None or self.day[i] < lot.roll_on:
                continue
            units = lot.units
            self.trade(i, label, -units, "roll", day, kind="roll")
            self.trade(i, label, units, "roll", day, kind="roll")

    roll_days = 5

    # ------------------------------------------------------------------ exits
    def exits(self, i: int, day: _Day) -> list[str]:
        """Settle expired option lots and apply each lot's exit rule; return roll reasons.

        Every lot's rule sees the holdings as they are before any lot acts (a collar held
        as a put lot and a call lot: each sees both strikes).
        """
        options = [(k, x) for k, x in self.lots.items() if isinstance(x.held, OptionContract)]
        if not options:
            return []
        market = self.market(i, self._option_underlyings())
        actions = []
        for label, lot in options:
            held = lot.held
            assert isinstance(held, OptionContract)
            strikes = {kind: k for kind, k, _ in held.options}
            for _, other in options:  # a collar's legs held as two lots
                if other is not lot and getattr(other.held, "underlying", None) == held.underlying:
                    assert isinstance(other.held, OptionContract)
                    for kind, k, _ in other.held.options:
                        strikes.setdefault(kind, k)
            days_left = held.days_to_expiry(market)
            view = LotView(
                label=label,
                date=self.day[i],
                opened=lot.opened,
                units=lot.units,
                value_per_unit=lot.value,
                entry_value_per_unit=lot.entry_value,
                book_value=self.nav,
                days_to_expiry=days_left,
                put_strike=strikes.get("put"),
                call_strike=strikes.get("call"),
                spot=market.spot_of(held.underlying),
            )
            actions.append((label, lot, days_left, lot.exit_rule.decide(view, self.signals)))
        reasons: list[str] = []
        for label, lot, days_left, action in actions:
            if action.kind == "roll":
                reasons.append(f"{_ROLL} {label}")
            if days_left <= 0:  # expired: it pays its intrinsic value into cash
                self.cash += lot.units * lot.value
                self.trades.append(
                    {
                        "date": self.day[i],
                        "leg": label,
                        "contract": lot.contract,
                        "units": -lot.units,
                        "price": lot.value,
                        "notional": 0.0,
                        "cost": 0.0,
                        "why": "expiry",
                    }
                )
                del self.lots[label]
            elif action.kind in ("close", "roll"):
                self.trade(i, label, -lot.units, f"exit: {action.reason}", day)
            elif action.kind == "resize" and action.units is not None:
                self.trade(i, label, float(action.units) - lot.units, f"exit: {action.reason}", day)
        return reasons

    # ------------------------------------------------------------------ signals
    def compute_signals(self, i: int) -> dict[str, float]:
        """Return the named state series triggers and regimes read, at day ``i``'s close.

        - ``vix``: the data's VIX close (index points); where the data have none, the
          S&P 500's implied-volatility proxy in the same points (annual volatility x 100);
        - ``realised_vol``: annualised volatility of the book's last 21 returns (its
          holdings at their starting quantities, on the data before the backtest too);
        - ``drawdown``: the hedged book's fall from its peak, fraction;
        - ``beta_drift``: the hedged book's beta now less at the last decision (betas
          of that decision's risk model);
        - ``delta_drift``: the options' delta now less at the last decision, fraction
          of the book;
        - ``regime``: the index of the regime band (with regimes).
        """
        vix = math.nan
        if "SP500" in self.assets:  # the VIX close, or the proxy in the same points
            vix = self._vol_of_data(i) * 100.0
        elif self.vix is not None and math.isfinite(float(self.vix.iloc[i])):
            vix = float(self.vix.iloc[i])
        beta_now = self._beta(i)
        beta_drift = (  # no drift before the first decision has measured a beta
            0.0 if beta_now is None or self.decided_beta is None else beta_now - self.decided_beta
        )
        delta = self._option_delta_share(i)
        out = {
            "vix": vix,
            "realised_vol": float(self.realised[i]),
            "drawdown": 1.0 - self.nav / self.peak,
            "beta_drift": beta_drift,
            "delta_drift": delta - self.decided_delta,
        }
        if self.policy.regimes is not None:
            band = self.policy.regimes.band_of(out.get(self.policy.regimes.signal, math.nan))
            names = [b.name for b in self.policy.regimes.bands]
            self.regime = band
            out["regime"] = float(names.index(band.name))
        return out

    def spot(self, i: int, name: str) -> float:
        """Close of ``name`` on day ``i``."""
        return float(self.P[self.first + i, self.col[name]])

    def exposures(self, i: int) -> np.ndarray:
        """Delta-equivalent market value of the book on each asset, base currency."""
        out: np.ndarray = self.shares * self.P_book[self.first + i, self.asset_cols]
        if self.book_options:
            market = self.market(i, self._option_underlyings())
            for c, u in self.book_options:
                spot = self.spot(i, c.underlying)
                out[self.where[c.underlying]] += u * self._delta(c, market) * spot
        return out

    def _hedge_exposures(self, i: int, options_only: bool = False) -> np.ndarray:
        out = np.zeros(len(self.assets))
        market = None
        for label, lot in self.lots.items():
            inst = self.instruments[label]
            at = self.where[_underlying(inst)]
            if isinstance(lot.held, OptionContract):
                market = market or self.market(i, self._option_underlyings())
                spot = self.spot(i, lot.held.underlying)
                out[at] += lot.units * self._delta(lot.held, market) * spot
            elif options_only:
                continue
            elif isinstance(inst, InverseETF):
                out[at] += lot.units * lot.value * inst.leverage
            else:
                out[at] += lot.units * lot.value
        return out

    def _beta(self, i: int) -> float | None:
        if self.betas is None:
            return None
        total = self.exposures(i) + self._hedge_exposures(i)
        return float(total @ self.betas / self.nav)

    def _option_delta_share(self, i: int) -> float:
        if not any(isinstance(x.held, OptionContract) for x in self.lots.values()):
            return 0.0
        return float(self._hedge_exposures(i, options_only=True).sum() / self.nav)

    def hedge_ratio(self, i: int) -> float:
        """Delta notional of the hedge against the book's, positive when it offsets a long."""
        book = float(self.exposures(i).sum())
        if book == 0:
            return 0.0
        return -float(self._hedge_exposures(i).sum()) / book

    # ------------------------------------------------------------------ decisions
    def _estimate(self, i: int) -> Any:
        est = self.policy.estimation
        if est.kind == "given":  # nothing to estimate (and nothing to cache by data)
            return est.risk_model
        date = self.day[i]
        key = (self.fingerprint, est.key(), date)
        if key in _ESTIMATES:
            return _ESTIMATES[key]
        self.estimates += 1
        k = self.first + i
        window = self.returns.iloc[max(1, k - est.window) : k]
        model = est.estimate(read_only(window), self.frequency)
        if len(_ESTIMATES) >= _ESTIMATES_MAX:
            _ESTIMATES.clear()
        _ESTIMATES[key] = model
        return model

    def _problem(self, portfolio: Portfolio, inputs: dict[str, Any]) -> Any:
        from optihedge.optimize import HedgeProblem
        from optihedge.optimize.spec import ProblemSpec

        spec = self.policy.spec
        bounded = [*self.packages, *self.gappy]  # each decision sets their bounds
        if bounded:
            if self.packages and any(isinstance(c, Bounds) for c in spec.constraints):
                raise SpecificationError(
                    "A policy with option packages holds each bought contract to its exit "
                    "by bounding the package's new position; its spec cannot carry its own "
                    "Bounds constraint too: state the bounds on the instruments (lower=, upper=)."
                )
            # the package's own bounds move into the engine's Bounds: a held lot sets both to 0
            # (and a gappy instrument's: 0 while it has no data)
            instruments = tuple(
                dataclasses.replace(i, lower=-math.inf, upper=math.inf) if i.label in bounded else i
                for i in spec.instruments
            )
            free = dict.fromkeys(bounded, _FREE)
            spec = ProblemSpec(
                instruments,
                spec.objective,
                (*spec.constraints, Bounds(lower={k: -v for k, v in free.items()}, upper=free)),
                spec.horizon,
                spec.market,
                spec.market_state,
            )
        self.compiles += 1
        return HedgeProblem.from_spec(spec, portfolio, **inputs)

    def decide(self, i: int, why: list[str], day: _Day) -> None:
        """Take a decision at day ``i``'s close (see the module docstring)."""
        t0 = time.perf_counter()
        date = self.day[i]
        policy = self.policy
        band = self.regime
        hedge_on = band is None or bool(band.hedge)
        ratio = policy.hedge_ratio * (1.0 if band is None else float(band.hedge_ratio))
        record: dict[str, Any] = {
            "date": date,
            "why": "; ".join(why),
            "regime": None if band is None else band.name,
            "hedge_ratio": ratio if hedge_on else 0.0,
        }
        off = self.unavailable_on(i) if self.gappy else []
        if policy.missing_data == "trade_when_available":
            record["unavailable"] = ", ".join(off)
        if not hedge_on:
            for label, lot in list(self.lots.items()):
                self.trade(i, label, -lot.units, "no hedge in this regime", day)
            record["status"] = "no hedge"
            self.decisions.append(record)
            self.last_decision = i
            self.decided_delta = 0.0
            return
        risk_model = self._estimate(i)
        t1 = time.perf_counter()
        self.timings["estimate"] += t1 - t0
        scenarios = None
        if policy.scenarios is not None:
            k = self.first + i
            window = self.returns.iloc[max(1, k - policy.scenarios.window) : k]
            scenarios = policy.scenarios.build(read_only(window), risk_model, date)
        t2 = time.perf_counter()
        self.timings["scenarios"] += t2 - t1
        self.nav = self.nav_at(i)
        held = self.exposures(i) + self._hedge_exposures(i, options_only=True)
        nonzero = held != 0
        book = pd.Series(held[nonzero], index=self.asset_index[nonzero])
        if book.empty:  # nothing left to hedge: the hedge is closed
            for label, lot in list(self.lots.items()):
                self.trade(i, label, -lot.units, "nothing left to hedge", day)
            record["status"] = "no book"
            self.decisions.append(record)
            self.last_decision = i
            return
        portfolio = Portfolio(book, capital=self.nav)
        market = self.market(i, self._option_underlyings()) if self.packages else None
        current = self._current_weights(i)
        params = dict(policy.params) | ({} if band is None else dict(band.params))
        for label in self.packages:
            held = label in self.lots
            own = self.instruments[label]
            params[f"bounds.lower[{label}]"] = 0.0 if held else max(own.lower, -_FREE)
            params[f"bounds.upper[{label}]"] = 0.0 if held else min(own.upper, _FREE)
        for label in self.gappy:  # no data: held to 0 on this decision
            own = self.instruments[label]
            params[f"bounds.lower[{label}]"] = 0.0 if label in off else max(own.lower, -_FREE)
            params[f"bounds.upper[{label}]"] = 0.0 if label in off else min(own.upper, _FREE)
        if policy.premium_budget is not None:
            allowance = policy.premium_budget.allowance(
                int(self.tday[i]), self.nav, self.spent, self.last_offer
            )
            if any(label not in self.lots for label in self.packages):
                self.last_offer = int(self.tday[i])  # a purchase was open: the budget's clock
            cap = max(allowance, 0.0) / self.nav
            params["premium_budget.max"] = min(params.get("premium_budget.max", cap), cap)
        inputs = {
            "risk_model": risk_model,
            "scenarios": scenarios,
            "current": current,
            "market_state": market,
        }
        try:
            if self.problem is None:
                self.problem = self._problem(portfolio, inputs)
            solution = self.problem.solve_point(params, portfolio=portfolio, **inputs)
        except (InfeasibleError, SolverFailedError) as exc:
            record["status"] = type(exc).__name__
            record["message"] = str(exc).splitlines()[0]
            self.decisions.append(record)
            self.timings["solve"] += time.perf_counter() - t2
            return
        t3 = time.perf_counter()
        self.timings["solve"] += t3 - t2
        record |= solution.record()
        record["predicted_volatility"] = solution.volatility
        record["horizon"] = self.problem.horizon
        weights = dict(zip(map(str, solution.instruments), solution.positions * ratio, strict=True))
        weights |= dict.fromkeys(off, 0.0)  # bounded to 0: no trade at a missing price
        for key, w in weights.items():
            record[f"weight[{key}]"] = float(w)
        self._trade_to(i, weights, solution, market, day, "; ".join(why))
        self.timings["trade"] += time.perf_counter() - t3
        self.decisions.append(record)
        self.last_decision = i
        self.nav = self.nav_at(i)
        if self.policy.triggers:
            self._remember(i, risk_model)

    def _current_weights(self, i: int) -> pd.Series:
        out = np.zeros(len(self.instrument_index))
        for j, label in enumerate(self.instruments):
            lot = self.lots.get(label)
            if lot is None or isinstance(lot.held, OptionContract):
                continue  # none, or held to its exit: part of the book in the solve
            out[j] = lot.units * lot.value / self.nav
        return pd.Series(out, index=self.instrument_index)

    def _units(self, label: str, weight: float, i: int) -> float:
        inst = self.instruments[label]
        if weight == 0:
            return 0.0
        if isinstance(inst, OptionPackage):
            spot = self.spot(i, inst.underlying)
            per_unit = spot * float(inst.multiplier)
        else:
            per_unit = float(self.unit_values[label][i])
        units = weight * self.nav / per_unit
        lot = self.policy.lots.get(label, 1.0 if isinstance(inst, Future | OptionPackage) else 0.0)
        if lot > 0:
            units = math.floor(units / lot + 0.5) * lot + 0.0
        return units

    def _trade_to(
        self,
        i: int,
        weights: Mapping[str, float],
        solution: Any,
        market: MarketState | None,
        day: _Day,
        why: str,
    ) -> None:
        for key, w in weights.items():
            label = str(key)
            inst = self.instruments[label]
            target = self._units(label, float(w), i)
            if isinstance(inst, OptionPackage):
                if label in self.lots or target == 0:
                    continue
                self.open_option(i, label, target, why, day)
                continue
            held = self.lots[label].units if label in self.lots else 0.0
            self.trade(i, label, target - held, why, day)

    def _remember(self, i: int, risk_model: Any) -> None:
        """Betas and option delta at the decision, for the drift signals."""
        market_label = self.policy.spec.market
        try:
            cov = risk_model.covariance()
        except AttributeError:
            cov = None
        if cov is not None:
            m = market_label if market_label in cov.index else None
            if m is None and "SP500" in cov.index:
                m = "SP500"
            if m is not None and cov.loc[m, m] > 0:
                beta = cov[m] / cov.loc[m, m]
                self.betas = beta.reindex(self.assets).fillna(0.0).to_numpy(dtype=np.float64)
        self.decided_beta = self._beta(i)
        self.decided_delta = self._option_delta_share(i)

    # ------------------------------------------------------------------ the loop
    def run(
        self,
        schedule: pd.DatetimeIndex,
        progress: Any = None,
        *,
        first: int = 0,
        commit: Callable[[int], None] | None = None,
    ) -> None:
        """Mark (and decide) from day ``first`` (0, or the day after a restored state).

        ``commit(i)`` is called after each decision day ``i`` is recorded (the durable
        run's hook, :mod:`optihedge.backtests.durable`), before ``progress``.
        """
        scheduled = set(schedule)
        if first == 0:
            self.book_value_options = self._book_options_value(0)
            self.book_path = [self.unhedged(0)]
        for i in range(first, len(self.days)):
            self.today = i  # the day being marked and decided (read by the durable run)
            t0 = time.perf_counter()
            day = _Day() if i == 0 else self.mark(i)
            if self.no_close:  # marked at its last close: closed there, the same day
                self.close_on_gaps(i, day)
            if i:
                self.book_path.append(self.unhedged(i))
            self.nav = self.nav_at(i)
            self.peak = max(self.peak, self.nav)
            if self.watch:
                self.signals = self.compute_signals(i)
            self.timings["mark"] += time.perf_counter() - t0
            why: list[str] = []
            if i == 0:
                why.append(_ENTRY)
            elif self.day[i] in scheduled:
                why.append(_SCHEDULE)
            why += self.exits(i, day)
            self.roll_futures(i, day)
            for k, trig in enumerate(self.policy.triggers):
                fired, self.trigger_states[k] = trig.step(
                    i, self.day[i], self.signals, self.trigger_states[k]
                )
                if fired and i:
                    reason = getattr(self.trigger_states[k], "reason", "") or type(trig).__name__
                    why.append(f"trigger: {reason}")
            if why:
                self.decide(i, why, day)
            self.settle_book_options(i)
            self.nav = self.nav_at(i)
            self.record(i, day)
            if commit is not None and why:
                commit(i)
            if progress is not None:
                progress(i + 1, len(self.days))

    #: Attributes a resumed engine rebuilds from the backtest's arguments (the inputs,
    #: the compiled problem) or reads back from the store's rows (the tables): the
    #: state pickled at a commit is every other attribute.
    REBUILT = frozenset(
        {
            "policy", "costs", "calendar", "instruments", "days", "prices", "P", "returns",
            "vix", "volatility", "unit_values", "problem", "rows", "decisions", "trades",
            "positions", "day", "dt", "realised", "col", "asset_cols", "where", "_market",
            "asset_index", "instrument_index", "tday",
            "_deltas", "_vols", "P_book", "unavailable", "no_close", "gappy", "missing",
            "raw_returns",
        }
    )  # fmt: skip

    def state(self) -> bytes:
        """Pickle the engine's state between two days (all but :attr:`REBUILT`)."""
        kept = {k: v for k, v in vars(self).items() if k not in self.REBUILT}
        return pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, state: bytes) -> None:
        """Take back a :meth:`state` (the problem is compiled again at the next decision)."""
        self.__dict__.update(pickle.loads(state))

    def record(self, i: int, day: _Day) -> None:
        row: dict[str, Any] = {
            "date": self.day[i],
            "unhedged_value": self.book_path[-1],
            "hedged_value": self.nav,
            "book_value": self.book_value(i) + self.book_value_options,
            "cash": self.cash,
            "hedge_value": self.hedge_value,
            "pnl_book": day.pnl.get("book", 0.0),
        }
        for label in self.instruments:
            row[f"pnl_{label}"] = day.pnl.get(label, 0.0)
        row["interest"] = day.interest
        row["option_premium"] = day.premium
        row["option_decay"] = day.decay
        for kind in COST_KINDS:
            row[f"cost_{kind}"] = day.costs[kind]
        row["hedge_ratio"] = self.hedge_ratio(i)
        row["regime"] = None if self.regime is None else self.regime.name
        self.rows.append(row)
        self.positions.append(
            {"date": self.day[i]}
            | {k: (self.lots[k].units if k in self.lots else 0.0) for k in self.instruments}
        )


def backtest(
    policy: HedgePolicy,
    data: pd.DataFrame,
    *,
    start: Any = None,
    end: Any = None,
    book: Portfolio | None = None,
    book_options: Sequence[tuple[OptionContract, float]] = (),
    capital: float | None = None,
    costs: CostModel | None = None,
    rate: float = 0.0,
    volatility: float | pd.DataFrame | None = None,
    calendar: TradingCalendar | None = None,
    roll_days: int = 5,
    progress: Any = None,
    store: Any = None,
) -> Any:
    """Run ``policy`` through ``data`` from ``start`` to ``end``, marking every row.

    Parameters
    ----------
    policy : HedgePolicy
    data : DataFrame of closes by ticker, dated index
        Daily (or weekly) closes of the book's holdings, the instruments' underlyings
        (and of an ETF or inverse ETF under its own label, when it has a price series;
        otherwise its price is synthesised from the underlying) and optionally ``"VIX"``
        (index points). Rows before ``start`` feed the first estimates.
    start, end : date, optional
        The backtest window (the data's first and last dates by default). The data must
        hold the policy's estimation window of returns before ``start``.
    book : Portfolio, optional
        Holdings as market values on ``start`` (bought as shares at that close and held).
    book_options : sequence of (OptionContract, units), optional
        Option contracts the book holds (negative units when written), marked daily and
        settled at expiry.
    capital : float, optional
        The hedged account's value on ``start`` (the book's value plus cash); the book's
        value by default.
    costs : CostModel, optional
        Trading and holding costs; each instrument's own ``cost`` as half-spread only, by
        default.
    rate : float, default 0.0
        Annual continuously compounded rate cash earns (and options are priced with).
    volatility : float or DataFrame by underlying, optional
        Implied volatility for option marks; default the data's VIX / 100 for
        ``"SP500"`` where it has one, else the EWMA proxy of the underlying's returns up
        to the day (:func:`optihedge.pricing.volatility_proxy`).
    calendar : TradingCalendar, optional
        Trading days the schedule, options and interest count. Default, for daily data:
        the NYSE's trading days of the embedded data (1990 to 2022) together with the
        data's own dates (Monday to Friday beyond both). Within 1990 to 2022 it is known
        in advance, so a backtest on data cut at any date decides as the full one; beyond
        2022 a holiday is learnt from the data's own dates (pass a calendar of the
        exchange's published holidays for a backtest that must not). For weekly or monthly
        data, Monday to Friday: interest, carry and option ageing then count about 261
        weekdays a year against the 252 of a trading year (pass a calendar with holidays
        to count 252); an option expiring between two weekly marks is settled at the
        first mark after its expiry, at that mark's spot.
    roll_days : int, default 5
        Futures are rolled this many trading days before their quarterly expiry.
    progress : callable(done, total), optional
    store : path, optional
        A local DuckDB file (the run store, :class:`optihedge.runs.Store`): the run is
        committed after every decision date; run again with the same arguments, a killed
        backtest resumes after its last committed decision date and a finished one is
        read back (:mod:`optihedge.backtests.durable`). ``meta["run_id"]`` names it.

    Returns
    -------
    BacktestResult

    Raises
    ------
    SpecificationError
        A policy, costs or window that are not what they should be (a start after the
        end, a schedule finer than the data, negative costs).
    DataError, MissingLabelsError
        Data that do not cover the window and the estimation before it, or lack a
        ticker the book or the policy names, or hold NaN inside the window (naming the
        columns and their missing dates; a hedge instrument's gaps are traded around
        with ``HedgePolicy(missing_data="trade_when_available")``).
    """
    given = {k: v for k, v in locals().items() if k not in ("policy", "data", "progress", "store")}
    from optihedge._plausible import check_rate
    from optihedge._validation import check_int
    from optihedge.backtests.result import BacktestResult, frame

    if not isinstance(policy, HedgePolicy):
        raise SpecificationError(
            f"The 'policy' argument of backtest must be a HedgePolicy. Got {type(policy).__name__}."
        )
    data = _check_data(data)
    _check_signals(policy, data)
    frequency = infer_frequency(data.index)
    policy.schedule.check_frequency(frequency)
    days = _check_window(data, start, end, policy.warmup())
    if costs is None:
        costs = CostModel()
    if not isinstance(costs, CostModel):
        raise SpecificationError(
            f"The 'costs' argument must be a CostModel. Got {type(costs).__name__}."
        )
    if book is not None and not isinstance(book, Portfolio):
        raise SpecificationError(
            f"The 'book' argument must be a Portfolio (market values). Got {type(book).__name__}."
        )
    if book is None and not book_options:
        raise SpecificationError(
            "A backtest needs a book to hedge: pass book=Portfolio(...) or book_options=[...]."
        )
    r = check_rate(rate, "rate")
    if calendar is None:
        calendar = _exchange_calendar(data) if frequency is Frequency.DAILY else DEFAULT_CALENDAR
    engine = _Engine(
        policy, data, days, book, book_options, capital, costs, r, volatility, calendar, frequency
    )
    engine.roll_days = check_int(roll_days, "roll_days", lower=0)
    stored = None
    if store is None:
        engine.run(_schedule(policy, calendar).dates(days), progress)
    else:
        from optihedge.backtests.durable import run_stored

        schedule = _schedule(policy, calendar).dates(days)
        stored = run_stored(
            engine, store, policy=policy, data=data, arguments=given, schedule=schedule,
            progress=progress,
        )  # fmt: skip
    daily = frame(engine.rows)
    result = BacktestResult(
        policy=policy.name,
        daily=daily,
        decisions=frame(engine.decisions),
        trades=frame(engine.trades, index="_none"),
        positions=frame(engine.positions),
        meta={
            "start": days[0],
            "end": days[-1],
            "frequency": str(frequency.value[0]),
            "rate": r,
            "capital": engine.capital,
            "compiles": engine.compiles,
            "timings": dict(engine.timings),
            "estimates": engine.estimates,
            "run_id": stored,
        },
    )
    if policy.missing_data == "trade_when_available":
        result.meta["missing"] = dict(engine.missing)
    return result

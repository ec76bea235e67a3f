"""A hedge policy's parts as frozen values: schedule, regimes, exit rules, premium budget.

Each part is a frozen, picklable dataclass validated on construction (a
:class:`~optihedge.errors.SpecificationError` naming the argument, the value and the
fix), with ``to_dict()`` / ``from_dict()`` (a plain dict with a ``"kind"`` key, as the
command line reads it from TOML) and pure evaluation methods. Time is counted in trading
days of :mod:`optihedge.calendar`.

- :class:`Schedule`: the decision dates among the trading days (every N days, week end,
  month end, the listed options' third Friday), with no look-ahead.
- :class:`Band` and :class:`Regimes`: an ordered band table on a named state series; the
  band of a value sets registry values of the problem, a hedge ratio, or "no hedge".
- Exit rules written at entry and stored with each lot: :class:`HoldToExpiry`,
  :class:`CloseWhen`, :class:`Harvest`, :class:`CrossRoll`, :class:`AnyExit`, each
  ``decide(view: LotView, signals) -> ExitAction``.
- :class:`PremiumBudget`: premium spend under a rolling budget where missed entries do
  not accumulate.

The triggers between decision dates are in :mod:`optihedge.backtests.triggers` and
re-exported here; :func:`part_from_dict` reads any part.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from optihedge._validation import check_int, check_option, check_scalar
from optihedge.backtests.triggers import (
    AllOf,
    AnyOf,
    BetaDrift,
    DeltaDrift,
    Drawdown,
    RegimeChange,
    Threshold,
    Trigger,
    TriggerState,
    build,
    fields_dict,
    trigger_from_dict,
)
from optihedge.backtests.triggers import _check_bool as check_bool
from optihedge.backtests.triggers import _check_name as check_name
from optihedge.backtests.triggers import _signal as signal_value
from optihedge.backtests.triggers import _unknown_keys as unknown_keys
from optihedge.calendar import DEFAULT_CALENDAR, TRADING_DAYS, Frequency, TradingCalendar
from optihedge.errors import DataError, SpecificationError

__all__ = [
    "AllOf",
    "AnyExit",
    "AnyOf",
    "Band",
    "BetaDrift",
    "CloseWhen",
    "CrossRoll",
    "DeltaDrift",
    "Drawdown",
    "ExitAction",
    "Harvest",
    "HoldToExpiry",
    "LotView",
    "Params",
    "PremiumBudget",
    "RegimeChange",
    "Regimes",
    "Schedule",
    "Threshold",
    "Trigger",
    "TriggerState",
    "part_from_dict",
    "trigger_from_dict",
]


# --------------------------------------------------------------------------- schedule

RULES = ("every", "week_end", "month_end", "third_friday")


def _days(days: Any) -> np.ndarray:
    """Return the dates of ``days`` as datetime64[D]; DataError unless sorted, unique."""
    if not isinstance(days, pd.DatetimeIndex):
        raise DataError(
            f"The 'days' argument must be a pandas DatetimeIndex of trading days. Got "
            f"{type(days).__name__} instead; pass e.g. prices.index."
        )
    if days.hasnans:
        raise DataError("The 'days' argument holds NaT; drop the missing dates.")
    local = days.tz_localize(None) if days.tz is not None else days
    out: np.ndarray = local.to_numpy().astype("datetime64[D]")
    if len(out) > 1 and (np.diff(out) <= np.timedelta64(0, "D")).any():
        raise DataError(
            "The 'days' argument must be strictly increasing dates, one a day; sort and "
            "de-duplicate it (e.g. days.unique().sort_values())."
        )
    return out


@dataclass(frozen=True)
class Schedule:
    """The decision dates of a hedge policy among the trading days.

    Parameters
    ----------
    rule : {"every", "week_end", "month_end", "third_friday"}
        ``"every"``: every ``every``-th day of ``days``, counted from ``days[0]``;
        ``"week_end"``: the last trading day of each week; ``"month_end"``: the last
        trading day of each month; ``"third_friday"``: the listed options' expiry, the
        third Friday of the month, or the last trading day before it when the calendar
        closes that Friday.
    every : int, default 21
        The step of ``"every"`` in trading days (ignored by the other rules).
    calendar : TradingCalendar, default DEFAULT_CALENDAR
        The calendar that says which day is the last of its week or month. Use the
        data's own (``TradingCalendar.from_dates(prices.index)``): a calendar decision
        date missing from ``days`` is no decision date.

    Notes
    -----
    No look-ahead: whether a day is a decision date depends on the day and the calendar
    only, never on later elements of ``days``, so ``dates(days[:k])`` is
    ``dates(days)`` cut at ``days[k - 1]``.
    """

    kind: ClassVar[str] = "schedule"

    rule: str
    every: int = 21
    calendar: TradingCalendar = DEFAULT_CALENDAR

    def __post_init__(self) -> None:
        check_option(self.rule, "rule", RULES)
        object.__setattr__(
            self, "every", check_int(self.every, "every", lower=1, what=" (trading days)")
        )
        if not isinstance(self.calendar, TradingCalendar):
            raise SpecificationError(
                f"The 'calendar' argument must be a TradingCalendar. Got "
                f"{type(self.calendar).__name__} instead; pass "
                "TradingCalendar.from_dates(prices.index) or DEFAULT_CALENDAR."
            )

    def dates(self, days: pd.DatetimeIndex) -> pd.DatetimeIndex:
        """Return the decision dates among ``days`` (sorted trading days), no look-ahead.

        Raises
        ------
        DataError
            ``days`` is not a strictly increasing DatetimeIndex.
        """
        d = _days(days)
        if len(d) == 0:
            return days[:0]
        if self.rule == "every":
            mask = np.arange(len(d)) % self.every == 0
            return pd.DatetimeIndex(days[mask])
        hol = np.array(self.calendar.holidays, dtype="datetime64[D]")
        if self.rule == "third_friday":
            first = d.astype("datetime64[M]").astype("datetime64[D]")
            friday = np.busday_offset(first, 2, roll="forward", weekmask="Fri")
            expiry = np.busday_offset(friday, 0, roll="preceding", holidays=hol)
            return pd.DatetimeIndex(days[d == expiry])
        # The calendar's next trading day after d (d itself rolled back if not one).
        nxt = np.busday_offset(d, 1, roll="preceding", holidays=hol)
        if self.rule == "month_end":
            mask = d.astype("datetime64[M]") != nxt.astype("datetime64[M]")
        else:  # week_end: Monday-based weeks (1970-01-01 was a Thursday)
            week = (d.astype(np.int64) + 3) // 7
            mask = week != (nxt.astype(np.int64) + 3) // 7
        return pd.DatetimeIndex(days[mask])

    def spacing(self) -> int:
        """Return the nominal least trading days between two decisions.

        ``every`` for ``"every"``; a week's trading days (5) for ``"week_end"``; a
        month's nominal trading days (21, :class:`~optihedge.calendar.Frequency`) for
        ``"month_end"`` and ``"third_friday"`` (a calendar month holds 19 to 23 trading
        days; holidays may bring two decisions closer than the nominal).
        """
        if self.rule == "every":
            return self.every
        if self.rule == "week_end":
            return Frequency.WEEKLY.trading_days_per_period
        return Frequency.MONTHLY.trading_days_per_period

    def check_frequency(self, frequency: Frequency | str) -> None:
        """Refuse a schedule finer than the data (decisions closer than its observations).

        Raises
        ------
        SpecificationError
            ``spacing()`` is less than the trading days of one period of ``frequency``
            (weekly data with ``every=1``).
        """
        freq = Frequency.parse(frequency)
        step = freq.trading_days_per_period
        if self.spacing() < step:
            raise SpecificationError(
                f"The schedule {self.describe()!r} decides every {self.spacing()} trading "
                f"days: a schedule finer than the data ({freq} data, one observation every "
                f"{step} trading days). Use a schedule of at least {step} trading days "
                f"(e.g. Schedule('every', every={step})) or finer data."
            )

    def describe(self) -> str:
        """Return the rule in words."""
        if self.rule == "every":
            return f"every {self.every} trading days"
        return self.rule.replace("_", " ")

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "schedule", "rule": ..., "every": ..., "holidays": [ISO dates]}``."""
        return {
            "kind": self.kind,
            "rule": self.rule,
            "every": self.every,
            "holidays": [str(h) for h in self.calendar.holidays],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Schedule:
        """Build from :meth:`to_dict`'s form (``holidays`` optional)."""
        if not isinstance(d, Mapping):
            raise SpecificationError(f"A schedule must be a mapping. Got {type(d).__name__}.")
        unknown_keys(d, {"rule", "every", "holidays"}, cls.kind)
        if d.get("kind", cls.kind) != cls.kind:
            raise SpecificationError(f"Schedule.from_dict needs kind 'schedule'; got {d}.")
        holidays = d.get("holidays", [])
        if not isinstance(holidays, list | tuple):
            raise SpecificationError(
                f"A schedule's 'holidays' must be a list of ISO dates. Got {holidays!r}."
            )
        if "rule" not in d:
            raise SpecificationError("A schedule needs the key 'rule' (e.g. 'month_end').")
        cal = TradingCalendar(tuple(holidays)) if holidays else DEFAULT_CALENDAR
        return cls(d["rule"], d.get("every", 21), cal)


# --------------------------------------------------------------------------- regimes


class Params(Mapping[str, float]):
    """A read-only, hashable, picklable mapping of registry keys to values."""

    __slots__ = ("_items",)
    _items: tuple[tuple[str, float], ...]

    def __init__(self, items: Mapping[str, float] | None = None) -> None:
        pairs = dict(items or {})
        object.__setattr__(self, "_items", tuple(sorted(pairs.items())))

    def __getitem__(self, key: str) -> float:
        for k, v in self._items:
            if k == key:
                return float(v)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other)
        return NotImplemented

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Params is read-only")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Params, (dict(self._items),))

    def __repr__(self) -> str:
        return repr(dict(self._items))


def _params(value: Any, band: str) -> Params:
    if not isinstance(value, Mapping):
        raise SpecificationError(
            f"The 'params' of band {band!r} must be a mapping of registry keys to numbers. "
            f"Got {type(value).__name__} instead; e.g. {{'gross_exposure.max': 1.0}}."
        )
    out: dict[str, float] = {}
    for key, v in value.items():
        if not isinstance(key, str) or "." not in key or key.startswith(".") or key.endswith("."):
            raise SpecificationError(
                f"The 'params' key {key!r} of band {band!r} is not a registry key: it must be "
                "a string '<term>.<parameter>' with a dot, e.g. 'gross_exposure.max', "
                "'premium_budget.max' or an instrument's bound key."
            )
        out[key] = check_scalar(
            v,
            f"params[{key!r}]",
            hint=f"Each value of band {band!r}'s params must be a finite number.",
        )
    return Params(out)


@dataclass(frozen=True)
class Band:
    """One band ``[lower, upper)`` of a regime table and what it sets.

    Parameters
    ----------
    name : str
        The regime's name (``"calm"``, ``"stress"``).
    lower, upper : float
        The band's ends; ``lower < upper``; ``-inf`` / ``inf`` allowed.
    params : mapping of str to float, default {}
        Registry values of the problem set in this band (``"gross_exposure.max"``,
        ``"premium_budget.max"``, an instrument's bound key); the engine checks the keys
        against the problem.
    hedge_ratio : float, default 1.0
        The fraction of the optimal hedge held, in ``[0, 1000)``.
    hedge : bool, default True
        False: no hedge in this band (close it).
    """

    kind: ClassVar[str] = "band"

    name: str
    lower: float
    upper: float
    params: Mapping[str, float] = field(default_factory=dict)
    hedge_ratio: float = 1.0
    hedge: bool = True

    def __post_init__(self) -> None:
        check_name(self.name, "name", "the band's regime name")
        lo, hi = (self._end(self.lower, "lower"), self._end(self.upper, "upper"))
        if lo >= hi:
            raise SpecificationError(
                f"Band {self.name!r} has lower {lo:g} >= upper {hi:g}: a band [lower, upper) "
                "needs lower < upper; swap or fix the ends."
            )
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)
        object.__setattr__(self, "params", _params(self.params, self.name))
        ratio = check_scalar(
            self.hedge_ratio,
            "hedge_ratio",
            lower=0.0,
            upper=1e3,
            upper_inclusive=False,
            hint=f"Band {self.name!r}'s hedge ratio is the fraction of the optimal hedge "
            "held (1.0 the whole, 0.5 half); use hedge=False for no hedge.",
        )
        object.__setattr__(self, "hedge_ratio", ratio)
        check_bool(self.hedge, "hedge")

    def _end(self, value: Any, name: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise SpecificationError(
                f"The '{name}' argument of band {self.name!r} must be a number (-inf and "
                f"inf allowed). Got {value!r} of type {type(value).__name__} instead."
            )
        out = float(value)
        if math.isnan(out):
            raise SpecificationError(
                f"The '{name}' argument of band {self.name!r} is NaN; give a number "
                "(-inf or inf for an open end)."
            )
        return out

    def contains(self, value: float) -> bool:
        """Whether ``lower <= value < upper``."""
        return self.lower <= value < self.upper

    def to_dict(self) -> dict[str, Any]:
        """Return the band as a plain dict."""
        return fields_dict(self, self.kind)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Band:
        """Build from :meth:`to_dict`'s form."""
        out: Band = build(cls, d, cls.kind)
        return out


@dataclass(frozen=True)
class Regimes:
    """An ordered band table on a named state series; the first band holding a value wins.

    Parameters
    ----------
    signal : str
        The state series (``"vix"``, ``"realised_vol"``, ``"drawdown"``,
        ``"beta_drift"``, any name the engine computes).
    bands : tuple of Band
        Sorted by ``lower``, contiguous (each band's ``upper`` is the next one's
        ``lower``: no gap, no overlap), names unique. The table need not start at
        ``-inf`` nor end at ``inf``; a value outside it is a DataError.
    """

    kind: ClassVar[str] = "regimes"

    signal: str
    bands: tuple[Band, ...]

    def __post_init__(self) -> None:
        check_name(self.signal, "signal", "the state series the bands are read on")
        bands = self.bands
        if isinstance(bands, Band) or not isinstance(bands, list | tuple) or not bands:
            raise SpecificationError(
                f"The 'bands' argument must be a non-empty tuple of Band. Got {bands!r}; "
                "e.g. (Band('calm', -inf, 20, hedge=False), Band('stress', 20, inf))."
            )
        for i, b in enumerate(bands):
            if not isinstance(b, Band):
                raise SpecificationError(
                    f"The 'bands' argument's element {i} must be a Band. Got {b!r} of type "
                    f"{type(b).__name__} instead."
                )
        names = [b.name for b in bands]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SpecificationError(
                f"The 'bands' of regimes on {self.signal!r} repeat the names {dupes}; give "
                "each band its own name."
            )
        for a, b in itertools.pairwise(bands):
            if b.lower < a.lower:
                raise SpecificationError(
                    f"The 'bands' of regimes on {self.signal!r} are unsorted: band {b.name!r} "
                    f"(lower {b.lower:g}) comes after band {a.name!r} (lower {a.lower:g}). "
                    "Sort the bands by their lower end."
                )
            if a.upper < b.lower:
                raise SpecificationError(
                    f"The 'bands' of regimes on {self.signal!r} leave a gap: band {a.name!r} "
                    f"ends at {a.upper:g} but band {b.name!r} starts at {b.lower:g}. Make "
                    f"{a.name!r}'s upper equal {b.name!r}'s lower."
                )
            if a.upper > b.lower:
                raise SpecificationError(
                    f"The 'bands' of regimes on {self.signal!r} overlap: band {a.name!r} ends "
                    f"at {a.upper:g} but band {b.name!r} starts at {b.lower:g}. Make "
                    f"{a.name!r}'s upper equal {b.name!r}'s lower."
                )
        object.__setattr__(self, "bands", tuple(bands))

    @property
    def covered(self) -> tuple[float, float]:
        """The range ``[lower, upper)`` the table covers."""
        return self.bands[0].lower, self.bands[-1].upper

    def band_of(self, value: float) -> Band:
        """Return the band holding ``value`` (first match wins).

        Raises
        ------
        DataError
            ``value`` is not a finite number or lies outside every band; the message
            names the signal, the value and the covered range.
        """
        v = signal_value({self.signal: value}, self.signal)
        for band in self.bands:
            if band.contains(v):
                return band
        lo, hi = self.covered
        raise DataError(
            f"The signal {self.signal!r} is {v:g}, outside every regime band: the bands "
            f"cover [{lo:g}, {hi:g}). Extend the first or last band (to -inf / inf) or "
            "check the signal's units."
        )

    def lookup(self, signals: Mapping[str, Any]) -> Band:
        """Return the band of ``signals[self.signal]`` (DataError when it is missing)."""
        return self.band_of(signal_value(signals, self.signal))

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "regimes", "signal": ..., "bands": [band dicts]}``."""
        return fields_dict(self, self.kind)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Regimes:
        """Build from :meth:`to_dict`'s form."""
        if not isinstance(d, Mapping):
            raise SpecificationError(f"Regimes must be a mapping. Got {type(d).__name__}.")
        bands = d.get("bands")
        if not isinstance(bands, list | tuple):
            raise SpecificationError(f"Regimes need 'bands', a list of band tables. Got {bands!r}.")
        args = {**d, "bands": tuple(Band.from_dict(b) for b in bands)}
        out: Regimes = build(cls, args, cls.kind)
        return out


# --------------------------------------------------------------------------- exits


def _opt_float(value: Any, name: str) -> float | None:
    return None if value is None else check_scalar(value, name)


@dataclass(frozen=True)
class LotView:
    """What an exit rule sees of one hedge lot on one day.

    Attributes
    ----------
    label : str
        The lot's instrument label.
    date, opened : Timestamp
        Today, and the day the lot was opened.
    units : float
        Units held (contracts, shares; negative short).
    value_per_unit, entry_value_per_unit : float
        One unit's value now and at entry.
    book_value : float
        The hedged book's value now.
    days_to_expiry : int or None
        Trading days to expiry (None for instruments without one).
    put_strike, call_strike, spot : float or None
        For option packages (a collar): the held put and call strikes and the spot.
    """

    label: str
    date: pd.Timestamp
    opened: pd.Timestamp
    units: float
    value_per_unit: float
    entry_value_per_unit: float
    book_value: float
    days_to_expiry: int | None = None
    put_strike: float | None = None
    call_strike: float | None = None
    spot: float | None = None

    def __post_init__(self) -> None:
        check_name(self.label, "label", "the lot's instrument label")
        for name in ("date", "opened"):
            object.__setattr__(self, name, pd.Timestamp(getattr(self, name)))
        for name in ("units", "value_per_unit", "entry_value_per_unit", "book_value"):
            object.__setattr__(self, name, check_scalar(getattr(self, name), name))
        if self.days_to_expiry is not None:
            dte = check_int(self.days_to_expiry, "days_to_expiry", lower=-(10**6))
            object.__setattr__(self, "days_to_expiry", dte)
        for name in ("put_strike", "call_strike", "spot"):
            object.__setattr__(self, name, _opt_float(getattr(self, name), name))

    @property
    def value(self) -> float:
        """The lot's value now: ``units * value_per_unit``."""
        return self.units * self.value_per_unit


ACTIONS = ("hold", "close", "roll", "resize")


@dataclass(frozen=True)
class ExitAction:
    """What to do with a lot today.

    Attributes
    ----------
    kind : {"hold", "close", "roll", "resize"}
    units : float or None
        ``"resize"``: the units to hold after it (>= 0 for a long lot); None otherwise.
    reason : str
        Why, for the decisions table.
    """

    kind: str
    units: float | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        check_option(self.kind, "kind", ACTIONS)
        if self.kind == "resize":
            object.__setattr__(self, "units", check_scalar(self.units, "units"))
        elif self.units is not None:
            raise SpecificationError(
                f"The 'units' argument is for kind='resize' only; got units={self.units!r} "
                f"with kind={self.kind!r}. Pass units=None."
            )
        if not isinstance(self.reason, str):
            raise SpecificationError(
                f"The 'reason' argument must be a string; got {self.reason!r}."
            )


HOLD = ExitAction("hold")


@dataclass(frozen=True)
class HoldToExpiry:
    """At expiry (``days_to_expiry <= 0``) roll the lot, or close it with ``roll=False``.

    Lots without an expiry (``days_to_expiry`` None) are held.
    """

    kind: ClassVar[str] = "hold_to_expiry"

    roll: bool = True

    def __post_init__(self) -> None:
        check_bool(self.roll, "roll")

    def decide(self, view: LotView, signals: Mapping[str, Any]) -> ExitAction:
        """Return roll / close at expiry, hold before."""
        dte = view.days_to_expiry
        if dte is None or dte > 0:
            return HOLD
        act = "roll" if self.roll else "close"
        return ExitAction(act, None, f"{view.label} at expiry ({dte} trading days left): {act}")

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "hold_to_expiry", "roll": ...}``."""
        return fields_dict(self, self.kind)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> HoldToExpiry:
        """Build from :meth:`to_dict`'s form."""
        out: HoldToExpiry = build(cls, d, cls.kind)
        return out


@dataclass(frozen=True)
class CloseWhen:
    """Close the lot when a signal is beyond a level (strictly above, or below).

    Parameters
    ----------
    signal : str
        The signal's name in ``signals``.
    level : float
    above : bool, default True
    """

    kind: ClassVar[str] = "close_when"

    signal: str
    level: float
    above: bool = True

    def __post_init__(self) -> None:
        check_name(self.signal, "signal", "the signal the exit watches")
        object.__setattr__(self, "level", check_scalar(self.level, "level"))
        check_bool(self.above, "above")

    def decide(self, view: LotView, signals: Mapping[str, Any]) -> ExitAction:
        """Close when ``signals[signal]`` is beyond the level; DataError when missing."""
        v = signal_value(signals, self.signal)
        beyond = v > self.level if self.above else v < self.level
        if not beyond:
            return HOLD
        op = ">" if self.above else "<"
        name = self.signal.replace("_", " ")
        return ExitAction("close", None, f"{name} {v:.4g} {op} {self.level:g}: close")

    def to_dict(self) -> dict[str, Any]:
        """Return the rule as a plain dict."""
        return fields_dict(self, self.kind)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CloseWhen:
        """Build from :meth:`to_dict`'s form."""
        out: CloseWhen = build(cls, d, cls.kind)
        return out


@dataclass(frozen=True)
class Harvest:
    """When the lot is worth more than ``above`` x the book, resize it to ``to`` x the book.

    Parameters
    ----------
    above : float
        The trigger, a fraction of the book's value (> 0), e.g. 0.05.
    to : float
        The size after harvesting, ``0 <= to < above`` (0 closes the lot's value out).
    """

    kind: ClassVar[str] = "harvest"

    above: float
    to: float

    def __post_init__(self) -> None:
        above = check_scalar(self.above, "above", lower=0.0, lower_inclusive=False)
        to = check_scalar(self.to, "to", lower=0.0)
        if to >= above:
            raise SpecificationError(
                f"The 'to' argument ({to:g}) must be below 'above' ({above:g}): a harvest "
                "takes the lot back down, e.g. Harvest(above=0.05, to=0.02)."
            )
        object.__setattr__(self, "above", above)
        object.__setattr__(self, "to", to)

    def decide(self, view: LotView, signals: Mapping[str, Any]) -> ExitAction:
        """Resize to ``to * book_value / value_per_unit`` units when the lot is too large."""
        book = view.book_value
        if book <= 0 or view.value_per_unit <= 0 or view.value <= self.above * book:
            return HOLD
        units = self.to * book / view.value_per_unit
        share = view.value / book
        return ExitAction(
            "resize",
            units,
            f"{view.label} worth {share:.2%} of the book > {self.above:.2%}: harvest to "
            f"{self.to:.2%}",
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the rule as a plain dict."""
        return fields_dict(self, self.kind)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Harvest:
        """Build from :meth:`to_dict`'s form."""
        out: Harvest = build(cls, d, cls.kind)
        return out


@dataclass(frozen=True)
class CrossRoll:
    """Roll a collar when a new call's strike (spot x moneyness) would be below the put's.

    Parameters
    ----------
    call_moneyness : float
        The strike of the call the policy sells, as a multiple of spot (> 0, e.g. 1.10).
    """

    kind: ClassVar[str] = "cross_roll"

    call_moneyness: float

    def __post_init__(self) -> None:
        m = check_scalar(
            self.call_moneyness,
            "call_moneyness",
            lower=0.0,
            lower_inclusive=False,
            hint="The call's strike as a multiple of spot, e.g. 1.10.",
        )
        object.__setattr__(self, "call_moneyness", m)

    def decide(self, view: LotView, signals: Mapping[str, Any]) -> ExitAction:
        """Roll the whole package when ``spot * call_moneyness < put_strike``.

        Raises
        ------
        DataError
            The view carries no put strike or no spot (not a collar).
        """
        if view.put_strike is None or view.spot is None:
            raise DataError(
                f"CrossRoll needs the put strike and the spot of lot {view.label!r}; got "
                f"put_strike={view.put_strike!r}, spot={view.spot!r}. Attach it to a collar "
                "(an option package) or pass them in the LotView."
            )
        new_call = view.spot * self.call_moneyness
        if new_call >= view.put_strike:
            return HOLD
        return ExitAction(
            "roll",
            None,
            f"call strike {new_call:.4g} (spot {view.spot:.4g} x {self.call_moneyness:g}) "
            f"< put strike {view.put_strike:.4g}: cross-roll",
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the rule as a plain dict."""
        return fields_dict(self, self.kind)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CrossRoll:
        """Build from :meth:`to_dict`'s form."""
        out: CrossRoll = build(cls, d, cls.kind)
        return out


_EXIT_TYPES: tuple[Any, ...] = (HoldToExpiry, CloseWhen, Harvest, CrossRoll)


@dataclass(frozen=True, init=False)
class AnyExit:
    """Several exit rules: the first whose action is not ``"hold"`` wins."""

    kind: ClassVar[str] = "any_exit"

    rules: tuple[Any, ...]

    def __init__(self, *rules: Any) -> None:
        if len(rules) == 1 and isinstance(rules[0], list | tuple):
            rules = tuple(rules[0])
        if not rules:
            raise SpecificationError(
                "AnyExit() needs at least one exit rule; e.g. AnyExit(Harvest(0.05, 0.02), "
                "HoldToExpiry())."
            )
        for i, r in enumerate(rules):
            if not isinstance(r, (*_EXIT_TYPES, AnyExit)):
                raise SpecificationError(
                    f"Argument {i} of AnyExit() must be an exit rule (HoldToExpiry, "
                    f"CloseWhen, Harvest, CrossRoll, AnyExit). Got {r!r} instead."
                )
        object.__setattr__(self, "rules", tuple(rules))

    def decide(self, view: LotView, signals: Mapping[str, Any]) -> ExitAction:
        """Return the first rule's action that is not hold; hold when all hold."""
        for rule in self.rules:
            action: ExitAction = rule.decide(view, signals)
            if action.kind != "hold":
                return action
        return HOLD

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "any_exit", "rules": [...]}``."""
        return {"kind": self.kind, "rules": [r.to_dict() for r in self.rules]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AnyExit:
        """Build from :meth:`to_dict`'s form."""
        if not isinstance(d, Mapping):
            raise SpecificationError(f"An exit rule must be a mapping. Got {type(d).__name__}.")
        unknown_keys(d, {"rules"}, cls.kind)
        rules = d.get("rules")
        if not isinstance(rules, list | tuple):
            raise SpecificationError(f"AnyExit needs 'rules', a list of tables. Got {rules!r}.")
        return cls(*(part_from_dict(r) for r in rules))


# --------------------------------------------------------------------------- budget


@dataclass(frozen=True)
class PremiumBudget:
    """Premium spend under a rolling budget where missed entries do not accumulate.

    Parameters
    ----------
    annual : float
        Premium a year as a fraction of the book's value (>= 0), e.g. 0.02.
    window : int, default TRADING_DAYS
        The rolling window in trading days (one trading year by default).

    Notes
    -----
    :meth:`allowance` is ``min(annual * window / TRADING_DAYS * nav - spent in the
    window, annual * (day - last_decision_day) / TRADING_DAYS * nav)``, floored at 0:
    the first term is the rolling budget, the second the accrual since the last
    decision, so three skipped monthly entries leave the fourth one month's allowance.
    """

    kind: ClassVar[str] = "premium_budget"

    annual: float
    window: int = TRADING_DAYS

    def __post_init__(self) -> None:
        a = check_scalar(
            self.annual,
            "annual",
            lower=0.0,
            hint="The premium budget is a fraction of the book's value a year, e.g. 0.02.",
        )
        object.__setattr__(self, "annual", a)
        object.__setattr__(
            self, "window", check_int(self.window, "window", lower=1, what=" (trading days)")
        )

    def allowance(
        self,
        day: int,
        nav: float,
        spent: Sequence[tuple[int, float]],
        last_decision_day: int | None,
    ) -> float:
        """Return the most premium that may be spent on ``day``.

        Parameters
        ----------
        day : int
            The trading-day counter today.
        nav : float
            The book's value today (> 0).
        spent : sequence of (day, amount)
            Premium paid so far (amounts >= 0, days <= ``day``); those in the last
            ``window`` trading days (``day - d < window``) count.
        last_decision_day : int or None
            The day counter of the previous decision (whether it spent or not); None:
            no previous decision, the rolling budget alone limits.

        Raises
        ------
        DataError
            ``nav`` not a positive finite number, or a bad ``spent`` entry.
        SpecificationError
            ``last_decision_day`` after ``day``.
        """
        d = check_int(day, "day", lower=-(10**9))
        v = check_scalar(
            nav,
            "nav",
            lower=0.0,
            lower_inclusive=False,
            error=DataError,
            hint="The book's value must be positive to size a premium budget.",
        )
        used = 0.0
        for item in spent:
            if not isinstance(item, tuple | list) or len(item) != 2:
                raise DataError(
                    f"Each 'spent' entry must be a (day, amount) pair. Got {item!r} instead."
                )
            sd = check_int(item[0], "spent day", lower=-(10**9))
            amount = check_scalar(item[1], "spent amount", lower=0.0, error=DataError)
            if sd > d:
                raise DataError(
                    f"A 'spent' entry is dated day {sd}, after today ({d}): pass only "
                    "premium already paid."
                )
            if d - sd < self.window:
                used += amount
        rolling = self.annual * self.window / TRADING_DAYS * v - used
        cap = rolling
        if last_decision_day is not None:
            last = check_int(last_decision_day, "last_decision_day", lower=-(10**9))
            if last > d:
                raise SpecificationError(
                    f"The 'last_decision_day' argument ({last}) is after 'day' ({d}); pass "
                    "the previous decision's day counter."
                )
            cap = min(rolling, self.annual * (d - last) / TRADING_DAYS * v)
        return max(0.0, cap)

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "premium_budget", "annual": ..., "window": ...}``."""
        return fields_dict(self, self.kind)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PremiumBudget:
        """Build from :meth:`to_dict`'s form."""
        out: PremiumBudget = build(cls, d, cls.kind)
        return out


# --------------------------------------------------------------------------- reading

_PARTS: dict[str, Any] = {
    c.kind: c for c in (Schedule, Band, Regimes, *_EXIT_TYPES, AnyExit, PremiumBudget)
}


def part_from_dict(d: Mapping[str, Any]) -> Any:
    """Build any policy part (schedule, band, regimes, trigger, exit rule, budget) from its dict.

    Raises
    ------
    SpecificationError
        Not a mapping with a ``"kind"``, an unknown kind, unknown keys or bad values.
    """
    if not isinstance(d, Mapping) or "kind" not in d:
        raise SpecificationError(
            f"A policy part must be a mapping with a 'kind' key. Got {d!r}; e.g. "
            "{'kind': 'schedule', 'rule': 'month_end'}."
        )
    kind = d["kind"]
    if kind in _PARTS:
        return _PARTS[kind].from_dict(d)
    try:
        return trigger_from_dict(d)
    except SpecificationError as exc:
        if "Unknown trigger kind" not in str(exc):
            raise
    raise SpecificationError(
        f"Unknown policy part kind {kind!r}; the kinds are {sorted(_PARTS)} and the "
        "trigger kinds (threshold, regime_change, any_of, all_of, beta_drift, delta_drift, "
        "drawdown)."
    )

"""Triggers between scheduled decision dates: pure functions of (day, date, signals, state).

A trigger decides, on each trading day between the schedule's decision dates, whether the
policy should decide again now: the book's beta drifted beyond a tolerance, the hedge's
delta drifted, the book fell below a drawdown threshold, the regime changed. Every
trigger is a frozen, picklable value with ``to_dict`` / ``from_dict`` (a plain dict with a
``"kind"`` key, as the command line reads it from TOML) and one pure method::

    fired, state = trigger.step(day, date, signals, state)

``state`` is None on the first day; the returned :class:`TriggerState` is handed back on
the next day (``day`` is the engine's trading-day counter, one more each day). Nothing is
mutated: stepping twice from the same state gives the same answer. When a trigger fires,
``state.reason`` says why (``"beta drift 0.31 > 0.25"``), for the decisions table.

Kinds
-----
:class:`Threshold`
    A signal beyond a level, with hysteresis (re-arms only once the signal is back past
    the level by the hysteresis) and a cooldown (no firing within ``cooldown`` trading
    days of the last firing). :func:`BetaDrift`, :func:`DeltaDrift` and :func:`Drawdown`
    build the usual ones.
:class:`RegimeChange`
    The ``"regime"`` signal differs from the regime last acted on.
:class:`AnyOf`, :class:`AllOf`
    Compositions; their state holds the children's states.

Signals are read by name from ``signals``; a missing or non-finite one is a
:class:`~optihedge.errors.DataError` naming it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Protocol, runtime_checkable

import pandas as pd

from optihedge._validation import check_int, check_scalar
from optihedge.errors import DataError, SpecificationError

__all__ = [
    "AllOf",
    "AnyOf",
    "BetaDrift",
    "DeltaDrift",
    "Drawdown",
    "RegimeChange",
    "Threshold",
    "Trigger",
    "TriggerState",
    "trigger_from_dict",
]


# --------------------------------------------------------------------------- helpers


def _check_name(value: Any, name: str, what: str) -> str:
    """Return a non-empty string (a signal's or a band's name)."""
    if not isinstance(value, str) or not value.strip():
        raise SpecificationError(
            f"The '{name}' argument must be a non-empty string ({what}). Got {value!r} instead."
        )
    return value


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise SpecificationError(
            f"The '{name}' argument must be True or False. Got {value!r} of type "
            f"{type(value).__name__} instead."
        )
    return value


def _signal(signals: Mapping[str, Any], name: str, *, number: bool = True) -> Any:
    """Return ``signals[name]``; DataError naming the signal when missing or not finite."""
    if not isinstance(signals, Mapping):
        raise DataError(
            f"The 'signals' argument must be a mapping of signal names to values. Got "
            f"{type(signals).__name__} instead."
        )
    if name not in signals:
        have = ", ".join(repr(k) for k in sorted(map(str, signals))) or "none"
        raise DataError(
            f"The signal {name!r} is missing from 'signals' (signals given: {have}). "
            f"Compute {name!r} for every day the policy is stepped, or remove the rule "
            "that reads it."
        )
    value = signals[name]
    if not number:
        return value
    out = math.nan
    if not isinstance(value, bool | str):
        try:
            out = float(value)
        except (TypeError, ValueError):
            out = math.nan
    if not math.isfinite(out):
        raise DataError(
            f"The signal {name!r} must be a finite number. Got {value!r} instead; fill or "
            "drop the days where it is not known."
        )
    return out


def _unknown_keys(d: Mapping[str, Any], allowed: set[str], kind: str) -> None:
    extra = sorted(set(d) - allowed - {"kind"})
    if extra:
        raise SpecificationError(
            f"Unknown keys {extra} in a {kind!r} part; the accepted keys are {sorted(allowed)}."
        )


def _plain(value: Any) -> Any:
    """Return a field's value as plain JSON-able data (parts as their dicts)."""
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def fields_dict(obj: Any, kind: str) -> dict[str, Any]:
    """Return ``{"kind": kind, field: value...}`` of a dataclass part, values plain."""
    out: dict[str, Any] = {"kind": kind}
    for f in fields(obj):
        if f.init:
            out[f.name] = _plain(getattr(obj, f.name))
    return out


def build(cls: Any, d: Mapping[str, Any], kind: str) -> Any:
    """Build a dataclass part from its dict (keys checked), validation in ``__post_init__``."""
    if not isinstance(d, Mapping):
        raise SpecificationError(
            f"A {kind!r} part must be a mapping (a dict or a TOML table). Got "
            f"{type(d).__name__} instead."
        )
    if d.get("kind", kind) != kind:
        raise SpecificationError(
            f"{cls.__name__}.from_dict needs kind {kind!r}. Got kind {d.get('kind')!r}; "
            "read it with the function of its family (trigger_from_dict, part_from_dict)."
        )
    names = {f.name for f in fields(cls) if f.init}
    _unknown_keys(d, names, kind)
    args = {k: v for k, v in d.items() if k != "kind"}
    try:
        return cls(**args)
    except TypeError as exc:
        raise SpecificationError(
            f"A {kind!r} part could not be built from {dict(d)!r}: {exc}. Give the keys "
            f"{sorted(names)}."
        ) from None


# --------------------------------------------------------------------------- the state


@dataclass(frozen=True)
class TriggerState:
    """A trigger's state after one step (frozen: the next step returns a new one).

    Attributes
    ----------
    day : int or None
        The trading-day counter of the step that produced it (None: never stepped).
    fired : bool
        Whether the trigger fired on that step.
    reason : str
        Why it fired (``"beta drift 0.31 > 0.25"``); empty when it did not.
    active : bool
        Whether its condition held on that step (a threshold: the signal beyond its
        level, armed or not); :class:`AllOf` reads it.
    armed : bool
        A threshold may fire (it disarms on firing, re-arms past the hysteresis).
    last_fired : int or None
        The day counter of the last firing, for the cooldown.
    previous : object
        :class:`RegimeChange`: the regime last acted on.
    children : tuple of TriggerState
        :class:`AnyOf` / :class:`AllOf`: the children's states, in order.
    """

    day: int | None = None
    fired: bool = False
    reason: str = ""
    active: bool = False
    armed: bool = True
    last_fired: int | None = None
    previous: Any = None
    children: tuple[TriggerState, ...] = ()


def _advance(day: Any, state: TriggerState | None, kind: str) -> tuple[int, TriggerState]:
    """Check the day counter moves forward; return it and the state to start from."""
    d = check_int(day, "day", lower=-(10**9), what=" (the engine's trading-day counter)")
    if state is None:
        return d, TriggerState()
    if not isinstance(state, TriggerState):
        raise SpecificationError(
            f"The 'state' argument of a {kind} trigger must be None (the first step) or the "
            f"TriggerState its previous step returned. Got {type(state).__name__} instead."
        )
    if state.day is not None and d <= state.day:
        raise SpecificationError(
            f"The 'day' argument ({d}) must be after the state's day ({state.day}): step a "
            "trigger once a trading day, with the counter increasing, from the state the "
            "previous step returned."
        )
    return d, state


def _cooling(day: int, last: int | None, cooldown: int) -> bool:
    """Within ``cooldown`` trading days of the last firing (``day - last <= cooldown``)."""
    return last is not None and day - last <= cooldown


@runtime_checkable
class Trigger(Protocol):
    """What every trigger provides: a pure step, a description, its dict."""

    def step(
        self,
        day: int,
        date: pd.Timestamp,
        signals: Mapping[str, Any],
        state: TriggerState | None,
    ) -> tuple[bool, TriggerState]:
        """Return whether it fires on this day and its new state."""
        ...  # pragma: no cover

    def describe(self) -> str:
        """Return the rule in words."""
        ...  # pragma: no cover

    def to_dict(self) -> dict[str, Any]:
        """Return the trigger as a plain dict with a ``"kind"`` key."""
        ...  # pragma: no cover


# --------------------------------------------------------------------------- threshold


@dataclass(frozen=True)
class Threshold:
    """Fire when a signal goes beyond a level; re-arm past the hysteresis; cool down.

    Parameters
    ----------
    signal : str
        The signal's name in ``signals`` (``"beta_drift"``, ``"vix"``, ``"drawdown"``...).
    level : float
        The level; with ``absolute=True`` it must be >= 0 (a tolerance).
    above : bool, default True
        Fire when the signal is above the level (False: below it).
    hysteresis : float, default 0
        After firing the trigger is disarmed; it re-arms once the signal is back at or
        past ``level - hysteresis`` (``level + hysteresis`` when ``above=False``).
    cooldown : int, default 0
        No firing while ``day - last firing day <= cooldown``: after a firing on day
        ``t`` the earliest next firing is on day ``t + cooldown + 1``. A trigger armed
        and beyond its level during the cooldown stays armed and fires on the first day
        after it if the signal is still beyond.
    absolute : bool, default False
        Compare the signal's absolute value (drifts of either sign).
    name : str, default ""
        The signal's name in the reason text (default: ``signal`` with spaces).

    Notes
    -----
    The condition is strict: ``value > level`` (``value < level``); a value equal to
    the level does not fire.
    """

    kind: ClassVar[str] = "threshold"

    signal: str
    level: float
    above: bool = True
    hysteresis: float = 0.0
    cooldown: int = 0
    absolute: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        _check_name(self.signal, "signal", "the name of the signal the threshold watches")
        absolute = _check_bool(self.absolute, "absolute")
        _check_bool(self.above, "above")
        level = check_scalar(
            self.level,
            "level",
            lower=0.0 if absolute else None,
            hint="A tolerance on an absolute drift is >= 0; pass its size, e.g. 0.25."
            if absolute
            else "",
        )
        object.__setattr__(self, "level", level)
        hyst = check_scalar(
            self.hysteresis,
            "hysteresis",
            lower=0.0,
            hint="The hysteresis is the distance the signal must come back past the "
            "level to re-arm; pass 0 for none.",
        )
        object.__setattr__(self, "hysteresis", hyst)
        object.__setattr__(
            self,
            "cooldown",
            check_int(self.cooldown, "cooldown", lower=0, what=" (trading days; 0 for none)"),
        )
        if not isinstance(self.name, str):
            raise SpecificationError(
                f"The 'name' argument must be a string (the signal's name in the reason "
                f"text). Got {self.name!r} instead."
            )

    @property
    def label(self) -> str:
        """The signal's name in words."""
        return self.name or self.signal.replace("_", " ")

    def describe(self) -> str:
        """Return the rule in words: ``"beta drift > 0.25 (re-arms at <= 0.2)"``."""
        op, back = (">", "<=") if self.above else ("<", ">=")
        rearm = self.level - self.hysteresis if self.above else self.level + self.hysteresis
        what = f"|{self.label}|" if self.absolute and not self.name else self.label
        text = f"{what} {op} {self.level:g} (re-arms at {back} {rearm:g}"
        if self.cooldown:
            text += f"; cooldown {self.cooldown} trading days"
        return text + ")"

    def step(
        self,
        day: int,
        date: pd.Timestamp,
        signals: Mapping[str, Any],
        state: TriggerState | None,
    ) -> tuple[bool, TriggerState]:
        """Return whether the threshold fires on ``day`` and its new state.

        Parameters
        ----------
        day : int
            The engine's trading-day counter (one more each day).
        date : Timestamp
            The day's date (unused by the rule; for the engine's record).
        signals : mapping of str to float
            The day's signals; ``signals[self.signal]`` must be a finite number.
        state : TriggerState or None
            The previous step's state; None on the first day.

        Raises
        ------
        DataError
            The signal is missing or not finite.
        SpecificationError
            ``day`` not after the state's day.
        """
        d, st = _advance(day, state, "Threshold")
        value = _signal(signals, self.signal)
        if self.absolute:
            value = abs(value)
        beyond = value > self.level if self.above else value < self.level
        armed = st.armed
        if not armed:
            back = (
                value <= self.level - self.hysteresis
                if self.above
                else value >= self.level + self.hysteresis
            )
            armed = back
        fire = armed and beyond and not _cooling(d, st.last_fired, self.cooldown)
        reason = ""
        if fire:
            op = ">" if self.above else "<"
            reason = f"{self.label} {value:.4g} {op} {self.level:g}"
        new = TriggerState(
            day=d,
            fired=fire,
            reason=reason,
            active=beyond,
            armed=armed and not fire,
            last_fired=d if fire else st.last_fired,
        )
        return fire, new

    def to_dict(self) -> dict[str, Any]:
        """Return the threshold as ``{"kind": "threshold", "signal": ..., ...}``."""
        return fields_dict(self, self.kind)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Threshold:
        """Build a threshold from :meth:`to_dict`'s form."""
        out: Threshold = build(cls, d, cls.kind)
        return out


def BetaDrift(tolerance: float, hysteresis: float = 0.0, cooldown: int = 0) -> Threshold:
    """Fire when ``abs(signals["beta_drift"]) > tolerance`` (the book's beta drifted).

    A :class:`Threshold` on the absolute ``"beta_drift"`` signal; ``tolerance`` >= 0.
    """
    _tolerance(tolerance, "BetaDrift")
    return Threshold(
        "beta_drift", tolerance, True, hysteresis, cooldown, absolute=True, name="beta drift"
    )


def DeltaDrift(tolerance: float, hysteresis: float = 0.0, cooldown: int = 0) -> Threshold:
    """Fire when ``abs(signals["delta_drift"]) > tolerance`` (an option hedge's delta drifted).

    A :class:`Threshold` on the absolute ``"delta_drift"`` signal; ``tolerance`` >= 0.
    """
    _tolerance(tolerance, "DeltaDrift")
    return Threshold(
        "delta_drift", tolerance, True, hysteresis, cooldown, absolute=True, name="delta drift"
    )


def Drawdown(threshold: float, hysteresis: float = 0.0, cooldown: int = 0) -> Threshold:
    """Fire when ``signals["drawdown"] > threshold`` (a positive fraction: 0.1 is 10% down).

    ``threshold`` must be in (0, 1].
    """
    check_scalar(
        threshold,
        "threshold",
        lower=0.0,
        upper=1.0,
        lower_inclusive=False,
        hint="Drawdown(threshold) takes the loss from the peak as a positive fraction, "
        "e.g. 0.1 for 10%.",
    )
    return Threshold("drawdown", threshold, True, hysteresis, cooldown, name="drawdown")


def _tolerance(value: Any, who: str) -> None:
    check_scalar(
        value,
        "tolerance",
        lower=0.0,
        hint=f"{who}(tolerance) is the size of the drift that fires it, >= 0 (e.g. 0.25).",
    )


# --------------------------------------------------------------------------- regime change


@dataclass(frozen=True)
class RegimeChange:
    """Fire when the ``"regime"`` signal differs from the regime last acted on.

    The first step records the regime and does not fire. Without a cooldown, it fires on
    every day whose regime differs from the previous day's. With a cooldown, a change
    inside the cooldown fires on the first day after it if the regime still differs from
    the one acted on (the last firing's, or the first day's).

    Parameters
    ----------
    cooldown : int, default 0
        No firing while ``day - last firing day <= cooldown``.
    signal : str, default "regime"
        The signal holding the regime (a band's name or number).
    """

    kind: ClassVar[str] = "regime_change"

    cooldown: int = 0
    signal: str = "regime"

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "cooldown",
            check_int(self.cooldown, "cooldown", lower=0, what=" (trading days; 0 for none)"),
        )
        _check_name(self.signal, "signal", "the name of the regime signal")

    def describe(self) -> str:
        """Return the rule in words."""
        tail = f" (cooldown {self.cooldown} trading days)" if self.cooldown else ""
        return f"{self.signal.replace('_', ' ')} changes{tail}"

    def step(
        self,
        day: int,
        date: pd.Timestamp,
        signals: Mapping[str, Any],
        state: TriggerState | None,
    ) -> tuple[bool, TriggerState]:
        """Return whether the regime changed on ``day`` and the new state.

        Raises
        ------
        DataError
            The regime signal is missing or None.
        """
        d, st = _advance(day, state, "RegimeChange")
        value = _signal(signals, self.signal, number=False)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise DataError(
                f"The signal {self.signal!r} is {value!r}: the regime must be known every "
                "day the policy is stepped (a band's name or number)."
            )
        if st.day is None:
            return False, TriggerState(day=d, previous=value)
        changed = value != st.previous
        fire = changed and not _cooling(d, st.last_fired, self.cooldown)
        reason = f"regime {st.previous} -> {value}" if fire else ""
        return fire, TriggerState(
            day=d,
            fired=fire,
            reason=reason,
            active=fire,
            last_fired=d if fire else st.last_fired,
            previous=value if fire else st.previous,
        )

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "regime_change", "cooldown": ..., "signal": ...}``."""
        return fields_dict(self, self.kind)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RegimeChange:
        """Build from :meth:`to_dict`'s form."""
        out: RegimeChange = build(cls, d, cls.kind)
        return out


# --------------------------------------------------------------------------- composition


def _children(triggers: tuple[Any, ...], who: str) -> tuple[Any, ...]:
    if len(triggers) == 1 and isinstance(triggers[0], list | tuple):
        triggers = tuple(triggers[0])
    if not triggers:
        raise SpecificationError(
            f"{who}() needs at least one trigger. Got none; pass triggers, e.g. "
            f"{who}(BetaDrift(0.25), Drawdown(0.1)), or drop the {who}."
        )
    for i, t in enumerate(triggers):
        if not isinstance(t, Trigger) or isinstance(t, type):
            raise SpecificationError(
                f"Argument {i} of {who}() must be a trigger (Threshold, BetaDrift(...), "
                f"RegimeChange, AnyOf, AllOf). Got {t!r} of type {type(t).__name__} instead."
            )
    return tuple(triggers)


def _step_children(
    parts: tuple[Any, ...],
    day: int,
    date: pd.Timestamp,
    signals: Mapping[str, Any],
    state: TriggerState | None,
    who: str,
) -> tuple[int, TriggerState, tuple[TriggerState, ...]]:
    d, st = _advance(day, state, who)
    olds: tuple[TriggerState | None, ...] = st.children or (None,) * len(parts)
    if len(olds) != len(parts):
        raise SpecificationError(
            f"The 'state' argument holds {len(olds)} children's states but the {who} has "
            f"{len(parts)} triggers: pass the state this {who} returned."
        )
    news = tuple(p.step(d, date, signals, s)[1] for p, s in zip(parts, olds, strict=True))
    return d, st, news


@dataclass(frozen=True, init=False)
class AnyOf:
    """Fire when any of the triggers fires (every child is stepped every day)."""

    kind: ClassVar[str] = "any_of"

    triggers: tuple[Any, ...]

    def __init__(self, *triggers: Any) -> None:
        object.__setattr__(self, "triggers", _children(triggers, "AnyOf"))

    def describe(self) -> str:
        """Return the rule in words."""
        return "any of: " + "; ".join(t.describe() for t in self.triggers)

    def step(
        self,
        day: int,
        date: pd.Timestamp,
        signals: Mapping[str, Any],
        state: TriggerState | None,
    ) -> tuple[bool, TriggerState]:
        """Step every child; fire when one fired. The reason joins the fired children's."""
        d, _, news = _step_children(self.triggers, day, date, signals, state, "AnyOf")
        fire = any(s.fired for s in news)
        reason = "; ".join(s.reason for s in news if s.fired)
        active = any(s.active for s in news)
        return fire, TriggerState(day=d, fired=fire, reason=reason, active=active, children=news)

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "any_of", "triggers": [...]}``."""
        return {"kind": self.kind, "triggers": [t.to_dict() for t in self.triggers]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AnyOf:
        """Build from :meth:`to_dict`'s form."""
        return cls(*_children_from_dict(d, cls.kind))


@dataclass(frozen=True, init=False)
class AllOf:
    """Fire when every trigger's condition holds and at least one of them fired today.

    A threshold's condition holds while its signal is beyond its level (armed or not),
    so ``AllOf(BetaDrift(0.2), Drawdown(0.1))`` fires on the day the second of the two
    conditions starts to hold (when its own trigger fires), not only when both cross on
    the same day.
    """

    kind: ClassVar[str] = "all_of"

    triggers: tuple[Any, ...]

    def __init__(self, *triggers: Any) -> None:
        object.__setattr__(self, "triggers", _children(triggers, "AllOf"))

    def describe(self) -> str:
        """Return the rule in words."""
        return "all of: " + "; ".join(t.describe() for t in self.triggers)

    def step(
        self,
        day: int,
        date: pd.Timestamp,
        signals: Mapping[str, Any],
        state: TriggerState | None,
    ) -> tuple[bool, TriggerState]:
        """Step every child; fire when all are active and one fired."""
        d, _, news = _step_children(self.triggers, day, date, signals, state, "AllOf")
        active = all(s.active for s in news)
        fire = active and any(s.fired for s in news)
        reason = " and ".join(s.reason or "condition holds" for s in news) if fire else ""
        return fire, TriggerState(day=d, fired=fire, reason=reason, active=active, children=news)

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "all_of", "triggers": [...]}``."""
        return {"kind": self.kind, "triggers": [t.to_dict() for t in self.triggers]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AllOf:
        """Build from :meth:`to_dict`'s form."""
        return cls(*_children_from_dict(d, cls.kind))


def _children_from_dict(d: Mapping[str, Any], kind: str) -> list[Any]:
    if not isinstance(d, Mapping):
        raise SpecificationError(f"A {kind!r} part must be a mapping. Got {type(d).__name__}.")
    _unknown_keys(d, {"triggers"}, kind)
    items = d.get("triggers")
    if not isinstance(items, list | tuple):
        raise SpecificationError(
            f"A {kind!r} part needs 'triggers', a list of trigger tables. Got {items!r}."
        )
    return [trigger_from_dict(t) for t in items]


_ALIASES: dict[str, Any] = {
    "beta_drift": BetaDrift,
    "delta_drift": DeltaDrift,
    "drawdown": Drawdown,
}
_TRIGGERS: dict[str, Any] = {c.kind: c for c in (Threshold, RegimeChange, AnyOf, AllOf)}


def trigger_from_dict(d: Mapping[str, Any]) -> Any:
    """Build any trigger from its dict.

    Besides the kinds ``to_dict`` writes (``threshold``, ``regime_change``, ``any_of``,
    ``all_of``), the shorthand kinds ``beta_drift`` / ``delta_drift`` (keys
    ``tolerance``, ``hysteresis``, ``cooldown``) and ``drawdown`` (``threshold``, ...)
    are read, as a TOML file would write them.

    Raises
    ------
    SpecificationError
        Not a mapping, an unknown kind, unknown keys or bad values.
    """
    if not isinstance(d, Mapping) or "kind" not in d:
        raise SpecificationError(
            f"A trigger must be a mapping with a 'kind' key. Got {d!r}; e.g. "
            "{'kind': 'beta_drift', 'tolerance': 0.25}."
        )
    kind = d["kind"]
    if kind in _TRIGGERS:
        return _TRIGGERS[kind].from_dict(d)
    if kind in _ALIASES:
        first = "threshold" if kind == "drawdown" else "tolerance"
        allowed = {first, "hysteresis", "cooldown"}
        _unknown_keys(d, allowed, kind)
        if first not in d:
            raise SpecificationError(f"A {kind!r} trigger needs the key {first!r}.")
        return _ALIASES[kind](**{k: v for k, v in d.items() if k != "kind"})
    kinds = sorted([*_TRIGGERS, *_ALIASES])
    raise SpecificationError(f"Unknown trigger kind {kind!r}; the kinds are {kinds}.")

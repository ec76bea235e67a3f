"""The problem's structure as a value: a registry of kinds, ``to_dict`` / ``from_dict``.

A :class:`ProblemSpec` holds what a :class:`~optihedge.optimize.problem.HedgeProblem` is
built from and what never changes after (instruments, objective, constraints, horizon,
market, market state); the inputs (book, risk model, scenarios, current hedge, expected
returns) are given when it is built, as to the problem's constructor.

Every term and instrument serialises through one registry keyed by the names they
already have (an instrument's ``kind``, a constraint's ``name``, an objective's
``key``). The fields of a kind are its constructor's arguments (a dataclass's init
fields, or ``__init__``'s parameters read back from the attributes of the same name), so
adding a kind is one line: :func:`register` (also usable as a class decorator).

Encoding (plain JSON types only):

- ``None``, ``bool``, ``int``, ``str`` and finite ``float`` as themselves;
- a non-finite float as ``{"$float": "inf"}`` (``"-inf"``, ``"nan"``);
- a tuple as ``{"$tuple": [...]}``, a list as a list;
- a dict or mapping as ``{"$dict": [[key, value], ...]}`` (keys keep their type);
- a pandas Series as ``{"$series": [[label, value], ...]}``;
- a Timestamp as ``{"$timestamp": "<ISO 8601>"}``;
- a registered object as ``{"kind": "<kind>", <field>: <value>, ...}``.

The top-level dict of a spec carries ``"version"`` (:data:`SPEC_VERSION`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import inspect
import math
import types
import typing
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd

from constraints import (
    Budget,
    CarryBudget,
    Constraint,
    ExpectedPnL,
    FactorExposure,
    GrossExposure,
    Liquidity,
    PremiumBudget,
    ResidualBeta,
    Turnover,
)
from constraints.bounds import Bounds, WholeContracts
from optihedge.calendar import TradingCalendar
from optihedge.errors import SpecificationError
from optihedge.instruments import (
    ETF,
    Call,
    Cash,
    Collar,
    EventContract,
    Future,
    Instrument,
    InverseETF,
    MarketState,
    OptionContract,
    PositionReduction,
    Put,
    PutSpread,
)
from optihedge.optimize.costs import CarryCost, TradingCost
from optihedge.optimize.objective import Objective, SumObjective
from optihedge.optimize.shortfall import ExpectedShortfall
from optihedge.optimize.variance import RobustVariance, Variance
from optihedge.pricing.volatility import VolatilityModel

__all__ = [
    "KINDS",
    "SPEC_VERSION",
    "Kind",
    "ProblemSpec",
    "decode",
    "encode",
    "from_dict",
    "instrument_from_dict",
    "register",
    "term_from_dict",
    "to_dict",
]

SPEC_VERSION = 1

Family = Literal["instrument", "constraint", "objective", "value"]
T = TypeVar("T")


@dataclass(frozen=True)
class Kind:
    """One registered kind: its name, class, family and fields (constructor arguments).

    ``attributes`` maps a field to the attribute that holds it when the two differ.
    """

    name: str
    cls: type
    family: Family
    fields: tuple[str, ...]
    required: frozenset[str]
    attributes: Mapping[str, str]

    def values(self, obj: Any) -> dict[str, Any]:
        """Return the constructor arguments of ``obj``, by field."""
        return {f: getattr(obj, self.attributes.get(f, f)) for f in self.fields}


#: every registered kind, by name
KINDS: dict[str, Kind] = {}


def _family(cls: type) -> Family:
    if issubclass(cls, Instrument):
        return "instrument"
    if issubclass(cls, Constraint):
        return "constraint"
    if issubclass(cls, Objective):
        return "objective"
    return "value"


def _kind_name(cls: type) -> str:
    for attr in ("kind", "name", "key"):
        value = cls.__dict__.get(attr)
        if isinstance(value, str):
            return value
    raise SpecificationError(
        f"{cls.__name__} has no kind name of its own: give register() a name=... ."
    )


def _fields(cls: type) -> tuple[tuple[str, ...], frozenset[str]]:
    if dataclasses.is_dataclass(cls):
        fs = [f for f in dataclasses.fields(cls) if f.init]
        required = {
            f.name
            for f in fs
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        return tuple(f.name for f in fs), frozenset(required)
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # type: ignore[misc]
    names = tuple(p.name for p in params)
    needed = frozenset(p.name for p in params if p.default is inspect.Parameter.empty)
    return names, needed


def register(
    cls: type[T] | None = None,
    *,
    name: str | None = None,
    attributes: Mapping[str, str] | None = None,
) -> Any:
    """Register a class as a serialisable kind (usable as ``@register`` or a call).

    Parameters
    ----------
    cls : type
        An Instrument (dataclass), Constraint, Objective or frozen dataclass value.
    name : str, optional
        The kind's name; by default the class's own ``kind``, ``name`` or ``key``.
    attributes : mapping, optional
        Field -> attribute where a constructor argument is kept under another name.
    """

    def add(c: type[T]) -> type[T]:
        kind = name if name is not None else _kind_name(c)
        if kind in KINDS and KINDS[kind].cls is not c:
            raise SpecificationError(
                f"The kind {kind!r} is registered already for {KINDS[kind].cls.__name__}: "
                f"give {c.__name__} another name."
            )
        fields, required = _fields(c)
        KINDS[kind] = Kind(kind, c, _family(c), fields, required, dict(attributes or {}))
        return c

    return add if cls is None else add(cls)


for _cls in (
    # instruments
    Future,
    ETF,
    InverseETF,
    Cash,
    PositionReduction,
    Put,
    Call,
    Collar,
    PutSpread,
    EventContract,
    # constraints
    Budget,
    PremiumBudget,
    CarryBudget,
    ExpectedPnL,
    Bounds,
    WholeContracts,
    GrossExposure,
    ResidualBeta,
    FactorExposure,
    Turnover,
    Liquidity,
    # objectives
    Variance,
    RobustVariance,
    TradingCost,
    CarryCost,
    ExpectedShortfall,
):
    register(_cls)
register(SumObjective, name="sum", attributes={"terms": "_terms"})
register(VolatilityModel, name="volatility_model")
register(MarketState, name="market_state")
register(OptionContract)
register(TradingCalendar, name="trading_calendar")


def _kind_of(obj: Any) -> Kind:
    for kind in KINDS.values():
        if type(obj) is kind.cls:
            return kind
    raise SpecificationError(
        f"{type(obj).__name__} is not a registered kind, so it cannot be serialised: "
        "register it with optihedge.optimize.spec.register."
    )


def encode(value: Any) -> Any:
    """Return ``value`` in plain JSON types (see the module's encoding table)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, np.datetime64 | _dt.date) and not isinstance(value, pd.Timestamp):
        value = pd.Timestamp(value)  # dates (a calendar's holidays) travel as timestamps
    if isinstance(value, pd.Timestamp):
        return {"$timestamp": value.isoformat()}
    if isinstance(value, pd.Series):
        return {"$series": [[encode(k), encode(float(v))] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"$tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {"$dict": [[encode(k), encode(v)] for k, v in value.items()]}
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return encode(value.item())
    return to_dict(value)


def to_dict(obj: Any) -> dict[str, Any]:
    """Return a registered object as ``{"kind": ..., <field>: <value>, ...}``."""
    kind = _kind_of(obj)
    return {"kind": kind.name, **{f: encode(v) for f, v in kind.values(obj).items()}}


_MARKERS = ("$float", "$timestamp", "$series", "$tuple", "$dict")


def decode(value: Any, where: str = "value") -> Any:
    """Invert :func:`encode`; ``where`` names the place for error messages."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [decode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, dict):
        raise SpecificationError(
            f"{where} must hold plain JSON types. Got {type(value).__name__}: {value!r}."
        )
    if "kind" in value:
        return from_dict(value, where=where)
    if len(value) == 1 and next(iter(value)) in _MARKERS:
        ((marker, inner),) = value.items()
        return _unmark(marker, inner, where)
    raise SpecificationError(
        f"{where} is a dict without 'kind' or one of the markers {list(_MARKERS)}: "
        f"{value!r}. Objects need 'kind'; see optihedge.optimize.spec for the encoding."
    )


def _pairs(inner: Any, marker: str, where: str) -> list[tuple[Any, Any]]:
    if not isinstance(inner, list) or not all(isinstance(p, list) and len(p) == 2 for p in inner):
        raise SpecificationError(
            f"{where}: {marker} must hold a list of [key, value] pairs. Got {inner!r}."
        )
    return [(decode(k, where), decode(v, f"{where}[{k!r}]")) for k, v in inner]


def _unmark(marker: str, inner: Any, where: str) -> Any:
    if marker == "$float":
        if inner not in ("inf", "-inf", "nan"):
            raise SpecificationError(
                f"{where}: $float must be 'inf', '-inf' or 'nan'. Got {inner!r}."
            )
        return float(inner)
    if marker == "$timestamp":
        try:
            return pd.Timestamp(inner)
        except (TypeError, ValueError) as exc:
            raise SpecificationError(
                f"{where}: $timestamp must be an ISO 8601 date. Got {inner!r}."
            ) from exc
    if marker == "$tuple":
        if not isinstance(inner, list):
            raise SpecificationError(f"{where}: $tuple must hold a list. Got {inner!r}.")
        return tuple(decode(v, f"{where}[{i}]") for i, v in enumerate(inner))
    pairs = _pairs(inner, marker, where)
    if marker == "$series":
        return pd.Series([v for _, v in pairs], index=[k for k, _ in pairs], dtype="float64")
    return dict(pairs)


def from_dict(d: Mapping[str, Any], *, where: str = "value", family: str | None = None) -> Any:
    """Build a registered object from :func:`to_dict`'s form.

    Raises
    ------
    SpecificationError
        An unknown kind (the message lists the known ones), a kind of another family,
        a missing or unknown field, or a value the class refuses.
    """
    if not isinstance(d, Mapping):
        raise SpecificationError(f"{where} must be a dict with 'kind'. Got {d!r}.")
    name = d.get("kind")
    kind = KINDS.get(name) if isinstance(name, str) else None
    known = sorted(k.name for k in KINDS.values() if family is None or k.family == family)
    if kind is None or (family is not None and kind.family != family):
        raise SpecificationError(
            f"{where} has an unknown {family or 'object'} kind {name!r}. Known kinds: {known}."
        )
    given = set(d) - {"kind"}
    extra = sorted(given - set(kind.fields))
    if extra:
        raise SpecificationError(
            f"{where}: the kind {kind.name!r} has no field {extra[0]!r}. "
            f"Its fields are {list(kind.fields)}."
        )
    missing = sorted(kind.required - given)
    if missing:
        raise SpecificationError(
            f"{where}: the kind {kind.name!r} needs the field {missing[0]!r} "
            f"(required: {sorted(kind.required)})."
        )
    args = {f: decode(d[f], f"{where}.{f}") for f in kind.fields if f in d}
    for f, value in args.items():
        _check_type(kind, f, value, where)
    try:
        return kind.cls(**args)
    except SpecificationError:
        raise
    except (TypeError, ValueError) as exc:
        raise SpecificationError(
            f"{where}: the kind {kind.name!r} refused its fields {args!r}: {exc}"
        ) from exc


_SIMPLE = {str: "a str", int: "an int", float: "a number", bool: "true or false"}


def _simple_types(cls: type, field: str) -> tuple[type, ...] | None:
    """Return the plain types a dataclass field accepts (None: it takes more)."""
    if not dataclasses.is_dataclass(cls):
        return None
    hint = typing.get_type_hints(cls).get(field)
    args = hint.__args__ if isinstance(hint, types.UnionType) else (hint,)
    if all(a in _SIMPLE or a is type(None) for a in args):
        return tuple(args)
    return None


def _check_type(kind: Kind, field: str, value: Any, where: str) -> None:
    """Refuse a value of a plain-typed dataclass field that is of another type."""
    allowed = _simple_types(kind.cls, field)
    if allowed is None:
        return
    ok = any(
        (value is None and t is type(None))
        or (t is float and isinstance(value, int | float) and not isinstance(value, bool))
        or (t is int and isinstance(value, int) and not isinstance(value, bool))
        or (t in (str, bool) and isinstance(value, t))
        for t in allowed
    )
    if not ok:
        what = " or ".join("null" if t is type(None) else _SIMPLE[t] for t in allowed)
        raise SpecificationError(
            f"{where}: the field {field!r} of the kind {kind.name!r} must be {what}. "
            f"Got {value!r} ({type(value).__name__})."
        )


def instrument_from_dict(d: Mapping[str, Any]) -> Instrument:
    """Build an instrument from its dict (see :func:`from_dict`)."""
    out: Instrument = from_dict(d, where="instrument", family="instrument")
    return out


def term_from_dict(d: Mapping[str, Any]) -> Constraint | Objective:
    """Build a constraint or objective term from its dict (see :func:`from_dict`)."""
    name = d.get("kind") if isinstance(d, Mapping) else None
    family = KINDS[name].family if isinstance(name, str) and name in KINDS else "constraint"
    if family not in ("constraint", "objective"):
        family = "constraint"
    out: Constraint | Objective = from_dict(d, where="term", family=family)
    return out


@dataclass(frozen=True, eq=False)
class ProblemSpec:
    """The structure of a hedge problem, as a value.

    Parameters
    ----------
    instruments : sequence of Instrument
    objective : Objective
    constraints : sequence of Constraint, default ()
    horizon : int, optional
        Periods of the data; as :class:`HedgeProblem` (the scenarios' horizon, or its default).
    market : hashable, optional
        The market factor or asset.
    market_state : MarketState, optional

    Equality compares :meth:`to_dict` (terms have no value equality of their own).
    """

    instruments: tuple[Instrument, ...]
    objective: Objective
    constraints: tuple[Constraint, ...] = ()
    horizon: int | None = None
    market: Hashable | None = None
    market_state: MarketState | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "instruments", tuple(self.instruments))
        object.__setattr__(self, "constraints", tuple(self.constraints))

    def to_dict(self) -> dict[str, Any]:
        """Return the spec in plain JSON types, with ``"version"``."""
        return {
            "version": SPEC_VERSION,
            "instruments": [to_dict(i) for i in self.instruments],
            "objective": to_dict(self.objective),
            "constraints": [to_dict(c) for c in self.constraints],
            "horizon": self.horizon,
            "market": encode(self.market),
            "market_state": None if self.market_state is None else to_dict(self.market_state),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ProblemSpec:
        """Build a spec from :meth:`to_dict`'s form; typed errors name the fault."""
        if not isinstance(d, Mapping):
            raise SpecificationError(f"A problem spec must be a dict. Got {type(d).__name__}.")
        fields = (
            "version",
            "instruments",
            "objective",
            "constraints",
            "horizon",
            "market",
            "market_state",
        )
        extra = sorted(set(d) - set(fields))
        if extra:
            raise SpecificationError(
                f"A problem spec has no field {extra[0]!r}. Its fields are {list(fields)}."
            )
        if d.get("version") != SPEC_VERSION:
            raise SpecificationError(
                f"A problem spec's 'version' must be {SPEC_VERSION}. Got {d.get('version')!r}: "
                "write it with this version of optihedge."
            )
        for name in ("instruments", "objective"):
            if name not in d:
                raise SpecificationError(f"A problem spec needs the field {name!r}.")
        insts, cons = d["instruments"], d.get("constraints", [])
        for name, value in (("instruments", insts), ("constraints", cons)):
            if not isinstance(value, list):
                raise SpecificationError(
                    f"A problem spec's {name!r} must be a list. Got {value!r}."
                )
        horizon = d.get("horizon")
        if horizon is not None and (isinstance(horizon, bool) or not isinstance(horizon, int)):
            raise SpecificationError(
                f"A problem spec's 'horizon' must be an int (periods of the data) or null. "
                f"Got {horizon!r}."
            )
        state = d.get("market_state")
        return cls(
            instruments=tuple(
                from_dict(x, where=f"instruments[{i}]", family="instrument")
                for i, x in enumerate(insts)
            ),
            objective=from_dict(d["objective"], where="objective", family="objective"),
            constraints=tuple(
                from_dict(x, where=f"constraints[{i}]", family="constraint")
                for i, x in enumerate(cons)
            ),
            horizon=horizon,
            market=decode(d.get("market"), "market"),
            market_state=None
            if state is None
            else from_dict(state, where="market_state", family="value"),
        )

    def build(self, portfolio: Any, **inputs: Any) -> Any:
        """Build the :class:`HedgeProblem`; ``inputs`` as its constructor's (risk_model, ...).

        The problem module builds it (``HedgeProblem.from_spec``, registered as the hook
        ``"build_problem"`` when ``optihedge`` is imported): this module never imports it.
        """
        from optihedge.optimize import hooks

        return hooks.call("build_problem", self, portfolio, **inputs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProblemSpec) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self.to_dict()))


def spec_of(
    instruments: Sequence[Instrument],
    objective: Objective,
    constraints: Sequence[Constraint],
    horizon: int,
    market: Hashable | None,
    market_state: MarketState | None,
) -> ProblemSpec:
    """Return the spec of a problem's parts (used by ``HedgeProblem.spec``)."""
    return ProblemSpec(
        tuple(instruments), objective, tuple(constraints), horizon, market, market_state
    )

"""The instrument protocol and the market state instruments are valued in.

An instrument is a frozen description. Everything the optimizer needs of it is computed
from a :class:`MarketState` (spot levels, volatilities, rates, dividend yields, the as-of
date): its exposure on the risk model's assets per unit of position (the delta
approximation), its per-unit attributes (premium, carry, trading cost, ADV, contract
value, Greeks), its bounds given the book, and its return in every scenario. Linear
products ignore the market state; options (next) read it. Adding a Greek or any other
per-unit number means returning one more key from :meth:`Instrument.attributes`: the
table the constraints read is open.

Units: positions ``x`` are signed notional as a fraction of the book's value; rates are
annual decimals of notional; ``adv`` is currency notional per day; ``price`` x
``multiplier`` is the value of one contract (or share).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from optihedge._plausible import (
    DIVIDEND_YIELD_RANGE,
    VOLATILITY_MAX,
    as_asof,
    check_rate,
    implausible_levels,
)
from optihedge._validation import check_int, check_scalar, format_labels
from optihedge.calendar import TRADING_DAYS
from optihedge.errors import DataError, MissingLabelsError, SpecificationError

if TYPE_CHECKING:
    from optihedge.scenarios import Scenarios

__all__ = ["Instrument", "MarketState"]

_EMPTY = pd.Series(dtype=np.float64)
#: Calendar days a close may lie before the as-of date (a long weekend) in ``from_data``.
_STALE_DAYS = 5


def _levels(value: Any, name: str, *, positive: bool, by: str = "underlying") -> pd.Series:
    if value is None:
        return _EMPTY.copy()
    if isinstance(value, Mapping):
        value = pd.Series(dict(value), dtype=object)
    if not isinstance(value, pd.Series):
        raise DataError(
            f"The '{name}' argument of MarketState must be a Series or dict by {by}. "
            f"Got {type(value).__name__} instead."
        )
    # text and booleans would be cast silently ('0.2' to 0.2, True to 1.0): refuse them
    odd = [(k, v) for k, v in value.items() if isinstance(v, str | bytes | bool | np.bool_)]
    if odd:
        raise DataError(
            f"The '{name}' argument of MarketState must hold numbers; "
            f"{format_labels(k for k, _ in odd)} hold {[v for _, v in odd[:5]]!r}. Pass "
            "floats (0.2, not '0.2')."
        )
    try:
        out = value.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"The '{name}' argument of MarketState must be numeric.") from exc
    bad = ~np.isfinite(out.to_numpy()) | ((out.to_numpy() <= 0) if positive else False)
    if bad.any():
        raise DataError(
            f"The '{name}' argument of MarketState must hold finite "
            f"{'positive ' if positive else ''}numbers. Got {format_labels(out.index[bad])} "
            f"= {list(out.to_numpy()[bad][:5])}."
        )
    if not out.index.is_unique:
        raise MissingLabelsError(f"The '{name}' argument of MarketState has duplicate labels.")
    return out


@dataclass(frozen=True)
class MarketState:
    """The market an instrument is valued in on the as-of date.

    Parameters
    ----------
    spot : Series or dict by underlying, optional
        Price level of each underlying (index points, share price), > 0.
    volatility : Series or dict by underlying, optional
        Annual implied volatility of each underlying, decimal (0.2 = 20%), in (0, 5].
    rate : float, default 0.0
        Annual continuously compounded risk-free rate, decimal, in [-0.2, 0.5].
    dividend_yield : Series or dict by underlying, optional
        Annual continuous dividend yield by underlying, decimal, in [-0.2, 0.5] (0 where
        not given).
    asof : date, datetime, Timestamp or ISO 8601 str, optional
        The valuation date (stored as a Timestamp). Dated option contracts
        (:class:`~optihedge.instruments.OptionContract`) count their time to expiry from it.
    prices : Series or dict by instrument label, optional
        Today's price of one unit of an instrument (index points for a future, share
        price for an ETF), > 0: the one home of "the price today". An instrument whose
        label is absent is priced at its own ``price`` argument (see :meth:`price_of`).

    Raises
    ------
    DataError
        A level that is not a number, or a volatility or dividend yield outside its
        plausible range (``optihedge._plausible``: 20 for 20% says "pass 0.2").
    SpecificationError
        A rate outside its range, or an ``asof`` that is a number or not an ISO date.
    """

    spot: pd.Series = field(default_factory=lambda: _EMPTY.copy())
    volatility: pd.Series = field(default_factory=lambda: _EMPTY.copy())
    rate: float = 0.0
    dividend_yield: pd.Series = field(default_factory=lambda: _EMPTY.copy())
    asof: pd.Timestamp | None = None
    prices: pd.Series = field(default_factory=lambda: _EMPTY.copy())

    def __post_init__(self) -> None:
        object.__setattr__(self, "spot", _levels(self.spot, "spot", positive=True))
        prices = _levels(self.prices, "prices", positive=True, by="instrument label")
        object.__setattr__(self, "prices", prices)
        vol = _levels(self.volatility, "volatility", positive=True)
        implausible_levels(
            vol,
            "volatility",
            (0.0, VOLATILITY_MAX),
            "annual volatilities, decimal (0.2 = 20%)",
            lower_open=True,
        )
        object.__setattr__(self, "volatility", vol)
        q = _levels(self.dividend_yield, "dividend_yield", positive=False)
        implausible_levels(
            q,
            "dividend_yield",
            DIVIDEND_YIELD_RANGE,
            "annual dividend yields, decimal (0.015 = 1.5%)",
            lower_open=False,
        )
        object.__setattr__(self, "dividend_yield", q)
        object.__setattr__(self, "rate", check_rate(self.rate, "rate"))
        if self.asof is not None:
            object.__setattr__(self, "asof", as_asof(self.asof))

    @classmethod
    def from_data(
        cls,
        date: Any,
        *,
        rate: float = 0.0,
        underlyings: Sequence[str] = ("SP500",),
        dividend_yield: Mapping[str, float] | pd.Series | None = None,
        prices: Mapping[str, float] | pd.Series | None = None,
        data: pd.DataFrame | None = None,
        halflife: float = 21.0,
        window: int = TRADING_DAYS,
    ) -> MarketState:
        """Return the market on ``date`` from the embedded data (or ``data``), ``asof=date``.

        Only rows dated up to and including ``date`` are read: nothing the market did
        not know at that day's close.

        - spot: each underlying's last close on or before ``date`` (the S&P 500 level
          for ``"SP500"``);
        - volatility: for ``"SP500"``, the VIX close that day / 100 where the data hold
          one (2014 to 2018 in the embedded data); otherwise (and for every other
          underlying) :func:`optihedge.pricing.volatility_proxy` of its daily returns
          over the last ``window`` days up to ``date`` (EWMA with ``halflife`` days,
          times the implied/realised ratio).

        Parameters
        ----------
        date : date, datetime, Timestamp or ISO 8601 str
            The as-of date. A weekend or holiday takes the last close before it; a date
            more than 5 calendar days after the last close (past the data's end) is
            refused.
        rate : float, default 0.0
            Annual continuously compounded risk-free rate, decimal.
        underlyings : sequence of str, default ("SP500",)
            Columns of the data to read (see :func:`optihedge.datasets.metadata`).
        dividend_yield, prices : optional
            Passed to the market state as they are.
        data : DataFrame of prices, optional
            Daily closes by ticker (``"VIX"`` in volatility points), dated index; the
            embedded :func:`~optihedge.datasets.load_default` data by default.
        halflife : float, default 21
            Half-life of the volatility proxy, trading days.
        window : int, default 252
            Returns the volatility proxy reads, most recent last.

        Raises
        ------
        SpecificationError
            A date that is not a date.
        DataError
            A date outside the data, or an underlying without a close on or before it
            or with fewer than two returns for the proxy.
        MissingLabelsError
            An underlying that is not a column of the data.
        """
        from optihedge.datasets import load_default, metadata
        from optihedge.pricing import volatility_proxy

        asof = as_asof(date, "date")
        names = [underlyings] if isinstance(underlyings, str) else list(underlyings)
        n = check_int(window, "window", lower=2, what=" (trading days)")
        if data is not None and (
            not isinstance(data, pd.DataFrame) or not isinstance(data.index, pd.DatetimeIndex)
        ):
            raise DataError(
                "The 'data' argument of MarketState.from_data must be a DataFrame of closes "
                f"with a DatetimeIndex. Got {type(data).__name__}."
            )
        have = metadata().index if data is None else data.columns
        missing = [u for u in names if u not in have]
        if missing:
            raise MissingLabelsError(
                f"The 'underlyings' argument of MarketState.from_data names "
                f"{format_labels(missing)}, which the data lack (they have "
                f"{format_labels(have, 40)}); pass underlyings= among them."
            )
        if data is None:
            columns = [*dict.fromkeys([*names, "VIX"])]
            data = load_default(end=asof, columns=columns, verify=False)
        known = data.loc[data.index <= asof]  # nothing after the date is read
        if known.empty or (asof - known.index[-1]).days > _STALE_DAYS:
            span = f"{data.index.min():%Y-%m-%d} to {data.index.max():%Y-%m-%d}"
            raise DataError(
                f"The date {asof:%Y-%m-%d} lies outside the data ({span}"
                f"{', up to that date' if len(known) else ''}); pass a date inside it."
            )
        spot: dict[str, float] = {}
        vol: dict[str, float] = {}
        vix = known["VIX"].dropna() if "VIX" in known.columns else known.iloc[:0, 0]
        for u in names:
            closes = known[u].dropna()
            if closes.empty:
                raise DataError(
                    f"The data have no close of {u!r} on or before {asof:%Y-%m-%d}; pass a "
                    "later date or another underlying."
                )
            spot[u] = float(closes.iloc[-1])
            if u == "SP500" and len(vix) and vix.index[-1] == closes.index[-1]:
                vol[u] = float(vix.iloc[-1]) / 100.0
                continue
            returns = closes.pct_change().dropna().iloc[-n:]
            if len(returns) < 2:
                raise DataError(
                    f"The volatility proxy of {u!r} on {asof:%Y-%m-%d} needs at least two "
                    f"daily returns up to that date; the data hold {len(returns)}. Pass a "
                    "later date."
                )
            vol[u] = volatility_proxy(returns, halflife=halflife)
        given: dict[str, Any] = {"dividend_yield": dividend_yield, "prices": prices}
        return cls(
            spot=pd.Series(spot, dtype=np.float64),
            volatility=pd.Series(vol, dtype=np.float64),
            rate=rate,
            asof=asof,
            **given,
        )

    def _lookup(self, series: pd.Series, label: Hashable, name: str) -> float:
        if label not in series.index:
            raise MissingLabelsError(
                f"The market state has no {name} for {label!r} (it has "
                f"{format_labels(series.index)}); pass MarketState({name}={{{label!r}: ...}})."
            )
        return float(series.to_numpy()[series.index.get_loc(label)])

    def spot_of(self, label: Hashable) -> float:
        """Spot level of ``label``."""
        return self._lookup(self.spot, label, "spot")

    def volatility_of(self, label: Hashable) -> float:
        """Annual implied volatility of ``label``."""
        return self._lookup(self.volatility, label, "volatility")

    def dividend_yield_of(self, label: Hashable) -> float:
        """Annual dividend yield of ``label`` (0 when not given)."""
        return float(self.dividend_yield.get(label, 0.0))

    def price_of(self, instrument: Instrument) -> float:
        """Today's price of one unit of ``instrument``.

        The market's price for its label if :attr:`prices` holds one, else the
        instrument's own ``price`` argument (the convenience of a frozen description).
        Futures' and ETFs' ``contract_value`` and :meth:`Instrument.value` read it.
        Options are not priced here: their value comes from the spot, volatility, rate
        and time left (``OptionPackage.value``).
        """
        label = instrument.label
        if label in self.prices.index:
            return float(self.prices.to_numpy()[self.prices.index.get_loc(label)])
        return float(instrument.price)

    def provides(self) -> frozenset[str]:
        """Which fields hold any value (for instruments' :meth:`Instrument.market_requirements`)."""
        fields = ("spot", "volatility", "dividend_yield", "prices")
        have = {k for k in fields if len(getattr(self, k))}
        return frozenset(have | ({"asof"} if self.asof is not None else set()))


@dataclass(frozen=True, kw_only=True)
class Instrument:
    """Base of every hedge instrument (keyword-only fields).

    Parameters
    ----------
    label : str
        Unique name in the problem (e.g. ``"ESZ2"``); the one positional argument.
    price : float, default 1.0
        Price of one unit (index points for a future, share price for an ETF), used
        where the market state gives none for the label (``MarketState(prices=...)``).
    multiplier : float, default 1.0
        Currency per price point of one contract.
    cost : float, default 0.0
        One-way trading cost (half spread plus fees), fraction of traded notional.
    adv : float, default inf
        Average daily traded notional, base currency.
    lower, upper : float, default -inf, inf
        Hard bounds on the position, fractions of the book's value.
    """

    kind: ClassVar[str] = "instrument"

    label: str = field(kw_only=False)
    price: float = 1.0
    multiplier: float = 1.0
    cost: float = 0.0
    adv: float = math.inf
    lower: float = -math.inf
    upper: float = math.inf

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label:
            raise SpecificationError(
                f"An instrument's 'label' must be a non-empty str. Got {self.label!r}."
            )
        name = self.name
        for field_name in ("price", "multiplier"):
            check_scalar(
                getattr(self, field_name), f"{name}.{field_name}", lower=0.0, lower_inclusive=False
            )
        check_scalar(self.cost, f"{name}.cost", lower=0.0, upper=1.0)
        if not (
            isinstance(self.adv, int | float) and not isinstance(self.adv, bool) and self.adv > 0
        ):
            raise SpecificationError(
                f"The '{name}.adv' argument must be > 0 (or inf). Got {self.adv!r}."
            )
        for side in ("lower", "upper"):
            v = getattr(self, side)
            if isinstance(v, bool) or not isinstance(v, int | float) or math.isnan(v):
                raise SpecificationError(f"The '{name}.{side}' argument must be a number.")
        if not self.lower <= self.upper:
            raise SpecificationError(
                f"The bounds of {name} are inverted: lower {self.lower!r} > upper {self.upper!r}."
            )

    @property
    def name(self) -> str:
        """``Class('label')``, for messages."""
        return f"{type(self).__name__}({self.label!r})"

    def _price(self, market: MarketState | None) -> float:
        """Today's price of one unit: the market's (:meth:`MarketState.price_of`) or ours."""
        return float(self.price) if market is None else market.price_of(self)

    # --------------------------------------------------------------- protocol
    def value(self, market: MarketState) -> float:
        """Value of ONE unit held (one contract, share or unit), base currency.

        ``price x multiplier`` at today's price (:meth:`MarketState.price_of`): a
        future's contract notional (its P&L between two dates is the change of value),
        an ETF's share. Options override it with their model value. What a held
        position is worth is ``units x value(market)``; the change between two market
        states is its mark-to-market P&L.
        """
        return self._price(market) * float(self.multiplier)

    def market_requirements(self) -> frozenset[str]:
        """Fields of :class:`MarketState` this instrument needs (none for linear products)."""
        return frozenset()

    def exposures(self, market: MarketState | None = None) -> dict[str, float]:
        """Exposure on each risk-model asset per unit of x (delta approximation)."""
        return {}

    def attributes(self, market: MarketState | None = None) -> dict[str, float]:
        """Per-unit numbers the constraints read (see ``constraints.ATTRIBUTES``).

        Subclasses extend the dict (``super().attributes(market) | {...}``).
        """
        exposure = self.exposures(market)
        return {
            "gross_weight": float(sum(abs(v) for v in exposure.values())),
            "delta": float(sum(exposure.values())),
            "cost": self.cost,
            "adv": self.adv,
            "contract_value": self._price(market) * self.multiplier,
            "lower": self.lower,
            "upper": self.upper,
        }

    def bounds(self, book: pd.Series) -> tuple[float, float]:
        """Bounds on x given the book's weights by ticker (the instrument's own by default)."""
        return self.lower, self.upper

    def scenario_returns(
        self, scenarios: Scenarios, market: MarketState | None = None
    ) -> np.ndarray:
        """Return per unit of x in each scenario (linear in the underlyings by default)."""
        out = np.zeros(scenarios.n_scenarios)
        for asset, amount in self.exposures(market).items():
            out += amount * scenarios.column(asset, owner=self.name)
        return out

r"""Options, option packages and binary event contracts, revalued in every scenario.

Position unit of an option or package: ``x`` = notional of the underlying covered /
the book's value (``x = 0.5`` on a book of USD 1m: puts on USD 500,000 of the index).
Per unit of ``x`` the attributes are (:math:`V` the package's value per unit of the
underlying, :math:`S_0` the spot, greeks of Black-Scholes-Merton summed over the legs
with their ratios):

- ``premium`` :math:`V/S_0`, paid up front (negative: received, e.g. a credit collar);
- ``delta`` :math:`\Delta` (the exposure the variance and the beta limits see),
  ``gamma`` :math:`\Gamma S_0` (the return-squared coefficient: P&L
  :math:`\approx \Delta R + \tfrac12 \Gamma S_0 R^2`), ``vega`` per 1.00 of volatility
  and ``theta`` per year, both divided by :math:`S_0`;
- ``carry_long`` :math:`-\theta/S_0`: the time decay a long position pays per year;
  ``annual_premium`` the premium spread over the option's life;
- ``contract_value`` :math:`S_0 \times` ``multiplier``: the notional one contract covers.

In a scenario over ``h`` trading days (``scenarios.horizon_days``: its horizon in
periods times the trading days of one period, 5 a week, 21 a month) each leg is
repriced with Black-Scholes at the scenario's underlying level :math:`S_0(1 + R_s)`,
the remaining time ``(expiry - h) / 252`` years and the scenario's volatility
(:class:`optihedge.pricing.VolatilityModel`: the level moves with the underlying, the
skew follows the moneyness); a leg that expires inside the horizon pays its intrinsic
value at the underlying's level on its expiry day (where the scenarios have daily paths;
at the horizon otherwise). The return per unit of ``x`` is
:math:`(V_s - V_0)/S_0`. Vectorised over scenarios.

Options are bought by default (``lower = 0``): pass ``lower=-math.inf`` to let the
optimizer write them.

Time: a package's ``expiry`` counts trading days from whatever market state it is priced
in, and a moneyness strike re-anchors to that day's spot: ``Put(moneyness=0.95,
expiry=63)`` is a rolling series. ``package.contract(market)`` mints the
:class:`OptionContract` bought on ``market.asof``: absolute strikes and an expiry date,
so that on a later market state it has ``calendar.between(asof, expiry)`` trading days
left (the ``expiry`` above) and its strikes are unchanged. Both price through one path
(:class:`_Options`, parametrised by :meth:`_Options.days_left`). ``value(market)`` is one
contract's value in currency: the package's value per unit of the underlying times
``multiplier``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from optihedge._plausible import (
    as_asof,
    check_expiry_days,
    check_moneyness,
    check_strike,
    check_volatility,
)
from optihedge._validation import check_scalar
from optihedge.calendar import DEFAULT_CALENDAR, TRADING_DAYS, TradingCalendar
from optihedge.errors import SpecificationError
from optihedge.instruments._base import Instrument, MarketState
from optihedge.pricing.black_scholes import black_scholes, greeks
from optihedge.pricing.volatility import VolatilityModel

if TYPE_CHECKING:
    from optihedge.scenarios import Scenarios

__all__ = [
    "Call",
    "Collar",
    "EventContract",
    "OptionContract",
    "OptionPackage",
    "Put",
    "PutSpread",
]

# The moneyness range (strike / spot), the longest expiry and the volatility bound are
# shared plausibility bounds: optihedge._plausible.


@dataclass(frozen=True)
class _Leg:
    kind: str
    strike: float
    ratio: float
    sigma: float  # volatility today at this strike


@dataclass(frozen=True, kw_only=True)
class _Options(Instrument):
    """European options on one underlying with fixed leg ratios: the pricing both share.

    :class:`OptionPackage` (an expiry in trading days from any as-of date: a rolling
    series) and :class:`OptionContract` (a dated contract with absolute strikes) differ
    only in their legs (:meth:`leg_terms`) and their time to expiry on a market state
    (:meth:`days_left`); every price, Greek and scenario repricing is computed here,
    once, from those two.
    """

    kind: ClassVar[str] = "option"

    underlying: str
    multiplier: float = 100.0
    implied_vol: float | None = None
    vol_model: VolatilityModel = field(default_factory=VolatilityModel)
    lower: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.underlying, str) or not self.underlying:
            raise SpecificationError(
                f"The 'underlying' of {self.name} must be a non-empty str (a risk-model asset "
                f"or factor). Got {self.underlying!r}."
            )
        if self.implied_vol is not None:
            check_volatility(self.implied_vol, f"{self.name}.implied_vol")
        if not isinstance(self.vol_model, VolatilityModel):
            raise SpecificationError(
                f"The 'vol_model' of {self.name} must be a VolatilityModel. Got "
                f"{type(self.vol_model).__name__}."
            )

    # -------------------------------------------------------------- the legs
    def leg_terms(self) -> list[tuple[str, float | None, float | None, float]]:
        """``(kind, moneyness, strike, ratio)`` of each leg; one of moneyness and strike."""
        raise NotImplementedError

    def days_left(self, market: MarketState) -> int:
        """Trading days from the market's date to expiry (>= 1: a live option)."""
        raise NotImplementedError

    @property
    def _single_vol(self) -> bool:
        """Whether ``implied_vol`` is the volatility at the (only) strike."""
        return False

    def _strikes(self, spot: float) -> list[tuple[str, float, float]]:
        """``(kind, strike, ratio)`` of each leg at ``spot`` (absolute strikes checked)."""
        out = []
        for kind, moneyness, strike, ratio in self.leg_terms():
            if strike is not None:
                check_strike(strike, spot, f"{self.name}.strike", f"spot of {self.underlying!r}")
            k = strike if strike is not None else spot * (moneyness or 1.0)
            out.append((kind, k, ratio))
        return out

    def legs(self, market: MarketState) -> list[_Leg]:
        """Return the legs with their strikes and today's volatilities in ``market``."""
        return self._legs(market, self.days_left(market) / TRADING_DAYS)

    def _legs(self, market: MarketState, years: float) -> list[_Leg]:
        spot = market.spot_of(self.underlying)
        out = []
        for kind, k, ratio in self._strikes(spot):
            if self.implied_vol is not None and self._single_vol:
                sigma = float(self.implied_vol)
            else:
                atm = (
                    market.volatility_of(self.underlying)
                    if self.implied_vol is None
                    else float(self.implied_vol)
                )
                skew = float(self.vol_model.skew_term(k / spot, years))
                sigma = max(atm + skew, self.vol_model.floor)
            out.append(_Leg(kind, k, ratio, sigma))
        return out

    # --------------------------------------------------------------- protocol
    def market_requirements(self) -> frozenset[str]:
        """Need the spot, and the volatility unless ``implied_vol`` is given."""
        return frozenset({"spot"} | ({"volatility"} if self.implied_vol is None else set()))

    def _greeks(self, market: MarketState, years: float) -> dict[str, float]:
        spot = market.spot_of(self.underlying)
        q = market.dividend_yield_of(self.underlying)
        out = dict.fromkeys(("value", "delta", "gamma", "vega", "theta"), 0.0)
        for leg in self._legs(market, years):
            args = (leg.kind, spot, leg.strike, years, market.rate, leg.sigma, q)
            g = greeks(*args)
            out["value"] += leg.ratio * float(black_scholes(*args))
            out["delta"] += leg.ratio * float(g.delta)
            out["gamma"] += leg.ratio * float(g.gamma)
            out["vega"] += leg.ratio * float(g.vega)
            out["theta"] += leg.ratio * float(g.theta)
        return out

    def _need(self, market: MarketState | None) -> MarketState:
        if market is None:
            raise SpecificationError(f"{self.name} needs a MarketState (spot, volatility).")
        return market

    def value(self, market: MarketState) -> float:
        """Value of ONE contract, base currency: Black-Scholes value x ``multiplier``.

        The package's value per unit of the underlying (legs with their ratios, at the
        market's spot, volatility, rate and dividend yield, with the time left to
        expiry) times the units of the underlying one contract covers.
        """
        years = self.days_left(self._need(market)) / TRADING_DAYS
        return self._greeks(market, years)["value"] * float(self.multiplier)

    def exposures(self, market: MarketState | None = None) -> dict[str, float]:
        """Delta on the underlying per unit of covered notional."""
        market = self._need(market)
        years = self.days_left(market) / TRADING_DAYS
        return {self.underlying: self._greeks(market, years)["delta"]}

    def attributes(self, market: MarketState | None = None) -> dict[str, float]:
        """Premium, Greeks, decay and contract notional per unit of x (module docstring)."""
        market = self._need(market)
        years = self.days_left(market) / TRADING_DAYS
        g = self._greeks(market, years)
        spot = market.spot_of(self.underlying)
        premium = g["value"] / spot
        return super().attributes(market) | {
            "premium": premium,
            "annual_premium": premium / years,
            "gamma": g["gamma"] * spot,
            "vega": g["vega"] / spot,
            "theta": g["theta"] / spot,
            "carry_long": -g["theta"] / spot,
            "contract_value": spot * self.multiplier,
        }

    def scenario_returns(
        self, scenarios: Scenarios, market: MarketState | None = None
    ) -> np.ndarray:
        """Full repricing at the horizon per unit of x: ``(V_s - V_0) / S_0``."""
        market = self._need(market)
        expiry = self.days_left(market)
        years0 = expiry / TRADING_DAYS
        spot0 = market.spot_of(self.underlying)
        q = market.dividend_yield_of(self.underlying)
        move = scenarios.column(self.underlying, owner=self.name)
        scenarios.check_expiry(expiry, self.name)  # weekly/monthly: whole periods
        h = scenarios.horizon_days  # trading days: horizon x trading days a period
        days_left = expiry - h
        value0 = 0.0
        value = np.zeros(scenarios.n_scenarios)
        legs = self._legs(market, years0)
        if days_left <= 0:
            at_expiry = spot0 * (1.0 + scenarios.return_through(self.underlying, expiry))
        else:
            spot = spot0 * (1.0 + move)
            stated = scenarios.vol_moves_for(self.underlying)
            level = self.vol_model.level_move(move, h) if stated is None else stated
            tau = days_left / TRADING_DAYS
        for leg in legs:
            value0 += leg.ratio * float(
                black_scholes(leg.kind, spot0, leg.strike, years0, market.rate, leg.sigma, q)
            )
            sign = 1.0 if leg.kind == "call" else -1.0
            if days_left <= 0:
                value += leg.ratio * np.maximum(sign * (at_expiry - leg.strike), 0.0)
                continue
            sigma = self.vol_model.scenario_vol(
                leg.sigma, leg.strike, spot0, spot, years0, tau, level
            )
            value += leg.ratio * np.asarray(
                black_scholes(leg.kind, spot, leg.strike, tau, market.rate, sigma, q)
            )
        return np.asarray((value - value0) / spot0, dtype=np.float64)


@dataclass(frozen=True, kw_only=True)
class OptionPackage(_Options):
    """European options on one underlying with fixed leg ratios: one decision variable.

    Subclasses give the legs (:meth:`leg_terms`). The expiry counts trading days from
    whatever market state the package is priced in: a rolling series ("the 63-day
    95% put"), from which :meth:`contract` mints the dated contract bought on a date.
    Fields common to every package:

    Parameters
    ----------
    underlying : str
        Risk-model asset or factor the options are on (e.g. ``"SP500"``).
    expiry : int, default 63
        Trading days from the as-of date to expiry (1 to 7,560: 30 years of 252 days).
    multiplier : float, default 100
        Units of the underlying per contract.
    implied_vol : float, optional
        Volatility today. For a single :class:`Put` or :class:`Call`, the option's own
        implied volatility at its strike; for a package, the at-the-money volatility
        (the skew sets each leg's). None: the market state's volatility of the
        underlying (at the money; the skew sets each strike's).
    vol_model : VolatilityModel
        How volatility moves in a scenario and across strikes.
    """

    expiry: int = 63

    def __post_init__(self) -> None:
        super().__post_init__()
        check_expiry_days(self.expiry, f"{self.name}.expiry")

    @property
    def years(self) -> float:
        """Time to expiry today, years (252 trading days a year)."""
        return self.expiry / TRADING_DAYS

    def days_left(self, market: MarketState) -> int:
        """``expiry``: a package's life always starts on the market's date."""
        return self.expiry

    def contract(
        self,
        market: MarketState,
        *,
        label: str | None = None,
        calendar: TradingCalendar = DEFAULT_CALENDAR,
    ) -> OptionContract:
        """Mint the dated contract this package describes, bought on ``market.asof``.

        Each leg's strike is its moneyness times the underlying's spot that day (or
        its absolute ``strike``), fixed for the contract's life; the expiry date is
        ``calendar.add(market.asof, expiry)``. Every other field is carried over.

        Parameters
        ----------
        market : MarketState
            With ``asof`` and the underlying's spot.
        label : str, optional
            The contract's label; default ``"<label> <expiry date>"`` (e.g.
            ``"SPX 95 put 2023-04-03"``), unique across the series' contracts.
        calendar : TradingCalendar, default DEFAULT_CALENDAR
            Trading days the expiry counts; the contract keeps it.

        Raises
        ------
        SpecificationError
            If the market has no ``asof``, or an absolute strike is implausible.
        MissingLabelsError
            If the market has no spot for the underlying.
        """
        if not isinstance(market, MarketState):
            raise SpecificationError(
                f"{self.name}.contract needs a MarketState. Got {type(market).__name__}."
            )
        if market.asof is None:
            raise SpecificationError(
                f"{self.name}.contract needs the market's date to start the contract's life: "
                "pass MarketState(asof=...)."
            )
        expiry = calendar.add(market.asof, self.expiry)
        legs = tuple(self._strikes(market.spot_of(self.underlying)))
        return OptionContract(
            f"{self.label} {expiry:%Y-%m-%d}" if label is None else label,
            underlying=self.underlying,
            options=legs,
            expiry=expiry,
            calendar=calendar,
            price=self.price,
            multiplier=self.multiplier,
            cost=self.cost,
            adv=self.adv,
            lower=self.lower,
            upper=self.upper,
            implied_vol=self.implied_vol,
            vol_model=self.vol_model,
            single_vol=self._single_vol,
        )


_OPTION_KINDS = ("put", "call")


@dataclass(frozen=True, kw_only=True)
class OptionContract(_Options):
    """A dated option contract: absolute strikes, an expiry date, one decision variable.

    What a held option is: it ages (its time to expiry on a market state is
    ``calendar.between(market.asof, expiry)`` trading days) and keeps its strikes
    whatever the spot. In a :class:`~optihedge.HedgeProblem` it is priced, hedged and
    repriced in every scenario exactly as an :class:`OptionPackage` with that many
    days left; re-solving on a later market state ages it. Mint one from a package on
    a date with ``Put(...).contract(market)``.

    Parameters
    ----------
    underlying : str
        Risk-model asset or factor the options are on.
    options : sequence of (kind, strike, ratio)
        The legs: ``"put"`` or ``"call"``, the strike in the underlying's points (> 0),
        the ratio per unit of position (e.g. ``-1`` for the short call of a collar).
    expiry : date, datetime, Timestamp or ISO 8601 str
        The expiry date.
    calendar : TradingCalendar, default DEFAULT_CALENDAR
        Trading days the time to expiry counts.
    multiplier : float, default 100
        Units of the underlying per contract.
    implied_vol : float, optional
        The at-the-money volatility (the skew sets each leg's), or, for a single
        option with ``single_vol=True`` (a minted :class:`Put` or :class:`Call`), its
        own implied volatility. None: the market state's volatility of the underlying.
    vol_model : VolatilityModel
        How volatility moves in a scenario and across strikes.
    single_vol : bool, default False
        Whether ``implied_vol`` is the volatility at the (only) strike.

    Raises
    ------
    SpecificationError
        A leg that is not ``(kind, strike, ratio)``, an expiry that is not a date; on
        pricing, a market state without ``asof`` or on or after the expiry date.
    """

    kind: ClassVar[str] = "option_contract"

    options: tuple[tuple[str, float, float], ...]
    expiry: pd.Timestamp
    calendar: TradingCalendar = DEFAULT_CALENDAR
    single_vol: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        name = self.name
        legs = self.options
        if isinstance(legs, str | bytes) or not isinstance(legs, Sequence) or not legs:
            raise SpecificationError(
                f"The 'options' of {name} must be a non-empty sequence of (kind, strike, ratio) "
                f"legs, e.g. [('put', 3600.0, 1.0)]. Got {legs!r}."
            )
        out = []
        for i, leg in enumerate(legs):
            if not isinstance(leg, Sequence) or isinstance(leg, str) or len(leg) != 3:
                raise SpecificationError(
                    f"Leg {i} of {name}.options must be (kind, strike, ratio), e.g. "
                    f"('put', 3600.0, 1.0). Got {leg!r}."
                )
            kind, strike, ratio = leg
            if kind not in _OPTION_KINDS:
                raise SpecificationError(
                    f"The kind of leg {i} of {name}.options must be 'put' or 'call'. Got {kind!r}."
                )
            where = f"{name}.options[{i}]"
            k = check_scalar(strike, f"{where}.strike", lower=0.0, lower_inclusive=False)
            r = check_scalar(ratio, f"{where}.ratio")
            out.append((str(kind), k, r))
        object.__setattr__(self, "options", tuple(out))
        object.__setattr__(self, "expiry", as_asof(self.expiry, f"{name}.expiry").normalize())
        if not isinstance(self.calendar, TradingCalendar):
            raise SpecificationError(
                f"The 'calendar' of {name} must be a TradingCalendar. Got "
                f"{type(self.calendar).__name__}."
            )
        if not isinstance(self.single_vol, bool):
            raise SpecificationError(
                f"The 'single_vol' of {name} must be True or False. Got {self.single_vol!r}."
            )
        if self.single_vol and len(out) != 1:
            raise SpecificationError(
                f"{name} has {len(out)} legs: single_vol=True (implied_vol at the strike) "
                "needs exactly one."
            )

    @property
    def _single_vol(self) -> bool:
        return self.single_vol

    def leg_terms(self) -> list[tuple[str, float | None, float | None, float]]:
        """Return the legs with their absolute strikes (no moneyness)."""
        return [(kind, None, strike, ratio) for kind, strike, ratio in self.options]

    def market_requirements(self) -> frozenset[str]:
        """Need the spot, the date, and the volatility unless ``implied_vol`` is given."""
        return super().market_requirements() | {"asof"}

    def days_to_expiry(self, market: MarketState) -> int:
        """Trading days from ``market.asof`` to the expiry date (<= 0 once expired).

        Raises
        ------
        SpecificationError
            If the market state has no ``asof``.
        """
        if not isinstance(market, MarketState):
            raise SpecificationError(
                f"{self.name} needs a MarketState with an 'asof' date. Got {type(market).__name__}."
            )
        if market.asof is None:
            raise SpecificationError(
                f"{self.name} expires on {self.expiry:%Y-%m-%d} and needs the market's date to "
                "count its time left: pass MarketState(asof=...)."
            )
        return self.calendar.between(market.asof, self.expiry)

    def days_left(self, market: MarketState) -> int:
        """Trading days left to expiry on ``market.asof`` (>= 1).

        Raises
        ------
        SpecificationError
            If the market state has no ``asof``, or its date is on or after the expiry
            (an expired contract is not a hedge: roll it or drop it).
        """
        days = self.days_to_expiry(market)
        if days <= 0:
            assert market.asof is not None
            raise SpecificationError(
                f"{self.name} expired on {self.expiry:%Y-%m-%d}, on or before the market's "
                f"asof {market.asof:%Y-%m-%d}: it has no time left to price or hedge with. "
                "Roll it (contract.roll(market, into=...)) or drop it from the instruments; "
                "value(market) still gives its intrinsic value."
            )
        return days

    def value(self, market: MarketState) -> float:
        """Value of ONE contract, base currency (Black-Scholes x ``multiplier``).

        On or after the expiry date: the intrinsic value at the market's spot (what the
        contract pays), times ``multiplier``.
        """
        if self.days_to_expiry(market) > 0:
            return super().value(market)
        spot = market.spot_of(self.underlying)
        payoff = sum(
            ratio * max((spot - strike) if kind == "call" else (strike - spot), 0.0)
            for kind, strike, ratio in self.options
        )
        return float(payoff) * float(self.multiplier)

    def roll(
        self,
        market: MarketState,
        into: OptionPackage,
        *,
        contracts: float = 1.0,
        label: str | None = None,
    ) -> tuple[OptionContract, float]:
        """Sell this contract and buy the next of the series ``into``, on ``market``.

        Returns
        -------
        (OptionContract, float)
            The contract bought (``into.contract(market)``) and the cash booked, base
            currency: ``contracts * (value(self) - value(new))`` (positive when the sale
            brings in more than the purchase costs). Trading costs are not included.
        """
        if not isinstance(into, OptionPackage):
            raise SpecificationError(
                f"{self.name}.roll needs the series to buy, an OptionPackage (e.g. Put(...)); "
                f"got {type(into).__name__}."
            )
        n = check_scalar(contracts, f"{self.name}.roll contracts")
        new = into.contract(market, label=label, calendar=self.calendar)
        return new, n * (self.value(market) - new.value(market))


def _strike_or_moneyness(
    inst: Instrument, strike: float | None, moneyness: float | None
) -> tuple[float | None, float | None]:
    if strike is not None and moneyness is not None:
        raise SpecificationError(
            f"{inst.name} takes a 'strike' or a 'moneyness', not both (got strike={strike!r}, "
            f"moneyness={moneyness!r})."
        )
    if strike is not None:
        return None, check_scalar(strike, f"{inst.name}.strike", lower=0.0, lower_inclusive=False)
    m = 1.0 if moneyness is None else check_moneyness(moneyness, f"{inst.name}.moneyness")
    return m, None


@dataclass(frozen=True, kw_only=True)
class _Vanilla(OptionPackage):
    """One European option: ``strike`` (index points) or ``moneyness`` (default 1).

    A ``strike`` is checked against the market's spot when the option is priced:
    strike / spot must lie in the moneyness range (0.2 to 5).
    """

    option: ClassVar[str]

    strike: float | None = None
    moneyness: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _strike_or_moneyness(self, self.strike, self.moneyness)

    @property
    def _single_vol(self) -> bool:
        return True

    def leg_terms(self) -> list[tuple[str, float | None, float | None, float]]:
        """One long option."""
        m, k = _strike_or_moneyness(self, self.strike, self.moneyness)
        return [(self.option, m, k, 1.0)]


@dataclass(frozen=True, kw_only=True)
class Put(_Vanilla):
    """A European put: ``strike`` (index points) or ``moneyness`` (strike / spot, default 1)."""

    kind: ClassVar[str] = "put"
    option: ClassVar[str] = "put"


@dataclass(frozen=True, kw_only=True)
class Call(_Vanilla):
    """A European call: ``strike`` or ``moneyness`` (strike / spot, default 1)."""

    kind: ClassVar[str] = "call"
    option: ClassVar[str] = "call"


@dataclass(frozen=True, kw_only=True)
class Collar(OptionPackage):
    """A long put financed by a short call, one unit of each per unit of x.

    Protection below ``put_moneyness``, upside given away above ``call_moneyness``
    (strikes / spot; ``put_moneyness`` lower).
    """

    kind: ClassVar[str] = "collar"

    put_moneyness: float
    call_moneyness: float

    def __post_init__(self) -> None:
        super().__post_init__()
        p = check_moneyness(self.put_moneyness, f"{self.name}.put_moneyness")
        c = check_moneyness(self.call_moneyness, f"{self.name}.call_moneyness")
        if not p < c:
            raise SpecificationError(
                f"{self.name} needs put_moneyness < call_moneyness (the put protects below, the "
                f"call caps above). Got {p!r} and {c!r}."
            )

    def leg_terms(self) -> list[tuple[str, float | None, float | None, float]]:
        """Long one put, short one call."""
        return [("put", self.put_moneyness, None, 1.0), ("call", self.call_moneyness, None, -1.0)]


@dataclass(frozen=True, kw_only=True)
class PutSpread(OptionPackage):
    """A long put at ``upper_moneyness`` and a short put at ``lower_moneyness``.

    Protection between the two strikes, for less premium than the put alone.
    """

    kind: ClassVar[str] = "put_spread"

    upper_moneyness: float
    lower_moneyness: float

    def __post_init__(self) -> None:
        super().__post_init__()
        u = check_moneyness(self.upper_moneyness, f"{self.name}.upper_moneyness")
        lo = check_moneyness(self.lower_moneyness, f"{self.name}.lower_moneyness")
        if not lo < u:
            raise SpecificationError(
                f"{self.name} needs lower_moneyness < upper_moneyness (long the upper put, short "
                f"the lower). Got upper {u!r} and lower {lo!r}."
            )

    def leg_terms(self) -> list[tuple[str, float | None, float | None, float]]:
        """Long the upper put, short the lower put."""
        return [("put", self.upper_moneyness, None, 1.0), ("put", self.lower_moneyness, None, -1.0)]


@dataclass(frozen=True, kw_only=True)
class EventContract(Instrument):
    """A binary contract: pays ``payout`` per contract if ``event`` happens, costs ``price``.

    ``price / payout`` is the market's probability of the event. Position unit: ``x`` =
    payout notional / the book's value (what the contracts pay if the event happens);
    the stake is ``x * price / payout``. Its return per unit of ``x`` in a scenario is
    ``1{event} - price / payout``, the event resolving within the horizon: its risk
    lives only in the scenarios (the event is a 0/1 column of them, see
    ``Scenarios.with_event``), so it needs a scenario objective (expected shortfall).
    Bought only, by default.
    """

    kind: ClassVar[str] = "event"

    event: str
    payout: float = 1.0
    lower: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.event, str) or not self.event:
            raise SpecificationError(
                f"The 'event' of {self.name} must name a scenario event (a str). "
                f"Got {self.event!r}."
            )
        payout = check_scalar(self.payout, f"{self.name}.payout", lower=0.0, lower_inclusive=False)
        if not self.price < payout:
            raise SpecificationError(
                f"The 'price' of {self.name} must lie below its payout ({payout!r}): it is the "
                f"market's probability of the event times the payout. Got {self.price!r}."
            )

    @property
    def market_probability(self) -> float:
        """``price / payout``: the market's probability of the event."""
        return self.price / self.payout

    def attributes(self, market: MarketState | None = None) -> dict[str, float]:
        """Premium ``price / payout``; its risk is in the scenarios only."""
        return super().attributes(market) | {
            "premium": self.market_probability,
            "contract_value": self.payout,
            "scenario_only": 1.0,
        }

    def scenario_returns(
        self, scenarios: Scenarios, market: MarketState | None = None
    ) -> np.ndarray:
        """``1{event} - price / payout`` in each scenario."""
        return scenarios.event(self.event, owner=self.name) - self.market_probability

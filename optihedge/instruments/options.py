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

In a scenario over ``h`` trading days each leg is repriced with Black-Scholes at the
scenario's underlying level :math:`S_0(1 + R_s)`, the remaining time
``(expiry - h) / 252`` years and the scenario's volatility
(:class:`optihedge.pricing.VolatilityModel`: the level moves with the underlying, the
skew follows the moneyness); a leg that expires inside the horizon pays its intrinsic
value at the underlying's level on its expiry day (where the scenarios have daily paths;
at the horizon otherwise). The return per unit of ``x`` is
:math:`(V_s - V_0)/S_0`. Vectorised over scenarios.

Options are bought by default (``lower = 0``): pass ``lower=-math.inf`` to let the
optimizer write them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from optihedge._plausible import (
    TRADING_DAYS,
    check_expiry_days,
    check_moneyness,
    check_strike,
    check_volatility,
)
from optihedge._validation import check_scalar
from optihedge.errors import SpecificationError
from optihedge.instruments._base import Instrument, MarketState
from optihedge.pricing.black_scholes import black_scholes, greeks
from optihedge.pricing.volatility import VolatilityModel

if TYPE_CHECKING:
    from optihedge.scenarios import Scenarios

__all__ = ["Call", "Collar", "EventContract", "OptionPackage", "Put", "PutSpread"]

# The moneyness range (strike / spot), the longest expiry and the volatility bound are
# shared plausibility bounds: optihedge._plausible.


@dataclass(frozen=True)
class _Leg:
    kind: str
    strike: float
    ratio: float
    sigma: float  # volatility today at this strike


@dataclass(frozen=True, kw_only=True)
class OptionPackage(Instrument):
    """European options on one underlying with fixed leg ratios: one decision variable.

    Subclasses give the legs (:meth:`leg_terms`). Fields common to every package:

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

    kind: ClassVar[str] = "option"

    underlying: str
    expiry: int = 63
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
        check_expiry_days(self.expiry, f"{self.name}.expiry")
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

    @property
    def _single_vol(self) -> bool:
        """Whether ``implied_vol`` is the volatility at the (only) strike."""
        return False

    @property
    def years(self) -> float:
        """Time to expiry today, years (252 trading days a year)."""
        return self.expiry / TRADING_DAYS

    def legs(self, market: MarketState) -> list[_Leg]:
        """Return the legs with their strikes and today's volatilities in ``market``."""
        spot = market.spot_of(self.underlying)
        out = []
        for kind, moneyness, strike, ratio in self.leg_terms():
            if strike is not None:
                check_strike(strike, spot, f"{self.name}.strike", f"spot of {self.underlying!r}")
            k = strike if strike is not None else spot * (moneyness or 1.0)
            if self.implied_vol is not None and self._single_vol:
                sigma = float(self.implied_vol)
            else:
                atm = (
                    market.volatility_of(self.underlying)
                    if self.implied_vol is None
                    else float(self.implied_vol)
                )
                skew = float(self.vol_model.skew_term(k / spot, self.years))
                sigma = max(atm + skew, self.vol_model.floor)
            out.append(_Leg(kind, k, ratio, sigma))
        return out

    # --------------------------------------------------------------- protocol
    def market_requirements(self) -> frozenset[str]:
        """Need the spot, and the volatility unless ``implied_vol`` is given."""
        return frozenset({"spot"} | ({"volatility"} if self.implied_vol is None else set()))

    def _greeks(self, market: MarketState) -> dict[str, float]:
        spot = market.spot_of(self.underlying)
        q = market.dividend_yield_of(self.underlying)
        out = dict.fromkeys(("value", "delta", "gamma", "vega", "theta"), 0.0)
        for leg in self.legs(market):
            args = (leg.kind, spot, leg.strike, self.years, market.rate, leg.sigma, q)
            g = greeks(*args)
            out["value"] += leg.ratio * float(black_scholes(*args))
            out["delta"] += leg.ratio * float(g.delta)
            out["gamma"] += leg.ratio * float(g.gamma)
            out["vega"] += leg.ratio * float(g.vega)
            out["theta"] += leg.ratio * float(g.theta)
        return out

    def exposures(self, market: MarketState | None = None) -> dict[str, float]:
        """Delta on the underlying per unit of covered notional."""
        if market is None:
            raise SpecificationError(f"{self.name} needs a MarketState (spot, volatility).")
        return {self.underlying: self._greeks(market)["delta"]}

    def attributes(self, market: MarketState | None = None) -> dict[str, float]:
        """Premium, Greeks, decay and contract notional per unit of x (module docstring)."""
        if market is None:
            raise SpecificationError(f"{self.name} needs a MarketState (spot, volatility).")
        g = self._greeks(market)
        spot = market.spot_of(self.underlying)
        premium = g["value"] / spot
        return super().attributes(market) | {
            "premium": premium,
            "annual_premium": premium / self.years,
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
        if market is None:
            raise SpecificationError(f"{self.name} needs a MarketState (spot, volatility).")
        spot0 = market.spot_of(self.underlying)
        q = market.dividend_yield_of(self.underlying)
        move = scenarios.column(self.underlying, owner=self.name)
        h = scenarios.horizon
        days_left = self.expiry - h
        value0 = 0.0
        value = np.zeros(scenarios.n_scenarios)
        legs = self.legs(market)
        if days_left <= 0:
            at_expiry = spot0 * (1.0 + scenarios.return_through(self.underlying, self.expiry))
        else:
            spot = spot0 * (1.0 + move)
            stated = scenarios.vol_moves_for(self.underlying)
            level = self.vol_model.level_move(move, h) if stated is None else stated
            tau = days_left / TRADING_DAYS
        for leg in legs:
            value0 += leg.ratio * float(
                black_scholes(leg.kind, spot0, leg.strike, self.years, market.rate, leg.sigma, q)
            )
            sign = 1.0 if leg.kind == "call" else -1.0
            if days_left <= 0:
                value += leg.ratio * np.maximum(sign * (at_expiry - leg.strike), 0.0)
                continue
            sigma = self.vol_model.scenario_vol(
                leg.sigma, leg.strike, spot0, spot, self.years, tau, level
            )
            value += leg.ratio * np.asarray(
                black_scholes(leg.kind, spot, leg.strike, tau, market.rate, sigma, q)
            )
        return np.asarray((value - value0) / spot0, dtype=np.float64)


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

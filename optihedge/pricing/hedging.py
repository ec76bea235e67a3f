r"""Textbook option hedges: portfolio insurance with index puts, dynamic delta hedging.

Units: ``value`` and costs in currency; index levels and strikes in index points;
``T`` in years; ``r`` and ``q`` annual decimals (continuously compounded in the pricing,
simple over ``T`` in the CAPM relation of :func:`portfolio_insurance`, as the textbook
states it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from optihedge._plausible import (
    MONEYNESS_RANGE,
    check_dividend_yield,
    check_rate,
    check_volatility,
    check_years,
)
from optihedge._validation import as_float_array, check_dates, check_int, check_scalar
from optihedge.errors import DataError
from optihedge.pricing.black_scholes import _kind_sign, black_scholes, greeks

__all__ = ["InsurancePlan", "delta_hedge_table", "portfolio_insurance"]


@dataclass(frozen=True)
class InsurancePlan:
    """Index puts that keep a portfolio's value above a floor at ``T``.

    Attributes
    ----------
    contracts : float
        Number of index put contracts to buy (exact; round to trade).
    strike : float
        Strike of the puts, index points.
    premium : float or None
        Cost of the puts in currency (Black-Scholes, when ``sigma`` was given).
    """

    contracts: float
    strike: float
    premium: float | None = None


def portfolio_insurance(
    value: float,
    beta: float,
    index_level: float,
    floor: float,
    *,
    T: float,
    r: float = 0.0,
    q: float = 0.0,
    multiplier: float = 100.0,
    sigma: float | None = None,
) -> InsurancePlan:
    r"""Protective index puts for a portfolio of the given beta (Hull, portfolio insurance).

    The strike is the index level at which the portfolio is worth ``floor`` at ``T``
    under the CAPM relation (excess returns, dividends included, both paying yield
    ``q``):

    .. math::
        \frac{F}{V} = 1 + rT + \beta\Big(\frac{K}{I_0} - 1 + qT - rT\Big) - qT

    and the number of contracts is :math:`\beta V / (I_0 \cdot \text{multiplier})`.
    With ``beta = 1`` the strike is simply :math:`I_0 F / V`.

    Parameters
    ----------
    value : float
        Portfolio value today, currency (> 0).
    beta : float
        The portfolio's beta to the index (> 0).
    index_level : float
        Index level today (> 0).
    floor : float
        Lowest portfolio value wanted at ``T``, currency (> 0). The strike it maps to
        must lie within the moneyness range of options (0.2 to 5 times
        ``index_level``): a floor outside it (one typed in the wrong unit, or far
        above the value) is refused with the floors that are allowed.
    T : float
        Years to the options' expiry, in (0, 30].
    r, q : float
        Annual rate and the index's dividend yield, decimals in [-0.2, 0.5].
    sigma : float, optional
        Index volatility, annual decimal in (0, 5], for the premium.

    Raises
    ------
    SpecificationError
        An argument outside its range or plausible bounds (``T=63`` for days, ``r=12``
        for percent: the message gives the fix).
    DataError
        A floor whose strike lies outside the moneyness range.

    Examples
    --------
    Hull's example: USD 500,000, beta 2, index 1,000, r 12%, q 4%, 3 months, floor
    USD 450,000: 10 puts struck at 960.

    >>> plan = portfolio_insurance(500_000, 2.0, 1000, 450_000, T=0.25, r=0.12, q=0.04)
    >>> round(plan.contracts, 6), round(plan.strike, 6)
    (10.0, 960.0)
    """
    v = check_scalar(value, "value", lower=0.0, lower_inclusive=False)
    b = check_scalar(beta, "beta", lower=0.0, lower_inclusive=False)
    i0 = check_scalar(index_level, "index_level", lower=0.0, lower_inclusive=False)
    f = check_scalar(floor, "floor", lower=0.0, lower_inclusive=False)
    t = check_years(T, "T")
    rate, div = check_rate(r, "r"), check_dividend_yield(q, "q")
    mult = check_scalar(multiplier, "multiplier", lower=0.0, lower_inclusive=False)

    def floor_at(moneyness: float) -> float:  # the CAPM relation, solved for the floor
        return v * (1.0 + rate * t + b * (moneyness - 1.0 + div * t - rate * t) - div * t)

    move = (f / v - 1.0 - rate * t + div * t) / b + rate * t - div * t
    strike = i0 * (1.0 + move)
    lo, hi = MONEYNESS_RANGE
    if not lo <= strike / i0 <= hi:
        where = (
            f"below anything index puts can protect: it maps to an index level of {strike:.6g}"
            if strike <= 0
            else f"implausible: it maps to a strike of {strike:.6g}, {strike / i0:.4g} times "
            f"the index level {i0:g}"
        )
        raise DataError(
            f"The 'floor' argument {f!r} is {where}; strike / index level must lie in "
            f"[{lo}, {hi}]. Pass a floor between {max(floor_at(lo), 0.0):.6g} and "
            f"{floor_at(hi):.6g} "
            "(currency, the portfolio's value at T)."
        )
    contracts = b * v / (i0 * mult)
    premium = None
    if sigma is not None:
        vol = check_volatility(sigma, "sigma")
        premium = contracts * mult * float(black_scholes("put", i0, strike, t, rate, vol, div))
    return InsurancePlan(contracts, strike, premium)


def delta_hedge_table(
    spot_path: Any,
    *,
    kind: str,
    strike: float,
    r: float,
    sigma: float,
    T: float,
    position: float,
    q: float = 0.0,
    steps_per_year: int = 52,
    delta_decimals: int | None = 3,
    lot: float = 100.0,
    rounding: float | None = None,
) -> pd.DataFrame:
    r"""Tabulate the step-by-step delta hedge of an option position (Hull's weekly tables).

    At each step the hedge holds :math:`-\text{position}\cdot\Delta` shares (``delta``
    rounded to ``delta_decimals``, shares to whole ``lot`` s), buying or selling the
    difference at that step's price; the cumulative cost accrues interest at ``r``
    (continuously compounded) over each step. The option's delta at the last step is its
    expiry limit (1 or 0 for a call in or out of the money).

    Parameters
    ----------
    spot_path : sequence or Series of float
        The underlying's price at each rebalancing date, starting today (a Series: its
        dates unique and increasing).
    kind : {"call", "put"}
    strike, r, sigma, q
        Option terms (annual decimals: ``sigma`` in (0, 5], ``r`` and ``q`` in
        [-0.2, 0.5]; 20 for 20% is refused with the fix).
    T : float
        Years to expiry at the first step, in (0, 30]; step ``k`` has
        ``T - k / steps_per_year`` left.
    position : float
        Options held (negative when written, e.g. ``-100_000``).
    rounding : float, optional
        Round each step's cost and interest to a multiple of this many currency units
        (half up, as the book does: -664.45 becomes -664.4) before accumulating, as
        printed tables do (Hull's are in thousands to one decimal: ``rounding=100``).
        ``None``: exact.

    Returns
    -------
    DataFrame indexed by step
        ``spot``, ``time_to_expiry`` (years), ``delta`` (per option), ``shares_held``,
        ``shares_bought``, ``cost`` (of the shares bought, currency),
        ``cumulative_cost`` (including interest, currency) and ``interest`` (accrued
        over the next step). ``attrs["hedging_cost"]`` is the net cost of hedging at
        the end (cumulative cost, less the hedge's value, less the option's payoff to
        the position); ``attrs["option_value"]`` the position's Black-Scholes value
        today, what the hedge costs in theory.
    """
    sign = _kind_sign(kind)
    if isinstance(spot_path, pd.Series):
        check_dates(spot_path.index, "spot_path")
    spots = as_float_array(
        spot_path.to_numpy() if isinstance(spot_path, pd.Series) else spot_path,
        "spot_path",
        lower=0.0,
        lower_inclusive=False,
    )
    if spots.ndim != 1 or len(spots) < 2:
        raise DataError(
            f"The 'spot_path' argument must be a 1-D sequence of at least 2 prices. Got shape "
            f"{spots.shape}."
        )
    k = check_scalar(strike, "strike", lower=0.0, lower_inclusive=False)
    vol = check_volatility(sigma, "sigma")
    years = check_years(T, "T")
    rate, div = check_rate(r, "r"), check_dividend_yield(q, "q")
    n_options = check_scalar(position, "position")
    steps = check_int(steps_per_year, "steps_per_year")
    size = check_scalar(lot, "lot", lower=0.0, lower_inclusive=False)
    unit = (
        None
        if rounding is None
        else check_scalar(rounding, "rounding", lower=0.0, lower_inclusive=False)
    )

    def rounded(amount: float) -> float:
        if unit is None:
            return amount
        return math.floor(amount / unit + 0.5 + 1e-9) * unit

    dt = 1.0 / steps
    remaining = years - dt * np.arange(len(spots))
    if remaining[-1] < -0.01 * dt:  # a hundredth of a step: T given to 4 decimals
        raise DataError(
            f"The 'spot_path' has {len(spots)} prices, {len(spots) - 1} steps of "
            f"{dt:.6g} years: longer than T = {years!r}. Pass at most {int(years * steps) + 1}."
        )
    remaining = np.maximum(remaining, 0.0)
    delta = np.asarray(greeks(kind, spots, k, remaining, rate, vol, div).delta, dtype=np.float64)
    if delta_decimals is not None:
        delta = np.round(delta, check_int(delta_decimals, "delta_decimals", lower=0))
    held = np.round(-n_options * delta / size) * size + 0.0
    bought = np.diff(held, prepend=0.0)
    cost = np.array([rounded(float(c)) for c in bought * spots])
    growth = math.expm1(rate * dt)
    cumulative = np.empty_like(cost)
    interest = np.empty_like(cost)
    running = 0.0
    for i, c in enumerate(cost):
        running += c
        cumulative[i] = running
        interest[i] = rounded(running * growth)
        running += interest[i]
    interest[-1] = 0.0  # nothing accrues after the last step
    payoff = max(sign * (spots[-1] - k), 0.0)
    table = pd.DataFrame(
        {
            "spot": spots,
            "time_to_expiry": remaining,
            "delta": delta,
            "shares_held": held,
            "shares_bought": bought,
            "cost": cost,
            "cumulative_cost": cumulative,
            "interest": interest,
        },
        index=pd.RangeIndex(len(spots), name="step"),
    )
    table.attrs["hedging_cost"] = float(cumulative[-1] - held[-1] * spots[-1] - n_options * payoff)
    table.attrs["option_value"] = float(
        -n_options * black_scholes(kind, spots[0], k, years, rate, vol, div)
    )
    return table

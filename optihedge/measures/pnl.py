r"""The one home of a hedge's P&L arithmetic: book and hedged P&L, the hedged book, carry, units.

Every result, sweep row and evaluation forms these numbers here, so that they agree to
the bit wherever they are shown (``HedgeResult``, a sweep's rows, ``oh.scenario_pnl``,
the attribution tables).

Units: positions ``x`` are fractions of the book's value (1.0 = a notional equal to the
book); returns and P&L are fractions of the book's value over the scenarios' horizon
unless stated; money is those fractions times the book's capital. Carry rates are per
year; :func:`carry_over` turns them into a horizon of periods of the data.

- :func:`book_pnl` -- the book's return in each scenario,
  :math:`b_s = \sum_h r_{s,h} w_h`;
- :func:`hedged_pnl` -- the hedged book's, :math:`b_s + \sum_i g_{s,i} x_i` (the
  function ``constraints.hedged_returns``: the terms of the problem form it too, in the
  layer below, so it is defined there once and named here);
- :func:`hedged_book` -- the hedged book's weights on the risk model's assets,
  :math:`w + E x`;
- :func:`annual_carry` -- carry per instrument per year (positive = a cost);
- :func:`carry_over` -- a per-year amount over a horizon of periods;
- :func:`premium_paid` -- the premium per instrument;
- :func:`units` -- contracts or shares per instrument, from contract values;
- :func:`turnover` and :func:`trade_cost` -- what trading from the current hedge moves
  and costs.
"""

from __future__ import annotations

import numpy as np

from constraints import hedged_returns
from optihedge._typing import FloatArray
from optihedge.calendar import Frequency

__all__ = [
    "annual_carry",
    "book_pnl",
    "carry_over",
    "hedged_book",
    "hedged_pnl",
    "premium_paid",
    "trade_cost",
    "turnover",
    "units",
]

hedged_pnl = hedged_returns
"""Return of book plus hedge in each scenario, ``book + instruments @ x``.

Parameters: ``book`` (n_scenarios,) from :func:`book_pnl`; ``instruments``
(n_scenarios, n_instruments), each instrument's return per unit of ``x`` (any float
dtype; the product is float64); ``x`` (n_instruments,) in fractions of the book's value.
Returns fractions of the book's value over the scenarios' horizon, float64.
"""


def book_pnl(asset_returns: np.ndarray, weights: np.ndarray) -> FloatArray:
    """Return the book's return in each scenario: ``asset_returns @ weights``.

    Parameters
    ----------
    asset_returns : ndarray of shape (n_scenarios, n_holdings)
        Simple returns of the holdings over the horizon, in the order of ``weights``.
    weights : ndarray of shape (n_holdings,)
        The book's weights (fractions of its value).

    Returns
    -------
    ndarray of shape (n_scenarios,)
        Fractions of the book's value over the horizon, float64.
    """
    return np.asarray(
        np.asarray(asset_returns, dtype=np.float64) @ np.asarray(weights, dtype=np.float64),
        dtype=np.float64,
    )


def hedged_book(book: np.ndarray, exposures: np.ndarray, x: np.ndarray) -> FloatArray:
    """Return the hedged book's weights on the risk model's assets: ``book + exposures @ x``.

    Parameters
    ----------
    book : ndarray of shape (n_assets,)
        The book's weights on the risk model's assets (fractions of its value).
    exposures : ndarray of shape (n_assets, n_instruments)
        Each instrument's delta exposure to each asset per unit of ``x``.
    x : ndarray of shape (n_instruments,)
        Positions, fractions of the book's value.

    Returns
    -------
    ndarray of shape (n_assets,)
        Fractions of the book's value.
    """
    return np.asarray(book + exposures @ x, dtype=np.float64)


def annual_carry(x: np.ndarray, carry_long: np.ndarray, carry_short: np.ndarray) -> FloatArray:
    """Return each instrument's carry per year: ``carry_long * x + carry_short * max(-x, 0)``.

    Parameters
    ----------
    x : ndarray of shape (n_instruments,)
        Positions, fractions of the book's value.
    carry_long : ndarray of shape (n_instruments,)
        Annual cost rate of a position, linear in it (a short earns it back): an
        option's time decay, an ETF's expense ratio, a future's cost of carry.
    carry_short : ndarray of shape (n_instruments,)
        Extra annual cost rate on short notional (a borrow fee).

    Returns
    -------
    ndarray of shape (n_instruments,)
        Fractions of the book's value per year (positive = a cost); times the capital
        for currency.
    """
    return np.asarray(carry_long * x + carry_short * np.maximum(-x, 0.0), dtype=np.float64)


def carry_over(annual: float | np.ndarray, periods: float, frequency: Frequency) -> FloatArray:
    """Return a per-year amount over ``periods`` periods of data of ``frequency``.

    ``annual * frequency.years(periods)`` (e.g. 21 daily periods are 21/252 of a year,
    13 weekly periods 13/52).

    Parameters
    ----------
    annual : float or ndarray
        Per year, in any unit (e.g. :func:`annual_carry`).
    periods : float
        The horizon, in periods of the data (trading days on daily data).
    frequency : Frequency
        The data's frequency (``optihedge.calendar.Frequency``).

    Returns
    -------
    ndarray
        In the unit of ``annual``, over the horizon.
    """
    return np.asarray(np.asarray(annual, dtype=np.float64) * frequency.years(periods))


def premium_paid(x: np.ndarray, premium: np.ndarray) -> FloatArray:
    """Return each instrument's premium: ``premium * x``.

    Parameters
    ----------
    x : ndarray of shape (n_instruments,)
        Positions, fractions of the book's value.
    premium : ndarray of shape (n_instruments,)
        Premium per unit of notional (an option's price over the notional it covers;
        0 for linear instruments).

    Returns
    -------
    ndarray of shape (n_instruments,)
        Fractions of the book's value (positive = paid); times the capital for currency.
    """
    return np.asarray(premium * x, dtype=np.float64)


def units(x: np.ndarray, contract_value: np.ndarray) -> FloatArray:
    """Return contracts or shares per instrument: ``x / contract_value``, not rounded.

    Parameters
    ----------
    x : ndarray of shape (n_instruments,)
        Positions, fractions of the book's value.
    contract_value : ndarray of shape (n_instruments,)
        Value of one contract or share, as a fraction of the book's value (the
        ``contract_value`` attribute of the problem's data).

    Returns
    -------
    ndarray of shape (n_instruments,)
        Contracts (options, futures, event contracts) or shares (ETFs); NaN where the
        contract value is unknown, not finite or not positive.
    """
    cv = np.asarray(contract_value, dtype=np.float64)
    known = np.isfinite(cv) & (cv > 0)
    out = np.full(np.shape(x), np.nan)
    np.divide(x, cv, out=out, where=known)
    return out


def turnover(x: np.ndarray, current: np.ndarray) -> float:
    """Return ``sum |x - current|``: the notional traded, as a fraction of the book's value."""
    return float(np.abs(x - current).sum())


def trade_cost(x: np.ndarray, current: np.ndarray, cost: np.ndarray) -> float:
    """Return ``sum cost * |x - current|``: what trading to ``x`` costs.

    Parameters
    ----------
    x, current : ndarray of shape (n_instruments,)
        The new and the current positions, fractions of the book's value.
    cost : ndarray of shape (n_instruments,)
        Cost per unit of notional traded (the ``cost`` attribute: half the spread plus
        fees, as a fraction).

    Returns
    -------
    float
        A fraction of the book's value; times the capital for currency.
    """
    return float(cost @ np.abs(x - current))

"""Evaluate a hedge on scenarios it was not optimised on (stress windows, other draws)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from optihedge._validation import format_labels
from optihedge.errors import MissingLabelsError, SpecificationError
from optihedge.instruments import EventContract, Instrument, MarketState
from optihedge.measures import pnl
from optihedge.measures.sizing import kelly_fraction
from optihedge.optimize.data import by_instrument, check_instruments, scenario_matrix
from optihedge.portfolio import Portfolio
from optihedge.scenarios import Scenarios

__all__ = ["kelly_comparison", "scenario_pnl"]


def _check_type(value: object, kind: type, name: str, fix: str) -> None:
    """Refuse an argument of the wrong type with a message naming it and the fix."""
    if not isinstance(value, kind):
        raise SpecificationError(
            f"The '{name}' argument must be a {kind.__name__}. Got {type(value).__name__}: {fix}."
        )


def scenario_pnl(
    portfolio: Portfolio,
    instruments: Sequence[Instrument],
    weights: pd.Series,
    scenarios: Scenarios,
    market_state: MarketState | None = None,
) -> pd.DataFrame:
    """Return of the book and of the hedged book in each scenario.

    Parameters
    ----------
    portfolio : Portfolio
    instruments : sequence of Instrument
    weights : Series by instrument label
        Hedge positions, fractions of the book's value (e.g. ``result.weights``);
        instruments it omits are held at zero, labels it has that no instrument has are
        an error.
    scenarios : Scenarios
        Any scenarios covering the book's holdings and the instruments' underlyings.
    market_state : MarketState, optional

    Returns
    -------
    DataFrame of shape (n_scenarios, 2), indexed by scenario
        ``before`` (the book) and ``after`` (book plus hedge), simple returns over the
        scenarios' horizon as fractions of the book's value; ``attrs["horizon_days"]``
        (trading days), ``attrs["horizon"]`` (in words: ``"13 weeks"``) and
        ``attrs["frequency"]``.
    """
    _check_type(portfolio, Portfolio, "portfolio", "build it with Portfolio.from_holdings")
    _check_type(scenarios, Scenarios, "scenarios", "build them with Scenarios.from_returns")
    if market_state is not None:
        _check_type(market_state, MarketState, "market_state", "pass a MarketState or None")
    labels = check_instruments(instruments)
    x = by_instrument(weights, labels, "weights").to_numpy(dtype=np.float64)
    book_weights = portfolio.weights
    missing = book_weights.index.difference(scenarios.returns.columns)
    if len(missing):
        raise MissingLabelsError(
            f"The scenarios lack holdings {format_labels(missing)} of the portfolio."
        )
    book = pnl.book_pnl(
        scenarios.returns[book_weights.index].to_numpy(np.float64), book_weights.to_numpy()
    )
    market = MarketState() if market_state is None else market_state
    after = pnl.hedged_pnl(book, scenario_matrix(instruments, scenarios, market), x)
    out = pd.DataFrame({"before": book, "after": after}, index=scenarios.returns.index)
    out.attrs["horizon_days"] = scenarios.horizon_days
    out.attrs["horizon"] = scenarios.horizon_label
    out.attrs["frequency"] = str(scenarios.frequency)
    return out


def kelly_comparison(
    weights: pd.Series, instruments: Sequence[Instrument], scenarios: Scenarios
) -> pd.DataFrame:
    r"""Compare the optimizer's event-contract sizes with the Kelly fraction.

    For a contract priced at the market's probability :math:`p` (price / payout) on an
    event you give probability :math:`q` (its probability-weighted frequency in the
    scenarios), Kelly stakes :math:`f^* = (q - p) / (1 - p)` of capital on it (a bet
    paying :math:`(1 - p)/p` to 1; negative: the edge is the other side). The
    optimizer sizes the contract for the book's risk, not for growth: the two answer
    different questions, and the table shows by how much they differ.

    Parameters
    ----------
    weights : Series by instrument label
        Positions (e.g. ``result.weights``): payout notional / capital for a contract.
    instruments : sequence of Instrument
        The problem's instruments; the event contracts among them are compared.
    scenarios : Scenarios
        The scenarios with the events (your probabilities).

    Returns
    -------
    DataFrame by contract
        ``user_probability``, ``market_probability``, ``stake`` (premium paid as a
        fraction of capital: weight x market probability), ``kelly_stake`` (the Kelly
        fraction of capital) and ``stake_over_kelly``.
    """
    _check_type(scenarios, Scenarios, "scenarios", "pass the Scenarios with the events")
    labels = check_instruments(instruments)
    x = by_instrument(weights, labels, "weights")
    contracts = [i for i in instruments if isinstance(i, EventContract)]
    if not contracts:
        raise SpecificationError(
            "kelly_comparison needs at least one EventContract among the 'instruments'."
        )
    p_s = scenarios.probability_array()
    rows = {}
    for c in contracts:
        q = float(p_s @ scenarios.event(c.event, owner=c.name))
        p = c.market_probability
        kelly = kelly_fraction(q, (1.0 - p) / p)
        stake = float(x[c.label]) * p
        rows[c.label] = {
            "user_probability": q,
            "market_probability": p,
            "stake": stake,
            "kelly_stake": kelly,
            "stake_over_kelly": stake / kelly if kelly != 0 else np.nan,
        }
    return pd.DataFrame.from_dict(rows, orient="index")

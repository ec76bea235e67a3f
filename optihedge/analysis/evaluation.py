"""Evaluate a hedge on scenarios it was not optimised on (stress windows, other draws)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from constraints import hedged_returns
from optihedge._validation import format_labels
from optihedge.errors import MissingLabelsError
from optihedge.instruments import Instrument, MarketState
from optihedge.optimize.data import by_instrument, check_instruments, scenario_matrix
from optihedge.portfolio import Portfolio
from optihedge.scenarios import Scenarios

__all__ = ["scenario_pnl"]


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
        scenarios' horizon as fractions of the book's value; ``attrs["horizon_days"]``.
    """
    labels = check_instruments(instruments)
    x = by_instrument(weights, labels, "weights").to_numpy(dtype=np.float64)
    book_weights = portfolio.weights
    missing = book_weights.index.difference(scenarios.returns.columns)
    if len(missing):
        raise MissingLabelsError(
            f"The scenarios lack holdings {format_labels(missing)} of the portfolio."
        )
    book = scenarios.returns[book_weights.index].to_numpy(np.float64) @ book_weights.to_numpy()
    market = MarketState() if market_state is None else market_state
    after = hedged_returns(book, scenario_matrix(instruments, scenarios, market), x)
    out = pd.DataFrame({"before": book, "after": after}, index=scenarios.returns.index)
    out.attrs["horizon_days"] = scenarios.horizon
    return out

"""The book to hedge: holdings by ticker, or a track record and a value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from optihedge._validation import as_sample, check_scalar
from optihedge.errors import DataError

__all__ = ["Portfolio"]


@dataclass(frozen=True)
class Portfolio:
    """A book: market value per holding, in the base currency.

    Build one with :meth:`from_holdings` or :meth:`from_returns`.

    Attributes
    ----------
    holdings : Series by ticker
        Market value of each holding (negative = short), base currency.
    returns : Series, optional
        The book's own daily return history, when it is known only by its track record.
    """

    holdings: pd.Series
    returns: pd.Series | None = None

    @classmethod
    def from_holdings(cls, values: Any) -> Portfolio:
        """Build a book from market values by ticker (a Series or a dict).

        Raises
        ------
        DataError
            On NaN or infinite values, duplicate tickers, or a total value that is not
            positive.
        MissingLabelsError
            On duplicate tickers.
        """
        if isinstance(values, dict):
            values = pd.Series(values, dtype=np.float64)
        if not isinstance(values, pd.Series):
            raise DataError(
                "The 'values' argument must be a Series or dict of market value by ticker. "
                f"Got {type(values).__name__} instead."
            )
        holdings = as_sample(values, "values")
        total = float(holdings.sum())
        if not total > 0:
            raise DataError(
                f"The 'values' argument must add up to a positive book value. Got {total!r}."
            )
        return cls(holdings=holdings.rename("value"))

    @classmethod
    def from_returns(cls, returns: pd.Series, value: float, name: str | None = None) -> Portfolio:
        """Build a book known only by its daily returns and its current value.

        The risk model must then contain an asset named ``name`` (e.g. fit it on the
        book's returns next to the hedge instruments' underlyings). ``name`` defaults to
        the Series' name, else ``"book"``.
        """
        v = check_scalar(value, "value", lower=0.0, lower_inclusive=False)
        r = as_sample(returns, "returns")
        if name is None:
            name = str(returns.name) if getattr(returns, "name", None) is not None else "book"
        return cls(holdings=pd.Series({name: v}, name="value"), returns=r.rename(name))

    @property
    def value(self) -> float:
        """Total market value V, base currency."""
        return float(self.holdings.sum())

    @property
    def weights(self) -> pd.Series:
        """Holdings as fractions of V."""
        return (self.holdings / self.value).rename("weight")

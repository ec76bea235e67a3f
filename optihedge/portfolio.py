"""The book to hedge: holdings by ticker (long, short or both), or a track record and a value.

Every fraction in optihedge (positions, weights, limits) is measured against the book's
**capital**. For a long book that is its net market value; a short book (an airline
short jet fuel) or a market-neutral one (net value near zero) must state it, since a
fraction of a near-zero or negative number means nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optihedge._validation import (
    align_labels,
    as_sample,
    check_dates,
    check_returns,
    check_scalar,
)
from optihedge.errors import DataError, SpecificationError

__all__ = ["MIN_NET_SHARE", "Portfolio"]

#: Below this share of the gross value, the net value is not used as capital by default:
#: a long-short book netting to 10% of its gross is levered ten times, and fractions of
#: a smaller net blow up (a book of +1,000,000 and -999,999 nets to 1).
MIN_NET_SHARE = 0.10


def _series_of(values: Any, name: str, what: str) -> pd.Series:
    """Return a Series or dict of numbers by ticker as a Series (not yet checked)."""
    if isinstance(values, Mapping) and not isinstance(values, pd.Series):
        try:
            values = pd.Series(dict(values), dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"The '{name}' argument must map tickers to {what} (numbers).") from exc
    if not isinstance(values, pd.Series):
        raise DataError(
            f"The '{name}' argument must be a Series or dict of {what} by ticker. "
            f"Got {type(values).__name__} instead."
        )
    return values


def _by_ticker(values: Any, name: str, what: str) -> pd.Series:
    """Return a Series or dict of numbers by ticker as a finite float Series."""
    return as_sample(_series_of(values, name, what), name)


def _prices(values: Any) -> pd.Series:
    """Return prices by ticker, each finite and > 0; a bad one is named by its ticker."""
    values = _series_of(values, "prices", "prices")
    try:
        raw = values.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError("The 'prices' argument must map tickers to prices (numbers).") from exc
    with np.errstate(invalid="ignore"):
        bad = raw[~(np.isfinite(raw.to_numpy()) & (raw.to_numpy() > 0))]
    if len(bad):
        shown = ", ".join(f"{k!r}: {float(v)!r}" for k, v in list(bad.items())[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise DataError(
            f"The 'prices' argument must hold finite prices > 0. Got {{{shown}}}{more}; "
            "pass each ticker's last traded price in the base currency (a position "
            "without a price cannot be valued: drop it or price it)."
        )
    return as_sample(values, "prices")


def _holdings(values: Any) -> pd.Series:
    return _by_ticker(values, "holdings", "market values").rename("value")


@dataclass(frozen=True)
class Portfolio:
    """A book: market value per holding, in the base currency.

    Build one with :meth:`from_holdings` (or ``Portfolio(holdings, capital=...)``,
    which validates the same way) or :meth:`from_returns`.

    Attributes
    ----------
    holdings : Series by ticker
        Market value of each holding (negative = short), base currency.
    returns : Series, optional
        The book's own daily return history, when it is known only by its track record.
    capital : float
        What every fraction is measured against (base currency, > 0): the net value of
        the holdings by default when that is at least ``MIN_NET_SHARE`` of their gross
        value; required otherwise.
    currency : str, default "USD"
        The base currency, printed beside every money figure.
    """

    holdings: pd.Series
    returns: pd.Series | None = None
    capital: float | None = field(default=None)
    currency: str = "USD"

    def __post_init__(self) -> None:
        holdings = _holdings(self.holdings)
        object.__setattr__(self, "holdings", holdings)
        if not isinstance(self.currency, str) or not self.currency:
            raise SpecificationError(
                f"The 'currency' argument must be a non-empty str. Got {self.currency!r}."
            )
        net, gross = float(holdings.sum()), float(holdings.abs().sum())
        if self.capital is not None:
            capital = check_scalar(self.capital, "capital", lower=0.0, lower_inclusive=False)
        elif net > 0 and net >= MIN_NET_SHARE * gross:
            capital = net
        else:
            raise DataError(
                f"The book's net value is {net:,.2f} against a gross value of {gross:,.2f}, "
                f"so its fractions would mean nothing: pass capital=... (the amount limits "
                "and positions are measured against, e.g. the fund's net asset value or "
                "the notional of the exposure being hedged)."
            )
        with np.errstate(over="ignore", divide="ignore"):
            fractions = holdings.to_numpy() / capital
        if not np.isfinite(fractions).all():
            raise DataError(
                f"The 'capital' argument ({capital!r}) is too small for holdings of up to "
                f"{float(holdings.abs().max()):,.2f}: their fractions of it overflow."
            )
        object.__setattr__(self, "capital", capital)

    @classmethod
    def from_holdings(
        cls, holdings: Any, *, capital: float | None = None, currency: str = "USD"
    ) -> Portfolio:
        """Build a book from market values by ticker (a Series or a dict).

        Parameters
        ----------
        holdings : Series or dict of ticker -> market value
            Negative values are short positions.
        capital : float, optional
            What fractions are measured against; the net value by default when it is
            positive and at least ``MIN_NET_SHARE`` of the gross value.
        currency : str, default "USD"

        Raises
        ------
        DataError
            On NaN or infinite values, a type that is not a Series or dict, or a net value
            that cannot serve as capital when none is given.
        MissingLabelsError
            On duplicate tickers.
        """
        return cls(holdings=holdings, capital=capital, currency=currency)

    @classmethod
    def from_shares(
        cls,
        shares: Any,
        prices: Any,
        *,
        capital: float | None = None,
        currency: str = "USD",
    ) -> Portfolio:
        """Build a book from quantities and prices by ticker.

        Each holding's market value is ``shares * prices``, matched by ticker (the
        order of the two inputs does not matter); the book is then the one
        :meth:`from_holdings` builds from those values, so its capital is their sum
        (the net value) unless ``capital`` is given.

        Parameters
        ----------
        shares : Series or dict of ticker -> quantity
            Number of shares (units) held; negative = short.
        prices : Series or dict of ticker -> price
            Price per share in the base currency, finite and > 0, for the same tickers.
        capital : float, optional
            What fractions are measured against; the net value by default when it is
            positive and at least ``MIN_NET_SHARE`` of the gross value (required
            otherwise, e.g. for a short or market-neutral book).
        currency : str, default "USD"

        Returns
        -------
        Portfolio
            ``holdings`` = shares * prices, ``weights`` = holdings / capital.

        Raises
        ------
        MissingLabelsError
            If the tickers of ``shares`` and ``prices`` differ (naming those in only
            one), or either has duplicate tickers.
        DataError
            On NaN or infinite quantities, a price that is NaN, infinite, zero or
            negative (naming the ticker), or a net value that cannot serve as capital
            when none is given.
        """
        q = _by_ticker(shares, "shares", "quantities")
        p = _prices(prices)
        align_labels(q, p, ("shares", "prices"))
        holdings = (q * p.reindex(q.index)).rename("value")
        return cls(holdings=holdings, capital=capital, currency=currency)

    @classmethod
    def from_returns(
        cls,
        returns: pd.Series,
        value: float,
        name: str | None = None,
        *,
        currency: str = "USD",
    ) -> Portfolio:
        """Build a book known only by its daily returns and its current value.

        The risk model must then contain an asset named ``name`` (e.g. fit it on the
        book's returns next to the hedge instruments' underlyings). ``name`` defaults to
        the Series' name, else ``"book"``. The returns are checked like every other
        input of returns (``factor_models.validation.check_returns``).
        """
        v = check_scalar(value, "value", lower=0.0, lower_inclusive=False)
        if isinstance(returns, pd.Series | pd.DataFrame):
            check_dates(returns.index, "returns")
        r = as_sample(returns, "returns")
        check_returns(r.to_numpy(), "returns", [r.name])
        if name is None:
            name = str(returns.name) if getattr(returns, "name", None) is not None else "book"
        return cls(
            holdings=pd.Series({name: v}), returns=r.rename(name), capital=v, currency=currency
        )

    @property
    def value(self) -> float:
        """Net market value of the holdings, base currency."""
        return float(self.holdings.sum())

    @property
    def weights(self) -> pd.Series:
        """Holdings as fractions of the capital."""
        assert self.capital is not None
        return (self.holdings / self.capital).rename("weight")

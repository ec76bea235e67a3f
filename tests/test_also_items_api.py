"""Issue 20, "Also (found on the way)": Portfolio.from_shares, HedgeProblem.set,
SweepResult.select (and the plots on a multi-key sweep), expected shortfall's factor
split when only scenarios are given."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import optihedge as oh
from optihedge.errors import DataError, MissingLabelsError

# --------------------------------------------------------------------------------------
# 1. Portfolio.from_shares


def test_from_shares_hand_numbers() -> None:
    # 100 x 50 + 40 x 25 - 20 x 10 = 5000 + 1000 - 200 = 5800
    book = oh.Portfolio.from_shares(
        {"AAA": 100, "BBB": 40, "CCC": -20}, pd.Series({"CCC": 10.0, "AAA": 50.0, "BBB": 25.0})
    )
    assert book.capital == pytest.approx(5800.0)
    assert book.holdings.to_dict() == pytest.approx({"AAA": 5000.0, "BBB": 1000.0, "CCC": -200.0})
    assert book.weights["AAA"] == pytest.approx(5000.0 / 5800.0)
    assert book.weights["CCC"] == pytest.approx(-200.0 / 5800.0)
    assert book.currency == "USD"


def test_from_shares_short_book_with_capital() -> None:
    book = oh.Portfolio.from_shares({"JET": -1000}, {"JET": 2.5}, capital=10_000, currency="EUR")
    assert book.weights["JET"] == pytest.approx(-0.25)
    assert book.currency == "EUR"


@pytest.mark.parametrize(
    ("shares", "prices", "error", "match"),
    [
        (
            {"A": 1, "B": 2},
            {"A": 1.0, "C": 2.0},
            MissingLabelsError,
            r"\['B'\] only in 'shares'.*\['C'\] only in 'prices'",
        ),
        ({"A": 1}, {"A": float("nan")}, DataError, r"'prices'.*finite prices > 0.*'A': nan"),
        ({"A": 1}, {"A": math.inf}, DataError, r"'prices'.*'A': inf"),
        ({"A": 1, "B": 1}, {"A": 1.0, "B": 0.0}, DataError, r"'prices'.*'B': 0\.0"),
        ({"A": 1}, {"A": -3.0}, DataError, r"'prices'.*'A': -3\.0"),
        ({"A": float("nan")}, {"A": 1.0}, DataError, r"'shares'"),
        ({"A": 1, "B": -1}, {"A": 5.0, "B": 5.0}, DataError, r"net value is 0\.00.*pass capital="),
        ({"A": -2}, {"A": 5.0}, DataError, r"net value is -10\.00.*pass capital="),
        ([1, 2], {"A": 1.0}, DataError, r"'shares' argument must be a Series or dict"),
    ],
)
def test_from_shares_bad_inputs(shares, prices, error, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        oh.Portfolio.from_shares(shares, prices)


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=1_000_000),
            st.floats(min_value=0.01, max_value=10_000.0),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_from_shares_round_trip(rows: list[tuple[int, float]]) -> None:
    labels = [f"T{i}" for i in range(len(rows))]
    shares = pd.Series([float(q) for q, _ in rows], index=labels)
    prices = pd.Series([p for _, p in rows], index=labels).iloc[::-1]  # the other order
    book = oh.Portfolio.from_shares(shares, prices)
    assert book.capital is not None
    back = book.weights * book.capital / prices.reindex(book.weights.index)
    np.testing.assert_allclose(back.reindex(labels).to_numpy(), shares.to_numpy(), rtol=1e-12)
    assert book.capital == pytest.approx(float((shares * prices.reindex(labels)).sum()), rel=1e-12)

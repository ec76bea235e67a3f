"""Mutation-testing findings in ``measures/risk.py`` and ``measures/pnl.py`` (issue 24).

``tail_rows`` is the sparse form of the expected-shortfall tail rule that the cutting
planes read; its shortcuts (equal probabilities with a hint, a candidate tail for unequal
probabilities) must give the dense rule's weights, and only the rows that weigh. The
dense reference here is written out from the Acerbi-Tasche definition in the test
(sort, cumulate, share the boundary mass among the ties), not read from the library.
``measures.pnl`` promises float64 arrays and NaN for unknown numbers; both are checked
with inputs that would keep another dtype.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optihedge import risk
from optihedge.calendar import Frequency
from optihedge.errors import DataError
from optihedge.measures import pnl
from optihedge.measures.risk import tail_rows


def _dense_reference(losses: np.ndarray, p: np.ndarray, alpha: float) -> np.ndarray:
    """Acerbi-Tasche weights, by hand: p/(1-a) beyond the VaR, the boundary mass to ties."""
    tail = 1.0 - alpha
    order = np.argsort(-losses, kind="stable")  # largest loss first
    mass_above = 0.0
    w = np.zeros(len(losses))
    i = 0
    while i < len(order):
        level = losses[order[i]]
        group = order[losses[order] == level]
        group_p = p[group].sum()
        if mass_above + group_p < tail - 1e-12 * len(losses):
            w[group] = p[group] / tail
            mass_above += group_p
            i += len(group)
            continue
        left = max(tail - mass_above, 0.0)
        w[group] = left * p[group] / group_p / tail
        break
    return w


def _dense(rows: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n)
    out[rows] = weights
    return out


def _check(
    losses: np.ndarray, p: np.ndarray | None, alpha: float, rtol: float = 1e-12, **kw: float
) -> None:
    n = len(losses)
    rows, weights, var = tail_rows(losses, p, alpha, **kw)
    ref = _dense_reference(losses, np.full(n, 1.0 / n) if p is None else p, alpha)
    assert rows.ndim == 1
    assert weights.ndim == 1
    assert len(rows) == len(weights)
    # only the rows that weigh, each once
    # (a row beyond the reference's can only carry a rounding's weight: (1 - alpha) n is
    # rarely a whole number in floating point)
    assert np.all(weights > 0)
    assert len(np.unique(rows)) == len(rows)
    assert set(np.flatnonzero(ref)) <= set(rows.tolist())
    np.testing.assert_allclose(_dense(rows, weights, n), ref, rtol=rtol, atol=1e-14)
    # the VaR: the lower alpha-quantile of the losses (first cumulative probability >= alpha)
    order = np.argsort(losses, kind="stable")
    cum = np.cumsum((np.full(n, 1.0 / n) if p is None else p)[order])
    assert var == losses[order[np.searchsorted(cum, alpha - 1e-12)]]


class TestEqualProbabilities:
    @pytest.mark.parametrize("hint", [None, -10.0, 0.5, 1e9])
    def test_whole_number_tail(self, hint: float | None) -> None:
        # (1 - 0.75) x 100 = 25 scenarios fill the tail exactly (no rounding in 0.25 x 100):
        # weights 1/25 each, and the VaR's row, the 26th largest, does not weigh
        rng = np.random.default_rng(1)
        losses = rng.normal(size=100)
        rows, weights, var = tail_rows(losses, None, 0.75, hint=hint)
        np.testing.assert_array_equal(np.sort(rows), np.sort(np.argsort(losses)[-25:]))
        np.testing.assert_allclose(weights, np.full(25, 0.04), rtol=1e-13)
        assert var == np.sort(losses)[-26]
        _check(losses, None, 0.75, hint=hint)  # type: ignore[arg-type]

    def test_fractional_tail(self) -> None:
        losses = np.random.default_rng(2).normal(size=103)
        _check(losses, None, 0.95)
        _check(losses, None, 0.95, hint=0.0)

    def test_ties_at_the_var(self) -> None:
        losses = np.array([5.0, 4.0, 3.0, 3.0, 3.0, 1.0, 0.0, -1.0, -2.0, -3.0])
        # alpha 0.75: 2.5 scenarios in the tail: 5 and 4 whole, the three 3s share 0.5
        rows, weights, var = tail_rows(losses, None, 0.75)
        assert var == 3.0
        np.testing.assert_allclose(
            _dense(rows, weights, 10), [0.4, 0.4, 1 / 15, 1 / 15, 1 / 15, 0, 0, 0, 0, 0]
        )
        _check(losses, None, 0.75, hint=3.0)

    def test_tail_a_rounding_short_of_a_whole_number(self) -> None:
        # (1 - 0.9) x 1000 is 99.99999999999997 in floating point: the tail is 100 whole
        # scenarios (the VaR the 101st largest), as the dense rule's tolerance says
        losses = np.arange(1000, dtype=float)
        rows, weights, var = tail_rows(losses, None, 0.9)
        assert var == 899.0
        assert len(rows) == 100
        assert np.all(losses[rows] >= 900.0)
        np.testing.assert_allclose(weights, 0.01, rtol=1e-12)


class TestUnequalProbabilities:
    def test_candidate_tail_with_ties_at_its_threshold(self) -> None:
        rng = np.random.default_rng(3)
        losses = np.round(rng.normal(size=1000), 1)  # many ties
        p = rng.uniform(0.5, 1.5, size=1000)
        _check(losses, p / p.sum(), 0.95)

    def test_candidate_tail_that_must_grow(self) -> None:
        # the largest losses are nearly impossible: the first candidates (64) hold almost
        # none of the 5% tail, so the candidate set doubles until it does
        n = 2000
        losses = np.linspace(-1.0, 1.0, n)
        p = np.where(losses > 0.8, 1e-9, 1.0)
        _check(losses, p / p.sum(), 0.95)

    @pytest.mark.parametrize("alpha", [0.95, 1.0 - 2.0**-21])  # a tail below 1e-6 too
    def test_candidates_holding_exactly_the_tail_are_grown(self, alpha: float) -> None:
        # the 64 first candidates (the largest losses) hold exactly the 5% tail (64 equal
        # probabilities summed pairwise: no rounding): the VaR, the lower 95% quantile,
        # is the next loss down, outside them, so the candidate set must grow first
        n = 1000
        losses = np.arange(n, dtype=float)
        tail = 1.0 - alpha
        p = np.full(n, (1.0 - tail) / (n - 64))
        p[-64:] = tail / 64
        _, _, var = tail_rows(losses, p, alpha)
        assert var == float(n - 65)
        # rescaling the candidates' level, 1 - (1 - tail / mass), loses digits when the
        # tail is tiny: 6e-12 relative at a tail of 2**-21
        _check(losses, p, alpha, rtol=1e-12 if alpha < 0.99 else 1e-10)


class TestLossesArgument:
    def test_the_pnl_argument_is_named(self) -> None:
        with pytest.raises(DataError, match="'pnl' argument is empty"):
            risk.expected_shortfall(pd.Series([], dtype=float), 0.95)
        with pytest.raises(DataError, match="'pnl' argument must be one-dimensional"):
            risk.value_at_risk(np.zeros((3, 2)), 0.95)

    def test_equal_probabilities_by_default(self) -> None:
        pnl_ = np.array([-4.0, -3.0, 1.0, 2.0])
        assert risk.expected_shortfall(pnl_, 0.5) == pytest.approx(3.5, abs=1e-15)
        # the lower 0.5-quantile of the losses (4, 3, -1, -2): -1
        assert risk.value_at_risk(pnl_, 0.5) == pytest.approx(-1.0, abs=1e-15)


class TestPnlDtypes:
    def test_integer_inputs_give_float64(self) -> None:
        x = np.array([1, -2])
        carry = pnl.annual_carry(x, np.array([1, 1]), np.array([2, 2]))
        assert carry.dtype == np.float64
        np.testing.assert_array_equal(carry, [1.0, 2.0])  # 1 + 0; -2 + 2 x 2
        assert pnl.premium_paid(x, np.array([3, 3])).dtype == np.float64
        book = pnl.hedged_book(np.array([1, 2]), np.eye(2, dtype=int), x)
        assert book.dtype == np.float64
        np.testing.assert_array_equal(book, [2.0, 0.0])

    def test_unknown_numbers_are_nan(self) -> None:
        # None (an unknown contract value, return, weight or carry) reads as NaN
        out = pnl.units(np.array([2.0, 3.0]), [4.0, None])  # type: ignore[arg-type]
        np.testing.assert_array_equal(out, [0.5, np.nan])
        over = pnl.carry_over([1.0, None], 26, Frequency.WEEKLY)  # type: ignore[arg-type]
        np.testing.assert_array_equal(over, [0.5, np.nan])
        book = pnl.book_pnl([[1.0, None]], np.array([1.0, 1.0]))  # type: ignore[arg-type]
        assert np.isnan(book[0])
        book = pnl.book_pnl(np.array([[1.0, 2.0]]), [1.0, None])  # type: ignore[arg-type]
        assert np.isnan(book[0])

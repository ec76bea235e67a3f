"""Messages that say what went wrong (issue 20, also-items)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import optihedge as oh
from optihedge.errors import SpecificationError


class TestShortfallAlphaIsAConfidenceLevel:
    @pytest.mark.parametrize("alpha", [0.025, 0.05, 0.01, 0.4999])
    def test_a_tail_probability_is_refused_with_the_fix(self, alpha: float) -> None:
        # before: accepted, and the solve ended in "unbounded"
        with pytest.raises(
            SpecificationError,
            match=r"'expected_shortfall.alpha' parameter must be a finite number in "
            r"\[0.5, 1\)\. Got .*alpha is a confidence level, such as 0.95 or 0.975.*"
            r"for a 2.5% tail pass 0.975",
        ):
            oh.ExpectedShortfall(alpha)

    def test_the_same_check_when_set_on_a_built_problem(self) -> None:
        rng = np.random.default_rng(3)
        f = rng.standard_normal((300, 1)) * 0.01
        frame = pd.DataFrame({"U0": f[:, 0], "book": f[:, 0] * 0.8})
        problem = oh.HedgeProblem(
            oh.Portfolio.from_holdings({"book": 1_000_000.0}),
            [oh.Future("F0", underlying="U0", price=4000.0, multiplier=50.0)],
            objective=oh.ExpectedShortfall(0.95),
            scenarios=oh.Scenarios.from_returns(frame),
        )
        with pytest.raises(SpecificationError, match="alpha is a confidence level"):
            problem.solve({"expected_shortfall.alpha": 0.025})
        assert problem.solve().status == "optimal"  # nothing was applied

    def test_half_is_the_lowest_level_accepted(self) -> None:
        assert oh.ExpectedShortfall(0.5).alpha == 0.5


class TestAShortBookOfferedOnlyLongOnlyHedges:
    @staticmethod
    def _problem(holding: float, instrument: oh.Instrument) -> oh.HedgeProblem:
        rng = np.random.default_rng(0)
        f = rng.standard_normal(300) * 0.01
        frame = pd.DataFrame({"U0": f, "book": 0.9 * f + rng.standard_normal(300) * 0.003})
        return oh.HedgeProblem(
            oh.Portfolio.from_holdings({"book": holding}, capital=1_000_000.0),
            [instrument],
            objective=oh.Variance(),
            scenarios=oh.Scenarios.from_returns(frame),
        )

    def test_no_hedge_says_why(self) -> None:
        problem = self._problem(-1_000_000.0, oh.InverseETF("SH", underlying="U0"))
        # by hand: the short book moves against U0 and SH moves against U0, so the book and
        # SH move together: d Var(book + x SH)/dx at 0 = 2 cov(book, SH) > 0 for x >= 0
        res = problem.solve()
        assert res.status == "optimal"
        assert res.weights["SH"] == 0.0
        (note,) = [n for n in res.notes if n.startswith("No hedge")]  # before: no note
        assert "SH (long only)" in note
        assert "offer an instrument that moves against it" in note

    def test_no_note_when_a_hedge_is_held(self) -> None:
        short = self._problem(
            -1_000_000.0, oh.Future("F0", underlying="U0", price=4000.0, multiplier=50.0)
        ).solve()
        long = self._problem(1_000_000.0, oh.InverseETF("SH", underlying="U0")).solve()
        for res in (short, long):
            assert abs(res.weights.iloc[0]) > 0.5  # beta 0.9 hedged
            assert not [n for n in res.notes if n.startswith("No hedge")]


class TestGreeksAtAVanishingVolatility:
    """A volatility of 1e-250 (positive, so accepted) squares |d1| past the largest double:
    the density is 0, not an overflow warning (a fuzz case found on a fresh machine)."""

    def test_the_limits_without_a_warning(self) -> None:
        from optihedge.pricing import black_scholes, greeks

        s, t, r = 100.0, 0.25, 0.02
        otm = greeks("put", s, 95.0, t, r, 1e-250)  # filterwarnings=error: no warning
        assert (otm.delta, otm.gamma, otm.vega) == (0.0, 0.0, 0.0)
        itm = greeks("put", s, 105.0, t, r, 1e-250)
        assert (itm.delta, itm.gamma, itm.vega) == (-1.0, 0.0, 0.0)
        # by hand: a certain exercise is worth the discounted strike less the spot
        assert black_scholes("put", s, 105.0, t, r, 1e-250) == pytest.approx(
            105.0 * np.exp(-r * t) - s, rel=1e-12
        )

"""One home per formula (issue 19 item 3): tail weights, P&L, carry, units, scalar checks.

The tail weights are checked against a brute force written here (sort, accumulate the
probability, split the boundary mass by hand); the P&L numbers of a result, a sweep row
and ``oh.scenario_pnl`` are checked to agree to the bit, and against hand formulas.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cases import three_stocks
from hypothesis import given, settings
from hypothesis import strategies as st

import optihedge as oh
import optihedge.measures.risk as risk_module
from constraints import GrossExposure, PremiumBudget, ResidualBeta, Turnover
from optihedge.measures import contributions, pnl
from optihedge.measures.risk import expected_shortfall, tail_rows, tail_weights, value_at_risk
from optihedge.optimize import cutting

# ---------------------------------------------------------------- tail weights


def brute_tail(losses: list[float], p: list[float], alpha: float) -> tuple[list[float], float]:
    """Tail weights by hand: walk the losses from the worst down, filling 1 - alpha.

    Scenarios tied at the VaR share the mass left for their loss in proportion to
    their probabilities. Returns the normalised weights (summing to 1) and the VaR.
    """
    n = len(losses)
    tail = 1.0 - alpha
    levels = sorted(set(losses), reverse=True)
    weights = [0.0] * n
    left = tail
    var = levels[-1]
    for j, level in enumerate(levels):
        group = [i for i in range(n) if losses[i] == level]
        mass = sum(p[i] for i in group)
        # the whole group lies beyond the VaR when the levels below it still hold alpha:
        # P(L < level) = alpha + left - mass >= alpha (the lower quantile; a group that
        # fills the tail exactly is beyond it, and the VaR is the next level down)
        if mass <= left + 1e-12 and j < len(levels) - 1:
            for i in group:
                weights[i] = p[i] / tail
            left -= mass
            continue
        var = level  # the quantile is reached inside this group
        for i in group:
            weights[i] = max(left, 0.0) * (p[i] / mass) / tail
        break
    return weights, var


TIES = (
    # losses, probabilities, alpha
    ([1.0, 5.0, 3.0, 5.0, 2.0, 5.0], [0.1, 0.05, 0.3, 0.1, 0.3, 0.15], 0.8),
    ([4.0, 4.0, 4.0, 1.0], [0.25, 0.25, 0.25, 0.25], 0.5),
    ([3.0, 2.0, 2.0, 2.0, 1.0], [0.05, 0.1, 0.3, 0.05, 0.5], 0.9),
    ([0.0, -1.0, 7.0, 7.0, 2.0], [0.2, 0.2, 0.1, 0.3, 0.2], 0.75),
    # groups that fill the tail exactly: the VaR is the next level down (the lower
    # quantile, inf{l: P(L <= l) >= alpha}); the CI run found the first by hypothesis
    ([0.0, 1.0], [0.5, 0.5], 0.5),
    ([1.0, 2.0, 3.0, 4.0], [0.25, 0.25, 0.25, 0.25], 0.5),
)


@pytest.mark.parametrize(("losses", "p", "alpha"), TIES)
def test_tail_weights_match_the_brute_force_with_ties_and_unequal_probabilities(
    losses: list[float], p: list[float], alpha: float
) -> None:
    want, want_var = brute_tail(losses, p, alpha)
    got, var = tail_weights(np.array(losses), np.array(p), alpha)
    assert var == want_var
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)
    es_hand = sum(w * loss for w, loss in zip(want, losses, strict=True))
    es = expected_shortfall(-np.array(losses), alpha, np.array(p))
    assert es == pytest.approx(es_hand, rel=1e-13, abs=1e-14)
    assert value_at_risk(-np.array(losses), alpha, np.array(p)) == want_var


def test_tied_scenarios_share_the_boundary_mass_in_proportion_to_probability() -> None:
    # the tie group at 5 holds 0.3 of probability, the tail 0.2: each keeps 2/3 of its p
    losses = np.array([1.0, 5.0, 3.0, 5.0, 2.0, 5.0])
    p = np.array([0.1, 0.05, 0.3, 0.1, 0.3, 0.15])
    got, var = tail_weights(losses, p, 0.8)
    assert var == 5.0
    np.testing.assert_allclose(got[[1, 3, 5]], p[[1, 3, 5]] * (0.2 / 0.3) / 0.2, atol=1e-15)
    assert got[[0, 2, 4]].tolist() == [0.0, 0.0, 0.0]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-5, 5), min_size=2, max_size=25),  # small integers: many ties
    st.data(),
    st.floats(0.05, 0.95),
)
def test_tail_weights_invariants(raw: list[int], data: st.DataObject, alpha: float) -> None:
    """The invariant: with ``omega = tail_weights(L, p, alpha)[0]`` and ``v`` the VaR,
    ``0 <= omega_s <= p_s / (1 - alpha)``, ``sum omega = 1``; scenarios beyond ``v`` weigh
    exactly ``p_s / (1 - alpha)``, those below weigh 0, and the tied ones weigh in
    proportion to ``p_s``; ``omega @ L`` is ``risk.expected_shortfall`` (to the bit, up to
    its floor at the VaR) and the brute force's ES."""
    n = len(raw)
    q = np.array(
        data.draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n)), dtype=np.float64
    )
    p = q / q.sum()
    losses = np.array(raw, dtype=np.float64)
    omega, var = tail_weights(losses, p, alpha)
    tail = 1.0 - alpha
    assert np.all(omega >= 0.0)
    assert np.all(omega <= p / tail * (1 + 1e-12))
    assert omega.sum() == pytest.approx(1.0, abs=1e-9)
    beyond, below, tied = losses > var, losses < var, losses == var
    assert np.array_equal(omega[beyond], p[beyond] / tail)
    assert np.all(omega[below] == 0.0)
    ratio = omega[tied] / p[tied]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)
    es = expected_shortfall(-losses, alpha, p)
    assert es == max(float(omega @ losses), var)
    want, want_var = brute_tail(losses.tolist(), p.tolist(), alpha)
    assert var == want_var
    assert es == pytest.approx(float(np.dot(want, losses)), rel=1e-9, abs=1e-12)


def test_the_fast_paths_agree_with_the_exact_sort() -> None:
    """Equal probabilities (an O(n) selection) and a candidate tail (unequal): same weights."""
    rng = np.random.default_rng(7)
    losses = np.round(rng.standard_t(3, 5000), 2)  # rounded: ties at the VaR
    for alpha in (0.9, 0.95, 0.975, 0.99):
        equal = np.full(len(losses), 1.0 / len(losses))
        dense, var = tail_weights(losses, equal, alpha)
        for hint in (None, var - 1.0, var + 100.0):  # a good hint, a useless one
            rows, w, var_fast = tail_rows(losses, None, alpha, hint=hint)
            assert var_fast == var
            fast = np.zeros(len(losses))
            fast[rows] = w
            np.testing.assert_allclose(fast, dense, rtol=1e-12, atol=1e-14)  # rounding
        q = rng.uniform(0.2, 1.0, len(losses))
        p = q / q.sum()
        dense, var = tail_weights(losses, p, alpha)
        rows, w, var_fast = tail_rows(losses, p, alpha)
        assert var_fast == var
        fast = np.zeros(len(losses))
        fast[rows] = w
        # the candidates' probabilities are rescaled by their mass: rounding only
        np.testing.assert_allclose(fast, dense, rtol=1e-10, atol=1e-16)


def test_every_expected_shortfall_reads_the_one_tail_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """risk.expected_shortfall, the ES contributions and the cutting planes all call it.

    A copy of the rule in any of them would not pass through the spy (the check that
    would have caught the three copies before issue 19).
    """
    calls: list[str] = []
    real = risk_module._sorted_tail

    def spy(losses: np.ndarray, p: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
        calls.append("rule")
        return real(losses, p, alpha)

    monkeypatch.setattr(risk_module, "_sorted_tail", spy)
    rng = np.random.default_rng(3)
    losses = rng.normal(size=40)
    q = rng.uniform(0.5, 1.0, 40)
    p = q / q.sum()
    es = expected_shortfall(-losses, 0.9, p)
    assert calls == ["rule"]
    summary = contributions.tail_summary(losses, p, 0.9)
    assert calls == ["rule"] * 2
    assert summary["es"] == pytest.approx(es, rel=1e-14)
    book = -losses
    g = rng.normal(size=(40, 2))
    es_cut, *_ = cutting.tail_cut(book, g, p, 0.9, np.zeros(2))
    assert calls == ["rule"] * 3
    assert es_cut == pytest.approx(es, rel=1e-13)
    assert contributions.tail_weights is tail_weights


# ---------------------------------------------------------------- P&L, carry, units

DAILY = three_stocks(400, seed=11, start="2019-01-01")
MODEL = oh.FactorModel(windows=(252,)).fit(DAILY, DAILY[["IDX"]]).risk_model_
SCENARIOS = oh.Scenarios.historical(DAILY, horizon=10)
DAILY_10 = SCENARIOS.returns  # ten-day returns of the holdings and the index
BOOK = oh.Portfolio.from_holdings({"A": 5e5, "B": 3e5, "C": 2e5})
MARKET = oh.MarketState(spot={"IDX": 100.0}, volatility={"IDX": 0.2}, rate=0.02)
LINEAR = [
    oh.Future("F", underlying="IDX", price=100.0, multiplier=50.0, cost=0.0002),
    oh.ETF("E", underlying="IDX", price=40.0, expense_ratio=0.001, borrow_fee=0.01, cost=0.0005),
    oh.PositionReduction("sell A", holding="A", price=50.0, cost=0.001),
]
OPTIONS = [
    oh.Put("P", underlying="IDX", moneyness=0.95, expiry=42),
    oh.Collar("K", underlying="IDX", put_moneyness=0.9, call_moneyness=1.1, expiry=63),
]
CURRENT = pd.Series({"F": -0.1, "E": 0.05})


def _problem(kind: str, book: oh.Portfolio = BOOK) -> tuple[oh.HedgeProblem, list[oh.Instrument]]:
    common: dict[str, Any] = {
        "risk_model": MODEL,
        "scenarios": SCENARIOS,
        "horizon": 10,
        "market": "IDX",
        "market_state": MARKET,
        "current": CURRENT,
    }
    if kind == "variance":
        instruments: list[oh.Instrument] = list(LINEAR)
        objective: Any = oh.Variance() + oh.TradingCost() + oh.CarryCost()
        limits: list[Any] = [GrossExposure(0.5), Turnover(1.0), ResidualBeta(min=0.1)]
    elif kind == "shortfall":
        instruments = [*LINEAR, OPTIONS[0]]
        objective = oh.ExpectedShortfall(0.9)
        limits = [GrossExposure(0.5), PremiumBudget(0.002)]
    else:  # options, a variance objective: the scenarios only report
        instruments = [*LINEAR, *OPTIONS]
        objective = oh.Variance() + oh.CarryCost()
        limits = [GrossExposure(0.6), PremiumBudget(0.003)]
    problem = oh.HedgeProblem(book, instruments, objective=objective, constraints=limits, **common)
    return problem, instruments


def _row_and_result(
    problem: oh.HedgeProblem, params: dict[str, float] | None = None
) -> tuple[dict[str, Any], oh.HedgeResult]:
    """One solve, read both ways: the sweep's row builder and the HedgeResult."""
    status, stats = problem._solve_core(params)
    row = problem._point_record(status, dict(stats))
    return row, problem._result(status, stats)


def _assert_row_is_result(row: dict[str, Any], result: oh.HedgeResult) -> None:
    """The sweep row and the result agree to the bit on every number they share."""
    after = result.risk.loc["after"]
    assert np.array_equal(row["x"], result.weights.to_numpy())
    assert row["volatility"] == after["volatility"]
    assert row["beta"] == after["beta"]
    assert row["premium"] == float(result.allocation["premium"].to_numpy().sum())
    assert row["annual_carry"] == float(result.allocation["annual_carry"].to_numpy().sum())
    assert row["scenario_var"] == after["scenario_var"]
    assert row["scenario_es"] == after["scenario_es"]


@pytest.mark.parametrize("kind", ["variance", "shortfall", "options"])
def test_result_row_and_scenario_pnl_agree_to_the_bit(kind: str) -> None:
    problem, instruments = _problem(kind)
    row, result = _row_and_result(problem)
    assert result.status == "optimal"
    x = result.weights.to_numpy()
    assert np.abs(x).max() > 1e-3  # a hedge, not the empty one
    _assert_row_is_result(row, result)

    # oh.scenario_pnl of the result's weights is the result's scenario table, bit for bit
    table = oh.scenario_pnl(BOOK, instruments, result.weights, SCENARIOS, MARKET)
    assert result.scenario_returns is not None
    assert np.array_equal(table["before"].to_numpy(), result.scenario_returns["before"].to_numpy())
    assert np.array_equal(table["after"].to_numpy(), result.scenario_returns["after"].to_numpy())

    # ... and the hand formulas (independent of the code: numpy on the raw numbers)
    capital = BOOK.capital
    w = BOOK.weights
    book_hand = DAILY_10[w.index].to_numpy() @ w.to_numpy()
    np.testing.assert_allclose(table["before"].to_numpy(), book_hand, rtol=1e-12, atol=1e-15)
    hedge = np.column_stack([i.scenario_returns(SCENARIOS, MARKET) for i in instruments])
    np.testing.assert_allclose(
        table["after"].to_numpy(), book_hand + hedge @ x, rtol=1e-12, atol=1e-15
    )
    attrs = problem.data.attributes
    carry_hand = sum(
        (cl * xi + cs * max(-xi, 0.0)) * capital
        for cl, cs, xi in zip(attrs["carry_long"], attrs["carry_short"], x, strict=True)
    )
    assert row["annual_carry"] == pytest.approx(carry_hand, rel=1e-12, abs=1e-9)
    premium_hand = sum(pr * xi * capital for pr, xi in zip(attrs["premium"], x, strict=True))
    assert row["premium"] == pytest.approx(premium_hand, rel=1e-12, abs=1e-9)
    turnover_hand = sum(
        abs(xi - CURRENT.get(label, 0.0))
        for label, xi in zip(problem.data.instruments, x, strict=True)
    )
    assert row["turnover"] == pytest.approx(turnover_hand, rel=1e-12, abs=1e-15)
    # units: the notional over one contract's value in currency
    value = attrs["contract_value"].to_numpy() * capital  # a fraction of the book -> currency
    np.testing.assert_allclose(
        result.allocation["units"].to_numpy(), x * capital / value, rtol=1e-12
    )
    # the sweep's weights table computes its units through the same function
    sweep = oh.sweep(problem, {"gross_exposure.max": [0.45]}, progress=False)
    xs = sweep.pivot().to_numpy()[0]
    assert np.array_equal(
        sweep.pivot("units").to_numpy()[0], pnl.units(xs, attrs["contract_value"].to_numpy())
    )


def test_a_drifting_copy_is_caught_on_random_problems() -> None:
    """Random books and limits: the row and the result are one computation (==).

    Before issue 19 the sweep row summed the carry and premium before converting to
    currency and the result after, and the two tables divided for units in two ways:
    equal to 1e-16, not to the bit; this test failed on them.
    """
    rng = np.random.default_rng(19)
    for trial in range(6):
        holdings = dict(zip("ABC", rng.uniform(1e5, 1e6, 3), strict=True))
        book = oh.Portfolio.from_holdings(holdings)
        problem, _ = _problem(("variance", "options")[trial % 2], book)
        for _ in range(3):
            params = {"gross_exposure.max": float(rng.uniform(0.1, 0.6))}
            row, result = _row_and_result(problem, params)
            _assert_row_is_result(row, result)
            x = result.weights.to_numpy()
            cv = problem.data.attribute("contract_value")
            assert np.array_equal(result.allocation["units"].to_numpy(), pnl.units(x, cv))


def test_pnl_functions_by_hand() -> None:
    """Each function of measures.pnl against the hand formula in its docstring."""
    from optihedge.calendar import Frequency

    def close(got: Any, want: Any) -> None:
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-16)

    x = np.array([0.2, -0.1, 0.0, -0.3])
    long = np.array([0.05, 0.01, 0.02, 0.0])
    short = np.array([0.0, 0.02, 0.03, 0.04])
    close(pnl.annual_carry(x, long, short), [0.2 * 0.05, -0.1 * 0.01 + 0.1 * 0.02, 0.0, 0.3 * 0.04])
    # 13 weekly periods are a quarter of a year, 21 trading days 21/252
    assert float(pnl.carry_over(0.12, 13, Frequency.WEEKLY)) == pytest.approx(0.03, rel=1e-15)
    assert float(pnl.carry_over(0.12, 21, Frequency.DAILY)) == pytest.approx(0.01, rel=1e-15)
    current = np.array([0.1, 0.0, 0.05, -0.3])
    assert pnl.turnover(x, current) == pytest.approx(0.1 + 0.1 + 0.05, rel=1e-15)
    cost = np.array([0.001, 0.002, 0.01, 0.5])
    assert pnl.trade_cost(x, current, cost) == pytest.approx(
        0.1 * 0.001 + 0.1 * 0.002 + 0.05 * 0.01, rel=1e-15
    )
    close(pnl.premium_paid(x, long), x * long)
    # units: unknown, zero or infinite contract values give NaN, without a warning
    got = pnl.units(x, np.array([0.01, np.nan, 0.0, np.inf]))
    assert got[0] == pytest.approx(20.0, rel=1e-15)
    assert np.isnan(got[1:]).all()
    book = np.array([0.01, -0.02])
    close(pnl.book_pnl(np.array([[0.1, 0.2], [0.0, -0.1]]), [0.5, 0.5]), [0.15, -0.05])
    close(
        pnl.hedged_pnl(book, np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.1, 0.01])),
        [0.01 + 0.1 + 0.02, -0.02 + 0.3 + 0.04],
    )
    close(
        pnl.hedged_book(np.array([0.6, 0.4]), np.array([[1.0], [0.0]]), np.array([-0.5])),
        [0.1, 0.4],
    )


# ---------------------------------------------------------------- one scalar checker


def test_one_scalar_checker_for_every_package() -> None:
    """optihedge's arguments, the constraints' parameters and limits, the horizon's
    autocorrelation: one check, one message form (the value, its type when it is not a
    number, the valid interval). Before, the constraints said neither the type nor (for
    the horizon) 'finite'."""
    import factor_models.validation as fm_validation
    import optihedge._validation as oh_validation
    from constraints import ParameterSpec
    from constraints._base import check_limit
    from constraints.errors import ConstraintSpecificationError
    from factor_models.horizon import horizon_variance_factor
    from optihedge.errors import SpecificationError

    assert oh_validation.check_scalar is fm_validation.check_scalar
    spec = ParameterSpec("turnover.max", 1.0, lower=0.0, upper=2.0, upper_open=True, hint="Fix.")
    cases = [
        (
            lambda v: oh_validation.check_scalar(v, "alpha", lower=0.0, upper=1.0),
            r"The 'alpha' argument must be a finite number in \[0, 1\]",
        ),
        (spec.check, r"The 'turnover.max' parameter must be a finite number in \[0, 2\)"),
        (
            lambda v: check_limit("Turnover", "max", v),
            r"The 'max' parameter of Turnover must be a finite number >= 0",
        ),
        (
            lambda v: horizon_variance_factor(5, v),
            r"The 'autocorrelation' argument must be a finite number in \(-1, 1\)",
        ),
    ]
    for check, message in cases:
        with pytest.raises(SpecificationError, match=message + r"\. Got 'a' of type str instead"):
            check("a")
        with pytest.raises(SpecificationError, match=message + r"\. Got nan instead"):
            check(float("nan"))
        with pytest.raises(SpecificationError, match=message + r"\. Got -3\.0 instead"):
            check(-3)
        with pytest.raises(SpecificationError, match=message):
            check(True)
    with pytest.raises(ConstraintSpecificationError, match=r"Got 2\.0 instead\. Fix\.$"):
        spec.check(2.0)  # the open end, and the hint
    assert spec.check(np.float32(0.5)) == 0.5
    assert check_limit("Turnover", "max", 0) == 0.0


def test_a_million_equally_likely_outcomes_to_the_last_digits() -> None:
    """ES and VaR of 10^6 equally likely losses against exact counting by hand.

    alpha = 0.99 (as the float it is): the tail holds (1 - alpha) n outcomes, counted with
    fractions; the VaR is the (n - floor(m))-th smallest loss, P(L <= v) >= alpha first
    there; ES sums the worst floor(m) losses exactly (math.fsum) and the fraction left of
    the next. A running sum of 10^6 probabilities from the smallest loss up rounds by
    1e-10, which moved the ES by 5e-10 relative.
    """
    rng = np.random.default_rng(5)
    n = 1_000_000
    for alpha in (0.99, 0.95, 0.975):
        pnl = rng.standard_t(3, n) * 0.01
        worst = np.sort(-pnl)[::-1]
        m = (1 - Fraction(alpha)) * n
        k = math.floor(m)
        es_hand = (math.fsum(worst[:k]) + float(m - k) * worst[k]) / float(m)
        var_hand = worst[k]  # P(L <= worst[k]) = (n - k) / n >= alpha, and not one lower
        assert expected_shortfall(pnl, alpha) == pytest.approx(es_hand, rel=1e-12, abs=0)
        assert value_at_risk(pnl, alpha) == var_hand

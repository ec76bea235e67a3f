"""The problem's structure as a value: every kind round-trips, a spec from a dict solves alike.

Issue 19, item 6. Each registered kind has a hypothesis strategy here (a test fails when a
kind is registered without one); ``from_dict(to_dict(x))`` equals ``x`` (value equality for
the dataclass instruments, the dict for terms, which have no value equality), also through
``json.dumps`` / ``json.loads``. A spec read from JSON builds a problem whose weights equal
those of the problem built in Python (variance with futures and ETFs; expected shortfall
with options under a premium budget), and both equal raw cvxpy's answer for the variance
problem. Bad dicts raise ``SpecificationError`` naming the kind, the field and the fix.
"""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optihedge as oh
from constraints import (
    Bounds,
    Budget,
    CarryBudget,
    ExpectedPnL,
    FactorExposure,
    GrossExposure,
    Liquidity,
    PremiumBudget,
    ResidualBeta,
    Turnover,
    WholeContracts,
)
from factor_models import RiskModel
from optihedge.errors import SpecificationError
from optihedge.instruments import Cash, PositionReduction
from optihedge.optimize.objectives import (
    CarryCost,
    RobustVariance,
    SumObjective,
    TradingCost,
    Variance,
)
from optihedge.optimize.shortfall import ExpectedShortfall
from optihedge.optimize.spec import (
    KINDS,
    ProblemSpec,
    from_dict,
    instrument_from_dict,
    term_from_dict,
    to_dict,
)
from optihedge.pricing.volatility import VolatilityModel

labels = st.sampled_from(["A", "B", "IDX", "SPX", "x y", "é"])
pos = st.floats(0.01, 1e4)
nonneg = st.floats(0.0, 1e3)
real = st.floats(-1e3, 1e3)
cap = st.one_of(st.just(math.inf), st.floats(0.0, 1e6))
floor = st.one_of(st.just(-math.inf), st.floats(-1e6, 0.0))
moneyness = st.floats(0.5, 1.5)
vol_models = st.builds(
    VolatilityModel,
    beta=st.one_of(st.none(), st.floats(-3.0, 0.0)),
    skew=st.floats(-1.0, 0.0),
    floor=st.floats(0.01, 0.5),
)
cost = st.floats(0.0, 0.01)
common = {"price": pos, "cost": cost, "adv": st.one_of(st.just(math.inf), pos)}
option = {
    "expiry": st.integers(1, 500),
    "implied_vol": st.one_of(st.none(), st.floats(0.05, 1.0)),
    "vol_model": vol_models,
    "multiplier": pos,
    "cost": cost,
}
series = st.dictionaries(labels, st.floats(-0.5, 0.5), min_size=1).map(
    lambda d: pd.Series(d, dtype="float64")
)
objectives_leaf = st.one_of(
    st.builds(Variance, weight=nonneg, approximation=st.sampled_from(["delta", "delta_gamma"])),
    st.builds(RobustVariance, weight=nonneg),
    st.builds(TradingCost, weight=nonneg),
    st.builds(CarryCost, weight=nonneg),
)

#: one strategy per registered kind; a new kind without one fails test_every_kind_has_a_strategy
STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "future": st.builds(
        oh.Future,
        labels,
        underlying=labels,
        carry=real,
        multiplier=pos,
        lower=floor,
        upper=cap,
        **common,
    ),
    "etf": st.builds(
        oh.ETF,
        labels,
        underlying=labels,
        expense_ratio=st.floats(0, 0.05),
        borrow_fee=st.floats(0, 0.05),
        **common,
    ),
    "inverse_etf": st.builds(
        oh.InverseETF,
        labels,
        underlying=labels,
        leverage=st.sampled_from([-1.0, -2.0, -3.0]),
        expense_ratio=st.floats(0, 0.05),
        **common,
    ),
    "cash": st.builds(Cash, label=labels),
    "reduction": st.builds(PositionReduction, labels, holding=labels),
    "put": st.builds(oh.Put, labels, underlying=labels, moneyness=moneyness, **option),
    "call": st.builds(oh.Call, labels, underlying=labels, moneyness=moneyness, **option),
    "collar": st.builds(
        oh.Collar,
        labels,
        underlying=labels,
        put_moneyness=st.floats(0.7, 0.99),
        call_moneyness=st.floats(1.01, 1.3),
        **option,
    ),
    "put_spread": st.builds(
        oh.PutSpread,
        labels,
        underlying=labels,
        upper_moneyness=st.floats(0.9, 1.0),
        lower_moneyness=st.floats(0.6, 0.85),
        **option,
    ),
    "option_contract": st.builds(
        oh.OptionContract,
        labels,
        underlying=labels,
        options=st.lists(
            st.tuples(st.sampled_from(["put", "call"]), st.floats(50.0, 150.0), st.floats(-2, 2)),
            min_size=1,
            max_size=3,
        ).map(tuple),
        expiry=st.dates(date(2000, 1, 1), date(2040, 1, 1)).map(pd.Timestamp),
        calendar=st.sampled_from(
            [oh.calendar.DEFAULT_CALENDAR, oh.calendar.TradingCalendar(("2024-12-25",))]
        ),
    ),
    "trading_calendar": st.builds(
        oh.calendar.TradingCalendar,
        st.lists(st.dates(date(2000, 1, 3), date(2030, 1, 1)), max_size=4).map(tuple),
    ),
    "event": st.builds(
        oh.EventContract,
        labels,
        event=labels,
        payout=st.floats(1.0, 100.0),
        price=st.floats(0.01, 0.99),
    ),
    "budget": st.builds(Budget, total=real),
    "premium_budget": st.builds(PremiumBudget, nonneg),
    "carry_budget": st.builds(CarryBudget, nonneg),
    "expected_pnl": st.builds(ExpectedPnL, real, st.one_of(st.none(), series)),
    "bounds": st.builds(
        Bounds,
        lower=st.one_of(st.none(), st.floats(-1e3, 0), st.dictionaries(labels, st.floats(-1e3, 0))),
        upper=st.one_of(st.floats(0, 1e3), st.dictionaries(labels, st.floats(0, 1e3), min_size=1)),
    ),
    "whole_contracts": st.builds(
        WholeContracts,
        st.one_of(st.none(), st.lists(labels)),
        method=st.sampled_from(["auto", "exact", "rounding"]),
    ),
    "gross_exposure": st.builds(GrossExposure, nonneg),
    "residual_beta": st.builds(
        ResidualBeta,
        st.floats(-2, 0),
        st.one_of(st.none(), st.floats(0, 2)),
        factor=st.one_of(st.none(), labels),
    ),
    "factor_exposure": st.builds(FactorExposure, labels, st.floats(-2, 0), st.floats(0, 2)),
    "turnover": st.builds(Turnover, nonneg, st.one_of(st.none(), series)),
    "liquidity": st.builds(Liquidity, pos, pos, on=st.sampled_from(["trades", "positions"])),
    "variance": st.builds(
        Variance, weight=nonneg, approximation=st.sampled_from(["delta", "delta_gamma"])
    ),
    "robust_variance": st.builds(RobustVariance, weight=nonneg),
    "trading_cost": st.builds(TradingCost, weight=nonneg),
    "carry_cost": st.builds(CarryCost, weight=nonneg),
    "expected_shortfall": st.builds(
        ExpectedShortfall,
        st.floats(0.5, 0.999),
        method=st.sampled_from(["auto", "active_set", "cutting_plane", "lp"]),
        capacity=st.one_of(st.none(), st.integers(1, 10_000)),
        weight=nonneg,
        precision=st.sampled_from(["float64", "float32"]),
    ),
    "sum": st.lists(objectives_leaf, min_size=1, max_size=3).map(
        lambda terms: SumObjective(list(terms))
    ),
    "volatility_model": vol_models,
    "market_state": st.builds(
        oh.MarketState,
        spot=st.dictionaries(labels, st.floats(1.0, 1e4)).map(pd.Series),
        volatility=st.dictionaries(labels, st.floats(0.05, 1.0)).map(pd.Series),
        rate=st.floats(-0.05, 0.2),
        asof=st.one_of(st.none(), st.dates().map(pd.Timestamp)),
    ),
}


def test_every_kind_has_a_strategy() -> None:
    assert set(STRATEGIES) == set(KINDS), "a registered kind needs a strategy in STRATEGIES"


def _same(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    assert to_dict(a) == to_dict(b)
    if KINDS[to_dict(a)["kind"]].family in ("instrument", "value") and not isinstance(
        a, oh.MarketState
    ):
        assert a == b


@pytest.mark.parametrize("kind", sorted(STRATEGIES))
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_round_trip(kind: str, data: st.DataObject) -> None:
    obj = data.draw(STRATEGIES[kind])
    assert to_dict(obj)["kind"] == kind
    _same(from_dict(to_dict(obj)), obj)
    through_json = json.loads(json.dumps(to_dict(obj), allow_nan=False))
    _same(from_dict(through_json), obj)


def test_non_finite_floats_are_json_safe() -> None:
    d = to_dict(oh.Future("F", underlying="IDX"))
    assert d["adv"] == {"$float": "inf"}
    assert d["lower"] == {"$float": "-inf"}
    text = json.dumps(d, allow_nan=False)  # strict JSON: no Infinity token
    assert from_dict(json.loads(text)) == oh.Future("F", underlying="IDX")


# ------------------------------------------------------------------ building from a spec
def _stocks(n: int = 500, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = rng.normal(0.0003, 0.01, n)
    return pd.DataFrame(
        {
            "A": 0.9 * idx + rng.normal(0, 0.01, n),
            "B": 1.2 * idx + rng.normal(0, 0.01, n),
            "IDX": idx,
            "NDX": 1.1 * idx + rng.normal(0, 0.004, n),
        },
        index=pd.bdate_range("2020-01-01", periods=n),
    )


def test_variance_spec_from_json_solves_like_python_and_raw_cvxpy() -> None:
    returns = _stocks()
    rm = RiskModel.from_covariance(returns.cov())
    book = oh.Portfolio.from_holdings({"A": 600_000.0, "B": 400_000.0})
    instruments = [
        oh.Future("ES", underlying="IDX", price=4000.0, multiplier=50.0),
        oh.ETF("QQQ", underlying="NDX"),
    ]
    problem = oh.HedgeProblem(
        book,
        instruments,
        objective=Variance(),
        constraints=[GrossExposure(0.8)],
        risk_model=rm,
        horizon=21,
    )
    text = json.dumps(problem.spec.to_dict(), allow_nan=False)
    spec = ProblemSpec.from_dict(json.loads(text))
    assert spec == problem.spec
    built = oh.HedgeProblem.from_spec(spec, book, risk_model=rm)
    w_py, w_spec = problem.solve().weights, built.solve().weights
    np.testing.assert_allclose(w_spec.to_numpy(), w_py.to_numpy(), rtol=0, atol=1e-12)
    # independent: min (b + x)' S (b + x) s.t. |x|_1 <= 0.8 over the daily covariance
    s = returns.cov().to_numpy()
    b = np.array([0.6, 0.4, 0.0, 0.0])
    x = cp.Variable(2)
    e = np.array([[0, 0], [0, 0], [1, 0], [0, 1]], dtype=float)
    prob = cp.Problem(cp.Minimize(cp.quad_form(b + e @ x, s)), [cp.norm1(x) <= 0.8])
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    assert prob.status == "optimal"
    np.testing.assert_allclose(w_py.to_numpy(), x.value, atol=1e-6)


def _crash_scenarios(n: int = 1000, seed: int = 5) -> oh.Scenarios:
    rng = np.random.default_rng(seed)
    idx = rng.normal(0.01, 0.04, n)
    crashed = rng.random(n) < 0.04
    idx[crashed] = rng.normal(-0.30, 0.05, crashed.sum())
    book = idx + rng.normal(0, 0.01, n)
    return oh.Scenarios.from_returns(pd.DataFrame({"BOOK": book, "IDX": idx}), horizon=21)


def test_shortfall_options_spec_from_json_solves_like_python() -> None:
    market = oh.MarketState(
        spot=pd.Series({"IDX": 4000.0}),
        volatility=pd.Series({"IDX": 0.2}),
        rate=0.03,
        dividend_yield=pd.Series({"IDX": 0.015}),
        asof=pd.Timestamp("2024-03-28"),
    )
    book = oh.Portfolio.from_holdings({"BOOK": 1_000_000.0})
    instruments = [
        oh.Future("F", underlying="IDX", price=4000.0, multiplier=50.0),
        oh.Put("P95", underlying="IDX", moneyness=0.95),
        oh.PutSpread("PS", underlying="IDX", upper_moneyness=0.95, lower_moneyness=0.8),
    ]
    scenarios = _crash_scenarios()
    problem = oh.HedgeProblem(
        book,
        instruments,
        objective=ExpectedShortfall(0.975),
        constraints=[PremiumBudget(0.005), GrossExposure(0.3)],
        scenarios=scenarios,
        market="IDX",
        market_state=market,
    )
    d = json.loads(json.dumps(problem.spec.to_dict(), allow_nan=False))
    assert d["market_state"]["asof"] == {"$timestamp": "2024-03-28T00:00:00"}
    built = ProblemSpec.from_dict(d).build(book, scenarios=scenarios)
    r_py, r_spec = problem.solve(), built.solve()
    assert r_py.status == r_spec.status == "optimal"
    assert r_py.allocation["premium"].sum() > 0  # options are bought: the test means something
    np.testing.assert_allclose(
        r_spec.weights.to_numpy(), r_py.weights.to_numpy(), rtol=0, atol=1e-12
    )


# ------------------------------------------------------------------ bad dicts
BAD: list[tuple[Any, str]] = [
    (
        {"kind": "straddle", "label": "S"},
        r"unknown instrument kind 'straddle'.*Known kinds: .*'put'",
    ),
    ({"label": "F"}, r"unknown instrument kind None"),
    ({"kind": "future", "label": "F"}, r"'future' needs the field 'underlying'"),
    (
        {"kind": "future", "label": "F", "underlying": "IDX", "strike": 1.0},
        r"'future' has no field 'strike'.*fields are",
    ),
    ({"kind": "turnover", "max": 0.1}, r"unknown instrument kind 'turnover'"),
    (
        {"kind": "future", "label": "F", "underlying": "IDX", "adv": {"$float": "lots"}},
        r"instrument.adv: \$float must be 'inf', '-inf' or 'nan'. Got 'lots'",
    ),
    (
        {
            "kind": "put",
            "label": "P",
            "underlying": "IDX",
            "moneyness": 0.9,
            "vol_model": {"skew": 1},
        },
        r"instrument.vol_model is a dict without 'kind'",
    ),
    (
        {"kind": "future", "label": "F", "underlying": "IDX", "price": "4000"},
        r"instrument: the field 'price' of the kind 'future' must be a number. Got '4000'",
    ),
    (
        {"kind": "put", "label": "P", "underlying": "IDX", "moneyness": 0.9, "expiry": 63.5},
        r"the field 'expiry' of the kind 'put' must be an int. Got 63.5",
    ),
    (
        {"kind": "put", "label": "P", "underlying": "IDX", "moneyness": True},
        r"the field 'moneyness' of the kind 'put' must be a number or null. Got True",
    ),
]


@pytest.mark.parametrize(("d", "match"), BAD)
def test_bad_instrument_dicts(d: Any, match: str) -> None:
    with pytest.raises(SpecificationError, match=match):
        instrument_from_dict(d)


def test_bad_term_dicts() -> None:
    with pytest.raises(SpecificationError, match=r"unknown constraint kind 'cap'.*'turnover'"):
        term_from_dict({"kind": "cap", "max": 1.0})
    with pytest.raises(SpecificationError, match=r"'max' parameter of Turnover"):
        term_from_dict({"kind": "turnover", "max": -1.0})
    with pytest.raises(SpecificationError, match=r"'expected_shortfall' has no field 'beta'"):
        term_from_dict({"kind": "expected_shortfall", "beta": 0.9})


def test_bad_spec_dicts() -> None:
    good = ProblemSpec((oh.Future("F", underlying="IDX"),), Variance()).to_dict()
    with pytest.raises(SpecificationError, match=r"'version' must be 1. Got 7"):
        ProblemSpec.from_dict({**good, "version": 7})
    with pytest.raises(SpecificationError, match=r"no field 'risk_model'"):
        ProblemSpec.from_dict({**good, "risk_model": {}})
    with pytest.raises(SpecificationError, match=r"needs the field 'objective'"):
        ProblemSpec.from_dict({k: v for k, v in good.items() if k != "objective"})
    with pytest.raises(SpecificationError, match=r"'horizon' must be an int.*Got '21'"):
        ProblemSpec.from_dict({**good, "horizon": "21"})
    with pytest.raises(SpecificationError, match=r"unknown objective kind 'future'"):
        ProblemSpec.from_dict({**good, "objective": good["instruments"][0]})
    with pytest.raises(SpecificationError, match=r"must be a ProblemSpec"):
        oh.HedgeProblem.from_spec(good, oh.Portfolio.from_holdings({"A": 1.0}))  # type: ignore[arg-type]

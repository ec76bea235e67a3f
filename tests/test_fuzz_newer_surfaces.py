"""Fuzz of the newer surfaces: options, market state, events, sweeps, stores, attribution,
the report and the plots (issue 20), in the style of ``test_bad_inputs``.

Hypothesis puts a malformed value (wrong type, NaN, infinity, empty, duplicate labels,
negative, huge) into one argument of each public call, the others valid. A call may
refuse it only with the project's bad-input families (``DataError``, which includes
``MissingLabelsError``, and ``SpecificationError``), may warn only with ``DataWarning``,
and where it succeeds its numbers are finite and, where a cheap independent answer
exists, equal to it (Kelly by hand, the hedged book's volatility from the covariance,
P&L by hand, a sweep's caps respected, a store's points read back unchanged).
"""

from __future__ import annotations

import math
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cases import three_stocks
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import optihedge as oh
from constraints import GrossExposure
from optihedge.errors import DataError, DataWarning, SpecificationError

FAMILIES = (DataError, SpecificationError)
FAST = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))

DAILY = three_stocks(260, seed=9, start="2020-01-01")
MODEL = oh.FactorModel(windows=(252,)).fit(DAILY, DAILY[["IDX"]]).risk_model_
BOOK = oh.Portfolio.from_holdings({"A": 5e5, "B": 3e5, "C": 2e5})
MARKET = oh.MarketState(spot={"IDX": 100.0}, volatility={"IDX": 0.2}, rate=0.02)
FUTURE = oh.Future("F", underlying="IDX", price=100.0, multiplier=50.0)
PUT = oh.Put("P", underlying="IDX", moneyness=0.95, expiry=42)
SCENARIOS = oh.Scenarios.historical(DAILY, horizon=5)
EVENTS = SCENARIOS.with_event("e", 0.2)
CONTRACT = oh.EventContract("K", event="e", price=0.1)


def variance_problem() -> oh.HedgeProblem:
    return oh.HedgeProblem(
        BOOK,
        [FUTURE],
        objective=oh.Variance(),
        constraints=[GrossExposure(0.5)],
        risk_model=MODEL,
        horizon=5,
        market="IDX",
    )


PROBLEM = variance_problem()
RESULT = PROBLEM.solve()
ES_RESULT = oh.HedgeProblem(
    BOOK,
    [FUTURE, PUT],
    objective=oh.ExpectedShortfall(0.9),
    constraints=[GrossExposure(0.5)],
    scenarios=SCENARIOS,
    risk_model=MODEL,
    horizon=5,
    market="IDX",
    market_state=MARKET,
).solve()
SWEEP = oh.sweep(PROBLEM, {"gross_exposure.max": [0.1, 0.3]}, progress=False)

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([10**12, -(10**12), 0.0, -0.5, 0.5, 1.0, 1e300, -1e-300]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([np.nan, np.inf, -np.inf, np.float64(0.2), np.int64(3)]),
    st.text(max_size=3),
    st.sampled_from(["", "IDX", "A", "F", "e", "K", "factor", "2024-01-02", "gross_exposure.max"]),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3),
    st.dictionaries(
        st.sampled_from(["IDX", "A", "ZZ", "F"]),
        st.floats(allow_nan=True, allow_infinity=True),
        max_size=2,
    ),
    st.sampled_from(
        [
            pd.Series(dtype=float),
            pd.DataFrame(),
            DAILY.iloc[:3],
            pd.Series({"IDX": 100.0}),
            pd.Series([1.0, 2.0], index=["IDX", "IDX"]),
            pd.Series({"F": np.nan}),
            np.array([0.1, np.nan]),
            ("a", 1),
            object(),
        ]
    ),
)


def outcome(call: Callable[[], Any]) -> Any:
    """Run ``call``: its output, or None if it refused with a project family; anything
    else (a foreign exception, a warning other than DataWarning) fails the test."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = call()
        except FAMILIES as exc:
            message, out = str(exc), None
        else:
            message = "succeeded"
    assert message, "a typed error must say what is wrong"
    foreign = [w for w in caught if not issubclass(w.category, DataWarning)]
    assert not foreign, [(w.category.__name__, str(w.message)) for w in foreign]
    return out


def finite(numbers: Any) -> None:
    values = np.asarray(numbers, dtype=np.float64).ravel()
    assert np.isfinite(values).all(), numbers


def real(v: Any) -> bool:
    return isinstance(v, int | float | np.floating | np.integer) and not isinstance(
        v, bool | np.bool_
    )


# ------------------------------------------------------------------ options
@FAST
@given(v=junk, where=st.sampled_from(["moneyness", "strike", "expiry", "implied_vol", "mult"]))
def test_options(v: Any, where: str) -> None:
    args: dict[str, Any] = {"moneyness": 0.95, "expiry": 42}
    if where == "strike":
        args = {"strike": v, "expiry": 42}
    elif where == "mult":
        args["multiplier"] = v
    else:
        args[where] = v
    put = outcome(lambda: oh.Put("P", underlying="IDX", **args))
    if put is None:
        return
    attrs = outcome(lambda: put.attributes(MARKET))
    if attrs is None:
        return
    finite([attrs[k] for k in ("premium", "delta", "gamma", "vega", "theta")])
    # a put is worth at most its discounted strike, at least nothing (per unit notional)
    if put.strike is not None:
        strike_over_spot = put.strike / 100.0
    else:  # at the money when neither is given
        strike_over_spot = put.moneyness if put.moneyness is not None else 1.0
    assert -1e-12 <= attrs["premium"] <= strike_over_spot + 1e-12
    assert -1.0 - 1e-12 <= attrs["delta"] <= 1e-12


@FAST
@given(v=junk, which=st.sampled_from(["put", "call", "both"]))
def test_packages(v: Any, which: str) -> None:
    put = v if which in ("put", "both") else 0.95
    call = v if which in ("call", "both") else 1.05
    collar = outcome(
        lambda: oh.Collar("C", underlying="IDX", put_moneyness=put, call_moneyness=call)
    )
    spread = outcome(
        lambda: oh.PutSpread("S", underlying="IDX", upper_moneyness=call, lower_moneyness=put)
    )
    for inst in (collar, spread):
        if inst is not None:
            attrs = outcome(lambda inst=inst: inst.attributes(MARKET))
            if attrs is not None:
                finite([attrs["premium"], attrs["delta"]])


# ------------------------------------------------------------------ market state
@FAST
@given(v=junk, where=st.sampled_from(["spot", "volatility", "rate", "dividend_yield", "asof"]))
def test_market_state(v: Any, where: str) -> None:
    args: dict[str, Any] = {"spot": {"IDX": 100.0}, "volatility": {"IDX": 0.2}, "rate": 0.02}
    args[where] = v
    state = outcome(lambda: oh.MarketState(**args))
    if state is None:
        return
    if where == "spot" and real(v):
        assert state.spot_of("IDX") == v
        assert 0 < v < math.inf
    if where == "rate":
        assert state.rate == (v if v is not None else 0.0)
    finite(state.spot.to_numpy())
    finite(state.volatility.to_numpy())
    # and an option can be valued in it, or is refused with a typed error
    attrs = outcome(lambda: PUT.attributes(state))
    if attrs is not None:
        finite(attrs["premium"])


# ------------------------------------------------------------------ events
@FAST
@given(v=junk, where=st.sampled_from(["name", "probability", "shock", "price", "payout", "event"]))
def test_events(v: Any, where: str) -> None:
    if where in ("name", "probability", "shock"):
        args: dict[str, Any] = {"name": "d", "probability": 0.1, "shock": None}
        args[where] = v
        events = outcome(lambda: SCENARIOS.with_event(**args))
        if events is not None:
            p = events.probability_array()
            assert p.sum() == pytest.approx(1.0, abs=1e-12)
            happens = events.events[args["name"]].to_numpy()
            assert p[happens == 1.0].sum() == pytest.approx(args["probability"], rel=1e-12)
        return
    kwargs: dict[str, Any] = {"event": "e", "price": 0.1}
    kwargs[where] = v
    contract = outcome(lambda: oh.EventContract("K", **kwargs))
    if contract is None:
        return
    table = outcome(lambda: oh.kelly_comparison(pd.Series({"K": 0.5}), [contract], EVENTS))
    if table is not None:
        q, p = 0.2, contract.market_probability
        assert table.loc["K", "kelly_stake"] == pytest.approx((q - p) / (1 - p), rel=1e-9)
        assert table.loc["K", "stake"] == pytest.approx(0.5 * p, rel=1e-12)


@FAST
@given(v=junk, where=st.sampled_from(["weights", "instruments", "scenarios"]))
def test_kelly_comparison_and_scenario_pnl(v: Any, where: str) -> None:
    args: dict[str, Any] = {
        "weights": pd.Series({"K": 0.5}),
        "instruments": [CONTRACT],
        "scenarios": EVENTS,
    }
    args[where] = v
    outcome(lambda: oh.kelly_comparison(**args))
    pnl_args: dict[str, Any] = {
        "portfolio": BOOK,
        "instruments": [FUTURE],
        "weights": pd.Series({"F": -0.4}),
        "scenarios": SCENARIOS,
    }
    pnl_args["portfolio" if where == "instruments" else where] = v
    out = outcome(lambda: oh.scenario_pnl(**pnl_args))
    if out is not None:
        finite(out.to_numpy())
        if where == "weights":
            r = SCENARIOS.returns
            book = 0.5 * r["A"] + 0.3 * r["B"] + 0.2 * r["C"]
            x = float(v.get("F", 0.0)) if isinstance(v, pd.Series) and len(v) else 0.0
            np.testing.assert_allclose(out["after"], book + x * r["IDX"], rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------ sweeps and stores
def _caps_respected(result: oh.SweepResult) -> None:
    table = result.pivot().abs().sum(axis=1)
    caps = result.points["gross_exposure.max"]
    ok = result.points["status"].astype(str).str.startswith("optimal")
    assert (table[ok[ok].index] <= caps[ok] + 1e-7).all()
    finite(result.points.loc[ok, "objective"])


@FAST
@given(
    v=junk,
    where=st.sampled_from(
        ["grid", "values", "n_jobs", "chunk_size", "progress", "scheduler", "problem", "resume"]
    ),
)
# found by this test: an array as n_jobs (compared with -1 elementwise)
@example(v=np.array([0.1, np.nan]), where="n_jobs")
def test_sweep_arguments(v: Any, where: str) -> None:
    grid: Any = {"gross_exposure.max": [0.1, 0.3]}
    kwargs: dict[str, Any] = {"progress": False}
    problem: Any = PROBLEM
    if where == "grid":
        grid = v
    elif where == "values":
        grid = {"gross_exposure.max": v}
    elif where == "problem":
        problem = v
    elif where == "n_jobs" and not (real(v) and (v == -1 or v > 1)):
        kwargs["n_jobs"] = v  # no worker pools in a fuzz test
    elif where == "scheduler" and not isinstance(v, str) and v is not None:
        kwargs["scheduler"] = v  # addresses are tested in test_foreign_exceptions
    elif where not in ("n_jobs", "scheduler"):
        kwargs[where] = v
    out = outcome(lambda: oh.sweep(problem, grid, **kwargs))
    if out is not None:
        _caps_respected(out)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(v=st.one_of(junk.filter(lambda v: not isinstance(v, str)), st.just("good")))
def test_sweep_with_a_store(v: Any) -> None:
    """Wrong types as the store are refused; a well-formed path keeps the points."""
    grid = {"gross_exposure.max": [0.1, 0.3]}
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "s.duckdb" if isinstance(v, str) else v
        first = outcome(lambda: oh.sweep(PROBLEM, grid, store=store, progress=False))
        if first is None or store is None:
            return
        _caps_respected(first)
        again = oh.sweep(PROBLEM, grid, store=store, progress=False)
        assert again.computed == 0
        pd.testing.assert_frame_equal(again.weights, first.weights)


# ------------------------------------------------------------------ attribution
def _hand_volatility(result: oh.HedgeResult, hedged: bool) -> float:
    """Volatility over the horizon from the covariance, exposures summed by hand."""
    cov = MODEL.covariance()
    w = BOOK.weights.reindex(cov.index, fill_value=0.0)
    if hedged:
        w = w.add(pd.Series({"IDX": float(result.weights["F"])}), fill_value=0.0)
        w = w.reindex(cov.index, fill_value=0.0)
    return math.sqrt(float(w @ cov @ w) * result.horizon)


@FAST
@given(v=junk, where=st.sampled_from(["by", "measure", "alpha", "factors"]))
def test_attribution(v: Any, where: str) -> None:
    args: dict[str, Any] = {"by": "leg", "measure": "volatility"}
    args[where] = v
    table = outcome(lambda: RESULT.attribution(**args))
    if table is not None and args["measure"] == "volatility":
        finite(table.select_dtypes("number").to_numpy())
        total = table.loc["total"]
        assert total["before"] == pytest.approx(_hand_volatility(RESULT, False), rel=1e-9)
        assert total["after"] == pytest.approx(_hand_volatility(RESULT, True), rel=1e-9)
    es = outcome(lambda: ES_RESULT.attribution(**args))
    if es is not None:
        finite(es.select_dtypes("number").fillna(0.0).to_numpy())


@FAST
@given(v=junk, where=st.sampled_from(["returns", "risk_model", "result_or_weights"]))
# found by this test: AttributeError, a ValueError from a matmul, a log1p of a loss
# beyond 100% (weights of 100 times capital)
@example(v=None, where="risk_model")
@example(v=pd.Series([1.0, 2.0], index=["IDX", "IDX"]), where="result_or_weights")
@example(v=pd.Series({"IDX": 100.0}), where="result_or_weights")
def test_return_attribution(v: Any, where: str) -> None:
    args: dict[str, Any] = {"result_or_weights": RESULT, "returns": DAILY, "risk_model": MODEL}
    args[where] = v
    out = outcome(lambda: oh.attribution.return_attribution(**args))
    if out is not None:
        finite(out.total.select_dtypes("number").fillna(0.0).to_numpy())
        covered = out.effectiveness[out.effectiveness["covered"].astype(bool)]
        finite(covered[["book", "hedged"]].to_numpy())
        assert (covered[["book", "hedged"]] >= -1.0).all().all()  # no more than all capital


# ------------------------------------------------------------------ report and plots
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    v=junk.filter(lambda v: v is not None and not isinstance(v, str | dict)),
    where=st.sampled_from(["inputs", "title", "returns", "path"]),
)
def test_report(v: Any, where: str) -> None:
    """Valid values of these arguments are written by test_report; here only bad ones."""
    with tempfile.TemporaryDirectory() as folder:
        args: dict[str, Any] = {"path": Path(folder) / "r.html"}
        args[where] = v
        path = args.pop("path")
        out = outcome(lambda: RESULT.report(path, **args))
        if out is not None:
            assert Path(out).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@FAST
@given(
    v=junk,
    where=st.sampled_from(
        ["frontier_result", "risk", "cost", "by", "limit", "shadow_key", "alloc_key", "column"]
    ),
)
# found by this test: arrays as a key (the truth value of an array is ambiguous)
@example(v=np.array([0.1, np.nan]), where="by")
@example(v=np.array([0.1, np.nan]), where="shadow_key")
@example(v=np.array([0.1, np.nan]), where="alloc_key")
def test_plots(v: Any, where: str) -> None:
    plots = oh.sweeps
    calls: dict[str, Callable[[], Any]] = {
        "frontier_result": lambda: plots.frontier_plot(v),
        "risk": lambda: plots.frontier_plot(SWEEP, risk=v, cost="turnover"),
        "cost": lambda: plots.frontier_plot(SWEEP, cost=v),
        "by": lambda: plots.frontier_plot(SWEEP, cost="turnover", by=v),
        "limit": lambda: plots.shadow_price_plot(SWEEP, v),
        "shadow_key": lambda: plots.shadow_price_plot(SWEEP, "gross_exposure.max", key=v),
        "alloc_key": lambda: plots.allocation_plot(SWEEP, v),
        "column": lambda: plots.allocation_plot(SWEEP, "gross_exposure.max", column=v),
    }
    fig = outcome(calls[where])
    if fig is not None:
        assert fig.axes


def test_an_event_shock_beyond_any_return_is_refused_with_the_range() -> None:
    with pytest.raises(
        SpecificationError,
        match=r"shock\['\w+'\]' argument must be a finite number in \(-1, 1000\]\. Got 1\.6e\+308",
    ):
        SCENARIOS.with_event(name="d", probability=0.1, shock=1.6e308)

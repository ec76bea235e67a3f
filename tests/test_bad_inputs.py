"""What a new user trips over: every bad input gets the project's typed error, named.

One table of (input, error family, a word the message must contain), then a property
test that feeds random malformed frames and numbers to the public constructors and to
``solve()`` and accepts only the project's typed errors or a finite, checked result.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
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
from factor_models import MultiWindowRegression, rolling_ols
from optihedge.errors import (
    DataError,
    DataWarning,
    InfeasibleError,
    MissingLabelsError,
    SolverFailedError,
    SpecificationError,
    UnboundedError,
)
from optihedge.pricing import ewma_volatility

DATES = pd.bdate_range("2020-01-01", periods=300)
RNG = np.random.default_rng(11)
IDX = RNG.normal(0.0003, 0.01, 300)
DAILY = pd.DataFrame(
    {"A": 0.9 * IDX + RNG.normal(0, 0.01, 300), "B": 1.2 * IDX + RNG.normal(0, 0.01, 300)},
    index=DATES,
)
DAILY["IDX"] = IDX
PRICES = (1 + DAILY).cumprod() * 100
MODEL = oh.FactorModel().fit(DAILY, DAILY[["IDX"]]).risk_model_
BOOK = oh.Portfolio.from_holdings({"A": 6e5, "B": 4e5})
FUTURE = oh.Future(label="ESZ6", underlying="IDX", price=5000.0, multiplier=50.0)


def problem(**kwargs: object) -> oh.HedgeProblem:
    args: dict[str, object] = {
        "objective": oh.Variance(),
        "risk_model": MODEL,
        "market": "IDX",
    }
    args.update(kwargs)
    instruments = args.pop("instruments", [FUTURE])
    return oh.HedgeProblem(args.pop("portfolio", BOOK), instruments, **args)  # type: ignore[arg-type]


def text_prices() -> pd.DataFrame:
    frame = PRICES.astype(object)
    frame.iloc[3, 0] = "n/a"
    return frame


def duplicate_columns() -> pd.DataFrame:
    frame = DAILY.copy()
    frame.columns = pd.Index(["A", "A", "IDX"])
    return frame


def with_inf() -> pd.DataFrame:
    frame = DAILY.copy()
    frame.iloc[5, 1] = np.inf
    return frame


# (what the user did, the call, the family, a word the message must contain)
CASES: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    # silently wrong before
    (
        "ETF with a negative expense ratio",
        lambda: oh.ETF(label="E", underlying="IDX", expense_ratio=-0.01),
        SpecificationError,
        "expense_ratio",
    ),
    (
        "current hedge with NaN",
        lambda: problem(current=pd.Series({"ESZ6": np.nan})),
        DataError,
        "NaN",
    ),
    (
        "historical step 0",
        lambda: oh.Scenarios.historical(DAILY, step=0),
        SpecificationError,
        "'step'",
    ),
    (
        "historical step -5",
        lambda: oh.Scenarios.historical(DAILY, step=-5),
        SpecificationError,
        "'step'",
    ),
    ("zero participation", lambda: Liquidity(0.0), SpecificationError, "max_participation"),
    (
        "returns in percent to a factor model",
        lambda: oh.FactorModel().fit(DAILY * 100, DAILY[["IDX"]] * 100),
        DataError,
        "percent",
    ),
    (
        "returns in percent to a regression",
        lambda: MultiWindowRegression(DAILY["A"] * 100, DAILY["IDX"] * 100, windows=(63,)),
        DataError,
        "percent",
    ),
    (
        "returns in percent to rolling_ols",
        lambda: rolling_ols(DAILY["A"] * 100, DAILY["IDX"], 63),
        DataError,
        "percent",
    ),
    (
        "returns in percent to scenarios",
        lambda: oh.Scenarios.historical(DAILY * 100),
        DataError,
        "percent",
    ),
    (
        "returns in percent to a book's track record",
        lambda: oh.Portfolio.from_returns(DAILY["A"] * 100, 1e6),
        DataError,
        "percent",
    ),
    (
        "returns in percent to the EWMA volatility",
        lambda: ewma_volatility(DAILY["A"] * 100),
        DataError,
        "percent",
    ),
    (
        "a long-short book that nets to almost nothing",
        lambda: oh.Portfolio.from_holdings({"A": 1e6, "B": -999_999}),
        DataError,
        "capital=",
    ),
    # raw errors before
    ("prices as text", lambda: oh.returns_from_prices(text_prices()), DataError, "text"),
    (
        "a price column with no prices",
        lambda: oh.returns_from_prices(PRICES.assign(B=np.nan)),
        DataError,
        "fewer than 2 prices in columns ['B']",
    ),
    (
        "returns with inf to a factor model",
        lambda: oh.FactorModel().fit(with_inf(), DAILY[["IDX"]]),
        DataError,
        "infinite",
    ),
    (
        "duplicate columns to a factor model",
        lambda: oh.FactorModel().fit(duplicate_columns(), DAILY[["IDX"]]),
        MissingLabelsError,
        "duplicate",
    ),
    ("Portfolio(...) with a number", lambda: oh.Portfolio(3.0), DataError, "'holdings'"),  # type: ignore[arg-type]
    # misleading before
    (
        "selling a ticker the book does not hold",
        lambda: problem(instruments=[oh.PositionReduction(label="s", holding="IDX")]),
        MissingLabelsError,
        "does not hold long",
    ),
    (
        "an unknown market",
        lambda: problem(market="NOPE"),
        MissingLabelsError,
        "'market' argument 'NOPE'",
    ),
    (
        "an underlying that is neither asset nor factor",
        lambda: problem(instruments=[oh.Future(label="VX", underlying="VIX")]),
        MissingLabelsError,
        "neither an asset",
    ),
    (
        "a factor model with mismatched dates",
        lambda: oh.FactorModel().fit(DAILY, DAILY[["IDX"]].iloc[5:]),
        MissingLabelsError,
        "align='inner'",
    ),
    (
        "an unknown align option",
        lambda: oh.FactorModel(align="outer").fit(DAILY, DAILY[["IDX"]]),
        SpecificationError,
        "'align'",
    ),
    ("a horizon of 0", lambda: problem(horizon=0), SpecificationError, "'horizon'"),
    (
        "an unknown parameter key",
        lambda: problem(constraints=[GrossExposure(1.0)]).solve({"gross": 1}),
        SpecificationError,
        "gross_exposure.max",
    ),
    ("a negative spot", lambda: oh.MarketState(spot={"IDX": -1.0}), DataError, "'spot'"),
    # options and events
    (
        "a put with strike 0",
        lambda: oh.Put("P", underlying="IDX", strike=0.0),
        SpecificationError,
        "strike",
    ),
    (
        "a put expiring today",
        lambda: oh.Put("P", underlying="IDX", expiry=0),
        SpecificationError,
        "expiry",
    ),
    (
        "a negative implied volatility",
        lambda: oh.Call("C", underlying="IDX", implied_vol=-0.2),
        SpecificationError,
        "implied_vol",
    ),
    (
        "a moneyness of 50",
        lambda: oh.Put("P", underlying="IDX", moneyness=50),
        SpecificationError,
        "strike / spot",
    ),
    (
        "a moneyness of 0",
        lambda: oh.Put("P", underlying="IDX", moneyness=0),
        SpecificationError,
        "moneyness",
    ),
    (
        "an option without a market state",
        lambda: problem(instruments=[oh.Put("P", underlying="IDX")]),
        SpecificationError,
        "market_state",
    ),
    (
        "an option on an underlying missing from the data",
        lambda: problem(
            instruments=[oh.Put("P", underlying="VIX")],
            market_state=oh.MarketState(spot={"VIX": 20.0}, volatility={"VIX": 0.9}),
        ),
        MissingLabelsError,
        "'VIX'",
    ),
    (
        "an event column that is not 0/1",
        lambda: oh.Scenarios(
            DAILY.iloc[:3], 1, events=pd.DataFrame({"e": [0, 2, 1]}, index=DAILY.index[:3])
        ),
        DataError,
        "must hold 0",
    ),
]


@pytest.mark.parametrize(("what", "call", "family", "word"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_typed_error(
    what: str, call: Callable[[], object], family: type[Exception], word: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning instead of the error would be a failure
        with pytest.raises(family) as info:
            call()
    assert word in str(info.value), f"{what}: {info.value}"


def test_high_volatility_returns_warn_and_still_fit() -> None:
    wild = DAILY * 12  # decimals, but 12% a day: implausible, not impossible
    with pytest.warns(DataWarning, match="are these returns in percent"):
        oh.FactorModel().fit(wild, wild[["IDX"]])


def test_liquidity_without_any_adv_says_so() -> None:
    res = problem(constraints=[Liquidity(0.1)]).solve()
    assert any("limits no instrument" in n for n in res.notes)
    assert "limits no instrument" in res.summary()


def test_non_string_column_labels_are_used_as_strings() -> None:
    frame = DAILY.copy()
    frame.columns = pd.Index([1, 2, "IDX"], dtype=object)
    model = oh.FactorModel().fit(frame, frame[["IDX"]]).risk_model_
    assert list(model.assets) == ["1", "2", "IDX"]


def test_factor_model_align_inner_uses_the_common_dates() -> None:
    fit = oh.FactorModel(align="inner").fit(DAILY, DAILY[["IDX"]].iloc[5:])
    assert fit.risk_model_.window == len(DAILY) - 5


# ---------------------------------------------------------------- property test
TYPED = (DataError, SpecificationError, InfeasibleError, UnboundedError, SolverFailedError)

cells = st.one_of(
    st.floats(-0.2, 0.2),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just(np.nan),
    st.just(np.inf),
    st.just(-1.5),
    st.just(250.0),
)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 40))
    cols = draw(st.lists(st.sampled_from(["A", "B", "IDX", 7, "A"]), min_size=0, max_size=4))
    values = draw(
        st.lists(st.lists(cells, min_size=len(cols), max_size=len(cols)), min_size=n, max_size=n)
    )
    index = pd.bdate_range("2021-01-01", periods=n)
    frame = pd.DataFrame(values, index=index, columns=pd.Index(cols, dtype=object))
    if draw(st.booleans()) and n and cols:
        frame = frame.astype(object)
        frame.iloc[0, 0] = "x"
    return frame


def _finite(obj: object, which: int, prices: pd.DataFrame | None = None) -> None:
    if isinstance(obj, pd.DataFrame) and prices is not None:
        # returns from prices: NaN only outside a column's history (documented), never a
        # date on which no column has a return
        assert obj.notna().any(axis=1).all(), (which, obj)
        for j in range(obj.shape[1]):
            history = prices.iloc[:, j].astype(float).dropna().index
            gaps = obj.index[obj.iloc[:, j].isna()]
            assert ((gaps <= history[0]) | (gaps > history[-1])).all(), (which, obj)
        obj = obj.fillna(0.0)
    if isinstance(obj, pd.DataFrame | pd.Series):
        numbers = obj.select_dtypes("number") if isinstance(obj, pd.DataFrame) else obj
        assert np.isfinite(np.asarray(numbers, dtype=np.float64)).all(), (which, obj)


# a first row of NaN (one column, then a later listing beside another): returns_from_prices
# returned a row of NaN under missing="raise" (issue 20), found by this test once
RAGGED = pd.DataFrame(
    {"A": [np.nan, 0.1, 0.05, 0.2], "B": [0.1, 0.1, 0.15, np.nan]},
    index=pd.bdate_range("2021-01-01", periods=4),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(frame=RAGGED[["A"]], number=0.0)
@example(frame=RAGGED, number=0.0)
@given(frame=frames(), number=st.one_of(cells, st.integers(-3, 3), st.text(max_size=2)))
def test_malformed_inputs_get_typed_errors_or_checked_results(
    frame: pd.DataFrame, number: object
) -> None:
    calls: list[Callable[[], object]] = [
        lambda: oh.FactorModel().fit(frame, frame.iloc[:, :1]).risk_model_.covariance(),
        lambda: oh.Scenarios.from_returns(frame).returns,
        lambda: oh.Scenarios.historical(frame, horizon=5).returns,
        lambda: oh.returns_from_prices(frame),  # call 3: NaN only outside histories
        lambda: (
            MultiWindowRegression(frame.iloc[:, :1], frame.iloc[:, -1:], windows=(10,)).fit().betas
        ),
        lambda: oh.Portfolio.from_holdings(frame.iloc[0] if len(frame) else {}).weights,
        lambda: oh.Future(label="F", underlying="IDX", price=number),  # type: ignore[arg-type]
        lambda: GrossExposure(number),  # type: ignore[arg-type]
        lambda: (
            problem(constraints=[GrossExposure(0.5)]).solve({"gross_exposure.max": number}).weights
        ),  # type: ignore[dict-item]
        lambda: (
            problem(
                constraints=[Turnover(0.5)], current=frame.iloc[:, 0] if frame.shape[1] else None
            )
            .solve()
            .weights
        ),
        # every other public constructor, with the malformed number or frame
        lambda: oh.ETF(label="E", underlying="IDX", expense_ratio=number),  # type: ignore[arg-type]
        lambda: oh.Put("P", underlying="IDX", moneyness=number),  # type: ignore[arg-type]
        lambda: oh.Call("C", underlying="IDX", strike=number),  # type: ignore[arg-type]
        lambda: oh.Collar("K", underlying="IDX", put_moneyness=number, call_moneyness=1.1),  # type: ignore[arg-type]
        lambda: oh.PutSpread("S", underlying="IDX", upper_moneyness=1.0, lower_moneyness=number),  # type: ignore[arg-type]
        lambda: oh.Put("P", underlying="IDX", expiry=number),  # type: ignore[arg-type]
        lambda: oh.EventContract("E", event="e", price=number),  # type: ignore[arg-type]
        lambda: oh.VolatilityModel(beta=number),  # type: ignore[arg-type]
        lambda: oh.Scenarios.from_returns(DAILY).with_event("e", number).returns,  # type: ignore[arg-type]
        lambda: oh.portfolio_insurance(1e6, 1.0, 4000.0, number, T=0.25).strike,  # type: ignore[arg-type]
        lambda: oh.delta_hedge_table(
            frame.iloc[:, 0] if frame.shape[1] else [],
            kind="call",
            strike=50.0,
            r=0.05,
            sigma=0.2,
            T=1.0,
            position=-100.0,
        ),
        lambda: oh.InverseETF(label="S", underlying="IDX", leverage=number),  # type: ignore[arg-type]
        lambda: oh.PositionReduction(label="s", holding="A", cost=number),  # type: ignore[arg-type]
        lambda: oh.MarketState(spot={"IDX": number}, rate=0.0),  # type: ignore[dict-item]
        lambda: oh.MarketState(spot=frame.iloc[0] if len(frame) else None),
        lambda: Turnover(number),  # type: ignore[arg-type]
        lambda: Liquidity(number, days=2.0),  # type: ignore[arg-type]
        lambda: Bounds(lower=number),
        lambda: ResidualBeta(min=number),  # type: ignore[arg-type]
        lambda: FactorExposure("IDX", max=number),  # type: ignore[arg-type]
        lambda: Budget(number),  # type: ignore[arg-type]
        lambda: ExpectedPnL(number),  # type: ignore[arg-type]
        lambda: PremiumBudget(number),  # type: ignore[arg-type]
        lambda: CarryBudget(number),  # type: ignore[arg-type]
        lambda: WholeContracts(method=number),  # type: ignore[arg-type]
        lambda: oh.Variance(weight=number),  # type: ignore[arg-type]
        lambda: oh.ExpectedShortfall(number),  # type: ignore[arg-type]
        lambda: oh.ExpectedShortfall(0.95, capacity=number),  # type: ignore[arg-type]
        lambda: oh.RiskModel.from_covariance(frame),
        lambda: oh.StatisticalFactorModel().fit(frame).risk_model_.covariance(),
        lambda: rolling_ols(frame.iloc[:, :1], frame.iloc[:, -1:], 5),
        lambda: oh.Scenarios.bootstrap(frame, 5, horizon=3).returns,
        lambda: oh.Scenarios.monte_carlo(MODEL, 20, horizon=number).returns,  # type: ignore[arg-type]
        lambda: (
            oh.Portfolio.from_returns(frame.iloc[:, 0] if frame.shape[1] else frame, 1e6).weights
        ),
        lambda: oh.Portfolio.from_holdings({"A": 1.0}, capital=number).weights,  # type: ignore[arg-type]
        lambda: oh.scenario_pnl(
            BOOK,
            [FUTURE],
            frame.iloc[0] if len(frame) else pd.Series(dtype=float),
            oh.Scenarios.from_returns(DAILY),
        ),
    ]
    for which, call in enumerate(calls):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = call()
            except TYPED:
                out = None
            except Exception as exc:
                exc.add_note(f"raised by call {which}")
                raise
        # implausible-but-usable data may warn, and only with the project's DataWarning
        assert all(issubclass(w.category, DataWarning) for w in caught), [
            (which, str(w.message)) for w in caught
        ]
        _finite(out, which, frame if which == 3 else None)

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
    MissingLabelsError,
    SpecificationError,
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
    """Malformed frames, clean returns or clean prices (with which the calls must work)."""
    n = draw(st.integers(0, 40))
    kind = draw(st.sampled_from(["messy", "returns", "prices"]))
    if kind == "messy":
        cols = draw(st.lists(st.sampled_from(["A", "B", "IDX", 7, "A"]), min_size=0, max_size=4))
        one = cells
    else:
        cols = draw(
            st.lists(st.sampled_from(["A", "B", "IDX"]), min_size=1, max_size=3, unique=True)
        )
        one = st.floats(-0.2, 0.2) if kind == "returns" else st.floats(50.0, 60.0)
    values = draw(
        st.lists(st.lists(one, min_size=len(cols), max_size=len(cols)), min_size=n, max_size=n)
    )
    index = pd.bdate_range("2021-01-01", periods=n)
    frame = pd.DataFrame(values, index=index, columns=pd.Index(cols, dtype=object))
    if draw(st.booleans()) and n and cols:
        frame = frame.astype(object)
        frame.iloc[0, 0] = "x"
    return frame


def _real(number: object) -> bool:
    return (
        isinstance(number, int | float)
        and not isinstance(number, bool)
        and bool(np.isfinite(number))
    )


def _numeric(frame: pd.DataFrame) -> np.ndarray | None:
    """The frame's values when every cell is a finite float and labels are unique strings."""
    if frame.shape[1] == 0 or not frame.columns.is_unique:
        return None
    if not all(isinstance(c, str) for c in frame.columns):
        return None
    if not all(pd.api.types.is_float_dtype(t) for t in frame.dtypes):
        return None
    values = frame.to_numpy(dtype=np.float64)
    return values if np.isfinite(values).all() else None


def _plausible(frame: pd.DataFrame) -> bool:
    """Usable returns: finite floats above -100% and at most +100% (the DataError line)."""
    v = _numeric(frame)
    return v is not None and bool(((v > -1.0) & (v <= 1.0)).all())


def _prices(frame: pd.DataFrame) -> bool:
    """Usable prices: positive, with every one-period return in (-100%, +100%]."""
    v = _numeric(frame)
    if v is None or len(v) < 2 or not (v > 0).all():
        return False
    growth = v[1:] / v[:-1]
    return bool(((growth > 0.0) & (growth <= 2.0)).all())


def _numbers(obj: object) -> list[float]:
    """Every number in an output: pandas (numeric columns), arrays, scalars."""
    if isinstance(obj, pd.DataFrame):
        return list(obj.select_dtypes("number").to_numpy(dtype=np.float64).ravel())
    if isinstance(obj, pd.Series | np.ndarray):
        return list(np.asarray(obj, dtype=np.float64).ravel())
    if isinstance(obj, int | float) and not isinstance(obj, bool):
        return [float(obj)]
    raise AssertionError(f"no numbers known for {type(obj).__name__}")


def _all_finite(out: object, frame: pd.DataFrame, number: object) -> None:
    assert np.isfinite(_numbers(out)).all(), out


def _keeps(name: str) -> Callable[[object, pd.DataFrame, object], None]:
    """The object holds the number it was given (finite: a bad one raises)."""

    def check(out: object, frame: pd.DataFrame, number: object) -> None:
        kept = getattr(out, name)
        assert kept == number, (name, kept, number)
        assert np.isfinite(kept)

    return check


def _same_returns(out: object, frame: pd.DataFrame, number: object) -> None:
    assert isinstance(out, pd.DataFrame)
    np.testing.assert_array_equal(out.to_numpy(), frame.to_numpy(dtype=np.float64))


def _five_day_paths(out: object, frame: pd.DataFrame, number: object) -> None:
    # overlapping 5-day paths, compounded by hand
    assert isinstance(out, pd.DataFrame)
    growth = (1.0 + frame.to_numpy(dtype=np.float64)).astype(np.float64)
    want = np.array([growth[i : i + 5].prod(axis=0) - 1.0 for i in range(len(frame) - 4)])
    np.testing.assert_allclose(out.to_numpy(), want, rtol=1e-12, atol=1e-15)


def _simple_returns(out: object, frame: pd.DataFrame, number: object) -> None:
    assert isinstance(out, pd.DataFrame)
    v = frame.to_numpy(dtype=np.float64)
    np.testing.assert_allclose(out.to_numpy(), v[1:] / v[:-1] - 1.0, rtol=1e-12, atol=1e-15)


def _gross_respected(out: object, frame: pd.DataFrame, number: object) -> None:
    assert isinstance(out, pd.Series)
    assert np.isfinite(out.to_numpy()).all()
    assert float(np.abs(out).sum()) <= float(number) + 1e-9  # type: ignore[arg-type]


def _floor_strike(out: object, frame: pd.DataFrame, number: object) -> None:
    # beta 1, no rates or dividends: the strike is the index level scaled by floor/value
    # (found by a root search: 3e-8 relative at a floor of 0.001)
    assert out == pytest.approx(4000.0 * float(number) / 1e6, rel=1e-6)  # type: ignore[arg-type]


def _spot(out: object, frame: pd.DataFrame, number: object) -> None:
    assert isinstance(out, oh.MarketState)
    assert out.spot_of("IDX") == number


def _capital(out: object, frame: pd.DataFrame, number: object) -> None:
    assert isinstance(out, pd.Series)
    assert out["A"] == pytest.approx(1.0 / float(number), rel=1e-12)  # type: ignore[arg-type]


def _event(out: object, frame: pd.DataFrame, number: object) -> None:
    # every scenario split in two: without the event (1 - p) and with it (p), the
    # returns unchanged without a shock
    assert isinstance(out, oh.Scenarios)
    p = float(number)  # type: ignore[arg-type]
    happens = out.events["e"].to_numpy()
    prob = out.probabilities.to_numpy()
    np.testing.assert_array_equal(np.sort(np.unique(happens)), [0.0, 1.0])
    assert prob[happens == 1.0].sum() == pytest.approx(p, rel=1e-12)
    np.testing.assert_allclose(prob[happens == 1.0], p / len(DAILY), rtol=1e-12)
    np.testing.assert_allclose(prob[happens == 0.0], (1.0 - p) / len(DAILY), rtol=1e-12)
    for side in (0.0, 1.0):
        rows = out.returns.to_numpy()[happens == side]
        np.testing.assert_array_equal(rows, DAILY.to_numpy())


Check = Callable[[object, pd.DataFrame, object], None]
Valid = Callable[[pd.DataFrame, object], bool]
NEVER: Valid = lambda f, n: False  # noqa: E731
EXACT: set[int] = set()  # predicates that name every valid input: the rest must fail


def iff(valid: Valid) -> Valid:
    """Mark a predicate as exact: the call succeeds if and only if it holds."""
    EXACT.add(id(valid))
    return valid


DATA = (DataError,)  # MissingLabelsError and the estimation errors are DataErrors
SPEC = (SpecificationError,)  # ConstraintSpecificationError is one

# (call, the errors its input warrants, when the input is valid (it must then succeed),
# what its output must show)
CASES_PBT: list[
    tuple[Callable[[pd.DataFrame, object], object], tuple[type[Exception], ...], Valid, Check]
] = [
    (
        lambda frame, number: (
            oh.FactorModel().fit(frame, frame.iloc[:, :1]).risk_model_.covariance()
        ),
        DATA,
        NEVER,
        _all_finite,
    ),
    (
        lambda frame, number: oh.Scenarios.from_returns(frame).returns,
        DATA,
        lambda f, n: len(f) >= 2 and _plausible(f),
        _same_returns,
    ),
    (
        lambda frame, number: oh.Scenarios.historical(frame, horizon=5).returns,
        DATA,
        lambda f, n: len(f) >= 6 and _plausible(f),
        _five_day_paths,
    ),
    (
        lambda frame, number: oh.returns_from_prices(frame),
        DATA,
        lambda f, n: _prices(f),
        _simple_returns,
    ),
    (
        lambda frame, number: (
            MultiWindowRegression(frame.iloc[:, :1], frame.iloc[:, -1:], windows=(10,)).fit().betas
        ),
        DATA,
        NEVER,
        _all_finite,
    ),
    (
        lambda frame, number: (
            oh.Portfolio.from_holdings(frame.iloc[0] if len(frame) else {}).weights
        ),
        DATA,
        NEVER,
        _all_finite,
    ),
    (
        lambda frame, number: oh.Future(label="F", underlying="IDX", price=number),  # type: ignore[arg-type]
        SPEC,
        iff(lambda f, n: _real(n) and n > 0),  # type: ignore[operator]
        _keeps("price"),
    ),
    (
        lambda frame, number: GrossExposure(number),
        SPEC,
        iff(lambda f, n: _real(n) and n >= 0),
        _keeps("max"),
    ),  # type: ignore[arg-type, operator]
    (
        lambda frame, number: (
            problem(constraints=[GrossExposure(0.5)]).solve({"gross_exposure.max": number}).weights  # type: ignore[dict-item]
        ),
        SPEC,
        iff(lambda f, n: _real(n) and n >= 0),  # type: ignore[operator]
        _gross_respected,
    ),
    (
        # a current hedge by date labels names no instrument; none at all is valid
        lambda frame, number: (
            problem(
                constraints=[Turnover(0.5)], current=frame.iloc[:, 0] if frame.shape[1] else None
            )
            .solve()
            .weights
        ),
        DATA,
        lambda f, n: f.shape[1] == 0,
        _all_finite,
    ),
    (
        lambda frame, number: oh.ETF(label="E", underlying="IDX", expense_ratio=number),  # type: ignore[arg-type]
        SPEC,
        iff(lambda f, n: _real(n) and n >= 0),  # type: ignore[operator]
        _keeps("expense_ratio"),
    ),
    (
        lambda frame, number: oh.Put("P", underlying="IDX", moneyness=number),
        SPEC,
        NEVER,
        _keeps("moneyness"),
    ),  # type: ignore[arg-type]
    (
        lambda frame, number: oh.Call("C", underlying="IDX", strike=number),  # type: ignore[arg-type]
        SPEC,
        iff(lambda f, n: _real(n) and n > 0),  # type: ignore[operator]
        _keeps("strike"),
    ),
    (
        lambda frame, number: oh.Collar(
            "K", underlying="IDX", put_moneyness=number, call_moneyness=1.1
        ),  # type: ignore[arg-type]
        SPEC,
        NEVER,
        _keeps("put_moneyness"),
    ),
    (
        lambda frame, number: oh.PutSpread(
            "S", underlying="IDX", upper_moneyness=1.0, lower_moneyness=number
        ),  # type: ignore[arg-type]
        SPEC,
        NEVER,
        _keeps("lower_moneyness"),
    ),
    (
        lambda frame, number: oh.Put("P", underlying="IDX", expiry=number),
        SPEC,
        NEVER,
        _keeps("expiry"),
    ),  # type: ignore[arg-type]
    (
        lambda frame, number: oh.EventContract("E", event="e", price=number),  # type: ignore[arg-type]
        SPEC,
        iff(lambda f, n: _real(n) and 0 < n < 1),  # type: ignore[operator]
        _keeps("price"),
    ),
    (
        lambda frame, number: oh.VolatilityModel(beta=number),
        SPEC,
        iff(lambda f, n: _real(n)),
        _keeps("beta"),
    ),  # type: ignore[arg-type]
    (
        lambda frame, number: oh.Scenarios.from_returns(DAILY).with_event("e", number),  # type: ignore[arg-type]
        SPEC,
        iff(lambda f, n: _real(n) and 0 < n < 1),  # type: ignore[operator]
        _event,
    ),
    (
        # a floor whose strike falls outside 0.2-5 times the index level is a DataError
        # (beta 1, no rates or dividends: strike / index level = floor / value)
        lambda frame, number: oh.portfolio_insurance(1e6, 1.0, 4000.0, number, T=0.25).strike,  # type: ignore[arg-type]
        (SpecificationError, DataError),
        lambda f, n: _real(n) and 0.2e6 <= n <= 1e6,  # type: ignore[operator]
        _floor_strike,
    ),
    (
        lambda frame, number: oh.delta_hedge_table(
            frame.iloc[:, 0] if frame.shape[1] else [],
            kind="call",
            strike=50.0,
            r=0.05,
            sigma=0.2,
            T=1.0,
            position=-100.0,
        ),
        DATA,
        NEVER,
        _all_finite,
    ),
    (
        lambda frame, number: oh.InverseETF(label="S", underlying="IDX", leverage=number),  # type: ignore[arg-type]
        SPEC,
        iff(lambda f, n: _real(n) and n < 0),  # type: ignore[operator]
        _keeps("leverage"),
    ),
    (
        lambda frame, number: oh.PositionReduction(label="s", holding="A", cost=number),  # type: ignore[arg-type]
        SPEC,
        iff(lambda f, n: _real(n) and 0 <= n <= 1),  # type: ignore[operator]
        _keeps("cost"),
    ),
    (
        lambda frame, number: oh.MarketState(spot={"IDX": number}, rate=0.0),  # type: ignore[dict-item]
        DATA,
        iff(lambda f, n: _real(n) and n > 0),  # type: ignore[operator]
        _spot,
    ),
    (
        lambda frame, number: oh.MarketState(spot=frame.iloc[0] if len(frame) else None),
        DATA,
        NEVER,
        lambda out, f, n: None,  # a value holder: what it keeps is checked above
    ),
    (
        lambda frame, number: Turnover(number),
        SPEC,
        iff(lambda f, n: _real(n) and n >= 0),
        _keeps("max"),
    ),  # type: ignore[arg-type, operator]
    (
        lambda frame, number: Liquidity(number, days=2.0),  # type: ignore[arg-type]
        SPEC,
        iff(lambda f, n: _real(n) and n > 0),  # type: ignore[operator]
        _keeps("max_participation"),
    ),
    (lambda frame, number: Bounds(lower=number), SPEC, iff(lambda f, n: _real(n)), _keeps("lower")),  # type: ignore[arg-type]
    (
        lambda frame, number: ResidualBeta(min=number),
        SPEC,
        iff(lambda f, n: _real(n)),
        _keeps("min"),
    ),  # type: ignore[arg-type]
    (
        lambda frame, number: FactorExposure("IDX", max=number),
        SPEC,
        iff(lambda f, n: _real(n)),
        _keeps("max"),
    ),  # type: ignore[arg-type]
    (lambda frame, number: Budget(number), SPEC, iff(lambda f, n: _real(n)), _keeps("total")),  # type: ignore[arg-type]
    (lambda frame, number: ExpectedPnL(number), SPEC, iff(lambda f, n: _real(n)), _keeps("min")),  # type: ignore[arg-type]
    (
        lambda frame, number: PremiumBudget(number),
        SPEC,
        iff(lambda f, n: _real(n) and n >= 0),
        _keeps("max"),
    ),  # type: ignore[arg-type, operator]
    (
        lambda frame, number: CarryBudget(number),
        SPEC,
        iff(lambda f, n: _real(n) and n >= 0),
        _keeps("max"),
    ),  # type: ignore[arg-type, operator]
    (lambda frame, number: WholeContracts(method=number), SPEC, NEVER, lambda out, f, n: None),  # type: ignore[arg-type]
    (
        lambda frame, number: oh.Variance(weight=number),
        SPEC,
        iff(lambda f, n: _real(n) and n >= 0),
        _keeps("weight"),
    ),  # type: ignore[arg-type, operator]
    (
        lambda frame, number: oh.ExpectedShortfall(number),  # type: ignore[arg-type]
        SPEC,
        iff(lambda f, n: _real(n) and 0.5 <= n < 1),  # type: ignore[operator]
        _keeps("alpha"),
    ),
    (
        lambda frame, number: oh.ExpectedShortfall(0.95, capacity=number),  # type: ignore[arg-type]
        SPEC,
        iff(lambda f, n: isinstance(n, int) and n >= 1),
        _keeps("capacity"),
    ),
    (
        lambda frame, number: oh.RiskModel.from_covariance(frame),
        DATA,
        NEVER,
        lambda out, f, n: None,
    ),
    (
        lambda frame, number: oh.StatisticalFactorModel().fit(frame).risk_model_.covariance(),
        DATA,
        NEVER,
        _all_finite,
    ),
    (
        lambda frame, number: rolling_ols(frame.iloc[:, :1], frame.iloc[:, -1:], 5),
        DATA,
        NEVER,
        _all_finite,
    ),
    (
        lambda frame, number: oh.Scenarios.bootstrap(frame, 5, horizon=3).returns,
        DATA,
        NEVER,
        _all_finite,
    ),
    (
        lambda frame, number: oh.Scenarios.monte_carlo(MODEL, 20, horizon=number).returns,  # type: ignore[arg-type]
        SPEC,
        iff(lambda f, n: isinstance(n, int) and n >= 1),
        _all_finite,
    ),
    (
        lambda frame, number: (
            oh.Portfolio.from_returns(frame.iloc[:, 0] if frame.shape[1] else frame, 1e6).weights
        ),
        DATA,
        NEVER,
        _all_finite,
    ),
    (
        # a capital so small that the fractions overflow is a DataError
        lambda frame, number: oh.Portfolio.from_holdings({"A": 1.0}, capital=number).weights,  # type: ignore[arg-type]
        (SpecificationError, DataError),
        lambda f, n: _real(n) and 1e-100 <= n <= 1e100,  # type: ignore[operator]
        _capital,
    ),
    (
        lambda frame, number: oh.scenario_pnl(
            BOOK,
            [FUTURE],
            frame.iloc[0] if len(frame) else pd.Series(dtype=float),
            oh.Scenarios.from_returns(DAILY),
        ),
        DATA,
        NEVER,
        _all_finite,
    ),
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), number=st.one_of(cells, st.integers(-3, 3), st.text(max_size=2)))
# always: clean returns with a valid number, clean prices with infinities, nothing
@example(frame=DAILY.iloc[:12], number=0.3)
@example(frame=PRICES.iloc[:12], number=-np.inf)
@example(frame=PRICES.iloc[:12], number=np.inf)
@example(frame=pd.DataFrame(), number=2)
def test_malformed_inputs_get_typed_errors_or_checked_results(
    frame: pd.DataFrame, number: object
) -> None:
    """Each call raises only the error family its input warrants (bad data: DataError;
    a bad argument: SpecificationError; never a solve outcome), a valid input succeeds,
    and every output shows what it must (the numbers kept, finite, recomputed here)."""
    for which, (call, family, valid, check) in enumerate(CASES_PBT):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = call(frame, number)
            except family as exc:
                if valid(frame, number):
                    exc.add_note(f"call {which} refused a valid input")
                    raise
                out = None
            except Exception as exc:
                exc.add_note(f"raised by call {which}")
                raise
            else:
                assert valid(frame, number) or id(valid) not in EXACT, (
                    f"call {which} accepted an invalid input {number!r}"
                )
        # implausible-but-usable data may warn, and only with the project's DataWarning
        assert all(issubclass(w.category, DataWarning) for w in caught), [
            (which, str(w.message)) for w in caught
        ]
        if out is not None:
            try:
                check(out, frame, number)
            except AssertionError as exc:
                exc.add_note(f"output of call {which}")
                raise

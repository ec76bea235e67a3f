"""Time order, extreme rises, ragged price tables and the public module names (issue 20).

1. Every entry point that takes a time series refuses dates that are not unique and
   strictly increasing, with one rule (``factor_models.validation.check_dates``); on
   sorted data the estimates come from the *last* rows (checked against numpy/pandas
   computations on the trailing window, on data whose beta changes half-way).
2. A rise above +100% in one period is a ``DataWarning`` and is used; a column that
   looks like percent or prices is still a ``DataError``; -100% is still an error.
3. ``returns_from_prices`` with a first, last or interior row of NaN.
4. ``optihedge.risk``, ``attribution``, ``diagnostics``, ``sizing`` are importable modules.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

import optihedge as oh
from factor_models import EWMACovariance, MultiWindowRegression, rolling_ols
from optihedge.errors import DataError, DataWarning, MissingLabelsError
from optihedge.pricing import delta_hedge_table, ewma_volatility, volatility_proxy

N, WINDOW = 240, 100
DATES = pd.bdate_range("2021-01-04", periods=N)
_RNG = np.random.default_rng(20)
_IDX = _RNG.normal(0.0003, 0.01, N)
# the book's beta is 0.3 over the oldest half and 1.6 over the newest: an estimator that
# read the wrong end of the history would be off by more than 1
_BETA = np.where(np.arange(N) < N // 2, 0.3, 1.6)
DAILY = pd.DataFrame(
    {"A": _BETA * _IDX + _RNG.normal(0, 0.004, N), "B": _RNG.normal(0, 0.01, N), "IDX": _IDX},
    index=DATES,
)
PRICES = (1 + DAILY).cumprod() * 100
MODEL = oh.FactorModel().fit(DAILY, DAILY[["IDX"]]).risk_model_


def trailing_beta(y: pd.Series, x: pd.Series, window: int = WINDOW) -> float:
    """OLS slope of ``y`` on ``x`` (with an intercept) over the last ``window`` rows."""
    design = np.column_stack([np.ones(window), x.to_numpy()[-window:]])
    coef, *_ = np.linalg.lstsq(design, y.to_numpy()[-window:], rcond=None)
    return float(coef[1])


def test_the_data_tell_the_ends_apart() -> None:
    head = trailing_beta(DAILY["A"].iloc[:WINDOW], DAILY["IDX"].iloc[:WINDOW])
    assert abs(trailing_beta(DAILY["A"], DAILY["IDX"]) - head) > 1.0


# ------------------------------------------------------------------ 1. one rule
Transform = Callable[[pd.DataFrame | pd.Series], pd.DataFrame | pd.Series]


def newest_first(data: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    return data.iloc[::-1]


def with_duplicate(data: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    return pd.concat([data, data.iloc[[7]]]).sort_index(kind="stable")


def as_is(data: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    return data


# (entry point, the call with the time-series arguments transformed, the argument named)
ENTRY_POINTS: list[tuple[str, Callable[[Transform], object], str]] = [
    ("FactorModel.fit", lambda t: oh.FactorModel().fit(t(DAILY), t(DAILY[["IDX"]])), "X"),
    (
        "FactorModel.fit (y only)",
        lambda t: oh.FactorModel(align="inner").fit(DAILY, t(DAILY[["IDX"]])),
        "y",
    ),
    ("StatisticalFactorModel.fit", lambda t: oh.StatisticalFactorModel().fit(t(DAILY)), "X"),
    ("EWMACovariance.fit", lambda t: EWMACovariance().fit(t(DAILY)), "X"),
    (
        "MultiWindowRegression",
        lambda t: MultiWindowRegression(t(DAILY["A"]), t(DAILY["IDX"]), windows=(WINDOW,)),
        "endog",
    ),
    ("rolling_ols", lambda t: rolling_ols(t(DAILY["A"]), t(DAILY["IDX"]), WINDOW), "endog"),
    ("returns_from_prices", lambda t: oh.returns_from_prices(t(PRICES)), "prices"),  # type: ignore[arg-type]
    ("Scenarios.historical", lambda t: oh.Scenarios.historical(t(DAILY), horizon=5), "daily"),  # type: ignore[arg-type]
    ("Scenarios.bootstrap", lambda t: oh.Scenarios.bootstrap(t(DAILY), 10, horizon=5), "daily"),  # type: ignore[arg-type]
    (
        "Scenarios.stress",
        lambda t: oh.Scenarios.stress(t(DAILY), ("2021-03-01", "2021-04-30")),  # type: ignore[arg-type]
        "daily",
    ),
    (
        "hedge_quality (book)",
        lambda t: oh.hedge_quality(t(DAILY["A"]), DAILY[["IDX"]], windows=(WINDOW,)),  # type: ignore[arg-type]
        "book",
    ),
    (
        "hedge_quality (candidates frame)",
        lambda t: oh.hedge_quality(DAILY["A"], t(DAILY[["IDX"]]), windows=(WINDOW,)),
        "candidates",
    ),
    (
        "hedge_quality (candidates mapping)",
        lambda t: oh.hedge_quality(DAILY["A"], {"index": t(DAILY["IDX"])}, windows=(WINDOW,)),
        "candidates['index']",
    ),
    (
        "min_variance_hedge_ratio",
        lambda t: oh.min_variance_hedge_ratio(t(DAILY["A"]), t(DAILY["IDX"])),
        "exposure_changes",
    ),
    (
        "min_variance_hedge_ratio (hedge only)",
        lambda t: oh.min_variance_hedge_ratio(DAILY["A"].to_numpy(), t(DAILY["IDX"])),
        "hedge_changes",
    ),
    (
        "return_attribution",
        lambda t: oh.attribution.return_attribution(
            pd.Series({"A": 1.0}),
            t(DAILY),  # type: ignore[arg-type]
            MODEL,
            market="IDX",
        ),
        "returns",
    ),
    ("ewma_volatility", lambda t: ewma_volatility(t(DAILY["A"])), "returns"),
    ("volatility_proxy", lambda t: volatility_proxy(t(DAILY["A"])), "returns"),
    ("max_drawdown", lambda t: oh.risk.max_drawdown(t(DAILY["A"])), "returns"),
    ("max_drawdown (frame)", lambda t: oh.risk.max_drawdown(t(DAILY)), "returns"),
    ("Portfolio.from_returns", lambda t: oh.Portfolio.from_returns(t(DAILY["A"]), 1e6), "returns"),  # type: ignore[arg-type]
    (
        "delta_hedge_table",
        lambda t: delta_hedge_table(
            t(PRICES["IDX"].iloc[:20]),
            kind="call",
            strike=100.0,
            r=0.0,
            sigma=0.2,
            T=0.5,
            position=-100.0,
        ),
        "spot_path",
    ),
]
IDS = [e[0] for e in ENTRY_POINTS]


@pytest.mark.parametrize(("what", "call", "name"), ENTRY_POINTS, ids=IDS)
def test_newest_first_is_refused(what: str, call: Callable[[Transform], object], name: str) -> None:
    first, second = DATES[-1].date(), DATES[-2].date()
    if what == "delta_hedge_table":
        first, second = DATES[19].date(), DATES[18].date()
    with pytest.raises(DataError) as info:
        call(newest_first)
    message = str(info.value)
    assert f"The '{name}' argument's dates must be strictly increasing" in message, message
    assert f"row 1 ({second}) is not after row 0 ({first})" in message, message
    assert "newest-first" in message, message
    assert ".sort_index()" in message, message


@pytest.mark.parametrize(("what", "call", "name"), ENTRY_POINTS, ids=IDS)
def test_duplicate_dates_are_refused(
    what: str, call: Callable[[Transform], object], name: str
) -> None:
    with pytest.raises(MissingLabelsError) as info:  # a DataError about labels
        call(with_duplicate)
    message = str(info.value)
    assert isinstance(info.value, DataError)
    assert f"The '{name}' argument has duplicate dates ({DATES[7].date()})" in message, message
    assert "index.duplicated(keep='last')" in message, message


@pytest.mark.parametrize(("what", "call", "name"), ENTRY_POINTS, ids=IDS)
def test_sorted_data_are_accepted(
    what: str, call: Callable[[Transform], object], name: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        call(as_is)


def test_shuffled_and_duplicated_dates_name_both_fixes() -> None:
    data = pd.concat([DAILY.iloc[[3]], DAILY.iloc[:10]])
    with pytest.raises(MissingLabelsError, match=r"Drop the duplicates.*and sort the rest"):
        oh.FactorModel().fit(data, data[["IDX"]])
    one_step_back = DAILY.iloc[[0, 1, 3, 2, 4, 5]]
    back = r"row 3 \(2021-01-06\) is not after row 2 \(2021-01-07\); 1 of 5 steps"
    with pytest.raises(DataError, match=back):
        oh.Scenarios.historical(one_step_back, horizon=2)


# the estimates on sorted data are those of the last rows, computed independently
def test_factor_model_and_hedge_use_the_trailing_window() -> None:
    expected = trailing_beta(DAILY["A"], DAILY["IDX"])
    fit = oh.FactorModel(windows=[WINDOW]).fit(DAILY[["A", "IDX"]], DAILY[["IDX"]])
    assert fit.loadings_.loc["A", "IDX"] == pytest.approx(expected, rel=1e-10)
    # the minimum-variance hedge of a book of A with a future on IDX sells beta x capital
    future = oh.Future(label="F", underlying="IDX", price=4000.0, multiplier=50.0)
    result = oh.HedgeProblem(
        oh.Portfolio.from_holdings({"A": 1e6}),
        [future],
        objective=oh.Variance(),
        risk_model=fit.risk_model_,
        market="IDX",
    ).solve()
    assert result.weights["F"] == pytest.approx(-expected, rel=1e-6)


def test_regressions_use_the_trailing_window() -> None:
    expected = trailing_beta(DAILY["A"], DAILY["IDX"])
    res = MultiWindowRegression(DAILY["A"], DAILY["IDX"], windows=(WINDOW,)).fit()
    assert res.params.loc[(WINDOW, "A"), "IDX"] == pytest.approx(expected, rel=1e-10)
    rolled = rolling_ols(DAILY["A"], DAILY["IDX"], WINDOW)
    assert rolled.index[-1] == DATES[-1]
    assert rolled[("A", "IDX")].iloc[-1] == pytest.approx(expected, rel=1e-9)
    quality = oh.hedge_quality(DAILY["A"], DAILY[["IDX"]], windows=(WINDOW,))
    assert quality.betas.loc[("IDX", WINDOW), "IDX"] == pytest.approx(expected, rel=1e-10)


def test_statistical_model_and_ewma_use_the_last_rows() -> None:
    tail = DAILY.to_numpy()[-WINDOW:]
    model = oh.StatisticalFactorModel(windows=[WINDOW]).fit(DAILY).risk_model_
    np.testing.assert_allclose(model.covariance().to_numpy(), np.cov(tail.T, bias=True), rtol=1e-9)
    halflife = 10.0
    ewma = EWMACovariance(halflife=halflife).fit(DAILY).covariance_
    by_pandas = DAILY.ewm(halflife=halflife).cov(bias=True).loc[DATES[-1]].to_numpy()
    np.testing.assert_allclose(ewma, by_pandas, rtol=1e-10)
    vol = ewma_volatility(DAILY["A"], halflife=halflife)
    by_pandas_vol = np.sqrt(252 * (DAILY["A"] ** 2).ewm(halflife=halflife).mean().iloc[-1])
    assert vol == pytest.approx(by_pandas_vol, rel=1e-12)


def test_historical_scenarios_end_at_the_last_date() -> None:
    s = oh.Scenarios.historical(DAILY, horizon=5)
    assert s.returns.index[-1] == DATES[-1]
    expected = np.prod(1 + DAILY["A"].to_numpy()[-5:]) - 1
    assert s.returns["A"].iloc[-1] == pytest.approx(expected, rel=1e-12)


# ------------------------------------------------------------------ 2. rises above +100%
def with_rise(size: float = 1.34) -> pd.DataFrame:
    frame = DAILY.copy()
    frame.loc[DATES[-30], "A"] = size  # a takeover: +134% in one day
    return frame


def test_a_rise_above_100_percent_warns_and_is_used() -> None:
    data = with_rise()
    expected = trailing_beta(data["A"], data["IDX"])
    assert abs(expected - trailing_beta(DAILY["A"], DAILY["IDX"])) > 0.05  # the day matters
    with pytest.warns(DataWarning, match=r"above \+100% over 1 period\(s\) in column\(s\) 'A' "):
        fit = oh.FactorModel(windows=[WINDOW]).fit(data[["A", "IDX"]], data[["IDX"]])
    assert fit.loadings_.loc["A", "IDX"] == pytest.approx(expected, rel=1e-10)
    with pytest.warns(DataWarning, match=r"'A' \(up to \+1\.34\).*used as real moves"):
        res = MultiWindowRegression(data["A"], data["IDX"], windows=(WINDOW,)).fit()
    assert res.params.loc[(WINDOW, "A"), "IDX"] == pytest.approx(expected, rel=1e-10)
    with pytest.warns(DataWarning, match="used as real moves"):
        s = oh.Scenarios.historical(data, horizon=1)
    assert s.returns.loc[DATES[-30], "A"] == pytest.approx(1.34, rel=1e-12)


def test_a_rise_warns_once_and_not_as_percent() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        oh.FactorModel().fit(with_rise().iloc[-63:], DAILY[["IDX"]].iloc[-63:])
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert "used as real moves" in messages[0], messages


@pytest.mark.parametrize(
    ("column", "why"),
    [
        # returns in percent of a quiet asset: no move at -1 (-1%), one above 1 (+1.3%)
        (np.r_[np.clip(DAILY["B"].to_numpy()[:-1] * 40, -0.95, 0.95), 1.3], "volatility of"),
        (PRICES["B"].to_numpy(), f"{N} of its {N} moves are above it"),
    ],
    ids=["percent", "prices"],
)
def test_a_column_of_percent_or_prices_is_still_an_error(column: np.ndarray, why: str) -> None:
    data = DAILY.assign(B=column)
    with pytest.raises(DataError, match=r"'X'.*above \+100%.*looks like percent or prices") as info:
        oh.FactorModel().fit(data, data[["IDX"]])
    assert why in str(info.value)
    assert "column 'B'" in str(info.value)


def test_a_fall_of_100_percent_is_still_an_error() -> None:
    with pytest.raises(DataError, match=r"'X'.*at or below -100%.*column 'A'"):
        oh.FactorModel().fit(with_rise(-1.0), DAILY[["IDX"]])


# ------------------------------------------------------------------ 3. ragged price tables
def prices(values: list[float], **more: list[float]) -> pd.DataFrame:
    columns = {"a": values, **more}
    return pd.DataFrame(columns, index=pd.bdate_range("2024-01-01", periods=len(values)))


def test_first_row_of_nan_has_no_return() -> None:
    out = oh.returns_from_prices(prices([np.nan, 100.0, 110.0, 99.0]))
    assert list(out.index) == list(pd.bdate_range("2024-01-03", periods=2))
    np.testing.assert_allclose(out["a"], [0.1, -0.1])


def test_last_row_of_nan_has_no_return() -> None:
    out = oh.returns_from_prices(prices([100.0, 110.0, 99.0, np.nan]))
    assert list(out.index) == list(pd.bdate_range("2024-01-02", periods=2))
    np.testing.assert_allclose(out["a"], [0.1, -0.1])


def test_interior_nan_follows_the_missing_policy() -> None:
    p = prices([100.0, np.nan, 110.0, 99.0])
    with pytest.raises(DataError, match=r"1 missing prices inside the histories of \['a'\]"):
        oh.returns_from_prices(p)
    np.testing.assert_allclose(oh.returns_from_prices(p, missing="ffill")["a"], [0.0, 0.1, -0.1])
    np.testing.assert_allclose(oh.returns_from_prices(p, missing="drop")["a"], [0.1, -0.1])


def test_staggered_histories_keep_nan_only_outside_them() -> None:
    p = prices([np.nan, 100.0, 110.0, 99.0, np.nan], b=[np.nan, np.nan, 50.0, 55.0, 60.0])
    out = oh.returns_from_prices(p)
    assert list(out.index) == list(pd.bdate_range("2024-01-03", periods=3))
    np.testing.assert_allclose(out["a"], [0.1, -0.1, np.nan])
    np.testing.assert_allclose(out["b"], [np.nan, 0.1, 60.0 / 55.0 - 1.0])


# ------------------------------------------------------------------ 4. module names
ALIASES = {
    "risk": "optihedge.measures.risk",
    "attribution": "optihedge.analysis.attribution",
    "diagnostics": "optihedge.measures.diagnostics",
    "sizing": "optihedge.measures.sizing",
}


@pytest.mark.parametrize(("name", "source"), ALIASES.items(), ids=list(ALIASES))
def test_public_modules_are_importable(name: str, source: str) -> None:
    module = importlib.import_module(f"optihedge.{name}")
    from_package = getattr(importlib.import_module("optihedge"), name)
    assert module is from_package
    assert module.__all__ == importlib.import_module(source).__all__
    for attr in module.__all__:
        assert getattr(module, attr) is getattr(importlib.import_module(source), attr), attr


@pytest.mark.parametrize(
    "code",
    [
        "import optihedge.risk as a; from optihedge import risk as b",
        "from optihedge import risk as b; import optihedge.risk as a",
    ],
)
def test_import_and_from_import_give_one_module(code: str) -> None:
    check = f"{code}; assert a is b, (a, b); print(sorted(b.__all__))"
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert "value_at_risk" in out.stdout


def test_a_table_without_columns_is_refused() -> None:
    empty = pd.DataFrame(index=pd.bdate_range("2024-01-01", periods=3))
    with pytest.raises(DataError, match="'prices' argument has no columns"):
        oh.returns_from_prices(empty)

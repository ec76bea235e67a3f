"""Stress of a single hedge, leg by leg (issue 22, item 6): ``optihedge.analysis.stress``.

Every expected number is written here by hand: compounded returns with numpy, the
inverse ETF's daily reset, Black-Scholes with ``scipy.stats.norm``, the conditional
expectation ``Sigma_AF Sigma_FF^-1 m`` and the blended correlation matrix with numpy.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import optihedge as oh
from optihedge.analysis.stress import (
    CORRELATIONS_DOWN,
    CORRELATIONS_UP,
    DEFAULT_SHOCKS,
    INDEX_DOWN_VOL_UP,
    MARKET,
    SECTOR_DOWN,
    Shock,
    StressReport,
    stress_test,
    stressed_correlation,
)
from optihedge.calendar import TRADING_DAYS
from optihedge.datasets import STRESS_WINDOWS
from optihedge.errors import DataError, MissingLabelsError, SpecificationError

COVID = STRESS_WINDOWS["COVID 2020"]
DATES = pd.bdate_range("2019-11-01", "2020-04-30")
_RNG = np.random.default_rng(22)
_IDX = _RNG.normal(-0.002, 0.02, len(DATES))
DATA = pd.DataFrame(
    {
        "A": 0.9 * _IDX + _RNG.normal(0, 0.01, len(DATES)),
        "B": 1.3 * _IDX + _RNG.normal(0, 0.012, len(DATES)),
        "C": 0.5 * _IDX + _RNG.normal(0, 0.008, len(DATES)),
        "IDX": _IDX,
    },
    index=DATES,
)
INSIDE = DATA.loc[COVID[0] : COVID[1]]
N_DAYS = len(INSIDE)
CAPITAL = 2_000_000.0
BOOK = oh.Portfolio.from_holdings({"A": 1.0e6, "B": 6.0e5, "C": 4.0e5})
W_BOOK = np.array([0.5, 0.3, 0.2])

VOLS = np.array([0.018, 0.028, 0.012, 0.015])
CORR = np.array(
    [
        [1.0, 0.6, 0.3, 0.8],
        [0.6, 1.0, 0.4, 0.85],
        [0.3, 0.4, 1.0, 0.5],
        [0.8, 0.85, 0.5, 1.0],
    ]
)
ASSETS = ["A", "B", "C", "IDX"]
COV = CORR * np.outer(VOLS, VOLS)
MODEL = oh.RiskModel.from_covariance(pd.DataFrame(COV, index=ASSETS, columns=ASSETS))

MARKET_STATE = oh.MarketState(spot={"IDX": 100.0}, volatility={"IDX": 0.22}, rate=0.02)
FLAT = oh.VolatilityModel(beta=0.0, skew=0.0)
FUTURE = oh.Future(label="FUT", underlying="IDX", price=4000.0, multiplier=50.0)
ETF = oh.ETF(label="ETF", underlying="IDX", price=300.0, expense_ratio=0.001)
SH = oh.InverseETF(label="SDS", underlying="IDX", leverage=-2.0, expense_ratio=0.0095)
PUT = oh.Put("PUT", underlying="IDX", moneyness=0.95, expiry=126, implied_vol=0.25, vol_model=FLAT)
SHORT_PUT = oh.Put(
    "PUT10", underlying="IDX", moneyness=1.0, expiry=10, implied_vol=0.25, vol_model=FLAT
)
INSTRUMENTS = [FUTURE, ETF, SH, PUT, SHORT_PUT]
WEIGHTS = pd.Series({"FUT": -0.4, "ETF": -0.1, "SDS": 0.15, "PUT": 0.6, "PUT10": 0.3})


def _bs_put(s: float, k: float, tau: float, r: float, sigma: float) -> float:
    d1 = (math.log(s / k) + (r + 0.5 * sigma**2) * tau) / (sigma * math.sqrt(tau))
    d2 = d1 - sigma * math.sqrt(tau)
    return float(k * math.exp(-r * tau) * norm.cdf(-d2) - s * norm.cdf(-d1))


def _report(**kwargs: object) -> StressReport:
    args: dict[str, object] = {
        "data": DATA,
        "risk_model": MODEL,
        "market_state": MARKET_STATE,
        "market": "IDX",
    }
    args.update(kwargs)
    return stress_test(BOOK, INSTRUMENTS, WEIGHTS, **args)  # type: ignore[arg-type]


REPORT = _report(windows=["COVID 2020"], sector=["A", "B"])


def _leg(scenario: str, leg: str) -> pd.Series:
    return REPORT.legs.loc[(scenario, leg)]


def test_book_future_and_etf_legs_are_weight_times_compounded_return_times_capital() -> None:
    compounded = np.prod(1.0 + INSIDE.to_numpy(), axis=0) - 1.0  # A, B, C, IDX
    book = float(W_BOOK @ compounded[:3])
    assert _leg("COVID 2020", "book")["pnl"] == pytest.approx(book * CAPITAL, rel=1e-12)
    assert _leg("COVID 2020", "book")["fraction"] == pytest.approx(book, rel=1e-12)
    for label in ("FUT", "ETF"):
        expected = WEIGHTS[label] * compounded[3] * CAPITAL
        assert _leg("COVID 2020", label)["pnl"] == pytest.approx(expected, rel=1e-12)
        assert _leg("COVID 2020", label)["position"] == WEIGHTS[label]
    row = REPORT.table.loc["COVID 2020"]
    assert row["kind"] == "window"
    assert row["start"] == INSIDE.index[0]
    assert row["end"] == INSIDE.index[-1]


def test_inverse_etf_leg_is_the_compounded_daily_reset_less_its_fee() -> None:
    r = INSIDE["IDX"].to_numpy()
    growth = 1.0
    for day in r:
        growth *= 1.0 - 2.0 * day
    per_unit = growth - 1.0 - 0.0095 * N_DAYS / TRADING_DAYS
    assert per_unit != pytest.approx(-2.0 * (np.prod(1.0 + r) - 1.0), rel=1e-3)  # path matters
    expected = WEIGHTS["SDS"] * per_unit * CAPITAL
    assert _leg("COVID 2020", "SDS")["pnl"] == pytest.approx(expected, rel=1e-12)


def test_option_legs_against_black_scholes_repricing_along_the_window() -> None:
    s0, k, r = 100.0, 95.0, 0.02
    level = s0 * np.prod(1.0 + INSIDE["IDX"].to_numpy())
    v0 = _bs_put(s0, k, 126 / TRADING_DAYS, r, 0.25)
    v1 = _bs_put(level, k, (126 - N_DAYS) / TRADING_DAYS, r, 0.25)
    expected = WEIGHTS["PUT"] * (v1 - v0) / s0 * CAPITAL
    assert _leg("COVID 2020", "PUT")["pnl"] == pytest.approx(expected, rel=1e-9)
    # the 10-day put expires inside the window: its intrinsic value on day 10
    at_expiry = s0 * np.prod(1.0 + INSIDE["IDX"].to_numpy()[:10])
    v0_short = _bs_put(s0, s0, 10 / TRADING_DAYS, r, 0.25)
    expected_short = WEIGHTS["PUT10"] * (max(s0 - at_expiry, 0.0) - v0_short) / s0 * CAPITAL
    assert _leg("COVID 2020", "PUT10")["pnl"] == pytest.approx(expected_short, rel=1e-9)


def test_option_leg_in_the_index_shock_takes_the_volatility_move() -> None:
    s0, k, r = 100.0, 95.0, 0.02
    v0 = _bs_put(s0, k, 126 / TRADING_DAYS, r, 0.25)
    v1 = _bs_put(s0 * 0.8, k, 125 / TRADING_DAYS, r, 0.25 + 0.15)  # one day, vol +15 pts
    expected = WEIGHTS["PUT"] * (v1 - v0) / s0 * CAPITAL
    assert _leg(INDEX_DOWN_VOL_UP.name, "PUT")["pnl"] == pytest.approx(expected, rel=1e-9)
    # linear legs see the index move itself
    assert _leg(INDEX_DOWN_VOL_UP.name, "FUT")["pnl"] == pytest.approx(-0.4 * -0.2 * CAPITAL)


def test_legs_sum_to_the_hedged_total_in_every_scenario() -> None:
    sums = REPORT.legs.groupby(level="scenario", sort=False).sum()
    table = REPORT.table
    assert list(sums.index) == list(table.index)
    np.testing.assert_allclose(sums["pnl"], table["hedged_pnl"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(sums["fraction"], table["hedged"], rtol=0, atol=1e-15)
    np.testing.assert_allclose(table["book"] + table["hedge"], table["hedged"], rtol=0, atol=1e-15)
    hedge = REPORT.legs.drop("book", level="leg").groupby(level="scenario", sort=False).sum()
    np.testing.assert_allclose(hedge["pnl"], table["hedge_pnl"], rtol=0, atol=1e-8)
    lost = table["book"] < 0
    np.testing.assert_allclose(
        table.loc[lost, "offset"], 1.0 - table.loc[lost, "hedged"] / table.loc[lost, "book"]
    )
    assert REPORT.capital == CAPITAL
    assert REPORT.currency == "USD"


def _hand_corr(toward: float, weight: float) -> np.ndarray:
    n = len(VOLS)
    target = (1.0 - toward) * np.eye(n) + toward * np.ones((n, n))
    return (1.0 - weight) * CORR + weight * target


@pytest.mark.parametrize(("toward", "weight"), [(1.0, 0.5), (0.0, 0.5), (0.3, 0.7), (1.0, 1.0)])
def test_stressed_correlation_against_numpy(toward: float, weight: float) -> None:
    model = stressed_correlation(MODEL, toward, weight)
    cov = model.covariance().loc[ASSETS, ASSETS].to_numpy()
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), VOLS, rtol=1e-12)  # vols kept
    corr = cov / np.outer(VOLS, VOLS)
    np.testing.assert_allclose(np.diag(corr), 1.0, rtol=1e-12)
    np.testing.assert_allclose(corr, _hand_corr(toward, weight), rtol=0, atol=1e-12)
    assert np.linalg.eigvalsh(cov).min() >= -1e-15
    assert model.frequency == MODEL.frequency
    assert model.horizon == MODEL.horizon


def test_stressed_correlation_keeps_the_horizon_and_a_zero_volatility() -> None:
    cov = COV.copy()
    cov[2, :] = cov[:, 2] = 0.0
    model = oh.RiskModel.from_covariance(pd.DataFrame(cov, index=ASSETS, columns=ASSETS))
    out = stressed_correlation(model.to_horizon(21), 1.0, 0.5)
    assert out.horizon == 21
    got = out.covariance().to_numpy()
    assert not np.any(got[2])
    assert np.isfinite(got).all()


def _conditional(cov: np.ndarray, shocked: list[str], m: np.ndarray) -> np.ndarray:
    idx = [ASSETS.index(a) for a in shocked]
    return np.asarray(cov[:, idx] @ np.linalg.solve(cov[np.ix_(idx, idx)], m))


@pytest.mark.parametrize(
    ("shock", "shocked", "moves", "corr"),
    [
        (INDEX_DOWN_VOL_UP, ["IDX"], [-0.2], CORR),
        (SECTOR_DOWN, ["A", "B"], [-0.3, -0.3], CORR),
        (CORRELATIONS_UP, ["IDX"], [-0.2], _hand_corr(1.0, 0.5)),
        (CORRELATIONS_DOWN, ["IDX"], [-0.2], _hand_corr(0.0, 0.5)),
    ],
)
def test_shock_propagation_against_the_conditional_expectation(
    shock: Shock, shocked: list[str], moves: list[float], corr: np.ndarray
) -> None:
    r = _conditional(corr * np.outer(VOLS, VOLS), shocked, np.array(moves))
    book = float(W_BOOK @ r[:3])
    assert _leg(shock.name, "book")["fraction"] == pytest.approx(book, rel=1e-10)
    assert _leg(shock.name, "ETF")["fraction"] == pytest.approx(-0.1 * r[3], rel=1e-10)
    assert REPORT.table.loc[shock.name, "kind"] == "shock"


def test_defaults_run_what_the_inputs_allow_and_list_the_rest() -> None:
    report = _report()  # default windows and shocks, no sector
    assert list(report.table.index) == ["COVID 2020"] + [
        s.name for s in DEFAULT_SHOCKS if s is not SECTOR_DOWN
    ]
    skipped = report.skipped
    assert set(skipped.index) == {"GFC 2008-09", "2022 bear", SECTOR_DOWN.name}
    assert "not covered" in skipped.loc["GFC 2008-09", "reason"]
    assert "sector" in skipped.loc[SECTOR_DOWN.name, "reason"]
    bare = stress_test(BOOK, INSTRUMENTS, WEIGHTS, market_state=MARKET_STATE)
    assert bare.table.empty
    assert len(bare.skipped) == len(STRESS_WINDOWS) + len(DEFAULT_SHOCKS)
    named = _report(windows={"mine": ("2020-03-02", "2020-03-06")}, shocks=[])
    compounded = np.prod(1.0 + DATA.loc["2020-03-02":"2020-03-06", "IDX"].to_numpy()) - 1.0
    assert named.legs.loc[("mine", "FUT"), "fraction"] == pytest.approx(-0.4 * compounded)


def test_a_shock_given_by_value_and_by_name() -> None:
    mine = Shock("IDX -10%", {MARKET: -0.1})
    report = _report(windows=[], shocks=[mine, "correlations up"])
    assert list(report.table.index) == ["IDX -10%", "correlations up"]
    r = _conditional(COV, ["IDX"], np.array([-0.1]))
    assert report.table.loc["IDX -10%", "book"] == pytest.approx(float(W_BOOK @ r[:3]))


BAD = [
    (
        {"windows": ["GFC 2008-09"]},
        DataError,
        r"'windows'.*'GFC 2008-09'.*do not cover \(2019-11-01 to 2020-04-30\).*pass data",
    ),
    ({"windows": ["Dotcom"]}, SpecificationError, r"'windows'.*'Dotcom'.*named ones are"),
    ({"windows": [("2020-03-10", "2020-03-01")]}, SpecificationError, r"'windows'.*starts after"),
    ({"shocks": ["crash"]}, SpecificationError, r"'shocks'.*'crash'.*named ones.*Shock\("),
    (
        {"shocks": [Shock("oil", {"OIL": -0.3})]},
        MissingLabelsError,
        r"'shocks'.*Shock\('oil'\).*'OIL'.*risk model lacks.*with_factor_assets",
    ),
    ({"market": "SPX", "windows": []}, MissingLabelsError, r"'shocks'.*'SPX'.*risk model lacks"),
    ({"risk_model": None, "shocks": ["correlations up"]}, SpecificationError, r"risk_model="),
    ({"data": None, "windows": ["COVID 2020"]}, SpecificationError, r"'windows'.*data="),
    ({"sector": ["ZZZ"]}, MissingLabelsError, r"'sector'.*'ZZZ'.*does not hold"),
    ({"risk_model": COV}, SpecificationError, r"'risk_model'.*RiskModel.*ndarray"),
    ({"data": DATA.drop(columns="IDX")}, MissingLabelsError, r"'data' lack.*'IDX'"),
    ({"market_state": None}, SpecificationError, r"Put\('PUT'\) needs.*market_state="),
    ({"data": DATA.iloc[::-1]}, DataError, r"'data'.*increasing.*sort_index"),
    (
        {"windows": {"index -20%, vol +15 pts": COVID}},
        SpecificationError,
        r"'windows' and 'shocks'.*'index -20%, vol \+15 pts'.*own name",
    ),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD)
def test_bad_inputs_are_refused_with_the_argument_value_and_fix(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        _report(**kwargs)


def test_weights_naming_instruments_not_given_are_refused() -> None:
    weights = pd.Series({"FUT": -0.4, "NQ": -0.1})
    with pytest.raises(MissingLabelsError, match=r"'weights'.*'NQ'.*pass their Instrument"):
        stress_test(BOOK, INSTRUMENTS, weights, data=DATA, market_state=MARKET_STATE)
    with pytest.raises(DataError, match=r"'weights'.*Series.*result.weights"):
        stress_test(BOOK, INSTRUMENTS, [0.1], market_state=MARKET_STATE)  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match=r"'book'.*Portfolio.*from_holdings"):
        stress_test({"A": 1.0}, INSTRUMENTS, WEIGHTS)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: stressed_correlation(MODEL, 1.5, 0.5), r"'toward'.*\[0, 1\].*1.5"),
        (lambda: stressed_correlation(MODEL, 1.0, -0.1), r"'weight'.*\[0, 1\].*-0.1"),
        (lambda: stressed_correlation(COV, 1.0, 0.5), r"'risk_model'.*RiskModel"),
        (lambda: Shock("x", {MARKET: -1.5}), r"moves\['<market>'\].*-1.5.*-0.2 for -20%"),
        (lambda: Shock("x", {}), r"'moves'.*non-empty"),
        (lambda: Shock("x", {MARKET: -0.1}, correlation=(1.0,)), r"'correlation'.*pair"),
        (lambda: Shock("x", {MARKET: -0.1}, correlation=(2.0, 0.5)), r"'toward'"),
        (lambda: Shock("", {MARKET: -0.1}), r"'name'"),
    ],
)
def test_bad_stress_values_are_refused(call: object, match: str) -> None:
    with pytest.raises(SpecificationError, match=match):
        call()  # type: ignore[operator]


def test_result_stress_delegates_with_the_results_weights_and_market() -> None:
    problem = oh.HedgeProblem(
        BOOK, [FUTURE, ETF], objective=oh.Variance(), risk_model=MODEL, market="IDX"
    )
    result = problem.solve()
    report = result.stress(BOOK, [FUTURE, ETF], data=DATA, windows=["COVID 2020"], shocks=[])
    compounded = np.prod(1.0 + INSIDE["IDX"].to_numpy()) - 1.0
    hedge = float(result.weights.sum())
    assert hedge < -0.5  # a real hedge: the book's beta to IDX is about 1
    assert report.table.loc["COVID 2020", "hedge_pnl"] == pytest.approx(
        hedge * compounded * CAPITAL, rel=1e-12
    )
    shocked = result.stress(BOOK, [FUTURE, ETF], risk_model=MODEL, shocks=["correlations up"])
    r = _conditional(_hand_corr(1.0, 0.5) * np.outer(VOLS, VOLS), ["IDX"], np.array([-0.2]))
    assert shocked.table.loc["correlations up", "hedge"] == pytest.approx(hedge * r[3])


def test_embedded_data_through_every_named_window_against_the_prices() -> None:
    prices = oh.datasets.load_default(start="2007-06-01", columns=["JPM", "BAC", "SP500"])
    daily = oh.returns_from_prices(prices)
    book = oh.Portfolio.from_holdings({"JPM": 5e5, "BAC": 5e5})
    report = stress_test(
        book, [oh.Future(label="ES", underlying="SP500")], pd.Series({"ES": -1.0}), data=daily
    )
    assert list(report.table.index) == list(STRESS_WINDOWS)  # all covered, no warning
    for name, (start, end) in STRESS_WINDOWS.items():
        before = prices.loc[:start].iloc[:-1] if start in prices.index else prices.loc[:start]
        level = prices.loc[:end].iloc[-1] / before.iloc[-1] - 1.0  # from the closes
        book_r = 0.5 * level["JPM"] + 0.5 * level["BAC"]
        assert report.legs.loc[(name, "book"), "fraction"] == pytest.approx(book_r, rel=1e-10)
        assert report.legs.loc[(name, "ES"), "pnl"] == pytest.approx(
            -level["SP500"] * 1e6, rel=1e-10
        )


def test_nan_inside_a_window_is_refused_with_the_column_and_date() -> None:
    data = DATA.copy()
    data.loc["2020-03-02", "B"] = np.nan
    with pytest.raises(DataError, match=r"'data'.*NaN.*'COVID 2020'.*'B' on 2020-03-02.*fill"):
        _report(data=data, shocks=[])

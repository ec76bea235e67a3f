"""The walk-forward backtest engine: known answers, accounting to the cent, no look-ahead.

Every expected number is computed here independently: Hull's printed tables, closed forms
(the daily-reset decay of an inverse ETF, a roll's costs), Black-Scholes with scipy.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import norm

import optihedge as oh
from constraints import GrossExposure
from factor_models import RiskModel
from optihedge.backtests import (
    CostModel,
    Drawdown,
    Estimation,
    HedgePolicy,
    Schedule,
    Threshold,
    backtest,
    quarterly_expiry,
)
from optihedge.calendar import Frequency
from optihedge.errors import DataError, MissingLabelsError, SpecificationError
from optihedge.optimize.spec import ProblemSpec


def _spec(instruments: list[oh.Instrument], *rest: object) -> ProblemSpec:
    return ProblemSpec(tuple(instruments), *rest)  # type: ignore[arg-type]


# Hull, Options, Futures and Other Derivatives, Table 19.2 (the option closes in the money):
# a short position in 100,000 calls, S0 = 49, K = 50, r = 5%, sigma = 20%, 20 weeks.
HULL_PATH = [49.00, 48.12, 47.37, 50.25, 51.75, 53.12, 53.00, 51.87, 51.38, 53.00, 49.88,
             48.50, 49.88, 50.37, 52.13, 51.88, 52.87, 54.87, 54.62, 55.87, 57.25]  # fmt: skip
HULL_BOUGHT = [52_200, -6_400, -5_800, 19_600, 9_700, 8_100, -300, -6_500, -3_200, 11_300,
               -23_700, -13_700, 12_900, 4_900, 17_700, -900, 10_600, 11_300, 1_200, 1_000,
               0]  # fmt: skip
HULL_CUMULATIVE = [
    2_557.8,
    2_252.3,
    1_979.8,
    2_966.6,
    3_471.5,
    3_905.1,
    3_893.0,
    3_559.5,
    3_398.5,
    4_000.7,
    2_822.3,
    2_160.6,
    2_806.2,
    3_055.7,
    3_981.3,
    3_938.4,
    4_502.6,
    5_126.9,
    5_197.3,
    5_258.2,
    5_263.3,
]  # fmt: skip  (thousands)


def _given(cov: pd.DataFrame, frequency: str = "daily") -> Estimation:
    return Estimation(kind="given", risk_model=RiskModel.from_covariance(cov, frequency=frequency))


def _hull_run() -> tuple[oh.BacktestResult, pd.DatetimeIndex]:
    # Hull counts 52 weeks a year (260 trading days); the engine counts 252 trading days.
    # Restating r and sigma on the 252-day basis gives the same r*T and sigma^2*T.
    scale = 252 / 260
    dates = pd.date_range("2024-01-05", periods=21, freq="W-FRI")
    data = pd.DataFrame({"STOCK": HULL_PATH}, index=dates)
    call = oh.OptionContract(
        "C",
        underlying="STOCK",
        options=(("call", 50.0, 1.0),),
        expiry=dates[-1],
        multiplier=100.0,
        implied_vol=0.2 * math.sqrt(scale),  # the volatility at the strike: no skew
        single_vol=True,
    )
    spec = _spec([oh.ETF("STOCK", underlying="STOCK", price=49.0)], oh.Variance(), (), 1)
    cov = pd.DataFrame([[0.04 / 52]], index=["STOCK"], columns=["STOCK"])
    policy = HedgePolicy(
        name="delta hedge",
        spec=spec,
        schedule=Schedule("week_end"),
        estimation=_given(cov, "weekly"),
        lots={"STOCK": 100.0},
    )
    result = backtest(
        policy,
        data,
        book_options=[(call, -1000.0)],
        capital=1e6,
        rate=0.05 * scale,
    )
    return result, dates


def test_hull_weekly_delta_hedge_through_the_engine() -> None:
    result, dates = _hull_run()
    held = result.positions["STOCK"]
    bought = held.diff().fillna(held.iloc[0])
    assert bought.tolist() == HULL_BOUGHT
    # Cumulative cost of the shares with interest = what the cash lost beyond its own growth.
    growth = math.expm1(0.05 / 52)
    capital = result.meta["capital"]
    premium = -result.daily["book_value"].iloc[0]  # the calls written: cash in at the start
    k = np.arange(len(dates))
    cumulative = (capital + premium) * (1 + growth) ** k - result.daily["cash"].to_numpy()
    cumulative[-1] -= 100_000 * (HULL_PATH[-1] - 50.0)  # the calls' payoff at expiry
    np.testing.assert_allclose(cumulative / 1000, HULL_CUMULATIVE, atol=0.25)
    table = oh.delta_hedge_table(
        HULL_PATH, kind="call", strike=50.0, r=0.05, sigma=0.2, T=20 / 52, position=-100_000
    )
    np.testing.assert_allclose(cumulative, table["cumulative_cost"], rtol=1e-9, atol=1e-6)
    assert result.accounting_error().abs().max() < 0.005


def _embedded(start: str = "2018-01-01", end: str = "2020-12-31") -> pd.DataFrame:
    return oh.datasets.load_default(start=start, end=end, columns=["JPM", "XOM", "SP500", "VIX"])


def _many_legs_policy(**kw: object) -> HedgePolicy:
    spec = _spec(
        [
            oh.Future("ES", underlying="SP500", multiplier=50.0, cost=1e-4, carry=0.01, adv=1e9),
            oh.ETF(
                "SPY",
                underlying="SP500",
                price=300.0,
                expense_ratio=0.001,
                borrow_fee=0.01,
                cost=2e-4,
                adv=1e9,
                lower=-0.3,
            ),
            oh.InverseETF(
                "SH", underlying="SP500", price=30.0, expense_ratio=0.009, lower=0.05, upper=0.05
            ),
            oh.Put("P", underlying="SP500", moneyness=0.95, expiry=21, lower=0.5, upper=0.5),
        ],
        oh.Variance(),
        (GrossExposure(2.0),),
        21,
        "SP500",
    )
    base: dict[str, object] = {
        "name": "many legs",
        "spec": spec,
        "schedule": Schedule("month_end"),
        "estimation": Estimation(kind="sample", window=126),
    }
    return HedgePolicy(**(base | kw))  # type: ignore[arg-type]


def test_accounting_closes_to_the_cent_every_day() -> None:
    data = _embedded()
    book = oh.Portfolio.from_holdings({"JPM": 6e6, "XOM": 4e6})
    costs = CostModel(
        commission_per_contract=2.0,
        commission_per_share=0.005,
        impact=0.5,
        borrow=0.01,
        financing_spread=0.01,
    )
    result = backtest(
        _many_legs_policy(),
        data,
        start="2019-01-02",
        book=book,
        capital=9e6,  # less than the book: the cash is borrowed and pays the spread
        costs=costs,
        rate=0.02,
    )
    err = result.accounting_error()
    assert err.abs().max() < 0.005, err.abs().idxmax()
    assert (result.decisions["status"] == "optimal").all()
    costs_paid = result.costs()["total"]
    for kind in ("commission", "spread", "impact", "roll", "expense", "financing"):
        assert costs_paid[kind] > 0, kind
    assert (result.daily.filter(like="cost_") >= 0).all().all()
    expired = result.trades[result.trades["why"] == "expiry"]
    assert len(expired) >= 10  # monthly puts held to expiry


def test_linear_legs_value_independently_from_positions_and_prices() -> None:
    data = _embedded()
    book = oh.Portfolio.from_holdings({"JPM": 6e6, "XOM": 4e6})
    policy = _many_legs_policy(
        spec=_spec(
            [
                oh.Future("ES", underlying="SP500", multiplier=50.0),
                oh.ETF("SPY", underlying="SP500", price=300.0),
            ],
            oh.Variance(),
            (),
            21,
            "SP500",
        )
    )
    result = backtest(policy, data, start="2019-01-02", book=book)
    days = result.daily.index
    px = data.loc[days]
    shares = pd.Series({"JPM": 6e6, "XOM": 4e6}) / px.iloc[0][["JPM", "XOM"]]
    book_value = px[["JPM", "XOM"]] @ shares
    spy_price = 300.0 * px["SP500"] / px["SP500"].iloc[0]
    nav = book_value + result.positions["SPY"] * spy_price + result.daily["cash"]
    np.testing.assert_allclose(result.daily["hedged_value"], nav, rtol=0, atol=1e-6)
    # the future's daily P&L is its variation margin: contracts x 50 x the index's change
    held = result.positions["ES"].shift(1).fillna(0.0)
    margin = held * 50.0 * px["SP500"].diff().fillna(0.0)
    np.testing.assert_allclose(result.daily["pnl_ES"], margin, rtol=0, atol=1e-6)


def test_a_zero_cost_hedge_perfectly_correlated_with_the_book_is_flat() -> None:
    data = _embedded()
    book = oh.Portfolio.from_holdings({"SP500": 1e7})
    spec = _spec([oh.ETF("IDX", underlying="SP500", price=100.0)], oh.Variance(), (), 21)
    policy = HedgePolicy(
        name="mirror", spec=spec, schedule=Schedule("month_end"), estimation=Estimation(window=60)
    )
    result = backtest(policy, data, start="2020-01-02", end="2020-06-30", book=book)
    change = result.daily["hedged_value"].diff().iloc[1:]
    assert change.abs().max() < 0.01  # a cent on a 10m book through March 2020
    assert result.daily["pnl_book"].abs().max() > 1e5  # the book itself moved


def test_an_inverse_etf_through_a_volatile_flat_market_loses_the_closed_form_decay() -> None:
    a, n = 0.04, 60  # +4% then back: the index ends where it started
    level = [100.0]
    for k in range(2 * n + 40):
        level.append(level[-1] * (1 + a) if k % 2 == 0 else level[-1] / (1 + a))
    dates = pd.bdate_range("2021-01-04", periods=len(level))
    data = pd.DataFrame({"IDX": level, "BOOK": 50.0}, index=dates)
    spec = _spec(
        [oh.InverseETF("SH", underlying="IDX", price=20.0, lower=0.25, upper=0.25)],
        oh.Variance(),
        (),
        1,
    )
    cov = pd.DataFrame(np.diag([1e-4, 1e-4]), index=["BOOK", "IDX"], columns=["BOOK", "IDX"])
    policy = HedgePolicy(
        name="decay", spec=spec, schedule=Schedule("every", every=10_000), estimation=_given(cov)
    )
    start = dates[40]
    result = backtest(policy, data, start=start, book=oh.Portfolio.from_holdings({"BOOK": 1e6}))
    units = result.positions["SH"].iloc[0]
    assert units == pytest.approx(0.25 * 1e6 / 20.0)
    # two days: (1 - a) then (1 + a / (1 + a)) for a -1x daily reset
    per_pair = (1 - a) * (1 + a / (1 + a))
    pnl = result.daily["pnl_SH"].iloc[1 : 2 * n + 1].sum()
    assert pnl == pytest.approx(units * 20.0 * (per_pair**n - 1), rel=1e-10)
    assert data["IDX"].iloc[40 + 2 * n] == pytest.approx(data["IDX"].iloc[40])


def test_a_future_rolled_every_quarter_books_exactly_its_roll_costs() -> None:
    dates = pd.bdate_range("2022-06-01", "2023-12-29")
    data = pd.DataFrame({"STK": 80.0, "SP500": 4000.0}, index=dates)
    cov = pd.DataFrame(
        [[4e-4, 1e-4], [1e-4, 1e-4]], index=["STK", "SP500"], columns=["STK", "SP500"]
    )
    spec = _spec(
        [oh.Future("ES", underlying="SP500", multiplier=50.0, cost=1e-4)], oh.Variance(), (), 21
    )
    policy = HedgePolicy(
        name="rolls", spec=spec, schedule=Schedule("every", every=10_000), estimation=_given(cov)
    )
    costs = CostModel(commission_per_contract=2.5)
    result = backtest(
        policy,
        data,
        start="2023-01-03",
        book=oh.Portfolio.from_holdings({"STK": 2e7}),
        costs=costs,
    )
    n = abs(result.positions["ES"].iloc[0])
    assert n == round(2e7 * 1.0 / (50 * 4000))  # beta 1 of a 20m book: 100 contracts
    rolls = result.trades[result.trades["why"] == "roll"]
    # five trading days before the third Fridays of March, June, September, December 2023
    expected = pd.to_datetime(["2023-03-10", "2023-06-09", "2023-09-08", "2023-12-08"])
    assert sorted(set(rolls["date"])) == list(expected)
    per_roll = 2 * (2.5 * n + 1e-4 * n * 50 * 4000)
    assert result.daily["cost_roll"].sum() == pytest.approx(4 * per_roll, rel=1e-12)
    entry = 2.5 * n + 1e-4 * n * 50 * 4000
    total = result.daily["hedged_value"].iloc[-1] - result.meta["capital"]
    assert total == pytest.approx(-(entry + 4 * per_roll), rel=1e-12)


def test_quarterly_expiry_is_the_third_friday() -> None:
    got = [quarterly_expiry(pd.Timestamp(d)) for d in ("2023-01-02", "2023-03-18", "2024-12-20")]
    assert got == [
        pd.Timestamp("2023-03-17"),
        pd.Timestamp("2023-06-16"),
        pd.Timestamp("2024-12-20"),
    ]


def test_a_put_programme_mints_ages_and_expires_its_contracts() -> None:
    data = _embedded("2018-06-01", "2019-12-31")
    spec = _spec(
        [
            oh.Put(
                "P",
                underlying="SP500",
                moneyness=0.95,
                expiry=21,
                implied_vol=0.2,
                lower=1.0,
                upper=1.0,
            )
        ],
        oh.Variance(),
        (),
        21,
    )
    policy = HedgePolicy(
        name="puts", spec=spec, schedule=Schedule("month_end"), estimation=Estimation(window=63)
    )
    book = oh.Portfolio.from_holdings({"JPM": 1e7})
    result = backtest(policy, data, start="2019-01-02", book=book, rate=0.01, volatility=0.2)
    buys = result.trades[(result.trades["leg"] == "P") & (result.trades["units"] > 0)]
    first = buys.iloc[0]
    s0 = data.loc[first["date"], "SP500"]
    strike = 0.95 * s0
    assert first["contract"].startswith("P ")
    assert first["units"] == round(1e7 / (s0 * 100))
    # its value per contract: Black-Scholes with 21 trading days left, by hand
    t = 21 / 252
    d1 = (math.log(s0 / strike) + (0.01 + 0.02) * t) / (0.2 * math.sqrt(t))
    d2 = d1 - 0.2 * math.sqrt(t)
    bs = strike * math.exp(-0.01 * t) * norm.cdf(-d2) - s0 * norm.cdf(-d1)
    assert first["price"] == pytest.approx(100 * bs, rel=1e-10)
    premium = result.daily.loc[first["date"], "option_premium"]
    assert premium == pytest.approx(first["units"] * 100 * bs, rel=1e-10)
    expiry = result.trades[(result.trades["why"] == "expiry")].iloc[0]
    s_t = data.loc[expiry["date"], "SP500"]
    assert expiry["price"] == pytest.approx(100 * max(strike - s_t, 0.0), abs=1e-9)
    cal = oh.calendar.TradingCalendar.from_dates(data.index)
    assert expiry["date"] == cal.add(first["date"], 21)
    assert result.accounting_error().abs().max() < 0.005


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(min_value=30, max_value=230))
def test_no_look_ahead_decisions_up_to_any_cut_date(cut: int) -> None:
    data = _embedded("2018-01-01", "2019-12-31")
    book = oh.Portfolio.from_holdings({"JPM": 6e6, "XOM": 4e6})
    policy = _many_legs_policy(triggers=(Drawdown(0.03, hysteresis=0.01, cooldown=5),))
    full = _FULL.get("run")
    if full is None:
        full = _FULL.setdefault("run", backtest(policy, data, start="2019-01-02", book=book))
    days = full.daily.index
    truncated = data.loc[: days[cut]]
    short = backtest(policy, truncated, start="2019-01-02", book=book)
    a = full.decisions.loc[: days[cut]]
    b = short.decisions
    pd.testing.assert_index_equal(a.index, b.index)
    weights = [c for c in a.columns if c.startswith("weight[")]
    np.testing.assert_array_equal(a[weights].to_numpy(), b[weights].to_numpy())
    assert list(a["why"]) == list(b["why"])
    pd.testing.assert_frame_equal(full.positions.loc[: days[cut]], short.positions)


_FULL: dict[str, oh.BacktestResult] = {}


def test_estimators_see_only_returns_before_the_decision_and_cannot_write_them() -> None:
    seen: list[tuple[pd.Timestamp, pd.Timestamp, bool]] = []

    class Spy(Estimation):
        def estimate(self, returns: pd.DataFrame, frequency: Frequency) -> object:
            seen.append((returns.index[-1], returns.index[0], returns.to_numpy().flags.writeable))
            return super().estimate(returns, frequency)

    data = _embedded("2018-01-01", "2019-06-30")
    policy = _many_legs_policy(estimation=Spy(kind="sample", window=126))
    result = backtest(
        policy, data, start="2019-01-02", book=oh.Portfolio.from_holdings({"JPM": 1e7})
    )
    days = list(data.index)
    for (last, first, writeable), date in zip(seen, result.decisions.index, strict=True):
        assert last == days[days.index(date) - 1]
        assert days.index(last) - days.index(first) + 1 == 126
        assert not writeable


BAD = [
    (
        lambda p, d, b: backtest(
            _many_legs_policy(triggers=(Threshold("skew", 0.1),)), d, start="2019-01-02", book=b
        ),
        SpecificationError,
        r"reads the signals \['skew'\], which the backtest does not compute; the signals are",
    ),
    (
        lambda p, d, b: backtest(
            _many_legs_policy(triggers=(Threshold("vix", 30.0),)),
            d.drop(columns=["VIX", "SP500"]),
            start="2019-01-02",
            book=b,
        ),
        DataError,
        r"reads the 'vix' signal, but the data have neither a 'VIX' column nor 'SP500'",
    ),
    (
        lambda p, d, b: backtest(p, d, start="2019-06-01", end="2019-01-02", book=b),
        SpecificationError,
        r"'start' argument \(2019-06-01\) must be before 'end'",
    ),
    (
        lambda p, d, b: backtest(p, d, start="2018-02-01", book=b),
        DataError,
        r"with 20 returns before it, but the policy's estimation reads 126.*pass start >= "
        r"2018-07-05",
    ),
    (
        lambda p, d, b: backtest(p, d.drop(columns="SP500"), start="2019-01-02", book=b),
        MissingLabelsError,
        r"names \['SP500'\], which the data lack",
    ),
    (
        lambda p, d, b: backtest(p, d, start="2019-01-02", book=b, costs=CostModel(impact=-0.1)),
        SpecificationError,
        r"'costs.impact' argument must be a finite number in \[0, inf\). Got -0.1",
    ),
    (
        lambda p, d, b: backtest(
            _many_legs_policy(schedule=Schedule("every", every=1)),
            d.resample("W-FRI").last(),
            start="2019-01-04",
            book=b,
        ),
        SpecificationError,
        r"finer than the data",
    ),
    (
        lambda p, d, b: backtest(
            p, d.assign(JPM=d["JPM"].where(d.index != "2019-03-01")), start="2019-01-02", book=b
        ),
        DataError,
        r"no close of \['JPM'\] on 1 dates the backtest reads \(its window and the "
        r"estimation before its start; first 2019-03-01",
    ),
    (
        lambda p, d, b: backtest("policy", d, book=b),  # type: ignore[arg-type]
        SpecificationError,
        r"'policy' argument of backtest must be a HedgePolicy. Got str",
    ),
    (
        lambda p, d, b: backtest(p, d, start="2019-01-02"),
        SpecificationError,
        r"needs a book to hedge",
    ),
    (
        lambda p, d, b: backtest(p, d.iloc[::-1], book=b),
        DataError,
        r"dates must be unique and increasing",
    ),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD)
def test_bad_input_is_refused_before_any_work(call, error, match) -> None:  # type: ignore[no-untyped-def]
    data = _embedded("2018-01-01", "2019-12-31")
    policy = _many_legs_policy(schedule=Schedule("every", every=21))
    with pytest.raises(error, match=match):
        call(policy, data, oh.Portfolio.from_holdings({"JPM": 1e7}))


def _puts_policy(schedule: Schedule) -> HedgePolicy:
    from constraints import PremiumBudget as PremiumLimit
    from optihedge.backtests import HoldToExpiry, PremiumBudget

    put = oh.Put("P", underlying="SP500", moneyness=0.95, expiry=21, implied_vol=0.2, upper=1.0)
    return HedgePolicy(
        name="budgeted puts",
        spec=_spec([put], oh.Variance(), (PremiumLimit(1.0),), 21, "SP500"),
        schedule=schedule,
        estimation=Estimation(window=63),
        exit_rule=HoldToExpiry(roll=True),
        premium_budget=PremiumBudget(annual=0.04),
    )


def test_decisions_that_cannot_buy_do_not_restart_the_premium_budget() -> None:
    # month-end decisions while the put is held buy nothing: the rolls spend as much as
    # a policy that decides only at its rolls
    data = _embedded("2018-06-01", "2019-12-31")
    book = oh.Portfolio.from_holdings({"JPM": 1e7})
    spent = []
    for schedule in (Schedule("month_end"), Schedule("every", every=10_000)):
        result = backtest(_puts_policy(schedule), data, start="2019-01-02", book=book)
        buys = result.daily["option_premium"]
        spent.append(buys[buys > 0])
    pd.testing.assert_series_equal(spent[0], spent[1])
    # and what each roll spends is the 4% a year over the trading days since the last one
    days = pd.Series(range(len(data.loc["2019-01-02":])), index=data.loc["2019-01-02":].index)
    for before, after in zip(spent[0].index[:-1], spent[0].index[1:], strict=True):
        allowance = 0.04 * (days[after] - days[before]) / 252
        nav = float(spent[0][after]) / allowance  # the allowance binds at every roll
        assert 5e6 < nav < 2e7


def test_a_given_risk_model_is_used_as_given_not_taken_from_the_estimate_cache() -> None:
    data = _embedded("2018-01-01", "2019-06-30")
    book = oh.Portfolio.from_holdings({"JPM": 1e7})
    names = ["JPM", "SP500"]
    contracts = []
    for beta in (1.0, 0.5):
        cov = pd.DataFrame([[4e-4, beta * 1e-4], [beta * 1e-4, 1e-4]], index=names, columns=names)
        future = oh.Future("ES", underlying="SP500", multiplier=50.0)
        policy = HedgePolicy(
            name=f"given {beta}",
            spec=_spec([future], oh.Variance(), (), 21, "SP500"),
            schedule=Schedule("month_end"),
            estimation=_given(cov),
        )
        result = backtest(policy, data, start="2019-01-02", book=book)
        contracts.append(result.positions["ES"].iloc[0])
    spot = float(data.loc["2019-01-02", "SP500"])
    assert contracts == [round(-1e7 / (50 * spot)), round(-0.5e7 / (50 * spot))]


def test_a_beta_drift_trigger_runs_from_the_first_day() -> None:
    from optihedge.backtests import BetaDrift

    data = _embedded("2018-01-01", "2019-12-31")
    book = oh.Portfolio.from_holdings({"JPM": 6e6, "XOM": 4e6})
    policy = _many_legs_policy(triggers=(BetaDrift(0.05, hysteresis=0.01, cooldown=5),))
    result = backtest(policy, data, start="2019-01-02", book=book)
    assert result.decisions["why"].iloc[0] == "entry"
    assert result.decisions["why"].str.contains("trigger").any()  # it drifts and fires
    assert result.accounting_error().abs().max() < 0.005


def test_the_unhedged_book_pays_the_same_financing_as_the_hedged_one() -> None:
    data = _embedded("2018-01-01", "2019-06-30")
    book = oh.Portfolio.from_holdings({"JPM": 2e7})
    policy = _many_legs_policy(hedge_ratio=0.0)  # trades nothing: hedged == unhedged
    result = backtest(
        policy,
        data,
        start="2019-01-02",
        book=book,
        capital=1e7,  # 10m of the book on borrowed cash
        costs=CostModel(financing_spread=0.02),
        rate=0.01,
    )
    assert result.daily["cost_financing"].sum() > 50_000
    np.testing.assert_allclose(
        result.daily["hedged_value"], result.daily["unhedged_value"], rtol=1e-12
    )

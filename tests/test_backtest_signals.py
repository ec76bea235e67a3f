"""The data's state series a policy reads, by hand; and a backtest leaves its inputs as given."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import optihedge as oh
from optihedge.backtests.signals import implied_volatility, realised_volatility
from optihedge.calendar import Frequency
from optihedge.pricing import volatility_proxy


def _returns(n: int, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(rng.normal(0, 0.01, n), index=pd.bdate_range("2019-01-01", periods=n))


def test_the_vix_close_is_the_sp500_volatility_where_the_data_have_one() -> None:
    r = _returns(300)
    assert implied_volatility("SP500", r, 23.5, Frequency.DAILY) == 0.235
    # without a close, or for another underlying: the proxy of the last year only
    proxy = volatility_proxy(r.iloc[-252:], periods_per_year=Frequency.DAILY)
    assert implied_volatility("SP500", r, math.nan, Frequency.DAILY) == proxy
    assert implied_volatility("JPM", r, 23.5, Frequency.DAILY) == proxy
    assert implied_volatility("JPM", r.iloc[:1], math.nan, Frequency.DAILY) == 0.0


def test_realised_volatility_is_the_last_21_returns_std_annualised() -> None:
    rng = np.random.default_rng(4)
    path = 100 * np.cumprod(1 + rng.normal(0, 0.01, 60))
    got = realised_volatility(path, Frequency.DAILY)
    r = path[1:] / path[:-1] - 1
    for day in (2, 10, 21, 40, 59):
        last = r[max(0, day - 21) : day]
        assert got[day] == pytest.approx(np.std(last, ddof=1) * math.sqrt(252), rel=1e-12)
    assert np.isnan(got[:2]).all()
    assert np.isnan(realised_volatility(np.array([1.0, -1.0, 2.0]), Frequency.DAILY)).all()


def test_a_backtest_changes_none_of_its_inputs_and_runs_the_same_twice() -> None:
    from optihedge.backtests import CostModel, examples

    data = examples.embedded_prices(start="2017-06-01", end="2019-06-28")
    book = examples.embedded_book(data, value=1e7)
    policy = examples.protective_puts()
    costs = CostModel(commission_per_contract=1.5, impact=0.1)
    kept = (data.copy(), book.holdings.copy(), policy.to_dict(), costs.to_dict())
    first = oh.backtest(policy, data, start="2019-01-02", book=book, costs=costs, rate=0.02)
    pd.testing.assert_frame_equal(data, kept[0])
    pd.testing.assert_series_equal(book.holdings, kept[1])
    assert policy.to_dict() == kept[2]
    assert costs.to_dict() == kept[3]
    second = oh.backtest(policy, data, start="2019-01-02", book=book, costs=costs, rate=0.02)
    pd.testing.assert_frame_equal(first.daily, second.daily)
    pd.testing.assert_frame_equal(first.trades, second.trades)

"""The backtest's summary statistics (issue 22 item 4), against hand formulas.

Every expected number is computed here independently (loops, closed forms, numpy or
scipy on small series with known answers), never with the code under test; hypothesis
checks the invariances (scale, ranges, a hedge against itself); each bad input gets a
typed error naming the argument.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from optihedge.backtest import metrics as m

DAYS = pd.bdate_range("2021-01-04", periods=4)
PATH = pd.Series([100.0, 120.0, 90.0, 130.0], index=DAYS)

# positive paths of 3 to 40 daily values: log-steps bounded so values stay moderate
steps = st.lists(st.floats(-0.2, 0.2, allow_nan=False), min_size=2, max_size=40)


def as_path(log_steps: list[float], start: float = 100.0) -> pd.Series:
    dates = pd.bdate_range("2020-01-01", periods=len(log_steps) + 1)
    return pd.Series(start * np.exp(np.concatenate(([0.0], np.cumsum(log_steps)))), index=dates)


# ---------------------------------------------------------------- drawdowns


def test_drawdown_of_the_known_path() -> None:
    dd = m.drawdown(PATH)
    assert dd.tolist() == pytest.approx([0.0, 0.0, 0.25, 0.0])
    assert dd.index.equals(DAYS)
    assert m.longest_drawdown(PATH) == 2
    assert m.longest_drawdown_dates(PATH) == (DAYS[1], DAYS[3])


def test_longest_drawdown_counts_to_the_end_when_never_recovered() -> None:
    path = pd.Series(
        [100.0, 110.0, 105.0, 100.0, 108.0, 109.0], index=pd.bdate_range("2021-01-04", periods=6)
    )
    assert m.longest_drawdown(path) == 4  # peak 110 on day 1, still below on day 5
    assert m.longest_drawdown_dates(path) == (path.index[1], path.index[5])
    rising = pd.Series([1.0, 1.0, 2.0], index=path.index[:3])
    assert m.longest_drawdown(rising) == 0
    assert m.longest_drawdown_dates(rising) is None


def brute_longest(v: list[float]) -> int:
    """For every peak, count observations until the value is back at it (or the end)."""
    best = 0
    for i in range(len(v)):
        if v[i] < max(v[: i + 1]):
            continue  # not a peak
        j = i + 1
        while j < len(v) and v[j] < v[i]:
            j += 1
        if j == i + 1:
            continue  # no fall after this peak
        best = max(best, min(j, len(v) - 1) - i)
    return best


@given(steps, st.floats(0.01, 1e6))
def test_drawdown_properties(log_steps: list[float], scale: float) -> None:
    path = as_path(log_steps)
    dd = m.drawdown(path)
    assert ((dd >= 0.0) & (dd < 1.0)).all()
    peaks = [max(path.iloc[: i + 1]) for i in range(len(path))]
    assert dd.to_numpy() == pytest.approx(
        [1 - v / p for v, p in zip(path, peaks, strict=True)], abs=1e-12
    )
    assert m.drawdown(path * scale).to_numpy() == pytest.approx(dd.to_numpy(), abs=1e-12)
    assert m.longest_drawdown(path) == brute_longest(path.tolist())
    assert m.longest_drawdown(path * scale) == m.longest_drawdown(path)


# ---------------------------------------------------------------- performance


def test_performance_of_the_known_path() -> None:
    r = np.array([0.2, -0.25, 130.0 / 90.0 - 1.0])
    std = math.sqrt(sum((x - r.mean()) ** 2 for x in r) / 2)
    got = m.performance(PATH)
    assert list(got.index) == list(m.PERFORMANCE_FIELDS)
    assert got["total_return"] == pytest.approx(0.3)
    assert got["annualised_return"] == pytest.approx(1.3 ** (252 / 3) - 1)
    assert got["annualised_volatility"] == pytest.approx(std * math.sqrt(252))
    assert got["sharpe"] == pytest.approx(r.mean() / std * math.sqrt(252))
    assert got["max_drawdown"] == pytest.approx(0.25)
    assert got["longest_drawdown"] == 2


def test_performance_on_monthly_data_with_a_cash_rate() -> None:
    months = pd.date_range("2020-01-31", periods=5, freq="ME")
    path = pd.Series([100.0, 102.0, 101.0, 104.0, 103.0], index=months)
    r = path.to_numpy()[1:] / path.to_numpy()[:-1] - 1
    cash = math.exp(0.03 / 12) - 1
    got = m.performance(path, rate=0.03)
    assert got["annualised_return"] == pytest.approx(1.03 ** (12 / 4) - 1)
    assert got["annualised_volatility"] == pytest.approx(np.std(r, ddof=1) * math.sqrt(12))
    assert got["sharpe"] == pytest.approx((r - cash).mean() / np.std(r, ddof=1) * math.sqrt(12))
    # an explicit frequency wins over the dates, and undated data need one
    weekly = m.performance(path.reset_index(drop=True), frequency="weekly")
    assert weekly["annualised_volatility"] == pytest.approx(np.std(r, ddof=1) * math.sqrt(52))


def test_performance_sharpe_is_nan_for_a_constant_return() -> None:
    path = pd.Series([100.0, 101.0, 102.01], index=pd.bdate_range("2021-01-04", periods=3))
    assert math.isnan(m.performance(path)["sharpe"])


@given(steps, st.floats(0.01, 1e6))
def test_performance_is_scale_invariant(log_steps: list[float], scale: float) -> None:
    path = as_path(log_steps)
    a, b = m.performance(path, rate=0.02), m.performance(path * scale, rate=0.02)
    assert b.to_numpy() == pytest.approx(a.to_numpy(), rel=1e-9, abs=1e-12, nan_ok=True)

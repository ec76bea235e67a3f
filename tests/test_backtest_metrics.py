"""The backtest's summary statistics (issue 22 item 4), against hand formulas.

Every expected number is computed here independently (loops, closed forms, numpy or
scipy on small series with known answers), never with the code under test; hypothesis
checks the invariances (scale, ranges, a hedge against itself); each bad input gets a
typed error naming the argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from optihedge.backtests import metrics as m
from optihedge.datasets import STRESS_WINDOWS
from optihedge.errors import DataError, MissingLabelsError, SpecificationError

DAYS = pd.bdate_range("2021-01-04", periods=4)
PATH = pd.Series([100.0, 120.0, 90.0, 130.0], index=DAYS)

# positive paths of 3 to 41 daily values: log-steps of 4 decimals, bounded so values stay moderate
steps = st.lists(
    st.floats(-0.2, 0.2, allow_nan=False).map(lambda x: round(x, 4)), min_size=2, max_size=40
)


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


# ---------------------------------------------------------------- hedge efficiency


def test_hedge_efficiency_by_hand() -> None:
    days = pd.bdate_range("2021-01-04", periods=4)
    book = pd.Series([-10.0, 5.0, -20.0, 8.0], index=days)
    hedge = pd.Series([6.0, -3.0, 4.0, 10.0], index=days)
    assert m.hedge_efficiency(book, hedge) == pytest.approx((6 + 4) / (10 + 20))
    assert m.hedge_efficiency(book, -book) == pytest.approx(1.0)
    assert m.hedge_efficiency(book, book) == pytest.approx(-1.0)  # the hedge doubled the losses
    assert math.isnan(m.hedge_efficiency(book.abs(), hedge))  # no losing period


def test_hedge_efficiency_by_month_sums_each_month() -> None:
    dates = pd.DatetimeIndex(["2021-01-28", "2021-01-29", "2021-02-01", "2021-02-02"])
    book = pd.Series([-10.0, 4.0, 5.0, -1.0], index=dates)  # January -6, February +4
    hedge = pd.Series([3.0, 1.0, -2.0, 0.5], index=dates)  # January +4, February -1.5
    assert m.hedge_efficiency(book, hedge, period="M") == pytest.approx(4 / 6)
    assert m.hedge_efficiency(book, hedge) == pytest.approx((3 + 0.5) / (10 + 1))


# P&L in currency, to the cent
pnl = st.lists(
    st.floats(-1e4, 1e4, allow_nan=False).map(lambda x: round(x, 2)), min_size=1, max_size=30
)


@given(pnl, st.floats(0.001, 1e4), st.floats(-2.0, 2.0))
def test_hedge_efficiency_properties(book: list[float], scale: float, ratio: float) -> None:
    assume(any(x < -1e-6 for x in book))
    days = pd.bdate_range("2021-01-04", periods=len(book))
    b = pd.Series(book, index=days)
    assert m.hedge_efficiency(b, -b) == pytest.approx(1.0)
    assert m.hedge_efficiency(b, -ratio * b) == pytest.approx(ratio, abs=1e-9)
    assert m.hedge_efficiency(b, 0.0 * b) == 0.0
    h = pd.Series(np.roll(book, 1), index=days)
    assert m.hedge_efficiency(scale * b, scale * h) == pytest.approx(
        m.hedge_efficiency(b, h), rel=1e-9, abs=1e-12
    )


# ---------------------------------------------------------------- capture and drag


def geo_mean(x: list[float]) -> float:
    return float(np.prod([1 + v for v in x]) ** (1 / len(x)) - 1)


def by_month(r: pd.Series) -> list[float]:
    """Compound by hand: walk the dates, closing a month when the next date's month differs."""
    out, acc = [], 1.0
    for i, (day, x) in enumerate(r.items()):
        acc *= 1 + x
        last = i == len(r) - 1 or r.index[i + 1].month != day.month
        if last:
            out.append(acc - 1)
            acc = 1.0
    return out


def test_capture_by_observation() -> None:
    days = pd.bdate_range("2021-01-04", periods=5)
    bench = pd.Series([0.1, -0.05, 0.02, -0.1, 0.0], index=days)
    mine = pd.Series([0.05, -0.01, 0.01, -0.02, 0.03], index=days)
    up, down = m.capture(mine, bench, period="D")
    assert up == pytest.approx(geo_mean([0.05, 0.01]) / geo_mean([0.1, 0.02]))
    assert down == pytest.approx(geo_mean([-0.01, -0.02]) / geo_mean([-0.05, -0.1]))


def test_capture_by_month_and_against_itself() -> None:
    rng = np.random.default_rng(3)
    days = pd.bdate_range("2019-01-01", "2020-12-31")
    bench = pd.Series(rng.normal(0.0004, 0.01, len(days)), index=days)
    mine = 0.4 * bench + pd.Series(rng.normal(0, 0.003, len(days)), index=days)
    bm, mm = by_month(bench), by_month(mine)
    up = [i for i, x in enumerate(bm) if x > 0]
    down = [i for i, x in enumerate(bm) if x < 0]
    got = m.capture(mine, bench)
    assert got[0] == pytest.approx(geo_mean([mm[i] for i in up]) / geo_mean([bm[i] for i in up]))
    assert got[1] == pytest.approx(
        geo_mean([mm[i] for i in down]) / geo_mean([bm[i] for i in down])
    )
    assert m.capture(bench, bench) == pytest.approx((1.0, 1.0))
    assert math.isnan(m.capture(bench, bench.abs())[1])  # the benchmark never fell


returns = st.lists(st.floats(-0.1, 0.1, allow_nan=False), min_size=2, max_size=60)


@given(returns)
def test_capture_of_a_series_against_itself_is_one(r: list[float]) -> None:
    assume(any(x > 1e-9 for x in r) and any(x < -1e-9 for x in r))
    s = pd.Series(r, index=pd.bdate_range("2021-01-04", periods=len(r)))
    assert m.capture(s, s, period="D") == pytest.approx((1.0, 1.0))


def test_bull_market_drag_by_hand() -> None:
    rng = np.random.default_rng(5)
    days = pd.bdate_range("2021-01-01", "2021-12-31")
    u = pd.Series(rng.normal(0.0005, 0.01, len(days)), index=days)
    h = 0.5 * u + 0.0001
    um, hm = by_month(u), by_month(h)
    rising = [i for i, x in enumerate(um) if x > 0]
    ratio = np.prod([1 + um[i] for i in rising]) / np.prod([1 + hm[i] for i in rising])
    assert m.bull_market_drag(h, u) == pytest.approx(ratio ** (12 / len(rising)) - 1)
    assert m.bull_market_drag(u, u) == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(m.bull_market_drag(h, -u.abs()))  # no rising month


# ---------------------------------------------------------------- variance reduction


def test_variance_reduction_per_window_out_of_sample() -> None:
    days = pd.bdate_range("2021-01-04", periods=10)
    book = pd.Series([0.01, -0.02, 0.03, 0.01, -0.01, 0.02, -0.03, 0.0, 0.01, 0.02], index=days)
    hedged = pd.Series(
        [0.5, 0.002, -0.004, 0.001, 0.003, -0.01, 0.02, 0.001, -0.002, 0.0], index=days
    )
    starts = pd.DatetimeIndex([days[0], days[4], days[8]])
    got = m.variance_reduction(book, hedged, starts)
    import statistics as stats

    # returns strictly after each start, up to and including the next start
    first = 1 - stats.variance(hedged.iloc[1:5]) / stats.variance(book.iloc[1:5])
    second = 1 - stats.variance(hedged.iloc[5:9]) / stats.variance(book.iloc[5:9])
    assert got.index.equals(starts)
    assert got.index.name == "window_start"
    assert got.iloc[0] == pytest.approx(first)
    assert got.iloc[1] == pytest.approx(second)
    assert math.isnan(got.iloc[2])  # one return after the last start: no variance


# ---------------------------------------------------------------- predicted risk


def test_bias_statistic_and_qlike_by_hand() -> None:
    import statistics as stats

    realised = pd.Series([0.02, -0.05, 0.01, 0.04])
    vol = pd.Series([0.03, 0.04, 0.02, 0.05])
    assert m.bias_statistic(realised, vol) == pytest.approx(
        stats.stdev([r / s for r, s in zip(realised, vol, strict=True)])
    )
    rv, pv = [0.0004, 0.0025, 0.0001], [0.0009, 0.0016, 0.0004]
    expected = sum(math.log(p) + r / p for r, p in zip(rv, pv, strict=True)) / 3
    assert m.qlike(pd.Series(rv), pd.Series(pv)) == pytest.approx(expected)
    # the true variance scores best among scaled forecasts of it
    scores = {k: m.qlike(pd.Series(rv), pd.Series(rv) * k) for k in (0.5, 1.0, 2.0)}
    assert min(scores, key=scores.__getitem__) == 1.0


@given(
    st.lists(st.floats(-0.2, 0.2, allow_nan=False), min_size=2, max_size=30), st.floats(0.01, 100)
)
def test_bias_statistic_is_scale_invariant(r: list[float], scale: float) -> None:
    vol = pd.Series(np.linspace(0.01, 0.05, len(r)))
    real = pd.Series(r)
    assert m.bias_statistic(scale * real, scale * vol) == pytest.approx(
        m.bias_statistic(real, vol), rel=1e-9, abs=1e-12
    )


# ---------------------------------------------------------------- the divested alternative


def quadratic_roots(b1: float, b2: float, c: float, growth: float) -> list[float]:
    """Fractions f with (1 + c + f (b1 - c)) (1 + c + f (b2 - c)) = growth, by hand."""
    d1, d2, a = b1 - c, b2 - c, 1 + c
    return sorted(float(x.real) for x in np.roots([d1 * d2, a * (d1 + d2), a * a - growth]))


def three(values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.bdate_range("2021-01-04", periods=3))


def test_divested_alternative_solves_the_quadratic() -> None:
    book = three([100.0, 120.0, 108.0])  # +20%, -10%
    hedged = three([100.0, 104.0, 105.0])
    roots = quadratic_roots(0.2, -0.1, 0.0, 1.05)
    assert roots == pytest.approx([(5 - math.sqrt(15)) / 2, (5 + math.sqrt(15)) / 2])
    fraction, values = m.divested_alternative(book, hedged)
    assert fraction == pytest.approx(roots[0], rel=1e-10)  # the smaller exposure
    assert values.tolist() == pytest.approx([100.0, 100 * (1 + 0.2 * roots[0]), 105.0], rel=1e-10)
    assert values.index.equals(hedged.index)


def test_divested_alternative_with_a_cash_rate_and_a_tie() -> None:
    c = math.exp(0.05 / 252) - 1
    book = three([100.0, 110.0, 99.0])
    hedged = three([50.0, 51.0, 50.0])
    roots = quadratic_roots(0.1, -0.1, c, 1.0)
    fraction, values = m.divested_alternative(book, hedged, rate=0.05)
    assert fraction == pytest.approx(min(roots, key=abs), rel=1e-9)
    assert values.iloc[-1] == pytest.approx(50.0, rel=1e-12)
    # +10% then -10% with no cash: (1 + f/10)(1 - f/10) = 0.9975 at f = +-0.5; the long one
    fraction, _ = m.divested_alternative(book, three([100.0, 100.0, 99.75]))
    assert fraction == pytest.approx(0.5, rel=1e-10)


def test_divested_alternative_refuses_what_no_mix_reaches() -> None:
    book = three([100.0, 120.0, 108.0])
    with pytest.raises(SpecificationError, match="No mix of the book and cash matches"):
        m.divested_alternative(book, three([100.0, 150.0, 300.0]))
    with pytest.raises(SpecificationError, match="earned exactly the cash rate"):
        m.divested_alternative(three([100.0, 100.0, 100.0]), book)


@given(steps, st.floats(0.01, 100.0), st.floats(-0.05, 0.1))
def test_divested_alternative_properties(log_steps: list[float], scale: float, rate: float) -> None:
    book = as_path(log_steps)
    assume(np.ptp(np.diff(np.log(book.to_numpy()))) > 1e-6 or abs(log_steps[0]) > 1e-6)
    # the book itself: fraction 1 whenever 1 is the smaller-exposure root, i.e. the book is
    # at or below its growth-optimal fraction (the slope of the log-growth at 1 is >= 0)
    r = book.to_numpy()[1:] / book.to_numpy()[:-1] - 1
    fraction, values = m.divested_alternative(book, book * scale)
    assert values.iloc[-1] == pytest.approx(book.iloc[-1] * scale, rel=1e-9)
    assert abs(fraction) <= 1 + 1e-9
    if np.sum(r / (1 + r)) >= 0:
        assert fraction == pytest.approx(1.0, rel=1e-9)
    # a hedged path that only earned the cash rate: fraction 0
    c = math.exp(rate / 252) - 1
    cash = pd.Series(7.0 * (1 + c) ** np.arange(len(book)), index=book.index)
    fraction, values = m.divested_alternative(book, cash, rate=rate)
    assert fraction == pytest.approx(0.0, abs=1e-9)
    assert values.to_numpy() == pytest.approx(cash.to_numpy(), rel=1e-9)
    # scale of either path does not matter
    hedged = as_path([0.3 * x for x in log_steps])
    base, _ = m.divested_alternative(book, hedged)
    assert m.divested_alternative(book * scale, hedged / scale)[0] == pytest.approx(
        base, rel=1e-9, abs=1e-12
    )


# ---------------------------------------------------------------- named windows and the summary


def hand_performance(v: list[float], periods_a_year: int) -> dict[str, float]:
    r = [v[i] / v[i - 1] - 1 for i in range(1, len(v))]
    mean = sum(r) / len(r)
    std = math.sqrt(sum((x - mean) ** 2 for x in r) / (len(r) - 1))
    worst, peak = 0.0, v[0]
    for x in v:
        peak = max(peak, x)
        worst = max(worst, 1 - x / peak)
    return {
        "total_return": v[-1] / v[0] - 1,
        "annualised_return": (v[-1] / v[0]) ** (periods_a_year / len(r)) - 1,
        "annualised_volatility": std * math.sqrt(periods_a_year),
        "sharpe": mean / std * math.sqrt(periods_a_year),
        "max_drawdown": worst,
        "longest_drawdown": float(brute_longest(v)),
    }


def test_named_windows_reuse_the_stress_windows() -> None:
    for name, span in STRESS_WINDOWS.items():
        assert m.NAMED_WINDOWS[name] == span
    assert m.NAMED_WINDOWS["calm 2017"] == ("2017-01-01", "2017-12-31")
    assert len(m.NAMED_WINDOWS) == len(STRESS_WINDOWS) + 3


def test_summary_over_the_whole_period_and_the_covered_windows() -> None:
    rng = np.random.default_rng(8)
    days = pd.bdate_range("2019-12-02", "2020-06-30")
    unhedged = 100 * np.cumprod(1 + rng.normal(0.0, 0.015, len(days)))
    hedged = 100 * np.cumprod(1 + rng.normal(0.0, 0.005, len(days)))
    paths = pd.DataFrame({"hedged": hedged, "unhedged": unhedged}, index=days)
    windows = {**m.NAMED_WINDOWS, "February": ("2020-02-01", "2020-02-29")}
    got = m.summary(paths, windows)
    assert got.attrs["skipped"] == [n for n in m.NAMED_WINDOWS if n != "COVID 2020"]
    assert list(got.index) == [
        (w, p) for w in ("whole period", "COVID 2020", "February") for p in ("hedged", "unhedged")
    ]
    assert list(got.columns) == list(m.PERFORMANCE_FIELDS)
    for col in ("hedged", "unhedged"):
        whole = hand_performance(paths[col].tolist(), 252)
        assert got.loc[("whole period", col)].to_dict() == pytest.approx(whole)
        # from the close of the window's first day (a trading day) to its last
        covid = paths[col][(days >= "2020-02-19") & (days <= "2020-03-23")].tolist()
        assert got.loc[("COVID 2020", col)].to_dict() == pytest.approx(hand_performance(covid, 252))
        # a window starting on a Saturday is based on the Friday before: 31 January
        feb = paths[col][(days >= "2020-01-31") & (days <= "2020-02-29")].tolist()
        assert got.loc[("February", col)].to_dict() == pytest.approx(hand_performance(feb, 252))


def test_summary_on_monthly_data_skips_the_short_window() -> None:
    months = pd.date_range("2019-06-30", "2022-12-31", freq="ME")
    v = 100 * np.cumprod(np.where(np.arange(len(months)) % 3 == 0, 0.97, 1.02))
    got = m.summary(pd.DataFrame({"book": v}, index=months), rate=0.01)
    assert "COVID 2020" in got.attrs["skipped"]  # two month-ends: too few values
    assert ("2022 bear", "book") in got.index
    whole = hand_performance(v.tolist(), 12)
    cash = math.exp(0.01 / 12) - 1
    r = v[1:] / v[:-1] - 1
    whole["sharpe"] = (r - cash).mean() / np.std(r, ddof=1) * math.sqrt(12)
    assert got.loc[("whole period", "book")].to_dict() == pytest.approx(whole)


# ---------------------------------------------------------------- bad input

D3 = pd.bdate_range("2021-01-04", periods=3)
D4 = pd.bdate_range("2021-01-04", periods=4)
GOOD = pd.Series([100.0, 101.0, 99.0, 102.0], index=D4)
R4 = pd.Series([0.01, -0.02, 0.0, 0.01], index=D4)


BAD = [
    (lambda: m.drawdown([1.0, 2.0]), DataError, r"'values' argument must be a pandas Series"),
    (lambda: m.drawdown(GOOD.where(GOOD > 100)), DataError, r"'values'.*Got nan at position 0"),
    (lambda: m.drawdown(GOOD.replace(99.0, np.inf)), DataError, r"'values'.*Got inf"),
    (lambda: m.drawdown(GOOD - 100.5), DataError, r"'values'.*\(0, inf\).*-0.5.*not returns"),
    (lambda: m.drawdown(GOOD.iloc[::-1]), DataError, r"'values'.*strictly increasing.*sort_index"),
    (lambda: m.longest_drawdown(GOOD.iloc[:1]), DataError, r"'values'.*1 observation.*at least 2"),
    (lambda: m.performance(GOOD.iloc[:2]), DataError, r"'values'.*2 observation.*at least 3"),
    (lambda: m.performance(GOOD, rate=float("nan")), SpecificationError, r"'rate'.*nan"),
    (lambda: m.performance(GOOD.reset_index(drop=True)), DataError, r"'values'.*frequency="),
    (lambda: m.performance(GOOD, frequency="yearly"), SpecificationError, r"'frequency'.*'yearly'"),
    (
        lambda: m.hedge_efficiency(R4, R4.iloc[1:]),
        MissingLabelsError,
        r"labels of 'book_pnl' and 'hedge_pnl' differ.*2021-01-04",
    ),
    (lambda: m.hedge_efficiency(R4, R4, period="Q"), SpecificationError, r"'period'.*'Q'"),
    (
        lambda: m.hedge_efficiency(
            R4.reset_index(drop=True), R4.reset_index(drop=True), period="M"
        ),
        DataError,
        r"'book_pnl'.*DatetimeIndex",
    ),
    (lambda: m.capture(R4 - 1.0, R4), DataError, r"'returns'.*\(-1, inf\).*-1.02.*above -1"),
    (
        lambda: m.capture(R4, R4.rename(lambda d: d + pd.Timedelta(days=1))),
        MissingLabelsError,
        r"'benchmark'",
    ),
    (lambda: m.bull_market_drag(R4, R4.where(R4 > 0)), DataError, r"'unhedged_returns'.*nan"),
    (
        lambda: m.variance_reduction(R4, R4, [D4[0]]),
        SpecificationError,
        r"'windows'.*DatetimeIndex of window starts",
    ),
    (
        lambda: m.variance_reduction(R4, R4, pd.DatetimeIndex([D4[2], D4[0]])),
        DataError,
        r"'windows'.*strictly increasing",
    ),
    (
        lambda: m.bias_statistic([0.01, 0.02], [0.02, 0.0]),
        DataError,
        r"'predicted_vol'.*\(0, inf\).*0.0",
    ),
    (lambda: m.bias_statistic([0.01], [0.02]), DataError, r"'realised'.*1 observation.*at least 2"),
    (lambda: m.qlike([0.01, -0.02], [0.02, 0.01]), DataError, r"'realised_var'.*-0.02.*>= 0"),
    (lambda: m.qlike([0.01, 0.02], [0.02, -1.0]), DataError, r"'predicted_var'.*-1.0"),
    (
        lambda: m.divested_alternative(GOOD, GOOD.iloc[:3]),
        MissingLabelsError,
        r"'book_values' and 'hedged_values'",
    ),
    (lambda: m.summary(GOOD), DataError, r"'paths'.*DataFrame.*Got Series"),
    (
        lambda: m.summary(pd.DataFrame({"hedged": GOOD.where(GOOD < 102)})),
        DataError,
        r"'paths\['hedged'\]'.*nan",
    ),
    (
        lambda: m.summary(pd.DataFrame({"h": GOOD}), {"w": ("2021-02-01", "2021-01-01")}),
        SpecificationError,
        r"'windows'.*'w' must start before it ends",
    ),
    (
        lambda: m.summary(pd.DataFrame({"h": GOOD}), {"w": "2021"}),
        SpecificationError,
        r"'windows'.*'w' must be a \(start, end\) pair",
    ),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD)
def test_bad_input_is_refused_with_a_typed_named_error(
    call: Callable[[], object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        call()


def test_a_drawdown_ends_when_the_value_is_back_at_its_peak() -> None:
    days = pd.bdate_range("2021-01-04", periods=6)
    path = pd.Series([100.0, 90.0, 100.0, 95.0, 97.0, 99.0], index=days)
    # 100 -> 90 -> back at 100 (2 observations), then 100 -> 95 ... 99 to the end (3)
    assert m.longest_drawdown(path) == 3
    assert m.longest_drawdown_dates(path) == (days[2], days[5])
    assert m.drawdown(path).tolist() == pytest.approx([0.0, 0.1, 0.0, 0.05, 0.03, 0.01])


def test_summary_covers_a_window_ending_on_a_weekend_after_the_last_friday() -> None:
    days = pd.bdate_range("2020-01-27", "2020-02-28")  # ends on a Friday
    v = pd.DataFrame(
        {"book": np.linspace(100.0, 110.0, len(days)) ** np.cos(np.arange(len(days)))}, index=days
    )
    got = m.summary(
        v, {"to Saturday": ("2020-02-03", "2020-02-29"), "to Monday": ("2020-02-03", "2020-03-02")}
    )
    assert got.attrs["skipped"] == ["to Monday"]
    part = v["book"][(days >= "2020-02-03")].tolist()
    assert got.loc[("to Saturday", "book")].to_dict() == pytest.approx(hand_performance(part, 252))

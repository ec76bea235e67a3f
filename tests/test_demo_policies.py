"""The demo's backtest of two example policies: what it prints is what the prices say."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import optihedge as oh
from optihedge.demo.policies import POLICY_WINDOW, format_policies, run_policies, save_policies


@pytest.fixture(scope="module")
def results() -> dict[str, oh.BacktestResult]:
    return run_policies(value=1_000_000.0)


def test_the_unhedged_book_is_the_buy_and_hold_of_the_prices(
    results: dict[str, oh.BacktestResult],
) -> None:
    start, end = POLICY_WINDOW
    stocks = list(oh.datasets.metadata().query("kind == 'stock'").index)
    prices = oh.datasets.load_default(start=start, end=end, columns=stocks)
    shares = (1_000_000.0 / len(stocks)) / prices.iloc[0]
    cash = 0.0  # no cash: the book is the capital
    unhedged = (prices * shares).sum(axis=1) + cash
    text = format_policies(results)
    for name, result in results.items():
        assert result.daily["unhedged_value"].iloc[0] == pytest.approx(1_000_000.0)
        assert result.daily["unhedged_value"].to_numpy() == pytest.approx(
            unhedged.to_numpy(), rel=1e-12
        )
        assert result.accounting_error().abs().max() < 0.005
        line = re.search(rf"^{name}: (\d+) decisions, (\d+) trades", text, flags=re.MULTILINE)
        assert line is not None
        assert int(line.group(1)) == len(result.decisions)
        assert f"against {unhedged.iloc[-1]:,.0f} unhedged" in text


def test_the_overlay_decides_at_entry_and_each_month_end(
    results: dict[str, oh.BacktestResult],
) -> None:
    days = results["futures overlay"].daily.index
    month_ends = days.to_series().groupby(days.to_period("M")).max()
    # the window ends on 2022-12-28, before December's last trading days (29th, 30th)
    assert days[-1] == month_ends.iloc[-1] == pd.Timestamp("2022-12-28")
    expected = 1 + int((month_ends.iloc[:-1] > days[0]).sum())
    assert len(results["futures overlay"].decisions) == expected


def test_reports_and_figures_are_saved(
    results: dict[str, oh.BacktestResult], tmp_path: Path
) -> None:
    reports = save_policies(results, tmp_path)
    assert [p.name for p in reports] == ["futures-overlay.html", "protective-puts.html"]
    for report in reports:
        assert report.stat().st_size > 10_000
    assert list((tmp_path / "futures-overlay").glob("*.png"))

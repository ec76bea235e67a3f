"""A backtest's summary, figures and HTML report (issue 22, item 4).

Two results: a tiny synthetic one built from small frames by hand (every figure of its
summary recomputed here with plain numpy loops and scipy), and one real backtest of a
year of embedded data (its summary against the metrics functions called by hand on the
daily columns). The report is rendered in headless Chromium, as the hedge report is.
"""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy.optimize import brentq
from test_report import _browser_flags, _chromium, network_references

import optihedge as oh
from optihedge.backtests import (
    COST_KINDS,
    BacktestResult,
    CostModel,
    Estimation,
    HedgePolicy,
    Schedule,
    backtest,
)
from optihedge.backtests import metrics as m
from optihedge.errors import SpecificationError
from optihedge.optimize.spec import ProblemSpec

RATE = 0.02
N = 45
DATES = pd.bdate_range("2021-01-04", periods=N)  # 4 Jan to 5 Mar 2021
DECIDED = [0, 10, 25, 30, 40]  # positions of the decisions; the one at 30 is "no hedge"
HORIZON = 3
FEB = ("2021-02-01", "2021-02-26")


def _tiny() -> BacktestResult:
    """A book of 1m hedged by half with a leg ``H``; costs on the decision dates."""
    rng = np.random.default_rng(7)
    b = rng.normal(0.0005, 0.012, N)
    b[0] = 0.0
    unhedged = 1e6 * np.cumprod(1 + b)
    d_book = np.diff(unhedged, prepend=unhedged[0])
    pnl_h = -0.5 * d_book
    spread = np.zeros(N)
    commission = np.zeros(N)
    for k, i in enumerate(DECIDED):
        spread[i] = 150.0 + 10 * k
        commission[i] = 20.0
    hedged = 1e6 + np.cumsum(d_book + pnl_h - spread - commission)
    daily = pd.DataFrame(
        {
            "unhedged_value": unhedged,
            "hedged_value": hedged,
            "book_value": unhedged,
            "cash": hedged - unhedged,
            "hedge_value": 0.0,
            "pnl_book": d_book,
            "pnl_H": pnl_h,
            "interest": 0.0,
            **{f"cost_{k}": 0.0 for k in COST_KINDS},
            "hedge_ratio": 0.5,
            "regime": ["calm"] * 20 + ["stress"] * 15 + [None] * 10,
        },
        index=DATES.rename("date"),
    )
    daily["cost_spread"] = spread
    daily["cost_commission"] = commission
    predicted = [0.02, 0.015, 0.01, math.nan, 0.012]
    decisions = pd.DataFrame(
        {
            "why": ["entry", "schedule", "schedule", "schedule", "schedule"],
            "status": ["optimal", "optimal", "optimal", "no hedge", "optimal"],
            "predicted_volatility": predicted,
            "horizon": [HORIZON, HORIZON, HORIZON, math.nan, HORIZON],
            "weight[H]": [-0.5, -0.5, -0.5, math.nan, -0.5],
        },
        index=DATES[DECIDED].rename("date"),
    )
    trades = pd.DataFrame(
        {
            "date": DATES[[0, 10, 25, 30, 40]],
            "leg": "H",
            "contract": "",
            "units": [-50.0, 3.0, -2.0, 45.0, -40.0],
            "price": 100.0,
            "notional": [500_000.0, 30_000.0, 20_000.0, 450_000.0, 400_000.0],
            "cost": [170.0, 180.0, 190.0, 200.0, 210.0],
            "why": "schedule",
        }
    )
    positions = pd.DataFrame({"H": -50.0}, index=DATES.rename("date"))
    meta = {"rate": RATE, "capital": 1e6, "frequency": "daily"}
    return BacktestResult("tiny", daily, decisions, trades, positions, meta)


TINY = _tiny()
WINDOWS = {"feb": FEB, "before the data": ("2019-01-01", "2019-03-01")}


@pytest.fixture(scope="module")
def tiny_summary() -> pd.DataFrame:
    return TINY.summary(WINDOWS)


# ---------------------------------------------------------------- by hand


def _performance(v: np.ndarray, rate: float) -> dict[str, float]:
    r = v[1:] / v[:-1] - 1
    n = len(r)
    std = float(np.std(r, ddof=1))
    peak, worst, longest, start = v[0], 0.0, 0, None
    for i, x in enumerate(v):
        if x >= peak:
            peak = x
            if start is not None:
                longest = max(longest, i - start)
                start = None
        else:
            worst = max(worst, 1 - x / peak)
            if start is None:
                start = i - 1
    if start is not None:
        longest = max(longest, len(v) - 1 - start)
    return {
        "total_return": v[-1] / v[0] - 1,
        "annualised_return": (v[-1] / v[0]) ** (252 / n) - 1,
        "annualised_volatility": std * math.sqrt(252),
        "sharpe": float(np.mean(r - (math.exp(rate / 252) - 1))) / std * math.sqrt(252),
        "max_drawdown": worst,
        "longest_drawdown": float(longest),
    }


def _by_month(r: pd.Series) -> np.ndarray:
    out: dict[tuple[int, int], float] = {}
    for date, x in r.items():
        key = (date.year, date.month)  # type: ignore[attr-defined]
        out[key] = out.get(key, 1.0) * (1 + x)
    return np.array([out[k] - 1 for k in sorted(out)])


def _hand_capture(h: pd.Series, u: pd.Series) -> tuple[float, float, float]:
    hm, um = _by_month(h), _by_month(u)
    gm = [
        (np.prod(1 + hm[s]) ** (1 / s.sum()) - 1) / (np.prod(1 + um[s]) ** (1 / s.sum()) - 1)
        if s.any()
        else math.nan
        for s in (um > 0, um < 0)
    ]
    up = um > 0
    drag = (
        (np.prod(1 + um[up]) / np.prod(1 + hm[up])) ** (12 / up.sum()) - 1 if up.any() else math.nan
    )
    return gm[0], gm[1], drag


def _hand_hedge_rows(lo: int, hi: int, first_counts: bool) -> dict[str, float]:
    """The hedge's figures over the marks lo..hi (inclusive); P&L after lo unless first."""
    d = TINY.daily
    rows = range(lo if first_counts else lo + 1, hi + 1)
    book = [d["pnl_book"].iloc[i] for i in rows]
    hedge = [
        d["pnl_H"].iloc[i] - d["cost_spread"].iloc[i] - d["cost_commission"].iloc[i] for i in rows
    ]
    losing = [i for i, x in enumerate(book) if x < 0]
    efficiency = sum(hedge[i] for i in losing) / -sum(book[i] for i in losing)
    h = d["hedged_value"].iloc[lo : hi + 1]
    u = d["unhedged_value"].iloc[lo : hi + 1]
    hr, ur = (h / h.shift() - 1).iloc[1:], (u / u.shift() - 1).iloc[1:]
    up, down, drag = _hand_capture(hr, ur)
    t = TINY.trades
    first, last = d.index[lo], d.index[hi]
    inside = t[
        ((t["date"] >= first) if first_counts else (t["date"] > first)) & (t["date"] <= last)
    ]
    turnover = inside["notional"].abs().sum() / h.mean() / ((hi - lo) / 252)
    return {
        "hedge_efficiency": efficiency,
        "upside_capture": up,
        "downside_capture": down,
        "bull_market_drag": drag,
        "turnover": turnover,
        "trades": float(len(inside)),
    }


def _hand_reductions() -> dict[pd.Timestamp, float]:
    h = TINY.daily["hedged_value"].to_numpy()
    u = TINY.daily["unhedged_value"].to_numpy()
    hr, ur = h[1:] / h[:-1] - 1, u[1:] / u[:-1] - 1  # return k is earned on mark k + 1
    out = {}
    for j, start in enumerate(DECIDED):
        end = DECIDED[j + 1] if j + 1 < len(DECIDED) else N - 1
        hw, uw = hr[start:end], ur[start:end]  # marks start+1 .. end
        out[DATES[start]] = 1 - np.var(hw, ddof=1) / np.var(uw, ddof=1)
    return out


def _hand_forecasts() -> tuple[list[float], list[float], list[pd.Timestamp]]:
    h = TINY.daily["hedged_value"].to_numpy()
    realised, predicted, dates = [], [], []
    for i, vol in zip(DECIDED, TINY.decisions["predicted_volatility"], strict=True):
        if not vol > 0:
            continue
        realised.append(h[i + HORIZON] / h[i] - 1)
        predicted.append(vol)
        dates.append(DATES[i])
    return realised, predicted, dates


# ---------------------------------------------------------------- the synthetic result


class TestTinySummary:
    def test_shape_windows_and_units(self, tiny_summary: pd.DataFrame) -> None:
        assert list(tiny_summary.columns) == ["hedged", "unhedged", "divested", "unit"]
        windows = tiny_summary.index.get_level_values("window").unique()
        assert list(windows) == ["whole period", "feb"]
        assert tiny_summary.attrs["skipped"] == ["before the data"]
        assert tiny_summary["unit"].str.len().min() > 5  # every row states its unit
        unit = tiny_summary["unit"].xs("whole period", level="window")
        assert "252" in unit["annualised_return"]
        assert "daily" in unit["annualised_return"]
        assert "3 trading days" in unit["bias_statistic"]
        assert "trading days" in unit["longest_drawdown"]

    @pytest.mark.parametrize("window", ["whole period", "feb"])
    def test_performance_by_hand(self, tiny_summary: pd.DataFrame, window: str) -> None:
        d = TINY.daily
        part = d if window == "whole period" else d.loc[FEB[0] : FEB[1]]
        got = tiny_summary.xs(window, level="window")
        for path in ("hedged", "unhedged"):
            expected = _performance(part[f"{path}_value"].to_numpy(), RATE)
            for field, value in expected.items():
                assert got.loc[field, path] == pytest.approx(value, rel=1e-12), (path, field)
        mdd = got.loc["max_drawdown"]
        assert got.loc["max_drawdown_reduction", "hedged"] == pytest.approx(
            mdd["unhedged"] - mdd["hedged"], rel=1e-12
        )
        assert math.isnan(got.loc["max_drawdown_reduction", "unhedged"])

    def test_hedge_figures_by_hand_whole_period(self, tiny_summary: pd.DataFrame) -> None:
        got = tiny_summary.xs("whole period", level="window")["hedged"]
        for field, value in _hand_hedge_rows(0, N - 1, first_counts=True).items():
            assert got[field] == pytest.approx(value, rel=1e-12, nan_ok=True), field
        assert got["trades"] == 5
        # the hedge leg offsets half of every loss, less the costs paid on losing days
        assert 0.4 < got["hedge_efficiency"] < 0.5

    def test_hedge_figures_by_hand_in_a_window(self, tiny_summary: pd.DataFrame) -> None:
        got = tiny_summary.xs("feb", level="window")["hedged"]
        lo = DATES.get_loc(pd.Timestamp(FEB[0]))
        hi = DATES.get_loc(pd.Timestamp(FEB[1]))
        for field, value in _hand_hedge_rows(lo, hi, first_counts=False).items():
            assert got[field] == pytest.approx(value, rel=1e-12, nan_ok=True), field
        assert got["trades"] == 2  # on 2021-02-08 and 2021-02-15

    def test_variance_reduction_per_window(self, tiny_summary: pd.DataFrame) -> None:
        got = TINY.variance_reduction()
        hand = _hand_reductions()
        assert list(got.index) == list(hand)
        np.testing.assert_allclose(got.to_numpy(), list(hand.values()), rtol=1e-12)
        whole = tiny_summary.xs("whole period", level="window")["hedged"]
        assert whole["variance_reduction_mean"] == pytest.approx(np.mean(list(hand.values())))
        assert whole["variance_reduction_median"] == pytest.approx(np.median(list(hand.values())))
        feb = tiny_summary.xs("feb", level="window")["hedged"]
        in_feb = [v for k, v in hand.items() if pd.Timestamp(FEB[0]) <= k <= pd.Timestamp(FEB[1])]
        assert feb["variance_reduction_mean"] == pytest.approx(np.mean(in_feb), rel=1e-12)
        # a half hedge keeps a quarter of the variance, near enough
        assert 0.6 < whole["variance_reduction_mean"] < 0.9

    def test_realised_against_predicted_risk(self, tiny_summary: pd.DataFrame) -> None:
        realised, predicted, dates = _hand_forecasts()
        table = TINY.risk_forecasts()
        assert list(table.index) == dates  # the "no hedge" decision has no forecast
        np.testing.assert_allclose(table["realised_return"], realised, rtol=1e-12)
        z = np.array(realised) / np.array(predicted)
        bias = math.sqrt(sum((x - z.mean()) ** 2 for x in z) / (len(z) - 1))
        pairs = zip(realised, predicted, strict=True)
        loss = float(np.mean([math.log(s**2) + r**2 / s**2 for r, s in pairs]))
        got = tiny_summary.xs("whole period", level="window")["hedged"]
        assert got["bias_statistic"] == pytest.approx(bias, rel=1e-12)
        assert got["qlike"] == pytest.approx(loss, rel=1e-12)
        # February holds one forecast with its horizon inside: too few for a statistic
        assert math.isnan(tiny_summary.loc[("feb", "bias_statistic"), "hedged"])

    def test_divested_alternative_by_hand(self, tiny_summary: pd.DataFrame) -> None:
        u = TINY.daily["unhedged_value"].to_numpy()
        h = TINY.daily["hedged_value"].to_numpy()
        cash = math.exp(RATE / 252) - 1
        b = u[1:] / u[:-1] - 1

        def gap(f: float) -> float:
            return float(np.sum(np.log(1 + cash + f * (b - cash)))) - math.log(h[-1] / h[0])

        fraction = brentq(gap, 0.0, 1.0, xtol=1e-15)
        got = tiny_summary.xs("whole period", level="window")
        assert got.loc["divested_fraction", "divested"] == pytest.approx(fraction, rel=1e-9)
        assert 0.4 < fraction < 0.6  # about the half the hedge kept
        mix = h[0] * np.concatenate(([1.0], np.cumprod(1 + cash + fraction * (b - cash))))
        expected = _performance(mix, RATE)
        for field in ("annualised_volatility", "max_drawdown", "total_return"):
            assert got.loc[field, "divested"] == pytest.approx(expected[field], rel=1e-8), field
        assert got.loc["total_return", "divested"] == pytest.approx(
            got.loc["total_return", "hedged"], rel=1e-9
        )


def test_a_hedge_that_beats_every_mix_leaves_the_divested_column_empty() -> None:
    d = TINY.daily.copy()
    d["unhedged_value"] = 1e6 * (1 + 0.01 * (-1.0) ** np.arange(N))  # up, down: no trend
    d["hedged_value"] = 1e6 * 1.01 ** np.arange(N)  # 1% every day
    result = BacktestResult("riser", d, TINY.decisions, TINY.trades, TINY.positions, TINY.meta)
    table = result.summary({})
    assert table["divested"].isna().all()
    assert "beat every divested alternative" in table.attrs["divested_note"]


def test_bad_windows_are_refused_with_the_fix() -> None:
    with pytest.raises(SpecificationError, match=r"'windows' argument must be a mapping"):
        TINY.summary("2020")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match=r"entry 'x' must start before it ends"):
        TINY.summary({"x": ("2021-02-01", "2021-01-01")})


# ---------------------------------------------------------------- figures


class TestFigures:
    def test_equity_and_drawdowns_are_the_paths(self) -> None:
        fig = TINY.plot("equity")
        assert isinstance(fig, Figure)
        top, bottom = fig.axes
        v = TINY.daily["hedged_value"].to_numpy()
        hedged = next(ln for ln in top.lines if ln.get_label() == "hedged")
        np.testing.assert_array_equal(hedged.get_ydata(), v)
        dd = next(ln for ln in bottom.lines if ln.get_label() == "hedged")
        peaks = np.maximum.accumulate(v)
        np.testing.assert_allclose(dd.get_ydata(), -(1 - v / peaks), atol=1e-15)

    def test_hedge_ratio_with_regimes_shaded(self) -> None:
        ax = TINY.plot("hedge_ratio").axes[0]
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == ["regime: calm", "regime: stress", "hedge ratio"]
        spans = [p for p in ax.patches]
        assert len(spans) == 2  # calm, then stress; the days without a regime unshaded

    def test_cumulative_costs_by_kind(self) -> None:
        ax = TINY.plot("costs").axes[0]
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == ["commission", "spread"]
        total = TINY.daily["cost_spread"].sum() + TINY.daily["cost_commission"].sum()
        assert f"{total:,.0f} in total" in ax.get_title()

    def test_save_figures(self, tmp_path: Path) -> None:
        paths = TINY.save_figures(tmp_path / "figs")
        assert [p.name for p in paths] == [
            "backtest_equity.png",
            "backtest_hedge_ratio.png",
            "backtest_costs.png",
        ]
        assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)

    def test_bad_kind_and_folder(self, tmp_path: Path) -> None:
        with pytest.raises(SpecificationError, match=r"'kind'.*'pie'"):
            TINY.plot("pie")
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
        with pytest.raises(SpecificationError, match=r"'folder' argument .*plain.txt' is a file"):
            TINY.save_figures(plain)


# ---------------------------------------------------------------- a real backtest


@pytest.fixture(scope="module")
def real() -> BacktestResult:
    data = oh.datasets.load_default(
        start="2019-06-01", end="2020-12-31", columns=["JPM", "XOM", "SP500"]
    )
    spec = ProblemSpec(
        (oh.Future("ES", underlying="SP500", multiplier=50.0, cost=1e-4),),
        oh.Variance(),
        (),
        21,
        "SP500",
    )
    policy = HedgePolicy(
        name="futures overlay",
        spec=spec,
        schedule=Schedule("month_end"),
        estimation=Estimation(kind="sample", window=126),
    )
    return backtest(
        policy,
        data,
        start="2020-01-02",
        end="2020-12-31",
        book=oh.Portfolio.from_holdings({"JPM": 6e6, "XOM": 4e6}),
        costs=CostModel(commission_per_contract=2.0),
        rate=0.01,
    )


class TestRealBacktest:
    def test_summary_is_the_metrics_on_the_daily_columns(self, real: BacktestResult) -> None:
        s = real.summary()
        assert s.attrs["skipped"] == [
            "GFC 2008-09",
            "2022 bear",
            "calm 2004-06",
            "calm 2012-14",
            "calm 2017",
        ]
        d = real.daily
        h, u = d["hedged_value"], d["unhedged_value"]
        whole = s.xs("whole period", level="window")
        for path, values in (("hedged", h), ("unhedged", u)):
            expected = m.performance(values, rate=0.01)
            for field in m.PERFORMANCE_FIELDS:
                assert whole.loc[field, path] == pytest.approx(expected[field], rel=1e-12)
        covid = s.xs("COVID 2020", level="window")
        expected = m.performance(h.loc["2020-02-19":"2020-03-23"], rate=0.01)
        assert covid.loc["max_drawdown", "hedged"] == pytest.approx(expected["max_drawdown"])
        legs = d["pnl_ES"] - d.filter(like="cost_").sum(axis=1)
        efficiency = m.hedge_efficiency(d["pnl_book"], legs)
        assert whole.loc["hedge_efficiency", "hedged"] == pytest.approx(efficiency, rel=1e-12)
        hr, ur = h.pct_change().iloc[1:], u.pct_change().iloc[1:]
        up, down = m.capture(hr, ur)
        assert whole.loc["upside_capture", "hedged"] == pytest.approx(up, rel=1e-12)
        assert whole.loc["downside_capture", "hedged"] == pytest.approx(down, rel=1e-12)
        drag = m.bull_market_drag(hr, ur)
        assert whole.loc["bull_market_drag", "hedged"] == pytest.approx(drag, rel=1e-12)
        reductions = m.variance_reduction(ur, hr, pd.DatetimeIndex(real.decisions.index))
        assert whole.loc["variance_reduction_median", "hedged"] == pytest.approx(
            reductions.median(), rel=1e-12
        )
        fraction, _ = m.divested_alternative(u, h, rate=0.01)
        assert whole.loc["divested_fraction", "divested"] == pytest.approx(fraction, rel=1e-12)
        turnover = real.trades["notional"].abs().sum() / h.mean() / ((len(h) - 1) / 252)
        assert whole.loc["turnover", "hedged"] == pytest.approx(turnover, rel=1e-12)
        assert whole.loc["trades", "hedged"] == len(real.trades)
        # the hedge did its job in the crash, whatever it cost later
        assert covid.loc["max_drawdown_reduction", "hedged"] > 0.2

    def test_forecasts_use_the_decisions_horizon(self, real: BacktestResult) -> None:
        f = real.risk_forecasts()
        h = real.daily["hedged_value"]
        date = f.index[3]
        i = h.index.get_loc(date)
        assert f.loc[date, "horizon"] == 21
        assert f.loc[date, "realised_return"] == pytest.approx(h.iloc[i + 21] / h.iloc[i] - 1)
        assert f.loc[date, "predicted_volatility"] == real.decisions.loc[date, "volatility"]
        assert len(f) == len(real.decisions) - 1  # the last decision's horizon runs past the end


# ---------------------------------------------------------------- the HTML report


@pytest.fixture(scope="module")
def page(real: BacktestResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return real.to_html(tmp_path_factory.mktemp("backtest") / "backtest.html")


def _table_cells(text: str, table_id: str) -> str:
    found = re.search(rf'<table[^>]*id="{table_id}".*?</table>', text, re.S)
    assert found is not None, table_id
    return found.group(0)


class TestReport:
    def test_self_contained_with_its_sections(self, page: Path, real: BacktestResult) -> None:
        text = page.read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>")
        assert network_references(text) == []
        for section in ("What was run", "Summary", "Costs", "Decisions", "Figures"):
            assert f"<h2>{section}" in text
        assert text.count("data:image/png;base64,") == 3
        whole = real.summary().xs("whole period", level="window")
        summary = _table_cells(text, "summary-whole-period")
        mdd = whole.loc["max_drawdown", "hedged"]
        assert f"<td>{mdd:.2%}</td>" in summary
        costs = _table_cells(text, "backtest-costs")
        assert f"{real.costs().loc['roll', 'total']:,.2f}" in costs
        decisions = _table_cells(text, "backtest-decisions")
        first, last = real.decisions.index[0], real.decisions.index[-1]
        assert f"{first:%Y-%m-%d}" in decisions
        assert f"{last:%Y-%m-%d}" in decisions
        assert "None" not in decisions  # no regime table: blank cells
        assert "the first and last 5 of 13 decisions" in text
        assert "windows the data do not cover: GFC 2008-09" in text
        assert not re.search(r">-0(\.0+)?%?<", text)

    def test_optihedge_report_writes_the_same_page(
        self, real: BacktestResult, tmp_path: Path
    ) -> None:
        target = oh.report(real, tmp_path / "r.html", title="Overlay 2020")
        text = target.read_text(encoding="utf-8")
        assert "<h1>Overlay 2020</h1>" in text
        assert 'id="summary-covid-2020"' in text
        with pytest.raises(SpecificationError, match=r"'inputs' and 'returns' arguments apply"):
            oh.report(real, tmp_path / "x.html", returns=real.daily)
        with pytest.raises(SpecificationError, match=r"is a directory"):
            real.to_html(tmp_path)

    def test_renders_in_headless_chromium(self, page: Path, tmp_path: Path) -> None:
        browser = _chromium()
        flags = _browser_flags(tmp_path / "profile")
        dom = subprocess.run(
            [browser, *flags, "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
            capture_output=True,
            timeout=120,
            check=True,
        ).stdout.decode()
        assert 'data-ready="1"' in dom
        assert 'id="summary-whole-period"' in dom
        assert 'id="backtest-decisions"' in dom
        rendered = {
            name: (int(w), int(h))
            for name, w, h in re.findall(r'id="(fig-[^"]+)"[^>]*data-rendered="(\d+)x(\d+)"', dom)
        }
        assert set(rendered) == {
            "fig-backtest-equity",
            "fig-backtest-hedge-ratio",
            "fig-backtest-costs",
        }
        assert all(w > 0 and h > 0 for w, h in rendered.values())

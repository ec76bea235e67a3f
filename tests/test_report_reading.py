"""The report reads right: no -0.0000, counts as counts, units on every figure, a P&L
distribution for a variance result, and the factor chart's long tail summed (issue 20).

Expected numbers are computed in the test: the normal quantiles with scipy, the drag's
annualisation by hand from the daily returns.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import optihedge as oh
from constraints import GrossExposure
from optihedge.analysis.figures import attribution_bars, pnl_distribution
from optihedge.analysis.report import _number
from optihedge.errors import SpecificationError


def _daily(n: int = 400, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = rng.normal(0, 0.01, n)
    return pd.DataFrame(
        {
            "A": 0.9 * idx + rng.normal(0, 0.01, n),
            "B": 1.1 * idx + rng.normal(0, 0.01, n),
            "IDX": idx,
        },
        index=pd.bdate_range("2015-01-01", periods=n),
    )


DAILY = _daily()
MODEL = oh.FactorModel(windows=(300,)).fit(DAILY, DAILY[["IDX"]]).risk_model_
BOOK = oh.Portfolio.from_holdings({"A": 6e5, "B": 4e5})


def variance_result() -> oh.HedgeResult:
    problem = oh.HedgeProblem(
        BOOK,
        [oh.Future("F", underlying="IDX", price=100.0, multiplier=50.0)],
        objective=oh.Variance(),
        constraints=[GrossExposure(2.0)],
        risk_model=MODEL,
        horizon=5,
        market="IDX",
    )
    return problem.solve()


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.header_rows: dict[str, int] = {}
        self._id: str | None = None
        self._in_head = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._id = dict(attrs).get("id") or "?"
            self.tables[self._id] = []
            self.header_rows[self._id] = 0
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._id is not None:
            if self._in_head:
                self.header_rows[self._id] += 1
            self.tables[self._id].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None and self._id is not None:
            self.tables[self._id][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._id = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, _Tables]:
    target = tmp_path_factory.mktemp("reading") / "hedge.html"
    variance_result().report(target, returns=DAILY)
    text = Path(target).read_text(encoding="utf-8")
    parser = _Tables()
    parser.feed(text)
    return text, parser


class TestNumbers:
    @pytest.mark.parametrize(
        ("fmt", "value", "shown"),
        [
            ("{:,.4f}", -0.00001, "0.0000"),
            ("{:,.4f}", -0.0, "0.0000"),
            ("{:,.4f}", -0.0001, "-0.0001"),
            ("{:,.0f}", -0.4, "0"),
            ("{:,.0f}", -1234.6, "-1,235"),
            ("{:.4g}", -1e-9, "-1e-09"),
            ("{:.3%}", -0.000001, "0.000%"),
        ],
    )
    def test_no_signed_zero(self, fmt: str, value: float, shown: str) -> None:
        assert _number(fmt)(value) == shown

    def test_page_has_no_signed_zero(self, page: tuple[str, _Tables]) -> None:
        text, _ = page
        assert not re.search(r">-0(\.0+)?%?<", text)

    def test_one_header_row_per_table(self, page: tuple[str, _Tables]) -> None:
        _, tables = page
        assert tables.header_rows  # the page has tables
        assert all(n == 1 for n in tables.header_rows.values()), tables.header_rows

    def test_counts_are_counts_and_money_is_whole(self, page: tuple[str, _Tables]) -> None:
        _, tables = page
        rows = tables.tables["allocation"]
        head = rows[0]
        body = {r[0]: dict(zip(head[1:], r[1:], strict=True)) for r in rows[1:]}
        result = variance_result()
        f = result.allocation.loc["F"]
        assert body["F"]["units_rounded"] == f"{round(f['units']):,d}"
        assert body["F"]["units"] == f"{f['units']:,.2f}"
        assert body["F"]["notional"] == f"{f['notional']:,.0f}"
        assert body["F"]["weight"] == f"{f['weight']:,.4f}"


class TestDrag:
    def test_units_and_annualisation(self, page: tuple[str, _Tables]) -> None:
        _, tables = page
        rows = {r[0]: r[1] for r in tables.tables["drag"][1:]}
        result = variance_result()
        # by hand: the hedged book's daily return minus the book's, on days IDX rose
        hedge = result.weights["F"] * DAILY["IDX"]
        up = DAILY["IDX"] > 0
        mean = float(hedge[up].mean())
        assert rows["trading days the market rose"] == f"{int(up.sum()):,d}"
        key = "mean per trading day (hedged minus book, % of capital)"
        assert float(rows[key].rstrip("%")) == pytest.approx(100 * mean, abs=1e-4)
        annual = "annualised (x 252 trading days a year, % of capital)"
        assert float(rows[annual].rstrip("%")) == pytest.approx(100 * 252 * mean, abs=1e-3)
        total = "total over those days (% of capital, summed)"
        assert float(rows[total].rstrip("%")) == pytest.approx(100 * hedge[up].sum(), abs=1e-3)

    def test_earned_totals_state_their_period(self, page: tuple[str, _Tables]) -> None:
        text, _ = page
        assert "over 400 trading days from 2015-01-01 to 2016-07-13 (not annualised)" in text


class TestVarianceDistribution:
    def test_normal_var_and_es_lines(self) -> None:
        result = variance_result()
        fig = pnl_distribution(result)
        ax = fig.axes[0]
        lines = [ln.get_xdata()[0] for ln in ax.lines if len(ln.get_xdata()) == 2]
        z = stats.norm.ppf(0.95)
        expected = []
        for side in ("before", "after"):
            vol = float(result.risk.loc[side, "volatility"])
            expected += [-z * vol, -vol * stats.norm.pdf(z) / 0.05]
        assert sorted(lines) == pytest.approx(sorted(expected), rel=1e-12)
        assert ax.get_ylabel() == "density"

    def test_density_is_the_normal_one(self) -> None:
        result = variance_result()
        ax = pnl_distribution(result).axes[0]
        curve = next(ln for ln in ax.lines if len(ln.get_xdata()) > 2)
        x, y = curve.get_xdata(), curve.get_ydata()
        vol = float(result.risk.loc["before", "volatility"])
        assert y == pytest.approx(stats.norm.pdf(x, scale=vol), rel=1e-12)

    def test_alpha_refused(self) -> None:
        with pytest.raises(SpecificationError, match=r"'alpha'.*\[0.5, 1\)\. Got 1.2"):
            pnl_distribution(variance_result(), alpha=1.2)

    def test_in_the_report(self, page: tuple[str, _Tables]) -> None:
        text, _ = page
        assert 'id="fig-pnl"' in text
        assert "normal, with the risk model&#x27;s volatility" in text


class TestFactorChart:
    def table(self, n: int) -> pd.DataFrame:
        rng = np.random.default_rng(3)
        rows = pd.DataFrame(
            {"before": rng.normal(0, 0.01, n), "after": rng.normal(0, 0.005, n)},
            index=[f"f{i}" for i in range(n)],
        )
        total = rows.sum().to_frame("total").T
        out = pd.concat([rows, total])
        out.attrs |= {"measure": "volatility", "by": "factor"}
        return out

    def test_top_bars_and_the_rest_summed(self) -> None:
        table = self.table(30)
        ax = attribution_bars(table, top=12).axes[0]
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert len(labels) == 12
        assert labels[-1] == "other (19)"
        size = table.drop(index="total")[["before", "after"]].abs().max(axis=1)
        assert labels[:11] == list(size.sort_values(ascending=False).index[:11])
        bars = [p.get_width() for p in ax.patches]
        before, after = bars[:12], bars[12:]
        assert sum(before) == pytest.approx(table.loc["total", "before"], abs=1e-15)
        assert sum(after) == pytest.approx(table.loc["total", "after"], abs=1e-15)

    def test_few_rows_unchanged(self) -> None:
        ax = attribution_bars(self.table(5)).axes[0]
        assert [t.get_text() for t in ax.get_yticklabels()] == [f"f{i}" for i in range(5)]

    def test_top_refused(self) -> None:
        with pytest.raises(SpecificationError, match=r"'top' argument must be an integer >= 1"):
            attribution_bars(self.table(5), top=0)

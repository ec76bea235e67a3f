"""Attribution of a hedge result, the policy sentence, return attribution, the HTML report.

Known answers: Maillard, Roncalli and Teiletche's (2010) four-asset example (volatilities
10/20/30/40%, correlations 0.8 between the first two and -0.5 between the last two):
their equally weighted and equal-risk-contribution portfolios' marginal risks,
contributions and volatilities to the printed precision. Identities: contributions sum
to the total; factor plus specific (plus non-linear) is the total; expected-shortfall
contributions sum to the scenario ES exactly and equal a finite-difference derivative
of it; the GLS factor returns equal statsmodels' WLS. The report renders in headless
Chromium with every figure, with the network blocked, and asks it for nothing over the
network; a parser finds every fetch a page can hold (markup, CSS, script) and is itself
tested on each kind. A write that fails (while the text is written, a figure, the rename,
a folder that refuses files, root included) leaves the old report byte for byte.
"""

from __future__ import annotations

import dataclasses
import errno
import html
import os
import re
import shutil
import socket
import subprocess
import threading
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given
from hypothesis import strategies as st

import optihedge as oh
from constraints import GrossExposure, PremiumBudget, ResidualBeta
from optihedge.errors import DataError, MissingLabelsError, SpecificationError
from optihedge.measures.contributions import shortfall_contributions, tail_weights
from optihedge.measures.risk import expected_shortfall

# ------------------------------------------------------------------ MRT's example
VOLS = np.array([0.10, 0.20, 0.30, 0.40])
CORR = np.array(
    [[1.0, 0.8, 0.0, 0.0], [0.8, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -0.5], [0.0, 0.0, -0.5, 1.0]]
)
MRT_COV = pd.DataFrame(np.outer(VOLS, VOLS) * CORR, index=list("ABCD"), columns=list("ABCD"))


def _mrt_result(weights: list[float]) -> oh.HedgeResult:
    model = oh.RiskModel.from_covariance(MRT_COV)
    book = oh.Portfolio.from_holdings(dict(zip("ABCD", weights, strict=True)))
    future = oh.Future("F", underlying="A", lower=0.0, upper=0.0)  # held at zero
    problem = oh.HedgeProblem(
        book, [future], objective=oh.Variance(), risk_model=model, horizon=1, market="A"
    )
    return problem.solve()


class TestMaillardRoncalliTeiletche:
    def test_equally_weighted_portfolio(self) -> None:
        # published: sigma 11.5%; marginal 5.6, 12.2, 6.5, 21.7%; contributions
        # 1.4, 3.0, 1.6, 5.4%; shares 12.3, 26.4, 47.2% for the first, second and last
        table = oh.attribution.euler_contributions(pd.Series(0.25, index=list("ABCD")), MRT_COV)
        assert round(100 * table.attrs["volatility"], 1) == 11.5
        assert list(np.round(100 * table["marginal"], 1)) == [5.6, 12.2, 6.5, 21.7]
        assert list(np.round(100 * table["contribution"], 1)) == [1.4, 3.0, 1.6, 5.4]
        assert list(np.round(100 * table["share"].iloc[[0, 1, 3]], 1)) == [12.3, 26.4, 47.2]
        # the same numbers through a hedge result's attribution by holding
        result = _mrt_result([0.25] * 4)
        by_holding = result.attribution(by="holding")
        np.testing.assert_allclose(
            by_holding.loc[list("ABCD"), "before"], table["contribution"], rtol=1e-12
        )
        assert by_holding.loc["total", "before"] == pytest.approx(table.attrs["volatility"])

    def test_equal_risk_contribution_portfolio(self) -> None:
        # published: x = 38.4, 19.2, 24.3, 18.2%; every contribution 2.6%; sigma 10.3%
        weights = [0.3836, 0.1918, 0.2426, 0.1820]
        result = _mrt_result(weights)
        table = result.attribution(by="holding")
        assert round(100 * table.loc["total", "before"], 1) == 10.3
        assert list(np.round(100 * table.loc[list("ABCD"), "before"], 1)) == [2.6] * 4
        assert list(np.round(100 * table.loc[list("ABCD"), "before_share"], 0)) == [25.0] * 4


# ------------------------------------------------------------------ a scenario problem
def _daily(n: int = 600, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = rng.standard_t(4, n) * 0.009
    value = rng.normal(0, 0.004, n)
    frame = pd.DataFrame(
        {
            "A": 0.9 * idx + 0.5 * value + rng.normal(0, 0.01, n),
            "B": 1.2 * idx - 0.3 * value + rng.normal(0, 0.01, n),
            "C": 0.7 * idx + rng.normal(0, 0.012, n),
            "IDX": idx,
            "VAL": value,
        },
        index=pd.bdate_range("2007-01-01", periods=n),
    )
    return frame


DAILY = _daily()
MODEL = oh.FactorModel(windows=(500,)).fit(DAILY, DAILY[["IDX", "VAL"]]).risk_model_
SCENARIOS = oh.Scenarios.historical(DAILY, horizon=10)
MARKET = oh.MarketState(spot={"IDX": 100.0}, volatility={"IDX": 0.2}, rate=0.02)
BOOK = oh.Portfolio.from_holdings({"A": 4e5, "B": 3.5e5, "C": 2.5e5})
INSTRUMENTS = [
    oh.Future("F", underlying="IDX", price=100.0, multiplier=50.0),
    oh.InverseETF("SH", underlying="IDX", price=20.0),
    oh.Put("P", underlying="IDX", moneyness=0.95, expiry=42),
    oh.ETF("V", underlying="VAL", price=50.0),
]


def _solve(objective: oh.Objective | None = None, **kw: object) -> oh.HedgeResult:
    args: dict[str, object] = {
        "objective": objective or oh.ExpectedShortfall(0.9),
        "constraints": [GrossExposure(0.9), PremiumBudget(0.005), ResidualBeta(min=0.2)],
        "scenarios": SCENARIOS,
        "risk_model": MODEL,
        "horizon": 10,
        "market": "IDX",
        "market_state": MARKET,
    }
    args.update(kw)
    return oh.HedgeProblem(BOOK, INSTRUMENTS, **args).solve()  # type: ignore[arg-type]


RESULT = _solve()


class TestAttribution:
    @pytest.mark.parametrize("by", ["factor", "holding", "instrument", "leg"])
    @pytest.mark.parametrize("measure", ["volatility", "expected_shortfall"])
    def test_contributions_add_up_to_the_total(self, by: str, measure: str) -> None:
        table = RESULT.attribution(by=by, measure=measure)
        assert table.index[-1] == "total"
        parts = table.drop(index="total")
        np.testing.assert_allclose(
            parts[["before", "after"]].sum(),
            table.loc["total", ["before", "after"]],
            rtol=1e-10,
            atol=1e-14,
        )
        np.testing.assert_allclose(
            parts[["before_share", "after_share"]].sum(), [1.0, 1.0], rtol=1e-10
        )
        column = "volatility" if measure == "volatility" else "scenario_es"
        np.testing.assert_allclose(
            table.loc["total", ["before", "after"]].to_numpy(dtype=float),
            RESULT.risk[column].to_numpy(),
            rtol=1e-10,
        )

    def test_rows_of_each_grouping(self) -> None:
        assert list(RESULT.attribution("factor").index) == ["IDX", "VAL", "specific", "total"]
        es = RESULT.attribution("factor", "expected_shortfall")
        assert list(es.index) == ["IDX", "VAL", "specific", "non-linear", "total"]
        assert es.loc["non-linear", "before"] == 0.0  # the book is linear
        assert es.loc["non-linear", "after"] != 0.0  # the put and the daily reset are not
        assert list(RESULT.attribution("holding").index) == ["A", "B", "C", "hedge", "total"]
        assert list(RESULT.attribution("leg").index) == ["book", "F", "SH", "P", "V", "total"]
        assert list(RESULT.attribution("instrument").index) == [
            "A", "B", "C", "F", "SH", "P", "V", "total",
        ]  # fmt: skip
        folded = RESULT.attribution("factor", factors=["VAL"])
        assert list(folded.index) == ["VAL", "other factors", "specific", "total"]
        assert folded.loc["other factors", "after"] == pytest.approx(
            RESULT.attribution("factor").loc["IDX", "after"]
        )

    def test_volatility_by_factor_is_x_sigma_rho(self) -> None:
        # independent: the dense covariance of the hedged book's asset position
        z = RESULT.exposures["after"]  # type: ignore[index]
        risk = RESULT.risk_inputs.risk  # type: ignore[union-attr]
        b, f = risk.loadings.loc[z.index].to_numpy(), risk.factor_cov.to_numpy()
        d = risk.specific_var.reindex(z.index).to_numpy()
        cov = b @ f @ b.T + np.diag(d)
        sigma = float(np.sqrt(z @ cov @ z))
        x = b.T @ z.to_numpy()
        expected = [*(x * (f @ x) / sigma), float(z @ (d * z)) / sigma]
        table = RESULT.attribution("factor")
        np.testing.assert_allclose(table["after"].iloc[:-1], expected, rtol=1e-10)

    @staticmethod
    def _legs(result: oh.HedgeResult) -> tuple[np.ndarray, np.ndarray, float]:
        inputs = result.risk_inputs
        assert inputs is not None
        assert inputs.scenario_assets is not None
        assert inputs.scenario_pnl is not None
        held = list(inputs.holdings)
        book = inputs.scenario_assets[held].to_numpy() @ inputs.book[held].to_numpy()
        legs = np.column_stack([book, inputs.scenario_pnl * result.weights.to_numpy()])
        assert inputs.probabilities is not None
        return legs, inputs.probabilities, inputs.alpha

    def test_expected_shortfall_contributions_are_its_derivative(self) -> None:
        # away from the optimum (where scenarios tie at the VaR) ES is differentiable
        result = dataclasses.replace(RESULT, weights=RESULT.weights * 0.7)
        legs, p, alpha = self._legs(result)
        table = result.attribution("leg", "expected_shortfall")

        def es(scale: np.ndarray) -> float:
            return expected_shortfall(legs @ scale, alpha, p)

        h = 1e-7
        for j, label in enumerate(["book", "F", "SH", "P", "V"]):
            up, down = np.ones(5), np.ones(5)
            up[j] += h
            down[j] -= h
            derivative = (es(up) - es(down)) / (2 * h)
            assert derivative == pytest.approx(table.loc[label, "after"], abs=1e-7)
        assert table.loc["total", "after"] == pytest.approx(es(np.ones(5)), rel=1e-12)

    def test_at_the_optimum_contributions_lie_between_one_sided_derivatives(self) -> None:
        # the optimum puts several scenarios at the VaR: ES has a kink there, and the
        # contributions (the tie's mass split by probability) are a subgradient
        legs, p, alpha = self._legs(RESULT)
        table = RESULT.attribution("leg", "expected_shortfall")

        def es(scale: np.ndarray) -> float:
            return expected_shortfall(legs @ scale, alpha, p)

        h = 1e-7
        base = es(np.ones(5))
        for j, label in enumerate(["book", "F", "SH", "P", "V"]):
            step = np.ones(5)
            step[j] += h
            right = (es(step) - base) / h
            step[j] -= 2 * h
            left = (base - es(step)) / h
            assert left - 1e-6 <= table.loc[label, "after"] <= right + 1e-6

    def test_alpha_can_be_chosen_and_the_tail_must_hold_a_scenario(self) -> None:
        at_99 = RESULT.attribution("leg", "expected_shortfall", alpha=0.99)
        p = RESULT.risk_inputs.probabilities  # type: ignore[union-attr]
        after = RESULT.scenario_returns["after"].to_numpy()  # type: ignore[index]
        assert at_99.loc["total", "after"] == pytest.approx(expected_shortfall(after, 0.99, p))
        few = oh.Scenarios.from_returns(DAILY.iloc[:10], horizon=10)
        result = _solve(oh.Variance(), scenarios=few, constraints=[])
        with pytest.raises(DataError, match="fewer than one"):
            result.attribution("leg", "expected_shortfall")

    def test_factor_returns_by_gls_equal_statsmodels_wls(self) -> None:
        # scenarios without the factors' own columns: factor returns are estimated
        scenarios = oh.Scenarios.historical(DAILY[["A", "B", "C"]], horizon=10)
        inputs = dataclasses.replace(
            RESULT.risk_inputs,  # type: ignore[arg-type]
            scenario_assets=scenarios.returns,
        )
        rows = np.arange(5)
        got = inputs.factor_returns(rows)
        risk = inputs.risk
        common = risk.loadings.index.intersection(scenarios.returns.columns)
        for i in rows:
            fit = sm.WLS(
                scenarios.returns[common].iloc[i].to_numpy(),
                risk.loadings.loc[common].to_numpy(),
                weights=1.0 / risk.specific_var.reindex(common).to_numpy(),
            ).fit()
            np.testing.assert_allclose(got[i], fit.params, rtol=1e-8, atol=1e-12)

    @given(
        n=st.integers(5, 60),
        alpha=st.floats(0.5, 0.95),
        seed=st.integers(0, 1000),
        ties=st.booleans(),
    )
    def test_tail_weights_reproduce_the_expected_shortfall(
        self, n: int, alpha: float, seed: int, ties: bool
    ) -> None:
        rng = np.random.default_rng(seed)
        parts = rng.normal(0, 0.02, (n, 3))
        if ties:
            parts = np.round(parts, 2)  # many equal totals
        p = rng.dirichlet(np.ones(n))
        if (1 - alpha) < p.max() and (1 - alpha) * n < 1:
            return
        got = shortfall_contributions(parts, p, alpha)
        total = parts.sum(axis=1)
        assert got["es"] == pytest.approx(expected_shortfall(total, alpha, p), rel=1e-9, abs=1e-15)
        assert float(np.sum(got["contribution"])) == pytest.approx(got["es"], rel=1e-9, abs=1e-15)
        omega, _ = tail_weights(-total, p, alpha)
        assert omega.sum() == pytest.approx(1.0)
        assert (omega >= 0).all()

    def test_bad_input(self) -> None:
        with pytest.raises(MissingLabelsError, match="'MOM'"):
            RESULT.attribution("factor", factors=["MOM"])
        with pytest.raises(SpecificationError, match="'by'"):
            RESULT.attribution("sector")
        with pytest.raises(SpecificationError, match="'measure'"):
            RESULT.attribution("leg", "var")
        failed = dataclasses.replace(RESULT, status="infeasible")
        with pytest.raises(SpecificationError, match="status 'infeasible'"):
            failed.attribution()
        with pytest.raises(SpecificationError, match="status 'infeasible'"):
            failed.report("/tmp/never.html")
        no_scenarios = _solve(oh.Variance(), scenarios=None)
        with pytest.raises(SpecificationError, match="needs scenarios"):
            no_scenarios.attribution("leg", "expected_shortfall")


def test_a_detached_result_is_light_and_says_what_it_cannot_do() -> None:
    import pickle

    light = RESULT.detached()
    assert len(pickle.dumps(light)) < len(pickle.dumps(RESULT)) / 3  # the scenarios stay behind
    pd.testing.assert_series_equal(light.weights, RESULT.weights)
    with pytest.raises(SpecificationError, match="carries no risk inputs"):
        light.attribution()


class TestExplain:
    def test_every_number_in_the_sentence_is_computed(self) -> None:
        e = RESULT.explain()
        n = e.numbers
        beta = RESULT.risk["beta"].to_numpy()
        assert n["beta_protected"] == pytest.approx(beta[0] - beta[1])
        risk = RESULT.risk_inputs.risk  # type: ignore[union-attr]
        market_var = float(risk.factor_cov.loc["IDX", "IDX"])
        drift = np.sqrt(0.10 * RESULT.risk.loc["after", "variance"] / market_var)
        assert n["band_low"] == pytest.approx(beta[0] - drift)
        assert n["band_high"] == pytest.approx(beta[0] + drift)
        assert f"beta of about {beta[0] - beta[1]:.2f}" in e.sentence
        assert "USD 1,000,000 for 10 trading days" in e.sentence
        assert f"{n['band_low']:.2f}-{n['band_high']:.2f}" in e.sentence
        for label in RESULT.binding:
            assert label.split(".")[0].replace("_", " ") in e.sentence
        premium = RESULT.allocation["annual_premium"]
        carry = RESULT.allocation["annual_carry"]
        cost = float(np.where(premium != 0, premium, carry).sum()) / 1e6
        assert n["annual_cost_fraction"] == pytest.approx(cost)
        assert str(e) == e.sentence


class TestReturnAttribution:
    def test_factor_plus_specific_is_the_total_and_effectiveness(self) -> None:
        realised = oh.attribution.return_attribution(RESULT, DAILY, MODEL)
        for side in ("before", "after"):
            block = realised.daily[side]
            np.testing.assert_allclose(
                block.drop(columns="total").sum(axis=1), block["total"], rtol=1e-12, atol=1e-15
            )
        z = RESULT.exposures["before"]  # type: ignore[index]
        held = z.index[z != 0]
        np.testing.assert_allclose(
            realised.daily[("before", "total")], DAILY[held] @ z[held], rtol=1e-12
        )
        assert realised.effectiveness["covered"].sum() == 1  # the 2008-09 window only
        row = realised.effectiveness.loc["GFC 2008-09"]
        book = np.expm1(
            np.log1p(realised.daily[("before", "total")].loc["2008-09-01":"2009-03-31"]).sum()
        )
        assert row["book"] == pytest.approx(book)
        if row["book"] < 0:
            assert row["offset"] == pytest.approx(1 - row["hedged"] / row["book"])
        else:  # the book gained: nothing to offset
            assert np.isnan(row["offset"])
        half = pd.DataFrame({"before": [0.5, 0.5], "after": [0.25, 0.25]}, index=["A", "B"])
        crash = DAILY.copy()
        crash.loc["2008-09-01":"2009-03-31", ["A", "B"]] = -0.01
        crash.loc["2008-09-01":"2009-03-31", "IDX"] = -0.01
        halved = oh.attribution.return_attribution(half, crash, MODEL, market="IDX")
        window = halved.effectiveness.loc["GFC 2008-09"]
        days = len(crash.loc["2008-09-01":"2009-03-31"])
        assert window["book"] == pytest.approx(0.99**days - 1)
        assert window["hedged"] == pytest.approx(0.995**days - 1)
        assert realised.drag["up_days"] == float((DAILY["IDX"] > 0).sum())

    def test_bad_input(self) -> None:
        with pytest.raises(MissingLabelsError, match="'C'"):
            oh.attribution.return_attribution(RESULT, DAILY.drop(columns="C"), MODEL)
        with pytest.raises(DataError, match="NaN"):
            oh.attribution.return_attribution(RESULT, DAILY.where(DAILY > -0.02), MODEL)


# ------------------------------------------------------------------ the HTML report
# "No network": every reference a browser could fetch, in markup, CSS and script. A
# reference is allowed only as an embedded data: URI or a fragment (#...); anything else
# (http(s)://, protocol-relative //, a relative file) is a fetch or a broken page. The
# report has no <a> links, so navigation links are not special-cased: one added on purpose
# must be allowed here explicitly.
_URL_ATTRIBUTES = {
    "src", "href", "srcset", "imagesrcset", "poster", "data", "action", "formaction",
    "background", "cite", "longdesc", "manifest", "ping", "xlink:href", "codebase",
    "archive", "icon", "lowsrc", "dynsrc", "profile", "usemap",
}  # fmt: skip
_SCRIPT_FETCHES = re.compile(
    r"\b(fetch|XMLHttpRequest|WebSocket|EventSource|sendBeacon|importScripts|Worker|"
    r"SharedWorker|serviceWorker|import\s*\(|import\s+[\w{*\"']|open\s*\(|location\s*=|"
    r"\.src\s*=|\.href\s*=|srcset\s*=)"
)
_REMOTE = re.compile(r"(?:\b[a-z][a-z0-9+.-]*:)?//[^\s\"')]", re.I)


def _allowed_url(url: str) -> bool:
    url = url.strip()
    return url.startswith("#") or url.lower().startswith("data:")


def _css_fetches(css: str) -> list[str]:
    found = []
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    found += [f"css @import {m.group(0)!r}" for m in re.finditer(r"@import[^;]*", css, re.I)]
    for m in re.finditer(r"""url\(\s*(["']?)(.*?)\1\s*\)""", css, re.I | re.S):
        if not _allowed_url(m.group(2)):
            found.append(f"css url({m.group(2)!r})")
    # strings anywhere else (image-set("..."), src: "...", unquoted tricks), data: URIs
    # removed first: base64 may contain //
    rest = re.sub(r"""url\(\s*(["']?)data:.*?\1\s*\)""", "", css, flags=re.I | re.S)
    found += [f"css reference {m.group(0)!r}" for m in _REMOTE.finditer(rest)]
    return found


def _script_fetches(script: str) -> list[str]:
    found = [f"script {m.group(0)!r}" for m in _SCRIPT_FETCHES.finditer(script)]
    found += [f"script URL {m.group(0)!r}" for m in re.finditer(r"https?:|[\"'`]//", script)]
    return found


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._inside: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            value = value or ""
            if name in ("srcset", "imagesrcset"):
                urls = [c.split()[0] for c in value.split(",") if c.split()]
            elif name == "ping":
                urls = value.split()
            elif name in _URL_ATTRIBUTES:
                urls = [value]
            else:
                urls = []
            self.found += [f"<{tag} {name}={u!r}>" for u in urls if not _allowed_url(u)]
            if name == "style":
                self.found += _css_fetches(value)
            if name.startswith("on"):
                self.found += _script_fetches(value)
            if name == "content" and re.search(r"url\s*=", value, re.I):  # meta refresh
                self.found.append(f"<{tag} content={value!r}>")
        if tag in ("link", "base", "iframe", "frame", "object", "embed", "applet", "portal"):
            self.found.append(f"<{tag}> element")
        self._inside = tag if tag in ("style", "script") else None

    def handle_endtag(self, tag: str) -> None:
        self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside == "style":
            self.found += _css_fetches(data)
        elif self._inside == "script":
            self.found += _script_fetches(data)


def network_references(page: str) -> list[str]:
    """Every fetch a browser could make while showing ``page`` (empty when self-contained)."""
    parser = _References()
    parser.feed(page)
    parser.close()
    return parser.found


class TestTheNetworkChecker:
    """The checker of test_self_contained finds each way a page can reach the network."""

    @pytest.mark.parametrize(
        "snippet",
        [
            "<style>@import url('https://fonts.googleapis.com/css2?family=Inter');</style>",
            '<style>@import "//fonts.googleapis.com/css2?family=Inter";</style>',
            "<style>@IMPORT 'local.css';</style>",
            "<style>@font-face{font-family:X;src:url(https://fonts.gstatic.com/x.woff2)}</style>",
            '<style>body{background:url("//cdn.example.com/bg.png")}</style>',
            "<style>h1{background-image:image-set('https://cdn.example.com/a.png' 1x)}</style>",
            '<p style="background: url(http://cdn.example.com/bg.png)">x</p>',
            '<img src="data:image/png;base64,AAAA" srcset="https://cdn.example.com/a.png 2x">',
            '<img srcset="data:image/png;base64,AAAA 1x, //cdn.example.com/b.png 2x">',
            '<img src="https://cdn.example.com/a.png">',
            '<img src="&#104;ttps://cdn.example.com/a.png">',
            '<img src="figure.png">',
            '<script src="//cdn.example.com/lib.js"></script>',
            '<a href="https://example.com">more</a>',
            '<link rel="stylesheet" href="data:text/css,">',
            '<video poster="http://cdn.example.com/p.png"></video>',
            '<meta http-equiv="refresh" content="0; url=https://example.com">',
            "<script>fetch('/api/hedge').then(r => r.json())</script>",
            "<script>var x = new XMLHttpRequest(); x.open('GET', 'data.json');</script>",
            "<script>navigator.sendBeacon('/log', 'x')</script>",
            "<script>document.images[0].src = 'https://cdn.example.com/a.png'</script>",
            "<script>import('https://cdn.example.com/m.js')</script>",
            '<img src="data:image/png;base64,AAAA" onload="fetch(\'/x\')">',
        ],
        # plain ids: the snippets hold characters a test id passed on a command line cannot
        ids=lambda snippet: "".join(c if c.isalnum() else "_" for c in snippet)[:48],
    )
    def test_each_kind_of_reference_is_found(self, snippet: str) -> None:
        page = f"<!DOCTYPE html><html><head></head><body>{snippet}</body></html>"
        assert network_references(page), snippet

    def test_embedded_content_and_text_pass(self, report: Path) -> None:
        assert network_references(report.read_text()) == []
        clean = (
            "<style>p{background:url('data:image/png;base64,ab//cd==')} /* https://x */</style>"
            '<p>see https://example.com in the text</p><img src="data:image/png;base64,a//b">'
            '<h2 id="top">x</h2><script>document.body.setAttribute("data-ready", "1");</script>'
        )
        assert network_references(clean) == []


def _chromium() -> str:
    """Path of a headless Chromium (installed by `make test` when it can be; never here).

    Missing: the test is skipped with a reason that says so in the summary (``-ra``), or
    fails when ``OPTIHEDGE_REQUIRE_CHROMIUM=1`` (a CI that must render the page).
    """
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = (
        "HEADLESS CHROMIUM MISSING: the HTML report was NOT rendered in a browser. Install "
        "it (as root: `make browser`, or `apt-get install -y chromium`) and run again."
    )
    if os.environ.get("OPTIHEDGE_REQUIRE_CHROMIUM") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _browser_flags(profile: Path, proxy: str = "127.0.0.1:9") -> list[str]:
    """Headless, no background services, a fresh profile and no network.

    Every host name resolves to nothing (localhost and the proxy's loopback address
    excepted) and every request goes to ``proxy``: by default a dead port; a local
    recorder (see ``_RequestTrap``) to see what the page asks for.
    """
    rules = "MAP * ~NOTFOUND , EXCLUDE localhost"
    if proxy != "127.0.0.1:9":
        rules += " , EXCLUDE 127.0.0.1"
    return [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-quic", f"--user-data-dir={profile}", f"--host-resolver-rules={rules}",
        f"--proxy-server={proxy}", "--proxy-bypass-list=<-loopback>",
    ]  # fmt: skip


class _RequestTrap:
    """A proxy on loopback that records each request's first line and answers nothing."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.server.getsockname()[1]}"
        self.requests: list[str] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2.0)
                try:
                    first = conn.recv(4096).split(b"\r\n", 1)[0]
                except OSError:
                    first = b"?"
                self.requests.append(first.decode("latin-1"))

    def hosts(self) -> set[str]:
        """Host of each request (``CONNECT host:443`` or ``GET http://host/...``)."""
        out = set()
        for line in self.requests:
            parts = line.split()
            target = parts[1] if len(parts) > 1 else line
            out.add(re.sub(r"^[a-z]+://", "", target).split("/")[0].rsplit(":", 1)[0])
        return out

    def close(self) -> None:
        self.server.close()
        self._thread.join(timeout=5)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    return RESULT.report(
        folder / "hedge.html", returns=DAILY, inputs={"data": "synthetic daily returns"}
    )


def _entries(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


class TestReport:
    def test_self_contained(self, report: Path) -> None:
        page = report.read_text()
        assert page.startswith("<!DOCTYPE html>")
        assert network_references(page) == []
        for section in (
            "Allocation",
            "Limits",
            "Greeks",
            "Where the risk comes from",
            "Stress windows",
        ):
            assert section in page
        assert html.escape(RESULT.explain().sentence) in page
        assert page.count("data:image/png;base64,") == 4

    def test_renders_in_headless_chromium(self, report: Path, tmp_path: Path) -> None:
        browser = _chromium()
        flags = _browser_flags(tmp_path / "profile")
        dom = subprocess.run(
            [browser, *flags, "--virtual-time-budget=5000", "--dump-dom", report.as_uri()],
            capture_output=True,
            timeout=120,
            check=True,
        ).stdout.decode()
        assert 'data-ready="1"' in dom
        allocation = re.search(r'<table[^>]*id="allocation".*?</table>', dom, re.S)
        assert allocation is not None
        for label in RESULT.weights.index:
            assert f"<th>{label}</th>" in allocation.group(0)
        figures = set(re.findall(r'<img[^>]*id="(fig-[^"]+)"', dom))
        assert len(figures) == 4
        rendered = {
            name: (int(w), int(h))
            for name, w, h in re.findall(r'id="(fig-[^"]+)"[^>]*data-rendered="(\d+)x(\d+)"', dom)
        }
        assert set(rendered) == figures, (rendered, figures)
        assert all(w > 0 and h > 0 for w, h in rendered.values())
        shot = tmp_path / "page.png"
        subprocess.run(
            [browser, *flags, "--window-size=1100,2000", f"--screenshot={shot}", report.as_uri()],
            capture_output=True,
            timeout=120,
            check=True,
        )
        assert shot.stat().st_size > 10_000

    def test_asks_chromium_for_nothing_over_the_network(self, report: Path, tmp_path: Path) -> None:
        # every request goes to a recorder on loopback; Chromium's own services (clock,
        # accounts: *.google.com) ask whatever the page is, so a blank page is the baseline
        browser = _chromium()
        trap = _RequestTrap()
        try:
            seen = {}
            for name, url in (("blank", "about:blank"), ("report", report.as_uri())):
                trap.requests.clear()
                subprocess.run(
                    [
                        browser,
                        *_browser_flags(tmp_path / f"profile-{name}", trap.address),
                        "--virtual-time-budget=3000",
                        "--dump-dom",
                        url,
                    ],
                    capture_output=True,
                    timeout=120,
                    check=True,
                )
                seen[name] = trap.hosts()
        finally:
            trap.close()
        own = {h for h in seen["blank"] | seen["report"] if h.endswith(".google.com")}
        assert seen["report"] - seen["blank"] - own == set(), trap.requests

    def test_a_path_that_cannot_be_written(self, tmp_path: Path) -> None:
        with pytest.raises(SpecificationError, match="does not exist"):
            RESULT.report(tmp_path / "missing" / "hedge.html")
        with pytest.raises(SpecificationError, match="is a directory"):
            RESULT.report(tmp_path)
        # these hold for root too (CI runs as root)
        plain = tmp_path / "plain.txt"
        plain.write_text("a file")
        with pytest.raises(SpecificationError, match="is a file, not a folder"):
            RESULT.report(plain / "hedge.html")
        assert _entries(tmp_path) == {"plain.txt": b"a file"}

    @pytest.mark.skipif(not Path("/proc/sys").is_dir(), reason="needs Linux's /proc")
    def test_a_folder_without_write_permission_even_for_root(self) -> None:
        # /proc/sys refuses new files to every user, root included: access(2) says so
        with pytest.raises(
            SpecificationError, match=r"'/proc/sys/hedge.html'.*no write permission"
        ):
            RESULT.report("/proc/sys/hedge.html")
        # /proc passes access(2) for root but refuses the file when it is created: the
        # file system's error arrives typed, naming the path
        with pytest.raises(SpecificationError, match=r"'/proc/hedge.html' cannot be written"):
            RESULT.report("/proc/hedge.html")
        assert not any(p.name.startswith(".hedge.html") for p in Path("/proc").iterdir())

    def test_no_write_permission_for_a_user(self, tmp_path: Path) -> None:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            if os.geteuid() == 0:
                # root writes there; the file system's refusal is the same error
                chattr = shutil.which("chattr")
                if (
                    chattr is None
                    or subprocess.run(
                        [chattr, "+i", str(locked)], capture_output=True, check=False
                    ).returncode
                ):
                    pytest.skip("root writes anywhere and chattr +i is not available here")
            with pytest.raises(SpecificationError, match="no write permission"):
                RESULT.report(locked / "hedge.html")
        finally:
            if os.geteuid() == 0 and shutil.which("chattr"):
                subprocess.run(["chattr", "-i", str(locked)], capture_output=True, check=False)
            locked.chmod(0o700)
        assert list(locked.iterdir()) == []


class TestAFailedWriteKeepsTheOldReport:
    """A failure while the page is written leaves the old page byte for byte, no debris."""

    OLD = b"<!DOCTYPE html><html><body>yesterday's report, complete</body></html>\n"

    def _target(self, tmp_path: Path) -> Path:
        target = tmp_path / "hedge.html"
        target.write_bytes(self.OLD)
        return target

    def test_failing_while_the_text_is_written(self, tmp_path: Path) -> None:
        # a note the encoder cannot write (a lone surrogate) fails inside the file write
        # itself, after the file was opened: written in place, the old page would be gone
        target = self._target(tmp_path)
        broken = dataclasses.replace(RESULT, notes=(*RESULT.notes, "half \ud800 a page"))
        with pytest.raises(UnicodeEncodeError):
            broken.report(target)
        assert _entries(tmp_path) == {"hedge.html": self.OLD}

    def test_a_figure_that_fails_to_render(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # the last figure fails: a writer that streams the page as it renders has written
        # most of it by then
        target = self._target(tmp_path)
        import optihedge.analysis.report as module

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("figure failed to render")

        monkeypatch.setattr(module, "effectiveness_bars", broken)
        with pytest.raises(RuntimeError, match="figure failed"):
            RESULT.report(target, returns=DAILY)
        assert _entries(tmp_path) == {"hedge.html": self.OLD}

    def test_the_file_system_refusing_the_rename(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # the whole page is written beside the target first; the rename fails: the
        # temporary page is removed and the error is typed
        target = self._target(tmp_path)
        import optihedge.analysis.report as module

        written: list[set[str]] = []

        def refuse(src: object, dst: object) -> None:
            written.append({p.name for p in tmp_path.iterdir()})
            assert target.read_bytes() == self.OLD  # not touched before the rename
            raise OSError(errno.EXDEV, "Invalid cross-device link")

        monkeypatch.setattr(module.os, "replace", refuse)
        with pytest.raises(SpecificationError, match="cannot be written: Invalid cross-device"):
            RESULT.report(target)
        monkeypatch.undo()
        assert len(written) == 1
        assert len(written[0]) == 2  # the target and its temporary
        assert _entries(tmp_path) == {"hedge.html": self.OLD}

    def test_a_successful_write_replaces_the_file_whole(self, tmp_path: Path) -> None:
        target = self._target(tmp_path)
        RESULT.report(target)
        entries = _entries(tmp_path)
        assert list(entries) == ["hedge.html"]
        assert entries["hedge.html"].startswith(b"<!DOCTYPE html>")
        assert entries["hedge.html"].rstrip().endswith(b"</html>")

    def test_a_failed_solve_writes_nothing(self, tmp_path: Path) -> None:
        target = self._target(tmp_path)
        failed = dataclasses.replace(RESULT, status="infeasible")
        with pytest.raises(SpecificationError, match="status 'infeasible'"):
            failed.report(target)
        assert _entries(tmp_path) == {"hedge.html": self.OLD}

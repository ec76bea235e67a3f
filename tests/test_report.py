"""Attribution of a hedge result, the policy sentence, return attribution, the HTML report.

Known answers: Maillard, Roncalli and Teiletche's (2010) four-asset example (volatilities
10/20/30/40%, correlations 0.8 between the first two and -0.5 between the last two):
their equally weighted and equal-risk-contribution portfolios' marginal risks,
contributions and volatilities to the printed precision. Identities: contributions sum
to the total; factor plus specific (plus non-linear) is the total; expected-shortfall
contributions sum to the scenario ES exactly and equal a finite-difference derivative
of it; the GLS factor returns equal statsmodels' WLS. The report renders in headless
Chromium with every figure.
"""

from __future__ import annotations

import dataclasses
import html
import os
import re
import shutil
import subprocess
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
BROWSER_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _chromium() -> str:
    """Path of a headless Chromium; installs Debian's package when missing and possible."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        pytest.skip(
            "headless Chromium is missing and cannot be installed here (needs root apt-get)"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (
        [apt, "install", "-y", "chromium"],
        [apt, "update"],
        [apt, "install", "-y", "chromium"],
    ):
        done = subprocess.run(command, capture_output=True, env=env, timeout=900, check=False)
        if command[-1] == "chromium" and done.returncode == 0:
            break
    found = shutil.which("chromium")
    if not found:
        pytest.skip(f"could not install Debian's chromium: {done.stderr.decode()[-300:]}")
    return found


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    return RESULT.report(
        folder / "hedge.html", returns=DAILY, inputs={"data": "synthetic daily returns"}
    )


class TestReport:
    def test_self_contained(self, report: Path) -> None:
        page = report.read_text()
        assert page.startswith("<!DOCTYPE html>")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
        assert "<link" not in page
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

    @pytest.mark.timeout(1800)  # may install Debian's chromium first
    def test_renders_in_headless_chromium(self, report: Path, tmp_path: Path) -> None:
        browser = _chromium()
        flags = [*BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
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

    def test_a_path_that_cannot_be_written(self, tmp_path: Path) -> None:
        with pytest.raises(SpecificationError, match="does not exist"):
            RESULT.report(tmp_path / "missing" / "hedge.html")
        with pytest.raises(SpecificationError, match="is a directory"):
            RESULT.report(tmp_path)
        if os.geteuid() != 0:  # root writes anywhere
            locked = tmp_path / "locked"
            locked.mkdir()
            locked.chmod(0o500)
            with pytest.raises(SpecificationError, match="no write permission"):
                RESULT.report(locked / "hedge.html")

    def test_an_existing_report_survives_a_failed_write(self, tmp_path: Path) -> None:
        target = tmp_path / "hedge.html"
        target.write_text("old")
        failed = dataclasses.replace(RESULT, status="infeasible")
        with pytest.raises(SpecificationError):
            failed.report(target)
        assert target.read_text() == "old"

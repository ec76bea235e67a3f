"""The data's frequency, detected where data enters and stated wherever time is used.

Issue 19 item 1 / issue 20 item 4: weekly data were labelled and annualised as daily
("4-day volatility" for four weeks, options decaying over 4 trading days, x 252). The
references are written here by hand: Black-Scholes from scipy's normal distribution,
annualisation by 52 and 12, volatilities from numpy.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import optihedge as oh
from factor_models import FactorModel, RiskModel, StatisticalFactorModel
from optihedge.calendar import Frequency
from optihedge.errors import DataError, SpecificationError


def _returns(
    freq: str, n: int, seed: int = 0, assets: tuple[str, ...] = ("A", "M")
) -> pd.DataFrame:
    """Plausible returns of ``assets`` on ``n`` dates of pandas frequency ``freq``."""
    rng = np.random.default_rng(seed)
    scale = {"B": 0.01, "W-FRI": 0.022, "ME": 0.045}[freq]
    dates = pd.date_range("2015-01-01", periods=n, freq=freq)
    m = rng.normal(0.0, scale, n)
    data = {"M": m}
    for a in assets:
        if a != "M":
            data[a] = 1.2 * m + rng.normal(0.0, 0.5 * scale, n)
    return pd.DataFrame(data, index=dates)[list(assets)]


# ------------------------------------------------------------ estimation layer
class TestRiskModelFrequency:
    def test_one_definition(self) -> None:
        import factor_models.frequency as fmf
        from optihedge import calendar

        assert calendar.Frequency is fmf.Frequency
        assert calendar.TRADING_DAYS is fmf.TRADING_DAYS
        assert calendar.infer_frequency is fmf.infer_frequency

    @pytest.mark.parametrize(
        ("freq", "expected"),
        [("B", Frequency.DAILY), ("W-FRI", Frequency.WEEKLY), ("ME", Frequency.MONTHLY)],
    )
    def test_factor_model_reads_the_dates(self, freq: str, expected: Frequency) -> None:
        r = _returns(freq, 120)
        model = FactorModel().fit(r[["A"]], r["M"]).risk_model_
        assert model.frequency is expected
        assert model.to_horizon(4).frequency is expected
        assert model.with_factor_assets(["M"]).frequency is expected
        pca = StatisticalFactorModel(n_components=1).fit(r).risk_model_
        assert pca.frequency is expected

    def test_explicit_frequency_wins(self) -> None:
        r = _returns("B", 80).reset_index(drop=True)  # no dates: daily unless stated
        assert FactorModel().fit(r[["A"]], r["M"]).risk_model_.frequency is Frequency.DAILY
        fitted = FactorModel(frequency="weekly").fit(r[["A"]], r["M"]).risk_model_
        assert fitted.frequency is Frequency.WEEKLY

    def test_bad_frequency_named(self) -> None:
        r = _returns("B", 80)
        with pytest.raises(SpecificationError, match=r"'frequency'.*'hourly'"):
            FactorModel(frequency="hourly").fit(r[["A"]], r["M"])
        with pytest.raises(SpecificationError, match=r"'frequency'.*'yearly'"):
            RiskModel.from_covariance(r.cov(), frequency="yearly")


# ------------------------------------------------------------------- scenarios
def _bs(
    kind: str, s: np.ndarray | float, k: float, t: float, r: float, q: float, v: float
) -> np.ndarray:
    """Black-Scholes-Merton, written out (scipy's normal CDF)."""
    s = np.asarray(s, dtype=np.float64)
    d1 = (np.log(s / k) + (r - q + 0.5 * v * v) * t) / (v * math.sqrt(t))
    d2 = d1 - v * math.sqrt(t)
    if kind == "put":
        return k * math.exp(-r * t) * norm.cdf(-d2) - s * math.exp(-q * t) * norm.cdf(-d1)
    return s * math.exp(-q * t) * norm.cdf(d1) - k * math.exp(-r * t) * norm.cdf(d2)


MARKET = oh.MarketState(
    spot={"M": 100.0}, volatility={"M": 0.2}, rate=0.03, dividend_yield={"M": 0.01}
)
FLAT = oh.pricing.VolatilityModel(beta=0.0, skew=0.0)


class TestScenarios:
    @pytest.mark.parametrize(
        ("freq", "h", "label", "adjective", "days", "expected"),
        [
            ("W-FRI", 13, "13 weeks", "13-week", 65, Frequency.WEEKLY),
            ("ME", 3, "3 months", "3-month", 63, Frequency.MONTHLY),
            ("B", 21, "21 trading days", "21-day", 21, Frequency.DAILY),
        ],
    )
    def test_horizon_in_periods_days_and_years(
        self, freq: str, h: int, label: str, adjective: str, days: int, expected: Frequency
    ) -> None:
        s = oh.Scenarios.historical(_returns(freq, 60), horizon=h)
        assert s.frequency is expected
        assert s.horizon == h
        assert s.horizon_label == label
        assert s.horizon_days == days
        assert s.horizon_years == pytest.approx(days / 252 if freq == "B" else 0.25, rel=1e-15)
        assert s.name == f"historical {adjective} paths"
        assert s.with_event("e", 0.5).frequency is expected
        boot = oh.Scenarios.bootstrap(_returns(freq, 60), 5, horizon=h, block=2)
        assert boot.frequency is expected
        assert boot.horizon_days == days

    def test_frequency_from_models_and_overrides(self) -> None:
        r = _returns("W-FRI", 80)
        model = FactorModel().fit(r[["A"]], r["M"]).risk_model_
        mc = oh.Scenarios.monte_carlo(model, 20, horizon=4, dof=None)
        assert mc.frequency is Frequency.WEEKLY
        assert mc.horizon_label == "4 weeks"
        assert oh.Scenarios.shock(model, {"A": -0.1}).frequency is Frequency.WEEKLY
        undated = r.reset_index(drop=True)
        assert oh.Scenarios.historical(undated, horizon=4).frequency is Frequency.DAILY
        stated = oh.Scenarios.historical(undated, horizon=4, frequency="weekly")
        assert stated.frequency is Frequency.WEEKLY
        assert stated.horizon_days == 20
        given = oh.Scenarios.from_returns(r)  # one row a week, horizon 1: read from the dates
        assert given.frequency is Frequency.WEEKLY
        assert oh.Scenarios.from_returns(r, horizon=4).frequency is Frequency.DAILY

    def test_quarterly_dates_refused(self) -> None:
        r = _returns("ME", 40)
        r.index = pd.date_range("2000-01-01", periods=40, freq="QE")
        with pytest.raises(
            DataError, match=r"'daily' are 9[0-9](\.\d+)? calendar days apart.*frequency="
        ):
            oh.Scenarios.historical(r, horizon=2)


# --------------------------------------------------------------------- options
class TestOptionDecay:
    @pytest.mark.parametrize(
        ("freq", "h", "expiry", "days"),
        [("W-FRI", 13, 130, 65), ("ME", 3, 126, 63), ("W-FRI", 4, 63, 20)],
    )
    def test_repriced_with_the_trading_days_left(
        self, freq: str, h: int, expiry: int, days: int
    ) -> None:
        s = oh.Scenarios.historical(_returns(freq, 80), horizon=h)
        assert s.horizon_days == days
        put = oh.Put(
            label="P",
            underlying="M",
            moneyness=0.95,
            expiry=expiry,
            implied_vol=0.2,
            vol_model=FLAT,
        )
        if expiry == 63:  # 63 trading days on weekly data: 12.6 weeks, past the horizon
            with pytest.warns(
                oh.errors.DataWarning, match=r"63 trading days \(12.6 weeks\).*60 or 65"
            ):
                got = put.scenario_returns(s, MARKET)
        else:
            got = put.scenario_returns(s, MARKET)
        move = s.returns["M"].to_numpy()
        v0 = _bs("put", 100.0, 95.0, expiry / 252, 0.03, 0.01, 0.2)
        vs = _bs("put", 100.0 * (1.0 + move), 95.0, (expiry - days) / 252, 0.03, 0.01, 0.2)
        np.testing.assert_allclose(got, (vs - v0) / 100.0, rtol=1e-12, atol=1e-15)

    def test_expiry_inside_the_horizon_pays_at_a_period_end(self) -> None:
        r = _returns("W-FRI", 40)
        s = oh.Scenarios.historical(r, horizon=13)
        put = oh.Put(
            label="P", underlying="M", moneyness=1.0, expiry=30, implied_vol=0.2, vol_model=FLAT
        )
        got = put.scenario_returns(s, MARKET)
        # expires after 6 weeks: the level after the first 6 weekly returns of each path
        m = r["M"].to_numpy()
        level = np.array([np.prod(1.0 + m[i : i + 6]) for i in range(len(r) - 12)]) * 100.0
        v0 = _bs("put", 100.0, 100.0, 30 / 252, 0.03, 0.01, 0.2)
        np.testing.assert_allclose(got, (np.maximum(100.0 - level, 0.0) - v0) / 100.0, rtol=1e-12)

    def test_spot_vol_beta_reads_trading_days(self) -> None:
        from optihedge.pricing.volatility import spot_vol_beta

        s = oh.Scenarios.historical(_returns("W-FRI", 60), horizon=13)
        model = oh.pricing.VolatilityModel(skew=0.0)
        put = oh.Put(
            label="P", underlying="M", moneyness=1.0, expiry=130, implied_vol=0.2, vol_model=model
        )
        move = s.returns["M"].to_numpy()
        sigma = np.maximum(0.2 + spot_vol_beta(65) * np.log1p(move), 0.01)
        v0 = _bs("put", 100.0, 100.0, 130 / 252, 0.03, 0.01, 0.2)
        vs = _bs("put", 100.0 * (1.0 + move), 100.0, 65 / 252, 0.03, 0.01, sigma)
        np.testing.assert_allclose(put.scenario_returns(s, MARKET), (vs - v0) / 100.0, rtol=1e-12)

    def test_expiry_shorter_than_a_period_refused(self) -> None:
        s = oh.Scenarios.historical(_returns("W-FRI", 40), horizon=13)
        put = oh.Put(label="P", underlying="M", expiry=3, implied_vol=0.2)
        with pytest.raises(
            SpecificationError,
            match=r"Put\('P'\) expires in 3 trading day\(s\), less than one week \(5 trading",
        ):
            put.scenario_returns(s, MARKET)
        monthly = oh.Scenarios.historical(_returns("ME", 40), horizon=3)
        with pytest.raises(SpecificationError, match=r"less than one month \(21 trading days\)"):
            oh.Put(label="P", underlying="M", expiry=10, implied_vol=0.2).scenario_returns(
                monthly, MARKET
            )

    def test_expiry_between_dates_inside_the_horizon_refused(self) -> None:
        s = oh.Scenarios.historical(_returns("W-FRI", 40), horizon=13)
        put = oh.Put(label="P", underlying="M", expiry=63, implied_vol=0.2)
        with pytest.raises(
            SpecificationError,
            match=r"63 trading days \(12.6 weeks\), inside the scenarios' 13 weeks.*60 or 65",
        ):
            put.scenario_returns(s, MARKET)

    def test_daily_scenarios_take_any_expiry(self) -> None:
        s = oh.Scenarios.historical(_returns("B", 80), horizon=21)
        put = oh.Put(
            label="P", underlying="M", moneyness=0.95, expiry=63, implied_vol=0.2, vol_model=FLAT
        )
        move = s.returns["M"].to_numpy()
        v0 = _bs("put", 100.0, 95.0, 63 / 252, 0.03, 0.01, 0.2)
        vs = _bs("put", 100.0 * (1.0 + move), 95.0, 42 / 252, 0.03, 0.01, 0.2)
        np.testing.assert_allclose(put.scenario_returns(s, MARKET), (vs - v0) / 100.0, rtol=1e-12)

    def test_inverse_etf_fee_over_the_horizon_in_years(self) -> None:
        r = _returns("W-FRI", 30)
        s = oh.Scenarios.historical(r, horizon=13)
        etf = oh.InverseETF(label="SH", underlying="M", expense_ratio=0.0088)
        m = r["M"].to_numpy()
        path = np.array([np.prod(1.0 - m[i : i + 13]) - 1.0 for i in range(len(r) - 12)])
        np.testing.assert_allclose(etf.scenario_returns(s), path - 0.0088 * 13 / 52, rtol=1e-12)


# --------------------------------------------------------------------- problems
def _weekly_problem(
    freq: str = "W-FRI", horizon: int | None = 13, carry: float = 0.01
) -> tuple[oh.HedgeProblem, RiskModel]:
    r = _returns(freq, 156, seed=3)
    model = FactorModel().fit(r[["A"]], r["M"]).risk_model_
    book = oh.Portfolio.from_holdings({"A": 1_000_000.0})
    future = oh.Future(label="F", underlying="M", carry=carry)
    problem = oh.HedgeProblem(
        book,
        [future],
        objective=oh.Variance() + oh.CarryCost(),
        risk_model=model,
        horizon=horizon,
        market="M",
    )
    return problem, model


class TestProblem:
    @pytest.mark.parametrize(
        ("freq", "h", "per_year", "adjective", "label", "days"),
        [
            ("W-FRI", 13, 52, "13-week", "13 weeks", 65),
            ("ME", 3, 12, "3-month", "3 months", 63),
        ],
    )
    def test_labelled_and_annualised_in_its_frequency(
        self, freq: str, h: int, per_year: int, adjective: str, label: str, days: int
    ) -> None:
        problem, model = _weekly_problem(freq, h)
        assert problem.frequency is model.frequency
        res = problem.solve()
        # closed form: min h*s2*(beta + x)^2 + spec + c*(h/per_year)*x (a short future earns c)
        beta = float(model.loadings.loc["A", "M"])
        s2 = float(model.factor_cov.loc["M", "M"])
        years = h / per_year
        x = -beta - 0.01 * years / (2.0 * h * s2)
        assert res.weights["F"] == pytest.approx(x, rel=1e-6)
        vol = math.sqrt(h * (s2 * (beta + x) ** 2 + float(model.specific_var["A"])))
        assert res.risk.loc["after", "volatility"] == pytest.approx(vol, rel=1e-6)
        assert res.frequency is model.frequency
        assert res.horizon_label == label
        assert f"{adjective} volatility" in res.summary()
        assert "-day" not in res.summary()
        ex = res.explain()
        assert f"for {label}," in ex.sentence
        assert ex.numbers["horizon_days"] == days
        assert ex.numbers["horizon_periods"] == h
        assert ex.numbers["frequency"] == str(model.frequency)
        assert res.risk.attrs["horizon"] == label
        assert res.risk.attrs["horizon_days"] == days
        assert res.attribution().attrs["units"] == f"fraction of capital over {label}"

    def test_default_horizon_is_21_trading_days_in_periods(self) -> None:
        assert _weekly_problem("W-FRI", None)[0].horizon == 4
        assert _weekly_problem("ME", None)[0].horizon == 1
        assert _weekly_problem("B", None)[0].horizon == 21

    def test_weekly_scenarios_with_a_daily_model_refused(self) -> None:
        weekly = _returns("W-FRI", 80)
        daily = _returns("B", 300)
        model = FactorModel().fit(daily[["A"]], daily["M"]).risk_model_
        book = oh.Portfolio.from_holdings({"A": 1_000_000.0})
        with pytest.raises(DataError, match=r"the scenarios are weekly data, the risk model daily"):
            oh.HedgeProblem(
                book,
                [oh.Future(label="F", underlying="M")],
                objective=oh.ExpectedShortfall(0.9),
                risk_model=model,
                scenarios=oh.Scenarios.historical(weekly, horizon=4),
                market="M",
            )

    def test_options_problem_on_weekly_scenarios(self, tmp_path: object) -> None:
        r = _returns("W-FRI", 120, seed=5)
        s = oh.Scenarios.historical(r, horizon=13)
        put = oh.Put(
            label="P", underlying="M", moneyness=0.95, expiry=130, implied_vol=0.2, vol_model=FLAT
        )
        problem = oh.HedgeProblem(
            oh.Portfolio.from_holdings({"A": 1_000_000.0}),
            [put, oh.Future(label="F", underlying="M")],
            objective=oh.ExpectedShortfall(0.9),
            scenarios=s,
            market_state=MARKET,
            market="M",
        )
        assert problem.horizon == 13
        assert problem.frequency is Frequency.WEEKLY
        res = problem.solve()
        assert "13-week volatility" in res.summary()
        # the put's scenario P&L is the hand-written repricing with 65 trading days left
        move = s.returns["M"].to_numpy()
        v0 = _bs("put", 100.0, 95.0, 130 / 252, 0.03, 0.01, 0.2)
        vs = _bs("put", 100.0 * (1.0 + move), 95.0, 65 / 252, 0.03, 0.01, 0.2)
        np.testing.assert_allclose(problem.data.scenario_pnl[:, 0], (vs - v0) / 100.0, rtol=1e-12)
        pnl = oh.scenario_pnl(problem.portfolio, problem.instruments, res.weights, s, MARKET)
        assert pnl.attrs["horizon"] == "13 weeks"
        assert pnl.attrs["horizon_days"] == 65


# ------------------------------------------------------------ annualisation
class TestAnnualisation:
    @pytest.mark.parametrize(("freq", "per_year"), [("B", 252), ("W-FRI", 52), ("ME", 12)])
    def test_ewma_volatility_reads_the_dates(self, freq: str, per_year: int) -> None:
        r = _returns(freq, 60)["A"]
        w = 0.5 ** (np.arange(59, -1, -1) / 21.0)
        by_hand = math.sqrt(per_year * float(w @ r.to_numpy() ** 2) / float(w.sum()))
        assert oh.pricing.ewma_volatility(r) == pytest.approx(by_hand, rel=1e-14)
        assert oh.pricing.ewma_volatility(r.to_numpy(), periods_per_year=per_year) == pytest.approx(
            by_hand, rel=1e-14
        )
        name = {"B": "daily", "W-FRI": "weekly", "ME": "monthly"}[freq]
        assert oh.pricing.ewma_volatility(r.to_numpy(), periods_per_year=name) == pytest.approx(
            by_hand, rel=1e-14
        )
        assert oh.pricing.volatility_proxy(r, ratio=1.0) == pytest.approx(by_hand, rel=1e-14)

    def test_quarterly_dates_need_a_stated_annualisation(self) -> None:
        r = pd.Series(
            [0.01, -0.02, 0.03, 0.01], index=pd.date_range("2020-01-01", periods=4, freq="QE")
        )
        with pytest.raises(
            DataError, match=r"9\d calendar days apart.*pass periods_per_year= \(a number"
        ):
            oh.pricing.ewma_volatility(r)
        assert oh.pricing.ewma_volatility(r, periods_per_year=4) > 0

    def test_ewma_bad_frequency_named(self) -> None:
        with pytest.raises(SpecificationError, match=r"'periods_per_year'.*'fortnightly'"):
            oh.pricing.ewma_volatility([0.01, 0.02, -0.01], periods_per_year="fortnightly")

    def test_hedge_quality_annualises_by_the_data(self) -> None:
        r = _returns("W-FRI", 120, seed=7)
        q = oh.diagnostics.hedge_quality(r["A"], r[["M"]], windows=(52,), stress_windows={})
        book_vol = float(r["A"].iloc[-52:].std()) * math.sqrt(52)
        assert q.windows.loc[("M", 52), "book_vol"] == pytest.approx(book_vol, rel=1e-12)
        resid = r["A"].iloc[-52:] - np.polyval(
            np.polyfit(r["M"].iloc[-52:], r["A"].iloc[-52:], 1), r["M"].iloc[-52:]
        )
        te = float(np.sqrt((resid**2).sum() / (52 - 2))) * math.sqrt(52)
        assert q.windows.loc[("M", 52), "tracking_error"] == pytest.approx(te, rel=1e-9)
        stated = oh.diagnostics.hedge_quality(
            r["A"], r[["M"]], windows=(52,), stress_windows={}, periods_per_year=252
        )
        assert stated.windows.loc[("M", 52), "book_vol"] == pytest.approx(
            book_vol * math.sqrt(252 / 52), rel=1e-12
        )


class TestReport:
    def test_report_and_figures_state_the_frequency(self, tmp_path: Path) -> None:
        import matplotlib.pyplot as plt

        from optihedge.analysis.figures import pnl_distribution

        res = _weekly_problem("W-FRI", 13)[0].solve()
        fig = pnl_distribution(res)
        try:
            assert fig.axes[0].get_xlabel() == "return over 13 weeks (fraction of capital)"
        finally:
            plt.close(fig)
        page = res.report(tmp_path / "weekly.html").read_text()
        assert "Hedge report: USD 1,000,000 book, 13 weeks" in page
        assert "13 weeks (weekly data)" in page
        assert "trading days" not in page.replace("65 trading days", "")

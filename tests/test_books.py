"""Short, market-neutral and factor-hedged books; what a result shows of the hedged book."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import optihedge as oh
from constraints import GrossExposure, ResidualBeta, WholeContracts
from optihedge.errors import DataError, MissingLabelsError


def one_factor_model(beta: float = 1.3) -> oh.RiskModel:
    loadings = pd.DataFrame({"MKT": [beta, 0.7]}, index=["S", "T"])
    factor_cov = pd.DataFrame([[2.5e-4]], index=["MKT"], columns=["MKT"])
    return oh.RiskModel(loadings, factor_cov, pd.Series([3e-4, 2e-4], index=["S", "T"]))


class TestInstrumentOnAFactor:
    def test_index_future_on_the_market_factor_is_minus_beta(self) -> None:
        # the book loads beta on MKT and carries specific risk the future cannot touch,
        # so the minimum-variance position in a pure-factor future is exactly -beta
        res = oh.HedgeProblem(
            oh.Portfolio.from_holdings({"S": 1e6}),
            [oh.Future(label="ESZ6", underlying="MKT", price=5000.0, multiplier=50.0)],
            objective=oh.Variance(),
            risk_model=one_factor_model(1.3),
            horizon=1,
            market="MKT",
        ).solve()
        assert res.weights["ESZ6"] == pytest.approx(-1.3, abs=1e-7)
        assert res.risk.loc["after", "beta"] == pytest.approx(0.0, abs=1e-7)
        assert res.exposures.loc["MKT", "after"] == pytest.approx(-1.3, abs=1e-7)
        assert res.factor_exposures.loc["MKT", "after"] == pytest.approx(0.0, abs=1e-7)
        assert res.risk.loc["after", "variance"] == pytest.approx(3e-4, rel=1e-6)

    def test_a_label_neither_asset_nor_factor_says_how_to_fix_it(self) -> None:
        with pytest.raises(MissingLabelsError, match="neither an asset .* nor a factor"):
            oh.HedgeProblem(
                oh.Portfolio.from_holdings({"S": 1e6}),
                [oh.Future(label="VX", underlying="VIX")],
                objective=oh.Variance(),
                risk_model=one_factor_model(),
            )


class TestShortBooks:
    def test_hull_airline_buys_heating_oil_futures(self) -> None:
        """Hull, Options, Futures and Other Derivatives, Example 3.3 (minimum variance hedge).

        An airline will buy 2,000,000 gallons of jet fuel in a month: it is short jet
        fuel. Monthly changes per gallon: sigma_S = 0.0263 (jet fuel), sigma_F = 0.0313
        (heating oil futures), rho = 0.928, so h* = 0.928 x 0.0263 / 0.0313 = 0.78 and the
        optimal number of 42,000-gallon contracts is 0.78 x 2,000,000 / 42,000 = 37.14,
        rounded to 37 (Hull prints 0.78 and 37). Prices are taken as 1 per gallon, so
        returns equal price changes.
        """
        s_s, s_f, rho = 0.0263, 0.0313, 0.928
        cov = pd.DataFrame(
            [[s_s**2, rho * s_s * s_f], [rho * s_s * s_f, s_f**2]],
            index=["JETFUEL", "HEATOIL"],
            columns=["JETFUEL", "HEATOIL"],
        )
        book = oh.Portfolio.from_holdings({"JETFUEL": -2_000_000.0}, capital=2_000_000.0)
        heating_oil = oh.Future(label="HOF7", underlying="HEATOIL", price=1.0, multiplier=42_000)

        def hedge(limits: list[object]) -> oh.HedgeResult:
            return oh.HedgeProblem(
                book,
                [heating_oil],
                objective=oh.Variance(),
                constraints=limits,  # type: ignore[arg-type]
                risk_model=oh.RiskModel.from_covariance(cov),
                horizon=1,
                market="HEATOIL",
            ).solve()

        h_star = rho * s_s / s_f
        assert round(h_star, 2) == 0.78
        exact = hedge([])
        assert exact.allocation.loc["HOF7", "units"] == pytest.approx(h_star * 2e6 / 42_000)
        assert exact.allocation.loc["HOF7", "units_rounded"] == 37
        # the summary states the amount offset as a magnitude; the betas give the side
        assert f"offsets USD {h_star * 2e6:,.0f} of exposure to HEATOIL" in exact.summary()
        # the book's beta to heating oil is -h*; the hedge takes it to 0
        assert "market beta of the book -0.78 -> 0.00" in exact.summary()
        assert "no limit binds" in exact.summary()
        whole = hedge([WholeContracts()])
        assert whole.allocation.loc["HOF7", "units"] == 37.0  # positive: buy futures
        assert whole.weights["HOF7"] == pytest.approx(37 * 42_000 / 2e6)

    def test_market_neutral_book_needs_its_capital(self) -> None:
        with pytest.raises(DataError, match=r"net value is 1.00 against a gross .* capital="):
            oh.Portfolio.from_holdings({"A": 1e6, "B": -999_999.0})
        book = oh.Portfolio.from_holdings({"A": 1e6, "B": -999_999.0}, capital=5e5)
        assert book.weights.to_dict() == pytest.approx({"A": 2.0, "B": -1.999998})
        assert book.value == pytest.approx(1.0)
        model = oh.RiskModel.from_covariance(
            pd.DataFrame(
                [[4e-4, 3e-4, 2e-4], [3e-4, 4e-4, 2e-4], [2e-4, 2e-4, 2e-4]],
                index=["A", "B", "IDX"],
                columns=["A", "B", "IDX"],
            )
        )
        res = oh.HedgeProblem(
            book,
            [oh.Future(label="ESZ6", underlying="IDX", price=5000.0, multiplier=50.0)],
            objective=oh.Variance(),
            risk_model=model,
            horizon=1,
            market="IDX",
        ).solve()
        # against a dense quadratic written by hand
        w = np.array([2.0, -1.999998, 0.0])
        x = cp.Variable()
        raw = cp.Problem(
            cp.Minimize(cp.quad_form(w + np.array([0, 0, 1.0]) * x, model.covariance().to_numpy()))
        )
        raw.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
        assert raw.status == cp.OPTIMAL
        assert res.weights["ESZ6"] == pytest.approx(float(x.value), abs=1e-9)
        assert abs(res.weights["ESZ6"]) < 1.0  # a sensible fraction of the stated capital
        assert res.capital == 5e5

    def test_direct_construction_validates(self) -> None:
        book = oh.Portfolio({"A": 1e6})  # type: ignore[arg-type]
        assert book.capital == 1e6
        with pytest.raises(DataError, match="'holdings' argument must be a Series or dict"):
            oh.Portfolio(3.0)  # type: ignore[arg-type]


class TestResultShowsTheHedgedBook:
    def test_risk_with_and_without_the_mean(self) -> None:
        model = one_factor_model()
        mu = pd.Series({"S": 0.01, "T": 0.004, "MKT": 0.006})
        res = oh.HedgeProblem(
            oh.Portfolio.from_holdings({"S": 6e5, "T": 4e5}),
            [oh.Future(label="ESZ6", underlying="MKT", price=5000.0, multiplier=50.0)],
            objective=oh.Variance(),
            risk_model=model,
            horizon=1,
            market="MKT",
            expected_returns=mu,
        ).solve()
        for row in ("before", "after"):
            r = res.risk.loc[row]
            m = float(res.exposures[row].reindex(mu.index).fillna(0.0) @ mu)
            assert r["mean"] == pytest.approx(m)
            z = norm.ppf(0.99)
            assert r["var_99"] == pytest.approx(z * r["volatility"])
            assert r["var_99_with_mean"] == pytest.approx(z * r["volatility"] - m)
            es = r["volatility"] * norm.pdf(z) / 0.01
            assert r["es_99_with_mean"] == pytest.approx(es - m)
        assert "with the expected returns' mean" in res.risk.attrs["normal_var_es"]

    def test_numbers_are_shown_as_they_can_be_traded(self) -> None:
        res = oh.HedgeProblem(
            oh.Portfolio.from_holdings({"S": 1e6}),
            [
                oh.Future(label="ESZ6", underlying="MKT", price=5000.0, multiplier=50.0),
                oh.ETF(label="XLE", underlying="T", price=90.0),
            ],
            objective=oh.Variance(),
            constraints=[GrossExposure(10.0), ResidualBeta(min=0.2)],
            risk_model=one_factor_model(),
            horizon=1,
            market="MKT",
        ).solve()
        # the ETF only adds specific risk that the pure-factor future does not: its
        # optimum is 0, and the solver's ~1e-10 is shown as exactly 0 (not -0.0)
        xle = res.weights["XLE"]
        assert xle == 0.0
        assert not np.signbit(xle)
        assert res.allocation.loc["XLE", "units_rounded"] == 0.0
        units = res.allocation["units_rounded"]
        assert (units == np.round(units)).all()
        table = res.constraints
        assert not table.loc["gross_exposure.max", "binding"]
        assert table.loc["gross_exposure.max", "shadow_price"] == 0.0
        assert table.loc["residual_beta.min", "binding"]
        assert table.loc["residual_beta.min", "shadow_price"] > 0.0
        assert "USD" in res.summary()

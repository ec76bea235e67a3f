"""HedgeProblem: closed forms, raw cvxpy by hand, the Rockafellar-Uryasev example,
properties, re-solves, whole contracts and errors."""

from __future__ import annotations

import itertools

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.covariance import EmpiricalCovariance

import optihedge as oh
from constraints import (
    Bounds,
    Budget,
    CarryBudget,
    ConstraintSpecificationError,
    ExpectedPnL,
    FactorExposure,
    GrossExposure,
    Liquidity,
    PremiumBudget,
    ResidualBeta,
    Turnover,
    WholeContracts,
)
from factor_models import EstimationDataError, FactorModel, RiskModel, RiskModelSet
from optihedge.errors import (
    InfeasibleError,
    MissingLabelsError,
    SpecificationError,
    UnboundedError,
)

TICKERS = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"]


@pytest.fixture(scope="module")
def market() -> dict[str, object]:
    rng = np.random.default_rng(42)
    n = 750
    dates = pd.bdate_range("2018-01-01", periods=n)
    spx = rng.normal(0.0004, 0.011, n)
    ndx = 1.15 * spx + rng.normal(0, 0.006, n)
    betas = np.array([0.6, 0.9, 1.1, 1.3, 1.5, 0.8])
    stocks = spx[:, None] * betas + rng.normal(0, 0.012, (n, 6))
    returns = pd.DataFrame(stocks, index=dates, columns=TICKERS)
    returns["SP500"], returns["NDX"] = spx, ndx
    cov = pd.DataFrame(
        EmpiricalCovariance().fit(returns).covariance_,
        index=returns.columns,
        columns=returns.columns,
    )
    model = RiskModel.from_covariance(cov)
    fm = FactorModel(windows=(250, 750)).fit(returns, returns[["SP500", "NDX"]])
    return {"returns": returns, "cov": cov, "model": model, "factor_models": fm.risk_models_}


def book(scale: float = 1.0) -> oh.Portfolio:
    return oh.Portfolio.from_holdings(
        {t: scale * v for t, v in zip(TICKERS, [2e5, 1.5e5, 1e5, 2.5e5, 1e5, 2e5], strict=True)}
    )


def instruments() -> list[oh.Instrument]:
    return [
        oh.Future(
            label="ES",
            underlying="SP500",
            price=4000.0,
            multiplier=50.0,
            carry=0.01,
            cost=0.0001,
            adv=5e9,
        ),
        oh.ETF(
            label="QQQ",
            underlying="NDX",
            price=350.0,
            expense_ratio=0.002,
            borrow_fee=0.005,
            cost=0.0002,
            adv=2e7,
        ),
        oh.InverseETF(
            label="SH",
            underlying="SP500",
            price=15.0,
            leverage=-1.0,
            expense_ratio=0.009,
            cost=0.0005,
            adv=5e6,
        ),
        oh.PositionReduction(label="sell EEE", holding="EEE", cost=0.0005),
    ]


def problem(
    market: dict[str, object], constraints: list[object] | None = None, **kwargs: object
) -> oh.HedgeProblem:
    # trading costs break the tie between ES and SH (both load on SP500 alone)
    args: dict[str, object] = {
        "objective": oh.Variance() + oh.TradingCost(),
        "constraints": constraints or [],
        "risk_model": market["model"],
        "horizon": 21,
        "market": "SP500",
    }
    portfolio = kwargs.pop("portfolio", book())
    args.update(kwargs)
    return oh.HedgeProblem(portfolio, instruments(), **args)  # type: ignore[arg-type]


class TestKnownAnswers:
    def test_one_instrument_is_minus_ols_beta(self, market: dict[str, object]) -> None:
        r = market["returns"]
        assert isinstance(r, pd.DataFrame)
        labels = ["book", "SP500"]
        bk = r[TICKERS].mean(axis=1)
        frame = pd.DataFrame({"book": bk, "SP500": r["SP500"]})
        cov = pd.DataFrame(
            EmpiricalCovariance().fit(frame).covariance_, index=labels, columns=labels
        )
        res = oh.HedgeProblem(
            oh.Portfolio.from_returns(bk, 1e6),
            [oh.Future(label="ES", underlying="SP500", price=4000.0, multiplier=50.0)],
            objective=oh.Variance(),
            risk_model=RiskModel.from_covariance(cov),
            horizon=1,
        ).solve()
        ols = sm.OLS(bk.to_numpy(), sm.add_constant(r["SP500"].to_numpy())).fit()
        assert res.weights["ES"] == pytest.approx(-ols.params[1], rel=1e-7)
        assert res.weights["ES"] == pytest.approx(
            -oh.min_variance_hedge_ratio(bk, r["SP500"]), rel=1e-7
        )

    def test_several_instruments_closed_form(self, market: dict[str, object]) -> None:
        cov = market["cov"]
        assert isinstance(cov, pd.DataFrame)
        res = problem(market, horizon=1, objective=oh.Variance()).solve()
        # z = w + E x; closed form for the unconstrained minimum:
        assets = list(cov.index)
        holdings = dict(zip(TICKERS, [2e5, 1.5e5, 1e5, 2.5e5, 1e5, 2e5], strict=True))
        w = np.array([holdings.get(a, 0.0) / 1e6 for a in assets])
        data = problem(market, horizon=1).data
        lo = data.attributes["lower"].to_numpy()
        # SH is long-only and the reduction is bounded: compare on ES and QQQ alone, each
        # 1 on its index
        e2 = np.zeros((len(assets), 2))
        e2[assets.index("SP500"), 0] = e2[assets.index("NDX"), 1] = 1.0
        sigma = cov.to_numpy()
        closed = -np.linalg.solve(e2.T @ sigma @ e2, e2.T @ sigma @ w)
        only_two = oh.HedgeProblem(
            book(),
            instruments()[:2],
            objective=oh.Variance(),
            risk_model=market["model"],
            horizon=1,
        ).solve()
        np.testing.assert_allclose(only_two.weights.to_numpy(), closed, rtol=1e-6)
        # the bounds the comparison relies on, from the instruments' own definitions: ES
        # and QQQ free, SH long only, the reduction sells at most the EEE holding
        # (1e5 of a 1e6 book) and never buys
        hi = data.attributes["upper"].to_numpy()
        np.testing.assert_array_equal(lo, [-np.inf, -np.inf, 0.0, -0.1])
        np.testing.assert_array_equal(hi, [np.inf, np.inf, np.inf, 0.0])
        assert res.weights["SH"] >= 0.0
        assert -0.1 - 1e-9 <= res.weights["sell EEE"] <= 1e-9
        assert res.risk.loc["after", "variance"] <= only_two.risk.loc["after", "variance"] + 1e-12

    def test_rockafellar_uryasev_minimum_variance(self) -> None:
        # Rockafellar & Uryasev (2000), three assets: S&P 500, government bonds, small
        # caps; minimum variance with mean return >= 0.011, fully invested, long only.
        # Published optimum: (0.452013, 0.115573, 0.432414).
        labels = ["CASH", "SP", "BOND", "SMALL"]
        mu = pd.Series([0.0, 0.0101110, 0.0043532, 0.0137058], index=labels)
        sigma = np.zeros((4, 4))
        sigma[1:, 1:] = [
            [0.00324625, 0.00022983, 0.00420395],
            [0.00022983, 0.00049937, 0.00019247],
            [0.00420395, 0.00019247, 0.00764097],
        ]
        model = RiskModel.from_covariance(pd.DataFrame(sigma, index=labels, columns=labels))
        assets = [oh.ETF(label=a, underlying=a) for a in labels[1:]]
        res = oh.HedgeProblem(
            oh.Portfolio.from_holdings({"CASH": 1.0}),
            assets,
            objective=oh.Variance(),
            constraints=[Budget(1.0), Bounds(lower=0.0), ExpectedPnL(0.011, mu)],
            risk_model=model,
            horizon=1,
            market="SP",
        ).solve()
        np.testing.assert_allclose(
            res.weights.to_numpy(), [0.452013, 0.115573, 0.432414], atol=5e-6
        )
        # by hand in raw cvxpy
        x = cp.Variable(3)
        raw = cp.Problem(
            cp.Minimize(cp.quad_form(x, sigma[1:, 1:])),
            [cp.sum(x) == 1, x >= 0, mu.to_numpy()[1:] @ x >= 0.011],
        )
        raw.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
        assert raw.status == cp.OPTIMAL
        np.testing.assert_allclose(res.weights.to_numpy(), x.value, atol=1e-8)
        assert res.objective_value == pytest.approx(raw.value, rel=1e-9)
        assert res.constraints.loc["expected_pnl.min", "binding"]

    @pytest.mark.parametrize(
        ("gross", "turnover", "beta", "participation", "carry"),
        [
            (0.5, 0.6, 0.3, 0.1, 0.004),  # gross and turnover bind
            (0.5, 0.4, 0.3, 0.02, 0.0),  # turnover and carry
            (0.5, 0.6, 0.5, 0.02, 0.001),  # residual beta and SH's liquidity
            (0.5, 0.6, 0.3, 0.05, 0.0),  # gross and carry
        ],
    )
    def test_constrained_problem_against_raw_cvxpy(
        self,
        market: dict[str, object],
        gross: float,
        turnover: float,
        beta: float,
        participation: float,
        carry: float,
    ) -> None:
        cons = [
            GrossExposure(gross),
            Turnover(turnover),
            ResidualBeta(min=beta),
            Liquidity(participation, days=1.0),
            CarryBudget(carry),
            Bounds(upper={"QQQ": 0.1}),
        ]
        current = pd.Series({"ES": -0.1})
        res = problem(market, cons, current=current, objective=oh.Variance()).solve()
        cov = market["cov"]
        assert isinstance(cov, pd.DataFrame)
        # every number below from the instruments' own fields (see instruments()) and
        # textbook formulas, none from the problem's attribute table
        capital = 1e6  # the book's value: 2 + 1.5 + 1 + 2.5 + 1 + 2 hundred thousand
        assets = list(cov.index)
        sigma = cov.to_numpy() * 21  # 21-day covariance of i.i.d. daily returns
        holdings = dict(zip(TICKERS, [2e5, 1.5e5, 1e5, 2.5e5, 1e5, 2e5], strict=True))
        w = np.array([holdings.get(a, 0.0) / capital for a in assets])
        # exposure per unit of notional: a future and an ETF 1 on their index, a -1x
        # inverse ETF -1 on its index, selling a holding 1 on that holding
        e = np.zeros((len(assets), 4))
        e[assets.index("SP500"), 0] = 1.0
        e[assets.index("NDX"), 1] = 1.0
        e[assets.index("SP500"), 2] = -1.0
        e[assets.index("EEE"), 3] = 1.0
        gross_weight = np.array([1.0, 1.0, 1.0, 0.0])  # a sale adds no gross exposure
        # annual carry per unit long (future's carry, the ETFs' expense ratios) and the
        # borrow fee on short notional (QQQ's only)
        carry_long = np.array([0.01, 0.002, 0.009, 0.0])
        borrow = np.array([0.0, 0.005, 0.0, 0.0])
        adv = np.array([5e9, 2e7, 5e6]) / capital  # the sale states no ADV: no cap
        # residual beta = cov(hedged book, SP500) / var(SP500), by asset
        m = assets.index("SP500")
        beta_per_asset = sigma[:, m] / sigma[m, m]
        x = cp.Variable(4)
        cur = np.array([-0.1, 0, 0, 0])
        raw = cp.Problem(
            cp.Minimize(cp.quad_form(w + e @ x, sigma)),
            [
                gross_weight @ cp.abs(x) <= gross,
                cp.sum(cp.abs(x - cur)) <= turnover,
                beta_per_asset @ (w + e @ x) >= beta,
                cp.abs(x[:3] - cur[:3]) <= participation * 1.0 * adv,
                carry_long @ x + borrow @ cp.neg(x) <= carry,
                x[1] <= 0.1,
                x[2] >= 0.0,  # the inverse ETF is held long
                x[3] >= -holdings["EEE"] / capital,  # sell at most the holding
                x[3] <= 0.0,  # and never buy
            ],
        )
        raw.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
        assert raw.status == cp.OPTIMAL
        # ES and SH load on SP500 alone, so only their net exposure is unique
        got = res.weights.to_numpy()
        np.testing.assert_allclose(e @ got, e @ x.value, atol=1e-7)
        # the split the problem chose meets every limit as written here by hand
        tol = 1e-9
        assert gross_weight @ np.abs(got) <= gross + tol
        assert np.abs(got - cur).sum() <= turnover + tol
        assert beta_per_asset @ (w + e @ got) >= beta - tol
        assert (np.abs(got[:3] - cur[:3]) <= participation * adv + tol).all()
        assert carry_long @ got + borrow @ np.maximum(-got, 0.0) <= carry + tol
        assert got[1] <= 0.1 + tol
        assert got[2] >= -tol
        assert -0.1 - tol <= got[3] <= tol
        assert res.risk.loc["after", "variance"] == pytest.approx(raw.value, rel=1e-7)
        assert res.risk.loc["after", "beta"] == pytest.approx(
            beta_per_asset @ (w + e @ x.value), abs=1e-7
        )


class TestResult:
    def test_allocation_units_and_risk(self, market: dict[str, object]) -> None:
        res = problem(market, [GrossExposure(0.8)]).solve()
        v = book().value
        alloc = res.allocation
        np.testing.assert_allclose(alloc["notional"], res.weights * v)
        assert alloc.loc["ES", "units"] == pytest.approx(res.weights["ES"] * v / (4000 * 50))
        assert alloc.loc["SH", "delta_notional"] == pytest.approx(-alloc.loc["SH", "notional"])
        assert res.risk.loc["after", "volatility"] < res.risk.loc["before", "volatility"]
        assert res.risk.loc["after", "es_95"] > res.risk.loc["after", "var_95"]
        assert res.risk.attrs["horizon_days"] == 21
        text = res.summary()
        removed = (res.risk.loc["before", "beta"] - res.risk.loc["after", "beta"]) * v
        assert text.startswith(f"The hedge offsets USD {removed:,.0f} of exposure to SP500")
        assert f"on USD {v:,.0f} of capital" in text
        carry = res.allocation["annual_carry"].sum()
        assert f"at a carry of USD {carry:,.0f} a year" in text

    def test_objective_equals_the_dense_variance(self, market: dict[str, object]) -> None:
        # the untouched holdings' specific risk enters as a constant: the objective must
        # still equal (w + E x)' Sigma (w + E x) computed densely
        res = problem(market, [GrossExposure(0.5)], objective=oh.Variance()).solve()
        assert res.objective_value == pytest.approx(res.risk.loc["after", "variance"], rel=1e-9)

    def test_problem_size_does_not_grow_with_holdings(self) -> None:
        def size(n_holdings: int) -> int:
            rng = np.random.default_rng(0)
            assets = [f"S{i}" for i in range(n_holdings)] + ["IDX"]
            b = pd.DataFrame(
                rng.normal(1.0, 0.2, (len(assets), 2)), index=assets, columns=["m", "v"]
            )
            f = pd.DataFrame([[1e-4, 0.0], [0.0, 4e-5]], index=["m", "v"], columns=["m", "v"])
            rm = RiskModel(b, f, pd.Series(1e-4, index=assets))
            pf = oh.Portfolio.from_holdings(pd.Series(1.0, index=assets[:-1]))
            p = oh.HedgeProblem(
                pf,
                [oh.ETF(label="E", underlying="IDX")],
                objective=oh.Variance(),
                risk_model=rm,
                market="m",
            )
            p.solve()
            return int(p.cvxpy_problem.size_metrics.num_scalar_data)

        assert size(2000) == size(20)

    def test_shadow_price_is_the_value_of_relaxing(self, market: dict[str, object]) -> None:
        p = problem(market, [GrossExposure(0.3)])
        base = p.solve()
        assert base.constraints.loc["gross_exposure.max", "binding"]
        tight = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}

        def optimum(cap: float) -> float:
            fresh = problem(market, [GrossExposure(cap)]).solve(solver="CLARABEL", **tight)
            assert fresh.status == "optimal", fresh.notes
            return fresh.objective_value

        # the optimum's slope on the relaxing side: the difference quotients at steps h and
        # h/2, extrapolated to a zero step (Richardson: the optimum is piecewise quadratic
        # in the cap, so each quotient is linear in the step)
        h, at = 1e-6, optimum(0.3)
        coarse = (at - optimum(0.3 + h)) / h
        fine = (at - optimum(0.3 + h / 2)) / (h / 2)
        slope = 2.0 * fine - coarse
        assert base.constraints.loc["gross_exposure.max", "shadow_price"] == pytest.approx(
            slope, rel=1e-6
        )


class TestProperties:
    @settings(max_examples=15, deadline=None)
    @given(
        gross=st.floats(0.05, 1.0),
        turnover=st.floats(0.05, 1.0),
        beta_min=st.floats(0.0, 0.6),
        part=st.floats(0.01, 0.5),
    )
    def test_every_constraint_holds(
        self, market: dict[str, object], gross: float, turnover: float, beta_min: float, part: float
    ) -> None:
        cons = [
            GrossExposure(gross),
            Turnover(turnover),
            ResidualBeta(min=beta_min),
            Liquidity(part),
        ]
        try:
            res = problem(market, cons).solve()
        except InfeasibleError:
            return
        table = res.constraints
        assert (table["slack"] >= -1e-7).all(), table

    def test_permuting_instruments_permutes_the_answer(self, market: dict[str, object]) -> None:
        cons = [GrossExposure(0.6), Liquidity(0.2)]
        a = problem(market, cons).solve().weights
        rev = (
            oh.HedgeProblem(
                book(),
                instruments()[::-1],
                objective=oh.Variance() + oh.TradingCost(),
                constraints=[GrossExposure(0.6), Liquidity(0.2)],
                risk_model=market["model"],
                market="SP500",
            )
            .solve()
            .weights
        )
        pd.testing.assert_series_equal(a, rev.reindex(a.index), atol=1e-7)

    @pytest.mark.parametrize("scale", [0.01, 3.0, 250.0])
    def test_scaling_the_book_scales_the_hedge(
        self, market: dict[str, object], scale: float
    ) -> None:
        base = problem(market, [GrossExposure(0.5)]).solve()
        big = problem(market, [GrossExposure(0.5)], portfolio=book(scale)).solve()
        np.testing.assert_allclose(big.weights, base.weights, atol=1e-7)
        np.testing.assert_allclose(
            big.allocation["notional"],
            scale * base.allocation["notional"],
            rtol=1e-5,
            atol=1e-3 * scale,
        )

    def test_non_binding_constraint_changes_nothing(self, market: dict[str, object]) -> None:
        a = problem(market, [GrossExposure(0.4)]).solve()
        b = problem(market, [GrossExposure(0.4), Turnover(5.0), PremiumBudget(1.0)]).solve()
        np.testing.assert_allclose(a.weights, b.weights, atol=1e-7)
        assert not b.constraints.loc["turnover.max", "binding"]

    @pytest.mark.parametrize(
        "params",
        [
            {"gross_exposure.max": 0.2},
            {"residual_beta.min": 0.5},
            {"turnover.max": 0.15, "liquidity.days": 0.5},
        ],
    )
    def test_resolve_equals_fresh_build(
        self, market: dict[str, object], params: dict[str, float]
    ) -> None:
        def cons(v: dict[str, float]) -> list[object]:
            return [
                GrossExposure(v.get("gross_exposure.max", 0.7)),
                ResidualBeta(min=v.get("residual_beta.min", 0.1)),
                Turnover(v.get("turnover.max", 0.8)),
                Liquidity(0.3, days=v.get("liquidity.days", 1.0)),
            ]

        p = problem(market, cons({}))
        p.solve()
        resolved = p.solve(params)
        fresh = problem(market, cons(params)).solve()
        np.testing.assert_allclose(resolved.weights, fresh.weights, atol=1e-7)
        assert p.cvxpy_problem.is_dpp()

    def test_resolve_with_new_current_and_risk_model(self, market: dict[str, object]) -> None:
        models = market["factor_models"]
        assert isinstance(models, RiskModelSet)
        p = oh.HedgeProblem(
            book(),
            instruments(),
            objective=oh.Variance(),
            constraints=[Turnover(0.2)],
            risk_model=models[750],
        )
        p.solve()
        current = pd.Series({"ES": -0.3, "QQQ": 0.05})
        again = p.solve(current=current, risk_model=models[250])
        fresh = oh.HedgeProblem(
            book(),
            instruments(),
            objective=oh.Variance(),
            constraints=[Turnover(0.2)],
            risk_model=models[250],
            current=current,
        ).solve()
        np.testing.assert_allclose(again.weights, fresh.weights, atol=1e-7)

    def test_robust_with_one_window_equals_variance(self, market: dict[str, object]) -> None:
        models = market["factor_models"]
        assert isinstance(models, RiskModelSet)
        one = RiskModelSet({250: models[250]})
        robust = oh.HedgeProblem(
            book(),
            instruments(),
            objective=oh.RobustVariance(),
            constraints=[GrossExposure(0.6)],
            risk_model=one,
        ).solve()
        plain_p = oh.HedgeProblem(
            book(),
            instruments(),
            objective=oh.Variance(),
            constraints=[GrossExposure(0.6)],
            risk_model=models[250],
        )
        plain = plain_p.solve()
        e = plain_p.data.exposures.to_numpy()  # ES and SH tie: compare net exposures
        # the epigraph form meets the optimum's value to ~1e-9; positions of a quadratic
        # optimum are then determined to about the square root of that
        assert robust.objective_value == pytest.approx(plain.objective_value, rel=1e-7)
        np.testing.assert_allclose(e @ robust.weights, e @ plain.weights, atol=2e-5)

    def test_robust_minimises_the_worst_window(self, market: dict[str, object]) -> None:
        models = market["factor_models"]
        assert isinstance(models, RiskModelSet)
        robust = oh.HedgeProblem(
            book(), instruments(), objective=oh.RobustVariance(), risk_model=models
        ).solve()
        # the book and the instruments by hand (as in the constrained raw test): ES and
        # QQQ 1 on their index, SH -1 on SP500 and held long, the sale 1 on EEE within
        # [-0.1, 0]. ES and SH tie (a flat direction an interior-point solver converges
        # along slowly): the reference holds their net exposure to SP500, which ES alone
        # can take, so SH's bound removes nothing
        covs = [m.covariance() * 21 for m in models.values()]
        assets = list(covs[0].index)
        holdings = dict(zip(TICKERS, [2e5, 1.5e5, 1e5, 2.5e5, 1e5, 2e5], strict=True))
        w = np.array([holdings.get(a, 0.0) / 1e6 for a in assets])
        e = np.zeros((len(assets), 3))  # net SP500, QQQ, the sale of EEE
        e[assets.index("SP500"), 0] = 1.0
        e[assets.index("NDX"), 1] = 1.0
        e[assets.index("EEE"), 2] = 1.0
        # scaled by the unhedged book's worst variance (~5e-4), so the tolerances below
        # are relative (at 1e-12 Clarabel stops at "inaccurate" on the same value)
        scale = max(float(w @ c.loc[assets, assets].to_numpy() @ w) for c in covs)
        x = cp.Variable(3)
        worst = cp.maximum(
            *[cp.quad_form(w + e @ x, c.loc[assets, assets].to_numpy() / scale) for c in covs]
        )
        raw = cp.Problem(cp.Minimize(worst), [x[2] >= -0.1, x[2] <= 0.0])
        raw.solve(solver="CLARABEL", tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)
        assert raw.status == cp.OPTIMAL
        # the epigraph form meets the optimum's value to ~1e-8 (it is 6e-9 off here); the
        # positions of the minimum of a maximum are determined to about its square root
        assert robust.objective_value == pytest.approx(raw.value * scale, rel=1e-7)
        got = robust.weights
        net = np.array([got["ES"] - got["SH"], got["QQQ"], got["sell EEE"]])
        np.testing.assert_allclose(net, x.value, atol=1e-4)


class TestCosts:
    def test_trading_cost_and_carry_shrink_the_hedge(self, market: dict[str, object]) -> None:
        plain = problem(market).solve()
        costly = problem(market, objective=oh.Variance() + 50.0 * oh.CarryCost()).solve()
        assert costly.allocation["annual_carry"].sum() < plain.allocation["annual_carry"].sum()

    def test_term_algebra(self) -> None:
        total = oh.Variance() + 0.5 * oh.TradingCost()
        assert "TradingCost(weight=0.5)" in repr(total)
        with pytest.raises(SpecificationError, match="not supported yet"):
            _ = oh.TradingCost() <= 0.01


class TestWholeContracts:
    @pytest.mark.parametrize("method", ["exact", "rounding"])
    def test_against_brute_force(self, market: dict[str, object], method: str) -> None:
        cov = market["cov"]
        assert isinstance(cov, pd.DataFrame)
        small = oh.Portfolio.from_holdings({"DDD": 6e6, "EEE": 3e6})
        futs = [
            oh.Future(label="ES", underlying="SP500", price=4000.0, multiplier=50.0),
            oh.Future(label="NQ", underlying="NDX", price=15000.0, multiplier=20.0),
        ]
        res = oh.HedgeProblem(
            small,
            futs,
            objective=oh.Variance(),
            constraints=[WholeContracts(method=method)],
            risk_model=market["model"],
            horizon=1,
        ).solve()
        sigma = cov.to_numpy()
        w = small.weights.reindex(cov.index).fillna(0.0).to_numpy()
        e = np.zeros((len(cov), 2))
        e[cov.index.get_loc("SP500"), 0] = e[cov.index.get_loc("NDX"), 1] = 1.0
        cv = np.array([4000 * 50, 15000 * 20]) / 9e6
        grid = itertools.product(range(-150, 1), range(-60, 61))
        best = min(
            grid,
            key=lambda k: float(
                (w + e @ (cv * np.array(k))) @ sigma @ (w + e @ (cv * np.array(k)))
            ),
        )
        np.testing.assert_allclose(res.allocation["units"].to_numpy(), best, atol=1e-6)

    def test_exact_solution_prices_its_limits(self, market: dict[str, object]) -> None:
        futs = [
            oh.Future(label="ES", underlying="SP500", price=4000.0, multiplier=50.0),
            oh.ETF(label="QQQ", underlying="NDX", price=350.0),
        ]
        p = oh.HedgeProblem(
            book(20.0),
            futs,
            objective=oh.Variance(),
            constraints=[WholeContracts(["ES"], method="exact"), ResidualBeta(min=0.4)],
            risk_model=market["model"],
            market="SP500",
        )
        res = p.solve()
        units = res.allocation.loc["ES", "units"]
        assert units == pytest.approx(round(units), abs=1e-6)
        row = res.constraints.loc["residual_beta.min"]
        assert row["binding"]
        assert np.isfinite(row["shadow_price"])
        assert row["shadow_price"] > 0


class TestErrors:
    def test_underlying_missing_from_risk_model(self, market: dict[str, object]) -> None:
        bad = [oh.Future(label="VX", underlying="VIX", price=20.0, multiplier=1000.0)]
        with pytest.raises(MissingLabelsError, match=r"Future\('VX'\) has underlying 'VIX'"):
            oh.HedgeProblem(book(), bad, objective=oh.Variance(), risk_model=market["model"])

    def test_holding_missing_from_risk_model(self, market: dict[str, object]) -> None:
        with pytest.raises(MissingLabelsError, match=r"holds \['ZZZ'\]"):
            oh.HedgeProblem(
                oh.Portfolio.from_holdings({"ZZZ": 1.0}),
                instruments(),
                objective=oh.Variance(),
                risk_model=market["model"],
            )

    def test_unknown_labels_in_constraints(self, market: dict[str, object]) -> None:
        with pytest.raises(MissingLabelsError, match=r"lacks: \['XYZ'\]"):
            problem(market, [Bounds(upper={"XYZ": 0.1})])
        with pytest.raises(MissingLabelsError, match="Unknown factor 'MOM'"):
            problem(market, [FactorExposure("MOM", max=0.1)])
        with pytest.raises(MissingLabelsError, match="'current' argument names instruments"):
            problem(market, current=pd.Series({"nope": 0.1}))

    @pytest.mark.parametrize(
        ("make", "name"),
        [
            (lambda: GrossExposure(-0.1), "'max' parameter of GrossExposure"),
            (lambda: Turnover(float("nan")), "'max' parameter of Turnover"),
            (lambda: Liquidity(0.1, days=-1), "'days' parameter of Liquidity"),
            (lambda: ResidualBeta(min=0.5, max=0.2), "'min' parameter of ResidualBeta"),
            (lambda: CarryBudget("x"), "'max' parameter of CarryBudget"),
        ],
    )
    def test_bad_limits(self, make: object, name: str) -> None:
        with pytest.raises(ConstraintSpecificationError, match=name):
            make()  # type: ignore[operator]

    def test_infeasible_names_the_conflict_only(self, market: dict[str, object]) -> None:
        cons = [Turnover(2.0), ResidualBeta(max=0.0), GrossExposure(0.05), Liquidity(0.5)]
        with pytest.raises(InfeasibleError) as info:
            problem(market, cons).solve()
        msg = str(info.value)
        assert "ResidualBeta(max=0.0) with GrossExposure(max=0.05)" in msg
        assert "Turnover" not in msg
        assert "Relax one of them" in msg

    def test_unbounded(self, market: dict[str, object]) -> None:
        free = [
            oh.Future(label="ES", underlying="SP500", price=4000.0, multiplier=50.0, carry=0.02)
        ]
        with pytest.raises(UnboundedError, match="unbounded"):
            oh.HedgeProblem(
                book(), free, objective=oh.CarryCost(), risk_model=market["model"]
            ).solve()

    def test_unknown_parameter(self, market: dict[str, object]) -> None:
        p = problem(market, [GrossExposure(0.5), Turnover(1.0)])
        with pytest.raises(
            SpecificationError, match=r"Unknown parameter key\(s\) \['gross.max'\]"
        ) as info:
            p.solve({"turnover.max": 0.2, "gross.max": 0.1})
        # the message lists the valid keys, and the valid key given beside it was not applied
        assert "'gross_exposure.max'" in str(info.value)
        assert p.parameters.loc["turnover.max", "value"] == 1.0

    def test_duplicate_parameter_names(self, market: dict[str, object]) -> None:
        with pytest.raises(SpecificationError, match="'turnover.max' is defined by both"):
            problem(market, [Turnover(0.1), Turnover(0.2)])

    def test_not_psd_covariance_is_refused(self) -> None:
        labels = ["a", "b"]
        cov = pd.DataFrame([[1.0, 2.0], [2.0, 1.0]], index=labels, columns=labels)
        with pytest.raises(EstimationDataError, match="positive semi-definite"):
            RiskModel.from_covariance(cov)

    def test_every_constraint_builds_dpp(self, market: dict[str, object]) -> None:
        mu = pd.Series(0.001, index=market["cov"].index)  # type: ignore[attr-defined]
        cons = [
            GrossExposure(0.9),
            Turnover(1.0),
            Liquidity(0.5),
            Liquidity(0.5, on="positions"),
            PremiumBudget(0.01),
            CarryBudget(0.01),
            ResidualBeta(min=-1.0, max=2.0),
            FactorExposure("NDX", max=1.0),
            Bounds(lower=-1.0, upper=1.0),
            ExpectedPnL(-1.0, mu),
        ]
        p = problem(market, cons)
        # the two liquidity modes have distinct keys
        assert {"liquidity.days", "liquidity_positions.days"} <= set(p.parameters.index)
        assert p.cvxpy_problem.is_dpp()
        assert p.solve().status == "optimal"

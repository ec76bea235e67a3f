"""ExpectedShortfall: normal known answer, Rockafellar-Uryasev, active set == plain LP."""

from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from cases import fat_tailed as random_problem
from hypothesis import given, settings
from hypothesis import strategies as st

import optihedge as oh
from constraints import Bounds, Budget, ExpectedPnL, GrossExposure, ResidualBeta, WholeContracts
from optihedge.errors import DataError, MissingLabelsError, SpecificationError
from optihedge.measures.risk import parametric_es
from optihedge.optimize.shortfall import ExpectedShortfall
from optihedge.scenarios import Scenarios


def normal_book(n: int, beta: float, seed: int) -> tuple[Scenarios, oh.Portfolio]:
    rng = np.random.default_rng(seed)
    idx = rng.normal(0.0, 0.05, n)
    book = beta * idx + rng.normal(0.0, 0.03, n)
    s = Scenarios.from_returns(pd.DataFrame({"book": book, "IDX": idx}))
    return s, oh.Portfolio.from_holdings({"book": 1e6})


def es_problem(
    s: Scenarios, pf: oh.Portfolio, instruments: list[oh.Instrument], **kwargs: object
) -> oh.HedgeProblem:
    args: dict[str, object] = {
        "objective": ExpectedShortfall(0.95),
        "scenarios": s,
        "horizon": s.horizon,
        "market": "IDX",
    }
    args.update(kwargs)
    return oh.HedgeProblem(pf, instruments, **args)  # type: ignore[arg-type]


FUT = [oh.Future(label="F", underlying="IDX", price=4000.0, multiplier=50.0)]


class TestKnownAnswers:
    def test_jointly_normal_hedge_is_minus_beta(self) -> None:
        # For jointly normal zero-mean returns ES is proportional to volatility, so the
        # ES-optimal hedge is the minimum-variance one, -beta. Over seeds the sample
        # optimum scatters by about 0.005 around -0.8 at n = 100,000; allow 0.02.
        s, pf = normal_book(100_000, 0.8, seed=11)
        res = es_problem(s, pf, FUT).solve()
        assert res.weights["F"] == pytest.approx(-0.8, abs=0.02)

    def test_rockafellar_uryasev_three_assets(self) -> None:
        # Rockafellar & Uryasev (2000): with normal returns the minimum-CVaR portfolio
        # (mean >= 0.011, fully invested, long only) is the minimum-variance one,
        # (0.452013, 0.115573, 0.432414); their sampled solutions approach it as the
        # sample grows. Its CVaR at 0.95 is -0.011 + sigma phi(z)/(1 - 0.95).
        mu = np.array([0.0101110, 0.0043532, 0.0137058])
        cov = np.array(
            [
                [0.00324625, 0.00022983, 0.00420395],
                [0.00022983, 0.00049937, 0.00019247],
                [0.00420395, 0.00019247, 0.00764097],
            ]
        )
        rng = np.random.default_rng(2000)
        draws = rng.multivariate_normal(mu, cov, 100_000)
        labels = ["SP", "BOND", "SMALL"]
        frame = pd.DataFrame(draws, columns=labels)
        frame["CASH"] = 0.0
        s = Scenarios.from_returns(frame)
        res = oh.HedgeProblem(
            oh.Portfolio.from_holdings({"CASH": 1.0}),
            [oh.ETF(label=a, underlying=a) for a in labels],
            objective=ExpectedShortfall(0.95),
            scenarios=s,
            horizon=1,
            market="SP",
            constraints=[
                Budget(1.0),
                Bounds(lower=0.0),
                ExpectedPnL(0.011, pd.Series([*mu, 0.0], index=[*labels, "CASH"])),
            ],
        ).solve()
        np.testing.assert_allclose(
            res.weights.to_numpy(), [0.452013, 0.115573, 0.432414], atol=0.03
        )
        w = np.array([0.452013, 0.115573, 0.432414])
        analytic = parametric_es(0.011, float(np.sqrt(w @ cov @ w)), 0.95)
        assert res.objective_value == pytest.approx(analytic, rel=0.02)


# Clarabel's default gap (1e-8) is the size of the comparison: solve both tighter so that a
# difference at 1e-8 would be the method's, not the solver's
TIGHT = {"tol_gap_rel": 1e-11, "tol_gap_abs": 1e-12, "tol_feas": 1e-11}


class TestActiveSetIsExact:
    @settings(max_examples=12, deadline=None)
    @given(
        seed=st.integers(0, 10_000),
        n_scen=st.integers(300, 3_000),
        n_inst=st.integers(1, 6),
        alpha=st.sampled_from([0.9, 0.95, 0.975]),
        gross=st.floats(0.2, 3.0),
    )
    def test_equals_plain_lp(
        self, seed: int, n_scen: int, n_inst: int, alpha: float, gross: float
    ) -> None:
        s, pf, inst = random_problem(seed, n_scen, n_inst)
        results = [
            oh.HedgeProblem(
                pf,
                inst,
                objective=ExpectedShortfall(alpha, method=m),
                constraints=[GrossExposure(gross)],
                scenarios=s,
                horizon=1,
                market="U0",
            ).solve(**TIGHT)
            for m in ("active_set", "lp")
        ]
        fast, plain = results
        assert fast.objective_value == pytest.approx(plain.objective_value, rel=1e-8)

    def test_matches_raw_cvxpy_lp(self) -> None:
        s, pf, inst = random_problem(5, 2_000, 4)
        res = oh.HedgeProblem(
            pf, inst, objective=ExpectedShortfall(0.95), scenarios=s, horizon=1, market="U0"
        ).solve()
        book = s.returns["book"].to_numpy()
        g = s.returns[[f"U{i}" for i in range(4)]].to_numpy()
        x, zeta = cp.Variable(4), cp.Variable()
        loss = -(book + g @ x)
        raw = cp.Problem(cp.Minimize(zeta + cp.sum(cp.pos(loss - zeta)) / (0.05 * 2_000)))
        with warnings.catch_warnings():
            # cvxpy's own bound propagation multiplies 0 by an infinite bound while compiling
            warnings.simplefilter("ignore", RuntimeWarning)
            raw.solve(solver="HIGHS")  # an LP: HiGHS's simplex answer is a vertex, exact
        assert raw.status == cp.OPTIMAL
        assert res.objective_value == pytest.approx(raw.value, rel=1e-9)

    @pytest.mark.parametrize(
        ("capacity", "rebuilds", "slots"),
        [
            (410, 1, (411, 820)),  # outgrown: what it needed plus 10%, not a doubling
            (300, 1, (600, 900)),  # below the tail and unbounded on its slots: grows
            (None, 0, (800, 1000)),  # the default leaves room: no rebuild
        ],
    )
    def test_capacity_growth_recompiles_and_stays_exact(
        self, capacity: int | None, rebuilds: int, slots: tuple[int, int]
    ) -> None:
        s, pf, inst = random_problem(9, 4_000, 3)  # a 400-scenario tail at alpha 0.9

        def solve(objective: ExpectedShortfall) -> oh.HedgeResult:
            return oh.HedgeProblem(
                pf, inst, objective=objective, scenarios=s, horizon=1, market="U0"
            ).solve(**TIGHT)

        got = solve(ExpectedShortfall(0.9, capacity=capacity, method="active_set"))
        plain = solve(ExpectedShortfall(0.9, method="lp"))
        assert got.objective_value == pytest.approx(plain.objective_value, rel=1e-9)
        assert got.solver_stats["rebuilds"] == rebuilds
        assert slots[0] <= got.solver_stats["scenario_slots"] <= slots[1]

    def test_alpha_resolve_equals_fresh_build(self) -> None:
        s, pf, inst = random_problem(3, 2_000, 3)
        p = oh.HedgeProblem(
            pf, inst, objective=ExpectedShortfall(0.95), scenarios=s, horizon=1, market="U0"
        )
        p.solve()
        again = p.solve({"expected_shortfall.alpha": 0.99})
        fresh = oh.HedgeProblem(
            pf, inst, objective=ExpectedShortfall(0.99), scenarios=s, horizon=1, market="U0"
        ).solve()
        assert again.objective_value == pytest.approx(fresh.objective_value, rel=1e-8)
        assert again.risk.attrs["scenario_alpha"] == 0.99


class TestWithTheRestOfTheProblem:
    def test_residual_beta_from_scenarios(self) -> None:
        s, pf = normal_book(20_000, 0.8, seed=4)
        res = es_problem(s, pf, FUT, constraints=[ResidualBeta(min=0.5)]).solve()
        hedged = s.returns["book"].to_numpy() + res.weights["F"] * s.returns["IDX"].to_numpy()
        idx = s.returns["IDX"].to_numpy()
        beta = np.cov(hedged, idx, bias=True)[0, 1] / np.var(idx)
        assert beta == pytest.approx(0.5, abs=1e-6)
        assert res.constraints.loc["residual_beta.min", "binding"]

    def test_result_reports_scenario_risk(self) -> None:
        s, pf = normal_book(10_000, 0.8, seed=6)
        res = es_problem(s, pf, FUT).solve()
        risk = res.risk
        assert risk.loc["after", "scenario_es"] < risk.loc["before", "scenario_es"]
        assert risk.loc["after", "scenario_es"] == pytest.approx(res.objective_value, rel=1e-8)
        assert risk.loc["after", "tail_scenarios"] == 500
        assert risk.attrs["n_scenarios"] == 10_000

    def test_whole_contracts_milp_against_brute_force(self) -> None:
        s, _ = normal_book(5_000, 0.9, seed=8)
        pf = oh.Portfolio.from_holdings({"book": 3e6})
        futs = [oh.Future(label="F", underlying="IDX", price=4000.0, multiplier=50.0)]
        res = es_problem(s, pf, futs, constraints=[WholeContracts(method="exact")]).solve()
        assert res.solver_stats["solver"] == "HIGHS"
        book, idx = s.returns["book"].to_numpy(), s.returns["IDX"].to_numpy()
        cv = 4000 * 50 / 3e6
        brute = min(range(-40, 1), key=lambda k: oh.risk.expected_shortfall(book + k * cv * idx))
        assert res.allocation.loc["F", "units"] == brute

    def test_inverse_etf_uses_the_path(self) -> None:
        daily = oh.returns_from_prices(
            oh.datasets.load_default(start="2007-01-01", end="2010-12-31", columns=["SP500", "JPM"])
        )
        s = Scenarios.historical(daily, horizon=21)
        inv = oh.InverseETF(label="SDS", underlying="SP500", leverage=-2.0)
        p = oh.HedgeProblem(
            oh.Portfolio.from_holdings({"JPM": 1.0}),
            [inv],
            objective=ExpectedShortfall(0.95),
            scenarios=s,
            horizon=21,
            market="SP500",
        )
        assert p.data.scenario_pnl is not None
        np.testing.assert_allclose(p.data.scenario_pnl[:, 0], inv.scenario_returns(s))
        assert p.solve().weights["SDS"] > 0


class TestErrors:
    def test_alpha(self) -> None:
        with pytest.raises(
            SpecificationError,
            match=r"'expected_shortfall.alpha' parameter must be a finite number in \[0.5, 1\)",
        ):
            ExpectedShortfall(1.0)
        s, pf = normal_book(100, 0.8, seed=1)
        with pytest.raises(SpecificationError, match="tail of 0.5 scenario"):
            es_problem(s, pf, FUT, objective=ExpectedShortfall(0.995))

    def test_scenarios_missing_underlying(self) -> None:
        s, pf = normal_book(100, 0.8, seed=1)
        bad = [oh.Future(label="NQ", underlying="NDX")]
        with pytest.raises(MissingLabelsError, match=r"Future\('NQ'\) has underlying 'NDX'"):
            es_problem(s, pf, bad)

    def test_horizon_mismatch_and_missing_scenarios(self) -> None:
        s, pf = normal_book(100, 0.8, seed=1)
        with pytest.raises(
            SpecificationError,
            match="scenarios span 1 trading day but the problem.s horizon is 21 trading days",
        ):
            es_problem(s, pf, FUT, horizon=21)
        model = oh.RiskModel.from_covariance(s.covariance())
        with pytest.raises(
            SpecificationError, match=r"ExpectedShortfall\(alpha=0.95\) needs scenarios"
        ):
            oh.HedgeProblem(pf, FUT, objective=ExpectedShortfall(), risk_model=model, horizon=1)

    def test_nan_scenarios(self) -> None:
        with pytest.raises(DataError, match="NaN or infinite"):
            Scenarios.from_returns(pd.DataFrame({"IDX": [0.1, np.inf]}))

"""The band expected-shortfall method: the plain LP's optimum, certified, at any instrument count.

Every reference is independent of the method: the Rockafellar-Uryasev LP over all
scenarios written by hand in cvxpy and solved by HiGHS at tight tolerances
(``reference_lp``), brute force over whole contracts, and fresh solves for a sweep.
The band is kept narrower than the tail, and the levels made small, so that every part
of the method (aggregated group, band swaps, trust region, levels, rebuilds) is reached
on problems the reference LP solves in a second.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from cases import fat_tailed as random_case
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_cutting_planes import LP_FEASIBILITY, es_at, reference_lp

import optihedge as oh
from constraints import Bounds, Budget, GrossExposure, WholeContracts
from optihedge.measures.risk import expected_shortfall
from optihedge.optimize import band
from optihedge.optimize.shortfall import ExpectedShortfall
from optihedge.scenarios import Scenarios


@contextmanager
def small_levels(size: int) -> Iterator[None]:
    """Levels from ``size`` scenarios up (the library's start from 30,000)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(band, "LEVEL_MIN", size)
        yield


def problem(
    s: Scenarios,
    pf: oh.Portfolio,
    inst: list[oh.Instrument],
    alpha: float,
    slots: int | None,
    gross: float | None = None,
    budget: bool = False,
    method: str = "band",
) -> oh.HedgeProblem:
    constraints: list[object] = [Bounds(-1.0, 1.0)]
    if gross is not None:
        constraints.append(GrossExposure(gross))
    if budget:
        constraints.append(Budget(0.0))
    return oh.HedgeProblem(
        pf,
        inst,
        objective=ExpectedShortfall(alpha, method=method, capacity=slots),  # type: ignore[arg-type]
        constraints=constraints,  # type: ignore[arg-type]
        scenarios=s,
        horizon=1,
        market="U0",
    )


def check_certificate(stats: dict[str, object], optimum: float, alpha: float) -> None:
    assert stats["shortfall_method"] == "band"
    assert stats["certified"] is True
    lower, upper = float(stats["objective_lower_bound"]), float(stats["objective_upper_bound"])  # type: ignore[arg-type]
    slack = 1e-11 * abs(optimum) + LP_FEASIBILITY / (1.0 - alpha)
    assert lower <= optimum + slack  # a true lower bound of the whole LP
    assert upper >= optimum - slack
    assert abs(float(stats["certificate_gap"]) - (upper - lower)) <= 1e-15  # type: ignore[arg-type]
    assert upper - lower <= 1e-9 * abs(upper)


class TestTheBandGivesThePlainOptimum:
    @settings(max_examples=8, deadline=None)
    @example(seed=5, n_inst=150, alpha=0.95, gross=None, budget=True, unequal=False, narrow=True)
    @example(seed=8, n_inst=2, alpha=0.975, gross=0.3, budget=False, unequal=True, narrow=True)
    @given(
        seed=st.integers(0, 10_000),
        n_inst=st.integers(2, 150),
        alpha=st.sampled_from([0.9, 0.95, 0.975]),
        gross=st.one_of(st.none(), st.floats(0.05, 3.0)),  # binding or not
        budget=st.booleans(),
        unequal=st.booleans(),
        narrow=st.booleans(),
    )
    def test_property(
        self,
        seed: int,
        n_inst: int,
        alpha: float,
        gross: float | None,
        budget: bool,
        unequal: bool,
        narrow: bool,
    ) -> None:
        n_scen = 2_400
        s, pf, inst = random_case(seed, n_scen, n_inst, unequal)
        optimum, _ = reference_lp(s, n_inst, alpha, gross, budget)
        tail = int((1 - alpha) * n_scen)
        # a band narrower than the tail (the aggregated group in use), or wide
        slots = max(n_inst + 8, tail // 2) if narrow else 3 * tail
        with small_levels(600):
            res = problem(s, pf, inst, alpha, slots, gross, budget).solve()
        assert es_at(s, res.weights, alpha) == pytest.approx(optimum, rel=1e-8, abs=1e-12)
        check_certificate(res.solver_stats, optimum, alpha)
        assert res.solver_stats["band_levels"] == (240, 2_400)

    def test_the_aggregated_group_and_swaps_are_used(self) -> None:
        s, pf, inst = random_case(21, 4_000, 12)
        optimum, _ = reference_lp(s, 12, 0.95, 1.0, False)
        with small_levels(1_000):
            res = problem(s, pf, inst, 0.95, 60, gross=1.0).solve()
        stats = res.solver_stats
        assert stats["band_slots"] >= 60  # a rebuild may have widened it
        assert stats["band_slots"] < 200  # but far below the tail's 200 scenarios
        assert stats["band_rounds"] >= 3  # levels and swaps
        assert es_at(s, res.weights, 0.95) == pytest.approx(optimum, rel=1e-8)
        check_certificate(stats, optimum, 0.95)

    def test_a_band_too_narrow_rebuilds_wider_and_stays_exact(self) -> None:
        s, pf, inst = random_case(3, 3_000, 6)
        optimum, _ = reference_lp(s, 6, 0.95, None, True)
        # 3 slots cannot hold the 7 scenarios an optimum of 6 instruments ties at its VaR
        res = problem(s, pf, inst, 0.95, 3, budget=True).solve()
        assert res.solver_stats["rebuilds"] >= 1
        assert res.solver_stats["band_slots"] > 3
        assert es_at(s, res.weights, 0.95) == pytest.approx(optimum, rel=1e-8)

    def test_unconstrained_positions(self) -> None:
        # no bounds: the first round's open region, then a trust region that must grow
        s, pf, inst = random_case(11, 2_000, 4)
        res = oh.HedgeProblem(
            pf,
            inst,
            objective=ExpectedShortfall(0.95, method="band", capacity=40),
            scenarios=s,
            horizon=1,
            market="U0",
        ).solve()
        book = s.returns["book"].to_numpy()
        g = s.returns[[f"U{i}" for i in range(4)]].to_numpy()
        x, zeta = cp.Variable(4), cp.Variable()
        raw = cp.Problem(cp.Minimize(zeta + cp.sum(cp.pos(-(book + g @ x) - zeta)) / 100.0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # cvxpy's bound propagation
            raw.solve(solver="HIGHS")
        assert raw.status == cp.OPTIMAL
        assert es_at(s, res.weights, 0.95) == pytest.approx(raw.value, rel=1e-8)
        assert res.solver_stats["certified"]

    def test_an_unbounded_shortfall_is_reported(self) -> None:
        rng = np.random.default_rng(3)
        frame = pd.DataFrame(
            {"book": rng.normal(0.0, 0.02, 1_000), "ARB": rng.uniform(0.001, 0.01, 1_000)}
        )
        p = oh.HedgeProblem(
            oh.Portfolio.from_holdings({"book": 1.0}),
            [oh.ETF("A", underlying="ARB")],
            objective=ExpectedShortfall(0.95, method="band"),
            scenarios=Scenarios.from_returns(frame),
            horizon=1,
            market="ARB",
        )
        with pytest.raises(oh.errors.UnboundedError):
            p.solve()


class TestStateAcrossSolves:
    def test_a_sweep_over_limits_and_alphas_equals_fresh_solves(self) -> None:
        s, pf, inst = random_case(2, 4_000, 8)
        with small_levels(1_000):
            kept = problem(s, pf, inst, 0.95, 60, gross=1.0)
            kept.solve()
            for gross, alpha in [(0.9, 0.95), (0.7, 0.95), (0.7, 0.9), (1.2, 0.975), (0.5, 0.8)]:
                got = kept.solve({"gross_exposure.max": gross, "expected_shortfall.alpha": alpha})
                fresh = problem(s, pf, inst, alpha, 60, gross=gross).solve()
                optimum, _ = reference_lp(s, 8, alpha, gross, False)
                assert es_at(s, got.weights, alpha) == pytest.approx(optimum, rel=1e-8)
                assert got.objective_value == pytest.approx(fresh.objective_value, rel=1e-8)
                check_certificate(got.solver_stats, optimum, alpha)

    def test_new_scenarios_start_anew(self) -> None:
        s, pf, inst = random_case(6, 3_000, 5)
        other, _, _ = random_case(7, 3_000, 5)
        with small_levels(1_000):
            p = problem(s, pf, inst, 0.95, 40)
            p.solve()
            res = p.solve(scenarios=other)
        optimum, _ = reference_lp(other, 5, 0.95, None, False)
        assert es_at(other, res.weights, 0.95) == pytest.approx(optimum, rel=1e-8)

    def test_shadow_price_of_the_gross_cap_equals_the_hand_lp(self) -> None:
        n_inst, n_scen, gross = 6, 3_000, 0.6
        s, pf, inst = random_case(17, n_scen, n_inst)
        res = problem(s, pf, inst, 0.95, 40, gross=gross).solve()
        # the whole LP by hand: the cap's multiplier
        book = s.returns["book"].to_numpy()
        g = s.returns[[f"U{i}" for i in range(n_inst)]].to_numpy()
        x, zeta = cp.Variable(n_inst), cp.Variable()
        cap = cp.norm1(x) <= gross
        tail = cp.sum(cp.pos(-(book + g @ x) - zeta)) / (0.05 * n_scen)
        lp = cp.Problem(cp.Minimize(zeta + tail), [x >= -1.0, x <= 1.0, cap])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lp.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
        assert lp.status == cp.OPTIMAL
        assert res.objective_value == pytest.approx(lp.value, rel=1e-8)
        row = res.constraints.loc["gross_exposure.max"]
        assert row["binding"]
        assert row["shadow_price"] == pytest.approx(float(cap.dual_value), rel=1e-5)


class TestWholeContracts:
    def test_equals_brute_force(self) -> None:
        rng = np.random.default_rng(12)
        n_scen = 3_000
        idx = rng.standard_t(4, n_scen) * 0.02
        other = rng.standard_t(4, n_scen) * 0.02
        book = 0.7 * idx + 0.3 * other + rng.standard_t(4, n_scen) * 0.01
        s = Scenarios.from_returns(pd.DataFrame({"book": book, "IDX": idx, "OTH": other}))
        res = oh.HedgeProblem(
            oh.Portfolio.from_holdings({"book": 2e6}),
            [
                oh.Future("F", underlying="IDX", price=4000.0, multiplier=50.0),
                oh.Future("G", underlying="OTH", price=2000.0, multiplier=25.0),
            ],
            objective=ExpectedShortfall(0.95, method="band", capacity=40),
            constraints=[WholeContracts(method="exact")],
            scenarios=s,
            horizon=1,
            market="IDX",
        ).solve()
        assert res.solver_stats["shortfall_method"] == "band"
        cv = np.array([4000 * 50, 2000 * 25]) / 2e6
        g = np.column_stack([idx, other])
        best = min(
            itertools.product(range(-12, 1), range(-12, 1)),
            key=lambda k: expected_shortfall(book + g @ (cv * np.array(k)), 0.95),
        )
        got = tuple(int(u) for u in res.allocation.loc[["F", "G"], "units"])
        assert got == best


def test_the_aggregated_sums_kept_between_rounds_equal_a_whole_pass() -> None:
    """The group's sums are updated with the scenarios that joined and left: still exact."""
    s, pf, inst = random_case(21, 4_000, 12)
    optimum, _ = reference_lp(s, 12, 0.95, 1.0, False)
    with small_levels(1_000):
        p = problem(s, pf, inst, 0.95, 60, gross=1.0)
        res = p.solve()
    assert res.solver_stats["band_rounds"] >= 3
    assert es_at(s, res.weights, 0.95) == pytest.approx(optimum, rel=1e-8)
    band = p._core._objective.band  # type: ignore[attr-defined]
    level, members, ga, ba = band._sums
    assert members.sum() > 0
    w = np.where(members, level.p, 0.0)
    np.testing.assert_allclose(ga, w @ level.pnl, rtol=1e-12, atol=1e-15)
    assert ba == pytest.approx(float(w @ level.book), rel=1e-12, abs=1e-15)


class TestAutoTakesTheBand:
    def test_beyond_fifty_instruments_at_any_scenario_count(self) -> None:
        s, pf, inst = random_case(31, 3_000, 60)
        optimum, _ = reference_lp(s, 60, 0.95, 2.0, False)
        res = problem(s, pf, inst, 0.95, None, gross=2.0, method="auto").solve()
        assert res.solver_stats["shortfall_method"] == "band"
        assert es_at(s, res.weights, 0.95) == pytest.approx(optimum, rel=1e-8)
        check_certificate(res.solver_stats, optimum, 0.95)

    def test_from_the_crossover_between_five_and_fifty(self) -> None:
        from optihedge.optimize import shortfall

        s, pf, inst = random_case(32, 3_000, 8)
        optimum, _ = reference_lp(s, 8, 0.95, 2.0, False)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(shortfall, "AUTO_BAND_SCENARIOS", 3_000)
            res = problem(s, pf, inst, 0.95, None, gross=2.0, method="auto").solve()
            mp.setattr(shortfall, "AUTO_BAND_SCENARIOS", 3_001)
            below = problem(s, pf, inst, 0.95, None, gross=2.0, method="auto").solve()
        assert res.solver_stats["shortfall_method"] == "band"
        assert below.solver_stats["shortfall_method"] == "active_set"
        for got in (res, below):
            assert es_at(s, got.weights, 0.95) == pytest.approx(optimum, rel=1e-8)
        check_certificate(res.solver_stats, optimum, 0.95)

    def test_not_with_a_quadratic_objective(self) -> None:
        """Beside a variance term HiGHS cannot answer the band's rounds: planes, or the set."""
        es = oh.ExpectedShortfall(0.95)
        assert es.chosen_method(20_000, 10, False) == "band"
        assert es.chosen_method(20_000, 10, False, quadratic=True) == "cutting_plane"
        assert es.chosen_method(10_000, 10, False, quadratic=True) == "active_set"
        assert es.chosen_method(10**6, 100, False, quadratic=True) == "active_set"
        s, pf, inst = random_case(33, 3_000, 60)
        res = oh.HedgeProblem(
            pf,
            inst,
            objective=es + 0.5 * oh.Variance(),
            constraints=[GrossExposure(2.0)],
            scenarios=s,
        ).solve()
        assert res.solver_stats["shortfall_method"] == "active_set"  # the problem said so


def leveraged_case(seed: int, n_inst: int) -> tuple[Scenarios, oh.Portfolio, list[oh.Instrument]]:
    """A book 15x its hedges' loadings: positions far above the least-squares start's size."""
    rng = np.random.default_rng(seed)
    f = np.clip(rng.standard_t(3, (3_000, n_inst)) * 0.004, -0.9, 0.9)
    book = np.clip(
        f @ (rng.normal(0.5, 0.4, n_inst) * 15.0) + rng.standard_t(3, 3_000) * 0.01, -0.9, 0.9
    )
    frame = pd.DataFrame(f, columns=[f"U{i}" for i in range(n_inst)])
    frame["book"] = book
    inst: list[oh.Instrument] = [oh.ETF(f"E{i}", underlying=f"U{i}") for i in range(n_inst)]
    return Scenarios.from_returns(frame), oh.Portfolio.from_holdings({"book": 1.0}), inst


class TestTrustRegion:
    @pytest.mark.filterwarnings("ignore:The 'returns' argument has a volatility")  # 15x book
    @pytest.mark.parametrize("seed", [4, 5])
    def test_a_start_outside_the_limits_is_no_infeasibility(self, seed: int) -> None:
        # the least-squares start breaks the gross cap; the band is narrow: the trust
        # region must be centred on answers only (it had shrunk around the start until
        # it missed the limits: 'infeasible' with x = 0 feasible)
        s, pf, inst = leveraged_case(seed, 10)
        constraints = [Bounds(-50.0, 50.0), GrossExposure(100.0)]
        res = oh.HedgeProblem(
            pf,
            inst,
            objective=ExpectedShortfall(0.95, method="band", capacity=18),
            constraints=constraints,  # type: ignore[arg-type]
            scenarios=s,
            horizon=1,
            market="U0",
        ).solve()
        ref = oh.HedgeProblem(
            pf,
            inst,
            objective=ExpectedShortfall(0.95, method="lp"),
            constraints=constraints,  # type: ignore[arg-type]
            scenarios=s,
            horizon=1,
            market="U0",
        ).solve()
        assert res.solver_stats["certified"]
        assert res.objective_value == pytest.approx(ref.objective_value, rel=1e-8)

    def test_the_tie_break_is_not_held_by_the_trust_region(self) -> None:
        # two funds on one index, one with fees: at the same risk the cheaper split is to
        # hold only the free one; the band's last trust region had bounded the tie-break
        s, pf, _ = random_case(0, 3_000, 4)
        inst: list[oh.Instrument] = [
            oh.ETF("A", underlying="U0", expense_ratio=0.02),
            oh.ETF("B", underlying="U0"),
            *(oh.ETF(f"E{i}", underlying=f"U{i}") for i in range(1, 4)),
        ]

        def solve(method: str, slots: int | None) -> oh.HedgeResult:
            with small_levels(1_000):
                return oh.HedgeProblem(
                    pf,
                    inst,
                    objective=ExpectedShortfall(0.95, method=method, capacity=slots),  # type: ignore[arg-type]
                    constraints=[Bounds(-3.0, 3.0)],
                    scenarios=s,
                    horizon=1,
                    market="U0",
                ).solve()

        got, ref = solve("band", 30), solve("active_set", None)
        assert got.objective_value == pytest.approx(ref.objective_value, rel=1e-8)
        assert got.weights["A"] == pytest.approx(0.0, abs=1e-8)  # the fund with fees unused
        np.testing.assert_allclose(got.weights.to_numpy(), ref.weights.to_numpy(), atol=1e-6)

    def test_a_point_solve_reports_its_own_certificate(self) -> None:
        # the limits' slopes re-solve the problem: the certificate read after them was a
        # probe's (its lower bound above the answer's objective)
        s, pf, inst = random_case(17, 3_000, 6)
        point = problem(s, pf, inst, 0.95, 40, gross=0.6).solve_point()
        assert point.stats.certified is True
        lower = point.stats.details["objective_lower_bound"]
        upper = point.stats.details["objective_upper_bound"]
        assert lower <= point.objective * (1 + 1e-12)
        assert lower == pytest.approx(point.objective, rel=1e-9)
        assert upper == pytest.approx(point.objective, rel=1e-9)

    def test_clarabel_options_without_a_solver_go_to_clarabel(self) -> None:
        s, pf, inst = random_case(3, 3_000, 6)
        p = problem(s, pf, inst, 0.95, 40, gross=0.6)
        res = p.solve(tol_gap_abs=1e-12)  # a Clarabel setting: the documented default
        assert res.solver_stats["solver"] == "CLARABEL"
        assert res.objective_value == pytest.approx(p.solve().objective_value, rel=1e-8)


def test_the_inputs_are_left_as_given_and_serve_again() -> None:
    s, pf, inst = random_case(41, 3_000, 6, unequal=True)
    returns, probabilities = s.returns.copy(), s.probabilities.copy()  # type: ignore[union-attr]
    objective = ExpectedShortfall(0.95, method="band", capacity=30)
    with small_levels(1_000):
        first, again = (
            oh.HedgeProblem(
                pf,
                inst,
                objective=objective,
                constraints=[Bounds(-1.0, 1.0)],
                scenarios=s,
                horizon=1,
                market="U0",
            ).solve()
            for _ in range(2)
        )
    pd.testing.assert_frame_equal(s.returns, returns)
    pd.testing.assert_series_equal(s.probabilities, probabilities)  # type: ignore[arg-type]
    assert again.objective_value == first.objective_value
    optimum, _ = reference_lp(s, 6, 0.95, None, False)
    assert es_at(s, first.weights, 0.95) == pytest.approx(optimum, rel=1e-8)

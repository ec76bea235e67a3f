"""Whole contracts checked against brute force written here in numpy.

The exact MIP (SCIP for variance, HiGHS for expected shortfall) against the integer
optimum over a grid; the documented rounding search (every floor/ceiling combination up
to 10 instruments, nearest rounding and one-contract moves beyond, then moves of the
counts) against the neighbours of the continuous optimum; the fallback when SCIP is
missing; the MIP gap the solver is given; and whole contracts rounded under an expected
shortfall solved by cutting planes, alone and in a sweep (expected shortfall by hand:
the mean of the worst ``1 - alpha`` of the losses with equal probabilities, the boundary
scenario counted for its fraction).
"""

from __future__ import annotations

import itertools
import sys

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import optihedge as oh
from constraints import GrossExposure, WholeContracts
from factor_models import RiskModel
from optihedge.errors import SpecificationError

# ------------------------------------------------------------ variance, two futures
# Two futures on indices correlated at 0.995: the integer optimum lies along the valley,
# away from the four floor/ceiling neighbours of the continuous optimum.
V2 = 1_000_000.0
PAIR_ASSETS = ["U0", "U1", "B"]
PAIR_COV = np.array([[1e-4, 0.995e-4, 0.0], [0.995e-4, 1e-4, 0.0], [0.0, 0.0, 1e-6]])
PAIR_W = np.array([0.23, 0.35, 0.42])
PAIR_CV = np.array([4000.0 * 50.0, 15000.0 * 20.0]) / V2  # one contract, fraction of capital


def _pair_problem(method: str = "auto") -> oh.HedgeProblem:
    model = RiskModel.from_covariance(
        pd.DataFrame(PAIR_COV, index=PAIR_ASSETS, columns=PAIR_ASSETS)
    )
    return oh.HedgeProblem(
        oh.Portfolio.from_holdings(dict(zip(PAIR_ASSETS, PAIR_W * V2, strict=True))),
        [
            oh.Future("F0", underlying="U0", price=4000.0, multiplier=50.0),
            oh.Future("F1", underlying="U1", price=15000.0, multiplier=20.0),
        ],
        objective=oh.Variance(),
        constraints=[WholeContracts(method=method)],  # type: ignore[arg-type]
        risk_model=model,
        horizon=1,
    )


def _pair_variance(k: np.ndarray) -> np.ndarray:
    """Variance of the hedged book for each row of contract counts ``k``."""
    z = np.zeros((len(k), 3))
    z[:] = PAIR_W
    z[:, :2] += k * PAIR_CV
    return np.einsum("ij,jk,ik->i", z, PAIR_COV, z)


def _pair_by_hand() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Continuous counts, the integer optimum on a wide grid, the best neighbour."""
    sigma = PAIR_COV[:2, :2] * np.outer(PAIR_CV, PAIR_CV)
    k_star = -np.linalg.solve(sigma, PAIR_CV * (PAIR_COV[:2] @ PAIR_W))
    grid = np.array(
        list(
            itertools.product(
                range(int(k_star[0]) - 15, int(k_star[0]) + 16),
                range(int(k_star[1]) - 15, int(k_star[1]) + 16),
            )
        ),
        dtype=float,
    )
    values = _pair_variance(grid)
    order = np.argsort(values)
    unhedged = _pair_variance(np.zeros((1, 2)))[0]
    assert values[order[1]] - values[order[0]] > 1e-3 * unhedged  # a unique optimum
    neighbours = np.array(list(itertools.product(*[(np.floor(k), np.ceil(k)) for k in k_star])))
    best_neighbour = neighbours[np.argmin(_pair_variance(neighbours))]
    return k_star, grid[order[0]], best_neighbour


class TestVarianceWholeContracts:
    def test_the_case_separates_exact_from_rounding(self) -> None:
        k_star, optimum, neighbour = _pair_by_hand()
        np.testing.assert_allclose(k_star, [-1.15, -1.16667], atol=1e-5)
        assert optimum.tolist() == [0.0, -2.0]
        assert neighbour.tolist() == [-1.0, -1.0]
        unhedged = _pair_variance(np.zeros((1, 2)))[0]
        gap = _pair_variance(neighbour[None])[0] - _pair_variance(optimum[None])[0]
        assert gap > 1e-2 * unhedged

    @pytest.mark.parametrize("method", ["auto", "exact"])
    def test_default_is_the_integer_optimum(self, method: str) -> None:
        # WholeContracts() with SCIP installed: the exact MIP, not a rounding
        _, optimum, _ = _pair_by_hand()
        res = _pair_problem(method).solve()
        assert res.status == "optimal"
        assert res.solver_stats["solver"] == "SCIP"
        np.testing.assert_allclose(res.allocation["units"].to_numpy(), optimum, atol=1e-6)
        assert res.objective_value == pytest.approx(_pair_variance(optimum[None])[0], rel=1e-7)

    def test_rounding_starts_from_the_best_floor_or_ceiling(self) -> None:
        # the four floor/ceiling pairs, then moves of the counts: the quadratic model's
        # lattice step reaches the optimum along the valley (issue 20)
        _, optimum, neighbour = _pair_by_hand()
        res = _pair_problem("rounding").solve()
        np.testing.assert_allclose(res.allocation["units"].to_numpy(), optimum, atol=1e-6)
        assert res.solver_stats["roundings_tried"] == 4
        assert res.solver_stats["moves_tried"] > 0
        assert res.objective_value == pytest.approx(_pair_variance(optimum[None])[0], rel=1e-7)
        assert res.objective_value < _pair_variance(neighbour[None])[0]

    def test_without_scip_the_default_falls_back_to_the_rounding_search(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # SCIP missing: importing pyscipopt fails, cvxpy no longer lists SCIP
        monkeypatch.setitem(sys.modules, "pyscipopt", None)
        assert "SCIP" not in cp.installed_solvers()
        _, optimum, neighbour = _pair_by_hand()
        res = _pair_problem("auto").solve()
        assert res.status == "optimal"
        assert res.solver_stats["solver"] != "SCIP"
        assert res.solver_stats["roundings_tried"] == 4  # the four floor/ceiling pairs
        assert res.solver_stats["whole_contracts_method"] == "rounding_search"
        # then moves of the counts from the best of them (issue 20): here the optimum
        np.testing.assert_allclose(res.allocation["units"].to_numpy(), optimum, atol=1e-6)
        assert res.objective_value < _pair_variance(neighbour[None])[0]
        with pytest.raises(SpecificationError, match=r"needs the SCIP solver.*optihedge\[mip\]"):
            _pair_problem("exact")


# -------------------------------------------------- variance, twelve futures: > 10
N12 = 12
V12 = 10_000_000.0
# continuous contract counts: five of them have nearest != floor (-5.2, 7.6, -6.35, 1.8, -1.3)
K12 = np.array([3.3, -5.2, 7.6, -2.7, 4.45, -6.35, 1.8, -3.6, 2.2, -4.7, 5.4, -1.3])
PRICES12 = np.array([4000.0, 5000.0, 2000.0, 3000.0, 4000.0, 2500.0] * 2)
MULT12 = np.array([50.0, 20.0, 100.0, 50.0, 25.0, 40.0] * 2)
CV12 = PRICES12 * MULT12 / V12
VAR12 = 1e-4 * (1.0 + np.arange(N12) / 10.0)  # independent indices
W12 = -K12 * CV12  # the book holds each index: the hedge is -w, K12 contracts


def _twelve_problem(method: str) -> oh.HedgeProblem:
    assets = [f"I{i}" for i in range(N12)]
    model = RiskModel.from_covariance(pd.DataFrame(np.diag(VAR12), index=assets, columns=assets))
    return oh.HedgeProblem(
        oh.Portfolio.from_holdings(dict(zip(assets, W12 * V12, strict=True)), capital=V12),
        [
            oh.Future(f"F{i}", underlying=assets[i], price=PRICES12[i], multiplier=MULT12[i])
            for i in range(N12)
        ],
        objective=oh.Variance(),
        constraints=[WholeContracts(method=method)],  # type: ignore[arg-type]
        risk_model=model,
        horizon=1,
    )


def _twelve_variance(k: np.ndarray) -> np.ndarray:
    return ((W12 + k * CV12) ** 2 * VAR12).sum(axis=1)


class TestMoreThanTenInstruments:
    def test_brute_force_over_the_neighbours(self) -> None:
        neighbours = np.array(list(itertools.product(*[(np.floor(k), np.ceil(k)) for k in K12])))
        assert len(neighbours) == 2**N12
        values = _twelve_variance(neighbours)
        best = neighbours[np.argmin(values)]
        np.testing.assert_array_equal(best, np.round(K12))  # separable: the nearest
        assert np.sort(values)[1] > values.min() * 1.01
        # from the floors, one-contract moves cannot reach it (five coordinates differ)
        floor = np.floor(K12)
        moves = [floor] + [floor + s * np.eye(N12)[i] for i in range(N12) for s in (-1, 1)]
        assert _twelve_variance(np.array(moves)).min() > values.min() * 1.5

    def test_the_search_starts_at_the_nearest_rounding(self) -> None:
        # the candidates of the rounding search above ten instruments, read directly: the
        # later one-contract moves and lattice steps can walk from a poor start to the
        # optimum, so only the first candidate shows where the search starts
        from types import SimpleNamespace

        from optihedge.optimize.integer import _roundings

        units = np.linspace(0.5, 2.0, N12)  # contract values, positions = units x counts
        parts = [SimpleNamespace(index=np.arange(N12))]
        candidates = [np.concatenate(c) for c in _roundings(K12 * units, parts, units)]  # type: ignore[arg-type]
        nearest = np.array([3, -5, 8, -3, 4, -6, 2, -4, 2, -5, 5, -1], dtype=float)  # by hand
        np.testing.assert_array_equal(candidates[0], nearest)
        assert len(candidates) == 1 + 2 * N12
        moved = np.array(candidates[1:]) - nearest
        np.testing.assert_array_equal(np.abs(moved).sum(axis=1), np.ones(2 * N12))

    @pytest.mark.parametrize("method", ["auto", "rounding"])
    def test_default_and_rounding_find_the_integer_optimum(self, method: str) -> None:
        res = _twelve_problem(method).solve()
        assert res.status == "optimal"
        best = np.round(K12)
        np.testing.assert_allclose(res.allocation["units"].to_numpy(), best, atol=1e-6)
        assert res.objective_value == pytest.approx(_twelve_variance(best[None])[0], rel=1e-7)
        if method == "rounding":  # nearest rounding, then each of 12 moved by -1 and +1
            assert res.solver_stats["roundings_tried"] == 1 + 2 * N12


# ----------------------------------------------------------------------- the MIP gap
class TestMipGap:
    def test_highs_is_given_a_relative_gap_of_1e_9(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import highspy

        gaps: list[float] = []  # the MIP gap set when each integer model is run

        class Spy(highspy.Highs):  # type: ignore[misc]
            def run(self) -> object:
                if len(self.getLp().integrality_):
                    got = self.getOptionValue("mip_rel_gap")
                    gaps.append(got[1] if isinstance(got, tuple) else got)
                return super().run()

        monkeypatch.setattr(highspy, "Highs", Spy)
        scenarios, book, instruments = _es_case()
        res = oh.HedgeProblem(
            book,
            instruments,
            objective=oh.ExpectedShortfall(ALPHA),
            constraints=[WholeContracts(method="exact")],
            scenarios=scenarios,
        ).solve()
        assert res.solver_stats["solver"] == "HIGHS"
        assert gaps
        assert gaps == [1e-9] * len(gaps)  # HiGHS's own default is 1e-4

    def test_scip_is_left_at_a_zero_gap(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import pyscipopt.scip

        made: list[pyscipopt.scip.Model] = []

        class Spy(pyscipopt.scip.Model):  # type: ignore[misc]
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, **kwargs)
                made.append(self)

        monkeypatch.setattr(pyscipopt.scip, "Model", Spy)
        res = _pair_problem("exact").solve()
        assert res.solver_stats["solver"] == "SCIP"
        assert made
        assert [m.getParam("limits/gap") for m in made] == [0.0] * len(made)


# ------------------------------------------------ expected shortfall, two futures
ALPHA = 0.9749  # 2,000 scenarios: a tail of 50.2 scenarios (a fractional boundary)
N_SCEN = 2000
V_ES = 5_000_000.0
ES_CV = np.array([4000.0 * 50.0, 15000.0 * 20.0]) / V_ES


def _es_frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    f = np.clip(rng.standard_t(4, (N_SCEN, 2)) * 0.02, -0.5, 0.5)
    book = f @ np.array([0.7, 0.4]) + rng.standard_t(4, N_SCEN) * 0.01
    return pd.DataFrame({"U0": f[:, 0], "U1": f[:, 1], "book": book})


FRAME = _es_frame()


def _es_case() -> tuple[oh.Scenarios, oh.Portfolio, list[oh.Instrument]]:
    return (
        oh.Scenarios.from_returns(FRAME),
        oh.Portfolio.from_holdings({"book": V_ES}),
        [
            oh.Future("F0", underlying="U0", price=4000.0, multiplier=50.0),
            oh.Future("F1", underlying="U1", price=15000.0, multiplier=20.0),
        ],
    )


def _es_by_hand(x: np.ndarray) -> float:
    """Expected shortfall of book + hedge x: the mean of the worst 1 - alpha of losses."""
    losses = np.sort(-(FRAME["book"].to_numpy() + FRAME[["U0", "U1"]].to_numpy() @ x))[::-1]
    m = (1.0 - ALPHA) * N_SCEN  # 50.2 scenarios
    whole = int(np.floor(m + 1e-9))
    return float((losses[:whole].sum() + (m - whole) * losses[whole]) / m)


def _continuous_by_hand(gross: float | None = None) -> np.ndarray:
    """Rockafellar-Uryasev LP in raw cvxpy (HiGHS): the continuous optimum."""
    x, z = cp.Variable(2), cp.Variable()
    losses = -(FRAME["book"].to_numpy() + FRAME[["U0", "U1"]].to_numpy() @ x)
    cons = [] if gross is None else [cp.sum(cp.abs(x)) <= gross]
    es = z + cp.sum(cp.pos(losses - z)) / ((1.0 - ALPHA) * N_SCEN)
    raw = cp.Problem(cp.Minimize(es), cons)
    with np.errstate(invalid="ignore"):  # cvxpy's bound propagation: 0 x inf
        raw.solve(solver="HIGHS")
    assert raw.status == cp.OPTIMAL
    assert raw.value == pytest.approx(_es_by_hand(x.value), rel=1e-9)
    return np.asarray(x.value)


def _best_neighbour(x: np.ndarray, gross: float | None = None) -> np.ndarray:
    k = x / ES_CV
    cands = [np.array(c) for c in itertools.product(*[(np.floor(v), np.ceil(v)) for v in k])]
    if gross is not None:
        cands = [c for c in cands if np.abs(c * ES_CV).sum() <= gross]
    values = [_es_by_hand(c * ES_CV) for c in cands]
    order = np.argsort(values)
    assert values[order[1]] > values[order[0]] * (1 + 1e-6)  # one best neighbour
    return cands[order[0]]


class TestExpectedShortfallWholeContracts:
    def test_continuous_optimum_matches_the_hand_lp(self) -> None:
        scenarios, book, instruments = _es_case()
        res = oh.HedgeProblem(
            book, instruments, objective=oh.ExpectedShortfall(ALPHA), scenarios=scenarios
        ).solve()
        x = _continuous_by_hand()
        np.testing.assert_allclose(res.weights.to_numpy(), x, atol=1e-7)
        k = x / ES_CV
        assert (np.abs(k - np.round(k)) > 0.05).all()  # no count near a whole one

    @pytest.mark.parametrize("method", ["cutting_plane", "active_set"])
    def test_rounding_is_the_best_neighbour(self, method: str) -> None:
        scenarios, book, instruments = _es_case()
        res = oh.HedgeProblem(
            book,
            instruments,
            objective=oh.ExpectedShortfall(ALPHA, method=method),  # type: ignore[arg-type]
            constraints=[WholeContracts(method="rounding")],
            scenarios=scenarios,
        ).solve()
        assert res.status == "optimal"
        best = _best_neighbour(_continuous_by_hand())
        np.testing.assert_allclose(res.allocation["units"].to_numpy(), best, atol=1e-9)
        assert res.objective_value == pytest.approx(_es_by_hand(best * ES_CV), rel=1e-8)
        assert res.risk.loc["after", "scenario_es"] == pytest.approx(
            _es_by_hand(best * ES_CV), rel=1e-9
        )
        assert res.solver_stats["roundings_tried"] == 4
        assert res.solver_stats["shortfall_method"] == method

    @pytest.mark.parametrize("method", ["cutting_plane", "auto"])
    def test_exact_is_the_integer_optimum(self, method: str) -> None:
        scenarios, book, instruments = _es_case()
        res = oh.HedgeProblem(
            book,
            instruments,
            objective=oh.ExpectedShortfall(ALPHA, method=method),  # type: ignore[arg-type]
            constraints=[WholeContracts()],
            scenarios=scenarios,
        ).solve()
        k = _continuous_by_hand() / ES_CV
        grid = itertools.product(
            range(int(k[0]) - 4, int(k[0]) + 5), range(int(k[1]) - 4, int(k[1]) + 5)
        )
        values = {g: _es_by_hand(np.array(g) * ES_CV) for g in grid}
        best = min(values, key=values.__getitem__)
        np.testing.assert_allclose(res.allocation["units"].to_numpy(), best, atol=1e-6)
        assert res.objective_value == pytest.approx(values[best], rel=1e-8)
        # the MIP itself found it (one integer count per instrument), not the search after
        assert res.solver_stats["whole_contracts_method"] == "mip"
        assert "whole_contracts_note" not in res.solver_stats

    def test_an_empty_list_trades_nothing_whole(self) -> None:
        scenarios, book, instruments = _es_case()
        res = oh.HedgeProblem(
            book,
            instruments,
            objective=oh.ExpectedShortfall(ALPHA),
            constraints=[WholeContracts([], method="exact")],
            scenarios=scenarios,
        ).solve()
        assert res.status == "optimal"
        np.testing.assert_allclose(res.weights.to_numpy(), _continuous_by_hand(), atol=1e-7)
        assert "whole_contracts_method" not in res.solver_stats

    # the default in a sweep of 2 instruments (the cutting planes) and the band
    @pytest.mark.parametrize(("method", "took"), [("auto", "cutting_plane"), ("band",) * 2])
    def test_sweep_over_gross_exposure_with_rounding(self, method: str, took: str) -> None:
        scenarios, book, instruments = _es_case()
        problem = oh.HedgeProblem(
            book,
            instruments,
            objective=oh.ExpectedShortfall(ALPHA, method=method),  # type: ignore[arg-type]
            constraints=[GrossExposure(2.0), WholeContracts(method="rounding")],
            scenarios=scenarios,
        )
        limits = [0.6, 2.0]
        swept = oh.sweep(problem, {"gross_exposure.max": limits}, progress=False)
        assert (swept.points["status"] == "optimal").all()
        assert (swept.points["shortfall_method"] == took).all()
        for point, row in swept.points.iterrows():
            g = float(row["gross_exposure.max"])
            best = _best_neighbour(_continuous_by_hand(g), g)
            units = swept.weights.loc[swept.weights["point"] == point, "units"].to_numpy()
            np.testing.assert_allclose(units, best, atol=1e-9)
            assert row["scenario_es"] == pytest.approx(_es_by_hand(best * ES_CV), rel=1e-9)
        assert swept.points["gross_exposure.max"].tolist() == limits

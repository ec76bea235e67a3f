"""The direct path: kept solvers re-solve a compiled problem when only its numbers change.

The dense active set (DAQP) answers only when its point passes the optimality (KKT)
check of ``optimize.direct``. Checked here: the check itself on a QP solved by hand;
re-solves against a fresh build solved by Clarabel far below its default tolerances
(weights, objective, shadow prices), over random sequences of limits; the way back to
Clarabel when the check fails; a solver asked for by name.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optihedge as oh
from constraints import GrossExposure, ResidualBeta, Turnover
from optihedge.optimize import direct
from optihedge.optimize.direct import kkt_holds

TIGHT = {"tol_gap_abs": 1e-13, "tol_gap_rel": 1e-13, "tol_feas": 1e-13, "tol_ktratio": 1e-12}


class TestOptimalityCheck:
    """min (x1^2 + x2^2)/2 - x1 - 2 x2 s.t. x1 + x2 = 1, x2 <= 0.6, in Clarabel's form.

    By hand: without the inequality the optimum is (0, 1), which breaks x2 <= 0.6; with
    it binding, x = (0.4, 0.6), and stationarity x - c + nu (1, 1) + mu (0, 1) = 0 gives
    nu = 0.6 (the equality's multiplier) and mu = 0.8 >= 0.
    """

    P = np.eye(2)
    Q = np.array([-1.0, -2.0])
    A = np.array([[1.0, 1.0], [0.0, 1.0]])
    B = np.array([1.0, 0.6])
    X = np.array([0.4, 0.6])
    Z = np.array([0.6, 0.8])

    def holds(self, x: np.ndarray, z: np.ndarray) -> bool:
        return kkt_holds(self.P, self.Q, self.A, self.B, 1, x, z)

    def test_the_optimum_passes(self) -> None:
        assert self.holds(self.X, self.Z)

    def test_a_point_off_the_optimum_fails(self) -> None:
        assert not self.holds(self.X + np.array([1e-6, -1e-6]), self.Z)  # not stationary
        assert not self.holds(np.array([0.0, 1.0]), np.array([1.0, 0.0]))  # breaks x2 <= 0.6
        assert not self.holds(self.X, np.array([0.6, 0.8 + 1e-6]))
        assert not self.holds(self.X, self.Z * np.nan)

    def test_a_negative_multiplier_fails(self) -> None:
        # x2 <= 0.6 with mu < 0 means the inequality pushes the wrong way: x = (0.4, 0.6)
        # is then the optimum of another problem (c2 = 1), not of this one
        q = np.array([-1.0, -1.0])
        x = np.array([0.4, 0.6])
        z = np.array([0.6, -0.2])
        assert np.allclose(self.P @ x + q + self.A.T @ z, 0.0)
        assert not kkt_holds(self.P, q, self.A, self.B, 1, x, z)

    def test_an_inactive_inequality_with_a_multiplier_fails(self) -> None:
        # the duality gap z's: x2 = 0.5 < 0.6 with mu > 0 is not complementary
        b = np.array([1.0, 0.6])
        x = np.array([0.5, 0.5])
        q = -(self.P @ x + self.A.T @ np.array([0.2, 0.3]))
        assert not kkt_holds(self.P, q, self.A, b, 1, x, np.array([0.2, 0.3]))
        assert kkt_holds(self.P, q, self.A, np.array([1.0, 0.5]), 1, x, np.array([0.2, 0.3]))


def _daily(n: int = 400, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = rng.standard_t(5, n) * 0.009
    return pd.DataFrame(
        {
            "A": 0.9 * idx + rng.normal(0, 0.01, n),
            "B": 1.2 * idx + rng.normal(0, 0.01, n),
            "C": 0.6 * idx + rng.normal(0, 0.012, n),
            "IDX": idx,
        },
        index=pd.bdate_range("2020-01-01", periods=n),
    )


DAILY = _daily()
MODEL = oh.FactorModel().fit(DAILY, DAILY[["IDX"]]).risk_model_
OTHER = oh.FactorModel().fit(DAILY.iloc[200:], DAILY[["IDX"]].iloc[200:]).risk_model_
BOOK = oh.Portfolio.from_holdings({"A": 5e5, "B": 3e5, "C": 2e5})
HEDGES = [
    oh.Future("F", underlying="IDX", price=100.0, multiplier=50.0, cost=0.0002),
    oh.ETF("E", underlying="IDX", price=40.0, expense_ratio=0.001, cost=0.0005),
    oh.PositionReduction("sell A", holding="A", price=50.0, cost=0.001),
    oh.PositionReduction("sell B", holding="B", price=30.0, cost=0.001),
]


def problem() -> oh.HedgeProblem:
    return oh.HedgeProblem(
        BOOK,
        HEDGES,
        objective=oh.Variance() + oh.TradingCost(),
        constraints=[GrossExposure(0.5), Turnover(1.0), ResidualBeta(min=0.1)],
        risk_model=MODEL,
        horizon=10,
        market="IDX",
        current=pd.Series({"F": -0.1}),
    )


def assert_same(got: oh.HedgeResult, tight: oh.HedgeResult, point: dict[str, float]) -> None:
    """Weights, objective and binding limits as the tight solve; shadow prices as theory says.

    Where the optimal multipliers are not unique (a limit binds where a cost has a kink,
    say), solvers may return different ones: each must lie between the objective's
    one-sided slopes in that limit (the gain from relaxing it and the cost of tightening
    it), measured here by tight fresh solves 1e-6 either side.
    """
    np.testing.assert_allclose(got.weights, tight.weights, atol=1e-8)
    assert got.objective_value == pytest.approx(tight.objective_value, rel=1e-9)
    pd.testing.assert_series_equal(got.constraints["binding"], tight.constraints["binding"])
    for label, row in got.constraints.iterrows():
        if not row["binding"] or label not in point:
            continue
        h = 1e-6
        sign = 1.0 if str(label).endswith(".max") else -1.0  # which way relaxes
        relaxed = problem().solve(
            {**point, label: point[label] + sign * h}, solver="CLARABEL", **TIGHT
        )
        tightened = problem().solve(
            {**point, label: point[label] - sign * h}, solver="CLARABEL", **TIGHT
        )
        gain = (tight.objective_value - relaxed.objective_value) / h
        cost = (tightened.objective_value - tight.objective_value) / h
        slack = 1e-6 * max(1.0, abs(cost)) + 1e-9
        assert gain - slack <= row["shadow_price"] <= cost + slack, (label, gain, cost)


POINT = st.fixed_dictionaries(
    {
        "gross_exposure.max": st.floats(0.02, 1.2),
        "turnover.max": st.floats(0.12, 1.5),
        "residual_beta.min": st.floats(-0.3, 0.6),
    }
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(points=st.lists(POINT, min_size=3, max_size=6))
def test_resolves_equal_a_tight_fresh_solve(points: list[dict[str, float]]) -> None:
    kept = problem()
    answered = []
    for point in points:
        got = kept.solve(point)
        tight = problem().solve(point, solver="CLARABEL", **TIGHT)
        answered.append(got.solver_stats["solver"])
        if answered[-1] == "DAQP":
            assert_same(got, tight, point)
        else:  # Clarabel at its default tolerances (1e-8): its accuracy, not the check's
            np.testing.assert_allclose(got.weights, tight.weights, atol=1e-6)
            assert got.objective_value == pytest.approx(tight.objective_value, rel=1e-7)
    # the first two solves compile (parameters as constants, then the DPP program) and
    # are answered by a dense active set built for them; the others by the kept one
    assert answered.count("DAQP") >= len(answered) - 1


def test_a_new_risk_model_reaches_the_active_set_as_new_values_of_a() -> None:
    kept = problem()
    for g in (0.5, 0.4, 0.3):
        kept.solve({"gross_exposure.max": g})
    got = kept.solve(risk_model=OTHER)
    assert got.solver_stats["solver"] == "DAQP"
    fresh = problem().solve(
        {"gross_exposure.max": 0.3}, risk_model=OTHER, solver="CLARABEL", **TIGHT
    )
    np.testing.assert_allclose(got.weights, fresh.weights, atol=1e-8)
    assert got.objective_value == pytest.approx(fresh.objective_value, rel=1e-9)
    back = kept.solve({"gross_exposure.max": 0.35}, risk_model=MODEL)
    assert back.solver_stats["solver"] == "DAQP"
    point = {"gross_exposure.max": 0.35}
    assert_same(back, problem().solve(point, solver="CLARABEL", **TIGHT), point)


def test_an_answer_that_fails_the_check_goes_to_clarabel(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = problem()
    for g in (0.5, 0.4):
        kept.solve({"gross_exposure.max": g})
    monkeypatch.setattr(direct, "KKT_TOLERANCE", 0.0)  # no floating-point answer passes
    got = kept.solve({"gross_exposure.max": 0.3})
    assert got.solver_stats["solver"] == "CLARABEL"
    assert got.solver_stats["direct"] is True
    fresh = problem().solve({"gross_exposure.max": 0.3}, solver="CLARABEL", **TIGHT)
    np.testing.assert_allclose(got.weights, fresh.weights, atol=1e-6)
    monkeypatch.setattr(direct, "KKT_TOLERANCE", 1e-9)
    again = kept.solve({"gross_exposure.max": 0.25})  # the working set starts afresh
    assert again.solver_stats["solver"] == "DAQP"
    point = {"gross_exposure.max": 0.25}
    assert_same(again, problem().solve(point, solver="CLARABEL", **TIGHT), point)


def test_a_solver_asked_for_by_name_answers() -> None:
    kept = problem()
    for g in (0.5, 0.4, 0.3):
        kept.solve({"gross_exposure.max": g})
    named = kept.solve({"gross_exposure.max": 0.2}, solver="CLARABEL")
    assert named.solver_stats["solver"] == "CLARABEL"
    assert named.solver_stats["direct"] is True
    assert kept.solve({"gross_exposure.max": 0.2}).solver_stats["solver"] == "DAQP"


class TestAssign:
    """``constraints.assign``: cvxpy's checks, made cheaper; cvxpy's errors otherwise."""

    @given(
        value=st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=3),
            st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=2),
        ),
        sign=st.sampled_from([{}, {"nonneg": True}, {"nonpos": True}]),
    )
    def test_same_values_and_refusals_as_cvxpy(
        self, value: float | list[float], sign: dict[str, bool]
    ) -> None:
        import cvxpy as cp

        from constraints._base import assign

        shape = () if isinstance(value, float) else (3,)
        ours, theirs = cp.Parameter(shape, **sign), cp.Parameter(shape, **sign)
        try:
            theirs.value = value
        except ValueError as exc:
            with pytest.raises(ValueError, match=re.escape(str(exc))):
                assign(ours, value)
            return
        assign(ours, value)
        np.testing.assert_array_equal(np.asarray(ours.value), np.asarray(theirs.value))
        assert np.shape(ours.value) == np.shape(theirs.value)

    def test_a_boolean_parameter_goes_through_cvxpy(self) -> None:
        import cvxpy as cp

        from constraints._base import assign

        flag = cp.Parameter(boolean=True)
        with pytest.raises(ValueError, match="Parameter value must be boolean"):
            assign(flag, 0.5)

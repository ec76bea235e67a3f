"""The direct path: kept solvers re-solve a compiled problem when only its numbers change.

The dense active set (DAQP) answers only when its point passes the optimality (KKT)
check of ``optimize.direct``. Checked here: the check itself on a QP solved by hand;
re-solves against a fresh build solved by Clarabel far below its default tolerances
(weights, objective, shadow prices), over random sequences of limits; the way back to
Clarabel when the check fails; a solver asked for by name.
"""

from __future__ import annotations

import re
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from cases import three_stocks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optihedge as oh
from constraints import GrossExposure, ResidualBeta, Turnover
from optihedge.optimize import direct
from optihedge.optimize.direct import kkt_holds

# Clarabel far below its default tolerances (1e-8); at 1e-13 it gives up on some of these
# problems ("inaccurate", 5e-8 off), so the references check their own status
TIGHT = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}


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


DAILY = three_stocks(400, seed=11, start="2020-01-01")
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


def slopes(point: dict[str, float], label: str, at: float) -> tuple[float, float]:
    """The optimum's one-sided slopes in a limit, by tight fresh solves on either side.

    Returns what relaxing the limit gains per unit and what tightening it costs: each
    side's difference quotient at steps h and h/2 (h = 1e-5), extrapolated to a zero
    step (Richardson: the optimum is piecewise quadratic in the limit, so each side's
    quotient is linear in the step).
    """
    sign = 1.0 if label.endswith(".max") else -1.0  # which way relaxes

    def value(step: float) -> float:
        moved = {**point, label: point[label] + sign * step}
        solved = problem().solve(moved, solver="CLARABEL", **TIGHT)
        assert solved.status == "optimal", solved.notes
        return solved.objective_value

    def side(direction: float) -> float:
        h = 1e-5
        coarse = (at - value(direction * h)) / h
        fine = (at - value(direction * h / 2)) / (h / 2)
        return 2.0 * fine - coarse

    return side(1.0), -side(-1.0)


def assert_same(got: oh.HedgeResult, tight: oh.HedgeResult, point: dict[str, float]) -> None:
    """Weights, objective and binding limits as the tight solve; shadow prices as theory says.

    A limit's shadow price is what relaxing it gains per unit: the optimum's slope on
    that side. Where the multipliers are not unique (a limit binds where a cost has a
    kink) the two sides differ: the result then gives the tightening side too
    (``one_sided_shadow_prices``), and a Clarabel answer (the centre of the multipliers)
    lies between them.
    """
    assert tight.status == "optimal", tight.notes
    np.testing.assert_allclose(got.weights, tight.weights, atol=1e-8)
    assert got.objective_value == pytest.approx(tight.objective_value, rel=1e-9)
    pd.testing.assert_series_equal(got.constraints["binding"], tight.constraints["binding"])
    sided = got.solver_stats.get("one_sided_shadow_prices", {})
    for label, row in got.constraints.iterrows():
        if not row["binding"] or label not in point:
            continue
        gain, cost = slopes(point, str(label), tight.objective_value)
        price = row["shadow_price"]
        assert price == pytest.approx(gain, rel=1e-5, abs=2e-8), (label, gain, cost)
        if label in sided:
            # the relaxing side against the optimum's own slope, not the table it is
            # copied from
            gains = sided[label]["relaxing_gains"]
            assert gains == pytest.approx(gain, rel=1e-5, abs=2e-8), (label, gain, cost)
            assert sided[label]["tightening_costs"] == pytest.approx(cost, rel=1e-5, abs=2e-8)
        else:
            assert cost == pytest.approx(gain, rel=1e-5, abs=2e-8), (label, gain, cost)


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


class _Watched(cp.Parameter):
    """A cvxpy parameter that counts cvxpy's validations of a value and the saves."""

    validated = 0
    saved = 0

    def _validate_value(self, val: Any, sparse_path: bool = False) -> Any:
        self.validated += 1
        return super()._validate_value(val, sparse_path)

    def save_value(self, val: Any, sparse_path: bool = False) -> None:
        self.saved += 1
        super().save_value(val, sparse_path)


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

    @pytest.mark.parametrize(
        ("sign", "values"),
        [
            ({}, [0.5, -0.5, 0.0, 7]),
            ({"nonneg": True}, [0.5, 0.0, 3, 1.5]),
            ({"nonpos": True}, [-0.5, 0.0, -3, -1.5]),
            ({"nonneg": True, "nonpos": True}, [0.0]),
        ],
    )
    @pytest.mark.parametrize("shape", [(), (3,)])
    def test_an_ordinary_value_is_checked_here_and_saved_once(
        self, sign: dict[str, bool], values: list[float], shape: tuple[int, ...]
    ) -> None:
        """The documented fast path: a finite real value of the right shape and sign is
        saved without cvxpy's validation; the value a parameter holds already is not
        saved again; the value is kept as a float (a float64 array for a vector), whether
        it was given as an int or a float."""

        from constraints._base import assign

        param = _Watched(shape, **sign)
        for n, v in enumerate(values, start=1):
            value = v if shape == () else [v, v, v]
            assign(param, value)
            assign(param, value)  # held already: nothing saved
            assert (param.validated, param.saved) == (0, n), (v, shape)
            np.testing.assert_array_equal(param.value, np.full(shape, float(v)))
            if shape == ():
                assert type(param.value) is float
            else:
                assert param.value.dtype == np.float64

    def test_a_value_cvxpy_must_judge_goes_through_cvxpy(self) -> None:
        """A wrong sign or shape is left to cvxpy's setter, whose error names it."""
        from constraints._base import assign

        for sign, value, word in (
            ({"nonneg": True}, -0.5, "nonnegative"),
            ({"nonpos": True}, 0.5, "nonpositive"),
        ):
            param = _Watched(**sign)
            with pytest.raises(ValueError, match=f"_Watched value must be {word}"):
                assign(param, value)
            assert param.validated == 1
            assert param.value is None
        wrong_shape = _Watched(3)
        with pytest.raises(ValueError, match="Invalid dimensions"):
            assign(wrong_shape, [1.0, 2.0])
        assert wrong_shape.validated == 1
        assert wrong_shape.value is None

    def test_a_boolean_parameter_goes_through_cvxpy(self) -> None:
        from constraints._base import assign

        flag = cp.Parameter(boolean=True)
        with pytest.raises(ValueError, match="Parameter value must be boolean"):
            assign(flag, 0.5)


class TestMultiplierRange:
    """min -x s.t. x <= 1 and 2x <= 2: both bind at x = 1, and z1 + 2 z2 = 1, z >= 0.

    By hand: relaxing either limit alone gains nothing (the other still holds x at 1);
    tightening x <= 1 costs 1 per unit, tightening 2x <= 2 costs 1/2 per unit (x falls by
    half a unit). So z1 ranges over [0, 1] and z2 over [0, 1/2].
    """

    A = np.array([[1.0], [2.0]])
    B = np.array([1.0, 2.0])

    def test_two_limits_on_one_position(self) -> None:
        from optihedge.optimize.direct import multiplier_range

        for z in (np.array([1.0, 0.0]), np.array([0.0, 0.5]), np.array([0.5, 0.25])):
            got = multiplier_range(self.A, self.B, 0, np.zeros(2), z)
            assert got is not None
            np.testing.assert_allclose(got[0], [0.0, 0.0], atol=1e-12)
            np.testing.assert_allclose(got[1], [1.0, 0.5], atol=1e-12)

    def test_independent_limits_have_one_multiplier(self) -> None:
        from optihedge.optimize.direct import multiplier_range

        a = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        slack = np.array([0.0, 0.0, 0.5])  # the third does not bind
        assert multiplier_range(a, np.array([1.0, 1.0, 2.5]), 0, slack, np.ones(3)) is None

    def test_an_equality_row_keeps_its_multiplier(self) -> None:
        from optihedge.optimize.direct import multiplier_range

        # x = 1 (equality) and x <= 1: z_eq + z_ineq = 1, z_ineq >= 0
        a = np.array([[1.0], [1.0]])
        got = multiplier_range(a, np.array([1.0, 1.0]), 1, np.zeros(2), np.array([0.4, 0.6]))
        assert got is not None
        assert got[0][0] == got[1][0] == 0.4  # the equality's own: not a limit to relax
        assert got[0][1] == pytest.approx(0.0, abs=1e-12)
        assert got[1][1] == np.inf  # tightening x <= 1 below the equality: infeasible


def test_a_limit_at_a_kink_reports_both_sides() -> None:
    """Gross cap 0.1 where the future sits at its current position (a trading-cost kink).

    The shadow price is what relaxing the cap gains (the optimum's slope on that side);
    the result also gives what tightening it costs, each against tight fresh solves.
    """
    point = {"gross_exposure.max": 0.1, "turnover.max": 1.0, "residual_beta.min": 0.0}
    kept = problem()
    result = kept.solve(point)
    assert result.solver_stats["solver"] == "DAQP"
    assert result.solver_stats["tie_break"]  # F and E tie: a second solve set x
    # reading the tightening side leaves the problem's positions as the result has them
    np.testing.assert_allclose(kept._positions(), result.weights.to_numpy(), atol=1e-9)
    sided = result.solver_stats["one_sided_shadow_prices"]
    assert list(sided) == ["gross_exposure.max"]
    tight = problem().solve(point, solver="CLARABEL", **TIGHT)
    gain, cost = slopes(point, "gross_exposure.max", tight.objective_value)
    assert cost > 1.5 * gain  # a real kink, not rounding
    price = result.constraints.loc["gross_exposure.max", "shadow_price"]
    assert price == pytest.approx(gain, rel=1e-5)
    assert sided["gross_exposure.max"]["relaxing_gains"] == pytest.approx(gain, rel=1e-5)
    assert sided["gross_exposure.max"]["tightening_costs"] == pytest.approx(cost, rel=1e-5)
    assert any("relaxing gains" in note and "gross_exposure.max" in note for note in result.notes)
    swept = oh.sweep(problem(), {"gross_exposure.max": [0.12, 0.1]}, progress=False)
    assert swept.points.loc[1, "shadow_price[gross_exposure.max]"] == pytest.approx(gain, rel=1e-5)


def test_the_direct_inversion_equals_cvxpys() -> None:
    """Re-solves read variables and duals straight from the solver's vectors (the
    selection cvxpy's inversion makes, found once by probes): the same numbers."""
    fast, slow = problem(), problem()
    for kept in (fast, slow):
        for g in (0.5, 0.4, 0.3):
            kept.solve({"gross_exposure.max": g})
    [direct_fast] = fast._direct.values()
    [direct_slow] = slow._direct.values()
    assert direct_fast.maps is not None
    direct_slow.maps = None  # cvxpy's own inversion
    for point in ({"gross_exposure.max": 0.1}, {"gross_exposure.max": 0.25, "turnover.max": 0.2}):
        got, want = fast.solve(point), slow.solve(point)
        assert got.solver_stats["solver"] == want.solver_stats["solver"] == "DAQP"
        pd.testing.assert_series_equal(got.weights, want.weights, rtol=1e-15, atol=0)
        pd.testing.assert_frame_equal(got.constraints, want.constraints, rtol=1e-15, atol=0)
        for a, b in zip(
            fast.cvxpy_problem.constraints, slow.cvxpy_problem.constraints, strict=True
        ):
            np.testing.assert_array_equal(np.asarray(a.dual_value), np.asarray(b.dual_value))
        assert got.objective_value == want.objective_value


def test_only_a_plain_selection_is_taken_for_the_inversion() -> None:
    from optihedge.optimize.direct import _selection

    first = np.array([3.0, 1.0, 4.0, 2.0])
    second = np.random.default_rng(5).uniform(1.0, 2.0, 4)  # checks what the first finds
    idx, sign = _selection(-first[[2, 0]], first, -second[[2, 0]], second)  # type: ignore[misc]
    np.testing.assert_array_equal(idx, [2, 0])
    assert sign == -1.0
    assert _selection(first[0] + first[1], first, second[0] + second[1], second) is None
    assert _selection(2.0 * first[:1], first, 2.0 * second[:1], second) is None
    assert _selection(np.array([1.0, -2.0]), first, second[[1, 3]] * [1, -1], second) is None
    assert _selection(np.array([0.5]), first, np.array([0.5]), second) is None
    assert _selection(np.array([7.0]), first, np.array([1.5]), second) is None  # no 7th entry

"""Tests pinning constraints/*.py and optihedge/instruments/*.py behaviour (issue 24 mutants).

Expected values are computed by hand from each term's documented formula.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import optihedge as oh
from constraints import Liquidity
from factor_models import RiskModel
from optihedge.errors import DataError, SpecificationError

ASSETS = ["A", "B", "IDX"]
V = 1_000_000.0


def _model() -> RiskModel:
    load = np.array([[0.9, 0.3], [1.2, -0.2], [1.0, 0.0]])
    sigma = load @ np.diag([1e-4, 0.4e-4]) @ load.T + np.diag([1.2e-4, 1.5e-4, 0.1e-4])
    return RiskModel.from_covariance(pd.DataFrame(sigma, index=ASSETS, columns=ASSETS))


BOOK = oh.Portfolio.from_holdings({"A": 0.6 * V, "B": 0.4 * V})


# ---------------------------------------------------------------- MarketState
class TestMarketState:
    def test_fields_are_float_series_and_rate_float(self) -> None:
        ms = oh.MarketState(
            spot={"IDX": 4000},
            volatility={"IDX": 0.2},
            rate=0.03,
            dividend_yield={"IDX": 0.015},
        )
        for name in ("spot", "volatility", "dividend_yield"):
            s = getattr(ms, name)
            assert isinstance(s, pd.Series), name
            assert s.dtype == np.float64, name
        assert ms.dividend_yield["IDX"] == 0.015
        assert ms.dividend_yield_of("IDX") == 0.015
        assert ms.dividend_yield_of("OTHER") == 0.0
        assert type(ms.rate) is float
        assert ms.rate == 0.03

    def test_rate_converted_to_python_float(self) -> None:
        ms = oh.MarketState(rate=np.float32(0.25))
        assert type(ms.rate) is float
        assert ms.rate == pytest.approx(0.25)
        with pytest.raises(SpecificationError):
            oh.MarketState(rate=0.6)

    @pytest.mark.parametrize("bad", [0.0, -0.1])
    def test_volatility_must_be_positive_message(self, bad: float) -> None:
        with pytest.raises(
            DataError, match="'volatility' argument of MarketState must hold finite positive"
        ):
            oh.MarketState(volatility={"IDX": bad})

    def test_volatility_implausible_message(self) -> None:
        with pytest.raises(DataError) as info:
            oh.MarketState(volatility={"IDX": 20.0})
        msg = str(info.value)
        assert msg.startswith(
            "The 'volatility' argument holds annual volatilities, decimal (0.2 = 20%) and must"
        )
        # the upper bound 5 is included
        assert oh.MarketState(volatility={"IDX": 5.0}).volatility_of("IDX") == 5.0

    def test_dividend_yield_messages_and_bounds(self) -> None:
        with pytest.raises(
            DataError, match="'dividend_yield' argument of MarketState must hold finite numbers"
        ):
            oh.MarketState(dividend_yield={"IDX": np.nan})
        # zero and negative yields are fine; the documented bound -0.2 is included
        ms = oh.MarketState(dividend_yield={"IDX": -0.2, "B": 0.0, "C": 0.5})
        assert ms.dividend_yield.to_dict() == {"IDX": -0.2, "B": 0.0, "C": 0.5}
        with pytest.raises(DataError, match="annual dividend yields, decimal"):
            oh.MarketState(dividend_yield={"IDX": -0.21})


# ---------------------------------------------------------------- Liquidity
class TestLiquidityOn:
    @pytest.mark.parametrize("on", ["trades", "positions"])
    def test_trades_versus_positions_with_current_holding(self, on: str) -> None:
        es = oh.Future("ES", underlying="IDX", price=4000.0, multiplier=50.0, adv=2e6)
        p, days = 0.05, 4.0
        cap = p * days * 2e6 / V  # 0.4 of capital, by hand
        current = pd.Series({"ES": -0.3})
        res = oh.HedgeProblem(
            BOOK,
            [es],
            objective=oh.Variance(),
            constraints=[Liquidity(p, days=days, on=on)],  # type: ignore[arg-type]
            risk_model=_model(),
            market="IDX",
            current=current,
        ).solve()
        assert res.status == "optimal"
        key = "liquidity" if on == "trades" else "liquidity_positions"
        row = res.constraints.loc[f"{key}[ES]"]
        assert row["limit"] == pytest.approx(cap, rel=1e-12)
        w = float(res.weights["ES"])
        moved = w - (-0.3) if on == "trades" else w
        assert row["value"] == pytest.approx(abs(moved), abs=1e-6)
        # unconstrained hedge is about -1.0: the cap binds on the moved quantity
        expected = -0.3 - cap if on == "trades" else -cap
        assert w == pytest.approx(expected, abs=1e-6)
        assert row["binding"]

    def test_no_adv_note(self) -> None:
        es = oh.Future("ES", underlying="IDX", price=4000.0, multiplier=50.0)
        res = oh.HedgeProblem(
            BOOK,
            [es],
            objective=oh.Variance(),
            constraints=[Liquidity(0.1)],
            risk_model=_model(),
            market="IDX",
        ).solve()
        assert res.status == "optimal"
        assert not any(str(k).startswith("liquidity") for k in res.constraints.index)


# ---------------------------------------------------------------- parameters, repr
class TestParameterSpecs:
    def test_interval_text(self) -> None:
        from constraints._base import ParameterSpec

        assert ParameterSpec("k", 1.0).interval == "[0, inf)"
        assert ParameterSpec("k", 1.0, lower=None, upper=2.0).interval == "(-inf, 2]"
        assert (
            ParameterSpec("k", 1.0, lower=None, upper=2.0, upper_open=True).interval == "(-inf, 2)"
        )
        assert ParameterSpec("k", 1.0, lower=0.5, lower_open=True, upper=3.0).interval == "(0.5, 3]"

    def test_budget_parameters(self) -> None:
        from constraints import Budget

        (spec,) = Budget(0.5).parameters()
        assert spec.key == "budget.total"
        assert spec.value == 0.5
        assert spec.lower is None
        assert spec.upper is None
        assert spec.description == "sum of x"
        assert spec.interval == "(-inf, inf)"
        assert spec.check(-3.0) == -3.0

    @pytest.mark.parametrize(
        ("total", "got"), [(math.nan, "Got nan instead"), ("a", "Got 'a' of type str instead")]
    )
    def test_budget_default_and_refusal(self, total: object, got: str) -> None:
        from constraints import Budget
        from constraints.errors import ConstraintSpecificationError

        assert Budget().total == 1.0  # fully invested unless told
        assert Budget(-2.0).total == -2.0  # any finite total: a net short is a total
        with pytest.raises(
            ConstraintSpecificationError,
            match=rf"^The 'total' parameter of Budget must be a finite number\. {got}",
        ):
            Budget(total)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("cls", "key", "what"),
        [
            ("PremiumBudget", "premium_budget.max", "net premium paid / book value"),
            ("CarryBudget", "carry_budget.max", "annual carry / book value"),
        ],
    )
    def test_cap_parameters_say_what_they_cap(self, cls: str, key: str, what: str) -> None:
        import constraints

        (spec,) = getattr(constraints, cls)(0.02).parameters()
        assert (spec.key, spec.value, spec.description) == (key, 0.02, what)
        assert spec.interval == "[0, inf)"

    def test_expected_pnl_parameters_and_message(self) -> None:
        from constraints import ExpectedPnL
        from constraints.errors import ConstraintSpecificationError

        (spec,) = ExpectedPnL(-0.01).parameters()
        assert spec.key == "expected_pnl.min"
        assert spec.value == -0.01
        assert spec.lower is None
        assert spec.upper is None
        assert spec.description == "expected return of the hedged book over the horizon"
        assert spec.check(-5.0) == -5.0
        with pytest.raises(
            ConstraintSpecificationError,
            match="The 'min' parameter of ExpectedPnL must be a finite number",
        ):
            ExpectedPnL(float("nan"))

    @pytest.mark.parametrize("on", ["trades", "positions"])
    def test_liquidity_parameters(self, on: str) -> None:
        from constraints.errors import ConstraintSpecificationError

        key = "liquidity" if on == "trades" else "liquidity_positions"
        p, d = Liquidity(0.1, days=2.0, on=on).parameters()  # type: ignore[arg-type]
        assert (p.key, p.value, p.description) == (
            f"{key}.max_participation",
            0.1,
            f"fraction of ADV ({on})",
        )
        assert p.lower == 0.0
        assert p.lower_open
        assert (d.key, d.value, d.description) == (f"{key}.days", 2.0, f"days ({on})")
        assert d.lower == 0.0
        assert d.lower_open is True
        assert d.interval == "(0, inf)"
        with pytest.raises(
            ConstraintSpecificationError, match=rf"'{key}.days' parameter .*\(0, inf\)"
        ):
            d.check(0.0)

    def test_factor_exposure_repr_and_fields(self) -> None:
        from constraints import FactorExposure

        assert (
            repr(FactorExposure("MKT", min=-0.1, max=0.2))
            == "FactorExposure('MKT', min=-0.1, max=0.2)"
        )
        assert repr(FactorExposure("MKT", max=0.2)) == "FactorExposure('MKT', max=0.2)"
        fe = FactorExposure("MKT", min=-0.1)
        assert fe.min == -0.1
        assert fe.max is None
        assert repr(fe) == "FactorExposure('MKT', min=-0.1)"


# ---------------------------------------------------------------- Constraint.check
class TestConstraintCheck:
    def _compiled(self, constraint: object) -> object:
        import cvxpy as cp

        from constraints._base import Compiled, Row

        x = cp.Variable(2)
        return Compiled([Row("r", constraint(x), x[0], cp.Constant(1.0), "<=")], lambda d, v: None)

    def test_good_row_passes(self) -> None:
        import cvxpy as cp

        p = cp.Parameter(nonneg=True)
        c = self._compiled(lambda x: p * x[0] <= 1)
        assert Liquidity(0.1).check(c) is None  # type: ignore[arg-type]

    def test_non_dcp_row_raises(self) -> None:
        import cvxpy as cp

        from constraints.errors import ConvexityError

        c = self._compiled(lambda x: cp.square(x[0]) >= 1)
        with pytest.raises(ConvexityError, match="not DCP: r"):
            Liquidity(0.1).check(c)  # type: ignore[arg-type]

    def test_non_dpp_row_raises(self) -> None:
        import cvxpy as cp

        from constraints.errors import NotDPPError

        p, q = cp.Parameter(nonneg=True), cp.Parameter(nonneg=True)
        c = self._compiled(lambda x: (p * q) * x[0] <= 1)
        with pytest.raises(NotDPPError, match="not DPP: r"):
            Liquidity(0.1).check(c)  # type: ignore[arg-type]


@pytest.mark.parametrize("given", ["scenario_book", "scenario_pnl", None])
def test_hedge_data_without_whole_scenarios_refuses_scenario_returns(given: str | None) -> None:
    # an extension's term asking for scenario returns of data that hold no scenarios, or
    # only half of them (the book's returns without the instruments', or the reverse)
    from constraints import HedgeData
    from constraints.errors import ConstraintSpecificationError

    half = {
        "scenario_book": np.array([0.01, -0.02]),
        "scenario_pnl": np.array([[0.01], [-0.02]]),
    }
    data = HedgeData(
        instruments=pd.Index(["F"]),
        assets=pd.Index(["A"]),
        book=pd.Series([1.0], index=["A"]),
        exposures=pd.DataFrame([[1.0]], index=["A"], columns=["F"]),
        attributes=pd.DataFrame(index=["F"]),
        current=pd.Series([0.0], index=["F"]),
        risk_models={},
        **({} if given is None else {given: half[given]}),  # type: ignore[arg-type]
    )
    with pytest.raises(ConstraintSpecificationError, match=r"^These data hold no scenarios\.$"):
        data.hedged_scenario_returns(np.array([-1.0]))


def test_an_equality_limit_is_priced_by_its_dual_without_slope_solves() -> None:
    # Budget is an equality: relaxing and tightening it are both its dual, so no
    # one-sided slope is measured for it (an inequality beside it is)
    from test_options import LINEAR, OPTIONS, _problem

    from constraints import Budget, GrossExposure

    es = oh.ExpectedShortfall(0.975, method="lp")
    alone = _problem([*LINEAR, OPTIONS[0]], [Budget(-0.5)], objective=es).solve()
    row = alone.constraints.loc["budget.total"]
    assert row["binding"]
    assert row["relaxing_gains"] == row["tightening_costs"] == row["shadow_price"] > 0
    assert not any("slope" in key for key in alone.solver_stats)
    both = _problem([*LINEAR, OPTIONS[0]], [Budget(-0.5), GrossExposure(0.6)], objective=es)
    assert both.solve().solver_stats["slopes_certified"] is True

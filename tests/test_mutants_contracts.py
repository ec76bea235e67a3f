"""Small documented contracts that ``make mutants`` showed no test held (issue 24).

Each test states one promise of a public function or class (an instrument's default
scenario returns, a result's stated scenario risk, the tail rule's tolerance and its
zero-probability outcomes, a risk model's stored inputs and its notes, a constraint's
messages and parameter descriptions) and checks it against numbers written or computed
here, never by the code under test.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import optihedge as oh
from constraints import (
    Bounds,
    Constraint,
    ExpectedPnL,
    FactorExposure,
    GrossExposure,
    HedgeData,
    Liquidity,
    ParameterSpec,
    ResidualBeta,
    Row,
    Turnover,
    WholeContracts,
    covariance_with,
    hedged_returns,
)
from factor_models.risk_model import RiskModel
from optihedge.errors import (
    ConstraintSpecificationError,
    DataWarning,
    EstimationDataError,
    MissingLabelsError,
    SpecificationError,
)
from optihedge.measures.contributions import tail_weights
from optihedge.optimize.assemble import make_result
from optihedge.optimize.shortfall import ExpectedShortfall
from optihedge.risk import expected_shortfall, value_at_risk
from optihedge.scenarios import Scenarios


# ------------------------------------------------- Instrument.scenario_returns
@dataclass(frozen=True, kw_only=True)
class VolScaledBasket(oh.Instrument):
    """Long 0.6 of A, short 0.4 of B, scaled by 0.20 over A's implied volatility."""

    def market_requirements(self) -> frozenset[str]:
        return frozenset({"volatility"})

    def exposures(self, market: oh.MarketState | None = None) -> dict[str, float]:
        scale = 1.0 if market is None else 0.20 / market.volatility_of("A")
        return {"A": 0.6 * scale, "B": -0.4 * scale}


SCENARIOS = Scenarios(
    returns=pd.DataFrame(
        {"A": [0.01, -0.03, 0.02], "B": [-0.02, 0.01, 0.04], "C": [0.5, 0.5, 0.5]},
        index=["s1", "s2", "s3"],
    ),
    horizon=1,
)


class TestDefaultScenarioReturns:
    """The base class's rule: the sum over exposures of exposure x the asset's return."""

    def test_every_exposure_counts(self) -> None:
        got = VolScaledBasket("BSK").scenario_returns(SCENARIOS)
        want = [0.6 * 0.01 - 0.4 * -0.02, 0.6 * -0.03 - 0.4 * 0.01, 0.6 * 0.02 - 0.4 * 0.04]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-17)

    def test_exposures_are_read_in_the_market_given(self) -> None:
        market = oh.MarketState(volatility={"A": 0.25})  # scale 0.20 / 0.25 = 0.8
        got = VolScaledBasket("BSK").scenario_returns(SCENARIOS, market)
        want = [0.8 * (0.6 * a - 0.4 * b) for a, b in [(0.01, -0.02), (-0.03, 0.01), (0.02, 0.04)]]
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-17)


# ---------------------------------------------- the result's scenario risk rows
@pytest.fixture(scope="module")
def shortfall_solve() -> tuple[oh.HedgeProblem, oh.HedgeResult]:
    rng = np.random.default_rng(5)
    idx = rng.normal(0.0, 0.04, 400)
    book = 0.9 * idx + rng.normal(0.0, 0.02, 400)
    dates = pd.bdate_range("2021-01-04", periods=400, name="date")
    s = Scenarios.from_returns(pd.DataFrame({"book": book, "IDX": idx}, index=dates))
    problem = oh.HedgeProblem(
        oh.Portfolio.from_holdings({"book": 1e6}),
        [oh.Future("F", underlying="IDX", price=4000.0, multiplier=50.0)],
        objective=ExpectedShortfall(0.95),
        scenarios=s,
        horizon=1,
        market="IDX",
    )
    return problem, problem.solve()


class TestScenarioRiskRows:
    """``make_result(scenario_after=...)``: numbers already stated are used, else computed."""

    def _result(
        self,
        solved: tuple[oh.HedgeProblem, oh.HedgeResult],
        after: tuple[float, float] | None,
        alpha: float | None = 0.9,
        x: np.ndarray | None = None,
        currency: str = "USD",
    ) -> oh.HedgeResult:
        problem, result = solved
        return make_result(
            problem.data,
            result.weights.to_numpy() if x is None else x,
            limits=result.constraints,
            objective_value=0.0,
            status="optimal",
            stats={},
            capital=1e6,
            scenario_alpha=alpha,
            scenario_after=after,
            currency=currency,
        )

    def test_the_level_is_0_95_when_none_is_given(
        self, shortfall_solve: tuple[oh.HedgeProblem, oh.HedgeResult]
    ) -> None:
        problem, _ = shortfall_solve
        result = self._result(shortfall_solve, None, alpha=None)
        risk = result.risk
        assert risk.attrs["scenario_alpha"] == 0.95
        assert result.risk_inputs is not None
        assert result.risk_inputs.alpha == 0.95  # the level the tail attribution reads
        assert problem.data.scenario_book is not None
        before = np.sort(-problem.data.scenario_book)  # VaR_0.95 of 400: the 380th loss
        assert risk.loc["before", "scenario_var"] == before[379]
        assert risk.loc["before", "tail_scenarios"] == 20.0

    def test_scenario_returns_are_labelled_by_scenario(
        self, shortfall_solve: tuple[oh.HedgeProblem, oh.HedgeResult]
    ) -> None:
        problem, result = shortfall_solve
        table = result.scenario_returns
        assert table is not None
        assert problem.scenarios is not None
        frame = problem.scenarios.returns
        assert table.index.equals(pd.bdate_range("2021-01-04", periods=400, name="date"))
        # the book is the one holding; the future returns the index's return per unit
        x = float(result.weights["F"])
        np.testing.assert_allclose(table["before"], frame["book"], rtol=0, atol=1e-17)
        np.testing.assert_allclose(
            table["after"], frame["book"] + x * frame["IDX"], rtol=1e-13, atol=1e-17
        )

    @pytest.mark.parametrize(
        ("x", "shown"),
        [(1e-8, 1e-8), (-1e-8, -1e-8), (0.5e-8, 0.0), (-0.5e-8, 0.0), (-0.0, 0.0)],
    )
    def test_positions_below_the_tolerance_show_as_a_positive_zero(
        self, shortfall_solve: tuple[oh.HedgeProblem, oh.HedgeResult], x: float, shown: float
    ) -> None:
        # POSITION_TOLERANCE is 1e-8: a position at it is kept, one below is shown as +0.0
        weights = self._result(shortfall_solve, None, x=np.array([x]), currency="EUR").weights
        assert weights.name == "weight"
        weight = weights["F"]
        assert weight == shown
        assert np.signbit(weight) == (shown < 0)

    def test_a_small_short_rounds_to_a_positive_zero_contract_count(
        self, shortfall_solve: tuple[oh.HedgeProblem, oh.HedgeResult]
    ) -> None:
        # -0.06 of 1e6 over one contract of 4000 x 50 = 200,000: -0.3 contracts, rounds to 0
        result = self._result(shortfall_solve, None, x=np.array([-0.06]), currency="EUR")
        assert result.currency == "EUR"
        row = result.allocation.loc["F"]
        assert row["units"] == pytest.approx(-0.3, rel=1e-14)
        assert row["units_rounded"] == 0.0
        assert not np.signbit(row["units_rounded"])

    def test_stated_after_numbers_are_the_rows(
        self, shortfall_solve: tuple[oh.HedgeProblem, oh.HedgeResult]
    ) -> None:
        problem, _ = shortfall_solve
        risk = self._result(shortfall_solve, (0.5, 0.75)).risk
        assert risk.loc["after", "scenario_var"] == 0.5
        assert risk.loc["after", "scenario_es"] == 0.75
        assert risk.loc["after", "tail_scenarios"] == 0.0  # no loss beyond 50% of the book
        # the unhedged row is always computed: 400 equally likely, VaR_0.9 the 360th loss
        assert problem.data.scenario_book is not None
        before = np.sort(-problem.data.scenario_book)
        assert risk.loc["before", "scenario_var"] == before[359]
        assert risk.loc["before", "scenario_es"] == pytest.approx(before[360:].mean(), rel=1e-12)
        assert risk.loc["before", "tail_scenarios"] == 40.0

    def test_without_them_the_rows_are_computed_at_the_level_given(
        self, shortfall_solve: tuple[oh.HedgeProblem, oh.HedgeResult]
    ) -> None:
        problem, result = shortfall_solve
        risk = self._result(shortfall_solve, None).risk
        data = problem.data
        assert data.scenario_book is not None
        assert data.scenario_pnl is not None
        hedged = data.scenario_book + data.scenario_pnl @ result.weights.to_numpy()
        losses = np.sort(-hedged)  # 400 equally likely: VaR_0.9 is the 360th smallest
        assert risk.loc["after", "scenario_var"] == losses[359]
        assert risk.loc["after", "scenario_es"] == pytest.approx(losses[360:].mean(), rel=1e-12)
        assert risk.loc["after", "tail_scenarios"] == 40.0


class TestRiskTable:
    """The result's risk rows: normal VaR/ES at zero mean and with the expected mean."""

    @staticmethod
    def _solve(instruments: list[oh.Instrument], **kwargs: object) -> oh.HedgeResult:
        """Hedge 0.6 of A and 0.4 of B (COV, one period) by variance."""
        return oh.HedgeProblem(
            oh.Portfolio.from_holdings({"A": 6e5, "B": 4e5}),
            instruments,
            objective=oh.Variance(),
            risk_model=RiskModel.from_covariance(COV),
            horizon=1,
            **kwargs,  # type: ignore[arg-type]
        ).solve()

    def test_normal_columns_and_the_mean_read_assets_by_label(self) -> None:
        mu = pd.Series({"B": 0.002, "X": 0.5, "A": 0.001})  # other order, an extra label
        result = self._solve([oh.Future("F", underlying="A", price=100.0)], expected_returns=mu)
        x = float(result.weights["F"])
        cov = COV.to_numpy()
        for row, z in (("before", np.array([0.6, 0.4])), ("after", np.array([0.6 + x, 0.4]))):
            vol = math.sqrt(z @ cov @ z)
            mean = 0.6 * 0.001 + 0.4 * 0.002 if row == "before" else (0.6 + x) * 0.001 + 0.0008
            got = result.risk.loc[row]
            assert got["mean"] == pytest.approx(mean, rel=1e-12, abs=1e-18)
            for a in (0.95, 0.99):
                pct = round(100 * a)
                q, tail = norm.ppf(a), norm.pdf(norm.ppf(a)) / (1.0 - a)
                assert got[f"var_{pct}"] == pytest.approx(vol * q, rel=1e-12)
                assert got[f"es_{pct}"] == pytest.approx(vol * tail, rel=1e-12)
                assert got[f"var_{pct}_with_mean"] == pytest.approx(-mean + vol * q, rel=1e-12)
                assert got[f"es_{pct}_with_mean"] == pytest.approx(-mean + vol * tail, rel=1e-12)
        assert result.risk.attrs["frequency"] == "daily"
        assert result.risk.attrs["horizon_days"] == 1
        assert result.risk.attrs["normal_var_es"] == (
            "var_* / es_*: normal, zero mean; *_with_mean: normal with the expected returns' mean"
        )
        # without expected returns: no mean columns, and the note says only the first part
        plain = self._solve([oh.Future("F", underlying="A", price=100.0)])
        assert plain.risk.attrs["normal_var_es"] == "var_* / es_*: normal, zero mean"
        # one future per holding: each one's delta notional is its notional (exposure 1)
        both = self._solve(
            [
                oh.Future("F", underlying="A", price=100.0),
                oh.Future("G", underlying="B", price=50.0),
            ]
        )
        table = both.allocation
        assert table.loc["F", "notional"] == pytest.approx(-6e5, rel=1e-6)
        assert table.loc["G", "notional"] == pytest.approx(-4e5, rel=1e-6)
        np.testing.assert_array_equal(table["delta_notional"], table["notional"])
        assert "es_95_with_mean" not in plain.risk.columns


# ----------------------------------------------------------- the tail rule's edges
class TestTailRuleEdges:
    def test_a_cumulative_probability_within_the_tolerance_reaches_alpha(self) -> None:
        # P(L <= 1) = 0.95 - 1e-12: within the 1e-12 value_at_risk documents it counts as
        # 0.95, so the VaR at 0.95 is 1; short by 2e-12 it does not: the next loss, 2.
        for extra, var in ((1e-12, 1.0), (2e-12, 2.0)):
            c = (1.0 - 0.95) + extra
            p = [1.0 - 0.3 - c, 0.3, c]
            assert value_at_risk([0.0, -1.0, -2.0], 0.95, p) == var

    def test_a_zero_probability_outcome_weighs_nothing_even_at_the_var(self) -> None:
        # At alpha below the 1e-12 tolerance the least loss, of probability 0, is the VaR
        # (its cumulative 0 is within 1e-12 of alpha): it weighs 0, and the ES is the mean
        # loss, 0.5 * 1 + 0.5 * 2.
        p = np.array([0.0, 0.5, 0.5])
        w, var = tail_weights(np.array([-5.0, 1.0, 2.0]), p, 1e-13)
        assert var == -5.0
        assert w[0] == 0.0
        np.testing.assert_allclose(w[1:], 0.5 / (1.0 - 1e-13), rtol=1e-15)
        es = expected_shortfall([5.0, -1.0, -2.0], 1e-13, p)
        assert es == pytest.approx(1.5, rel=1e-12)

    def test_float32_probabilities_are_weighed_in_float64(self) -> None:
        p32 = np.array([0.1, 0.3, 0.2, 0.4], dtype=np.float32)
        p = p32.astype(np.float64)  # the same numbers, summed in float64 below
        w, var = tail_weights(np.array([1.0, 2.0, 2.0, 3.0]), p32, 0.5)
        # the VaR is 2 (cumulative 0.1, 0.6 at the tie, 1.0); the tie shares what the
        # tail (0.5) has left beyond P(L > 2) = p[3], in proportion to p
        share = (0.5 - p[3]) / (p[1] + p[2])
        assert var == 2.0
        np.testing.assert_allclose(
            w, [0.0, share * p[1] / 0.5, share * p[2] / 0.5, p[3] / 0.5], rtol=1e-15
        )


@pytest.mark.parametrize("alpha", [0.0, 1.0, 1.5, float("nan"), None])
def test_tail_weights_refuse_a_level_outside_0_1(alpha: float) -> None:
    with pytest.raises(
        SpecificationError,
        match=rf"^The 'alpha' argument must be a finite number in \(0, 1\)\. Got {alpha!r}",
    ):
        tail_weights(np.array([1.0, 2.0]), np.array([0.5, 0.5]), alpha)


def test_hedged_returns_are_float64_whatever_the_inputs() -> None:
    book = np.array([0.01, -0.02], dtype=np.float32)
    inst = np.array([[1.0], [-1.0]], dtype=np.float32)
    got = hedged_returns(book, inst, np.array([0.5], dtype=np.float32))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, [0.01 + 0.5, -0.02 - 0.5], rtol=1e-6)


# ------------------------------------------------------------------- RiskModel
COV = pd.DataFrame([[0.04, 0.01], [0.01, 0.09]], index=["A", "B"], columns=["A", "B"])


class TestRiskModelFromCovariance:
    def test_window_and_asof_are_kept(self) -> None:
        asof = pd.Timestamp("2024-03-28")
        model = RiskModel.from_covariance(COV, window=252, asof=asof)
        assert model.window == 252
        assert model.asof == asof

    def test_an_object_frame_of_numbers_is_read_as_float(self) -> None:
        model = RiskModel.from_covariance(COV.astype(object))
        pd.testing.assert_frame_equal(model.covariance(), COV)

    def test_a_refusal_says_where_it_was_raised(self) -> None:
        bad = pd.DataFrame([[1.0, 2.0], [2.0, 1.0]], index=["A", "B"], columns=["A", "B"])
        with pytest.raises(EstimationDataError, match="positive semi-definite") as info:
            RiskModel.from_covariance(bad)
        assert info.value.__notes__ == [
            "raised while building RiskModel.from_covariance(covariance)"
        ]

    @pytest.mark.parametrize(
        ("assets", "factors", "message"),
        [
            (["A", "B", "A"], ["A", "B"], r"^The 'loadings' index \(assets\) repeat \['A'\]; "),
            (["A", "B"], ["F", "F"], r"^The 'loadings' columns \(factors\) repeat \['F'\]; "),
        ],
    )
    def test_repeated_loadings_labels_are_named(
        self, assets: list[str], factors: list[str], message: str
    ) -> None:
        loadings = pd.DataFrame(1.0, index=assets, columns=factors)
        factor_cov = pd.DataFrame(np.eye(2), index=factors, columns=factors)
        with pytest.raises(EstimationDataError, match=message + "each label must appear once"):
            RiskModel(loadings, factor_cov, pd.Series(0.0, index=assets))

    @pytest.mark.parametrize("which", ["loadings", "factor_cov"])
    def test_either_table_not_a_frame_is_refused(self, which: str) -> None:
        parts: dict[str, object] = {
            "loadings": pd.DataFrame(np.eye(2), index=["A", "B"], columns=["A", "B"]),
            "factor_cov": COV,
            "specific_var": pd.Series(0.0, index=["A", "B"]),
        }
        parts[which] = np.eye(2)
        with pytest.raises(
            EstimationDataError,
            match=r"^The 'loadings' and 'factor_cov' arguments must be DataFrames \(labelled\)",
        ):
            RiskModel(**parts)  # type: ignore[arg-type]


def _model(
    loadings: object = None, factor_cov: object = None, specific_var: object = None
) -> RiskModel:
    """Two assets on one factor, each table replaceable."""
    b = pd.DataFrame([[1.0], [0.5]], index=["A", "B"], columns=["F"])
    f = pd.DataFrame([[0.04]], index=["F"], columns=["F"])
    d = pd.Series([0.01, 0.02], index=["A", "B"])
    return RiskModel(
        b if loadings is None else loadings,  # type: ignore[arg-type]
        f if factor_cov is None else factor_cov,  # type: ignore[arg-type]
        d if specific_var is None else specific_var,  # type: ignore[arg-type]
    )


class TestRiskModelChecks:
    @pytest.mark.parametrize("table", ["loadings", "factor_cov", "specific_var"])
    @pytest.mark.parametrize("bad", [np.nan, np.inf])
    def test_a_non_finite_value_names_its_table(self, table: str, bad: float) -> None:
        parts = {
            "loadings": pd.DataFrame([[1.0], [bad]], index=["A", "B"], columns=["F"]),
            "factor_cov": pd.DataFrame([[bad]], index=["F"], columns=["F"]),
            "specific_var": pd.Series([0.01, bad], index=["A", "B"]),
        }
        with pytest.raises(
            EstimationDataError, match=rf"^The '{table}' argument holds NaN or infinite values\.$"
        ):
            _model(**{table: parts[table]})

    @pytest.mark.parametrize("table", ["loadings", "specific_var"])
    @pytest.mark.parametrize(
        ("value", "dtype"), [("x", "object"), ("0.5", "object"), (1j, "complex128")]
    )
    def test_a_value_that_is_not_a_real_number_names_its_table(
        self, table: str, value: object, dtype: str
    ) -> None:
        parts = {
            "loadings": pd.DataFrame([[1.0], [value]], index=["A", "B"], columns=["F"]),
            "specific_var": pd.Series([0.01, value], index=["A", "B"]),
        }
        with pytest.raises(
            EstimationDataError,
            match=rf"^The '{table}' argument must hold real numbers\. Got dtype {dtype}; "
            "convert text with pd.to_numeric",
        ):
            _model(**{table: parts[table]})

    def test_numbers_held_as_objects_are_kept_as_float64_copies(self) -> None:
        loadings = pd.DataFrame([[1], [0]], index=["A", "B"], columns=["F"]).astype(object)
        model = _model(loadings=loadings)
        assert list(model.loadings.dtypes) == [np.float64]
        assert model.factor_cov.dtypes.tolist() == [np.float64]
        assert model.specific_var.dtype == np.float64
        # B F B' + D by hand: 0.04 * [[1, 0], [0, 0]] + diag(0.01, 0.02)
        want = pd.DataFrame([[0.05, 0.0], [0.0, 0.02]], index=["A", "B"], columns=["A", "B"])
        pd.testing.assert_frame_equal(model.covariance(), want, rtol=0, atol=1e-17)
        loadings.iloc[1, 0] = 7  # the caller's frame changes; the model does not
        assert model.loadings.iloc[1, 0] == 0.0

    def test_only_negative_specific_variances_are_named(self) -> None:
        with pytest.raises(
            EstimationDataError,
            match=r"^The 'specific_var' argument must be >= 0\. Got negative values for \['B'\]\.$",
        ):
            _model(specific_var=pd.Series([0.0, -1e-6], index=["A", "B"]))  # A: 0 is allowed

    @pytest.mark.parametrize("shape", [(2, 0), (0, 1)])
    def test_no_asset_or_no_factor_is_refused(self, shape: tuple[int, int]) -> None:
        assets, factors = ["A", "B"][: shape[0]], ["F"][: shape[1]]
        with pytest.raises(
            EstimationDataError,
            match=rf"^The 'loadings' argument must name at least one asset and one factor\. "
            rf"Got shape \({shape[0]}, {shape[1]}\); for a covariance without factors use "
            r"RiskModel\.from_covariance",
        ):
            RiskModel(
                pd.DataFrame(np.ones(shape), index=assets, columns=factors),
                pd.DataFrame(np.eye(shape[1]) * 0.04, index=factors, columns=factors),
                pd.Series(0.0, index=assets, dtype=float),
            )

    # the tolerances are relative to the covariance's largest entry: a daily covariance
    # (entries ~1e-4) is held to 1e-16 absolute asymmetry and -1e-14 eigenvalues
    @pytest.mark.parametrize(
        ("gap", "refused"),
        [(1e-14, True), (3e-16, True), (1e-17, False)],
        ids=["1e-10 rel", "3e-12 rel", "1e-13 rel"],
    )
    def test_symmetry_is_judged_relative_to_the_covariance_scale(
        self, gap: float, refused: bool
    ) -> None:
        f = [[1e-4, 0.5e-4 + gap], [0.5e-4, 1e-4]]
        if refused:
            with pytest.raises(
                EstimationDataError, match=r"^The 'factor_cov' argument must be symmetric"
            ):
                _two_factors(f)
        else:
            _two_factors(f)

    @pytest.mark.parametrize(
        ("gap", "refused"), [(1e-13, True), (1e-15, False)], ids=["1e-9 rel", "1e-11 rel"]
    )
    def test_semi_definiteness_is_judged_relative_to_the_covariance_scale(
        self, gap: float, refused: bool
    ) -> None:
        # [[v, v + g], [v + g, v]] has eigenvalues 2v + g and -g
        v = 1e-4
        f = [[v, v + gap], [v + gap, v]]
        if refused:
            with pytest.raises(EstimationDataError, match=r"positive semi-definite"):
                _two_factors(f)
        else:
            _two_factors(f)

    def test_an_eigenvalue_at_the_tolerance_is_admitted(self) -> None:
        """Refused only *below* -1e-10 of the largest entry: exactly there is accepted."""
        _two_factors(np.diag([1.0, -1e-10]))
        with pytest.raises(EstimationDataError, match=r"positive semi-definite"):
            _two_factors(np.diag([1.0, -1.5e-10]))


def _two_factors(factor_cov: Any) -> RiskModel:
    """Assets A and B, each its own factor F or G, no specific variance."""
    return RiskModel(
        pd.DataFrame(np.eye(2), index=["A", "B"], columns=["F", "G"]),
        pd.DataFrame(factor_cov, index=["F", "G"], columns=["F", "G"]),
        pd.Series(0.0, index=["A", "B"]),
    )


# ------------------------------------------------------------------ constraints
@pytest.mark.parametrize("band", [ResidualBeta, FactorExposure])
@pytest.mark.parametrize("side", ["min", "max"])
def test_a_band_names_its_bad_side(band: type, side: str) -> None:
    kwargs = {"min": -1.0, "max": 1.0, side: float("nan")}
    if band is FactorExposure:
        kwargs["factor"] = "MKT"
    with pytest.raises(
        ConstraintSpecificationError,
        match=rf"^The '{side}' parameter of {band.__name__} must be a finite number\. Got nan",
    ):
        band(**kwargs)


@pytest.mark.parametrize(
    ("term", "key", "description", "owner"),
    [
        (lambda: Turnover(0.5), "turnover.max", "sum |trade| / book value", "Turnover(max=0.5)"),
        (
            lambda: GrossExposure(0.5),
            "gross_exposure.max",
            "gross delta notional / book value",
            "GrossExposure(max=0.5)",
        ),
    ],
)
def test_a_limit_describes_its_parameter(
    term: Callable[[], Constraint], key: str, description: str, owner: str
) -> None:
    problem = oh.HedgeProblem(
        oh.Portfolio.from_holdings({"A": 1e6}),
        [oh.Future("F", underlying="A", price=100.0)],
        objective=oh.Variance(),
        constraints=[term()],
        risk_model=RiskModel.from_covariance(COV),
    )
    row = problem.parameters.loc[key]
    assert row["description"] == description
    assert row["range"] == "[0, inf)"
    assert row["owner"] == owner


# ------------------------------------------------------- covariances read off a factor model
# Sigma = B F B' + diag(D), written out in the test; a factor's covariance with the assets is
# B F[:, j] (an asset's return is B r_f + e, e uncorrelated with the factors).
LOADINGS = pd.DataFrame(
    [[1.0, 0.2], [0.5, -0.3], [1.5, 0.8]], index=["A1", "A2", "A3"], columns=["MKT", "SMB"]
)
FACTOR_COV = pd.DataFrame(
    [[0.04, 0.01], [0.01, 0.02]], index=["MKT", "SMB"], columns=["MKT", "SMB"]
)
SPECIFIC = pd.Series([0.01, 0.02, 0.03], index=["A1", "A2", "A3"])
_B, _F = LOADINGS.to_numpy(), FACTOR_COV.to_numpy()
SIGMA = _B @ _F @ _B.T + np.diag(SPECIFIC.to_numpy())  # written out, not the model's


def _factor_model() -> RiskModel:
    return RiskModel(loadings=LOADINGS, factor_cov=FACTOR_COV, specific_var=SPECIFIC)


@pytest.mark.parametrize(("label", "i"), [("A1", 0), ("A2", 1), ("A3", 2)])
def test_covariance_with_an_asset_is_its_column_of_sigma(label: str, i: int) -> None:
    col, var = covariance_with(_factor_model(), label)
    np.testing.assert_allclose(col, SIGMA[:, i], rtol=1e-14, atol=0.0)
    assert var == pytest.approx(SIGMA[i, i], rel=1e-14)


@pytest.mark.parametrize(("label", "j"), [("MKT", 0), ("SMB", 1)])
def test_covariance_with_a_factor_is_b_f_column(label: str, j: int) -> None:
    col, var = covariance_with(_factor_model(), label)
    np.testing.assert_allclose(col, _B @ _F[:, j], rtol=1e-14, atol=0.0)
    assert var == _F[j, j]


def test_covariance_with_an_unknown_label_names_it() -> None:
    with pytest.raises(MissingLabelsError, match=r"Unknown market or factor 'HML'"):
        covariance_with(_factor_model(), "HML")


def _hedge_data(
    model: RiskModel | None = None,
    book: tuple[float, ...] = (0.6, 0.4, 0.0),
    exposures: dict[str, list[float]] | None = None,
) -> HedgeData:
    """By default a 60/40 book of A1 and A2 on the factor model, and two hedges: F on A3,
    G on A1 and A2 at -1 each."""
    model = _factor_model() if model is None else model
    if exposures is None:
        exposures = {"F": [0.0, 0.0, 1.0], "G": [-1.0, -1.0, 0.0]}
    instruments = pd.Index(list(exposures))
    return HedgeData(
        instruments=instruments,
        assets=model.assets,
        book=pd.Series(book, index=model.assets),
        exposures=pd.DataFrame(exposures, index=model.assets),
        attributes=pd.DataFrame(index=instruments),
        current=pd.Series(0.0, index=instruments),
        risk_models={"m": model},
    )


def test_beta_coefficients_to_an_asset_and_to_a_factor() -> None:
    """Residual beta to m is (book + E x) . Sigma[:, m] / Sigma[m, m]: c = E' s, c0 = book . s."""
    data = _hedge_data()
    exposures = np.array([[0.0, -1.0], [0.0, -1.0], [1.0, 0.0]])
    book = np.array([0.6, 0.4, 0.0])
    for label, column, var in (
        ("A3", SIGMA[:, 2], SIGMA[2, 2]),
        ("MKT", _B @ _F[:, 0], _F[0, 0]),
        ("A3", SIGMA[:, 2], SIGMA[2, 2]),  # read again: the answer kept for this label
    ):
        c, c0 = data.beta_coefficients(label)
        np.testing.assert_allclose(c, exposures.T @ (column / var), rtol=1e-14, atol=0.0)
        assert c0 == pytest.approx(book @ (column / var), rel=1e-14)


def test_beta_to_a_factor_without_variance_is_refused() -> None:
    b = pd.DataFrame([[1.0, 0.0], [0.5, 0.0]], index=["A", "B"], columns=["F", "Z"])
    f = pd.DataFrame([[0.04, 0.0], [0.0, 0.0]], index=["F", "Z"], columns=["F", "Z"])
    model = RiskModel(b, f, pd.Series([0.01, 0.02], index=["A", "B"]))
    data = _hedge_data(model, book=(1.0, 0.0), exposures={"F": [0.0, 1.0]})
    with pytest.raises(
        ConstraintSpecificationError,
        match=r"^Beta to 'Z' is undefined: its variance in the risk model is 0\.0\.",
    ):
        data.beta_coefficients("Z")
    assert data.beta_coefficients("F")[1] == pytest.approx(1.0)  # A loads 1 on F: beta 1


def test_variance_in_asset_order_reads_numbers_held_as_objects() -> None:
    """Decimals (a database's DECIMAL column through pandas) count as the numbers they are."""
    from decimal import Decimal

    model = _factor_model()
    as_objects = np.array([Decimal("0.5"), Decimal("-0.25"), Decimal("1")], dtype=object)
    w = np.array([0.5, -0.25, 1.0])
    expected = w @ SIGMA @ w
    assert model.variance_in_asset_order(as_objects) == pytest.approx(expected, rel=1e-14)


class TestHedgeDataAttribute:
    """An attribute in instrument order: the instruments' column, else its documented
    default; read-only, kept per name, and a copy the frame's later edits leave alone."""

    def _data(self) -> HedgeData:
        data = _hedge_data()
        attributes = pd.DataFrame({"cost": [0.001, 0.002], "adv": [3, 4]}, index=["F", "G"])
        return dataclasses.replace(data, attributes=attributes)

    def test_a_stated_column_in_float64(self) -> None:
        data = self._data()
        adv = data.attribute("adv")  # stated as integers
        assert adv.dtype == np.float64
        np.testing.assert_array_equal(adv, [3.0, 4.0])
        np.testing.assert_array_equal(data.attribute("cost"), [0.001, 0.002])

    def test_an_unstated_attribute_takes_its_default(self) -> None:
        data = self._data()
        np.testing.assert_array_equal(data.attribute("upper"), [math.inf, math.inf])
        np.testing.assert_array_equal(data.attribute("lower"), [-math.inf, -math.inf])
        np.testing.assert_array_equal(data.attribute("delta"), [0.0, 0.0])

    def test_read_only_kept_and_copied(self) -> None:
        data = self._data()
        cost = data.attribute("cost")
        with pytest.raises(ValueError, match="read-only"):
            cost[0] = 1.0
        with pytest.raises(ValueError, match="read-only"):
            data.attribute("upper")[0] = 1.0
        assert data.attribute("cost") is cost
        assert not np.shares_memory(cost, data.attributes["cost"].to_numpy())
        data.attributes.loc["F", "cost"] = 9.0  # an edit of the frame after the read
        np.testing.assert_array_equal(cost, [0.001, 0.002])

    def test_an_unknown_attribute_is_named_with_the_known_ones(self) -> None:
        with pytest.raises(ConstraintSpecificationError) as caught:
            self._data().attribute("volume")
        assert str(caught.value) == (
            "No instrument attribute 'volume'; known: ['adv', 'annual_premium', 'carry_long', "
            "'carry_short', 'contract_value', 'cost', 'delta', 'gamma', 'gross_weight', "
            "'lower', 'premium', 'scenario_only', 'theta', 'upper', 'vega']."
        )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: GrossExposure(-1),
            "The 'max' parameter of GrossExposure must be a finite number >= 0. Got -1.0 instead.",
        ),
        (  # an open lower end: days must be positive
            lambda: Liquidity(0.1, days=0),
            "The 'days' parameter of Liquidity must be a finite number > 0. Got 0.0 instead.",
        ),
        (  # no lower end at all
            lambda: Bounds(lower=float("nan")),
            "The 'lower' parameter of Bounds must be a finite number. Got nan instead.",
        ),
    ],
)
def test_a_limit_states_its_lower_end(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ConstraintSpecificationError) as caught:
        build()
    assert str(caught.value) == message


class TestParameterSpecCheck:
    """A parameter's value is checked against its own range, ends as declared."""

    def test_a_closed_upper_end_is_admitted(self) -> None:
        spec = ParameterSpec("desk.share", 0.5, lower=0.0, upper=1.0)
        assert spec.check(1.0) == 1.0
        assert spec.check(0) == 0.0
        with pytest.raises(ConstraintSpecificationError) as caught:
            spec.check(1.5)
        assert str(caught.value) == (
            "The 'desk.share' parameter must be a finite number in [0, 1]. Got 1.5 instead."
        )

    def test_open_ends_are_refused_and_the_hint_is_added(self) -> None:
        spec = ParameterSpec(
            "desk.level",
            0.9,
            lower=0.5,
            upper=1.0,
            lower_open=True,
            upper_open=True,
            hint="Pass a level such as 0.95.",
        )
        for value in (0.5, 1.0):
            with pytest.raises(ConstraintSpecificationError) as caught:
                spec.check(value)
            assert str(caught.value) == (
                "The 'desk.level' parameter must be a finite number in (0.5, 1). "
                f"Got {value!r} instead. Pass a level such as 0.95."
            )
        assert spec.check(0.75) == 0.75


def test_a_row_reads_its_limit_as_float64_in_its_values_shape() -> None:
    """A limit a term set as an int (cvxpy keeps the int) is read as float64, and a scalar
    limit of a vector row is repeated once per element."""
    x = cp.Variable(2)
    cap = cp.Parameter()
    cap.value = 2  # cvxpy's own setter keeps the int
    row = Row("desk.max", x <= cap, x, cap, "<=", labels=("a", "b"))
    x.value = np.array([2.0, 1.5])  # as a solve would leave it: the first at its limit
    limits = row.limit_values()
    assert limits.dtype == np.float64
    np.testing.assert_array_equal(limits, [2.0, 2.0])
    np.testing.assert_array_equal(row.values(), [2.0, 1.5])
    np.testing.assert_array_equal(row.slacks(row.values(), limits), [0.0, 0.5])


class TestInstrumentAttributes:
    """The per-unit numbers the constraints read, from the base class (no override)."""

    def _basket(self) -> VolScaledBasket:
        return VolScaledBasket(
            label="VB", price=20.0, multiplier=10.0, cost=0.002, adv=5e5, lower=-2.0, upper=3.0
        )

    def test_without_a_market_the_own_price(self) -> None:
        assert self._basket().attributes() == pytest.approx(
            {
                "gross_weight": 1.0,  # |0.6| + |-0.4|
                "delta": 0.2,  # 0.6 - 0.4
                "cost": 0.002,
                "adv": 5e5,
                "contract_value": 200.0,  # 20 x 10
                "lower": -2.0,
                "upper": 3.0,
            },
            rel=1e-15,
        )

    def test_in_a_market_its_price_and_exposures(self) -> None:
        market = oh.MarketState(
            volatility=pd.Series({"A": 0.4}), prices=pd.Series({"VB": 25.0, "X": 1.0})
        )
        got = self._basket().attributes(market)  # scale 0.20 / 0.40 = 0.5
        assert got["gross_weight"] == pytest.approx(0.5, rel=1e-15)
        assert got["delta"] == pytest.approx(0.1, rel=1e-15)
        assert got["contract_value"] == 250.0  # the market's 25 x 10
        assert market.price_of(self._basket()) == 25.0

    def test_a_market_without_its_price_uses_the_own_one(self) -> None:
        market = oh.MarketState(volatility=pd.Series({"A": 0.2}), prices=pd.Series({"X": 1.0}))
        assert self._basket().attributes(market)["contract_value"] == 200.0
        assert market.price_of(self._basket()) == 20.0


@pytest.mark.parametrize(
    ("fields", "provided"),
    [
        ({}, set()),
        ({"spot": pd.Series({"A": 100.0})}, {"spot"}),
        ({"volatility": pd.Series({"A": 0.2})}, {"volatility"}),
        ({"dividend_yield": pd.Series({"A": 0.01})}, {"dividend_yield"}),
        ({"prices": pd.Series({"F": 5.0})}, {"prices"}),
        ({"asof": pd.Timestamp("2026-01-02")}, {"asof"}),
        (
            {
                "spot": pd.Series({"A": 100.0}),
                "volatility": pd.Series({"A": 0.2}),
                "dividend_yield": pd.Series({"A": 0.01}),
                "prices": pd.Series({"F": 5.0}),
                "asof": pd.Timestamp("2026-01-02"),
                "rate": 0.03,  # a number, always there: never listed
            },
            {"spot", "volatility", "dividend_yield", "prices", "asof"},
        ),
    ],
)
def test_a_market_says_which_fields_it_provides(fields: dict[str, Any], provided: set[str]) -> None:
    assert oh.MarketState(**fields).provides() == frozenset(provided)


@pytest.mark.parametrize(
    ("band", "key", "what"),
    [
        (lambda: ResidualBeta(min=-0.1, max=0.2), "residual_beta", "beta of the hedged book"),
        (
            lambda: FactorExposure("A", min=-0.1, max=0.2),
            "factor_exposure[A]",
            "loading of the hedged book",
        ),
    ],
)
def test_a_band_describes_each_side(band: Callable[[], Constraint], key: str, what: str) -> None:
    specs = {spec.key: spec.description for spec in band().parameters()}
    assert specs == {f"{key}.min": f"min {what}", f"{key}.max": f"max {what}"}


def test_a_residual_beta_to_a_named_factor_shows_it() -> None:
    assert repr(ResidualBeta(max=0.1, factor="MKT")) == "ResidualBeta(max=0.1, factor='MKT')"
    assert repr(ResidualBeta(max=0.1)) == "ResidualBeta(max=0.1)"


def test_implausible_expected_returns_warn_at_the_callers_line() -> None:
    """The DataWarning points at the line that built the ExpectedPnL, not into the library."""
    with pytest.warns(DataWarning, match="above \\+100% over the horizon") as caught:
        ExpectedPnL(0.0, expected_returns=pd.Series({"A": 1.5}))
    assert [(w.filename, w.category) for w in caught] == [(__file__, DataWarning)]


# ------------------------------------------------ WholeContracts and contract-less instruments
@dataclass(frozen=True, kw_only=True)
class OtcSwap(oh.Instrument):
    """A user's instrument with no contract (an OTC swap): any amount trades."""

    def exposures(self, market: oh.MarketState | None = None) -> dict[str, float]:
        return {"A": 1.0}

    def attributes(self, market: oh.MarketState | None = None) -> dict[str, float]:
        return super().attributes(market) | {"contract_value": self.contract}

    contract: float = 0.0


def _swap_problem(contract: float, whole: WholeContracts) -> oh.HedgeProblem:
    return oh.HedgeProblem(
        oh.Portfolio.from_holdings({"A": 1e6}),
        [OtcSwap(label="S", contract=contract)],
        objective=oh.Variance(),
        constraints=[whole],
        risk_model=RiskModel.from_covariance(COV.loc[["A"], ["A"]]),
    )


@pytest.mark.parametrize("contract", [0.0, math.nan])
def test_whole_contracts_leaves_an_instrument_without_contracts_continuous(
    contract: float,
) -> None:
    """Its swap hedges the book fully (x = -1), as without the constraint."""
    result = _swap_problem(contract, WholeContracts()).solve()
    assert result.weights["S"] == pytest.approx(-1.0, abs=1e-6)


@pytest.mark.parametrize("contract", [0.0, math.nan, -5.0])
def test_whole_contracts_refuses_a_named_instrument_without_contracts(contract: float) -> None:
    with pytest.raises(
        ConstraintSpecificationError,
        match=r"^WholeContracts: instruments \['S'\] have no contract value\.",
    ):
        _swap_problem(contract, WholeContracts(["S"])).solve()


def test_tail_weights_read_numbers_held_as_objects() -> None:
    """Decimal losses (a database's DECIMAL column through pandas) weigh as the numbers they
    are. By hand, alpha = 0.6, four outcomes of 1/4: the tail of 0.4 holds all of the worst
    (0.25) and 0.15 of the next, so weights 0.15/0.4 and 0.25/0.4 and the VaR is 0.3."""
    from decimal import Decimal

    losses = np.array([Decimal("0.1"), Decimal("0.2"), Decimal("0.3"), Decimal("0.4")])
    weights, var = tail_weights(losses, np.full(4, 0.25), 0.6)
    np.testing.assert_allclose(weights, [0.0, 0.0, 0.375, 0.625], rtol=1e-12, atol=0.0)
    assert var == 0.3

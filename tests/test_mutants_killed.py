"""Tests written to kill survivors of ``make mutants`` (issue 24), module by module.

Every expected number is computed here by hand or with numpy/scipy, never by the code
under test.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

import constraints
import optihedge as oh
from optihedge.errors import DataError, MissingLabelsError
from optihedge.measures.contributions import (
    check_tail,
    tail_summary,
    tail_weights,
    volatility_contributions,
    weighted_moments,
)


# ------------------------------------------------------------------ constraints.__dir__
def test_dir_of_constraints_lists_its_globals_and_its_public_names() -> None:
    listed = dir(constraints)
    assert listed == sorted(listed)
    assert set(constraints.__all__) <= set(listed)
    # a module global that is not public is listed too: the union, not the intersection
    assert "__name__" in listed
    assert set(vars(constraints)) <= set(listed)


# ------------------------------------------------------------------ reductions
@pytest.mark.parametrize("held", [0.0, -0.2])
def test_a_reduction_of_a_holding_not_held_long_is_refused(held: float) -> None:
    sell = oh.PositionReduction(label="sell A", holding="A")
    with pytest.raises(MissingLabelsError, match="'A', which the portfolio does not hold long"):
        sell.bounds(pd.Series({"A": held, "B": 0.5}))


def test_a_reduction_sells_at_most_the_holding() -> None:
    sell = oh.PositionReduction(label="sell A", holding="A")
    assert sell.bounds(pd.Series({"A": 0.3, "B": 0.5})) == (-0.3, 0.0)


# ------------------------------------------------------------------ contributions
def test_check_tail_accepts_a_tail_of_exactly_one_scenario_of_unequal_probabilities() -> None:
    # tail 0.25 = one of four scenarios' worth of mass, below the largest probability 0.7
    p = np.array([0.7, 0.1, 0.1, 0.1])
    check_tail(0.75, p)  # no error: 0.25 * 4 = 1 scenario
    with pytest.raises(DataError, match="alpha=0.8 leaves a tail of 0.8"):
        check_tail(0.8, p)


def test_check_tail_allows_a_tail_within_1e15_of_the_largest_probability() -> None:
    n = 4000
    p = np.full(n, 1.0 / n)
    alpha = 1.0 - (1.0 / n - 0.6e-15)  # tail 0.6e-15 short of one scenario: rounding
    tail = 1.0 - alpha
    assert 1.0 / n - 1e-15 < tail < 1.0 / n  # the premise, checked
    assert tail * n < 1.0 - 1e-12
    check_tail(alpha, p)  # no error
    with pytest.raises(DataError, match="fewer than one"):
        check_tail(1.0 - (1.0 / n - 2e-15), p)


def test_tail_summary_counts_its_tail_scenarios() -> None:
    losses = np.array([5.0, 1.0, 3.0, 4.0, 2.0, 0.0, -1.0, 6.0])
    p = np.full(8, 1 / 8)
    out = tail_summary(losses, p, 0.75)
    assert out["tail_scenarios"] == 2  # the two worst: 6 and 5
    assert out["var"] == 4.0
    assert out["es"] == pytest.approx(5.5)


def test_tail_weights_clamp_to_the_worst_scenario_when_probabilities_fall_short() -> None:
    # probabilities summing to 0.5 < alpha: no cumulative mass reaches alpha, the VaR is
    # the worst loss (the last scenario in order), not an index past the end
    losses = np.array([2.0, 7.0, 1.0])
    _, var = tail_weights(losses, np.array([0.2, 0.2, 0.1]), 0.9)
    assert var == 7.0


def test_weighted_moments_cover_every_column_beyond_one_chunk() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=(5, 600))
    weights = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
    mean, second = weighted_moments(values, weights)
    for j in (0, 255, 256, 511, 512, 599):
        assert mean[j] == pytest.approx(sum(weights[i] * values[i, j] for i in range(5)))
        assert second[j] == pytest.approx(sum(weights[i] * values[i, j] ** 2 for i in range(5)))


def _model() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b = np.array([[1.0, 0.5], [0.2, 1.5], [0.8, -0.4]])
    f = np.array([[0.04, 0.01], [0.01, 0.09]])
    d = np.array([0.01, 0.02, 0.03])
    return b, f, d


def test_volatility_contributions_of_a_flat_position_are_all_zero() -> None:
    b, f, d = _model()
    out = volatility_contributions(np.zeros((3, 2)), b, f, d)
    assert set(out) == {"by_part", "by_factor", "specific", "volatility"}
    np.testing.assert_array_equal(out["by_part"], np.zeros(2))
    np.testing.assert_array_equal(out["by_factor"], np.zeros(2))
    assert out["specific"] == 0.0
    assert out["volatility"] == 0.0


def test_volatility_contributions_of_a_unit_volatility_position() -> None:
    # one asset with specific variance 1 and no factor loading: volatility exactly 1
    b = np.zeros((2, 1))
    f = np.array([[0.04]])
    d = np.array([1.0, 0.5])
    parts = np.array([[0.25, 0.75], [0.0, 0.0]])
    out = volatility_contributions(parts, b, f, d)
    assert out["volatility"] == 1.0
    np.testing.assert_allclose(out["by_part"], [0.25, 0.75])
    assert out["specific"] == 1.0


def test_volatility_contributions_report_the_volatility() -> None:
    b, f, d = _model()
    parts = np.array([[0.5, -0.2], [0.3, 0.0], [0.0, 0.4]])
    z = parts.sum(axis=1)
    sigma = b @ f @ b.T + np.diag(d)
    vol = math.sqrt(z @ sigma @ z)
    out = volatility_contributions(parts, b, f, d)
    assert out["volatility"] == pytest.approx(vol, rel=1e-12)
    np.testing.assert_allclose(out["by_part"], parts.T @ sigma @ z / vol, rtol=1e-12)


# ------------------------------------------------------- optimize/result.py, optimize/assemble.py
def _hand_var_es(loss: np.ndarray, p: np.ndarray, alpha: float) -> tuple[float, float]:
    """VaR: the smallest loss whose cumulative probability reaches alpha; ES: the mean loss
    over the worst 1 - alpha of probability, the boundary scenario taken in part."""
    up = np.argsort(loss)
    cum = np.cumsum(p[up])
    var = float(loss[up][np.argmax(cum >= alpha)])
    tail, taken, total = 1.0 - alpha, 0.0, 0.0
    for i in up[::-1]:
        take = min(float(p[i]), tail - taken)
        if take <= 0:
            break
        total += take * float(loss[i])
        taken += take
    return var, total / tail


class TestResultNumbers:
    """A future and an ETF hedge three stocks; 40 scenarios of unequal probabilities."""

    ASSETS: ClassVar[list[str]] = ["A", "B", "C", "IDX"]
    HOLDINGS: ClassVar[dict[str, float]] = {"A": 5e5, "B": 3e5, "C": 2e5}
    HORIZON = 10

    @pytest.fixture(scope="class")
    @classmethod
    def setup(cls) -> dict[str, object]:
        from cases import three_stocks

        from constraints import Bounds, ResidualBeta

        daily = three_stocks(500, seed=23, start="2019-01-01")
        cov = np.cov(daily[cls.ASSETS].to_numpy(), rowvar=False, ddof=0)
        model = oh.RiskModel.from_covariance(
            pd.DataFrame(cov, index=cls.ASSETS, columns=cls.ASSETS)
        )
        rng = np.random.default_rng(1)
        returns = pd.DataFrame(rng.normal(0.0, 0.03, (40, 4)), columns=cls.ASSETS)
        p = rng.uniform(0.5, 1.5, 40)
        p /= p.sum()
        future = oh.Future("F", underlying="IDX", price=4000.0, multiplier=50.0, carry=0.012)
        etf = oh.ETF("E", underlying="IDX", price=400.0, expense_ratio=0.003, borrow_fee=0.02)

        def solve(instruments: list[oh.Instrument], limits: list[object], **kw: object):  # type: ignore[no-untyped-def]
            return oh.HedgeProblem(
                oh.Portfolio.from_holdings(cls.HOLDINGS),
                instruments,
                objective=oh.Variance(),
                constraints=limits,  # type: ignore[arg-type]
                risk_model=model,
                horizon=cls.HORIZON,
                market="IDX",
                **kw,  # type: ignore[arg-type]
            ).solve()

        scenarios = oh.Scenarios.from_returns(returns, horizon=cls.HORIZON, probabilities=list(p))
        two = solve(
            [future, etf],
            [ResidualBeta(min=0.3), Bounds(upper={"E": -0.05})],
            scenarios=scenarios,
        )
        return {
            "cov": cov,
            "returns": returns.to_numpy(),
            "p": p,
            "two": two,
            "solve": solve,
            "future": future,
            "ResidualBeta": ResidualBeta,
        }

    def _pnl(self, setup: dict[str, object]) -> dict[str, np.ndarray]:
        r = setup["returns"]
        result = setup["two"]
        book = np.array([self.HOLDINGS.get(a, 0.0) / 1e6 for a in self.ASSETS])
        before = r @ book  # type: ignore[operator]
        hedge = float(result.weights.sum()) * r[:, 3]  # type: ignore[attr-defined,index]
        return {"before": before, "after": before + hedge}

    def test_scenario_var_and_es_weigh_the_scenarios_by_their_probabilities(
        self, setup: dict[str, object]
    ) -> None:
        risk = setup["two"].risk  # type: ignore[attr-defined]
        p = setup["p"]
        assert risk.attrs["scenario_alpha"] == 0.95
        for side, pnl in self._pnl(setup).items():
            var, es = _hand_var_es(-pnl, p, 0.95)  # type: ignore[arg-type]
            assert risk.loc[side, "scenario_var"] == pytest.approx(var, rel=1e-9)
            assert risk.loc[side, "scenario_es"] == pytest.approx(es, rel=1e-9)
            assert risk.loc[side, "tail_scenarios"] == np.count_nonzero(-pnl > var)
            # equal weights would give another answer: the probabilities matter here
            assert _hand_var_es(-pnl, np.full(40, 1 / 40), 0.95)[1] != pytest.approx(es)

    def test_explain_states_every_number_and_both_binding_limits(
        self, setup: dict[str, object]
    ) -> None:
        result = setup["two"]
        explained = result.explain(0.25)  # type: ignore[attr-defined]
        n = explained.numbers
        assert n["market"] == "IDX"
        assert n["capital"] == 1e6
        assert n["currency"] == "USD"
        assert n["horizon_days"] == self.HORIZON
        assert n["annual_premium"] == 0.0  # no option
        assert n["binding"] == ["residual_beta.min", "bounds.upper[E]"]
        assert n["band_tolerance"] == 0.25
        for side, pnl in self._pnl(setup).items():
            es = _hand_var_es(-pnl, setup["p"], 0.95)[1]  # type: ignore[arg-type]
            assert n[f"es_{side}"] == pytest.approx(es, rel=1e-9)
        assert "; residual beta >= 0.3, bounds E <= -0.05 bind; " in explained.sentence

    @pytest.mark.parametrize(
        ("limit", "words"),
        [
            ({"min": 0.3}, "; residual beta >= 0.3 binds; "),
            ({"max": -0.2}, "; residual beta <= -0.2 binds; "),
            (None, "; budget = -0.5 binds; "),
            ({}, "; no limit binds; "),
        ],
    )
    def test_explain_states_one_limit_with_its_sense(
        self, setup: dict[str, object], limit: dict[str, float] | None, words: str
    ) -> None:
        residual_beta = setup["ResidualBeta"]
        if limit is None:
            limits = [oh.constraints.Budget(total=-0.5)]
        else:
            limits = [residual_beta(**limit)] if limit else []  # type: ignore[operator]
        result = setup["solve"]([setup["future"]], limits)  # type: ignore[operator]
        assert words in result.explain().sentence

    def test_explain_refuses_a_tolerance_that_is_not_positive(
        self, setup: dict[str, object]
    ) -> None:
        result = setup["two"]
        for tau in (0.0, -0.1):
            with pytest.raises(oh.errors.SpecificationError, match="'tolerance'.*> 0|'tolerance'"):
                result.explain(tau)  # type: ignore[attr-defined]

    def test_a_result_without_risk_inputs_names_what_it_cannot_do(
        self, setup: dict[str, object], tmp_path: object
    ) -> None:
        bare = setup["two"].detached()  # type: ignore[attr-defined]
        err = oh.errors.SpecificationError
        with pytest.raises(err, match="^Cannot explain this result: it carries no risk"):
            bare.explain()
        with pytest.raises(err, match="^Cannot attribute this result: it carries no risk"):
            bare.attribution()
        with pytest.raises(err, match="^Cannot report on this result: it carries no risk"):
            bare.report(tmp_path / "r.html")  # type: ignore[operator]
        # called without a verb (a user's own use of the inputs): "use"
        with pytest.raises(err, match="^Cannot use this result: it carries no risk"):
            bare.solved_inputs()

    @pytest.mark.parametrize("alpha", [0.0, 1.0, 1.5])
    def test_attribution_refuses_an_alpha_outside_0_1(
        self, setup: dict[str, object], alpha: float
    ) -> None:
        with pytest.raises(
            oh.errors.SpecificationError,
            match=r"The 'alpha' argument must be a finite number in \(0, 1\)\. Got",
        ):
            setup["two"].attribution(measure="expected_shortfall", alpha=alpha)  # type: ignore[attr-defined]

    def test_attribution_by_default_splits_the_volatility_by_factor_over_the_horizon(
        self, setup: dict[str, object]
    ) -> None:
        table = setup["two"].attribution()  # type: ignore[attr-defined]
        assert table.attrs["by"] == "factor"
        assert list(table.index)[-2:] == ["specific", "total"]
        assert table.attrs["units"] == f"fraction of capital over {self.HORIZON} trading days"
        book = np.array([self.HOLDINGS.get(a, 0.0) / 1e6 for a in self.ASSETS])
        sigma = setup["cov"] * self.HORIZON  # type: ignore[operator]
        assert table.loc["total", "before"] == pytest.approx(math.sqrt(book @ sigma @ book))

    def test_report_carries_its_title_and_inputs(
        self, setup: dict[str, object], tmp_path: object
    ) -> None:
        out = setup["two"].report(  # type: ignore[attr-defined]
            tmp_path / "hedge.html",  # type: ignore[operator]
            title="Hedge T1",
            inputs={"data source": "sample 2019"},
        )
        html = out.read_text()
        assert "Hedge T1" in html
        assert "data source" in html
        assert "sample 2019" in html


# ------------------------------------------------------------------ measures/risk.py
def test_scale_to_horizon_of_a_series_keeps_its_labels_and_refuses_a_negative_vol() -> None:
    from optihedge.measures.risk import scale_to_horizon

    sigma = pd.Series([0.01, 0.02], index=["x", "y"], name="daily vol")
    out = scale_to_horizon(sigma, 4)
    assert out.name == "daily vol"
    assert list(out.index) == ["x", "y"]
    np.testing.assert_allclose(out.to_numpy(), [0.02, 0.04])  # sqrt(4) = 2
    with pytest.raises(
        DataError,
        match=r"^The 'sigma' argument must hold finite numbers in \[0, inf\)\. Got -0\.2 at",
    ):
        scale_to_horizon(pd.Series([0.1, -0.2]), 5)


def test_scale_to_horizon_of_an_array_and_of_a_zero_d_array() -> None:
    from optihedge.measures.risk import scale_to_horizon

    out = scale_to_horizon(np.array([0.01, 0.03]), 9)  # sqrt(9) = 3
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, [0.03, 0.09], rtol=1e-15)
    zero_d = scale_to_horizon(np.array(0.02), 16)  # sqrt(16) = 4
    assert type(zero_d) is float
    assert zero_d == pytest.approx(0.08, rel=1e-15)


# ------------------------------------------------------------------ measures/sizing.py
def test_min_variance_hedge_ratio_names_both_series_when_their_labels_differ() -> None:
    days = pd.bdate_range("2024-01-01", periods=4)
    spot = pd.Series([0.01, -0.02, 0.03, 0.0], index=days)
    hedge = pd.Series(
        [0.02, -0.01, 0.01, 0.03], index=days[[0, 1, 2]].append(days[[3]] + pd.Timedelta(days=7))
    )
    with pytest.raises(MissingLabelsError) as caught:
        oh.min_variance_hedge_ratio(spot, hedge)
    text = str(caught.value)
    assert text.startswith("The labels of 'exposure_changes' and 'hedge_changes' differ: ")
    assert "only in 'exposure_changes', " in text
    assert text.endswith("only in 'hedge_changes'. Reindex both to the same labels before calling.")


def test_min_variance_hedge_ratio_of_two_observations_is_their_slope() -> None:
    # two points fix the least-squares line: its slope is (0.03 - 0.01) / (0.02 - -0.02)
    assert oh.min_variance_hedge_ratio([0.01, 0.03], [-0.02, 0.02]) == pytest.approx(0.5, rel=1e-14)
    with pytest.raises(
        DataError, match=r"^The 'hedge_changes' argument needs at least 2 observations\. Got 1\.$"
    ):
        oh.min_variance_hedge_ratio([0.01], [0.02])


def test_max_drawdown_of_a_frame_is_a_series_by_column_and_names_bad_returns() -> None:
    from optihedge.measures.risk import max_drawdown

    days = pd.bdate_range("2024-01-01", periods=4)
    frame = pd.DataFrame({"a": [0.1, -0.5, 0.2, 0.0], "b": [-0.1, -0.1, 0.5, -0.2]}, index=days)
    out = max_drawdown(frame)
    assert out.name == "max_drawdown"
    assert list(out.index) == ["a", "b"]
    # a: wealth 1.1, 0.55, 0.66, 0.66 under a peak of 1.1: the fall to 0.55 is 50%;
    # b: 0.9, 0.81, 1.215, 0.972: 19% from 1 to 0.81, then 20% from the new peak 1.215
    np.testing.assert_allclose(out.to_numpy(), [0.5, 0.2], rtol=1e-14)
    with pytest.raises(DataError, match=r"^The 'returns' argument"):
        max_drawdown(pd.Series([0.1, np.nan, 0.2], index=days[:3]))
    with pytest.raises(
        DataError, match=r"'returns' argument must hold finite numbers in \(-1, inf\)"
    ):
        max_drawdown(pd.Series([0.1, -1.0, 0.2], index=days[:3]))


# ------------------------------------------------------------------ pricing/black_scholes.py
@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"q": float("nan")}, r"^The 'q' argument must hold finite numbers"),
        ({"T": 63.0}, r"^The 'T' argument is a time in years"),
        ({"r": 4.0}, r"^The 'r' argument holds annual rates, decimal and must lie in"),
    ],
)
def test_black_scholes_names_the_bad_input(bad: dict[str, float], message: str) -> None:
    from optihedge.pricing.black_scholes import black_scholes

    args = {"S": 100.0, "K": 100.0, "T": 1.0, "r": 0.01, "sigma": 0.2, "q": 0.0} | bad
    with pytest.raises(DataError, match=message):
        black_scholes("call", **args)


# ------------------------------------------------------------------ constraints/bounds.py
def _bounded(instruments: list[oh.Instrument], bounds: object) -> oh.HedgeProblem:
    assets = ["A", "B", "IDX"]
    cov = np.array([[4e-4, 1e-4, 1.5e-4], [1e-4, 3e-4, 1e-4], [1.5e-4, 1e-4, 2e-4]])
    model = oh.RiskModel.from_covariance(pd.DataFrame(cov, index=assets, columns=assets))
    return oh.HedgeProblem(
        oh.Portfolio.from_holdings({"A": 6e5, "B": 4e5}),
        instruments,
        objective=oh.Variance(),
        constraints=[bounds],  # type: ignore[list-item]
        risk_model=model,
        horizon=10,
        market="IDX",
    )


F_IDX = oh.Future("F", underlying="IDX", price=4000.0, multiplier=50.0)
E_IDX = oh.ETF("E", underlying="IDX", price=400.0)
G_A = oh.Future("G", underlying="A", price=100.0, multiplier=1.0)


def test_bounds_named_in_another_order_than_the_instruments_bind_each_its_own() -> None:
    from constraints import Bounds

    fixed = {"E": 0.1, "F": -0.3}  # named E, F; the problem's order is F, E
    result = _bounded([F_IDX, E_IDX], Bounds(lower=fixed, upper=fixed)).solve()
    assert result.weights["F"] == pytest.approx(-0.3, abs=1e-7)
    assert result.weights["E"] == pytest.approx(0.1, abs=1e-7)


def test_bounds_on_some_instruments_report_slack_and_range() -> None:
    from constraints import Bounds

    bounds = Bounds(lower={"E": 0.1, "F": -0.3}, upper={"E": 0.1, "F": -0.3, "G": 5.0})
    problem = _bounded([F_IDX, E_IDX, G_A], bounds)
    params = problem.parameters
    assert params.loc["bounds.lower[F]", "value"] == -0.3
    assert np.isnan(params.loc["bounds.lower[F]", "lower"])  # a bound may be negative
    assert params.loc["bounds.lower[F]", "description"] == "lower bound on x"
    assert params.loc["bounds.upper[G]", "description"] == "upper bound on x"
    result = problem.solve()
    assert result.weights["F"] == pytest.approx(-0.3, abs=1e-7)
    assert result.weights["E"] == pytest.approx(0.1, abs=1e-7)
    x_g = float(result.weights["G"])
    assert x_g < 4.0  # the upper bound of 5 on G does not bind: its slack is 5 - x
    assert result.constraints.loc["bounds.upper[G]", "slack"] == pytest.approx(5.0 - x_g)
    assert "bounds.upper[G]" not in result.binding


def test_implied_volatility_of_a_far_out_of_the_money_call_whose_first_vega_is_zero() -> None:
    # at the first guess (30%) d1 is about -116, so vega underflows to 0 and the Newton step
    # divides by zero: the bracket takes over without a warning and finds 600%
    from scipy.stats import norm

    from optihedge.pricing.black_scholes import implied_volatility

    s, k, t, v = 100.0, 300.0, 0.001, 6.0
    d1 = (math.log(s / k) + 0.5 * v * v * t) / (v * math.sqrt(t))
    price = s * norm.cdf(d1) - k * norm.cdf(d1 - v * math.sqrt(t))
    assert implied_volatility(price, "call", s, k, t, 0.0) == pytest.approx(v, rel=1e-6)


# ------------------------------------------------------------------ factor_models/risk_model.py
def _factor_model(factors: list[str]) -> oh.RiskModel:
    b = pd.DataFrame([[1.0, 0.5], [0.2, 1.5], [0.8, -0.4]], index=["A", "B", "C"], columns=factors)
    f = pd.DataFrame([[0.04, 0.01], [0.01, 0.09]], index=factors, columns=factors)
    d = pd.Series([0.01, 0.02, 0.03], index=["A", "B", "C"])
    return oh.RiskModel(b, f, d, asof=pd.Timestamp("2024-03-28"))


def test_risk_model_exposures_are_b_transpose_w_labelled_by_factor() -> None:
    out = _factor_model(["M", "V"]).exposures(pd.Series({"A": 0.5, "C": 0.25}))
    assert out.name == "exposure"
    assert list(out.index) == ["M", "V"]
    # B' w by hand: M = 1.0*0.5 + 0.8*0.25, V = 0.5*0.5 - 0.4*0.25
    np.testing.assert_allclose(out.to_numpy(), [0.7, 0.15])


def test_with_factor_assets_refuses_a_non_factor_or_an_asset_and_keeps_the_date() -> None:
    from factor_models.errors import EstimationLabelsError

    model = _factor_model(["M", "A"])  # factor "A" is also an asset
    with pytest.raises(EstimationLabelsError, match=r"\['X'\] are not factors"):
        model.with_factor_assets(["X"])
    with pytest.raises(EstimationLabelsError, match=r"\['A'\] are already assets"):
        model.with_factor_assets(["A"])
    extended = model.with_factor_assets(["M"])
    assert extended.asof == pd.Timestamp("2024-03-28")
    # the factor as an asset: loading 1 on itself, no specific variance
    assert extended.loadings.loc["M"].tolist() == [1.0, 0.0]
    assert extended.specific_var["M"] == 0.0


def test_with_factor_assets_keeps_the_window_the_horizon_and_the_frequency() -> None:
    from factor_models.frequency import Frequency

    b = pd.DataFrame([[1.0], [0.5]], index=["A", "B"], columns=["M"])
    model = oh.RiskModel(
        b, pd.DataFrame([[0.04]], index=["M"], columns=["M"]),
        pd.Series([0.01, 0.02], index=["A", "B"]), window=126, horizon=5,
        asof=pd.Timestamp("2024-03-28"), frequency="weekly",
    )  # fmt: skip
    extended = model.with_factor_assets(["M"])
    assert (extended.window, extended.horizon) == (126, 5)
    assert extended.frequency is Frequency.WEEKLY  # not the default, daily


def test_factor_cov_sqrt_and_specific_std_are_labelled_square_roots() -> None:
    model = _factor_model(["M", "V"])
    root = model.factor_cov_sqrt()
    assert list(root.index) == ["M", "V"]
    assert list(root.columns) == ["M", "V"]
    # R.T @ R is the factor covariance [[0.04, 0.01], [0.01, 0.09]]
    np.testing.assert_allclose(root.T @ root, [[0.04, 0.01], [0.01, 0.09]], rtol=0, atol=1e-15)
    std = model.specific_std()
    assert std.name == "specific_std"
    assert list(std.index) == ["A", "B", "C"]
    np.testing.assert_allclose(std.to_numpy(), np.sqrt([0.01, 0.02, 0.03]), rtol=1e-15)


# ------------------------------------------------------------------ instruments/options.py
def test_a_put_spread_needs_distinct_strikes() -> None:
    with pytest.raises(oh.errors.SpecificationError, match="needs lower_moneyness < upper"):
        oh.PutSpread("S", underlying="IDX", upper_moneyness=0.9, lower_moneyness=0.9)


def test_an_event_contracts_contract_value_is_its_payout() -> None:
    contract = oh.EventContract("E", event="recession", payout=100.0)
    assert contract.attributes()["contract_value"] == 100.0


# ---------------------------------------- constraints: slack of limits that do not bind
def test_a_floor_on_expected_pnl_that_does_not_bind_has_its_room_as_slack() -> None:
    from constraints import ExpectedPnL

    mu = pd.Series({"IDX": 0.01, "B": 0.02, "A": 0.03})  # not in the problem's asset order
    result = _bounded([F_IDX], ExpectedPnL(-1.0, expected_returns=mu)).solve()
    x = float(result.weights["F"])
    pnl = 0.03 * 0.6 + 0.02 * 0.4 + 0.01 * x  # mu @ (book + hedge), by hand
    row = result.constraints.loc["expected_pnl.min"]
    assert row["value"] == pytest.approx(pnl, rel=1e-9)
    assert row["slack"] == pytest.approx(pnl + 1.0, rel=1e-9)
    assert result.binding == []


def test_a_residual_beta_cap_that_does_not_bind_has_its_room_as_slack() -> None:
    from constraints import ResidualBeta

    result = _bounded([F_IDX], ResidualBeta(min=-5.0, max=0.5)).solve()
    cov = np.array([[4e-4, 1e-4, 1.5e-4], [1e-4, 3e-4, 1e-4], [1.5e-4, 1e-4, 2e-4]])
    after = np.array([0.6, 0.4, float(result.weights["F"])])
    beta = float((cov @ after)[2] / cov[2, 2])  # the hedged book's beta, by hand
    table = result.constraints
    assert table.loc["residual_beta.max", "slack"] == pytest.approx(0.5 - beta, abs=1e-9)
    assert table.loc["residual_beta.min", "slack"] == pytest.approx(beta + 5.0, abs=1e-9)
    assert result.binding == []


# ------------------------------------------------------------------ constraints/budget.py
def test_expected_returns_warn_above_plus_100_percent_only() -> None:
    import warnings

    from constraints.budget import check_expected_returns
    from optihedge.errors import DataWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_expected_returns(pd.Series({"A": 1.0, "B": -0.5}))  # +100% exactly: no warning
        check_expected_returns(pd.Series({"A": "n/a", "B": 0.1}))  # text is left to callers
    with pytest.warns(DataWarning, match=r"above \+100% over the horizon: 'A' \(\+1\.5\)"):
        check_expected_returns(pd.Series({"A": 1.5, "B": 0.1}))


def test_a_residual_beta_on_a_named_factor_pins_that_beta_not_the_markets() -> None:
    from constraints import ResidualBeta

    result = _bounded([F_IDX, G_A], ResidualBeta(min=0.1, max=0.1, factor="A")).solve()
    cov = np.array([[4e-4, 1e-4, 1.5e-4], [1e-4, 3e-4, 1e-4], [1.5e-4, 1e-4, 2e-4]])
    after = np.array([0.6 + float(result.weights["G"]), 0.4, float(result.weights["F"])])
    beta_a = float((cov @ after)[0] / cov[0, 0])  # beta to A, by hand
    beta_market = float((cov @ after)[2] / cov[2, 2])
    assert beta_a == pytest.approx(0.1, abs=1e-8)
    assert abs(beta_market - 0.1) > 1e-3  # the market's beta is another number here

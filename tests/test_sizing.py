"""Known-answer and error tests for the textbook sizing rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

import optihedge as oh
from optihedge.errors import DataError, MissingLabelsError, SpecificationError


class TestBetaAdjustedNotional:
    # "How to Properly Hedge Your Portfolio": 100,000 book, beta 1.25.
    @pytest.mark.parametrize(
        ("fraction", "expected"), [(1.0, 125_000.0), (0.5, 62_500.0), (0.25, 31_250.0)]
    )
    def test_article_values(self, fraction: float, expected: float) -> None:
        assert oh.beta_adjusted_notional(100_000, 1.25, fraction) == pytest.approx(expected)

    def test_hedge_beta_divides(self) -> None:
        assert oh.beta_adjusted_notional(100_000, 1.25, 0.5, hedge_beta=1.25) == 50_000.0

    @pytest.mark.parametrize(
        ("kwargs", "name"),
        [
            ({"value": np.nan}, "value"),
            ({"beta": np.inf}, "beta"),
            ({"fraction": 1.5}, "fraction"),
            ({"fraction": -0.1}, "fraction"),
            ({"hedge_beta": 0.0}, "hedge_beta"),
            ({"hedge_beta": np.nan}, "hedge_beta"),
            ({"value": "1e6"}, "value"),
        ],
    )
    def test_bad_input_names_argument(self, kwargs: dict[str, object], name: str) -> None:
        args: dict[str, object] = {"value": 1e6, "beta": 1.0, "fraction": 0.5}
        args.update(kwargs)
        with pytest.raises(SpecificationError, match=f"'{name}'"):
            oh.beta_adjusted_notional(**args)  # type: ignore[arg-type]


class TestFuturesContracts:
    # Hull, Options, Futures, and Other Derivatives, "Stock index futures": a
    # 5,050,000 portfolio with beta 1.5, futures at 1,010, multiplier 250.
    def test_hull_full_hedge(self) -> None:
        assert oh.futures_contracts(5_050_000, 1.5, 1_010, 250) == -30

    def test_hull_reduce_beta_to_075(self) -> None:
        assert oh.futures_contracts(5_050_000, 1.5, 1_010, 250, target_beta=0.75) == -15

    def test_hull_increase_beta_to_2(self) -> None:
        assert oh.futures_contracts(5_050_000, 1.5, 1_010, 250, target_beta=2.0) == 10

    def test_fraction_equals_target(self) -> None:
        a = oh.futures_contracts(5_050_000, 1.5, 1_010, 250, fraction=0.5, whole=False)
        b = oh.futures_contracts(5_050_000, 1.5, 1_010, 250, target_beta=0.75, whole=False)
        assert a == pytest.approx(b) == pytest.approx(-15.0)

    def test_whole_rounds_half_away_from_zero(self) -> None:
        # 2.5 contracts each way
        assert oh.futures_contracts(250_000, 1.0, 1_000, 100, target_beta=0.0) == -3
        assert oh.futures_contracts(250_000, 0.0, 1_000, 100, target_beta=1.0) == 3
        assert isinstance(oh.futures_contracts(250_000, 1.0, 1_000, 100), int)

    def test_both_fraction_and_target_is_an_error(self) -> None:
        with pytest.raises(SpecificationError, match="'fraction' or 'target_beta'"):
            oh.futures_contracts(1e6, 1.0, 4000, 50, fraction=0.5, target_beta=0.2)

    @pytest.mark.parametrize("name", ["futures_price", "multiplier"])
    @pytest.mark.parametrize("bad", [0.0, -5.0, np.nan])
    def test_nonpositive_price_or_multiplier(self, name: str, bad: float) -> None:
        args: dict[str, float] = {"futures_price": 4000.0, "multiplier": 50.0}
        args[name] = bad
        with pytest.raises(SpecificationError, match=f"'{name}'.*Got"):
            oh.futures_contracts(1e6, 1.0, **args)

    @pytest.mark.parametrize(
        ("kwargs", "name"),
        [
            ({"value": np.nan}, "value"),
            ({"beta": np.inf}, "beta"),
            ({"fraction": 1.5}, "fraction"),
            ({"fraction": -0.1}, "fraction"),
            ({"fraction": np.nan}, "fraction"),
            ({"target_beta": np.nan}, "target_beta"),
        ],
    )
    def test_bad_input_names_argument(self, kwargs: dict[str, object], name: str) -> None:
        args: dict[str, object] = {"value": 1e6, "beta": 1.0}
        args.update(kwargs)
        with pytest.raises(SpecificationError, match=f"'{name}'.*Got"):
            oh.futures_contracts(futures_price=4000.0, multiplier=50.0, **args)  # type: ignore[arg-type]

    def test_small_positive_price_and_multiplier_and_the_fraction_ends(self) -> None:
        # N = (beta (1 - f) - beta) V / (F m): any positive price and multiplier count
        got = oh.futures_contracts(1_000.0, 1.0, 0.5, 0.25, whole=False)
        assert got == pytest.approx(-1_000.0 / (0.5 * 0.25), rel=1e-15)
        assert oh.futures_contracts(1e6, 1.2, 4_000.0, 50.0, fraction=0.0, whole=False) == 0.0
        full = oh.futures_contracts(1e6, 1.2, 4_000.0, 50.0, fraction=1.0, whole=False)
        assert full == pytest.approx(-1.2 * 1e6 / (4_000.0 * 50.0), rel=1e-15)


class TestMinVarianceHedgeRatio:
    def test_hull_jet_fuel_example(self, rng: np.random.Generator) -> None:
        # Hull Example 3.3: sigma_S = 0.0263, sigma_F = 0.0313, rho = 0.928 -> h* = 0.78.
        # Build two series with exactly these sample moments.
        z = rng.standard_normal((15, 2))
        z -= z.mean(axis=0)
        q, _ = np.linalg.qr(z)
        u, v = q[:, 0] * np.sqrt(14), q[:, 1] * np.sqrt(14)  # orthonormal, unit sample var
        rho, s_s, s_f = 0.928, 0.0263, 0.0313
        futures = s_f * u
        spot = s_s * (rho * u + np.sqrt(1 - rho**2) * v)
        h = oh.min_variance_hedge_ratio(spot, futures)
        assert h == pytest.approx(rho * s_s / s_f, rel=1e-12)
        assert round(h, 2) == 0.78

    def test_matches_statsmodels_ols_slope(self, daily_returns: pd.DataFrame) -> None:
        y, x = daily_returns["DDD"], daily_returns["MKT"]
        ols = sm.OLS(y.to_numpy(), sm.add_constant(x.to_numpy())).fit()
        assert oh.min_variance_hedge_ratio(y, x) == pytest.approx(ols.params[1], rel=1e-12)

    def test_dates_in_time_order(self, daily_returns: pd.DataFrame) -> None:
        # one rule for every time series (issue 20): a shuffled series is refused, not
        # realigned, as at every other entry point
        y, x = daily_returns["DDD"], daily_returns["MKT"]
        shuffled = x.sample(frac=1.0, random_state=1)
        with pytest.raises(DataError, match="'hedge_changes' argument's dates must be strictly"):
            oh.min_variance_hedge_ratio(y, shuffled)

    def test_misaligned_labels(self, daily_returns: pd.DataFrame) -> None:
        y, x = daily_returns["DDD"], daily_returns["MKT"].iloc[1:]
        with pytest.raises(MissingLabelsError, match="only in 'exposure_changes'"):
            oh.min_variance_hedge_ratio(y, x)

    def test_duplicate_labels(self) -> None:
        s = pd.Series([0.1, 0.2, 0.3], index=["a", "a", "b"])
        with pytest.raises(MissingLabelsError, match="'exposure_changes'.*duplicate.*'a'"):
            oh.min_variance_hedge_ratio(s, s)

    def test_nan_is_an_error(self) -> None:
        with pytest.raises(DataError, match="'hedge_changes'.*nan.*position 1"):
            oh.min_variance_hedge_ratio([0.1, 0.2, 0.3], [0.1, np.nan, 0.2])

    def test_constant_hedge(self) -> None:
        with pytest.raises(DataError, match="'hedge_changes' argument is constant"):
            oh.min_variance_hedge_ratio([0.1, 0.2, 0.3], [0.5, 0.5, 0.5])

    def test_length_mismatch_and_empty(self) -> None:
        with pytest.raises(DataError, match="same length"):
            oh.min_variance_hedge_ratio([0.1, 0.2, 0.3], [0.1, 0.2])
        with pytest.raises(DataError, match="'exposure_changes' argument is empty"):
            oh.min_variance_hedge_ratio([], [])


def test_target_volatility_multiplier() -> None:
    assert oh.target_volatility_multiplier(0.15, 0.25) == pytest.approx(0.6)
    with pytest.raises(SpecificationError, match="'estimated_vol'"):
        oh.target_volatility_multiplier(0.15, 0.0)
    with pytest.raises(SpecificationError, match="'target_vol'"):
        oh.target_volatility_multiplier(-0.15, 0.2)


class TestKelly:
    @pytest.mark.parametrize(
        ("p", "b", "expected"), [(0.6, 1.0, 0.2), (0.51, 1.0, 0.02), (0.5, 2.0, 0.25)]
    )
    def test_known_values(self, p: float, b: float, expected: float) -> None:
        # Thorp: an even-money bet won 51% of the time gives f* = 0.02.
        assert oh.kelly_fraction(p, b) == pytest.approx(expected)

    @given(p=st.floats(0.05, 0.95), b=st.floats(0.2, 5.0))
    def test_maximises_expected_log_growth(self, p: float, b: float) -> None:
        f = oh.kelly_fraction(p, b)
        # the edge: expected gain per unit staked, by hand; Kelly stakes its share of b
        edge = p * b - (1.0 - p)
        assert f == pytest.approx(edge / b, rel=1e-12, abs=1e-15)
        assert (f > 0) == (edge > 0)  # a bet exactly when the edge is positive
        growth = lambda g: -(p * np.log1p(g * b) + (1 - p) * np.log1p(-g))  # noqa: E731
        best = minimize_scalar(
            growth, bounds=(0.0, 0.999), method="bounded", options={"xatol": 1e-10}
        )
        if f > 0:
            assert f == pytest.approx(best.x, abs=1e-6)
        else:
            # no bet: the log growth falls from a zero stake on (its slope there is the
            # edge, <= 0), so the best long stake is none
            assert best.x == pytest.approx(0.0, abs=1e-6)

    @pytest.mark.parametrize(("p", "b"), [(0.5, 1.0), (0.25, 3.0), (0.4, 1.0), (0.1, 2.0)])
    def test_no_edge_no_bet(self, p: float, b: float) -> None:
        # a fair bet (p b = 1 - p) stakes exactly 0; an unfavourable one a negative amount
        edge = p * b - (1.0 - p)
        f = oh.kelly_fraction(p, b)
        if edge == 0.0:
            assert f == 0.0
        else:
            assert f < 0.0
            assert f == pytest.approx(edge / b, rel=1e-12)

    def test_probability_outside_unit_interval(self) -> None:
        with pytest.raises(
            SpecificationError, match=r"'p' argument must be a finite number in \[0, 1\]"
        ):
            oh.kelly_fraction(1.2, 1.0)
        with pytest.raises(SpecificationError, match="'b'"):
            oh.kelly_fraction(0.5, 0.0)

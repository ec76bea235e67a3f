"""Known numbers for option repricing, the ES standard error, scenario P&L, drag and Greeks.

Every expected value here is computed independently of the library: Black-Scholes written
out with ``scipy.stats.norm``, the volatility model's documented formula evaluated by
hand, finite differences of that hand-written price, numpy sums of scenario returns times
positions, a bootstrap, and the textbook asymptotic standard error of the sample expected
shortfall. Each test names the slip it is there to catch.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import optihedge as oh
from optihedge.measures.contributions import tail_summary
from optihedge.pricing import VolatilityModel

# --------------------------------------------------------------- hand Black-Scholes

YEAR = 252.0  # trading days a year (optihedge.instruments.options: "252 trading days a year")


def bs_price(kind: str, s: float, k: float, t: float, r: float, v: float, q: float) -> float:
    """Black-Scholes-Merton (Hull): c = S e^{-qT} N(d1) - K e^{-rT} N(d2), p by parity."""
    d1 = (math.log(s / k) + (r - q + 0.5 * v * v) * t) / (v * math.sqrt(t))
    d2 = d1 - v * math.sqrt(t)
    if kind == "call":
        return float(s * math.exp(-q * t) * norm.cdf(d1) - k * math.exp(-r * t) * norm.cdf(d2))
    return float(k * math.exp(-r * t) * norm.cdf(-d2) - s * math.exp(-q * t) * norm.cdf(-d1))


def bs_greeks(kind: str, s: float, k: float, t: float, r: float, v: float, q: float) -> dict:
    """Hull's closed forms: delta per 1 of S, gamma per 1 of S^2, vega per 1.00, theta/year."""
    d1 = (math.log(s / k) + (r - q + 0.5 * v * v) * t) / (v * math.sqrt(t))
    d2 = d1 - v * math.sqrt(t)
    eq, er, pdf = math.exp(-q * t), math.exp(-r * t), float(norm.pdf(d1))
    decay = -s * eq * pdf * v / (2.0 * math.sqrt(t))
    if kind == "call":
        delta = eq * float(norm.cdf(d1))
        theta = decay + q * s * eq * float(norm.cdf(d1)) - r * k * er * float(norm.cdf(d2))
    else:
        delta = eq * (float(norm.cdf(d1)) - 1.0)
        theta = decay - q * s * eq * float(norm.cdf(-d1)) + r * k * er * float(norm.cdf(-d2))
    return {
        "delta": delta,
        "gamma": eq * pdf / (s * v * math.sqrt(t)),
        "vega": s * eq * pdf * math.sqrt(t),
        "theta": theta,
    }


S0, VOL, RATE, DIV = 4000.0, 0.2, 0.03, 0.015
MARKET = oh.MarketState(
    spot={"IDX": S0}, volatility={"IDX": VOL}, rate=RATE, dividend_yield={"IDX": DIV}
)


def _daily(n: int = 300, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = rng.normal(0.0003, 0.012, n)
    return pd.DataFrame(
        {
            "A": 0.9 * idx + rng.normal(0, 0.01, n),
            "B": 1.2 * idx + rng.normal(0, 0.01, n),
            "IDX": idx,
        },
        index=pd.bdate_range("2019-01-01", periods=n),
    )


# ---------------------------------------------- 1. the skew at the scenario's spot


def _skew(skew: float, moneyness: float, years: float) -> float:
    """kappa(m, tau) = skew * ln m * sqrt(0.25 / tau), tau floored at one week (5/252)."""
    return skew * math.log(moneyness) * math.sqrt(0.25 / max(years, 5.0 / 252.0))


def _hand_put_pnl(
    r_s: float, *, expiry: int, horizon: int, moneyness: float, beta: float, skew: float,
    level: float | None = None,
) -> float:  # fmt: skip
    """Repriced P&L per unit of notional, (V_s - V_0) / S_0, from the documented formulas."""
    k = moneyness * S0
    t0, tau = expiry / YEAR, (expiry - horizon) / YEAR
    sigma0 = VOL + _skew(skew, k / S0, t0)  # the at-the-money vol plus the skew at the strike
    s_s = S0 * (1.0 + r_s)
    move = beta * math.log(s_s / S0) if level is None else level
    # the skew term at the SCENARIO's spot and remaining time, less today's
    sigma_s = max(sigma0 + move + _skew(skew, k / s_s, tau) - _skew(skew, k / S0, t0), 0.01)
    v0 = bs_price("put", S0, k, t0, RATE, sigma0, DIV)
    v_s = bs_price("put", s_s, k, tau, RATE, sigma_s, DIV)
    return (v_s - v0) / S0


class TestScenarioRepricingSkew:
    """Slip: the skew read at today's spot (K/S_0) instead of the scenario's (K/S_s)."""

    @pytest.mark.parametrize("r_s", [-0.25, -0.12, 0.08])
    @pytest.mark.parametrize("moneyness", [0.9, 1.0])
    def test_one_put_one_scenario_by_hand(self, r_s: float, moneyness: float) -> None:
        model = VolatilityModel(beta=-1.12, skew=-0.30)
        put = oh.Put("P", underlying="IDX", moneyness=moneyness, expiry=63, vol_model=model)
        one = oh.Scenarios.from_returns(pd.DataFrame({"IDX": [r_s]}), horizon=21)
        got = put.scenario_returns(one, MARKET)
        expected = _hand_put_pnl(
            r_s, expiry=63, horizon=21, moneyness=moneyness, beta=-1.12, skew=-0.30
        )
        assert got.shape == (1,)
        assert got[0] == pytest.approx(expected, rel=1e-10, abs=1e-13)
        # the slip moves the volatility by skew * ln(S_s/S_0) * sqrt(0.25/tau): for a 12%
        # move about 5 points, far above the tolerance: here is the wrong number, by hand
        k = moneyness * S0
        tau = 42 / YEAR
        wrong_shift = _skew(-0.30, k / S0, tau) - _skew(-0.30, k / (S0 * (1 + r_s)), tau)
        assert abs(wrong_shift) > 0.01

    def test_default_model_beta_interpolated_and_stated_level_move(self) -> None:
        # default VolatilityModel: SKEW = -0.30 and the spot-vol beta interpolated in
        # log-horizon between the documented 5-day (-1.49) and 21-day (-1.12) values
        h = 10
        beta = -1.49 + (-1.12 + 1.49) * math.log(h / 5) / math.log(21 / 5)
        put = oh.Put("P", underlying="IDX", moneyness=0.92, expiry=30)
        one = oh.Scenarios.from_returns(pd.DataFrame({"IDX": [-0.15]}), horizon=h)
        expected = _hand_put_pnl(-0.15, expiry=30, horizon=h, moneyness=0.92, beta=beta, skew=-0.3)
        assert put.scenario_returns(one, MARKET)[0] == pytest.approx(expected, rel=1e-10)
        # a stated level move replaces the beta, the skew still follows the scenario's spot
        stated = oh.Scenarios(one.returns, h, vol_moves=pd.Series([0.07], index=one.returns.index))
        expected = _hand_put_pnl(
            -0.15, expiry=30, horizon=h, moneyness=0.92, beta=0.0, skew=-0.3, level=0.07
        )
        assert put.scenario_returns(stated, MARKET)[0] == pytest.approx(expected, rel=1e-10)

    def test_short_remaining_life_floors_tau_at_one_week(self) -> None:
        # 24 days to expiry, 21-day horizon: 3 days left, the skew's tau floored at 5/252
        model = VolatilityModel(beta=-1.12, skew=-0.30)
        put = oh.Put("P", underlying="IDX", moneyness=0.95, expiry=24, vol_model=model)
        one = oh.Scenarios.from_returns(pd.DataFrame({"IDX": [-0.04]}), horizon=21)
        expected = _hand_put_pnl(
            -0.04, expiry=24, horizon=21, moneyness=0.95, beta=-1.12, skew=-0.3
        )
        assert put.scenario_returns(one, MARKET)[0] == pytest.approx(expected, rel=1e-10)


# ------------------------------------------------ 2. expected-shortfall standard error


def _hand_es(losses: np.ndarray, p: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """VaR (smallest loss with cumulative probability >= alpha), ES and its standard error.

    ES by Rockafellar-Uryasev, ES = VaR + E[(L - VaR)^+] / (1 - alpha). Its asymptotic
    standard error follows from the same representation (the VaR's estimation error has
    no first-order effect: the derivative of the representation in VaR is 0 at the
    quantile), so Var(ES_hat) ~ Var((L - VaR)^+) / (n (1 - alpha)^2). Expanding
    Var((L - VaR)^+) = (1 - alpha) [Var(L | tail) + alpha (ES - VaR)^2] gives the form
    tail_summary's docstring cites (Yamai and Yoshiba 2002, Monetary and Economic
    Studies 20(1), the standard error of the ES estimator); computed here the other way.
    With probabilities, n is the effective number 1 / sum p^2.
    """
    order = np.argsort(losses)
    cum = np.cumsum(p[order])
    # "cumulative probability >= alpha" up to the rounding of the cumulative sum (with
    # 1500 equal probabilities the 750th partial sum may land a hair under 0.5)
    var = float(losses[order][np.searchsorted(cum, alpha - 1e-12)])
    excess = np.maximum(losses - var, 0.0)
    mean_excess = float(p @ excess)
    es = var + mean_excess / (1.0 - alpha)
    n_eff = 1.0 / float(p @ p)
    variance = float(p @ excess**2) - mean_excess**2
    return var, es, math.sqrt(variance / (n_eff * (1.0 - alpha) ** 2))


class TestExpectedShortfallStandardError:
    """Slips: a term of the SE dropped (the tail variance, alpha (ES - VaR)^2, alpha, ...)."""

    @pytest.mark.parametrize("alpha", [0.5, 0.95])
    def test_against_a_bootstrap(self, alpha: float) -> None:
        rng = np.random.default_rng(7)
        n, b = 2000, 3000
        losses = rng.standard_t(5, n)
        got = tail_summary(losses, np.full(n, 1.0 / n), alpha)
        k = round(n * (1.0 - alpha))  # the tail: the k largest losses of each resample
        draws = losses[rng.integers(0, n, (b, n))]
        es_star = -np.partition(-draws, k - 1, axis=1)[:, :k].mean(axis=1)
        boot = float(es_star.std(ddof=1))
        # the bootstrap's own error: an SD from B draws errs by SD sqrt((kappa - 1)/(4B)),
        # kappa the kurtosis of the draws (about 1.3% here); the tolerance is over four of
        # them. Dropping the tail variance, alpha (ES - VaR)^2 or its alpha moves the
        # standard error by at least 17% at alpha 0.5 and 29% at 0.95 (t(5) losses)
        z = (es_star - es_star.mean()) / boot
        own_error = math.sqrt((float(np.mean(z**4)) - 1.0) / (4.0 * b))
        assert own_error < 0.015
        assert got["es_standard_error"] == pytest.approx(boot, rel=0.06)
        assert got["es"] == pytest.approx(np.sort(losses)[-k:].mean(), rel=1e-12)

    @pytest.mark.parametrize("alpha", [0.5, 0.9, 0.975])
    def test_against_the_asymptotic_formula(self, alpha: float) -> None:
        rng = np.random.default_rng(3)
        n = 1500
        losses = rng.standard_t(4, n)
        for p in (np.full(n, 1.0 / n), rng.dirichlet(np.full(n, 2.0))):
            var, es, se = _hand_es(losses, p, alpha)
            got = tail_summary(losses, p, alpha)
            assert got["var"] == pytest.approx(var, rel=1e-12)
            assert got["es"] == pytest.approx(es, rel=1e-10)
            assert got["es_standard_error"] == pytest.approx(se, rel=1e-9)

    def test_standard_normal_population_value(self) -> None:
        # large-sample check against the closed form for N(0,1) losses at alpha = 0.9:
        # q = Phi^-1(alpha), ES = phi(q)/(1-alpha), Var(L | L > q) = 1 + q ES - ES^2,
        # SE = sqrt((Var(L | tail) + alpha (ES - q)^2) / (n (1 - alpha)))
        alpha, n = 0.9, 200_000
        q = float(norm.ppf(alpha))
        es = float(norm.pdf(q)) / (1 - alpha)
        tail_var = 1 + q * es - es * es
        se = math.sqrt((tail_var + alpha * (es - q) ** 2) / (n * (1 - alpha)))
        losses = np.random.default_rng(1).standard_normal(n)
        got = tail_summary(losses, np.full(n, 1.0 / n), alpha)
        # the sample SE estimates the population one to about 1/sqrt(2 n (1 - alpha)) = 0.5%
        assert got["es_standard_error"] == pytest.approx(se, rel=0.03)
        assert got["es"] == pytest.approx(es, abs=5 * se)


# ------------------------------------------- 3. scenario P&L of book plus hedge


def _paths(daily: pd.DataFrame, h: int) -> np.ndarray:
    """Daily returns of each overlapping h-day path: shape (n_paths, h, n_assets)."""
    x = daily.to_numpy()
    return np.stack([x[i : i + h] for i in range(len(x) - h + 1)])


class TestScenarioPnl:
    """Slip: ``oh.scenario_pnl`` applying the hedge with the wrong sign."""

    def test_book_plus_future_and_inverse_etf_by_hand(self) -> None:
        daily = _daily()
        h = 10
        scenarios = oh.Scenarios.historical(daily, horizon=h)
        book = oh.Portfolio.from_holdings({"A": 600_000.0, "B": 400_000.0})
        future = oh.Future("F", underlying="IDX", price=4000.0, multiplier=50.0)
        inverse = oh.InverseETF("SH", underlying="IDX", leverage=-2.0)
        unused = oh.ETF("E", underlying="IDX")
        weights = pd.Series({"F": -0.45, "SH": 0.2})  # E omitted: held at zero
        got = oh.scenario_pnl(book, [future, inverse, unused], weights, scenarios)

        paths = _paths(daily, h)
        growth = np.prod(1.0 + paths, axis=1) - 1.0  # horizon return of each asset
        cols = list(daily.columns)
        a, b, idx = (growth[:, cols.index(c)] for c in ("A", "B", "IDX"))
        book_pnl = 0.6 * a + 0.4 * b
        future_unit = idx
        inverse_unit = np.prod(1.0 - 2.0 * paths[:, :, cols.index("IDX")], axis=1) - 1.0
        after = book_pnl + (-0.45) * future_unit + 0.2 * inverse_unit
        np.testing.assert_allclose(got["before"].to_numpy(), book_pnl, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(got["after"].to_numpy(), after, rtol=1e-10, atol=1e-14)
        assert got.attrs["horizon_days"] == h
        # a short future and a long inverse ETF both gain when the index falls
        worst = int(np.argmin(idx))
        assert got["after"].iloc[worst] > got["before"].iloc[worst]

    def test_option_hedge_by_hand_on_given_scenarios(self) -> None:
        model = VolatilityModel(beta=-1.12, skew=-0.30)
        put = oh.Put("P", underlying="IDX", moneyness=0.95, expiry=63, vol_model=model)
        moves = [-0.2, -0.05, 0.0, 0.06]
        frame = pd.DataFrame({"A": [-0.18, -0.04, 0.01, 0.05], "IDX": moves})
        scenarios = oh.Scenarios.from_returns(frame, horizon=21)
        book = oh.Portfolio.from_holdings({"A": 1_000_000.0})
        got = oh.scenario_pnl(book, [put], pd.Series({"P": 0.7}), scenarios, MARKET)
        unit = np.array(
            [
                _hand_put_pnl(m, expiry=63, horizon=21, moneyness=0.95, beta=-1.12, skew=-0.3)
                for m in moves
            ]
        )
        expected = frame["A"].to_numpy() + 0.7 * unit
        np.testing.assert_allclose(got["after"].to_numpy(), expected, rtol=1e-10, atol=1e-14)


# ------------------------------------------------ 4. drag in rising markets


class TestDragInRisingMarkets:
    """Slip: the drag's sign flipped (book minus hedged instead of hedged minus book)."""

    def test_drag_on_a_tiny_hand_made_history(self) -> None:
        # four days: the index rises on days 1, 3 and 4; the hedge is short 0.8 of it
        idx = np.array([0.010, -0.020, 0.005, 0.015])
        a = np.array([0.012, -0.018, 0.002, 0.020])
        returns = pd.DataFrame({"A": a, "IDX": idx}, index=pd.bdate_range("2021-03-01", periods=4))
        positions = pd.DataFrame({"before": [1.0, 0.0], "after": [1.0, -0.8]}, index=["A", "IDX"])
        model = oh.RiskModel(
            loadings=pd.DataFrame({"IDX": [1.0, 1.0]}, index=["A", "IDX"]),
            factor_cov=pd.DataFrame({"IDX": [1e-4]}, index=["IDX"]),
            specific_var=pd.Series([1e-4, 0.0], index=["A", "IDX"]),
        )
        got = oh.attribution.return_attribution(
            positions, returns, model, market="IDX", stress_windows={}
        )
        # hedged minus book on the up days: -0.8 x the index's return those days
        up = idx > 0
        by_day = -0.8 * idx[up]  # [-0.008, -0.004, -0.012]
        assert got.drag["up_days"] == 3.0
        assert got.drag["total"] == pytest.approx(-0.024, rel=1e-12)
        assert got.drag["total"] == pytest.approx(float(by_day.sum()), rel=1e-12)
        assert got.drag["mean_daily"] == pytest.approx(-0.008, rel=1e-12)
        # documented convention: negative = the upside the hedge gave away
        assert got.drag["total"] < 0
        # and the daily totals behind it
        np.testing.assert_allclose(got.daily[("before", "total")], a, rtol=1e-14)
        np.testing.assert_allclose(got.daily[("after", "total")], a - 0.8 * idx, rtol=1e-14)


# ------------------------------------------------------- 5. the Greeks table


FIXED = {"P": 0.6, "F": -0.3}


@pytest.fixture(scope="module")
def put_hedge() -> tuple[oh.HedgeResult, oh.Put]:
    daily = _daily(400, seed=5)
    risk_model = oh.FactorModel().fit(daily, daily[["IDX"]]).risk_model_
    put = oh.Put("P", underlying="IDX", moneyness=0.95, expiry=63)
    future = oh.Future("F", underlying="IDX", price=S0, multiplier=50.0)
    problem = oh.HedgeProblem(
        oh.Portfolio.from_holdings({"A": 600_000.0, "B": 400_000.0}),
        [put, future],
        objective=oh.ExpectedShortfall(0.9),
        constraints=[oh.constraints.Bounds(lower=FIXED, upper=FIXED)],
        risk_model=risk_model,
        scenarios=oh.Scenarios.historical(daily, horizon=21),
        horizon=21,
        market="IDX",
        market_state=MARKET,
    )
    result = problem.solve()
    assert result.status == "optimal"
    for label, value in FIXED.items():
        assert result.weights[label] == pytest.approx(value, abs=1e-6)
    return result, put


class TestGreeksTable:
    """Slips: theta per calendar day or per year, gamma not per 1%, vega not per point."""

    def _hand(self) -> tuple[dict, float, float, float]:
        k, t = 0.95 * S0, 63 / YEAR
        sigma = VOL + _skew(-0.30, 0.95, t)  # the strike's volatility under the skew
        return bs_greeks("put", S0, k, t, RATE, sigma, DIV), k, t, sigma

    def test_closed_forms_in_stated_units(self, put_hedge: tuple) -> None:
        result, _ = put_hedge
        g = result.greeks
        assert g is not None
        capital = 1_000_000.0
        x, x_f = (float(result.weights[c]) for c in ("P", "F"))  # FIXED, to solver accuracy
        n = x * capital / S0  # units of the index the puts cover
        hand, _, _, _ = self._hand()
        row = g.loc["hedge"]
        # delta: P&L per 1.00 move of the market; the future is 1 per unit, the put delta;
        # the index's beta to itself is 1
        assert row["delta"] == pytest.approx((x * hand["delta"] + x_f) * capital, rel=1e-9)
        # gamma_1pct: change of the currency delta (units x delta x S0) per 1% move of S
        assert row["gamma_1pct"] == pytest.approx(n * hand["gamma"] * S0 * 0.01 * S0, rel=1e-10)
        # vega_1pt: P&L per volatility point (0.01)
        assert row["vega_1pt"] == pytest.approx(n * hand["vega"] * 0.01, rel=1e-10)
        # theta_1d: P&L per trading day, 252 of them a year
        assert row["theta_1d"] == pytest.approx(n * hand["theta"] / 252.0, rel=1e-10)
        assert row["theta_1d"] < 0 < row["vega_1pt"]
        np.testing.assert_allclose(g.loc["after"], g.loc["before"] + g.loc["hedge"], rtol=1e-12)
        assert (g.loc["before", ["gamma_1pct", "vega_1pt", "theta_1d"]] == 0.0).all()

    def test_finite_differences_of_a_hand_price(self, put_hedge: tuple) -> None:
        result, _ = put_hedge
        g = result.greeks
        assert g is not None
        x, x_f = (float(result.weights[c]) for c in ("P", "F"))
        n = x * 1_000_000.0 / S0
        _, k, t, sigma = self._hand()

        def price(s: float = S0, tt: float = t, v: float = sigma) -> float:
            return bs_price("put", s, k, tt, RATE, v, DIV)

        # delta: central difference in S (step 0.01% of S)
        hs = 1e-4 * S0
        delta = (price(S0 + hs) - price(S0 - hs)) / (2 * hs)
        futures_delta = x_f * 1_000_000.0
        assert g.loc["hedge", "delta"] == pytest.approx(n * S0 * delta + futures_delta, rel=1e-6)

        # gamma_1pct: the change of the delta (in units) over +-1% of S, valued at S0:
        # n S0 (delta(1.01 S0) - delta(0.99 S0)) / 2
        def delta_at(s: float) -> float:
            return (price(s + hs) - price(s - hs)) / (2 * hs)

        one_pct = n * S0 * (delta_at(1.01 * S0) - delta_at(0.99 * S0)) / 2
        assert g.loc["hedge", "gamma_1pct"] == pytest.approx(one_pct, rel=2e-3)
        # vega_1pt: price change for +-half a volatility point
        vega_pt = n * (price(v=sigma + 0.005) - price(v=sigma - 0.005))
        assert g.loc["hedge", "vega_1pt"] == pytest.approx(vega_pt, rel=1e-4)
        # theta_1d: what one trading day less to expiry costs (central, +- half a day)
        day = 1.0 / 252.0
        theta_day = n * (price(tt=t - day / 2) - price(tt=t + day / 2))
        assert g.loc["hedge", "theta_1d"] == pytest.approx(theta_day, rel=1e-4)

    def test_expected_shortfall_standard_error_in_the_attribution(self, put_hedge: tuple) -> None:
        # the ES table's total standard errors are the asymptotic formula on the result's
        # own scenario P&L (breakdown.py reads tail_summary's es_standard_error)
        result, _ = put_hedge
        table = result.attribution(by="leg", measure="expected_shortfall")
        frame = result.scenario_returns
        assert frame is not None
        n = len(frame)
        p = np.full(n, 1.0 / n)
        for side in ("before", "after"):
            _, es, se = _hand_es(-frame[side].to_numpy(), p, 0.9)
            assert table.loc["total", side] == pytest.approx(es, rel=1e-9)
            assert table.loc["total", f"{side}_se"] == pytest.approx(se, rel=1e-9)


# ---------------------------------------------------------------- Hull's numbers


class TestHullPublishedValues:
    """Hull's examples through the hand formulas and the option instruments' Greeks."""

    def test_hand_formulas_reproduce_hull(self) -> None:
        # the hand-written pricer the tests above rely on, against Hull's printed numbers
        assert round(bs_price("call", 42, 40, 0.5, 0.1, 0.2, 0.0), 2) == 4.76
        assert round(bs_price("put", 42, 40, 0.5, 0.1, 0.2, 0.0), 2) == 0.81
        g = bs_greeks("call", 49, 50, 0.3846, 0.05, 0.2, 0.0)
        assert round(g["delta"], 3) == 0.522
        assert round(g["gamma"], 3) == 0.066
        assert round(g["theta"], 2) == -4.31
        assert round(g["vega"], 1) == 12.1

    def test_instrument_theta_and_gamma_in_hull_units(self) -> None:
        # Hull's 20-week call as an optihedge Call: S 49, K 50, r 5%, sigma 20%, no skew
        # on the option's own implied volatility; 20 weeks = 0.3846 years ~ 97 trading days
        market = oh.MarketState(spot={"S": 49.0}, rate=0.05)
        call = oh.Call("C", underlying="S", strike=50.0, expiry=97, implied_vol=0.2)
        a = call.attributes(market)
        # theta per year per unit of S0 at 97/252 = 0.3849 years (Hull's -4.31 is at
        # 0.3846; the extra 0.0003 years moves it to -4.30, so compare with the hand form)
        hand = bs_greeks("call", 49.0, 50.0, 97 / 252, 0.05, 0.2, 0.0)
        assert a["theta"] * 49.0 == pytest.approx(hand["theta"], rel=1e-10)
        assert round(a["gamma"] / 49.0, 3) == 0.066
        # Hull: theta per trading day is -4.31 / 252 = -0.0171 (per calendar day -0.0118)
        assert round(a["theta"] * 49.0 / 252.0, 4) == -0.0171

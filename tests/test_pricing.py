"""Black-Scholes-Merton: Hull's textbook values, finite differences, parity, round trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from optihedge.datasets import load_default, returns_from_prices
from optihedge.errors import ConvergenceError, DataError, SpecificationError
from optihedge.pricing import (
    IMPLIED_TO_REALISED_RATIO,
    black_scholes,
    ewma_volatility,
    greeks,
    implied_volatility,
    volatility_proxy,
)


class TestHullValues:
    # Hull, Options, Futures, and Other Derivatives: the Black-Scholes-Merton example.
    def test_call_and_put_42_40(self) -> None:
        assert round(black_scholes("call", 42, 40, 0.5, 0.1, 0.2), 2) == 4.76
        assert round(black_scholes("put", 42, 40, 0.5, 0.1, 0.2), 2) == 0.81

    def test_index_option_with_dividend_yield(self) -> None:
        # Hull, options on stock indices: S=930, K=900, T=2 months, r=8%, q=3%, 20% vol.
        assert round(black_scholes("call", 930, 900, 2 / 12, 0.08, 0.2, q=0.03), 2) == 51.83

    def test_greeks_49_50(self) -> None:
        # Hull, "The Greek letters": S=49, K=50, T=20 weeks, r=5%, sigma=20%.
        args = ("call", 49, 50, 0.3846, 0.05, 0.2)
        assert round(black_scholes(*args), 2) == 2.40
        g = greeks(*args)
        assert round(g.delta, 3) == 0.522
        assert round(g.gamma, 3) == 0.066
        assert round(g.vega, 1) == 12.1
        assert round(g.theta, 2) == -4.31
        assert round(g.rho, 2) == 8.91

    def test_implied_volatility_21_20(self) -> None:
        # Hull: a call worth 1.875 with S=21, K=20, T=0.25, r=10% implies 23.5%.
        assert round(implied_volatility(1.875, "call", 21, 20, 0.25, 0.1), 3) == 0.235


KINDS = st.sampled_from(["call", "put"])
SPOT = st.floats(20.0, 200.0)
MONEYNESS = st.floats(0.6, 1.6)
EXPIRY = st.floats(0.05, 3.0)
RATE = st.floats(-0.01, 0.1)
VOL = st.floats(0.05, 1.0)
YIELD = st.floats(0.0, 0.06)


class TestProperties:
    @given(s=SPOT, m=MONEYNESS, t=EXPIRY, r=RATE, v=VOL, q=YIELD)
    def test_put_call_parity(
        self, s: float, m: float, t: float, r: float, v: float, q: float
    ) -> None:
        k = s * m
        c = black_scholes("call", s, k, t, r, v, q)
        p = black_scholes("put", s, k, t, r, v, q)
        assert c - p == pytest.approx(s * np.exp(-q * t) - k * np.exp(-r * t), abs=1e-9 * s)

    @given(kind=KINDS, s=SPOT, m=MONEYNESS, t=EXPIRY, r=RATE, v=VOL, q=YIELD)
    def test_greeks_match_finite_differences(
        self, kind: str, s: float, m: float, t: float, r: float, v: float, q: float
    ) -> None:
        k = s * m
        g = greeks(kind, s, k, t, r, v, q)

        def price(**bump: float) -> float:
            a = {"S": s, "K": k, "T": t, "r": r, "sigma": v, "q": q} | bump
            return black_scholes(kind, a["S"], a["K"], a["T"], a["r"], a["sigma"], a["q"])

        hs, hv, ht, hr = 1e-4 * s, 1e-5, 1e-6, 1e-6
        # central differences err by h^2 f'''(S)/6: a small step for delta (short, low-vol
        # options have a large third derivative), a larger one for the second difference
        hd = 1e-6 * s
        delta = (price(S=s + hd) - price(S=s - hd)) / (2 * hd)
        gamma = (price(S=s + hs) - 2 * price() + price(S=s - hs)) / hs**2
        vega = (price(sigma=v + hv) - price(sigma=v - hv)) / (2 * hv)
        theta = -(price(T=t + ht) - price(T=t - ht)) / (2 * ht)
        rho = (price(r=r + hr) - price(r=r - hr)) / (2 * hr)
        assert g.delta == pytest.approx(delta, abs=1e-6)
        assert g.gamma == pytest.approx(gamma, rel=1e-3, abs=1e-6)
        assert g.vega == pytest.approx(vega, rel=1e-5, abs=1e-6)
        assert g.theta == pytest.approx(theta, rel=1e-4, abs=1e-5)
        assert g.rho == pytest.approx(rho, rel=1e-5, abs=1e-6)

    @given(
        kind=KINDS,
        s=SPOT,
        m=st.floats(0.8, 1.25),
        t=st.floats(0.1, 2.0),
        r=RATE,
        v=st.floats(0.08, 0.9),
        q=YIELD,
    )
    def test_implied_volatility_round_trip(
        self, kind: str, s: float, m: float, t: float, r: float, v: float, q: float
    ) -> None:
        price = black_scholes(kind, s, s * m, t, r, v, q)
        intrinsic = max(
            (1 if kind == "call" else -1) * (s * np.exp(-q * t) - s * m * np.exp(-r * t)), 0.0
        )
        # a price with no time value left in floating point identifies no volatility
        assume(price - intrinsic > 1e-6 * s)
        assert implied_volatility(price, kind, s, s * m, t, r, q) == pytest.approx(v, rel=1e-7)

    def test_vectorised_equals_scalar_loop(self) -> None:
        strikes = np.array([80.0, 100.0, 120.0])
        vols = np.array([0.15, 0.2, 0.3])
        out = black_scholes("put", 100.0, strikes, 0.5, 0.02, vols, 0.01)
        loop = [
            black_scholes("put", 100.0, k, 0.5, 0.02, v, 0.01)
            for k, v in zip(strikes, vols, strict=True)
        ]
        np.testing.assert_allclose(out, loop, rtol=1e-14)
        ivs = implied_volatility(out, "put", 100.0, strikes, 0.5, 0.02, 0.01)
        np.testing.assert_allclose(ivs, vols, rtol=1e-8)
        g = greeks("put", 100.0, strikes, 0.5, 0.02, vols, 0.01)
        assert g.delta.shape == (3,)

    def test_expiry_and_zero_vol_limits(self) -> None:
        assert black_scholes("put", 90, 100, 0.0, 0.05, 0.2) == 10.0
        assert black_scholes("call", 90, 100, 0.0, 0.05, 0.2) == 0.0
        expected = 110 - 100 * np.exp(-0.05)
        assert black_scholes("call", 110, 100, 1.0, 0.05, 0.0) == pytest.approx(expected)

    def test_greeks_series(self) -> None:
        s = greeks("call", 49, 50, 0.3846, 0.05, 0.2).to_series()
        assert list(s.index) == ["delta", "gamma", "vega", "theta", "rho"]


class TestBadInput:
    @pytest.mark.parametrize(
        ("name", "value"),
        [("S", -1.0), ("K", 0.0), ("T", -0.5), ("sigma", -0.2), ("S", np.nan), ("r", np.inf)],
    )
    def test_price_inputs(self, name: str, value: float) -> None:
        args = {"S": 100.0, "K": 100.0, "T": 1.0, "r": 0.01, "sigma": 0.2} | {name: value}
        with pytest.raises(DataError, match=f"'{name}' argument"):
            black_scholes("call", **args)

    def test_array_error_names_position(self) -> None:
        with pytest.raises(DataError, match="'sigma'.*-0.1 at position 2"):
            black_scholes("call", 100.0, 100.0, 1.0, 0.01, [0.2, 0.3, -0.1])

    def test_greeks_need_nonnegative_time_and_vol(self) -> None:
        with pytest.raises(DataError, match=r"'T' argument must hold finite numbers in \[0, inf\)"):
            greeks("call", 100, 100, -0.1, 0.01, 0.2)
        with pytest.raises(DataError, match="'sigma'"):
            greeks("call", 100, 100, 1.0, 0.01, -0.2)

    @pytest.mark.parametrize("kind", ["call", "put"])
    @pytest.mark.parametrize("spot", [45.0, 55.0])
    def test_greeks_at_expiry_are_the_limits(self, kind: str, spot: float) -> None:
        # the closed form a second before expiry is the limit the expiry row must show
        at = greeks(kind, spot, 50.0, 0.0, 0.05, 0.2, 0.01)
        near = greeks(kind, spot, 50.0, 1.0 / (252 * 6.5 * 3600), 0.05, 0.2, 0.01)
        for name in ("delta", "gamma", "vega", "theta", "rho"):
            assert getattr(at, name) == pytest.approx(getattr(near, name), abs=1e-4), name
        itm = (spot > 50.0) == (kind == "call")
        assert at.delta == (0.0 if not itm else (1.0 if kind == "call" else -1.0))
        assert at.gamma == 0.0
        assert at.vega == 0.0

    def test_greeks_at_the_strike_at_expiry(self) -> None:
        g = greeks("call", 50.0, 50.0, 0.0, 0.05, 0.2)
        assert g.delta == 0.5  # the limit of N(d1)
        assert g.gamma == np.inf
        assert g.theta == -np.inf
        assert black_scholes("call", 50.0, 50.0, 0.0, 0.05, 0.2) == 0.0

    def test_greeks_without_volatility_are_those_of_the_forward(self) -> None:
        # sigma = 0: the call is worth S e^{-qT} - K e^{-rT} when in the money
        s, k, t, r, q = 55.0, 50.0, 0.5, 0.05, 0.01
        g = greeks("call", s, k, t, r, 0.0, q)
        assert g.delta == pytest.approx(np.exp(-q * t))
        assert g.theta == pytest.approx(q * s * np.exp(-q * t) - r * k * np.exp(-r * t))
        assert g.rho == pytest.approx(k * t * np.exp(-r * t))
        assert (g.gamma, g.vega) == (0.0, 0.0)

    def test_unknown_kind(self) -> None:
        with pytest.raises(SpecificationError, match="'kind' argument must be 'call' or 'put'"):
            black_scholes("straddle", 100, 100, 1, 0.0, 0.2)

    def test_price_outside_arbitrage_bounds(self) -> None:
        with pytest.raises(DataError, match="'price'.*no-arbitrage bounds"):
            implied_volatility(0.5, "call", 21, 20, 0.25, 0.1)  # below intrinsic 1.49
        with pytest.raises(DataError, match="'price'.*no-arbitrage bounds"):
            implied_volatility(25.0, "call", 21, 20, 0.25, 0.1)  # above spot

    def test_convergence_error(self) -> None:
        with pytest.raises(ConvergenceError, match="max_iter=1"):
            implied_volatility(1.875, "call", 21, 20, 0.25, 0.1, max_iter=1)


class TestVolatilityProxy:
    def test_ewma_of_constant_magnitude_returns(self) -> None:
        r = np.tile([0.01, -0.01], 50)
        assert ewma_volatility(r) == pytest.approx(0.01 * np.sqrt(252))

    def test_ewma_weights_against_pandas(self, rng: np.random.Generator) -> None:
        r = rng.normal(0, 0.01, 300)
        # pandas ewm with halflife and adjust=True uses the same normalised weights
        expected = np.sqrt(252 * pd.Series(r**2).ewm(halflife=21.0).mean().iloc[-1])
        assert ewma_volatility(r, 21.0) == pytest.approx(expected, rel=1e-12)

    def test_proxy_scales_by_ratio(self, rng: np.random.Generator) -> None:
        r = rng.normal(0, 0.01, 300)
        assert volatility_proxy(r, ratio=1.5) == pytest.approx(1.5 * ewma_volatility(r))

    def test_documented_ratio_matches_embedded_data(self) -> None:
        prices = load_default(start="2013-01-01", end="2018-12-31", columns=["SP500", "VIX"])
        spx = returns_from_prices(prices[["SP500"]])["SP500"]
        vix = prices["VIX"].dropna()
        ratios = []
        for date in vix.index:
            window = spx.loc[:date].iloc[-252:]
            if len(window) == 252:
                ratios.append(vix[date] / 100.0 / ewma_volatility(window.to_numpy()))
        assert len(ratios) > 1200
        assert np.median(ratios) == pytest.approx(IMPLIED_TO_REALISED_RATIO, abs=0.01)

    def test_bad_input(self) -> None:
        with pytest.raises(DataError, match="'returns'.*at least 2"):
            ewma_volatility([0.01])
        with pytest.raises(SpecificationError, match="'halflife'"):
            ewma_volatility([0.01, 0.02], halflife=0)
        with pytest.raises(SpecificationError, match="'ratio'"):
            volatility_proxy([0.01, 0.02], ratio=-1)

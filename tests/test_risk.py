"""Known-answer, independent-computation and property tests for optihedge.risk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats
from scipy.linalg import toeplitz

from optihedge.errors import DataError, MissingLabelsError, SpecificationError
from optihedge.measures.risk import (
    expected_shortfall,
    max_drawdown,
    parametric_es,
    parametric_var,
    scale_to_horizon,
    value_at_risk,
)


def ru_cvar(pnl: np.ndarray, alpha: float, p: np.ndarray | None = None) -> float:
    """Rockafellar-Uryasev CVaR by direct minimisation over zeta (the minimum is
    attained at one of the losses), an independent route to expected shortfall."""
    losses = -np.asarray(pnl, dtype=float)
    p = np.full(len(losses), 1 / len(losses)) if p is None else p
    return min(z + p @ np.maximum(losses - z, 0.0) / (1 - alpha) for z in losses)


pnl_samples = st.lists(
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False), min_size=1, max_size=60
)
alphas = st.floats(0.5, 0.995)


class TestKnownAnswers:
    def test_uniform_losses_one_to_hundred(self) -> None:
        pnl = -np.arange(1.0, 101.0)
        assert value_at_risk(pnl, 0.95) == 95.0
        assert expected_shortfall(pnl, 0.95) == pytest.approx(98.0)

    def test_boundary_atom_is_split(self) -> None:
        # alpha = 0.955: VaR = 96, only 0.005 of the atom at 96 lies in the tail.
        pnl = -np.arange(1.0, 101.0)
        expected = (0.005 * 96 + 0.01 * (97 + 98 + 99 + 100)) / 0.045
        assert value_at_risk(pnl, 0.955) == 96.0
        assert expected_shortfall(pnl, 0.955) == pytest.approx(expected, rel=1e-12)

    def test_weighted_outcomes(self) -> None:
        # losses 0 (p=0.9), 10 (p=0.06), 50 (p=0.04); alpha 0.95:
        # VaR = 10, ES = (0.01 * 10 + 0.04 * 50) / 0.05 = 42.
        pnl, p = [0.0, -10.0, -50.0], [0.9, 0.06, 0.04]
        assert value_at_risk(pnl, 0.95, p) == 10.0
        assert expected_shortfall(pnl, 0.95, p) == pytest.approx(42.0)

    def test_normal_basel_equivalence(self) -> None:
        # Published: standard normal 99% VaR = 2.326348, 97.5% ES = 2.337803.
        assert parametric_var(0.0, 1.0, 0.99) == pytest.approx(2.326348, abs=1e-6)
        assert parametric_es(0.0, 1.0, 0.975) == pytest.approx(2.337803, abs=1e-6)

    @pytest.mark.parametrize("alpha", [0.9, 0.95, 0.975, 0.99])
    def test_normal_es_against_quadrature(self, alpha: float) -> None:
        mu, sigma = 0.001, 0.02
        dist = stats.norm(mu, sigma)
        var = -dist.ppf(1 - alpha)
        tail, _ = integrate.quad(lambda g: -g * dist.pdf(g), -np.inf, -var)
        assert parametric_var(mu, sigma, alpha) == pytest.approx(var, rel=1e-10)
        assert parametric_es(mu, sigma, alpha) == pytest.approx(tail / (1 - alpha), rel=1e-8)

    def test_large_normal_sample_converges_to_parametric(self, rng: np.random.Generator) -> None:
        pnl = rng.normal(0.0, 1.0, 400_000)
        # standard error of the ES estimator at 97.5% with n = 400k is about 0.007
        assert expected_shortfall(pnl, 0.975) == pytest.approx(2.337803, abs=0.03)

    def test_max_drawdown_by_hand(self) -> None:
        # wealth 1, 1.1, 0.55, 0.66: the fall from 1.1 to 0.55 is 50%.
        assert max_drawdown([0.1, -0.5, 0.2]) == pytest.approx(0.5)
        assert max_drawdown([0.01, 0.02]) == 0.0

    def test_max_drawdown_frame_per_column(self) -> None:
        frame = pd.DataFrame({"a": [0.1, -0.5, 0.2], "b": [np.nan, -0.2, 0.1]})
        out = max_drawdown(frame)
        assert isinstance(out, pd.Series)
        assert out["a"] == pytest.approx(0.5)
        assert out["b"] == pytest.approx(0.2)

    def test_horizon_square_root_of_time(self) -> None:
        assert scale_to_horizon(0.01, 21) == pytest.approx(0.01 * np.sqrt(21))
        s = pd.Series([0.01, 0.02], index=["x", "y"])
        out = scale_to_horizon(s, 4)
        assert list(out.index) == ["x", "y"]
        assert out["y"] == pytest.approx(0.04)

    @pytest.mark.parametrize("rho", [-0.3, 0.1, 0.5])
    @pytest.mark.parametrize("days", [1, 2, 5, 21])
    def test_horizon_with_autocorrelation(self, rho: float, days: int) -> None:
        # variance of a sum of AR(1) returns: 1' R 1 with R_ij = rho^|i-j|.
        corr = toeplitz(rho ** np.arange(days))
        expected = 0.01 * np.sqrt(corr.sum())
        assert scale_to_horizon(0.01, days, rho) == pytest.approx(expected, rel=1e-12)


class TestProperties:
    @given(pnl=pnl_samples, alpha=alphas)
    def test_var_le_es(self, pnl: list[float], alpha: float) -> None:
        assert value_at_risk(pnl, alpha) <= expected_shortfall(pnl, alpha) + 1e-9

    @given(pnl=pnl_samples, a1=alphas, a2=alphas)
    def test_es_monotone_in_alpha(self, pnl: list[float], a1: float, a2: float) -> None:
        lo, hi = sorted((a1, a2))
        assert expected_shortfall(pnl, lo) <= expected_shortfall(pnl, hi) + 1e-9

    @given(pnl=pnl_samples, alpha=alphas, seed=st.integers(0, 2**32 - 1))
    def test_invariant_to_order(self, pnl: list[float], alpha: float, seed: int) -> None:
        shuffled = np.random.default_rng(seed).permutation(pnl)
        assert expected_shortfall(shuffled, alpha) == pytest.approx(
            expected_shortfall(pnl, alpha), abs=1e-9
        )
        assert value_at_risk(shuffled, alpha) == value_at_risk(pnl, alpha)

    @given(pnl=pnl_samples, alpha=alphas, scale=st.floats(1e-3, 1e3))
    def test_positive_scale_equivariance(
        self, pnl: list[float], alpha: float, scale: float
    ) -> None:
        scaled = np.asarray(pnl) * scale
        assert expected_shortfall(scaled, alpha) == pytest.approx(
            scale * expected_shortfall(pnl, alpha), rel=1e-9, abs=1e-9
        )
        assert value_at_risk(scaled, alpha) == pytest.approx(
            scale * value_at_risk(pnl, alpha), rel=1e-12, abs=1e-12
        )

    @given(pnl=pnl_samples, alpha=alphas, shift=st.floats(-100, 100))
    def test_translation(self, pnl: list[float], alpha: float, shift: float) -> None:
        moved = np.asarray(pnl) + shift
        assert expected_shortfall(moved, alpha) == pytest.approx(
            expected_shortfall(pnl, alpha) - shift, abs=1e-7
        )

    @given(pnl=pnl_samples, alpha=alphas)
    def test_equals_rockafellar_uryasev_minimum(self, pnl: list[float], alpha: float) -> None:
        assert expected_shortfall(pnl, alpha) == pytest.approx(
            ru_cvar(np.array(pnl), alpha), rel=1e-9, abs=1e-7
        )

    @given(data=st.data(), alpha=alphas)
    def test_weighted_equals_rockafellar_uryasev(self, data: st.DataObject, alpha: float) -> None:
        pnl = np.array(data.draw(pnl_samples))
        w = np.array(
            data.draw(st.lists(st.floats(0.01, 1.0), min_size=len(pnl), max_size=len(pnl)))
        )
        p = w / w.sum()
        assert expected_shortfall(pnl, alpha, p) == pytest.approx(
            ru_cvar(pnl, alpha, p), rel=1e-9, abs=1e-7
        )

    @given(pnl=pnl_samples, alpha=alphas)
    def test_duplicated_sample_is_same_distribution(self, pnl: list[float], alpha: float) -> None:
        assert expected_shortfall(pnl * 2, alpha) == pytest.approx(
            expected_shortfall(pnl, alpha), abs=1e-7
        )

    @given(r=st.lists(st.floats(-0.5, 0.5), min_size=1, max_size=40))
    def test_max_drawdown_against_all_pairs(self, r: list[float]) -> None:
        wealth = np.concatenate(([1.0], np.cumprod(1 + np.asarray(r))))
        brute = max(
            0.0,
            *(1 - wealth[j] / wealth[i] for i in range(len(wealth)) for j in range(i, len(wealth))),
        )
        assert max_drawdown(r) == pytest.approx(brute, abs=1e-12)


class TestBadInput:
    @pytest.mark.parametrize("func", [value_at_risk, expected_shortfall])
    @pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5, np.nan])
    def test_alpha_outside_open_unit_interval(self, func: object, alpha: float) -> None:
        with pytest.raises(SpecificationError, match=r"'alpha' argument must be .* in \(0, 1\)"):
            func([1.0, 2.0], alpha)  # type: ignore[operator]

    @pytest.mark.parametrize("func", [value_at_risk, expected_shortfall])
    def test_nan_inf_empty(self, func: object) -> None:
        with pytest.raises(DataError, match="'pnl'.*nan"):
            func([1.0, np.nan], 0.9)  # type: ignore[operator]
        with pytest.raises(DataError, match="'pnl'.*inf"):
            func([1.0, np.inf], 0.9)  # type: ignore[operator]
        with pytest.raises(DataError, match="'pnl' argument is empty"):
            func([], 0.9)  # type: ignore[operator]

    def test_probabilities(self) -> None:
        with pytest.raises(DataError, match="'probabilities' argument must sum to 1"):
            expected_shortfall([1.0, 2.0], 0.9, [0.5, 0.6])
        with pytest.raises(DataError, match=r"'probabilities'.*in \[0, 1\]"):
            expected_shortfall([1.0, 2.0], 0.9, [1.5, -0.5])
        with pytest.raises(DataError, match="'probabilities'.*one entry per outcome"):
            value_at_risk([1.0, 2.0], 0.9, [1.0])

    def test_duplicate_labels(self) -> None:
        with pytest.raises(MissingLabelsError, match="'pnl'.*duplicate"):
            value_at_risk(pd.Series([1.0, 2.0], index=["a", "a"]))

    def test_parametric(self) -> None:
        for measure in (parametric_var, parametric_es):
            with pytest.raises(SpecificationError, match="^The 'mean' argument"):
                measure(np.nan, 1.0)
            with pytest.raises(
                SpecificationError,
                match=r"^The 'std' argument must be a finite number in \[0, inf\)",
            ):
                measure(0.0, -1.0)

    def test_parametric_default_level_is_0_95(self) -> None:
        # scipy: norm.ppf(0.95) = 1.6448536269514722; ES = pdf(ppf) / 0.05 = 2.0627128075074275
        assert parametric_var(0.0, 1.0) == pytest.approx(1.6448536269514722, rel=1e-14)
        assert parametric_es(0.0, 1.0) == pytest.approx(2.0627128075074275, rel=1e-12)

    def test_drawdown_and_horizon(self) -> None:
        with pytest.raises(DataError, match="'returns'.*-1"):
            max_drawdown([0.1, -1.0])
        with pytest.raises(SpecificationError, match="'days' argument must be an integer >= 1"):
            scale_to_horizon(0.01, 0)
        with pytest.raises(SpecificationError, match="'autocorrelation'"):
            scale_to_horizon(0.01, 5, 1.0)
        with pytest.raises(DataError, match="'sigma'"):
            scale_to_horizon(-0.01, 5)

"""Scenarios: historical paths, bootstrap, Monte Carlo, stress windows, shocks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import optihedge as oh
from factor_models import RiskModel
from optihedge.errors import DataError, DataWarning, MissingLabelsError, SpecificationError
from optihedge.scenarios import Scenarios


@pytest.fixture(scope="module")
def daily() -> pd.DataFrame:
    prices = oh.datasets.load_default(start="2007-01-01", columns=["SP500", "JPM", "KO"])
    return oh.returns_from_prices(prices)


@pytest.fixture(scope="module")
def model() -> RiskModel:
    labels = ["IDX", "A", "B"]
    b = pd.DataFrame([[1.0], [1.2], [0.5]], index=labels, columns=["IDX"])
    f = pd.DataFrame([[1e-4]], index=["IDX"], columns=["IDX"])
    return RiskModel(b, f, pd.Series([0.0, 4e-5, 9e-5], index=labels))


class TestHistorical:
    def test_paths_compound_daily_returns(self, daily: pd.DataFrame) -> None:
        s = Scenarios.historical(daily, horizon=21)
        assert s.n_scenarios == len(daily) - 20
        assert s.returns.index[0] == daily.index[20]
        for k in (0, 500, s.n_scenarios - 1):
            by_hand = np.prod(1 + daily.iloc[k : k + 21].to_numpy(), axis=0) - 1
            np.testing.assert_allclose(s.returns.iloc[k], by_hand, rtol=1e-12)

    def test_inverse_etf_compounds_its_daily_reset(self, daily: pd.DataFrame) -> None:
        s = Scenarios.historical(daily, horizon=21)
        inv = oh.InverseETF(label="SDS", underlying="SP500", leverage=-2.0)
        got = inv.scenario_returns(s)
        for k in (0, 300, 450, s.n_scenarios - 1):
            path = daily["SP500"].iloc[k : k + 21].to_numpy()
            assert got[k] == pytest.approx(np.prod(1 - 2 * path) - 1, rel=1e-12)
            assert got[k] == pytest.approx(inv.horizon_return(list(path)), rel=1e-12)
        # in the 2008 crisis the daily reset drifts far from -2 x the 21-day return
        assert np.max(np.abs(got + 2 * s.returns["SP500"].to_numpy())) > 0.02

    def test_wipe_out_is_a_total_loss_not_nan(self) -> None:
        # a -2x daily-reset product on a +60% day loses everything and stays at zero
        days = pd.bdate_range("2024-01-01", periods=3)
        daily = pd.DataFrame({"X": [0.01, 0.6, -0.5]}, index=days)
        with pytest.warns(DataWarning, match="volatility of 0.449"):  # extreme on purpose
            s = Scenarios.historical(daily, horizon=3)
        inv = oh.InverseETF(label="SDX", underlying="X", leverage=-2.0)
        assert inv.scenario_returns(s)[0] == -1.0
        assert inv.horizon_return([0.01, 0.6, -0.5]) == -1.0

    def test_stress_window(self, daily: pd.DataFrame) -> None:
        s = Scenarios.stress(daily, "COVID 2020")
        prices = oh.datasets.load_default(columns=["SP500"])["SP500"]
        expected = prices["2020-03-23"] / prices["2020-02-18"] - 1  # returns dated in window
        assert s.returns.loc["COVID 2020", "SP500"] == pytest.approx(expected, rel=1e-10)
        assert s.horizon == len(daily.loc["2020-02-19":"2020-03-23"])
        paths = Scenarios.stress(daily, ("2008-09-01", "2009-03-31"), horizon=21)
        assert paths.n_scenarios == len(daily.loc["2008-09-01":"2009-03-31"]) - 20

    def test_stress_errors(self, daily: pd.DataFrame) -> None:
        with pytest.raises(DataError, match="'GFC 2008-09'.*outside the data"):
            Scenarios.stress(daily.loc["2010":], "GFC 2008-09")
        with pytest.raises(SpecificationError, match="Unknown stress window 'dotcom'"):
            Scenarios.stress(daily, "dotcom")


class TestBootstrap:
    def test_reproducible_and_consistent(self, daily: pd.DataFrame) -> None:
        a = Scenarios.bootstrap(daily, 500, horizon=21, block=5, seed=3)
        b = Scenarios.bootstrap(daily, 500, horizon=21, block=5, seed=3)
        c = Scenarios.bootstrap(daily, 500, horizon=21, block=5, seed=4)
        pd.testing.assert_frame_equal(a.returns, b.returns)
        assert not a.returns.equals(c.returns)
        # the path of each scenario reproduces its returns
        paths = a.paths
        assert paths is not None
        np.testing.assert_allclose(a.compound("JPM", 1.0), a.returns["JPM"], rtol=1e-12)


class TestMonteCarlo:
    def test_covariance_and_tails(self, model: RiskModel) -> None:
        t = Scenarios.monte_carlo(model, 40_000, horizon=21, dof=5.0, seed=1)
        n = Scenarios.monte_carlo(model, 40_000, horizon=21, dof=None, seed=1)
        target = model.covariance().to_numpy() * 21
        for s in (t, n):
            np.testing.assert_allclose(s.covariance().to_numpy(), target, rtol=0.06, atol=1e-6)
        # a Student-t(5) horizon return has excess kurtosis 6; the normal one 0
        assert stats.kurtosis(t.returns["A"]) > 2.0
        assert abs(stats.kurtosis(n.returns["A"])) < 0.3

    def test_mean_compounds_to_its_horizon_expectation(self, model: RiskModel) -> None:
        # given the path's multiplier the days are independent with mean mu, so the
        # horizon return's expectation is (1 + mu)^h - 1 exactly
        mu = pd.Series({"A": 0.001, "IDX": -0.0005})
        s = Scenarios.monte_carlo(model, 40_000, horizon=21, dof=5.0, seed=3, mean=mu)
        for asset, m in mu.items():
            got = s.returns[asset]
            se = got.std() / np.sqrt(len(got))
            assert abs(got.mean() - ((1 + m) ** 21 - 1)) < 4 * se
        zero = Scenarios.monte_carlo(model, 40_000, horizon=21, dof=5.0, seed=3)
        assert abs(zero.returns["A"].mean()) < 4 * zero.returns["A"].std() / np.sqrt(40_000)
        with pytest.raises(MissingLabelsError, match=r"lacks: \['ZZZ'\]"):
            Scenarios.monte_carlo(model, 10, mean=pd.Series({"ZZZ": 0.001}))
        with pytest.raises(DataError, match=r"'mean' argument holds returns above \+100%"):
            Scenarios.monte_carlo(model, 10, mean=pd.Series({"A": 5.0}))

    def test_paths_are_deterministic(self, model: RiskModel) -> None:
        s = Scenarios.monte_carlo(model, 3_000, horizon=10, seed=7)
        again = Scenarios.monte_carlo(model, 3_000, horizon=10, seed=7)
        pd.testing.assert_frame_equal(s.returns, again.returns)
        # compounding with leverage 1 along the regenerated paths gives the returns back
        np.testing.assert_allclose(s.compound("A", 1.0), s.returns["A"], rtol=1e-12, atol=1e-15)

    def test_errors(self, model: RiskModel) -> None:
        with pytest.raises(SpecificationError, match="'dof'"):
            Scenarios.monte_carlo(model, 10, dof=2.0)
        with pytest.raises(SpecificationError, match="'n' argument"):
            Scenarios.monte_carlo(model, 0)


class TestShock:
    def test_index_move_through_betas(self, model: RiskModel) -> None:
        s = Scenarios.shock(model, {"IDX": -0.2}, vol_move=0.1)
        cov = model.covariance()
        beta = cov["IDX"] / cov.loc["IDX", "IDX"]
        np.testing.assert_allclose(s.returns.iloc[0], -0.2 * beta, rtol=1e-12)
        assert s.vol_moves is not None
        np.testing.assert_array_equal(s.vol_move_of("IDX"), [0.1])
        np.testing.assert_array_equal(s.vol_move_of("A"), [0.1])

    def test_two_moves_conditional_expectation(self, model: RiskModel) -> None:
        s = Scenarios.shock(model, {"IDX": -0.1, "A": -0.15})
        cov = model.covariance().to_numpy()
        m = np.array([-0.1, -0.15])
        expected = cov[:, :2] @ np.linalg.solve(cov[:2, :2], m)
        np.testing.assert_allclose(s.returns.iloc[0], expected, rtol=1e-10)

    def test_unknown_factor(self, model: RiskModel) -> None:
        with pytest.raises(MissingLabelsError, match=r"\['VIX'\]"):
            Scenarios.shock(model, {"VIX": 0.5})


class TestGiven:
    def test_bad_input(self) -> None:
        frame = pd.DataFrame({"a": [0.01, np.nan]})
        with pytest.raises(DataError, match="'returns'.*NaN.*'a'"):
            Scenarios.from_returns(frame)
        with pytest.raises(DataError, match="'probabilities' argument must sum to 1"):
            Scenarios.from_returns(pd.DataFrame({"a": [0.01, 0.02]}), probabilities=[0.5, 0.6])
        with pytest.raises(SpecificationError, match="'horizon'"):
            Scenarios.from_returns(pd.DataFrame({"a": [0.01]}), horizon=0)

    def test_missing_underlying(self) -> None:
        s = Scenarios.from_returns(pd.DataFrame({"a": [0.01, 0.02]}))
        with pytest.raises(MissingLabelsError, match=r"Future\('ES'\) has underlying 'SP500'"):
            oh.Future(label="ES", underlying="SP500").scenario_returns(s)


def test_bootstrap_returns_compound_each_paths_own_days() -> None:
    # joined blocks summed run by run: equal to compounding the path's rows by hand
    rng = np.random.default_rng(3)
    daily = pd.DataFrame(
        rng.normal(0, 0.01, size=(300, 4)),
        index=pd.bdate_range("2020-01-01", periods=300),
        columns=list("ABCD"),
    )
    sc = oh.Scenarios.bootstrap(daily, 500, horizon=21, block=5, seed=9)
    index = sc.paths.index
    assert index.shape == (500, 21)
    assert not np.all(np.diff(index, axis=1) == 1)  # blocks joined, not one run
    by_hand = np.prod(1.0 + daily.to_numpy()[index], axis=1) - 1.0
    np.testing.assert_allclose(sc.returns.to_numpy(), by_hand, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("horizon", "block"), [(21, 5), (20, 5), (3, 5), (1, 1), (7, 10), (12, 1), (10, 3)]
)
def test_bootstrap_by_hand_for_whole_and_cut_blocks(horizon: int, block: int) -> None:
    # the paths' rows are the drawn blocks, the last cut to the horizon, and each
    # scenario compounds exactly its own rows (block sums gathered, not cumulative sums)
    rng = np.random.default_rng(horizon * 100 + block)
    daily = pd.DataFrame(
        rng.standard_t(4, size=(120, 3)) * 0.01,
        index=pd.bdate_range("2021-01-01", periods=120),
        columns=["X", "Y", "Z"],
    )
    sc = oh.Scenarios.bootstrap(daily, 400, horizon=horizon, block=block, seed=5)
    index = sc.paths.index
    assert index.shape == (400, horizon)
    # every block of the path is consecutive days
    for b in range(0, horizon, block):
        piece = index[:, b : b + block]
        assert np.all(np.diff(piece, axis=1) == 1)
    by_hand = np.prod(1.0 + daily.to_numpy()[index], axis=1) - 1.0
    np.testing.assert_allclose(sc.returns.to_numpy(), by_hand, rtol=1e-12, atol=1e-15)
    assert list(sc.returns.columns) == ["X", "Y", "Z"]

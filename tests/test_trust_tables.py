"""Tables a user can trust (issue 20, items 3, 5, 6, 7).

Every expected number is computed by hand in the test (numpy formulas, arithmetic on the
printed figures), never with the code under test.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import optihedge as oh
from constraints import ExpectedPnL
from factor_models import EWMACovariance, FactorModel, StatisticalFactorModel
from factor_models.errors import EstimationDataError
from optihedge.demo import format_demo, put_quote, put_text, run_demo
from optihedge.errors import DataError, DataWarning, SpecificationError
from optihedge.measures import contributions
from optihedge.optimize import breakdown

# ------------------------------------------------------------------ item 5: attribution
ASSETS = ["A", "B", "MKT"]
LOAD = np.array([[1.0], [0.8], [1.0]])
FCOV = np.array([[4e-4]])
SPEC = np.array([1e-4, 2e-4, 1e-8])
RISK = oh.RiskModel(
    pd.DataFrame(LOAD, index=ASSETS, columns=["MKT"]),
    pd.DataFrame(FCOV, index=["MKT"], columns=["MKT"]),
    pd.Series(SPEC, index=ASSETS),
)
SIGMA = LOAD @ FCOV @ LOAD.T + np.diag(SPEC)
W = np.array([0.6, 0.4, 0.0])


def _solve(label: str, first: str = "A") -> oh.HedgeResult:
    book = oh.Portfolio.from_holdings({first: 600.0, "B": 400.0})
    future = oh.Future(label=label, underlying="MKT", price=100.0, multiplier=1.0)
    risk = oh.RiskModel(
        RISK.loadings.rename(index={"A": first}), RISK.factor_cov,
        RISK.specific_var.rename(index={"A": first}),
    )  # fmt: skip
    problem = oh.HedgeProblem(
        book, [future], objective=oh.Variance(), risk_model=risk, horizon=1, market="MKT"
    )
    return problem.solve()


def _vol(z: np.ndarray) -> float:
    return float(np.sqrt(z @ SIGMA @ z))


def test_a_factor_named_twice_is_refused() -> None:
    result = _solve("ES")
    with pytest.raises(SpecificationError, match=r"'factors' argument names \['MKT'\] more than"):
        result.attribution(by="factor", factors=["MKT", "MKT"])


@pytest.mark.parametrize("by", ["leg", "instrument", "factor", "holding"])
def test_an_instrument_called_total_keeps_its_row_and_the_total_is_the_volatility(
    by: str,
) -> None:
    result = _solve("total")
    x = float(result.weights["total"])
    z_after = W + np.array([0.0, 0.0, 1.0]) * x
    table = result.attribution(by=by)
    # the total row is the result's own volatility, computed by hand
    assert table.loc["total", "before"] == pytest.approx(_vol(W), rel=1e-10)
    assert table.loc["total", "after"] == pytest.approx(_vol(z_after), rel=1e-10)
    assert table.loc["total", "after"] == pytest.approx(result.risk.loc["after", "volatility"])
    assert list(table.index).count("total") == 1
    rows = table.drop(index="total")
    assert rows["after"].sum() == pytest.approx(_vol(z_after), rel=1e-10)
    if by in ("leg", "instrument"):
        # the future's Euler contribution: x * (Sigma z)_MKT / sigma
        hand = x * (SIGMA @ z_after)[2] / _vol(z_after)
        assert rows.loc["total (instrument)", "after"] == pytest.approx(hand, rel=1e-9, abs=1e-15)
        assert table.attrs["renamed"] == {"total (instrument)": "total"}


def test_a_holding_called_hedge_and_an_instrument_called_like_a_holding() -> None:
    result = _solve("B", first="hedge")
    by_holding = result.attribution(by="holding")
    assert list(by_holding.index) == ["hedge (holding)", "B", "hedge", "total"]
    by_instrument = result.attribution(by="instrument")
    assert list(by_instrument.index) == ["hedge", "B (holding)", "B (instrument)", "total"]
    assert by_instrument.attrs["renamed"] == {"B (holding)": "B", "B (instrument)": "B"}


def test_rows_that_do_not_sum_to_the_figure_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _solve("ES")
    real = contributions.volatility_contributions

    def off(*args: np.ndarray) -> dict[str, object]:
        got: dict[str, object] = dict(real(*args))
        got["by_part"] = np.asarray(got["by_part"]) * 1.001
        return got

    monkeypatch.setattr(breakdown, "volatility_contributions", off)
    with pytest.raises(RuntimeError, match=r"rows sum to .* not to the result's own volatility"):
        result.attribution(by="leg")


# ------------------------------------------------------------------ item 6: the demo's lines
PUT_LINE = re.compile(
    r"(?P<contracts>-?\d+) SPX contracts \(x100; [\d.]+ would insure the beta exactly\) at "
    r"(?P<price>[\d.]+) = premium USD (?P<premium>[\d,]+) \((?P<pct>[\d.]+)% of the book\); "
    r"delta (?P<delta>-?[\d.]+), delta-adjusted notional USD (?P<notional>-?[\d,]+)\."
)


def _parse_put(text: str) -> dict[str, float]:
    match = PUT_LINE.search(text)
    assert match is not None, text
    return {k: float(v.replace(",", "")) for k, v in match.groupdict().items()}


@pytest.mark.parametrize(("value", "contracts"), [(1_000_000.0, 2), (1_000.0, 0)])
def test_the_put_premium_is_the_whole_contracts_times_the_quoted_price(
    value: float, contracts: int
) -> None:
    # the demo's 2022-12-28 figures: beta 0.796, S&P 500 at 3,783.22, volatility 28.9%
    spot = 3783.22
    got = _parse_put(put_text(put_quote(value, 0.796, spot, 0.289)))
    # hand: beta * value / spot / 100 index units per contract, rounded
    assert got["contracts"] == contracts == round(0.796 * value / spot / 100)
    assert got["premium"] == round(got["contracts"] * 100 * got["price"])
    hand_pct = 100 * got["contracts"] * 100 * got["price"] / value
    assert got["pct"] == pytest.approx(hand_pct, abs=0.006)
    units = got["contracts"] * 100
    assert got["notional"] == pytest.approx(
        got["delta"] * units * spot, abs=6e-4 * units * spot + 1
    )


@pytest.fixture(scope="module")
def demo_text() -> str:
    return format_demo(run_demo(1_000_000.0))


def test_the_demo_says_which_volatility_is_which_and_shows_what_its_notes_name(
    demo_text: str,
) -> None:
    got = _parse_put(demo_text)
    assert got["premium"] == round(got["contracts"] * 100 * got["price"]) == 9_690
    assert "volatility (repriced)" in demo_text
    assert "'volatility (repriced)' below is the standard deviation of the repriced" in demo_text
    assert "sees options through their delta only" in demo_text
    # every instrument a tie note names is a row of the allocation table above it
    sections = demo_text.split("\n\n")
    found = 0
    for i, section in enumerate(sections):
        for note in re.findall(r"([^.;]*?) carry the same risk", section):
            names = [n.strip() for n in note.split(", ")]
            table = next(s for s in reversed(sections[: i + 1]) if "contracts/shares" in s)
            lines = table.splitlines()[1:]
            for name in names:
                assert any(line.startswith(f"{name} ") for line in lines), (name, table)
                found += 1
    assert found >= 2  # the variance hedge's ESH3, SH


def test_a_tie_note_states_an_options_delta_not_the_same_risk() -> None:
    assets = ["A", "IDX"]
    risk = oh.RiskModel(
        pd.DataFrame([[1.0], [1.0]], index=assets, columns=["IDX"]),
        pd.DataFrame([[4e-4]], index=["IDX"], columns=["IDX"]),
        pd.Series([1e-4, 1e-8], index=assets),
    )
    market = oh.MarketState(
        spot=pd.Series({"IDX": 100.0}), volatility=pd.Series({"IDX": 0.2}), rate=0.02
    )
    problem = oh.HedgeProblem(
        oh.Portfolio.from_holdings({"A": 1000.0}),
        [
            oh.Future("F", underlying="IDX", price=100.0, multiplier=1.0),
            oh.Put("P", underlying="IDX", moneyness=0.95, expiry=63),
        ],
        objective=oh.Variance(),
        risk_model=risk,
        horizon=1,
        market="IDX",
        market_state=market,
    )
    result = problem.solve()
    # hand: Black-Scholes put delta -N(-d1), volatility 0.2 plus the documented skew
    # SKEW * ln(m) * sqrt(0.25 / T) (SKEW = -0.30), T = 63/252, q = 0
    t = 63 / 252
    sigma = 0.2 - 0.30 * math.log(0.95) * math.sqrt(0.25 / t)
    d1 = (math.log(100 / 95) + (0.02 + sigma**2 / 2) * t) / (sigma * math.sqrt(t))
    delta = -float(norm.cdf(-d1))
    note = next(n for n in result.notes if "F, P carry" in n)
    assert "the same risk per unit" not in note
    match = re.search(r"one unit of P carries (-?[\d.]+) times the exposure", note)
    assert match is not None, note
    assert float(match[1]) == pytest.approx(delta, abs=5e-5)
    assert result.solver_stats["tied"] == [["F", "P"]]


# ------------------------------------------------------------------ item 7: plausibility, carry
def test_a_variance_on_fewer_scenarios_than_assets_warns() -> None:
    rng = np.random.default_rng(0)
    names = [f"S{i}" for i in range(6)]
    returns = pd.DataFrame(rng.normal(0.0, 0.05, (5, 6)), columns=names)
    hedges = [
        oh.Future(f"F{i}", underlying=f"S{i}", price=1.0, multiplier=1.0) for i in range(1, 6)
    ]
    book = oh.Portfolio.from_holdings({"S0": 1000.0})
    scenarios = oh.Scenarios.from_returns(returns, horizon=1)
    with pytest.warns(DataWarning, match=r"'scenarios' argument holds 5 scenarios of 6 assets"):
        problem = oh.HedgeProblem(
            book, hedges, objective=oh.Variance(), scenarios=scenarios, horizon=1
        )
    # the warning is earned: on paper the hedge removes all the risk (rank 4 < 6)
    assert float(problem.solve().risk["volatility"].to_numpy()[1]) < 1e-6
    # with 7 scenarios the covariance can be of full rank: no warning
    more = oh.Scenarios.from_returns(
        pd.DataFrame(rng.normal(0.0, 0.05, (7, 6)), columns=names), horizon=1
    )
    oh.HedgeProblem(book, hedges, objective=oh.Variance(), scenarios=more, horizon=1)


def test_expected_returns_follow_the_rule_of_every_returns_entry_point() -> None:
    with pytest.warns(DataWarning, match=r"'ExpectedPnL.expected_returns' .* above \+100%.*'A'"):
        ExpectedPnL(0.0, expected_returns=pd.Series({"A": 5.0, "B": 0.01}))
    with pytest.raises(DataError, match=r"'ExpectedPnL.expected_returns' .* at or below -100%"):
        ExpectedPnL(0.0, expected_returns=pd.Series({"A": -1.0, "B": 0.01}))
    book = oh.Portfolio.from_holdings({"A": 600.0, "B": 400.0})
    future = oh.Future("F", underlying="MKT", price=100.0, multiplier=1.0)
    with pytest.warns(DataWarning, match=r"'expected_returns' argument .* 'B' \(\+5\)"):
        oh.HedgeProblem(
            book, [future], objective=oh.Variance(), risk_model=RISK, horizon=1, market="MKT",
            expected_returns=pd.Series({"A": 0.01, "B": 5.0, "MKT": 0.0}),
        )  # fmt: skip


def test_an_inverse_etf_pays_its_expense_in_every_scenario() -> None:
    sh = oh.InverseETF(label="SH", underlying="IDX", price=13.0, expense_ratio=0.0088)
    fee = 0.0088 * 21 / 252  # 7.33 bp over 21 trading days, per unit of notional
    r = np.array([-0.10, 0.02, 0.05])
    given = oh.Scenarios.from_returns(pd.DataFrame({"IDX": r}), horizon=21)
    np.testing.assert_allclose(sh.scenario_returns(given), -r - fee, rtol=0, atol=1e-15)
    # along historical paths: the compounded daily reset, less the same fee
    daily_r = np.array([0.01, -0.02, 0.015, -0.005, 0.03])
    daily = pd.DataFrame({"IDX": daily_r}, index=pd.bdate_range("2024-01-01", periods=5))
    paths = oh.Scenarios.historical(daily, horizon=3)
    fee3 = 0.0088 * 3 / 252
    hand = [np.prod(1 - daily_r[i : i + 3]) - 1 - fee3 for i in range(3)]
    np.testing.assert_allclose(sh.scenario_returns(paths), hand, rtol=0, atol=1e-15)
    # no expense, no fee
    free = oh.InverseETF(label="SH", underlying="IDX", price=13.0)
    np.testing.assert_allclose(free.scenario_returns(given), -r, rtol=0, atol=1e-15)


# ------------------------------------------------------------------ item 3: missing= everywhere
def _gappy() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(1)
    dates = pd.bdate_range("2024-01-01", periods=40)
    x = pd.DataFrame(rng.normal(0.0, 0.01, (40, 3)), index=dates, columns=["a", "b", "c"])
    f = pd.DataFrame(rng.normal(0.0, 0.01, (40, 1)), index=dates, columns=["m"])
    x.iloc[5, 1] = np.nan
    f.iloc[9, 0] = np.nan
    return x, f


def test_ewma_covariance_names_a_gap_or_drops_it() -> None:
    x, _ = _gappy()
    with pytest.raises(EstimationDataError, match=r"'X' argument of EWMACovariance .* 'b' at"):
        EWMACovariance(halflife=10.0).fit(x)
    with pytest.raises(SpecificationError, match=r"'missing' argument must be one of"):
        EWMACovariance(missing="skip").fit(x)  # type: ignore[arg-type]
    got = EWMACovariance(halflife=10.0, missing="drop").fit(x).covariance_
    kept = x.dropna().to_numpy()
    w = 0.5 ** (np.arange(len(kept) - 1, -1, -1) / 10.0)
    w /= w.sum()
    c = kept - w @ kept
    np.testing.assert_allclose(got, (c * w[:, None]).T @ c, rtol=1e-12)


def test_factor_models_take_the_same_missing_choices() -> None:
    x, f = _gappy()
    with pytest.raises(EstimationDataError, match=r"'X' argument has 1 NaN .* missing='drop'"):
        FactorModel().fit(x, f)
    with pytest.raises(SpecificationError, match=r"'missing' argument must be one of"):
        FactorModel(missing="skip").fit(x, f)  # type: ignore[arg-type]
    model = FactorModel(missing="drop").fit(x, f).risk_model_
    keep = x.notna().all(axis=1) & f.notna().all(axis=1)  # 38 common dates
    assert int(keep.sum()) == 38
    design = np.column_stack([np.ones(38), f[keep].to_numpy()])
    coef = np.linalg.lstsq(design, x[keep].to_numpy(), rcond=None)[0]
    resid = x[keep].to_numpy() - design @ coef
    np.testing.assert_allclose(model.loadings["m"].to_numpy(), coef[1], rtol=1e-10)
    np.testing.assert_allclose(model.specific_var.to_numpy(), (resid**2).mean(axis=0), rtol=1e-10)
    stat = StatisticalFactorModel(n_components=1, missing="drop").fit(x)
    assert stat.risk_model_.loadings.shape == (3, 1)
    with pytest.raises(EstimationDataError, match=r"'X' argument has 1 NaN"):
        StatisticalFactorModel(n_components=1).fit(x)

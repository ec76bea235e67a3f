"""Tables a user can trust (issue 20, items 3, 5, 6, 7).

Every expected number is computed by hand in the test (numpy formulas, arithmetic on the
printed figures), never with the code under test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import optihedge as oh
from optihedge.errors import SpecificationError
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

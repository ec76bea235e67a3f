"""Tall tables of scenarios (a million rows): checked and reduced without whole copies.

The column-by-column check must refuse and warn exactly as the whole-table check does
(same counts, same first cell, same messages); the blockwise covariance must equal
numpy's weighted covariance; the scenario P&L, held column-major, must equal each
instrument's returns.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optihedge as oh
from factor_models.validation import check_returns
from optihedge.errors import DataError, DataWarning
from optihedge.optimize.data import scenario_matrix
from optihedge.scenarios import _checks, _scenarios


def _outcome(frame: pd.DataFrame, columnwise: bool) -> tuple:
    """What building scenarios from ``frame`` does: the error or the warnings' texts."""
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings(record=True) as caught:
        mp.setattr(_checks, "COLUMNWISE_ROWS", 0 if columnwise else 10**12)
        warnings.simplefilter("always")
        try:
            oh.Scenarios.from_returns(frame)
        except DataError as exc:
            return ("error", type(exc).__name__, str(exc))
    return ("ok", tuple(str(w.message) for w in caught if issubclass(w.category, DataWarning)))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(2, 60),
    cols=st.integers(1, 6),
    bad=st.lists(
        st.tuples(
            st.integers(0, 59), st.integers(0, 5), st.sampled_from([np.nan, np.inf, -np.inf])
        ),
        max_size=4,
    ),
    scale=st.sampled_from([0.01, 0.3, 5.0, 100.0]),
    loss=st.booleans(),
)
def test_column_by_column_refuses_and_warns_as_the_whole_table(
    seed: int,
    rows: int,
    cols: int,
    bad: list,
    scale: float,
    loss: bool,
) -> None:
    rng = np.random.default_rng(seed)
    values = rng.normal(0.0, 0.01, (rows, cols))
    values[:, -1] *= scale / 0.01  # a column in percent or prices, or plausible
    if loss:
        values[rng.integers(rows), 0] = -1.5  # below -100%
    for r, c, v in bad:
        values[r % rows, c % cols] = v
    frame = pd.DataFrame(values, columns=[f"A{j}" for j in range(cols)])
    frame.insert(0, "book", rng.normal(0.0, 0.01, rows))  # a second block, as users build
    assert _outcome(frame, True) == _outcome(frame, False)


def test_the_first_bad_cell_is_the_first_by_row_then_column(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = pd.DataFrame(np.zeros((5, 3)), columns=["a", "b", "c"])
    frame.iloc[3, 0] = np.nan
    frame.iloc[1, 2] = np.inf
    frame.iloc[1, 1] = -np.inf
    monkeypatch.setattr(_checks, "COLUMNWISE_ROWS", 0)
    with pytest.raises(
        DataError, match=r"holds 3 NaN or infinite value\(s\), first in column 'b' at 1;"
    ):
        oh.Scenarios.from_returns(frame)


def test_check_returns_takes_columns_as_it_takes_the_table() -> None:
    rng = np.random.default_rng(4)
    table = rng.normal(0.0, 0.01, (400, 3))
    table[:, 1] = np.clip(table[:, 1] * 20.0, -0.9, 0.9)  # a volatility of 0.2: the warning
    table[5, 1] = np.nan
    for values in (table, [table[:, j].copy() for j in range(3)]):
        with pytest.warns(DataWarning, match=r"column 'y'") as got:
            check_returns(values, "returns", ["x", "y", "z"])
        spread = float(np.nanstd(table[:, 1]))
        assert f"volatility of {spread:.3g}" in str(got[0].message)
    table[7, 2] = -1.2
    for values in (table, [table[:, j].copy() for j in range(3)]):
        with pytest.raises(DataError, match=r"column 'z' ranges from -1\.2"):
            check_returns(values, "returns", ["x", "y", "z"])


@pytest.mark.parametrize("weighted", [False, True])
def test_blockwise_covariance_equals_numpys_weighted_covariance(
    weighted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(9)
    x = rng.standard_t(4, (1_003, 4)) * 0.02 + 0.001
    p = rng.random(1_003) if weighted else None
    frame = pd.DataFrame(x, columns=list("abcd"))
    s = oh.Scenarios.from_returns(frame, probabilities=None if p is None else list(p / p.sum()))
    monkeypatch.setattr(_scenarios, "_BLOCK_ROWS", 97)  # many blocks, the last one short
    got = s.covariance()
    want = np.cov(x, rowvar=False, aweights=p, bias=True)
    np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-12, atol=1e-18)
    assert list(got.index) == list(got.columns) == list("abcd")


def test_the_scenario_pnl_is_each_instruments_returns() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.normal(0.0, 0.01, (500, 3)), columns=["SPX", "NDX", "RTY"])
    s = oh.Scenarios.from_returns(frame)
    inst = [oh.ETF("A", underlying="SPX"), oh.InverseETF("B", underlying="NDX", leverage=-2.0)]
    g = scenario_matrix(inst, s, None)
    assert g.shape == (500, 2)
    np.testing.assert_array_equal(g[:, 0], frame["SPX"].to_numpy())
    np.testing.assert_allclose(g[:, 1], -2.0 * frame["NDX"].to_numpy(), rtol=1e-15)
    x = np.array([0.3, -0.7])
    np.testing.assert_allclose(
        g @ x, frame[["SPX", "NDX"]].to_numpy() @ np.array([0.3, 1.4]), rtol=1e-13
    )

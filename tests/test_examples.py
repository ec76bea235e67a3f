"""Every example script runs from start to end (they use only the embedded data), and the
key numbers it prints equal values recomputed here by an independent path: statsmodels
OLS for betas, numpy for returns, compounding and principal components, expected
shortfall as the Rockafellar-Uryasev minimum over the sample."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import optihedge as oh

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def _number(pattern: str, out: str) -> float:
    found = re.search(pattern, out, flags=re.MULTILINE)
    assert found is not None, (pattern, out)
    return float(found.group(1))


def _returns(prices: pd.DataFrame) -> pd.DataFrame:
    """Simple daily returns by hand (the embedded prices have no gaps in these columns)."""
    r = prices / prices.shift(1) - 1.0
    r = r.iloc[1:]
    assert not r.isna().any().any()
    return r


def _ols_slope(y: pd.Series, x: pd.Series) -> float:
    return float(sm.OLS(y.to_numpy(), sm.add_constant(x.to_numpy())).fit().params[1])


def _shortfall(pnl: np.ndarray, alpha: float) -> float:
    """ES of equally likely outcomes: min over z of z + E[(loss - z)+] / (1 - alpha)
    (Rockafellar and Uryasev); the minimum is at one of the losses."""
    loss = -np.asarray(pnl, dtype=np.float64)
    excess = np.maximum(loss[None, :] - loss[:, None], 0.0).mean(axis=1)
    return float(np.min(loss + excess / (1.0 - alpha)))


def _paths(daily: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """Overlapping compounded ``horizon``-day returns of each column."""
    return np.expm1(np.log1p(daily).rolling(horizon).sum()).dropna()


def check_textbook(out: str) -> None:
    prices = oh.datasets.load_default(
        start="2005-01-01", end="2009-12-31", columns=["JPM", "BAC", "SP500"]
    )
    r = _returns(prices)
    book = r[["JPM", "BAC"]].mean(axis=1)
    pre, idx = book.loc[:"2008-09-12"], r["SP500"].loc[:"2008-09-12"]
    betas = {w: _ols_slope(pre.iloc[-w:], idx.iloc[-w:]) for w in (126, 504)}
    for w, beta in betas.items():
        assert _number(rf"^{w}-day beta: (\S+)", out) == round(beta, 2)
    # sell beta x 10m of index exposure, E-mini contract worth 50 x the index
    spot = float(prices["SP500"].loc[:"2008-09-12"].iloc[-1])
    assert _number(r"^contracts: (\S+)", out) == -round(10e6 * betas[126] / (50 * spot))
    window = r.loc["2008-09-15":"2009-03-31"]
    b21 = _paths(window[["JPM", "BAC"]].mean(axis=1).to_frame(), 21).iloc[:, 0]
    i21 = _paths(window[["SP500"]], 21)["SP500"]
    unhedged = _shortfall(10e6 * b21.to_numpy(), 0.95)
    hedged = _shortfall(10e6 * (b21 - betas[126] * i21).to_numpy(), 0.95)
    assert _number(r"^ES 95% unhedged: (\S+)", out) == pytest.approx(unhedged, abs=0.51)
    assert _number(r"^ES 95% hedged:\s+(\S+)", out) == pytest.approx(hedged, abs=0.51)


def check_factor_models(out: str) -> None:
    prices = oh.datasets.load_default(start="2015-01-01")
    stocks = list(oh.datasets.metadata().query("kind == 'stock'").index)
    r = _returns(prices[[*stocks, "SP500"]])
    for name in ("AAPL", "MRK", "XOM"):
        row = re.search(rf"^{name}\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$", out, flags=re.MULTILINE)
        assert row is not None, out
        for printed, window in zip(row.groups(), (63, 126, 252, 504), strict=True):
            beta = _ols_slope(r[name].iloc[-window:], r["SP500"].iloc[-window:])
            assert float(printed) == round(beta, 2), (name, window)
    # principal components of the last 504 days' covariance: the fewest that explain 80%
    x = r[stocks].iloc[-504:].to_numpy()
    eig = np.sort(np.linalg.eigvalsh(np.cov(x, rowvar=False)))[::-1]
    share = np.cumsum(eig) / eig.sum()
    k = int(np.searchsorted(share, 0.8) + 1)
    found = re.search(r"^(\d+) components explain (\d+)%", out, flags=re.MULTILINE)
    assert found is not None, out
    assert int(found.group(1)) == k
    assert int(found.group(2)) == round(100 * share[k - 1])


def check_shortfall(out: str) -> None:
    prices = oh.datasets.load_default(start="2000-01-01", columns=["JPM", "BAC", "SP500"])
    daily = _returns(prices)
    paths = _paths(daily, 21)
    book = 0.6 * paths["JPM"] + 0.4 * paths["BAC"]  # 6m and 4m of a 10m book
    es_weight = _number(r"^ES\s+(\S+)", out)
    assert _number(r"^SDS\s+(\S+)", out) == 0.0
    hedged = book + es_weight * paths["SP500"]
    before = re.search(r"^before\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$", out, flags=re.MULTILINE)
    after = re.search(r"^after\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$", out, flags=re.MULTILINE)
    assert before is not None, out
    assert after is not None, out
    assert float(before.group(3)) == round(_shortfall(book.to_numpy(), 0.975), 4)
    # the weight is printed to 3 decimals; ES is flat at its minimum
    assert float(after.group(3)) == pytest.approx(_shortfall(hedged.to_numpy(), 0.975), abs=2e-4)
    assert float(after.group(4)) == float(before.group(4)) == np.ceil(0.025 * len(paths)) - 1
    # the stress windows: each asset compounded over the window, book and hedge
    for name, (start, end) in (
        ("GFC 2008-09", ("2008-09-01", "2009-03-31")),
        ("COVID 2020", ("2020-02-19", "2020-03-23")),
    ):
        total = (1.0 + daily.loc[start:end]).prod() - 1.0
        b = 0.6 * total["JPM"] + 0.4 * total["BAC"]
        h = b + es_weight * total["SP500"]
        assert _number(rf"^{name}: book (\S+)%", out) == round(100 * b, 1)
        assert _number(rf"^{name}: book \S+%, hedged (\S+)%", out) == pytest.approx(
            100 * h, abs=0.1
        )


def check_extending(out: str) -> None:
    vt = _number(r"^VT\s+(\S+)", out)
    es = _number(r"^ESZ6\s+(\S+)", out)
    # the stressed problem's net notional floor binds at -0.5; the calm problem's weights
    # are those printed, and VT's exposure is its 10% target over the 20% implied vol
    assert _number(r"^net_notional\.min\s+(\S+)", out) == -0.5
    assert vt > 0 > es
    assert re.search(r"leverage of VT at 20% and 40% implied vol: 0\.5 0\.25", out)


BACKTEST_WINDOW = ("2019-01-02", "2020-06-30")


def check_backtest(out: str) -> None:
    start, end = BACKTEST_WINDOW
    stocks = list(oh.datasets.metadata().query("kind == 'stock'").index)
    prices = oh.datasets.load_default(start=start, end=end, columns=stocks)
    # the unhedged book: USD 10m in equal parts bought at the first close, held
    shares = (1e7 / len(stocks)) / prices.iloc[0]
    unhedged = float((shares * prices.iloc[-1]).sum())
    month_ends = prices.index.to_series().groupby(prices.index.to_period("M")).max()
    for key in ("overlay", "puts", "collar", "regimes"):
        block = out.split(f"{key}: ", 1)[1]
        assert _number(r"unhedged ([\d,]+) USD", block.replace(",", "")) == round(unhedged)
        assert _number(r"accounting closes to (\S+) USD", block) < 0.005
        marks = _number(r"^\s+(\d+) marks", block)
        assert marks == len(prices)
    overlay = out.split("overlay: ", 1)[1]
    # the overlay decides on the first day and at each month end after it
    assert _number(r"(\d+) decisions", overlay) == 1 + int((month_ends > prices.index[0]).sum())


CHECKS: dict[str, Callable[[str], None]] = {
    "01_textbook_hedge.py": check_textbook,
    "02_factor_models.py": check_factor_models,
    "03_expected_shortfall.py": check_shortfall,
    "04_extending.py": check_extending,
    "05_backtest.py": check_backtest,
}
ARGS = {"05_backtest.py": list(BACKTEST_WINDOW)}


def test_every_example_is_checked() -> None:
    assert sorted(CHECKS) == [p.name for p in EXAMPLES]


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path, tmp_path: Path) -> None:
    # the scripts import this checkout's packages, as the checks here do
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, str(script), *ARGS.get(script.name, [])],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    CHECKS[script.name](out.stdout)

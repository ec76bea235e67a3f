"""Shared by tests: fat-tailed scenario sets, daily returns of a small book, script loading."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

import optihedge as oh
from optihedge.scenarios import Scenarios


def fat_tailed(
    seed: int, n_scen: int, n_inst: int, unequal: bool = False
) -> tuple[Scenarios, oh.Portfolio, list[oh.Instrument]]:
    """Return Student-t scenarios of a book and ``n_inst`` ETFs on ``U0``..., the book, ETFs.

    Fat tails, clipped to +-90%: a one-period simple return at -100% is refused, one above
    +100% warns
    (loadings scaled by 1/sqrt(n): the book's volatility does not grow with n and stays
    below the 10% per-period plausibility level). ``unequal``: random probabilities.
    """
    rng = np.random.default_rng(seed)
    f = np.clip(rng.standard_t(4, (n_scen, n_inst)) * 0.03, -0.9, 0.9)
    b = rng.normal(0.5, 0.4, n_inst) / np.sqrt(n_inst)
    book = np.clip(f @ b + rng.standard_t(4, n_scen) * 0.02, -0.9, 0.9)
    frame = pd.DataFrame(f, columns=[f"U{i}" for i in range(n_inst)])
    frame["book"] = book
    probabilities = None
    if unequal:
        q = rng.uniform(0.2, 1.0, n_scen)
        probabilities = pd.Series(q / q.sum(), index=frame.index)
    s = Scenarios.from_returns(frame, probabilities=probabilities)
    inst: list[oh.Instrument] = [oh.ETF(f"E{i}", underlying=f"U{i}") for i in range(n_inst)]
    return s, oh.Portfolio.from_holdings({"book": 1.0}), inst


def three_stocks(n: int, seed: int, start: str) -> pd.DataFrame:
    """Daily returns of stocks A, B, C on one fat-tailed index IDX (t with 5 dof)."""
    rng = np.random.default_rng(seed)
    idx = rng.standard_t(5, n) * 0.009
    return pd.DataFrame(
        {
            "A": 0.9 * idx + rng.normal(0, 0.01, n),
            "B": 1.2 * idx + rng.normal(0, 0.01, n),
            "C": 0.6 * idx + rng.normal(0, 0.012, n),
            "IDX": idx,
        },
        index=pd.bdate_range(start, periods=n),
    )


def load_script(name: str, path: Path) -> ModuleType:
    """Import a file outside any package (a script, an example) as module ``name``.

    It is registered in ``sys.modules`` before it runs: dataclasses look their module up.
    """
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module

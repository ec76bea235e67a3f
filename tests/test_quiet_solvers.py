"""Solves print nothing: HiGHS's banner (printed once per process, from C++, by its first
instance) no longer reaches the user's terminal (issue 20, also-items).

Run in a fresh interpreter, because the banner comes once per process and file
descriptor 1 is what is read (the C++ library writes there, not to ``sys.stdout``).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import numpy as np, pandas as pd, optihedge as oh
    from constraints import WholeContracts
    rng = np.random.default_rng(0)
    f = rng.standard_normal((400, 2)) * 0.01
    frame = pd.DataFrame({"U0": f[:, 0], "U1": f[:, 1],
                          "book": f @ np.array([0.7, 0.4]) + rng.standard_normal(400) * 0.005})
    futures = [oh.Future("F0", underlying="U0", price=4000.0, multiplier=50.0),
               oh.Future("F1", underlying="U1", price=15000.0, multiplier=20.0)]
    book = oh.Portfolio.from_holdings({"book": 10_000_000.0})
    res = oh.HedgeProblem(book, futures, objective=oh.ExpectedShortfall(0.95),
                          constraints=[WholeContracts(method="exact")],
                          scenarios=oh.Scenarios.from_returns(frame)).solve()
    assert res.status == "optimal", res.status
    assert res.solver_stats["solver"] == "HIGHS", res.solver_stats["solver"]
    import sys; sys.stderr.write("units " + repr(res.allocation["units"].tolist()))
    """
)


def test_a_whole_contract_shortfall_solve_prints_nothing() -> None:
    pytest.importorskip("highspy")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    assert "units" in done.stderr  # the solve ran to the end
    assert done.stdout == ""  # before: "Running HiGHS 1.16.0 ... Copyright ..." (2 lines)
    assert "HiGHS" not in done.stderr

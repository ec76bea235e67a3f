"""The main job on the embedded data: size and price a hedge for a 20-stock book.

The book is an equal-weight, daily-rebalanced portfolio of the 20 embedded stocks.
Every figure states its horizon and units: textbook sizing first, then the optimizer's
minimum-variance hedge (factor risk model) and minimum expected-shortfall hedge
(historical paths) under the same mandate limits.

Modules, one concept each: ``setup`` (the stated assumptions, the instruments on offer,
the mandate's limits), ``hedges`` (the optimised hedges), ``run`` (:class:`DemoResult`
and :func:`run_demo`, every figure computed), ``text`` (:func:`format_demo`, what the
command prints), ``files`` (the frontier figure and the HTML report). The command line
is ``optihedge.cli``. Every name of the former ``optihedge/demo.py`` is re-exported here.
"""

from __future__ import annotations

from optihedge.demo.files import save_frontier, write_report
from optihedge.demo.hedges import (
    optimize_hedge,
    option_alternatives,
    shortfall_hedge,
)
from optihedge.demo.run import DemoResult, put_quote, run_demo
from optihedge.demo.setup import (
    COLLAR,
    DIVIDEND_YIELD,
    FUTURE_CODE,
    FUTURES_MULTIPLIER,
    HORIZON,
    OPTION_EXPIRY,
    OPTION_MULTIPLIER,
    PREMIUM_BUDGET,
    PUT_MONEYNESS,
    RATE,
    START,
    SWEEP_GRID,
    WINDOWS,
)
from optihedge.demo.text import format_demo, put_text

__all__ = [
    "COLLAR",
    "DIVIDEND_YIELD",
    "FUTURES_MULTIPLIER",
    "FUTURE_CODE",
    "HORIZON",
    "OPTION_EXPIRY",
    "OPTION_MULTIPLIER",
    "PREMIUM_BUDGET",
    "PUT_MONEYNESS",
    "RATE",
    "START",
    "SWEEP_GRID",
    "WINDOWS",
    "DemoResult",
    "format_demo",
    "optimize_hedge",
    "option_alternatives",
    "put_quote",
    "put_text",
    "run_demo",
    "save_frontier",
    "shortfall_hedge",
    "write_report",
]

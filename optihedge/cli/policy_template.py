"""The commented policy file ``optihedge policy new`` prints (it loads as it is)."""

from __future__ import annotations

__all__ = ["TEMPLATE"]

TEMPLATE = """\
# An optihedge policy file (TOML). Check it with `optihedge policy check FILE`, see every
# default with `optihedge policy show FILE --resolved`, solve it with `optihedge solve FILE`.
# Fractions (limits, positions) are of the book's capital; periods are the data's (days).
schema_version = 1             # required, first: the schema this file is written in
name = "my hedge"
# as_of = 2018-12-31           # the date solved on (default: the data's last date)
horizon = 21                   # periods the risk is measured over
market = "SP500"               # the market factor (a column of the data)

[book]                         # what is hedged: one of `embedded` or `file`
embedded = "stocks"            # "stocks" (the 20 embedded), [tickers], or { JPM = 1e6, ... }
value = 1_000_000.0            # the book's value, split equally (for "stocks" or [tickers])
# file = "holdings.csv"        # CSV/Parquet: ticker,value or ticker,quantity[,price]
# capital = 1_000_000.0        # what fractions are of (default: the net value)
# currency = "USD"

[data]                         # the closes: the embedded data, or a file
embedded = true
start = 2000-01-03
# file = "prices.csv"          # CSV/Parquet of closes (kind = "prices") or returns
# kind = "prices"
# date_column = "date"
# end = 2022-12-28

[estimation]                   # the risk model, estimated on returns up to the day before
kind = "sample"                # sample | ewma | factor
window = 252                   # returns read
# halflife = 63.0              # for ewma
# factors = ["SP500"]          # for factor

# [scenarios]                  # for an expected-shortfall objective
# kind = "historical"          # historical | bootstrap | monte_carlo
# window = 756
# horizon = 21
# n = 10000
# seed = 0

[[instruments]]                # one table per hedge instrument
kind = "future"                # future | etf | inverse_etf | put | call | collar | ...
label = "ES"
underlying = "SP500"
multiplier = 50.0
cost = 0.0001                  # one-way trading cost, fraction of notional

[objective]
kind = "variance"              # variance | expected_shortfall | robust_variance | ...

[constraints.gross_exposure]   # one table per constraint kind; limits are >= 0
max = 1.5

# [market_state]               # options are priced on the as-of date's closes
# rate = 0.02
# dividend_yield = { SP500 = 0.018 }

[policy]                       # the hedge policy (for `optihedge backtest`)
hedge_ratio = 1.0
schedule = { rule = "month_end" }   # every (with every = N) | week_end | month_end | third_friday
# exit = { kind = "hold_to_expiry", roll = true }
# missing_data = "refuse"      # or "trade_when_available": a hedge's gaps held at 0
# budget = { annual = 0.02 }   # premium a year, fraction of the book (needs premium_budget)
# [[policy.triggers]]
# kind = "beta_drift"
# tolerance = 0.25
# cooldown = 5

[backtest]
start = 2001-01-02
rate = 0.02

[backtest.costs]
commission_per_contract = 2.0
"""

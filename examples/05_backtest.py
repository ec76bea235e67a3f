"""Hedge policies through history: four example policies run from 2000 to 2022, marked daily.

A USD 10m book, equal value in the 20 embedded stocks bought on the first day and held, is
hedged by each example policy of ``optihedge.backtests.examples``: a futures overlay (half
the beta hedge, monthly), protective puts (one month, 5% out of the money, held to
expiry, under a 4% a year premium budget), a collar (three-month 95% put bought, one-month
110% call sold, cross-rolled), and the VIX regime schedule. Each policy re-estimates its
risk model on the year before each decision, pays commissions, spreads and market impact,
and its cash earns 2% a year. The numbers are whatever they honestly are.

Run ``python examples/05_backtest.py [START END]`` for another window (the tests run a
short one); the summary tables are printed, the figures and an HTML report per policy are
saved under ``backtest-output/``.
"""

# %%
import sys
import time
from pathlib import Path

import optihedge as oh
from optihedge.backtests import CostModel, examples

start, end = (sys.argv[1], sys.argv[2]) if len(sys.argv) > 2 else ("2000-01-03", "2022-12-28")
out = Path("backtest-output")
prices = examples.embedded_prices(end=end)
book = examples.embedded_book(prices, value=1e7)
costs = CostModel(commission_per_contract=1.5, commission_per_share=0.005, impact=0.1)
policies = {
    "overlay": examples.futures_overlay(),
    "puts": examples.protective_puts(),
    "collar": examples.collar(),
    "regimes": examples.regime_schedule(list(book.holdings.index)),
}

# %% Run each policy through the window, marking every trading day
results = {}
for key, policy in policies.items():
    began = time.perf_counter()
    result = oh.backtest(policy, prices, start=start, end=end, book=book, costs=costs, rate=0.02)
    results[key] = result
    seconds = time.perf_counter() - began
    worst = result.accounting_error().abs().max()
    print(f"{key}: {policy.name}")
    print(
        f"  {len(result.daily)} marks, {len(result.decisions)} decisions, "
        f"{len(result.trades)} trades in {seconds:.1f} s; accounting closes to {worst:.2e} USD"
    )
    print(
        f"  final value: hedged {result.daily['hedged_value'].iloc[-1]:,.0f} USD, "
        f"unhedged {result.daily['unhedged_value'].iloc[-1]:,.0f} USD"
    )
    print(f"  costs: {result.costs()['total'].sum():,.0f} USD in total")

# %% The summary over the whole period, hedged against unhedged
for key, result in results.items():
    table = result.summary()
    whole = table.loc["whole period"]
    rows = ["annualised_return", "annualised_volatility", "max_drawdown", "hedge_efficiency"]
    print(f"\n{key} (whole period):")
    print(whole.loc[[r for r in rows if r in whole.index], ["hedged", "unhedged"]].round(4))

# %% Figures and a self-contained HTML report per policy
out.mkdir(exist_ok=True)
for key, result in results.items():
    result.save_figures(out / key)
    result.to_html(out / f"{key}.html")
print(f"\nfigures and reports saved under {out.resolve()}")

"""Expected-shortfall hedging on historical paths, stress windows and fat-tailed draws.

Hedge a bank-heavy book with E-mini futures and a -2x inverse ETF (revalued along each
21-day path), compare the tail with the variance hedge, then stress the result.
"""

# %%
import pandas as pd

import optihedge as oh
from constraints import GrossExposure

prices = oh.datasets.load_default(start="2000-01-01", columns=["JPM", "BAC", "SP500"])
daily = oh.returns_from_prices(prices)
book = oh.Portfolio.from_holdings({"JPM": 6e6, "BAC": 4e6})
instruments = [
    oh.Future(
        label="ES", underlying="SP500", price=float(prices["SP500"].iloc[-1]), multiplier=50.0
    ),
    oh.InverseETF(label="SDS", underlying="SP500", price=40.0, leverage=-2.0, expense_ratio=0.009),
]
paths = oh.Scenarios.historical(daily, horizon=21)

# %% Minimum 97.5% expected shortfall, gross exposure capped
problem = oh.HedgeProblem(
    book,
    instruments,
    objective=oh.ExpectedShortfall(0.975),
    constraints=[GrossExposure(1.5)],
    scenarios=paths,
    horizon=21,
    market="SP500",
)
result = problem.solve()
print(result.allocation[["weight", "notional", "units"]].round(3))
print(result.risk[["volatility", "scenario_var", "scenario_es", "tail_scenarios"]].round(4))

# %% The same limits at other confidence levels, without recompiling
for alpha in (0.95, 0.99):
    r = problem.solve({"expected_shortfall.alpha": alpha})
    print(f"alpha {alpha}: ES {r.risk.loc['after', 'scenario_es']:.2%}")

# %% How the 97.5% hedge fares in the named stress windows (SDS compounded day by day)
for window in ("GFC 2008-09", "COVID 2020"):
    pnl = oh.scenario_pnl(book, instruments, result.weights, oh.Scenarios.stress(daily, window))
    print(f"{window}: book {pnl['before'].iloc[0]:.1%}, hedged {pnl['after'].iloc[0]:.1%}")

# %% Fat-tailed Monte Carlo from a factor model fitted on the last three years
fm = oh.FactorModel(windows=(756,)).fit(daily[["JPM", "BAC", "SP500"]], daily[["SP500"]])
mc = oh.Scenarios.monte_carlo(fm.risk_model_, 20_000, horizon=21, dof=4.0, seed=7)
r = oh.HedgeProblem(
    book,
    instruments,
    objective=oh.ExpectedShortfall(0.975),
    constraints=[GrossExposure(1.5)],
    scenarios=mc,
    horizon=21,
    market="SP500",
).solve()
print(pd.Series(r.weights).round(3).to_dict(), f"ES {r.risk.loc['after', 'scenario_es']:.2%}")

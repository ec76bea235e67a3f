"""Textbook hedge sizing on the embedded data.

Size a beta hedge for a bank-heavy book with S&P 500 futures, compare windows, and
check the tail risk the hedge removes over 21 trading days.
"""

# %%
import numpy as np

import optihedge as oh
from optihedge.measures.risk import expected_shortfall

prices = oh.datasets.load_default(
    start="2005-01-01", end="2009-12-31", columns=["JPM", "BAC", "SP500"]
)
returns = oh.returns_from_prices(prices)
book = returns[["JPM", "BAC"]].mean(axis=1)

# %% Beta over two windows ending before the Lehman weekend
pre = book.loc[:"2008-09-12"]
idx = returns["SP500"].loc[:"2008-09-12"]
for window in (126, 504):
    beta = oh.min_variance_hedge_ratio(pre.iloc[-window:], idx.iloc[-window:])
    print(f"{window}-day beta: {beta:.2f}")

# %% Contracts for a USD 10m book, E-mini at the index level
beta = oh.min_variance_hedge_ratio(pre.iloc[-126:], idx.iloc[-126:])
spot = float(prices["SP500"].loc[:"2008-09-12"].iloc[-1])
print("contracts:", oh.futures_contracts(10e6, beta, spot, 50))

# %% 21-day expected shortfall of the book, unhedged and fully beta-hedged, 2008-09
window = returns.loc["2008-09-15":"2009-03-31"]
b21 = np.expm1(np.log1p(window[["JPM", "BAC"]].mean(axis=1)).rolling(21).sum()).dropna()
i21 = np.expm1(np.log1p(window["SP500"]).rolling(21).sum()).dropna()
print("ES 95% unhedged:", round(expected_shortfall(10e6 * b21), 0))
print("ES 95% hedged:  ", round(expected_shortfall(10e6 * (b21 - beta * i21)), 0))

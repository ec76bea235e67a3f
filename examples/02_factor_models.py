"""Multi-window betas, window stability and factor risk models on the embedded data.

Regress the 20 embedded stocks on the S&P 500 over four trailing windows, flag betas
that moved, then build observed-factor and PCA risk models of the same stocks.
"""

# %%
import optihedge as oh
from factor_models import FactorModel, MultiWindowRegression, StatisticalFactorModel

prices = oh.datasets.load_default(start="2015-01-01")
stocks = list(oh.datasets.metadata().query("kind == 'stock'").index)
returns = oh.returns_from_prices(prices[[*stocks, "SP500", "MTUM", "USMV", "VLUE"]])

# %% Betas by window, with Newey-West t-statistics
res = MultiWindowRegression(returns[stocks], returns["SP500"]).fit()
print(res.betas["SP500"].unstack("window").round(2))
print(res.stability().query("unstable")[["mean", "range", "max_z"]].round(2))

# %% Observed factors (S&P 500 and three factor ETFs), Ledoit-Wolf factor covariance
from sklearn.covariance import LedoitWolf

fm = FactorModel(covariance_estimator=LedoitWolf(), windows=(252, 756)).fit(
    returns[stocks], returns[["SP500", "MTUM", "USMV", "VLUE"]]
)
model = fm.risk_models_[252].to_horizon(21)
book = oh.datasets.metadata().query("kind == 'stock'").assign(w=0.05)["w"]
print(f"21-day volatility of an equal-weight book: {model.variance(book) ** 0.5:.2%}")
print("factor exposures:", model.exposures(book).round(2).to_dict())

# %% A statistical model keeping 80% of the variance
pca = StatisticalFactorModel(n_components=0.8).fit(returns[stocks].iloc[-504:])
print(f"{pca.loadings_.shape[1]} components explain {pca.explained_variance_ratio_.sum():.0%}")

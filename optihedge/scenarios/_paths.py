"""The paths behind scenarios: each scenario's period-by-period returns.

A :class:`~optihedge.scenarios.Scenarios` built from paths of the data keeps them, so
that a path-dependent instrument (a daily-reset inverse ETF, an option's return through
its expiry) is revalued along each path: rows of a returns table (historical, bootstrap,
stress), factor Monte Carlo draws regenerated from the seed, or another set's paths
split by an event.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


def _log_growth(daily_returns: np.ndarray) -> np.ndarray:
    """``log(1 + r)`` with a move of -100% or worse a total loss (log 0 = -inf).

    A daily-reset product that loses its whole value stays at zero: the path's
    compounded return is then exactly -100%, never NaN.
    """
    with np.errstate(divide="ignore"):
        return np.asarray(np.log(np.maximum(1.0 + daily_returns, 0.0)), dtype=np.float64)


class _Paths:
    """Daily returns along each scenario's path."""

    def compound(self, column: Hashable, leverage: float) -> np.ndarray:
        """Return of a daily-reset position with ``leverage`` on ``column`` along each path."""
        raise NotImplementedError

    def through(self, column: Hashable, days: int) -> np.ndarray:
        """Return of ``column`` over the first ``days`` days of each path."""
        raise NotImplementedError


@dataclass(frozen=True)
class _IndexedPaths(_Paths):
    """Paths as rows of a daily returns table: ``index[s]`` lists path s's days."""

    daily: pd.DataFrame
    index: np.ndarray  # (n_scenarios, horizon) integer rows of ``daily``

    def compound(self, column: Hashable, leverage: float) -> np.ndarray:
        r = self.daily[column].to_numpy(dtype=np.float64)
        growth = _log_growth(leverage * r)
        return np.asarray(np.expm1(growth[self.index].sum(axis=1)), dtype=np.float64)

    def through(self, column: Hashable, days: int) -> np.ndarray:
        growth = _log_growth(self.daily[column].to_numpy(dtype=np.float64))
        return np.asarray(np.expm1(growth[self.index[:, :days]].sum(axis=1)), dtype=np.float64)


@dataclass(frozen=True)
class _SimulatedPaths(_Paths):
    """Factor Monte Carlo paths, regenerated deterministically from the seed."""

    loadings: np.ndarray  # (n_assets, n_factors), per day
    factor_sqrt: np.ndarray  # R with R' R = F (per day)
    specific_std: np.ndarray  # (n_assets,), per day
    assets: pd.Index
    n_scenarios: int
    horizon: int
    dof: float | None
    seed: int
    mean: np.ndarray | None = None  # (n_assets,), per day
    chunk: int = 5_000

    def _daily(self, columns: np.ndarray) -> Any:
        rng = np.random.default_rng(self.seed)
        k = self.loadings.shape[1]
        for start in range(0, self.n_scenarios, self.chunk):
            n = min(self.chunk, self.n_scenarios - start)
            z = rng.standard_normal((n, self.horizon, k)) @ self.factor_sqrt
            e = rng.standard_normal((n, self.horizon, len(self.assets)))
            if self.dof is None:
                scale = np.ones((n, 1, 1))
            else:
                w = rng.chisquare(self.dof, n)
                scale = np.sqrt((self.dof - 2.0) / w)[:, None, None]
            b = self.loadings[columns]
            shock = scale * (z @ b.T + e[:, :, columns] * self.specific_std[columns])
            yield shock if self.mean is None else shock + self.mean[columns]

    def horizon_returns(self) -> np.ndarray:
        cols = np.arange(len(self.assets))
        out = [np.expm1(_log_growth(d).sum(axis=1)) for d in self._daily(cols)]
        return np.vstack(out)

    def compound(self, column: Hashable, leverage: float) -> np.ndarray:
        j = int(self.assets.get_indexer(pd.Index([column]))[0])
        cols = np.arange(len(self.assets))  # same draws as horizon_returns
        out = [np.expm1(_log_growth(leverage * d[:, :, j]).sum(axis=1)) for d in self._daily(cols)]
        return np.concatenate(out)

    def through(self, column: Hashable, days: int) -> np.ndarray:
        j = int(self.assets.get_indexer(pd.Index([column]))[0])
        cols = np.arange(len(self.assets))  # same draws as horizon_returns
        out = [np.expm1(_log_growth(d[:, :days, j]).sum(axis=1)) for d in self._daily(cols)]
        return np.concatenate(out)


@dataclass(frozen=True)
class _EventPaths(_Paths):
    """Paths of scenarios split by an event: the base paths twice, the second copy shocked.

    The shock lands as one more move at the end of each path where the event happens.
    """

    base: _Paths | None
    returns: pd.DataFrame  # the base scenarios' horizon returns (when no base paths)
    shock: dict[Hashable, float]

    def _halves(self, column: Hashable, values: np.ndarray, leverage: float) -> np.ndarray:
        move = leverage * self.shock.get(column, 0.0)
        return np.concatenate([values, (1.0 + values) * max(1.0 + move, 0.0) - 1.0])

    def compound(self, column: Hashable, leverage: float) -> np.ndarray:
        if self.base is None:
            values = leverage * self.returns[column].to_numpy(dtype=np.float64)
        else:
            values = self.base.compound(column, leverage)
        return self._halves(column, values, leverage)

    def through(self, column: Hashable, days: int) -> np.ndarray:
        if self.base is None:
            values = self.returns[column].to_numpy(dtype=np.float64)
        else:
            values = self.base.through(column, days)
        return np.concatenate([values, values])  # the shock lands after the last day

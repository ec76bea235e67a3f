"""What a constraint or objective term sees: numbers (HedgeData) and symbols (HedgeContext).

Units: positions ``x`` are signed notional as a fraction of the book's value (0.1 = a
long position worth 10% of the book). Every per-instrument attribute is per unit of
``x``: costs and carry as fractions of notional, ADV and contract value as fractions of
the book's value.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import pandas as pd

from constraints.errors import ConstraintSpecificationError

__all__ = ["ATTRIBUTES", "FactorRisk", "HedgeContext", "HedgeData"]

#: Per-instrument attributes (columns of ``HedgeData.attributes``), per unit of x.
ATTRIBUTES = (
    "gross_weight",  # delta-adjusted notional counted in gross exposure
    "premium",  # up-front premium paid per unit held long (fraction of notional)
    "carry_long",  # annual carry cost, linear in x (negative x earns it back)
    "carry_short",  # extra annual cost on short notional (borrow fee)
    "cost",  # one-way trading cost, fraction of traded notional
    "adv",  # average daily volume, fraction of book value
    "contract_value",  # value of one contract or share, fraction of book value
    "lower",  # hard lower bound on x from the instrument itself
    "upper",  # hard upper bound on x from the instrument itself
)


@dataclass(frozen=True)
class FactorRisk:
    """A factor risk model as plain labelled frames (per period of the data)."""

    loadings: pd.DataFrame  # assets x factors
    factor_cov: pd.DataFrame  # factors x factors
    specific_var: pd.Series  # assets

    def covariance_with(self, label: Hashable) -> tuple[np.ndarray, float]:
        """Covariance of every asset with ``label`` (a factor or an asset) and its variance."""
        b = self.loadings.to_numpy()
        f = self.factor_cov.to_numpy()
        if label in self.factor_cov.index:
            j = int(self.factor_cov.index.get_indexer(pd.Index([label]))[0])
            return b @ f[:, j], float(f[j, j])
        if label in self.loadings.index:
            i = int(self.loadings.index.get_indexer(pd.Index([label]))[0])
            col = b @ (f @ b[i])
            col[i] += float(self.specific_var.to_numpy()[i])
            return col, float(col[i])
        raise ConstraintSpecificationError(
            f"Unknown factor {label!r}: it is neither a factor "
            f"({list(self.factor_cov.index)[:5]}) nor an asset of the risk model."
        )


@dataclass(frozen=True)
class HedgeData:
    """Every number a hedge problem needs, labelled.

    Attributes
    ----------
    instruments : Index of shape (n_instruments,)
    assets : Index of shape (n_assets,)
    book : Series by asset
        The book's holdings as fractions of its value.
    exposures : DataFrame of shape (n_assets, n_instruments)
        Exposure of each instrument on each asset per unit of x (delta approximation).
    attributes : DataFrame of shape (n_instruments, len(ATTRIBUTES))
    current : Series by instrument
        Current hedge positions (fractions of book value).
    risk_models : mapping of key to FactorRisk
        One or more risk models per period; the first is the primary one.
    horizon : int
        Trading days the risk is stated over.
    market : Hashable or None
        Default factor (or asset) of ``ResidualBeta``.
    expected_returns : Series by asset, optional
        Expected return of each asset over the horizon.
    objective_scale : float
        Objective terms multiply their values by this so that the objective is of order
        one (1 / the unhedged value of the objective): solver tolerances then mean the
        same relative accuracy whatever the book's size. Reported values are unscaled.
    scenario_book, scenario_pnl, scenario_probabilities, scenario_index : optional
        With scenarios: the book's return per scenario (n_scenarios,), each instrument's
        return per unit of x per scenario (n_scenarios, n_instruments), probabilities,
        and scenario labels.
    """

    instruments: pd.Index
    assets: pd.Index
    book: pd.Series
    exposures: pd.DataFrame
    attributes: pd.DataFrame
    current: pd.Series
    risk_models: Mapping[Hashable, FactorRisk]
    horizon: int = 21
    market: Hashable | None = None
    expected_returns: pd.Series | None = None
    objective_scale: float = 1.0
    scenario_book: np.ndarray | None = None
    scenario_pnl: np.ndarray | None = None
    scenario_probabilities: np.ndarray | None = None
    scenario_index: pd.Index | None = None

    @property
    def risk(self) -> FactorRisk:
        """The primary risk model."""
        return next(iter(self.risk_models.values()))

    def attribute(self, name: str) -> np.ndarray:
        """One attribute as an array in instrument order."""
        return self.attributes[name].to_numpy(dtype=np.float64)

    def beta_coefficients(self, label: Hashable) -> tuple[np.ndarray, float]:
        """Residual beta to ``label`` is ``c @ x + c0``: return ``(c, c0)``."""
        col, var = self.risk.covariance_with(label)
        if var <= 0:
            raise ConstraintSpecificationError(
                f"Beta to {label!r} is undefined: its variance in the risk model is {var!r}."
            )
        per_asset = col / var
        return self.exposures.to_numpy().T @ per_asset, float(self.book.to_numpy() @ per_asset)

    def factor_coefficients(self, factor: Hashable) -> tuple[np.ndarray, float]:
        """Exposure on ``factor`` after the hedge is ``c @ x + c0``: return ``(c, c0)``."""
        loadings = self.risk.loadings
        if factor not in loadings.columns:
            raise ConstraintSpecificationError(
                f"Unknown factor {factor!r}; the risk model's factors are "
                f"{list(loadings.columns)[:8]}."
            )
        col = loadings[factor].to_numpy()
        return self.exposures.to_numpy().T @ col, float(self.book.to_numpy() @ col)


@dataclass(frozen=True)
class HedgeContext:
    """Symbols shared by every term: the positions and the current-hedge parameter."""

    data: HedgeData
    x: cp.Variable
    current: cp.Parameter
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def instruments(self) -> pd.Index:
        """Instrument labels, the order of ``x``."""
        return self.data.instruments

    @property
    def trade(self) -> cp.Expression:
        """Trades against the current hedge, ``x - current``."""
        return self.x - self.current

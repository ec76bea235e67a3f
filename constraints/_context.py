"""What a constraint or objective term sees: numbers (HedgeData) and symbols (HedgeContext).

Units: positions ``x`` are signed notional as a fraction of the book's value (0.1 = a
long position worth 10% of the book). Every per-instrument attribute is per unit of
``x``: costs and carry as fractions of notional, ADV and contract value as fractions of
the book's value.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import cvxpy as cp
import numpy as np
import pandas as pd

from constraints.errors import ConstraintSpecificationError, MissingLabelsError

__all__ = ["ATTRIBUTES", "FactorRisk", "HedgeContext", "HedgeData", "hedged_returns"]

#: Per-instrument attributes every term may read, per unit of x, with their defaults
#: (an instrument that does not state one has the default). The table is open: an
#: instrument may add columns (an option's ``gamma``, ``vega``, ``theta``) and a term
#: reads them with :meth:`HedgeData.attribute` without any list here changing.
ATTRIBUTES: dict[str, float] = {
    "gross_weight": 0.0,  # delta-adjusted notional counted in gross exposure
    "premium": 0.0,  # up-front premium paid per unit held long (fraction of notional)
    "annual_premium": 0.0,  # the premium spread over the option's life, per year
    "carry_long": 0.0,  # annual carry cost, linear in x (negative x earns it back)
    "carry_short": 0.0,  # extra annual cost on short notional (borrow fee)
    "cost": 0.0,  # one-way trading cost, fraction of traded notional
    "adv": math.inf,  # average daily volume, fraction of book value
    "contract_value": math.nan,  # value of one contract or share, fraction of book value
    "lower": -math.inf,  # hard lower bound on x from the instrument itself
    "upper": math.inf,  # hard upper bound on x from the instrument itself
    "delta": 0.0,  # sensitivity to the underlying per unit of x (1 for linear products)
    "gamma": 0.0,  # second-order sensitivity per unit of x
    "vega": 0.0,  # value change per 1.00 of volatility per unit of x
    "theta": 0.0,  # value change per year of time decay per unit of x
    "scenario_only": 0.0,  # 1: the instrument's risk lives only in the scenarios (an event)
}


class FactorRisk(Protocol):
    """What the constraint layer needs of a factor risk model (over the problem's horizon).

    ``factor_models.RiskModel`` satisfies it; the constraint layer never imports it.
    """

    @property
    def loadings(self) -> pd.DataFrame:
        """Loadings, assets x factors."""

    @property
    def factor_cov(self) -> pd.DataFrame:
        """Factor covariance, factors x factors."""

    @property
    def specific_var(self) -> pd.Series:
        """Specific variance by asset."""

    def root_factors(self) -> tuple[np.ndarray, np.ndarray]:
        """Square-root factors ``(G, d)`` with covariance ``G'G + diag(d)^2``."""

    def variance_in_asset_order(self, weights: np.ndarray) -> float:
        """Variance of a position given in asset order."""


def hedged_returns(book: np.ndarray, instruments: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Return of book plus hedge in each scenario: ``book + instruments @ x``.

    Returned as float64, computed in the inputs' promoted dtype (float64 for the arrays
    of :class:`HedgeData`).

    The one place the hedged book's scenario P&L is formed. ``book`` has shape
    (n_scenarios,), ``instruments`` (n_scenarios, n_instruments) per unit of x, ``x``
    (n_instruments,); fractions of the book's value over the horizon.
    """
    return np.asarray(book + instruments @ x, dtype=np.float64)


def covariance_with(risk: FactorRisk, label: Hashable) -> tuple[np.ndarray, float]:
    """Covariance of every asset with ``label`` (a factor or an asset) and its variance."""
    b = risk.loadings.to_numpy()
    f = risk.factor_cov.to_numpy()
    if label in risk.factor_cov.index:
        j = int(risk.factor_cov.index.get_indexer(pd.Index([label]))[0])
        return b @ f[:, j], float(f[j, j])
    if label in risk.loadings.index:
        i = int(risk.loadings.index.get_indexer(pd.Index([label]))[0])
        col = b @ (f @ b[i])
        col[i] += float(risk.specific_var.to_numpy()[i])
        return col, float(col[i])
    raise MissingLabelsError(
        f"Unknown market or factor {label!r}: it is neither a factor "
        f"({list(risk.factor_cov.index)[:5]}) nor an asset of the risk model."
    )


@dataclass(frozen=True)
class HedgeData:
    """Every number a hedge problem needs, labelled. A value: terms read it, never change it.

    Attributes
    ----------
    instruments : Index of shape (n_instruments,)
    assets : Index of shape (n_assets,)
    book : Series by asset
        The book's holdings as fractions of its value.
    exposures : DataFrame of shape (n_assets, n_instruments)
        Exposure of each instrument on each asset per unit of x (delta approximation).
    attributes : DataFrame of shape (n_instruments, n_attributes)
        At least the columns of :data:`ATTRIBUTES`; instruments may add more.
    current : Series by instrument
        Current hedge positions (fractions of book value).
    risk_models : mapping of key to FactorRisk
        One or more risk models over the horizon; the first is the primary one.
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
    scenario_assets : DataFrame, optional
        The scenarios' asset returns (scenarios x assets; the Scenarios' own frame, not a
        copy), for attribution by holding and by factor.
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
    scenario_assets: pd.DataFrame | None = None
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def risk(self) -> FactorRisk:
        """The primary risk model."""
        return next(iter(self.risk_models.values()))

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios (0 without scenarios)."""
        return 0 if self.scenario_book is None else len(self.scenario_book)

    def attribute(self, name: str) -> np.ndarray:
        """One attribute as an array in instrument order (its default where not stated).

        Read-only (the data are a value; the array is cached for every later reader).
        """
        key = f"attribute[{name}]"
        if key in self._cache:
            cached: np.ndarray = self._cache[key]
            return cached
        if name in self.attributes.columns:
            out = self.attributes[name].to_numpy(dtype=np.float64, copy=True)
        elif name in ATTRIBUTES:
            out = np.full(len(self.instruments), ATTRIBUTES[name])
        else:
            out = None
        if out is not None:
            out.flags.writeable = False
            self._cache[key] = out
            return out
        raise ConstraintSpecificationError(
            f"No instrument attribute {name!r}; known: "
            f"{sorted(set(ATTRIBUTES) | set(self.attributes.columns))}."
        )

    def hedged_scenario_returns(self, x: np.ndarray) -> np.ndarray:
        """Return of book plus hedge in each scenario (see :func:`hedged_returns`)."""
        if self.scenario_book is None or self.scenario_pnl is None:
            raise ConstraintSpecificationError("These data hold no scenarios.")
        return hedged_returns(self.scenario_book, self.scenario_pnl, x)

    def beta_coefficients(self, label: Hashable) -> tuple[np.ndarray, float]:
        """Residual beta to ``label`` is ``c @ x + c0``: return ``(c, c0)``."""
        key = f"beta[{label!r}]"
        if key not in self._cache:
            col, var = covariance_with(self.risk, label)
            if var <= 0:
                raise ConstraintSpecificationError(
                    f"Beta to {label!r} is undefined: its variance in the risk model is {var!r}."
                )
            per_asset = col / var
            self._cache[key] = (
                self.exposures.to_numpy().T @ per_asset,
                float(self.book.to_numpy() @ per_asset),
            )
        out: tuple[np.ndarray, float] = self._cache[key]
        return out

    def factor_coefficients(self, factor: Hashable) -> tuple[np.ndarray, float]:
        """Exposure on ``factor`` after the hedge is ``c @ x + c0``: return ``(c, c0)``."""
        loadings = self.risk.loadings
        if factor not in loadings.columns:
            raise MissingLabelsError(
                f"Unknown factor {factor!r}; the risk model's factors are "
                f"{list(loadings.columns)[:8]}."
            )
        col = loadings[factor].to_numpy()
        return self.exposures.to_numpy().T @ col, float(self.book.to_numpy() @ col)


@dataclass(frozen=True)
class HedgeContext:
    """Symbols shared by every term of one problem, created by the problem.

    Attributes
    ----------
    data : HedgeData
        The numbers at build time (terms size their parameters from them).
    x : Variable of shape (n_instruments,)
        The positions.
    current : Parameter of shape (n_instruments,)
        The current hedge, owned by the problem.
    exact_integer : bool
        Whether integer positions are integer variables (a MIP solver is available) or
        positions fixed from outside by a rounding search.
    options : mapping
        Build options a term asked for through :class:`RebuildRequired` (for example a
        larger scenario capacity), by the key it gave.
    """

    data: HedgeData
    x: cp.Variable
    current: cp.Parameter
    exact_integer: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def instruments(self) -> pd.Index:
        """Instrument labels, the order of ``x``."""
        return self.data.instruments

    @property
    def trade(self) -> cp.Expression:
        """Trades against the current hedge, ``x - current``."""
        return self.x - self.current

r"""Frozen, labelled factor risk models.

A risk model describes the covariance of asset returns as

.. math:: \Sigma = B F B^\top + D

with loadings :math:`B` (assets x factors), factor covariance :math:`F` and diagonal
specific variance :math:`D`, all per period of the data (daily for daily returns)
unless :meth:`RiskModel.to_horizon` scaled them. The optimizer uses the square-root
factors, so no dense assets x assets matrix is ever needed inside a problem:

.. math:: w^\top \Sigma w = \lVert F^{1/2} B^\top w \rVert^2 + \lVert D^{1/2} w \rVert^2
"""

from __future__ import annotations

import copy
import math
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from factor_models.errors import EstimationDataError, EstimationLabelsError
from factor_models.frequency import Frequency
from factor_models.horizon import horizon_variance_factor
from factor_models.validation import format_labels

__all__ = ["RiskModel", "RiskModelSet"]

_PSD_TOL = 1e-10


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Return R with R.T @ R == matrix, for a symmetric PSD matrix (eigenvalues >= 0)."""
    vals, vecs = np.linalg.eigh(matrix)
    vals = np.clip(vals, 0.0, None)
    return np.asarray((vecs * np.sqrt(vals)).T, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class RiskModel:
    """Factor risk model: loadings, factor covariance and specific variance, labelled.

    Parameters
    ----------
    loadings : DataFrame of shape (n_assets, n_factors)
        Exposure of each asset (rows) to each factor (columns).
    factor_cov : DataFrame of shape (n_factors, n_factors)
        Factor covariance per period, labelled by factor on both axes; symmetric PSD.
    specific_var : Series of shape (n_assets,)
        Specific (idiosyncratic) variance per period, >= 0, labelled by asset.
    window : int, optional
        Observations the model was estimated on.
    asof : Timestamp, optional
        Last date of the estimation window.
    horizon : int, default 1
        Periods the variances are stated over (1 = per observation of the data).
    frequency : Frequency or str, default Frequency.DAILY
        Sampling of the data the model was fitted on: what one period is (a weekly
        model's ``horizon`` of 13 is 13 weeks). Estimators read it from the data's dates.

    The model keeps float64 copies of the three tables.

    Raises
    ------
    EstimationDataError
        On misaligned or repeated labels, no asset or no factor, values that are not
        numbers, NaN or infinite values, negative specific variance, or a factor
        covariance that is not symmetric (to 1e-12 of its largest entry) or not positive
        semi-definite (an eigenvalue below -1e-10 of its largest entry).
    """

    loadings: pd.DataFrame
    factor_cov: pd.DataFrame
    specific_var: pd.Series
    window: int | None = None
    asof: pd.Timestamp | None = None
    horizon: int = 1
    frequency: Frequency = Frequency.DAILY
    _sqrt: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "frequency", Frequency.parse(self.frequency))
        b, f, d = self.loadings, self.factor_cov, self.specific_var
        if not isinstance(b, pd.DataFrame) or not isinstance(f, pd.DataFrame):
            raise EstimationDataError(
                "The 'loadings' and 'factor_cov' arguments must be DataFrames (labelled)."
            )
        if not isinstance(d, pd.Series):
            raise EstimationDataError("The 'specific_var' argument must be a Series (labelled).")
        for axis, idx in (("index (assets)", b.index), ("columns (factors)", b.columns)):
            if not idx.is_unique:
                repeated = format_labels(idx[idx.duplicated()].unique())
                raise EstimationDataError(
                    f"The 'loadings' {axis} repeat {repeated}; each label must appear once."
                )
        if not f.index.equals(b.columns) or not f.columns.equals(b.columns):
            raise EstimationDataError(
                "The 'factor_cov' labels must equal the 'loadings' columns in the same order: "
                f"loadings columns {format_labels(b.columns)}, factor_cov index "
                f"{format_labels(f.index)}, columns {format_labels(f.columns)}."
            )
        if not d.index.equals(b.index):
            raise EstimationDataError(
                "The 'specific_var' labels must equal the 'loadings' index in the same order: "
                f"{format_labels(b.index.difference(d.index))} missing from 'specific_var', "
                f"{format_labels(d.index.difference(b.index))} unknown to 'loadings'."
            )
        if 0 in b.shape:
            raise EstimationDataError(
                "The 'loadings' argument must name at least one asset and one factor. Got "
                f"shape {b.shape}; for a covariance without factors use "
                "RiskModel.from_covariance, which makes each asset its own factor."
            )
        # the model keeps float64 copies: numbers held as objects or integers are converted,
        # and the caller's frames can change later without changing the model
        for name, values in (("loadings", b), ("factor_cov", f), ("specific_var", d)):
            inferred = values.infer_objects()  # numbers held as objects become numbers
            dtypes = [inferred.dtype] if isinstance(inferred, pd.Series) else inferred.dtypes
            other = [str(t) for t in dtypes if t.kind not in "biuf"]  # text, complex, dates
            if other:
                raise EstimationDataError(
                    f"The '{name}' argument must hold real numbers. Got dtype {other[0]}; "
                    "convert text with pd.to_numeric."
                )
            as_float = inferred.astype(np.float64)  # NA of nullable dtypes: NaN
            if not np.isfinite(as_float.to_numpy()).all():
                raise EstimationDataError(f"The '{name}' argument holds NaN or infinite values.")
            object.__setattr__(self, name, as_float)
        f, d = self.factor_cov, self.specific_var
        if (d.to_numpy() < 0).any():
            bad = d.index[d.to_numpy() < 0]
            raise EstimationDataError(
                f"The 'specific_var' argument must be >= 0. Got negative values for "
                f"{format_labels(bad)}."
            )
        fv = f.to_numpy()
        scale = max(1e-300, float(np.abs(fv).max()))
        if not np.allclose(fv, fv.T, rtol=0.0, atol=1e-12 * scale):
            raise EstimationDataError("The 'factor_cov' argument must be symmetric.")
        min_eig = float(np.linalg.eigvalsh(fv).min())
        if min_eig < -_PSD_TOL * scale:
            raise EstimationDataError(
                "The 'factor_cov' argument must be positive semi-definite. Got a smallest "
                f"eigenvalue of {min_eig!r}; use RiskModel.from_covariance(..., repair='clip')."
            )
        object.__setattr__(self, "_sqrt", _psd_sqrt(fv))

    @classmethod
    def from_covariance(
        cls,
        covariance: pd.DataFrame,
        *,
        repair: Literal["refuse", "clip"] = "refuse",
        window: int | None = None,
        asof: pd.Timestamp | None = None,
        frequency: Frequency | str = Frequency.DAILY,
    ) -> RiskModel:
        """Build a risk model from a full covariance matrix the user brings.

        The assets become their own factors (identity loadings, zero specific
        variance). A matrix that is not PSD is refused by default; ``repair="clip"``
        replaces it by the nearest PSD matrix in Frobenius norm (negative eigenvalues set
        to zero, Higham 1988).

        Parameters
        ----------
        covariance : DataFrame of shape (n_assets, n_assets)
            Labelled identically on both axes; symmetric.
        repair : {"refuse", "clip"}, default "refuse"
        window : int, optional
            Observations the covariance was estimated on (kept as :attr:`window`).
        asof : Timestamp, optional
            Last date of its estimation window (kept as :attr:`asof`).
        frequency : Frequency or str, default Frequency.DAILY
            Sampling of the returns the covariance is of (per period of it).

        Raises
        ------
        EstimationDataError
            If ``covariance`` is not a DataFrame labelled alike on both axes, is empty or
            holds NaN or infinite values, or ``repair`` is unknown; or as the constructor
            (not symmetric, not PSD), with the note "raised while building
            RiskModel.from_covariance(covariance)".
        """
        if not isinstance(covariance, pd.DataFrame) or not covariance.index.equals(
            covariance.columns
        ):
            raise EstimationDataError(
                "The 'covariance' argument must be a DataFrame with the same labels, in the "
                "same order, on its index and columns."
            )
        if repair not in ("refuse", "clip"):
            raise EstimationDataError(
                f"The 'repair' argument must be 'refuse' or 'clip'. Got {repair!r} instead."
            )
        if covariance.empty:
            raise EstimationDataError("The 'covariance' argument is empty: it names no asset.")
        cov = covariance.to_numpy(dtype=np.float64)
        if not np.isfinite(cov).all():
            raise EstimationDataError("The 'covariance' argument holds NaN or infinite values.")
        if repair == "clip":
            sym = 0.5 * (cov + cov.T)
            vals, vecs = np.linalg.eigh(sym)
            cov = (vecs * np.clip(vals, 0.0, None)) @ vecs.T
            cov = 0.5 * (cov + cov.T)
        labels = covariance.index
        try:
            return cls(
                loadings=pd.DataFrame(np.eye(len(labels)), index=labels, columns=labels),
                factor_cov=pd.DataFrame(cov, index=labels, columns=labels),
                specific_var=pd.Series(0.0, index=labels),
                window=window,
                asof=asof,
                frequency=Frequency.parse(frequency),
            )
        except EstimationDataError as exc:
            exc.add_note("raised while building RiskModel.from_covariance(covariance)")
            raise

    @property
    def assets(self) -> pd.Index:
        """Asset labels."""
        return self.loadings.index

    @property
    def factors(self) -> pd.Index:
        """Factor labels."""
        return self.loadings.columns

    def covariance(self) -> pd.DataFrame:
        """Dense asset covariance ``B F B' + D`` (for reporting; the optimizer never needs it)."""
        b = self.loadings.to_numpy()
        cov = b @ self.factor_cov.to_numpy() @ b.T + np.diag(self.specific_var.to_numpy())
        return pd.DataFrame(cov, index=self.assets, columns=self.assets)

    def factor_cov_sqrt(self) -> pd.DataFrame:
        """Return ``R`` with ``R.T @ R == factor_cov`` (symmetric-eigen square root)."""
        return pd.DataFrame(self._sqrt.copy(), index=self.factors, columns=self.factors)

    def specific_std(self) -> pd.Series:
        """Square root of the specific variance, by asset."""
        return pd.Series(
            np.sqrt(self.specific_var.to_numpy()), index=self.assets, name="specific_std"
        )

    def _weights(self, weights: Any) -> np.ndarray:
        if not isinstance(weights, pd.Series):
            raise EstimationDataError("The 'weights' argument must be a Series labelled by asset.")
        unknown = weights.index.difference(self.assets)
        if len(unknown):
            raise EstimationDataError(
                f"The 'weights' argument names assets the risk model lacks: "
                f"{format_labels(unknown)}."
            )
        # assets absent from weights are held at zero
        w = weights.reindex(self.assets).fillna(0.0).to_numpy(dtype=np.float64)
        if not np.isfinite(w).all():
            raise EstimationDataError("The 'weights' argument holds NaN or infinite values.")
        return w

    def exposures(self, weights: pd.Series) -> pd.Series:
        """Factor exposures ``B' w`` of a position (assets it omits count as zero)."""
        w = self._weights(weights)
        return pd.Series(self.loadings.to_numpy().T @ w, index=self.factors, name="exposure")

    def root_factors(self) -> tuple[np.ndarray, np.ndarray]:
        r"""Return the square-root factors :math:`(G, d)` of the covariance, in asset order.

        .. math:: \Sigma = G^\top G + \operatorname{diag}(d)^2, \qquad
                  G = F^{1/2} B^\top, \quad d = \sqrt{D}

        ``G`` has shape (n_factors, n_assets), ``d`` shape (n_assets,). This is the one
        place the factored form is computed: the variance here, the optimizer's risk
        terms and its results all use it, so :math:`w^\top \Sigma w =
        \lVert G w\rVert^2 + \lVert d \circ w\rVert^2` means one thing everywhere.
        """
        g = self._sqrt @ self.loadings.to_numpy().T
        return np.asarray(g, dtype=np.float64), np.sqrt(self.specific_var.to_numpy(np.float64))

    def variance(self, weights: pd.Series) -> float:
        """Variance of a position over the model's horizon, in factored form.

        ``weights`` is a Series labelled by asset; assets it omits count as zero.
        """
        return self.variance_in_asset_order(self._weights(weights))

    def variance_in_asset_order(self, weights: np.ndarray) -> float:
        r"""Variance of a position given as an array in the model's asset order.

        .. math:: w^\top \Sigma w = \lVert G w\rVert^2 + \lVert d \circ w\rVert^2

        For code that has already aligned labels (the optimizer); users pass Series to
        :meth:`variance`.
        """
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (len(self.assets),):
            raise EstimationDataError(
                f"The 'weights' array must have shape ({len(self.assets)},), one per asset in "
                f"the model's order. Got {w.shape} instead."
            )
        g, d = self.root_factors()
        gw, dw = g @ w, d * w
        return float(gw @ gw + dw @ dw)

    def with_factor_assets(self, factors: Sequence[Hashable]) -> RiskModel:
        """Return the model with one asset per given factor that *is* that factor.

        Each new asset (labelled like the factor) loads 1 on it and 0 elsewhere, with no
        specific variance: a position in it is exposure to the factor itself, as an
        index future on the market factor is. Factors that are already asset labels
        are refused (the asset would be ambiguous).

        Raises
        ------
        EstimationLabelsError
            For a label that is not a factor, or that is already an asset.
        """
        labels = list(factors)
        unknown = [f for f in labels if f not in self.factors]
        clash = [f for f in labels if f in self.assets]
        if unknown or clash:
            raise EstimationLabelsError(
                f"with_factor_assets takes factors that are not assets: {format_labels(unknown)} "
                f"are not factors, {format_labels(clash)} are already assets."
            )
        extra = pd.DataFrame(0.0, index=pd.Index(labels), columns=self.factors)
        for f in labels:
            extra.loc[f, f] = 1.0
        return RiskModel(
            loadings=pd.concat([self.loadings, extra]),
            factor_cov=self.factor_cov,
            specific_var=pd.concat([self.specific_var, pd.Series(0.0, index=extra.index)]),
            window=self.window,
            asof=self.asof,
            horizon=self.horizon,
            frequency=self.frequency,
        )

    def to_horizon(self, days: int, autocorrelation: float = 0.0) -> RiskModel:
        """Scale the variances to ``days`` periods of the model's frequency.

        See :mod:`factor_models.horizon`; on a weekly model ``days`` counts weeks.
        """
        k = horizon_variance_factor(days, autocorrelation)
        factor_cov, specific_var = self.factor_cov * k, self.specific_var * k
        if not (
            k >= 0
            and np.isfinite(factor_cov.to_numpy()).all()
            and np.isfinite(specific_var.to_numpy()).all()
        ):  # overflow (or a negative factor): the constructor names it
            return RiskModel(
                loadings=self.loadings,
                factor_cov=factor_cov,
                specific_var=specific_var,
                window=self.window,
                asof=self.asof,
                horizon=self.horizon * int(days),
                frequency=self.frequency,
            )
        # a model scaled by k >= 0 is as valid as this one: no second check (every
        # re-solve of a backtest or sweep scales one); its square root scales by sqrt(k)
        out = copy.copy(self)
        object.__setattr__(out, "factor_cov", factor_cov)
        object.__setattr__(out, "specific_var", specific_var)
        object.__setattr__(out, "horizon", self.horizon * int(days))
        object.__setattr__(out, "_sqrt", self._sqrt * math.sqrt(k))
        return out


class RiskModelSet(Mapping[int, RiskModel]):
    """Several risk models of the same assets, one per estimation window.

    The optimizer takes a set as one object (e.g. to minimise the worst case across
    windows). All models must share asset labels, in the same order.
    """

    def __init__(self, models: Mapping[int, RiskModel]) -> None:
        if not models:
            raise EstimationDataError("A RiskModelSet needs at least one RiskModel.")
        items = dict(models)
        first = next(iter(items.values()))
        for key, model in items.items():
            if not isinstance(model, RiskModel):
                raise EstimationDataError(
                    f"RiskModelSet entry {key!r} is a {type(model).__name__}, not a RiskModel."
                )
            if not model.assets.equals(first.assets):
                raise EstimationDataError(
                    f"RiskModelSet entry {key!r} has assets {format_labels(model.assets)}; "
                    f"expected {format_labels(first.assets)} like the first entry."
                )
        self._models = items

    def __getitem__(self, key: int) -> RiskModel:
        return self._models[key]

    def __iter__(self) -> Iterator[int]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)

    def __repr__(self) -> str:
        return f"RiskModelSet(windows={list(self._models)!r})"

    @property
    def assets(self) -> pd.Index:
        """Asset labels shared by every model."""
        return next(iter(self._models.values())).assets

r"""Attribution: Euler decomposition of volatility by position; realised return by factor.

A hedge result's own risk attribution (by factor, holding, instrument or leg, for
volatility and expected shortfall) is ``HedgeResult.attribution``;
:func:`return_attribution` splits what a hedge actually earned over a period.

Volatility :math:`\sigma(x) = \sqrt{x^\top \Sigma x}` is homogeneous of degree one, so
Euler's theorem splits it exactly into per-position contributions:

.. math::
    \sigma(x) = \sum_i x_i \frac{\partial \sigma}{\partial x_i}
              = \sum_i \frac{x_i (\Sigma x)_i}{\sigma(x)}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from optihedge._validation import (
    align_labels,
    as_float_array,
    as_sample,
    check_dates,
    check_returns,
    format_labels,
)
from optihedge.datasets import STRESS_WINDOWS
from optihedge.errors import DataError, MissingLabelsError, SpecificationError

__all__ = ["ReturnAttribution", "euler_contributions", "return_attribution"]


def _covariance_frame(covariance: Any, labels: pd.Index) -> pd.DataFrame:
    if isinstance(covariance, pd.DataFrame):
        cov = covariance
        if not cov.index.equals(cov.columns):
            raise MissingLabelsError(
                "The 'covariance' argument must have the same labels, in the same order, "
                f"on its index and columns. Got index {format_labels(cov.index)} and "
                f"columns {format_labels(cov.columns)}."
            )
    else:
        arr = np.asarray(covariance, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] != len(labels):
            raise DataError(
                f"The 'covariance' argument must be a square matrix with one row per "
                f"position ({len(labels)}). Got shape {arr.shape} instead."
            )
        cov = pd.DataFrame(arr, index=labels, columns=labels)
    values = as_float_array(cov.to_numpy(), "covariance")
    scale = max(1.0, float(np.abs(values).max()))
    if not np.allclose(values, values.T, rtol=0.0, atol=1e-12 * scale):
        raise DataError(
            "The 'covariance' argument must be symmetric. Got a largest asymmetry of "
            f"{float(np.abs(values - values.T).max())!r}; pass (C + C.T) / 2."
        )
    min_eig = float(np.linalg.eigvalsh(values).min())
    if min_eig < -1e-10 * scale:
        raise DataError(
            "The 'covariance' argument must be positive semi-definite. Got a smallest "
            f"eigenvalue of {min_eig!r}; repair it (e.g. clip eigenvalues) before use."
        )
    return cov


def euler_contributions(exposures: Any, covariance: Any) -> pd.DataFrame:
    """Per-position marginal risk, Euler contribution to volatility and share of it.

    Parameters
    ----------
    exposures : Series of shape (n_positions,) or array-like
        Position sizes (weights or currency), labelled by position.
    covariance : DataFrame of shape (n_positions, n_positions) or array-like
        Covariance of the positions' returns over the horizon of interest, labelled like
        ``exposures`` on both axes (order may differ; labels must match).

    Returns
    -------
    DataFrame of shape (n_positions, 3), index = position labels
        ``marginal`` (d sigma / d x_i), ``contribution`` (x_i * marginal, summing to
        sigma, in the units of ``exposures``) and ``share`` (contribution / sigma,
        summing to 1). ``attrs["volatility"]`` holds sigma.

    Raises
    ------
    DataError
        NaN or infinite inputs, a covariance that is not symmetric PSD, or a book with
        zero volatility (shares are undefined).
    MissingLabelsError
        When the labels of ``exposures`` and ``covariance`` differ.
    """
    x = as_sample(exposures, "exposures")
    cov = _covariance_frame(covariance, x.index)
    if isinstance(covariance, pd.DataFrame):
        order = align_labels(x, cov, ("exposures", "covariance"))
        cov = cov.loc[order, order]
        x = x.reindex(order)
    xv = x.to_numpy()
    sigma_x = cov.to_numpy() @ xv
    variance = float(xv @ sigma_x)
    if variance <= 0.0:
        raise DataError(
            "The book given by 'exposures' has zero volatility under 'covariance', so "
            "risk shares are undefined. Check the exposures are not all zero."
        )
    vol = float(np.sqrt(variance))
    marginal = sigma_x / vol
    contribution = xv * marginal
    out = pd.DataFrame(
        {"marginal": marginal, "contribution": contribution, "share": contribution / vol},
        index=x.index,
    )
    out.attrs["volatility"] = vol
    return out


@dataclass(frozen=True)
class ReturnAttribution:
    """Realised P&L over a period, split into factor returns times exposures plus specific.

    Attributes
    ----------
    daily : DataFrame indexed by date
        Columns ``(book, source)`` with book in ``("before", "after")`` (the book, the
        hedged book) and source each factor, ``"specific"`` and ``"total"``: daily
        returns as fractions of capital.
    total : DataFrame indexed by source
        The daily contributions summed over the period (``before``, ``after``; simple
        sums, not compounded: they add up to the summed total exactly).
    effectiveness : DataFrame indexed by stress window
        ``book`` and ``hedged`` (compounded returns over the window), ``offset`` (the
        share of the book's loss the hedge offset: 1 - hedged / book where the book
        lost) and ``covered`` (whether the returns span the window).
    drag : Series
        In rising markets (days the market rose): ``up_days``, ``mean_daily`` (hedged
        minus book, negative = the upside the hedge gave away) and ``total`` (summed).
    """

    daily: pd.DataFrame
    total: pd.DataFrame
    effectiveness: pd.DataFrame
    drag: pd.Series


def _clean_positions(frame: pd.DataFrame) -> pd.DataFrame:
    """Positions given by the user: unique asset labels, finite numbers."""
    if not frame.index.is_unique:
        dupes = frame.index[frame.index.duplicated()].unique()
        raise MissingLabelsError(
            f"The 'result_or_weights' argument repeats assets {format_labels(dupes)}; give "
            "one weight per asset (sum the duplicates with .groupby(level=0).sum())."
        )
    try:
        numbers = frame.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError("The 'result_or_weights' argument must hold numbers.") from exc
    if not np.isfinite(numbers.to_numpy()).all():
        raise DataError(
            "The 'result_or_weights' argument holds NaN or infinite weights; give 0.0 for "
            "assets not held."
        )
    return numbers


def _positions(result_or_weights: Any) -> pd.DataFrame:
    """Asset-space positions ``before`` and ``after`` (a result, a frame, or one Series)."""
    exposures = getattr(result_or_weights, "exposures", None)
    if isinstance(exposures, pd.DataFrame):
        return exposures[["before", "after"]]
    if isinstance(result_or_weights, pd.DataFrame):
        missing = {"before", "after"} - set(result_or_weights.columns)
        if missing:
            raise MissingLabelsError(
                "The 'result_or_weights' frame must have columns 'before' and 'after' "
                f"(asset weights of the book and the hedged book); it lacks {sorted(missing)}."
            )
        return _clean_positions(result_or_weights[["before", "after"]])
    if isinstance(result_or_weights, pd.Series):
        return _clean_positions(
            pd.DataFrame({"before": result_or_weights, "after": result_or_weights})
        )
    raise DataError(
        "The 'result_or_weights' argument must be a HedgeResult, a Series of asset weights or "
        f"a DataFrame with 'before' and 'after' columns. Got {type(result_or_weights).__name__}."
    )


def return_attribution(
    result_or_weights: Any,
    returns: pd.DataFrame,
    risk_model: Any,
    *,
    market: Any = None,
    stress_windows: Mapping[str, tuple[str, str]] | None = None,
) -> ReturnAttribution:
    r"""Split the realised P&L of the book and the hedged book into factors and specific.

    Each day :math:`t`, a position :math:`z` (fractions of capital by asset, held
    constant: rebalanced daily) earns :math:`z^\top r_t = \sum_k (B^\top z)_k f_{t,k}
    + z^\top (r_t - B f_t)`: factor returns times exposures plus specific. The factor
    returns are the ``returns``' own columns where they hold every factor (an index, a
    factor ETF), otherwise the cross-sectional GLS estimate
    :math:`f_t = (B^\top D^{-1} B)^{-1} B^\top D^{-1} r_t`. Options enter through their
    delta (the result's exposures).

    Parameters
    ----------
    result_or_weights : HedgeResult, Series or DataFrame
        A result (its ``exposures``: the book before, the hedged book after), asset
        weights of one book, or a frame with ``before`` and ``after`` columns.
    returns : DataFrame (dates x assets)
        Daily simple returns covering every asset with a position (and the factors, if
        they are returns of their own).
    risk_model : RiskModel
        Loadings and specific variances (``loadings``, ``specific_var``).
    market : label, optional
        Column of ``returns`` defining rising markets (the result's market by default).
    stress_windows : mapping of name to (start, end), optional
        Defaults to ``optihedge.datasets.STRESS_WINDOWS``.

    Raises
    ------
    MissingLabelsError
        If ``returns`` lack an asset with a position, or the market.
    DataError
        If the returns hold NaN, infinities or implausible values.
    """
    positions = _positions(result_or_weights)
    if not isinstance(returns, pd.DataFrame) or not isinstance(returns.index, pd.DatetimeIndex):
        raise DataError(
            "The 'returns' argument must be a DataFrame of daily returns with a DatetimeIndex "
            f"(dates x assets). Got {type(returns).__name__}."
        )
    check_dates(returns.index, "returns")
    values = returns.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise DataError(
            "The 'returns' argument holds NaN or infinite values; drop or fill them first "
            "(e.g. returns_from_prices(..., missing='drop'))."
        )
    check_returns(values, "returns", returns.columns)
    held = positions.index[(positions.to_numpy() != 0).any(axis=1)]
    missing = held.difference(returns.columns)
    if len(missing):
        raise MissingLabelsError(
            f"The 'returns' lack {format_labels(missing)}, which hold positions; pass returns "
            "covering every holding and every hedge underlying."
        )
    if not hasattr(risk_model, "loadings") or not hasattr(risk_model, "specific_var"):
        raise SpecificationError(
            "The 'risk_model' argument must be a RiskModel (loadings and specific "
            f"variances). Got {type(risk_model).__name__}: pass the risk model the result "
            "was solved with (result.risk_inputs.risk)."
        )
    loadings = risk_model.loadings
    factors = loadings.columns
    unknown = held.difference(loadings.index)
    if len(unknown):
        raise MissingLabelsError(
            f"The risk model lacks {format_labels(unknown)}, which hold positions; pass the "
            "risk model the result was solved with."
        )
    r_held = returns[held].to_numpy(dtype=np.float64)
    if factors.isin(returns.columns).all():
        f = returns[factors].to_numpy(dtype=np.float64)
        how = "the returns' own factor columns"
    else:
        common = loadings.index.intersection(returns.columns)
        b = loadings.loc[common].to_numpy()
        d = risk_model.specific_var.reindex(common).to_numpy()
        inv = 1.0 / np.maximum(d, 1e-12 * max(float(d.max()), 1e-300))
        r = returns[common].to_numpy(dtype=np.float64)
        f = np.linalg.lstsq(b.T @ (inv[:, None] * b), (b.T * inv) @ r.T, rcond=None)[0].T
        how = "cross-sectional GLS estimates"
    b_held = loadings.loc[held].to_numpy()
    blocks = {}
    for side in ("before", "after"):
        z = positions.loc[held, side].to_numpy()
        by_factor = f * (b_held.T @ z)
        total = r_held @ z
        block = pd.DataFrame(by_factor, index=returns.index, columns=factors)
        block["specific"] = total - by_factor.sum(axis=1)
        block["total"] = total
        blocks[side] = block
    daily = pd.concat(blocks, axis=1, names=["book", "source"])
    daily.attrs["factor_returns"] = how
    total_table = pd.DataFrame({side: blocks[side].sum() for side in blocks})
    total_table.attrs["note"] = "sums of daily returns (fractions of capital), not compounded"
    market_label = market if market is not None else getattr(result_or_weights, "market", None)
    effectiveness = _effectiveness(blocks, stress_windows)
    drag = _drag(blocks, returns, market_label)
    return ReturnAttribution(daily, total_table, effectiveness, drag)


def _compound(daily: pd.Series) -> float:
    """Compounded return of daily returns; -1 (all capital lost) once a day loses 100%."""
    values = daily.to_numpy(dtype=np.float64)
    if (values <= -1.0).any():
        return -1.0
    return float(np.expm1(np.log1p(values).sum()))


def _effectiveness(
    blocks: Mapping[str, pd.DataFrame], stress_windows: Mapping[str, tuple[str, str]] | None
) -> pd.DataFrame:
    windows = STRESS_WINDOWS if stress_windows is None else dict(stress_windows)
    index = blocks["before"].index
    rows = {}
    for name, (start, end) in windows.items():
        covered = (
            bool(len(index)) and index[0] <= pd.Timestamp(start) and index[-1] >= pd.Timestamp(end)
        )
        if not covered:
            rows[name] = {"book": np.nan, "hedged": np.nan, "offset": np.nan, "covered": False}
            continue
        book = _compound(blocks["before"]["total"].loc[start:end])
        hedged = _compound(blocks["after"]["total"].loc[start:end])
        offset = 1.0 - hedged / book if book < 0 else np.nan
        rows[name] = {"book": book, "hedged": hedged, "offset": offset, "covered": True}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.attrs["offset"] = "share of the book's loss the hedge offset (NaN where the book gained)"
    return out


def _drag(blocks: Mapping[str, pd.DataFrame], returns: pd.DataFrame, market: Any) -> pd.Series:
    if market is None or market not in returns.columns:
        raise MissingLabelsError(
            f"The market {market!r} is not a column of 'returns'; pass market=<the index "
            "column> to define rising markets."
        )
    up = returns[market].to_numpy() > 0
    diff = (blocks["after"]["total"] - blocks["before"]["total"]).to_numpy()[up]
    return pd.Series(
        {
            "up_days": float(up.sum()),
            "mean_daily": float(diff.mean()) if diff.size else np.nan,
            "total": float(diff.sum()),
        },
        name=f"drag when {market} rose",
    )

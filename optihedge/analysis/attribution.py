r"""Risk attribution: Euler decomposition of portfolio volatility by position.

Volatility :math:`\sigma(x) = \sqrt{x^\top \Sigma x}` is homogeneous of degree one, so
Euler's theorem splits it exactly into per-position contributions:

.. math::
    \sigma(x) = \sum_i x_i \frac{\partial \sigma}{\partial x_i}
              = \sum_i \frac{x_i (\Sigma x)_i}{\sigma(x)}
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from optihedge._validation import align_labels, as_float_array, as_sample, format_labels
from optihedge.errors import DataError, MissingLabelsError

__all__ = ["euler_contributions"]


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

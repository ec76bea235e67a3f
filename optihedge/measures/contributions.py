r"""Risk contributions that add up: volatility in factored form, expected shortfall by scenario.

**Volatility.** With :math:`\Sigma = B F B^\top + D` and a position :math:`z` in asset
space made of parts :math:`z = \sum_m y_m`, Euler's theorem splits the volatility
:math:`\sigma = \sqrt{z^\top \Sigma z}` exactly:

.. math::
    \sigma = \sum_m \frac{y_m^\top \Sigma z}{\sigma}
           = \sum_k \frac{f_k (F f)_k}{\sigma} + \frac{z^\top D z}{\sigma},
    \qquad f = B^\top z

(by part; by factor plus a specific part: the x-sigma-rho decomposition).

**Expected shortfall.** With scenario losses :math:`L_s = \sum_m \ell_{s,m}` and
probabilities :math:`p_s`, the estimator of ``optihedge.risk.expected_shortfall``
(Acerbi-Tasche: the probability-weighted mean loss beyond the VaR, plus the VaR scenario's
share of the boundary mass) is :math:`\mathrm{ES} = \sum_s \omega_s L_s` with tail
weights :math:`\omega_s` summing to 1 (:func:`tail_weights`); scenarios tied at the VaR
share the boundary mass in proportion to their probabilities. Each part's contribution
is its mean loss over the tail, :math:`c_m = \sum_s \omega_s \ell_{s,m}`: they sum to the
ES exactly and are its derivative with respect to scaling the part (where the tail set
does not change). Standard errors are the usual large-sample approximations, stated.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from optihedge.errors import DataError
from optihedge.measures.risk import tail_weights

__all__ = [
    "check_tail",
    "shortfall_contributions",
    "tail_summary",
    "tail_weights",
    "volatility_contributions",
    "weighted_contributions",
    "weighted_moments",
]


def check_tail(alpha: float, p: np.ndarray, what: str = "scenario") -> None:
    """Refuse an ``alpha`` whose tail holds less than one scenario.

    Raises
    ------
    DataError
        Naming alpha, the tail's size and the fix.
    """
    tail = 1.0 - alpha
    if tail < float(p.max()) - 1e-15 and tail * len(p) < 1.0 - 1e-12:
        raise DataError(
            f"alpha={alpha!r} leaves a tail of {tail * len(p):.3g} {what}(s) out of "
            f"{len(p)}: fewer than one, so the expected shortfall is one outcome's loss and "
            "its contributions are not estimated. Lower alpha or add scenarios."
        )


def tail_summary(losses: np.ndarray, p: np.ndarray, alpha: float) -> dict[str, Any]:
    r"""Tail weights, VaR, ES and the ES's large-sample standard error of ``losses``.

    Returns
    -------
    dict
        ``weights`` (:func:`tail_weights`), ``var``, ``es``, ``es_standard_error``
        (Yamai and Yoshiba's formula :math:`\sqrt{(\operatorname{Var}(L \mid
        \text{tail}) + \alpha(\mathrm{ES} - \mathrm{VaR})^2) / (N(1-\alpha))}`, with
        :math:`N` the effective number of scenarios :math:`1/\sum p_s^2`) and
        ``tail_scenarios``.
    """
    check_tail(alpha, p)
    omega, var = tail_weights(losses, p, alpha)
    rows = np.flatnonzero(omega)
    es = float(omega[rows] @ losses[rows])
    tail_var = float(omega[rows] @ (losses[rows] - es) ** 2)
    n_eff = 1.0 / float(p @ p)
    return {
        "weights": omega,
        "var": var,
        "es": es,
        "es_standard_error": math.sqrt(
            max(tail_var + alpha * (es - var) ** 2, 0.0) / (n_eff * (1.0 - alpha))
        ),
        "tail_scenarios": int(rows.size),
    }


def weighted_moments(
    values: np.ndarray, weights: np.ndarray, chunk: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Each column's weighted mean and weighted second moment (weights summing to 1).

    Columns are taken ``chunk`` at a time, so that no temporary of the whole matrix's
    size is made.
    """
    mean = weights @ values
    second = np.empty(values.shape[1])
    for start in range(0, values.shape[1], chunk):
        block = values[:, start : start + chunk]
        second[start : start + chunk] = weights @ (block * block)
    return mean, second


def weighted_contributions(
    part_pnl: np.ndarray, weights: np.ndarray, scale: np.ndarray | float = 1.0
) -> dict[str, np.ndarray]:
    r"""Each part's tail-weighted mean loss and its standard error.

    ``part_pnl`` holds the parts' P&L (gains positive) on the tail scenarios (rows),
    ``weights`` their tail weights (summing to 1; rows outside the tail may carry 0),
    ``scale`` multiplies each column (a position size). The contribution is
    :math:`-s\,\sum_s \omega_s p_s`; the standard error the weighted standard deviation
    over the effective number of tail scenarios :math:`1/\sum\omega_s^2`.
    """
    mean, second = weighted_moments(part_pnl, weights)
    n_tail = 1.0 / float(weights @ weights)
    spread = np.sqrt(np.maximum(second - mean * mean, 0.0) / n_tail)
    s = np.asarray(scale, dtype=np.float64)
    return {"contribution": -s * mean, "standard_error": np.abs(s) * spread}


def shortfall_contributions(parts: np.ndarray, p: np.ndarray, alpha: float) -> dict[str, Any]:
    """Expected-shortfall contributions of the columns of ``parts`` (P&L, gains positive).

    The total is the row sum; the contributions sum to its ES exactly. Returns
    :func:`tail_summary`'s entries plus ``contribution`` and ``standard_error`` by part.
    """
    losses = -parts.sum(axis=1)
    summary = tail_summary(losses, p, alpha)
    rows = np.flatnonzero(summary["weights"])
    return summary | weighted_contributions(parts[rows], summary["weights"][rows])


def volatility_contributions(
    parts: np.ndarray, loadings: np.ndarray, factor_cov: np.ndarray, specific_var: np.ndarray
) -> dict[str, np.ndarray | float]:
    """Euler contributions to volatility, by part and by factor plus specific.

    Parameters
    ----------
    parts : ndarray of shape (n_assets, n_parts)
        Each part's position in asset space; the position is their sum.
    loadings, factor_cov, specific_var
        The risk model: ``B`` (assets x factors), ``F``, the diagonal of ``D``.

    Returns
    -------
    dict
        ``by_part`` (n_parts,), ``by_factor`` (n_factors,), ``specific`` and
        ``volatility``. Every contribution is 0 when the volatility is 0.
    """
    z = parts.sum(axis=1)
    f = loadings.T @ z
    ff = factor_cov @ f
    sigma_z = loadings @ ff + specific_var * z
    variance = float(z @ sigma_z)
    vol = math.sqrt(max(variance, 0.0))
    if vol == 0.0:
        return {
            "by_part": np.zeros(parts.shape[1]),
            "by_factor": np.zeros(len(f)),
            "specific": 0.0,
            "volatility": 0.0,
        }
    return {
        "by_part": parts.T @ sigma_z / vol,
        "by_factor": f * ff / vol,
        "specific": float(z @ (specific_var * z)) / vol,
        "volatility": vol,
    }

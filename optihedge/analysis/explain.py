r"""The hedge policy in one sentence, with every number behind it.

``explain(result)`` (also ``optihedge.explain`` and ``HedgeResult.explain``, which
reaches this module through :mod:`optihedge.optimize.hooks`) reads a solved
``HedgeResult``: the market beta protected, the horizon, the annual cost, the limits
that bind and the beta band inside which the hedge needs no rebalancing
(:func:`optihedge.measures.diagnostics.beta_drift_band`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from constraints import covariance_with
from optihedge._validation import check_scalar
from optihedge.measures.diagnostics import beta_drift_band
from optihedge.optimize.result import HedgeResult

__all__ = ["Explanation", "explain"]


@dataclass(frozen=True)
class Explanation:
    """The hedge policy sentence and the numbers behind it (see :func:`explain`)."""

    sentence: str
    numbers: dict[str, Any]

    def __str__(self) -> str:
        return self.sentence


def explain(result: HedgeResult, tolerance: float = 0.10) -> Explanation:
    r"""State the hedge policy in one sentence, with every number behind it.

    "Protecting against SP500 beta of about 0.69 on USD 1,000,000 for 21 trading
    days, at about 0.19% a year; residual beta >= 0.25 binds; remove or rebalance
    when the beta drifts outside 0.80-1.08."

    Parameters
    ----------
    result : HedgeResult
        A solved result that carries its risk inputs.
    tolerance : float, default 0.10
        The band is the drift of the book's beta that would raise the hedged book's
        variance by ``tolerance`` (10% by default), around the book's beta
        (:func:`optihedge.measures.diagnostics.beta_drift_band`); > 0.

    Returns
    -------
    Explanation
        ``sentence`` and ``numbers``: betas (dimensionless), capital (base currency),
        the horizon (``horizon_days``, ``horizon_periods``, ``frequency``), the annual
        carry and premium (base currency a year) and cost (fraction of capital a year:
        per instrument, an option's premium spread over its life, its carry being that
        premium decaying, not counted twice, or another instrument's annual carry), the
        binding limits, the band (``band_low``, ``band_high``, ``band_tolerance``),
        volatilities and, with scenarios, ``es_before`` / ``es_after`` (fractions of
        capital over the horizon).

    Raises
    ------
    SpecificationError
        A failed solve, a result without risk inputs, a ``tolerance`` that is not
        positive.
    """
    inputs = result.solved_inputs("explain")
    tau = check_scalar(tolerance, "tolerance", lower=0.0, lower_inclusive=False)
    beta = result.risk["beta"].to_numpy(dtype=np.float64)
    variance_after = float(result.risk["variance"].to_numpy()[1])
    _, market_var = covariance_with(inputs.risk, result.market)
    low, high = beta_drift_band(float(beta[0]), variance_after, market_var, tau)
    carry_by = result.allocation["annual_carry"].to_numpy()
    premium_by = result.allocation["annual_premium"].to_numpy()
    carry, premium = float(carry_by.sum()), float(premium_by.sum())
    cost = float(np.where(premium_by != 0, premium_by, carry_by).sum()) / result.capital
    limits = []
    for label in result.binding:
        value = float(
            result.constraints["limit"].to_numpy()[result.constraints.index.get_loc(label)]
        )
        limits.append(_limit_phrase(str(label), value))
    binds = (
        f"{', '.join(limits)} {'bind' if len(limits) > 1 else 'binds'}"
        if limits
        else "no limit binds"
    )
    protected = float(beta[0] - beta[1])
    sentence = (
        f"Protecting against {result.market} beta of about {protected:.2f} on "
        f"{result.money(result.capital)} for {result.horizon_label}, at about "
        f"{cost:.2%} a year; {binds}; remove or rebalance when the beta drifts outside "
        f"{low:.2f}-{high:.2f}."
    )
    numbers: dict[str, Any] = {
        "market": result.market,
        "beta_before": float(beta[0]),
        "beta_after": float(beta[1]),
        "beta_protected": protected,
        "capital": result.capital,
        "currency": result.currency,
        "horizon_days": int(result.frequency.trading_days(result.horizon)),
        "horizon_periods": result.horizon,
        "frequency": str(result.frequency),
        "annual_carry": carry,
        "annual_premium": premium,
        "annual_cost_fraction": cost,
        "binding": list(result.binding),
        "band_low": low,
        "band_high": high,
        "band_tolerance": tau,
        "volatility_before": float(result.risk["volatility"].to_numpy()[0]),
        "volatility_after": float(result.risk["volatility"].to_numpy()[1]),
    }
    if "scenario_es" in result.risk.columns:
        es = result.risk["scenario_es"].to_numpy(dtype=np.float64)
        numbers |= {"es_before": float(es[0]), "es_after": float(es[1])}
    return Explanation(sentence, numbers)


#: a limit row's side: its key's last part, with the position it bounds in brackets
_SIDE = re.compile(r"^(?P<side>min|max|lower|upper|total)(?:\[(?P<of>.*)\])?$")
_SENSE = {"min": ">=", "lower": ">=", "max": "<=", "upper": "<=", "total": "="}


def _limit_phrase(label: str, value: float) -> str:
    """``"residual beta >= 0.25"``, ``"bounds F0 >= 0"``: a binding limit in words.

    The label is the limit table's row (``<term>.<side>`` or ``<term>.<side>[<label>]``);
    a label of another shape is shown whole, with its value.
    """
    name, _, side = label.rpartition(".")
    match = _SIDE.match(side) if name else None
    if match is None:
        return f"{label.replace('_', ' ')} at {value:.4g}"
    words = [name.replace("_", " "), match["of"], _SENSE[match["side"]], f"{value:.4g}"]
    return " ".join(w for w in words if w)

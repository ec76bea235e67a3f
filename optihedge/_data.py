"""Assemble the labelled numbers of a hedge problem (HedgeData) from user objects."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from constraints import ATTRIBUTES, FactorRisk, HedgeData
from factor_models import RiskModel, RiskModelSet, horizon_variance_factor
from optihedge._validation import format_labels
from optihedge.errors import DataError, MissingLabelsError, SpecificationError
from optihedge.instruments import Instrument, PositionReduction
from optihedge.portfolio import Portfolio
from optihedge.scenarios import Scenarios

__all__ = ["build_data", "risk_models_of"]


def risk_models_of(risk_model: Any) -> dict[Hashable, RiskModel]:
    """Normalise a RiskModel or a RiskModelSet to a dict of models."""
    if risk_model is None:
        raise SpecificationError(
            "HedgeProblem needs a risk_model (RiskModel or RiskModelSet), or scenarios."
        )
    if isinstance(risk_model, RiskModel):
        return {risk_model.window if risk_model.window is not None else "model": risk_model}
    if isinstance(risk_model, RiskModelSet):
        return dict(risk_model.items())
    raise SpecificationError(
        "The 'risk_model' argument must be a RiskModel or a RiskModelSet (see "
        f"factor_models). Got {type(risk_model).__name__} instead."
    )


def _scaled(model: RiskModel, horizon: int) -> FactorRisk:
    if horizon % model.horizon:
        raise SpecificationError(
            f"The risk model is stated over {model.horizon} days, which does not divide the "
            f"problem's horizon of {horizon} days; pass a per-day model."
        )
    k = horizon_variance_factor(horizon // model.horizon)
    return FactorRisk(model.loadings, model.factor_cov * k, model.specific_var * k)


def build_data(
    portfolio: Portfolio,
    instruments: Sequence[Instrument],
    risk_model: Any,
    *,
    horizon: int,
    current: pd.Series | None,
    market: Hashable | None,
    expected_returns: pd.Series | None,
    scenarios: Scenarios | None = None,
) -> HedgeData:
    """Check every label and build the HedgeData of a problem."""
    if not isinstance(portfolio, Portfolio):
        raise SpecificationError(
            f"The 'portfolio' argument must be a Portfolio. Got {type(portfolio).__name__}."
        )
    if not instruments or not all(isinstance(i, Instrument) for i in instruments):
        raise SpecificationError(
            "The 'instruments' argument must be a non-empty sequence of Instrument objects."
        )
    labels = pd.Index([i.label for i in instruments])
    if not labels.is_unique:
        dupes = labels[labels.duplicated()].unique()
        raise MissingLabelsError(
            f"Instrument labels must be unique; repeated: {format_labels(dupes)}."
        )
    if scenarios is not None:
        if not isinstance(scenarios, Scenarios):
            raise SpecificationError(
                f"The 'scenarios' argument must be a Scenarios. Got {type(scenarios).__name__}."
            )
        if scenarios.horizon != horizon:
            raise SpecificationError(
                f"The scenarios span {scenarios.horizon} trading days but the problem's horizon "
                f"is {horizon}; pass horizon={scenarios.horizon}."
            )
        if risk_model is None:
            # betas and volatility from the scenarios themselves
            cov = RiskModel.from_covariance(scenarios.covariance(), repair="clip")
            risk_model = dataclasses.replace(cov, horizon=scenarios.horizon)
    models = risk_models_of(risk_model)
    first = next(iter(models.values()))
    assets = first.assets
    value = portfolio.value
    unknown = portfolio.holdings.index.difference(assets)
    if len(unknown):
        raise MissingLabelsError(
            f"The portfolio holds {format_labels(unknown)}, which the risk model lacks "
            f"(its assets: {format_labels(assets)}). Add them to the risk model."
        )
    book = portfolio.weights.reindex(assets).fillna(0.0)
    exposures = pd.DataFrame(0.0, index=assets, columns=labels)
    rows = {}
    for inst in instruments:
        for asset, amount in inst.exposure_map().items():
            if asset not in assets:
                raise MissingLabelsError(
                    f"Instrument {inst.label!r} has underlying {asset!r}, which the risk model "
                    f"lacks (its assets: {format_labels(assets)})."
                )
            exposures.loc[asset, inst.label] = amount
        lower, upper = inst.lower, inst.upper
        if isinstance(inst, PositionReduction):
            held = float(book.get(inst.holding, 0.0))
            if inst.holding not in portfolio.holdings.index or held <= 0:
                raise MissingLabelsError(
                    f"PositionReduction {inst.label!r} sells {inst.holding!r}, which the "
                    "portfolio does not hold long."
                )
            lower = max(lower, -held)
        rows[inst.label] = {
            "gross_weight": inst.gross_weight,
            "premium": inst.premium,
            "carry_long": inst.carry_long,
            "carry_short": inst.carry_short,
            "cost": inst.cost,
            "adv": inst.adv / value if math.isfinite(inst.adv) else math.inf,
            "contract_value": inst.contract_value / value,
            "lower": lower,
            "upper": upper,
        }
    attributes = pd.DataFrame.from_dict(rows, orient="index")[list(ATTRIBUTES)]
    if current is None:
        current_s = pd.Series(0.0, index=labels)
    else:
        if not isinstance(current, pd.Series):
            raise DataError("The 'current' argument must be a Series by instrument label.")
        extra = current.index.difference(labels)
        if len(extra):
            raise MissingLabelsError(
                f"The 'current' hedge names instruments the problem lacks: {format_labels(extra)}."
            )
        current_s = current.reindex(labels).fillna(0.0).astype(np.float64)
        if not np.isfinite(current_s.to_numpy()).all():
            raise DataError("The 'current' argument holds NaN or infinite values.")
    for key, model in models.items():
        if not model.assets.equals(assets):
            raise MissingLabelsError(
                f"Risk model {key!r} has assets {format_labels(model.assets)}, unlike the first "
                f"({format_labels(assets)})."
            )
    if market is None:
        market = first.factors[0]
    scaled = {k: _scaled(m, horizon) for k, m in models.items()}
    scenario_fields: dict[str, Any] = {}
    if scenarios is not None:
        missing = portfolio.holdings.index.difference(scenarios.returns.columns)
        if len(missing):
            raise MissingLabelsError(
                f"The scenarios lack holdings {format_labels(missing)} of the portfolio."
            )
        weights = portfolio.weights
        scenario_fields = {
            "scenario_book": scenarios.returns[weights.index].to_numpy(dtype=np.float64)
            @ weights.to_numpy(),
            "scenario_pnl": np.column_stack([i.scenario_returns(scenarios) for i in instruments]),
            "scenario_probabilities": scenarios.probability_array(),
            "scenario_index": scenarios.returns.index,
        }
    return HedgeData(
        instruments=labels,
        assets=assets,
        book=book,
        exposures=exposures,
        attributes=attributes,
        current=current_s,
        risk_models=scaled,
        horizon=horizon,
        market=market,
        expected_returns=expected_returns,
        objective_scale=_objective_scale(next(iter(scaled.values())), book.to_numpy()),
        **scenario_fields,
    )


def _objective_scale(risk: FactorRisk, w: np.ndarray) -> float:
    """1 / the unhedged book's variance (or the mean asset variance for an empty book)."""
    b = risk.loadings.to_numpy()
    f = risk.factor_cov.to_numpy()
    fw = b.T @ w
    variance = float(fw @ f @ fw + w @ (risk.specific_var.to_numpy() * w))
    if not variance > 0:
        variance = float(np.mean(np.einsum("ij,jk,ik->i", b, f, b) + risk.specific_var))
    return 1.0 / variance if variance > 0 else 1.0

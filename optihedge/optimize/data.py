"""Assemble the labelled numbers of a hedge problem (HedgeData) from its inputs.

Every label is checked here, once, and every instrument is asked through its protocol
(exposures, attributes, bounds, scenario returns, market requirements): no concrete
instrument class is named.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from constraints import ATTRIBUTES, HedgeData
from factor_models import RiskModel, RiskModelSet
from factor_models.frequency import check_same_frequency
from optihedge._validation import format_labels
from optihedge.calendar import Frequency
from optihedge.errors import DataError, DataWarning, MissingLabelsError, SpecificationError
from optihedge.instruments import Instrument, MarketState
from optihedge.measures.pnl import book_pnl
from optihedge.optimize.inputs import HedgeInputs
from optihedge.portfolio import Portfolio
from optihedge.scenarios import Scenarios

__all__ = [
    "build_data",
    "by_instrument",
    "check_instruments",
    "data_frequency",
    "frequency_of",
    "risk_models_of",
    "scaled",
    "scenario_matrix",
]

#: Attributes instruments state in currency; the data hold them per unit of book value.
_CURRENCY_ATTRIBUTES = ("adv", "contract_value")


def risk_models_of(risk_model: Any) -> dict[Hashable, RiskModel]:
    """Normalise a RiskModel or a RiskModelSet to a dict of models."""
    if isinstance(risk_model, RiskModel):
        return {risk_model.window if risk_model.window is not None else "model": risk_model}
    if isinstance(risk_model, RiskModelSet):
        return dict(risk_model.items())
    raise SpecificationError(
        "The 'risk_model' argument must be a RiskModel or a RiskModelSet (see "
        f"factor_models). Got {type(risk_model).__name__} instead."
    )


def frequency_of(risk_model: Any, scenarios: Any) -> Frequency:
    """Return the frequency of a problem's inputs: what one period of its horizon is.

    The scenarios' and every risk model's must agree (weekly scenarios with a daily
    model would read one horizon as two lengths of time); daily without either.

    Raises
    ------
    DataError
        Inputs of different frequencies, naming both.
    """
    found: list[tuple[str, Frequency]] = []
    if isinstance(scenarios, Scenarios):
        found.append(("scenarios", scenarios.frequency))
    if isinstance(risk_model, RiskModel | RiskModelSet):
        for key, model in risk_models_of(risk_model).items():
            name = "risk model" if isinstance(risk_model, RiskModel) else f"risk model {key!r}"
            found.append((name, model.frequency))
    if not found:
        return Frequency.DAILY
    first_name, first = found[0]
    for name, freq in found[1:]:
        check_same_frequency(first, first_name, freq, name)
    return first


def data_frequency(data: HedgeData) -> Frequency:
    """Return the frequency of a problem's numbers: that of its (primary) risk model."""
    return Frequency.parse(getattr(data.risk, "frequency", Frequency.DAILY))


def check_instruments(instruments: Sequence[Instrument]) -> pd.Index:
    """Return the instruments' labels; they must be Instruments with unique labels."""
    if (
        not isinstance(instruments, Sequence)
        or not instruments
        or not all(isinstance(i, Instrument) for i in instruments)
    ):
        raise SpecificationError(
            "The 'instruments' argument must be a non-empty sequence of Instrument objects."
        )
    labels = pd.Index([i.label for i in instruments])
    if not labels.is_unique:
        dupes = labels[labels.duplicated()].unique()
        raise MissingLabelsError(
            f"Instrument labels must be unique; repeated: {format_labels(dupes)}."
        )
    return labels


def scenario_matrix(
    instruments: Sequence[Instrument],
    scenarios: Scenarios,
    market: MarketState,
    dtype: Any = np.float64,
) -> np.ndarray:
    """Return of each instrument per unit of x in each scenario, (n_scenarios, n_instruments).

    Held column by column (Fortran order, the transpose of an instruments x scenarios
    table) in ``dtype`` (float32 halves it; it is never held in float64 as well): each
    instrument's returns are written where they lie, in one pass. Filling the columns of a
    row-major table touched every page once per column (2-4 s at a million scenarios x
    100 instruments, against 0.4 s); products with the positions run as fast either way.
    """
    out = np.empty((len(instruments), scenarios.n_scenarios), dtype=dtype)
    for j, instrument in enumerate(instruments):
        out[j] = instrument.scenario_returns(scenarios, market)
    return out.T


def _to_horizon(model: RiskModel, horizon: int) -> RiskModel:
    if horizon % model.horizon:
        label = model.frequency.label
        raise SpecificationError(
            f"The risk model is stated over {label(model.horizon)}, which does not divide the "
            f"problem's horizon of {label(horizon)}; pass a per-period model."
        )
    days = horizon // model.horizon
    return model if days == 1 else model.to_horizon(days)


def by_instrument(values: Any, labels: pd.Index, name: str) -> pd.Series:
    """Return positions given as a Series by instrument label, in ``labels`` order.

    Instruments it omits are 0; a label no instrument has, a non-numeric value, NaN or
    an infinite value is an error naming ``name``.
    """
    if values is None:
        return pd.Series(0.0, index=labels)
    if not isinstance(values, pd.Series):
        raise DataError(
            f"The '{name}' argument must be a Series by instrument label. Got "
            f"{type(values).__name__}: pass pd.Series({{label: position}})."
        )
    if not values.index.is_unique:
        dupes = values.index[values.index.duplicated()].unique()
        raise MissingLabelsError(
            f"The '{name}' argument repeats instrument labels {format_labels(dupes)}; give "
            "one position per instrument (sum the duplicates with .groupby(level=0).sum())."
        )
    same = values.index.equals(labels)
    extra = labels[:0] if same else values.index.difference(labels)
    if len(extra):
        raise MissingLabelsError(
            f"The '{name}' argument names instruments the problem lacks: {format_labels(extra)}."
        )
    try:
        numbers = values.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"The '{name}' argument must be numeric.") from exc
    if not np.isfinite(numbers.to_numpy()).all():
        bad = numbers.index[~np.isfinite(numbers.to_numpy())]
        raise DataError(
            f"The '{name}' argument holds NaN or infinite values for {format_labels(bad)}; "
            "give 0.0 for instruments not held."
        )
    return numbers.copy() if same else numbers.reindex(labels).fillna(0.0)


def _instrument_tables(
    instruments: Sequence[Instrument],
    labels: pd.Index,
    assets: pd.Index,
    book: pd.Series,
    market: MarketState,
    capital: float | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Exposures (assets x instruments) and attributes (instruments x names), per unit of x."""
    assert capital is not None
    position = {a: i for i, a in enumerate(assets)}
    exposures = np.zeros((len(assets), len(instruments)))
    rows = []
    for j, inst in enumerate(instruments):
        lower, upper = inst.bounds(book)
        for asset, amount in inst.exposures(market).items():
            if asset not in position:
                raise MissingLabelsError(
                    f"{inst.name} has underlying {asset!r}, which the risk model lacks: it "
                    f"is neither an asset ({format_labels(assets)}) nor a factor. Fit the "
                    "risk model on the underlying's returns too, or use a factor's label."
                )
            exposures[position[asset], j] = amount
        row = dict(ATTRIBUTES) | inst.attributes(market) | {"lower": lower, "upper": upper}
        for name in _CURRENCY_ATTRIBUTES:
            row[name] = row[name] / capital if math.isfinite(row[name]) else row[name]
        rows.append(row)
    # one array, the union of the rows' names in order (NaN where a row has none), as
    # DataFrame(rows) would give, without its per-dict parsing (a cost every solve pays)
    names = list(dict.fromkeys(k for row in rows for k in row))
    table = np.array([[row.get(k, np.nan) for k in names] for row in rows], dtype=np.float64)
    attributes = pd.DataFrame(table.reshape(len(rows), len(names)), index=labels, columns=names)
    return pd.DataFrame(exposures, index=assets, columns=labels), attributes


def check_market(instruments: Sequence[Instrument], market: MarketState) -> None:
    """Every instrument must find the market-state fields it needs."""
    have = market.provides()
    for inst in instruments:
        missing = inst.market_requirements() - have
        if missing:
            raise SpecificationError(
                f"{inst.name} needs {sorted(missing)} in the market state; pass "
                "market_state=MarketState(...) with them."
            )


def build_data(
    inputs: HedgeInputs,
    instruments: Sequence[Instrument],
    *,
    horizon: int,
    market: Hashable | None,
    checked: bool = False,
    precision: str = "float64",
) -> HedgeData:
    """Check every label of ``inputs`` against the structure and build the HedgeData.

    ``checked=True`` skips the instruments' own check (the problem made it once).
    ``precision``: the dtype the instruments' scenario P&L is held in.
    """
    portfolio, scenarios = inputs.portfolio, inputs.scenarios
    if not isinstance(portfolio, Portfolio):
        raise SpecificationError(
            f"The 'portfolio' argument must be a Portfolio. Got {type(portfolio).__name__}."
        )
    labels = pd.Index([i.label for i in instruments]) if checked else check_instruments(instruments)
    risk_model = inputs.risk_model
    if scenarios is not None:
        if not isinstance(scenarios, Scenarios):
            raise SpecificationError(
                f"The 'scenarios' argument must be a Scenarios. Got {type(scenarios).__name__}."
            )
        if scenarios.horizon != horizon:
            label = scenarios.frequency.label
            raise SpecificationError(
                f"The scenarios span {scenarios.horizon_label} but the problem's horizon "
                f"is {label(horizon)}; pass horizon={scenarios.horizon} or scenarios over "
                f"{label(horizon)}."
            )
        if risk_model is None:
            # betas and volatility from the scenarios themselves
            _warn_rank_deficient(scenarios)
            model = RiskModel.from_covariance(
                scenarios.covariance(), repair="clip", frequency=scenarios.frequency
            )
            risk_model = dataclasses.replace(model, horizon=scenarios.horizon)
    if risk_model is None:
        raise SpecificationError(
            "HedgeProblem needs a risk_model (RiskModel or RiskModelSet), or scenarios."
        )
    models = risk_models_of(risk_model)
    frequency_of(risk_model, scenarios)  # one frequency, or an error naming both
    first = next(iter(models.values()))
    check_market(instruments, inputs.market_state)
    # an instrument may sit on a factor (an index future on the market factor): the
    # factor then becomes an asset of its own, with no specific risk
    named = {a for inst in instruments for a in inst.exposures(inputs.market_state)}
    on_factors = [f for f in first.factors if f in named and f not in first.assets]
    if on_factors:
        models = {k: m.with_factor_assets(on_factors) for k, m in models.items()}
        first = next(iter(models.values()))
    assets = first.assets
    for key, model in models.items():
        if not model.assets.equals(assets):
            raise MissingLabelsError(
                f"Risk model {key!r} has assets {format_labels(model.assets)}, unlike the first "
                f"({format_labels(assets)})."
            )
    weights = portfolio.weights
    unknown = portfolio.holdings.index.difference(assets)
    if len(unknown):
        raise MissingLabelsError(
            f"The portfolio holds {format_labels(unknown)}, which the risk model lacks "
            f"(its assets: {format_labels(assets)}). Add them to the risk model."
        )
    exposures, attributes = _instrument_tables(
        instruments, labels, assets, weights, inputs.market_state, portfolio.capital
    )
    book = weights.reindex(assets).fillna(0.0)
    if market is None:
        market = first.factors[0]
    elif market not in first.factors and market not in assets:
        raise MissingLabelsError(
            f"The 'market' argument {market!r} is neither a factor ({format_labels(first.factors)})"
            f" nor an asset of the risk model."
        )
    per_horizon = {k: _to_horizon(m, horizon) for k, m in models.items()}
    scenario_fields: dict[str, Any] = {}
    if scenarios is not None:
        missing = portfolio.holdings.index.difference(scenarios.returns.columns)
        if len(missing):
            raise MissingLabelsError(
                f"The scenarios lack holdings {format_labels(missing)} of the portfolio."
            )
        scenario_fields = {
            "scenario_book": book_pnl(
                scenarios.returns[weights.index].to_numpy(dtype=np.float64), weights.to_numpy()
            ),
            "scenario_pnl": scenario_matrix(
                instruments, scenarios, inputs.market_state, np.dtype(precision)
            ),
            "scenario_probabilities": scenarios.probability_array(),
            "scenario_index": scenarios.returns.index,
            "scenario_assets": scenarios.returns,
        }
    primary = next(iter(per_horizon.values()))
    return HedgeData(
        instruments=labels,
        assets=assets,
        book=book,
        exposures=exposures,
        attributes=attributes,
        current=by_instrument(inputs.current, labels, "current"),
        risk_models=per_horizon,
        horizon=horizon,
        market=market,
        expected_returns=inputs.expected_returns,
        objective_scale=_objective_scale(primary, book.to_numpy()),
        **scenario_fields,
    )


def scaled(data: HedgeData, objective: Any, values: Mapping[str, float]) -> HedgeData:
    """Return ``data`` with the objective scaled to order one (1 / its unhedged value).

    ``objective`` is the problem's Objective; its ``reference`` is the unhedged value.
    Without a positive one (costs only), the unhedged variance's scale is kept.
    """
    reference = objective.reference(data, values)
    if reference > 0 and np.isfinite(reference):
        return dataclasses.replace(data, objective_scale=1.0 / reference)
    return data


def _objective_scale(risk: RiskModel, w: np.ndarray) -> float:
    """1 / the unhedged book's variance (or the mean asset variance for an empty book)."""
    variance = risk.variance_in_asset_order(w)
    if not variance > 0:
        g, d = risk.root_factors()
        variance = float(np.mean(np.sum(g * g, axis=0) + d * d))
    return 1.0 / variance if variance > 0 else 1.0


def _warn_rank_deficient(scenarios: Scenarios) -> None:
    """Warn when the scenarios' covariance cannot be of full rank (too few scenarios).

    ``n`` scenarios give a covariance of rank at most ``n - 1``: with as many assets or
    more, some positions have zero variance on paper, and a variance hedge can "remove"
    risk that is only unmeasured.
    """
    n, k = scenarios.n_scenarios, scenarios.returns.shape[1]
    if n <= k:
        warnings.warn(
            f"The 'scenarios' argument holds {n} scenarios of {k} assets and no risk_model "
            f"was given: their covariance has rank at most {n - 1} < {k}, so some hedges "
            "have zero variance on paper and the volatility after the hedge understates the "
            f"risk. Pass a risk_model (e.g. a FactorModel's), or at least {k + 1} scenarios.",
            DataWarning,
            stacklevel=4,
        )

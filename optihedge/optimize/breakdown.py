"""Where a hedge result's risk comes from: attribution tables and the policy sentence.

A :class:`RiskInputs` keeps, by reference, the numbers a result was solved on (the risk
model over the horizon, the instruments' exposures, the book, the scenarios); the
functions here turn them and the positions into tables that add up (see
``optihedge.measures.contributions`` for the formulas).

Groupings (``by``):

- ``"factor"``: each risk-model factor, ``"specific"``, and for expected shortfall
  ``"non-linear"`` (what an option's or a daily-reset product's repriced P&L adds to
  its delta);
- ``"holding"``: each holding of the book, and ``"hedge"`` (every hedge position);
- ``"instrument"``: each holding and each hedge instrument (every position);
- ``"leg"``: ``"book"`` and each hedge instrument: the hedged book's risk split into the
  book and each hedge, the total being what is left.

Every row has one label: a holding, instrument or factor whose label is one of the
table's own rows (``"total"``, ``"hedge"``, ``"book"``, ``"specific"``,
``"non-linear"``, ``"other factors"``) or another row's label (a holding and an
instrument both called ``"SPY"``) in that table is shown as ``"<label> (holding)"``,
``"<label> (instrument)"`` or ``"<label> (factor)"``, listed in ``attrs["renamed"]``.
Every table's rows are checked, in the code, to sum to its ``total``: the result's own
volatility (``result.risk["volatility"]``) or scenario expected shortfall.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from constraints import FactorRisk
from optihedge._validation import check_option, format_labels
from optihedge.calendar import Frequency
from optihedge.errors import MissingLabelsError, SpecificationError
from optihedge.measures.contributions import (
    tail_summary,
    volatility_contributions,
    weighted_contributions,
)
from optihedge.measures.pnl import hedged_book, hedged_pnl

__all__ = ["GROUPINGS", "MEASURES", "RiskInputs", "attribute"]

GROUPINGS = ("factor", "holding", "instrument", "leg")
MEASURES = ("volatility", "expected_shortfall")


@dataclass(frozen=True)
class RiskInputs:
    """The numbers behind a result's risk, kept by reference (no copies).

    Attributes
    ----------
    risk : FactorRisk
        The primary risk model over the result's horizon.
    exposures : DataFrame (assets x instruments)
        Per unit of position (delta approximation).
    book : Series by asset
        The book's weights (fractions of capital).
    holdings : Index
        The book's holdings (assets with a weight).
    scenario_assets : DataFrame, optional
        Scenario returns by asset (the Scenarios' own frame).
    scenario_pnl : ndarray (n_scenarios, n_instruments), optional
        Each instrument's repriced return per unit of position in each scenario.
    scenario_book : ndarray (n_scenarios,), optional
        The book's return in each scenario.
    probabilities : ndarray, optional
    alpha : float
        Level of the scenario expected shortfall.
    attributes : DataFrame
        The instruments' per-unit attributes (premium, Greeks, ...).
    beta : (ndarray, float)
        The hedged book's beta to the market is ``beta[0] @ x + beta[1]``.
    """

    risk: FactorRisk
    exposures: pd.DataFrame
    book: pd.Series
    holdings: pd.Index
    scenario_assets: pd.DataFrame | None = None
    scenario_pnl: np.ndarray | None = None
    scenario_book: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    alpha: float = 0.95
    attributes: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    beta: tuple[np.ndarray, float] = (np.zeros(0), 0.0)

    @property
    def loadings(self) -> pd.DataFrame:
        """Loadings, assets x factors."""
        return self.risk.loadings

    @property
    def factor_cov(self) -> pd.DataFrame:
        """Factor covariance over the horizon."""
        return self.risk.factor_cov

    @property
    def specific_var(self) -> pd.Series:
        """Specific variance by asset over the horizon."""
        return self.risk.specific_var

    def factor_returns(self, rows: np.ndarray) -> np.ndarray:
        """Return the factor returns in scenario ``rows``.

        The scenarios' own columns where they hold every factor, else the
        cross-sectional GLS estimate from the assets they hold.
        """
        assert self.scenario_assets is not None
        factors = self.loadings.columns
        frame = self.scenario_assets
        if factors.isin(frame.columns).all():
            return tail_block(frame, rows, factors)
        common = self.loadings.index.intersection(frame.columns)
        b = self.loadings.loc[common].to_numpy()
        d = self.specific_var.reindex(common).to_numpy()
        w = 1.0 / np.maximum(d, 1e-12 * max(float(d.max()), 1e-300))
        r = tail_block(frame, rows, common)
        lhs = b.T @ (w[:, None] * b)
        solved = np.linalg.lstsq(lhs, (b.T * w) @ r.T, rcond=None)[0]
        return np.asarray(solved.T, dtype=np.float64)


def tail_block(frame: pd.DataFrame, rows: np.ndarray, labels: pd.Index) -> np.ndarray:
    """``frame.loc[rows, labels]`` as floats, copying only those cells.

    A frame of one float block (scenarios are) gives its values without a copy; only the
    tail rows of the wanted columns are then taken.
    """
    values = frame.to_numpy(dtype=np.float64, copy=False)
    cols = frame.columns.get_indexer(labels)
    if not values.flags.f_contiguous:
        out: np.ndarray = values[np.ix_(rows, cols)]
        return out
    # pandas keeps each column contiguous: gather the rows along runs of adjacent columns,
    # straight into a column-major result
    columns = values.T
    out = np.empty((len(rows), len(cols)), order="F")
    start = 0
    for run in np.split(cols, np.flatnonzero(np.diff(cols) != 1) + 1):
        if len(run):
            target = out.T[start : start + len(run)]
            np.take(columns[run[0] : run[-1] + 1], rows, axis=1, out=target)
            start += len(run)
    return out


class _Tail:
    """Tail rows of the scenarios (the union of the tails asked for), gathered once."""

    def __init__(self, frame: pd.DataFrame, rows: np.ndarray) -> None:
        self.frame, self.rows = frame, rows
        self._blocks: dict[tuple[Any, ...], np.ndarray] = {}

    def block(self, labels: pd.Index) -> np.ndarray:
        key = tuple(labels)
        if key not in self._blocks:
            self._blocks[key] = tail_block(self.frame, self.rows, labels)
        return self._blocks[key]


def _rows(
    inputs: RiskInputs, by: str, x: np.ndarray, factors: Sequence[Hashable] | None
) -> tuple[list[Any], np.ndarray]:
    """Labels and the asset-space position of each part (assets x parts) for ``by``."""
    assets = inputs.book.index
    w = inputs.book.to_numpy()
    e = inputs.exposures.to_numpy()
    held = assets.get_indexer(inputs.holdings)
    hedge = e * x  # each instrument's position in asset space
    book_col = w[:, None]
    if by == "holding":
        cols = np.zeros((len(assets), len(held)))
        cols[held, np.arange(len(held))] = w[held]
        return [*inputs.holdings, "hedge"], np.column_stack([cols, hedge.sum(axis=1)])
    if by == "instrument":
        cols = np.zeros((len(assets), len(held)))
        cols[held, np.arange(len(held))] = w[held]
        return [*inputs.holdings, *inputs.exposures.columns], np.column_stack([cols, hedge])
    return ["book", *inputs.exposures.columns], np.column_stack([book_col, hedge])


def _factor_groups(inputs: RiskInputs, factors: Sequence[Hashable] | None) -> list[Any]:
    names = list(inputs.loadings.columns)
    if factors is None:
        return names
    wanted = list(factors)
    repeated = [f for i, f in enumerate(wanted) if f in wanted[:i]]
    if repeated:
        raise SpecificationError(
            f"The 'factors' argument names {format_labels(list(dict.fromkeys(repeated)))} "
            "more than once; each factor is one row of the table (a repeated one would be "
            "counted twice). Name each factor once."
        )
    unknown = [f for f in wanted if f not in names]
    if unknown:
        raise MissingLabelsError(
            f"The 'factors' argument names {format_labels(unknown)}, which the risk model "
            f"lacks; its factors are {format_labels(names)}."
        )
    return wanted


def _fold(values: np.ndarray, names: list[Any], shown: list[Any]) -> tuple[list[Any], np.ndarray]:
    """Keep the ``shown`` factors, sum the rest into 'other factors'."""
    if shown == names:
        return names, values
    idx = [names.index(f) for f in shown]
    rest = np.delete(values, idx, axis=0)
    return [*shown, "other factors"], np.concatenate([values[idx], [rest.sum(axis=0)]])


def _volatility(
    inputs: RiskInputs, x: np.ndarray, by: str, factors: Sequence[Hashable] | None
) -> tuple[list[Any], np.ndarray]:
    b = inputs.loadings.to_numpy()
    f = inputs.factor_cov.to_numpy()
    d = inputs.specific_var.to_numpy()
    out = []
    for position in (np.zeros_like(x), x):
        labels, parts = _rows(inputs, by if by != "factor" else "leg", position, factors)
        got = volatility_contributions(parts, b, f, d)
        if by == "factor":
            names = list(inputs.loadings.columns)
            labels, values = _fold(
                np.asarray(got["by_factor"]), names, _factor_groups(inputs, factors)
            )
            labels = [*labels, "specific"]
            values = np.append(values, got["specific"])
        else:
            values = np.asarray(got["by_part"])
        out.append(values)
    return labels, np.column_stack(out)


def _shortfall(
    inputs: RiskInputs, x: np.ndarray, by: str, factors: Sequence[Hashable] | None
) -> tuple[list[Any], np.ndarray, np.ndarray, dict[str, float]]:
    if inputs.scenario_pnl is None or inputs.probabilities is None:
        raise SpecificationError(
            "Expected-shortfall attribution needs scenarios: solve the problem with "
            "scenarios=Scenarios(...), or use measure='volatility'."
        )
    assert inputs.scenario_assets is not None
    p = inputs.probabilities
    assert inputs.scenario_book is not None
    book_pnl = inputs.scenario_book
    columns, errors, totals = [], [], {}
    labels: list[Any] = []
    sides = {"before": np.zeros_like(x), "after": x}
    # the tails over the totals first, then the parts on their rows only
    summaries = {
        name: tail_summary(-hedged_pnl(book_pnl, inputs.scenario_pnl, position), p, inputs.alpha)
        for name, position in sides.items()
    }
    union = np.flatnonzero(sum(s["weights"] != 0 for s in summaries.values()))
    tail = _Tail(inputs.scenario_assets, union)
    for name, position in sides.items():
        summary = summaries[name]
        weights = summary["weights"][union]  # 0 on the rows of the other side's tail only
        pieces, labels = _scenario_parts(inputs, position, by, union, factors, book_pnl, tail)
        got = [weighted_contributions(values, weights, scale) for values, scale in pieces]
        columns.append(np.concatenate([g["contribution"] for g in got]))
        errors.append(np.concatenate([g["standard_error"] for g in got]))
        totals[name] = float(summary["es"])
        totals[f"{name}_se"] = float(summary["es_standard_error"])
    return labels, np.column_stack(columns), np.column_stack(errors), totals


Piece = tuple[np.ndarray, np.ndarray | float]


def _scenario_parts(
    inputs: RiskInputs,
    x: np.ndarray,
    by: str,
    rows: np.ndarray,
    factors: Sequence[Hashable] | None,
    book_pnl: np.ndarray,
    tail: _Tail,
) -> tuple[list[Piece], list[Any]]:
    """Split the P&L on the tail ``rows`` into pieces ``(matrix, column scale)``, labelled.

    A holding's P&L is its returns (the gathered block, not copied) times its weight.
    """
    assert inputs.scenario_assets is not None
    assert inputs.scenario_pnl is not None
    frame = inputs.scenario_assets
    hedge = inputs.scenario_pnl[rows] * x  # repriced, per instrument
    holdings = inputs.holdings
    if by == "leg":
        book = book_pnl[rows][:, None]
        return [(book, 1.0), (hedge, 1.0)], ["book", *inputs.exposures.columns]
    w = inputs.book.reindex(holdings).to_numpy()
    per_holding = (tail.block(holdings), w)
    if by == "holding":
        return [per_holding, (hedge.sum(axis=1)[:, None], 1.0)], [*holdings, "hedge"]
    if by == "instrument":
        return [per_holding, (hedge, 1.0)], [*holdings, *inputs.exposures.columns]
    # by factor: the delta position's factor and specific parts, the rest is non-linear
    delta = inputs.exposures.to_numpy() @ x
    z = hedged_book(inputs.book.to_numpy(), inputs.exposures.to_numpy(), x)
    # the assets the hedged book or the hedge's delta reads: a hedge that offsets a
    # holding exactly (z 0 there) still has its delta P&L on that asset
    support = np.flatnonzero((z != 0.0) | (delta != 0.0))
    assets = inputs.book.index[support]
    missing = assets.difference(frame.columns)
    if len(missing):
        raise MissingLabelsError(
            f"Attribution by factor needs the scenario returns of {format_labels(missing)} "
            "(the hedge's underlyings); the scenarios lack them."
        )
    r = tail.block(assets)
    linear = r @ z[support]
    f = inputs.factor_returns(rows)
    exposure = inputs.loadings.to_numpy().T @ z
    by_factor = f * exposure
    names = list(inputs.loadings.columns)
    shown = _factor_groups(inputs, factors)
    labels, folded = _fold(by_factor.T, names, shown)
    specific = linear - by_factor.sum(axis=1)
    # the book is linear; the hedge's repriced P&L beyond its delta is non-linear
    delta_pnl = r @ delta[support]
    nonlinear = hedge.sum(axis=1) - delta_pnl
    parts = np.column_stack([folded.T, specific, nonlinear])
    return [(parts, 1.0)], [*labels, "specific", "non-linear"]


_RTOL = 1e-9  # the rows of a table sum to its total within this relative tolerance


def _origins(
    inputs: RiskInputs, by: str, n_rows: int, factors: Sequence[Hashable] | None
) -> list[str | None]:
    """Return what each row of a table is: a holding, instrument or factor.

    ``None`` marks the table's own rows (``"hedge"``, ``"book"``, ``"specific"``, ...).
    """
    h, k = len(inputs.holdings), inputs.exposures.shape[1]
    if by == "holding":
        return [*["holding"] * h, None]
    if by == "instrument":
        return [*["holding"] * h, *["instrument"] * k]
    if by == "leg":
        return [None, *["instrument"] * k]
    shown = len(_factor_groups(inputs, factors))
    return [*["factor"] * shown, *[None] * (n_rows - shown)]


def _distinct(labels: list[Any], origins: list[str | None]) -> tuple[list[Any], dict[Any, Any]]:
    """Rename a user's label that is a reserved row or another row's label, visibly."""
    own = {label for label, origin in zip(labels, origins, strict=True) if origin is None}
    own.add("total")
    counts: dict[Any, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    out, renamed = [], {}
    for label, origin in zip(labels, origins, strict=True):
        if origin is not None and (label in own or counts[label] > 1):
            new = f"{label} ({origin})"
            renamed[new] = label
            label = new
        out.append(label)
    if len(set(out)) != len(out) or "total" in out:
        clash = sorted({str(label) for label in out if out.count(label) > 1} | {"total"} & set(out))
        raise SpecificationError(
            f"The attribution's rows would repeat the labels {clash} even after renaming "
            "colliding holdings, instruments or factors; give the instruments distinct labels."
        )
    return out, renamed


def _check_total(table: pd.DataFrame, totals: dict[str, float], measure: str) -> None:
    """Raise unless the rows of each side sum to that side's total (the result's figure)."""
    for side in ("before", "after"):
        rows = table[side].to_numpy(dtype=np.float64)
        got, want = float(rows.sum()), totals[side]
        scale = max(abs(want), float(np.abs(rows).sum()), 1e-300)
        if not abs(got - want) <= _RTOL * scale:
            raise RuntimeError(
                f"The {measure} attribution's rows sum to {got!r} {side} the hedge, not to the "
                f"result's own {measure} {want!r} (relative gap {abs(got - want) / scale:.2e}, "
                f"tolerance {_RTOL:g}); the table is not reported. Please report this with the "
                "problem that produced it."
            )


def _volatility_totals(inputs: RiskInputs, x: np.ndarray) -> dict[str, float]:
    """Return the result's own volatility before and after (as in ``result.risk``)."""
    w = inputs.book.to_numpy(dtype=np.float64)
    out = {}
    for side, z in (("before", w), ("after", hedged_book(w, inputs.exposures.to_numpy(), x))):
        out[side] = float(np.sqrt(max(inputs.risk.variance_in_asset_order(z), 0.0)))
    return out


def attribute(
    inputs: RiskInputs,
    x: np.ndarray,
    *,
    by: str,
    measure: str,
    factors: Sequence[Hashable] | None,
    horizon: int,
) -> pd.DataFrame:
    """Build the attribution table of a result (see ``HedgeResult.attribution``)."""
    check_option(by, "by", GROUPINGS)
    check_option(measure, "measure", MEASURES)
    if measure == "volatility":
        labels, values = _volatility(inputs, x, by, factors)
        errors = None
        totals = _volatility_totals(inputs, x)
    else:
        labels, values, errors, totals = _shortfall(inputs, x, by, factors)
    labels, renamed = _distinct(labels, _origins(inputs, by, len(labels), factors))
    index = pd.Index(labels, dtype=object, tupleize_cols=False)  # a tuple is one label
    table = pd.DataFrame(values, index=index, columns=["before", "after"])
    _check_total(table, totals, measure.replace("_", " "))
    table.loc["total"] = [totals["before"], totals["after"]]
    for col in ("before", "after"):
        denominator = totals[col]
        table[f"{col}_share"] = table[col] / denominator if denominator != 0 else np.nan
    if errors is not None:
        se = pd.DataFrame(errors, index=table.index[:-1], columns=["before_se", "after_se"])
        se.loc["total"] = [totals["before_se"], totals["after_se"]]
        table = table.join(se)
    table = table + 0.0
    table.attrs["measure"] = measure
    table.attrs["by"] = by
    table.attrs["renamed"] = renamed
    frequency = Frequency.parse(getattr(inputs.risk, "frequency", Frequency.DAILY))
    table.attrs["units"] = f"fraction of capital over {frequency.label(horizon)}"
    if measure == "expected_shortfall":
        n = 0 if inputs.probabilities is None else len(inputs.probabilities)
        table.attrs["estimator"] = (
            f"scenario expected shortfall at alpha={inputs.alpha:g} over {n} scenarios "
            "(Acerbi-Tasche: probability-weighted mean loss beyond the VaR, the VaR "
            "scenario weighted by its share of the boundary); contributions are each "
            "part's mean loss over those tail scenarios; *_se are large-sample standard "
            "errors"
        )
    else:
        table.attrs["estimator"] = (
            "Euler contributions to the volatility of the factor risk model (delta "
            "approximation for options)"
        )
    if by == "factor" and _assets_are_factors(inputs):
        table.attrs["note"] = ASSETS_AS_FACTORS_NOTE
    return table


#: Said (``attrs["note"]``) of a split by factor whose risk model has no factors beyond
#: the assets: one built from a covariance, as the problem builds it from the scenarios
#: when no risk model is given.
ASSETS_AS_FACTORS_NOTE = (
    "The risk model has no factors beyond the assets (each asset is its own factor: a "
    "model from a covariance, as the problem builds from the scenarios when no risk model "
    "is given), so this split by factor is a split by asset. For a split by factor, pass "
    "a factor risk model: HedgeProblem(..., risk_model=FactorModel(...).fit(asset_returns, "
    "factor_returns).risk_model_)."
)


def _assets_are_factors(inputs: RiskInputs) -> bool:
    """Whether the loadings are the identity with no specific risk (assets as factors)."""
    loadings = inputs.loadings
    return (
        loadings.shape[0] == loadings.shape[1]
        and loadings.index.equals(loadings.columns)
        and bool(np.array_equal(loadings.to_numpy(), np.eye(loadings.shape[0])))
        and bool((inputs.specific_var.to_numpy() == 0.0).all())
    )

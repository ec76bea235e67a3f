"""HedgeResult: the allocation, the hedged book, risk before and after, every limit's price.

A result is a value: :func:`make_result` builds it from explicit numbers (the problem's
data, the positions, the limit table, the objective's report); it never reads a problem,
so it pickles, travels between processes and compares by its numbers.

Numbers are shown as they can be acted on: positions below the solver's accuracy
(:data:`POSITION_TOLERANCE`) are exactly 0, the shadow price of a limit that does not
bind is exactly 0, and ``units_rounded`` gives whole contracts or shares.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from constraints import HedgeData
from optihedge._validation import check_scalar
from optihedge.calendar import TRADING_DAYS, Frequency
from optihedge.errors import SpecificationError
from optihedge.measures import pnl
from optihedge.measures.risk import expected_shortfall, parametric_es, parametric_var, value_at_risk
from optihedge.optimize import hooks
from optihedge.optimize.breakdown import RiskInputs, attribute
from optihedge.optimize.data import data_frequency

__all__ = ["POSITION_TOLERANCE", "HedgeResult", "make_result"]

#: Statuses of a solve whose positions can be explained and attributed.
SOLVED = ("optimal", "optimal_inaccurate")

#: Positions smaller than this (fraction of capital) are below the solver's accuracy
#: (Clarabel's default tolerances are 1e-8) and reported as exactly 0.
POSITION_TOLERANCE = 1e-8
_LEVELS = (0.95, 0.99)


@dataclass(frozen=True)
class HedgeResult:
    """The answer to a hedge problem, labelled. Fractions are of ``capital``.

    Attributes
    ----------
    weights : Series by instrument
        Positions x: signed notional as a fraction of the capital (0 below
        :data:`POSITION_TOLERANCE`).
    allocation : DataFrame by instrument
        ``weight``, ``notional`` (base currency), ``units`` (contracts or shares, exact),
        ``units_rounded`` (to whole contracts or shares: what can be traded),
        ``premium`` (paid up front; negative = received), ``annual_premium`` (the
        premium spread over each option's life, per year), ``delta_notional`` (net
        delta-adjusted exposure) and ``annual_carry`` (base currency per year; positive =
        a cost; an option's time decay, theta, included).
    exposures : DataFrame by asset
        The book (``before``) and the hedged book (``after``) on each risk-model asset,
        fractions of the capital (delta approximation for instruments).
    factor_exposures : DataFrame by factor
        The same on the risk model's factors (loadings times exposures).
    risk : DataFrame indexed by ("before", "after")
        ``volatility``, ``variance``, ``beta`` (to the problem's market), and normal
        ``var_95``, ``es_95``, ``var_99``, ``es_99`` with zero mean, all over ``horizon``
        periods as fractions of the capital (losses positive); ``attrs`` give the
        ``frequency``, the horizon in words (``"13 weeks"``) and in trading days. With expected
        returns also ``mean`` and ``var_95_with_mean`` ... ``es_99_with_mean`` (the
        normal distribution with that mean). With scenarios also ``scenario_var``,
        ``scenario_es`` (the scenarios as they are, their own mean included; at the
        objective's alpha, else 0.95; ``attrs["scenario_alpha"]``) and
        ``tail_scenarios`` (scenarios with a loss beyond the VaR).
    constraints : DataFrame by row label
        ``constraint``, ``value``, ``limit``, ``slack``, ``binding``,
        ``shadow_price`` (objective improvement per unit of relaxation of the limit
        alone, in the objective's units; 0 for a limit that does not bind),
        ``degenerate`` (relaxing gains less than tightening costs: the limit binds at a
        kink of the optimum), ``relaxing_gains`` (the shadow price) and
        ``tightening_costs`` (``inf`` when tightening leaves nothing feasible).
    status : str
    solver_stats : dict
    objective_value : float
    horizon : int
        Periods of ``frequency`` the risk is stated over.
    capital : float
        What the fractions are measured against, base currency.
    market : str
    notes : tuple of str
        What the user must know about this solve (e.g. a limit that limits nothing).
    scenario_returns : DataFrame by scenario, optional
        With scenarios: the book's return (``before``) and the hedged book's (``after``)
        in each scenario over the horizon, fractions of the capital.
    currency : str
    greeks : DataFrame indexed by ("before", "hedge", "after"), computed when first read
        In base currency: ``delta`` (beta-adjusted notional on the problem's market: P&L
        per 1.00 move of it), ``gamma_1pct`` (change of the currency delta per 1% move of
        each option's underlying, summed), ``vega_1pt`` (P&L per volatility point up,
        0.01) and ``theta_1d`` (P&L per trading day of time decay). The book's holdings
        are linear: its gamma, vega and theta are 0. A positive ``vega_1pt`` after the
        hedge means the hedged book is long volatility.
    risk_inputs : RiskInputs, optional
        The risk model, exposures and scenarios the result was solved on (references,
        not copies), for :meth:`attribution`, :meth:`explain` and :meth:`report`. A
        pickled result carries them (its scenarios included); :meth:`detached` drops
        them for a light copy.
    frequency : Frequency
        The data's frequency (of the risk model and scenarios solved on): what one
        period of ``horizon`` is, what the labels say ("13 weeks", "4-week volatility").
    """

    weights: pd.Series
    allocation: pd.DataFrame
    risk: pd.DataFrame
    constraints: pd.DataFrame
    status: str
    solver_stats: dict[str, Any]
    objective_value: float
    horizon: int
    capital: float
    market: str
    notes: tuple[str, ...] = field(default=())
    scenario_returns: pd.DataFrame | None = None
    currency: str = "USD"
    exposures: pd.DataFrame | None = None
    factor_exposures: pd.DataFrame | None = None
    risk_inputs: RiskInputs | None = field(default=None, repr=False, compare=False)
    frequency: Frequency = Frequency.DAILY

    @property
    def horizon_label(self) -> str:
        """The horizon in words: ``"21 trading days"``, ``"13 weeks"``, ``"3 months"``."""
        return self.frequency.label(self.horizon)

    @property
    def binding(self) -> list[str]:
        """Labels of the limits that bind at the optimum."""
        c = self.constraints
        return list(c.index[c["binding"] & ~c.index.str.startswith("whole_contracts")])

    def money(self, amount: float) -> str:
        """Format an amount of the base currency, e.g. ``USD 1,234,567``."""
        return f"{self.currency} {amount:,.0f}"

    def summary(self) -> str:
        """Plain language: what the hedge removes, what is left, what it costs, what binds."""
        before, after = self.risk.loc["before"], self.risk.loc["after"]
        beta = self.risk["beta"].to_numpy(dtype=np.float64)
        removed = abs(beta[0] - beta[1]) * self.capital  # a short book's hedge buys
        carry = float(self.allocation["annual_carry"].sum())
        premium = float(self.allocation["premium"].sum())
        protection = ""
        if premium != 0.0:
            yearly = float(self.allocation["annual_premium"].sum())
            protection = (
                f"; option premium {self.money(premium)} ({premium / self.capital:.2%} of "
                f"capital, {yearly / self.capital:.2%} a year over the options' lives)"
            )
        binds = ", ".join(self.binding) if self.binding else "no limit"
        verb = "bind" if len(self.binding) > 1 else "binds"
        text = (
            f"The hedge offsets {self.money(removed)} of exposure to {self.market} "
            f"(market beta of the book {before['beta']:.2f} -> {after['beta']:.2f} on "
            f"{self.money(self.capital)} of capital; "
            f"{self.frequency.adjective(self.horizon)} volatility "
            f"{before['volatility']:.2%} -> {after['volatility']:.2%}), at a carry of "
            f"{self.money(carry)} a year{protection}; {binds} {verb}."
        )
        return " ".join([text, *self.notes])

    def __str__(self) -> str:
        return self.summary()

    def detached(self) -> HedgeResult:
        """Return a copy without the risk inputs (light to pickle; no attribution, no report)."""
        return dataclasses.replace(self, risk_inputs=None)

    @functools.cached_property
    def greeks(self) -> pd.DataFrame | None:
        """Delta, gamma, vega and theta in currency: before, the hedge, after (see above)."""
        if self.risk_inputs is None:
            return None
        return _greeks_table(self.risk_inputs, self.weights.to_numpy(), self.capital)

    # ---------------------------------------------------------------- attribution
    def solved_inputs(self, what: str = "use") -> RiskInputs:
        """Return the risk inputs of a successful solve, or refuse with ``what`` in the message.

        The one check before anything is computed from this result (attribution, the
        policy sentence, the report): ``what`` is the verb the message uses
        (``"explain"``: "Cannot explain a result whose solve failed ...").

        Raises
        ------
        SpecificationError
            The solve failed (or its positions are not finite), or the result carries no
            risk inputs (:meth:`detached`, or not built by ``HedgeProblem.solve``).
        """
        if self.status not in SOLVED or not np.isfinite(self.weights.to_numpy()).all():
            raise SpecificationError(
                f"Cannot {what} a result whose solve failed (status {self.status!r}); fix the "
                "problem (see the error its solve raised) and solve again."
            )
        if self.risk_inputs is None:
            raise SpecificationError(
                f"Cannot {what} this result: it carries no risk inputs (it was not built by "
                "HedgeProblem.solve)."
            )
        return self.risk_inputs

    def attribution(
        self,
        by: str = "factor",
        measure: str = "volatility",
        *,
        factors: Sequence[Hashable] | None = None,
        alpha: float | None = None,
    ) -> pd.DataFrame:
        """Split the risk before and after the hedge into contributions that add up.

        Parameters
        ----------
        by : {"factor", "holding", "instrument", "leg"}
            ``"factor"``: each factor, ``"specific"`` and (expected shortfall)
            ``"non-linear"``, the part of repriced option or daily-reset P&L beyond
            delta; ``"holding"``: each holding and ``"hedge"``; ``"instrument"``: every
            holding and every hedge instrument; ``"leg"``: ``"book"`` and each hedge.
        measure : {"volatility", "expected_shortfall"}
            Euler contributions to the factor model's volatility (options by their
            delta), or to the scenario expected shortfall at the result's alpha
            (options and inverse ETFs by their repriced scenario P&L).
        factors : sequence of factor labels, optional
            With ``by="factor"``: the factors shown on their own rows (the rest are
            summed into ``"other factors"``).
        alpha : float, optional
            Level of the expected shortfall (the result's own by default: the
            objective's, else 0.95).

        Returns
        -------
        DataFrame
            Rows as above and ``"total"`` last; ``before`` and ``after`` (fractions of
            capital over ``horizon`` periods), ``before_share`` and ``after_share``
            (of the total); for expected shortfall also ``before_se`` and ``after_se``
            (standard errors). ``attrs`` name the estimator and units; with
            ``by="factor"`` and a risk model whose factors are its assets (the one a
            problem given only scenarios builds), ``attrs["note"]`` says that the split
            is by asset and to pass a factor risk model for a split by factor.

        Raises
        ------
        SpecificationError
            An unknown grouping or measure, a failed solve, expected shortfall without
            scenarios.
        MissingLabelsError
            A factor the risk model lacks.
        DataError
            A tail of fewer than one scenario.
        """
        inputs = self.solved_inputs("attribute")
        if alpha is not None:
            a = check_scalar(
                alpha, "alpha", lower=0.0, upper=1.0, lower_inclusive=False, upper_inclusive=False
            )
            inputs = dataclasses.replace(inputs, alpha=a)
        return attribute(
            inputs,
            self.weights.to_numpy(dtype=np.float64),
            by=by,
            measure=measure,
            factors=factors,
            horizon=self.horizon,
        )

    def explain(self, tolerance: float = 0.10) -> Any:
        """State the hedge policy in one sentence, with every number behind it.

        Same as ``optihedge.explain(result, tolerance)``
        (:func:`optihedge.analysis.explain.explain`, which returns an ``Explanation``):
        the analysis layer computes it, reached through :mod:`optihedge.optimize.hooks`.
        """
        return hooks.call("explain", self, tolerance)

    def report(
        self,
        path: str | Path,
        *,
        title: str | None = None,
        inputs: dict[str, str] | None = None,
        returns: pd.DataFrame | None = None,
    ) -> Path:
        """Write one self-contained HTML report of this hedge and return its path.

        Same as ``optihedge.report(result, path, ...)``
        (:func:`optihedge.analysis.report.report`), reached through
        :mod:`optihedge.optimize.hooks`: the result stays a plain value and the layers
        import one way.
        """
        out: Path = hooks.call("report", self, path, title=title, inputs=inputs, returns=returns)
        return out


def _normal_risk(vol: float, mean: float | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for a in _LEVELS:
        pct = round(a * 100)
        out[f"var_{pct}"] = parametric_var(0.0, vol, a)
        out[f"es_{pct}"] = parametric_es(0.0, vol, a)
    if mean is not None:
        out["mean"] = mean
        for a in _LEVELS:
            pct = round(a * 100)
            out[f"var_{pct}_with_mean"] = parametric_var(mean, vol, a)
            out[f"es_{pct}_with_mean"] = parametric_es(mean, vol, a)
    return out


def _risk_table(data: HedgeData, x: np.ndarray) -> pd.DataFrame:
    c, c0 = data.beta_coefficients(data.market)
    w = data.book.to_numpy()
    z = {"before": w, "after": pnl.hedged_book(w, data.exposures.to_numpy(), x)}
    beta = {"before": c0, "after": float(c @ x + c0)}
    mu = None
    if data.expected_returns is not None and data.assets.isin(data.expected_returns.index).all():
        mu = data.expected_returns.reindex(data.assets).to_numpy(dtype=np.float64)
    rows = []
    for name, position in z.items():
        variance = data.risk.variance_in_asset_order(position)
        vol = float(np.sqrt(max(variance, 0.0)))
        mean = None if mu is None else float(mu @ position)
        rows.append({"volatility": vol, "variance": variance, "beta": beta[name]})
        rows[-1] |= _normal_risk(vol, mean)
    risk = pd.DataFrame(  # one block: this runs on every solve of a sweep
        np.array([list(r.values()) for r in rows]), index=list(z), columns=list(rows[0])
    )
    frequency = data_frequency(data)
    risk.attrs["horizon_days"] = int(frequency.trading_days(data.horizon))
    risk.attrs["horizon"] = frequency.label(data.horizon)
    risk.attrs["frequency"] = str(frequency)
    risk.attrs["normal_var_es"] = "var_* / es_*: normal, zero mean" + (
        "; *_with_mean: normal with the expected returns' mean" if mu is not None else ""
    )
    return risk


def _scenario_risk(
    risk: pd.DataFrame,
    scenarios: pd.DataFrame,
    alpha: float,
    p: np.ndarray,
    after: tuple[float, float] | None = None,
) -> None:
    """Add scenario VaR, ES and tail size, before and after, to the risk table.

    ``after``: the hedged book's (VaR, ES) at ``alpha`` when already computed (a
    solution's), so the scenarios are not sorted twice.
    """
    for row in ("before", "after"):
        returns = scenarios[row].to_numpy()
        if row == "after" and after is not None:
            var, es = after
        else:
            var, es = value_at_risk(returns, alpha, p), expected_shortfall(returns, alpha, p)
        risk.loc[row, "scenario_var"] = var
        risk.loc[row, "scenario_es"] = es
        risk.loc[row, "tail_scenarios"] = float(np.count_nonzero(-returns > var))
    risk.attrs["scenario_alpha"] = alpha
    risk.attrs["n_scenarios"] = len(scenarios)


def _exposure_tables(data: HedgeData, x: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    w = data.book.to_numpy()
    after = pnl.hedged_book(w, data.exposures.to_numpy(), x)
    columns = ["before", "after"]
    assets = pd.DataFrame(np.column_stack([w, after]), index=data.assets, columns=columns)
    b = data.risk.loadings.to_numpy()
    factors = pd.DataFrame(
        np.column_stack([b.T @ w, b.T @ after]), index=data.risk.factor_cov.index, columns=columns
    )
    return assets, factors


def _greeks_table(inputs: RiskInputs, x: np.ndarray, capital: float) -> pd.DataFrame:
    c, c0 = inputs.beta

    def attribute(name: str) -> np.ndarray:
        if name in inputs.attributes.columns:
            return inputs.attributes[name].to_numpy(dtype=np.float64)
        return np.zeros(len(x))

    hedge = np.array(
        [
            float(c @ x),
            0.01 * float(attribute("gamma") @ x),
            0.01 * float(attribute("vega") @ x),
            float(attribute("theta") @ x) / TRADING_DAYS,
        ]
    )
    before = np.array([c0, 0.0, 0.0, 0.0])
    out = pd.DataFrame(
        capital * np.vstack([before, hedge, before + hedge]) + 0.0,
        index=["before", "hedge", "after"],
        columns=["delta", "gamma_1pct", "vega_1pt", "theta_1d"],
    )
    out.attrs["units"] = (
        "base currency: delta per 1.00 move of the market (beta-adjusted notional), gamma "
        "per 1% move, vega per volatility point, theta per trading day"
    )
    return out


def make_result(
    data: HedgeData,
    x: np.ndarray,
    *,
    limits: pd.DataFrame,
    objective_value: float,
    status: str,
    stats: dict[str, Any],
    capital: float,
    currency: str = "USD",
    scenario_alpha: float | None = None,
    notes: Sequence[str] = (),
    scenario_after: tuple[float, float] | None = None,
) -> HedgeResult:
    """Collect a solve's numbers into a HedgeResult.

    Parameters
    ----------
    data : HedgeData
        The numbers the problem was solved for.
    x : ndarray of shape (n_instruments,)
        The positions, in ``data.instruments`` order.
    limits : DataFrame
        The limit table (see ``optihedge.optimize.solve.limit_table``).
    objective_value : float
        Unscaled.
    capital, currency
        The book's capital (what fractions are of) and its currency.
    scenario_alpha : float, optional
        Level the scenario VaR and ES are stated at (0.95 when the objective has none).
    notes : sequence of str
        What the user must know about this solve.
    scenario_after : (float, float), optional
        The hedged book's scenario VaR and ES at that level, when already computed (a
        :class:`~optihedge.optimize.solution.Solution`'s); else computed here.
    """
    x = np.where(np.abs(x) < POSITION_TOLERANCE, 0.0, x) + 0.0  # no -0.0 either
    labels = data.instruments
    notional = x * capital
    units = pnl.units(x, data.attribute("contract_value"))
    carry = pnl.annual_carry(x, data.attribute("carry_long"), data.attribute("carry_short"))
    allocation = pd.DataFrame(
        np.column_stack(
            [
                x,
                notional,
                units,
                np.round(units) + 0.0,
                pnl.premium_paid(x, data.attribute("premium")) * capital,
                data.attribute("annual_premium") * notional,
                data.exposures.to_numpy().sum(axis=0) * notional,
                carry * capital,
            ]
        ),
        index=labels,
        columns=[
            "weight",
            "notional",
            "units",
            "units_rounded",
            "premium",
            "annual_premium",
            "delta_notional",
            "annual_carry",
        ],
    )
    risk = _risk_table(data, x)
    scenarios = None
    if data.scenario_book is not None and data.scenario_probabilities is not None:
        assert data.scenario_pnl is not None
        after = pnl.hedged_pnl(data.scenario_book, data.scenario_pnl, x)
        scenarios = pd.DataFrame(
            {"before": data.scenario_book, "after": after},
            index=data.scenario_index,
        )
        alpha = 0.95 if scenario_alpha is None else scenario_alpha
        _scenario_risk(risk, scenarios, alpha, data.scenario_probabilities, scenario_after)
    exposures, factor_exposures = _exposure_tables(data, x)
    return HedgeResult(
        weights=pd.Series(x, index=labels, name="weight"),
        allocation=allocation,
        risk=risk,
        constraints=limits,
        status=status,
        solver_stats=stats,
        objective_value=objective_value,
        horizon=data.horizon,
        frequency=data_frequency(data),
        capital=capital,
        market=str(data.market),
        notes=tuple(notes),
        scenario_returns=scenarios,
        currency=currency,
        exposures=exposures,
        factor_exposures=factor_exposures,
        risk_inputs=RiskInputs(
            risk=data.risk,
            exposures=data.exposures,
            book=data.book,
            holdings=data.book.index[data.book.to_numpy() != 0],
            scenario_assets=data.scenario_assets,
            scenario_pnl=data.scenario_pnl,
            scenario_book=data.scenario_book,
            probabilities=data.scenario_probabilities,
            alpha=0.95 if scenario_alpha is None else scenario_alpha,
            attributes=data.attributes,
            beta=data.beta_coefficients(data.market),
        ),
    )

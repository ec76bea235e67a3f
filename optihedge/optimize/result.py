"""HedgeResult: the allocation, the hedged book, risk before and after, every limit's price.

A result is a value: :func:`optihedge.optimize.assemble.make_result` builds it from
explicit numbers (the problem's data, the positions, the limit table, the objective's
report); it never reads a problem, so it pickles, travels between processes and compares
by its numbers. This module holds the value only (and the greeks it derives on demand);
``make_result`` is re-exported here, loaded on first use, for the callers of its old home.

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

from optihedge._validation import check_scalar
from optihedge.calendar import TRADING_DAYS, Frequency
from optihedge.errors import SpecificationError
from optihedge.optimize import hooks
from optihedge.optimize.breakdown import RiskInputs, attribute

__all__ = ["POSITION_TOLERANCE", "HedgeResult"]

#: Statuses of a solve whose positions can be explained and attributed.
SOLVED = ("optimal", "optimal_inaccurate")

#: Positions smaller than this (fraction of capital) are below the solver's accuracy
#: (Clarabel's default tolerances are 1e-8) and reported as exactly 0.
POSITION_TOLERANCE = 1e-8


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

    def stress(self, book: Any, instruments: Any, **kwargs: Any) -> Any:
        """Stress this hedge through historical windows and shocks, leg by leg.

        Same as ``optihedge.stress_test(book, instruments, result.weights,
        market=result.market, **kwargs)`` (:func:`optihedge.analysis.stress.stress_test`,
        which returns a ``StressReport``), reached through :mod:`optihedge.optimize.hooks`.
        """
        return hooks.call("stress", self, book, instruments, **kwargs)


def _greeks_table(inputs: RiskInputs, x: np.ndarray, capital: float) -> pd.DataFrame:
    c, c0 = inputs.beta

    def attribute(name: str) -> np.ndarray:
        # constraints.ATTRIBUTES lists gamma, vega and theta: every table has them
        return inputs.attributes[name].to_numpy(dtype=np.float64)

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

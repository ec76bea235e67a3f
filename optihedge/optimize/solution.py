"""One solve's answer as a value: weights, status, objective, limits, statistics, the row.

:meth:`HedgeProblem.solve_point <optihedge.optimize.problem.HedgeProblem.solve_point>`
returns a :class:`Solution` without building a :class:`~optihedge.optimize.result.HedgeResult`
(no allocation, exposure or scenario tables): what a sweep point or a backtest step
needs, read cheaply. Its numbers are computed by the same functions as the result's
(``measures.pnl``, ``measures.risk``, ``optimize.solve.limit_frame``), so the two agree
to the bit; :meth:`Solution.record` is the sweep's row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from optihedge.measures import pnl
from optihedge.optimize.solve import limit_frame
from optihedge.optimize.terms import TermReport

__all__ = ["LimitNumbers", "Solution", "SolveStats"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
#: the statistics SolveStats holds as attributes (the others stay in ``details``)
_TYPED = frozenset(
    {
        "solver",
        "solve_time",
        "num_iters",
        "setup_time",
        "compilation_time",
        "refinements",
        "rebuilds",
        "canonicalisation",
        "slope_resolves",
        "shortfall_method",
        "whole_contracts_method",
        "certified",
        "certificate_gap",
        "accuracy",
    }
)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class SolveStats:
    """What the solver did: typed figures of one solve.

    Attributes
    ----------
    solver : str
        The solver that answered (cvxpy's spelling, ``"CLARABEL"``, ``"DAQP"`` ...).
    solve_time : float
        The solver's own time in seconds; ``nan`` when it reports none.
    iterations : int, optional
        The solver's iteration count, when it reports one.
    setup_time, compilation_time : float, optional
        The solver's setup time and cvxpy's compilation time, seconds, when reported.
    refinements : int
        Re-solves an iterative objective asked for within the solve.
    rebuilds : int
        Times the compiled problem was rebuilt (a term outgrew its capacity).
    canonicalisation : str
        ``"dpp"`` (parameters kept) or ``"constants"``; empty when not reported.
    slope_resolves : int
        Re-solves that measured the binding limits' one-sided slopes (0 where the
        multipliers were certified unique and none was needed: then
        ``details["slopes_certified"]`` is True).
    shortfall_method : str, optional
        How an expected-shortfall objective was solved (``"active_set"``,
        ``"cutting_plane"``, ``"lp"``).
    whole_contracts_method : str, optional
        ``"mip"`` or ``"rounding_search"`` when whole contracts were asked for.
    certified : bool, optional
        Cutting planes: whether the certificate (bounds within tolerance) was reached.
    certificate_gap : float, optional
        Cutting planes: upper minus lower bound of the optimum, in the objective's units.
    accuracy : str, optional
        The solver's warning of an inaccurate answer, as the result's notes say it.
    details : mapping
        Every other figure the solve and the objective's terms reported, by name
        (read-only).
    """

    solver: str = ""
    solve_time: float = math.nan
    iterations: int | None = None
    setup_time: float | None = None
    compilation_time: float | None = None
    refinements: int = 0
    rebuilds: int = 0
    canonicalisation: str = ""
    slope_resolves: int = 0
    shortfall_method: str | None = None
    whole_contracts_method: str | None = None
    certified: bool | None = None
    certificate_gap: float | None = None
    accuracy: str | None = None
    details: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_stats(
        cls, stats: Mapping[str, Any], report: TermReport | Mapping[str, Any] = _EMPTY
    ) -> SolveStats:
        """Type a solve's statistics and its objective's report.

        Parameters
        ----------
        stats : mapping
            The solve's statistics (``solver``, ``solve_time``, ``num_iters`` ...).
        report : TermReport or mapping, optional
            The objective's :class:`~optihedge.optimize.terms.TermReport` (or the older
            string-keyed dict: ``shortfall_method``, ``certified`` ...).
        """
        if not isinstance(report, TermReport):
            report = TermReport.from_dict(report)
        iterations = stats.get("num_iters")
        certified = report.certified
        return cls(
            solver=str(stats.get("solver", "")),
            solve_time=float(stats.get("solve_time") or math.nan),
            iterations=None if iterations is None else int(iterations),
            setup_time=_number(stats.get("setup_time")),
            compilation_time=_number(stats.get("compilation_time")),
            refinements=int(stats.get("refinements", 0)),
            rebuilds=int(stats.get("rebuilds", 0)),
            canonicalisation=str(stats.get("canonicalisation", "")),
            slope_resolves=int(stats.get("slope_resolves", 0)),
            shortfall_method=report.shortfall_method,
            whole_contracts_method=stats.get("whole_contracts_method"),
            certified=None if certified is None else bool(certified),
            certificate_gap=_number(report.certificate_gap),
            accuracy=stats.get("accuracy"),
            details=MappingProxyType(
                {k: v for k, v in {**report.as_dict(), **stats}.items() if k not in _TYPED}
            ),
        )


@dataclass(frozen=True, eq=False)
class LimitNumbers:
    """Every limit row's numbers after a solve, in the limit table's order.

    Attributes
    ----------
    names : tuple of str
        Row labels (``"gross_exposure.max"``, a per-instrument row's label ...).
    owners : tuple of str
        The repr of the constraint each row belongs to.
    numbers : ndarray of shape (n_rows, 4)
        ``value``, ``limit``, ``slack`` and ``shadow_price`` (what relaxing the limit
        gains per unit, in the objective's units; 0 where it does not bind). Read-only.
    binding : ndarray of bool
        Read-only.
    tightening : mapping of str to float
        What tightening costs per unit, for the degenerate rows only (where it differs
        from what relaxing gains: the limit binds at a kink of the optimum).
    """

    names: tuple[str, ...]
    owners: tuple[str, ...]
    numbers: np.ndarray
    binding: np.ndarray
    tightening: Mapping[str, float]

    def table(self) -> pd.DataFrame:
        """Return the limit table, as ``HedgeResult.constraints`` holds it."""
        return limit_frame(self.names, self.owners, self.numbers, self.binding, self.tightening)


@dataclass(frozen=True, eq=False)
class Solution:
    """One solve's answer, light: what a sweep point or a backtest step reads.

    Built by :meth:`HedgeProblem.solve_point`; a value (frozen, read-only arrays).

    Attributes
    ----------
    instruments : Index
        Instrument labels, in the order of ``positions``.
    positions : ndarray
        Signed positions, fractions of the capital; exactly 0 below the result's
        position tolerance (as ``HedgeResult.weights``). Read-only.
    status : str
        The solver's status (``"optimal"``, ``"optimal_inaccurate"``).
    objective : float
        The objective's value at the answer, in its own units (unscaled).
    volatility, beta : float
        The hedged book's volatility over the horizon and beta to the problem's market
        (as ``HedgeResult.risk.loc["after"]``).
    premium, annual_carry : float
        Base currency: option premium paid and carry per year, summed over instruments.
    turnover : float
        Sum of absolute trades from the current positions, fractions of the capital.
    scenario_var, scenario_es : float, optional
        With scenarios: the hedged book's scenario VaR and ES at ``scenario_alpha``.
    scenario_alpha : float, optional
        The objective's alpha, else 0.95; None without scenarios.
    limits : LimitNumbers
        The limit rows with their shadow prices; :attr:`constraints` is the table.
    stats : SolveStats
        What the solver did.
    contract_values : ndarray
        One contract's (or unit's) value of each instrument, a fraction of the capital
        (read-only): :attr:`units` divides by it.
    """

    instruments: pd.Index
    positions: np.ndarray
    status: str
    objective: float
    volatility: float
    beta: float
    premium: float
    annual_carry: float
    turnover: float
    limits: LimitNumbers
    stats: SolveStats
    contract_values: np.ndarray
    scenario_var: float | None = None
    scenario_es: float | None = None
    scenario_alpha: float | None = None

    @property
    def weights(self) -> pd.Series:
        """Positions by instrument label, fractions of the capital (a new Series)."""
        return pd.Series(self.positions, index=self.instruments, name="weight")

    @property
    def units(self) -> pd.Series:
        """Contracts (or shares) by instrument label: the notional over one contract's value.

        The same function as ``HedgeResult.allocation["units"]`` and the sweep's weights
        table (``measures.pnl.units``), so the three agree to the bit.
        """
        values = pnl.units(self.positions, self.contract_values)
        return pd.Series(values, index=self.instruments, name="units")

    @property
    def constraints(self) -> pd.DataFrame:
        """The limit table, as ``HedgeResult.constraints`` (built when read)."""
        return self.limits.table()

    @property
    def binding(self) -> list[str]:
        """Labels of the limit rows that bind."""
        return [n for n, b in zip(self.limits.names, self.limits.binding, strict=True) if b]

    @property
    def warning(self) -> str:
        """What makes this answer less than exact, in words; empty when nothing does.

        An expected shortfall whose certificate was not reached (its bounds' gap), or the
        solver's warning of an inaccurate answer. A certified answer has none: its bounds
        were checked on the answer itself, whatever an earlier master solve reported. A
        sweep's ``message`` column.
        """
        stats = self.stats
        if stats.certified:
            return ""
        if stats.certified is False:
            gap = stats.certificate_gap
            within = "" if gap is None else f" (within {gap:.3g} of the optimum)"
            return (
                f"The {stats.shortfall_method} certificate was not reached: the expected "
                f"shortfall is not certified optimal{within}."
            )
        return stats.accuracy or ""

    def record(self) -> dict[str, Any]:
        """Return the sweep's row of this solve: plain numbers, flags and text by column.

        ``status``, ``objective``, ``volatility``, ``beta``, ``premium``,
        ``annual_carry``, ``turnover``, ``binding`` (the binding rows, comma-separated);
        with scenarios ``scenario_var``, ``scenario_es`` and, for an expected-shortfall
        objective, ``shortfall_method`` and, for its certified methods, ``certified``;
        for each limit row ``shadow_price[...]``,
        ``shadow_degenerate[...]`` and ``shadow_tightening[...]``; then ``rebuilds``,
        ``solver`` and ``solver_time``. The positions are not in the row (see
        :attr:`positions`).
        """
        limits = self.limits
        row: dict[str, Any] = {
            "status": self.status,
            "objective": self.objective,
            "volatility": self.volatility,
            "beta": self.beta,
            "premium": self.premium,
            "annual_carry": self.annual_carry,
            "turnover": self.turnover,
            "binding": ", ".join(self.binding),
        }
        if self.scenario_var is not None:
            row["scenario_var"] = self.scenario_var
            row["scenario_es"] = self.scenario_es
            if self.stats.shortfall_method is not None:
                row["shortfall_method"] = self.stats.shortfall_method
            if self.stats.certified is not None:
                row["certified"] = self.stats.certified
        tightening = limits.tightening
        for name, price in zip(limits.names, limits.numbers[:, 3], strict=True):
            row[f"shadow_price[{name}]"] = float(price)
            row[f"shadow_degenerate[{name}]"] = name in tightening
            row[f"shadow_tightening[{name}]"] = tightening.get(name, float(price))
        row["rebuilds"] = self.stats.rebuilds
        row["solver"] = self.stats.solver
        row["solver_time"] = self.stats.solve_time
        return row

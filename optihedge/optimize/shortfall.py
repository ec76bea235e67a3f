r"""The expected-shortfall objective (Rockafellar-Uryasev), exact and fast.

.. math::
    \mathrm{ES}_\alpha(x) = \min_\zeta \; \zeta + \frac{1}{1-\alpha}
    \sum_s p_s \big(L_s(x) - \zeta\big)_+, \qquad L_s(x) = -(b_s + G_s x)

with :math:`b_s` the book's return and :math:`G_s` the instruments' returns per unit of
x in scenario s (fractions of the book's value over the horizon).

**Exact scenario active set** (``method="active_set"``). The LP keeps K
scenario slots whose numbers are Parameters, so it is compiled once. It starts from the
worst scenarios under a rough first hedge (least squares of the book on the
instruments), solves, then checks every scenario. In the first rounds the slots are
re-filled with the worst K scenarios under the new hedge; after that a scenario outside
the slots whose loss exceeds :math:`\zeta^*` is swapped in for one whose loss is below
:math:`\zeta^*` (its term is zero, so dropping it leaves the restricted optimum
unchanged, and the restricted optimum can only rise: the loop terminates). When no
scenario outside the slots has a loss above :math:`\zeta^*`, every omitted term is zero
at :math:`(x^*, \zeta^*)`, so the restricted optimum is the full optimum: exact, not
approximate. ``method="lp"`` solves the plain LP over all
scenarios, the reference the tests compare against.

**Cutting planes** (``method="cutting_plane"``, ``optihedge.optimize.cutting``): one
pass over the scenarios per iteration and a master of the positions' size, stopped by a
certificate (lower and upper bounds within 1e-9 relative), so the work grows linearly
with the scenario count where the active set's slots grow with the tail.
**Band** (``method="band"``, ``optihedge.optimize.band``): the active set's LP with the
scenarios far above the VaR aggregated into one linear term and those far below
dropped, so its slots hold only a band around the VaR (2,016 at 100 instruments and
1,000,000 scenarios, where the active set holds 105,000), started on subsamples a tenth
the size; exact and certified like the others, and answered by HiGHS's simplex on the
LP's dual (``optimize.dual_lp``: exact vertices where an interior point's answer is too
inexact for the certificate, in a basis of the instrument count).
``method="auto"`` (the default) chooses by the crossovers ``benchmarks/bench_auto.py``
measures (cold, build included): whole contracts, the active set; up to
:data:`AUTO_PLANES_INSTRUMENTS` instruments, cutting planes from
:func:`auto_scenarios` scenarios up (at least ``AUTO_FLOOR``); up to
:data:`AUTO_INSTRUMENTS`, the band from :data:`AUTO_BAND_SCENARIOS` scenarios up; beyond
that many instruments, the band at every scenario count; the active set otherwise. In a
sweep, the cutting planes up to :data:`AUTO_SWEEP_PLANES_INSTRUMENTS` instruments (their
planes carry from point to point), the band beyond (it starts each point from the last
one's band); measured with positions bounded and not (``bench_auto.py --sweep``). Whole
contracts or a ``capacity``: the active set; a quadratic term beside (no band): see
:meth:`ExpectedShortfall.chosen_method`. The result states the method.

The slots, the active set and its warm start belong to the compiled term of one problem
(:class:`_ActiveSet`), never to the :class:`ExpectedShortfall` description. When the
active set outgrows its slots, the compiled term asks the problem for a rebuild with
more (:class:`constraints.RebuildRequired`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import cvxpy as cp
import numpy as np

from constraints import HedgeContext, HedgeData, ParameterSpec, RebuildRequired
from optihedge.errors import DataError, SpecificationError
from optihedge.measures.contributions import check_tail
from optihedge.measures.pnl import hedged_pnl
from optihedge.measures.risk import expected_shortfall, tail_rows
from optihedge.optimize.band import (
    BAND_HIGHS_SETTINGS,
    BAND_SLOTS_OPTION,
    BAND_WARM_OPTION,
    ScenarioBand,
    band_slots,
)
from optihedge.optimize.cutting import CERTIFICATE_SETTINGS, FALLBACK_OPTION, CuttingPlanes
from optihedge.optimize.dual_lp import HIGHS_DUAL
from optihedge.optimize.objective import QUADRATIC_OPTION, SWEEP_OPTION, Objective
from optihedge.optimize.terms import CompiledTerm, Difference, TermReport

__all__ = [
    "AUTO_BAND_SCENARIOS",
    "AUTO_CROSSOVER",
    "AUTO_FLOOR",
    "AUTO_INSTRUMENTS",
    "AUTO_PLANES_INSTRUMENTS",
    "AUTO_QUADRATIC_SWEEP_PLANES_INSTRUMENTS",
    "AUTO_SCENARIOS",
    "AUTO_SWEEP_PLANES_INSTRUMENTS",
    "ExpectedShortfall",
    "auto_scenarios",
]

Method = Literal["auto", "active_set", "band", "cutting_plane", "lp"]
_METHODS = ("auto", "active_set", "band", "cutting_plane", "lp")
#: ``method="auto"`` takes cutting planes from ``AUTO_CROSSOVER * n ** 1.5`` scenarios up
#: for ``n`` instruments (measured cold, build included, by ``benchmarks/bench_auto.py``:
#: parity near 5,000 scenarios at 5 instruments, 10,000-20,000 at 10, 20,000-50,000 at
#: 20, 50,000 at 30, 100,000-200,000 at 50) ...
AUTO_CROSSOVER = 330.0
#: ... and never below this many (at 2-5 instruments and a few thousand scenarios the two
#: methods take the same few tens of milliseconds, the active set ahead by up to 1.2x)
AUTO_FLOOR = 6_000
#: ... for at most this many instruments (above it the band is as fast or faster: 8 x
#: 20,000, band 0.10 s, planes 0.13 s; 10 x 20,000, 0.11 s against 0.15 s; 20 x
#: 100,000, 0.53 s against 0.59 s; 30 x 200,000, 1.3 s against 1.9 s; below it the
#: planes lead: 5 x 20,000, 0.07 s against the band's 0.10 s)
AUTO_PLANES_INSTRUMENTS = 5
#: the largest instrument count at which ``auto`` takes the active set for few scenarios
#: (above it the band at every scenario count: 100 x 1,000, the active set 1.8 s against
#: 0.3 s; 100 x 5,000, 1.7 s against 1.0 s)
AUTO_INSTRUMENTS = 50


#: in a sweep, the cutting planes up to this many instruments, the band beyond (10 points
#: of alpha, best of 8: 1 x 5,000 the planes 0.05 s against the band's 0.16 s; 2 x 2,000,
#: 0.07 s against 0.10 s; 2 x 20,000, 0.14 s against 0.17 s; at 3 to 5 instruments within
#: 1.1x of each other; 10 x 20,000, 0.53 s against 0.32 s; 50 x 5,000, 46 s against 0.77 s)
AUTO_SWEEP_PLANES_INSTRUMENTS = 2
#: in a sweep of an objective with a quadratic term (no band), the cutting planes up to
#: this many instruments, the active set beyond (10 points of alpha, ``0.5 * Variance()``
#: beside, best of 2: 20 x 10,000 the planes 1.8 s against 6.5 s; 30 x 10,000, 5.6 s
#: against 7.6 s; 40 x 10,000, 14.7 s against 15.8 s; 50 x 5,000, 26 s against 6.5 s)
AUTO_QUADRATIC_SWEEP_PLANES_INSTRUMENTS = 40


def auto_scenarios(n_instruments: int) -> int:
    """Return the scenario count from which cutting planes beat the active set.

    ``max(AUTO_FLOOR, ceil(AUTO_CROSSOVER * n_instruments ** 1.5))``; ``method="auto"``
    takes them from there for at most :data:`AUTO_PLANES_INSTRUMENTS` instruments and
    without whole contracts.
    """
    if isinstance(n_instruments, bool) or not isinstance(n_instruments, int) or n_instruments < 1:
        raise SpecificationError(
            f"The 'n_instruments' argument of auto_scenarios must be an int >= 1 (the hedge "
            f"instruments of the problem). Got {n_instruments!r}."
        )
    return max(AUTO_FLOOR, math.ceil(AUTO_CROSSOVER * math.pow(n_instruments, 1.5)))


#: Between :data:`AUTO_PLANES_INSTRUMENTS` and :data:`AUTO_INSTRUMENTS` instruments
#: ``method="auto"`` takes the band from this many scenarios up, the active set below
#: (measured cold by ``benchmarks/bench_auto.py``: 10 x 10,000, active set 0.100 s, band
#: 0.095 s; 20 x 10,000, 0.12 s against 0.18 s; 20 x 20,000, 0.23 s against 0.20 s;
#: 50 x 10,000, 0.33 s against 0.30 s; 50 x 20,000, 0.75 s against 0.34 s)
AUTO_BAND_SCENARIOS = 15_000

#: From this many scenarios up ``method="auto"`` takes cutting planes at every instrument
#: count it allows them (``auto_scenarios(AUTO_PLANES_INSTRUMENTS)``, 6,000)
AUTO_SCENARIOS = auto_scenarios(AUTO_PLANES_INSTRUMENTS)


_MIN_SLOTS = 256
_RESELECT_ROUNDS = 3  # then only swap violators in, which terminates monotonically
_ALPHA = "expected_shortfall.alpha"
CAPACITY_OPTION = "expected_shortfall.capacity"
WARM_OPTION = "expected_shortfall.warm_start"  # (n_scenarios, hedge, scenarios needed)
_HEADROOM = 0.10  # slots beyond what the tail needs: growth is a recompile and re-solve
#: a loss this close to the VaR (relative to ``max(1, |loss|)``), yet not tied with it,
#: leaves unclear which scenarios are tied there (``tied_rows``)
PIECE_MARGIN = 1e-7


def _arrays(data: HedgeData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if data.scenario_book is None or data.scenario_pnl is None:
        raise SpecificationError(
            "ExpectedShortfall needs scenarios: pass scenarios=Scenarios(...) to the problem."
        )
    p = data.scenario_probabilities
    assert p is not None
    return data.scenario_book, data.scenario_pnl, p


def _same_scenarios(old: HedgeData, new: HedgeData) -> bool:
    """Whether the instruments' scenario P&L is the last solve's (its active set still fits).

    New scenarios of the same count (a backtest's next date) make the last active set's
    indices name unrelated scenarios: started from them, the active set outgrows its slots
    and the problem rebuilds larger, for good. They start from fresh slots instead.
    """
    a, b = old.scenario_pnl, new.scenario_pnl
    if a is b:
        return True
    return a is not None and b is not None and a.shape == b.shape and np.array_equal(a, b)


def _check_tail(alpha: float, p: np.ndarray) -> None:
    """Refuse a tail of less than one scenario (an optimizer's alpha: a SpecificationError)."""
    try:
        check_tail(alpha, p)
    except DataError as exc:
        raise SpecificationError(str(exc)) from None


class ExpectedShortfall(Objective):
    """Expected shortfall of the hedged book over the scenarios, at level ``alpha``.

    Parameters
    ----------
    alpha : float, default 0.95
        Confidence level in [0.5, 1) (0.975: the worst 2.5% averaged). Parameter
        ``"expected_shortfall.alpha"``.
    method : {"auto", "active_set", "band", "cutting_plane", "lp"}, default "auto"
        Exact scenario active set, a band of scenarios around the VaR (exact, for many
        instruments), cutting planes to a certificate, or the plain LP over all
        scenarios; ``"auto"`` chooses by the scenario and instrument counts and
        whole contracts (see the module). The result's ``solver_stats`` state the
        method used (``"shortfall_method"``).
    precision : {"float64", "float32"}, default "float64"
        The dtype the instruments' scenario P&L is held in (once). ``"float32"`` halves
        its memory (a million scenarios x 20 instruments: 80 MB instead of 160 MB) and
        rounds it to about 7 significant digits: the optimum and the certificate are then
        those of the rounded scenarios.
    capacity : int, optional
        Scenario slots of the active-set LP (never fewer than the tail needs); twice the
        tail plus 10% by default; given, ``method="auto"`` takes the active set. With
        ``method="band"``: the band's slots (``band_slots`` by default). If the
        active set outgrows them, the problem rebuilds with what it needed plus 10%,
        warm-started from where it stopped.
    weight : float, default 1.0
    """

    key: ClassVar[str] = "expected_shortfall"
    needs_scenarios: ClassVar[bool] = True

    def __init__(
        self,
        alpha: float = 0.95,
        *,
        method: Method = "auto",
        capacity: int | None = None,
        weight: float = 1.0,
        precision: Literal["float64", "float32"] = "float64",
    ) -> None:
        super().__init__(weight)
        self.alpha = self._spec_alpha(alpha).check(alpha)
        if method not in _METHODS:
            raise SpecificationError(
                f"The 'method' parameter of ExpectedShortfall must be one of {list(_METHODS)}. "
                f"Got {method!r} instead."
            )
        self.method = method
        if precision not in ("float64", "float32"):
            raise SpecificationError(
                "The 'precision' parameter of ExpectedShortfall must be 'float64' or "
                f"'float32'. Got {precision!r} instead."
            )
        self.precision = precision
        if capacity is not None and (
            isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1
        ):
            raise SpecificationError(
                f"The 'capacity' parameter of ExpectedShortfall must be an int >= 1. "
                f"Got {capacity!r} instead."
            )
        self.capacity = capacity

    @staticmethod
    def _spec_alpha(alpha: float) -> ParameterSpec:
        return ParameterSpec(
            _ALPHA,
            alpha,
            lower=0.5,
            upper=1.0,
            upper_open=True,
            description="confidence level of the expected shortfall",
            hint=(
                "alpha is a confidence level, such as 0.95 or 0.975: the tail averaged is "
                "the worst 1 - alpha of the scenarios (for a 2.5% tail pass 0.975)."
            ),
        )

    def parameters(self) -> tuple[ParameterSpec, ...]:
        """Return the confidence level and the weight."""
        return (self._spec_alpha(self.alpha), *super().parameters())

    def reference(self, data: HedgeData, values: Mapping[str, float]) -> float:
        """Return the expected shortfall of the unhedged book (scales the objective)."""
        book, _, p = _arrays(data)
        return self._weight(values) * expected_shortfall(book, values[_ALPHA], p)

    def _build_planes(self, ctx: HedgeContext) -> CompiledTerm:
        n = len(ctx.instruments)
        # room for three planes a position: fewer slots evict planes a cold solve still
        # needs (20 x 1,000,000: 193 iterations with two, 107 with three); a sweep's
        # points take few iterations each on a smaller, cheaper master (7x against 9x
        # one cold active-set solve for a 50-point sweep at 20 x 20,000)
        per = 2 if ctx.options.get(SWEEP_OPTION) else 3
        planes = CuttingPlanes(
            ctx, self.alpha, self.weight, slots=max(32, per * (n + 1)), auto=self.method == "auto"
        )
        return _CompiledPlanes(self, planes)

    def _slots(self, p: np.ndarray, alpha: float, options: Mapping[str, Any], method: str) -> int:
        """Slots of the restricted LP: at least enough to hold the tail's probability.

        Fewer slots than the smallest number of scenarios whose probabilities reach
        ``1 - alpha`` would leave the restricted LP unbounded (its VaR level would run
        to minus infinity), whatever capacity was asked for.
        """
        n = len(p)
        if method == "lp":
            return n
        floor = min(n, int(np.searchsorted(np.cumsum(np.sort(p)), 1.0 - alpha)) + 2)
        capacity = options.get(CAPACITY_OPTION, self.capacity)
        if capacity is not None:
            return min(n, max(int(capacity), floor))
        tail = math.ceil((1.0 - alpha) * n)
        return min(n, max(_MIN_SLOTS, floor, 2 * tail + max(100, int(_HEADROOM * tail))))

    def scenario_precision(self) -> str:
        """Return the dtype the scenario P&L is held in (``precision``)."""
        return self.precision

    def chosen_method(
        self,
        n_scenarios: int,
        n_instruments: int,
        exact_integer: bool,
        sweep: bool = False,
        quadratic: bool = False,
    ) -> str:
        """Return the method ``"auto"`` resolves to (or the one forced).

        See the module for the rule. In a sweep (``optihedge.sweep``), the cutting planes
        up to :data:`AUTO_SWEEP_PLANES_INSTRUMENTS` instruments, the band beyond: each
        point starts from the last one's band (a 10-point sweep of alpha, positions in
        [-1, 1]: 20 x 20,000 0.58 s against the cutting planes' 1.7 s and the active
        set's 11.8 s; 50 x 5,000 0.77 s against 46 s and 6.2 s). A ``capacity`` given
        asks for the active set's slots: ``"auto"`` then takes the active set. With a
        quadratic objective (a variance term beside), no band: HiGHS cannot answer its
        rounds, an interior point answers each (10 x 20,000 with ``0.5 * Variance()``:
        the band 0.82 s, cutting planes 0.2 s); cutting planes from
        :func:`auto_scenarios` scenarios up to :data:`AUTO_INSTRUMENTS` instruments (in a
        sweep, at every count up to :data:`AUTO_QUADRATIC_SWEEP_PLANES_INSTRUMENTS`), the
        active set otherwise.
        """
        if self.method != "auto":
            return self.method
        if self.capacity is not None or exact_integer:
            return "active_set"
        if quadratic and sweep:
            planes = n_instruments <= AUTO_QUADRATIC_SWEEP_PLANES_INSTRUMENTS
            return "cutting_plane" if planes else "active_set"
        if quadratic:
            planes = n_scenarios >= auto_scenarios(n_instruments)
            return "cutting_plane" if planes and n_instruments <= AUTO_INSTRUMENTS else "active_set"
        if sweep:
            return "cutting_plane" if n_instruments <= AUTO_SWEEP_PLANES_INSTRUMENTS else "band"
        if n_instruments > AUTO_INSTRUMENTS:
            return "band"
        if n_instruments <= AUTO_PLANES_INSTRUMENTS:
            return "cutting_plane" if n_scenarios >= auto_scenarios(n_instruments) else "active_set"
        return "band" if n_scenarios >= AUTO_BAND_SCENARIOS else "active_set"

    def build(self, ctx: HedgeContext) -> CompiledTerm:
        """Build the RU LP over K scenario slots (all with ``"lp"``), or cutting planes.

        Either way the term's exact difference is the expected shortfall by sorting at the
        two positions (whole contracts compare neighbouring counts with it).
        """
        _, _, p = _arrays(ctx.data)
        _check_tail(self.alpha, p)
        method = self.chosen_method(
            len(p),
            len(ctx.instruments),
            ctx.exact_integer,
            bool(ctx.options.get(SWEEP_OPTION)),
            bool(ctx.options.get(QUADRATIC_OPTION)),
        )
        if method == "cutting_plane" and FALLBACK_OPTION not in ctx.options:
            return self._build_planes(ctx)
        if method == "cutting_plane":
            method = "active_set"  # "auto" chose planes and they gave way (see the notes)
        if method == "band":
            slots = ctx.options.get(BAND_SLOTS_OPTION, self.capacity)
            if slots is None:
                slots = band_slots(len(ctx.instruments), len(p))
            band = ScenarioBand(
                ctx,
                self.alpha,
                self.weight,
                min(len(p), int(slots)),
                warm=ctx.options.get(BAND_WARM_OPTION),
            )
            return _CompiledBand(self, band)
        k = self._slots(p, self.alpha, ctx.options, method)
        return _ActiveSet(self, ctx, k, method)

    def __repr__(self) -> str:
        extra = "" if self.method == "auto" else f", method={self.method!r}"
        if self.precision != "float64":
            extra += f", precision={self.precision!r}"
        w = "" if self.weight == 1.0 else f", weight={self.weight!r}"
        return f"ExpectedShortfall(alpha={self.alpha!r}{extra}{w})"


def tied_rows(
    losses: np.ndarray, p: np.ndarray, alpha: float, pnl: np.ndarray
) -> np.ndarray | None:
    """Return the rows of the scenarios tied at the edge of the tail, or None when unclear.

    In the Rockafellar-Uryasev LP a scenario above the VaR level (or below it) has one
    active row with a variable of its own; the scenarios at the level (an LP's optimum
    ties several there) keep two, which reduce to ``(G_s, 1)`` in the positions and the
    level: these ``G_s`` (``pnl`` rows) are returned. The tie is told by losses within
    ``PIECE_MARGIN / 5`` of the VaR (ties of an answer at Clarabel's default tolerances
    agree to a few 1e-9); any other loss nearer than :data:`PIECE_MARGIN` (of
    ``max(1, |loss|)``) leaves it unclear.
    """
    equal = bool(p[0] == p[-1] and np.all(p == p[0]))
    _, _, var = tail_rows(losses, None if equal else p, alpha)
    size = max(1.0, float(np.abs(losses).max(initial=0.0)))
    gap = np.abs(losses - var)
    tied = gap <= PIECE_MARGIN / 5.0 * size
    if np.any(~tied & (gap <= PIECE_MARGIN * size)):
        return None
    return np.asarray(pnl[tied], dtype=np.float64)


def _difference(data: HedgeData | None, alpha: float, weight: float) -> Difference:
    """Return the expected shortfall's ``f(a) - f(b)``, by sorting at both positions."""

    def difference(a: np.ndarray, b: np.ndarray) -> float:
        assert data is not None  # refreshed at compile time
        _, _, p = _arrays(data)
        es_a = expected_shortfall(data.hedged_scenario_returns(a), alpha, p)
        es_b = expected_shortfall(data.hedged_scenario_returns(b), alpha, p)
        return float(weight * data.objective_scale * (es_a - es_b))

    return difference


class _CompiledPlanes(CompiledTerm):
    """The cutting-plane expected shortfall of one problem (the planes: ``CuttingPlanes``)."""

    iterative = True

    def __init__(self, term: ExpectedShortfall, planes: CuttingPlanes) -> None:
        super().__init__(
            planes.expression, planes.constraints, {cp.CLARABEL: dict(CERTIFICATE_SETTINGS)}
        )
        self.planes = planes
        self.weight_key = f"{term.key}.weight"

    def refresh(self, data: HedgeData, values: Mapping[str, float]) -> None:
        """Check the tail, then give the planes the new numbers."""
        _, _, p = _arrays(data)
        _check_tail(values[_ALPHA], p)
        self.planes.refresh(data, values[_ALPHA], values[self.weight_key])

    def start(self) -> None:
        """Start the loop (planes kept)."""
        self.planes.start()

    def bind(self, problem: cp.Problem) -> None:
        """Remember the master problem."""
        self.planes.bind(problem)

    def refine(self, x: np.ndarray) -> bool:
        """One cutting-plane step; True while no certificate."""
        return self.planes.refine(x)

    def tied_rows(self, x: np.ndarray) -> tuple[tuple[cp.Variable, ...], np.ndarray] | None:
        """Return the model's variable and the tied scenarios' rows (:func:`tied_rows`).

        Only after the certified plain LP at ``x``: its planes touch the expected
        shortfall there, and its limit rows are priced as in the whole LP.
        """
        planes = self.planes
        if not planes.certified or planes.kind != "kelley" or planes.data is None:
            return None
        book, pnl, p = _arrays(planes.data)
        rows = tied_rows(-hedged_pnl(book, pnl, x), p, planes.alpha, pnl)
        return None if rows is None else ((planes.t,), rows)

    def report(self) -> TermReport:
        """Return the planes' work and certificate, and how options enter."""
        out = self.planes.report()
        if self.planes.data is not None:
            out = out.merged(_options_note(self.planes.data))
        return out

    def exact_difference(self, x: cp.Variable) -> Difference:
        """Return the expected shortfall's difference at the numbers last refreshed."""
        planes = self.planes
        return _difference(planes.data, planes.alpha, planes.weight)


class _CompiledBand(CompiledTerm):
    """The band expected shortfall of one problem (the band: ``ScenarioBand``).

    Answered by HiGHS first: the restricted LP's optimum is the certificate's lower
    bound, and an interior-point answer of a degenerate LP (more instruments than the
    tail has scenarios) is too inexact for it (150 instruments: 5e-8 off, uncertified),
    where a simplex vertex at tight feasibility tolerances is exact.
    """

    iterative = True
    solvers = (HIGHS_DUAL.name(), cp.HIGHS)

    def __init__(self, term: ExpectedShortfall, band: ScenarioBand) -> None:
        super().__init__(
            band.expression,
            band.constraints,
            {
                cp.CLARABEL: dict(CERTIFICATE_SETTINGS),
                cp.HIGHS: dict(BAND_HIGHS_SETTINGS),
                HIGHS_DUAL.name(): dict(BAND_HIGHS_SETTINGS),
            },
        )
        self.band = band
        self.weight_key = f"{term.key}.weight"
        self.trust_rows = tuple(band.constraints[1:])

    def refresh(self, data: HedgeData, values: Mapping[str, float]) -> None:
        """Check the tail, then give the band the new numbers."""
        _, _, p = _arrays(data)
        _check_tail(values[_ALPHA], p)
        self.band.refresh(data, values[_ALPHA], values[self.weight_key])

    def start(self) -> None:
        """Start the loop (the partition kept)."""
        self.band.start()

    def bind(self, problem: cp.Problem) -> None:
        """Remember the problem."""
        self.band.bind(problem)

    def refine(self, x: np.ndarray) -> bool:
        """One round of the band; True while a scenario lies on the wrong side."""
        return self.band.refine(x)

    def on_unbounded(self) -> None:
        """Widen the band when it leaves some direction unbounded."""
        self.band.on_unbounded()

    def tied_rows(self, x: np.ndarray) -> tuple[tuple[cp.Variable, ...], np.ndarray] | None:
        """Return the band's variables and the tied scenarios' rows (:func:`tied_rows`).

        Only once the band is exact at ``x`` (the scenarios tied at the VaR are in the
        band; those outside it lie strictly on their side, their rows inactive as in the
        whole LP).
        """
        band = self.band
        if not band.certified or band.data is None:
            return None
        book, pnl, p = _arrays(band.data)
        rows = tied_rows(-hedged_pnl(book, pnl, x), p, band.alpha, pnl)
        return None if rows is None else ((band.zeta, band.u), rows)

    def report(self) -> TermReport:
        """Return the band's work and certificate, and how options enter."""
        out = self.band.report()
        if self.band.data is not None:
            out = out.merged(_options_note(self.band.data))
        return out

    def exact_difference(self, x: cp.Variable) -> Difference:
        """Return the expected shortfall's difference at the numbers last refreshed."""
        return _difference(self.band.data, self.band.alpha, self.band.weight)


class _ActiveSet(CompiledTerm):
    """The compiled RU LP of one problem: K slots, the active set and its warm start."""

    iterative = True

    def __init__(self, term: ExpectedShortfall, ctx: HedgeContext, k: int, method: str) -> None:
        self.term = term
        self.method = method
        n = len(ctx.instruments)
        self.zeta = cp.Variable(name="var_level")
        self.u = u = cp.Variable(k, nonneg=True)
        self.g, self.b = cp.Parameter((k, n)), cp.Parameter(k)
        self.q, self.c = cp.Parameter(k, nonneg=True), cp.Parameter(nonneg=True)
        loss = -(self.b + self.g @ ctx.x)
        super().__init__(self.c * self.zeta + self.q @ u, [u >= loss - self.zeta])
        self.active: np.ndarray | None = None
        self.warm = ctx.options.get(WARM_OPTION)  # left by the compile this one replaces
        self.fallback = ctx.options.get(FALLBACK_OPTION)  # why "auto" came here
        self.data: HedgeData | None = None
        self.alpha = term.alpha
        self.weight = term.weight
        self.rounds = 0
        self.iterations = 0

    @property
    def slots(self) -> int:
        return int(self.g.shape[0])

    def refresh(self, data: HedgeData, values: Mapping[str, float]) -> None:
        """Set the slots, keeping the last active set as a warm start when it still fits."""
        book, pnl, p = _arrays(data)
        alpha = values[_ALPHA]
        _check_tail(alpha, p)
        if self.method == "lp" and len(p) != self.slots:
            raise RebuildRequired({}, "the plain LP needs one slot per scenario")
        moved = (
            alpha != self.alpha
            or self.data is None
            or len(p) != self.data.n_scenarios
            or not _same_scenarios(self.data, data)
        )
        self.data, self.alpha, self.weight = data, alpha, values[f"{self.term.key}.weight"]
        if self.method == "lp":
            active = np.arange(len(p))
        elif moved or self.active is None or self.active.max() >= len(p):
            if len(p) < self.slots:
                raise RebuildRequired({CAPACITY_OPTION: len(p)}, "fewer scenarios than slots")
            active = self._first_slots(book, pnl)
        else:
            active = self.active
        self._load(active)

    def _first_slots(self, book: np.ndarray, pnl: np.ndarray) -> np.ndarray:
        """Fill the slots: the scenarios a previous compile needed, then the worst losses.

        Without a warm start the hedge is a least-squares fit of the book on the
        instruments; with one (after a capacity rebuild), the hedge and the scenarios the
        outgrown active set needed, so the rebuilt problem starts where the last stopped.
        """
        needed = np.zeros(0, dtype=int)
        if self.warm is not None and self.warm[0] == len(book):
            _, x0, needed = self.warm
            needed = needed[: self.slots]
        else:
            x0, *_ = np.linalg.lstsq(pnl, -book, rcond=None)
        self.warm = None
        losses = -hedged_pnl(book, pnl, x0)
        losses[needed] = np.inf  # kept first
        return np.sort(np.argpartition(losses, -self.slots)[-self.slots :])

    def _load(self, active: np.ndarray) -> None:
        assert self.data is not None
        book, pnl, p = _arrays(self.data)
        scale = self.weight * self.data.objective_scale
        self.active = np.asarray(active, dtype=int)
        self.g.value = pnl[self.active]
        self.b.value = book[self.active]
        self.q.value = scale * p[self.active] / (1.0 - self.alpha)
        self.c.value = scale

    def refine(self, x: np.ndarray) -> bool:
        """Swap in scenarios whose loss exceeds the VaR level; True if another solve is due."""
        if self.method == "lp" or self.active is None or self.zeta.value is None:
            return False
        assert self.data is not None
        losses = -self.data.hedged_scenario_returns(x)
        zeta = float(self.zeta.value)
        tol = 1e-10 * max(1.0, abs(zeta), float(np.abs(losses).max()))
        inside = np.zeros(len(losses), dtype=bool)
        inside[self.active] = True
        violators = np.flatnonzero(~inside & (losses > zeta + tol))
        if len(violators) == 0:
            self.rounds = 0
            return False
        self.iterations += 1
        self.rounds += 1
        k = len(self.active)
        if self.rounds <= _RESELECT_ROUNDS and np.count_nonzero(losses >= zeta - tol) <= k:
            # re-centre on the worst K scenarios under the current hedge
            self._load(np.sort(np.argpartition(losses, -k)[-k:]))
            return True
        keep_needed = self.active[losses[self.active] >= zeta - tol]
        spare = self.active[losses[self.active] < zeta - tol]
        room = len(self.active) - len(keep_needed)
        if len(violators) > room:
            self.rounds = 0
            needed = np.concatenate([keep_needed, violators])
            size = len(needed) + max(100, int(_HEADROOM * len(needed)))
            raise RebuildRequired(
                {CAPACITY_OPTION: size, WARM_OPTION: (len(losses), x.copy(), needed)},
                f"the active set needs {len(needed)} slots; it has {k}",
            )
        # replace the least-loss spare slots (their terms are zero) by the violators
        spare = spare[np.argsort(losses[spare])[::-1]]
        kept_spare = spare[: room - len(violators)]
        self._load(np.sort(np.concatenate([keep_needed, kept_spare, violators])))
        return True

    def tied_rows(self, x: np.ndarray) -> tuple[tuple[cp.Variable, ...], np.ndarray] | None:
        """Return the LP's own variables and the tied scenarios' rows (:func:`tied_rows`).

        The scenarios left out of the slots lie below the level (``refine``): their
        rows are inactive, as in the whole LP.
        """
        if self.data is None or self.active is None:
            return None
        book, pnl, p = _arrays(self.data)
        rows = tied_rows(-hedged_pnl(book, pnl, x), p, self.alpha, pnl)
        return None if rows is None else ((self.zeta, self.u), rows)

    def on_unbounded(self) -> None:
        """Grow when the restricted LP is unbounded (no slot limits some direction), unless full."""
        if self.data is not None and self.slots < self.data.n_scenarios:
            size = min(self.data.n_scenarios, 2 * self.slots)
            raise RebuildRequired(
                {CAPACITY_OPTION: size}, f"the LP on {self.slots} slots is unbounded"
            )

    def report(self) -> TermReport:
        """Return the level the scenario risk is stated at, and the active set's work."""
        out = TermReport(
            scenario_alpha=self.alpha,
            shortfall_method=self.method,
            notes=(f"Solved by the scenario active set: {self.fallback}.",)
            if self.fallback
            else (),
            details={"scenario_slots": self.slots, "active_set_swaps": self.iterations},
        )
        return out if self.data is None else out.merged(_options_note(self.data))

    def exact_difference(self, x: cp.Variable) -> Difference:
        """Return the expected shortfall's difference at the numbers last refreshed."""
        return _difference(self.data, self.alpha, self.weight)


def _options_note(data: HedgeData) -> TermReport:
    if np.any(data.attribute("gamma")) or np.any(data.attribute("vega")):
        return TermReport(
            approximation_note=(
                "Options are repriced fully in every scenario for the expected shortfall "
                "(no delta approximation); the normal VaR and volatility in the risk table "
                "use their delta."
            )
        )
    return TermReport()

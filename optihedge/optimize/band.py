r"""Expected shortfall by a band of scenarios around the VaR: exact, for many instruments.

The Rockafellar-Uryasev objective over the scenarios of one level of the solve,

.. math::
    F(x, \zeta) = \zeta + \frac{1}{1-\alpha} \sum_s p_s \big(L_s(x) - \zeta\big)_+,
    \qquad L_s(x) = -(b_s + G_s x),

is replaced by a restriction built on a partition of the scenarios into three groups:
those far above the VaR (:math:`A`, held as one aggregated linear term, since
:math:`(L_s - \zeta)_+ \ge L_s - \zeta`), those far below it (dropped, since
:math:`(L_s - \zeta)_+ \ge 0`) and a **band** of K scenarios around it, kept one by
one in K slots of an LP whose numbers are parameters (compiled once):

.. math::
    F_{band}(x, \zeta) = \zeta + \frac{1}{1-\alpha}\Big[\sum_{s \in A} p_s
    \big(L_s(x) - \zeta\big) + \sum_{s \in band} p_s \big(L_s(x) - \zeta\big)_+\Big]
    \le F(x, \zeta) \quad \text{for every } (x, \zeta).

So the restricted optimum is a lower bound of the whole one, whatever the partition.
At its solution :math:`(x^*, \zeta^*)` every scenario is checked (one pass over the
scenario P&L): when every scenario of :math:`A` has a loss at or above
:math:`\zeta^*` and every dropped one a loss at or below it, the two functions agree
at the solution, which is then optimal for the whole problem: exact, as the active set
is, with a certificate (the expected shortfall by sorting at :math:`x^*` against the
restricted optimum). Otherwise the violators join the band, whose other members are
re-chosen as the scenarios nearest :math:`\zeta^*` (a member moved out lies strictly
on its side, where the restriction is unchanged near the solution, and a scenario moved
in can only raise the restriction): the restricted optimum never falls, and the loop
ends. Unlike the active set, whose slots hold the whole tail (105,000 slots of 100
instruments at 1,000,000 scenarios and 95%), the band holds only the scenarios whose
side of the VaR is in doubt; unlike cutting planes, its master is exact at any
instrument count.

**Levels.** The band is narrow only when the first point is near the optimum. Over
many scenarios the solve starts on a random tenth of them (and a tenth of that, while
a level holds more than :data:`LEVEL_MIN`), solved exactly on its own (probabilities
renormalised), and each level's solution is the next one's first point: the sampling
error between levels moves the hedge a little, so few scenarios change sides. Only the
last level (all scenarios) decides the answer; the others only choose where it starts.

Warm starts: the partition and the last solution are kept across solves (a sweep's
limits, alpha); new scenarios start from the first level again.
"""

from __future__ import annotations

import math
from typing import Any

import cvxpy as cp
import numpy as np

from constraints import HedgeContext, HedgeData, RebuildRequired
from optihedge.errors import DataError, UnboundedError
from optihedge.measures.contributions import check_tail
from optihedge.measures.risk import tail_rows
from optihedge.optimize.cutting import TOLERANCE, first_centre, scenario_losses
from optihedge.optimize.terms import TermReport

__all__ = [
    "BAND_HIGHS_SETTINGS",
    "BAND_SLOTS_OPTION",
    "BAND_WARM_OPTION",
    "LEVEL_MIN",
    "ScenarioBand",
    "band_slots",
]

#: build option: the band's slot count (a rebuild asks for more)
BAND_SLOTS_OPTION = "expected_shortfall.band_slots"
#: build option: ``(n_scenarios, level, hedge)`` where the replaced compile stopped
BAND_WARM_OPTION = "expected_shortfall.band_warm_start"
#: HiGHS's options for the band's LP: tolerances (its optimum is the certificate's lower
#: bound; the defaults, 1e-7, would let each scenario's row be violated by that much).
#: Without presolve, or without scaling, the LP solved 2-4x faster at 100 instruments,
#: but HiGHS then called a feasible 150-instrument band infeasible: both left on.
BAND_HIGHS_SETTINGS: dict[str, float] = {
    "primal_feasibility_tolerance": 1e-10,
    "dual_feasibility_tolerance": 1e-10,
}
#: a level holding more scenarios than this starts from a tenth of them
LEVEL_MIN = 30_000
_LEVEL_FACTOR = 10
_SEED = 20_211  # the levels' subsamples: the same scenarios every solve
#: the trust region's first half-width (times the largest position, at least 1) ...
_RADIUS = 0.25
#: ... its growth when it binds at an exact point, and the half-width that means unbounded
_GROW = 4.0
_RADIUS_LIMIT = 1e5
#: a trust region this small (times the positions) that still crosses many scenarios:
#: the band is too narrow, and the problem rebuilds with more slots
_RADIUS_FLOOR = 1e-6
#: rounds of one level after which the band doubles (a loop that should have ended)
_MAX_ROUNDS = 60


def band_slots(n_instruments: int, n_scenarios: int) -> int:
    """Return the band's first slot count, at most ``n_scenarios``.

    ``max(1,000, 10 (n + 1) (N / 100,000) ** 0.3)`` for ``n`` instruments and ``N``
    scenarios. An LP's optimum ties about ``n + 1`` scenarios at the VaR; the band holds
    those, the ones a step moves across it, and room to spare. Scenarios lie denser
    around the VaR as ``N`` grows, so a step of the same size crosses more of them: a
    wider band takes fewer rounds, each dearer (measured at 100 instruments, cold: 1,010
    slots best at 100,000 scenarios, 4.5 s against 6.4 s with 2,020; 2,020 best at
    1,000,000, 24 s against 30 s with 1,010 and about the same with 3,200).
    """
    density = math.pow(n_scenarios / 100_000, 0.3)
    return min(n_scenarios, max(1_000, math.ceil(10 * (n_instruments + 1) * density)))


def _levels(n: int) -> list[int]:
    """Return the scenario counts of the levels, smallest first, the last ``n``."""
    sizes = [n]
    while sizes[0] > LEVEL_MIN:
        sizes.insert(0, sizes[0] // _LEVEL_FACTOR)
    return sizes


class _Level:
    """The scenarios of one level: all of them, or a random subsample reweighted."""

    def __init__(self, book: np.ndarray, pnl: np.ndarray, p: np.ndarray, size: int) -> None:
        if size >= len(book):
            self.book, self.pnl, self.p = book, pnl, p
        else:
            rng = np.random.default_rng(_SEED)
            rows = np.sort(rng.choice(len(book), size=size, replace=False))
            self.book = book[rows]
            self.pnl = np.asarray(pnl[rows], dtype=np.float64)
            w = p[rows]
            self.p = w / w.sum()
        self.size = len(self.book)
        self.equal = bool(np.all(self.p == self.p[0]))

    def losses(self, x: np.ndarray) -> np.ndarray:
        return scenario_losses(self.book, self.pnl, x)

    def weighted_sum(self, w: np.ndarray) -> tuple[np.ndarray, float]:
        """Return ``(w @ pnl, w @ book)`` in float64, whatever dtype the P&L is held in."""
        if self.pnl.dtype == np.float64:
            return np.asarray(w @ self.pnl), float(w @ self.book)
        out = np.zeros(self.pnl.shape[1])
        block = 1 << 16
        for start in range(0, self.size, block):
            out += w[start : start + block] @ self.pnl[start : start + block].astype(np.float64)
        return out, float(w @ self.book)


class ScenarioBand:
    """The band expected-shortfall term compiled into one problem (see the module)."""

    def __init__(
        self,
        ctx: HedgeContext,
        alpha: float,
        weight: float,
        slots: int,
        warm: tuple[int, int, np.ndarray] | None = None,
    ) -> None:
        n = len(ctx.instruments)
        self.n, self.k = n, slots
        self.zeta = cp.Variable(name="var_level")
        self.u = cp.Variable(slots, nonneg=True)
        self.g, self.b = cp.Parameter((slots, n)), cp.Parameter(slots)
        self.q = cp.Parameter(slots, nonneg=True)
        # the aggregated group and the level's own coefficient (1 - P(A)/(1-alpha))
        self.c, self.ga, self.ba = cp.Parameter(), cp.Parameter(n), cp.Parameter()
        loss = -(self.b + self.g @ ctx.x)
        self.expression: cp.Expression = (
            self.c * self.zeta + self.q @ self.u + self.ga @ ctx.x + self.ba
        )
        # a trust region around each level's first point (its bounds are parameters): the
        # aggregated group is linear, and without curvature the first LP of a level can
        # jump to a vertex far from the optimum
        self.box_lo, self.box_hi = cp.Parameter(n), cp.Parameter(n)
        self.constraints: list[cp.Constraint] = [
            self.u >= loss - self.zeta,
            ctx.x >= self.box_lo,
            ctx.x <= self.box_hi,
        ]
        self.centre = np.zeros(n)
        self.centre_value = math.inf  # the whole objective there (inf: not an answer)
        # the aggregated group's sums, kept to update (level, members, p @ pnl, p @ book)
        self._sums: tuple[_Level, np.ndarray, np.ndarray, float] | None = None
        self.radius = math.inf
        self.trust = not ctx.exact_integer
        self.first = True
        self.warm = warm
        self.problem: cp.Problem | None = None
        self.data: HedgeData | None = None
        self.alpha, self.weight, self.scale = alpha, weight, 1.0
        self.made_from: tuple[np.ndarray, ...] = ()
        self.levels: list[_Level] = []
        self.level = 0
        self.band = np.zeros(0, dtype=int)
        self.above = np.zeros(0, dtype=bool)
        self.x: np.ndarray | None = None  # the last solution (the next solve's start)
        self.rounds = 0  # of the current level
        self.total_rounds = 0
        self.passes = 0
        self.certified = False
        self.gap = math.inf
        self.lower = -math.inf
        self.upper = math.inf

    # ------------------------------------------------------------------ set-up
    def bind(self, problem: cp.Problem) -> None:
        """Remember the problem (its value less this term's gives the other terms')."""
        self.problem = problem

    def refresh(self, data: HedgeData, alpha: float, weight: float) -> None:
        """Take new numbers: keep the partition and the start (same scenarios) or begin anew."""
        assert data.scenario_book is not None
        assert data.scenario_pnl is not None
        p = data.scenario_probabilities
        assert p is not None
        arrays = (data.scenario_book, data.scenario_pnl, p)
        same = len(self.made_from) == 3 and all(
            a is b for a, b in zip(arrays, self.made_from, strict=True)
        )
        self.data, self.weight = data, weight
        self.scale = weight * data.objective_scale
        moved = alpha != self.alpha
        self.alpha = alpha
        if not same:
            self.made_from = arrays
            self.levels = []
            for size in _levels(len(p)):
                level = _Level(*arrays, size)
                if level.size < len(p):
                    try:  # a subsample too small for the tail is no level
                        check_tail(alpha, level.p)
                    except DataError:
                        continue
                self.levels.append(level)
            self.level = 0
            warm, self.warm = self.warm, None
            if warm is not None and warm[0] == len(p):
                self.level = min(warm[1], len(self.levels) - 1)
                self.x = warm[2]
            else:
                self.x = first_centre(self.levels[0].book, self.levels[0].pnl)
            self._centre(self.x)
        elif moved or not len(self.band):
            assert self.x is not None
            self._centre(self.x)
        else:
            self._load()  # the weight or the scale may have changed

    def start(self) -> None:
        """Start a solve: the partition kept; the bounds anew."""
        self.rounds = 0
        self.certified = False
        # the first round unbounded by the trust region: the limits may have changed
        # since the centre was set (a least-squares start ignores them), and the region
        # must hold a feasible point; from its answer on, every centre is one
        self.first = True
        self._set_box(self.centre, _RADIUS_LIMIT * self._size(self.centre))
        self.gap, self.lower, self.upper = math.inf, -math.inf, math.inf

    # ------------------------------------------------------------------ partition
    def _centre(self, x: np.ndarray, answer: bool = False) -> None:
        """Partition the level's scenarios around their VaR at ``x``: the nearest K in the band.

        ``answer``: ``x`` is the last solve's answer (its objective is then known).
        """
        losses = self.levels[self.level].losses(x)
        self.passes += 1
        self._set_box(x, _RADIUS * self._size(x))
        self.centre_value = self._value(losses) if answer else math.inf
        self._choose(losses, self._var(losses), np.zeros(0, dtype=int))

    def _set_box(self, centre: np.ndarray, radius: float) -> None:
        if not self.trust:  # whole contracts: a MILP's optimum in a box proves nothing
            radius = _RADIUS_LIMIT * self._size(centre)
        self.centre, self.radius = centre.copy(), radius
        self.box_lo.value = centre - radius
        self.box_hi.value = centre + radius

    def _value(self, losses: np.ndarray) -> float:
        """Return the whole objective at the last answer, its ES over this level's scenarios.

        ``losses``: the level's losses at that answer. The other terms' value is the
        problem's less this term's restricted expression (both at the answer).
        """
        level = self.levels[self.level]
        rows, w, _ = tail_rows(losses, None if level.equal else level.p, self.alpha)
        assert self.problem is not None
        assert self.problem.value is not None
        others = float(self.problem.value) - float(self.expression.value)
        return others + self.scale * float(w @ losses[rows])

    def _var(self, losses: np.ndarray) -> float:
        level = self.levels[self.level]
        return tail_rows(losses, None if level.equal else level.p, self.alpha)[2]

    def _choose(self, losses: np.ndarray, level_at: float, forced: np.ndarray) -> None:
        """Band: ``forced`` and the scenarios nearest ``level_at``; above it the rest is A."""
        level = self.levels[self.level]
        k = min(self.k, level.size)
        distance = np.abs(losses - level_at)
        distance[forced] = -1.0
        band = np.argpartition(distance, k - 1)[:k] if k < level.size else np.arange(k)
        self.band = np.sort(band)
        above = losses > level_at
        above[self.band] = False
        self.above = above
        self._load()

    def _load(self) -> None:
        level = self.levels[self.level]
        band, k = self.band, len(self.band)
        unit = self.scale / (1.0 - self.alpha)
        g = np.zeros((self.k, self.n))
        b = np.zeros(self.k)
        q = np.zeros(self.k)
        g[:k] = level.pnl[band]
        b[:k] = level.book[band]
        q[:k] = unit * level.p[band]
        ga, ba = self._aggregate(level)
        self.g.value, self.b.value, self.q.value = g, b, q
        self.ga.value = -unit * ga
        self.ba.value = -unit * ba
        held = float(level.p @ self.above)
        self.c.value = self.scale * (1.0 - held / (1.0 - self.alpha))

    def _aggregate(self, level: _Level) -> tuple[np.ndarray, float]:
        """Return the aggregated group's ``(p @ pnl, p @ book)`` over its scenarios.

        A whole pass over the level's P&L (1.7 s of 40 rounds at a million x 100) only
        when the group is new to this level or most of it changed; otherwise the last
        sums with the scenarios that joined added and those that left taken away.
        """
        above, last = self.above, self._sums
        if last is not None and last[0] is level:
            joined = np.flatnonzero(above & ~last[1])
            left = np.flatnonzero(last[1] & ~above)
            if len(joined) + len(left) <= level.size // 8:
                ga, ba = last[2].copy(), last[3]
                for rows, sign in ((joined, 1.0), (left, -1.0)):
                    if len(rows):
                        w = sign * level.p[rows]
                        ga += w @ np.asarray(level.pnl[rows], dtype=np.float64)
                        ba += float(w @ level.book[rows])
                self._sums = (level, above.copy(), ga, ba)
                return ga, ba
        ga, ba = level.weighted_sum(np.where(above, level.p, 0.0))
        self._sums = (level, above.copy(), ga, ba)
        return ga, ba

    # ------------------------------------------------------------------ loop
    def refine(self, x: np.ndarray) -> bool:
        """Check every scenario of the level at the solution; True while another solve is due."""
        if self.zeta.value is None:
            return False
        zeta = float(self.zeta.value)
        level = self.levels[self.level]
        losses = level.losses(x)
        self.passes += 1
        self.rounds += 1
        self.total_rounds += 1
        tol = 1e-10 * max(1.0, abs(zeta), float(np.abs(losses).max()))
        in_band = np.zeros(level.size, dtype=bool)
        in_band[self.band] = True
        below = ~in_band & ~self.above
        violators = np.flatnonzero(
            (self.above & (losses < zeta - tol)) | (below & (losses > zeta + tol))
        )
        self.x = x.copy()
        inside = self._inside(x)
        first, self.first = self.first, False
        if len(violators) == 0 and not inside:
            # exact at x but held by the trust region: a descent; the region grows there
            if self.radius * _GROW > _RADIUS_LIMIT * self._size(x):
                raise UnboundedError(
                    "The expected shortfall falls without limit as the positions grow (the "
                    f"band's trust region still binding at half-width {self.radius:.3g} "
                    "times the book): add bounds (Bounds, GrossExposure) on the instruments."
                )
            self._set_box(x, self.radius * _GROW)
            self.centre_value = self._value(losses)
            self._choose(losses, self._var(losses), np.zeros(0, dtype=int))
            return True
        if len(violators) == 0:
            if self.level + 1 < len(self.levels):
                self.level += 1
                self.rounds = 0
                self._centre(x, answer=True)
                return True
            self._certify(x, losses)
            return False
        tied = self.band[np.abs(losses[self.band] - zeta) <= tol]
        forced = np.concatenate([violators, tied])
        if self.rounds > _MAX_ROUNDS or (
            len(forced) > self.k // 2 and self.radius < _RADIUS_FLOOR * self._size(x)
        ):
            size = min(level.size, max(2 * self.k, len(forced) + self.k // 2))
            warm = (self.n_scenarios, self.level, self.centre.copy())
            raise RebuildRequired(
                {BAND_SLOTS_OPTION: size, BAND_WARM_OPTION: warm},
                f"the band needs {len(forced)} slots; it has {self.k}",
            )
        if first:
            # the first round of a solve (no trust region): one around its answer (which
            # meets today's limits) from now on
            self._set_box(x, _RADIUS * self._size(x))
            self.centre_value = self._value(losses)
            if len(forced) > self.k // 2:  # and the band anew there
                self._choose(losses, self._var(losses), np.zeros(0, dtype=int))
                return True
        elif len(forced) > self.k // 2:
            # the step crossed many scenarios: the band cannot follow it in one round.
            # A step that lowered the whole objective is taken (the region moves there,
            # the band anew around it: a trust region's accepted step); otherwise the
            # model was poor so far out: a smaller region around the same centre (an
            # earlier answer), the band anew there
            value = self._value(losses)
            if value < self.centre_value - 1e-12 * max(1.0, abs(self.centre_value)):
                self._set_box(x, self.radius)
                self.centre_value = value
                self._choose(losses, self._var(losses), np.zeros(0, dtype=int))
                return True
            losses = level.losses(self.centre)
            self.passes += 1
            self._set_box(self.centre, self.radius / _GROW)
            self._choose(losses, self._var(losses), np.zeros(0, dtype=int))
            return True
        self._choose(losses, zeta, forced)
        return True

    def _inside(self, x: np.ndarray) -> bool:
        """Whether the trust region does not hold ``x``: clear of its faces, no multiplier.

        An interior-point answer on a face lies a few 1e-11 inside it: the margin is a
        millionth of the half-width (at least 1e-8 of the positions), and the region's
        rows must have no multiplier either.
        """
        margin = max(1e-6 * self.radius, 1e-8 * self._size(x))
        if not np.all(np.abs(x - self.centre) < self.radius - margin):
            return False
        for row in self.constraints[1:]:
            dual = row.dual_value
            if dual is not None and np.max(np.abs(dual), initial=0.0) > 1e-9 * max(
                self.scale, 1e-300
            ):
                return False
        return True

    @staticmethod
    def _size(x: np.ndarray) -> float:
        return max(1.0, float(np.abs(x).max(initial=0.0)))

    @property
    def n_scenarios(self) -> int:
        """Return the scenario count of the whole problem (the last level's)."""
        return self.levels[-1].size if self.levels else 0

    def _certify(self, x: np.ndarray, losses: np.ndarray) -> None:
        """Bound the optimum: the restricted optimum below, the true objective at ``x`` above."""
        level = self.levels[-1]
        rows, w, _ = tail_rows(losses, None if level.equal else level.p, self.alpha)
        es = float(w @ losses[rows])
        problem = self.problem
        assert problem is not None
        assert problem.value is not None
        restricted = float(self.expression.value)
        self.lower = float(problem.value)
        self.upper = self.lower - restricted + self.scale * es
        self.gap = self.upper - self.lower
        self.certified = abs(self.gap) <= TOLERANCE * max(abs(self.upper), 1e-6)

    def on_unbounded(self) -> None:
        """Rebuild with twice the slots: the band is too narrow to bound some direction."""
        if self.levels and self.k < self.levels[self.level].size:
            size = min(self.levels[self.level].size, 2 * self.k)
            warm = None if self.x is None else (self.n_scenarios, self.level, self.x.copy())
            raise RebuildRequired(
                {BAND_SLOTS_OPTION: size, BAND_WARM_OPTION: warm},
                f"the band LP on {self.k} slots is unbounded",
            )

    def report(self) -> TermReport:
        """Return the band's work and its certificate, in the objective's units."""
        unit = self.data.objective_scale if self.data is not None else 1.0
        details: dict[str, Any] = {
            "band_slots": self.k,
            "band_levels": tuple(level.size for level in self.levels),
            "band_rounds": self.total_rounds,
            "scenario_passes": self.passes,
            "objective_lower_bound": self.lower / unit,
            "objective_upper_bound": self.upper / unit,
        }
        return TermReport(
            scenario_alpha=self.alpha,
            shortfall_method="band",
            certified=self.certified,
            certificate_gap=self.gap / unit,
            notes=()
            if self.certified
            else (
                f"The band's certificate was not reached: the expected shortfall is within "
                f"{self.gap / unit:.3g} of the optimum (upper minus lower bound).",
            ),
            details=details,
        )

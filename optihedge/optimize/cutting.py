r"""Expected shortfall by cutting planes: one pass over the scenarios per iteration.

The expected shortfall of the hedged book is a convex, piecewise-linear function of the
positions, and by its dual representation a maximum of linear functions:

.. math::
    \mathrm{ES}_\alpha(x) = \max_{\omega \in Q_\alpha} \sum_s \omega_s L_s(x), \qquad
    Q_\alpha = \{\omega : 0 \le \omega_s \le p_s / (1-\alpha),\ \textstyle\sum_s
    \omega_s = 1\}, \qquad L_s(x) = -(b_s + G_s x).

At any point the estimator's own tail weights (:func:`tail_cut`) attain the maximum, so
the plane :math:`t \ge \omega^\top L(x)` is a global lower bound that touches the
function there: value and plane come from one matrix-vector product over the scenarios
and a selection of the tail (O(N)), and the master problem holds only the positions,
the mandate's limits and K planes (no N-sized cvxpy object).

**Method** (a proximal bundle with Kelley steps for the certificate). The master
minimises the planes' maximum plus the other objective terms, within the limits. Most
steps add a proximal term :math:`\|x - \hat x\|^2 \mu / 2` around the centre
:math:`\hat x`, which moves on a serious step (the true objective fell by a tenth of the
predicted decrease; else a null step and a larger :math:`\mu`). Every few steps, and
whenever the predicted decrease is small, the proximal term is off and the master is the
plain cutting-plane LP: its optimum is a lower bound of the true optimum (the planes lie
below the function), valid when its solution is inside a box around the centre that is
only there to bound it (it grows when it binds at a point better than the centre: the
function still falls beyond it; a worse point at its edge only adds its plane). The loop
stops when the true objective at that LP's solution is within ``tol`` (1e-9 relative) of
the LP's optimum: the solution is then optimal to the certificate, and the LP's duals
price the limits (the planes' optimal value function lies below the true one and touches
it there, so its subgradients are the true one's). The result reports both bounds and the gap.

Warm starts: planes stay valid when only limits change; after ``alpha`` rises they stay
valid (:math:`Q_\alpha \subset Q_{\alpha'}`), after it falls each is blended with the
mean-loss plane (:math:`\lambda \omega + (1-\lambda) p \in Q_{\alpha'}` for
:math:`\lambda = \frac{\alpha'/(1-\alpha')}{\alpha/(1-\alpha)}`); new scenarios or a new
book clear them, and the last solution becomes the first centre.

With whole contracts solved exactly (a MILP), the master has no proximal term: plain
cutting planes, each master a MILP (HiGHS), the last one's bound the certificate.

The master holds ``K`` planes; when they are all in use, the one unused longest (zero
dual) is replaced, never one of the last ``n + 1`` made (evicting a plane the next LP
needs and making it again is how Kelley steps cycle).
"""

from __future__ import annotations

import math

import cvxpy as cp
import numpy as np

from constraints import HedgeContext, HedgeData, RebuildRequired
from optihedge.errors import UnboundedError
from optihedge.measures.risk import tail_rows
from optihedge.optimize.terms import TermReport

__all__ = ["CERTIFICATE_SETTINGS", "FALLBACK_OPTION", "CuttingPlanes", "tail_cut"]

TOLERANCE = 1e-9  # relative gap of the certificate
_LP_EVERY = 6  # a Kelley step (lower bound) at least this often
_MAX_ITERATIONS = 2_000
#: iterations after which a method chosen by ``"auto"`` hands the solve to the active set
_AUTO_BUDGET = 400
#: build option set when it does (the reason, stated in the result)
FALLBACK_OPTION = "expected_shortfall.fallback"
_MU0 = 1.0  # first proximal weight (positions ~1, objective scaled to ~1)
_NULL = 1.5  # the proximal weight grows by this after a null step
_MU_MAX = 1e4  # beyond this the proximal steps stay at the centre: no new information
_SERIOUS = 0.1  # share of the predicted decrease a serious step must realise
_BOX = 10.0  # half-width of the box bounding the Kelley steps, per unit of scale
_BOX_LIMIT = 1e5  # a box this wide still binding (positions 1e5 x the book): unbounded
#: Clarabel's tolerances for the master: its optimum is the certificate's lower bound,
#: so it must be far more accurate than the 1e-9 gap (Clarabel's defaults are 1e-8)
CERTIFICATE_SETTINGS: dict[str, float] = {
    "tol_gap_abs": 1e-13,
    "tol_gap_rel": 1e-13,
    "tol_feas": 1e-12,
    "tol_ktratio": 1e-10,
}


def tail_cut(
    book: np.ndarray,
    pnl: np.ndarray,
    p: np.ndarray,
    alpha: float,
    x: np.ndarray,
    *,
    equal: bool = False,
    hint: float | None = None,
) -> tuple[float, float, np.ndarray, float]:
    r"""Return the expected shortfall at ``x`` and its tight plane :math:`a + g^\top y`.

    The same estimator as ``optihedge.risk.expected_shortfall`` (ties at the VaR share
    the boundary mass); work: one product ``pnl @ x`` and an O(N) selection of the tail
    (with unequal probabilities, a sort of a candidate tail only). ``equal`` says that
    every probability is ``1/N`` (no sort at all); then ``hint``, a loss level the tail
    probably lies above (from the last point), narrows the selection to the scenarios
    above it, checked: too few and the selection is over all of them.

    Returns
    -------
    es, a, g, hint : float, float, ndarray, float
        ``es = a + g @ x``; ``a + g @ y <= ES(y)`` for every ``y``; a hint for the next
        point (the VaR less the mean excess loss beyond it).
    """
    losses = scenario_losses(book, pnl, x)
    rows, w, var = tail_rows(losses, None if equal else p, alpha, hint=hint)
    g = -(w @ pnl[rows])
    a = -float(w @ book[rows])
    es = float(w @ losses[rows])
    return es, a, np.asarray(g, dtype=np.float64), var - (es - var)


_BLOCK = 1 << 16  # rows converted at a time when the P&L is held in float32


def scenario_losses(book: np.ndarray, pnl: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Return the hedged book's loss in each scenario, ``-(book + pnl @ x)``, in float64.

    One pass over the scenarios (:func:`_times`), then in place.
    """
    losses = _times(pnl, x)
    losses += book
    np.negative(losses, out=losses)
    return losses


def first_centre(book: np.ndarray, pnl: np.ndarray) -> np.ndarray:
    """Return a least-squares hedge of the book (on at most 20,000 scenarios, evenly spaced)."""
    n = len(book)
    rows = np.arange(n) if n <= 20_000 else np.linspace(0, n - 1, 20_000).astype(int)
    x0, *_ = np.linalg.lstsq(pnl[rows], -book[rows], rcond=None)
    return np.asarray(np.nan_to_num(x0), dtype=np.float64)


def _times(pnl: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Return ``pnl @ x`` in float64 arithmetic, whatever dtype ``pnl`` is held in.

    A float32 matrix is converted a block of rows at a time (numpy would otherwise copy
    all of it to float64 for the product, or compute in float32).
    """
    if pnl.dtype == np.float64:
        return np.asarray(pnl @ x)
    out = np.empty(len(pnl))
    for start in range(0, len(pnl), _BLOCK):
        block = pnl[start : start + _BLOCK]
        out[start : start + len(block)] = block.astype(np.float64) @ x
    return out


class CuttingPlanes:
    """The cutting-plane expected-shortfall term compiled into one problem."""

    def __init__(
        self, ctx: HedgeContext, alpha: float, weight: float, slots: int, *, auto: bool = False
    ) -> None:
        n = len(ctx.instruments)
        self.n, self.k = n, slots
        self.auto = auto  # chosen by "auto": an exact fallback when no certificate comes
        self.t = cp.Variable(name="es_model")
        # the planes as rows [a, g]: one parameter, set once per iteration
        self.planes = cp.Parameter((slots, n + 1))
        self.box_lo, self.box_hi = cp.Parameter(n), cp.Parameter(n)
        self.proximal = not ctx.exact_integer  # a MILP master takes plain planes
        self.constraints: list[cp.Constraint] = [
            self.t >= self.planes[:, 0] + self.planes[:, 1:] @ ctx.x,
            ctx.x >= self.box_lo,
            ctx.x <= self.box_hi,
        ]
        self.expression: cp.Expression = self.t
        self.box_now: tuple[float, ...] = ()  # the box last set (parameters set on change)
        self.prox_now: tuple[float, ...] = ()
        if self.proximal:
            self.s, self.v = cp.Parameter(), cp.Parameter(n)
            self.prox: cp.Expression = cp.sum_squares(self.s * ctx.x - self.v)
            self.expression = self.t + self.prox
        self.problem: cp.Problem | None = None
        self.data: HedgeData | None = None
        self.alpha, self.weight = alpha, weight
        self.scale = 1.0
        # planes, unscaled ES units: value a + g @ x
        self.cut_a = np.zeros(0)
        self.cut_g = np.zeros((0, n))
        self.cut_age = np.zeros(0)
        self.cut_born = np.zeros(0)  # the pass that made each plane
        self.mean_cut: tuple[float, np.ndarray] | None = None
        self.centre: np.ndarray | None = None
        self.passes = 0
        self.lower = -math.inf
        self.upper = math.inf
        self.gap = math.inf
        self.certified = False
        # the arrays the planes were made from (held, so compared by identity safely)
        self.made_from: tuple[np.ndarray, ...] = ()
        self.equal = False
        self.hint: float | None = None  # where the last point's tail began, roughly

    # ------------------------------------------------------------------ set-up
    def bind(self, problem: cp.Problem) -> None:
        """Remember the master problem (its value gives the other terms' part)."""
        self.problem = problem

    def refresh(self, data: HedgeData, alpha: float, weight: float) -> None:
        """Take new numbers: keep the planes, rescale them (alpha fell) or clear them."""
        assert data.scenario_book is not None
        assert data.scenario_pnl is not None
        p = data.scenario_probabilities
        assert p is not None
        arrays = (data.scenario_book, data.scenario_pnl, p)
        same = len(self.made_from) == 3 and all(
            a is b for a, b in zip(arrays, self.made_from, strict=True)
        )
        if not same:
            self.cut_a, self.cut_g = np.zeros(0), np.zeros((0, self.n))
            self.cut_age = np.zeros(0)
            self.cut_born = np.zeros(0)
            self.mean_cut = (-float(p @ data.scenario_book), -(p @ data.scenario_pnl))
            self.equal = bool(np.all(p == p[0]))
            self.hint = None
            self.made_from = arrays
        elif alpha < self.alpha and len(self.cut_a):
            lam = (alpha / (1.0 - alpha)) / (self.alpha / (1.0 - self.alpha))
            assert self.mean_cut is not None
            ma, mg = self.mean_cut
            self.cut_a = lam * self.cut_a + (1.0 - lam) * ma
            self.cut_g = lam * self.cut_g + (1.0 - lam) * mg
        self.data, self.alpha, self.weight = data, alpha, weight
        self.scale = weight * data.objective_scale
        if self.centre is None or len(self.centre) != self.n:
            self.centre = self._first_centre(data)
        if not len(self.cut_a):
            self._add(self.centre)

    def start(self) -> None:
        """Start a solve's loop: the planes kept, the bounds and the step size anew."""
        self.lower, self.upper, self.gap = -math.inf, math.inf, math.inf
        self.certified = False
        self.best: tuple[float, np.ndarray] | None = None
        self.centre_value = math.inf
        self.mu = _MU0
        self.step = 0
        assert self.centre is not None  # set by refresh
        self.size = max(1.0, float(np.abs(self.centre).max(initial=0.0)))
        self.box = _BOX * self.size  # half-width of the Kelley steps' box
        if self.proximal and len(self.cut_a) <= self.n + 1:
            self._proximal_step()
        else:  # planes kept from the last solve: their LP may certify at once
            self._kelley_step()

    def _first_centre(self, data: HedgeData) -> np.ndarray:
        """Return a least-squares hedge of the book (:func:`first_centre`)."""
        assert data.scenario_book is not None
        assert data.scenario_pnl is not None
        return first_centre(data.scenario_book, data.scenario_pnl)

    # ------------------------------------------------------------------ planes
    def _evaluate(self, x: np.ndarray) -> tuple[float, float, np.ndarray]:
        data = self.data
        assert data is not None
        assert data.scenario_book is not None
        assert data.scenario_pnl is not None
        assert data.scenario_probabilities is not None
        self.passes += 1
        es, a, g, self.hint = tail_cut(
            data.scenario_book,
            data.scenario_pnl,
            data.scenario_probabilities,
            self.alpha,
            x,
            equal=self.equal,
            hint=self.hint,
        )
        return es, a, g

    def _add(self, x: np.ndarray) -> float:
        """Evaluate the ES at ``x``, keep its plane; return the ES (unscaled)."""
        es, a, g = self._evaluate(x)
        if len(self.cut_a) < self.k:
            self.cut_a = np.append(self.cut_a, a)
            self.cut_g = np.vstack([self.cut_g, g])
            self.cut_age = np.append(self.cut_age, 0.0)
            self.cut_born = np.append(self.cut_born, float(self.passes))
        else:
            # replace the plane unused longest, never one of the last n + 1 made (a plane
            # just evicted and made again is how Kelley steps cycle)
            age = np.where(self.cut_born > self.passes - (self.n + 1), -1.0, self.cut_age)
            slot = int(np.argmax(age))
            self.cut_a[slot], self.cut_g[slot], self.cut_age[slot] = a, g, 0.0
            self.cut_born[slot] = float(self.passes)
        return es

    def _load(self) -> None:
        """Write the planes into the slots (spare slots repeat the first plane)."""
        m = len(self.cut_a)
        rows = np.empty((self.k, self.n + 1))
        rows[:m, 0], rows[:m, 1:] = self.cut_a, self.cut_g
        rows[m:] = rows[0]
        self.planes.value = self.scale * rows

    def _set_box(self, centre: np.ndarray, half: float) -> None:
        key = (half, *centre)
        if key != self.box_now:
            self.box_lo.value = centre - half
            self.box_hi.value = centre + half
            self.box_now = key

    def _set_prox(self, root: float, centre: np.ndarray) -> None:
        key = (root, *centre)
        if key != self.prox_now:
            self.s.value = root
            self.v.value = root * centre
            self.prox_now = key

    def _proximal_step(self) -> None:
        assert self.centre is not None
        self._load()
        self._set_prox(math.sqrt(self.mu / 2.0), self.centre)
        self._set_box(self.centre, _BOX_LIMIT * self.size)  # no bound in effect
        self.kind = "proximal"

    def _kelley_step(self) -> None:
        assert self.centre is not None
        self._load()
        if self.proximal:
            self._set_prox(0.0, np.zeros(self.n))
        self._set_box(self.centre, self.box)
        self.kind = "kelley"

    # ------------------------------------------------------------------ loop
    def refine(self, x: np.ndarray) -> bool:
        """Evaluate the ES at the master's solution; True while another master is due."""
        problem = self.problem
        assert problem is not None
        assert self.centre is not None
        self.step += 1
        t_value = float(self.t.value)
        prox = float(self.prox.value) if self.proximal and self.kind == "proximal" else 0.0
        others = float(problem.value) - t_value - prox  # the other terms at x
        model = t_value + others
        es = self._add(x)
        true = self.scale * es + others
        inside, grew = True, False
        prior = self.best[0] if self.best is not None else math.inf  # the best before x
        # the planes' usage: those the master does not lean on (zero dual) age
        self.cut_age += 1.0
        duals = self.constraints[0].dual_value
        if duals is not None and len(self.cut_a) > 1:
            weights = np.asarray(duals, dtype=np.float64)[: len(self.cut_a) - 1]
            leaned = weights > 1e-6 * max(float(weights.max(initial=0.0)), 1e-300)
            self.cut_age[: len(weights)][leaned] = 0.0
        if self.best is None or true < self.best[0]:
            self.best = (true, x.copy())
        if self.kind == "final":
            self.upper, self.gap = true, true - self.lower
        elif self.kind == "kelley":
            half = self.box
            inside = bool(np.all(np.abs(x - self.centre) < half * (1.0 - 1e-9)))
            # what a point at the box's edge must beat to show the function still falls
            # beyond it: the centre's value, or while that is unknown (a solve that starts
            # on kept planes, whole contracts' masters) the best point before this one
            reference = self.centre_value if self.centre_value < math.inf else prior
            if inside:
                self.lower = max(self.lower, float(problem.value))
                self.upper = true
                self.gap = true - float(problem.value)
                # a gap below zero beyond roundoff is the master's inaccuracy: no certificate
                if problem.status == cp.OPTIMAL and abs(self.gap) <= TOLERANCE * max(
                    abs(true), 1e-6
                ):
                    self.certified = True
                    self.centre = x.copy()
                    return False
            elif true < reference < math.inf:
                # the box bounded the LP (its value is no bound yet) and the function
                # still falls at its edge: the minimum may lie beyond, the box grows. A
                # point at the edge no better only lacks planes: its plane cuts that
                # corner off, and the centre stays (growing at every edge step reached
                # the limit in a few steps with 10 instruments and no bounds, and called
                # a bounded problem unbounded)
                grew = True
                self.box *= 10.0
                if self.box > _BOX_LIMIT * self.size:
                    raise UnboundedError(
                        "The expected shortfall falls without limit as the positions grow "
                        f"(the cutting-plane LP still at the edge of a box of half-width "
                        f"{half:.3g} times the book): add bounds (Bounds, GrossExposure) on "
                        "the instruments."
                    )
            if true < self.centre_value and (inside or grew):  # the centre moves there
                self.centre, self.centre_value = x.copy(), true
        elif self.centre_value == math.inf:  # the first centre's value is unknown
            self.centre, self.centre_value = x.copy(), true
        else:
            predicted = self.centre_value - model
            if true <= self.centre_value - _SERIOUS * predicted:
                self.centre, self.centre_value = x.copy(), true
                self.mu = max(self.mu * 0.5, 1e-8)
            else:
                self.mu = min(self.mu * _NULL, _MU_MAX)
        if self.auto and self.step >= _AUTO_BUDGET:
            raise RebuildRequired(
                {
                    FALLBACK_OPTION: f"cutting planes reached no certificate in {self.step} "
                    f"iterations (gap {self.gap / max(self.scale, 1e-300):.2g})"
                },
                "cutting planes gave way to the active set",
            )
        if self.step >= _MAX_ITERATIONS:
            if self.kind == "final":
                return False  # reported uncertified: the bounds say how far
            # end at the best point found (a plain LP boxed tightly around it: its
            # value and duals, no proximal term), not wherever the last LP jumped
            assert self.best is not None
            self._kelley_step()
            self._set_box(self.best[1], 1e-9 * self.size)
            self.kind = "final"
            return True
        near = self.best is not None and self.best[0] - self.lower <= TOLERANCE * max(
            abs(self.best[0]), 1e-6
        )
        predicted_small = self.kind == "proximal" and self.centre_value - model <= TOLERANCE * max(
            abs(self.centre_value), 1e-6
        )
        if (
            not self.proximal
            or near
            or predicted_small
            or self.step % _LP_EVERY == 0
            or (self.kind == "kelley" and grew)
        ):
            self._kelley_step()
        else:
            self._proximal_step()
        return True

    def report(self) -> TermReport:
        """Return the method's work and its certificate, in the objective's units.

        ``objective_lower_bound`` and ``objective_upper_bound`` (in ``details``) bracket
        the optimal value of the whole objective (the expected shortfall alone when it is
        the only term); ``certificate_gap`` is their difference at the reported positions.
        """
        unit = self.data.objective_scale if self.data is not None else 1.0
        return TermReport(
            scenario_alpha=self.alpha,
            shortfall_method="cutting_plane",
            certified=self.certified,
            certificate_gap=self.gap / unit,
            notes=()
            if self.certified
            else (
                f"The cutting-plane certificate was not reached in {self.step} iterations: "
                f"the expected shortfall is within {self.gap / unit:.3g} of the optimum "
                "(upper minus lower bound); force method='active_set' for an exact solve.",
            ),
            details={
                "cutting_plane_slots": self.k,
                "cutting_plane_iterations": self.step,
                "scenario_passes": self.passes,
                "objective_lower_bound": self.lower / unit,
                "objective_upper_bound": self.upper / unit,
            },
        )

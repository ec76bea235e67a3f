"""A binding limit's one-sided slopes, measured by re-solving with the limit moved.

The limit table promises "objective improvement per unit of relaxation": the one-sided
derivative of the optimum as the limit alone is relaxed. A solver's multiplier is that
number only where the multipliers are unique. Where they are not (two limits on the same
quantity, a limit that cannot be tightened, a tail scenario tied with another) the set of
optimal multipliers is an interval, possibly unbounded, and a solver answers with an
arbitrary point of it: an interior-point solver its centre, a simplex solver a vertex, a
cutting-plane master the multiplier of its own planes.

The dense active set (``optimize.direct``) computes the interval exactly. Every other path
measures it here: for each binding scalar limit with a parameter key, a re-solve with the
limit relaxed by a small step (:data:`STEP` relative) gives the relaxing slope, and, unless
an interior-point multiplier already equals it (the centre of the interval is its end only
when the interval is one point), a re-solve with the limit tightened gives the tightening
slope. Each side is the multiplier of the moved problem where that agrees with the
difference quotient (exact where the optimum is linear in the limit, as for expected
shortfall, and within ``O(step)`` where it is quadratic), else the quotient itself. When
the two sides differ the limit is *degenerate*: the table reports the relaxing side and
says what tightening costs (``inf`` when tightening leaves nothing feasible).

An interior-point solver stops at a tolerance, not at a vertex: a moved problem whose
optimum lies within that tolerance of a kink answers with a blend of the two pieces'
multipliers, pulled towards the other side of the kink more the smaller the step. A side
whose moves then neither agree nor line up, or agree only to :data:`AGREE` and not to the
solver's accuracy, or only after the first move (blends pass both), is measured again
by *tight* re-solves (the caller's ``tight`` probe, at :data:`TIGHT` tolerances), whose
blend is far smaller; the tight answer replaces the first where it settles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["STEP", "TIGHT", "Probe", "Slopes", "measure"]

#: relative step of the re-solves (of ``max(1, |limit|)``)
STEP = 1e-5
#: two slopes closer than this (relative) are one
SAME = 1e-3
#: a moved problem's multiplier and the difference quotient closer than this (relative)
#: say that no kink lies within the step
AGREE = 1e-4
#: moves per side at most, each :data:`SHRINK` times smaller than the one before
TRIES = 3
SHRINK = 8.0
#: an interior-point solver's gap and feasibility tolerances for the tight re-solves
#: (Clarabel's defaults are 1e-8; the tie-break's second stage solves at 1e-10 as well)
TIGHT = 1e-10

Probe = Callable[[str, float], "tuple[float, float, float] | None"]
Settled = Literal["precise", "loose", "unsettled"]
"""How a side's slope was told: within the solver's accuracy, only within :data:`AGREE`
(relative), or not at all."""
"""``probe(key, value)``: re-solve with the key at value; ``(objective, limit, multiplier)``
of that limit's row (``objective`` is ``inf`` when nothing is feasible), or None when the
value is out of the key's range or no solver answered."""


@dataclass(frozen=True)
class Slopes:
    """What relaxing a limit gains and tightening it costs, per unit of the limit."""

    relaxing_gains: float
    tightening_costs: float

    @property
    def degenerate(self) -> bool:
        """True when the two sides differ: the solver's multiplier is not one number."""
        return self.tightening_costs != self.relaxing_gains


def _close(a: float, b: float, noise: float, agree: float = SAME) -> bool:
    return abs(a - b) <= agree * max(abs(a), abs(b)) + noise


#: a solver's optimum is good to about this much of ``1 + |objective * scale|`` (Clarabel
#: at its default tolerances; the solver sees the objective scaled to order one) ...
OPTIMUM_ACCURACY = 1e-7
#: ... and its multipliers to about this much (of order-one scaled multipliers)
MULTIPLIER_ACCURACY = 1e-5


def _side(
    probe: Probe,
    value: float,
    key: str,
    size: float,
    scale: float,
    at: tuple[float, float],
    direction: float,
    step: float,
) -> tuple[float, float, Settled] | None:
    """One side's slope per unit, its accuracy and how it settled; None when unmeasured.

    ``at``: the optimum and the row's limit now. The slope is an improvement on the
    relaxing side and a cost on the tightening side. The limit is moved by ``step`` in
    ``direction``; the moved problem's multiplier is the slope of the piece of the
    optimum it lies on, which is the one-sided slope here unless a kink lies within the
    step. It is taken when the difference quotient confirms it (they agree and the
    quotient is accurate enough to tell), or when a move :data:`SHRINK` times smaller
    (or any earlier move) gives the same multiplier; else the move shrinks (at most
    :data:`TRIES` moves). An infeasible move (a paired limit within the step) shrinks
    too; a side that stays infeasible (or out of the key's range) costs ``inf``. Three
    multipliers on a line in the step (a curved piece: a variance optimum is quadratic
    in a limit) are extrapolated to a zero step. The slope is *precise* when the first
    move is confirmed (by its quotient or by a later move) to the solver's accuracy,
    *loose* when only to :data:`AGREE` (relative: a blend near a kink passes that) or
    only by two later moves (two blends can agree), and a side whose
    :data:`TRIES` finite multipliers do none of these is *unsettled* (its best is the
    nearest move's multiplier, with their spread as its accuracy).
    """
    objective, limit = at
    accuracy = MULTIPLIER_ACCURACY / scale
    best: tuple[float, float, Settled] | None = None
    before: list[float] = []
    steps: list[float] = []
    for _ in range(TRIES):
        got = probe(key, value + direction * step)
        step /= SHRINK
        if got is None:
            return best
        moved_objective, moved_limit, multiplier = got
        if not np.isfinite(moved_objective):
            best = (np.inf, 0.0, "precise")
            continue
        moved = abs(moved_limit - limit)
        if not moved > 0.0:
            return best
        quotient = abs(objective - moved_objective) / moved
        noise = OPTIMUM_ACCURACY * size / moved
        told = noise <= AGREE * abs(multiplier) and _close(multiplier, quotient, noise, AGREE)
        if told or any(_close(multiplier, b, accuracy, AGREE) for b in before):
            # precise: the first move confirmed, to the solver's accuracy (a later move
            # agreeing only with another later one may be a blend as well)
            precise = (
                _close(multiplier, before[0], accuracy, 0.0)
                if before
                else told and _close(multiplier, quotient, noise + accuracy, 0.0)
            )
            return float(multiplier), accuracy, "precise" if precise else "loose"
        before.append(float(multiplier))
        steps.append(moved)
        best = (float(multiplier), max(before) - min(before) + accuracy, "precise")
    if len(before) == TRIES and all(
        np.isfinite(steps)
    ):  # a curved piece (variance): the multiplier linear in the step, extrapolated to 0
        (m1, m2, m3), (h1, h2, h3) = before, steps
        slope_far, slope_near = (m1 - m2) / (h1 - h2), (m2 - m3) / (h2 - h3)
        if _close(slope_far, slope_near, 0.0, SAME):
            return m3 - slope_near * h3, abs(m3 - m2) * h3 / (h2 - h3) + accuracy, "precise"
        assert best is not None
        return best[0], best[1], "unsettled"
    return best


def _settled_side(
    probe: Probe,
    tight: Probe | None,
    value: float,
    key: str,
    size: float,
    scale: float,
    at: tuple[float, float],
    direction: float,
    step: float,
) -> tuple[float, float] | None:
    """:func:`_side` with ``probe``; again with ``tight`` when that was not precise.

    The tight answer is taken when it settles (precisely or loosely); else the first
    one stands.
    """
    got = _side(probe, value, key, size, scale, at, direction, step)
    if got is not None and got[2] != "precise" and tight is not None:
        again = _side(tight, value, key, size, scale, at, direction, step)
        if again is not None and again[2] != "unsettled":
            got = again
    return None if got is None else (got[0], got[1])


def measure(
    probe: Probe,
    key: str,
    value: float,
    *,
    relax_sign: float,
    objective: float,
    limit: float,
    multiplier: float,
    interior: bool,
    scale: float = 1.0,
    tight: Probe | None = None,
) -> Slopes | None:
    """Measure a binding limit's one-sided slopes by re-solves (see the module's text).

    Parameters
    ----------
    probe : callable
        See :data:`Probe`.
    key, value : str, float
        The limit's parameter key and its value now.
    relax_sign : float
        +1 when a larger value relaxes the limit (a maximum), -1 when a smaller does.
    objective, limit, multiplier : float
        The optimum, the row's limit and the solver's multiplier (per unit) now.
    interior : bool
        The multiplier is the centre of the optimal set (an interior-point solver): when
        it equals the relaxing slope, the set is one point and no tightening re-solve is
        needed.
    scale : float, default 1
        The objective's scale (the solver sees ``objective * scale``, of order one),
        which sets the accuracy of the solver's numbers (:data:`OPTIMUM_ACCURACY`,
        :data:`MULTIPLIER_ACCURACY`).
    tight : callable, optional
        Like ``probe``, re-solving at :data:`TIGHT` tolerances (or None where it cannot,
        e.g. a solver that is not Clarabel): asked only for a side whose moves did not
        settle (an interior-point multiplier blended across a kink; see the module's text).

    Returns
    -------
    Slopes or None
        None when the relaxing side could not be measured (the solver's multiplier
        stands).
    """
    step = STEP * max(1.0, abs(value))
    size = 1.0 / scale + abs(objective)
    now = (objective, limit)
    relaxed = _settled_side(probe, tight, value, key, size, scale, now, relax_sign, step)
    if relaxed is None or not np.isfinite(relaxed[0]):
        return None
    gain, noise = relaxed
    if interior and _close(multiplier, gain, noise + MULTIPLIER_ACCURACY / scale):
        return Slopes(float(multiplier), float(multiplier))
    tightened = _settled_side(probe, tight, value, key, size, scale, now, -relax_sign, step)
    if tightened is None:
        tightened = (np.inf, 0.0)  # out of the key's range: the limit cannot be tightened
    cost, other = tightened
    if np.isfinite(cost) and _close(cost, gain, noise + other):
        return Slopes(gain, gain)
    return Slopes(gain, max(cost, gain))

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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["STEP", "Probe", "Slopes", "measure"]

#: relative step of the re-solves (of ``max(1, |limit|)``)
STEP = 1e-5
#: two slopes closer than this (relative) are one
AGREE = 1e-3

Probe = Callable[[str, float], "tuple[float, float, float] | None"]
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


def _close(a: float, b: float, noise: float) -> bool:
    return abs(a - b) <= AGREE * max(abs(a), abs(b)) + noise


#: a solver's optimum is good to about this much of ``1 + |objective * scale|`` (Clarabel
#: at its default tolerances; the solver sees the objective scaled to order one) ...
OPTIMUM_ACCURACY = 1e-7
#: ... and its multipliers to about this much (of order-one scaled multipliers)
MULTIPLIER_ACCURACY = 1e-5


def _side(
    probe: Probe, value: float, key: str, size: float, scale: float, at: tuple[float, float]
) -> tuple[float, float] | None:
    """One side's slope per unit and its accuracy, or None when it cannot be measured.

    ``at``: the optimum and the row's limit now. The slope is an improvement on the
    relaxing side and a cost on the tightening side; a side that leaves nothing feasible
    (or a value out of the key's range) costs ``inf``.
    """
    objective, limit = at
    got = probe(key, value)
    if got is None:
        return None
    moved_objective, moved_limit, multiplier = got
    if not np.isfinite(moved_objective):
        return np.inf, 0.0
    moved = abs(moved_limit - limit)
    if not moved > 0.0:
        return None
    quotient = abs(objective - moved_objective) / moved
    noise = OPTIMUM_ACCURACY * size / moved
    if _close(multiplier, quotient, noise):  # the moved problem's multiplier is unique
        return float(multiplier), MULTIPLIER_ACCURACY / scale
    return float(quotient), noise


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

    Returns
    -------
    Slopes or None
        None when the relaxing side could not be measured (the solver's multiplier
        stands).
    """
    step = STEP * max(1.0, abs(value))
    size = 1.0 / scale + abs(objective)
    relaxed = _side(probe, value + relax_sign * step, key, size, scale, (objective, limit))
    if relaxed is None or not np.isfinite(relaxed[0]):
        return None
    gain, noise = relaxed
    if interior and _close(multiplier, gain, noise + MULTIPLIER_ACCURACY / scale):
        return Slopes(float(multiplier), float(multiplier))
    tightened = _side(probe, value - relax_sign * step, key, size, scale, (objective, limit))
    if tightened is None:
        tightened = (np.inf, 0.0)  # out of the key's range: the limit cannot be tightened
    cost, other = tightened
    if np.isfinite(cost) and _close(cost, gain, noise + other):
        return Slopes(gain, gain)
    return Slopes(gain, max(cost, gain))

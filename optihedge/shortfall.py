r"""The expected-shortfall objective (Rockafellar-Uryasev), exact and fast.

.. math::
    \mathrm{ES}_\alpha(x) = \min_\zeta \; \zeta + \frac{1}{1-\alpha}
    \sum_s p_s \big(L_s(x) - \zeta\big)_+, \qquad L_s(x) = -(b_s + G_s x)

with :math:`b_s` the book's return and :math:`G_s` the instruments' returns per unit of
x in scenario s (fractions of the book's value over the horizon).

**Exact scenario active set** (``method="active_set"``, the default). The LP keeps K
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
"""

from __future__ import annotations

import math
from typing import Literal

import cvxpy as cp
import numpy as np

from constraints import HedgeContext, HedgeData
from optihedge._validation import check_scalar
from optihedge.errors import SpecificationError
from optihedge.objectives import Objective
from optihedge.risk import expected_shortfall

__all__ = ["ExpectedShortfall"]

_MIN_SLOTS = 256
_RESELECT_ROUNDS = 3  # then only swap violators in, which terminates monotonically


class CapacityExceededError(RuntimeError):
    """The active set outgrew its slots; the problem recompiles with more."""


class ExpectedShortfall(Objective):
    """Expected shortfall of the hedged book over the scenarios, at level ``alpha``.

    Parameters
    ----------
    alpha : float, default 0.95
        Confidence level in (0, 1). Parameter ``"expected_shortfall.alpha"``.
    method : {"active_set", "lp"}, default "active_set"
        Exact scenario active set, or the plain LP over all scenarios.
    capacity : int, optional
        Scenario slots of the active-set LP; about three times the tail plus a margin
        by default. It doubles (one recompile) if ever too small.
    weight : float, default 1.0
    """

    def __init__(
        self,
        alpha: float = 0.95,
        *,
        method: Literal["active_set", "lp"] = "active_set",
        capacity: int | None = None,
        weight: float = 1.0,
    ) -> None:
        super().__init__(weight)
        self.alpha = self._check_alpha(alpha)
        if method not in ("active_set", "lp"):
            raise SpecificationError(
                f"The 'method' parameter of ExpectedShortfall must be 'active_set' or 'lp'. "
                f"Got {method!r} instead."
            )
        self.method = method
        self.capacity = capacity
        self._active: np.ndarray | None = None
        self._data: HedgeData | None = None
        self.iterations = 0

    @staticmethod
    def _check_alpha(alpha: float) -> float:
        return check_scalar(
            alpha, "alpha", lower=0.0, upper=1.0, lower_inclusive=False, upper_inclusive=False
        )

    # --------------------------------------------------------------- protocol
    def parameters(self) -> dict[str, float]:
        """Named parameters: the confidence level."""
        return {"expected_shortfall.alpha": self.alpha}

    def set_parameter(self, key: str, value: float) -> None:
        """Change alpha; the next solve uses it without recompiling."""
        if key != "expected_shortfall.alpha":
            raise SpecificationError(f"ExpectedShortfall has no parameter {key!r}.")
        self.alpha = self._check_alpha(value)
        if self._data is not None:
            self._check_tail(self._data)
            self._active = None  # the tail moved: start the active set afresh
            self.update(self._data)

    def reference(self, data: HedgeData) -> float:
        """Return the expected shortfall of the unhedged book (scales the objective)."""
        book, _, p = self._arrays(data)
        return self.weight * expected_shortfall(book, self.alpha, p)

    def _arrays(self, data: HedgeData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if data.scenario_book is None or data.scenario_pnl is None:
            raise SpecificationError(
                "ExpectedShortfall needs scenarios: pass scenarios=Scenarios(...) to the problem."
            )
        p = data.scenario_probabilities
        assert p is not None
        return data.scenario_book, data.scenario_pnl, p

    def _check_tail(self, data: HedgeData) -> None:
        _, _, p = self._arrays(data)
        tail = 1.0 - self.alpha
        if tail < float(p.max()) - 1e-15 and tail * len(p) < 1.0 - 1e-12:
            raise SpecificationError(
                f"alpha={self.alpha!r} leaves a tail of {tail * len(p):.3g} scenario(s) out of "
                f"{len(p)}: fewer than one. Lower alpha or add scenarios."
            )

    def _slots(self, data: HedgeData) -> int:
        _, _, p = self._arrays(data)
        n = len(p)
        if self.method == "lp":
            return n
        if self.capacity is not None:
            return min(n, int(self.capacity))
        tail = math.ceil((1.0 - self.alpha) * n)
        return min(n, max(_MIN_SLOTS, 2 * tail + 100))

    def build(self, ctx: HedgeContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        """Build the RU LP over K scenario slots (all scenarios with ``method="lp"``)."""
        data = ctx.data
        self._check_tail(data)
        k = self._slots(data)
        n = len(ctx.instruments)
        self.zeta = cp.Variable(name="var_level")
        self._u = cp.Variable(k, nonneg=True)
        self._g = cp.Parameter((k, n))
        self._b = cp.Parameter(k)
        self._q = cp.Parameter(k, nonneg=True)
        self._c = cp.Parameter(nonneg=True)
        loss = -(self._b + self._g @ ctx.x)
        cons = [self._u >= loss - self.zeta]
        self._active = None
        return self._c * self.zeta + self._q @ self._u, cons

    def update(self, data: HedgeData) -> None:
        """Set scenario slots (keeping the last active set as a warm start)."""
        self._data = data
        book, pnl, p = self._arrays(data)
        k = self._g.shape[0]
        if self.method == "lp":
            active = np.arange(len(p))
        elif self._active is None or len(self._active) != k or self._active.max() >= len(p):
            active = self._initial(book, pnl, k)
        else:
            active = self._active
        self._load(active)

    def _initial(self, book: np.ndarray, pnl: np.ndarray, k: int) -> np.ndarray:
        x0, *_ = np.linalg.lstsq(pnl, -book, rcond=None)
        losses = -(book + pnl @ x0)
        return np.sort(np.argpartition(losses, -k)[-k:])

    def _load(self, active: np.ndarray) -> None:
        assert self._data is not None
        book, pnl, p = self._arrays(self._data)
        scale = self.weight * self._data.objective_scale
        self._active = np.asarray(active, dtype=int)
        self._g.value = pnl[self._active]
        self._b.value = book[self._active]
        self._q.value = scale * p[self._active] / (1.0 - self.alpha)
        self._c.value = scale

    def refine(self, x: np.ndarray) -> bool:
        """Swap in scenarios whose loss exceeds the VaR level; True if another solve is due."""
        if self.method == "lp" or self._active is None or self.zeta.value is None:
            return False
        assert self._data is not None
        book, pnl, _ = self._arrays(self._data)
        losses = -(book + pnl @ x)
        zeta = float(self.zeta.value)
        tol = 1e-10 * max(1.0, abs(zeta), float(np.abs(losses).max()))
        inside = np.zeros(len(losses), dtype=bool)
        inside[self._active] = True
        violators = np.flatnonzero(~inside & (losses > zeta + tol))
        if len(violators) == 0:
            self._rounds = 0
            return False
        self.iterations += 1
        self._rounds = getattr(self, "_rounds", 0) + 1
        k = len(self._active)
        if self._rounds <= _RESELECT_ROUNDS and np.count_nonzero(losses >= zeta - tol) <= k:
            # re-centre on the worst K scenarios under the current hedge
            self._load(np.sort(np.argpartition(losses, -k)[-k:]))
            return True
        keep_needed = self._active[losses[self._active] >= zeta - tol]
        spare = self._active[losses[self._active] < zeta - tol]
        room = len(self._active) - len(keep_needed)
        if len(violators) > room:
            raise CapacityExceededError(len(keep_needed) + len(violators))
        # replace the least-loss spare slots (their terms are zero) by the violators
        spare = spare[np.argsort(losses[spare])[::-1]]
        kept_spare = spare[: room - len(violators)]
        self._load(np.sort(np.concatenate([keep_needed, kept_spare, violators])))
        return True

    def exact_value(self, x: np.ndarray) -> float:
        """Return the expected shortfall over every scenario at ``x`` (fraction of book)."""
        assert self._data is not None
        book, pnl, p = self._arrays(self._data)
        return expected_shortfall(book + pnl @ x, self.alpha, p)

    def __repr__(self) -> str:
        extra = "" if self.method == "active_set" else f", method={self.method!r}"
        w = "" if self.weight == 1.0 else f", weight={self.weight!r}"
        return f"ExpectedShortfall(alpha={self.alpha!r}{extra}{w})"

    def grow(self, needed: int) -> None:
        """Raise the capacity for the next build (after CapacityExceededError)."""
        assert self._data is not None
        self.capacity = max(2 * self._g.shape[0], needed + 100)

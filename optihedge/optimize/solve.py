"""Running the solver on a compiled problem: fallbacks, refinement rounds, outcomes.

Also turns the compiled rows into the limit table a result reports (values, limits,
slack, binding flag, shadow price), so that a result is built from plain numbers.
"""

from __future__ import annotations

import difflib
import functools
import math
import numbers
import os
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import cvxpy as cp
import numpy as np
import pandas as pd

from constraints import Row
from optihedge.errors import (
    InfeasibleError,
    SolverFailedError,
    SpecificationError,
    UnboundedError,
)
from optihedge.optimize.direct import ONE_SIDED, solve_fresh
from optihedge.optimize.dual_lp import custom_solver
from optihedge.optimize.terms import CompiledTerm

__all__ = [
    "DEFAULT_SOLVERS",
    "OK",
    "check_solver_options",
    "limit_frame",
    "limit_table",
    "run",
]

DEFAULT_SOLVERS = ("CLARABEL", "SCS")
OK = (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)
INFEASIBLE = (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE)
UNBOUNDED = (cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE)
BINDING_TOL = 1e-6
_INACCURATE = "Solution may be inaccurate"
# HiGHS stops at a 1e-4 relative MIP gap by default; whole contracts must be optimal
EXACT_MIP_OPTIONS: dict[str, dict[str, Any]] = {"HIGHS": {"mip_rel_gap": 1e-9}}


# options cvxpy itself takes for any solver; the ones it is given here are refused
_CVXPY_OPTIONS = {"verbose": False, "warm_start": True}
_RESERVED = ("solver", "ignore_dpp", "gp", "qcp", "requires_grad", "enforce_dpp")


@functools.cache
def _clarabel_defaults() -> tuple[tuple[str, Any], ...]:
    """Clarabel's settings and their defaults, read once a process (0.08 ms a call)."""
    import clarabel

    defaults = clarabel.DefaultSettings()
    return tuple(
        (name, getattr(defaults, name))
        for name in dir(defaults)
        if not name.startswith("_") and not callable(getattr(defaults, name))
    )


def _clarabel_settings() -> dict[str, Any]:
    return dict(_clarabel_defaults())


@functools.cache
def _installed_solvers() -> tuple[str, ...]:
    """Return cvxpy's installed solvers, asked once a process.

    cvxpy tries to import every solver it knows on each call (about 1.3 ms, most of a
    warm sweep point's time); the solvers a process can load do not change while it
    runs. (The whole-contract plan asks cvxpy itself: a test removes SCIP mid-process.)
    """
    return tuple(cp.installed_solvers())


def check_solver_options(
    solver: Any, options: Mapping[str, Any], solvers: Sequence[str]
) -> str | None:
    """Check a solve's ``solver`` name and options before anything is applied.

    ``solvers`` are the solvers the call would try. The name must be an installed
    cvxpy solver; option names must be text, not ones this package sets itself, and
    values plain numbers, flags or text. Options for Clarabel (named, or first in
    ``solvers``) are checked against its settings by name and type; other solvers
    see their options at the solve, where a refusal is reported the same way.

    Returns
    -------
    str or None
        The solver's name in cvxpy's spelling.

    Raises
    ------
    SpecificationError
        Naming the solver or the option, and what would fix it.
    """
    installed = list(_installed_solvers())
    name: str | None = None
    if solver is not None:
        if not isinstance(solver, str) or solver.upper() not in installed:
            raise SpecificationError(
                f"The 'solver' argument must name an installed cvxpy solver, one of "
                f"{installed}. Got {solver!r}; or leave it out (Clarabel, then SCS)."
            )
        name = solver.upper()
    first = name or (solvers[0] if solvers else None)
    known = _clarabel_settings() if first == cp.CLARABEL else None
    if known is not None:
        known.update(_CVXPY_OPTIONS)
    for key, value in options.items():
        if isinstance(value, Mapping):
            raise SpecificationError(
                f"The solver option {key!r} is a mapping; pass solver options as keyword "
                "arguments of solve: solve(max_iter=500), or solve(**options)."
            )
        if not isinstance(key, str) or key in _RESERVED:
            raise SpecificationError(
                f"The solver option {key!r} cannot be passed: optihedge sets it itself"
                if key in _RESERVED
                else f"Solver option names must be text. Got {key!r}"
            )
        number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not (isinstance(value, bool | str) or value is None or number) or (
            number and not math.isfinite(float(value))
        ):
            raise SpecificationError(
                f"The solver option {key!r} must be a finite number, a flag or text. Got "
                f"{value!r} ({type(value).__name__})."
            )
        if known is None and key in _CVXPY_OPTIONS:
            known_type = {key: _CVXPY_OPTIONS[key]}  # cvxpy's own, for any solver
        elif known is None:
            continue
        else:
            known_type = known
        if key not in known_type or key == "default":
            close = difflib.get_close_matches(key, list(known_type), n=3)
            raise SpecificationError(
                f"Clarabel has no setting {key!r}"
                + (f"; did you mean {close}?" if close else ".")
                + f" Its settings are {sorted(k for k in known_type if k != 'default')}; pass "
                "another solver= for that solver's own options."
            )
        default = known_type[key]
        if isinstance(default, bool):
            good = isinstance(value, bool)
        elif isinstance(default, int):
            good = isinstance(value, numbers.Integral) and not isinstance(value, bool)
            good = good and value >= 0
        elif isinstance(default, float):
            good = number
        else:
            good = isinstance(value, type(default))
        if not good:
            raise SpecificationError(
                f"The solver option {key!r} takes a {type(default).__name__} like its "
                f"default {default!r}"
                + (" (non-negative)" if type(default) is int else "")
                + f". Got {value!r}."
            )
    return name


def stats(problem: cp.Problem, name: str) -> dict[str, Any]:
    """Return the solver's own statistics of the last solve."""
    s = problem.solver_stats
    return {
        "solver": name,
        "solve_time": getattr(s, "solve_time", None),
        "setup_time": getattr(s, "setup_time", None),
        "num_iters": getattr(s, "num_iters", None),
        "compilation_time": getattr(problem, "compilation_time", None),
    }


def _round_elsewhere(
    problem: cp.Problem,
    solvers: Sequence[str],
    name: str,
    settings: Mapping[str, Mapping[str, Any]],
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """Answer one round with the solvers after ``name``; the first that answers, or ``{}``."""
    for other in solvers[solvers.index(name) + 1 :]:
        try:
            answered = _attempt(
                problem, other, {**settings.get(other, {}), **options}, False, None, False
            )
        except cp.error.SolverError:
            continue
        if problem.status in OK:
            return answered
    return {}


def run(
    problem: cp.Problem,
    solvers: Sequence[str],
    options: Mapping[str, Any],
    *,
    x: cp.Variable,
    term: CompiledTerm,
    diagnose: Callable[[], str] | None = None,
    mip: bool = False,
    parameters_as_constants: bool = False,
    resolve: Callable[[], dict[str, Any] | None] | None = None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[str, dict[str, Any]]:
    """Solve with the first solver that answers; re-solve while the ``term`` asks to.

    ``term``: the compiled objective. While the solve succeeds, ``term.refine(x)``
    says whether another solve is due (an iterative term's rounds); an unbounded
    answer calls ``term.on_unbounded()`` (which may ask for a rebuild). ``settings``
    defaults to the term's.

    ``parameters_as_constants`` canonicalises with the parameters' current values as
    constants (cvxpy's ``ignore_dpp``): cheaper for a problem solved once; the
    statistics say which was used (``canonicalisation``). ``resolve``, when given, is
    tried first for every solve of the first solver (a kept solver updated in place);
    None from it means the standard solve. ``settings``: options by solver name that
    the terms ask for (a certificate's tolerances), under the caller's ``options``.

    Raises
    ------
    InfeasibleError
        With ``diagnose()``'s explanation, when given; otherwise the status is returned.
    UnboundedError, SolverFailedError
    """
    last: Exception | None = None
    settings = term.settings if settings is None else settings
    for name in solvers:
        asked = settings.get(name, {})
        opts = {**EXACT_MIP_OPTIONS.get(name, {}), **options} if mip else dict(options)
        opts = {**asked, **opts}
        # cvxpy warns when a solve is inaccurate: recorded here and reported in the
        # result's statistics and notes (never passed on raw, never ignored)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            kept = resolve if name == solvers[0] and not options else None
            fresh = name == cp.CLARABEL and not opts and not term.iterative
            try:
                answered = _attempt(problem, name, opts, parameters_as_constants, kept, fresh)
                refinements = 0
                while problem.status in OK and term.refine(np.asarray(x.value, dtype=np.float64)):
                    refinements += 1
                    answered = _attempt(problem, name, opts, False, kept, fresh)
                    if problem.status in (cp.USER_LIMIT, cp.SOLVER_ERROR):
                        # one round this solver could not answer (Clarabel at its iteration
                        # limit on one master) goes to the next solvers, the later rounds
                        # back to this one: a whole loop on a looser solver never reaches
                        # an iterative term's certificate
                        answered = _round_elsewhere(problem, solvers, name, settings, options)
            except cp.error.SolverError as exc:
                last = exc
                continue
            except (TypeError, ValueError) as exc:
                if not options:
                    raise
                # a solver that refuses an option (a name or a value it does not know)
                raise SpecificationError(
                    f"The solver {name} refused the options {dict(options)!r}: {exc}. Check "
                    "the option names and values against that solver's documentation."
                ) from exc
        unexpected = [w for w in caught if not str(w.message).startswith(_INACCURATE)]
        for w in unexpected:  # anything else is the caller's to see
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if problem.status in OK:
            out = stats(problem, str(answered.get("solver", name)))
            for key in ("solve_time", "num_iters"):  # a kept solver's own figures
                if key in answered:
                    out[key] = answered[key]
            if ONE_SIDED in answered:
                out[ONE_SIDED] = answered[ONE_SIDED]
            out["refinements"] = refinements
            out["canonicalisation"] = "constants" if parameters_as_constants else "dpp"
            if problem.status != cp.OPTIMAL or len(caught) > len(unexpected):
                out["accuracy"] = (
                    f"{name} reports an inaccurate solution: the numbers may be off by more "
                    "than its tolerances (check the data's scale and the limits' sizes)."
                )
            return str(problem.status), out
        if problem.status in INFEASIBLE:
            if diagnose is not None:
                raise InfeasibleError(diagnose())
            return str(problem.status), stats(problem, name)
        if problem.status in UNBOUNDED:
            term.on_unbounded()  # may ask for a rebuild (a restricted problem grows)
            raise UnboundedError(
                "The hedge problem is unbounded: the objective improves without limit. Add "
                "bounds (Bounds, GrossExposure) on the instruments."
            )
    raise SolverFailedError(
        f"No solver returned a usable answer (tried {list(solvers)}); pass another solver= "
        "or check the data's scale."
    ) from last


@functools.cache
def quiet_highs_banner() -> None:
    """Create this process's first HiGHS instance with standard output closed.

    HiGHS prints its name and licence once per process, from C++, on its first instance,
    before any option (``output_flag``) can be set: the demo's first line and every
    program's first expected-shortfall or whole-contract solve showed it. Creating that
    first instance here, with file descriptor 1 pointed at ``os.devnull``, leaves
    nothing to print later. Without ``highspy`` there is nothing to do.
    """
    try:
        import highspy
    except ImportError:  # pragma: no cover - highspy comes with cvxpy's HiGHS support
        return
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no standard output at all: nothing can be shown
        highspy.Highs()  # type: ignore[no-untyped-call]
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        highspy.Highs()  # type: ignore[no-untyped-call]
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _attempt(
    problem: cp.Problem,
    name: str,
    opts: dict[str, Any],
    constants: bool,
    kept: Callable[[], dict[str, Any] | None] | None,
    fresh: bool,
) -> dict[str, Any]:
    """Solve once: the kept solvers, else :func:`solve_fresh` (``fresh``), else cvxpy.

    Returns what the answering path reports: its ``solver`` name (empty when cvxpy's own
    solve ran: the caller's name) and a :class:`OneSided` when multipliers are not unique.
    """
    quiet_highs_banner()
    got = None if constants or kept is None else kept()
    if got is not None:
        return got
    if fresh:
        solver, kink = solve_fresh(problem, ignore_dpp=constants)
        return {"solver": solver} if kink is None else {"solver": solver, ONE_SIDED: kink}
    problem.solve(solver=custom_solver(name), ignore_dpp=constants, **opts)
    return {}


def limit_numbers(
    rows: Sequence[tuple[str, Row]], objective_scale: float
) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Labels, owners, ``(value, limit, slack, shadow price)`` rows and binding flags.

    Shadow prices are unscaled: objective improvement per unit of relaxation, in the
    objective's units; exactly 0 for a limit that does not bind (not the solver's
    residual dual).
    """
    names: list[str] = []
    owners: list[str] = []
    columns: list[np.ndarray] = []  # value, limit, slack, shadow price: row after row
    equal: list[bool] = []
    for owner, r in rows:
        values = r.values()
        limits = r.limit_values(values)
        names.extend(r.names())
        owners.extend([owner] * len(values))
        columns += (values, limits, r.slacks(values, limits), r.shadow_prices())
        equal += [r.sense == "=="] * len(values)
    if not names:
        return names, owners, np.zeros((0, 4)), np.zeros(0, dtype=bool)
    numbers = np.column_stack([np.concatenate(columns[k::4]) for k in range(4)])
    numbers[:, 3] /= objective_scale
    binds = np.array(equal, dtype=bool) | (
        np.abs(numbers[:, 2]) <= BINDING_TOL * np.maximum(1.0, np.abs(numbers[:, 1]))
    )
    numbers[~binds, 3] = 0.0
    return names, owners, numbers, binds


def limit_table(rows: Sequence[tuple[str, Row]], objective_scale: float) -> pd.DataFrame:
    """Every limit's value, limit, slack, binding flag and shadow price after a solve.

    ``rows`` pairs each row with its owner's repr (see :func:`limit_numbers`); every
    limit is taken as having one multiplier (see :func:`limit_frame`).
    """
    names, owners, numbers, binds = limit_numbers(rows, objective_scale)
    return limit_frame(names, owners, numbers, binds, {})


def limit_frame(
    names: Sequence[str],
    owners: Sequence[str],
    numbers: np.ndarray,
    binds: np.ndarray,
    tightening: Mapping[str, float],
) -> pd.DataFrame:
    """Build the limit table from :func:`limit_numbers`' output (relaxing gains).

    ``tightening``: what tightening costs per unit for the limits where that differs
    from what relaxing gains (degenerate limits); ``degenerate`` flags them,
    ``relaxing_gains`` repeats the shadow price and ``tightening_costs`` is the other
    side (the shadow price where the two agree).
    """
    costs = numbers[:, 3].copy()
    degenerate = np.zeros(len(names), dtype=bool)
    for i, name in enumerate(names):
        if name in tightening:
            costs[i], degenerate[i] = tightening[name], True
    # built from whole columns at once
    return pd.DataFrame(
        {
            "constraint": np.array(owners, dtype=object),
            "value": numbers[:, 0],
            "limit": numbers[:, 1],
            "slack": numbers[:, 2],
            "binding": binds,
            "shadow_price": numbers[:, 3],
            "degenerate": degenerate,
            "relaxing_gains": numbers[:, 3].copy(),
            "tightening_costs": costs,
        },
        index=pd.Index(list(names), name="label", dtype=object),
    )

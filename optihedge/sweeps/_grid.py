"""The points of a sweep: checked whole before any work, ordered so neighbours are close.

A grid is a mapping of keys to value lists (their Cartesian product) or a list of points
(mappings). Keys are the problem's registry keys (``"gross_exposure.max"``) or inputs
(``"portfolio"``, ``"risk_model"``, ``"scenarios"``, ``"current"``,
``"expected_returns"``, ``"market_state"``). An input's values are a mapping of label to
object, a list of objects (labelled by their ``name`` or position), or, for
``"risk_model"``, a ``RiskModelSet`` (one point per estimation window).

Points keep the number of their place in the grid as given (``point``); they are solved
in another order: grouped by inputs (a new input refreshes the problem's data), then in
a snake through the parameter values, so that consecutive points differ by one step of
one parameter and each solve starts near the last one's answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from factor_models import RiskModelSet
from optihedge.errors import DataError, SpecificationError
from optihedge.measures.contributions import check_tail
from optihedge.optimize.problem import HedgeProblem
from optihedge.runs.fingerprint import run_id

__all__ = ["INPUT_KEYS", "MAX_POINTS", "Grid", "make_grid"]

#: the most points one sweep takes (each point is a row, and is checked up front)
MAX_POINTS = 1_000_000

#: the registry key of the expected-shortfall level
ALPHA = "expected_shortfall.alpha"
_OWN = object()  # the problem's own scenarios
INPUT_KEYS = ("portfolio", "risk_model", "scenarios", "current", "expected_returns", "market_state")


@dataclass(frozen=True)
class Grid:
    """Checked sweep points.

    Attributes
    ----------
    keys : tuple of str
        Parameter keys, then input keys, in the grid's order.
    points : list of dict
        ``points[i]`` maps each key to its value at point ``i`` (a float for a
        parameter, an input's label for an input).
    inputs : dict of key to dict of label to object
        The input objects by label.
    order : ndarray of int
        The solving order (point numbers).
    """

    keys: tuple[str, ...]
    points: list[dict[str, Any]]
    inputs: dict[str, dict[Hashable, Any]]
    order: np.ndarray

    @property
    def parameter_keys(self) -> list[str]:
        """The keys that are registry parameters."""
        return [k for k in self.keys if k not in INPUT_KEYS]

    @property
    def input_keys(self) -> list[str]:
        """The keys that are inputs."""
        return [k for k in self.keys if k in INPUT_KEYS]

    def split(self, point: int) -> tuple[dict[str, float], dict[str, Any]]:
        """Parameters and input objects of one point (for ``HedgeProblem.solve``)."""
        values = self.points[point]
        params = {k: values[k] for k in self.parameter_keys}
        inputs = {k: self.inputs[k][values[k]] for k in self.input_keys}
        return params, inputs

    def digest(self, problem: HedgeProblem) -> str:
        """Sweep id: a hash of the problem (structure, inputs, values) and the points.

        A hash of the numbers and labels themselves
        (:func:`optihedge.runs.fingerprint.run_id`), not of a pickle: the same problem
        built in another process has the same id.
        """
        return run_id(
            problem.__getstate__(),
            (self.keys, self.points),
            *((key, self.inputs[key]) for key in self.input_keys),
        )


def _input_values(key: str, values: Any) -> dict[Hashable, Any]:
    if key == "risk_model" and isinstance(values, RiskModelSet):
        return dict(values.items())
    out: dict[Hashable, Any] = {}
    if isinstance(values, Mapping):
        out.update(values)
    elif isinstance(values, Sequence) and not isinstance(values, str):
        for i, obj in enumerate(values):
            label = getattr(obj, "name", None)
            out[label if isinstance(label, str) and label not in out else i] = obj
    else:
        raise SpecificationError(
            f"The grid's {key!r} must be a mapping of label to {key}, a list of them"
            + (" or a RiskModelSet" if key == "risk_model" else "")
            + f". Got {type(values).__name__}."
        )
    if not out:
        raise SpecificationError(f"The grid's {key!r} holds no values; give at least one.")
    return out


def _as_list(key: str, values: Any) -> list[Any]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
        raise SpecificationError(
            f"The grid's {key!r} must be a list of values. Got {type(values).__name__}: {values!r}."
        )
    out = list(values)
    if not out:
        raise SpecificationError(f"The grid's {key!r} holds no values; give at least one.")
    return out


def _snake(shape: Sequence[int]) -> list[tuple[int, ...]]:
    """Index tuples of a Cartesian grid in boustrophedon order (one step at a time)."""
    if not shape:
        return [()]
    inner = _snake(shape[1:])
    out: list[tuple[int, ...]] = []
    for i in range(shape[0]):
        out.extend((i, *t) for t in (inner if i % 2 == 0 else inner[::-1]))
    return out


def make_grid(problem: HedgeProblem, grid: Any) -> Grid:
    """Check ``grid`` against ``problem`` and return its points in solving order.

    Raises
    ------
    SpecificationError
        An empty grid, an unknown key (the message lists the valid ones), a value of the
        wrong type or outside its parameter's range, points with different keys.
    """
    valid = sorted(problem.registry.specs)
    if isinstance(grid, Mapping):
        if not grid:
            raise SpecificationError("The 'grid' is empty; give at least one key and value.")
        keys = list(grid)
        lists = {}
        inputs: dict[str, dict[Hashable, Any]] = {}
        for key in keys:
            _check_key(key, valid)
            if key in INPUT_KEYS:
                inputs[key] = _input_values(key, grid[key])
                lists[key] = list(inputs[key])
            else:
                lists[key] = _as_list(key, grid[key])
        # counted before any point is built: a product of long lists is refused at once
        count = 1
        for key in keys:
            count *= len(lists[key])
        if count > MAX_POINTS:
            sizes = " x ".join(f"{len(lists[k]):,} {k}" for k in keys)
            raise SpecificationError(
                f"The 'grid' has {count:,} points ({sizes}), more than the {MAX_POINTS:,} a "
                "sweep takes; give fewer values per key or split it into several sweeps."
            )
        # parameter keys first in the snake's inner loops; inputs outermost
        outer = [k for k in keys if k in INPUT_KEYS]
        inner = [k for k in keys if k not in INPUT_KEYS]
        points = [
            dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(lists[k] for k in keys))
        ]
        shape = [len(lists[k]) for k in [*outer, *inner]]
        strides = {
            k: int(np.prod([len(lists[j]) for j in keys[keys.index(k) + 1 :]])) for k in keys
        }
        order = np.array(
            [
                sum(idx * strides[k] for idx, k in zip(combo, [*outer, *inner], strict=True))
                for combo in _snake(shape)
            ],
            dtype=np.int64,
        )
    elif isinstance(grid, Sequence) and not isinstance(grid, str):
        if not grid:
            raise SpecificationError("The 'grid' is empty; give at least one point.")
        if len(grid) > MAX_POINTS:
            raise SpecificationError(
                f"The 'grid' has {len(grid):,} points, more than the {MAX_POINTS:,} a sweep "
                "takes; split it into several sweeps."
            )
        if not all(isinstance(p, Mapping) for p in grid):
            raise SpecificationError(
                "A list 'grid' must hold points, each a mapping of key to value."
            )
        keys = list(grid[0])
        inputs = {}
        points = []
        for i, point in enumerate(grid):
            if list(point) != keys:
                raise SpecificationError(
                    f"Every point of the grid must have the same keys; point {i} has "
                    f"{list(point)}, point 0 has {keys}."
                )
            row = {}
            for key, value in point.items():
                _check_key(key, valid)
                if key in INPUT_KEYS:
                    label, obj = _labelled(key, value, i)
                    known = inputs.setdefault(key, {})
                    if label in known and known[label] is not obj:
                        raise SpecificationError(
                            f"Two different {key} objects share the label {label!r}; label "
                            "each input point as (label, object)."
                        )
                    known[label] = obj
                    row[key] = label
                else:
                    row[key] = value
            points.append(row)
        order = _nearest_order(points, keys)
    else:
        raise SpecificationError(
            "The 'grid' must be a mapping of key to values or a list of points. Got "
            f"{type(grid).__name__}."
        )
    for i, point in enumerate(points):
        params = {k: v for k, v in point.items() if k not in INPUT_KEYS}
        try:
            checked = problem.registry.validate(params)
        except SpecificationError as exc:
            raise SpecificationError(f"Grid point {i} {point!r}: {exc}") from None
        point.update(checked)
    probabilities: dict[Hashable, Any] = {}
    for key, objects in inputs.items():
        _check_input_types(key, objects)
        for label, obj in objects.items():
            # the labels and shapes each input brings, checked like a solve would
            try:
                data = problem.compile_inputs(**{key: obj})
            except (SpecificationError, DataError) as exc:
                raise type(exc)(f"The grid's {key!r} value {label!r}: {exc}") from None
            if key == "scenarios":
                probabilities[label] = data.scenario_probabilities
    _check_tails(problem, points, probabilities)
    return Grid(tuple(keys), points, inputs, order)


def _check_tails(
    problem: HedgeProblem, points: list[dict[str, Any]], probabilities: dict[Hashable, Any]
) -> None:
    """Refuse an expected-shortfall alpha whose tail holds under one scenario at a point.

    The largest alpha of each scenario set is the one to check.
    """
    if ALPHA not in problem.registry.specs:
        return
    default_alpha = problem.registry.values[ALPHA]
    own = problem.data.scenario_probabilities
    worst: dict[Hashable, tuple[float, int]] = {}
    for i, point in enumerate(points):
        label = point.get("scenarios", _OWN)
        alpha = float(point.get(ALPHA, default_alpha))
        if label not in worst or alpha > worst[label][0]:
            worst[label] = (alpha, i)
    for label, (alpha, i) in worst.items():
        p = own if label is _OWN else probabilities[label]
        if p is None:
            continue
        try:
            check_tail(alpha, np.asarray(p, dtype=np.float64))
        except DataError as exc:
            where = "" if label is _OWN else f" with scenarios {label!r}"
            raise SpecificationError(
                f"Grid point {i}{where}: {exc} (checked before any point is solved)"
            ) from None


def _check_key(key: Any, valid: list[str]) -> None:
    if key not in INPUT_KEYS and key not in valid:
        raise SpecificationError(
            f"Unknown grid key {key!r}; this problem's parameter keys are {valid}, and the "
            f"inputs that can be swept are {list(INPUT_KEYS)}."
        )


def _labelled(key: str, value: Any, i: int) -> tuple[Hashable, Any]:
    if isinstance(value, tuple) and len(value) == 2:
        return value[0], value[1]
    label = getattr(value, "name", None)
    return (label if isinstance(label, str) else f"{key} {i}"), value


def _nearest_order(points: list[dict[str, Any]], keys: list[str]) -> np.ndarray:
    """Points sorted by inputs, then by parameter values (neighbours close)."""

    def sort_key(i: int) -> tuple[Any, ...]:
        p = points[i]
        return tuple((str(p[k]), 0.0) if k in INPUT_KEYS else ("", float(p[k])) for k in keys)

    return np.array(sorted(range(len(points)), key=sort_key), dtype=np.int64)


_TYPES = {
    "portfolio": "Portfolio",
    "risk_model": "RiskModel",
    "scenarios": "Scenarios",
    "current": "Series",
    "expected_returns": "Series",
    "market_state": "MarketState",
}


def _check_input_types(key: str, objects: Mapping[Hashable, Any]) -> None:
    wanted = _TYPES[key]
    for label, obj in objects.items():
        names = {c.__name__ for c in type(obj).__mro__}
        if wanted not in names:
            raise SpecificationError(
                f"The grid's {key!r} value {label!r} is a {type(obj).__name__}, not a {wanted}."
            )

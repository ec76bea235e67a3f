"""``--grid`` specifications of ``optihedge sweep``: ``key=v1,v2`` or ``key=a:b:step``.

Read with the standard library only (the command's start stays light). A range is
inclusive of its end when the steps reach it: ``0.5:1.5:0.25`` is 0.5, 0.75, 1.0, 1.25
and 1.5. Decimal arithmetic makes the points exact (``0:0.3:0.1`` ends at 0.3, not
0.30000000000000004).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from optihedge.errors import SpecificationError

__all__ = ["MAX_RANGE_POINTS", "parse_grid"]

#: More points than this in one range is surely a typo in the step.
MAX_RANGE_POINTS = 10_000
_EXAMPLE = "e.g. --grid premium_budget.max=0,0.005,0.01 or --grid gross_exposure.max=0.5:1.5:0.25"


def _number(text: str, spec: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise SpecificationError(
            f"--grid {spec!r}: {text.strip()!r} is not a number ({_EXAMPLE})."
        ) from None
    if not value.is_finite():
        raise SpecificationError(f"--grid {spec!r}: {text.strip()!r} is not a finite number.")
    return value


def _range(values: str, spec: str) -> list[float]:
    parts = values.split(":")
    if len(parts) != 3:
        raise SpecificationError(
            f"--grid {spec!r}: a range is start:end:step (three numbers, the end included), "
            f"got {len(parts)} part(s) ({_EXAMPLE})."
        )
    start, end, step = (_number(p, spec) for p in parts)
    if step <= 0:
        raise SpecificationError(f"--grid {spec!r}: the step must be > 0, got {step}.")
    if end < start:
        raise SpecificationError(
            f"--grid {spec!r}: the end {end} is below the start {start}; write start:end:step "
            "with start <= end."
        )
    count = int((end - start) / step) + 1
    if count > MAX_RANGE_POINTS:
        raise SpecificationError(
            f"--grid {spec!r}: {count:,} points in one range (more than {MAX_RANGE_POINTS:,}); "
            "is the step right?"
        )
    return [float(start + i * step) for i in range(count)]


def parse_grid(specs: Sequence[str]) -> dict[str, list[float]]:
    """Read ``--grid`` specifications into a sweep's grid (key -> values, in order).

    Parameters
    ----------
    specs : sequence of str
        Each ``key=v1,v2,...`` (a list) or ``key=start:end:step`` (a range, the end
        included when the steps reach it).

    Returns
    -------
    dict of str to list of float

    Raises
    ------
    SpecificationError
        No specification, one without ``=``, an empty key or value, a number that is
        not one, a range with a step <= 0 or an end below its start, a key given twice.
    """
    if not specs:
        raise SpecificationError(f"sweep needs at least one --grid ({_EXAMPLE}).")
    grid: dict[str, list[float]] = {}
    for spec in specs:
        key, sep, values = spec.partition("=")
        key, values = key.strip(), values.strip()
        if not sep or not key or not values:
            raise SpecificationError(
                f"--grid {spec!r}: write key=v1,v2,... or key=start:end:step ({_EXAMPLE})."
            )
        if key in grid:
            raise SpecificationError(
                f"--grid {spec!r}: the key {key!r} is given twice; give its values in one --grid."
            )
        if ":" in values:
            grid[key] = _range(values, spec)
        else:
            items = values.split(",")
            if any(not item.strip() for item in items):
                raise SpecificationError(
                    f"--grid {spec!r}: an empty value between commas ({_EXAMPLE})."
                )
            grid[key] = [float(_number(item, spec)) for item in items]
        assert all(math.isfinite(v) for v in grid[key])
    return grid

"""Calls a result makes into a higher layer, filled in by that layer.

``HedgeResult.explain`` and ``HedgeResult.report`` are computed by the analysis layer
(``optihedge.analysis.explain``, ``optihedge.analysis.report``), which imports this
layer; this one never imports it. The top-level package ``optihedge`` registers the
analysis functions here when it is imported (which any import of ``optihedge.optimize``
does first), and the methods call them through :func:`call`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["HOOKS", "call", "register"]

#: Registered callables by name (``"explain"``, ``"report"``).
HOOKS: dict[str, Callable[..., Any]] = {}


def register(name: str, function: Callable[..., Any]) -> None:
    """Register ``function`` under ``name`` (replacing any earlier one).

    Raises
    ------
    SpecificationError
        A name that is not text, or a function that is not callable.
    """
    if not isinstance(name, str) or not name or not callable(function):
        # imported here: registering at `import optihedge` must stay light
        from optihedge.errors import SpecificationError

        if not isinstance(name, str) or not name:
            raise SpecificationError(f"The hook 'name' must be non-empty text. Got {name!r}.")
        raise SpecificationError(
            f"The hook {name!r} must be callable. Got {type(function).__name__}."
        )
    HOOKS[name] = function


def call(name: str, /, *args: Any, **kwargs: Any) -> Any:
    """Call the function registered under ``name`` with the given arguments.

    Raises
    ------
    SpecificationError
        Nothing is registered under ``name``.
    """
    function = HOOKS.get(name)
    if function is None:
        from optihedge.errors import SpecificationError  # here: see register

        known = ", ".join(repr(k) for k in sorted(HOOKS)) or "none"
        raise SpecificationError(
            f"Nothing is registered under the hook {name!r} (registered: {known}): the "
            f"analysis layer registers it when 'optihedge' is imported; call "
            f"optihedge.{name}(result, ...) directly, or register a function with "
            f"optihedge.optimize.hooks.register({name!r}, function)."
        )
    return function(*args, **kwargs)

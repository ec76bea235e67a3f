"""Policy files: a hedge problem and its policy in TOML, read with every error at once.

A policy file states the book, the data, the risk model, the scenarios, the instruments,
the objective, the constraints, the market state and (optionally) the hedge policy and
the backtest's settings; :func:`load_policy` reads it with :mod:`tomllib` into the
project's own frozen objects (:class:`~optihedge.optimize.spec.ProblemSpec`,
:class:`~optihedge.backtests.HedgePolicy`, :class:`~optihedge.Portfolio`...), built by
their own constructors and ``from_dict``. ``optihedge policy new`` prints
:func:`template`, which documents every section.

Every error of a file is collected in one pass and raised together as a
:class:`PolicyFileError`, each as a :class:`PolicyIssue` naming its dotted key and line
(``constraints.turnover.max (line 14): must be >= 0, got -0.1``); unknown keys name the
nearest valid key. Lines are found by scanning the text (:mod:`optihedge.cli.toml_text`
documents the method): :mod:`tomllib` gives none.

Keys name places as a reader sees them: tables by their dotted path, arrays of tables
with the element's index (``instruments[1].multiplier``, ``policy.triggers[0].tolerance``)
and constraints by their kind (``constraints.gross_exposure.max``; several constraints of
one kind are an array of tables, ``[[constraints.factor_exposure]]``).

``schema_version`` (:data:`SCHEMA_VERSION`) opens the file: a file without it is refused,
one written by a newer optihedge is refused, and there is no older version yet to migrate.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from optihedge.cli.toml_text import dumps, key_lines, line_of
from optihedge.errors import SpecificationError

if TYPE_CHECKING:
    import pandas as pd

    from optihedge.backtests import Estimation, HedgePolicy, ScenarioRecipe
    from optihedge.optimize import HedgeProblem
    from optihedge.optimize.spec import ProblemSpec
    from optihedge.portfolio import Portfolio

__all__ = [
    "SCHEMA_VERSION",
    "PolicyFile",
    "PolicyFileError",
    "PolicyIssue",
    "dump_policy",
    "load_policy",
    "template",
]

#: The version of the policy-file schema this optihedge reads and writes.
SCHEMA_VERSION = 1

TOP_KEYS = (
    "schema_version",
    "name",
    "as_of",
    "horizon",
    "market",
    "book",
    "data",
    "estimation",
    "scenarios",
    "instruments",
    "objective",
    "constraints",
    "market_state",
    "policy",
    "backtest",
)
BOOK_KEYS = ("embedded", "file", "value", "capital", "currency")
DATA_KEYS = ("embedded", "file", "kind", "start", "end", "date_column")
ESTIMATION_KEYS = ("kind", "window", "halflife", "factors")
SCENARIO_KEYS = ("kind", "window", "horizon", "n", "dof", "seed")
MARKET_STATE_KEYS = ("rate", "dividend_yield", "volatility_halflife", "volatility_window")
POLICY_KEYS = (
    "schedule",
    "hedge_ratio",
    "regimes",
    "triggers",
    "exit",
    "budget",
    "params",
    "lots",
    "missing_data",
)
BACKTEST_KEYS = ("start", "end", "capital", "rate", "costs")
COST_KEYS = (
    "commission_per_contract",
    "commission_per_share",
    "half_spread",
    "impact",
    "borrow",
    "financing_spread",
)
#: Constraint fields that are limits and cannot be negative.
_NONNEGATIVE = ("max", "max_participation")
_CAUGHT = (ValueError, TypeError, KeyError, AttributeError, OverflowError, IndexError)


class PolicyIssue(NamedTuple):
    """One error of a policy file: its dotted key, its line (None: unknown) and what."""

    key: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.key or "the file"
        at = f" (line {self.line})" if self.line is not None else ""
        return f"{where}{at}: {self.message}"


class PolicyFileError(SpecificationError):
    """A policy file with errors; ``issues`` holds them all, ``str()`` one a line.

    ``source`` is the file's path ("" when read from text); ``str()`` is the issues only,
    ``constraints.turnover.max (line 14): must be >= 0, got -0.1``, one a line.
    """

    def __init__(self, issues: tuple[PolicyIssue, ...] | list[PolicyIssue], source: str = ""):
        self.issues = tuple(issues)
        self.source = source
        super().__init__("\n".join(str(i) for i in self.issues))

    def __reduce__(self) -> tuple[Any, ...]:
        return (PolicyFileError, (self.issues, self.source))


@dataclass(frozen=True)
class PolicyFile:
    """A policy file read and checked (see the module).

    Attributes
    ----------
    path : Path or None
        Where it was read from (None: from text).
    schema_version : int
    raw : dict
        The TOML as read.
    resolved : dict
        Every section with its defaults filled in (what ``policy show --resolved`` writes).
    defaults : tuple of str
        The dotted keys whose default was applied.
    name : str
    spec : ProblemSpec
    book : Portfolio
        Market values (a quantity book is valued at the as-of date's closes).
    prices : DataFrame
        Closes by ticker, dated (the columns the file needs, plus VIX when there is one).
    estimation : Estimation
    scenarios : ScenarioRecipe or None
    policy : HedgePolicy or None
        When the file has a ``[policy]`` section.
    backtest : dict
        ``start``, ``end`` (Timestamp or None), ``capital`` (float or None), ``costs``
        (CostModel), ``rate`` (float), for ``optihedge backtest``.
    as_of : Timestamp or None
    """

    path: Path | None
    schema_version: int
    raw: dict[str, Any]
    resolved: dict[str, Any]
    defaults: tuple[str, ...]
    name: str
    spec: ProblemSpec
    book: Portfolio
    prices: pd.DataFrame
    estimation: Estimation
    scenarios: ScenarioRecipe | None
    policy: HedgePolicy | None
    backtest: dict[str, Any]
    as_of: pd.Timestamp | None
    market_state: dict[str, Any] = field(default_factory=dict)

    def problem(self, as_of: Any = None) -> tuple[HedgeProblem, dict[str, Any]]:
        """Return the problem ready to solve on ``as_of`` and a record of its inputs.

        The risk model is estimated on the returns up to the day before ``as_of`` (the
        file's ``as_of``, else the data's last date), the scenarios built on the same
        window, and options priced on ``MarketState.from_data(as_of)`` of the file's data.
        The policy's ``params`` and, when the regime's signal can be read on ``as_of``
        (``vix``, ``realised_vol``), its band's params are set on the problem. The record
        holds the as-of date, the estimation window's first and last dates, the scenarios'
        count, the market state, the params set, the regime, ``hedge`` and ``hedge_ratio``
        (the fraction of the solved hedge the policy holds: the policy's ratio times the
        band's, 0 in a band with ``hedge = false``; the problem itself is the full hedge),
        the book's value and the defaults applied.

        Raises
        ------
        DataError
            ``as_of`` before the data hold the estimation window.
        """
        from optihedge.cli.policy_data import build_problem

        return build_problem(self, as_of)


# --------------------------------------------------------------------------- reading


class Issues:
    """The issues of one file, with the key lines to place them."""

    def __init__(self, lines: Mapping[str, int]) -> None:
        self.lines = lines
        self.items: list[PolicyIssue] = []

    def add(self, key: str, message: str) -> None:
        """Record an issue at ``key`` (its line looked up)."""
        self.items.append(PolicyIssue(key, line_of(self.lines, key), message))

    def guard(
        self,
        key: str,
        fn: Callable[[], Any],
        fields: Iterable[str] = (),
        aliases: Mapping[str, str] | None = None,
    ) -> Any:
        """Return ``fn()``; on a project or value error record it at ``key`` and return None.

        The error is placed at ``key.<field>`` when its message quotes one of ``fields``,
        or at ``key.<alias>`` when it names a word of ``aliases`` (word -> key suffix).
        """
        try:
            return fn()
        except _CAUGHT as exc:
            text = str(exc).strip() or type(exc).__name__
            where = key
            for f in fields:
                if f"'{f}'" in text or f".{f} " in text or f".{f}'" in text:
                    where = f"{key}.{f}" if key else f
                    break
            else:
                for word, alias in (aliases or {}).items():
                    if re.search(rf"\b{re.escape(word)}\b", text):
                        where = f"{key}.{alias}" if key else alias
                        break
            self.add(where, text)
            return None

    def table(self, value: Any, key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        """Return ``value`` as a table of the ``allowed`` keys; record wrong type / unknown keys."""
        if not isinstance(value, Mapping):
            self.add(key, f"must be a table, got {show(value)}")
            return {}
        out = {}
        for k, v in value.items():
            if k in allowed:
                out[k] = v
            else:
                self.unknown(f"{key}.{k}" if key else k, k, allowed)
        return out

    def unknown(self, key: str, name: str, allowed: tuple[str, ...] | list[str]) -> None:
        """Record an unknown key, with the nearest valid one."""
        near = difflib.get_close_matches(str(name), list(allowed), n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        self.add(key, f"unknown key {name!r}{hint} (valid keys: {', '.join(allowed)})")


def show(value: Any) -> str:
    kinds = {
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        list: "an array",
        dict: "a table",
    }
    what = kinds.get(type(value), type(value).__name__)
    return f"{what} {value!r}" if not isinstance(value, dict | list) else what


def number(issues: Issues, d: Mapping[str, Any], key: str, where: str, **kw: Any) -> Any:
    """Return ``d[key]`` as a float (checked: finite, ``lower``), else record and None."""
    value = d[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        issues.add(f"{where}.{key}", f"must be a number, got {show(value)}")
        return None
    v = float(value)
    lower = kw.get("lower")
    if not math.isfinite(v) or (lower is not None and v < lower):
        bound = "" if lower is None else f" >= {lower:g}"
        issues.add(f"{where}.{key}", f"must be a finite number{bound}, got {value!r}")
        return None
    return v


def date_value(issues: Issues, value: Any, key: str) -> pd.Timestamp | None:
    """Return a TOML date (or ISO string) as a Timestamp, else record and None."""
    import pandas as pd

    if isinstance(value, _dt.date | _dt.datetime | str) and not isinstance(value, bool):
        try:
            ts = pd.Timestamp(value)
        except (ValueError, TypeError, OverflowError):
            ts = None
        if ts is not None and not pd.isna(ts):
            return ts.tz_localize(None) if ts.tz is not None else ts
    issues.add(key, f"must be a date (2020-03-31), got {show(value)}")
    return None


def string_value(issues: Issues, value: Any, key: str) -> str | None:
    """Return a non-empty string, else record and None."""
    if isinstance(value, str) and value:
        return value
    issues.add(key, f"must be a non-empty string, got {show(value)}")
    return None


def int_value(issues: Issues, value: Any, key: str, lower: int = 1) -> int | None:
    """Return an integer >= ``lower``, else record and None."""
    if isinstance(value, bool) or not isinstance(value, int) or value < lower:
        issues.add(key, f"must be an integer >= {lower}, got {show(value)}")
        return None
    return value


def read_text(path_or_text: Any) -> tuple[str, Path | None]:
    """Return the text of a policy and its path (None when given as text)."""
    if isinstance(path_or_text, Path) or (
        isinstance(path_or_text, str)
        and "\n" not in path_or_text
        and ("=" not in path_or_text or path_or_text.endswith(".toml"))
    ):
        path = Path(path_or_text)
        try:
            return path.read_text(encoding="utf-8"), path
        except (OSError, ValueError) as exc:
            raise PolicyFileError(
                [PolicyIssue("", None, f"cannot read the policy file {str(path)!r}: {exc}")]
            ) from None
    if isinstance(path_or_text, str):
        return path_or_text, None
    raise PolicyFileError(
        [
            PolicyIssue(
                "",
                None,
                f"a policy is a path or TOML text, got {type(path_or_text).__name__}",
            )
        ]
    )


def load_policy(path_or_text: Any, *, as_of: Any = None) -> PolicyFile:
    """Read and check a policy file; every error of the file is raised at once.

    Parameters
    ----------
    path_or_text : str or Path
        A path to a file, or the TOML text itself (a string with a newline, or with an
        ``=`` and not ending in ``.toml``).
    as_of : date, optional
        The date the problem is solved on (overrides the file's ``as_of``).

    Raises
    ------
    PolicyFileError
        Every error of the file, each with its dotted key and line.
    """
    text, path = read_text(path_or_text)
    source = str(path) if path is not None else ""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        line = None
        if "line " in msg:
            digits = msg.split("line ", 1)[1].split(",")[0].split(")")[0]
            line = int(digits) if digits.isdigit() else None
        raise PolicyFileError([PolicyIssue("", line, f"not valid TOML: {msg}")], source) from None
    except (ValueError, TypeError, RecursionError) as exc:  # pragma: no cover - tomllib's own
        raise PolicyFileError([PolicyIssue("", None, f"not valid TOML: {exc}")], source) from None
    issues = Issues(key_lines(text))
    version = raw.get("schema_version")
    if "schema_version" not in raw:
        issues.add(
            "schema_version",
            f"missing: a policy file starts with schema_version = {SCHEMA_VERSION}",
        )
    elif isinstance(version, bool) or not isinstance(version, int):
        issues.add("schema_version", f"must be an integer, got {show(version)}")
    elif version > SCHEMA_VERSION:
        issues.add(
            "schema_version",
            f"{version} was written by a newer optihedge (this one reads up to "
            f"{SCHEMA_VERSION}); upgrade optihedge",
        )
    elif version < 1:
        issues.add(
            "schema_version",
            f"{version} is no schema version (the first is 1); write schema_version = "
            f"{SCHEMA_VERSION}",
        )
    if issues.items:  # a file of another schema is not read further
        raise PolicyFileError(issues.items, source)
    from optihedge.cli.policy_build import build

    out: PolicyFile | None
    try:
        out = build(raw, issues, path, as_of)
    except RecursionError:
        issues.add("", "nested too deeply to read")
        out = None
    except _CAUGHT as exc:  # a last resort: every section guards its own errors
        issues.add("", f"could not be read: {type(exc).__name__}: {exc}")
        out = None
    if issues.items or out is None:
        if not issues.items:  # pragma: no cover - build records why it gave up
            issues.add("", "the policy could not be read")
        raise PolicyFileError(issues.items, source)
    return out


def plain(value: Any) -> Any:
    """Return ``value`` with TOML types only (Timestamps as dates, tuples as lists, no None)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "to_pydatetime"):
        ts = value.to_pydatetime()
        return ts.date() if ts == _dt.datetime(ts.year, ts.month, ts.day) else ts
    return value


def dump_policy(pf: PolicyFile, *, resolved: bool = False) -> str:
    """Return the policy as TOML text; ``resolved``: with every default filled in.

    Re-reading the text gives the same problem (the same weights to 1e-12).
    """
    if resolved:
        header = (
            f"{pf.name}: the resolved policy (every default filled in), written by optihedge.\n"
            f"Defaults applied: {', '.join(pf.defaults) if pf.defaults else 'none'}."
        )
        return dumps(plain(pf.resolved), header)
    return dumps(plain(pf.raw), f"{pf.name}: written by optihedge.")


def template() -> str:
    """Return a commented policy file that loads (``optihedge policy new``)."""
    from optihedge.cli.policy_template import TEMPLATE

    return str(TEMPLATE)

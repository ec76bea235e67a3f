"""TOML text for policy files: where each key is written, and a small writer.

The standard library reads TOML (:mod:`tomllib`) but gives no line numbers and has no
writer. This module supplies both, for the plain types a policy file holds.

**Line numbers** (:func:`key_lines`): one pass over the text, line by line, keeping the
current table. A ``[a.b]`` header sets the table, a ``[[a.b]]`` header appends an
element to the array of tables ``a.b`` (its elements are counted: ``a.b[0]``,
``a.b[1]``...; a later ``[a.b.c]`` belongs to the last element), and a ``key = value``
line (dotted and quoted keys allowed) names ``<table>.<key>``. The keys of a one-line
inline table (``x = { a = 1, b = 2 }``) are given the line of ``x``; lines inside
multi-line strings are skipped; keys inside multi-line arrays are not tracked (their
array's line stands for them). :func:`line_of` falls back to the nearest enclosing key
that has a line, so every error inside a table points at least at its header.

**Writing** (:func:`dumps`): scalars of a table first (``str``, ``int``, ``float``
including ``inf`` / ``nan``, ``bool``, dates, lists of scalars, inline tables for dicts
inside lists), then its sub-tables as ``[a.b]`` and its lists of tables as
``[[a.b]]``. ``None`` has no TOML form: a key whose value is None is left out (a reader
takes its default). Floats are written with ``repr`` (shortest exact form), so what is
written reads back to the same number.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["dumps", "key_lines", "line_of"]

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _split_keys(text: str) -> list[str]:
    """Split a dotted TOML key (``a."b.c".d``) into its parts, quotes removed."""
    parts: list[str] = []
    buf = ""
    quote: str | None = None
    for ch in text.strip():
        if quote:
            if ch == quote:
                quote = None
            else:
                buf += ch
        elif ch in "\"'":
            quote = ch
        elif ch == ".":
            parts.append(buf.strip())
            buf = ""
        else:
            buf += ch
    parts.append(buf.strip())
    return parts


def _strip_comment(line: str) -> str:
    """Return ``line`` without a trailing ``# comment`` (a ``#`` inside quotes stays)."""
    quote: str | None = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[:i]
    return line


def _key_part(line: str) -> str | None:
    """Return the key before the first ``=`` outside quotes (None when there is none)."""
    quote: str | None = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "=":
            return line[:i]
    return None


def key_lines(text: str) -> dict[str, int]:
    """Return the line (1-based) of every dotted key written in ``text`` (see the module)."""
    out: dict[str, int] = {}
    table = ""
    arrays: dict[str, str] = {}  # plain path of an array of tables -> its last element
    counts: dict[str, int] = {}
    multiline: str | None = None

    def resolve(parts: list[str]) -> str:
        plain, indexed = "", ""
        for p in parts:
            plain = f"{plain}.{p}" if plain else p
            indexed = f"{indexed}.{p}" if indexed else p
            if plain in arrays:
                indexed = arrays[plain]
        return indexed

    for n, raw in enumerate(text.splitlines(), 1):
        if multiline is not None:
            if multiline in raw:
                multiline = None
            continue
        line = _strip_comment(raw).strip()
        if not line:
            continue
        if line.startswith("[["):
            parts = _split_keys(line[2:].split("]]")[0])
            parent = resolve(parts[:-1])
            base = f"{parent}.{parts[-1]}" if parent else parts[-1]
            k = counts.get(base, 0)
            counts[base] = k + 1
            table = f"{base}[{k}]"
            arrays[".".join(parts)] = table
            out.setdefault(base, n)
            out[table] = n
            continue
        if line.startswith("["):
            table = resolve(_split_keys(line[1:].split("]")[0]))
            out.setdefault(table, n)
            continue
        key = _key_part(line)
        if key is None:
            continue
        full = ".".join([table, *_split_keys(key)] if table else _split_keys(key))
        out.setdefault(full, n)
        value = line[len(key) + 1 :].strip()
        for delim in ('"""', "'''"):
            if value.startswith(delim) and value.count(delim) == 1:
                multiline = delim
        if value.startswith("{"):
            for sub in re.findall(r"([A-Za-z0-9_\-\"'.]+)\s*=", value[1:]):
                out.setdefault(".".join([full, *_split_keys(sub)]), n)
    return out


def line_of(lines: Mapping[str, int], key: str) -> int | None:
    """Return the line of ``key``, else of its nearest enclosing key, else None."""
    while key:
        if key in lines:
            return lines[key]
        cut = max(key.rfind("."), key.rfind("["))
        if cut <= 0:
            break
        key = key[:cut]
    return lines.get(key)


# --------------------------------------------------------------------------- writing


def _key(k: Any) -> str:
    k = str(k)
    return k if _BARE.match(k) else json.dumps(k)


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, _dt.datetime):
        return v.isoformat()
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if isinstance(v, Mapping):
        inner = ", ".join(f"{_key(k)} = {_scalar(x)}" for k, x in v.items() if x is not None)
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(f"TOML cannot hold a {type(v).__name__}: {v!r}.")


def _is_tables(v: Any) -> bool:
    return isinstance(v, list | tuple) and bool(v) and all(isinstance(x, Mapping) for x in v)


def _is_scalar(v: Any) -> bool:
    return v is not None and not (isinstance(v, Mapping) and v) and not _is_tables(v)


def _table(out: list[str], path: str, d: Mapping[str, Any]) -> None:
    subs, arrays = [], []
    for k, v in d.items():
        if v is None:
            continue
        if isinstance(v, Mapping) and v:
            subs.append((k, v))
        elif _is_tables(v):
            arrays.append((k, v))
        else:
            out.append(f"{_key(k)} = {_scalar(v)}")
    for k, v in subs:
        name = f"{path}.{_key(k)}" if path else _key(k)
        if any(_is_scalar(x) for x in v.values()):  # else its sub-tables' headers define it
            out.append("")
            out.append(f"[{name}]")
        _table(out, name, v)
    for k, items in arrays:
        name = f"{path}.{_key(k)}" if path else _key(k)
        for item in items:
            out.append("")
            out.append(f"[[{name}]]")
            _table(out, name, item)


def dumps(d: Mapping[str, Any], header: str = "") -> str:
    """Return ``d`` (plain types, see the module) as TOML text; ``header`` as comments."""
    out = [f"# {h}" if h else "#" for h in header.splitlines()]
    _table(out, "", d)
    return "\n".join(out).strip("\n") + "\n"

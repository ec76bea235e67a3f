"""What a command prints or writes: tables in the terminal, JSON, CSV, files written whole.

A command's output is an :class:`Output`: named tables (the first is the main one), a few
plain lines (the summary, notes) and plain values. ``table`` prints every table under its
name, ``json`` one object with everything, ``csv`` the main table only (a CSV file holds
one table).
"""

from __future__ import annotations

import io
import json
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from optihedge.cli.records import jsonable

__all__ = ["Output", "emit", "frame_records", "render", "write_text"]


@dataclass
class Output:
    """A command's result, ready to render.

    Attributes
    ----------
    tables : dict of str to DataFrame
        In order; the first is the main table (the one ``--format csv`` writes).
    lines : list of str
        Plain sentences printed after the tables (``table``), or under ``"text"``
        (``json``).
    values : dict
        Plain values for ``json`` (status, objective, paths written, ...).
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return a table as a list of rows (its index as the first field), in plain JSON types."""
    named = frame.copy()
    if named.index.name is None and not isinstance(named.index, pd.RangeIndex):
        named.index.name = "label"
    if not isinstance(named.index, pd.RangeIndex):
        named = named.reset_index()
    named.columns = [str(c) for c in named.columns]
    rows = named.to_dict(orient="records")
    return [jsonable(row) for row in rows]


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e5:
        return f"{value:,.0f}"
    return f"{value:.6g}"


def _clean(frame: pd.DataFrame, name: bool) -> pd.DataFrame:
    """Return ``frame`` with no -0.0 and (``name``) its index named, ``label`` by default."""
    out = frame.copy()
    if name and not isinstance(out.index, pd.RangeIndex) and out.index.name is None:
        out.index.name = "label"
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column] + 0.0  # -0.0 + 0.0 is 0.0
    return out


def render(output: Output, fmt: str) -> str:
    """Return the output as text in ``fmt`` (``table``, ``json`` or ``csv``)."""
    output = Output(
        {name: _clean(frame, fmt != "table") for name, frame in output.tables.items()},
        output.lines,
        output.values,
    )
    if fmt == "json":
        document: dict[str, Any] = dict(jsonable(output.values))
        for name, frame in output.tables.items():
            document[name] = frame_records(frame)
        if output.lines:
            document["text"] = list(output.lines)
        return json.dumps(document, indent=2, allow_nan=False) + "\n"
    if fmt == "csv":
        if not output.tables:
            return ""
        main = next(iter(output.tables.values()))
        buffer = io.StringIO()
        main.to_csv(buffer, index=not isinstance(main.index, pd.RangeIndex))
        return buffer.getvalue()
    parts: list[str] = []
    for name, frame in output.tables.items():
        body = "(empty)" if frame.empty else frame.to_string(float_format=_number)
        parts.append(f"{name}\n{body}\n")
    parts.extend(f"{line}\n" for line in output.lines)
    return "\n".join(parts)


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` whole (a temporary beside it, renamed over it)."""
    temporary = path.with_name(f".part-{os.getpid()}-{secrets.token_hex(4)}-{path.name}")
    try:
        temporary.write_text(text)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def emit(text: str, out: str | None, quiet: bool) -> Path | None:
    """Print ``text``, or write it to ``out`` and say where (unless ``quiet``)."""
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return None
    path = write_text(Path(out), text)
    if not quiet:
        sys.stderr.write(f"wrote {path}\n")
    return path

"""The record of a run of the command: one JSON file per run, written whole or not at all.

A record holds the arguments, the resolved policy (and the defaults that were applied),
the as-of date, fingerprints of the data, the timings of each step, the status and exit
code, the message of a failure and the result's key numbers. It is written to a file
beside the final name and renamed over it (``os.replace``), so a reader (a scheduler, a
dashboard) never sees half a record.

A run with ``--as-of`` is a nightly run: its record is named by the date, the command
and the policy file (its absolute path), so running the same night again replaces that
night's record. A run without ``--as-of`` gets a record of its own, named by the time it
started.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

__all__ = ["RECORD_SCHEMA", "RunRecord", "jsonable"]

#: The layout of a record (its ``"record"`` field).
RECORD_SCHEMA = "optihedge-run/1"


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON types: numbers, strings, lists, dicts and None.

    NaN and infinities become None (JSON has no such numbers); dates and times ISO
    strings; numpy scalars and arrays, pandas objects their values; anything else its
    ``str``.
    """
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    item = getattr(obj, "item", None)  # numpy scalars
    if callable(item) and getattr(obj, "ndim", None) == 0:
        return jsonable(item())
    tolist = getattr(obj, "tolist", None)  # numpy arrays, pandas Index and Series values
    if callable(tolist) and not hasattr(obj, "columns"):
        return jsonable(tolist())
    isoformat = getattr(obj, "isoformat", None)  # pandas Timestamp
    if callable(isoformat):
        return str(isoformat())
    return str(obj)


class RunRecord:
    """What one run of a command did; :meth:`write` puts it in its folder.

    Parameters
    ----------
    command : str
        ``solve``, ``sweep``, ``attribute``, ``backtest`` or ``report``.
    arguments : mapping
        The parsed arguments (as given, defaults included).
    argv : sequence of str
        The command line as typed.
    policy : str
        The policy file's path as given.
    as_of : str, optional
        The ``--as-of`` date (YYYY-MM-DD): the record is that night's.
    """

    def __init__(
        self,
        command: str,
        arguments: Mapping[str, Any],
        argv: list[str],
        policy: str,
        as_of: str | None,
    ) -> None:
        self.command = command
        self.policy = policy
        self.as_of = as_of
        self.started = datetime.now(UTC)
        self._clock = time.perf_counter()
        self.fields: dict[str, Any] = {
            "record": RECORD_SCHEMA,
            "command": command,
            "argv": list(argv),
            "arguments": dict(arguments),
            "policy_file": str(Path(policy).absolute()),
            "as_of": as_of,
            "started": self.started.isoformat(),
            "timings": {},
            "outputs": [],
            "status": "running",
        }

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time the step ``name`` (seconds, added up when a step repeats)."""
        begin = time.perf_counter()
        try:
            yield
        finally:
            timings = self.fields["timings"]
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - begin

    def update(self, **fields: Any) -> None:
        """Add or replace fields of the record."""
        self.fields.update(fields)

    def name(self) -> str:
        """Return the record's file name: by date, command and policy with ``--as-of``."""
        stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in Path(self.policy).stem)
        if self.as_of is not None:
            key = f"{Path(self.policy).absolute()}\0{self.command}".encode()
            digest = hashlib.sha256(key).hexdigest()[:10]
            return f"{self.as_of}_{self.command}_{stem}_{digest}.json"
        moment = self.started.strftime("%Y%m%dT%H%M%S.%fZ")
        return f"{moment}_{self.command}_{stem}_{secrets.token_hex(3)}.json"

    def write(self, folder: Path, status: str, exit_code: int, message: str | None) -> Path:
        """Finish the record and write it into ``folder`` (created if missing), atomically."""
        finished = datetime.now(UTC)
        self.fields.update(
            status=status,
            exit_code=exit_code,
            message=message,
            finished=finished.isoformat(),
            seconds=time.perf_counter() - self._clock,
        )
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / self.name()
        temporary = folder / f".part-{os.getpid()}-{secrets.token_hex(4)}-{target.name}"
        try:
            temporary.write_text(json.dumps(jsonable(self.fields), indent=2, allow_nan=False))
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        return target

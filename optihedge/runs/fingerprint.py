"""The content fingerprint that names a run: the same content, the same id, in any process.

A run (a sweep, a backtest) is named by a hash of what it solves -- the problem's
numbers, labels and structure, and the points -- not of a pickle (whose bytes depend on
object identity and memo order): the same problem built again, in another process or
another session, has the same id, so a run started again finds its stored rows.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["fingerprint", "run_id"]


def run_id(*parts: Any) -> str:
    """Return the id of a run of ``parts``: 32 hex digits of a hash of their fingerprints.

    Parameters
    ----------
    *parts
        What the run solves, in a fixed order (for a sweep: the problem's state, the
        grid's keys and points, then each input by key). One memo is shared by the
        parts, so an object they hold in common is digested once.

    Returns
    -------
    str
        ``sha256(fingerprint(parts[0]) + fingerprint(parts[1]) + ...)`` in hex, cut to
        32 digits (128 bits).
    """
    h = hashlib.sha256()
    memo: dict[int, tuple[Any, bytes]] = {}
    for part in parts:
        h.update(fingerprint(part, memo))
    return h.hexdigest()[:32]


def fingerprint(obj: Any, memo: dict[int, tuple[Any, bytes]] | None = None) -> bytes:
    """Digest ``obj``'s content (numbers, labels, types): stable across processes.

    Arrays and pandas objects hash their values' bytes and their labels; dataclasses
    and plain objects their type and attributes; containers their items, in order.
    """
    memo = {} if memo is None else memo
    key = id(obj)
    if key in memo:  # the memo holds the object too: its id cannot be reused meanwhile
        return memo[key][1]
    h = hashlib.sha256(type(obj).__qualname__.encode())
    if obj is None or isinstance(obj, bool | int | float | str | bytes | complex | enum.Enum):
        h.update(repr(obj).encode())  # an enum member by its name (its vars hold its class)
    elif isinstance(obj, np.generic):
        h.update(repr(obj.item()).encode())
    elif isinstance(obj, np.ndarray):
        h.update(str(obj.dtype).encode() + repr(obj.shape).encode())
        h.update(
            np.ascontiguousarray(obj).tobytes()
            if obj.dtype != object
            else repr(obj.tolist()).encode()
        )
    elif isinstance(obj, pd.DataFrame):
        h.update(fingerprint(obj.index, memo) + fingerprint(obj.columns, memo))
        for _, column in obj.items():
            h.update(fingerprint(column.to_numpy(), memo))
    elif isinstance(obj, pd.Series):
        h.update(fingerprint(obj.index, memo) + fingerprint(obj.to_numpy(), memo))
        h.update(repr(obj.name).encode())
    elif isinstance(obj, pd.Index):
        h.update(repr(obj.names).encode() + str(obj.dtype).encode())
        values = obj.asi8 if isinstance(obj, pd.DatetimeIndex) else obj.to_numpy()
        h.update(fingerprint(np.asarray(values), memo))
    elif isinstance(obj, pd.Timestamp):
        h.update(repr(obj.value).encode())
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            h.update(fingerprint(k, memo) + fingerprint(v, memo))
    elif isinstance(obj, list | tuple | set | frozenset):
        items = sorted(obj, key=repr) if isinstance(obj, set | frozenset) else obj
        for item in items:
            h.update(fingerprint(item, memo))
    elif dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            h.update(f.name.encode() + fingerprint(getattr(obj, f.name), memo))
    elif hasattr(obj, "__dict__"):
        for name in sorted(vars(obj)):
            h.update(name.encode() + fingerprint(vars(obj)[name], memo))
    else:
        h.update(repr(obj).encode())
    digest = h.digest()
    memo[key] = (obj, digest)
    return digest

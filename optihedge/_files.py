"""Files written whole or not at all: the report, a sweep's exports, saved figures."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path

from optihedge.errors import SpecificationError

__all__ = ["write_atomically"]


def write_atomically(
    writers: Mapping[Path, Callable[[Path], object]], argument: str = "path"
) -> None:
    """Write each target through its writer to a file beside it, then rename them over.

    A reader never sees half a file, and a failure (an error, a full disk) leaves every
    old file as it was and no temporary file behind. The temporary name ends with the
    target's own name, so a writer that reads the suffix (``.csv.gz``, ``.png``) picks
    the same format.

    Parameters
    ----------
    writers : mapping of Path to callable
        ``writer(temporary)`` writes the content meant for the target.
    argument : str, default "path"
        The argument the targets came from, named in the error.

    Raises
    ------
    SpecificationError
        The file system refused a write (a folder that refuses files, a full disk),
        naming the target and why.
    """
    tag = f"{os.getpid()}-{secrets.token_hex(4)}"
    temporaries = {target: target.with_name(f".part-{tag}-{target.name}") for target in writers}
    try:
        for target, write in writers.items():
            write(temporaries[target])
        for target, temporary in temporaries.items():
            os.replace(temporary, target)
    except OSError as exc:
        for temporary in temporaries.values():
            temporary.unlink(missing_ok=True)
        raise SpecificationError(
            f"The '{argument}' argument {str(next(iter(writers)))!r} cannot be written: "
            f"{exc.strerror or exc}. Choose a writable location (with free space)."
        ) from exc
    except BaseException:
        for temporary in temporaries.values():
            temporary.unlink(missing_ok=True)
        raise

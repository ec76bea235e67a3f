"""The runner: a run's chunks solved in this process, in joblib workers, or on a Dask cluster.

A run is a :class:`Task` -- a picklable recipe of the problem, the inputs every chunk
reads, and a function that solves one chunk of points on the compiled problem -- and a
list of chunks. :func:`run` hands the chunks to a backend and yields each chunk's rows
as it finishes:

- sequential (``n_jobs=1``, no client): in this process, on one private copy of the
  problem (the caller's object is not changed);
- joblib (``n_jobs > 1``): loky worker processes, one BLAS thread each;
- Dask (``client``): the recipe and the shared inputs are scattered once to every
  worker, then one future per chunk.

A worker keeps one compiled problem per run (the worker cache, :func:`work`): it
unpickles the recipe at the run's first chunk and keeps it, with the solve function's
state, for every later chunk of that run, so that each point only changes parameters
and re-solves. The last :data:`KEEP` runs are kept.

A joblib (loky) worker watches its parent (:func:`watch_parent`): when the process that
runs the task dies (SIGKILL), the worker ends within a second instead of idling for
loky's five minutes.

Sweeps run on this engine; a backtest and the command line will too. It imports nothing
of theirs.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from optihedge.errors import SpecificationError

__all__ = [
    "CONNECT_TIMEOUT",
    "KEEP",
    "Progress",
    "Task",
    "check_scheduler",
    "connect",
    "run",
    "watch_parent",
    "work",
]

P = TypeVar("P")  # one point of a run, as the solve function reads it
R = TypeVar("R")  # one chunk's rows, as the solve function returns them

#: seconds a run waits for a Dask scheduler address to answer
CONNECT_TIMEOUT = 5.0
#: compiled problems a worker keeps (one per run, the oldest dropped first)
KEEP = 4


@dataclass(frozen=True)
class Task(Generic[P, R]):
    """A run's work, sent to every worker: what to compile once and how to solve a chunk.

    Attributes
    ----------
    run_id : str
        The run's name (its content fingerprint): a worker keeps the compiled problem
        under it.
    recipe : bytes
        The pickled problem; a worker unpickles it once per run ("compiles" it).
    solve : callable
        ``solve(compiled, shared, chunk, state) -> rows``: solves the points of
        ``chunk`` in order on the compiled problem. ``state`` is a dict the worker keeps
        for the run beside the compiled problem (what the problem holds now, for
        instance), empty at the run's first chunk. A module-level function (pickled by
        reference). A point that fails should be a row saying so, not an exception: an
        exception ends the run.
    shared : object, optional
        Inputs every chunk reads (sent once per worker on Dask).
    """

    run_id: str
    recipe: bytes
    solve: Callable[[Any, Any, Sequence[P], dict[str, Any]], R]
    shared: Any = None


# compiled problems (and their solve state) of the runs this process works on, by run id
_COMPILED: dict[str, tuple[Any, dict[str, Any]]] = {}


def work(
    run_id: str,
    recipe: bytes,
    shared: Any,
    solve: Callable[[Any, Any, Sequence[P], dict[str, Any]], R],
    chunk: Sequence[P],
    parent: int | None = None,
) -> R:
    """Solve one chunk with this process's compiled copy of the run's problem.

    The worker cache: the recipe is unpickled at the run's first chunk in this process
    and kept (with the solve function's state) for the run's later chunks; at most
    :data:`KEEP` runs are kept. With ``parent`` (a joblib worker), the cache's first
    call also makes sure :func:`watch_parent` watches that process (the workers'
    initializer starts it; a worker started without it is covered here).
    """
    if parent is not None and not _WATCHED:
        watch_parent(parent)
    if run_id not in _COMPILED:
        while len(_COMPILED) >= KEEP:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[run_id] = (pickle.loads(recipe), {})
    compiled, state = _COMPILED[run_id]
    return solve(compiled, shared, chunk, state)


# the parent process this worker's watchdog thread watches (one thread per process)
_WATCHED: list[int] = []
_POLL = 0.5  # seconds between two looks at the parent


def watch_parent(parent: int) -> None:
    """Start (once) a thread that ends this process when ``parent`` is no longer its parent.

    The initializer of each joblib (loky) worker of a run: loky starts its workers as
    children of the process that runs the task, ``parent``. A worker whose parent was
    killed is adopted by another process (``os.getppid`` changes); it then exits at
    once, without cleanup (its results have no reader), and so does a worker whose
    parent died while it was starting.
    """
    if os.getppid() != parent:
        os._exit(1)
    if _WATCHED:
        return
    _WATCHED.append(parent)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_POLL)
        os._exit(1)

    threading.Thread(target=watch, name="optihedge-parent-watch", daemon=True).start()


class Progress:
    """Progress of a run: a bar on a terminal and/or a callback ``(done, total)``.

    Parameters
    ----------
    total : int
        Points to do.
    progress : bool or callable or None
        None shows a bar when standard error is a terminal, True always, False never; a
        callable is called with ``(done, total)`` after each :meth:`update`.
    desc : str, default "run"
        The bar's label (``"sweep"``).
    """

    def __init__(self, total: int, progress: Any, desc: str = "run") -> None:
        self.total, self.done = total, 0
        self.callback = progress if callable(progress) else None
        show = progress if isinstance(progress, bool) else (
            progress is None and sys.stderr.isatty()
        )  # fmt: skip
        self.bar = None
        if show and total:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit="point", desc=desc, file=sys.stderr)

    def update(self, n: int) -> None:
        """Count ``n`` more points done."""
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        if self.callback is not None:
            self.callback(self.done, self.total)

    def close(self) -> None:
        """Close the bar."""
        if self.bar is not None:
            self.bar.close()


def check_scheduler(scheduler: Any) -> None:
    """Refuse a ``scheduler`` that is no address, Dask client or cluster."""
    try:
        from distributed import Client
        from distributed.deploy.cluster import Cluster
    except ImportError as exc:  # pragma: no cover - the 'distributed' extra
        raise SpecificationError(
            "A Dask scheduler needs the 'distributed' package: pip install "
            "'optihedge[distributed]'."
        ) from exc
    if not isinstance(scheduler, str | Client | Cluster):
        raise SpecificationError(
            "The 'scheduler' argument must be a Dask scheduler address "
            "('tcp://host:8786'), a distributed.Client or a Dask cluster, or None. Got "
            f"{type(scheduler).__name__}: {scheduler!r}."
        )


def connect(scheduler: Any) -> tuple[Any, bool]:
    """Return a Dask client for ``scheduler`` and whether the caller owns it (closes it).

    Raises
    ------
    SpecificationError
        A malformed address, or one that does not answer within
        :data:`CONNECT_TIMEOUT` seconds.
    """
    from distributed import Client

    if isinstance(scheduler, Client):
        return scheduler, False
    where = scheduler if isinstance(scheduler, str) else type(scheduler).__name__
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise SpecificationError(
            f"The Dask scheduler {where!r} given as 'scheduler' did not answer within "
            f"{CONNECT_TIMEOUT:g} s ({exc}). Start it (dask scheduler), check the address "
            "(tcp://host:8786), or leave 'scheduler' out to run on n_jobs processes."
        ) from exc
    return client, True


def run(
    task: Task[P, R], chunks: Iterable[Sequence[P]], *, n_jobs: int = 1, client: Any = None
) -> Iterator[R]:
    """Yield the rows of each chunk of ``task`` as it finishes (in any order but sequential's).

    Parameters
    ----------
    task : Task
        The recipe, the shared inputs and the solve function.
    chunks : iterable of sequences of points
        The units of work (and of a store's transactions); read lazily by the
        sequential and joblib backends.
    n_jobs : int, default 1
        joblib worker processes; 1 solves in this process.
    client : distributed.Client, optional
        A Dask client (see :func:`connect`): chunks run on its cluster.
    """
    if client is not None:
        yield from _dask(task, chunks, client)
    elif n_jobs > 1:
        yield from _joblib(task, chunks, n_jobs)
    else:
        yield from _sequential(task, chunks)


def _sequential(task: Task[P, R], chunks: Iterable[Sequence[P]]) -> Iterator[R]:
    local = pickle.loads(task.recipe)  # compiled once; the caller's object stays as it was
    state: dict[str, Any] = {}
    for chunk in chunks:
        yield task.solve(local, task.shared, chunk, state)


def _joblib(task: Task[P, R], chunks: Iterable[Sequence[P]], n_jobs: int) -> Iterator[R]:
    from joblib import Parallel, delayed, parallel_config

    # one BLAS thread per worker: the problems are small, and spinning BLAS threads of
    # several workers on few cores slow every solve down by orders of magnitude
    # each worker watches this process from its start and ends within a second of it,
    # even after a SIGKILL (loky's own idle timeout is five minutes)
    parent = os.getpid()
    with parallel_config(
        backend="loky",
        inner_max_num_threads=1,
        initializer=watch_parent,
        initargs=(parent,),
    ):
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        yield from parallel(
            delayed(work)(task.run_id, task.recipe, task.shared, task.solve, chunk, parent)
            for chunk in chunks
        )


def _dask(task: Task[P, R], chunks: Iterable[Sequence[P]], client: Any) -> Iterator[R]:
    from distributed import as_completed

    shared = client.scatter([task.recipe, task.shared], broadcast=True)
    futures = [
        client.submit(work, task.run_id, shared[0], shared[1], task.solve, chunk, pure=False)
        for chunk in chunks
    ]
    for future in as_completed(futures):  # type: ignore[no-untyped-call]
        yield future.result()

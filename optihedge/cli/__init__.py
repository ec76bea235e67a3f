"""The ``optihedge`` command line (``optihedge ...``, ``python -m optihedge ...``).

This module builds the argument parser and maps outcomes to exit codes; it imports only
the standard library, so ``optihedge --help`` and ``optihedge --version`` start without
cvxpy, pandas or statsmodels. The commands themselves live in
:mod:`optihedge.cli.commands` (loaded once the arguments are read), their tables and
files in :mod:`optihedge.cli.output`, the run record in :mod:`optihedge.cli.records`,
``--grid`` specifications in :mod:`optihedge.cli.grid` and policy files in
:mod:`optihedge.cli.policy_file`.

Exit codes
----------
0
    The run finished and every solve found a hedge.
1
    The run finished, but the problem is infeasible or a solve failed (for a sweep: at
    least one point); the message names the conflicting limits.
2
    Bad input: the policy file, the data or the arguments (argparse's own errors too).
3
    The run could not finish for a reason outside its input: a store in use by another
    process, a full disk, an output that cannot be written.
4
    An internal error (a bug): rerun with ``--debug`` for the traceback, and report it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["EXIT_BAD_INPUT", "EXIT_ENVIRONMENT", "EXIT_FAILED", "EXIT_INTERNAL", "EXIT_OK", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERNAL = 4

_EPILOG = """\
exit codes:
  0  the run finished and every solve found a hedge
  1  the run finished, but the problem is infeasible or a solve failed (a sweep: at
     least one point); the message names the conflicting limits
  2  bad input: the policy file, the data or the arguments
  3  the run could not finish for a reason outside its input (a store in use by
     another process, a full disk, an output that cannot be written)
  4  an internal error: rerun with --debug and report it

Every run of solve, sweep, attribute, backtest and report leaves a JSON record (the
arguments, the resolved policy, the as-of date, data fingerprints, timings, status, the
key numbers) in ./optihedge-runs/, or in optihedge-runs/ beside --out (--records DIR).
"""


def _as_of(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: write YYYY-MM-DD (e.g. 2024-06-28)"
        ) from None


def _book_value(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number: give the book's value in USD, e.g. 1000000"
        ) from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(
            f"the book's value must be a positive finite amount in USD, got {text!r}"
        )
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"must be >= 1 (or -1: one per core), got {value}")
    return value


def _common() -> argparse.ArgumentParser:
    """Options every command takes, before or after the command's name.

    Defaults are suppressed here and filled in by :func:`_defaults`, so an option given
    before the command is not overwritten by the subcommand's default.
    """
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("common options")
    s = argparse.SUPPRESS
    g.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default=s,
        help="output format (default table; csv: the command's main table)",
    )
    g.add_argument(
        "--out", default=s, metavar="PATH", help="write the output to this file (report: folder)"
    )
    g.add_argument(
        "--records",
        default=s,
        metavar="DIR",
        help="folder of the run records (default optihedge-runs/ beside --out, else ./)",
    )
    g.add_argument(
        "--as-of",
        type=_as_of,
        default=s,
        metavar="DATE",
        help="the run's date (YYYY-MM-DD): a nightly run for that date; rerunning the same "
        "policy and command for the same date replaces that night's record",
    )
    g.add_argument("--quiet", action="store_true", default=s, help="no progress or notes")
    g.add_argument(
        "--debug",
        action="store_true",
        default=s,
        help="tracebacks on errors (the exit code is then Python's own, 1: for people, "
        "not schedulers)",
    )
    return p


_DEFAULTS: dict[str, Any] = {
    "format": "table",
    "out": None,
    "records": None,
    "as_of": None,
    "quiet": False,
    "debug": False,
}


def _parser() -> argparse.ArgumentParser:
    from optihedge import __version__

    common = _common()
    parser = argparse.ArgumentParser(
        prog="optihedge",
        description="Portfolio hedge optimizer (offline, embedded data): solve, sweep,\n"
        "attribute, backtest and report the hedge a TOML policy file describes\n"
        "(start one with: optihedge policy new > policy.toml).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common()],
    )
    parser.add_argument("--version", action="version", version=f"optihedge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, **kw: Any) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help,
            description=help,
            parents=[common],
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            **kw,
        )

    demo = sub.add_parser("demo", help="hedge an equal-weight book of the 20 embedded stocks")
    demo.add_argument(
        "--value",
        type=_book_value,
        default=1_000_000.0,
        help="book value in USD (default 1,000,000)",
    )
    demo.add_argument(
        "--report",
        default="optihedge-demo-report.html",
        help="where to write the HTML report of the hedge (default: "
        "./optihedge-demo-report.html); '' for none",
    )

    solve = command("solve", "solve the policy file's hedge problem on its as-of date")
    solve.add_argument("policy", metavar="POLICY", help="the policy file (TOML)")

    sweep = command(
        "sweep",
        "solve the policy's problem at every point of a grid of limits",
    )
    sweep.add_argument("policy", metavar="POLICY", help="the policy file (TOML)")
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=VALUES",
        help="a parameter and its values: key=v1,v2,... or key=start:end:step (a range "
        "INCLUDES its end when the steps reach it: 0.5:1.5:0.25 is 0.5, 0.75, 1, 1.25, "
        "1.5); repeat for more keys (their Cartesian product is swept)",
    )
    sweep.add_argument("--jobs", type=_positive_int, default=1, metavar="N", help="processes")
    sweep.add_argument("--scheduler", metavar="ADDR", help="a Dask scheduler (tcp://host:8786)")
    sweep.add_argument(
        "--store", metavar="FILE", help="a DuckDB file: a rerun solves only what is missing"
    )

    attribute = command("attribute", "where the risk before and after the hedge comes from")
    attribute.add_argument("policy", metavar="POLICY", help="the policy file (TOML)")
    attribute.add_argument(
        "--by", choices=("factor", "holding", "instrument", "leg"), default="factor"
    )
    attribute.add_argument(
        "--measure", choices=("volatility", "expected_shortfall"), default="volatility"
    )

    backtest = command("backtest", "run the policy's hedge policy through history")
    backtest.add_argument("policy", metavar="POLICY", help="the policy file (TOML)")
    backtest.add_argument("--start", type=_as_of, metavar="DATE", help="first date (YYYY-MM-DD)")
    backtest.add_argument("--end", type=_as_of, metavar="DATE", help="last date (YYYY-MM-DD)")
    backtest.add_argument("--store", metavar="FILE", help="a DuckDB file for the decisions")

    report = command("report", "write the HTML report of the policy's hedge into --out DIR")
    report.add_argument("policy", metavar="POLICY", help="the policy file (TOML)")

    policy = sub.add_parser("policy", help="check, show or start a policy file")
    psub = policy.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = psub.add_parser(
        "check", help="read the file and report every error at once", parents=[common]
    )
    check.add_argument("policy", metavar="POLICY")
    show = psub.add_parser("show", help="print the policy as read", parents=[common])
    show.add_argument("policy", metavar="POLICY")
    show.add_argument(
        "--resolved", action="store_true", help="with every default filled in (re-reads the same)"
    )
    psub.add_parser("new", help="print a commented template: optihedge policy new > policy.toml")

    command("data", "what data are embedded (tickers, names, sources, licences, dates)")
    return parser


def _defaults(args: argparse.Namespace) -> argparse.Namespace:
    for key, value in _DEFAULTS.items():
        if not hasattr(args, key):
            setattr(args, key, value)
    return args


def _exit_code(exc: BaseException) -> int:
    """Return the exit code of an error a command raised."""
    from optihedge.errors import (
        ConvergenceError,
        DataError,
        InfeasibleError,
        MissingLabelsError,
        SolverFailedError,
        SpecificationError,
        StoreError,
        UnboundedError,
    )

    if isinstance(exc, InfeasibleError | SolverFailedError | UnboundedError | ConvergenceError):
        return EXIT_FAILED
    if isinstance(exc, SpecificationError | DataError | MissingLabelsError):
        return EXIT_BAD_INPUT
    if isinstance(exc, FileNotFoundError | IsADirectoryError | NotADirectoryError):
        return EXIT_BAD_INPUT
    if isinstance(exc, StoreError | OSError):
        return EXIT_ENVIRONMENT
    return EXIT_INTERNAL


def _message(exc: BaseException, code: int) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        text = f"{exc.strerror or exc}: {exc.filename}"
    else:
        text = str(exc).strip() or type(exc).__name__
    if code == EXIT_INTERNAL:
        text = (
            f"internal error ({type(exc).__name__}: {text}); rerun with --debug for the "
            "traceback and report it"
        )
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code (see the module's docstring).

    Argument errors exit through argparse (code 2, usage on standard error).
    """
    args = _defaults(_parser().parse_args(argv))
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.command == "demo":
        return _demo(args)
    try:
        from optihedge.cli.commands import run

        return run(args)
    except KeyboardInterrupt:
        sys.stderr.write("optihedge: interrupted\n")
        return 130
    except Exception as exc:  # every error becomes one message and an exit code
        if args.debug or os.environ.get("OPTIHEDGE_DEBUG"):
            raise
        code = _exit_code(exc)
        command = " ".join(filter(None, (args.command, getattr(args, "action", None))))
        sys.stderr.write(f"optihedge {command}: error: {_message(exc, code)}\n")
        return code


def _demo(args: argparse.Namespace) -> int:
    try:
        from optihedge.demo import format_demo, run_demo, save_frontier, write_report

        result = run_demo(value=args.value)
        sys.stdout.write(format_demo(result))
        if args.report:
            path = write_report(result, args.report).resolve()
            frontier = save_frontier(
                result, path.with_name(f"{path.stem.removesuffix('-report')}-frontier.png")
            ).resolve()
            sys.stdout.write(
                f"\nThe HTML report of the expected-shortfall hedge is at {path} (open it in "
                f"any browser; it needs no network).\nThe sweep's frontier (expected "
                f"shortfall against premium, by gross cap) is at {frontier}.\n"
            )
        from optihedge.demo.policies import format_policies, run_policies, save_policies

        policies = run_policies(value=args.value)
        sys.stdout.write(format_policies(policies))
        if args.report:
            folder = Path(args.report).resolve().parent / "optihedge-demo-policies"
            reports = save_policies(policies, folder)
            sys.stdout.write(
                f"\nEach policy's figures and HTML report are under {folder} "
                f"({', '.join(p.name for p in reports)}).\n"
            )
        return 0
    except Exception as exc:
        if args.debug or os.environ.get("OPTIHEDGE_DEBUG"):
            raise
        code = _exit_code(exc)
        sys.stderr.write(f"optihedge demo: error: {_message(exc, code)}\n")
        return code

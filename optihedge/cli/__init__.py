"""The ``optihedge`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optihedge", description="Portfolio hedge optimizer (offline, embedded data)."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="hedge an equal-weight book of the 20 embedded stocks")
    demo.add_argument(
        "--value", type=float, default=1_000_000.0, help="book value in USD (default 1,000,000)"
    )
    demo.add_argument(
        "--report",
        default="optihedge-demo-report.html",
        help="where to write the HTML report of the hedge (default: "
        "./optihedge-demo-report.html); '' for none",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
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
        return 0
    return 2  # pragma: no cover - argparse rejects unknown commands

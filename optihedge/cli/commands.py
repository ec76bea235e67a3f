"""The commands of ``optihedge``: each reads a policy file, runs, and renders its output.

Loaded by :func:`optihedge.cli.main` once the arguments are read (it imports pandas and,
through the commands, the optimizer). Runs (``solve``, ``sweep``, ``attribute``,
``backtest``, ``report``) leave a record (:mod:`optihedge.cli.records`) whatever their
outcome; ``policy`` and ``data`` only read.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from optihedge.cli.output import Output, emit, render
from optihedge.cli.records import RunRecord
from optihedge.errors import SpecificationError

__all__ = ["RUNS", "run"]

#: Statuses of a solve that found a hedge.
SOLVED = ("optimal", "optimal_inaccurate")
#: The folder of the run records when neither ``--records`` nor ``--out`` says.
DEFAULT_RECORDS = "optihedge-runs"


class PointsFailed(RuntimeError):
    """A sweep finished, and some of its points are infeasible or failed (exit code 1)."""


def _policy_module() -> Any:
    """:mod:`optihedge.cli.policy_file`, loaded when a command first reads a policy."""
    return importlib.import_module("optihedge.cli.policy_file")


def _say(args: argparse.Namespace, text: str) -> None:
    """Write a progress line on standard error (on a terminal only, unless ``--quiet``)."""
    if not args.quiet and sys.stderr.isatty():
        sys.stderr.write(f"{text}\n")
        sys.stderr.flush()


def _progress(args: argparse.Namespace, what: str) -> Callable[[int, int], None] | None:
    if args.quiet or not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r{what}: {done}/{total}{end}")
        sys.stderr.flush()

    return show


def _load(args: argparse.Namespace, record: RunRecord | None = None) -> Any:
    """Read the policy file named on the command line (every error of it at once)."""
    path = Path(args.policy)
    if not path.is_file():
        raise SpecificationError(
            f"The policy file {args.policy!r} does not exist or is not a file"
            + (" (a folder)." if path.is_dir() else ".")
            + " Start one with: optihedge policy new > policy.toml"
        )
    pf = _policy_module().load_policy(path, as_of=args.as_of)
    if record is not None:
        record.update(
            policy=pf.name,
            schema_version=pf.schema_version,
            resolved_policy=pf.resolved,
            defaults_applied=list(pf.defaults),
        )
    return pf


def _fingerprints(pf: Any, path: str) -> dict[str, str]:
    from optihedge.runs import run_id

    return {
        "policy_file_sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
        "prices": run_id(pf.prices),
        "book": run_id(pf.book),
        "spec": run_id(pf.spec.to_dict()),
    }


def _solved(args: argparse.Namespace, record: RunRecord) -> tuple[Any, Any, Any]:
    """Load, build and solve: the policy file and its hedge result."""
    with record.step("load"):
        pf = _load(args, record)
        record.update(fingerprints=_fingerprints(pf, args.policy))
    _say(args, f"{pf.name}: estimating the risk model and building the problem ...")
    with record.step("build"):
        problem, inputs = pf.problem()
        record.update(inputs=inputs)
    _say(args, f"{pf.name}: solving ...")
    with record.step("solve"):
        result = problem.solve()
    record.update(as_of_used=inputs.get("as_of") if isinstance(inputs, dict) else None)
    return pf, result, inputs


def _key_numbers(result: Any) -> dict[str, Any]:
    risk = result.risk
    keep = [c for c in ("volatility", "beta", "es_95", "scenario_var", "scenario_es") if c in risk]
    return {
        "status": result.status,
        "objective": float(result.objective_value),
        "capital": float(result.capital),
        "currency": result.currency,
        "horizon": result.horizon_label,
        "weights": {str(k): float(v) for k, v in result.weights.items()},
        "risk": {row: {c: float(risk.loc[row, c]) for c in keep} for row in risk.index},
        "premium": float(result.allocation["premium"].sum()),
        "annual_carry": float(result.allocation["annual_carry"].sum()),
        "binding": list(result.binding),
    }


def _policy_trade(result: Any, inputs: Any) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """Return the policy's own trade: the optimal hedge scaled by its hedge ratio."""
    if not isinstance(inputs, dict) or "hedge_ratio" not in inputs:
        return {}, [], {}
    ratio = float(inputs["hedge_ratio"])
    regime = inputs.get("regime")
    if ratio == 1.0 and inputs.get("hedge", True):
        return {}, [], {}
    where = f" in the {regime!r} regime" if regime else ""
    if not inputs.get("hedge", True) or ratio == 0.0:
        line = f"The policy holds no hedge{where}: the trade is to close the hedge."
    else:
        line = (
            f"The policy trades {ratio:g} of this hedge{where} (its hedge ratio): "
            "the table 'policy trade' above."
        )
    table = result.allocation[["weight", "notional", "units"]] * ratio
    table["units_rounded"] = table["units"].round() + 0.0
    values = {
        "policy_hedge_ratio": ratio,
        "policy_weights": {str(k): float(v) for k, v in table["weight"].items()},
    }
    return {"policy trade": table}, [line], values


def _solve_output(pf: Any, result: Any, inputs: Any = None) -> Output:
    summary = result.summary()
    allocation = result.allocation[
        [
            c
            for c in ("weight", "notional", "units", "units_rounded", "premium", "annual_carry")
            if c in result.allocation
        ]
    ]
    risk_columns = [
        c
        for c in ("volatility", "beta", "var_95", "es_95", "scenario_var", "scenario_es")
        if c in result.risk
    ]
    limits = result.constraints[
        [
            c
            for c in ("value", "limit", "slack", "binding", "shadow_price")
            if c in result.constraints
        ]
    ]
    trade, said, chosen = _policy_trade(result, inputs)
    return Output(
        tables={
            "allocation": allocation,
            **trade,
            f"risk over {result.horizon_label}": result.risk[risk_columns],
            "limits": limits,
        },
        lines=[summary, *(note for note in result.notes if note not in summary), *said],
        values={"policy": pf.name, **_key_numbers(result), **chosen},
    )


def _solve(args: argparse.Namespace, record: RunRecord) -> tuple[Output, int]:
    pf, result, inputs = _solved(args, record)
    record.update(numbers=_key_numbers(result))
    return _solve_output(pf, result, inputs), 0


def _attribute(args: argparse.Namespace, record: RunRecord) -> tuple[Output, int]:
    pf, result, _ = _solved(args, record)
    with record.step("attribute"):
        table = result.attribution(by=args.by, measure=args.measure)
    numbers = _key_numbers(result)
    numbers["attribution"] = {
        str(k): {str(c): float(v) for c, v in row.items()} for k, row in table.iterrows()
    }
    record.update(numbers=numbers)
    title = f"{args.measure} by {args.by} over {result.horizon_label} (fractions of capital)"
    lines = [str(table.attrs["note"])] if table.attrs.get("note") else []
    return Output(
        tables={title: table},
        lines=lines,
        values={"policy": pf.name, "by": args.by, "measure": args.measure},
    ), 0


def _sweep(args: argparse.Namespace, record: RunRecord) -> tuple[Output, int]:
    from optihedge.cli.grid import parse_grid

    grid = parse_grid(args.grid)  # before anything slow: a bad spec fails at once
    record.update(grid=grid)
    with record.step("load"):
        pf = _load(args, record)
        record.update(fingerprints=_fingerprints(pf, args.policy))
    with record.step("build"):
        problem, inputs = pf.problem()
        record.update(inputs=inputs)
    from optihedge.sweeps import sweep

    with record.step("sweep"):
        result = sweep(
            problem,
            grid,
            n_jobs=args.jobs,
            store=args.store,
            scheduler=args.scheduler,
            progress=False if args.quiet else None,
        )
    points = result.points
    failed = points[~points["status"].isin(SOLVED)]
    weights = result.weights.pivot(index="point", columns="instrument", values="weight")
    record.update(
        numbers={
            "points": len(points),
            "computed": int(result.computed),
            "sweep_id": result.sweep_id,
            "statuses": {str(k): int(v) for k, v in points["status"].value_counts().items()},
            "objective": {str(k): float(v) for k, v in points["objective"].items()},
        }
    )
    output = Output(
        tables={"points": points, "weights by point (fractions of capital)": weights},
        lines=[
            f"{len(points)} points, {result.computed} solved now"
            + (f", {len(points) - result.computed} read from {args.store}" if args.store else "")
            + f"; sweep id {result.sweep_id}."
        ],
        values={"policy": pf.name, "sweep_id": result.sweep_id, "computed": result.computed},
    )
    if len(failed):
        first = failed.iloc[0]
        message = str(first.get("message", "")) if "message" in failed else ""
        output.lines.append(
            f"{len(failed)} of {len(points)} points found no hedge ({first['status']} at point "
            f"{failed.index[0]}: {message})"
        )
        return output, 1
    return output, 0


def _backtest(args: argparse.Namespace, record: RunRecord) -> tuple[Output, int]:
    import inspect

    from optihedge.backtests import backtest
    from optihedge.backtests.metrics import summary

    if args.store is not None and "store" not in inspect.signature(backtest).parameters:
        raise SpecificationError(
            "--store: this optihedge's backtest keeps no store; leave --store out."
        )
    with record.step("load"):
        pf = _load(args, record)
        record.update(fingerprints=_fingerprints(pf, args.policy))
    if pf.policy is None:
        raise SpecificationError(
            f"The policy file {args.policy!r} has no [policy] section: a backtest needs the "
            "hedge policy (schedule, regimes, triggers, exit rule). Add one (see "
            "optihedge policy new)."
        )
    settings = dict(pf.backtest)
    options: dict[str, Any] = {
        "start": args.start or settings.get("start"),
        "end": args.end or args.as_of or settings.get("end"),
        "book": pf.book,
        "capital": settings.get("capital"),
        "costs": settings.get("costs"),
        "rate": settings.get("rate") or 0.0,
        "progress": _progress(args, "backtest"),
    }
    if args.store is not None:
        options["store"] = args.store
    record.update(window={"start": options["start"], "end": options["end"]})
    with record.step("backtest"):
        result = backtest(pf.policy, pf.prices, **options)
    daily = result.daily
    paths = pd.DataFrame({"hedged": daily["hedged_value"], "unhedged": daily["unhedged_value"]})
    with record.step("summary"):
        table = summary(paths, rate=float(options["rate"]))
    whole = table.xs("whole period", level="window") if len(table) else table
    record.update(
        numbers={
            "start": daily.index[0],
            "end": daily.index[-1],
            "marks": len(daily),
            "decisions": len(result.decisions),
            "trades": len(result.trades),
            "final_hedged_value": float(daily["hedged_value"].iloc[-1]),
            "final_unhedged_value": float(daily["unhedged_value"].iloc[-1]),
            "whole_period": {
                str(p): {str(c): float(v) for c, v in row.items()} for p, row in whole.iterrows()
            },
            "costs": {str(k): float(v) for k, v in result.costs()["total"].items()},
            "timings": result.meta.get("timings", {}),
        }
    )
    return Output(
        tables={"performance": table, "costs (base currency)": result.costs()},
        lines=[repr(result)],
        values={"policy": pf.name},
    ), 0


def _report_inputs(policy: str, inputs: Any) -> dict[str, str]:
    """Return what the policy's problem was built from, as the report's lines."""
    out = {"policy file": str(Path(policy).absolute())}
    if not isinstance(inputs, dict):
        return out
    for key, value in inputs.items():
        if isinstance(value, str | int | float | bool):
            out[key.replace("_", " ")] = str(value)
    estimation = inputs.get("estimation")
    if isinstance(estimation, dict) and {"kind", "first", "last"} <= set(estimation):
        out["estimation"] = (
            f"{estimation['kind']} on {estimation.get('returns', '?')} returns, "
            f"{estimation['first']} to {estimation['last']}"
        )
    return out


def _report(args: argparse.Namespace, record: RunRecord) -> tuple[Output, int]:
    if args.out is None:
        raise SpecificationError(
            "report needs --out DIR: the folder to write the HTML report into."
        )
    folder = Path(args.out)
    if folder.exists() and not folder.is_dir():
        raise SpecificationError(f"--out {args.out!r} is a file; report writes into a folder.")
    pf, result, _ = _solved(args, record)
    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(args.policy).stem
    with record.step("report"):
        path = result.report(
            folder / f"{stem}-report.html",
            title=pf.name,
            inputs=_report_inputs(args.policy, record.fields.get("inputs")),
        )
        allocation = folder / f"{stem}-allocation.csv"
        result.allocation.to_csv(allocation)
    numbers = _key_numbers(result)
    record.update(numbers=numbers, outputs=[str(path), str(allocation)])
    return Output(
        lines=[f"The report is at {path.resolve()} (open it in any browser; it needs no network)."],
        values={"policy": pf.name, "report": str(path.resolve()), **numbers},
    ), 0


#: The commands that are runs: each leaves a record.
RUNS: dict[str, Callable[[argparse.Namespace, RunRecord], tuple[Output, int]]] = {
    "solve": _solve,
    "sweep": _sweep,
    "attribute": _attribute,
    "backtest": _backtest,
    "report": _report,
}


def _records_folder(args: argparse.Namespace) -> Path:
    if args.records is not None:
        return Path(args.records)
    if args.out is not None:
        out = Path(args.out)
        return (out if args.command == "report" else out.parent) / DEFAULT_RECORDS
    return Path(DEFAULT_RECORDS)


def _arguments(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in vars(args).items() if k not in ("command", "argv")}


def _run(args: argparse.Namespace) -> int:
    from optihedge.cli import _exit_code, _message

    record = RunRecord(args.command, _arguments(args), args.argv, args.policy, args.as_of)
    folder = _records_folder(args)
    try:
        output, code = RUNS[args.command](args, record)
        text = render(output, args.format)
        with record.step("write"):
            written = emit(text, None if args.command == "report" else args.out, args.quiet)
        if written is not None:
            record.update(outputs=[*record.fields["outputs"], str(written)])
    except Exception as exc:
        code = _exit_code(exc)
        status = {1: "failed", 2: "bad_input", 3: "not_finished"}.get(code, "error")
        if "infeasible" in type(exc).__name__.lower():
            status = "infeasible"
        try:
            record.write(folder, status, code, _message(exc, code))
        except OSError as failure:  # the error to report is the run's, not the record's
            sys.stderr.write(f"optihedge: the run record could not be written: {failure}\n")
        raise
    status = "ok" if code == 0 else "failed_points"
    if code:
        sys.stderr.write(f"optihedge {args.command}: {output.lines[-1]}\n")
    path = record.write(folder, status, code, output.lines[-1] if code else None)
    _say(args, f"run record: {path}")
    return code


def _policy(args: argparse.Namespace) -> int:
    module = _policy_module()
    if args.action == "new":
        sys.stdout.write(module.template())
        return 0
    if args.action == "show":
        pf = _load(args)
        emit(module.dump_policy(pf, resolved=args.resolved), args.out, args.quiet)
        return 0
    try:
        pf = _load(args)
    except module.PolicyFileError as exc:
        if args.format == "json":
            issues = [{"key": i.key, "line": i.line, "message": i.message} for i in exc.issues]
            emit(render(Output(values={"ok": False, "issues": issues}), "json"), args.out, True)
        raise
    defaults = list(pf.defaults)
    output = Output(
        lines=[
            f"{args.policy}: ok ({pf.name}, schema version {pf.schema_version})"
            + (f"; defaults applied: {', '.join(defaults)}" if defaults else "")
        ],
        values={"ok": True, "name": pf.name, "defaults_applied": defaults},
    )
    emit(render(output, "json" if args.format == "json" else "table"), args.out, args.quiet)
    return 0


def _data(args: argparse.Namespace) -> int:
    from optihedge.datasets import metadata

    table = metadata()
    emit(
        render(
            Output(tables={"embedded data": table}, values={"tickers": len(table)}), args.format
        ),
        args.out,
        args.quiet,
    )
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the command ``args.command``; return its exit code (errors raise)."""
    if args.command in RUNS:
        return _run(args)
    if args.command == "policy":
        return _policy(args)
    if args.command == "data":
        return _data(args)
    raise SpecificationError(f"Unknown command {args.command!r}.")  # argparse stops it first

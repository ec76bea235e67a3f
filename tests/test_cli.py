"""The installed ``optihedge`` command, run as a scheduler runs it: a subprocess.

The runs on the example policies (``examples/policies``: the futures overlay, the
protective puts, the regime schedule) start once per module, a few at a time, and the
tests read their outputs, exit codes and run records. Numbers are checked against the
embedded data by hand: the overlay's book is the 20 embedded stocks equally weighted, so
its beta to the S&P 500 is ``cov(mean of the stocks' returns, index) / var(index)`` over
the 252 daily returns before the as-of date, and the minimum-variance futures hedge
holds ``-min(beta, gross cap)`` (one instrument, a convex objective in it).
"""

from __future__ import annotations

import csv
import inspect
import io
import json
import os
import re
import subprocess
import sys
import tomllib
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optihedge.cli.grid import parse_grid
from optihedge.cli.records import RunRecord, jsonable
from optihedge.errors import SpecificationError

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "examples" / "policies"
#: the console script ``pip install -e`` put beside this Python
COMMAND = Path(sys.executable).with_name("optihedge")
AS_OF = "2018-12-31"
HEAVY = ("cvxpy", "pandas", "statsmodels")

needs_policies = pytest.mark.skipif(
    not (ROOT / "optihedge" / "cli" / "policy_file.py").exists()
    or not (POLICIES / "overlay.toml").exists(),
    reason="the policy-file loader and its example policies (issue 23 item 1) are not here",
)


@dataclass(frozen=True)
class Ran:
    """A finished run of the command."""

    code: int
    out: str
    err: str


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, PYTHONPATH=path, MPLBACKEND="Agg")
    env.pop("OPTIHEDGE_DEBUG", None)
    env.pop("MUTANT_UNDER_TEST", None)
    return env


def _run(*args: str, cwd: Path) -> Ran:
    command = [str(COMMAND)] if COMMAND.exists() else [sys.executable, "-m", "optihedge"]
    done = subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def _one_message(ran: Ran) -> str:
    """The error a run printed: one message, never a traceback."""
    assert "Traceback" not in ran.err, ran.err
    assert ran.err.strip(), "no message on standard error"
    return ran.err


def _beta_by_hand() -> float:
    import optihedge as oh

    meta = oh.datasets.metadata()
    stocks = list(meta.index[meta["kind"] == "stock"])
    prices = oh.datasets.load_default(start="2000-01-03", columns=[*stocks, "SP500"])
    returns = (prices / prices.shift(1) - 1.0).loc[:AS_OF].iloc[:-1].iloc[-252:]
    book = returns[stocks].to_numpy().mean(axis=1)
    index = returns["SP500"].to_numpy()
    c = np.cov(book, index)
    return float(c[0, 1] / c[1, 1])


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def runs(work: Path) -> dict[str, Ran]:
    """Every run the tests read, a few at a time (each start costs about a second)."""
    if not (POLICIES / "overlay.toml").exists():
        pytest.skip("no example policies")
    overlay = (POLICIES / "overlay.toml").read_text()
    infeasible = overlay.replace("max = 1.5", "max = 0.1\n\n[constraints.residual_beta]\nmax = 0.0")
    assert infeasible != overlay
    (work / "infeasible.toml").write_text(infeasible)
    bad = overlay.replace("max = 1.5", "max = -0.1").replace("window = 252", "windw = 252")
    (work / "bad.toml").write_text(bad)
    p = {name: str(POLICIES / f"{name}.toml") for name in ("overlay", "puts", "regimes")}

    def nightly() -> Ran:
        # the same night twice: the second run's record replaces the first's
        first = _run("solve", p["overlay"], "--as-of", AS_OF, "--format", "json", cwd=work)
        assert first.code == 0, first.err
        (work / "first.json").write_text(first.out)
        return _run("solve", p["overlay"], "--as-of", AS_OF, "--quiet", cwd=work)

    def template() -> Ran:
        new = _run("policy", "new", cwd=work)
        if new.code != 0:
            return new
        (work / "new.toml").write_text(new.out)
        return _run("policy", "check", "new.toml", cwd=work)

    jobs: dict[str, Callable[[], Ran]] = {
        "nightly": nightly,
        "puts": lambda: _run(
            "solve", p["puts"], "--format", "json", "--out", str(work / "puts.json"), cwd=work
        ),
        "regimes": lambda: _run(
            "attribute", p["regimes"], "--by", "leg", "--format", "csv", cwd=work
        ),
        "sweep": lambda: _run(
            "sweep",
            p["overlay"],
            "--grid",
            "gross_exposure.max=0.25:1:0.25",
            "--store",
            str(work / "sweeps.duckdb"),
            "--format",
            "json",
            "--as-of",
            AS_OF,
            cwd=work,
        ),
        "sweep_failed": lambda: _run(
            "sweep", "infeasible.toml", "--grid", "gross_exposure.max=0.1,1.5", cwd=work
        ),
        "backtest": lambda: _run(
            "backtest",
            p["overlay"],
            "--start",
            "2008-01-02",
            "--end",
            "2008-12-31",
            "--format",
            "json",
            cwd=work,
        ),
        "backtest_store": lambda: _run(
            "backtest",
            p["overlay"],
            "--start",
            "2008-01-02",
            "--end",
            "2008-03-31",
            "--store",
            str(work / "backtests.duckdb"),
            "--quiet",
            cwd=work,
        ),
        "report": lambda: _run("report", p["overlay"], "--out", str(work / "report"), cwd=work),
        "infeasible": lambda: _run("solve", "infeasible.toml", cwd=work),
        "bad": lambda: _run("solve", "bad.toml", "--records", str(work / "bad-runs"), cwd=work),
        "show": lambda: _run("policy", "show", p["overlay"], "--resolved", cwd=work),
        "data": lambda: _run("data", "--format", "json", cwd=work),
        "template": template,
    }
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def _records(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(f.read_text()) for f in sorted(folder.glob("*.json"))]


# ------------------------------------------------------------------ light start


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_no_numerical_library(flag: str) -> None:
    script = (
        "import sys\nfrom optihedge.cli import main\ntry:\n    main([sys.argv[1]])\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        f"print('MODULES', *[m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, flag],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "MODULES"
    if flag == "--help":
        for text in ("solve", "sweep", "attribute", "backtest", "report", "exit codes"):
            assert text in done.stdout
        assert "INCLUDES its end" not in done.stdout  # the sweep's own help says so
    else:
        assert done.stdout.startswith("optihedge 0.")


def test_sweep_help_states_ranges_include_their_end(tmp_path: Path) -> None:
    ran = _run("sweep", "--help", cwd=tmp_path)
    assert ran.code == 0
    assert "INCLUDES its end" in ran.out
    assert "2  bad input" in ran.out


# ------------------------------------------------------------------ bad arguments: exit 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["demo", "--value", "nan"], "must be a positive finite amount in USD, got 'nan'"),
        (["demo", "--value", "-5"], "must be a positive finite amount in USD, got '-5'"),
        (["demo", "--value", "abc"], "'abc' is not a number"),
        (["solve", "nope.toml"], "'nope.toml' does not exist"),
        (["solve", "x.toml", "--as-of", "2018-13-01"], "'2018-13-01' is not a date"),
        (["sweep", "x.toml", "--jobs", "0"], "must be >= 1"),
        (["attribute", "x.toml", "--by", "sector"], "invalid choice: 'sector'"),
        (["policy"], "required"),
    ],
)
def test_bad_arguments_exit_2_with_one_message(
    args: list[str], expected: str, tmp_path: Path
) -> None:
    ran = _run(*args, cwd=tmp_path)
    assert ran.code == 2
    assert expected in _one_message(ran)


@needs_policies
@pytest.mark.parametrize(
    ("grid", "expected"),
    [
        ("gross_exposure.max=1:0.5:0.1", "the end 0.5 is below the start 1"),
        ("gross_exposure.max", "write key=v1,v2,... or key=start:end:step"),
    ],
)
def test_a_bad_grid_exits_2_before_the_policy_is_read(
    grid: str, expected: str, tmp_path: Path
) -> None:
    ran = _run("sweep", str(POLICIES / "overlay.toml"), "--grid", grid, cwd=tmp_path)
    assert ran.code == 2
    assert expected in _one_message(ran)
    assert "--grid" in ran.err


# ------------------------------------------------------------------ grids by hand


def test_grid_ranges_include_their_end_and_are_exact() -> None:
    grid = parse_grid(["gross_exposure.max=0.5:1.5:0.25", "premium_budget.max=0,0.005,0.01"])
    assert grid == {
        "gross_exposure.max": [0.5, 0.75, 1.0, 1.25, 1.5],
        "premium_budget.max": [0.0, 0.005, 0.01],
    }
    assert parse_grid(["k=0:0.3:0.1"])["k"] == [0.0, 0.1, 0.2, 0.3]  # not 0.30000000000000004
    assert parse_grid(["k=0:1:0.4"])["k"] == [0.0, 0.4, 0.8]  # the steps do not reach 1
    assert parse_grid(["k=2:2:1"])["k"] == [2.0]
    with pytest.raises(SpecificationError, match="'k' is given twice"):
        parse_grid(["k=1", "k=2"])
    for spec, expected in (
        ("k=0:1", "a range is start:end:step"),
        ("k=0:1:0", "the step must be > 0"),
        ("k=0:1:-1", "the step must be > 0"),
        ("=1", "write key=v1,v2"),
        ("k=", "write key=v1,v2"),
        ("k=0.1,,0.2", "an empty value between commas"),
        ("k=a,b", "'a' is not a number"),
        ("k=0:b:1", "'b' is not a number"),
    ):
        with pytest.raises(SpecificationError, match=re.escape(f"--grid {spec!r}: {expected}")):
            parse_grid([spec])
    with pytest.raises(SpecificationError, match="sweep needs at least one --grid"):
        parse_grid([])
    with pytest.raises(SpecificationError, match="is not a finite number"):
        parse_grid(["k=0,inf"])
    with pytest.raises(SpecificationError, match="points in one range"):
        parse_grid(["k=0:1:0.00001"])


def test_a_record_is_named_by_the_night_with_as_of(tmp_path: Path) -> None:
    a = RunRecord("solve", {}, [], "p.toml", "2024-06-28")
    b = RunRecord("solve", {"format": "json"}, [], "./p.toml", "2024-06-28")
    assert a.name() == b.name()  # the same file, the same command, the same night
    assert a.name() != RunRecord("sweep", {}, [], "p.toml", "2024-06-28").name()
    assert a.name() != RunRecord("solve", {}, [], "p.toml", "2024-06-27").name()
    assert (
        RunRecord("solve", {}, [], "p.toml", None).name()
        != RunRecord("solve", {}, [], "p.toml", None).name()
    )
    path = a.write(tmp_path, "ok", 0, None)
    assert json.loads(path.read_text())["status"] == "ok"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left
    assert jsonable({"x": float("nan"), "y": np.float64(2.0), "z": (1, np.int64(2))}) == {
        "x": None,
        "y": 2.0,
        "z": [1, 2],
    }


# ------------------------------------------------------------------ the runs


@needs_policies
def test_solve_json_matches_the_beta_by_hand(runs: dict[str, Ran], work: Path) -> None:
    beta = _beta_by_hand()
    out = json.loads((work / "first.json").read_text())
    assert out["status"] == "optimal"
    assert out["risk"]["before"]["beta"] == pytest.approx(beta, rel=1e-9)
    assert out["weights"]["ES"] == pytest.approx(-beta, rel=1e-7)
    assert abs(out["risk"]["after"]["beta"]) < 1e-7
    assert out["allocation"][0]["label"] == "ES"
    assert out["allocation"][0]["notional"] == pytest.approx(-beta * 10_000_000, rel=1e-7)
    # contracts at the as-of close of the index, 50 USD a point
    import optihedge as oh

    close = float(oh.datasets.load_default(columns=["SP500"]).loc[AS_OF, "SP500"])
    contracts = -beta * 10_000_000 / (50 * close)
    assert out["allocation"][0]["units"] == pytest.approx(contracts, rel=1e-7)
    # the policy's own trade: half the hedge (hedge_ratio = 0.5 in overlay.toml)
    assert out["policy_hedge_ratio"] == 0.5
    assert out["policy_weights"]["ES"] == pytest.approx(-0.5 * beta, rel=1e-7)


@needs_policies
def test_the_same_night_twice_leaves_one_record(runs: dict[str, Ran], work: Path) -> None:
    ran = runs["nightly"]
    assert ran.code == 0, ran.err
    assert "allocation" in ran.out
    assert "The hedge offsets" in ran.out
    nightly = [r for r in _records(work / "optihedge-runs") if r["as_of"] == AS_OF]
    solves = [r for r in nightly if r["command"] == "solve"]
    assert len(solves) == 1
    record = solves[0]
    assert "--quiet" in record["argv"]  # the second run's
    assert record["status"] == "ok"
    assert record["exit_code"] == 0
    assert set(record["timings"]) >= {"load", "build", "solve", "write"}
    assert set(record["fingerprints"]) == {"policy_file_sha256", "prices", "book", "spec"}
    assert record["resolved_policy"]["name"] == "futures overlay"
    assert isinstance(record["defaults_applied"], list)
    assert record["numbers"]["weights"]["ES"] == pytest.approx(-_beta_by_hand(), rel=1e-7)
    assert not list((work / "optihedge-runs").glob(".part-*"))


@needs_policies
def test_puts_json_written_to_out(runs: dict[str, Ran], work: Path) -> None:
    ran = runs["puts"]
    assert ran.code == 0, ran.err
    assert ran.out == ""  # the output went to the file
    out = json.loads((work / "puts.json").read_text())
    assert out["status"] == "optimal"
    premium = sum(row["premium"] for row in out["allocation"])
    assert premium == pytest.approx(out["premium"], rel=1e-12)
    assert premium > 0  # a put bought
    records = _records(work / "optihedge-runs")
    assert any(r["command"] == "solve" and "puts.json" in str(r["outputs"]) for r in records)


@needs_policies
def test_regimes_attribution_csv_adds_up(runs: dict[str, Ran]) -> None:
    ran = runs["regimes"]
    assert ran.code == 0, ran.err
    rows = list(csv.DictReader(io.StringIO(ran.out)))
    assert rows[0]["label"] == "book"  # an unnamed index is written as "label"
    total = next(r for r in rows if r["label"] == "total")
    legs = [r for r in rows if r["label"] != "total"]
    for column in ("before", "after"):  # Euler contributions add up to the total
        assert sum(float(r[column]) for r in legs) == pytest.approx(float(total[column]))


@needs_policies
def test_sweep_weights_are_the_capped_beta(runs: dict[str, Ran], work: Path) -> None:
    ran = runs["sweep"]
    assert ran.code == 0, ran.err
    out = json.loads(ran.out)
    beta = _beta_by_hand()
    caps = [row["gross_exposure.max"] for row in out["points"]]
    assert caps == [0.25, 0.5, 0.75, 1.0]  # the range's end included
    weights = [row["ES"] for row in out["weights by point (fractions of capital)"]]
    np.testing.assert_allclose(weights, [-min(beta, c) for c in caps], rtol=1e-7)
    assert (work / "sweeps.duckdb").stat().st_size > 0
    assert ran.err == ""  # no progress bar when standard error is not a terminal
    record = next(r for r in _records(work / "optihedge-runs") if r["command"] == "sweep")
    assert record["numbers"]["points"] == 4
    assert record["grid"]["gross_exposure.max"] == caps


@needs_policies
def test_backtest_unhedged_return_is_the_books_by_hand(runs: dict[str, Ran]) -> None:
    import optihedge as oh

    ran = runs["backtest"]
    assert ran.code == 0, ran.err
    out = json.loads(ran.out)
    whole = {r["path"]: r for r in out["performance"] if r["window"] == "whole period"}
    meta = oh.datasets.metadata()
    stocks = list(meta.index[meta["kind"] == "stock"])
    prices = oh.datasets.load_default(start="2008-01-02", end="2008-12-31", columns=stocks)
    by_hand = float((prices.iloc[-1] / prices.iloc[0]).mean() - 1.0)  # equal values, held
    assert whole["unhedged"]["total_return"] == pytest.approx(by_hand, rel=1e-9)
    assert whole["hedged"]["total_return"] > by_hand  # half the beta hedged in 2008


@needs_policies
def test_backtest_store_is_passed_to_the_engine(runs: dict[str, Ran], work: Path) -> None:
    from optihedge.backtests import backtest

    ran = runs["backtest_store"]
    if "store" in inspect.signature(backtest).parameters:
        assert ran.code == 0, ran.err
        assert (work / "backtests.duckdb").stat().st_size > 0
    else:  # an engine without a store: refused as an argument, before any work
        assert ran.code == 2
        assert "--store: this optihedge's backtest keeps no store" in _one_message(ran)


@needs_policies
def test_report_writes_the_page_and_the_record_beside_it(runs: dict[str, Ran], work: Path) -> None:
    ran = runs["report"]
    assert ran.code == 0, ran.err
    page = work / "report" / "overlay-report.html"
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert str(POLICIES / "overlay.toml") in html  # the inputs name the policy file
    assert str(page) in ran.out
    (record,) = _records(work / "report" / "optihedge-runs")
    assert record["command"] == "report"
    assert record["status"] == "ok"


@needs_policies
def test_infeasible_exits_1_naming_the_limits(runs: dict[str, Ran], work: Path) -> None:
    ran = runs["infeasible"]
    assert ran.code == 1
    message = _one_message(ran)
    assert "GrossExposure(max=0.1)" in message
    assert "ResidualBeta(max=0.0)" in message
    record = next(
        r
        for r in _records(work / "optihedge-runs")
        if r["command"] == "solve" and "infeasible" in r["policy_file"]
    )
    assert record["status"] == "infeasible"
    assert record["exit_code"] == 1


@needs_policies
def test_a_malformed_policy_exits_2_naming_every_key_and_line(
    runs: dict[str, Ran], work: Path
) -> None:
    ran = runs["bad"]
    assert ran.code == 2
    message = _one_message(ran)
    lines = (work / "bad.toml").read_text().splitlines()
    at = {
        key: next(n for n, line in enumerate(lines, 1) if line.startswith(text))
        for key, text in (("max", "max = -0.1"), ("w", "windw = 252"))
    }
    assert f"constraints.gross_exposure.max (line {at['max']})" in message
    assert f"estimation.windw (line {at['w']})" in message  # both errors at once
    (record,) = _records(work / "bad-runs")
    assert record["status"] == "bad_input"
    assert record["exit_code"] == 2


@needs_policies
def test_policy_show_resolved_reads_back(runs: dict[str, Ran]) -> None:
    from optihedge.cli.policy_file import load_policy

    ran = runs["show"]
    assert ran.code == 0, ran.err
    tomllib.loads(ran.out)
    assert load_policy(ran.out).name == "futures overlay"


@needs_policies
def test_policy_new_prints_a_template_that_checks(runs: dict[str, Ran]) -> None:
    ran = runs["template"]
    assert ran.code == 0, ran.err
    assert ": ok (" in ran.out


@needs_policies
def test_data_lists_the_embedded_tickers(runs: dict[str, Ran]) -> None:
    ran = runs["data"]
    assert ran.code == 0, ran.err
    out = json.loads(ran.out)
    tickers = {row["ticker"] for row in out["embedded data"]}
    assert {"SP500", "VIX", "AAPL"} <= tickers
    assert out["tickers"] == len(tickers)


@needs_policies
def test_a_sweep_with_an_infeasible_point_exits_1(runs: dict[str, Ran], work: Path) -> None:
    ran = runs["sweep_failed"]
    assert ran.code == 1
    message = _one_message(ran)
    assert "1 of 2 points found no hedge (infeasible at point 0" in message
    assert "GrossExposure(max=0.1)" in message
    assert "infeasible" in ran.out  # the table is still printed: point 1 found its hedge
    record = next(
        r
        for r in _records(work / "optihedge-runs")
        if r["command"] == "sweep" and "infeasible" in r["policy_file"]
    )
    assert record["status"] == "failed_points"
    assert record["numbers"]["statuses"] == {"infeasible": 1, "optimal": 1}


_ODD_VALUES = ("-1", "-0.1", '"x"', "[]", "{}", "nan", "inf", "true", "1e999", "0", '""', "[1, 2]")


@needs_policies
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_fuzzed_policies_exit_0_or_2_with_one_message(
    data: st.DataObject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the command's own mapping, in this process (the loader's fuzzing is its own test):
    # a mutated example policy or random text is read or refused, never an internal error
    from optihedge.cli import main

    name = data.draw(st.sampled_from(["overlay", "puts", "regimes"]))
    lines = (POLICIES / f"{name}.toml").read_text().splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        how = data.draw(st.sampled_from(["drop", "value", "text", "duplicate"]))
        if how == "drop":
            del lines[i]
        elif how == "value" and "=" in lines[i]:
            key = lines[i].split("=", 1)[0]
            lines[i] = f"{key}= {data.draw(st.sampled_from(_ODD_VALUES))}"
        elif how == "text":
            lines[i] = data.draw(st.text(max_size=30))
        else:
            lines.insert(i, lines[i])
        if not lines:
            break
    path = tmp_path / "fuzzed.toml"
    path.write_text("\n".join(lines))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a warning is printed by a real run, not an error
        code = main(["policy", "check", str(path), "--quiet"])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    if code == 2:
        assert "Traceback" not in err
        assert err.startswith("optihedge policy check: error: ")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    ran = _run("solve", "nope.toml", "--debug", cwd=tmp_path)
    assert ran.code == 1  # Python's own exit code for an uncaught exception
    assert "Traceback (most recent call last)" in ran.err
    assert "'nope.toml' does not exist" in ran.err


def _bad_cases() -> list[Any]:
    from test_policy_file import BAD

    return [pytest.param(*case[1:], id=case[0]) for case in BAD]


@needs_policies
@pytest.mark.parametrize(("edit", "key", "needle", "message"), _bad_cases())
def test_policy_check_on_a_malformed_file_exits_2_naming_the_key_and_the_line(
    edit: Any, key: str, needle: str, message: str, tmp_path: Path
) -> None:
    from test_policy_file import BASE, _line

    text = edit(BASE, tmp_path) if edit.__code__.co_argcount == 2 else edit(BASE)
    (tmp_path / "bad.toml").write_text(text)
    ran = _run("policy", "check", "bad.toml", cwd=tmp_path)
    assert ran.code == 2, (ran.out, ran.err)
    err = _one_message(ran)
    line = _line(text, needle)
    assert f"{key} (line {line}): " in err, err
    assert re.search(message, err), err


@needs_policies
@pytest.mark.parametrize("name", ["overlay", "puts", "regimes"])
def test_every_command_runs_on_every_example_policy(name: str, tmp_path: Path) -> None:
    policy = str(POLICIES / f"{name}.toml")
    solve = _run("solve", policy, "--format", "json", cwd=tmp_path)
    assert solve.code == 0, solve.err
    assert json.loads(solve.out)["status"] == "optimal"
    attribute = _run("attribute", policy, "--by", "instrument", "--format", "csv", cwd=tmp_path)
    assert attribute.code == 0, attribute.err
    backtest = _run(
        "backtest", policy, "--start", "2016-01-04", "--end", "2016-06-30", "--format", "json",
        cwd=tmp_path,
    )  # fmt: skip
    assert backtest.code == 0, backtest.err
    shown = _run("policy", "show", policy, "--resolved", cwd=tmp_path)
    assert shown.code == 0, shown.err
    (tmp_path / "resolved.toml").write_text(shown.out)
    again = _run("solve", "resolved.toml", "--format", "json", cwd=tmp_path)
    assert again.code == 0, again.err
    assert json.loads(again.out)["weights"] == pytest.approx(json.loads(solve.out)["weights"])

"""Policy files in TOML: the examples load, solve and round-trip; bad files name key and line.

Expected numbers are computed here independently: the minimum-variance futures hedge by
hand from the sample covariance of the embedded returns, and each error's line by
searching the file's text for the line that holds it.
"""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optihedge as oh
from optihedge.backtests import HedgePolicy
from optihedge.cli.policy_file import (
    SCHEMA_VERSION,
    PolicyFile,
    PolicyFileError,
    dump_policy,
    load_policy,
    template,
)
from optihedge.cli.toml_text import dumps, key_lines, line_of
from optihedge.errors import SpecificationError
from optihedge.optimize import HedgeProblem
from optihedge.optimize.spec import ProblemSpec

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "policies"
NAMES = ("overlay", "puts", "regimes")

_LOADED: dict[str, PolicyFile] = {}


def _example(name: str) -> PolicyFile:
    if name not in _LOADED:
        _LOADED[name] = load_policy(EXAMPLES / f"{name}.toml")
    return _LOADED[name]


def _solve(pf: PolicyFile) -> pd.Series:
    problem, _ = pf.problem()
    result = problem.solve()
    assert result.status == "optimal"
    return result.weights


# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize("name", NAMES)
def test_each_example_loads_solves_and_round_trips(name: str) -> None:
    pf = _example(name)
    assert pf.schema_version == SCHEMA_VERSION
    assert pf.policy is not None
    problem, inputs = pf.problem()
    weights = problem.solve().weights
    assert np.isfinite(weights.to_numpy()).all()
    # from_dict(to_dict()): the same spec and policy, the same problem
    spec = ProblemSpec.from_dict(pf.spec.to_dict())
    assert spec == pf.spec
    policy = HedgePolicy.from_dict(pf.policy.to_dict())
    assert policy.to_dict() == pf.policy.to_dict()
    inputs_of = problem.inputs
    again = HedgeProblem.from_spec(
        spec,
        pf.book,
        risk_model=inputs_of.risk_model,
        scenarios=problem.scenarios,
        market_state=None if "market_state" not in inputs else problem.spec.market_state,
    )
    if inputs["params"]:
        again.set(inputs["params"])
    np.testing.assert_allclose(again.solve().weights, weights, rtol=0, atol=1e-12)
    # dump_policy -> load_policy: as written and resolved
    for resolved in (False, True):
        text = dump_policy(pf, resolved=resolved)
        back = load_policy(text)
        assert back.spec == pf.spec
        assert back.resolved == pf.resolved
        np.testing.assert_allclose(_solve(back), weights, rtol=0, atol=1e-12)


def test_the_overlay_solves_the_hand_computed_minimum_variance_hedge() -> None:
    pf = _example("overlay")
    _, inputs = pf.problem()
    weights = _solve(pf)
    # independently: the sample covariance of the 252 returns up to the day before as-of
    stocks = list(oh.datasets.metadata().query("kind == 'stock'").index)
    prices = oh.datasets.load_default(start="2017-01-01", end="2018-12-31")
    returns = prices[[*stocks, "SP500"]].pct_change().iloc[1:]
    window = returns.loc[:"2018-12-28"].iloc[-252:]
    assert window.index[0].date().isoformat() == inputs["estimation"]["first"]
    cov = window.cov().to_numpy()
    w = np.full(len(stocks), 1.0 / len(stocks))
    beta = float(w @ cov[:-1, -1] / cov[-1, -1])
    # variance of (book + x * index) over a 21-day horizon is smallest at x = -beta
    assert weights["ES"] == pytest.approx(-beta, abs=1e-6)
    assert inputs["hedge_ratio"] == 0.5


def test_the_regime_example_sets_the_crisis_band_on_its_as_of_date() -> None:
    pf = _example("regimes")
    _, inputs = pf.problem()
    vix = oh.datasets.load_default(start="2018-12-24", end="2018-12-24", columns=["VIX"])
    assert inputs["signal"]["vix"] == pytest.approx(float(vix["VIX"].iloc[0]))  # points
    assert inputs["regime"] == "crisis"
    weights = _solve(pf)
    cuts = weights[[c for c in weights.index if c.startswith("cut ")]]
    np.testing.assert_allclose(cuts, -0.06, atol=1e-6)  # the crisis band's cut binds
    _, calm = pf.problem("2017-06-30")  # VIX near 11: calm, no hedge
    assert calm["regime"] == "calm"
    assert calm["hedge"] is False
    assert calm["hedge_ratio"] == 0.0


def test_the_regime_example_backtests_on_the_bands_its_solve_reads() -> None:
    # the command line's solve and the engine read the vix signal in the same points
    pf = _example("regimes")
    assert pf.policy is not None
    prices = pf.prices
    result = oh.backtest(pf.policy, prices, start="2017-01-03", end="2017-12-29", book=pf.book)
    regimes = result.daily["regime"]
    vix = prices["VIX"].reindex(regimes.index)
    bands = {"calm": (-np.inf, 15.0), "rising": (15.0, 25.0), "stress": (25.0, 35.0)}
    for day, name in regimes.items():
        low, high = bands[name]
        assert low <= vix[day] < high, (day, name, vix[day])
    assert set(regimes) <= {"calm", "rising"}  # 2017: the VIX between 9 and 17


def test_the_puts_example_prices_its_put_on_the_as_of_market() -> None:
    pf = _example("puts")
    _, inputs = pf.problem()
    spot = oh.datasets.load_default(start="2018-12-31", end="2018-12-31", columns=["SP500"])
    assert inputs["market_state"]["spot"]["SP500"] == float(spot["SP500"].iloc[0])
    assert inputs["market_state"]["rate"] == 0.02
    assert _solve(pf)["P"] == pytest.approx(1.0, abs=1e-7)


def test_the_template_loads_and_lists_its_defaults() -> None:
    pf = load_policy(template())
    assert pf.name == "my hedge"
    assert "estimation.halflife" in pf.defaults
    assert "instruments[0].carry" in pf.defaults
    assert "estimation.window" not in pf.defaults


# --------------------------------------------------------------------------- bad files

BASE = """\
schema_version = 1
name = "small"
as_of = 2019-06-28
horizon = 21
market = "SP500"

[book]
embedded = { JPM = 6_000_000.0, XOM = 4_000_000.0 }

[data]
embedded = true
start = 2018-01-02

[estimation]
kind = "sample"
window = 63

[[instruments]]
kind = "future"
label = "ES"
underlying = "SP500"
multiplier = 50.0

[objective]
kind = "variance"

[constraints.turnover]
max = 0.5

[constraints.gross_exposure]
max = 1.5

[policy]
schedule = { rule = "month_end" }

[[policy.triggers]]
kind = "beta_drift"
tolerance = 0.25
"""


def _line(text: str, needle: str) -> int:
    """The 1-based line of the first line holding ``needle`` (independent of the scanner)."""
    for n, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(needle)


def _errors(text: str) -> PolicyFileError:
    with pytest.raises(PolicyFileError) as info:
        load_policy(text)
    return info.value


def test_the_base_of_the_bad_files_loads() -> None:
    pf = load_policy(BASE)
    assert pf.spec.constraints[0].max == 0.5  # type: ignore[attr-defined]


def _weekly_csv(tmp: Path) -> str:
    prices = oh.datasets.load_default(start="2018-01-01", end="2019-12-31")
    weekly = prices[["JPM", "XOM", "SP500"]].resample("W-FRI").last()
    path = tmp / "weekly.csv"
    weekly.rename_axis("date").to_csv(path)
    return str(path)


def _nan_csv(tmp: Path) -> str:
    prices = oh.datasets.load_default(start="2018-01-01", end="2019-12-31")
    frame = prices[["JPM", "XOM", "SP500"]].copy()
    assert frame.index[100] == pd.Timestamp("2018-05-25")  # the 101st trading day of 2018
    frame.iloc[100, 1] = np.nan
    path = tmp / "nan.csv"
    frame.rename_axis("date").to_csv(path)
    return str(path)


# (name, edit of BASE, the key, the text on the key's line, the message)
BAD: list[tuple[str, object, str, str, str]] = [
    (
        "missing required key",
        lambda t: t.replace('label = "ES"\n', ""),
        "instruments[0]",
        "[[instruments]]",
        r"missing the key 'label'",
    ),
    (
        "wrong type",
        lambda t: t.replace("window = 63", 'window = "long"'),
        "estimation.window",
        "window = ",
        r"must be an integer >= 2. Got 'long'",
    ),
    (
        "unknown instrument kind",
        lambda t: t.replace('kind = "future"', 'kind = "swap"'),
        "instruments[0].kind",
        'kind = "swap"',
        r"unknown instrument kind 'swap'",
    ),
    (
        "negative limit",
        lambda t: t.replace("max = 0.5", "max = -0.1"),
        "constraints.turnover.max",
        "max = -0.1",
        r"must be >= 0, got -0.1",
    ),
    (
        "a typo in a key",
        lambda t: t.replace("multiplier = 50.0", "multiplyer = 50.0"),
        "instruments[0].multiplyer",
        "multiplyer",
        r"unknown key 'multiplyer'; did you mean 'multiplier'\?",
    ),
    (
        "a typo in a section",
        lambda t: t.replace("[estimation]", "[estimaton]"),
        "estimaton",
        "[estimaton]",
        r"unknown key 'estimaton'; did you mean 'estimation'\?",
    ),
    (
        "an unknown constraint kind",
        lambda t: t.replace("[constraints.turnover]", "[constraints.turnovr]"),
        "constraints.turnovr",
        "[constraints.turnovr]",
        r"did you mean 'turnover'\?",
    ),
    (
        "a book with tickers the data lack",
        lambda t: t.replace("XOM = 4_000_000.0", "XOM = 4_000_000.0, ZZZZ = 1.0"),
        "book.embedded.ZZZZ",
        "embedded = {",
        r"the book holds \['ZZZZ'\], which the data lack",
    ),
    (
        "a trigger with a negative tolerance",
        lambda t: t.replace("tolerance = 0.25", "tolerance = -0.25"),
        "policy.triggers[0].tolerance",
        "tolerance = -0.25",
        r"'tolerance' argument must be a finite number in \[0, inf\). Got -0.25",
    ),
    (
        "a data file with NaN",
        lambda t, tmp: t.replace("embedded = true", f"file = {_nan_csv(tmp)!r}"),
        "data.file",
        "file = ",
        r"the data hold NaN: 1 in all, in column 'XOM' from 2018-05-25 to 2018-05-25 \(1 "
        r"dates\); fill or drop those rows",
    ),
    (
        "a book of a ticker the embedded data start later",
        lambda t: t.replace("XOM = 4_000_000.0", "XOM = 4_000_000.0, MTUM = 1.0").replace(
            "start = 2018-01-02", "start = 2013-06-03"
        ),
        "data.start",
        "start = 2013-06-03",
        r"in column 'MTUM' from 2013-06-03 to 2013-12-31 \(148 dates\); the embedded data "
        r"start it later: pass data.start = 2014-01-02 or later",
    ),
    (
        "a schedule finer than the data",
        lambda t, tmp: (
            t.replace("embedded = true", f"file = {_weekly_csv(tmp)!r}")
            .replace("window = 63", "window = 20")
            .replace('{ rule = "month_end" }', '{ rule = "every", every = 1 }')
        ),
        "policy.schedule.every",
        "schedule = {",
        r"a schedule finer than the data \(weekly data",
    ),
    (
        "an as-of date before the estimation window",
        lambda t: t.replace("as_of = 2019-06-28", "as_of = 2018-02-01"),
        "as_of",
        "as_of = ",
        r"the estimation reads 63 returns before the as-of date 2018-02-01 but the data hold 21",
    ),
    (
        "two instruments of one label",
        lambda t: t.replace(
            "[objective]",
            '[[instruments]]\nkind = "etf"\nlabel = "ES"  # again\nunderlying = "SP500"\n'
            "\n[objective]",
        ),
        "instruments[1].label",
        'label = "ES"  # again',
        r"'ES' is the label of instruments\[0\] already",
    ),
    (
        "a position reduction of a stock the book does not hold",
        lambda t: t.replace(
            "[objective]",
            '[[instruments]]\nkind = "reduction"\nlabel = "cut"\nholding = "KO"\n\n[objective]',
        ),
        "instruments[1].holding",
        'holding = "KO"',
        r"'KO' is not a holding of the book",
    ),
    (
        "a typo in a registry key of the policy's params",
        lambda t: t.replace("[policy]\n", '[policy]\nparams = { "gross_exposur.max" = 0.5 }\n'),
        "policy.params",
        "params = {",
        r"'gross_exposur.max' is not a parameter of the problem; did you mean "
        r"'gross_exposure.max'\?",
    ),
    (
        "a premium budget without its constraint",
        lambda t: t.replace("[policy]\n", "[policy]\nbudget = { annual = 0.01 }\n"),
        "policy.budget",
        "budget = {",
        r"has a premium_budget but its spec has no PremiumBudget constraint",
    ),
    (
        "a regime band table with a gap",
        lambda t: (
            t + '\n[policy.regimes]\nsignal = "vix"\n\n[[policy.regimes.bands]]\nname = "calm"\n'
            'lower = -inf\nupper = 0.2\n\n[[policy.regimes.bands]]\nname = "stress"\n'
            "lower = 0.3\nupper = inf\n"
        ),
        "policy.regimes",
        "[policy.regimes]",
        r"leave a gap: band 'calm' ends at 0.2 but band 'stress' starts at 0.3",
    ),
]


@pytest.mark.parametrize(
    ("edit", "key", "needle", "message"),
    [case[1:] for case in BAD],
    ids=[case[0] for case in BAD],
)
def test_a_bad_file_names_the_key_and_the_line(
    edit: object, key: str, needle: str, message: str, tmp_path: Path
) -> None:
    fn = edit  # a callable of the text (and the folder for files)
    two = fn.__code__.co_argcount == 2  # type: ignore[attr-defined]
    text = fn(BASE, tmp_path) if two else fn(BASE)  # type: ignore[operator]
    err = _errors(text)
    assert len(err.issues) == 1, str(err)
    (issue,) = err.issues
    assert issue.key == key
    assert issue.line == _line(text, needle)
    assert str(issue).startswith(f"{key} (line {issue.line}): ")
    assert re.search(message, issue.message), issue.message
    assert isinstance(err, SpecificationError)  # the project's family: exit code 2


def test_every_error_of_a_file_is_reported_at_once() -> None:
    text = (
        BASE.replace("max = 0.5", "max = -0.1")
        .replace("multiplier = 50.0", "multiplyer = 50.0")
        .replace("window = 63", "window = 1")
        .replace("tolerance = 0.25", "tolerance = -1.0")
        .replace('name = "small"', 'name = "small"\nhorizn = 21')
    )
    err = _errors(text)
    keys = [i.key for i in err.issues]
    assert sorted(keys) == sorted(
        [
            "constraints.turnover.max",
            "instruments[0].multiplyer",
            "estimation.window",
            "policy.triggers[0].tolerance",
            "horizn",
        ]
    )
    lines = str(err).splitlines()
    assert len(lines) == 5
    assert "constraints.turnover.max (line 29): must be >= 0, got -0.1" in lines
    assert _line(text, "max = -0.1") == 29


@pytest.mark.parametrize(
    ("first", "message"),
    [
        ("", r"^schema_version: missing: a policy file starts with schema_version = 1$"),
        ("schema_version = 2\n", r"written by a newer optihedge"),
        ("schema_version = 0\n", r"0 is no schema version"),
        ('schema_version = "1"\n', r"must be an integer"),
    ],
)
def test_the_schema_version_is_required_and_checked(first: str, message: str) -> None:
    text = first + BASE.split("\n", 1)[1]
    err = _errors(text)
    assert [i.key for i in err.issues] == ["schema_version"]
    assert re.search(message, str(err))


def test_invalid_toml_and_unreadable_paths_are_policy_file_errors(tmp_path: Path) -> None:
    err = _errors("schema_version = 1\nname = = 2\n")
    assert err.issues[0].line == 2
    assert "not valid TOML" in str(err)
    with pytest.raises(PolicyFileError, match="cannot read the policy file"):
        load_policy(tmp_path / "absent.toml")


def test_a_book_of_quantities_is_valued_at_the_as_of_close(tmp_path: Path) -> None:
    (tmp_path / "book.csv").write_text("ticker,quantity\nJPM,1000\nXOM,2000\n")
    text = BASE.replace("embedded = { JPM = 6_000_000.0, XOM = 4_000_000.0 }", 'file = "book.csv"')
    path = tmp_path / "p.toml"
    path.write_text(text)
    pf = load_policy(path)
    close = oh.datasets.load_default(start="2019-06-28", end="2019-06-28", columns=["JPM", "XOM"])
    expected = {"JPM": 1000 * close["JPM"].iloc[0], "XOM": 2000 * close["XOM"].iloc[0]}
    assert pf.book.holdings.to_dict() == pytest.approx(expected, rel=1e-15)
    assert pf.resolved["book"]["file"] == str((tmp_path / "book.csv").resolve())


# --------------------------------------------------------------------------- the TOML text


def test_key_lines_follow_tables_arrays_of_tables_dotted_and_quoted_keys() -> None:
    text = """\
a = 1
s = \"\"\"
x = 2
\"\"\"
[t]
b.c = 3   # a dotted key
"d.e" = 4
inline = { p = 1, q = 2 }
[[arr]]
k = 1
[[arr]]
k = 2
[arr.sub]
m = 3
[[arr.items]]
n = 4
"""
    lines = key_lines(text)
    assert lines["a"] == 1
    assert "x" not in lines  # inside a multi-line string
    assert lines["t.b.c"] == 6
    assert lines["t.d.e"] == 7
    assert lines["t.inline.q"] == 8
    assert lines["arr[0].k"] == 10
    assert lines["arr[1].k"] == 12
    assert lines["arr[1].sub.m"] == 14
    assert lines["arr[1].items[0].n"] == 16
    assert line_of(lines, "arr[1].sub.absent") == 13
    assert line_of(lines, "nowhere") is None


def test_the_writer_reads_back_to_the_same_values() -> None:
    import datetime as dt

    value = {
        "a": 1,
        "f": 0.1 + 0.2,
        "big": 1e300,
        "inf": -math.inf,
        "s": 'quote " and \\ and \n new line',
        "flag": True,
        "when": dt.date(2020, 3, 31),
        "list": [1.5, 2.5],
        "empty": {},
        "none": None,
        "t": {"x": 1, "gross_exposure.max": 0.5, "sub": {"y": [1, 2]}},
        "rows": [{"k": 1, "in": {"z": 2}}, {"k": 2, "deep": [{"w": 3}]}],
    }
    back = tomllib.loads(dumps(value))
    expected = {k: v for k, v in value.items() if k != "none"}
    assert back == expected


# --------------------------------------------------------------------------- fuzz

_VALUES = st.one_of(
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.booleans(),
    st.dates(),
    st.lists(st.integers(-5, 5), max_size=3),
    st.just("{ a = 1 }"),
)


def _toml_value(v: object) -> str:
    if isinstance(v, str) and v.startswith("{"):
        return v
    return dumps({"v": v}).split("=", 1)[1].strip()


@settings(max_examples=40, deadline=None)
@given(text=st.text(max_size=200))
def test_random_text_always_ends_in_a_policy_file_error(text: str) -> None:
    with pytest.raises(PolicyFileError):
        load_policy(text + "\n")


@settings(max_examples=30, deadline=None)
@given(
    line=st.integers(0, BASE.count("\n") - 1),
    value=_VALUES,
    drop=st.booleans(),
)
def test_mutated_policies_load_or_end_in_a_policy_file_error(
    line: int, value: object, drop: bool
) -> None:
    lines = BASE.splitlines()
    target = lines[line]
    if drop:
        lines[line] = ""
    elif "=" in target:
        lines[line] = f"{target.split('=', 1)[0]}= {_toml_value(value)}"
    else:
        lines[line] = target[::-1]
    outcome: object
    try:
        outcome = load_policy("\n".join(lines) + "\n")
    except PolicyFileError as exc:
        outcome = exc.issues
    if isinstance(outcome, tuple):
        assert outcome  # at least one issue, each a key, a line and a message
        assert all(isinstance(i.message, str) and i.message for i in outcome)
    else:
        assert isinstance(outcome, PolicyFile)


def test_a_returns_file_gives_the_hedge_of_the_same_prices(tmp_path: Path) -> None:
    prices = oh.datasets.load_default(start="2018-01-01", end="2019-12-31")
    frame = prices[["JPM", "XOM", "SP500"]].rename_axis("date")
    frame.to_csv(tmp_path / "prices.csv")
    frame.pct_change().iloc[1:].to_csv(tmp_path / "returns.csv")
    by_prices = BASE.replace("embedded = true", 'file = "prices.csv"')
    by_returns = BASE.replace("embedded = true", 'file = "returns.csv"\nkind = "returns"')
    (tmp_path / "a.toml").write_text(by_prices)
    (tmp_path / "b.toml").write_text(by_returns)
    a, b = load_policy(tmp_path / "a.toml"), load_policy(tmp_path / "b.toml")
    np.testing.assert_allclose(_solve(b), _solve(a), rtol=0, atol=1e-9)
    assert b.resolved["data"]["kind"] == "returns"


def test_the_as_of_argument_overrides_the_file_and_moves_the_window() -> None:
    pf = load_policy(BASE, as_of="2019-03-29")
    assert pf.as_of == pd.Timestamp("2019-03-29")
    _, inputs = pf.problem()
    assert inputs["as_of"] == "2019-03-29"
    assert inputs["estimation"]["last"] == "2019-03-28"  # the day before: no look-ahead
    _, later = pf.problem("2019-06-28")
    assert later["estimation"]["last"] == "2019-06-27"
    with pytest.raises(PolicyFileError, match=r"as_of \(line 3\): must be a date"):
        load_policy(BASE, as_of="not a date")


def test_a_book_of_values_in_a_file_and_a_parquet_book(tmp_path: Path) -> None:
    (tmp_path / "book.csv").write_text("Ticker,Value\nJPM,6000000\nXOM,4000000\n")
    text = BASE.replace("embedded = { JPM = 6_000_000.0, XOM = 4_000_000.0 }", 'file = "book.csv"')
    (tmp_path / "p.toml").write_text(text)
    assert load_policy(tmp_path / "p.toml").book.holdings.to_dict() == {
        "JPM": 6e6,
        "XOM": 4e6,
    }
    (tmp_path / "q.toml").write_text(text.replace("book.csv", "book.parquet"))
    (tmp_path / "book.parquet").write_bytes(b"PAR1")
    with pytest.raises(PolicyFileError, match=r"book.file \(line 8\): "):
        load_policy(tmp_path / "q.toml")  # no engine, or a file that is no Parquet


_KEYS = st.sampled_from(
    ["schema_version", "name", "book", "data", "instruments", "kind", "label", "max", "policy",
     "schedule", "rule", "embedded", "window", "constraints", "turnover", "x"]
)  # fmt: skip
_TOML = st.recursive(
    _VALUES,
    lambda inner: st.one_of(
        st.dictionaries(_KEYS, inner, max_size=4),
        st.lists(st.dictionaries(_KEYS, inner), max_size=2),
    ),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None)
@given(doc=st.dictionaries(_KEYS, _TOML, max_size=6), version=st.booleans())
def test_random_tables_always_end_in_a_policy_file_error(
    doc: dict[str, object], version: bool
) -> None:
    if version:
        doc = {"schema_version": 1, **{k: v for k, v in doc.items() if k != "schema_version"}}
    with pytest.raises(PolicyFileError):
        load_policy(dumps(doc))

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, settings

# worker processes the tests start (joblib, Dask, subprocesses) inherit one BLAS thread
# each: the suite runs on two cores beside other workers, and spinning BLAS threads of
# oversubscribed processes can stall a test for minutes
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

_SUPPRESS = [HealthCheck.too_slow, HealthCheck.differing_executors]
# profiles, chosen by OPTIHEDGE_HYPOTHESIS_PROFILE: "optihedge" (the default when pytest
# is run by hand, and `make test-explore`) draws afresh every run, so property tests keep
# exploring; "optihedge-ci" (`make test`, CI) draws the same every run (derandomized), so
# a red suite is red for a reason in the code, not for the draw. A draw found by exploring
# is kept as an explicit case (`@example` or a table row), so CI checks it from then on.
settings.register_profile(
    "optihedge", deadline=None, max_examples=60, suppress_health_check=_SUPPRESS
)
settings.register_profile(
    "optihedge-ci",
    deadline=None,
    max_examples=60,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=_SUPPRESS,
)
# "optihedge-mutants" (`make mutants`): as CI draws, but a failing example is not shrunk. A
# mutant is decided by the first failure; shrinking it took minutes, and mutmut counted the
# test as a timeout after 33 s instead of a kill after one
settings.register_profile(
    "optihedge-mutants",
    parent=settings.get_profile("optihedge-ci"),
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    report_multiple_bugs=False,
)
settings.load_profile(os.environ.get("OPTIHEDGE_HYPOTHESIS_PROFILE", "optihedge"))


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)


@pytest.fixture(scope="module")
def daily_returns(rng: np.random.Generator) -> pd.DataFrame:
    """Labelled synthetic daily returns: a market and five stocks with known betas."""
    dates = pd.bdate_range("2015-01-01", periods=750, name="date")
    market = rng.normal(0.0003, 0.01, len(dates))
    betas = np.array([0.5, 0.8, 1.0, 1.3, 1.6])
    noise = rng.normal(0.0, 0.012, (len(dates), len(betas)))
    stocks = market[:, None] * betas + noise
    cols = ["AAA", "BBB", "CCC", "DDD", "EEE"]
    frame = pd.DataFrame(stocks, index=dates, columns=cols)
    frame["MKT"] = market
    return frame


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `make mutants`, run a mutant's tests fastest first.

    mutmut runs, for each mutant, the tests its coverage pass saw reach the mutated
    function, with `-x`, in the order of a set. A mutant is decided by its first failing
    test, so running the quick tests first decides most mutants in seconds instead of
    after the slow ones. Modules and classes stay whole (their fixtures are set up once).
    Outside mutmut (no ``MUTANT_UNDER_TEST``) nothing changes.
    """
    under_test = os.environ.get("MUTANT_UNDER_TEST", "")
    if not under_test or under_test == "stats":
        return
    import json
    from pathlib import Path

    stats = Path("mutmut-stats.json")
    if not stats.is_file():
        return
    durations = json.loads(stats.read_text()).get("duration_by_test", {})

    def seconds(item: pytest.Item) -> float:
        return float(durations.get(item.nodeid, float("inf")))

    # a module's (and a class's) tests stay together, as pytest orders them, so a fixture
    # of that scope is set up once: modules by their fastest test, within a module its
    # module-level tests and each class by their fastest, then each test by its own time
    def module(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    def group(item: pytest.Item) -> str:
        # the class's node id; a module-level test's own group is "" (never a class's)
        parent = item.parent
        return parent.nodeid if isinstance(parent, pytest.Class) else ""

    first_module: dict[str, float] = {}
    first_group: dict[tuple[str, str], float] = {}
    for item in items:
        key = (module(item), group(item))
        first_module[key[0]] = min(first_module.get(key[0], float("inf")), seconds(item))
        first_group[key] = min(first_group.get(key, float("inf")), seconds(item))
    items.sort(
        key=lambda item: (
            first_module[module(item)],
            module(item),
            first_group[(module(item), group(item))],
            group(item),
            seconds(item),
        )
    )


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Under `make mutants`' coverage pass, count a test's set-up and tear-down in its time.

    mutmut times only a test's call, and a mutant whose tests run past 3x (that time +
    10 s) counts as a timeout, i.e. killed. A test whose fixture runs the demo (10 s of
    set-up, 0.02 s of call) made every mutant it reached a "timeout", survivors included.
    """
    if os.environ.get("MUTANT_UNDER_TEST") != "stats" or report.when == "call":
        return
    try:
        from mutmut.state import state  # the coverage pass runs inside mutmut's process
    except ImportError:
        return
    durations = state().duration_by_test
    if report.nodeid in durations:
        durations[report.nodeid] += report.duration

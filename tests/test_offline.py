"""No network at run time: the demo, a sweep with its DuckDB store and the report.

Every way Python reaches another machine (connect, connect_ex, sendto, name lookups) is
refused and recorded unless it stays on this machine (loopback, Unix sockets): in this
process by monkeypatching ``socket``, in subprocesses (the command-line demo and the
sweep's joblib workers) by the same code as a ``sitecustomize`` module on PYTHONPATH,
writing each attempt to a log. Where Linux allows it the demo also runs in a network
namespace of its own (``unshare -rn``: not even a loopback interface up), which catches
what Python never sees (a C library opening its own sockets). The tests assert the work
finished and nothing was attempted; the guard itself is tested to catch each call.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pytest
from cases import three_stocks

import optihedge as oh
from constraints import GrossExposure, PremiumBudget, Turnover

ROOT = Path(__file__).resolve().parents[1]

# the guard, run in this process by exec and in subprocesses as sitecustomize.py
GUARD = textwrap.dedent(
    '''
    """Refuse and record every socket use that leaves this machine (optihedge's tests)."""
    import errno
    import ipaddress
    import os
    import socket

    _LOCAL_NAMES = {"", "localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


    def _local(host):
        if host is None:  # getaddrinfo(None, port): this machine's own addresses
            return True
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        host = str(host).strip("[]").split("%")[0].lower()
        if host in _LOCAL_NAMES:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return address.is_loopback or address.is_unspecified


    def install(record, patch):
        """Patch ``socket`` with ``patch(owner, name, value)``; ``record(text)`` each attempt."""
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        real_sendto = socket.socket.sendto
        real_getaddrinfo = socket.getaddrinfo
        real_gethostbyname = socket.gethostbyname
        real_gethostbyname_ex = socket.gethostbyname_ex

        def refuse(what, target):
            record(f"{what} {target!r}")
            raise OSError(errno.ENETUNREACH, f"network refused by optihedge's tests: {what}")

        def remote(sock, address):
            if getattr(socket, "AF_UNIX", None) is not None and sock.family == socket.AF_UNIX:
                return False
            host = address[0] if isinstance(address, tuple) else address
            return not _local(host)

        def connect(self, address):
            if remote(self, address):
                refuse("connect", address)
            return real_connect(self, address)

        def connect_ex(self, address):
            if remote(self, address):
                refuse("connect_ex", address)
            return real_connect_ex(self, address)

        def sendto(self, data, *args):
            if remote(self, args[-1]):
                refuse("sendto", args[-1])
            return real_sendto(self, data, *args)

        def getaddrinfo(host, *args, **kwargs):
            if not _local(host):
                record(f"getaddrinfo {host!r}")
                raise socket.gaierror(socket.EAI_NONAME, "name lookup refused by the tests")
            return real_getaddrinfo(host, *args, **kwargs)

        def gethostbyname(host):
            if not _local(host):
                refuse("gethostbyname", host)
            return real_gethostbyname(host)

        def gethostbyname_ex(host):
            if not _local(host):
                refuse("gethostbyname_ex", host)
            return real_gethostbyname_ex(host)

        patch(socket.socket, "connect", connect)
        patch(socket.socket, "connect_ex", connect_ex)
        patch(socket.socket, "sendto", sendto)
        patch(socket, "getaddrinfo", getaddrinfo)
        patch(socket, "gethostbyname", gethostbyname)
        patch(socket, "gethostbyname_ex", gethostbyname_ex)


    _LOG = os.environ.get("OPTIHEDGE_OFFLINE_LOG")
    if __name__ == "sitecustomize" and _LOG:

        def _record(text):
            with open(_LOG, "a", encoding="utf-8") as log:
                log.write(f"{os.getpid()} {text}\\n")

        install(_record, setattr)
    '''
)


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Block the network in this process; the list of attempts (asserted empty after)."""
    seen: list[str] = []
    namespace: dict[str, object] = {"__name__": "offline_guard"}
    exec(compile(GUARD, "offline_guard", "exec"), namespace)
    install = namespace["install"]
    assert callable(install)
    install(seen.append, monkeypatch.setattr)
    return seen


@pytest.fixture
def guarded_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """Environment for subprocesses: the guard as sitecustomize, and its log file."""
    folder = tmp_path / "guard"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "network-attempts.log"
    log.touch()
    path = os.pathsep.join(p for p in (str(folder), str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, PYTHONPATH=path, OPTIHEDGE_OFFLINE_LOG=str(log), MPLBACKEND="Agg")
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy"):
        env.pop(proxy, None)
    # under `make mutants` the mutant marker must not follow the child into a folder that
    # holds no mutmut configuration (the child would fail before it tries the network)
    env.pop("MUTANT_UNDER_TEST", None)
    return env, log


def _isolated() -> list[str]:
    """``unshare -rn`` (a network namespace with no interface up) when Linux allows it."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    done = subprocess.run([unshare, "-rn", "true"], capture_output=True, check=False)
    return [unshare, "-rn"] if done.returncode == 0 else []


def _on_a_socket(family: int, kind: int, method: str, *args: object) -> object:
    with socket.socket(family, kind) as sock:
        return getattr(sock, method)(*args)


class TestTheGuard:
    """The guard refuses and records each way out, and lets loopback through."""

    @pytest.mark.parametrize(
        ("call", "recorded"),
        [
            pytest.param(
                lambda: _on_a_socket(
                    socket.AF_INET, socket.SOCK_STREAM, "connect", ("192.0.2.1", 443)
                ),
                "connect ('192.0.2.1', 443)",
                id="connect",
            ),
            pytest.param(
                lambda: _on_a_socket(
                    socket.AF_INET6, socket.SOCK_STREAM, "connect_ex", ("2001:db8::1", 443)
                ),
                "connect_ex ('2001:db8::1', 443)",
                id="connect_ex",
            ),
            pytest.param(
                lambda: _on_a_socket(
                    socket.AF_INET, socket.SOCK_DGRAM, "sendto", b"x", ("198.51.100.7", 53)
                ),
                "sendto ('198.51.100.7', 53)",
                id="sendto",
            ),
            pytest.param(
                lambda: socket.create_connection(("example.com", 80), timeout=0.5),
                "getaddrinfo 'example.com'",
                id="create_connection",
            ),
            pytest.param(
                lambda: socket.getaddrinfo("pypi.org", 443),
                "getaddrinfo 'pypi.org'",
                id="getaddrinfo",
            ),
            pytest.param(
                lambda: socket.gethostbyname("example.com"),
                "gethostbyname 'example.com'",
                id="gethostbyname",
            ),
            pytest.param(
                lambda: urllib.request.urlopen("https://fonts.googleapis.com/css2", timeout=0.5),
                "getaddrinfo 'fonts.googleapis.com'",
                id="urlopen-name",
            ),
            pytest.param(
                lambda: urllib.request.urlopen("http://203.0.113.9/", timeout=0.5),
                "getaddrinfo '203.0.113.9'",
                id="urlopen-address",
            ),
        ],
    )
    def test_each_way_out_is_refused_and_recorded(
        self, attempts: list[str], call: Callable[[], object], recorded: str
    ) -> None:
        with pytest.raises((OSError, urllib.error.URLError)):
            call()
        assert attempts == [recorded]

    def test_loopback_is_allowed(self, attempts: list[str]) -> None:
        with socket.create_server(("127.0.0.1", 0)) as server:
            port = server.getsockname()[1]
            with socket.create_connection(("localhost", port), timeout=5):
                pass
        assert attempts == []

    def test_the_subprocess_guard_is_active(self, guarded_env: tuple[dict[str, str], Path]) -> None:
        env, log = guarded_env
        done = subprocess.run(
            [sys.executable, "-c", "import socket; socket.getaddrinfo('pypi.org', 443)"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode != 0
        assert "refused by the tests" in done.stderr
        assert "getaddrinfo 'pypi.org'" in log.read_text()


DAILY = three_stocks(300, seed=5, start="2020-01-01")
MODEL = oh.FactorModel(windows=(252,)).fit(DAILY, DAILY[["IDX"]]).risk_model_
BOOK = oh.Portfolio.from_holdings({"A": 5e5, "B": 3e5, "C": 2e5})
GRID = {"gross_exposure.max": [0.1, 0.3, 0.5], "premium_budget.max": [0.0, 0.005]}


def _problem() -> oh.HedgeProblem:
    return oh.HedgeProblem(
        BOOK,
        [
            oh.Future("F", underlying="IDX", price=100.0, multiplier=50.0, cost=0.0002),
            oh.ETF("E", underlying="IDX", price=40.0, expense_ratio=0.001, cost=0.0005),
            oh.Put("P", underlying="IDX", moneyness=0.95, expiry=42),
        ],
        objective=oh.ExpectedShortfall(0.9),
        constraints=[GrossExposure(0.5), PremiumBudget(0.0), Turnover(1.0)],
        scenarios=oh.Scenarios.historical(DAILY, horizon=10),
        risk_model=MODEL,
        horizon=10,
        market="IDX",
        market_state=oh.MarketState(spot={"IDX": 100.0}, volatility={"IDX": 0.2}, rate=0.02),
    )


def test_a_stored_sweep_and_the_report_in_process(attempts: list[str], tmp_path: Path) -> None:
    store = tmp_path / "sweeps.duckdb"
    problem = _problem()
    first = oh.sweep(problem, GRID, store=store, chunk_size=2, progress=False)
    again = oh.sweep(problem, GRID, store=store, progress=False)  # read back from the file
    assert again.computed == 0
    np.testing.assert_allclose(again.points["objective"], first.points["objective"], rtol=1e-12)
    points, _ = first.to_parquet(tmp_path / "sweep.parquet")
    assert len(duckdb.connect().execute(f"SELECT * FROM '{points}'").df()) == len(first)
    figure = oh.sweeps.frontier_plot(
        first, risk="scenario_es", cost="premium", by="gross_exposure.max"
    )
    figure.savefig(tmp_path / "frontier.png")
    result = problem.solve()
    page = result.report(tmp_path / "hedge.html", returns=DAILY)
    assert page.read_text().count("data:image/png;base64,") == 4
    assert attempts == []


def test_the_demo_and_a_parallel_stored_sweep_in_subprocesses(
    guarded_env: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    # the command line's demo (data, regressions, every hedge, its sweep, the report,
    # the frontier), then a sweep with a store on two joblib workers (each one a new
    # Python: the guard loads in them too)
    env, log = guarded_env
    script = tmp_path / "offline_run.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(Path(__file__).parent)!r})
            import test_offline as t
            import optihedge as oh
            from optihedge.cli import main

            assert main(["demo", "--report", {str(tmp_path / "demo-report.html")!r}]) == 0
            result = oh.sweep(
                t._problem(), t.GRID, n_jobs=2, chunk_size=2,
                store={str(tmp_path / "sweeps.duckdb")!r}, progress=False,
            )
            assert result.computed == len(result) == 6
            print("offline run finished")
            """
        )
    )
    isolated = _isolated()
    done = subprocess.run(
        [*isolated, sys.executable, str(script)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "offline run finished" in done.stdout
    assert "it needs no network" in done.stdout
    assert log.read_text() == ""  # not one attempt, in the demo or in a worker
    report = (tmp_path / "demo-report.html").read_text()
    assert report.startswith("<!DOCTYPE html>")
    assert (tmp_path / "demo-frontier.png").stat().st_size > 10_000
    stored = duckdb.connect(str(tmp_path / "sweeps.duckdb"), read_only=True)
    try:
        count = stored.execute("SELECT count(*) FROM sweep_points").fetchone()
    finally:
        stored.close()
    assert count == (6,)

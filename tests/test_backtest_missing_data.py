"""Issue 22, the backtest's last two parts: instruments with gaps in their data, option decay.

Every expected number is computed here independently: Black-Scholes with scipy for the
decay, and for the gaps a second backtest that never sees the missing instrument (or
starts once it is listed), by the engine's public function on other inputs.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import optihedge as oh
from factor_models import RiskModel
from optihedge.backtests import (
    CostModel,
    Estimation,
    HedgePolicy,
    HoldToExpiry,
    Schedule,
    backtest,
)
from optihedge.errors import DataError, SpecificationError
from optihedge.optimize.spec import ProblemSpec

# ------------------------------------------------------------------ item 2: option decay

RATE, VOL, K_MONEY = 0.01, 0.2, 0.95


def _bs_put(spot: float, strike: float, tau: float) -> float:
    """Black-Scholes put (no dividend), rate RATE and volatility VOL; intrinsic at tau 0."""
    if tau <= 0:
        return max(strike - spot, 0.0)
    d1 = (math.log(spot / strike) + (RATE + 0.5 * VOL**2) * tau) / (VOL * math.sqrt(tau))
    d2 = d1 - VOL * math.sqrt(tau)
    return float(strike * math.exp(-RATE * tau) * norm.cdf(-d2) - spot * norm.cdf(-d1))


def _put_run(index: list[float], days: int) -> tuple[oh.BacktestResult, pd.DatetimeIndex]:
    """A put (1 x the book, 21 trading days) bought on day 40 and held ``days`` days."""
    dates = pd.bdate_range("2021-03-01", periods=len(index))
    data = pd.DataFrame({"BOOK": 50.0, "IDX": index}, index=dates)
    put = oh.Put(
        "P", underlying="IDX", moneyness=K_MONEY, expiry=21, implied_vol=VOL, lower=1.0, upper=1.0
    )
    cov = pd.DataFrame(np.diag([1e-4, 1e-4]), index=["BOOK", "IDX"], columns=["BOOK", "IDX"])
    policy = HedgePolicy(
        name="one put",
        spec=ProblemSpec((put,), oh.Variance(), (), 21),
        schedule=Schedule("every", every=10_000),
        estimation=Estimation(kind="given", risk_model=RiskModel.from_covariance(cov)),
        exit_rule=HoldToExpiry(roll=False),
    )
    result = backtest(
        policy,
        data,
        start=dates[40],
        end=dates[40 + days],
        book=oh.Portfolio.from_holdings({"BOOK": 1e6}),
        rate=RATE,
        volatility=VOL,
    )
    return result, dates


def test_option_decay_is_the_black_scholes_change_of_time_alone_at_yesterdays_spot() -> None:
    rng = np.random.default_rng(7)
    index = list(100.0 * np.exp(np.cumsum(rng.normal(0, 0.02, 70))))  # moves a lot each day
    result, dates = _put_run(index, 15)
    buy = result.trades[result.trades["leg"] == "P"].iloc[0]
    units = float(buy["units"])
    assert units > 0
    s0 = index[40]
    strike = K_MONEY * s0
    assert buy["contract"] == f"P {dates[40 + 21]:%Y-%m-%d}"  # 21 trading days = 21 rows
    assert buy["price"] == pytest.approx(100 * _bs_put(s0, strike, 21 / 252), rel=1e-10)
    decay = result.daily["option_decay"]
    assert decay.iloc[0] == 0.0  # bought at the close: no time held yet
    for d in range(1, 16):
        prev = index[40 + d - 1]  # yesterday's spot, today's and yesterday's time left
        hand = (
            units
            * 100
            * (_bs_put(prev, strike, (21 - d) / 252) - _bs_put(prev, strike, (22 - d) / 252))
        )
        assert decay.iloc[d] == pytest.approx(hand, rel=1e-9, abs=1e-9), d
        today = index[40 + d]  # the same difference at today's spot: not what decay is
        wrong = (
            units
            * 100
            * (_bs_put(today, strike, (21 - d) / 252) - _bs_put(today, strike, (22 - d) / 252))
        )
        assert abs(wrong - hand) > 1e-6 * abs(hand)
    assert (decay.iloc[1:] < 0).all()  # a put held long loses value to time
    # decay is part of the leg's P&L: the accounting identity is unchanged
    assert result.accounting_error().abs().max() < 0.005
    costs = result.costs()
    assert "option_decay" not in costs.index
    assert costs.attrs["option_decay"]["total"] == pytest.approx(decay.sum(), rel=1e-12)


def test_a_put_held_to_expiry_on_a_flat_spot_decays_by_its_premium() -> None:
    result, _ = _put_run([100.0] * 70, 21)  # bought on day 40, expires on day 61
    premium = float(result.daily["option_premium"].iloc[0])
    assert premium > 0  # paid
    decay = result.daily["option_decay"]
    # out of the money at expiry: its whole premium is lost, all of it to time
    assert decay.sum() == pytest.approx(-premium, rel=1e-9)
    np.testing.assert_allclose(decay.to_numpy(), result.daily["pnl_P"].to_numpy(), atol=1e-9)
    expired = result.trades[result.trades["why"] == "expiry"]
    assert len(expired) == 1
    assert expired["price"].iloc[0] == 0.0


# ------------------------------------------------------------------ item 1: gaps in the data

N_ROWS, LISTED, DELISTED, START, WINDOW = 330, 150, 280, 60, 40


def _gappy_data() -> pd.DataFrame:
    """A book STK, an index IDX, NEW listed on row LISTED, OLD delisted after DELISTED - 1."""
    rng = np.random.default_rng(11)
    m, f = rng.normal(0, 0.01, N_ROWS), rng.normal(0, 0.01, N_ROWS)
    e = rng.normal(0, 0.004, (3, N_ROWS))

    def level(r: np.ndarray) -> np.ndarray:
        return np.asarray(100.0 * np.exp(np.cumsum(r)))

    data = pd.DataFrame(
        {
            "STK": level(m + f + e[0]),
            "IDX": level(m),
            "NEW": level(m + f + e[1]),
            "OLD": level(m + f + e[2]),
        },
        index=pd.bdate_range("2021-01-04", periods=N_ROWS),
    )
    data.loc[data.index[:LISTED], "NEW"] = np.nan
    data.loc[data.index[DELISTED:], "OLD"] = np.nan
    return data


def _gap_policy(instruments: list[oh.Instrument], **kw: object) -> HedgePolicy:
    return HedgePolicy(
        name="gaps",
        spec=ProblemSpec(tuple(instruments), oh.Variance(), (), 21),
        schedule=Schedule("month_end"),
        estimation=Estimation(kind="sample", window=WINDOW),
        **kw,  # type: ignore[arg-type]
    )


ES = oh.Future("ES", underlying="IDX", multiplier=5.0)
X_NEW = oh.ETF("X", underlying="NEW", price=100.0)
BOOK = oh.Portfolio.from_holdings({"STK": 1e7})


def test_a_gap_is_refused_with_its_dates_and_the_option_that_allows_it() -> None:
    data = _gappy_data()
    policy = _gap_policy([ES, X_NEW])
    read = START - policy.warmup() - 1  # the first row the first decision's estimation reads
    first, last = data.index[read], data.index[LISTED - 1]
    with pytest.raises(
        DataError,
        match=(
            rf"no close of \['NEW'\] on {LISTED - read} dates the backtest reads \(its "
            rf"window and the estimation before its start; first {first:%Y-%m-%d}, last "
            rf"{last:%Y-%m-%d}\): 'NEW' on {first:%Y-%m-%d} to {last:%Y-%m-%d}; "
            r".*HedgePolicy\(missing_data='trade_when_available'\)"
        ),
    ):
        backtest(policy, data, start=data.index[START], book=BOOK)


def test_the_book_with_a_gap_is_refused_even_when_the_policy_trades_when_available() -> None:
    data = _gappy_data()
    data.loc[data.index[200], "STK"] = np.nan
    policy = _gap_policy([ES, X_NEW], missing_data="trade_when_available")
    with pytest.raises(
        DataError,
        match=(
            rf"no close of \['STK'\] on 1 dates .*'STK' on {data.index[200]:%Y-%m-%d}; "
            r"\['STK'\] are the book's holdings"
        ),
    ):
        backtest(policy, data, start=data.index[START], book=BOOK)


def _listed_run() -> tuple[oh.BacktestResult, pd.DataFrame]:
    data = _gappy_data()
    data["X"] = data["NEW"]  # the fund's own closes (a synthetic price would start anywhere)
    policy = _gap_policy([ES, X_NEW], missing_data="trade_when_available")
    return backtest(policy, data, start=data.index[START], book=BOOK), data


def test_an_instrument_listed_late_is_held_at_zero_until_its_window_has_data() -> None:
    result, data = _listed_run()
    dates = data.index
    # its first tradable decision: its closes on the whole estimation window and the day
    first_ok = dates[LISTED + WINDOW + 1]
    dec = result.decisions
    assert (dec.loc[dec.index < first_ok, "unavailable"] == "X").all()
    assert (dec.loc[dec.index >= first_ok, "unavailable"] == "").all()
    assert (dec["status"] == "optimal").all()
    held = result.positions["X"]
    assert (held[held.index < first_ok] == 0).all()
    assert (held[held.index >= dec.index[dec.index >= first_ok][0]] != 0).all()
    # from the first row the first decision reads (its estimation window)
    assert result.meta["missing"] == {"X": [(dates[START - WINDOW - 1], dates[LISTED - 1])]}
    assert result.accounting_error().abs().max() < 0.005

    # While X is unavailable the decisions are those of the policy without X at all.
    without = backtest(_gap_policy([ES]), data, start=dates[START], book=BOOK)
    before = result.positions.index < first_ok
    np.testing.assert_array_equal(
        result.positions.loc[before, "ES"], without.positions.loc[before, "ES"]
    )
    np.testing.assert_allclose(
        result.decisions.loc[result.decisions.index < first_ok, "weight[ES]"],
        without.decisions.loc[without.decisions.index < first_ok, "weight[ES]"],
        rtol=1e-6,
    )

    # Once it trades: a backtest that starts on that decision, the book bought as the same
    # shares, never sees the gap; its positions are the same (a variance hedge of the same
    # book in currency does not depend on the cash the account holds).
    listed = dec.index[dec.index >= first_ok][0]
    shares = 1e7 / data["STK"].iloc[START]
    book = oh.Portfolio.from_holdings({"STK": shares * data.loc[listed, "STK"]})
    later = backtest(_gap_policy([ES, X_NEW]), data.drop(columns="OLD"), start=listed, book=book)
    after = result.positions.loc[listed:]
    np.testing.assert_array_equal(after["ES"], later.positions["ES"])
    np.testing.assert_allclose(after["X"], later.positions["X"], rtol=1e-6)


@pytest.mark.parametrize(
    "leg",
    [oh.Future("Y", underlying="OLD", multiplier=10.0), oh.ETF("Y", underlying="OLD", price=50.0)],
)
def test_a_held_position_with_no_close_is_closed_that_day_at_its_last_close(
    leg: oh.Instrument,
) -> None:
    data = _gappy_data()
    policy = _gap_policy([leg], missing_data="trade_when_available")
    costs = CostModel(commission_per_contract=1.0, commission_per_share=0.01, half_spread=0.0002)
    result = backtest(policy, data, start=data.index[START], book=BOOK, costs=costs)
    last, gap = data.index[DELISTED - 1], data.index[DELISTED]
    held = result.positions["Y"]
    units = held.loc[last]
    assert units != 0  # held on its last close
    assert (held.loc[gap:] == 0).all()  # closed on the first day with no close
    closing = result.trades[result.trades["leg"] == "Y"].iloc[-1]
    assert closing["date"] == gap
    assert closing["why"] == (
        f"no close on {gap:%Y-%m-%d}: closed at its last close of {last:%Y-%m-%d}"
    )
    assert closing["units"] == -units
    unit = (
        10.0 * data["OLD"]
        if isinstance(leg, oh.Future)
        else 50.0 * data["OLD"] / data["OLD"].iloc[START]
    )
    assert closing["price"] == pytest.approx(unit.loc[last], rel=1e-12)
    # its costs on the stale price: commission per contract (future) or share, half-spread
    per = 1.0 if isinstance(leg, oh.Future) else 0.01
    hand = per * abs(units) + 0.0002 * abs(units) * unit.loc[last]
    assert closing["cost"] == pytest.approx(hand, rel=1e-12)
    # marked at its last close on the gap day: no P&L from a price it does not have
    assert result.daily.loc[gap, "pnl_Y"] == 0.0
    assert (result.daily.loc[result.daily.index >= gap, "pnl_Y"] == 0).all()
    assert np.isfinite(result.daily.select_dtypes("number").to_numpy()).all()
    assert result.accounting_error().abs().max() < 0.005
    dec = result.decisions
    assert (dec.loc[dec.index < gap, "unavailable"] == "").all()  # the day before: tradable
    assert (dec.loc[dec.index >= gap, "unavailable"] == "Y").all()
    assert result.meta["missing"] == {"Y": [(data.index[DELISTED], data.index[-1])]}


def test_missing_data_round_trips_and_refuses_an_unknown_value() -> None:
    policy = _gap_policy([ES, X_NEW], missing_data="trade_when_available")
    assert policy.to_dict()["missing_data"] == "trade_when_available"
    assert HedgePolicy.from_dict(policy.to_dict()) == policy
    assert (
        HedgePolicy.from_dict(
            {k: v for k, v in policy.to_dict().items() if k != "missing_data"}
        ).missing_data
        == "refuse"
    )
    with pytest.raises(
        SpecificationError,
        match=r"'missing_data' must be one of \['refuse', 'trade_when_available'\]. Got 'skip'",
    ):
        _gap_policy([ES], missing_data="skip")


POLICY_FILE = """\
schema_version = 1
name = "gaps"
as_of = 2019-06-28
horizon = 21
market = "SP500"

[book]
embedded = { JPM = 6_000_000.0 }

[data]
embedded = true
start = 2018-06-01

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

[policy]
schedule = { rule = "month_end" }
missing_data = "trade_when_available"
"""


def test_missing_data_round_trips_through_the_policy_file() -> None:
    from optihedge.cli.policy_file import PolicyFileError, dump_policy, load_policy

    pf = load_policy(POLICY_FILE)
    assert pf.policy is not None
    assert pf.policy.missing_data == "trade_when_available"
    assert pf.resolved["policy"]["missing_data"] == "trade_when_available"
    for resolved in (False, True):
        back = load_policy(dump_policy(pf, resolved=resolved))
        assert back.policy == pf.policy
        assert back.resolved == pf.resolved
    default = load_policy(POLICY_FILE.replace('missing_data = "trade_when_available"\n', ""))
    assert default.policy is not None
    assert default.policy.missing_data == "refuse"
    assert "policy.missing_data" in default.defaults
    with pytest.raises(PolicyFileError) as info:
        load_policy(POLICY_FILE.replace('"trade_when_available"', '"skip"'))
    (issue,) = info.value.issues
    assert issue.key == "policy.missing_data"
    assert re.search(r"must be one of \['refuse', 'trade_when_available'\]", issue.message)


# ------------------------------------------------------------------ no look-ahead with gaps

GAP = (201, 205)  # OLD also has no close on rows 201 to 204 (and none from DELISTED on)
Y_OLD = oh.Future("Y", underlying="OLD", multiplier=10.0, adv=5e8)
COSTS = CostModel(commission_per_contract=1.0, half_spread=0.0002, impact=0.5)
_FULL_GAPPY: dict[str, oh.BacktestResult] = {}


def _twice_gappy_run(data: pd.DataFrame) -> oh.BacktestResult:
    """ES and Y (on OLD), decided every 10 rows from START (rows 200 and 280 among them)."""
    policy = dataclasses.replace(
        _gap_policy([ES, Y_OLD], missing_data="trade_when_available"),
        schedule=Schedule("every", every=10),
    )
    return backtest(policy, data, start=data.index[START], book=BOOK, costs=COSTS)


def _twice_gappy_data() -> pd.DataFrame:
    data = _gappy_data().drop(columns="NEW")
    data.loc[data.index[GAP[0] : GAP[1]], "OLD"] = np.nan
    return data


@pytest.mark.parametrize(
    "cut",
    [
        150,  # before any gap
        GAP[0] - 1,  # the day before a gap starts (a decision day)
        GAP[0],  # the gap's first day
        GAP[1] - 1,  # its last day
        GAP[1],  # the first close after it
        DELISTED - 1,  # the day before the delisting
        DELISTED,  # the first day with no close (a decision day)
        DELISTED + 15,
    ],
)
def test_no_look_ahead_with_gaps_a_run_cut_at_any_date_decides_and_trades_the_same(
    cut: int,
) -> None:
    data = _twice_gappy_data()
    full = _FULL_GAPPY.get("run")
    if full is None:
        full = _FULL_GAPPY.setdefault("run", _twice_gappy_run(data))
    when = data.index[cut]
    short = _twice_gappy_run(data.loc[:when])
    a, b = full.decisions.loc[:when], short.decisions
    pd.testing.assert_index_equal(a.index, b.index)
    assert list(a["why"]) == list(b["why"])
    assert list(a["unavailable"]) == list(b["unavailable"])
    weights = [c for c in a.columns if c.startswith("weight[")]
    np.testing.assert_array_equal(a[weights].to_numpy(), b[weights].to_numpy())
    pd.testing.assert_frame_equal(
        full.trades[full.trades["date"] <= when].reset_index(drop=True),
        short.trades.reset_index(drop=True),
    )
    pd.testing.assert_frame_equal(full.positions.loc[:when], short.positions)
    assert np.isfinite(short.daily.select_dtypes("number").to_numpy()).all()
    assert short.accounting_error().abs().max() < 0.005


def test_trade_when_available_refuses_a_bounds_constraint_even_on_data_without_gaps() -> None:
    from constraints import Bounds

    data = _gappy_data().drop(columns=["NEW", "OLD"])  # no gap at all
    policy = HedgePolicy(
        name="gaps",
        spec=ProblemSpec((ES,), oh.Variance(), (Bounds(lower={"ES": -2.0}),), 21),
        schedule=Schedule("month_end"),
        estimation=Estimation(kind="sample", window=WINDOW),
        missing_data="trade_when_available",
    )
    # the problem compiled must not depend on whether the data after a date have gaps
    with pytest.raises(
        SpecificationError,
        match=r"trade_when_available' lets the data of \['ES'\] have gaps .* cannot carry "
        r"its own Bounds constraint too: state the bounds on the instruments",
    ):
        backtest(policy, data, start=data.index[START], book=BOOK)
    refused = dataclasses.replace(policy, missing_data="refuse")
    assert (
        backtest(refused, data, start=data.index[START], book=BOOK).decisions["status"] == "optimal"
    ).all()


# ------------------------------------------------------------------ review fixes


def test_the_impact_of_a_trade_reads_the_volatility_of_the_closes_there_were() -> None:
    # the square-root law: impact = 0.5 x daily vol x sqrt(notional / adv) x notional, the
    # vol over the 63 returns before the day; a gap's returns are missing, not zero
    data = _twice_gappy_data()
    result = _twice_gappy_run(data)
    returns = data["OLD"].pct_change()  # the data's returns, as the engine reads them
    trades = result.trades[result.trades["leg"] == "Y"]
    after_gap = 0
    for _, t in trades.iterrows():
        k = data.index.get_loc(t["date"])
        window = returns.iloc[max(1, k - 63) : k]
        vol = float(window.dropna().std())
        notional = float(t["notional"])
        impact = 0.5 * vol * math.sqrt(notional / 5e8) * notional
        hand = abs(float(t["units"])) * 1.0 + 0.0002 * notional + impact
        if t["why"] == "roll":
            continue  # a roll's costs are booked as one "roll" kind (the same sum)
        assert float(t["cost"]) == pytest.approx(hand, rel=1e-12), t["date"]
        after_gap += bool(window.isna().any())
    assert after_gap > 0  # some trades' windows hold the gap: the case that matters


def test_the_market_cannot_have_gaps_even_when_the_policy_trades_when_available() -> None:
    # ES's underlying IDX is the problem's market: its covariances with every position
    # matter (residual beta, the beta drift), so zero-filled returns would change them
    data = _gappy_data()
    data.loc[data.index[150:153], "IDX"] = np.nan
    policy = dataclasses.replace(
        _gap_policy([ES, X_NEW], missing_data="trade_when_available"),
        spec=ProblemSpec((ES, X_NEW), oh.Variance(), (), 21, market="IDX"),
    )
    data["X"] = data["NEW"]
    with pytest.raises(DataError, match=r"no close of \['IDX'\].*\['IDX'\] are the book's"):
        backtest(policy, data, start=data.index[START], book=BOOK)


def test_refuse_refuses_a_gap_in_the_estimation_before_the_start() -> None:
    data = _gappy_data().drop(columns=["NEW"])
    data = data.iloc[:DELISTED]  # OLD has every close from here on ...
    data.loc[data.index[START - 10], "OLD"] = np.nan  # ... but one before the start
    policy = _gap_policy([ES, oh.Future("Y", underlying="OLD", multiplier=10.0)])
    assert START - 10 >= START - policy.warmup() - 1  # a row the first decision reads
    day = data.index[START - 10]
    with pytest.raises(
        DataError,
        match=rf"no close of \['OLD'\] on 1 dates the backtest reads .*'OLD' on {day:%Y-%m-%d}",
    ):
        backtest(policy, data, start=data.index[START], book=BOOK)


def test_the_command_line_backtests_a_policy_file_whose_hedge_has_gaps(tmp_path: Path) -> None:
    # the policy file's route: its data loader lets a hedge instrument's price have gaps
    # when the policy trades it only when it has data (the engine names and handles them)
    data = _gappy_data()
    data["X"] = data["NEW"]
    data.rename_axis("date").to_csv(tmp_path / "prices.csv")
    text = f"""\
schema_version = 1
name = "gaps"
horizon = 21
market = "IDX"

[book]
embedded = {{ STK = 10_000_000.0 }}

[data]
file = "prices.csv"

[estimation]
kind = "sample"
window = {WINDOW}

[[instruments]]
kind = "future"
label = "ES"
underlying = "IDX"
multiplier = 5.0

[[instruments]]
kind = "etf"
label = "X"
underlying = "NEW"
price = 100.0

[objective]
kind = "variance"

[policy]
schedule = {{ rule = "month_end" }}
missing_data = "trade_when_available"
"""
    (tmp_path / "gaps.toml").write_text(text)
    command = Path(sys.executable).with_name("optihedge")
    args = [str(command)] if command.exists() else [sys.executable, "-m", "optihedge"]
    start = f"{data.index[START]:%Y-%m-%d}"
    run = [*args, "backtest", "gaps.toml", "--start", start, "--format", "json", "--quiet"]
    done = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    (summary,) = out["text"]
    window = data.index[START:]
    month_ends = pd.Series(window, index=window).groupby(window.to_period("M")).max()
    ends = int((month_ends < window[-1]).sum())  # the last row is a month end it marks only
    assert f"{len(window)} marks, {ends + 1} decisions" in summary  # and the first day's
    assert re.search(r"\d+ trades", summary)
    assert " 0 trades" not in summary
    # one date's solve cannot trade around a gap in its window: refused, naming it
    day = data.index[LISTED - 10]
    solve = subprocess.run(
        [*args, "solve", "gaps.toml", "--as-of", f"{day:%Y-%m-%d}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert solve.returncode == 2
    assert "Traceback" not in solve.stderr
    read = data.index[LISTED - 10 - WINDOW - 1]
    assert (
        f"no close of ['NEW'] on {WINDOW + 2} dates the solve for {day:%Y-%m-%d} reads (first "
        f"{read:%Y-%m-%d}, last {day:%Y-%m-%d})"
    ) in solve.stderr
    # without the policy's leave, the same file is refused, naming the column and its dates
    (tmp_path / "refuse.toml").write_text(text.replace('"trade_when_available"', '"refuse"'))
    no = subprocess.run(
        [*args, "backtest", "refuse.toml", "--start", start],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert no.returncode != 0
    assert "Traceback" not in no.stderr
    first, last = data.index[0], data.index[LISTED - 1]
    assert (
        f"in column 'NEW' from {first:%Y-%m-%d} to {last:%Y-%m-%d} ({LISTED} dates); fill or "
        "drop those rows, or trade that hedge only when it has data: [policy] missing_data = "
        '"trade_when_available"'
    ) in no.stderr


def test_a_backtest_with_gaps_leaves_its_data_as_given_and_runs_the_same_twice() -> None:
    # the engine fills a gap's returns and carries its prices in its own copies only
    data = _gappy_data()
    data["X"] = data["NEW"]
    before = data.copy()
    policy = _gap_policy([ES, X_NEW], missing_data="trade_when_available")
    first = backtest(policy, data, start=data.index[START], book=BOOK)
    pd.testing.assert_frame_equal(data, before)  # NaN where they were, nothing filled
    again = backtest(policy, data, start=data.index[START], book=BOOK)
    pd.testing.assert_frame_equal(first.daily, again.daily)
    pd.testing.assert_frame_equal(first.trades, again.trades)
    assert BOOK.holdings.to_dict() == {"STK": 1e7}

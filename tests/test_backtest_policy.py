"""The hedge policy's parts (issue 22, item 1): schedule, regimes, triggers, exits, budget.

Known answers are written by hand (third Fridays of 2020, month ends of 2021, the days a
threshold with hysteresis and a cooldown fires on a given path); properties are checked
with hypothesis against brute-force references written here (no look-ahead of the
schedule, purity of the triggers, dict round trips, band_of total on the covered range).
"""

from __future__ import annotations

import itertools
import json
import math
import pickle
import tomllib
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optihedge.backtests.policy import (
    AllOf,
    AnyExit,
    AnyOf,
    Band,
    BetaDrift,
    CloseWhen,
    CrossRoll,
    DeltaDrift,
    Drawdown,
    ExitAction,
    Harvest,
    HoldToExpiry,
    LotView,
    PremiumBudget,
    RegimeChange,
    Regimes,
    Schedule,
    Threshold,
    TriggerState,
    part_from_dict,
    trigger_from_dict,
)
from optihedge.calendar import DEFAULT_CALENDAR, TRADING_DAYS, TradingCalendar
from optihedge.errors import DataError, SpecificationError

INF = math.inf
T0 = pd.Timestamp("2020-01-02")


def run(trigger: Any, path: list[dict[str, Any]]) -> tuple[list[int], list[str]]:
    """Step a trigger along a path of signal dicts; the days it fired and its reasons."""
    state: TriggerState | None = None
    fired, reasons = [], []
    for day, signals in enumerate(path):
        fire, state = trigger.step(day, T0 + pd.Timedelta(days=day), signals, state)
        assert state.fired == fire
        if fire:
            fired.append(day)
            reasons.append(state.reason)
    return fired, reasons


# --------------------------------------------------------------------------- schedule


def test_third_fridays_of_2020_by_hand() -> None:
    days = pd.bdate_range("2020-01-01", "2020-12-31")
    got = Schedule("third_friday").dates(days)
    hand = ["01-17", "02-21", "03-20", "04-17", "05-15", "06-19"]
    hand += ["07-17", "08-21", "09-18", "10-16", "11-20", "12-18"]
    assert list(got) == [pd.Timestamp(f"2020-{md}") for md in hand]


def test_third_friday_on_a_holiday_is_the_trading_day_before() -> None:
    # Good Friday 2022 was the third Friday of April (15th): the listed options expired
    # on Thursday the 14th.
    cal = TradingCalendar(("2022-04-15",))
    days = cal.range("2022-03-01", "2022-05-31")
    got = Schedule("third_friday", calendar=cal).dates(days)
    assert list(got) == [pd.Timestamp(d) for d in ("2022-03-18", "2022-04-14", "2022-05-20")]


def test_month_ends_of_2021_by_hand() -> None:
    days = pd.bdate_range("2021-01-01", "2021-12-31")
    got = Schedule("month_end").dates(days)
    hand = ["01-29", "02-26", "03-31", "04-30", "05-31", "06-30"]
    hand += ["07-30", "08-31", "09-30", "10-29", "11-30", "12-31"]
    assert list(got) == [pd.Timestamp(f"2021-{md}") for md in hand]
    # Memorial Day 2021 fell on Monday 31 May: with it a holiday, May ends on the 28th,
    # decided by the calendar even when the data's last day is the 31st's eve
    cal = TradingCalendar(("2021-05-31",))
    nyse_like = cal.range("2021-05-01", "2021-06-30")
    got = Schedule("month_end", calendar=cal).dates(nyse_like)
    assert list(got) == [pd.Timestamp("2021-05-28"), pd.Timestamp("2021-06-30")]
    cut = nyse_like[nyse_like <= "2021-05-28"]
    assert list(Schedule("month_end", calendar=cal).dates(cut)) == [pd.Timestamp("2021-05-28")]


def test_week_ends_and_every() -> None:
    days = pd.bdate_range("2021-03-01", "2021-03-31")  # Monday 1 March to Wednesday 31st
    fridays = ["03-05", "03-12", "03-19", "03-26"]
    assert list(Schedule("week_end").dates(days)) == [pd.Timestamp(f"2021-{d}") for d in fridays]
    cal = TradingCalendar(("2021-03-12",))  # a Friday holiday: that week ends on Thursday
    got = Schedule("week_end", calendar=cal).dates(cal.range("2021-03-08", "2021-03-19"))
    assert list(got) == [pd.Timestamp("2021-03-11"), pd.Timestamp("2021-03-19")]
    every = Schedule("every", every=5).dates(days)
    assert list(every) == list(days[[0, 5, 10, 15, 20]])
    assert len(Schedule("month_end").dates(days[:0])) == 0


def test_spacing_and_check_frequency() -> None:
    assert Schedule("every", every=3).spacing() == 3
    assert Schedule("week_end").spacing() == 5
    assert Schedule("month_end").spacing() == 21
    assert Schedule("third_friday").spacing() == 21
    Schedule("every", every=5).check_frequency("weekly")
    Schedule("week_end").check_frequency("weekly")
    Schedule("month_end").check_frequency("monthly")
    Schedule("every", every=1).check_frequency("daily")
    with pytest.raises(SpecificationError, match=r"finer than the data \(weekly data"):
        Schedule("every", every=1).check_frequency("weekly")
    with pytest.raises(SpecificationError, match="finer than the data.*every=21"):
        Schedule("week_end").check_frequency("monthly")


@st.composite
def trading_days(draw: st.DrawFn) -> pd.DatetimeIndex:
    start = draw(
        st.dates(
            min_value=pd.Timestamp("1999-01-01").date(), max_value=pd.Timestamp("2024-01-01").date()
        )
    )
    n = draw(st.integers(1, 160))
    span = pd.bdate_range(start, periods=n)
    keep = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    keep[0] = True
    return span[np.array(keep)]


@given(
    days=trading_days(),
    rule=st.sampled_from(["every", "week_end", "month_end", "third_friday"]),
    every=st.integers(1, 30),
    cut=st.floats(0.0, 1.0),
)
@settings(max_examples=80)
def test_schedule_has_no_look_ahead(
    days: pd.DatetimeIndex, rule: str, every: int, cut: float
) -> None:
    # the calendar is the data's own (holidays from the full history), fixed in advance
    sched = Schedule(rule, every=every, calendar=TradingCalendar.from_dates(days))
    full = sched.dates(days)
    k = 1 + int(cut * (len(days) - 1))
    head = sched.dates(days[:k])
    assert list(head) == list(full[full <= days[k - 1]])
    assert set(full) <= set(days)


@given(days=trading_days())
def test_month_end_matches_a_brute_force_over_the_calendar(days: pd.DatetimeIndex) -> None:
    cal = TradingCalendar.from_dates(days)
    got = set(Schedule("month_end", calendar=cal).dates(days))
    brute = {d for d in days if cal.add(d, 1).month != d.month}
    assert got == brute


# --------------------------------------------------------------------------- regimes


def vix_table() -> Regimes:
    return Regimes(
        "vix",
        (
            Band("calm", -INF, 15.0, hedge=False),
            Band("rising", 15.0, 25.0, hedge_ratio=0.5),
            Band("stress", 25.0, 40.0, {"premium_budget.max": 0.03}),
            Band("crisis", 40.0, INF, {"gross_exposure.max": 0.6}, hedge_ratio=1.0),
        ),
    )


def test_band_of_by_hand() -> None:
    table = vix_table()
    assert table.band_of(12.0).name == "calm"
    assert table.band_of(15.0).name == "rising"  # [lower, upper)
    assert table.band_of(24.999).name == "rising"
    assert table.band_of(25.0).params == {"premium_budget.max": 0.03}
    assert table.band_of(80.0).name == "crisis"
    assert table.lookup({"vix": 30.0, "other": 1.0}).name == "stress"
    assert not table.band_of(10.0).hedge
    with pytest.raises(DataError, match="signal 'vix' is missing"):
        table.lookup({"realised_vol": 0.2})
    bounded = Regimes("drawdown", (Band("ok", 0.0, 0.1), Band("down", 0.1, 1.0)))
    with pytest.raises(DataError, match=r"'drawdown' is -0.05, outside.*\[0, 1\)"):
        bounded.band_of(-0.05)
    with pytest.raises(DataError, match=r"'drawdown' is 1, outside every regime band"):
        bounded.band_of(1.0)
    with pytest.raises(DataError, match="finite number"):
        bounded.band_of(math.nan)


@given(
    edges=st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=2, max_size=8, unique=True).map(
        sorted
    ),
    u=st.floats(0.0, 1.0, exclude_max=True),
)
def test_band_of_is_total_on_the_covered_range(edges: list[float], u: float) -> None:
    bands = tuple(Band(f"b{i}", lo, hi) for i, (lo, hi) in enumerate(itertools.pairwise(edges)))
    table = Regimes("x", bands)
    value = edges[0] + u * (edges[-1] - edges[0])
    if not edges[0] <= value < edges[-1]:
        return
    i = int(np.searchsorted(np.array(edges), value, side="right")) - 1
    assert table.band_of(value) is bands[i]


# --------------------------------------------------------------------------- triggers

THRESHOLD_PATH = [0.5, 1.2, 0.9, 1.3, 0.6, 1.1, 0.5, 1.5, 1.4, 1.2, 1.0, 0.76, 0.75, 1.01]


def test_threshold_with_hysteresis_and_cooldown_fires_on_the_days_worked_by_hand() -> None:
    # level 1, re-arms at <= 0.75, no firing within 3 days of the last:
    # day 1 fires (1.2); 2-3 disarmed (0.9 and 1.3 are above 0.75); day 4 re-arms (0.6);
    # day 5 fires (1.1, 4 days after day 1); day 6 re-arms; days 7-8 are beyond but
    # within 3 days of day 5; day 9 fires; day 10 (1.0) is not beyond; 11 (0.76) does not
    # re-arm; 12 (0.75) does; day 13 fires.
    trig = Threshold("x", 1.0, hysteresis=0.25, cooldown=3)
    fired, reasons = run(trig, [{"x": v} for v in THRESHOLD_PATH])
    assert fired == [1, 5, 9, 13]
    assert reasons[0] == "x 1.2 > 1"
    below = Threshold("x", -1.0, above=False, hysteresis=0.25)
    assert run(below, [{"x": -v} for v in THRESHOLD_PATH])[0] == [1, 5, 7, 13]


def test_beta_drift_reason_reads_like_the_decisions_table() -> None:
    trig = BetaDrift(0.25)
    fired, reasons = run(trig, [{"beta_drift": 0.1}, {"beta_drift": -0.31}])
    assert fired == [1]
    assert reasons == ["beta drift 0.31 > 0.25"]
    assert DeltaDrift(0.1).signal == "delta_drift"
    dd = Drawdown(0.1, cooldown=2)
    # day 3 is within the 2-day cooldown of day 1 (3 - 1 <= 2); still beyond on day 4
    assert run(dd, [{"drawdown": v} for v in (0.05, 0.12, 0.0, 0.2, 0.2)])[0] == [1, 4]


def reference_threshold(values: list[float], level: float, hyst: float, cooldown: int) -> list[int]:
    """An independent loop of the rule: fire when armed, above, out of cooldown."""
    armed, last, out = True, None, []
    for day, v in enumerate(values):
        if not armed and v <= level - hyst:
            armed = True
        if armed and v > level and (last is None or day - last > cooldown):
            out.append(day)
            armed, last = False, day
    return out


@given(
    values=st.lists(st.floats(-3, 3, allow_nan=False), min_size=1, max_size=40),
    level=st.floats(-1, 1),
    hyst=st.floats(0, 1),
    cooldown=st.integers(0, 5),
)
def test_threshold_matches_a_reference_loop(
    values: list[float], level: float, hyst: float, cooldown: int
) -> None:
    trig = Threshold("s", level, hysteresis=hyst, cooldown=cooldown)
    assert run(trig, [{"s": v} for v in values])[0] == reference_threshold(
        values, level, hyst, cooldown
    )


def test_regime_change_with_and_without_cooldown() -> None:
    path = [{"regime": r} for r in ("calm", "calm", "stress", "stress", "crisis", "calm")]
    assert run(RegimeChange(), path)[0] == [2, 4, 5]
    assert run(RegimeChange(), path)[1][0] == "regime calm -> stress"
    slow = [{"regime": r} for r in ("calm", "calm", "stress", "stress", "crisis", "crisis")]
    # fired on day 2; the change on day 4 is within the 2-day cooldown; on day 5 the
    # regime (crisis) still differs from the one acted on (stress): it fires
    assert run(RegimeChange(cooldown=2), slow)[0] == [2, 5]


def test_any_of_and_all_of() -> None:
    a = [0, 2, 2, 2, 2, 0]
    b = [0, 0, 0, 2, 2, 2]
    path = [{"a": x, "b": y} for x, y in zip(a, b, strict=True)]
    ta, tb = Threshold("a", 1.0), Threshold("b", 1.0)
    fired, reasons = run(AnyOf(ta, tb), path)
    assert fired == [1, 3]
    assert reasons == ["a 2 > 1", "b 2 > 1"]
    # all of: both conditions hold from day 3, when b fires; a had fired on day 1
    fired, reasons = run(AllOf(ta, tb), path)
    assert fired == [3]
    assert "b 2 > 1" in reasons[0]
    nested = AnyOf(AllOf(ta, tb), RegimeChange())
    path2 = [{**p, "regime": "r0" if i < 5 else "r1"} for i, p in enumerate(path)]
    assert run(nested, path2)[0] == [3, 5]


@given(
    values=st.lists(st.floats(-3, 3, allow_nan=False), min_size=2, max_size=20),
    hyst=st.floats(0, 1),
    cooldown=st.integers(0, 4),
)
def test_step_is_pure(values: list[float], hyst: float, cooldown: int) -> None:
    trig = AnyOf(
        Threshold("s", 0.5, hysteresis=hyst, cooldown=cooldown),
        AllOf(BetaDrift(1.0, hyst), RegimeChange(cooldown)),
    )
    state: TriggerState | None = None
    for day, v in enumerate(values[:-1]):
        _, state = trig.step(day, T0, {"s": v, "beta_drift": v, "regime": v > 0}, state)
    before = pickle.dumps(state)
    signals = {"s": values[-1], "beta_drift": -values[-1], "regime": values[-1] > 1}
    first = trig.step(len(values), T0, signals, state)
    second = trig.step(len(values), T0, signals, state)
    assert first == second
    assert pickle.dumps(state) == before


def test_trigger_bad_steps() -> None:
    trig = Threshold("vix", 30.0)
    with pytest.raises(DataError, match=r"signal 'vix' is missing.*signals given: 'spx'"):
        trig.step(0, T0, {"spx": 1.0}, None)
    with pytest.raises(DataError, match="signal 'vix' must be a finite number"):
        trig.step(0, T0, {"vix": math.nan}, None)
    _, state = trig.step(5, T0, {"vix": 10.0}, None)
    with pytest.raises(SpecificationError, match=r"'day' argument \(5\) must be after"):
        trig.step(5, T0, {"vix": 10.0}, state)
    with pytest.raises(DataError, match="'regime' is None"):
        RegimeChange().step(0, T0, {"regime": None}, None)


# --------------------------------------------------------------------------- exits


def lot(**kw: Any) -> LotView:
    args: dict[str, Any] = {
        "label": "SPX 4000P",
        "date": "2020-03-16",
        "opened": "2020-02-14",
        "units": 100.0,
        "value_per_unit": 600.0,
        "entry_value_per_unit": 150.0,
        "book_value": 1e6,
    }
    return LotView(**{**args, **kw})


def test_exit_rules_by_hand() -> None:
    # harvest: 100 x 600 = 60,000 = 6% of the book > 5%: back to 2% = 20,000 / 600 units
    act = Harvest(above=0.05, to=0.02).decide(lot(), {})
    assert act.kind == "resize"
    assert act.units == pytest.approx(20_000 / 600, rel=1e-15)
    assert "6.00% of the book > 5.00%" in act.reason
    assert Harvest(0.07, 0.02).decide(lot(), {}).kind == "hold"
    assert HoldToExpiry().decide(lot(days_to_expiry=0), {}).kind == "roll"
    assert HoldToExpiry(roll=False).decide(lot(days_to_expiry=-1), {}).kind == "close"
    assert HoldToExpiry().decide(lot(days_to_expiry=3), {}).kind == "hold"
    assert HoldToExpiry().decide(lot(), {}).kind == "hold"
    assert CloseWhen("vix", 40.0).decide(lot(), {"vix": 45.0}).reason == "vix 45 > 40: close"
    assert CloseWhen("vix", 20.0, above=False).decide(lot(), {"vix": 25.0}).kind == "hold"
    # collar: a 110% call at spot 85 would strike 93.5 < the held put's 95: cross-roll
    collar = lot(put_strike=95.0, call_strike=105.0, spot=85.0)
    assert CrossRoll(1.10).decide(collar, {}).kind == "roll"
    assert CrossRoll(1.10).decide(lot(put_strike=95.0, spot=87.0), {}).kind == "hold"
    with pytest.raises(DataError, match="CrossRoll needs the put strike and the spot"):
        CrossRoll(1.1).decide(lot(), {})
    rule = AnyExit(CloseWhen("vix", 40.0), Harvest(0.05, 0.02), HoldToExpiry())
    assert rule.decide(lot(days_to_expiry=0), {"vix": 30.0}).kind == "resize"
    assert rule.decide(lot(days_to_expiry=0, units=10.0), {"vix": 30.0}).kind == "roll"
    assert rule.decide(lot(units=10.0), {"vix": 50.0}).kind == "close"
    assert rule.decide(lot(units=10.0), {"vix": 30.0}) == ExitAction("hold")
    with pytest.raises(DataError, match="signal 'vix' is missing"):
        rule.decide(lot(), {})


# --------------------------------------------------------------------------- budget


def test_premium_budget_missed_entries_do_not_accumulate() -> None:
    budget = PremiumBudget(0.02)
    nav = 1e6
    month = nav * 0.02 / 12  # 21 of the year's 252 trading days
    # monthly decisions on days 0, 21, 42, 63, 84: the first spends a month, the next
    # three are skipped (no spend), the fourth may spend one month, not four
    spent = [(0, month)]
    got = budget.allowance(84, nav, spent, last_decision_day=63)
    assert got == pytest.approx(month, rel=1e-12)
    assert got < 2 * month
    # the rolling budget binds: 19,000 spent within the year leaves 1,000
    assert budget.allowance(200, nav, [(10, 9_000.0), (100, 10_000.0)], 0) == pytest.approx(
        1_000.0, rel=1e-12
    )
    # spend older than the window no longer counts (day 0 is 252 days before day 252)
    assert budget.allowance(TRADING_DAYS, nav, [(0, 20_000.0)], None) == pytest.approx(
        20_000.0, rel=1e-12
    )
    assert budget.allowance(TRADING_DAYS - 1, nav, [(0, 20_000.0)], None) == 0.0
    assert PremiumBudget(0.02, window=21).allowance(21, nav, [], None) == pytest.approx(month)
    with pytest.raises(DataError, match="'nav' argument must be a finite number in \\(0"):
        budget.allowance(1, 0.0, [], None)
    with pytest.raises(SpecificationError, match=r"'last_decision_day' argument \(9\) is after"):
        budget.allowance(5, nav, [], 9)
    with pytest.raises(DataError, match="dated day 7, after today"):
        budget.allowance(5, nav, [(7, 1.0)], None)


# --------------------------------------------------------------------------- values


def every_part() -> list[Any]:
    return [
        Schedule("month_end"),
        Schedule("every", every=5, calendar=TradingCalendar(("2021-05-31", "2021-07-05"))),
        Schedule("third_friday"),
        Band("calm", -INF, 15.0, hedge=False),
        vix_table(),
        Threshold("vix", 30.0, above=False, hysteresis=2.0, cooldown=5),
        BetaDrift(0.25, 0.05, 10),
        DeltaDrift(0.1),
        Drawdown(0.1),
        RegimeChange(3),
        AnyOf(BetaDrift(0.2), AllOf(Drawdown(0.1), RegimeChange())),
        HoldToExpiry(roll=False),
        CloseWhen("vix", 40.0),
        Harvest(0.05, 0.02),
        CrossRoll(1.1),
        AnyExit(Harvest(0.05, 0.0), HoldToExpiry()),
        PremiumBudget(0.02, 126),
    ]


@pytest.mark.parametrize("part", every_part(), ids=lambda p: type(p).__name__)
def test_round_trip_through_json_and_pickle(part: Any) -> None:
    d = part.to_dict()
    text = json.dumps(d)  # plain data (inf as JSON's Infinity, which TOML writes as inf)
    back = part_from_dict(json.loads(text))
    assert back == part
    assert type(back).from_dict(d) == part
    assert pickle.loads(pickle.dumps(part)) == part
    hash(part)


def test_parts_read_from_toml() -> None:
    text = """
    [schedule]
    kind = "schedule"
    rule = "third_friday"

    [regimes]
    kind = "regimes"
    signal = "vix"
    [[regimes.bands]]
    name = "calm"
    lower = -inf
    upper = 20.0
    hedge = false
    [[regimes.bands]]
    name = "stress"
    lower = 20.0
    upper = inf
    params = { "gross_exposure.max" = 0.8 }

    [trigger]
    kind = "any_of"
    triggers = [{ kind = "beta_drift", tolerance = 0.25, cooldown = 5 },
                { kind = "drawdown", threshold = 0.1 }]
    """
    doc = tomllib.loads(text)
    assert part_from_dict(doc["schedule"]) == Schedule("third_friday")
    regimes = part_from_dict(doc["regimes"])
    assert regimes.band_of(30.0).params == {"gross_exposure.max": 0.8}
    assert trigger_from_dict(doc["trigger"]) == AnyOf(BetaDrift(0.25, cooldown=5), Drawdown(0.1))


@given(
    level=st.floats(-1e6, 1e6),
    hyst=st.floats(0, 1e3),
    cooldown=st.integers(0, 1000),
    above=st.booleans(),
    ratio=st.floats(0, 999.0),
)
def test_round_trip_property(
    level: float, hyst: float, cooldown: int, above: bool, ratio: float
) -> None:
    trig = AllOf(Threshold("s", level, above, hyst, cooldown), RegimeChange(cooldown))
    assert trigger_from_dict(json.loads(json.dumps(trig.to_dict()))) == trig
    band = Band("b", level, level + 1.0 + hyst, {"x.max": level}, hedge_ratio=ratio)
    assert Band.from_dict(band.to_dict()) == band


def test_states_pickle() -> None:
    trig = AnyOf(BetaDrift(0.2), RegimeChange())
    _, state = trig.step(0, T0, {"beta_drift": 0.3, "regime": "calm"}, None)
    assert pickle.loads(pickle.dumps(state)) == state
    assert state.reason == "beta drift 0.3 > 0.2"


# --------------------------------------------------------------------------- bad input

BAD: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    (
        "unknown rule",
        lambda: Schedule("quarter_end"),
        SpecificationError,
        r"'rule' argument must be one of 'every'",
    ),
    (
        "every zero",
        lambda: Schedule("every", every=0),
        SpecificationError,
        r"'every' argument must be an integer >= 1",
    ),
    (
        "calendar",
        lambda: Schedule("month_end", calendar="NYSE"),
        SpecificationError,
        "TradingCalendar.from_dates",
    ),
    (
        "unsorted days",
        lambda: Schedule("month_end").dates(pd.DatetimeIndex(["2020-01-03", "2020-01-02"])),
        DataError,
        "strictly increasing",
    ),
    (
        "days not an index",
        lambda: Schedule("month_end").dates(["2020-01-02"]),
        DataError,
        "DatetimeIndex",
    ),  # type: ignore[arg-type]
    (
        "gap",
        lambda: Regimes("vix", (Band("calm", 0, 15), Band("stress", 20, 99))),
        SpecificationError,
        r"leave a gap: band 'calm' ends at 15 but band 'stress' starts at 20",
    ),
    (
        "overlap",
        lambda: Regimes("vix", (Band("calm", 0, 25), Band("stress", 20, 99))),
        SpecificationError,
        r"overlap: band 'calm' ends at 25 but band 'stress' starts at 20",
    ),
    (
        "unsorted bands",
        lambda: Regimes("vix", (Band("high", 20, 99), Band("low", 0, 20))),
        SpecificationError,
        r"unsorted: band 'low' \(lower 0\) comes after band 'high'",
    ),
    (
        "duplicate names",
        lambda: Regimes("vix", (Band("a", 0, 1), Band("a", 1, 2))),
        SpecificationError,
        r"repeat the names \['a'\]",
    ),
    ("no bands", lambda: Regimes("vix", ()), SpecificationError, "non-empty tuple of Band"),
    ("lower >= upper", lambda: Band("b", 2.0, 2.0), SpecificationError, "lower 2 >= upper 2"),
    (
        "nan end",
        lambda: Band("b", math.nan, 2.0),
        SpecificationError,
        "'lower' argument of band 'b' is NaN",
    ),
    (
        "hedge ratio",
        lambda: Band("b", 0, 1, hedge_ratio=-0.5),
        SpecificationError,
        r"'hedge_ratio' argument must be a finite number in \[0, 1000\)",
    ),
    (
        "hedge ratio big",
        lambda: Band("b", 0, 1, hedge_ratio=1e3),
        SpecificationError,
        "hedge_ratio",
    ),
    (
        "param key",
        lambda: Band("b", 0, 1, {"gross_exposure": 1.0}),
        SpecificationError,
        "'gross_exposure' of band 'b' is not a registry key",
    ),
    (
        "param value",
        lambda: Band("b", 0, 1, {"gross_exposure.max": math.inf}),
        SpecificationError,
        r"params\['gross_exposure.max'\]",
    ),
    (
        "negative tolerance",
        lambda: BetaDrift(-0.1),
        SpecificationError,
        r"'tolerance' argument must be a finite number in \[0, inf\). Got -0.1",
    ),
    ("negative delta tolerance", lambda: DeltaDrift(-1), SpecificationError, "'tolerance'"),
    (
        "negative abs level",
        lambda: Threshold("x", -1.0, absolute=True),
        SpecificationError,
        "'level'",
    ),
    (
        "negative hysteresis",
        lambda: Threshold("x", 1.0, hysteresis=-0.1),
        SpecificationError,
        r"'hysteresis' argument must be a finite number in \[0, inf\)",
    ),
    (
        "negative cooldown",
        lambda: Threshold("x", 1.0, cooldown=-1),
        SpecificationError,
        r"'cooldown' argument must be an integer >= 0",
    ),
    ("regime cooldown", lambda: RegimeChange(cooldown=-2), SpecificationError, "'cooldown'"),
    (
        "drawdown as percent",
        lambda: Drawdown(10.0),
        SpecificationError,
        r"'threshold' argument must be a finite number in \(0, 1\]",
    ),
    ("empty any of", lambda: AnyOf(), SpecificationError, r"AnyOf\(\) needs at least one trigger"),
    ("empty all of", lambda: AllOf(), SpecificationError, r"AllOf\(\) needs at least one trigger"),
    (
        "not a trigger",
        lambda: AnyOf(BetaDrift(0.1), "vix"),
        SpecificationError,
        r"Argument 1 of AnyOf\(\) must be a trigger",
    ),
    (
        "harvest to >= above",
        lambda: Harvest(0.05, 0.05),
        SpecificationError,
        r"'to' argument \(0.05\) must be below 'above'",
    ),
    ("cross roll", lambda: CrossRoll(0.0), SpecificationError, "'call_moneyness'"),
    ("empty any exit", lambda: AnyExit(), SpecificationError, "at least one exit rule"),
    (
        "action kind",
        lambda: ExitAction("sell"),
        SpecificationError,
        "'kind' argument must be one of 'hold'",
    ),
    (
        "action units",
        lambda: ExitAction("close", 3.0),
        SpecificationError,
        "for kind='resize' only",
    ),
    (
        "budget",
        lambda: PremiumBudget(-0.01),
        SpecificationError,
        r"'annual' argument must be a finite number in \[0, inf\)",
    ),
    (
        "budget window",
        lambda: PremiumBudget(0.02, 0),
        SpecificationError,
        "'window' argument must be an integer >= 1",
    ),
    (
        "unknown kind",
        lambda: part_from_dict({"kind": "sometimes"}),
        SpecificationError,
        "Unknown policy part kind 'sometimes'",
    ),
    (
        "unknown key",
        lambda: part_from_dict({"kind": "harvest", "above": 0.1, "to": 0.0, "at": 1}),
        SpecificationError,
        r"Unknown keys \['at'\] in a 'harvest' part",
    ),
    (
        "unknown trigger",
        lambda: trigger_from_dict({"kind": "vix_spike"}),
        SpecificationError,
        "Unknown trigger kind 'vix_spike'",
    ),
    (
        "no kind",
        lambda: part_from_dict({"rule": "month_end"}),
        SpecificationError,
        "with a 'kind' key",
    ),
    (
        "lot label",
        lambda: lot(label=""),
        SpecificationError,
        "'label' argument must be a non-empty string",
    ),
    ("lot value", lambda: lot(book_value=math.nan), SpecificationError, "'book_value'"),
]


@pytest.mark.parametrize(("case", "call", "error", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_inputs(
    case: str, call: Callable[[], object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        call()


def test_default_calendar_is_the_default() -> None:
    assert Schedule("month_end").calendar is DEFAULT_CALENDAR
    assert Schedule.from_dict({"rule": "month_end"}).calendar == DEFAULT_CALENDAR

"""Issue 22, the backtest's last two parts: instruments with gaps in their data, option decay.

Every expected number is computed here independently: Black-Scholes with scipy for the
decay, and for the gaps a second backtest that never sees the missing instrument (or
starts once it is listed), by the engine's public function on other inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import optihedge as oh
from factor_models import RiskModel
from optihedge.backtests import (
    Estimation,
    HedgePolicy,
    HoldToExpiry,
    Schedule,
    backtest,
)
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

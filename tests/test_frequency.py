"""The data's frequency, detected where data enters and stated wherever time is used.

Issue 19 item 1 / issue 20 item 4: weekly data were labelled and annualised as daily
("4-day volatility" for four weeks, options decaying over 4 trading days, x 252). The
references are written here by hand: Black-Scholes from scipy's normal distribution,
annualisation by 52 and 12, volatilities from numpy.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import optihedge as oh
from factor_models import FactorModel, RiskModel, StatisticalFactorModel
from optihedge.calendar import Frequency
from optihedge.errors import DataError, SpecificationError


def _returns(freq: str, n: int, seed: int = 0, assets: tuple[str, ...] = ("A", "M")) -> pd.DataFrame:
    """Plausible returns of ``assets`` on ``n`` dates of pandas frequency ``freq``."""
    rng = np.random.default_rng(seed)
    scale = {"B": 0.01, "W-FRI": 0.022, "ME": 0.045}[freq]
    dates = pd.date_range("2015-01-01", periods=n, freq=freq)
    m = rng.normal(0.0, scale, n)
    data = {"M": m}
    for a in assets:
        if a != "M":
            data[a] = 1.2 * m + rng.normal(0.0, 0.5 * scale, n)
    return pd.DataFrame(data, index=dates)[list(assets)]


# ------------------------------------------------------------ estimation layer
class TestRiskModelFrequency:
    def test_one_definition(self) -> None:
        import factor_models.frequency as fmf
        from optihedge import calendar

        assert calendar.Frequency is fmf.Frequency
        assert calendar.TRADING_DAYS is fmf.TRADING_DAYS
        assert calendar.infer_frequency is fmf.infer_frequency

    @pytest.mark.parametrize(
        ("freq", "expected"),
        [("B", Frequency.DAILY), ("W-FRI", Frequency.WEEKLY), ("ME", Frequency.MONTHLY)],
    )
    def test_factor_model_reads_the_dates(self, freq: str, expected: Frequency) -> None:
        r = _returns(freq, 120)
        model = FactorModel().fit(r[["A"]], r["M"]).risk_model_
        assert model.frequency is expected
        assert model.to_horizon(4).frequency is expected
        assert model.with_factor_assets(["M"]).frequency is expected
        pca = StatisticalFactorModel(n_components=1).fit(r).risk_model_
        assert pca.frequency is expected

    def test_explicit_frequency_wins(self) -> None:
        r = _returns("B", 80).reset_index(drop=True)  # no dates: daily unless stated
        assert FactorModel().fit(r[["A"]], r["M"]).risk_model_.frequency is Frequency.DAILY
        fitted = FactorModel(frequency="weekly").fit(r[["A"]], r["M"]).risk_model_
        assert fitted.frequency is Frequency.WEEKLY

    def test_bad_frequency_named(self) -> None:
        r = _returns("B", 80)
        with pytest.raises(SpecificationError, match=r"'frequency'.*'hourly'"):
            FactorModel(frequency="hourly").fit(r[["A"]], r["M"])
        with pytest.raises(SpecificationError, match=r"'frequency'.*'yearly'"):
            RiskModel.from_covariance(r.cov(), frequency="yearly")

"""Hedge-quality diagnostics against independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from optihedge.errors import DataError
from optihedge.measures.diagnostics import hedge_quality


@pytest.fixture(scope="module")
def market() -> tuple[pd.Series, pd.DataFrame]:
    rng = np.random.default_rng(5)
    dates = pd.bdate_range("2019-01-01", "2020-12-31")
    h = pd.DataFrame(rng.normal(0, 0.01, (len(dates), 2)), index=dates, columns=["IDX", "ETF"])
    book = 0.8 * h["IDX"] + 0.3 * h["ETF"] + rng.normal(0, 0.005, len(dates))
    return book.rename("book"), h


def test_window_statistics_match_statsmodels(market: tuple[pd.Series, pd.DataFrame]) -> None:
    book, h = market
    hq = hedge_quality(book, h[["IDX"]], windows=(63, 252), stress_windows={})
    for window in (63, 252):
        y, x = book.iloc[-window:], h["IDX"].iloc[-window:]
        ref = sm.OLS(y.to_numpy(), sm.add_constant(x.to_numpy())).fit()
        row = hq.windows.loc[("IDX", window)]
        assert row["effectiveness"] == pytest.approx(ref.rsquared, rel=1e-10)
        assert row["correlation"] == pytest.approx(np.corrcoef(y, x)[0, 1], rel=1e-10)
        assert row["tracking_error"] == pytest.approx(np.sqrt(ref.scale * 252), rel=1e-10)
        assert hq.betas.loc[("IDX", window), "IDX"] == pytest.approx(ref.params[1], rel=1e-10)


def test_basket_is_regressed_jointly(market: tuple[pd.Series, pd.DataFrame]) -> None:
    book, h = market
    hq = hedge_quality(book, {"basket": h}, windows=(252,), stress_windows={})
    ref = sm.OLS(book.iloc[-252:].to_numpy(), sm.add_constant(h.iloc[-252:].to_numpy())).fit()
    np.testing.assert_allclose(hq.betas.loc[("basket", 252)], ref.params[1:], rtol=1e-10)
    assert hq.windows.loc[("basket", 252), "correlation"] == pytest.approx(np.sqrt(ref.rsquared))


def test_stress_hedge_sized_before_the_window(market: tuple[pd.Series, pd.DataFrame]) -> None:
    book, h = market
    window = {"covid": ("2020-02-19", "2020-03-23")}
    hq = hedge_quality(
        book, h[["IDX"]], windows=(63,), stress_windows=window, estimation_window=200
    )
    before = book.loc[:"2020-02-18"].iloc[-200:]
    beta = np.polyfit(h["IDX"].loc[before.index], before, 1)[0]
    during = book.loc["2020-02-19":"2020-03-23"]
    hedged = during - beta * h["IDX"].loc[during.index]
    row = hq.stress.loc[("IDX", "covid")]
    assert row["covered"]
    assert row["beta_before"] == pytest.approx(beta, rel=1e-10)
    assert row["hedged_return"] == pytest.approx(np.prod(1 + hedged) - 1, rel=1e-10)
    assert row["effectiveness"] == pytest.approx(1 - hedged.var() / during.var(), rel=1e-10)
    assert "stress_eff: covid" in hq.summary().columns


def test_uncovered_stress_window_is_flagged_not_estimated(
    market: tuple[pd.Series, pd.DataFrame],
) -> None:
    book, h = market
    hq = hedge_quality(book, h[["IDX"]], windows=(63,))
    gfc = hq.stress.loc[("IDX", "GFC 2008-09")]
    assert not gfc["covered"]
    assert np.isnan(gfc["effectiveness"])


def test_bad_input(market: tuple[pd.Series, pd.DataFrame]) -> None:
    book, h = market
    with pytest.raises(DataError, match="'book' argument must be a Series"):
        hedge_quality(book.to_frame(), h)
    with pytest.raises(DataError, match="'candidates' argument must be a DataFrame"):
        hedge_quality(book, [1, 2, 3])
    with pytest.raises(DataError, match="'candidates' entry 'x' must be a Series"):
        hedge_quality(book, {"x": 3.0})
    later = h.copy()
    later.index = later.index + pd.Timedelta(days=3650)
    with pytest.raises(DataError, match="no dates in common"):
        hedge_quality(book, later)


def test_a_candidate_column_named_like_the_intercept_is_refused(
    market: tuple[pd.Series, pd.DataFrame],
) -> None:
    # the regression names its intercept 'alpha' and each factor by its label as text
    book, h = market
    with pytest.raises(
        DataError, match=r"^The 'candidates' entry 'alpha' has columns named \['alpha'\]"
    ):
        hedge_quality(book, h[["IDX"]].rename(columns={"IDX": "alpha"}), stress_windows={})
    basket = pd.DataFrame({1: h["IDX"], "1": h["ETF"]})
    with pytest.raises(
        DataError, match=r"^The 'candidates' entry 'basket' has columns named \['1'\]"
    ):
        hedge_quality(book, {"basket": basket}, stress_windows={})

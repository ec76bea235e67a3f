"""Hedge-quality diagnostics against independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from optihedge.errors import DataError, SpecificationError
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


def test_stress_row_by_hand_for_a_basket(market: tuple[pd.Series, pd.DataFrame]) -> None:
    # sized on the 120 observations before the window, applied in it; statsmodels by hand
    book, h = market
    window = {"summer": ("2020-06-01", "2020-07-15")}
    hq = hedge_quality(
        book, {"basket": h}, windows=(63,), stress_windows=window, estimation_window=120
    )
    before = book.loc[:"2020-05-31"].iloc[-120:]
    fit_before = sm.OLS(before.to_numpy(), sm.add_constant(h.loc[before.index].to_numpy())).fit()
    during = book.loc["2020-06-01":"2020-07-15"]
    fit_during = sm.OLS(during.to_numpy(), sm.add_constant(h.loc[during.index].to_numpy())).fit()
    hedged = during.to_numpy() - h.loc[during.index].to_numpy() @ fit_before.params[1:]
    assert hq.stress.index.names == ["candidate", "stress"]
    row = hq.stress.loc[("basket", "summer")]
    assert set(row.index) == {
        "covered", "beta_before", "beta_during", "book_return", "hedged_return", "effectiveness",
    }  # fmt: skip
    assert row["covered"]
    assert row["beta_before"] == pytest.approx(fit_before.params[1:].sum(), rel=1e-10)
    assert row["beta_during"] == pytest.approx(fit_during.params[1:].sum(), rel=1e-10)
    assert row["book_return"] == pytest.approx(np.prod(1.0 + during.to_numpy()) - 1.0, rel=1e-12)
    assert row["hedged_return"] == pytest.approx(np.prod(1.0 + hedged) - 1.0, rel=1e-10)
    assert row["effectiveness"] == pytest.approx(
        1.0 - hedged.var() / during.to_numpy().var(), rel=1e-10
    )


def _on_days(days: list[int]) -> tuple[pd.Series, pd.DataFrame]:
    """A book and one hedge observed on the given days after 2021-01-01."""
    rng = np.random.default_rng(len(days))
    index = pd.DatetimeIndex([pd.Timestamp("2021-01-01") + pd.Timedelta(days=d) for d in days])
    x = pd.DataFrame({"H": rng.normal(0, 0.01, len(days))}, index=index)
    return 0.9 * x["H"] + rng.normal(0, 0.002, len(days)), x


@pytest.mark.parametrize(
    ("before", "during", "end", "covered"),
    [
        (5, [17, 18, 19], 26, True),  # first observation 7 days in, last 7 days from the end
        (5, [18, 19, 20], 27, False),  # 8 days in
        (5, [17, 18, 19], 27, False),  # 8 days from the end
        (5, [17, 18], 25, False),  # two observations
        (4, [17, 18, 19], 26, False),  # one observation short before the window
    ],
)
def test_a_stress_window_is_covered_only_by_the_stated_rule(
    before: int, during: list[int], end: int, covered: bool
) -> None:
    from optihedge.measures.diagnostics import _stress_row

    y, x = _on_days([*range(before), *during])  # the window starts on day 10
    start, stop = (pd.Timestamp("2021-01-01") + pd.Timedelta(days=d) for d in (10, end))
    row = _stress_row(y, x, str(start.date()), str(stop.date()), estimation_window=5)
    assert row["covered"] is covered
    figures = [row[k] for k in ("beta_before", "beta_during", "book_return", "hedged_return")]
    if covered:
        assert row["book_return"] == pytest.approx(np.prod(1.0 + y.iloc[-3:]) - 1.0, rel=1e-12)
    else:
        assert all(isinstance(v, float) and np.isnan(v) for v in [*figures, row["effectiveness"]])


def test_windows_frames_their_labels_and_a_negative_correlation(
    market: tuple[pd.Series, pd.DataFrame],
) -> None:
    # an inverse hedge: its correlation is negative (the beta's sign), R^2 its square
    book, h = market
    inverse = (-h["IDX"]).rename("INV")
    hq = hedge_quality(book, inverse.to_frame(), windows=(63,), stress_windows={})
    y, x = book.iloc[-63:], inverse.iloc[-63:]
    row = hq.windows.loc[("INV", 63)]
    assert row["correlation"] == pytest.approx(np.corrcoef(y, x)[0, 1], rel=1e-10)
    assert row["correlation"] < 0
    assert row["nobs"] == 63
    assert hq.windows.index.names == ["candidate", "window"]
    assert hq.betas.index.names == ["candidate", "window"]
    # without stress windows the summary is the correlations (it raised KeyError before)
    assert list(hq.summary().columns) == ["corr_63"]
    assert hq.summary().loc["INV", "corr_63"] == row["correlation"]


def test_a_series_candidate_is_named_by_its_name_or_its_key(
    market: tuple[pd.Series, pd.DataFrame],
) -> None:
    book, h = market
    named = hedge_quality(book, {"k": h["IDX"]}, windows=(63,), stress_windows={})
    unnamed = hedge_quality(book, {"k": h["IDX"].rename(None)}, windows=(63,), stress_windows={})
    assert list(named.betas.columns) == ["IDX"]
    assert list(unnamed.betas.columns) == ["k"]


def test_the_default_estimation_window_and_the_annualisation(
    market: tuple[pd.Series, pd.DataFrame],
) -> None:
    book, h = market
    window = {"covid": ("2020-02-19", "2020-03-23")}
    default = hedge_quality(book, h[["IDX"]], windows=(63,), stress_windows=window)
    given = hedge_quality(
        book, h[["IDX"]], windows=(63,), stress_windows=window, estimation_window=252
    )
    other = hedge_quality(
        book, h[["IDX"]], windows=(63,), stress_windows=window, estimation_window=253
    )
    pd.testing.assert_frame_equal(default.stress, given.stress)
    assert default.stress["beta_before"].iloc[0] != other.stress["beta_before"].iloc[0]
    # any positive number of periods a year: volatilities scale by its square root
    half = hedge_quality(book, h[["IDX"]], windows=(63,), stress_windows={}, periods_per_year=0.5)
    daily = default.windows.loc[("IDX", 63), "tracking_error"]
    assert half.windows.loc[("IDX", 63), "tracking_error"] == pytest.approx(
        daily * np.sqrt(0.5 / 252), rel=1e-12
    )
    for bad in (0.0, -1.0):
        with pytest.raises(SpecificationError, match="'periods_per_year' argument must be"):
            hedge_quality(book, h[["IDX"]], stress_windows={}, periods_per_year=bad)


def test_a_basket_correlation_is_the_multiple_correlation_whatever_its_signs(
    market: tuple[pd.Series, pd.DataFrame],
) -> None:
    # a basket's first component hedging with a negative beta: the correlation is still
    # +sqrt(R^2) (the sign is a single candidate's beta's only)
    book, h = market
    basket = pd.DataFrame({"INV": -h["IDX"], "ETF": h["ETF"]})
    hq = hedge_quality(book, {"b": basket}, windows=(252,), stress_windows={})
    ref = sm.OLS(book.iloc[-252:].to_numpy(), sm.add_constant(basket.iloc[-252:].to_numpy())).fit()
    assert ref.params[1] < 0
    assert hq.windows.loc[("b", 252), "correlation"] == pytest.approx(
        np.sqrt(ref.rsquared), rel=1e-10
    )


def test_a_float32_book_is_computed_in_float64(market: tuple[pd.Series, pd.DataFrame]) -> None:
    # the same numbers held in single precision: every figure as from float64 values
    book, h = market
    single = book.astype(np.float32)
    exact = single.astype(np.float64)
    window = {"covid": ("2020-02-19", "2020-03-23")}
    got = hedge_quality(single, h[["IDX"]], windows=(63,), stress_windows=window)
    ref = hedge_quality(exact, h[["IDX"]], windows=(63,), stress_windows=window)
    pd.testing.assert_frame_equal(got.windows, ref.windows, rtol=1e-13)
    pd.testing.assert_frame_equal(got.stress, ref.stress, rtol=1e-13)

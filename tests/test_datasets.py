"""The embedded data: integrity, published values, metadata, returns policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optihedge.datasets import KNOWN_FLAWS, load_default, metadata, returns_from_prices
from optihedge.datasets._loader import _check_digest
from optihedge.errors import DataError, MissingLabelsError, SpecificationError


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_default()


class TestEmbeddedData:
    def test_shape_and_calendar(self, prices: pd.DataFrame) -> None:
        assert isinstance(prices.index, pd.DatetimeIndex)
        assert prices.index[0] == pd.Timestamp("1990-01-02")
        assert prices.index[-1] == pd.Timestamp("2022-12-28")
        assert prices.index.is_unique
        assert prices.index.is_monotonic_increasing
        assert len(prices) == 8313
        assert prices.shape[1] == 28

    def test_metadata_kinds(self, prices: pd.DataFrame) -> None:
        meta = metadata()
        assert (meta["kind"] == "stock").sum() == 20
        assert meta.loc["SP500", "kind"] == "index"
        assert set(meta.query("kind == 'etf'").index) == {"MTUM", "QUAL", "SIZE", "USMV", "VLUE"}
        assert meta.loc["JPM", "sector"] == "Financials"
        assert meta.loc["MTUM", "source"].startswith("skfolio==1.12.2")
        assert meta.loc["NASDAQ", "licence"].startswith("University of Illinois/NCSA")
        assert prices.attrs["metadata"]["KO"]["kind"] == "stock"
        assert prices.attrs["known_flaws"] == KNOWN_FLAWS

    def test_published_2008_index_returns(self, prices: pd.DataFrame) -> None:
        # S&P 500 closed 2008 at 903.25 from 1,468.36 (-38.49%); NASDAQ Composite at
        # 1,577.03 from 2,652.28 (-40.54%).
        year = prices.loc[["2007-12-31", "2008-12-31"], ["SP500", "NASDAQ"]]
        change = year.iloc[1] / year.iloc[0] - 1
        assert change["SP500"] == pytest.approx(-0.3849, abs=5e-5)
        assert change["NASDAQ"] == pytest.approx(-0.4054, abs=5e-5)

    def test_coverage_matches_manifest(self, prices: pd.DataFrame) -> None:
        meta = metadata()
        for ticker in ["MTUM", "NASDAQ", "VIX", "AAPL"]:
            valid = prices[ticker].dropna()
            assert valid.index[0] == pd.Timestamp(meta.loc[ticker, "first"])
            assert valid.index[-1] == pd.Timestamp(meta.loc[ticker, "last"])
            # no gaps inside a series' coverage
            assert not prices.loc[valid.index[0] : valid.index[-1], ticker].isna().any()

    def test_documented_rrc_staleness(self, prices: pd.DataFrame) -> None:
        r = returns_from_prices(prices[["RRC", "XOM"]])
        early = (r.loc[:"1996"] == 0).mean()
        late = (r.loc["2000":] == 0).mean()
        assert early["RRC"] > 0.3 > late["RRC"]
        assert early["XOM"] < 0.1

    def test_selection(self) -> None:
        sub = load_default(start="2020-02-19", end="2020-03-23", columns=["SP500", "JPM"])
        assert list(sub.columns) == ["SP500", "JPM"]
        # the COVID crash: S&P 500 fell 33.9% peak to trough
        assert sub["SP500"].iloc[-1] / sub["SP500"].iloc[0] - 1 == pytest.approx(-0.339, abs=1e-3)

    def test_unknown_column(self) -> None:
        with pytest.raises(MissingLabelsError, match=r"'columns'.*\['TSLA'\]"):
            load_default(columns=["TSLA", "SP500"])

    def test_empty_range(self) -> None:
        with pytest.raises(DataError, match="select no rows"):
            load_default(start="2030-01-01")

    def test_corruption_detected(self) -> None:
        with pytest.raises(DataError, match="'vix.csv.gz' is corrupted"):
            _check_digest("vix.csv.gz", b"not the data")


def frame(values: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame(
        values, index=pd.bdate_range("2024-01-01", periods=len(next(iter(values.values()))))
    )


class TestReturnsFromPrices:
    def test_simple_returns(self) -> None:
        out = returns_from_prices(frame({"a": [100.0, 110.0, 99.0]}))
        np.testing.assert_allclose(out["a"], [0.1, -0.1])
        assert len(out) == 2

    def test_leading_nan_outside_history_is_kept(self) -> None:
        out = returns_from_prices(frame({"a": [100.0, 101.0, 102.0], "b": [np.nan, 50.0, 55.0]}))
        assert np.isnan(out["b"].iloc[0])
        assert out["b"].iloc[1] == pytest.approx(0.1)

    def test_gap_raises_by_default(self) -> None:
        with pytest.raises(DataError, match=r"missing prices inside the histories of \['b'\]"):
            returns_from_prices(frame({"a": [1.0, 2.0, 3.0, 4.0], "b": [1.0, np.nan, 2.0, 3.0]}))

    def test_ffill_preserves_compounding(self) -> None:
        p = frame({"b": [100.0, np.nan, 120.0, 60.0]})
        out = returns_from_prices(p, missing="ffill")
        np.testing.assert_allclose(out["b"], [0.0, 0.2, -0.5])
        assert np.prod(1 + out["b"]) == pytest.approx(0.6)

    def test_drop_keeps_common_dates(self) -> None:
        p = frame({"a": [1.0, 2.0, 3.0, 4.0], "b": [1.0, np.nan, 2.0, 3.0]})
        out = returns_from_prices(p, missing="drop")
        assert len(out) == 2
        assert out["a"].iloc[0] == pytest.approx(2.0)  # 1 -> 3 across the dropped day
        assert not out.isna().any().any()

    @pytest.mark.parametrize("bad", [0.0, -5.0, np.inf])
    def test_nonpositive_price(self, bad: float) -> None:
        with pytest.raises(DataError, match="positive finite prices.*'a'"):
            returns_from_prices(frame({"a": [1.0, bad, 2.0]}))

    def test_index_checks(self) -> None:
        p = frame({"a": [1.0, 2.0, 3.0]})
        with pytest.raises(DataError, match="DatetimeIndex"):
            returns_from_prices(p.reset_index(drop=True))
        with pytest.raises(DataError, match="'prices' argument's dates must be strictly incr"):
            returns_from_prices(p.iloc[::-1])
        with pytest.raises(DataError, match="'prices' argument has duplicate dates"):
            returns_from_prices(p.iloc[[0, 1, 1, 2]])
        with pytest.raises(DataError, match="at least 2 dates"):
            returns_from_prices(p.iloc[:1])
        with pytest.raises(DataError, match="must be a DataFrame"):
            returns_from_prices(p["a"])  # type: ignore[arg-type]

    def test_unknown_policy(self) -> None:
        with pytest.raises(SpecificationError, match="'missing' argument"):
            returns_from_prices(frame({"a": [1.0, 2.0]}), missing="zero")  # type: ignore[arg-type]

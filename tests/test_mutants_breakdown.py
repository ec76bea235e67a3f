"""A hedge result's risk attribution tables against hand computations.

The inputs are built by hand (a two-factor model, a book of three holdings, a future, an
option-like instrument with a convex P&L and an ETF, 64 equally likely scenarios), so
every expected number is plain numpy in the test: Euler contributions ``y' Sigma z /
sigma`` with ``Sigma = B F B' + D`` and the factor split ``f_k (F f)_k / sigma``,
``z' D z / sigma``; expected-shortfall contributions as each part's mean loss over the
8 worst scenarios found by sorting (alpha = 7/8 makes the tail exactly 8 scenarios), their
standard errors as the tail standard deviation over sqrt(8).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import optihedge as oh
from optihedge.errors import SpecificationError
from optihedge.optimize.breakdown import RiskInputs, attribute, tail_block

ASSETS = ["A", "B", "C", "I"]
FACTORS = ["M", "V"]
INSTRUMENTS = ["F", "P", "G"]
B = np.array([[0.9, 0.4], [1.2, -0.3], [0.7, 0.1], [1.0, 0.0]])
F = np.array([[1e-3, 1e-4], [1e-4, 4e-4]])
D = np.array([4e-4, 6e-4, 5e-4, 2e-5])
RISK = oh.RiskModel(
    pd.DataFrame(B, index=ASSETS, columns=FACTORS),
    pd.DataFrame(F, index=FACTORS, columns=FACTORS),
    pd.Series(D, index=ASSETS),
)
W = np.array([0.4, 0.35, 0.25, 0.0])
BOOK = pd.Series(W, index=ASSETS)
HOLDINGS = pd.Index(["A", "B", "C"])
E = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, -0.4, 0.0]])
EXPOSURES = pd.DataFrame(E, index=ASSETS, columns=INSTRUMENTS)
X = np.array([-0.5, 0.8, -0.1])
N, ALPHA, TAIL = 64, 0.875, 8


def _scenarios(seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.normal(0.0, 0.03, (N, 2)) * [1.0, 0.6]
    r = f @ B.T + rng.normal(0.0, 0.02, (N, 4)) * np.sqrt(D / D.max())
    r[5, :3] = -0.3  # a crash of the holdings alone: the worst scenario on both sides
    r[5, 3] = 0.0
    values = np.column_stack([r, f])
    return pd.DataFrame(np.asfortranarray(values), columns=[*ASSETS, *FACTORS])


SCENARIOS = _scenarios()
R = SCENARIOS[ASSETS].to_numpy()
R_I = R[:, 3]
PNL = np.column_stack([R_I, -0.4 * R_I + 3.0 * R_I**2, R[:, 2]])  # the option is convex
BOOK_PNL = R @ W
INPUTS = RiskInputs(
    risk=RISK,
    exposures=EXPOSURES,
    book=BOOK,
    holdings=HOLDINGS,
    scenario_assets=SCENARIOS,
    scenario_pnl=PNL,
    scenario_book=BOOK_PNL,
    probabilities=np.full(N, 1.0 / N),
    alpha=ALPHA,
)
SIGMA = B @ F @ B.T + np.diag(D)
SIDES = {"before": np.zeros(3), "after": X}


# ------------------------------------------------------------------ hand computations
def _volatility_parts(by: str, x: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Each part's asset-space position (assets x parts)."""
    holdings = np.column_stack([W * (np.arange(4) == i) for i in range(3)])
    hedge = E * x
    if by == "holding":
        return ["A", "B", "C", "hedge"], np.column_stack([holdings, hedge.sum(axis=1)])
    if by == "instrument":
        return ["A", "B", "C", *INSTRUMENTS], np.column_stack([holdings, hedge])
    return ["book", *INSTRUMENTS], np.column_stack([W, hedge])


def _volatility_by_hand(by: str, x: np.ndarray, shown: list[str] | None) -> tuple[list, list]:
    z = W + E @ x
    sigma = float(np.sqrt(z @ SIGMA @ z))
    if by != "factor":
        labels, parts = _volatility_parts(by, x)
        return labels, list(parts.T @ SIGMA @ z / sigma)
    f = B.T @ z
    by_factor = f * (F @ f) / sigma
    specific = float(z @ np.diag(D) @ z) / sigma
    if shown is None:
        return [*FACTORS, "specific"], [*by_factor, specific]
    # shown = ["V"]: M goes to "other factors"
    return ["V", "other factors", "specific"], [by_factor[1], by_factor[0], specific]


def _scenario_parts(by: str, x: np.ndarray, f: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Each part's P&L in every scenario (scenarios x parts)."""
    hedge = PNL * x
    if by == "leg":
        return ["book", *INSTRUMENTS], np.column_stack([BOOK_PNL, hedge])
    holdings = R[:, :3] * W[:3]
    if by == "holding":
        return ["A", "B", "C", "hedge"], np.column_stack([holdings, hedge.sum(axis=1)])
    if by == "instrument":
        return ["A", "B", "C", *INSTRUMENTS], np.column_stack([holdings, hedge])
    z = W + E @ x
    by_factor = f * (B.T @ z)
    specific = R @ z - by_factor.sum(axis=1)
    nonlinear = hedge.sum(axis=1) - R @ (E @ x)
    return [*FACTORS, "specific", "non-linear"], np.column_stack([by_factor, specific, nonlinear])


def _shortfall_by_hand(parts: np.ndarray) -> dict[str, np.ndarray | float]:
    losses = -parts.sum(axis=1)
    order = np.argsort(losses)
    tail = order[-TAIL:]
    var = losses[order[N - TAIL - 1]]
    es = losses[tail].mean()
    se = np.sqrt((losses[tail].var() + ALPHA * (es - var) ** 2) / (N * (1 - ALPHA)))
    return {
        "contribution": -parts[tail].mean(axis=0),
        "se": parts[tail].std(axis=0) / np.sqrt(TAIL),
        "es": es,
        "es_se": se,
    }


VOL_ESTIMATOR = (
    "Euler contributions to the volatility of the factor risk model (delta "
    "approximation for options)"
)
ES_ESTIMATOR = (
    "scenario expected shortfall at alpha=0.875 over 64 scenarios (Acerbi-Tasche: "
    "probability-weighted mean loss beyond the VaR, the VaR scenario weighted by its "
    "share of the boundary); contributions are each part's mean loss over those tail "
    "scenarios; *_se are large-sample standard errors"
)


def _check_layout(table: pd.DataFrame, labels: list[str], measure: str, by: str) -> None:
    assert list(table.index) == [*labels, "total"]
    columns = ["before", "after", "before_share", "after_share"]
    if measure == "expected_shortfall":
        columns += ["before_se", "after_se"]
    assert list(table.columns) == columns
    assert not np.signbit(table.to_numpy(dtype=float)[table.to_numpy(dtype=float) == 0]).any()
    assert table.attrs["measure"] == measure
    assert table.attrs["by"] == by
    assert table.attrs["units"] == "fraction of capital over 10 trading days"
    expected = ES_ESTIMATOR if measure == "expected_shortfall" else VOL_ESTIMATOR
    assert table.attrs["estimator"] == expected


# ------------------------------------------------------------------ volatility
class TestVolatility:
    @pytest.mark.parametrize("by", ["factor", "holding", "instrument", "leg"])
    def test_by_hand(self, by: str) -> None:
        table = attribute(INPUTS, X, by=by, measure="volatility", factors=None, horizon=10)
        for side, x in SIDES.items():
            labels, values = _volatility_by_hand(by, x, None)
            z = W + E @ x
            sigma = float(np.sqrt(z @ SIGMA @ z))
            np.testing.assert_allclose(table[side].iloc[:-1], values, rtol=1e-12, atol=1e-18)
            assert table.loc["total", side] == pytest.approx(sigma, rel=1e-12)
            np.testing.assert_allclose(
                table[f"{side}_share"], [*np.array(values) / sigma, 1.0], rtol=1e-12, atol=1e-16
            )
        _check_layout(table, labels, "volatility", by)

    def test_factors_shown_and_the_rest_folded(self) -> None:
        table = attribute(INPUTS, X, by="factor", measure="volatility", factors=["V"], horizon=10)
        for side, x in SIDES.items():
            labels, values = _volatility_by_hand("factor", x, ["V"])
            np.testing.assert_allclose(table[side].iloc[:-1], values, rtol=1e-12)
        _check_layout(table, labels, "volatility", "factor")

    def test_tuple_labels_stay_whole_labels(self) -> None:
        # (exchange, ticker) pairs label the assets and the instruments: one label each,
        # not a MultiIndex
        assets = pd.Index([("eq", "A"), ("eq", "B"), ("eq", "C"), ("ix", "I")], tupleize_cols=False)
        instruments = pd.Index([("fut", "F"), ("opt", "P"), ("etf", "G")], tupleize_cols=False)
        risk = oh.RiskModel(
            pd.DataFrame(B, index=assets, columns=FACTORS),
            RISK.factor_cov,
            pd.Series(D, index=assets),
        )
        inputs = RiskInputs(
            risk=risk,
            exposures=pd.DataFrame(E, index=assets, columns=instruments),
            book=pd.Series(W, index=assets),
            holdings=assets[:3],
        )
        table = attribute(
            inputs, X, by="instrument", measure="volatility", factors=None, horizon=10
        )
        assert not isinstance(table.index, pd.MultiIndex)
        assert list(table.index) == [*assets[:3], *instruments, "total"]
        _, values = _volatility_by_hand("instrument", X, None)
        np.testing.assert_allclose(table["after"].iloc[:-1], values, rtol=1e-12)


# ------------------------------------------------------------------ expected shortfall
class TestExpectedShortfall:
    @pytest.mark.parametrize("by", ["factor", "holding", "instrument", "leg"])
    def test_by_hand(self, by: str) -> None:
        table = attribute(INPUTS, X, by=by, measure="expected_shortfall", factors=None, horizon=10)
        for side, x in SIDES.items():
            labels, parts = _scenario_parts(by, x, SCENARIOS[FACTORS].to_numpy())
            got = _shortfall_by_hand(parts)
            body = table.iloc[:-1]
            np.testing.assert_allclose(body[side], got["contribution"], rtol=1e-12, atol=1e-17)
            np.testing.assert_allclose(body[f"{side}_se"], got["se"], rtol=1e-9, atol=1e-17)
            assert table.loc["total", side] == pytest.approx(got["es"], rel=1e-12)
            assert table.loc["total", f"{side}_se"] == pytest.approx(got["es_se"], rel=1e-10)
            np.testing.assert_allclose(
                table[f"{side}_share"],
                [*got["contribution"] / got["es"], 1.0],
                rtol=1e-12,
                atol=1e-16,
            )
        _check_layout(table, labels, "expected_shortfall", by)
        if by == "factor":
            assert table.loc["non-linear", "before"] == 0.0
            assert table.loc["non-linear", "after"] != 0.0

    def test_factors_shown_and_the_rest_folded(self) -> None:
        table = attribute(
            INPUTS, X, by="factor", measure="expected_shortfall", factors=["V"], horizon=10
        )
        for side, x in SIDES.items():
            _, parts = _scenario_parts("factor", x, SCENARIOS[FACTORS].to_numpy())
            got = _shortfall_by_hand(parts[:, [1, 0, 2, 3]])  # V, M as "other factors", ...
            np.testing.assert_allclose(table[side].iloc[:-1], got["contribution"], rtol=1e-12)
            np.testing.assert_allclose(table[f"{side}_se"].iloc[:-1], got["se"], rtol=1e-9)
        _check_layout(
            table, ["V", "other factors", "specific", "non-linear"], "expected_shortfall", "factor"
        )

    def test_factor_returns_by_gls_when_the_scenarios_lack_the_factors(self) -> None:
        inputs = dataclasses.replace(INPUTS, scenario_assets=SCENARIOS[ASSETS])
        # GLS by hand: rows scaled by 1/sqrt(d), least squares
        scale = 1.0 / np.sqrt(D)
        f = np.array([np.linalg.lstsq(B * scale[:, None], r * scale, rcond=None)[0] for r in R])
        table = attribute(
            inputs, X, by="factor", measure="expected_shortfall", factors=None, horizon=10
        )
        for side, x in SIDES.items():
            _, parts = _scenario_parts("factor", x, f)
            got = _shortfall_by_hand(parts)
            np.testing.assert_allclose(table[side].iloc[:-1], got["contribution"], rtol=1e-9)
        # and the factor returns themselves, on any rows, in the rows' order
        rows = np.array([7, 0, 63, 5])
        np.testing.assert_allclose(inputs.factor_returns(rows), f[rows], rtol=1e-10)
        # GLS depends only on the relative specific variances, however small they are
        tiny = oh.RiskModel(RISK.loadings, RISK.factor_cov, RISK.specific_var * 1e-14)
        small = dataclasses.replace(inputs, risk=tiny)
        np.testing.assert_allclose(small.factor_returns(rows), f[rows], rtol=1e-9)

    def test_a_tail_of_one_scenario(self) -> None:
        # alpha = 63/64: the tail is the crash scenario alone, on both sides
        alpha = 1.0 - 1.0 / N
        inputs = dataclasses.replace(INPUTS, alpha=alpha)
        table = attribute(
            inputs, X, by="leg", measure="expected_shortfall", factors=None, horizon=10
        )
        for side, x in SIDES.items():
            parts = np.column_stack([BOOK_PNL, PNL * x])
            losses = -parts.sum(axis=1)
            assert int(np.argmax(losses)) == 5
            np.testing.assert_allclose(table[side].iloc[:-1], -parts[5], rtol=1e-14, atol=0)
            assert table.loc["total", side] == pytest.approx(losses[5], rel=1e-14)
            np.testing.assert_array_equal(table[f"{side}_se"].iloc[:-1], 0.0)
            var = np.sort(losses)[N - 2]
            se = np.sqrt(alpha * (losses[5] - var) ** 2 / (N * (1 - alpha)))
            assert table.loc["total", f"{side}_se"] == pytest.approx(se, rel=1e-10)

    def test_a_hedge_that_cancels_the_book_has_no_shares(self) -> None:
        # the hedge's P&L is minus the book's in every scenario: the hedged ES is 0, the
        # book's and the hedge's contributions cancel, and shares of 0 are undefined
        inputs = dataclasses.replace(
            INPUTS,
            exposures=pd.DataFrame({"H": -W}, index=ASSETS),
            scenario_pnl=-BOOK_PNL[:, None],
        )
        table = attribute(
            inputs,
            np.array([1.0]),
            by="leg",
            measure="expected_shortfall",
            factors=None,
            horizon=10,
        )
        assert table.loc["total", "after"] == 0.0
        assert table.loc["book", "after"] == pytest.approx(-BOOK_PNL.mean(), rel=1e-12)
        assert table.loc["H", "after"] == pytest.approx(BOOK_PNL.mean(), rel=1e-12)
        assert table["after_share"].isna().all()
        before = _shortfall_by_hand(np.column_stack([BOOK_PNL, np.zeros(N)]))
        np.testing.assert_allclose(
            table["before_share"], [*before["contribution"] / before["es"], 1.0], atol=1e-15
        )

    def test_an_asset_neither_held_nor_hedged_needs_no_scenario_returns(self) -> None:
        # J is in the risk model only: the hedged book and the hedge's delta are 0 there,
        # so by factor its scenario returns are never read; the scenarios lack it and the
        # table is the one by hand without it
        assets = [*ASSETS, "J"]
        risk = oh.RiskModel(
            pd.DataFrame(np.vstack([B, [0.5, 0.2]]), index=assets, columns=FACTORS),
            pd.DataFrame(F, index=FACTORS, columns=FACTORS),
            pd.Series([*D, 3e-4], index=assets),
        )
        inputs = dataclasses.replace(
            INPUTS,
            risk=risk,
            book=BOOK.reindex(assets, fill_value=0.0),
            exposures=EXPOSURES.reindex(assets, fill_value=0.0),
        )
        table = attribute(
            inputs, X, by="factor", measure="expected_shortfall", factors=None, horizon=10
        )
        for side, x in SIDES.items():
            _, parts = _scenario_parts("factor", x, SCENARIOS[FACTORS].to_numpy())
            got = _shortfall_by_hand(parts)
            np.testing.assert_allclose(table[side].iloc[:-1], got["contribution"], rtol=1e-12)

    def test_units_of_a_risk_without_a_frequency_are_trading_days(self) -> None:
        # RiskInputs.risk is any FactorRisk; one that states no frequency is daily
        class NoFrequency:
            def __getattr__(self, name: str) -> object:
                if name == "frequency":
                    raise AttributeError(name)
                return getattr(RISK, name)

        weekly = oh.RiskModel(RISK.loadings, RISK.factor_cov, RISK.specific_var, frequency="weekly")
        for risk, units in ((NoFrequency(), "10 trading days"), (weekly, "10 weeks")):
            inputs = dataclasses.replace(INPUTS, risk=risk)  # type: ignore[arg-type]
            for measure in ("volatility", "expected_shortfall"):
                table = attribute(inputs, X, by="leg", measure=measure, factors=None, horizon=10)
                assert table.attrs["units"] == f"fraction of capital over {units}"

    @pytest.mark.parametrize(
        "missing", [{"scenario_pnl": None}, {"probabilities": None}], ids=["pnl", "probabilities"]
    )
    def test_needs_scenarios(self, missing: dict[str, None]) -> None:
        inputs = dataclasses.replace(INPUTS, **missing)  # type: ignore[arg-type]
        with pytest.raises(SpecificationError, match="needs scenarios"):
            attribute(inputs, X, by="leg", measure="expected_shortfall", factors=None, horizon=10)


# ------------------------------------------------------------------ tail_block
class TestTailBlock:
    VALUES = np.arange(1.0, 41.0).reshape(5, 8) ** 1.5
    ROWS = np.array([4, 0, 2, 2])
    # runs of adjacent columns, a gap of exactly two, reversed and lone columns
    LABELS = pd.Index(["c4", "c1", "c2", "c3", "c0", "c5", "c7"])

    def _expected(self) -> np.ndarray:
        cols = [int(label[1]) for label in self.LABELS]
        return self.VALUES[self.ROWS][:, cols]

    def test_a_single_float_block_gathered_column_major(self) -> None:
        frame = pd.DataFrame(np.asfortranarray(self.VALUES), columns=[f"c{i}" for i in range(8)])
        assert frame.to_numpy(copy=False).flags.f_contiguous
        out = tail_block(frame, self.ROWS, self.LABELS)
        np.testing.assert_array_equal(out, self._expected())
        assert out.dtype == np.float64
        assert out.flags.f_contiguous  # straight into a column-major result

    def test_a_row_major_frame(self) -> None:
        frame = pd.DataFrame(self.VALUES, columns=[f"c{i}" for i in range(8)], copy=False)
        assert not frame.to_numpy(copy=False).flags.f_contiguous
        out = tail_block(frame, self.ROWS, self.LABELS)
        np.testing.assert_array_equal(out, self._expected())
        assert out.dtype == np.float64

    @pytest.mark.parametrize("dtype", [object, np.int64])
    def test_values_of_another_dtype_come_back_as_floats(self, dtype: type) -> None:
        values = np.round(self.VALUES)
        frame = pd.DataFrame(values, columns=[f"c{i}" for i in range(8)]).astype(dtype)
        out = tail_block(frame, self.ROWS, self.LABELS)
        assert out.dtype == np.float64
        cols = [int(label[1]) for label in self.LABELS]
        np.testing.assert_array_equal(out, values[self.ROWS][:, cols])


# ---------------------------------------- survivors of `make mutants` (issue 24), by hand
class TestAssetsAsFactorsNote:
    """The note on a split by factor says "each asset is its own factor" only when it is so:
    square identity loadings whose factors are the assets, and no specific risk."""

    @staticmethod
    def note(loadings: np.ndarray, factors: list[str], specific: float) -> object:
        frame = pd.DataFrame(loadings, index=ASSETS, columns=factors)
        cov = pd.DataFrame(np.diag([4e-4, 5e-4, 6e-4, 3e-4]), index=factors, columns=factors)
        risk = oh.RiskModel(frame, cov, pd.Series(specific, index=ASSETS))
        inputs = dataclasses.replace(INPUTS, risk=risk)
        table = attribute(inputs, X, by="factor", measure="volatility", factors=None, horizon=10)
        return table.attrs.get("note")

    def test_identity_on_the_assets(self) -> None:
        from optihedge.optimize.breakdown import ASSETS_AS_FACTORS_NOTE

        assert self.note(np.eye(4), ASSETS, 0.0) == ASSETS_AS_FACTORS_NOTE

    def test_from_a_covariance(self) -> None:
        from optihedge.optimize.breakdown import ASSETS_AS_FACTORS_NOTE

        risk = oh.RiskModel.from_covariance(pd.DataFrame(SIGMA, index=ASSETS, columns=ASSETS))
        inputs = dataclasses.replace(INPUTS, risk=risk)
        table = attribute(inputs, X, by="factor", measure="volatility", factors=None, horizon=1)
        assert table.attrs.get("note") == ASSETS_AS_FACTORS_NOTE

    @pytest.mark.parametrize(
        ("loadings", "factors", "specific"),
        [
            (np.eye(4), ["F1", "F2", "F3", "F4"], 0.0),  # identity, but other factors
            (np.eye(4) + np.diag([0.5, 0.5, 0.5], 1), ASSETS, 0.0),  # the assets, not identity
            (np.eye(4), ASSETS, 1e-4),  # the assets, with specific risk
        ],
        ids=["other-factors", "not-identity", "specific-risk"],
    )
    def test_not_said_otherwise(
        self, loadings: np.ndarray, factors: list[str], specific: float
    ) -> None:
        assert self.note(loadings, factors, specific) is None


class TestRowsMustSumToTheTotal:
    """The guard that refuses a table whose rows miss the result's own figure.

    By hand: the tolerance is 1e-9 of the larger of |total| and the rows' absolute sum,
    however small the numbers (a volatility of 2%).
    """

    @staticmethod
    def table(rows: list[float]) -> pd.DataFrame:
        return pd.DataFrame({"before": rows, "after": rows})

    def test_small_figures_are_held_to_their_own_scale(self) -> None:
        from optihedge.optimize.breakdown import _check_total

        want = 0.02 * (1.0 + 1e-8)  # ten times the tolerance above the rows' 0.02
        with pytest.raises(RuntimeError, match=r"volatility attribution's rows sum to 0\.02 "):
            _check_total(self.table([0.01, 0.01]), {"before": want, "after": 0.02}, "volatility")

    def test_large_figures_within_tolerance_pass(self) -> None:
        from optihedge.optimize.breakdown import _check_total

        want = 200.0 * (1.0 + 4e-10)  # within 1e-9 of 200
        _check_total(self.table([100.0, 100.0]), {"before": want, "after": want}, "volatility")

    def test_the_side_and_the_gap_are_named(self) -> None:
        from optihedge.optimize.breakdown import _check_total

        with pytest.raises(RuntimeError, match=r"after the hedge, not to the result's own "):
            _check_total(self.table([1.0, 2.0]), {"before": 3.0, "after": 3.1}, "volatility")


class TestRowLabelsStayDistinct:
    """A holding and an instrument of one name are renamed by what they are; a rename that
    would still collide (a holding literally named "F (instrument)") is refused."""

    @staticmethod
    def inputs(names: list[str]) -> RiskInputs:
        rename = dict(zip(ASSETS, names, strict=True))
        risk = oh.RiskModel(
            pd.DataFrame(B, index=names, columns=FACTORS),
            pd.DataFrame(F, index=FACTORS, columns=FACTORS),
            pd.Series(D, index=names),
        )
        return dataclasses.replace(
            INPUTS,
            risk=risk,
            exposures=EXPOSURES.rename(index=rename),
            book=BOOK.rename(index=rename),
            holdings=pd.Index(names[:3]),
            scenario_assets=SCENARIOS.rename(columns=rename),
        )

    def test_a_shared_name_is_renamed_by_origin(self) -> None:
        table = attribute(
            self.inputs(["F", "B", "C", "I"]),
            X,
            by="instrument",
            measure="volatility",
            factors=None,
            horizon=10,
        )
        assert list(table.index) == ["F (holding)", "B", "C", "F (instrument)", "P", "G", "total"]

    def test_a_rename_that_still_collides_is_refused(self) -> None:
        with pytest.raises(
            SpecificationError, match=r"repeat the labels \['F \(instrument\)'\] even after"
        ):
            attribute(
                self.inputs(["F", "F (instrument)", "C", "I"]),
                X,
                by="instrument",
                measure="volatility",
                factors=None,
                horizon=10,
            )


class TestAFactorNamedLikeARow:
    """A factor named like one of the table's own rows ("specific") is shown as a factor."""

    @staticmethod
    def inputs() -> RiskInputs:
        names = ["specific", "V"]
        risk = oh.RiskModel(
            pd.DataFrame(B, index=ASSETS, columns=names),
            pd.DataFrame(F, index=names, columns=names),
            pd.Series(D, index=ASSETS),
        )
        return dataclasses.replace(INPUTS, risk=risk)

    def test_all_factors(self) -> None:
        table = attribute(
            self.inputs(), X, by="factor", measure="volatility", factors=None, horizon=10
        )
        assert list(table.index) == ["specific (factor)", "V", "specific", "total"]
        assert table.attrs["renamed"] == {"specific (factor)": "specific"}
        base = attribute(INPUTS, X, by="factor", measure="volatility", factors=None, horizon=10)
        np.testing.assert_array_equal(table["after"].to_numpy(), base["after"].to_numpy())

    def test_some_factors(self) -> None:
        table = attribute(
            self.inputs(), X, by="factor", measure="volatility", factors=["specific"], horizon=10
        )
        assert list(table.index) == ["specific (factor)", "other factors", "specific", "total"]


class TestRowsThatCancel:
    """Rows that cancel (a hedge that offsets the book) are held to the rows' own scale,
    and a table of zeros (nothing at risk) sums to its zero total."""

    def test_a_total_near_zero(self) -> None:
        from optihedge.optimize.breakdown import _check_total

        rows = pd.DataFrame({"before": [0.5, -0.5], "after": [0.5, -0.5]})
        _check_total(rows, {"before": 1e-12, "after": -1e-12}, "expected shortfall")

    def test_zeros(self) -> None:
        from optihedge.optimize.breakdown import _check_total

        rows = pd.DataFrame({"before": [0.0, 0.0], "after": [0.0, 0.0]})
        _check_total(rows, {"before": 0.0, "after": 0.0}, "volatility")


# ------------------------- survivors recorded as equivalent that an input does separate
LOOKALIKES = ("TOTAL", "Total", "XXtotalXX", "total ")


class TestLabelsThatOnlyLookLikeTotal:
    """Only the exact label "total" is reserved: a holding called "TOTAL" (or any other
    spelling) is an ordinary label, kept as it is, and is not named in a clash message."""

    @pytest.mark.parametrize("name", LOOKALIKES)
    def test_kept_as_given(self, name: str) -> None:
        inputs = TestRowLabelsStayDistinct.inputs([name, "B", "C", "I"])
        table = attribute(
            inputs, X, by="instrument", measure="volatility", factors=None, horizon=10
        )
        assert list(table.index) == [name, "B", "C", "F", "P", "G", "total"]
        assert table.attrs["renamed"] == {}
        z = W + E @ X  # by hand: sigma = sqrt(z' (B F B' + D) z)
        assert table.loc["total", "after"] == pytest.approx(np.sqrt(z @ SIGMA @ z), rel=1e-12)

    @pytest.mark.parametrize("name", LOOKALIKES)
    def test_not_named_in_a_clash(self, name: str) -> None:
        with pytest.raises(
            SpecificationError, match=r"repeat the labels \['F \(instrument\)'\] even after"
        ):
            attribute(
                TestRowLabelsStayDistinct.inputs(["F", "F (instrument)", name, "I"]),
                X,
                by="instrument",
                measure="volatility",
                factors=None,
                horizon=10,
            )


def test_a_factor_named_other_factors_shown_alone() -> None:
    """Shown on its own, a factor called "other factors" is renamed; the folded rest
    keeps the table's own label (only the shown factors are factors)."""
    names = ["other factors", "V"]
    risk = oh.RiskModel(
        pd.DataFrame(B, index=ASSETS, columns=names),
        pd.DataFrame(F, index=names, columns=names),
        pd.Series(D, index=ASSETS),
    )
    inputs = dataclasses.replace(INPUTS, risk=risk)
    table = attribute(
        inputs, X, by="factor", measure="volatility", factors=["other factors"], horizon=10
    )
    assert list(table.index) == ["other factors (factor)", "other factors", "specific", "total"]
    assert table.attrs["renamed"] == {"other factors (factor)": "other factors"}
    # by hand: factor k's share of sigma is g_k (F g)_k / sigma with g = B' z
    z = W + E @ X
    g = B.T @ z
    sigma = np.sqrt(z @ SIGMA @ z)
    want = g * (F @ g) / sigma
    assert table.loc["other factors (factor)", "after"] == pytest.approx(want[0], rel=1e-12)
    assert table.loc["other factors", "after"] == pytest.approx(want[1], rel=1e-12)


class TestTheToleranceAtItsEdge:
    """The rows-sum guard's tolerance, to the last bit: the gap may equal 1e-9 times the
    larger of |total| and the rows' absolute sum (the pairs below were found by search
    and their premises are asserted in plain float arithmetic)."""

    @staticmethod
    def check(row: float, want: float) -> None:
        from optihedge.optimize.breakdown import _check_total

        rows = pd.DataFrame({"before": [row], "after": [row]})
        _check_total(rows, {"before": want, "after": want}, "volatility")

    def test_a_gap_exactly_at_the_tolerance_is_accepted(self) -> None:
        row, want = 1.487698851510011, 1.4876988529977098
        assert want - row == 1e-9 * want  # exactly, in floating point
        self.check(row, want)

    def test_the_scale_is_the_total_where_it_exceeds_the_rows(self) -> None:
        row, want = 0.9480441982803397, 0.9480441992283839
        assert 1e-9 * row < want - row <= 1e-9 * want  # within 1e-9 of the total only
        self.check(row, want)

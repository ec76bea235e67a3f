r"""Stress of a single hedge, leg by leg: named historical windows and hypothetical shocks.

A hedge (positions by instrument, fractions of the book's capital) is held through

- each **historical window** (``optihedge.datasets.STRESS_WINDOWS`` by default) as ONE
  path: every holding and every hedge instrument compounded over the window's days,
  path-dependent instruments revalued along the path (an inverse ETF's daily reset, an
  option repriced at the window's end with the time left, or paid its intrinsic value
  on its expiry day inside the window) -- :meth:`Scenarios.stress`;
- each **hypothetical shock** (a :class:`Shock`): given moves of some assets, the rest
  follow by their conditional expectation under the risk model,
  :math:`E[r \mid r_F = m] = \Sigma_{AF}\Sigma_{FF}^{-1} m`, over the model's horizon
  (:meth:`Scenarios.shock`), with an optional implied-volatility move and an optional
  stress of the correlations (:func:`stressed_correlation`).

Each leg's P&L -- the book, then each hedge instrument -- is its return per unit of
position times its position (``optihedge.measures.pnl``, the one home of that
arithmetic), as a fraction of the book's capital and in base currency; the legs sum to
the hedged book's P&L.

Options are valued in the one ``market_state`` given (spot, volatility, rate): a
moneyness-struck package (``Put(moneyness=0.95)``) is scale-free in the spot, so it
stands for the same put bought at the window's start at that volatility; pass
``MarketState.from_data(start)`` to value the hedge in that day's market instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from factor_models import RiskModel
from factor_models.validation import check_dates, check_returns, check_scalar, format_labels
from optihedge._plausible import check_vol_move
from optihedge.datasets import STRESS_WINDOWS
from optihedge.errors import DataError, DataWarning, MissingLabelsError, SpecificationError
from optihedge.instruments import Instrument, MarketState
from optihedge.measures import pnl
from optihedge.optimize.data import by_instrument, check_instruments, check_market, scenario_matrix
from optihedge.portfolio import Portfolio
from optihedge.scenarios import Scenarios

__all__ = [
    "CORRELATIONS_DOWN",
    "CORRELATIONS_UP",
    "DEFAULT_SHOCKS",
    "INDEX_DOWN_VOL_UP",
    "MARKET",
    "SECTOR",
    "SECTOR_DOWN",
    "Shock",
    "StressReport",
    "stress_result",
    "stress_test",
    "stressed_correlation",
]

#: Placeholder key of :attr:`Shock.moves`: the ``market`` argument of :func:`stress_test`.
MARKET = "<market>"
#: Placeholder key of :attr:`Shock.moves`: every holding of the ``sector`` argument.
SECTOR = "<sector>"


def _check_blend(toward: Any, weight: Any) -> tuple[float, float]:
    t = check_scalar(
        toward,
        "toward",
        lower=0.0,
        upper=1.0,
        hint="Pass 1 to blend toward all-ones (correlations up), 0 toward the identity (down).",
    )
    w = check_scalar(
        weight,
        "weight",
        lower=0.0,
        upper=1.0,
        hint="Pass the share of the target in the blend (0.5: halfway).",
    )
    return t, w


@dataclass(frozen=True)
class Shock:
    """A hypothetical shock: moves of some assets, the rest following through the risk model.

    Parameters
    ----------
    name : str
        How tables label it (``"index -20%, vol +15 pts"``).
    moves : mapping of asset to float
        Simple return of each shocked asset over the risk model's horizon (> -1; -0.2 is
        -20%). Keys are risk-model assets, or :data:`MARKET` (the ``market`` asset of
        :func:`stress_test`) or :data:`SECTOR` (each holding of its ``sector``).
    vol_move : float, optional
        Additive move of every underlying's implied volatility (0.15 = +15 points);
        None leaves it to each option's volatility model (it rises as the market falls).
    correlation : (toward, weight), optional
        Propagate the moves through the risk model with its correlations blended toward
        a constant-correlation matrix (``toward`` = 1: all ones, 0: the identity) with
        ``weight`` in [0, 1], volatilities kept (:func:`stressed_correlation`).

    Raises
    ------
    SpecificationError
        A name that is not text, no moves, a move of -100% or worse, an implausible
        volatility move, or a ``correlation`` outside [0, 1] x [0, 1].
    """

    name: str
    moves: Mapping[str, float]
    vol_move: float | None = None
    correlation: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SpecificationError(f"A Shock's 'name' must be non-empty text. Got {self.name!r}.")
        if not isinstance(self.moves, Mapping) or not self.moves:
            raise SpecificationError(
                f"The 'moves' of Shock({self.name!r}) must be a non-empty mapping of asset to "
                f"return. Got {self.moves!r}: pass e.g. {{MARKET: -0.2}}."
            )
        moves = {
            k: check_scalar(
                v,
                f"Shock({self.name!r}).moves[{k!r}]",
                lower=-1.0,
                lower_inclusive=False,
                hint="Pass a simple return (-0.2 for -20%).",
            )
            for k, v in self.moves.items()
        }
        object.__setattr__(self, "moves", moves)
        if self.vol_move is not None:
            move = check_vol_move(self.vol_move, f"Shock({self.name!r}).vol_move")
            object.__setattr__(self, "vol_move", move)
        if self.correlation is not None:
            pair = self.correlation
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                raise SpecificationError(
                    f"The 'correlation' of Shock({self.name!r}) must be a pair (toward, weight). "
                    f"Got {pair!r}: pass e.g. (1.0, 0.5) for correlations up."
                )
            toward, weight = _check_blend(pair[0], pair[1])
            object.__setattr__(self, "correlation", (toward, weight))


#: The index down 20% and every implied volatility up 15 points.
INDEX_DOWN_VOL_UP = Shock("index -20%, vol +15 pts", {MARKET: -0.20}, vol_move=0.15)
#: The holdings of ``sector`` down 30% together (skipped when no sector is given).
SECTOR_DOWN = Shock("sector -30%", {SECTOR: -0.30})
#: The index down 20% with correlations halfway to one.
CORRELATIONS_UP = Shock("correlations up", {MARKET: -0.20}, correlation=(1.0, 0.5))
#: The index down 20% with correlations halfway to zero.
CORRELATIONS_DOWN = Shock("correlations down", {MARKET: -0.20}, correlation=(0.0, 0.5))
#: The shocks :func:`stress_test` applies by default, in this order.
DEFAULT_SHOCKS: tuple[Shock, ...] = (
    INDEX_DOWN_VOL_UP,
    SECTOR_DOWN,
    CORRELATIONS_UP,
    CORRELATIONS_DOWN,
)


def stressed_correlation(risk_model: RiskModel, toward: float, weight: float) -> RiskModel:
    r"""Return the risk model with its correlations blended toward a target, volatilities kept.

    With :math:`\Sigma = D C D` (:math:`D` the volatilities, :math:`C` the correlations),
    the stressed covariance is :math:`D\,C'\,D` with

    .. math::
        C' = (1 - w)\,C + w\,T, \qquad T = (1 - t)\,I + t\,\mathbf{1}\mathbf{1}^\top

    (``toward`` :math:`t`: 1 blends toward all-ones, correlations up; 0 toward the
    identity, correlations down). :math:`C'` keeps a unit diagonal and stays positive
    semi-definite (a convex combination of two correlation matrices). An asset with zero
    volatility keeps zero variance.

    Parameters
    ----------
    risk_model : RiskModel
    toward : float in [0, 1]
        The target's off-diagonal correlation.
    weight : float in [0, 1]
        The target's share of the blend.

    Returns
    -------
    RiskModel
        Built by :meth:`RiskModel.from_covariance` (the assets their own factors), with the
        input's horizon, frequency, window and as-of date.

    Raises
    ------
    SpecificationError
        ``risk_model`` not a RiskModel, or ``toward`` / ``weight`` outside [0, 1].
    """
    if not isinstance(risk_model, RiskModel):
        raise SpecificationError(
            f"The 'risk_model' argument must be a RiskModel. Got {type(risk_model).__name__}: "
            "pass a fitted model (e.g. FactorModel().fit(...).risk_model_)."
        )
    t, w = _check_blend(toward, weight)
    cov = risk_model.covariance()
    sigma = cov.to_numpy(dtype=np.float64)
    vol = np.sqrt(np.clip(np.diag(sigma), 0.0, None))
    live = vol > 0
    inv = np.zeros_like(vol)
    inv[live] = 1.0 / vol[live]
    corr = sigma * np.outer(inv, inv)
    np.fill_diagonal(corr, 1.0)
    n = len(vol)
    target = (1.0 - t) * np.eye(n) + t * np.ones((n, n))
    blended = (1.0 - w) * corr + w * target
    stressed = blended * np.outer(vol, vol)
    stressed = 0.5 * (stressed + stressed.T)
    model = RiskModel.from_covariance(
        pd.DataFrame(stressed, index=cov.index, columns=cov.columns),
        repair="clip",  # rounding only: the blend is PSD
        window=risk_model.window,
        asof=risk_model.asof,
        frequency=risk_model.frequency,
    )
    return model if risk_model.horizon == 1 else replace(model, horizon=risk_model.horizon)


@dataclass(frozen=True)
class StressReport:
    """The hedged book through stress windows and shocks, leg by leg.

    Attributes
    ----------
    table : DataFrame indexed by scenario
        ``kind`` (``"window"`` or ``"shock"``), ``start`` and ``end`` (the window's first
        and last trading days; NaT for a shock), ``horizon`` (in words), ``book``,
        ``hedge`` and ``hedged`` (returns as fractions of capital), ``book_pnl``,
        ``hedge_pnl`` and ``hedged_pnl`` (base currency), and ``offset`` (the share of
        the book's loss the hedge offset, ``1 - hedged / book`` where the book lost,
        NaN otherwise).
    legs : DataFrame indexed by (scenario, leg)
        One row per leg (``"book"`` first, then each instrument): ``position`` (fraction
        of capital: the book's net weight, an instrument's position), ``pnl`` (base
        currency) and ``fraction`` (of capital). Within a scenario the legs sum to its
        ``hedged`` P&L.
    skipped : DataFrame indexed by name
        Windows and shocks not run: ``kind`` and ``reason`` (a default window the data
        do not cover, the sector shock without a sector, shocks without a risk model).
    capital : float
        The book's capital (what the fractions are of), base currency.
    currency : str
    """

    table: pd.DataFrame
    legs: pd.DataFrame
    skipped: pd.DataFrame
    capital: float
    currency: str = "USD"


def _needed_columns(portfolio: Portfolio, instruments: Sequence[Instrument]) -> list[Hashable]:
    """Return the holdings and every instrument's underlying (or holding), once each."""
    out: list[Hashable] = list(portfolio.holdings.index)
    for inst in instruments:
        for name in ("underlying", "holding"):
            label = getattr(inst, name, None)
            if isinstance(label, str):
                out.append(label)
    return list(dict.fromkeys(out))


def _window_items(windows: Any) -> list[tuple[str, tuple[str, str]]]:
    """``windows`` as (name, (start, end)) pairs: names, (start, end) pairs or a mapping."""
    if isinstance(windows, Mapping):
        items = list(windows.items())
    elif isinstance(windows, str) or not isinstance(windows, Sequence):
        raise SpecificationError(
            "The 'windows' argument must be a sequence of window names or (start, end) pairs, "
            f"or a mapping of name to (start, end). Got {windows!r}: pass e.g. "
            f"[{next(iter(STRESS_WINDOWS))!r}]."
        )
    else:
        items = []
        for w in windows:
            if isinstance(w, str):
                if w not in STRESS_WINDOWS:
                    raise SpecificationError(
                        f"The 'windows' argument names {w!r}, which is not a stress window; "
                        f"named ones are {list(STRESS_WINDOWS)}, or pass (start, end)."
                    )
                items.append((w, STRESS_WINDOWS[w]))
            else:
                items.append((None, w))
    out = []
    for name, span in items:
        if not isinstance(span, tuple | list) or len(span) != 2:
            raise SpecificationError(
                f"The 'windows' argument holds {span!r}, not a (start, end) pair of dates: "
                "pass e.g. ('2020-02-19', '2020-03-23')."
            )
        try:
            start, end = pd.Timestamp(span[0]), pd.Timestamp(span[1])
        except (TypeError, ValueError) as exc:
            raise SpecificationError(
                f"The 'windows' argument holds {span!r}, whose ends are not dates: pass ISO "
                "dates such as ('2020-02-19', '2020-03-23')."
            ) from exc
        if not start <= end:
            raise SpecificationError(
                f"The 'windows' argument holds {span!r}, which starts after it ends: pass "
                "(start, end) with start <= end."
            )
        label = name if name is not None else f"{span[0]} to {span[1]}"
        out.append((str(label), (str(span[0]), str(span[1]))))
    return out


def _covers(data: pd.DataFrame, start: str, end: str) -> bool:
    index = data.index
    return bool(len(index)) and index[0] <= pd.Timestamp(start) and index[-1] >= pd.Timestamp(end)


def _window_scenarios(
    data: pd.DataFrame, columns: list[Hashable], name: str, start: str, end: str
) -> tuple[Scenarios, pd.Timestamp, pd.Timestamp]:
    """One path through the window on the columns the book and the hedge need.

    Returns the scenarios and the window's first and last trading days in the data.
    """
    anchor = data.index[data.index <= pd.Timestamp(start)][-1]
    frame = data.loc[anchor:end, columns]
    inside = frame.loc[start:end]
    if inside.empty:
        raise DataError(
            f"The 'data' hold no trading day inside the window {name!r} ({start} to {end}); "
            "pass daily returns with dates inside it."
        )
    bad = frame.isna().to_numpy()
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(
            f"The 'data' hold {int(bad.sum())} NaN value(s) in the window {name!r}, first in "
            f"column {frame.columns[c]!r} on {frame.index[r]:%Y-%m-%d}; fill or drop them "
            "(e.g. returns_from_prices(..., missing='drop')), or leave the window out."
        )
    with warnings.catch_warnings():
        # the scale of the returns was judged on the whole history (stress_test): a
        # crisis window alone is volatile enough to look like percent
        warnings.simplefilter("ignore", DataWarning)
        out = Scenarios.stress(frame, (start, end))
    returns = out.returns.set_axis(pd.Index([name], name="scenario"))
    return replace(out, returns=returns, name=f"stress {name}"), inside.index[0], inside.index[-1]


def _resolve_moves(
    shock: Shock, market: str, sector: list[str] | None, model: Any
) -> dict[Hashable, float] | None:
    """Return the shock's moves, placeholders replaced; None if it needs a missing sector."""
    moves: dict[Hashable, float] = {}
    for key, value in shock.moves.items():
        if key == MARKET:
            moves[market] = value
        elif key == SECTOR:
            if not sector:
                return None
            moves.update(dict.fromkeys(sector, value))
        else:
            moves[key] = value
    assets = model.assets
    unknown = [k for k in moves if k not in assets]
    if unknown:
        raise MissingLabelsError(
            f"The 'shocks' argument's Shock({shock.name!r}) moves {format_labels(unknown)}, "
            f"which the risk model lacks (it has {format_labels(assets)}); shock assets of the "
            "model, or add a factor as an asset with risk_model.with_factor_assets([...])."
        )
    return moves


def _shock_items(shocks: Any) -> list[Shock]:
    if shocks is None:
        return list(DEFAULT_SHOCKS)
    if isinstance(shocks, Shock | str) or not isinstance(shocks, Sequence):
        shocks = [shocks] if isinstance(shocks, Shock | str) else shocks
    if not isinstance(shocks, Sequence):
        raise SpecificationError(
            "The 'shocks' argument must be a sequence of Shock values or names of default "
            f"shocks. Got {type(shocks).__name__}."
        )
    known = {s.name: s for s in DEFAULT_SHOCKS}
    out = []
    for s in shocks:
        if isinstance(s, Shock):
            out.append(s)
        elif isinstance(s, str) and s in known:
            out.append(known[s])
        else:
            raise SpecificationError(
                f"The 'shocks' argument names {s!r}, which is not a shock; the named ones are "
                f"{list(known)}, or pass Shock(name, moves, vol_move=..., correlation=...)."
            )
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise SpecificationError(
            f"The 'shocks' argument repeats names {repeated}; give each shock its own name."
        )
    return out


def _check_inputs(book: Any, weights: Any, data: Any, risk_model: Any, market_state: Any) -> None:
    if not isinstance(book, Portfolio):
        raise SpecificationError(
            f"The 'book' argument must be a Portfolio. Got {type(book).__name__}: build it "
            "with Portfolio.from_holdings({ticker: value})."
        )
    if not isinstance(weights, pd.Series):
        raise DataError(
            f"The 'weights' argument must be a Series by instrument label. Got "
            f"{type(weights).__name__}: pass result.weights or pd.Series({{label: position}})."
        )
    if data is not None:
        if not isinstance(data, pd.DataFrame) or not isinstance(data.index, pd.DatetimeIndex):
            raise DataError(
                "The 'data' argument must be a DataFrame of daily returns with a DatetimeIndex "
                f"(dates x assets). Got {type(data).__name__}: pass returns_from_prices(prices)."
            )
        check_dates(data.index, "data")
    if risk_model is not None and not isinstance(risk_model, RiskModel):
        raise SpecificationError(
            f"The 'risk_model' argument must be a RiskModel. Got {type(risk_model).__name__}: "
            "pass the model the hedge was solved with (result.risk_inputs.risk)."
        )
    if market_state is not None and not isinstance(market_state, MarketState):
        raise SpecificationError(
            f"The 'market_state' argument must be a MarketState. Got "
            f"{type(market_state).__name__}: pass MarketState(spot=..., volatility=...)."
        )


def stress_test(
    book: Portfolio,
    instruments: Sequence[Instrument],
    weights: pd.Series,
    *,
    data: pd.DataFrame | None = None,
    windows: Sequence[str | tuple[str, str]] | Mapping[str, tuple[str, str]] | None = None,
    shocks: Sequence[Shock | str] | None = None,
    risk_model: RiskModel | None = None,
    market_state: MarketState | None = None,
    market: str = "SP500",
    sector: Sequence[str] | None = None,
) -> StressReport:
    """Stress a single hedge through historical windows and hypothetical shocks, leg by leg.

    Parameters
    ----------
    book : Portfolio
    instruments : sequence of Instrument
        The hedge's instruments (e.g. the problem's).
    weights : Series by instrument label
        Positions, fractions of the book's capital (e.g. ``result.weights``); instruments
        it omits are held at zero.
    data : DataFrame of daily returns (dates x assets), optional
        Covering the holdings and the instruments' underlyings; needed for windows.
    windows : names, (start, end) pairs or a mapping of name to (start, end), optional
        Historical windows, each one path. None: every window of
        ``optihedge.datasets.STRESS_WINDOWS`` that ``data`` cover (the others are listed
        in ``skipped``); windows asked for by name or dates must be covered. ``[]``: none.
    shocks : sequence of Shock or names of :data:`DEFAULT_SHOCKS`, optional
        None: :data:`DEFAULT_SHOCKS` when a risk model is given (the sector shock only
        with a ``sector``); ``[]``: none.
    risk_model : RiskModel, optional
        Propagates the shocks (its assets must include ``market`` and the book's
        holdings); over its horizon.
    market_state : MarketState, optional
        The market the instruments are valued in (options need spot and volatility).
    market : str, default "SP500"
        The asset :data:`MARKET` stands for in a shock's moves (the index).
    sector : sequence of str, optional
        Holdings moved together by :data:`SECTOR` (the sector shock).

    Returns
    -------
    StressReport

    Raises
    ------
    SpecificationError
        Arguments of the wrong type, an unknown window or shock name, shocks or windows
        asked for without a risk model or data, a sector naming no holding of the book.
    DataError
        A window the data do not cover, data with NaN inside a window.
    MissingLabelsError
        Weights naming instruments not given, a shock moving an asset the risk model
        lacks, data or a risk model lacking a holding or an underlying.
    """
    _check_inputs(book, weights, data, risk_model, market_state)
    labels = check_instruments(instruments)
    extra = weights.index.difference(labels)
    if len(extra):
        raise MissingLabelsError(
            f"The 'weights' argument names instruments not given: {format_labels(extra)} "
            f"(the instruments are {format_labels(labels)}); pass their Instrument objects "
            "among 'instruments', or drop those weights."
        )
    x = by_instrument(weights, labels, "weights").to_numpy(dtype=np.float64)
    market_obj = MarketState() if market_state is None else market_state
    check_market(instruments, market_obj)
    if not isinstance(market, str) or not market:
        raise SpecificationError(
            f"The 'market' argument must be an asset label (text). Got {market!r}: pass the "
            "index the shocks move, e.g. 'SP500'."
        )
    sector_list = _check_sector(sector, book)
    capital = float(book.capital or 0.0)
    weights_book = book.weights
    skipped: dict[str, dict[str, str]] = {}
    runs: list[tuple[str, str, Scenarios, Any, Any]] = []

    # ------------------------------------------------------------ windows
    if windows is None:
        asked = list(STRESS_WINDOWS.items())
        explicit = False
    else:
        asked = _window_items(windows)
        explicit = True
    if asked and data is None:
        if explicit:
            raise SpecificationError(
                f"The 'windows' argument asks for {[n for n, _ in asked]} but no 'data' were "
                "given: pass data=<daily returns covering them>."
            )
        for name, _ in asked:
            skipped[name] = {"kind": "window", "reason": "no data given (pass data=)"}
        asked = []
    columns: list[Hashable] = []
    if asked:
        assert data is not None
        columns = _needed_columns(book, instruments)
        missing = [c for c in columns if c not in data.columns]
        if missing:
            raise MissingLabelsError(
                f"The 'data' lack {format_labels(missing)}, held by the book or underlying a "
                "hedge instrument; pass returns covering every holding and underlying."
            )
        try:
            values = data[columns].to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(
                "The 'data' argument must hold numbers (daily simple returns)."
            ) from exc
        check_returns(values, "data", columns)  # the scale, over the whole history
    for name, (start, end) in asked:
        assert data is not None
        if not _covers(data, start, end):
            span = (
                f"{data.index[0]:%Y-%m-%d} to {data.index[-1]:%Y-%m-%d}"
                if len(data)
                else "no dates"
            )
            if explicit:
                raise DataError(
                    f"The 'windows' argument names {name!r} ({start} to {end}), which the "
                    f"'data' do not cover ({span}); pass data that cover it, or leave the "
                    "window out."
                )
            skipped[name] = {"kind": "window", "reason": f"not covered by the data ({span})"}
            continue
        scen, first, last = _window_scenarios(data, columns, name, start, end)
        runs.append((name, "window", scen, first, last))

    # ------------------------------------------------------------- shocks
    asked_shocks = _shock_items(shocks)
    if asked_shocks and risk_model is None:
        if shocks is not None:
            raise SpecificationError(
                f"The 'shocks' argument asks for {[s.name for s in asked_shocks]} but no "
                "'risk_model' was given to propagate them: pass risk_model=<RiskModel>."
            )
        for s in asked_shocks:
            skipped[s.name] = {"kind": "shock", "reason": "no risk model given (pass risk_model=)"}
        asked_shocks = []
    for s in asked_shocks:
        assert risk_model is not None
        base = risk_model
        moves = _resolve_moves(s, market, sector_list, base)
        if moves is None:
            skipped[s.name] = {"kind": "shock", "reason": "no sector given (pass sector=)"}
            continue
        lacking = weights_book.index.difference(base.assets)
        if len(lacking):
            raise MissingLabelsError(
                f"The 'risk_model' lacks holdings {format_labels(lacking)} of the book, so "
                "the shocks cannot move them; fit it on returns covering every holding."
            )
        if s.correlation is not None:
            base = stressed_correlation(base, *s.correlation)
        scen = Scenarios.shock(base, moves, vol_move=s.vol_move, name=s.name)
        runs.append((s.name, "shock", scen, pd.NaT, pd.NaT))

    names = [name for name, *_ in runs]
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise SpecificationError(
            f"The 'windows' and 'shocks' arguments name {repeated} more than once; give each "
            "window and shock its own name (a mapping {name: (start, end)} names windows)."
        )

    # ---------------------------------------------------------------- legs
    rows: dict[str, dict[str, Any]] = {}
    leg_rows: dict[tuple[str, str], dict[str, float]] = {}
    for name, kind, scen, start_d, end_d in runs:
        lacking = weights_book.index.difference(scen.returns.columns)
        if len(lacking):
            raise MissingLabelsError(
                f"The scenario {name!r} lacks holdings {format_labels(lacking)} of the book."
            )
        book_r = pnl.book_pnl(
            scen.returns[weights_book.index].to_numpy(np.float64), weights_book.to_numpy()
        )
        per_unit = scenario_matrix(instruments, scen, market_obj)
        hedged = float(pnl.hedged_pnl(book_r, per_unit, x)[0])
        legs = per_unit[0] * x
        book_f = float(book_r[0])
        leg_rows[(name, "book")] = {
            "position": float(weights_book.sum()),
            "pnl": book_f * capital,
            "fraction": book_f,
        }
        for label, pos, f in zip(labels, x, legs, strict=True):
            leg_rows[(name, str(label))] = {
                "position": float(pos),
                "pnl": float(f) * capital,
                "fraction": float(f),
            }
        hedge_f = hedged - book_f
        rows[name] = {
            "kind": kind,
            "start": start_d,
            "end": end_d,
            "horizon": scen.horizon_label,
            "book": book_f,
            "hedge": hedge_f,
            "hedged": hedged,
            "book_pnl": book_f * capital,
            "hedge_pnl": hedge_f * capital,
            "hedged_pnl": hedged * capital,
            "offset": 1.0 - hedged / book_f if book_f < 0 else np.nan,
        }
    table = pd.DataFrame.from_dict(rows, orient="index", columns=_TABLE_COLUMNS)
    table.index.name = "scenario"
    legs_frame = pd.DataFrame(
        list(leg_rows.values()),
        index=pd.MultiIndex.from_tuples(list(leg_rows), names=["scenario", "leg"]),
        columns=_LEG_COLUMNS,
        dtype=np.float64,
    )
    skipped_frame = pd.DataFrame.from_dict(skipped, orient="index", columns=["kind", "reason"])
    skipped_frame.index.name = "name"
    return StressReport(table, legs_frame, skipped_frame, capital, book.currency)


_TABLE_COLUMNS = [
    "kind",
    "start",
    "end",
    "horizon",
    "book",
    "hedge",
    "hedged",
    "book_pnl",
    "hedge_pnl",
    "hedged_pnl",
    "offset",
]
_LEG_COLUMNS = ["position", "pnl", "fraction"]


def _check_sector(sector: Any, book: Portfolio) -> list[str] | None:
    if sector is None:
        return None
    if isinstance(sector, str) or not isinstance(sector, Sequence) or not sector:
        raise SpecificationError(
            f"The 'sector' argument must be a non-empty sequence of holdings. Got {sector!r}: "
            "pass e.g. ['JPM', 'BAC']."
        )
    unknown = [s for s in sector if s not in book.holdings.index]
    if unknown:
        raise MissingLabelsError(
            f"The 'sector' argument names {format_labels(unknown)}, which the book does not "
            f"hold (it holds {format_labels(book.holdings.index)}); pass holdings of the book."
        )
    return list(dict.fromkeys(sector))


def stress_result(
    result: Any, book: Portfolio, instruments: Sequence[Instrument], **kwargs: Any
) -> StressReport:
    """Stress a solved hedge: :func:`stress_test` with the result's weights and market.

    What ``HedgeResult.stress(book, instruments, ...)`` calls (through
    ``optihedge.optimize.hooks``); ``market`` defaults to the result's.
    """
    kwargs.setdefault("market", result.market)
    return stress_test(book, instruments, result.weights, **kwargs)

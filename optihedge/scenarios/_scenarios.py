r"""Scenarios of asset returns over a horizon: historical, bootstrap, Monte Carlo, stress.

A :class:`Scenarios` holds simple returns over ``horizon`` periods of its data's
``frequency`` (trading days, weeks or months, read from the dates of the history it is
built from, or stated with ``frequency=``), one row per scenario and one column per asset,
with optional probabilities. Where the scenarios come from paths of the data it also
keeps those paths, so that path-dependent instruments (a
daily-reset inverse ETF) are revalued by compounding along each path rather than by a
delta approximation:

.. math::
    R^{\text{inv}}_s = \prod_{t \in s} (1 + L\,r_t) - 1
    \ne L \Big(\prod_{t \in s}(1 + r_t) - 1\Big)

Every random constructor takes a ``seed`` and is reproducible.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optihedge._plausible import VOLATILITY_MAX, check_vol_move, implausible_levels
from optihedge._validation import (
    check_int,
    check_probabilities,
    check_returns,
    check_scalar,
    format_labels,
)
from optihedge.calendar import Frequency, resolve_frequency
from optihedge.datasets import STRESS_WINDOWS
from optihedge.errors import DataError, DataWarning, MissingLabelsError, SpecificationError
from optihedge.scenarios._checks import _check_daily, _check_events, _check_horizon
from optihedge.scenarios._paths import (
    _EventPaths,
    _IndexedPaths,
    _Paths,
    _SimulatedPaths,
)

__all__ = ["STRESS_WINDOWS", "Scenarios"]

#: The largest event shock, a decimal return (1000 = 1001 times the price).
_SHOCK_MAX = 1000.0
#: rows per block where a whole table of scenarios is reduced (covariance)
_BLOCK_ROWS = 1 << 16


def _block_sums(logs: np.ndarray, length: int) -> np.ndarray:
    """Sum of ``length`` consecutive rows of ``logs`` from every start: shape (T-length+1, n)."""
    starts = logs.shape[0] - length + 1
    total = logs[:starts].copy()
    for k in range(1, length):
        total += logs[k : k + starts]
    return total


@dataclass(frozen=True)
class Scenarios:
    """Joint scenarios of asset returns over a horizon.

    Attributes
    ----------
    returns : DataFrame of shape (n_scenarios, n_assets)
        Simple returns over ``horizon`` periods, labelled by scenario and asset.
    horizon : int
        Periods of ``frequency`` each scenario spans (13 on weekly data: 13 weeks;
        :attr:`horizon_days` and :attr:`horizon_years` give it in trading days and years).
    probabilities : Series by scenario, optional
        Probability of each scenario (equal if omitted).
    name : str
        What the scenarios are (for reports).
    vol_moves : Series by scenario, or DataFrame of shape (n_scenarios, n_underlyings), optional
        Additive move of implied volatility in each scenario (annual volatility points,
        0.05 = +5 points), for revaluing options: a Series moves every underlying alike,
        a DataFrame one column per underlying. Where the scenarios state no move for an
        underlying, options take the volatility model's (``optihedge.pricing.volatility``:
        volatility rises as the underlying falls).
    events : DataFrame of shape (n_scenarios, n_events), optional
        Whether each named event happens in each scenario (0 or 1), for event contracts;
        see :meth:`with_event`.
    frequency : Frequency or str, default Frequency.DAILY
        Sampling of the data the scenarios come from: what one period of ``horizon`` is.
        The constructors read it from the dates of the history (or the risk model's).
    """

    returns: pd.DataFrame
    horizon: int
    probabilities: pd.Series | None = None
    name: str = "scenarios"
    vol_moves: pd.Series | pd.DataFrame | None = None
    paths: _Paths | None = field(default=None, repr=False)
    events: pd.DataFrame | None = None
    frequency: Frequency = Frequency.DAILY

    def __post_init__(self) -> None:
        object.__setattr__(self, "frequency", Frequency.parse(self.frequency))
        _check_daily(self.returns, "returns", _check_horizon(self.horizon), dated=False)
        if len(self.returns) == 0:
            raise DataError("A Scenarios object needs at least one scenario.")
        if self.probabilities is not None:
            if not isinstance(self.probabilities, pd.Series):
                raise DataError(
                    "The 'probabilities' argument must be a Series labelled like the "
                    f"scenarios. Got {type(self.probabilities).__name__}: pass "
                    "pd.Series(p, index=returns.index), or use "
                    "Scenarios.from_returns(returns, probabilities=p), which takes a list."
                )
            if not self.probabilities.index.equals(self.returns.index):
                raise MissingLabelsError(
                    "The 'probabilities' must be labelled like the scenarios (same index)."
                )
            check_probabilities(self.probabilities.to_numpy(), len(self.returns))
        if self.vol_moves is not None:
            moves = self.vol_moves
            if not isinstance(moves, pd.Series | pd.DataFrame):
                raise DataError(
                    "The 'vol_moves' argument must be a Series by scenario or a DataFrame "
                    f"(scenarios x underlyings). Got {type(moves).__name__} instead."
                )
            if not moves.index.equals(self.returns.index):
                raise MissingLabelsError(
                    "The 'vol_moves' must be labelled like the scenarios (same index)."
                )
            values = moves.to_numpy(dtype=np.float64)
            if not np.isfinite(values).all() or (values <= -1.0).any():
                raise DataError(
                    "The 'vol_moves' argument must hold finite volatility moves > -1.00."
                )
            implausible_levels(
                values,
                "vol_moves",
                (-1.0, VOLATILITY_MAX),
                "moves of annual volatility, decimal (0.10 = +10 points)",
                lower_open=True,
            )
        if self.events is not None:
            _check_events(self.events, self.returns.index)

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_returns(
        cls,
        returns: pd.DataFrame,
        *,
        horizon: int = 1,
        probabilities: Any = None,
        name: str = "given",
        frequency: Frequency | str | None = None,
    ) -> Scenarios:
        """Scenarios given directly: one row of horizon returns per scenario.

        Path-dependent instruments are then revalued with their one-period delta.
        ``frequency`` (what one period of ``horizon`` is): None reads it from the dates of
        ``returns`` when ``horizon`` is 1 (one row per period of the data), and is daily
        otherwise (the spacing of multi-period scenarios says nothing of the period).
        """
        if not isinstance(returns, pd.DataFrame):
            raise DataError(
                "The 'returns' argument must be a DataFrame of horizon returns (scenarios x "
                f"assets). Got {type(returns).__name__} instead."
            )
        probs = None
        if probabilities is not None:
            p = check_probabilities(probabilities, len(returns))
            probs = pd.Series(p, index=returns.index, name="probability")
        h = _check_horizon(horizon)
        if frequency is None and h != 1:
            frequency = Frequency.DAILY
        freq = resolve_frequency(frequency, returns, "returns")
        return cls(returns, h, probs, name, frequency=freq)  # the values: __post_init__

    @classmethod
    def historical(
        cls,
        daily: pd.DataFrame,
        *,
        horizon: int = 21,
        start: Any = None,
        end: Any = None,
        step: int = 1,
        frequency: Frequency | str | None = None,
    ) -> Scenarios:
        """Overlapping ``horizon``-period paths of history, one starting every ``step`` periods.

        Scenario labels are the last date of each path. ``daily`` is the history: daily,
        weekly or monthly returns; ``frequency`` (None: read from its dates) says which,
        and ``horizon`` counts its periods (13 on weekly data: 13 weeks).
        """
        daily = _check_daily(daily)
        freq = resolve_frequency(frequency, daily, "daily")
        h = _check_horizon(horizon)
        window = daily.loc[start:end]
        if len(window) < h:
            raise DataError(
                f"The selected history has {freq.label(len(window))}; a "
                f"{freq.adjective(h)} path needs {h}."
            )
        first = daily.index.get_indexer(window.index[:1])[0]
        starts = np.arange(first, first + len(window) - h + 1, check_int(step, "step"))
        index = starts[:, None] + np.arange(h)[None, :]
        return cls._from_index(daily, index, h, f"historical {freq.adjective(h)} paths", freq)

    @classmethod
    def bootstrap(
        cls,
        daily: pd.DataFrame,
        n: int,
        *,
        horizon: int = 21,
        block: int = 5,
        seed: int = 0,
        frequency: Frequency | str | None = None,
    ) -> Scenarios:
        """Block bootstrap: each path joins random blocks of ``block`` consecutive periods.

        Periods of the history's ``frequency`` (None: read from its dates), as in
        :meth:`historical`.
        """
        daily = _check_daily(daily)
        freq = resolve_frequency(frequency, daily, "daily")
        h = _check_horizon(horizon)
        blk = _check_horizon(block, "block")
        count = check_int(n, "n")
        if len(daily) < blk:
            raise DataError(f"The 'daily' data has {freq.label(len(daily))}; a block needs {blk}.")
        rng = np.random.default_rng(seed)
        n_blocks = -(-h // blk)
        starts = rng.integers(0, len(daily) - blk + 1, (count, n_blocks))
        index = (starts[:, :, None] + np.arange(blk)).reshape(count, -1)[:, :h]
        logs = np.log1p(daily.to_numpy(dtype=np.float64))
        # each path joins whole blocks and (when blk does not divide h) a cut last block:
        # the log growth of every block start is summed once, day by day (no cumulative
        # sums, whose differences lose relative precision), then gathered by path
        full, rest = divmod(h, blk)
        summed = _block_sums(logs, blk)[starts[:, :full]].sum(axis=1)
        if rest:
            summed += _block_sums(logs, rest)[starts[:, full]]
        return cls._from_index(
            daily, index, h, f"block bootstrap ({freq.adjective(blk)} blocks)", freq, summed
        )

    @classmethod
    def _from_index(
        cls,
        daily: pd.DataFrame,
        index: np.ndarray,
        h: int,
        name: str,
        frequency: Frequency,
        summed: np.ndarray | None = None,
    ) -> Scenarios:
        """Scenarios of the paths ``index`` (rows of ``daily``); ``summed``: their log growth."""
        paths = _IndexedPaths(daily, index)
        labels: pd.Index = pd.RangeIndex(len(index), name="scenario")
        if summed is None:
            logs = np.log1p(daily.to_numpy(dtype=np.float64))
            # sum logs over each path: cumulative sums when paths are contiguous
            if np.all(np.diff(index, axis=1) == 1):
                c = np.vstack([np.zeros(logs.shape[1]), np.cumsum(logs, axis=0)])
                summed = c[index[:, -1] + 1] - c[index[:, 0]]
                labels = daily.index[index[:, -1]]
            else:
                summed = logs[index].sum(axis=1)
        returns = pd.DataFrame(np.expm1(summed), index=labels, columns=daily.columns)
        if not returns.index.is_unique:
            returns.index = pd.RangeIndex(len(returns), name="scenario")
        return cls(returns, h, None, name, paths=paths, frequency=frequency)

    @classmethod
    def monte_carlo(
        cls,
        risk_model: Any,
        n: int,
        *,
        horizon: int = 21,
        dof: float | None = 5.0,
        seed: int = 0,
        mean: pd.Series | None = None,
    ) -> Scenarios:
        r"""Factor Monte Carlo with fat tails from a per-period :class:`RiskModel`.

        Periods of the model's ``frequency`` (a weekly model draws weekly returns, and
        ``horizon`` counts weeks).

        Daily returns :math:`r_t = \mu + s\,(B f_t + \varepsilon_t)` with normal factor
        and specific shocks whose covariance is the model's; each path draws one
        multiplier :math:`s = \sqrt{(\nu - 2)/W}`, :math:`W \sim \chi^2_\nu`, shared by
        its days and assets, so the horizon returns are multivariate Student-t with
        ``dof`` degrees of freedom (normal if ``dof`` is None) and the model's
        covariance. ``mean`` (:math:`\mu`, a Series of expected daily simple returns by
        asset, zero for assets it omits; zero if None) shifts every day.

        Raises
        ------
        MissingLabelsError
            If ``mean`` names an asset the model lacks.
        DataError
            If ``mean`` holds NaN, infinite or implausible values.
        """
        if dof is not None:
            check_scalar(dof, "dof", lower=2.0, lower_inclusive=False)
        count = check_int(n, "n")
        model_h = getattr(risk_model, "horizon", 1)
        if model_h != 1:
            raise SpecificationError(
                f"Monte Carlo needs a per-period risk model (horizon 1); this one is stated "
                f"over {model_h} periods. Pass the model before to_horizon()."
            )
        freq = Frequency.parse(getattr(risk_model, "frequency", Frequency.DAILY))
        mu = None
        if mean is not None:
            if not isinstance(mean, pd.Series):
                raise DataError(
                    "The 'mean' argument must be a Series of daily returns by asset. "
                    f"Got {type(mean).__name__} instead."
                )
            unknown = mean.index.difference(risk_model.assets)
            if len(unknown):
                raise MissingLabelsError(
                    f"The 'mean' argument names assets the risk model lacks: "
                    f"{format_labels(unknown)}."
                )
            mu = mean.reindex(risk_model.assets).fillna(0.0).to_numpy(dtype=np.float64)
            if not np.isfinite(mu).all():
                raise DataError("The 'mean' argument holds NaN or infinite values.")
            check_returns(mu[None, :], "mean", risk_model.assets)
        paths = _SimulatedPaths(
            loadings=risk_model.loadings.to_numpy(),
            factor_sqrt=risk_model.factor_cov_sqrt().to_numpy(),
            specific_std=risk_model.specific_std().to_numpy(),
            assets=risk_model.assets,
            n_scenarios=count,
            horizon=_check_horizon(horizon),
            dof=dof,
            seed=int(seed),
            mean=mu,
        )
        returns = pd.DataFrame(
            paths.horizon_returns(),
            columns=risk_model.assets,
            index=pd.RangeIndex(count, name="scenario"),
        )
        tails = "normal" if dof is None else f"Student-t({dof:g})"
        return cls(
            returns,
            paths.horizon,
            None,
            f"factor Monte Carlo, {tails}",
            paths=paths,
            frequency=freq,
        )

    @classmethod
    def stress(
        cls,
        daily: pd.DataFrame,
        window: str | tuple[str, str],
        *,
        horizon: int | None = None,
        frequency: Frequency | str | None = None,
    ) -> Scenarios:
        """Build scenarios from a named or given stress window.

        With ``horizon=None`` one scenario: the whole window compounded (its horizon is
        the window's length in periods of the data). Otherwise every overlapping
        ``horizon``-period path inside it. ``frequency`` as in :meth:`historical`.

        Raises
        ------
        DataError
            If the data do not cover the window.
        """
        daily = _check_daily(daily)
        freq = resolve_frequency(frequency, daily, "daily")
        if isinstance(window, str):
            if window not in STRESS_WINDOWS:
                raise SpecificationError(
                    f"Unknown stress window {window!r}; named ones are {list(STRESS_WINDOWS)}, "
                    "or pass (start, end)."
                )
            start, end = STRESS_WINDOWS[window]
            label = window
        else:
            start, end = window
            label = f"{start} to {end}"
        first, last = daily.index[0], daily.index[-1]
        if pd.Timestamp(start) < first or pd.Timestamp(end) > last:
            raise DataError(
                f"The stress window {label!r} ({start} to {end}) is outside the data "
                f"({first.date()} to {last.date()}); pass data that cover it."
            )
        inside = daily.loc[start:end]
        if horizon is not None:
            out = cls.historical(daily, horizon=horizon, start=start, end=end, frequency=freq)
            return cls(
                out.returns, out.horizon, name=f"stress {label}", paths=out.paths, frequency=freq
            )
        rows = daily.index.get_indexer(inside.index)
        index = rows[None, :]
        total = np.expm1(np.log1p(inside.to_numpy(dtype=np.float64)).sum(axis=0))
        returns = pd.DataFrame(
            [total], index=pd.Index([label], name="scenario"), columns=daily.columns
        )
        paths = _IndexedPaths(daily, index)
        return cls(returns, len(inside), name=f"stress {label}", paths=paths, frequency=freq)

    @classmethod
    def shock(
        cls,
        risk_model: Any,
        moves: Mapping[Hashable, float],
        *,
        vol_move: float | None = None,
        name: str | None = None,
    ) -> Scenarios:
        r"""Build a hypothetical shock: given moves of some factors or assets, the rest follow.

        Every asset moves by its conditional expectation under the risk model,
        :math:`E[r \mid r_F = m] = \Sigma_{\cdot F} \Sigma_{FF}^{-1} m` (an index move
        propagated through betas). ``vol_move`` (volatility points, e.g. 0.10) moves every
        underlying's implied volatility, for option revaluation; ``None`` leaves it to
        the options' volatility model (it rises as the underlying falls). One scenario
        over the model's horizon.
        """
        cov = risk_model.covariance()
        labels = list(moves)
        unknown = [k for k in labels if k not in cov.index]
        if unknown:
            raise MissingLabelsError(
                f"The shock moves {format_labels(unknown)}, which the risk model lacks; "
                "shock assets of the model (e.g. the index it regresses on)."
            )
        m = np.array(
            [
                check_scalar(moves[k], f"moves[{k!r}]", lower=-1.0, lower_inclusive=False)
                for k in labels
            ]
        )
        s_ff = cov.loc[labels, labels].to_numpy()
        s_af = cov.loc[:, labels].to_numpy()
        r = s_af @ np.linalg.lstsq(s_ff, m, rcond=None)[0]
        label = name or ", ".join(f"{k} {v:+.0%}" for k, v in moves.items())
        returns = pd.DataFrame([r], index=pd.Index([label], name="scenario"), columns=cov.index)
        vol_moves = None
        if vol_move is not None:
            move = check_vol_move(vol_move, "vol_move")
            vol_moves = pd.Series(move, index=returns.index, name="vol_move")
        return cls(
            returns,
            int(getattr(risk_model, "horizon", 1)),
            name=f"shock {label}",
            vol_moves=vol_moves,
            frequency=getattr(risk_model, "frequency", Frequency.DAILY),
        )

    # -------------------------------------------------------------- accessors
    @property
    def horizon_days(self) -> int:
        """The horizon in trading days (``horizon`` x the trading days of one period)."""
        return self.horizon * self.frequency.trading_days_per_period

    @property
    def horizon_years(self) -> float:
        """The horizon in years (``horizon`` / the periods a year of the frequency)."""
        return self.frequency.years(self.horizon)

    @property
    def horizon_label(self) -> str:
        """The horizon in words: ``"21 trading days"``, ``"13 weeks"``, ``"3 months"``."""
        return self.frequency.label(self.horizon)

    def check_expiry(self, days: int, owner: str = "an option") -> None:
        """Refuse an expiry the scenarios cannot follow; warn of one between their dates.

        On weekly or monthly scenarios an option's expiry (trading days) should be a
        whole number of periods. Shorter than one period, or inside the horizon and
        between two observations, the scenarios hold no level on its expiry day: an
        error. Past the horizon it is repriced exactly with the days left, but it falls
        between the data's dates: a warning.

        Raises
        ------
        SpecificationError
            An expiry shorter than one period, or inside the horizon and not a whole
            number of periods; the message names ``owner`` and the nearest whole expiries.
        """
        step = self.frequency.trading_days_per_period
        if step == 1 or days % step == 0:
            return
        unit, freq = self.frequency.unit, self.frequency
        low, high = (days // step) * step, (days // step + 1) * step
        whole = f"{high}" if low == 0 else f"{low} or {high}"
        if days < step:
            raise SpecificationError(
                f"{owner} expires in {days} trading day(s), less than one {unit} ({step} "
                f"trading days): the {freq} scenarios hold no level inside a {unit}. Use "
                f"daily scenarios for it, or an expiry of at least {step} trading days."
            )
        periods = f"{days / step:.3g} {unit}s"
        if days < self.horizon_days:
            raise SpecificationError(
                f"{owner} expires in {days} trading days ({periods}), inside the scenarios' "
                f"{self.horizon_label} and between two {freq} observations: they hold no "
                f"level on its expiry day. Pass an expiry of {whole} trading days (a whole "
                f"number of {unit}s), or daily scenarios."
            )
        warnings.warn(
            f"{owner} expires in {days} trading days ({periods}), not a whole number of the "
            f"{freq} scenarios' {unit}s: it is repriced at the horizon with "
            f"{days - self.horizon_days} trading days left, but its expiry falls between "
            f"the data's dates; an expiry of {whole} trading days lines up with them.",
            DataWarning,
            stacklevel=3,
        )

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios."""
        return len(self.returns)

    def probability_array(self) -> np.ndarray:
        """Probabilities as an array (equal weights if none were given)."""
        if self.probabilities is None:
            return np.full(self.n_scenarios, 1.0 / self.n_scenarios)
        return self.probabilities.to_numpy(dtype=np.float64)

    def column(self, label: Hashable, *, owner: str = "") -> np.ndarray:
        """Horizon returns of one asset in every scenario.

        Raises
        ------
        MissingLabelsError
            Naming ``owner`` (the instrument that asked) and the assets covered.
        """
        if label not in self.returns.columns:
            who = f"{owner} has underlying {label!r}, which" if owner else f"{label!r}:"
            raise MissingLabelsError(
                f"{who} the scenarios lack (they cover {format_labels(self.returns.columns)})."
            )
        return self.returns[label].to_numpy(dtype=np.float64)

    def vol_move_of(self, label: Hashable) -> np.ndarray:
        """Additive implied-volatility move of ``label`` in every scenario (zeros if none)."""
        moves = self.vol_moves
        if moves is None or (isinstance(moves, pd.DataFrame) and label not in moves.columns):
            return np.zeros(self.n_scenarios)
        col = moves if isinstance(moves, pd.Series) else moves[label]
        return col.to_numpy(dtype=np.float64)

    def vol_moves_for(self, label: Hashable) -> np.ndarray | None:
        """Volatility move the scenarios state for ``label``, or None where they state none."""
        moves = self.vol_moves
        if moves is None or (isinstance(moves, pd.DataFrame) and label not in moves.columns):
            return None
        return self.vol_move_of(label)

    def return_through(self, column: Hashable, days: int) -> np.ndarray:
        """Return of ``column`` over the first ``days`` trading days of each scenario.

        The horizon return when ``days`` reaches the horizon. Scenarios without paths
        (given returns, a shock) have no level inside the horizon: the horizon return
        stands in for it. On weekly or monthly scenarios ``days`` must be a whole number
        of periods (:meth:`check_expiry`).
        """
        horizon_return = self.column(column)
        if days >= self.horizon_days or self.paths is None:
            return horizon_return
        step = self.frequency.trading_days_per_period
        if days % step:
            raise SpecificationError(
                f"The 'days' argument ({days}) must be a whole number of the {self.frequency} "
                f"scenarios' {self.frequency.unit}s ({step} trading days each)."
            )
        return self.paths.through(column, check_int(days // step, "days"))

    def event(self, name: Hashable, *, owner: str = "") -> np.ndarray:
        """Whether event ``name`` happens in each scenario (0.0 or 1.0).

        Raises
        ------
        MissingLabelsError
            If the scenarios have no such event (name the ones they have).
        """
        if self.events is None or name not in self.events.columns:
            have = [] if self.events is None else list(self.events.columns)
            who = f"{owner} needs event {name!r}, which" if owner else f"Event {name!r}:"
            raise MissingLabelsError(
                f"{who} the scenarios lack (they have {have or 'no events'}); add it with "
                "Scenarios.with_event(name, probability)."
            )
        return self.events[name].to_numpy(dtype=np.float64)

    def with_event(
        self,
        name: str,
        probability: float,
        shock: float | Mapping[Hashable, float] | None = None,
    ) -> Scenarios:
        r"""Scenarios in which event ``name`` happens with ``probability``, independently.

        Every scenario is split in two: without the event (probability
        :math:`(1 - \pi) p_s`) and with it (:math:`\pi p_s`), so the event is exactly
        independent of the rest, and exactly as likely as stated, unless ``shock``
        moves the assets where it happens: a simple return applied on top of each
        asset's horizon return (a float for every asset, or a mapping by asset). The
        shock lands on the last day (options expiring earlier do not see it). Scenario
        labels gain a level: ``(label, 0)`` and ``(label, 1)``.

        Parameters
        ----------
        name : str
            The event's name (an ``EventContract``'s ``event``).
        probability : float
            Your probability of the event over the horizon, in (0, 1).
        shock : float or mapping of asset to float, optional
            (each a decimal return in (-1, 1000])
            Simple return of the assets in the scenarios where the event happens (> -1).

        Raises
        ------
        SpecificationError
            If the name is taken or the probability is not in (0, 1).
        MissingLabelsError
            If the shock names an asset the scenarios lack.
        """
        if not isinstance(name, str) or not name:
            raise SpecificationError(f"The event 'name' must be a non-empty str. Got {name!r}.")
        if self.events is not None and name in self.events.columns:
            raise SpecificationError(
                f"The scenarios already have an event {name!r}; give the new one another name."
            )
        pi = check_scalar(
            probability,
            "probability",
            lower=0.0,
            upper=1.0,
            lower_inclusive=False,
            upper_inclusive=False,
        )
        columns = self.returns.columns
        moves: dict[Hashable, float] = {}
        if shock is not None:
            if isinstance(shock, Mapping):
                unknown = [k for k in shock if k not in columns]
                if unknown:
                    raise MissingLabelsError(
                        f"The 'shock' names {format_labels(unknown)}, which the scenarios lack "
                        f"(they cover {format_labels(columns)})."
                    )
                items = dict(shock)
            else:
                items = dict.fromkeys(columns, shock)
            moves = {
                k: check_scalar(
                    v,
                    f"shock[{k!r}]",
                    lower=-1.0,
                    lower_inclusive=False,
                    upper=_SHOCK_MAX,
                    hint="A shock is a decimal return (0.5 = +50%, 9 = ten times).",
                )
                for k, v in items.items()
            }
        n = self.n_scenarios
        base = self.returns.to_numpy(dtype=np.float64)
        factor = np.array([1.0 + moves.get(c, 0.0) for c in columns])
        shocked = np.where(factor == 1.0, base, (1.0 + base) * factor - 1.0)  # exact if unmoved
        returns = np.vstack([base, shocked])
        outer = self.returns.index.append(self.returns.index)
        index = pd.MultiIndex.from_arrays(
            [outer, np.repeat([0, 1], n)], names=[self.returns.index.name or "scenario", name]
        )
        p = self.probability_array()
        probs = pd.Series(np.concatenate([(1.0 - pi) * p, pi * p]), index=index, name="probability")

        def doubled(frame: Any) -> Any:
            if frame is None:
                return None
            out = pd.concat([frame, frame])
            out.index = index
            return out

        happened = pd.DataFrame({name: np.repeat([0.0, 1.0], n)}, index=index)
        events = (
            happened if self.events is None else pd.concat([doubled(self.events), happened], axis=1)
        )
        paths = _EventPaths(self.paths, self.returns, moves)
        return Scenarios(
            pd.DataFrame(returns, index=index, columns=columns),
            self.horizon,
            probs,
            f"{self.name}, event {name!r} at {pi:g}",
            doubled(self.vol_moves),
            paths=paths,
            events=events,
            frequency=self.frequency,
        )

    def compound(self, column: Hashable, leverage: float) -> np.ndarray:
        """Return of a daily-reset ``leverage`` position on ``column`` in each scenario.

        Compounded along the daily path where the scenarios have paths; the one-period
        delta ``leverage * return`` otherwise.
        """
        if column not in self.returns.columns:
            raise MissingLabelsError(
                f"The scenarios lack {column!r}; they cover {format_labels(self.returns.columns)}."
            )
        if self.paths is None:
            return leverage * self.returns[column].to_numpy(dtype=np.float64)
        return self.paths.compound(column, leverage)

    def covariance(self) -> pd.DataFrame:
        """Probability-weighted covariance of the scenario returns (over the horizon)."""
        p = self.probability_array()
        returns = self.returns
        k = returns.shape[1]
        # in blocks of rows: a million scenarios never make a whole-table temporary (three
        # of them, 2.4 GB at a million x 100, were the build's peak)
        blocks = [(a, min(a + _BLOCK_ROWS, len(p))) for a in range(0, len(p), _BLOCK_ROWS)]
        mu = np.zeros(k)
        for a, b in blocks:
            mu += p[a:b] @ returns.iloc[a:b].to_numpy(dtype=np.float64)
        cov = np.zeros((k, k))
        for a, b in blocks:
            w = (returns.iloc[a:b].to_numpy(dtype=np.float64) - mu) * np.sqrt(p[a:b])[:, None]
            cov += w.T @ w
        return pd.DataFrame(cov, index=returns.columns, columns=returns.columns)

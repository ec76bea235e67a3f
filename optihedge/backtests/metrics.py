"""Performance and hedge statistics of value paths: what a backtest's summary reports.

Pure functions of plain pandas inputs (the engine that produces the daily paths lives
elsewhere): a path is a Series of a portfolio's value in currency, positive, oldest
first, one observation per period (a trading day, a week or a month); returns are simple
returns per period (0.01 = 1%); P&L is in currency per period.

Frequency and annualisation come from :mod:`optihedge.calendar` (the data's frequency is
inferred from the dates, or passed as ``frequency=``); an annual ``rate`` is continuously
compounded and earns ``exp(rate / periods_per_year) - 1`` per period.

- Drawdowns: :func:`drawdown`, :func:`longest_drawdown`, :func:`longest_drawdown_dates`.
- :func:`performance`: total and annualised return, volatility, Sharpe ratio, maximum
  and longest drawdown; :func:`summary` over the whole period and named windows
  (:data:`NAMED_WINDOWS`).
- Hedge statistics: :func:`hedge_efficiency`, :func:`capture`, :func:`bull_market_drag`,
  :func:`variance_reduction`, :func:`divested_alternative`.
- Calibration of predicted risk: :func:`bias_statistic`, :func:`qlike`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from optihedge._validation import (
    align_labels,
    as_float_array,
    as_sample,
    check_dates,
    check_option,
    check_scalar,
)
from optihedge.calendar import DEFAULT_CALENDAR, Frequency, resolve_frequency
from optihedge.datasets import STRESS_WINDOWS
from optihedge.errors import DataError, SpecificationError
from optihedge.measures.risk import max_drawdown

__all__ = [
    "NAMED_WINDOWS",
    "PERFORMANCE_FIELDS",
    "WHOLE_PERIOD",
    "bias_statistic",
    "bull_market_drag",
    "capture",
    "divested_alternative",
    "drawdown",
    "hedge_efficiency",
    "longest_drawdown",
    "longest_drawdown_dates",
    "performance",
    "qlike",
    "summary",
    "variance_reduction",
]

#: Named windows of market history (inclusive dates) a backtest's summary reports on:
#: the three stress windows of :data:`optihedge.datasets.STRESS_WINDOWS` (the global
#: financial crisis, September 2008 to the March 2009 low; the COVID crash from the
#: S&P 500's peak close on 2020-02-19 to its trough on 2020-03-23; the 2022 bear market
#: from its peak close on 2022-01-03 to the October low), and three calm spells chosen
#: for low implied volatility (the VIX averaged about 11 to 18 in each of their years)
#: and no bear market: 2004-2006, 2012-2014 and 2017 (the VIX's lowest yearly average,
#: 11.1 in the shipped data). A window is reported only where the data cover it.
NAMED_WINDOWS: dict[str, tuple[str, str]] = {
    **STRESS_WINDOWS,
    "calm 2004-06": ("2004-01-01", "2006-12-31"),
    "calm 2012-14": ("2012-01-01", "2014-12-31"),
    "calm 2017": ("2017-01-01", "2017-12-31"),
}

#: The figures :func:`performance` returns, in order.
PERFORMANCE_FIELDS = (
    "total_return",
    "annualised_return",
    "annualised_volatility",
    "sharpe",
    "max_drawdown",
    "longest_drawdown",
)

_NAN = float("nan")


# ---------------------------------------------------------------- input checks


def _series(values: Any, name: str, what: str) -> pd.Series:
    if not isinstance(values, pd.Series):
        raise DataError(
            f"The '{name}' argument must be a pandas Series of {what}, oldest first. Got "
            f"{type(values).__name__}; wrap it, e.g. pd.Series(values, index=dates)."
        )
    check_dates(values.index, name)
    return values


def _enough(n: int, minimum: int, name: str, what: str) -> None:
    if n < minimum:
        raise DataError(
            f"The '{name}' argument has {n} observation(s); at least {minimum} {what} are "
            "needed. Pass a longer series."
        )


def _floats(values: pd.Series, name: str, hint: str, **bounds: Any) -> pd.Series:
    try:
        arr = as_float_array(values.to_numpy(), name, **bounds)
    except DataError as exc:
        raise DataError(f"{exc} {hint}") from None
    return pd.Series(arr, index=values.index, name=values.name)


def _path(values: Any, name: str, *, minimum: int = 2) -> pd.Series:
    """Return a value path checked: positive finite values with increasing labels."""
    s = _series(values, name, "values (a portfolio's value in currency)")
    _enough(len(s), minimum, name, "values")
    return _floats(
        s,
        name,
        "A value path is a portfolio's value in currency, each above 0: drop or fill "
        "missing days, and pass values (e.g. (1 + returns).cumprod()), not returns.",
        lower=0.0,
        lower_inclusive=False,
    )


def _returns(values: Any, name: str, *, minimum: int = 1) -> pd.Series:
    """Return simple returns checked: finite, each above -1, increasing labels."""
    s = _series(values, name, "simple returns per period (0.01 = 1%)")
    _enough(len(s), minimum, name, "returns")
    return _floats(
        s,
        name,
        "Simple returns per period are above -1 (0.01 = 1%): drop or fill missing days.",
        lower=-1.0,
        lower_inclusive=False,
    )


def _pnl(values: Any, name: str) -> pd.Series:
    s = _series(values, name, "P&L per period in currency")
    _enough(len(s), 1, name, "P&L values")
    return _floats(s, name, "P&L is finite: drop or fill missing days.")


def _dated(values: pd.Series, name: str) -> None:
    if not isinstance(values.index, pd.DatetimeIndex):
        raise DataError(
            f"The '{name}' argument needs dates (a DatetimeIndex) to group by period; got "
            f"a {type(values.index).__name__}. Set the dates as its index."
        )


def _aligned(left: pd.Series, right: pd.Series, names: tuple[str, str]) -> None:
    align_labels(left, right, names)


def _rate(rate: Any) -> float:
    return check_scalar(
        rate,
        "rate",
        hint="The rate is an annual, continuously compounded cash rate (0.03 = 3%).",
    )


def _frequency(frequency: Any, values: pd.Series, name: str) -> Frequency:
    if frequency is None and not isinstance(values.index, pd.DatetimeIndex):
        raise DataError(
            f"The frequency of '{name}' cannot be inferred: its index is a "
            f"{type(values.index).__name__}, not dates. Set a DatetimeIndex, or pass "
            "frequency='daily', 'weekly' or 'monthly'."
        )
    return resolve_frequency(frequency, values.index, name)


def _cash_per_period(rate: float, freq: Frequency) -> float:
    """Return cash's simple return over one period: ``exp(rate / periods_per_year) - 1``."""
    return math.expm1(rate * freq.years(1))


Period = Literal["D", "M"]


def _period(period: Any) -> str:
    return str(check_option(period, "period", ("D", "M")))


def _compound_by_month(returns: pd.Series) -> pd.Series:
    """Compound simple returns within each calendar month (labelled by the month)."""
    months = returns.index.to_period("M")  # type: ignore[attr-defined]
    return (1.0 + returns).groupby(months).prod() - 1.0


# ---------------------------------------------------------------- drawdowns


def drawdown(values: pd.Series) -> pd.Series:
    r"""Fraction of the running peak the value is below, at each observation.

    .. math:: D_t = 1 - V_t / \max_{s \le t} V_s

    Parameters
    ----------
    values : Series of shape (n_observations,)
        A value path: a portfolio's value in currency (any positive unit), oldest first,
        at least two observations, increasing labels (dates).

    Returns
    -------
    Series
        The drawdown at each observation as a fraction of the peak so far (0.25 = 25%
        below it), in [0, 1), 0 at every new peak; same index, named ``"drawdown"``. Its
        maximum is :func:`optihedge.measures.risk.max_drawdown` of the path's returns.
    """
    v = _path(values, "values")
    peaks = v.cummax()
    return (1.0 - v / peaks).rename("drawdown")


def _longest_spell(v: pd.Series) -> tuple[int, int, int]:
    """(length, start position, end position) of the longest spell below a peak."""
    arr = v.to_numpy()
    peaks = np.maximum.accumulate(arr)
    below = arr < peaks
    best = (0, 0, 0)
    start = -1
    for i, under in enumerate(below):
        if under and start < 0:
            start = i - 1  # the peak is the observation before the first one below it
        if start >= 0 and (not under or i == len(arr) - 1):
            end = i
            if end - start > best[0]:
                best = (end - start, start, end)
            start = -1
    return best


def longest_drawdown(values: pd.Series) -> int:
    """Longest drawdown, in observations: from a peak until the value is back at it.

    A spell starts at a peak (the last observation before the value falls below the
    running peak) and ends at the first observation at or above that peak, or at the
    last observation if the value never recovers. On daily data it counts trading days,
    on monthly data months. A path 100, 120, 90, 130 has a 2-observation drawdown (from
    120 to 130).

    Parameters
    ----------
    values : Series of shape (n_observations,)
        A value path (positive, oldest first, at least two observations).

    Returns
    -------
    int
        Observations from the peak to the recovery (0 if the path never falls below a
        peak). Its dates: :func:`longest_drawdown_dates`.
    """
    return _longest_spell(_path(values, "values"))[0]


def longest_drawdown_dates(values: pd.Series) -> tuple[Hashable, Hashable] | None:
    """Dates (labels) of the longest drawdown: its peak and its recovery (or the end).

    Parameters
    ----------
    values : Series of shape (n_observations,)
        A value path (positive, oldest first, at least two observations).

    Returns
    -------
    (start, end) or None
        The labels of the peak the spell starts at and of the first observation back at
        or above it (the last observation if the value never recovers); None if the path
        never falls below a peak. The first of several equally long spells is returned.
    """
    v = _path(values, "values")
    length, start, end = _longest_spell(v)
    if length == 0:
        return None
    return v.index[start], v.index[end]


# ---------------------------------------------------------------- performance


def performance(
    values: pd.Series,
    *,
    rate: float = 0.0,
    frequency: Frequency | str | None = None,
) -> pd.Series:
    r"""Return, risk and drawdowns of a value path over its whole length.

    With :math:`r_t = V_t / V_{t-1} - 1` the simple return of each of the :math:`n`
    periods, :math:`P` the periods a year of the data's frequency (252 daily, 52
    weekly, 12 monthly) and :math:`c = e^{\text{rate}/P} - 1` the cash rate per period:

    - ``total_return`` :math:`= V_n / V_0 - 1` over the whole path;
    - ``annualised_return`` :math:`= (V_n / V_0)^{P/n} - 1` (geometric, a year);
    - ``annualised_volatility`` :math:`= \operatorname{std}(r)\sqrt{P}` (sample standard
      deviation, ddof=1, of the period returns);
    - ``sharpe`` :math:`= \operatorname{mean}(r - c) / \operatorname{std}(r) \sqrt{P}`
      (annualised; NaN when the returns do not vary);
    - ``max_drawdown``: the largest fall from a peak, a fraction of the peak
      (:func:`optihedge.measures.risk.max_drawdown` of the returns);
    - ``longest_drawdown``: :func:`longest_drawdown`, in periods of the data.

    Parameters
    ----------
    values : Series of shape (n_observations,)
        A value path in currency, positive, oldest first, at least three observations
        (two returns), on a DatetimeIndex unless ``frequency`` is given.
    rate : float, default 0.0
        Annual cash rate, continuously compounded (0.03 = 3%), for the Sharpe ratio.
    frequency : Frequency or str, optional
        The data's frequency (``"daily"``, ``"weekly"``, ``"monthly"``); None infers it
        from the dates (:func:`optihedge.calendar.infer_frequency`).

    Returns
    -------
    Series
        The six figures above, indexed by :data:`PERFORMANCE_FIELDS`, all floats.
    """
    v = _path(values, "values", minimum=3)
    r = _rate(rate)
    freq = _frequency(frequency, v, "values")
    return _performance(v, r, freq)


def _flat(returns: np.ndarray, std: float) -> bool:
    """Whether returns do not vary beyond rounding (a standard deviation of noise)."""
    scale = max(1.0, float(np.max(np.abs(returns))))
    return std <= 64.0 * float(np.finfo(np.float64).eps) * scale


def _performance(v: pd.Series, rate: float, freq: Frequency) -> pd.Series:
    arr = v.to_numpy()
    returns = arr[1:] / arr[:-1] - 1.0
    n = len(returns)
    ppy = freq.periods_per_year
    growth = arr[-1] / arr[0]
    std = float(np.std(returns, ddof=1))
    excess = float(np.mean(returns - _cash_per_period(rate, freq)))
    sharpe = excess / std * math.sqrt(ppy) if not _flat(returns, std) else _NAN
    figures = {
        "total_return": growth - 1.0,
        "annualised_return": growth ** (1.0 / freq.years(n)) - 1.0,
        "annualised_volatility": std * math.sqrt(ppy),
        "sharpe": sharpe,
        "max_drawdown": float(np.asarray(max_drawdown(returns))),
        "longest_drawdown": float(_longest_spell(v)[0]),
    }
    return pd.Series(figures, name=v.name, dtype=np.float64)


# ---------------------------------------------------------------- hedge statistics


def hedge_efficiency(book_pnl: pd.Series, hedge_pnl: pd.Series, *, period: Period = "D") -> float:
    r"""Share of the book's losses the hedge offset.

    With :math:`B_t` the book's P&L and :math:`H_t` the hedge's in period :math:`t`, over
    the periods in which the book lost (:math:`B_t < 0`):

    .. math:: \text{efficiency} = \frac{\sum_{t: B_t < 0} H_t}{\sum_{t: B_t < 0} (-B_t)}

    1 means every loss was offset in full, 0 that the hedge made nothing in the book's
    losing periods, a negative value that the hedge added to the losses, above 1 that it
    more than offset them.

    Parameters
    ----------
    book_pnl, hedge_pnl : Series of shape (n_observations,)
        The unhedged book's P&L and the hedge's P&L (all legs, costs included if the
        caller wants them counted) in currency per observation, on the same labels
        (dates, oldest first), finite.
    period : {"D", "M"}, default "D"
        The periods losses are counted over: each observation ("D", e.g. a trading day),
        or calendar months ("M": both P&L summed within each month; needs dates).

    Returns
    -------
    float
        The ratio above (unitless, over the whole series); NaN if the book never lost.
    """
    book = _pnl(book_pnl, "book_pnl")
    hedge = _pnl(hedge_pnl, "hedge_pnl")
    _aligned(book, hedge, ("book_pnl", "hedge_pnl"))
    if _period(period) == "M":
        _dated(book, "book_pnl")
        months = book.index.to_period("M")  # type: ignore[attr-defined]
        book, hedge = book.groupby(months).sum(), hedge.groupby(months).sum()
    losing = book.to_numpy() < 0.0
    if not losing.any():
        return _NAN
    return float(hedge.to_numpy()[losing].sum() / -book.to_numpy()[losing].sum())


def _geometric_mean(returns: np.ndarray) -> float:
    """Return the geometric mean simple return per period of ``returns``."""
    return float(np.expm1(np.mean(np.log1p(returns))))


def capture(
    returns: pd.Series, benchmark: pd.Series, *, period: Period = "M"
) -> tuple[float, float]:
    r"""Up- and down-market capture ratios of a return series against a benchmark.

    The series and the benchmark are compounded to periods (calendar months by
    default); over the :math:`n_u` periods in which the benchmark rose
    (:math:`b_t > 0`),

    .. math:: \text{upside} = \frac{\big(\prod (1 + r_t)\big)^{1/n_u} - 1}
                                   {\big(\prod (1 + b_t)\big)^{1/n_u} - 1}

    the ratio of the geometric mean period returns; the downside ratio is the same over
    the periods in which the benchmark fell (:math:`b_t < 0`; periods with
    :math:`b_t = 0` count in neither). Morningstar's capture ratios annualise both
    means (exponent :math:`12/n_u` on monthly data) before dividing; the ratio of
    geometric means used here is 1 in the same cases and close to theirs otherwise.

    A hedge that keeps most of the rises and little of the falls has an upside capture
    near 1 and a downside capture well below 1; a series against itself gives (1, 1).

    Parameters
    ----------
    returns, benchmark : Series of shape (n_observations,)
        Simple returns per observation (0.01 = 1%), each above -1, on the same dates
        (a DatetimeIndex when ``period="M"``), oldest first: e.g. the hedged book's daily
        returns and the unhedged book's.
    period : {"M", "D"}, default "M"
        Calendar months ("M", returns compounded within each month) or each observation
        as it is ("D").

    Returns
    -------
    (upside, downside) : tuple of float
        Unitless ratios; NaN for a side with no period (the benchmark never rose, or
        never fell).
    """
    r = _returns(returns, "returns")
    b = _returns(benchmark, "benchmark")
    _aligned(r, b, ("returns", "benchmark"))
    if _period(period) == "M":
        _dated(r, "returns")
        r, b = _compound_by_month(r), _compound_by_month(b)
    rr, bb = r.to_numpy(), b.to_numpy()
    out = []
    for mask in (bb > 0.0, bb < 0.0):
        out.append(_geometric_mean(rr[mask]) / _geometric_mean(bb[mask]) if mask.any() else _NAN)
    return out[0], out[1]


def bull_market_drag(hedged_returns: pd.Series, unhedged_returns: pd.Series) -> float:
    r"""Annualised cost of the hedge in rising months.

    Both series are compounded within calendar months; the rising months are the
    :math:`n` months in which the unhedged book's compounded return :math:`u_m` was
    positive, and with :math:`h_m` the hedged book's return in the same months

    .. math:: \text{drag} = \left(\frac{\prod_m (1 + u_m)}{\prod_m (1 + h_m)}\right)^{12/n} - 1

    the yearly rate at which the hedged book fell behind the unhedged one while the
    market rose (0.02 = it gave up 2% a year; negative: the hedged book did better).

    Parameters
    ----------
    hedged_returns, unhedged_returns : Series of shape (n_observations,)
        Simple returns per observation (daily, weekly or monthly; 0.01 = 1%), each above
        -1, on the same dates (a DatetimeIndex), oldest first.

    Returns
    -------
    float
        The annualised drag (a rate a year); NaN if no month rose.
    """
    h = _returns(hedged_returns, "hedged_returns")
    u = _returns(unhedged_returns, "unhedged_returns")
    _aligned(h, u, ("hedged_returns", "unhedged_returns"))
    _dated(h, "hedged_returns")
    hm, um = _compound_by_month(h).to_numpy(), _compound_by_month(u).to_numpy()
    rising = um > 0.0
    n = int(rising.sum())
    if n == 0:
        return _NAN
    log_gap = float(np.sum(np.log1p(um[rising])) - np.sum(np.log1p(hm[rising])))
    return math.expm1(log_gap / Frequency.MONTHLY.years(n))


def variance_reduction(
    book_returns: pd.Series, hedged_returns: pd.Series, windows: pd.DatetimeIndex
) -> pd.Series:
    r"""Out-of-sample variance reduction of the hedge in each rebalance window.

    Window :math:`i` holds the returns strictly after its start date :math:`s_i` up to
    and including the next start :math:`s_{i+1}` (the last window: to the end of the
    data), i.e. the returns earned by the hedge decided on :math:`s_i`; in it

    .. math:: \text{reduction}_i = 1 - \operatorname{var}(h) / \operatorname{var}(b)

    with sample variances (ddof=1) of the hedged and unhedged returns. 1 removes all
    the variance, 0 none, negative adds variance.

    Parameters
    ----------
    book_returns, hedged_returns : Series of shape (n_observations,)
        Simple returns per observation (0.01 = 1%) of the unhedged and the hedged book,
        each above -1, on the same dates (a DatetimeIndex), oldest first.
    windows : DatetimeIndex
        The decision dates (window starts), strictly increasing, at least one.

    Returns
    -------
    Series
        One reduction per window (unitless), indexed by the window's start
        (``"window_start"``); NaN for a window with fewer than two returns or a book
        whose returns do not vary in it.
    """
    b = _returns(book_returns, "book_returns", minimum=2)
    h = _returns(hedged_returns, "hedged_returns", minimum=2)
    _aligned(b, h, ("book_returns", "hedged_returns"))
    _dated(b, "book_returns")
    if not isinstance(windows, pd.DatetimeIndex) or len(windows) == 0:
        raise SpecificationError(
            "The 'windows' argument must be a non-empty DatetimeIndex of window starts "
            f"(decision dates). Got {windows!r}; pass e.g. pd.DatetimeIndex(decision_dates)."
        )
    check_dates(windows, "windows")
    dates = b.index.to_numpy()
    bounds = np.searchsorted(dates, windows.to_numpy(), side="right")
    ends = np.append(bounds[1:], len(dates))
    out = []
    for lo, hi in zip(bounds, ends, strict=True):
        bw, hw = b.to_numpy()[lo:hi], h.to_numpy()[lo:hi]
        var_b = float(np.var(bw, ddof=1)) if len(bw) > 1 else 0.0
        flat = len(bw) < 2 or var_b <= 0.0 or _flat(bw, math.sqrt(var_b))
        out.append(_NAN if flat else 1.0 - float(np.var(hw, ddof=1)) / var_b)
    return pd.Series(
        out, index=windows.rename("window_start"), name="variance_reduction", dtype=np.float64
    )


# ---------------------------------------------------------------- predicted risk


def _paired(first: Any, second: Any, names: tuple[str, str], **bounds: Any) -> tuple[Any, Any]:
    a = as_sample(first, names[0])
    b = as_sample(second, names[1])
    _aligned(a, b, names)
    _enough(len(a), 2, names[0], "windows")
    hints = (
        "Pass one figure per rebalance window.",
        "Predicted risk is positive: drop windows without a forecast.",
    )
    try:
        as_float_array(b.to_numpy(), names[1], **bounds)
    except DataError as exc:
        raise DataError(f"{exc} {hints[1]}") from None
    return a.to_numpy(), b.to_numpy()


def bias_statistic(realised: Any, predicted_vol: Any) -> float:
    r"""Barra's bias statistic: the dispersion of returns in units of predicted risk.

    .. math:: B = \operatorname{std}(r_w / \hat\sigma_w) \quad (\text{ddof} = 1)

    over the rebalance windows :math:`w`, with :math:`r_w` the return realised over the
    window and :math:`\hat\sigma_w` the volatility predicted for it at its start. 1 when
    the risk model is calibrated; above 1 it under-predicted risk, below 1 it
    over-predicted it (a 95% band for :math:`T` independent windows is roughly
    :math:`1 \pm \sqrt{2/T}`).

    Parameters
    ----------
    realised : Series or array-like of shape (n_windows,)
        The return realised over each window (simple return, 0.01 = 1%), finite.
    predicted_vol : Series or array-like of shape (n_windows,)
        The volatility predicted for each window at its start, positive, **of the same
        horizon** as the realised return (a 21-day window's return against a 21-day
        volatility, not an annual one), on the same labels; at least two windows.

    Returns
    -------
    float
        The bias statistic (unitless).
    """
    r, s = _paired(
        realised, predicted_vol, ("realised", "predicted_vol"), lower=0.0, lower_inclusive=False
    )
    return float(np.std(r / s, ddof=1))


def qlike(realised_var: Any, predicted_var: Any) -> float:
    r"""QLIKE loss of variance forecasts, as skfolio defines it.

    .. math:: \text{QLIKE} = \frac{1}{T} \sum_{w=1}^{T}
              \left(\log \hat\sigma_w^2 + \frac{RV_w}{\hat\sigma_w^2}\right)

    over the rebalance windows :math:`w`, with :math:`\hat\sigma^2_w` the variance
    predicted for the window at its start and :math:`RV_w` the variance realised over
    it (e.g. the sum of the window's squared period returns). This is skfolio's
    ``skfolio.metrics.qlike_loss`` (``log(sigma_t^2) + r_t^2 / sigma_t^2`` averaged;
    https://skfolio.org/generated/skfolio.metrics.qlike_loss.html) and, for a window of
    :math:`h` returns, its ``portfolio_variance_qlike_loss``
    (``log(h w'Sigma w) + sum (w'r_t)^2 / (h w'Sigma w)``). Lower is better: in
    expectation it is smallest for the true variance, and it penalises
    under-prediction more than over-prediction. Unlike skfolio, a non-positive forecast
    is refused rather than clipped. Its value depends on the unit of the variances, so
    compare models on the same windows only.

    Parameters
    ----------
    realised_var : Series or array-like of shape (n_windows,)
        Variance realised over each window (squared simple returns), >= 0.
    predicted_var : Series or array-like of shape (n_windows,)
        Variance predicted for each window, > 0, **of the same horizon** (a 21-day
        window's realised variance against a 21-day forecast), on the same labels; at
        least two windows.

    Returns
    -------
    float
        The mean loss (in log-variance units).
    """
    rv, pv = _paired(
        realised_var,
        predicted_var,
        ("realised_var", "predicted_var"),
        lower=0.0,
        lower_inclusive=False,
    )
    try:
        as_float_array(rv, "realised_var", lower=0.0)
    except DataError as exc:
        raise DataError(f"{exc} A realised variance is >= 0 (a sum of squared returns).") from None
    return float(np.mean(np.log(pv) + rv / pv))


# ---------------------------------------------------------------- the divested alternative


def _log_growth(f: float, d: np.ndarray, cash: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):  # -inf at the edge of (lo, hi)
        return float(np.sum(np.log1p(cash + f * d)))


def _bracket(
    gap: Callable[[float], float], inside: float, edge: float
) -> tuple[float, float] | None:
    """Return ``(a, b)`` between ``inside`` (gap >= 0) and ``edge`` with a sign change.

    ``edge`` is a finite boundary where the gap tends to -inf, or +-inf (then the gap
    rises without bound the other way, and no root lies on this side).
    """
    if not math.isfinite(edge):
        return None
    x = inside
    for _ in range(2200):  # halvings from any float distance down to the edge
        x = edge + (x - edge) / 2.0
        if gap(x) < 0.0:
            return (x, inside) if x < inside else (inside, x)
        inside = x
    return None


def divested_alternative(
    book_values: pd.Series,
    hedged_values: pd.Series,
    *,
    rate: float = 0.0,
    frequency: Frequency | str | None = None,
) -> tuple[float, pd.Series]:
    r"""Find the mix of the unhedged book and cash with the hedged path's compound return.

    Holding a fraction :math:`f` of the book and :math:`1 - f` in cash, rebalanced every
    period, grows by :math:`1 + f\,b_t + (1 - f)\,c` in period :math:`t`
    (:math:`b_t` the book's simple return, :math:`c = e^{\text{rate}/P} - 1` the cash
    return per period, :math:`P` the periods a year). The fraction solves

    .. math:: \prod_t \big(1 + c + f\,(b_t - c)\big) = V^h_n / V^h_0

    (the hedged path's growth over the whole period), by Brent's method. Is the hedge
    better than simply holding less? Compare the mix's drawdowns and volatility with the
    hedged path's (:func:`performance`): they earned the same.

    The log-growth of the mix is concave in :math:`f`: when two fractions match, the one
    with the smaller exposure :math:`|f|` is returned (the other carries more of the
    book's risk for the same return; of two equally large, to 9 decimals, the long
    one). The fraction may exceed 1 (borrowing at the cash rate) or be negative (short
    the book).

    Parameters
    ----------
    book_values, hedged_values : Series of shape (n_observations,)
        Value paths in currency of the unhedged book and the hedged book, positive, on
        the same dates, oldest first, at least three observations.
    rate : float, default 0.0
        Annual cash rate, continuously compounded (0.03 = 3%).
    frequency : Frequency or str, optional
        The data's frequency; None infers it from the dates.

    Returns
    -------
    fraction : float
        The book's share of the mix (unitless).
    values : Series
        The mix's value path in currency, on the same dates, starting at the hedged
        path's first value (and ending at its last, to rounding).

    Raises
    ------
    SpecificationError
        No fraction matches: the hedged path grew more than any mix of the book and cash
        can (the message gives the best mix's growth), or the book earned exactly the
        cash rate every period (every fraction matches).
    """
    book = _path(book_values, "book_values", minimum=3)
    hedged = _path(hedged_values, "hedged_values", minimum=3)
    _aligned(book, hedged, ("book_values", "hedged_values"))
    cash = _cash_per_period(_rate(rate), _frequency(frequency, book, "book_values"))
    bv = book.to_numpy()
    d = bv[1:] / bv[:-1] - 1.0 - cash
    hv = hedged.to_numpy()
    target = float(np.log(hv[-1] / hv[0]))
    if not np.any(d != 0.0):
        raise SpecificationError(
            "No single divested fraction: the 'book_values' earned exactly the cash rate "
            f"({rate!r} a year) every period, so every mix of book and cash grows alike. "
            "Compare with cash directly."
        )
    # the mix stays positive for f in (lo, hi)
    pos, neg = d > 0.0, d < 0.0
    with np.errstate(over="ignore"):  # a denormal step: no bound on that side
        lo = float(np.max(-(1.0 + cash) / d[pos])) if pos.any() else -math.inf
        hi = float(np.min(-(1.0 + cash) / d[neg])) if neg.any() else math.inf

    def gap(f: float) -> float:
        return _log_growth(f, d, cash) - target

    def slope(f: float) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.sum(d / (1.0 + cash + f * d)))

    best = _argmax(slope, lo, hi)
    if math.isfinite(best):
        peak = best
    else:  # monotone: walk toward the unbounded side until the gap is >= 0
        peak, step = 0.0, 1.0
        while gap(peak) < 0.0 and abs(peak) < 1e12:
            peak = step if best > 0 else -step
            step *= 2.0
    if gap(peak) < 0.0:
        raise SpecificationError(
            "No mix of the book and cash matches the hedged path: 'hedged_values' grew by "
            f"{math.expm1(target):.6g} over the period, more than the best mix "
            f"(fraction {peak:.6g}, growth {math.expm1(gap(peak) + target):.6g}) can. "
            "The hedge beat every divested alternative: report that instead."
        )
    roots = []
    for edge in (lo, hi):
        bracket = _bracket(gap, peak, edge)
        if bracket is not None:
            roots.append(float(brentq(gap, *bracket, xtol=1e-15, rtol=4 * np.finfo(float).eps)))
    if gap(peak) == 0.0 or not roots:
        roots.append(peak)
    # the smaller exposure; a tie (to rounding) goes to the long side
    fraction = min(roots, key=lambda f: (round(abs(f), 9), -f))
    growth = np.concatenate(([1.0], np.cumprod(1.0 + cash + fraction * d)))
    return fraction, pd.Series(hv[0] * growth, index=hedged.index, name="divested")


def _argmax(slope: Callable[[float], float], lo: float, hi: float) -> float:
    """Return where the decreasing ``slope`` crosses 0 in (lo, hi); +-inf if it does not."""
    if not math.isfinite(hi):
        return math.inf  # every return at or above cash: the log-growth rises forever
    if not math.isfinite(lo):
        return -math.inf
    a, b = 0.0, 0.0
    while slope(a) <= 0.0:
        a = lo + (a - lo) / 2.0
    while slope(b) >= 0.0:
        b = hi + (b - hi) / 2.0
    return float(brentq(slope, a, b, xtol=1e-15))


# ---------------------------------------------------------------- the summary table

#: Name of the summary's row group over the whole period.
WHOLE_PERIOD = "whole period"


def _window_rows(index: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp) -> slice | None:
    """Positions of a window's path: from the last date on or before ``start`` to ``end``.

    The value at the start's close (or the last close before it, when the start is not a
    trading day) is the window's base, so the window's returns are those of the dates
    after it up to ``end``. None when the data do not cover the window: they begin after
    its start, or end before its last weekday.
    """
    if len(index) == 0 or index[0] > start or index[-1] < DEFAULT_CALENDAR.add(end, 0):
        return None
    first = int(np.searchsorted(index.to_numpy(), start.to_datetime64(), side="right")) - 1
    last = int(np.searchsorted(index.to_numpy(), end.to_datetime64(), side="right"))
    return slice(first, last)


def _windows(windows: Any) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    if not isinstance(windows, Mapping):
        raise SpecificationError(
            "The 'windows' argument must be a mapping of name to (start, end) dates, like "
            f"NAMED_WINDOWS. Got {type(windows).__name__}."
        )
    out = {}
    for name, span in windows.items():
        try:
            start, end = (pd.Timestamp(x) for x in span)
        except (TypeError, ValueError) as exc:
            raise SpecificationError(
                f"The 'windows' argument's entry {name!r} must be a (start, end) pair of "
                f"dates (e.g. ('2008-09-01', '2009-03-31')). Got {span!r}."
            ) from exc
        if pd.isna(start) or pd.isna(end) or not start < end:
            raise SpecificationError(
                f"The 'windows' argument's entry {name!r} must start before it ends. Got "
                f"{span!r}; swap or correct the dates."
            )
        out[str(name)] = (start, end)
    return out


def summary(
    paths: pd.DataFrame,
    windows: Mapping[str, tuple[Any, Any]] = NAMED_WINDOWS,
    *,
    rate: float = 0.0,
    frequency: Frequency | str | None = None,
) -> pd.DataFrame:
    """:func:`performance` of each path over the whole period and each named window.

    A window's path runs from the value at its start date's close (the last observation
    on or before the start) to the last observation on or before its end, so its
    returns are those of the window's dates. Windows the data do not cover in full (the
    data begin after the start, or end before the window's last weekday) or that hold
    fewer than three values (e.g. a five-week window on monthly data) are omitted and
    listed in ``result.attrs["skipped"]``. Figures are annualised at the frequency of the
    whole data, so a window's figures read like the whole period's.

    Parameters
    ----------
    paths : DataFrame of shape (n_observations, n_paths)
        Value paths in currency, one column each (e.g. ``"hedged"``, ``"unhedged"``),
        positive and finite, on a DatetimeIndex (oldest first), at least three rows.
    windows : mapping of name to (start, end), default :data:`NAMED_WINDOWS`
        Inclusive date ranges.
    rate : float, default 0.0
        Annual cash rate, continuously compounded, for the Sharpe ratios.
    frequency : Frequency or str, optional
        The data's frequency; None infers it from the dates.

    Returns
    -------
    DataFrame
        Rows indexed by (``window``, ``path``), ``"whole period"`` first, then the
        covered windows in the order given; columns :data:`PERFORMANCE_FIELDS`.
        ``attrs["skipped"]``: the names of the windows left out.
    """
    if not isinstance(paths, pd.DataFrame) or paths.shape[1] == 0:
        raise DataError(
            "The 'paths' argument must be a DataFrame with one value path per column "
            f"(e.g. 'hedged', 'unhedged'). Got {type(paths).__name__}"
            + (" with no columns." if isinstance(paths, pd.DataFrame) else ".")
        )
    columns = {str(c): _path(paths[c], f"paths[{c!r}]", minimum=3) for c in paths.columns}
    first = next(iter(columns.values()))
    _dated(first, "paths")
    r = _rate(rate)
    freq = _frequency(frequency, first, "paths")
    spans = _windows(windows)
    rows: dict[tuple[str, str], pd.Series] = {}
    for col, v in columns.items():
        rows[(WHOLE_PERIOD, col)] = _performance(v, r, freq)
    skipped = []
    index = pd.DatetimeIndex(first.index)
    for name, (start, end) in spans.items():
        part = _window_rows(index, start, end)
        if part is None or part.stop - part.start < 3:
            skipped.append(name)
            continue
        for col, v in columns.items():
            rows[(name, col)] = _performance(v.iloc[part], r, freq)
    out = pd.DataFrame(
        list(rows.values()), index=pd.MultiIndex.from_tuples(list(rows), names=["window", "path"])
    )
    out = out[list(PERFORMANCE_FIELDS)]
    out.attrs["skipped"] = skipped
    return out

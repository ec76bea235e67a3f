"""A hedge policy as one value: what it solves, how, when, and the rules around it.

The problem's structure, how its inputs are estimated on each decision date, when it
decides, and the rules that add, size and remove protection.

:class:`HedgePolicy` composes the problem's :class:`~optihedge.optimize.spec.ProblemSpec`
(instruments, objective, constraints, horizon, market), an :class:`Estimation` of the risk
model, an optional :class:`ScenarioRecipe`, the decision schedule, regime bands, triggers,
the exit rule written at entry and the premium budget (:mod:`optihedge.backtests.policy`).
It is frozen and pickles, so it travels to backtest workers; :meth:`HedgePolicy.to_dict`
is what a policy file holds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optihedge._validation import check_int, check_scalar
from optihedge.backtests.policy import (
    HoldToExpiry,
    PremiumBudget,
    Regimes,
    Schedule,
    Trigger,
)
from optihedge.calendar import Frequency
from optihedge.errors import DataError, SpecificationError
from optihedge.optimize.spec import ProblemSpec
from optihedge.scenarios import Scenarios

__all__ = [
    "ESTIMATORS",
    "MISSING_DATA",
    "SCENARIO_KINDS",
    "Estimation",
    "HedgePolicy",
    "ScenarioRecipe",
    "policy_from_dict",
]

#: Risk-model estimators a policy can name.
ESTIMATORS = ("sample", "ewma", "factor", "given")
#: Scenario builders a policy can name.
SCENARIO_KINDS = ("historical", "bootstrap", "monte_carlo")
#: What a backtest does with a hedge instrument whose data have gaps (HedgePolicy.missing_data).
MISSING_DATA = ("refuse", "trade_when_available")


@dataclass(frozen=True, kw_only=True)
class Estimation:
    """How the risk model is estimated on each decision date.

    Parameters
    ----------
    kind : {"sample", "ewma", "factor", "given"}, default "sample"
        ``"sample"``: the sample covariance of the last ``window`` returns;
        ``"ewma"``: exponentially weighted with ``halflife`` periods
        (:class:`factor_models.EWMACovariance`); ``"factor"``: a
        :class:`~optihedge.FactorModel` on the ``factors`` columns over ``window``;
        ``"given"``: ``risk_model`` as it is on every date (nothing is estimated).
    window : int, default 252
        Returns read, periods of the data, most recent the day before the decision.
    halflife : float, default 63
        Periods, for ``"ewma"``.
    factors : tuple of str, default ("SP500",)
        Factor columns, for ``"factor"``.
    risk_model : RiskModel, optional
        For ``"given"``.
    """

    kind: str = "sample"
    window: int = 252
    halflife: float = 63.0
    factors: tuple[str, ...] = ("SP500",)
    risk_model: Any = None

    def __post_init__(self) -> None:
        if self.kind not in ESTIMATORS:
            raise SpecificationError(
                f"The 'estimation.kind' argument must be one of {list(ESTIMATORS)}. "
                f"Got {self.kind!r}."
            )
        object.__setattr__(self, "window", check_int(self.window, "estimation.window", lower=2))
        check_scalar(self.halflife, "estimation.halflife", lower=0.0, lower_inclusive=False)
        object.__setattr__(self, "factors", tuple(self.factors))
        if self.kind == "given" and self.risk_model is None:
            raise SpecificationError(
                "Estimation(kind='given') needs risk_model=...: the model used on every date."
            )

    @property
    def needs(self) -> int:
        """Returns read before the first decision (0 for a given model)."""
        return 0 if self.kind == "given" else self.window

    def key(self) -> str:
        """Return what identifies the estimate besides the data and the date (for the cache)."""
        return f"{self.kind}:{self.window}:{self.halflife}:{','.join(self.factors)}"

    def estimate(self, returns: pd.DataFrame, frequency: Frequency) -> Any:
        """Return the risk model of ``returns`` (the window, read-only, most recent last)."""
        if self.kind == "given":
            return self.risk_model
        from factor_models import EWMACovariance, FactorModel, RiskModel

        last = returns.index[-1]
        if self.kind == "factor":
            missing = [f for f in self.factors if f not in returns.columns]
            if missing:
                raise DataError(
                    f"The factor model's factors {missing} are not columns of the data; pass "
                    "Estimation(factors=...) among them."
                )
            model = FactorModel(windows=(len(returns),)).fit(returns, returns[list(self.factors)])
            return model.risk_model_
        if self.kind == "ewma":
            cov = EWMACovariance(halflife=self.halflife).fit(returns).covariance_
            frame = pd.DataFrame(cov, index=returns.columns, columns=returns.columns)
        else:
            frame = returns.cov()
        return RiskModel.from_covariance(
            frame, repair="clip", window=len(returns), asof=last, frequency=frequency
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Estimation:
        """Inverse of :meth:`to_dict` (``"given"`` needs the model: it cannot be read)."""
        return cls(**_fields(d, ("kind", "window", "halflife", "factors"), "estimation"))

    def to_dict(self) -> dict[str, Any]:
        """Plain fields (a given risk model is not serialised: it names ``"given"``)."""
        return {
            "kind": self.kind,
            "window": self.window,
            "halflife": self.halflife,
            "factors": list(self.factors),
        }


@dataclass(frozen=True, kw_only=True)
class ScenarioRecipe:
    """How scenarios are built on each decision date (for expected shortfall and VaR).

    Parameters
    ----------
    kind : {"historical", "bootstrap", "monte_carlo"}, default "historical"
        Overlapping ``horizon``-period paths of the last ``window`` returns; ``n``
        bootstrapped paths of them; or ``n`` draws from the estimated risk model
        (Student t with ``dof`` degrees of freedom when given).
    window : int, default 756
        Returns read, periods of the data, most recent the day before the decision.
    horizon : int, default 21
        Periods of each scenario.
    n : int, default 10_000
        Scenarios, for ``"bootstrap"`` and ``"monte_carlo"``.
    dof : float, optional
        Degrees of freedom of the Monte Carlo's Student t (None: normal).
    seed : int, default 0
        Seed of the draws; each decision date draws with ``seed`` and its date, so a
        rerun (or a resumed run) draws the same scenarios.
    """

    kind: str = "historical"
    window: int = 756
    horizon: int = 21
    n: int = 10_000
    dof: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in SCENARIO_KINDS:
            raise SpecificationError(
                f"The 'scenarios.kind' argument must be one of {list(SCENARIO_KINDS)}. "
                f"Got {self.kind!r}."
            )
        object.__setattr__(self, "window", check_int(self.window, "scenarios.window", lower=2))
        object.__setattr__(self, "horizon", check_int(self.horizon, "scenarios.horizon"))
        object.__setattr__(self, "n", check_int(self.n, "scenarios.n", lower=10))
        object.__setattr__(self, "seed", check_int(self.seed, "scenarios.seed", lower=0))
        if self.dof is not None:
            check_scalar(self.dof, "scenarios.dof", lower=2.0, lower_inclusive=False)
        if self.kind == "historical" and self.window < self.horizon + 1:
            raise SpecificationError(
                f"The scenarios' window ({self.window}) must hold more than one "
                f"{self.horizon}-period path; pass window > horizon."
            )

    def build(self, returns: pd.DataFrame, risk_model: Any, date: pd.Timestamp) -> Scenarios:
        """Return the scenarios of the window ``returns`` for the decision on ``date``."""
        seed = self.seed + int(date.strftime("%Y%m%d"))
        if self.kind == "historical":
            return Scenarios.historical(returns, horizon=self.horizon)
        if self.kind == "bootstrap":
            return Scenarios.bootstrap(returns, self.n, horizon=self.horizon, seed=seed)
        return Scenarios.monte_carlo(
            risk_model, self.n, horizon=self.horizon, dof=self.dof, seed=seed
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ScenarioRecipe:
        """Inverse of :meth:`to_dict`."""
        keys = ("kind", "window", "horizon", "n", "dof", "seed")
        return cls(**_fields(d, keys, "scenarios"))

    def to_dict(self) -> dict[str, Any]:
        """Plain fields."""
        return {
            "kind": self.kind,
            "window": self.window,
            "horizon": self.horizon,
            "n": self.n,
            "dof": self.dof,
            "seed": self.seed,
        }


@dataclass(frozen=True, kw_only=True)
class HedgePolicy:
    """A repeatable hedge policy: what to hedge with, when, how much, and when to stop.

    Parameters
    ----------
    name : str
        Shown in results and the store.
    spec : ProblemSpec
        The problem solved on each decision date (instruments, objective, constraints,
        horizon, market). Its option packages (``Put``, ``Call``, ``Collar``,
        ``PutSpread``) are bought as dated contracts and held by the exit rule.
    schedule : Schedule
        When decisions are scheduled.
    estimation : Estimation, default Estimation()
        The risk model on each decision date.
    scenarios : ScenarioRecipe, optional
        Needed by an expected-shortfall objective.
    regimes : Regimes, optional
        Bands on a named signal; each sets registry values, a hedge ratio or no hedge.
    triggers : sequence of Trigger, default ()
        Decisions between scheduled dates (any one firing decides).
    exit_rule : exit rule, default HoldToExpiry(roll=True)
        Written at entry on each option lot the policy opens.
    exit_rules : mapping of instrument label to exit rule, default {}
        Per instrument, instead of ``exit_rule`` (e.g. a collar's put and call each
        ``AnyExit(HoldToExpiry(), CrossRoll(1.10))``).
    premium_budget : PremiumBudget, optional
        Option premium spend allowed, fraction of the book's value a year; sets the
        ``premium_budget.max`` of the spec's ``PremiumBudget`` constraint (which it then
        needs) on each decision.
    hedge_ratio : float, default 1.0
        The optimal hedge is scaled by it (and by the regime's).
    params : mapping, default {}
        Registry values applied on every decision before the regime's.
    lots : mapping of instrument label to float, default {}
        Units are rounded to multiples of this (e.g. 100 shares); whole contracts (1) by
        default for futures and options, none for others.
    missing_data : {"refuse", "trade_when_available"}, default "refuse"
        A hedge instrument (future, ETF, inverse ETF) whose underlying (or own price
        column) has no close on some dates: ``"refuse"`` stops the backtest with the
        dates; ``"trade_when_available"`` trades it only on decisions whose date and
        estimation and scenario windows (the rows before it) all have its closes (its
        position is held to 0 otherwise), and closes a position it holds on the first day
        with no close, at its last close (marked there that day: no P&L from its price).
        Nothing reads a date after its own. The book's holdings must have every close in
        either case.
    """

    name: str
    spec: ProblemSpec
    schedule: Schedule
    estimation: Estimation = field(default_factory=Estimation)
    scenarios: ScenarioRecipe | None = None
    regimes: Regimes | None = None
    triggers: tuple[Trigger, ...] = ()
    exit_rule: Any = field(default_factory=lambda: HoldToExpiry(roll=True))
    exit_rules: Mapping[str, Any] = field(default_factory=dict)
    premium_budget: PremiumBudget | None = None
    hedge_ratio: float = 1.0
    params: Mapping[str, float] = field(default_factory=dict)
    lots: Mapping[str, float] = field(default_factory=dict)
    missing_data: str = "refuse"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SpecificationError(
                f"A policy's 'name' must be a non-empty str. Got {self.name!r}."
            )
        if not isinstance(self.spec, ProblemSpec):
            raise SpecificationError(
                f"The policy's 'spec' must be a ProblemSpec (problem.spec or ProblemSpec(...)). "
                f"Got {type(self.spec).__name__}."
            )
        for name, kind in (
            ("schedule", Schedule),
            ("estimation", Estimation),
        ):
            if not isinstance(getattr(self, name), kind):
                raise SpecificationError(
                    f"The policy's '{name}' must be a {kind.__name__}. "
                    f"Got {type(getattr(self, name)).__name__}."
                )
        if self.scenarios is not None and not isinstance(self.scenarios, ScenarioRecipe):
            raise SpecificationError(
                f"The policy's 'scenarios' must be a ScenarioRecipe or None. "
                f"Got {type(self.scenarios).__name__}."
            )
        if self.regimes is not None and not isinstance(self.regimes, Regimes):
            raise SpecificationError(
                "The policy's 'regimes' must be Regimes or None. Got "
                f"{type(self.regimes).__name__}."
            )
        triggers = self.triggers
        if not isinstance(triggers, Sequence) or isinstance(triggers, str):
            triggers = (triggers,)
        object.__setattr__(self, "triggers", tuple(triggers))
        for trigger in self.triggers:
            if not isinstance(trigger, Trigger):
                raise SpecificationError(
                    "The policy's 'triggers' must be triggers (BetaDrift(...), Drawdown(...), "
                    f"AnyOf(...)). Got {type(trigger).__name__}."
                )
        if not callable(getattr(self.exit_rule, "decide", None)):
            raise SpecificationError(
                f"The policy's 'exit_rule' must be an exit rule (HoldToExpiry(), ...). "
                f"Got {type(self.exit_rule).__name__}."
            )
        if not isinstance(self.exit_rules, Mapping):
            raise SpecificationError(
                "The policy's 'exit_rules' must map instrument labels to exit rules. Got "
                f"{type(self.exit_rules).__name__}."
            )
        for label, rule in self.exit_rules.items():
            if not callable(getattr(rule, "decide", None)):
                raise SpecificationError(
                    f"The policy's exit_rules[{label!r}] must be an exit rule (HoldToExpiry(), "
                    f"...). Got {type(rule).__name__}."
                )
        object.__setattr__(self, "exit_rules", dict(self.exit_rules))
        check_scalar(self.hedge_ratio, "hedge_ratio", lower=0.0)
        object.__setattr__(self, "params", _floats(self.params, "params"))
        lots = _floats(self.lots, "lots")
        for label, lot in lots.items():
            if not lot > 0:
                raise SpecificationError(
                    f"The policy's lots[{label!r}] must be > 0 (units are rounded to multiples "
                    f"of it). Got {lot!r}."
                )
        labels = {i.label for i in self.spec.instruments}
        unknown = sorted((set(lots) | set(self.exit_rules)) - labels)
        if unknown:
            raise SpecificationError(
                f"The policy's 'lots' or 'exit_rules' name {unknown}, which are not instruments "
                "of its spec "
                f"({sorted(labels)})."
            )
        object.__setattr__(self, "lots", lots)
        if not isinstance(self.missing_data, str) or self.missing_data not in MISSING_DATA:
            raise SpecificationError(
                f"The policy's 'missing_data' must be one of {list(MISSING_DATA)}. Got "
                f"{self.missing_data!r}: 'refuse' stops a backtest on a gap in the data, "
                "'trade_when_available' trades a hedge instrument only when it has data."
            )
        if self.premium_budget is not None and not any(
            type(c).__name__ == "PremiumBudget" for c in self.spec.constraints
        ):
            raise SpecificationError(
                "The policy has a premium_budget but its spec has no PremiumBudget constraint "
                "for it to set: add constraints.PremiumBudget(...) to the spec."
            )

    def warmup(self) -> int:
        """Return the returns the policy reads before its first decision."""
        need = self.estimation.needs
        if self.scenarios is not None:
            need = max(need, self.scenarios.window)
        return need

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> HedgePolicy:
        """Inverse of :meth:`to_dict` (see :func:`policy_from_dict`)."""
        return policy_from_dict(d)

    def to_dict(self) -> dict[str, Any]:
        """Return the policy in plain JSON types (what a policy file holds)."""
        out: dict[str, Any] = {
            "name": self.name,
            "spec": self.spec.to_dict(),
            "schedule": self.schedule.to_dict(),
            "estimation": self.estimation.to_dict(),
            "scenarios": None if self.scenarios is None else self.scenarios.to_dict(),
            "regimes": None if self.regimes is None else self.regimes.to_dict(),
            "triggers": [t.to_dict() for t in self.triggers],
            "exit_rule": self.exit_rule.to_dict(),
            "exit_rules": {k: v.to_dict() for k, v in self.exit_rules.items()},
            "premium_budget": None
            if self.premium_budget is None
            else self.premium_budget.to_dict(),
            "hedge_ratio": self.hedge_ratio,
            "params": dict(self.params),
            "lots": dict(self.lots),
            "missing_data": self.missing_data,
        }
        return out


_POLICY_KEYS = (
    "name",
    "spec",
    "schedule",
    "estimation",
    "scenarios",
    "regimes",
    "triggers",
    "exit_rule",
    "exit_rules",
    "premium_budget",
    "hedge_ratio",
    "params",
    "lots",
    "missing_data",
)


def _fields(d: Any, allowed: Sequence[str], where: str) -> dict[str, Any]:
    """Check a dict's keys against ``allowed`` (naming the nearest for a typo); return it."""
    import difflib

    if not isinstance(d, Mapping):
        raise SpecificationError(
            f"The policy's '{where}' must be a table (mapping). Got {type(d).__name__}."
        )
    for key in d:
        if key not in allowed:
            near = difflib.get_close_matches(str(key), list(allowed), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise SpecificationError(
                f"Unknown key {where}.{key}{hint}; the keys are {sorted(allowed)}."
            )
    return dict(d)


def policy_from_dict(d: Mapping[str, Any]) -> HedgePolicy:
    """Build a :class:`HedgePolicy` from :meth:`HedgePolicy.to_dict`'s plain dict.

    Raises
    ------
    SpecificationError
        An unknown key (the nearest valid one is named), a part of an unknown kind, or a
        value its part refuses.
    """
    from optihedge.backtests.policy import part_from_dict

    fields = _fields(d, _POLICY_KEYS, "policy")
    for key in ("name", "spec", "schedule"):
        if key not in fields:
            raise SpecificationError(f"The policy needs '{key}'; it has {sorted(fields)}.")
    out: dict[str, Any] = {
        "name": fields["name"],
        "spec": ProblemSpec.from_dict(fields["spec"]),
        "schedule": part_from_dict(fields["schedule"]),
    }
    if fields.get("estimation") is not None:
        out["estimation"] = Estimation.from_dict(fields["estimation"])
    if fields.get("scenarios") is not None:
        out["scenarios"] = ScenarioRecipe.from_dict(fields["scenarios"])
    for key in ("regimes", "exit_rule", "premium_budget"):
        if fields.get(key) is not None:
            out[key] = part_from_dict(fields[key])
    if fields.get("exit_rules"):
        rules = _fields(fields["exit_rules"], list(fields["exit_rules"]), "exit_rules")
        out["exit_rules"] = {k: part_from_dict(v) for k, v in rules.items()}
    if fields.get("triggers"):
        out["triggers"] = tuple(part_from_dict(t) for t in fields["triggers"])
    for key in ("hedge_ratio", "params", "lots", "missing_data"):
        if key in fields:
            out[key] = fields[key]
    return HedgePolicy(**out)


def _floats(values: Any, name: str) -> dict[str, float]:
    if not isinstance(values, Mapping):
        raise SpecificationError(
            f"The policy's '{name}' must be a mapping of str to number. Got "
            f"{type(values).__name__}."
        )
    out = {}
    for key, value in values.items():
        if not isinstance(key, str):
            raise SpecificationError(f"The policy's '{name}' keys must be str. Got {key!r}.")
        v = check_scalar(value, f"{name}[{key!r}]")
        if math.isnan(v):
            raise SpecificationError(f"The policy's {name}[{key!r}] is NaN.")
        out[key] = v
    return out


def read_only(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a view of ``frame`` whose values cannot be written (for estimators)."""
    values = np.array(frame.to_numpy(dtype=np.float64), copy=True)
    values.flags.writeable = False
    return pd.DataFrame(values, index=frame.index, columns=frame.columns, copy=False)

"""Trial design: arms, allocation, stratification, dropout, assessment schedule and the size scan.

A `TrialDesign` is plain data (frozen dataclasses) that the endpoint, analysis and power functions read.
It knows nothing of the simulation model: an arm's treatment is an opaque dict that the study code fills.

Arm sizes: `arm_sizes` are the sizes of the control arm (arm 1). With an allocation ratio k:1
(treatment:control) the treatment arm (arm 0) has `round(k * n)` patients, so for k = 1 the arm size is
the number of patients per arm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from woundsim.errors import InputError, require, require_range

DROPOUT_TIMINGS = ("uniform", "exponential")


@dataclass(frozen=True)
class Arm:
    """One randomised arm.

    Args:
        name: short identifier used in tables (e.g. "hucmscd", "placebo").
        label: human-readable label for reports.
        treatment: treatment specification (product, dose, schedule); opaque here, filled by the study code.
    """

    name: str
    label: str = ""
    treatment: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require(isinstance(self.name, str) and self.name.strip() != "", "arm name must be a non-empty string")
        require(isinstance(self.treatment, dict), f"arm {self.name!r}: treatment must be a dict")


@dataclass(frozen=True)
class Dropout:
    """Loss to follow-up.

    Args:
        rate: fraction of patients lost before the end of follow-up, in [0, 1).
        timing: "uniform" (a dropout's day is uniform over the follow-up) or "exponential" (constant hazard
            chosen so that the fraction lost by the end of follow-up equals `rate`).
    """

    rate: float = 0.0
    timing: str = "uniform"

    def __post_init__(self) -> None:
        require_range("dropout.rate", self.rate, 0.0, 1.0, high_open=True)
        require(self.timing in DROPOUT_TIMINGS, f"dropout.timing = {self.timing!r}; allowed {DROPOUT_TIMINGS}")


RECURRENCE_SITES = ("same_site", "any_site")


@dataclass(frozen=True)
class TrialDesign:
    """A two-arm parallel-group trial (arm 0 = treatment, arm 1 = control).

    Args:
        arms: the two arms, treatment first.
        allocation_ratio: k in k:1 (treatment:control), in [0.25, 4].
        stratify_by: name of the per-patient column that randomisation and the stratified analyses use
            (e.g. "texas_grade"), or None.
        dropout: loss to follow-up.
        visit_interval_days: days between blinded assessment visits (d).
        primary_day: day of the primary time point (d); 84 = week 12.
        confirmation_days: a closure counts when the wound is still closed this many days later (d).
        followup_days: length of the follow-up for the closure endpoints (d); at least primary_day +
            confirmation_days.
        recurrence_followup_months: follow-up after closure for recurrence (months).
        recurrence_site: the recurrence the trial counts: "same_site" (the healed ulcer's site, as the seed
            trial's 0/10 is read, SEED03) or "any_site" (any new foot ulcer).
        arm_sizes: control-arm sizes to scan.
        alpha: two-sided significance level.
        n_trials: simulated trials per arm size.
        seed: root seed of the study.
    """

    arms: tuple[Arm, Arm] = (Arm("treatment", "hUC-MSCD + standard care"),
                             Arm("control", "placebo injection + standard care"))
    allocation_ratio: float = 1.0
    stratify_by: str | None = None
    dropout: Dropout = Dropout()
    visit_interval_days: float = 7.0     # d; weekly blinded assessment
    primary_day: float = 84.0            # d; week 12, as in pivotal DFU trials (clinical_targets END02)
    confirmation_days: float = 14.0      # d; FDA closure definition (clinical_targets END01)
    followup_days: float = 140.0         # d; week 20
    recurrence_followup_months: float = 12.0  # months
    recurrence_site: str = "same_site"  # "same_site" or "any_site" (woundsim.endpoints.RECURRENCE_EVENTS)
    arm_sizes: tuple[int, ...] = (25, 50, 75, 100, 150, 200)
    alpha: float = 0.05
    n_trials: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        require(len(self.arms) == 2 and all(isinstance(a, Arm) for a in self.arms),
                "arms must be two Arm objects (treatment, control)")
        require(self.arms[0].name != self.arms[1].name, "arms must have distinct names")
        require_range("allocation_ratio", self.allocation_ratio, 0.25, 4.0)
        require(self.stratify_by is None or (isinstance(self.stratify_by, str) and self.stratify_by != ""),
                "stratify_by must be a column name or None")
        require(isinstance(self.dropout, Dropout), "dropout must be a Dropout")
        require_range("visit_interval_days", self.visit_interval_days, 1.0, 28.0, unit="d")
        require_range("primary_day", self.primary_day, self.visit_interval_days, 730.0, unit="d")
        require_range("confirmation_days", self.confirmation_days, 0.0, 56.0, unit="d")
        require_range("followup_days", self.followup_days, self.primary_day + self.confirmation_days, 1095.0,
                      unit="d")
        require_range("recurrence_followup_months", self.recurrence_followup_months, 1.0, 60.0, unit="months")
        require(self.recurrence_site in RECURRENCE_SITES,
                f"recurrence_site = {self.recurrence_site!r}; allowed {', '.join(RECURRENCE_SITES)}")
        require(len(self.arm_sizes) > 0, "arm_sizes must not be empty")
        for n in self.arm_sizes:
            require(isinstance(n, int) and not isinstance(n, bool) and 2 <= n <= 100_000,
                    f"arm_sizes entry {n!r} must be an integer in [2, 100000]")
        require_range("alpha", self.alpha, 0.0, 0.5, low_open=True)
        require(isinstance(self.n_trials, int) and 1 <= self.n_trials <= 10_000_000,
                f"n_trials = {self.n_trials!r}; allowed integer in [1, 10000000]")
        require(isinstance(self.seed, int) and self.seed >= 0, f"seed = {self.seed!r}; allowed integer >= 0")

    def arm_counts(self, arm_size: int) -> tuple[int, int]:
        """Patients in (treatment, control) for a control-arm size `arm_size`."""
        require(isinstance(arm_size, (int,)) and arm_size >= 2, f"arm_size = {arm_size!r}; allowed integer >= 2")
        return max(2, int(round(self.allocation_ratio * arm_size))), int(arm_size)

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> TrialDesign:
        """Build a design from plain values (e.g. a resolved config); unknown keys are refused."""
        known = set(cls.__dataclass_fields__)
        unknown = set(spec) - known
        if unknown:
            raise InputError(f"unknown trial design keys {sorted(unknown)}; allowed {sorted(known)}")
        kw = dict(spec)
        if "arms" in kw:
            kw["arms"] = tuple(a if isinstance(a, Arm) else Arm(**a) for a in kw["arms"])
        if "dropout" in kw and not isinstance(kw["dropout"], Dropout):
            kw["dropout"] = Dropout(**kw["dropout"])
        if "arm_sizes" in kw:
            kw["arm_sizes"] = tuple(kw["arm_sizes"])
        return cls(**kw)


def dropout_hazard_per_day(dropout: Dropout, followup_days: float) -> float:
    """Constant dropout hazard (1/d) that loses `dropout.rate` of patients by `followup_days`."""
    return -math.log1p(-dropout.rate) / followup_days

"""Patients and cohort specifications (DESIGN.md section 6)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from woundsim.errors import InputError, require, require_range
from woundsim.units import hba1c_to_glucose_mM

_GRADE_NAMES = {"I": 1, "II": 2, "III": 3, "1": 1, "2": 2, "3": 3}
STAGES = ("A", "B", "C", "D")  # A clean, B infected, C ischaemic, D infected and ischaemic


RISK_FLAGS = ("plantar", "neuropathy", "smoker", "male")  # the patient's yes/no risk attributes


def parse_flag(name: str, value) -> bool:
    """A yes/no attribute as a bool (accepts True/False and the integers 0/1, as tables store them)."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer)) and value in (0, 1)):
        return bool(value)
    raise InputError(f"{name} = {value!r} is not yes/no; give true or false")


def parse_grade(grade: int | str) -> int:
    """University of Texas grade as 1, 2 or 3 (accepts 1-3 or "I"-"III")."""
    key = str(grade).strip().upper()
    if key not in _GRADE_NAMES:
        raise InputError(f"patient.texas_grade = {grade!r} is not a Texas grade; allowed 1, 2, 3 (or I, II, III)")
    return _GRADE_NAMES[key]


@dataclass
class Patient:
    """One person with one ulcer at trial entry.

    Attributes:
        area_cm2: ulcer area (cm²).
        aspect: ellipse aspect ratio, long over short axis (>= 1).
        irregularity: relative amplitude of margin irregularity (0 = smooth ellipse).
        texas_grade: University of Texas grade 1-3 (sets the tissue deficit depth).
        texas_stage: A clean, B infected (more debris), C ischaemic (less perfusion), D both.
        duration_weeks: ulcer duration before entry (weeks; drives edge senescence).
        hba1c_pct: glycated haemoglobin (%; drives diabetic impairment).
        age_years: age (years; reported; the recurrence model's death hazard reads it).

    The foot and recurrence risks (issue 17 items 4 and 5; woundsim.recurrence, docs/recurrence.md):

    Attributes:
        plantar: the ulcer is on the weight-bearing plantar surface (REC10: recurrence OR 5.31).
        plantar_load: peak plantar load at the ulcer's site relative to a typical neuropathic plantar forefoot
            site (1; dimensionless, 0-3), before offloading; read only for a plantar ulcer.
        offloading_adherence: share of steps taken in the prescribed offloading (0-1; Waaijman et al. 2013
            Diabetes Care 36:1613 measured 71 +- 25% of steps).
        neuropathy: loss of protective sensation (REC10: recurrence OR 2.15).
        smoker: current smoker (REC10: recurrence OR 1.66).
        male: male sex (REC10: recurrence OR 1.38).
    Peripheral artery disease is Texas stage C or D (`ischaemic`; REC10: recurrence OR 1.65).
    """

    area_cm2: float = 2.0
    aspect: float = 1.3
    irregularity: float = 0.1
    texas_grade: int | str = 2  # 1-3 or "I"-"III" (str so that patient.texas_grade=III composes); int after init
    texas_stage: str = "A"
    duration_weeks: float = 15.0
    hba1c_pct: float = 8.0
    age_years: float = 52.0
    plantar: bool = True
    plantar_load: float = 1.0
    offloading_adherence: float = 0.71
    neuropathy: bool = True
    smoker: bool = False
    male: bool = True

    def __post_init__(self) -> None:
        self.texas_grade = parse_grade(self.texas_grade)
        self.texas_stage = str(self.texas_stage).strip().upper()
        for name in RISK_FLAGS:
            setattr(self, name, parse_flag(f"patient.{name}", getattr(self, name)))
        validate_patient(self)

    @property
    def glucose_mM(self) -> float:
        """Estimated average glucose (mM) from HbA1c (ADAG)."""
        return hba1c_to_glucose_mM(self.hba1c_pct)

    @property
    def infected(self) -> bool:
        return self.texas_stage in ("B", "D")

    @property
    def ischaemic(self) -> bool:
        return self.texas_stage in ("C", "D")

    def to_dict(self) -> dict:
        return asdict(self)


def validate_patient(p: Patient) -> None:
    """Raise InputError naming the first patient attribute out of its allowed range (or of the wrong type)."""
    require(type(p.texas_grade) is int and p.texas_grade in (1, 2, 3),
            f"patient.texas_grade = {p.texas_grade!r} is not a Texas grade 1, 2 or 3 (set after the Patient was "
            "built? build it with Patient(texas_grade=...) or dataclasses.replace, which also read I, II, III)")
    require_range("patient.area_cm2", p.area_cm2, 0.0, 60.0, low_open=True, unit="cm²")
    require_range("patient.aspect", p.aspect, 1.0, 5.0)
    require_range("patient.irregularity", p.irregularity, 0.0, 0.5)
    require(p.texas_stage in STAGES, f"patient.texas_stage = {p.texas_stage!r} is not a Texas stage; allowed A, B, C, D")
    require_range("patient.duration_weeks", p.duration_weeks, 0.0, 520.0, unit="weeks")
    require_range("patient.hba1c_pct", p.hba1c_pct, 4.0, 16.0, unit="%")
    require_range("patient.age_years", p.age_years, 18.0, 110.0, unit="years")
    for name in RISK_FLAGS:
        require(type(getattr(p, name)) is bool, f"patient.{name} = {getattr(p, name)!r} is not yes/no; give true or false")
    require_range("patient.plantar_load", p.plantar_load, 0.0, 3.0)
    require_range("patient.offloading_adherence", p.offloading_adherence, 0.0, 1.0)


@dataclass
class CohortSpec:
    """How to sample patients for a cohort (a trial arm's population).

    Areas are log-normal (median, geometric SD) truncated to the inclusion window; durations
    likewise; HbA1c and age normal, truncated to their inclusion windows. Grade and stage are
    drawn from the given mixes.

    The foot and recurrence risks (`Patient.plantar` ... `male`) come from a second generator, so adding them
    left the draws of the attributes above unchanged: plantar location, neuropathy, smoking and sex are
    Bernoulli with the given fractions; plantar load log-normal (median, geometric SD) truncated to its
    window; offloading adherence beta with the given mean and SD (default Waaijman et al. 2013 Diabetes Care
    36:1613: 71 +- 25% of steps, objectively measured in 107 neuropathic patients with a healed plantar ulcer;
    it puts 47% at >= 80%, as Bus et al. 2013 (REC09) found 46%).
    """

    name: str = "custom"
    area_median_cm2: float = 1.5  # Oyibo et al. 2001: median 1.5 cm² (IQR 0.6-4.0)
    area_gsd: float = 4.1  # geometric SD; IQR 0.6-4.0 implies sigma = ln(4/0.6)/1.349 = 1.41
    area_min_cm2: float = 0.5  # inclusion window (AREA01: 0.5-20 cm² typical)
    area_max_cm2: float = 20.0
    grade_mix: dict[str, float] = field(default_factory=lambda: {"1": 0.0, "2": 0.5, "3": 0.5})
    stage_mix: dict[str, float] = field(default_factory=lambda: {"A": 1.0, "B": 0.0, "C": 0.0, "D": 0.0})
    duration_median_weeks: float = 15.0
    duration_gsd: float = 1.5
    duration_min_weeks: float = 4.0
    duration_max_weeks: float = 104.0
    hba1c_mean_pct: float = 8.5
    hba1c_sd_pct: float = 1.5
    hba1c_min_pct: float = 6.0
    hba1c_max_pct: float = 12.0
    age_mean_years: float = 55.0
    age_sd_years: float = 10.0
    aspect_max: float = 2.0  # aspect uniform on [1, aspect_max]
    irregularity_max: float = 0.2  # irregularity uniform on [0, irregularity_max]
    plantar_fraction: float = 1.0  # share of plantar ulcers (DFU trials mostly enrol plantar ulcers)
    plantar_load_median: float = 1.0  # x a typical plantar forefoot site (assumed)
    plantar_load_gsd: float = 1.25  # geometric SD (assumed: barefoot peak pressures vary ~25-40% between patients)
    plantar_load_min: float = 0.3
    plantar_load_max: float = 3.0
    offloading_adherence_mean: float = 0.71  # share of steps; Waaijman 2013: 71 +- 25%
    offloading_adherence_sd: float = 0.25
    neuropathy_fraction: float = 1.0  # neuropathic ulcers (the pivotal trials' inclusion criterion)
    smoker_fraction: float = 0.15  # assumed: current smokers among adults with diabetes
    male_fraction: float = 0.7  # SEED05: 7 of 10 men; DFU cohorts are about 65-75% male

    def __post_init__(self) -> None:
        require(0 < self.area_min_cm2 < self.area_max_cm2,
                f"cohort {self.name}: area window [{self.area_min_cm2}, {self.area_max_cm2}] cm² must satisfy 0 < min < max")
        require_range(f"cohort {self.name}: area_median_cm2", self.area_median_cm2, 0.0, 60.0, low_open=True)
        require_range(f"cohort {self.name}: area_gsd", self.area_gsd, 1.0, 20.0)
        require_range(f"cohort {self.name}: duration_gsd", self.duration_gsd, 1.0, 20.0)
        require(self.hba1c_min_pct < self.hba1c_max_pct, f"cohort {self.name}: hba1c window must satisfy min < max")
        for label, mix, allowed in (("grade_mix", self.grade_mix, {"1", "2", "3"}),
                                    ("stage_mix", self.stage_mix, set(STAGES))):
            keys = {str(k).upper() for k in mix}
            require(keys <= allowed, f"cohort {self.name}: {label} keys {sorted(keys)} must be among {sorted(allowed)}")
            total = sum(float(v) for v in mix.values())
            require(total > 0 and all(float(v) >= 0 for v in mix.values()),
                    f"cohort {self.name}: {label} weights must be >= 0 with a positive sum")
        for label in ("plantar_fraction", "neuropathy_fraction", "smoker_fraction", "male_fraction"):
            require_range(f"cohort {self.name}: {label}", getattr(self, label), 0.0, 1.0)
        require(0 <= self.plantar_load_min < self.plantar_load_max <= 3.0,
                f"cohort {self.name}: plantar load window [{self.plantar_load_min}, {self.plantar_load_max}] must "
                "satisfy 0 <= min < max <= 3")
        require_range(f"cohort {self.name}: plantar_load_median", self.plantar_load_median, 0.0, 3.0, low_open=True)
        require_range(f"cohort {self.name}: plantar_load_gsd", self.plantar_load_gsd, 1.0, 20.0)
        m, sd = self.offloading_adherence_mean, self.offloading_adherence_sd
        require(0 < m < 1 and 0 <= sd and sd * sd < m * (1 - m),
                f"cohort {self.name}: offloading adherence mean {m} and SD {sd} must satisfy 0 < mean < 1 and "
                f"SD^2 < mean x (1 - mean) = {m * (1 - m):.4g} (a beta distribution)")

    def sample(self, n: int, rng: np.random.Generator, risk_rng: np.random.Generator | None = None) -> list[Patient]:
        """Draw `n` patients.

        Args:
            n: number of patients.
            rng: generator of the ulcer, diabetes and age attributes (the draws version 1 made).
            risk_rng: generator of the foot and recurrence risks (`woundsim.seeds.patient_risk_rng`; default a
                child spawned from `rng`'s seed sequence, which leaves `rng`'s own stream untouched).
        """
        require(int(n) >= 0, f"cohort {self.name}: n = {n} must be >= 0")
        risk_rng = risk_rng if risk_rng is not None else rng.spawn(1)[0]
        area = _truncated_lognormal(rng, n, self.area_median_cm2, self.area_gsd, self.area_min_cm2, self.area_max_cm2)
        duration = _truncated_lognormal(rng, n, self.duration_median_weeks, self.duration_gsd,
                                        self.duration_min_weeks, self.duration_max_weeks)
        hba1c = _truncated_normal(rng, n, self.hba1c_mean_pct, self.hba1c_sd_pct, self.hba1c_min_pct, self.hba1c_max_pct)
        age = _truncated_normal(rng, n, self.age_mean_years, self.age_sd_years, 18.0, 95.0)
        grades = _draw_mix(rng, n, self.grade_mix)
        stages = _draw_mix(rng, n, self.stage_mix)
        aspect = rng.uniform(1.0, max(self.aspect_max, 1.0), n)
        irregular = rng.uniform(0.0, self.irregularity_max, n)
        risks = self.sample_risks(n, risk_rng)
        return [
            Patient(area_cm2=float(area[i]), aspect=float(aspect[i]), irregularity=float(irregular[i]),
                    texas_grade=int(grades[i]), texas_stage=str(stages[i]).upper(), duration_weeks=float(duration[i]),
                    hba1c_pct=float(hba1c[i]), age_years=float(age[i]), **{k: v[i].item() for k, v in risks.items()})
            for i in range(n)
        ]

    def sample_risks(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """The foot and recurrence-risk attributes of `n` patients, drawn in a fixed order from `rng`."""
        plantar = rng.random(n) < self.plantar_fraction
        load = _truncated_lognormal(rng, n, self.plantar_load_median, self.plantar_load_gsd,
                                    self.plantar_load_min, self.plantar_load_max)
        m, sd = self.offloading_adherence_mean, self.offloading_adherence_sd
        if sd > 0:
            concentration = m * (1.0 - m) / sd**2 - 1.0
            adherence = rng.beta(m * concentration, (1.0 - m) * concentration, n)
        else:
            adherence = np.full(n, m)
        return {"plantar": plantar, "plantar_load": load, "offloading_adherence": adherence,
                "neuropathy": rng.random(n) < self.neuropathy_fraction, "smoker": rng.random(n) < self.smoker_fraction,
                "male": rng.random(n) < self.male_fraction}


def _truncated_lognormal(rng, n, median, gsd, low, high):
    sigma = math.log(gsd)
    return _by_rejection(rng, n, lambda k: median * np.exp(sigma * rng.standard_normal(k)), low, high)


def _truncated_normal(rng, n, mean, sd, low, high):
    return _by_rejection(rng, n, lambda k: mean + sd * rng.standard_normal(k), low, high)


def _by_rejection(rng, n, draw, low, high, max_rounds: int = 1000):
    out = np.empty(0)
    for _ in range(max_rounds):
        if out.size >= n:
            break
        x = draw(max(2 * (n - out.size), 8))
        out = np.concatenate([out, x[(x >= low) & (x <= high)]])
    if out.size < n:
        raise InputError(f"inclusion window [{low}, {high}] is too narrow for the sampling distribution")
    return out[:n]


def _draw_mix(rng, n, mix):
    keys = list(mix)
    p = np.array([float(mix[k]) for k in keys])
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]

"""Recurrence after confirmed closure from patient risk, version 2 (issue 17 item 5; docs/recurrence.md).

Three competing first events after a confirmed closure: a new ulcer at the healed site (same-site
recurrence), a new ulcer elsewhere on the feet (other-site), and death. Any-site recurrence is the first
of the two ulcer events. The cause-specific hazards, with t the months since confirmed closure, are

    same-site   h_s(t) = Lambda * pi       * w(t) * exp(eta + beta_q * (1 - Q))
    other-site  h_o(t) = Lambda * (1 - pi) * w(t) * exp(eta)
    death       h_d    = mu * exp(beta_age * (age - age_ref))

with w(t) = d/dt (t / 12)^k, a Weibull shape k <= 1, so that the recurrence hazard falls with time since
closure; eta the patient's risk (plantar site and its unoffloaded load, neuropathy, peripheral artery
disease, smoking, sex: zero for the reference patient); Q the scar maturity at confirmed closure (1 mature).

Every input is a per-patient array of the state at confirmed closure (`ClosureState`): nothing here runs
or reads the healing model, so these parameters can be fitted on stored closure states without
re-simulating healing. The parameters are `model.recurrence` (`woundsim.params.RecurrenceParams`); the run
summary, the trial and the calibration read this model through `woundsim.endpoints.recurrence_outcomes`, with
Q measured by the model at confirmed closure (`woundsim.tissue.TissueState.scar_maturity`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from woundsim.errors import InputError, renamed, require, require_range
from woundsim.foot import unoffloaded_load
from woundsim.params import RecurrenceParams
from woundsim.patient import Patient

MONTHS_PER_YEAR = 12.0
DEATH_RISK_MONTHS = 24.0  # months over which `death_risk_24m` is stated (REC07)
EVENTS = ("same_site", "other_site", "death")  # codes 0, 1, 2 of `FirstEvents.event`
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(200)  # Gauss-Legendre on [-1, 1], for the incidences

__getattr__ = renamed(__name__, {"PostClosureParams": "woundsim.params.RecurrenceParams (model.recurrence)"})


# ---- odds ratios to hazard ratios ------------------------------------------------------------------
def odds_ratio_to_risk_ratio(odds_ratio, reference_risk):
    """Risk ratio from an odds ratio and the risk of the reference (unexposed) group (Zhang & Yu 1998, JAMA
    280:1690): RR = OR / (1 - p0 + p0 x OR)."""
    return odds_ratio / (1.0 - reference_risk + reference_risk * odds_ratio)


def risk_ratio_to_hazard_ratio(risk_ratio, reference_risk):
    """Hazard ratio that gives `risk_ratio` over the follow-up in which the reference group's risk is
    `reference_risk`, under proportional hazards: HR = ln(1 - RR x p0) / ln(1 - p0)."""
    exposed = np.minimum(risk_ratio * reference_risk, 1.0 - 1e-12)
    return np.log1p(-exposed) / np.log1p(-reference_risk)


def odds_ratio_to_hazard_ratio(odds_ratio, reference_risk):
    """Hazard ratio of an odds ratio measured over a follow-up in which the reference group's risk was
    `reference_risk`: Zhang & Yu's risk ratio, then the proportional-hazards conversion."""
    return risk_ratio_to_hazard_ratio(odds_ratio_to_risk_ratio(odds_ratio, reference_risk), reference_risk)


def risks_to_hazard_ratio(exposed_risk: float, reference_risk: float) -> float:
    """Hazard ratio between two groups' risks over the same follow-up (proportional hazards)."""
    return math.log1p(-exposed_risk) / math.log1p(-reference_risk)


# REC09 (Bus et al. 2013 Diabetes Care 36:4109): in the patients who wore their footwear on >= 80% of steps,
# 25.7% (improved footwear, ~20% more peak-pressure relief) vs 47.8% (usual custom footwear) recurred in 18
# months. The hazard ratio of that load contrast, and the unoffloaded-load ratio it stands for.
REC09_HAZARD_RATIO = risks_to_hazard_ratio(0.257, 0.478)  # 0.457
REC09_LOAD_RATIO = 1.0 - 0.20 * 0.90  # ~20% relief worn on ~90% of steps (mean adherence of the >= 80% group)
REC09_LOAD_EXPONENT = math.log(REC09_HAZARD_RATIO) / math.log(REC09_LOAD_RATIO)  # 3.95


# ---- parameters (woundsim.params.RecurrenceParams, model.recurrence) --------------------------------
def log_hazard_ratio(params: RecurrenceParams, name: str) -> float:
    """log HR of the risk `name` (plantar, neuropathy, pad, smoker, male) from its REC10 odds ratio."""
    return math.log(odds_ratio_to_hazard_ratio(getattr(params, f"{name}_odds_ratio"), params.rec10_reference_risk))


def reference_load(params: RecurrenceParams) -> float:
    """The reference patient's unoffloaded plantar load (x a typical plantar forefoot site)."""
    return unoffloaded_load(1.0, params.reference_adherence, params.offloading_relief)


def death_rate_per_month(params: RecurrenceParams) -> float:
    """Death hazard at the reference age (1/month), constant in time."""
    return -math.log1p(-params.death_risk_24m) / DEATH_RISK_MONTHS


# ---- the state at confirmed closure ----------------------------------------------------------------
@dataclass(frozen=True)
class ClosureState:
    """Per-patient arrays (one entry per healed patient) of what the recurrence model reads at confirmed
    closure: the patient's foot and risks (`woundsim.patient.Patient`) and the scar maturity Q (in [0, 1],
    1 mature; measured on the healed site at confirmed closure)."""

    plantar: np.ndarray
    plantar_load: np.ndarray
    offloading_adherence: np.ndarray
    neuropathy: np.ndarray
    peripheral_artery_disease: np.ndarray  # Texas stage C or D
    smoker: np.ndarray
    male: np.ndarray
    age_years: np.ndarray
    scar_maturity: np.ndarray

    def __post_init__(self) -> None:
        n = None
        for f in dataclasses.fields(self):
            a = np.asarray(getattr(self, f.name), dtype=float)
            require(a.ndim == 1, f"closure state {f.name} must be a 1-D array (one entry per patient)")
            require(n is None or a.size == n, f"closure state {f.name} has {a.size} entries, not {n}")
            require(bool(np.all(np.isfinite(a))), f"closure state {f.name} has non-finite entries")
            object.__setattr__(self, f.name, a)
            n = a.size
        require(bool(np.all((self.scar_maturity >= 0) & (self.scar_maturity <= 1))),
                "closure state scar_maturity must lie in [0, 1]")
        require(bool(np.all((self.offloading_adherence >= 0) & (self.offloading_adherence <= 1))),
                "closure state offloading_adherence must lie in [0, 1]")
        require(bool(np.all(self.plantar_load >= 0)), "closure state plantar_load must be >= 0")

    def __len__(self) -> int:
        return self.age_years.size

    @classmethod
    def from_table(cls, table, scar_maturity=None) -> ClosureState:
        """From a per-patient table (a DataFrame or a mapping of columns) with the `Patient` columns, as every
        cohort, sweep, trial-pool and calibration table stores them.

        Args:
            table: columns plantar, plantar_load, offloading_adherence, neuropathy, texas_stage, smoker, male,
                age_years, and scar_maturity unless given.
            scar_maturity: Q at confirmed closure (a number or one per row); default the table's column.
        """
        names = ["plantar", "plantar_load", "offloading_adherence", "neuropathy", "texas_stage", "smoker", "male",
                 "age_years"] + (["scar_maturity"] if scar_maturity is None else [])
        missing = [c for c in names if c not in table]
        if missing:
            raise InputError(f"closure state needs the columns {missing} (a table made before the foot and "
                             "recurrence risks were patient attributes? re-sample its patients)")
        n = len(np.asarray(table["age_years"]))
        q = np.asarray(table["scar_maturity"], dtype=float) if scar_maturity is None else \
            np.broadcast_to(np.asarray(scar_maturity, dtype=float), (n,))
        stage = np.asarray(table["texas_stage"]).astype(str)
        return cls(plantar=table["plantar"], plantar_load=table["plantar_load"],
                   offloading_adherence=table["offloading_adherence"], neuropathy=table["neuropathy"],
                   peripheral_artery_disease=np.isin(stage, ("C", "D")), smoker=table["smoker"], male=table["male"],
                   age_years=table["age_years"], scar_maturity=q)

    @classmethod
    def from_patients(cls, patients: list[Patient], scar_maturity) -> ClosureState:
        """From `Patient` records and their scar maturity at confirmed closure (a number or one per patient)."""
        columns = {f.name: [getattr(p, f.name) for p in patients] for f in dataclasses.fields(Patient)}
        return cls.from_table(columns, scar_maturity=scar_maturity)


# ---- hazards ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CauseCoefficients:
    """Per patient: cumulative hazards H_same(t) = same (t/12)^k, H_other(t) = other (t/12)^k, and the
    constant death hazard death_per_month; k the Weibull shape."""

    same: np.ndarray
    other: np.ndarray
    death_per_month: np.ndarray
    shape: float = 1.0

    @property
    def recurrence(self) -> np.ndarray:
        return self.same + self.other


def risk_score(state: ClosureState, params: RecurrenceParams) -> np.ndarray:
    """Linear predictor eta of the recurrence hazards (0 for the reference patient), per patient."""
    p = params
    load = np.maximum(unoffloaded_load(state.plantar_load, state.offloading_adherence, p.offloading_relief), 1e-6)
    plantar_term = log_hazard_ratio(p, "plantar") + p.load_exponent * np.log(load / reference_load(p))
    return (np.where(state.plantar > 0.5, plantar_term, 0.0) - log_hazard_ratio(p, "plantar")
            + log_hazard_ratio(p, "neuropathy") * (state.neuropathy - 1.0)
            + log_hazard_ratio(p, "pad") * state.peripheral_artery_disease
            + log_hazard_ratio(p, "smoker") * state.smoker
            + log_hazard_ratio(p, "male") * (state.male - 1.0))


def cause_coefficients(state: ClosureState, params: RecurrenceParams) -> CauseCoefficients:
    """The cause-specific cumulative-hazard coefficients of each patient (see `CauseCoefficients`)."""
    p = params
    scale = -math.log1p(-p.reference_risk_12m) * np.exp(risk_score(state, p))
    same = scale * p.same_site_share * np.exp(p.scar_immaturity_log_hr * (1.0 - state.scar_maturity))
    death = death_rate_per_month(p) * np.exp(p.death_log_hr_per_year * (state.age_years - p.death_reference_age))
    return CauseCoefficients(same=same, other=scale * (1.0 - p.same_site_share), death_per_month=death,
                             shape=p.weibull_shape)


def recurrence_hazard_per_month(state: ClosureState, months, params: RecurrenceParams) -> np.ndarray:
    """Any-site recurrence hazard (1/month) of each patient at `months` since confirmed closure: (n, len(months)).
    It falls with time (Weibull shape <= 1)."""
    c = cause_coefficients(state, params)
    t = _months(months)
    return c.recurrence[:, None] * c.shape / MONTHS_PER_YEAR * (t[None, :] / MONTHS_PER_YEAR) ** (c.shape - 1.0)


# ---- cumulative incidences -------------------------------------------------------------------------
@dataclass(frozen=True)
class CumulativeIncidence:
    """Per patient (rows) and time point (columns): the probability that the first event by then is each
    cause; any_site = same_site + other_site; event_free = 1 - any_site - death."""

    months: np.ndarray
    same_site: np.ndarray
    other_site: np.ndarray
    death: np.ndarray
    event_free: np.ndarray

    @property
    def any_site(self) -> np.ndarray:
        return self.same_site + self.other_site


def cumulative_incidence(state: ClosureState, months, params: RecurrenceParams) -> CumulativeIncidence:
    """Cumulative incidence of same-site, other-site and any-site recurrence and of death (competing), at
    `months` since confirmed closure.

    Integrated in u = (t/12)^k, where the recurrence cumulative hazard is linear (200-point Gauss-Legendre;
    the death incidence is integrated separately, not taken as the remainder, so `event_free` + the
    incidences summing to 1 checks the integration).
    """
    c = cause_coefficients(state, params)
    t = _months(months)
    recurrence, death = np.empty((len(state), t.size)), np.empty((len(state), t.size))
    for j, month in enumerate(t):  # one time point at a time: (patients, nodes) arrays
        u, w, ds_du = _nodes(month, c.shape)
        survival = _survival(c, u)
        recurrence[:, j] = survival @ w * c.recurrence
        death[:, j] = survival @ (w * ds_du) * c.death_per_month
    share = (c.same / np.where(c.recurrence > 0, c.recurrence, 1.0))[:, None]
    event_free = np.exp(-c.recurrence[:, None] * (t[None, :] / MONTHS_PER_YEAR) ** c.shape
                        - c.death_per_month[:, None] * t[None, :])
    return CumulativeIncidence(months=t, same_site=share * recurrence, other_site=(1.0 - share) * recurrence,
                               death=death, event_free=event_free)


def _nodes(month: float, shape: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes u in [0, (month/12)^shape], their weights, and ds/du at them (months per unit u)."""
    upper = (month / MONTHS_PER_YEAR) ** shape
    u = 0.5 * upper * (_NODES + 1.0)
    return u, 0.5 * upper * _WEIGHTS, MONTHS_PER_YEAR / shape * u ** (1.0 / shape - 1.0)


def _survival(c: CauseCoefficients, u: np.ndarray) -> np.ndarray:
    """Event-free probability of each patient (rows) at the nodes u = (t/12)^k (columns)."""
    months = MONTHS_PER_YEAR * u ** (1.0 / c.shape)
    return np.exp(-c.recurrence[:, None] * u[None, :] - c.death_per_month[:, None] * months[None, :])


def recurrences_per_100_person_years(state: ClosureState, followup_months: float, params: RecurrenceParams) -> float:
    """Pooled incidence of first any-site recurrences per 100 person-years at risk over `followup_months`
    (expected events over expected time alive and recurrence-free), as a cohort study of that length counts it.
    With a hazard that falls with time it falls with the follow-up length."""
    require_range("followup_months", followup_months, 0.0, 1200.0, low_open=True, unit="months")
    c = cause_coefficients(state, params)
    u, w, ds_du = _nodes(followup_months, c.shape)
    person_months = _survival(c, u) @ (w * ds_du)
    events = cumulative_incidence(state, [followup_months], params).any_site[:, 0]
    return float(100.0 * events.sum() / (person_months.sum() / MONTHS_PER_YEAR))


def death_risk(state: ClosureState, months, params: RecurrenceParams) -> np.ndarray:
    """Probability of death within `months` of confirmed closure, whether or not an ulcer recurred first (the
    death hazard does not depend on recurrence): (patients, time points). REC07's 14% counts deaths so."""
    t = _months(months)
    return 1.0 - np.exp(-cause_coefficients(state, params).death_per_month[:, None] * t[None, :])


# ---- sampling ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FirstEvents:
    """Per patient: the month of the first event after confirmed closure and its cause (`EVENTS[event]`)."""

    month: np.ndarray
    event: np.ndarray

    def by(self, months: float, cause: str) -> np.ndarray:
        """Whether each patient's first event is `cause` ("same_site", "other_site", "death" or "any_site")
        within `months`."""
        codes = (0, 1) if cause == "any_site" else (EVENTS.index(cause),)
        return np.isin(self.event, codes) & (self.month <= months)


def sample_first_events(state: ClosureState, params: RecurrenceParams, rng: np.random.Generator) -> FirstEvents:
    """Draw each patient's first event after confirmed closure (exact inversion of the cumulative hazards).

    Draws, in order: n unit exponentials for the recurrence time, n for the death time, n uniforms for the
    recurrence's site (same-site with probability H_same / H_recurrence, constant in time).
    """
    c = cause_coefficients(state, params)
    n = len(state)
    to_recurrence, to_death, site = rng.exponential(size=n), rng.exponential(size=n), rng.random(n)
    with np.errstate(divide="ignore"):
        recurrence_month = MONTHS_PER_YEAR * (to_recurrence / c.recurrence) ** (1.0 / c.shape)
        death_month = to_death / c.death_per_month
    same = site * c.recurrence < c.same
    event = np.where(recurrence_month < death_month, np.where(same, 0, 1), 2)
    return FirstEvents(month=np.minimum(recurrence_month, death_month), event=event)


def _months(months) -> np.ndarray:
    t = np.atleast_1d(np.asarray(months, dtype=float))
    require(t.ndim == 1 and bool(np.all(np.isfinite(t) & (t >= 0))),
            f"months = {months!r} must be finite numbers >= 0 (months since confirmed closure)")
    return t

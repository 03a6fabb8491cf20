"""Model parameters: every rate and constant, one a line, with units and source.

Literature values are starting points (DESIGN.md section 10), not truths; values marked
"prior" have no literature anchor and are calibrated (issue 3). Concentrations are in model
units (ng/mL-equivalent, "u"); Hill half-saturation constants are in the same units.

The dataclasses double as Hydra structured configs (conf/model/*.yaml fill them), but the
model only ever receives these plain dataclasses, never a DictConfig.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from woundsim.errors import InputError, require_range
from woundsim.units import HOURS_PER_DAY, HOURS_PER_WEEK


@dataclass
class FactorParams:
    """Transport of one diffusing paracrine factor."""

    diff_cm2_s: float  # cm²/s, diffusion coefficient in granulation tissue / fibrin
    half_life_h: float  # h, first-order decay half-life in tissue


def _protein(mw_kda: float, half_life_h: float) -> FactorParams:
    # D of ~8-50 kDa proteins in fibrin gel: IGF-I (7.6 kDa) 1.59e-6 cm²/s measured, others scaled
    # by MW^-1/3 (Nauman et al. 2007).
    return FactorParams(diff_cm2_s=round(1.59e-6 * (7.6 / mw_kda) ** (1.0 / 3.0), 9), half_life_h=half_life_h)


@dataclass
class FieldParams:
    """The seven diffusing fields (DESIGN.md section 3)."""

    tnf: FactorParams = field(default_factory=lambda: _protein(52.0, 0.8))  # TNF-a trimer; t1/2 49 min terminal, Clin Sci 1994 87:459
    il10: FactorParams = field(default_factory=lambda: _protein(37.0, 3.0))  # IL-10 dimer; t1/2 2-4.5 h, Huhn et al. 1996-97
    tgfb: FactorParams = field(default_factory=lambda: _protein(25.0, 1.83))  # TGF-b1; decay 9.1/day, Waugh & Sherratt 2006
    pdgf: FactorParams = field(default_factory=lambda: _protein(30.0, 2.0))  # PDGF; tissue t1/2 prior
    vegf: FactorParams = field(default_factory=lambda: _protein(45.0, 1.0))  # VEGF165; tissue t1/2 prior
    egf: FactorParams = field(default_factory=lambda: _protein(20.0, 1.6))  # EGF/KGF/HGF proxy; EGF 78-119 min, Kuo et al. 1992
    ev: FactorParams = field(default_factory=lambda: FactorParams(2.0e-8, 24.0))  # EVs: 4.4-13.2 µm²/s in water (Stokes-Einstein), ~2 in matrix (prior); clearance prior


@dataclass
class MacrophageParams:
    """Macrophage cohorts: recruitment, polarisation phi (0 = M1, 1 = M2), secretion, clearance."""

    recruit_per_day: float = 0.04  # 1/day per open wound voxel at full perfusion, basal (prior)
    recruit_tnf_gain: float = 2.0  # -, extra recruitment at saturating tnf (chemokine proxy, prior)
    recruit_debris_gain: float = 2.0  # -, extra recruitment at saturating debris (prior)
    death_per_day: float = 0.2  # 1/day, lifespan ~5 d, Waugh & Sherratt 2006
    speed_um_day: float = 600.0  # µm/day, random motility + chemotaxis in tissue (prior)
    chemotaxis: float = 4.0  # -, bias towards higher debris/tnf signal (prior)
    phi_initial: float = 0.1  # -, polarisation of a newly recruited (monocyte-derived, M1) cohort
    m2_rate_per_day: float = 1.0  # 1/day, M1 -> M2 at saturating il10 (prior)
    m2_basal: float = 0.15  # -, share of m2_rate that acts without signals (maturation of recruits, prior)
    m1_rate_per_day: float = 1.0  # 1/day, M2 -> M1 at saturating tnf (prior)
    ev_m2_gain: float = 3.0  # -, EV cargo (miR-21/-181c/let-7b) push to M2 relative to il10 (prior)
    efferocytosis_m2_gain: float = 1.0  # -, push to M2 from debris cleared (prior)
    clear_u_per_h: float = 0.05  # u/h of debris cleared per cohort at saturation (prior)
    secrete_tnf: float = 1.0  # u/h per cohort at phi = 0 (prior)
    secrete_il10: float = 0.6  # u/h per cohort at phi = 1 (prior)
    secrete_tgfb: float = 0.6  # u/h per cohort at phi = 1 (prior)
    secrete_pdgf: float = 0.6  # u/h per cohort at phi = 1 (prior)
    secrete_vegf: float = 0.5  # u/h per cohort at phi = 1 (prior)
    ev_uptake_per_h: float = 0.05  # 1/h, first-order EV uptake by a cohort (prior)
    initial_density: float = 0.05  # cohorts per wound voxel at entry: a chronic, M1-dominated bed (prior)
    pdgf_m1_share: float = 0.3  # -, PDGF secretion of an M1 cohort (phi = 0) relative to an M2 one (phi = 1; prior)
    ev_ec50: float = 0.5  # u, local vesicle concentration of half the maximal M2 push (Emax ev_m2_gain); 0.5 u = 25 µg/mL at the reference conversion (docs/dose_response.md), mid in vitro MSC-EV doses 5-125 µg/mL (prior)


@dataclass
class FibroblastParams:
    """Fibroblast cohorts: entry, chemotaxis, proliferation, collagen deposition."""

    entry_per_day: float = 0.05  # 1/day per perfused wound voxel from the wound base and edges (prior)
    entry_pdgf_gain: float = 3.0  # -, extra entry at saturating pdgf (prior)
    speed_um_day: float = 240.0  # µm/day, fibroblast migration in granulation tissue (prior)
    chemotaxis: float = 3.0  # -, bias up pdgf/tgfb and towards unfilled deficit (prior)
    divide_per_day: float = 0.3  # 1/day at saturating pdgf, no crowding (prior)
    death_per_day: float = 0.05  # 1/day, basal apoptosis (prior)
    leave_per_day: float = 0.5  # 1/day, die-back once filled and epithelialised above (prior)
    collagen_mm_day: float = 3.0  # mm/day of deficit filled per cohort at saturating tgfb (prior)
    collagen_basal: float = 0.25  # -, fraction of the maximal deposition without tgfb (prior)
    secrete_tgfb: float = 0.1  # u/h per cohort (prior)
    secrete_kgf: float = 0.4  # u/h per cohort into egf (prior)
    ev_gain: float = 1.0  # -, Emax of vesicle activation (deposition, division) relative to saturating tgfb/pdgf: vesicles alone can fully activate a cohort (prior; 4 with a cap at 1 until issue 17)
    ev_uptake_per_h: float = 0.05  # 1/h, first-order EV uptake by a cohort (prior; until issue 15 the macrophage's value)
    initial_density: float = 0.02  # cohorts per wound voxel at entry (prior)
    ev_ec50: float = 0.5  # u, local vesicle concentration of half the maximal activation (25 µg/mL, as macrophage.ev_ec50; prior)
    deposit_own_share: float = 0.5  # -, share of a cohort's new tissue laid in its own voxel, the rest in its 4 neighbours (model choice: filling from the walls)
    ingrowth_um_day: float = 50.0  # µm/day, lateral ingrowth of granulation into an unfilled voxel from its best-filled neighbour or the wound's wall, at 1 mm of deficit (a deeper column fills as much slower: a fixed cross-section of new tissue per day), before diabetic slowing (assumption, prior 10-240: below fibroblast migration, speed_um_day, the cells that lay it; docs/closure.md)


@dataclass
class KeratinocyteParams:
    """Keratinocyte cohorts at the epithelial edge."""

    speed_um_day: float = 60.0  # µm/day, edge advance at normal glucose, no inhibition (prior; DFU healers ~0.1 mm/day)
    doubling_normal_d: float = 3.65  # days at 6 mM glucose, Int Wound J 2005 2:298
    doubling_high_d: float = 5.43  # days at 12 mM glucose, Int Wound J 2005 2:298
    egf_gain: float = 2.0  # -, extra speed at saturating egf (prior)
    ev_gain: float = 6.0  # -, Emax: extra speed of a cohort carrying saturating EV cargo (prior; PRE01/PRE02 bound the effect)
    cargo_half_life_d: float = 14.0  # days, decay of the vesicle cargo (miRNA) a cohort took up (prior)
    cargo_ec50: float = 0.6  # u, cargo of half the maximal speed gain: what ev_uptake_per_h takes up in 24 h at 0.5 u (an in vitro exposure at mid dose; prior)
    max_edge_speed_um_day: float = 300.0  # µm/day, physiological cap of the edge advance (assumption: 3x the ~0.1 mm/day of healing DFUs; docs/dose_response.md)
    cover_granulation: float = 0.8  # -, granulation fraction needed before epithelium can cover (prior)
    differentiate_per_day: float = 0.5  # 1/day, interior cohorts (no open neighbour) leave the edge pool
    secrete_vegf: float = 0.3  # u/h per cohort (prior)
    initial_edge_fraction: float = 1.0  # -, share of edge voxels seeded with a cohort at entry (0: none)
    purse_string_um_day: float = 60.0  # µm/day, closing speed of the edge of a hole ringed by epithelium (actomyosin purse string, Ravasio 2015 Nat Commun 6:7683; assumption: of the order of the crawling edge, speed_um_day; prior 20-200; docs/closure.md)
    purse_string_per_day: float | None = None  # gone (issue 17 item 2): see GONE
    purse_string_neighbour_exponent: float = 2.0  # -, n in the purse-string rate ((k - 4) / 4)^n of an open voxel with k > 4 of its 8 neighbours covered (assumption: rises steeply with enclosure, Ravasio 2015; prior 1-4)
    purse_string_granulation: float = 0.5  # -, share of cover_granulation a ringed hole needs before the purse string closes it (prior)
    ev_uptake_per_h: float = 0.05  # 1/h, vesicle uptake by a cohort at low concentration (Vmax / Km; prior; the macrophage's value)
    ev_uptake_km: float = 5.0  # u, vesicle concentration of half-saturated (receptor-limited) uptake, 250 µg/mL (prior)
    cargo_uptake_per_day: float | None = None  # gone (issue 17 item 6): see GONE


@dataclass
class TissueParams:
    """Tissue layers: debris, perfusion, granulation breakdown, Hill constants of the fields."""

    debris_initial: float | None = None  # gone (issue 17 item 3): see GONE
    debris_infected_fold: float = 3.0  # -, stage B/D infection multiplies debris (prior)
    debris_growth_per_day: float = 0.15  # 1/day, bacterial regrowth in open wound voxels (prior)
    debris_growth_infected_fold: float = 6.0  # -, stage B/D infection multiplies that regrowth: an infected ulcer's
    # bioburden re-forms within about 3 days of sharp debridement (Wolcott et al. 2010 J Wound Care 19:320): logistic
    # regrowth from 20% to 80% of capacity in 3 days is ln 16 / 3 d = 0.92/day, 6.2x the clean ulcer's 0.15/day
    # (prior). No antibiotic is modelled: the infection persists through the run. [1, 8]
    debris_max: float = 3.0  # u, carrying capacity of debris per voxel (prior)
    debris_tnf: float = 0.3  # u/h of tnf per unit debris (damage signal, prior)
    covered_debris_decay_per_day: float = 1.0  # 1/day, resolution of debris under a closed epithelium: within days (prior)
    perfusion_intact: float = 1.0  # -, intact skin
    perfusion_ischaemic: float = 0.5  # -, intact-skin perfusion at Texas stage C/D (prior)
    perfusion_wound_fraction: float = 0.4  # -, wound-bed perfusion relative to intact at entry (prior)
    angiogenesis_per_day: float = 0.1  # 1/day, perfusion rise at saturating vegf (prior)
    mmp_per_day: float = 0.05  # 1/day, granulation breakdown at saturating tnf (prior)
    k_tnf: float = 1.0  # u, Hill half-saturation of tnf effects
    k_il10: float = 0.5  # u
    k_tgfb: float = 0.5  # u
    k_pdgf: float = 0.5  # u
    k_vegf: float = 0.5  # u
    k_egf: float = 0.5  # u
    k_ev: float | None = None  # gone (issue 17 item 6): see GONE
    k_debris: float = 0.5  # u
    tnf_inhibition: float = 0.7  # -, fractional slowing of fibroblasts/keratinocytes at saturating tnf (prior)
    debris_blocks_epithelium: float = 0.8  # -, fractional slowing of the edge at saturating debris (prior)
    depth_grade1_mm: float = 1.0  # mm of tissue deficit at Texas grade I (model choice: < 2 mm, superficial)
    depth_grade2_mm: float = 3.5  # mm at grade II (model choice: 2-5 mm, to tendon or capsule)
    depth_grade3_mm: float = 7.5  # mm at grade III (model choice: 5-10 mm, to bone or joint)
    dermis_thickness_mm: float = 2.0  # mm, the skin layer an injected bolus spreads in (plantar skin about 2 mm: assumption, docs/dose_response.md)
    deficit_edge_fraction: float = 0.3  # -, deficit at the ulcer margin relative to its centre; it rises as sqrt(1 - r²) in between (model choice)
    scar_maturation_days: float = 73.0  # d, time constant of a healed voxel's maturity 1 - exp(-days covered / this),
    # read at confirmed closure (scar maturity Q, docs/recurrence.md). Levenson 1965 (rat skin): ~20% of intact
    # strength at 3 weeks of a final ~80%, i.e. 25% of maturity at 21 d; exponential approach assumed. [30, 180]


@dataclass
class ContractionParams:
    """Wound contraction by myofibroblasts (DESIGN.md 4.1; docs/contraction.md): the fibroblast cohorts'
    myofibroblast state and the daily contraction of the open area, dA/dt = -k_c m (A - A_inf)."""

    myofibroblast_on_per_day: float = 1.0  # 1/day, fibroblast -> myofibroblast at saturating tgfb in fully granulated open bed (prior: TGF-beta1 induces alpha-SMA within days, Desmouliere 1993; alpha-SMA cells fill granulation tissue by day 6-15, Darby 1990)
    myofibroblast_off_per_day: float = 0.05  # 1/day, reversion in open bed (assumed: the phenotype is kept while the matrix is under tension, Hinz 2007)
    myofibroblast_covered_off_per_day: float = 0.5  # 1/day, extra loss once the epithelium above is closed: apoptosis of granulation cells as the wound matures (Desmouliere 1995: within days of closure; rate assumed)
    impairment_slowing: float = 0.3  # -, fractional loss of myofibroblast entry at impairment strength 1 (HbA1c), on top of diabetes' lower TGF-beta (assumed: diabetes reduces contraction in animal wounds, CON01 note)
    impairment_slowing_max: float = 0.9  # -, cap of that loss at any glucose (model choice)
    rate_per_day: float = 0.5  # 1/day, k_c: contraction rate when every open voxel holds a wholly myofibroblast cohort (m = 1); set by hand so that k_c m at the model's m (peaks of 0.13-0.28 at the prior centres, 0.05-0.08 with the version-1 calibration) lies in or below the observed rates of animal wounds, 0.02-0.15/day (McGrath & Simon 1983; CON02 shaping); 0 switches contraction off
    floor_fraction: float = 0.5  # -, A_inf over the ulcer's area at entry: the outline contraction cannot pull in further (assumed: foot skin has little laxity; a non-zero asymptote, McGrath & Simon 1983, CON02)
    plantar_tethering: float = 0.5  # -, fractional loss of k_c in plantar skin, tethered to the plantar fascia (assumed; diagnosis B2: plantar skin contracts less)
    reach_radii: float = 1.0  # wound radii of periwound skin over which the remap's displacement decays to 0 (model choice; docs/contraction.md)


@dataclass
class ImpairmentParams:
    """Diabetic impairment (HbA1c) and chronicity (ulcer duration)."""

    glucose_normal_mM: float = 6.0  # mM, no impairment (keratinocyte data at 6 mM)
    glucose_high_mM: float = 12.0  # mM, impairment strength 1 (keratinocyte data at 12 mM)
    strength_max: float = 2.0  # -, cap of the impairment strength (18 mM at the defaults; model choice: no data beyond 12 mM)
    tnf_fold: float = 2.0  # -, TNF production multiplier at strength 1 (Mi et al. 2007 used 4)
    tgfb_loss: float = 0.67  # -, fractional TGF-b1 production loss at strength 1 (Mi et al. 2007: -67%)
    m2_slowing: float = 1.0  # -, M1->M2 rate divided by (1 + m2_slowing * strength) (prior; Waugh & Sherratt 2006)
    fibroblast_slowing: float = 0.4  # -, fractional loss of fibroblast proliferation at strength 1 (prior)
    fibroblast_slowing_max: float = 0.95  # -, cap of that loss at any glucose (model choice: proliferation never stops)
    senescence_max: float = 0.6  # -, share of a long-standing ulcer's fibroblast and edge keratinocyte cohorts that are senescent at entry (prior)
    senescence_tau_weeks: float = 12.0  # weeks, time scale of that share's build-up with duration (prior)


@dataclass
class StandardCareParams:
    """What every trial arm gets: debridement, offloading and dressings (the latter in baseline rates)."""

    debridement_interval_days: float = 7.0  # days between sharp debridements (weekly visits)
    debridement_efficiency: float = 0.8  # -, fraction of debris removed
    senescence_reset: float = 0.1  # -, probability that a debridement removes a senescent edge cohort (x its senescent share; prior)


@dataclass
class ChronicParams:
    """The chronic ulcer's state at entry, from its duration, grade and care before entry (woundsim.chronic;
    docs/chronic.md). The senescent share at entry is `impairment.senescence_max` / `senescence_tau_weeks`."""

    granulation_plateau: float = 0.6  # -, share of the deficit a stalled chronic bed holds as granulation (prior: 0.3-0.9 for a 15-40-week ulcer, model_v1_diagnosis B5; assumption: its centre)
    granulation_fill_mm_per_week: float = 0.5  # mm/week, deficit filled before entry, towards the plateau (assumption; no DFU depth-fill data found)
    bed_fibroblast_density: float = 0.5  # cohorts per fully granulated wound voxel at entry, on top of fibroblast.initial_density (assumption: granulation tissue is fibroblast-rich)
    senescent_secrete_tnf: float = 1.0  # u/h into tnf per senescent fibroblast or keratinocyte cohort: the senescence-associated secretory phenotype (IL-6, IL-8, MMPs; Coppe et al. 2008 PLoS Biol 6:e301), as much as an M1 macrophage cohort (prior)
    prior_debridement_interval_days: float = 14.0  # days between sharp debridements before entry (0: never); sets debris at entry (assumption: fortnightly clinic care before referral)


@dataclass
class FootParams:
    """The patient's foot while the ulcer heals (DESIGN.md 4.1; docs/foot.md): insufficiently offloaded plantar
    load breaks down the fresh front (`woundsim.kernels.foot`).

    The breakdown speed is stated at unoffloaded load U = 1 (a typical neuropathic plantar forefoot site bearing
    its whole load) and scales as U^load_exponent, U = plantar_load x (1 - offloading_relief x adherence)
    (`woundsim.foot`); an ulcer off the plantar surface bears none. "Fresh" is the voxel's maturity, which
    rises from 0 when the voxel is covered (`TissueState.maturity`). Hand-set priors, not a calibration:
    ranges in the comments as `[low, high]`.
    """

    offloading_relief: float = 0.6  # -, fraction of the site's plantar load the healing-phase offloading removes
    # when worn (assumed: forefoot peak-pressure reductions run from about a third for shoes and sandals to about
    # 90% for casts and walkers, Lavery et al. 1996 Diabetes Care 19:818; removable devices in the pivotal trials'
    # standard care). [0.3, 0.9]
    load_exponent: float = 3.95  # -, damage ~ U^exponent: the recurrence model's REC09 exponent
    # (woundsim.recurrence.REC09_LOAD_EXPONENT; Bus 2013 HR 0.457 for a load ratio of about 0.82), assumed to hold
    # for fresh repair tissue as for healed skin. [1, 8]
    epithelial_breakdown_um_day: float = 170.0  # µm/day, speed at which load at U = 1 erodes fresh (maturity 0)
    # front epithelium (prior, assumed: an unoffloaded plantar ulcer enlarges by millimetres in weeks, its edge lost
    # faster than the 20-60 µm/day a diabetic edge advances). [30, 1000]; the default is the range's geometric centre
    breakdown_granulation_share: float = 0.15  # -, share of a broken-down front voxel's granulation torn with its
    # epithelium (prior: fresh granulation is friable and bleeds under shear; a filled voxel so torn can still be
    # covered, keratinocyte.cover_granulation 0.8, while a barely filled one needs refilling). [0, 0.8]
    breakdown_debris: float = 0.5  # u, debris (haemorrhage, necrotic tissue) a breakdown adds to its voxel (prior; the
    # entry debris of a clean ulcer is 1 u). [0, 2]
    maturation_days: float = 14.0  # days, time constant of the maturity of covered repair tissue (assumed:
    # basement membrane and stratified epidermis re-form within 1-2 weeks of cover; tensile strength takes months,
    # about 20% at 3 weeks, Levenson et al. 1965 Ann Surg 161:293, hence the upper end). [7, 90]


@dataclass
class DerivativeParams:
    """hUC-MSCD products: depot release and composition; dose-to-model-unit factors.

    The product records of `woundsim.products` read the release half-lives, shares and potency below by
    these names (e.g. the conditioned medium's share into il10 is `derivative.cm_fraction_il10`).
    """

    units_per_ug: float = 1000.0  # u·voxel per µg protein-equivalent, voxel = 100 µm x 100 µm on any grid (potency, calibrated)
    cm_release_half_life_h: float = 2.0  # h, conditioned medium leaves its depot fast (prior)
    ev_release_half_life_h: float = 24.0  # h, vesicles retained longer in the injected bolus (prior)
    exosome_release_half_life_h: float = 36.0  # h (prior)
    cm_fraction_il10: float = 0.3  # -, share of conditioned medium released into il10 (prior)
    cm_fraction_tgfb: float = 0.2  # -, into tgfb (prior)
    cm_fraction_vegf: float = 0.25  # -, into vegf (prior)
    cm_fraction_egf: float = 0.25  # -, into egf (HGF/KGF/EGF, prior)
    exosome_potency: float = 1.2  # -, cargo effect per unit relative to EVs (prior)
    bolus_radius_mm: float | None = None  # gone (issue 17 item 6): see GONE


@dataclass
class RecurrenceParams:
    """Recurrence after confirmed closure, version 2 (`woundsim.recurrence`; docs/recurrence.md): same-site and
    other-site recurrence from patient risk, with a hazard that falls with time since confirmed closure, and
    death competing. Every value acts after confirmed closure only, on the stored closure state (the patient's
    risks and the scar maturity Q), so they can be fitted without re-simulating healing.

    Hand-set priors, not a calibration. The reference patient (linear predictor 0) has a plantar ulcer at
    plantar load 1 with offloading adherence `reference_adherence`, neuropathy, no peripheral artery disease,
    does not smoke, is male, `death_reference_age` years old, with a mature scar (Q = 1). Prior ranges are
    in the comments: `[low, high]`.
    """

    weibull_shape: float = 0.6  # 1; k < 1: hazard falls with time since closure. [0.4, 1.0]; REC01's ~40% at 1 y
    # beside ~60% at 3 y and ~65% at 5 y (Armstrong 2017, DESIGN.md 7) needs a falling population hazard
    reference_risk_12m: float = 0.35  # fraction; the reference patient's any-site recurrence within 12 months,
    # death aside. [0.25, 0.65]; set by hand so that standard-care healers reach REC01/REC04's ~40%
    same_site_share: float = 0.15  # fraction of the reference patient's recurrences at the healed site (mature
    # scar). [0.10, 0.45]; REC07: 8% same site of 42% any new ulcer (0.19); REC04: 17% of 42% (0.40). Set by
    # hand so that standard-care healers' same-site risk at 24 months sits near REC07's 8%
    scar_immaturity_log_hr: float = 0.4  # log hazard ratio of same-site recurrence, immature (Q = 0) vs mature
    # (Q = 1) scar. [0, 1] (HR 1-2.7): small and uncertain, no randomised evidence that healing modality
    # changes recurrence (REC11); bounded above by REC04's 17% same site
    offloading_relief: float = 0.3  # fraction of the site's plantar load the prescribed offloading removes when
    # worn. [0.1, 0.6]; assumed: Bus 2013's improved footwear relieved ~20% more than usual custom footwear
    reference_adherence: float = 0.71  # share of steps; Waaijman 2013 mean (71 +- 25%)
    load_exponent: float = math.log(math.log1p(-0.257) / math.log1p(-0.478)) / math.log(1.0 - 0.20 * 0.90)  # 1;
    # hazard ~ (unoffloaded load)^exponent. REC09: HR ln(1 - 0.257)/ln(1 - 0.478) = 0.457 for a load ratio
    # 1 - 0.2 x 0.9 = 0.82 gives 3.95 (woundsim.recurrence.REC09_LOAD_EXPONENT); [0, 8]: REC09's OR CI 0.15-0.99
    # spans from no effect to twice this
    plantar_odds_ratio: float = 5.31  # REC10 (Huang 2019), plantar vs other site; Lin 2025: 2.44
    neuropathy_odds_ratio: float = 2.15  # REC10; Lin 2025: 1.78
    pad_odds_ratio: float = 1.65  # REC10, peripheral artery disease (Texas stage C/D); Lin 2025: 3.10
    smoker_odds_ratio: float = 1.66  # REC10
    male_odds_ratio: float = 1.38  # REC10
    rec10_reference_risk: float = 0.20  # fraction; recurrence of REC10's unexposed groups over its follow-up,
    # not published in clinical_targets.csv: assumed. [0.10, 0.35]; sets the OR -> HR conversions
    death_risk_24m: float = 0.14  # fraction; REC07 (Orneholm 2017): 14% of 617 healed patients died in 2 years
    death_reference_age: float = 65.0  # years; REC07's cohort age, assumed (not in clinical_targets.csv)
    death_log_hr_per_year: float = 0.07  # 1/year; all-cause mortality doubling every ~10 years of age (assumed)
    followup_months: float = 24.0  # months after confirmed closure over which the summary reports same-site and
    # any-site recurrence (`recurrence_*_followup`): the seed trial's 24 (SEED03)

    def __post_init__(self) -> None:
        check_recurrence(self)


RETIRED_PARAMETERS = {  # version 1's recurrence (a constant hazard of tissue quality at first closure), retired
    "recurrence.hazard_per_month": "recurrence.reference_risk_12m",
    "recurrence.quality_gain": "recurrence.scar_immaturity_log_hr",
    "recurrence.impairment_gain": "the patient's risks (woundsim.recurrence; no impairment term)",
}


def check_recurrence(r: RecurrenceParams, prefix: str = "model.recurrence") -> None:
    """Refuse, in one line, recurrence parameters out of range (the ranges of docs/recurrence.md)."""
    require_range(f"{prefix}.weibull_shape", r.weibull_shape, 0.0, 1.0, low_open=True)
    for name in ("reference_risk_12m", "same_site_share", "rec10_reference_risk", "death_risk_24m"):
        require_range(f"{prefix}.{name}", getattr(r, name), 0.0, 1.0, low_open=True, high_open=True)
    require_range(f"{prefix}.offloading_relief", r.offloading_relief, 0.0, 1.0, high_open=True)
    require_range(f"{prefix}.reference_adherence", r.reference_adherence, 0.0, 1.0)
    require_range(f"{prefix}.load_exponent", r.load_exponent, 0.0, 20.0)
    for name in ("plantar", "neuropathy", "pad", "smoker", "male"):
        require_range(f"{prefix}.{name}_odds_ratio", getattr(r, f"{name}_odds_ratio"), 0.0, 100.0, low_open=True)
    require_range(f"{prefix}.followup_months", r.followup_months, 0.0, 1200.0, low_open=True, unit="months")


@dataclass
class NumericsParams:
    """Grid and time steps."""

    dx_um: float = 100.0  # µm voxel edge (50-250)
    margin_mm: float = 5.0  # mm of intact skin around the ulcer's bounding box (>= 5)
    dt_agent_h: float = 1.0  # h, agent step
    dt_field_h: float = 1.0  # h, field step (<= dt_agent_h; implicit solver, no stability limit)
    horizon_weeks: float | None = None  # weeks simulated; None: the horizon policy (`with_horizon`: 12 weeks
    #                                     with injections, 20 for standard care alone)
    confirm_weeks: float = 2.0  # weeks closure must hold to be confirmed (FDA)
    stop_at_confirmed_closure: bool = True  # end the run once closure is confirmed (nothing left to heal)
    mesa_sync_hours: float = 1.0  # h between syncs of the Mesa agent mirror; 0 = never (simulate: nobody looks)


#: parameters that no longer exist (a value set for one is refused by `validate`, naming what replaced it)
GONE = {
    "derivative.bolus_radius_mm": "a bolus's radius now follows from its volume: set treatment.volume_ml_per_site "
                                  "(mL) and model.tissue.dermis_thickness_mm (r = sqrt(V / (pi h)))",
    "tissue.k_ev": "each vesicle response has its own EC50: model.macrophage.ev_ec50, model.fibroblast.ev_ec50 "
                   "(u) and model.keratinocyte.cargo_ec50 (cargo)",
    "keratinocyte.cargo_uptake_per_day": "cargo is what a cohort takes up from the vesicle field (mass balance): "
                                         "model.keratinocyte.ev_uptake_per_h and ev_uptake_km",
    "tissue.debris_initial": "debris at entry follows from the care before entry: set "
                             "model.chronic.prior_debridement_interval_days (days; woundsim.chronic.entry_debris)",
    "keratinocyte.purse_string_per_day": "the purse string is a closing speed, model.keratinocyte.purse_string_um_day "
                                         "(µm/day), so a hole of a given size closes in the same time on every grid "
                                         "(docs/closure.md)",
}


@dataclass
class ModelParams:
    """All model parameters. `ModelParams()` is the default (uncalibrated prior-centre) set."""

    fields: FieldParams = field(default_factory=FieldParams)
    macrophage: MacrophageParams = field(default_factory=MacrophageParams)
    fibroblast: FibroblastParams = field(default_factory=FibroblastParams)
    keratinocyte: KeratinocyteParams = field(default_factory=KeratinocyteParams)
    tissue: TissueParams = field(default_factory=TissueParams)
    impairment: ImpairmentParams = field(default_factory=ImpairmentParams)
    contraction: ContractionParams = field(default_factory=ContractionParams)
    standard_care: StandardCareParams = field(default_factory=StandardCareParams)
    foot: FootParams = field(default_factory=FootParams)
    chronic: ChronicParams = field(default_factory=ChronicParams)
    derivative: DerivativeParams = field(default_factory=DerivativeParams)
    recurrence: RecurrenceParams = field(default_factory=RecurrenceParams)
    numerics: NumericsParams = field(default_factory=NumericsParams)


def flatten(params: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted-name view of a parameter tree: {"macrophage.death_per_day": 0.2, ...}."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        name = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def with_overrides(params: ModelParams, overrides: dict[str, float]) -> ModelParams:
    """Copy of `params` with dotted-name overrides, e.g. {"impairment.tnf_fold": 3.0}.

    Raises:
        InputError: for a name that is not a model parameter.
    """
    params = _deep_copy(params)
    for name, value in overrides.items():
        if name in GONE:
            if value is None:  # a whole flattened parameter set carries the gone names unset: nothing to refuse
                continue
            raise InputError(f"model parameter {name!r} is gone: {GONE[name]}")
        node, leaf = _owner(params, name)
        current = getattr(node, leaf)
        setattr(node, leaf, type(current)(value) if isinstance(current, (int, float)) and not isinstance(current, bool) else value)
    return params


def parameter_value(params: ModelParams, name: str) -> Any:
    """The value of the dotted-name parameter `name`, e.g. "derivative.cm_fraction_il10".

    Raises:
        InputError: for a name that is not a model parameter.
    """
    node, leaf = _owner(params, name)
    return getattr(node, leaf)


def _owner(params: ModelParams, name: str) -> tuple[Any, str]:
    """The dataclass that holds the dotted-name parameter `name`, and the parameter's own name in it."""
    if name in RETIRED_PARAMETERS:
        raise InputError(f"model parameter {name!r} was version 1's recurrence (retired: recurrence now follows "
                         f"woundsim.recurrence, docs/recurrence.md); the nearest is {RETIRED_PARAMETERS[name]}")
    *path, leaf = name.split(".")
    node: Any = params
    for part in path:
        if not dataclasses.is_dataclass(node) or not hasattr(node, part):
            raise InputError(f"unknown model parameter {name!r} (see woundsim.params.flatten(ModelParams()))")
        node = getattr(node, part)
    if not dataclasses.is_dataclass(node) or leaf not in {f.name for f in dataclasses.fields(node)}:
        raise InputError(f"unknown model parameter {name!r} (see woundsim.params.flatten(ModelParams()))")
    return node, leaf


def _deep_copy(params: Any) -> Any:
    changes = {f.name: _deep_copy(getattr(params, f.name)) for f in dataclasses.fields(params)
               if dataclasses.is_dataclass(getattr(params, f.name))}
    return dataclasses.replace(params, **changes)


HORIZON_WEEKS_RANGE = (0.0, 104.0)  # weeks simulated before the confirmation window, (low, high]
HORIZON_WEEKS_TREATED = 12.0  # weeks: a regimen with injections (placebo too); primary endpoint at week 12
HORIZON_WEEKS_STANDARD_CARE = 20.0  # weeks: standard care alone, to see Margolis 1999's week-20 closure


def policy_horizon_weeks(injects: bool) -> float:
    """The horizon policy (DESIGN.md section 2): 12 weeks for a regimen with injections, 20 for standard care.

    Args:
        injects: whether the treatment has injection sessions (`Treatment.injects`; placebo injects).
    """
    return HORIZON_WEEKS_TREATED if injects else HORIZON_WEEKS_STANDARD_CARE


def with_horizon(params: ModelParams, injects: bool, weeks: float | None = None) -> ModelParams:
    """`params` with its horizon decided, in the one place every entry point decides it.

    `woundsim run`, `simulate()` and `WoundModel` all call this: `weeks` when given (`run.horizon_weeks`),
    else the parameters' own `numerics.horizon_weeks` when set, else the policy (`policy_horizon_weeks`).

    Args:
        params: model parameters.
        injects: whether the treatment has injection sessions (`Treatment.injects`).
        weeks: a horizon that overrides both (weeks), or None.
    """
    weeks = weeks if weeks is not None else params.numerics.horizon_weeks
    weeks = weeks if weeks is not None else policy_horizon_weeks(injects)
    if isinstance(weeks, (int, float)) and not isinstance(weeks, bool):
        weeks = float(weeks)  # what validate() refuses (a string, a bool) it names in one line
    if type(params.numerics.horizon_weeks) is type(weeks) and params.numerics.horizon_weeks == weeks:
        return params
    return dataclasses.replace(params, numerics=dataclasses.replace(params.numerics, horizon_weeks=weeks))


def validate_horizon_weeks(weeks: float, name: str = "model.numerics.horizon_weeks") -> None:
    """The one horizon check, whatever the treatment or the study: weeks in (0, 104].

    Args:
        weeks: the horizon (weeks simulated before the closure confirmation window).
        name: the config key it came from, for the message.
    """
    require_range(name, weeks, *HORIZON_WEEKS_RANGE, low_open=True, unit="weeks")


def validate(params: ModelParams) -> None:
    """Check every number is finite and in range; raise InputError naming the first bad one.

    A horizon left to the policy (None) passes: `with_horizon` decides it once the treatment is known.
    """
    if params.numerics.horizon_weeks is not None:
        validate_horizon_weeks(params.numerics.horizon_weeks)
    for name, replacement in GONE.items():
        if parameter_value(params, name) is not None:
            raise InputError(f"model.{name} is gone: {replacement}")
    for name, value in flatten(params).items():
        if isinstance(value, bool) or (value is None and (name == "numerics.horizon_weeks" or name in GONE)):
            continue
        require_range(f"model.{name}", value, 0.0, float("inf"), high_open=True)
    num = params.numerics
    require_range("model.numerics.dx_um", num.dx_um, 50.0, 250.0, unit="µm")
    require_range("model.numerics.margin_mm", num.margin_mm, 5.0, 50.0, unit="mm")
    require_range("model.numerics.dt_agent_h", num.dt_agent_h, 0.0, HOURS_PER_DAY, low_open=True, unit="h")
    require_range("model.numerics.dt_field_h", num.dt_field_h, 0.0, num.dt_agent_h, low_open=True, unit="h")
    require_range("model.contraction.reach_radii", params.contraction.reach_radii, 0.0, float("inf"), low_open=True,
                  high_open=True, unit="wound radii")
    if num.mesa_sync_hours != 0:
        require_range("model.numerics.mesa_sync_hours", num.mesa_sync_hours, num.dt_agent_h, HOURS_PER_WEEK, unit="h (or 0)")
    for name in ("macrophage.phi_initial", "keratinocyte.cover_granulation", "keratinocyte.initial_edge_fraction",
                 "macrophage.initial_density", "fibroblast.initial_density", "macrophage.pdgf_m1_share",
                 "keratinocyte.purse_string_granulation", "tissue.deficit_edge_fraction",
                 "impairment.fibroblast_slowing_max", "fibroblast.deposit_own_share", "tissue.tnf_inhibition",
                 "tissue.debris_blocks_epithelium", "standard_care.debridement_efficiency",
                 "standard_care.senescence_reset", "impairment.tgfb_loss", "impairment.senescence_max",
                 "tissue.perfusion_wound_fraction", "tissue.perfusion_ischaemic", "tissue.perfusion_intact",
                 "foot.offloading_relief", "foot.breakdown_granulation_share",
                 "contraction.impairment_slowing", "contraction.impairment_slowing_max", "contraction.floor_fraction",
                 "contraction.plantar_tethering", "chronic.granulation_plateau"):
        node: Any = params
        for part in name.split("."):
            node = getattr(node, part)
        require_range(f"model.{name}", node, 0.0, 1.0)
    require_range("model.foot.maturation_days", params.foot.maturation_days, 0.0, float("inf"), low_open=True,
                  high_open=True, unit="days")
    for name in ("macrophage.ev_ec50", "fibroblast.ev_ec50", "keratinocyte.cargo_ec50", "keratinocyte.ev_uptake_km",
                 "keratinocyte.max_edge_speed_um_day", "tissue.dermis_thickness_mm"):
        require_range(f"model.{name}", parameter_value(params, name), 0.0, float("inf"), low_open=True, high_open=True)
    check_recurrence(params.recurrence)
    for f in dataclasses.fields(params.fields):
        require_range(f"model.fields.{f.name}.half_life_h", getattr(params.fields, f.name).half_life_h,
                      0.0, float("inf"), low_open=True, high_open=True, unit="h")

"""Assemble the kernels' per-hour parameter vectors from ModelParams and the patient's state.

The slot of each vector entry is named in `woundsim.layout`; this module is the only place that
fills the tissue and cell vectors, so a parameter's unit conversion happens once.
"""

from __future__ import annotations

import numpy as np

from woundsim import layout as L
from woundsim.params import ModelParams
from woundsim.rules import keratinocyte_glucose_factor
from woundsim.units import per_day_to_per_hour as per_h
from woundsim.units import days_to_hours, speed_um_per_day_to_per_h


def tissue_vector(p: ModelParams, impairment: float, load_intensity: float = 0.0, infected: bool = False) -> np.ndarray:
    """Shared tissue vector: Hill constants, diabetic multipliers, patient state, tissue rates (edge senescence
    is each cohort's own, `PopulationArrays.senescent`).

    An `infected` ulcer (Texas stage B/D) regrows its debris `tissue.debris_growth_infected_fold` times faster.
    `load_intensity` is the patient's (U / 1)^load_exponent (`woundsim.foot.load_intensity`; 0: no load), which
    scales the foot's breakdown speed, stated at U = 1 (`params.FootParams`)."""
    t, imp = p.tissue, p.impairment
    v = np.zeros(L.T_LEN)
    v[L.T_K_TNF], v[L.T_K_IL10], v[L.T_K_TGFB], v[L.T_K_PDGF] = t.k_tnf, t.k_il10, t.k_tgfb, t.k_pdgf
    v[L.T_K_VEGF], v[L.T_K_EGF], v[L.T_K_DEBRIS] = t.k_vegf, t.k_egf, t.k_debris
    v[L.T_TNF_INH] = t.tnf_inhibition
    v[L.T_TNF_MULT] = 1.0 + (imp.tnf_fold - 1.0) * impairment
    v[L.T_TGFB_MULT] = max(0.0, 1.0 - imp.tgfb_loss * impairment)
    v[L.T_SASP_TNF] = p.chronic.senescent_secrete_tnf
    v[L.T_IMPAIR] = impairment
    v[L.T_DEBRIS_GROWTH] = per_h(t.debris_growth_per_day) * (t.debris_growth_infected_fold if infected else 1.0)
    v[L.T_DEBRIS_MAX] = t.debris_max
    v[L.T_DEBRIS_TNF] = t.debris_tnf
    v[L.T_ANGIO] = per_h(t.angiogenesis_per_day)
    v[L.T_MMP] = per_h(t.mmp_per_day)
    v[L.T_DEBRIS_BLOCK] = t.debris_blocks_epithelium
    v[L.T_DX] = p.numerics.dx_um
    v[L.T_DEBRIS_RESOLVE] = per_h(t.covered_debris_decay_per_day)
    foot = p.foot
    # a fresh front voxel's breakdown hazard is the erosion speed over the voxel edge, as the edge's own advance
    v[L.T_LOAD_EPITHELIUM] = (load_intensity * speed_um_per_day_to_per_h(foot.epithelial_breakdown_um_day)
                              / p.numerics.dx_um)
    v[L.T_BREAK_GRANULATION] = foot.breakdown_granulation_share
    v[L.T_BREAK_DEBRIS] = foot.breakdown_debris
    v[L.T_MATURATION] = 1.0 / days_to_hours(foot.maturation_days)
    return v


def macrophage_vector(p: ModelParams, impairment: float) -> np.ndarray:
    m = p.macrophage
    v = np.zeros(L.M_LEN)
    v[L.M_DEATH] = per_h(m.death_per_day)
    v[L.M_MOVE] = speed_um_per_day_to_per_h(m.speed_um_day) / p.numerics.dx_um
    v[L.M_CHEMO] = m.chemotaxis
    v[L.M_M2], v[L.M_M1] = per_h(m.m2_rate_per_day), per_h(m.m1_rate_per_day)
    v[L.M_EV_GAIN], v[L.M_EFF_GAIN] = m.ev_m2_gain, m.efferocytosis_m2_gain
    v[L.M_CLEAR] = m.clear_u_per_h
    v[L.M_S_TNF], v[L.M_S_IL10], v[L.M_S_TGFB] = m.secrete_tnf, m.secrete_il10, m.secrete_tgfb
    v[L.M_S_PDGF], v[L.M_S_VEGF] = m.secrete_pdgf, m.secrete_vegf
    v[L.M_EV_UPTAKE] = m.ev_uptake_per_h
    v[L.M_GLYC_SLOW] = p.impairment.m2_slowing * impairment
    v[L.M_BASAL] = m.m2_basal
    v[L.M_PDGF_M1_SHARE], v[L.M_PDGF_RISE] = m.pdgf_m1_share, 1.0 - m.pdgf_m1_share  # PDGF x (share + rise * phi)
    v[L.M_EV_EC50] = m.ev_ec50
    return v


def fibroblast_vector(p: ModelParams, impairment: float) -> np.ndarray:
    f = p.fibroblast
    v = np.zeros(L.F_LEN)
    v[L.F_MOVE] = speed_um_per_day_to_per_h(f.speed_um_day) / p.numerics.dx_um
    v[L.F_CHEMO] = f.chemotaxis
    v[L.F_DIVIDE], v[L.F_DEATH], v[L.F_LEAVE] = per_h(f.divide_per_day), per_h(f.death_per_day), per_h(f.leave_per_day)
    v[L.F_COLLAGEN] = per_h(f.collagen_mm_day)
    v[L.F_BASAL] = f.collagen_basal
    v[L.F_S_TGFB], v[L.F_S_KGF] = f.secrete_tgfb, f.secrete_kgf
    v[L.F_EV_GAIN] = f.ev_gain
    v[L.F_GLYC] = min(p.impairment.fibroblast_slowing * impairment, p.impairment.fibroblast_slowing_max)
    v[L.F_EV_UPTAKE] = f.ev_uptake_per_h
    v[L.F_DEPOSIT_OWN] = f.deposit_own_share
    v[L.F_DEPOSIT_NEIGHBOUR] = (1.0 - f.deposit_own_share) / 4.0  # the rest, shared by the four neighbours
    v[L.F_EV_EC50] = f.ev_ec50
    c = p.contraction  # the myofibroblast state (docs/contraction.md); diabetes slows its entry
    v[L.F_MYO_ON] = per_h(c.myofibroblast_on_per_day) * (1.0 - min(c.impairment_slowing * impairment,
                                                                   c.impairment_slowing_max))
    v[L.F_MYO_OFF], v[L.F_MYO_COVERED_OFF] = per_h(c.myofibroblast_off_per_day), per_h(c.myofibroblast_covered_off_per_day)
    return v


def keratinocyte_vector(p: ModelParams, impairment: float) -> np.ndarray:
    k = p.keratinocyte
    v = np.zeros(L.K_LEN)
    v[L.K_ADVANCE] = speed_um_per_day_to_per_h(k.speed_um_day) / p.numerics.dx_um
    v[L.K_DIVIDE] = np.log(2.0) / days_to_hours(k.doubling_normal_d)
    v[L.K_EGF_GAIN], v[L.K_EV_GAIN] = k.egf_gain, k.ev_gain
    v[L.K_GLYC] = keratinocyte_glucose_factor(impairment, k.doubling_normal_d, k.doubling_high_d)
    v[L.K_COVER] = k.cover_granulation
    v[L.K_DIFF] = per_h(k.differentiate_per_day)
    v[L.K_S_VEGF] = k.secrete_vegf
    v[L.K_EV_UPTAKE], v[L.K_EV_KM] = k.ev_uptake_per_h, k.ev_uptake_km
    v[L.K_CARGO_LOSS] = np.log(2.0) / days_to_hours(k.cargo_half_life_d)
    v[L.K_CARGO_EC50] = k.cargo_ec50
    # the cap on the edge speed as a cap on the multiplier of K_ADVANCE (none needed without a base speed)
    v[L.K_SPEED_CAP] = k.max_edge_speed_um_day / k.speed_um_day if k.speed_um_day > 0 else np.inf
    return v

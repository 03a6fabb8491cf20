"""Assemble the kernels' per-hour parameter vectors from ModelParams and the patient's state.

The index layout of each vector is fixed in `woundsim.kernels.cells`; this module is the only
place that fills it, so a parameter's unit conversion happens once.
"""

from __future__ import annotations

import numpy as np

from woundsim.kernels import cells as K
from woundsim.params import ModelParams
from woundsim.rules import keratinocyte_glucose_factor
from woundsim.units import per_day_to_per_hour as per_h
from woundsim.units import speed_um_per_day_to_per_h


def tissue_vector(p: ModelParams, impairment: float, senescence: float) -> np.ndarray:
    """Shared tissue vector: Hill constants, diabetic multipliers, patient state, tissue rates."""
    t, imp = p.tissue, p.impairment
    v = np.zeros(K.T_LEN)
    v[K.T_K_TNF], v[K.T_K_IL10], v[K.T_K_TGFB], v[K.T_K_PDGF] = t.k_tnf, t.k_il10, t.k_tgfb, t.k_pdgf
    v[K.T_K_VEGF], v[K.T_K_EGF], v[K.T_K_EV], v[K.T_K_DEBRIS] = t.k_vegf, t.k_egf, t.k_ev, t.k_debris
    v[K.T_TNF_INH] = t.tnf_inhibition
    v[K.T_TNF_MULT] = 1.0 + (imp.tnf_fold - 1.0) * impairment
    v[K.T_TGFB_MULT] = max(0.0, 1.0 - imp.tgfb_loss * impairment)
    v[K.T_SENESCENCE] = senescence
    v[K.T_IMPAIR] = impairment
    v[K.T_DEBRIS_GROWTH] = per_h(t.debris_growth_per_day)
    v[K.T_DEBRIS_MAX] = t.debris_max
    v[K.T_DEBRIS_TNF] = t.debris_tnf
    v[K.T_ANGIO] = per_h(t.angiogenesis_per_day)
    v[K.T_MMP] = per_h(t.mmp_per_day)
    v[K.T_DEBRIS_BLOCK] = t.debris_blocks_epithelium
    v[K.T_DX] = p.numerics.dx_um
    return v


def macrophage_vector(p: ModelParams, impairment: float) -> np.ndarray:
    m = p.macrophage
    v = np.zeros(K.M_LEN)
    v[K.M_DEATH] = per_h(m.death_per_day)
    v[K.M_MOVE] = speed_um_per_day_to_per_h(m.speed_um_day) / p.numerics.dx_um
    v[K.M_CHEMO] = m.chemotaxis
    v[K.M_M2], v[K.M_M1] = per_h(m.m2_rate_per_day), per_h(m.m1_rate_per_day)
    v[K.M_EV_GAIN], v[K.M_EFF_GAIN] = m.ev_m2_gain, m.efferocytosis_m2_gain
    v[K.M_CLEAR] = m.clear_u_per_h
    v[K.M_S_TNF], v[K.M_S_IL10], v[K.M_S_TGFB] = m.secrete_tnf, m.secrete_il10, m.secrete_tgfb
    v[K.M_S_PDGF], v[K.M_S_VEGF] = m.secrete_pdgf, m.secrete_vegf
    v[K.M_EV_UPTAKE] = m.ev_uptake_per_h
    v[K.M_GLYC_SLOW] = p.impairment.m2_slowing * impairment
    v[K.M_BASAL] = m.m2_basal
    return v


def fibroblast_vector(p: ModelParams, impairment: float) -> np.ndarray:
    f = p.fibroblast
    v = np.zeros(K.F_LEN)
    v[K.F_MOVE] = speed_um_per_day_to_per_h(f.speed_um_day) / p.numerics.dx_um
    v[K.F_CHEMO] = f.chemotaxis
    v[K.F_DIVIDE], v[K.F_DEATH], v[K.F_LEAVE] = per_h(f.divide_per_day), per_h(f.death_per_day), per_h(f.leave_per_day)
    v[K.F_COLLAGEN] = per_h(f.collagen_mm_day)
    v[K.F_BASAL] = f.collagen_basal
    v[K.F_S_TGFB], v[K.F_S_KGF] = f.secrete_tgfb, f.secrete_kgf
    v[K.F_EV_GAIN] = f.ev_gain
    v[K.F_GLYC] = min(p.impairment.fibroblast_slowing * impairment, 0.95)
    v[K.F_EV_UPTAKE] = p.macrophage.ev_uptake_per_h
    return v


def keratinocyte_vector(p: ModelParams, impairment: float) -> np.ndarray:
    k = p.keratinocyte
    v = np.zeros(K.K_LEN)
    v[K.K_ADVANCE] = speed_um_per_day_to_per_h(k.speed_um_day) / p.numerics.dx_um
    v[K.K_DIVIDE] = np.log(2.0) / (k.doubling_normal_d * 24.0)
    v[K.K_EGF_GAIN], v[K.K_EV_GAIN] = k.egf_gain, k.ev_gain
    v[K.K_GLYC] = keratinocyte_glucose_factor(impairment, k.doubling_normal_d, k.doubling_high_d)
    v[K.K_COVER] = k.cover_granulation
    v[K.K_DIFF] = per_h(k.differentiate_per_day)
    v[K.K_S_VEGF] = k.secrete_vegf
    v[K.K_EV_UPTAKE] = p.macrophage.ev_uptake_per_h
    v[K.K_CARGO_UPTAKE] = per_h(k.cargo_uptake_per_day)
    v[K.K_CARGO_LOSS] = np.log(2.0) / (k.cargo_half_life_d * 24.0)
    return v

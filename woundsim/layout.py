"""The kernel contract: the order of the fields and cell kinds, and the slot of every kernel vector entry.

The one place that defines them: the Python side (`woundsim.fields`, `woundsim.rates`, `woundsim.model`,
`woundsim.observe`, ...) fills and reads the arrays by these names, and the kernels (`woundsim.kernels`)
index them by the same names. Numba reads the integer constants as compile-time constants, so naming a
slot costs nothing. This module is a kernel source (`woundsim._kernel_cache.KERNEL_SOURCES`): an edit
recompiles every kernel.

To add a slot, append its name before the `*_LEN` entry of its vector and fill it in `woundsim.rates`
(or `WoundModel._refresh_vectors` for the `R_` vector).
"""

from __future__ import annotations

# ---- fields: the diffusing factors, in array order (c[f, y, x]) ---------------------------------------
FIELD_NAMES = ("tnf", "il10", "tgfb", "pdgf", "vegf", "egf", "ev")
TNF, IL10, TGFB, PDGF, VEGF, EGF, EV = range(7)
UPTAKE_FIELDS = ("ev",)  # the model's cells take up vesicles only; cytokine loss is in each field's decay

# ---- cell kinds, in the order of the kernels' per-kind arguments and of the `counts` vector -----------
CELL_KINDS = ("macrophage", "fibroblast", "keratinocyte")
MACROPHAGE, FIBROBLAST, KERATINOCYTE = range(3)

# ---- the tissue vector `tp` (shared: per-hour rates, Hill constants, patient state; woundsim.rates) ------
# (edge senescence is each cohort's, `PopulationArrays.senescent`; T_SASP_TNF is what a senescent cohort secretes)
(T_K_TNF, T_K_IL10, T_K_TGFB, T_K_PDGF, T_K_VEGF, T_K_EGF, T_K_DEBRIS, T_TNF_INH,
 T_TNF_MULT, T_TGFB_MULT, T_SASP_TNF, T_IMPAIR, T_DEBRIS_GROWTH, T_DEBRIS_MAX, T_DEBRIS_TNF,
 T_ANGIO, T_MMP, T_DEBRIS_BLOCK, T_DX, T_DEBRIS_RESOLVE,
 T_LOAD_EPITHELIUM, T_BREAK_GRANULATION, T_BREAK_DEBRIS, T_MATURATION, T_LEN) = range(25)
# the patient's foot (woundsim.kernels.foot): T_LOAD_EPITHELIUM the breakdown hazard of a fresh front voxel at the
# patient's load (1/h), T_BREAK_* what one breakdown does (share of granulation torn, debris added),
# T_MATURATION the maturation rate of covered repair tissue (1/h)

# ---- the macrophage vector `mp` -----------------------------------------------------------------------
(M_DEATH, M_MOVE, M_CHEMO, M_M2, M_M1, M_EV_GAIN, M_EFF_GAIN, M_CLEAR, M_S_TNF, M_S_IL10, M_S_TGFB,
 M_S_PDGF, M_S_VEGF, M_EV_UPTAKE, M_GLYC_SLOW, M_BASAL, M_PDGF_M1_SHARE, M_PDGF_RISE, M_EV_EC50, M_LEN) = range(20)

# ---- the fibroblast vector `fp` -----------------------------------------------------------------------
(F_MOVE, F_CHEMO, F_DIVIDE, F_DEATH, F_LEAVE, F_COLLAGEN, F_BASAL, F_S_TGFB, F_S_KGF, F_EV_GAIN,
 F_GLYC, F_EV_UPTAKE, F_DEPOSIT_OWN, F_DEPOSIT_NEIGHBOUR, F_EV_EC50, F_MYO_ON, F_MYO_OFF, F_MYO_COVERED_OFF,
 F_LEN) = range(19)

# ---- the keratinocyte vector `kp` ---------------------------------------------------------------------
(K_ADVANCE, K_DIVIDE, K_EGF_GAIN, K_EV_GAIN, K_GLYC, K_COVER, K_DIFF, K_S_VEGF, K_EV_UPTAKE, K_EV_KM,
 K_CARGO_LOSS, K_CARGO_EC50, K_SPEED_CAP, K_LEN) = range(14)

# ---- the `rates` vector: recruitment, purse-string and ingrowth rates not in the cell vectors (WoundModel) ---
(R_RECRUIT_M, R_RECRUIT_TNF_GAIN, R_RECRUIT_DEBRIS_GAIN, R_ENTRY_F, R_ENTRY_PDGF_GAIN, R_PHI_RECRUIT,
 R_PURSE_STRING, R_PURSE_COVER, R_PURSE_EXPONENT, R_INGROWTH, R_LEN) = range(11)

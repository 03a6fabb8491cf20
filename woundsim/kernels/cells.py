"""Numba kernels for the cell cohorts and tissue layers: named bundles of arrays in, no random draws.

Agents are held as structs of arrays (y, x, uid, state, senescent; `woundsim.kernels.bundles.PopulationArrays`;
a cohort's senescent share slows its own deposition, division and advance, and is 0 for every cohort
born or recruited during the run). Each
kernel takes the uniforms it needs (drawn from the model's generator by `woundsim.kernels.step`), the
`FieldArrays`, `TissueArrays` and `RuleVectors` bundles, and reads float64 parameter vectors whose
layout is given by the slot names of `woundsim.layout` (filled by `woundsim.rates`). Occupancy
arrays cap each voxel at one cohort per cell type (the crowding limit at 100 µm). A removed agent
gets y = -1; `compact` then closes the gaps. The per-cohort helpers (`_chemotactic_target`,
`_deposit`, ...) are inlined (`inline="always"`): a compiled call increments and decrements the
reference count of each of its array arguments, atomically, which per cohort and step cost about a
tenth of the fibroblast kernel.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from woundsim.layout import (EGF, EV, F_BASAL, F_CHEMO, F_COLLAGEN, F_DEATH, F_DEPOSIT_NEIGHBOUR, F_DEPOSIT_OWN,
                             F_DIVIDE, F_EV_EC50, F_EV_GAIN, F_EV_UPTAKE, F_GLYC, F_LEAVE, F_MOVE, F_MYO_COVERED_OFF,
                             F_MYO_OFF, F_MYO_ON, F_S_KGF, F_S_TGFB, IL10, K_ADVANCE, K_CARGO_EC50, K_CARGO_LOSS,
                             K_COVER, K_DIFF, K_DIVIDE, K_EGF_GAIN, K_EV_GAIN, K_EV_KM, K_EV_UPTAKE, K_GLYC,
                             K_SPEED_CAP, K_S_VEGF, M_BASAL, M_CHEMO, M_CLEAR, M_DEATH, M_EFF_GAIN, M_EV_EC50,
                             M_EV_GAIN, M_EV_UPTAKE, M_GLYC_SLOW, M_M1, M_M2, M_MOVE, M_PDGF_M1_SHARE, M_PDGF_RISE,
                             M_S_IL10, M_S_PDGF, M_S_TGFB, M_S_TNF, M_S_VEGF, PDGF, TGFB, TNF, T_DEBRIS_BLOCK,
                             T_K_DEBRIS, T_K_EGF, T_K_IL10, T_K_PDGF, T_K_TGFB, T_K_TNF, T_SASP_TNF, T_TGFB_MULT,
                             T_TNF_INH, T_TNF_MULT, VEGF)
from woundsim.rules import emax_fraction, hill, inhibition, rate_to_prob, relax, saturable_uptake

DY = np.array([-1, 1, 0, 0], dtype=np.int64)
DX = np.array([0, 0, -1, 1], dtype=np.int64)


@njit(cache=True, error_model="numpy", inline="always")
def _signal(c, tp, yy, xx, f1, k1, f2, k2):
    return hill(c[f1, yy, xx], tp[k1]) + hill(c[f2, yy, xx], tp[k2])


@njit(cache=True, error_model="numpy", inline="always")
def _cue(extra, mode, tp, yy, xx):
    """Non-field cue added to the chemotactic signal: 1 = debris (macrophages), 2 = unfilled deficit (fibroblasts)."""
    if mode == 1:
        return hill(extra[yy, xx], tp[T_K_DEBRIS])
    if mode == 2:
        return 1.0 - extra[yy, xx]
    return 0.0


@njit(cache=True, error_model="numpy", inline="always")
def _chemotactic_target(y0, x0, u, occ, allowed, c, extra, tp, chemo, mode, f1, k1, f2, k2):
    """Pick a free, allowed 4-neighbour with weights 1 + chemo * max(0, signal gain); -1 if none."""
    ny, nx = occ.shape
    s0 = _signal(c, tp, y0, x0, f1, k1, f2, k2) + _cue(extra, mode, tp, y0, x0)
    w0 = w1 = w2 = w3 = 0.0
    for d in range(4):
        yy, xx = y0 + DY[d], x0 + DX[d]
        if yy < 0 or yy >= ny or xx < 0 or xx >= nx or occ[yy, xx] > 0 or not allowed[yy, xx]:
            continue
        s = _signal(c, tp, yy, xx, f1, k1, f2, k2) + _cue(extra, mode, tp, yy, xx)
        w = 1.0 + chemo * max(0.0, s - s0)
        if d == 0:
            w0 = w
        elif d == 1:
            w1 = w
        elif d == 2:
            w2 = w
        else:
            w3 = w
    total = w0 + w1 + w2 + w3
    if total <= 0.0:
        return -1
    target = u * total
    if target <= w0 and w0 > 0.0:
        return 0
    if target <= w0 + w1 and w1 > 0.0:
        return 1
    if target <= w0 + w1 + w2 and w2 > 0.0:
        return 2
    if w3 > 0.0:
        return 3
    return -1


@njit(cache=True, error_model="numpy")
def macrophage_step(n, cohorts, u1, u2, fields, tissue, vectors, dt):
    """Polarise, clear debris, secrete, die, move: one step for `n` macrophage cohorts.

    Args:
        n: live cohorts (slots [0, n) of `cohorts`, a `PopulationArrays`); a dying one gets y = -1.
        u1, u2: (n,) uniforms: fate, then direction.
        fields, tissue, vectors: the `FieldArrays`, `TissueArrays` and `RuleVectors` bundles.
        dt: step (h).
    """
    y, x, phi, occ = cohorts.y, cohorts.x, cohorts.state, cohorts.occupancy
    c, source, uptake_ev = fields.c, fields.source, fields.uptake[fields.uptake_slot[EV]]
    debris, anywhere = tissue.debris, tissue.anywhere
    tp, mp = vectors.tissue, vectors.macrophage
    p_death = rate_to_prob(mp[M_DEATH], dt)
    p_move = rate_to_prob(mp[M_MOVE], dt)
    max_clear = mp[M_CLEAR] * dt
    for i in range(n):
        yi, xi = y[i], x[i]
        deb = debris[yi, xi]
        cleared = min(deb, max_clear * hill(deb, tp[T_K_DEBRIS]))
        debris[yi, xi] = deb - cleared
        eff = cleared / max_clear if max_clear > 0.0 else 0.0
        up = mp[M_M2] * (mp[M_BASAL] + hill(c[IL10, yi, xi], tp[T_K_IL10]) + mp[M_EV_GAIN] * emax_fraction(c[EV, yi, xi], mp[M_EV_EC50])
                         + mp[M_EFF_GAIN] * eff) / (1.0 + mp[M_GLYC_SLOW])
        down = mp[M_M1] * hill(c[TNF, yi, xi], tp[T_K_TNF])
        p = relax(phi[i], up, down, dt)
        phi[i] = p
        source[TNF, yi, xi] += mp[M_S_TNF] * tp[T_TNF_MULT] * (1.0 - p)
        source[IL10, yi, xi] += mp[M_S_IL10] * p
        source[TGFB, yi, xi] += mp[M_S_TGFB] * tp[T_TGFB_MULT] * p
        source[PDGF, yi, xi] += mp[M_S_PDGF] * (mp[M_PDGF_M1_SHARE] + mp[M_PDGF_RISE] * p)
        source[VEGF, yi, xi] += mp[M_S_VEGF] * p
        uptake_ev[yi, xi] += mp[M_EV_UPTAKE]
        u = u1[i]
        if u < p_death:
            occ[yi, xi] -= 1
            y[i] = -1
            continue
        if (u - p_death) / (1.0 - p_death) < p_move:
            d = _chemotactic_target(yi, xi, u2[i], occ, anywhere, c, debris, tp, mp[M_CHEMO], 1,
                                    TNF, T_K_TNF, TNF, T_K_TNF)
            if d >= 0:
                occ[yi, xi] -= 1
                y[i], x[i] = yi + DY[d], xi + DX[d]
                occ[y[i], x[i]] += 1


@njit(cache=True, error_model="numpy")
def fibroblast_step(n, cohorts, next_uid, u1, u2, fields, tissue, vectors, dt):
    """Deposit collagen, secrete, die or leave, divide, move; returns the new agent count.

    Args as `macrophage_step`; `next_uid` (int64 (1,)) numbers the daughters, appended after slot n (up to
    the arrays' capacity).
    """
    y, x, uid, myo, occ, sen = cohorts.y, cohorts.x, cohorts.uid, cohorts.state, cohorts.occupancy, cohorts.senescent
    cap = y.size
    c, source, uptake_ev = fields.c, fields.source, fields.uptake[fields.uptake_slot[EV]]
    gran, deficit, epi, wound = tissue.granulation, tissue.deficit_mm, tissue.epithelium, tissue.wound
    tp, fp = vectors.tissue, vectors.fibroblast
    return _fibroblast_loop(n, cap, y, x, uid, myo, sen, next_uid, u1, u2, c, source, uptake_ev, gran, deficit, epi,
                            wound, occ, tp, fp, dt)


@njit(cache=True, error_model="numpy")
def _fibroblast_loop(n, cap, y, x, uid, myo, sen, next_uid, u1, u2, c, source, uptake_ev, gran, deficit, epi, wound,
                     occ, tp, fp, dt):
    """`fibroblast_step`'s loop, on the arrays it reads. A loop of its own because the same loop written
    against the bundles' members compiles to code about 20% slower (measured with per-kernel timers in
    `hourly_rules`, 2026-12-06): the other kernels showed no such difference.

    `myo` (the fibroblast state slot) is each cohort's myofibroblast fraction in [0, 1]: it rises under TGF-beta
    in granulated open bed (entry rate x hill(tgfb) x granulation x (1 - the cohort's senescent share), diabetes' loss in the
    F_MYO_ON slot), reverts slowly, and is lost faster once the epithelium above is closed (docs/contraction.md).
    Daughters take their mother's fraction."""
    ny, nx = occ.shape
    p_move = rate_to_prob(fp[F_MOVE], dt)
    p_die_stay = rate_to_prob(fp[F_DEATH], dt)  # death only, or death or leaving once its work is done
    p_die_done = rate_to_prob(fp[F_DEATH] + fp[F_LEAVE], dt)
    glyc_factor = 1.0 - fp[F_GLYC]
    n_now = n
    for i in range(n):
        yi, xi = y[i], x[i]
        growth_factor = glyc_factor * (1.0 - sen[i])  # a senescent share neither divides nor lays down matrix
        tnf_inh = inhibition(c[TNF, yi, xi], tp[T_K_TNF], tp[T_TNF_INH])
        tgfb = hill(c[TGFB, yi, xi], tp[T_K_TGFB])
        ev = emax_fraction(c[EV, yi, xi], fp[F_EV_EC50])  # Emax curve in the local vesicle concentration
        if wound[yi, xi] and epi[yi, xi] < 1.0:  # open bed: entry under TGF-beta, as far as the bed is granulated
            myo[i] = relax(myo[i], fp[F_MYO_ON] * (1.0 - sen[i]) * tgfb * gran[yi, xi], fp[F_MYO_OFF], dt)
        else:  # covered (or off the wound): the bed matures and myofibroblasts go
            myo[i] = relax(myo[i], 0.0, fp[F_MYO_OFF] + fp[F_MYO_COVERED_OFF], dt)
        # a cohort keeps laying matrix while its own voxel or a wound neighbour is unfilled (filling from the walls)
        if wound[yi, xi] and (gran[yi, xi] < 1.0 or _unfilled_nb(yi, xi, gran, wound)):
            fill_mm = fp[F_COLLAGEN] * dt * (fp[F_BASAL] + (1.0 - fp[F_BASAL]) * min(1.0, tgfb + fp[F_EV_GAIN] * ev))
            fill_mm *= tnf_inh * growth_factor
            _deposit(yi, xi, fill_mm, gran, deficit, wound, fp[F_DEPOSIT_OWN], fp[F_DEPOSIT_NEIGHBOUR])
        source[TGFB, yi, xi] += fp[F_S_TGFB] * tp[T_TGFB_MULT]
        source[EGF, yi, xi] += fp[F_S_KGF]
        source[TNF, yi, xi] += tp[T_SASP_TNF] * tp[T_TNF_MULT] * sen[i]  # senescence-associated secretion
        uptake_ev[yi, xi] += fp[F_EV_UPTAKE]
        done = (not wound[yi, xi]) or (gran[yi, xi] >= 1.0 and epi[yi, xi] >= 1.0 and not _unfilled_nb(yi, xi, gran, wound))
        # a senescent cohort resists apoptosis: it stays until its work is done, or a debridement removes it
        p_die = p_die_done if done else (p_die_stay if sen[i] == 0.0 else rate_to_prob(fp[F_DEATH] * (1.0 - sen[i]), dt))
        u = u1[i]
        if u < p_die:
            occ[yi, xi] -= 1
            y[i] = -1
            continue
        u = (u - p_die) / (1.0 - p_die)
        stim = min(1.0, hill(c[PDGF, yi, xi], tp[T_K_PDGF]) + fp[F_EV_GAIN] * ev)
        p_div = rate_to_prob(fp[F_DIVIDE] * stim * tnf_inh * growth_factor, dt)
        if u < p_div:
            d = int(u2[i] * 4.0) % 4
            yy, xx = yi + DY[d], xi + DX[d]
            if 0 <= yy < ny and 0 <= xx < nx and occ[yy, xx] == 0 and wound[yy, xx] and n_now < cap:
                y[n_now], x[n_now], uid[n_now], myo[n_now], sen[n_now] = yy, xx, next_uid[0], myo[i], 0.0
                next_uid[0] += 1
                occ[yy, xx] += 1
                n_now += 1
            continue
        if (u - p_div) / (1.0 - p_div) < p_move:
            d = _chemotactic_target(yi, xi, u2[i], occ, wound, c, gran, tp, fp[F_CHEMO], 2,
                                    PDGF, T_K_PDGF, TGFB, T_K_TGFB)
            if d >= 0:
                occ[yi, xi] -= 1
                y[i], x[i] = yi + DY[d], xi + DX[d]
                occ[y[i], x[i]] += 1
    return n_now


@njit(cache=True, error_model="numpy", inline="always")
def _unfilled_nb(y0, x0, gran, wound):
    """True if a 4-neighbour wound voxel still has deficit to fill (the cohort stays to fill it)."""
    ny, nx = gran.shape
    for d in range(4):
        yy, xx = y0 + DY[d], x0 + DX[d]
        if 0 <= yy < ny and 0 <= xx < nx and wound[yy, xx] and gran[yy, xx] < 1.0:
            return True
    return False


@njit(cache=True, error_model="numpy", inline="always")
def _deposit(y0, x0, fill_mm, gran, deficit, wound, own, neighbour):
    """Spread `fill_mm` of new tissue: the share `own` in the cohort's voxel, `neighbour` in each 4-neighbour
    (`fibroblast.deposit_own_share`: a half, and an eighth each, by default)."""
    ny, nx = gran.shape
    for d in range(-1, 4):
        if d < 0:
            yy, xx, w = y0, x0, own
        else:
            yy, xx, w = y0 + DY[d], x0 + DX[d], neighbour
        if 0 <= yy < ny and 0 <= xx < nx and wound[yy, xx] and deficit[yy, xx] > 0.0:
            gran[yy, xx] = min(1.0, gran[yy, xx] + w * fill_mm / deficit[yy, xx])


@njit(cache=True, error_model="numpy")
def keratinocyte_step(n, cohorts, next_uid, u1, u2, fields, tissue, vectors, dt):
    """Take up vesicles into cargo, advance into coverable open voxels, fill the edge, differentiate in the interior.

    The edge advances by migration and proliferation together: a cohort that covers an open voxel
    leaves a daughter there and stays, so the edge keeps its cohorts; interior cohorts (no open
    neighbour) leave the pool. `cargo` (u: vesicle amount per voxel volume, the field's unit) is what
    the cohort has taken up: receptor-saturable uptake removes exactly that amount from the vesicle field
    in the cohort's voxel (mass balance, `woundsim.rules.saturable_uptake`); cargo is lost with its own
    half-life (miRNA decay), halved between mother and daughter at a division (the daughter of an advance
    too) and kept on migration; a cohort that leaves the pool takes its cargo with it (degraded). The
    cargo acts through an Emax curve (`ev_gain` x cargo / (cargo_ec50 + cargo)) on the edge speed, which is
    capped (`K_SPEED_CAP`, a multiple of the base speed). Args as `fibroblast_step`.
    """
    y, x, uid, cargo, occ, sen = cohorts.y, cohorts.x, cohorts.uid, cohorts.state, cohorts.occupancy, cohorts.senescent
    cap = y.size
    c, source = fields.c, fields.source
    gran, epi, wound, debris = tissue.granulation, tissue.epithelium, tissue.wound, tissue.debris
    tp, kp = vectors.tissue, vectors.keratinocyte
    ny, nx = occ.shape
    keep = math.exp(-kp[K_CARGO_LOSS] * dt)  # cargo left after one step of decay
    n_now = n
    for i in range(n):
        yi, xi = y[i], x[i]
        source[VEGF, yi, xi] += kp[K_S_VEGF]
        source[TNF, yi, xi] += tp[T_SASP_TNF] * tp[T_TNF_MULT] * sen[i]  # senescence-associated secretion
        ev = c[EV, yi, xi]
        taken = saturable_uptake(ev, kp[K_EV_UPTAKE], kp[K_EV_KM], dt) if ev > 0.0 else 0.0
        c[EV, yi, xi] = ev - taken  # what the cohort takes up, the field loses
        cargo[i] = cargo[i] * keep + taken
        n_open = 0
        n_cover = 0
        for d in range(4):
            yy, xx = yi + DY[d], xi + DX[d]
            if 0 <= yy < ny and 0 <= xx < nx and wound[yy, xx] and epi[yy, xx] < 1.0:
                n_open += 1
                if gran[yy, xx] >= kp[K_COVER] and occ[yy, xx] == 0:
                    n_cover += 1
        u = u1[i]
        if n_open == 0:
            if u < rate_to_prob(kp[K_DIFF], dt):
                occ[yi, xi] -= 1
                y[i] = -1
            continue
        boost = 1.0 + kp[K_EGF_GAIN] * hill(c[EGF, yi, xi], tp[T_K_EGF]) \
            + kp[K_EV_GAIN] * emax_fraction(cargo[i], kp[K_CARGO_EC50])
        speed = boost * inhibition(c[TNF, yi, xi], tp[T_K_TNF], tp[T_TNF_INH]) * kp[K_GLYC] * (1.0 - sen[i])
        speed = min(speed, kp[K_SPEED_CAP])  # the physiological cap of the edge speed
        p_adv = rate_to_prob(kp[K_ADVANCE] * speed, dt)
        p_div = rate_to_prob(kp[K_DIVIDE] * speed, dt)
        if u < p_adv and n_cover > 0:
            d = _pick_coverable(yi, xi, u2[i], n_cover, gran, epi, wound, occ, kp[K_COVER])
            yy, xx = yi + DY[d], xi + DX[d]
            # debris (slough, biofilm) blocks the edge: u / p_adv is a fresh uniform given u < p_adv
            if u / p_adv < 1.0 - tp[T_DEBRIS_BLOCK] * hill(debris[yy, xx], tp[T_K_DEBRIS]):
                epi[yy, xx] = 1.0
                if n_now < cap:
                    cargo[i] *= 0.5  # shared with the daughter
                    y[n_now], x[n_now], uid[n_now], cargo[n_now], sen[n_now] = yy, xx, next_uid[0], cargo[i], 0.0
                    next_uid[0] += 1
                    occ[yy, xx] += 1
                    n_now += 1
        elif u >= p_adv and (u - p_adv) / (1.0 - p_adv) < p_div and n_now < cap:
            d = int(u2[i] * 4.0) % 4
            yy, xx = yi + DY[d], xi + DX[d]
            if 0 <= yy < ny and 0 <= xx < nx and occ[yy, xx] == 0 and (epi[yy, xx] >= 1.0 or not wound[yy, xx]):
                cargo[i] *= 0.5  # shared with the daughter
                y[n_now], x[n_now], uid[n_now], cargo[n_now], sen[n_now] = yy, xx, next_uid[0], cargo[i], 0.0
                next_uid[0] += 1
                occ[yy, xx] += 1
                n_now += 1
    return n_now


@njit(cache=True, error_model="numpy", inline="always")
def _pick_coverable(yi, xi, u, n_cover, gran, epi, wound, occ, cover):
    ny, nx = occ.shape
    k = min(int(u * n_cover), n_cover - 1)
    for d in range(4):
        yy, xx = yi + DY[d], xi + DX[d]
        if 0 <= yy < ny and 0 <= xx < nx and wound[yy, xx] and epi[yy, xx] < 1.0 and gran[yy, xx] >= cover \
                and occ[yy, xx] == 0:
            if k == 0:
                return d
            k -= 1
    return -1


@njit(cache=True, error_model="numpy")
def compact(n, population):
    """Close the gaps left by removed agents (y == -1) in a `PopulationArrays`; returns the new count."""
    return compact_arrays(n, population.y, population.x, population.uid, population.state, population.senescent)


@njit(cache=True, error_model="numpy", inline="always")
def compact_arrays(n, y, x, uid, extra, senescent):
    """`compact` on the arrays themselves (`woundsim.kernels.contraction` uses it); `extra` (the state) and
    `senescent` move along."""
    j = 0
    for i in range(n):
        if y[i] >= 0:
            if j != i:
                y[j], x[j], uid[j], extra[j], senescent[j] = y[i], x[i], uid[i], extra[i], senescent[i]
            j += 1
    return j

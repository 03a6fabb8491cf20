"""Agent stepping: the Numba macrophage kernel against a pure-Python Mesa stepping of the same rules.

Both step the same macrophage cohorts (polarise, clear debris, secrete, die, move up the
debris/tnf signal) on the same fields for the same number of steps, in this process; the figure
is the ratio of agent-steps per second. Target: >= 50x.

    NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/bench_agents.py
"""

from __future__ import annotations

import argparse
import time

import mesa
import numpy as np
from mesa.discrete_space import CellAgent, OrthogonalVonNeumannGrid

from woundsim import layout as L
from woundsim.kernels.bundles import FieldArrays, PopulationArrays, RuleVectors, TissueArrays
from woundsim.kernels.cells import compact, macrophage_step
from woundsim.params import ModelParams
from woundsim.rates import macrophage_vector, tissue_vector
from woundsim.rules import hill, inhibition, rate_to_prob, relax  # noqa: F401  (the same rule functions)


class PyMacrophage(CellAgent):
    """The macrophage rules written per agent in Python, as a plain Mesa model would."""

    def __init__(self, model, cell, phi):
        super().__init__(model)
        self.cell, self.phi = cell, phi

    def step(self):
        m, tp, mp, dt = self.model, self.model.tp, self.model.mp, self.model.dt
        y, x = self.cell.coordinate
        c = m.c
        deb = m.debris[y, x]
        max_clear = mp[L.M_CLEAR] * dt
        cleared = min(deb, max_clear * hill(deb, tp[L.T_K_DEBRIS]))
        m.debris[y, x] = deb - cleared
        up = mp[L.M_M2] * (mp[L.M_BASAL] + hill(c[L.IL10, y, x], tp[L.T_K_IL10])
                           + mp[L.M_EV_GAIN] * hill(c[L.EV, y, x], mp[L.M_EV_EC50])
                           + mp[L.M_EFF_GAIN] * cleared / max_clear) / (1.0 + mp[L.M_GLYC_SLOW])
        down = mp[L.M_M1] * hill(c[L.TNF, y, x], tp[L.T_K_TNF])
        self.phi = relax(self.phi, up, down, dt)
        m.source[L.TNF, y, x] += mp[L.M_S_TNF] * tp[L.T_TNF_MULT] * (1.0 - self.phi)
        m.source[L.IL10, y, x] += mp[L.M_S_IL10] * self.phi
        m.source[L.TGFB, y, x] += mp[L.M_S_TGFB] * tp[L.T_TGFB_MULT] * self.phi
        m.source[L.PDGF, y, x] += mp[L.M_S_PDGF] * (0.3 + 0.7 * self.phi)
        m.source[L.VEGF, y, x] += mp[L.M_S_VEGF] * self.phi
        m.uptake[L.EV, y, x] += mp[L.M_EV_UPTAKE]
        u = self.model.rng.random()
        p_death = rate_to_prob(mp[L.M_DEATH], dt)
        if u < p_death:
            self.remove()
            return
        if self.model.rng.random() < rate_to_prob(mp[L.M_MOVE], dt):
            s0 = hill(m.debris[y, x], tp[L.T_K_DEBRIS]) + 2 * hill(c[L.TNF, y, x], tp[L.T_K_TNF])
            options, weights = [], []
            for cell in self.cell.neighborhood:
                if cell.is_empty:
                    yy, xx = cell.coordinate
                    s = hill(m.debris[yy, xx], tp[L.T_K_DEBRIS]) + 2 * hill(c[L.TNF, yy, xx], tp[L.T_K_TNF])
                    options.append(cell)
                    weights.append(1.0 + mp[L.M_CHEMO] * max(0.0, s - s0))
            if options:
                w = np.asarray(weights)
                self.cell = options[int(self.model.rng.choice(len(options), p=w / w.sum()))]


class PyModel(mesa.Model):
    def __init__(self, n_side, ys, xs, phi, fields, debris, seed):
        super().__init__(rng=seed)
        self.grid = OrthogonalVonNeumannGrid((n_side, n_side), torus=False, random=self.random)
        self.c, self.debris = fields, debris
        self.source, self.uptake = np.zeros_like(fields), np.zeros_like(fields)
        p = ModelParams()
        self.tp, self.mp, self.dt = tissue_vector(p, 0.5), macrophage_vector(p, 0.5), 1.0
        for y, x, f in zip(ys, xs, phi):
            PyMacrophage(self, self.grid[(int(y), int(x))], float(f))

    def step(self):
        self.agents.shuffle_do("step")


def setup(n_side: int, n_agents: int, seed: int):
    rng = np.random.default_rng(seed)
    flat = rng.choice(n_side * n_side, n_agents, replace=False)
    ys, xs = np.divmod(flat, n_side)
    fields = rng.random((7, n_side, n_side))
    debris = rng.random((n_side, n_side))
    return ys.astype(np.int64), xs.astype(np.int64), rng.random(n_agents), fields, debris


def bench_numba(n_side, n_agents, steps, seed):
    ys, xs, phi, fields, debris = setup(n_side, n_agents, seed)
    p = ModelParams()
    tp, mp = tissue_vector(p, 0.5), macrophage_vector(p, 0.5)
    occ = np.zeros((n_side, n_side), dtype=np.int64)
    occ[ys, xs] = 1
    anywhere = np.ones((n_side, n_side), dtype=np.bool_)
    uptake_slot = np.full(len(L.FIELD_NAMES), -1, dtype=np.int64)
    uptake_slot[L.EV] = 0
    unused = np.zeros(0)  # members the macrophage kernel does not read
    field_arrays = FieldArrays(c=fields, source=np.zeros_like(fields), uptake=np.zeros((1, n_side, n_side)),
                               uptake_slot=uptake_slot, **dict.fromkeys(("decay_per_h", "active", "gx", "ix", "gy",
                                                                         "iy"), unused), step_h=1.0, n_sub=1)
    tissue = TissueArrays(**dict.fromkeys(TissueArrays._fields, unused))._replace(debris=debris, anywhere=anywhere)
    vectors = RuleVectors(tissue=tp, macrophage=mp, fibroblast=unused, keratinocyte=unused, rates=unused)
    rng = np.random.default_rng(seed)
    cohorts = PopulationArrays(y=ys.copy(), x=xs.copy(), uid=np.arange(n_agents), state=phi.copy(), occupancy=occ,
                               senescent=np.zeros(n_agents))
    n = n_agents

    def one_step(n):
        u = rng.random(2 * n)
        macrophage_step(n, cohorts, u[:n], u[n:], field_arrays, tissue, vectors, 1.0)
        return compact(n, cohorts)

    one_step(n)  # compile (or load from cache)
    agent_steps, t0 = 0, time.perf_counter()
    for _ in range(steps):
        agent_steps += n
        n = one_step(n)
    return agent_steps / (time.perf_counter() - t0)


def bench_python(n_side, n_agents, steps, seed):
    ys, xs, phi, fields, debris = setup(n_side, n_agents, seed)
    model = PyModel(n_side, ys, xs, phi, fields, debris, seed)
    agent_steps, t0 = 0, time.perf_counter()
    for _ in range(steps):
        agent_steps += len(model.agents)
        model.step()
    return agent_steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--side", type=int, default=200, help="grid side (voxels)")
    ap.add_argument("--agents", type=int, default=4000, help="macrophage cohorts")
    ap.add_argument("--steps", type=int, default=24, help="steps of the Python reference (Numba runs 10x more)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    py = bench_python(a.side, a.agents, a.steps, a.seed)
    nb = bench_numba(a.side, a.agents, 10 * a.steps, a.seed)
    print(f"macrophage rules, {a.agents} cohorts on {a.side}x{a.side}")
    print(f"  pure-Python Mesa agents : {py / 1e6:8.3f} M agent-steps/s")
    print(f"  Numba kernel            : {nb / 1e6:8.3f} M agent-steps/s")
    print(f"  ratio                   : {nb / py:8.1f}x   (target >= 50x)")


if __name__ == "__main__":
    main()

"""History matching in waves (Andrianakis et al. 2015): design, simulate, emulate, cut out the implausible.

Wave 0 simulates a Latin hypercube over the priors. Each later wave simulates a maximin subset of points drawn
by rejection sampling from the region that every earlier wave's emulators leave non-implausible (uniform prior
draws in quantile space, from the bounding box of the previous region once there is one), fits new emulators
there, and so narrows the region. Per wave the table reports the design size, whether every emulator passed
its leave-one-out diagnostic, and the share of prior mass still non-implausible (Monte Carlo estimate).

Seeds: design, region sampling and the emulators' optimiser starts draw from `keyed_rng(seed, HM_KEY, wave,
purpose)`; design point i of wave k is simulated with its own seed (`point_seed`), so a wave gives the same
numbers on one core or a cluster, and a resumed wave the same design.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from calibration.history_matching.design import (bounding_box, latin_hypercube, maximin_subset, sample_region,
                                                 to_abc)
from calibration.history_matching.emulator import StatisticEmulator, loo_diagnostic, min_evaluations
from calibration.history_matching.evaluations import (EvaluationTask, Simulator, WaveStore,
                                                      bootstrapped_statistics, evaluate)
from calibration.history_matching.implausibility import CUTOFF, Observation, combine, implausibility
from woundsim.errors import InputError, require
from woundsim.parallel import ParallelConfig, map_tasks
from woundsim.seeds import keyed_rng

SECONDS_PER_HOUR = 3600.0
HM_KEY = 18  # spawn-key word of history matching's generators (issue 18)
DESIGN, REGION, EMULATOR, POSTERIOR, RESTATE = range(5)  # purposes of keyed_rng(seed, HM_KEY, wave, purpose)


@dataclass
class WaveOptions:
    """How the waves run (conf/calibration/*.yaml, section `history_matching`).

    Attributes:
        waves: number of waves.
        design_size: design points of wave 0.
        later_design_size: design points of each later wave.
        bootstrap: bootstrap resamples of each evaluation's patients (its Monte Carlo variance).
        cutoff: implausibility cut-off.
        combine: "max" (the largest implausibility over statistics) or "second_max".
        batch: uniform draws per batch of the region sampling.
        max_draws: most draws of one region sampling.
        region_size: non-implausible points wanted from one region sampling.
        restarts: extra optimiser starts of each GP fit.
        restate_draws: for a simulator with quantities that act only after closure (`RestatingSimulator`), the
            values of those quantities at which each design point's stored patients are restated, adding as many
            rows to the emulators of the statistics they change (0: none; see `_restated_rows`).
    """

    waves: int = 3
    design_size: int = 60
    later_design_size: int = 60
    bootstrap: int = 50
    cutoff: float = CUTOFF
    combine: str = "max"
    batch: int = 20000
    max_draws: int = 400000
    region_size: int = 2000
    restarts: int = 2
    restate_draws: int = 0

    def __post_init__(self) -> None:
        require(self.waves >= 1, f"history_matching.waves = {self.waves} must be >= 1")
        require(self.bootstrap >= 10, f"history_matching.bootstrap = {self.bootstrap} must be >= 10")
        require(self.cutoff > 0, f"history_matching.cutoff = {self.cutoff} must be > 0")
        require(self.restate_draws >= 0, f"history_matching.restate_draws = {self.restate_draws} must be >= 0")
        require(self.combine in ("max", "second_max"), f"history_matching.combine = {self.combine!r}; allowed max, second_max")


@dataclass
class Wave:
    """One fitted wave: its emulators (mean, and per-patient variance where needed) and diagnostics."""

    index: int
    design: pd.DataFrame
    emulators: dict[str, StatisticEmulator]
    unit_variance: dict[str, StatisticEmulator]
    diagnostics: pd.DataFrame

    def emulated(self, observations: list[Observation]) -> list[Observation]:
        """The observations this wave emulates (a statistic defined at too few design points is not)."""
        return [obs for obs in observations if obs.name in self.emulators]


@dataclass
class WavesResult:
    """All waves, the final non-implausible sample (quantile space) and the per-wave table."""

    waves: list[Wave]
    region: np.ndarray
    table: pd.DataFrame
    diagnostics: pd.DataFrame = field(default_factory=pd.DataFrame)


def point_seed(seed: int, wave: int, point: int) -> int:
    """Simulation seed of design point `point` of wave `wave`."""
    ss = np.random.SeedSequence(int(seed), spawn_key=(HM_KEY, int(wave), 4, int(point)))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def wave_implausibility(wave: Wave, observations: list[Observation], u: np.ndarray, rule: str) -> np.ndarray:
    """Combined implausibility of points u under one wave's emulators."""
    columns = []
    for obs in wave.emulated(observations):
        mean, var = wave.emulators[obs.name].predict(u)
        unit = np.exp(wave.unit_variance[obs.name].predict(u)[0]) if obs.name in wave.unit_variance else None
        columns.append(implausibility(obs, mean, var, unit))
    if not columns:  # nothing emulated in this wave: it rules nothing out
        return np.zeros(len(u))
    return combine(np.column_stack(columns), rule)


def plausible_under(waves: list[Wave], observations: list[Observation], options: WaveOptions
                    ) -> Callable[[np.ndarray], np.ndarray]:
    """u -> True where every wave's implausibility is below the cut-off."""
    def plausible(u: np.ndarray) -> np.ndarray:
        keep = np.ones(len(u), dtype=bool)
        for wave in waves:
            if keep.any():
                keep[keep] = wave_implausibility(wave, observations, u[keep], options.combine) < options.cutoff
        return keep
    return plausible


def run_waves(simulator: Simulator, observations: list[Observation], store: WaveStore, options: WaveOptions,
              seed: int, parallel: ParallelConfig | None = None,
              progress: Callable[[str], None] = print) -> WavesResult:
    """Run (or resume) the waves; every evaluation is stored as it arrives (see the module docstring).

    Raises:
        InputError: no point of the prior is non-implausible after some wave (the report says which).
    """
    params = simulator.parameters
    d = len(params)
    waves, rows, region, share = [], [], np.empty((0, d)), 1.0
    for k in range(options.waves):
        design = _design(k, region, params, store, options, seed)
        _simulate(k, design, simulator, store, options, parallel or ParallelConfig(backend="serial"), progress)
        evaluations = store.evaluations(k)
        wave = _fit(k, design, evaluations, simulator, observations, options, seed,
                    _restated_rows(k, design, evaluations, store, simulator, options, seed, region))
        waves.append(wave)
        box = bounding_box(region) if len(region) else None
        region, share_in_box, draws = sample_region(plausible_under(waves, observations, options), d,
                                                    keyed_rng(seed, HM_KEY, k, REGION), wanted=options.region_size,
                                                    batch=options.batch, max_draws=options.max_draws, box=box)
        share = share_in_box
        emulated = wave.diagnostics["emulated"].astype(bool)
        passed = bool(wave.diagnostics.loc[emulated, "passed"].astype(bool).all())
        skipped = sorted(set(wave.diagnostics.loc[~emulated, "statistic"]))
        rows.append({"wave": k, "design_size": len(design), "evaluations": len(evaluations),
                     "cpu_s_per_evaluation": float(evaluations["cpu_seconds"].mean()),
                     "emulators_passed": passed, "not_emulated": " ".join(skipped), "nonimplausible_share": share, "region_draws": draws})
        if skipped:
            progress(f"wave {k}: not emulated (too few design points where it is defined), so not cut on: "
                     + ", ".join(skipped))
        progress(f"wave {k}: {len(design)} points simulated; emulators {'pass' if passed else 'FAIL'} leave-one-out; "
                 f"non-implausible share of the prior {share:.3g} ({len(region)} of {draws} draws kept)")
        if len(region) == 0:
            raise InputError(f"no non-implausible point in {draws} prior draws after wave {k}: the targets are out of "
                             "the model's reach inside the priors, or an emulator is overconfident (see its diagnostics)")
    diagnostics = pd.concat([w.diagnostics for w in waves], ignore_index=True)
    return WavesResult(waves, region, pd.DataFrame(rows), diagnostics)


def projected_wall_time(waves: pd.DataFrame, workers: tuple[int, ...] = (1, 2, 8, 32, 128)) -> pd.DataFrame:
    """Projected wall time of the waves' simulations against the number of workers, one row per worker count.

    Each wave's evaluations run in rounds of `workers` at once, each round taking the wave's mean CPU seconds
    per evaluation (measured): hours = ceil(evaluations / workers) x mean seconds / 3600, per wave and in total.
    It leaves out emulator fitting and region sampling (seconds to minutes on one core) and scheduling overhead.
    """
    rows = []
    for n in workers:
        hours = {f"wave{int(w.wave)}_h": math.ceil(w.evaluations / n) * w.cpu_s_per_evaluation / SECONDS_PER_HOUR
                 for w in waves.itertuples()}
        rows.append({"workers": n, **hours, "total_h": sum(hours.values())})
    return pd.DataFrame(rows)


def _design(k: int, region: np.ndarray, params, store: WaveStore, options: WaveOptions, seed: int) -> pd.DataFrame:
    stored = store.design(k)
    if stored is not None:
        return stored
    rng = keyed_rng(seed, HM_KEY, k, DESIGN)
    u = (latin_hypercube(options.design_size, len(params), rng) if k == 0
         else maximin_subset(region, options.later_design_size, rng))
    design = pd.concat([pd.DataFrame({"point": np.arange(len(u)), "seed": [point_seed(seed, k, i) for i in range(len(u))]}),
                        pd.DataFrame(u, columns=[f"u.{p.key}" for p in params]),
                        to_abc(params, u).add_prefix("abc.")], axis=1)
    store.write_design(k, design)
    return design


def _simulate(k: int, design: pd.DataFrame, simulator: Simulator, store: WaveStore, options: WaveOptions,
              parallel: ParallelConfig, progress: Callable[[str], None]) -> None:
    done = store.evaluations(k)
    done_points = set(done["point"]) if len(done) else set()
    keys = [p.key for p in simulator.parameters]
    tasks = [EvaluationTask(simulator, int(row.point), {key: float(row[f"abc.{key}"]) for key in keys},
                            int(row.seed), options.bootstrap)
             for _, row in design.iterrows() if int(row.point) not in done_points]
    progress(f"wave {k}: {len(design)} design points, {len(done_points)} stored, {len(tasks)} to simulate")
    map_tasks(evaluate, tasks, config=parallel, desc=f"wave {k}", on_result=lambda i, r: store.append(k, r))


def _fit(k: int, design: pd.DataFrame, evaluations: pd.DataFrame, simulator: Simulator,
         observations: list[Observation], options: WaveOptions, seed: int,
         restated: pd.DataFrame | None = None) -> Wave:
    table = design.merge(evaluations, on="point")
    u_columns = [c for c in design.columns if c.startswith("u.")]
    u = table[u_columns].to_numpy(dtype=float)
    gp_seed = int(keyed_rng(seed, HM_KEY, k, EMULATOR).integers(2**31))
    emulators, unit, rows = {}, {}, []
    need = min_evaluations(u.shape[1])
    for obs in observations:
        y, var = table[obs.name].to_numpy(dtype=float), table[f"var.{obs.name}"].to_numpy(dtype=float)
        ok = np.isfinite(y)
        good = ok & np.isfinite(var) & (var > 0)  # where a per-patient variance can be read
        if ok.sum() < need or (obs.needs_unit_variance and good.sum() < need):
            # e.g. a mean closure time where few design points closed anyone: this wave cannot emulate it, so it
            # does not cut on it (the statistics defined everywhere, such as the closed fraction, still do); the
            # report names it and the real-model predictive check judges it in the end
            rows.append(_diagnostic_row(k, obs.name, "mean", None, int(ok.sum())))
            continue
        inputs, outputs, noise, groups = u[ok], y[ok], var[ok], table["point"].to_numpy()[ok]
        what = "mean"
        if restated is not None and obs.name in restated.columns:  # the same points' patients at other values of
            extra = restated[np.isfinite(restated[obs.name].to_numpy(dtype=float))]  # the after-closure quantities
            inputs = np.vstack([inputs, extra[u_columns].to_numpy(dtype=float)])
            outputs = np.concatenate([outputs, extra[obs.name].to_numpy(dtype=float)])
            noise = np.concatenate([noise, extra[f"var.{obs.name}"].to_numpy(dtype=float)])
            groups = np.concatenate([groups, extra["point"].to_numpy()])
            what = f"mean, {options.restate_draws} restatements per point"
        emulators[obs.name] = StatisticEmulator(options.restarts, gp_seed).fit(inputs, outputs, _noise_floor(noise),
                                                                               groups=groups)
        rows.append(_diagnostic_row(k, obs.name, what, emulators[obs.name]))
        if obs.needs_unit_variance:  # the per-patient variance: the bootstrap's x the patients it counted there
            n_arm = _counted(table, simulator.statistics_arm[obs.name])
            unit[obs.name] = StatisticEmulator(options.restarts, gp_seed).fit(
                u[good], np.log(var[good] * n_arm[good]), np.full(good.sum(), 2.0 / (options.bootstrap - 1)))
            rows.append(_diagnostic_row(k, obs.name, "log per-patient variance", unit[obs.name]))
    return Wave(k, design, emulators, unit, pd.DataFrame(rows))


def _restated_rows(k: int, design: pd.DataFrame, evaluations: pd.DataFrame, store: WaveStore, simulator: Simulator,
                   options: WaveOptions, seed: int, region: np.ndarray) -> pd.DataFrame | None:
    """Rows that fit the after-closure statistics' emulators on stored closure states (issue 18 item 1).

    A simulator whose recurrence quantities act only after closure (`RestatingSimulator`) lets each simulated
    design point's stored patients be read again under other values of those quantities without simulating
    healing: for each point, `restate_draws` values of them are drawn (the after-closure coordinates of a uniform
    pick of the region the design was drawn from; uniform on the prior for wave 0), the point's stored tables are
    restated under them, and the statistics they change, with their bootstrap variances, become extra emulator
    rows at the point's other coordinates. The rows of one point share its patients, so the emulators' leave-one-out
    diagnostic leaves out a whole point (`StatisticEmulator.loo_errors`).

    Returns:
        one row per point and draw (`point`, the `u.<key>` inputs, each statistic and `var.<statistic>`), or None.
    """
    after = tuple(getattr(simulator, "after_closure", ()))
    if options.restate_draws == 0 or not after:
        return None
    keys = [p.key for p in simulator.parameters]
    columns = [keys.index(key) for key in after]
    arms = sorted(set(simulator.statistics_arm.values()))
    stored = {arm: store.patients(k, arm) for arm in arms}
    by_point = {arm: {int(p): t.drop(columns=["point", "patient"]).reset_index(drop=True)
                      for p, t in stored[arm].groupby("point")} for arm in arms}
    empty = {arm: stored[arm].drop(columns=["point", "patient"]).iloc[:0] for arm in arms}
    design = design[design["point"].isin(set(evaluations["point"]))]
    rng = keyed_rng(seed, HM_KEY, k, RESTATE)
    rows = []
    for _, row in design.iterrows():
        point = int(row["point"])
        arms_at = {arm: by_point[arm].get(point, empty[arm]) for arm in arms}
        own = row[[f"u.{key}" for key in keys]].to_numpy(dtype=float)
        for j in range(options.restate_draws):
            u = own.copy()
            source = region[rng.integers(len(region))] if len(region) else rng.random(len(keys))
            u[columns] = source[columns]
            particle = to_abc(simulator.parameters, u[None, :]).iloc[0].to_dict()
            stats, variances = bootstrapped_statistics(simulator, simulator.restate(arms_at, particle),
                                                       options.bootstrap, keyed_rng(seed, HM_KEY, k, RESTATE, point, j))
            rows.append({"point": point, **{f"u.{key}": v for key, v in zip(keys, u)},
                         **{s: stats[s] for s in simulator.after_closure_statistics},
                         **{f"var.{s}": variances[s] for s in simulator.after_closure_statistics}})
    return pd.DataFrame(rows)


def _counted(table: pd.DataFrame, arm: str) -> np.ndarray:
    """The patients behind one arm's statistics at each evaluation (`n.<arm>` of the stored evaluations)."""
    column = f"n.{arm}"
    require(column in table.columns, f"the stored evaluations lack {column} (the patients behind the {arm} arm's "
                                     "statistics, recorded since the standard-care run-in): simulate the waves "
                                     "again in a new folder")
    return table[column].to_numpy(dtype=float)


def _noise_floor(var: np.ndarray) -> np.ndarray:
    """Bootstrap variances with undefined or zero ones replaced by the smallest positive one (a bootstrap of
    10/10 closed patients has variance 0, though another 10 patients might not all close)."""
    positive = var[np.isfinite(var) & (var > 0)]
    floor = positive.min() if len(positive) else 1e-8
    return np.where(np.isfinite(var) & (var > 0), var, floor)


def _diagnostic_row(k: int, name: str, what: str, emulator: StatisticEmulator | None, n: int = 0) -> dict:
    """One row of emulators.csv; `emulator` None: not emulated in this wave, from `n` defined evaluations."""
    if emulator is None:
        return {"wave": k, "statistic": name, "emulates": what, "n": n, "emulated": False, "loo_within_3": np.nan,
                "loo_sd": np.nan, "passed": np.nan, "length_scales": ""}
    diag = loo_diagnostic(emulator.loo_errors())
    return {"wave": k, "statistic": name, "emulates": what, "n": diag.n, "emulated": True,
            "loo_within_3": diag.share_within,
            "loo_sd": diag.sd, "passed": diag.passed,
            "length_scales": " ".join(f"{v:.3g}" for v in emulator.length_scales())}

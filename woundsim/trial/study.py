"""The virtual phase III trial design study: parameter sets, pools, resampled trials, recommendation, report.

    summary = run_design_study(cfg, out)      # cfg: a resolved TrialStudyConf (plain dict); out: run folder

A design study (the `woundsim trial` application composes its config from conf/trial/ and calls this):
1. parameter sets: the reference set (the `model` node) and `draws.n` draws of the uncertain parameters,
   from a prior-predictive stand-in or the installed calibration posterior (`draws.source`);
2. pools: for each set, both arms' pools of screened patients (woundsim.trial.pools: run-in, common
   patients and seeds across arms, cached on disk);
3. trials resampled from the pools for each arm size and effect scenario (woundsim.trial.power): power at
   the reference set, assurance over the draws; the smallest arm sizes for the target powers, then power
   and assurance simulated again at exactly those sizes;
4. checks (woundsim.trial.checks) and the report (woundsim.trial.report) in the run folder.
Every generator comes from `woundsim.seeds` (the parameter draws, each effect scenario's pool, each trial).
A study that uses the installed calibration (model=calibrated or posterior draws) refuses to start when the
model's results changed since it was fitted (woundsim.calibration_code), until the model is recalibrated or
`accept_calibration=true` accepts the installed one as it is. The run folder is complete when its
`COMPLETE` marker is written, last. See docs/trial.md.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from woundsim.calibration_code import require_current
from woundsim.codekey import code_key
from woundsim.config import CONF_DIR, cohort_from, parallel_from
from woundsim.endpoints import closed_by_table
from woundsim.errors import require
from woundsim.output import COMPLETE, mark_complete, provenance
from woundsim.parallel import ParallelConfig, map_tasks
from woundsim.params import ModelParams, flatten, validate, with_overrides
from woundsim.seeds import effect_scenario_rng, task_seeds, trial_draws_rng, trial_rng
from woundsim.treatment import Treatment
from woundsim.trial.checks import design_checks
from woundsim.trial.design import TrialDesign
from woundsim.trial.endpoints import ENDPOINTS
from woundsim.trial.pools import Draw, PoolSpec, RunIn, build_pools, eligible_pool, parameter_draws
from woundsim.trial.power import (assurance_from_powers, draw_trial, power_from_trials, shrink_effect,
                                  simulate_trials, smallest_n)


@dataclass
class RunInConf:
    days: float = 14.0  # d of standard care before randomisation (0 = none)
    max_shrink_fraction: float = 0.30  # exclude ulcers that shrank by more than this fraction in the run-in


@dataclass
class PoolConf:
    candidates: int = 400  # patients screened per arm at the reference parameters
    draw_candidates: int = 80  # patients screened per arm and parameter draw
    cache_dir: str = "outputs/trial_cache"  # pools cached by the hash of their configuration


@dataclass
class DrawsConf:
    source: str = "posterior"  # posterior (woundsim.posterior.draw_particles) | prior (prior-predictive stand-in)
    n: int = 8  # parameter draws for the assurance
    prior: dict[str, list[float]] = field(default_factory=dict)  # target -> [low, high], log-uniform


@dataclass
class AnalysisConf:
    effect_fractions: list[float] = field(default_factory=lambda: [1.0, 0.75, 0.5])  # treatment effect kept
    targets: list[float] = field(default_factory=lambda: [0.8, 0.9])  # power / assurance targets
    endpoints: list[str] = field(default_factory=lambda: list(ENDPOINTS))
    n_trials_draw: int = 300  # trials per size and draw (the reference uses design.n_trials)
    check_trials: int = 2000  # trials per statistical check
    published: list[str] = field(default_factory=lambda: ["veves2001_apligraf", "marston2003_dermagraft"])


@dataclass
class TrialStudyConf:
    """Schema of a design study (conf/trial/default.yaml)."""

    name: str = "trial"
    design: Any = None  # woundsim.trial.TrialDesign fields; arms[i].treatment = Treatment fields
    cohort: Any = None  # woundsim.patient.CohortSpec fields (inclusion criteria)
    treatments: dict[str, Treatment] = field(default_factory=dict)  # referenced by the arms
    model: ModelParams = field(default_factory=ModelParams)  # the reference parameter set
    runin: RunInConf = field(default_factory=RunInConf)
    pool: PoolConf = field(default_factory=PoolConf)
    draws: DrawsConf = field(default_factory=DrawsConf)
    analysis: AnalysisConf = field(default_factory=AnalysisConf)
    parallel: Any = None  # woundsim.parallel.ParallelConfig fields
    accept_calibration: bool = False  # run although the model's results changed since the calibration was fitted


@dataclass
class Study:
    """A design study's validated objects."""

    name: str
    design: TrialDesign
    cohort: Any
    treatments: tuple[Treatment, Treatment]
    params: ModelParams
    runin: RunIn
    pool: PoolConf
    draws: DrawsConf
    analysis: AnalysisConf
    parallel: ParallelConfig


def load_study(cfg: dict) -> Study:
    """Validate a resolved config (plain dict) into a Study; InputError names the first bad value."""
    cfg = OmegaConf.to_container(OmegaConf.merge(OmegaConf.structured(TrialStudyConf), cfg), resolve=True)
    design = TrialDesign.from_dict(cfg["design"] or {})
    treatments = tuple(Treatment(**arm.treatment) for arm in design.arms)
    fractions = cfg["analysis"]["effect_fractions"]
    require(len(fractions) > 0 and all(0 <= f <= 1 for f in fractions), "analysis.effect_fractions must lie in [0, 1]")
    require(all(0 < t < 1 for t in cfg["analysis"]["targets"]), "analysis.targets must lie in (0, 1)")
    require(set(cfg["analysis"]["endpoints"]) <= set(ENDPOINTS), f"analysis.endpoints must be among {ENDPOINTS}")
    pool = PoolConf(**cfg["pool"])
    require(pool.candidates >= 2 and pool.draw_candidates >= 2, "pool.candidates and pool.draw_candidates must be >= 2")
    # the designer never looks at the Mesa agent mirror (woundsim.simulate switches it off too)
    params = with_overrides(ModelParams(), {**_dotted(cfg["model"] or {}), "numerics.mesa_sync_hours": 0.0})
    validate(params)
    return Study(name=cfg["name"], design=design, cohort=cohort_from(cfg["cohort"]), treatments=treatments,
                 params=params, runin=RunIn(**cfg["runin"]),
                 pool=pool, draws=DrawsConf(**cfg["draws"]), analysis=AnalysisConf(**cfg["analysis"]),
                 parallel=parallel_from(cfg["parallel"]))


def _dotted(tree: dict, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a.b": 1}."""
    out = {}
    for key, value in tree.items():
        out.update(_dotted(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def run_design_study(cfg: dict, out: Path) -> dict:
    """Run a design study from a resolved config and write its tables and report to `out`."""
    t0, load0 = time.perf_counter(), os.getloadavg()
    require_current(cfg.get("model"), posterior=(cfg.get("draws") or {}).get("source") == "posterior",
                    accept=bool(cfg.get("accept_calibration", False)), who="trial designer")
    study = load_study(cfg)
    out.mkdir(parents=True, exist_ok=True)
    (out / COMPLETE).unlink(missing_ok=True)  # written again last: until then the folder is unfinished
    pairs, pool_info = _pools(study)
    t_pools = time.perf_counter() - t0
    sizes = study.design.arm_sizes
    power, per_draw, trials = _resample(study, pairs, sizes)
    recommended, trials_at = _recommend(study, pairs, power, per_draw)
    trials = pd.concat([trials, trials_at], ignore_index=True).drop_duplicates(["pool", "effect", "arm_size", "trial"])
    checks = design_checks(pairs[0][0], pairs[0][1], study.design, _check_size(recommended, sizes),
                           study.analysis.check_trials, study.analysis.published, CONF_DIR / "trial", study.parallel)
    typical = _typical_trial(study, pairs[0], trials, recommended)
    tables = {"power": power, "power_by_draw": per_draw, "assurance": _assurance(per_draw),
              "recommended": recommended, "pools": pool_info, "checks": checks, "typical_trial": typical}
    for name, table in tables.items():
        table.to_csv(out / f"{name}.csv", index=False)
    trials.to_parquet(out / "trials.parquet", index=False)
    wall = time.perf_counter() - t0
    meta = {"name": study.name, "config": cfg, "wall_time_s": wall, "pool_time_s": t_pools,
            "load_average_start": load0, "load_average_end": os.getloadavg(), "cpu_count": os.cpu_count(),
            "workers": study.parallel.n_workers(), "backend": study.parallel.backend,
            "reference_parameters": flatten(study.params), "code_key": code_key(),
            **provenance(study.design.seed, wall)}
    (out / "study.json").write_text(json.dumps(meta, indent=1, default=str))
    from woundsim.trial.report import write_trial_report

    report = write_trial_report(out)
    mark_complete(out)
    return {"report": str(report), "wall_time_s": wall}


# --- pools --------------------------------------------------------------------------------------------

def _pools(study: Study) -> tuple[list[tuple[pd.DataFrame, pd.DataFrame]], pd.DataFrame]:
    """Eligible (treatment, control) pools: index 0 at the reference parameters, then one per draw."""
    d = study.design
    draws = parameter_draws(study.draws.source, study.draws.n, study.params, study.draws.prior,
                            trial_draws_rng(d.seed))
    seeds = task_seeds(d.seed, 1 + len(draws))
    sets = [(Draw(study.params), study.pool.candidates)] + [(dr, study.pool.draw_candidates) for dr in draws]
    specs = [PoolSpec(draw.params, study.cohort, draw.arm_treatment(t), n, int(seed), study.runin, d.followup_days)
             for (draw, n), seed in zip(sets, seeds) for t in study.treatments]
    tables, cached = build_pools(specs, study.pool.cache_dir, study.parallel, desc="patients")
    pairs, rows = [], []
    for p, (draw, _) in enumerate(sets):
        a, b = tables[2 * p], tables[2 * p + 1]
        pairs.append((eligible_pool(a), eligible_pool(b)))
        for arm, table, hit in ((d.arms[0].name, a, cached[2 * p]), (d.arms[1].name, b, cached[2 * p + 1])):
            rows.append(_pool_row(p, arm, table, hit, a, b, draw.values, d.primary_day))
    return pairs, pd.DataFrame(rows)


def _pool_row(p: int, arm: str, table: pd.DataFrame, hit: bool, a: pd.DataFrame, b: pd.DataFrame,
              values: dict, primary_day: float) -> dict:
    """One pool's diagnostics; `paired_variance_ratio` = var(y_a - y_b) / (var y_a + var y_b) of the primary
    outcome over candidates eligible in both arms (< 1: common patients cancel part of the pools' error)."""
    ok = table[table["eligible"].astype(bool)]
    both = a["eligible"].to_numpy(bool) & b["eligible"].to_numpy(bool)
    ya, yb = closed_by_table(a[both], primary_day), closed_by_table(b[both], primary_day)
    indep = ya.var() + yb.var()
    return {"pool": p, "parameters": "reference" if p == 0 else f"draw {p}", "arm": arm,
            "candidates": len(table), "eligible": len(ok), "excluded_pct": 100.0 * (1 - len(ok) / len(table)),
            "runin_par_median_pct": float(table["runin_par_pct"].median()),
            "runin_agreement": float(np.mean(a["eligible"].to_numpy(bool) == b["eligible"].to_numpy(bool))),
            "closed_primary": float(closed_by_table(ok, primary_day).mean()),
            "median_closure_day": _median(ok["first_closure_day"]), "par_week4_median": _median(ok["par_week4"]),
            "paired_variance_ratio": float((ya - yb).var() / indep) if indep > 0 else float("nan"),
            "from_cache": bool(hit), "values": json.dumps(values)}


def _median(values: pd.Series) -> float:
    finite = values.to_numpy(float)
    finite = finite[np.isfinite(finite)]
    return float(np.median(finite)) if finite.size else float("nan")


# --- resampled trials ------------------------------------------------------------------------------------

def _scenario_pool(pool_a: pd.DataFrame, pool_b: pd.DataFrame, fraction: float, key: tuple[int, int],
                   design: TrialDesign) -> pd.DataFrame:
    """The treatment pool of an effect scenario (woundsim.trial.power.shrink_effect), seeded by `key`."""
    return shrink_effect(pool_a, pool_b, fraction, effect_scenario_rng(design.seed, key), stratify=design.stratify_by)


def _effect_key(fraction: float) -> int:
    return int(round(1000 * fraction))


def resample_task(task: tuple) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Trials of one pool pair and effect scenario at the given sizes: (power table, trials or None)."""
    p, fraction, pool_a, pool_b, design, sizes, n_trials, endpoints, keep = task
    key = (p, _effect_key(fraction))
    shrunk = _scenario_pool(pool_a, pool_b, fraction, key, design)
    trials = pd.concat([simulate_trials(shrunk, pool_b, design, int(n), n_trials, endpoints=endpoints, seed_key=key)
                        for n in sizes], ignore_index=True)
    power = power_from_trials(trials, design.alpha, endpoints, (len(shrunk), len(pool_b)))
    power.insert(0, "effect", fraction)
    power.insert(0, "pool", p)
    return power, (trials.assign(pool=p, effect=fraction) if keep else None)


def _resample(study: Study, pairs: list, sizes_by_effect: Any) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Power at the reference pools (pool 0) and per draw, for every effect scenario."""
    a, d = study.analysis, study.design
    tasks = []
    for f in a.effect_fractions:
        sizes = sizes_by_effect[f] if isinstance(sizes_by_effect, dict) else sizes_by_effect
        if not sizes:
            continue
        for p, (pool_a, pool_b) in enumerate(pairs):
            n_trials = d.n_trials if p == 0 else a.n_trials_draw
            tasks.append((p, f, pool_a, pool_b, d, tuple(sizes), n_trials, tuple(a.endpoints), p == 0))
    results = map_tasks(resample_task, tasks, config=dataclasses.replace(study.parallel, progress=False))
    if not results:
        return pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    power = pd.concat([r[0] for r in results if r[0]["pool"].iloc[0] == 0], ignore_index=True)
    per_draw = pd.concat([r[0] for r in results if r[0]["pool"].iloc[0] > 0] or [pd.DataFrame()], ignore_index=True)
    trials = pd.concat([r[1] for r in results if r[1] is not None], ignore_index=True)
    return power, per_draw.rename(columns={"pool": "draw"}), trials


def _assurance(per_draw: pd.DataFrame) -> pd.DataFrame:
    if len(per_draw) == 0:
        return pd.DataFrame()
    parts = [assurance_from_powers(g).assign(effect=f) for f, g in per_draw.groupby("effect", sort=False)]
    return pd.concat(parts, ignore_index=True)


def _recommend(study: Study, pairs: list, power: pd.DataFrame,
               per_draw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Smallest sizes reaching each target (power at the reference, assurance), then simulated at those sizes.

    Returns:
        (one row per effect, target and basis with the size and the power and assurance simulated there,
        the reference trials at those sizes).
    """
    assurance = _assurance(per_draw)
    rows = []
    for f in study.analysis.effect_fractions:
        pw, asr = power[power["effect"] == f], assurance[assurance["effect"] == f] if len(assurance) else assurance
        for target in study.analysis.targets:
            for basis, table, column in (("power", pw, "power"), ("power (MC lower bound)", pw, "ci_low"),
                                         ("assurance", asr, "assurance")):
                n = smallest_n(table, "primary", target, column) if len(table) else None
                rows.append({"effect": f, "target": target, "basis": basis, "arm_size": n})
    rec = pd.DataFrame(rows)
    sizes = {f: sorted({int(n) for n in g["arm_size"].dropna()}) for f, g in rec.groupby("effect")}
    power_at, per_draw_at, trials_at = _resample(study, pairs, sizes)
    assurance_at = _assurance(per_draw_at)
    rows = [{**r, **_at_size(study, r, power_at, assurance_at)} for r in rec.to_dict("records")]
    return pd.DataFrame(rows), trials_at


def _at_size(study: Study, row: dict, power_at: pd.DataFrame, assurance_at: pd.DataFrame) -> dict:
    """Primary-endpoint power (reference) and assurance simulated at the row's arm size."""
    nan = float("nan")
    out = dict.fromkeys(("n_treatment", "power", "power_ci_low", "power_ci_high", "pool_sd", "assurance",
                         "assurance_ci_low", "assurance_ci_high"), nan)
    if row["arm_size"] is None or pd.isna(row["arm_size"]):
        return out
    n = int(row["arm_size"])
    out["n_treatment"] = study.design.arm_counts(n)[0]
    for table, names in ((power_at, ("power", "ci_low", "ci_high", "pool_sd")),
                         (assurance_at, ("assurance", "ci_low", "ci_high"))):
        if len(table) == 0:
            continue
        hit = table[(table["effect"] == row["effect"]) & (table["arm_size"] == n) & (table["endpoint"] == "primary")]
        if len(hit):
            prefix = names[0]
            out.update({(k if k in (prefix, "pool_sd") else f"{prefix}_{k}"): float(hit[k].iloc[0]) for k in names})
    return out


def _check_size(recommended: pd.DataFrame, sizes: tuple[int, ...]) -> int:
    """Arm size of the checks: the 80%-power size at the full effect, else the largest scanned size."""
    sel = recommended[(recommended["basis"] == "power") & (recommended["effect"] == recommended["effect"].max())]
    found = sel["arm_size"].dropna()
    return int(found.iloc[0]) if len(found) else int(max(sizes))


# --- one typical trial ----------------------------------------------------------------------------------

def _typical_trial(study: Study, pair: tuple, trials: pd.DataFrame, recommended: pd.DataFrame) -> pd.DataFrame:
    """Observed patients of the full-effect trial at the check size whose risk difference is the median's."""
    d, f = study.design, max(study.analysis.effect_fractions)
    n = min(_check_size(recommended, d.arm_sizes), max(d.arm_sizes))
    n = n if n in set(trials["arm_size"]) else max(d.arm_sizes)
    sel = trials[(trials["effect"] == f) & (trials["arm_size"] == n)]
    diff = (sel["risk_difference"] - sel["risk_difference"].median()).abs().to_numpy()
    i = int(sel["trial"].to_numpy()[int(np.argmin(diff))])
    key = (0, _effect_key(f))
    obs_a, obs_b = draw_trial(_scenario_pool(*pair, f, key, d), pair[1], d, n, trial_rng(d.seed, key, n, i))
    return pd.concat([obs_a.assign(arm=d.arms[0].name, label=d.arms[0].label or d.arms[0].name),
                      obs_b.assign(arm=d.arms[1].name, label=d.arms[1].label or d.arms[1].name)],
                     ignore_index=True).assign(trial=i, arm_size=n, effect=f)

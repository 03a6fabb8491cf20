"""One calibration end to end: its back end (ABC-SMC or history matching), posterior export, predictive check,
figures, report.

Output folder (outputs/calibration/<name>/ by default):

    calibration.yaml            the resolved calibration config (the problem; checked on resume)
    code.json                   the simulation code it runs (woundsim.codekey; checked on resume)
    sessions.jsonl              one line per run or resume: git commit, dirty flag, versions, wall time
    abc.db                      ABC-SMC: pyabc's SQLite history: every generation, particle, distance, statistic
    generations.csv             ABC-SMC: threshold, acceptance, ESS and wall time per generation
    waves/                      history matching: each wave's design, evaluations and per-patient tables
    waves.csv, emulators.csv    history matching: per wave design size and non-implausible share; LOO diagnostics
    projected_wall_time.csv     history matching: the waves' simulation hours against workers
    posterior.parquet           the posterior's draws, weights, natural and ABC-space values
    predictive_draws.parquet    statistics simulated over posterior draws
    predictive_table.csv        each target against its simulated distribution (at the calibration's arm sizes)
    predictive_check.csv        the check's verdicts at the observed studies' sizes (calibration.predictive)
    identifiability.csv         prior vs posterior interval widths and verdicts
    figures/                    marginals, pairs, predictive check, generations
    report.md                   all of the above in words
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from calibration.check import predictive_draws, predictive_table
from calibration.history_matching.implausibility import observations_from_config
from calibration.predictive import predictive_check
from calibration.backends import BackendFit, backend_for, parallel_config
from calibration.backends.abc_smc import stopping_rule  # noqa: F401  (moved there; re-exported for scripts)
from calibration.posterior import CONF_MODEL, write_posterior
from calibration.report import correlations, identifiability, write_calibration_report
from calibration.setup import CalibrationSetup, load_setup
from calibration.statistics import renamed_statistic
from woundsim.calibration_code import write_record
from woundsim.codekey import bind_store, code_key, log_session
from woundsim.config import named_option
from woundsim.errors import InputError
from woundsim.output import remove_outputs
from woundsim.posterior import load_posterior, posterior_metadata, weighted_medians
from woundsim.seeds import predictive_draws_rng, predictive_replicates_rng
from woundsim.store import config_hash

PROBLEM_KEYS = ("seed", "base_model", "grid", "trial", "soc", "parameters", "targets", "distance")
ABC_PROBLEM_KEYS = ("population_size", "epsilon_quantile")
# what defines a history-matching problem (more waves, region sampling and the posterior sampling may change)
HM_PROBLEM_KEYS = ("design_size", "later_design_size", "bootstrap", "cutoff", "combine", "restarts", "observations")


def problem_hash(config: dict) -> str:
    """Hash of what defines the calibration problem (not its stopping rule, sampler or check).

    An ABC-SMC problem hashes as before back ends existed, so its folders resume; a history-matching one adds
    the method and its `HM_PROBLEM_KEYS`.
    """
    abc = config.get("abc") or {}
    problem = {**{k: config.get(k) for k in PROBLEM_KEYS}, "abc": {k: abc.get(k) for k in ABC_PROBLEM_KEYS}}
    if config.get("method", "abc_smc") != "abc_smc":
        hm = config.get("history_matching") or {}
        problem = {**problem, "method": config["method"], "history_matching": {k: hm.get(k) for k in HM_PROBLEM_KEYS}}
    return config_hash(problem)


def calibrate(config: dict, out_dir: Path, progress: Callable[[str], None] = print) -> Path:
    """Run (or resume) the calibration of `config` in `out_dir` with its back end, then export, check and report.

    Raises:
        InputError: a bad config, or `out_dir` holds a calibration of a different problem.
    """
    start = time.perf_counter()
    setup = load_setup(config)
    out_dir = Path(out_dir)
    backend = backend_for(setup.options["method"])
    bind_store(out_dir, what="calibration folder", has_results=backend.has_results(out_dir))
    _claim(out_dir, config)
    fit = backend.fit(setup, out_dir, {"problem_hash": problem_hash(config), "name": setup.name,
                                       "code_key": code_key()}, progress)
    report = finish(setup, fit, out_dir, progress)
    steps = "generations" if backend.method == "abc_smc" else "waves"
    log_session(out_dir, time.perf_counter() - start, **{steps: fit.steps}, simulations=fit.simulations)
    return report


def finish(setup: CalibrationSetup, fit: BackendFit, out_dir: Path,
           progress: Callable[[str], None] = print) -> Path:
    """Export the posterior, simulate the predictive check, write tables, figures and report.md.

    The previous session's outputs are removed first, so a finish that fails leaves no table, figure or
    report that looks current (the error propagates: the command exits non-zero; `resume` finishes again).
    """
    from calibration.plots import plot_calibration

    remove_outputs(out_dir, FINISH_OUTPUTS)
    fit.progress.to_csv(out_dir / fit.progress_file, index=False)
    for name, table in fit.tables.items():
        table.to_csv(out_dir / name, index=False)
    posterior = fit.posterior
    # the config goes with the particles, so `calibration.setup.posterior_setup` rebuilds their arms
    write_posterior(posterior, setup.parameters, out_dir / "posterior.parquet",
                    {**fit.provenance, "config": load_config(out_dir)})
    check = setup.options["check"]
    draws_n = int(check.get("draws", 20))
    progress(f"posterior predictive check: {draws_n} draws")
    draws = predictive_draws(setup, posterior, draws_n, predictive_draws_rng(setup.seed),
                             parallel=parallel_config(setup.options["sampler"]))
    draws.to_parquet(out_dir / "predictive_draws.parquet", index=False)
    ppc = predictive_table(draws, setup.targets)
    ppc.to_csv(out_dir / "predictive_table.csv", index=False)
    check_table = _check_at_study_sizes(setup, draws, out_dir, progress)
    ident = identifiability(posterior, setup.parameters)
    ident.to_csv(out_dir / "identifiability.csv", index=False)
    plot_calibration(out_dir)
    run = {"name": setup.name, **fit.run, "sampler": setup.options["sampler"],
           "grid": {k: getattr(setup.base.numerics, k) for k in ("dx_um", "dt_agent_h", "dt_field_h")},
           "n_trial": setup.trial.n_patients, "n_soc": setup.soc.n_patients, "soc_runin": setup.soc.runin,
           "draws": draws_n}
    corr = correlations(posterior, setup.parameters)
    report = write_calibration_report(out_dir, run, fit.report_progress, ident, corr, ppc, check_table,
                                      diagnostics=fit.tables.get("emulators.csv"),
                                      wall_time=fit.tables.get("projected_wall_time.csv"))
    progress(f"report: {report}")
    return report


def _check_at_study_sizes(setup: CalibrationSetup, draws: pd.DataFrame, out_dir: Path,
                          progress: Callable[[str], None]) -> pd.DataFrame | None:
    """The predictive check at the observed studies' sizes (`calibration.predictive`): predictive_check.csv (drawn by
    `calibration.plots.predictive_check`); None (said) when the config states no observation model."""
    config = (setup.options.get("history_matching") or {}).get("observations")
    if not config:
        progress("predictive check at the studies' sizes: skipped (no history_matching.observations in the config)")
        return None
    observations = observations_from_config(config, {t.name: t.observed for t in setup.targets})
    sizes = {t.name: float(draws[f"n.{t.name}"].mean()) for t in setup.targets if f"n.{t.name}" in draws}
    table = predictive_check(draws, setup.targets, observations, predictive_replicates_rng(setup.seed),
                             simulated_n=sizes)
    table.to_csv(out_dir / "predictive_check.csv", index=False)  # plot_calibration draws it
    verdicts = ", ".join(f"{r.target} {r.verdict}" for r in table.itertuples(index=False))
    progress(f"predictive check at the studies' sizes: {verdicts}")
    return table


FINISH_OUTPUTS = ("report.md", "generations.csv", "waves.csv", "emulators.csv", "projected_wall_time.csv",
                  "posterior.parquet",
                  "predictive_draws.parquet", "predictive_table.csv", "predictive_check.csv", "identifiability.csv",
                  "figures")  # what finish() writes


def install(out_dir: Path, conf_model: Path = CONF_MODEL) -> tuple[Path, Path, Path, Path]:
    """Make a finished calibration the named parameter set `model=calibrated` (conf/model/).

    Writes conf/model/calibrated_posterior.parquet (a copy of the posterior), conf/model/calibrated.yaml
    (the weighted posterior medians of the calibrated model.* quantities, as ModelParams overrides) and
    conf/treatment/hucmscd_trial.yaml beside it: the seed trial's regimen (the calibration's trial
    treatment option) with the calibrated treatment.* medians, e.g. the unpublished dose.

    Also writes conf/model/calibrated.code.json, the code the posterior was fitted under
    (woundsim.calibration_code: how `woundsim run` and the trial designer tell that results changed since).

    Returns:
        (calibrated.yaml, calibrated_posterior.parquet, hucmscd_trial.yaml, calibrated.code.json).
    """
    out_dir, conf_model = Path(out_dir), Path(conf_model)
    source = out_dir / "posterior.parquet"
    if not source.is_file():
        raise InputError(f"{source} not found: run `woundsim calibrate run` (or `check`) first")
    parquet = conf_model / "calibrated_posterior.parquet"
    parquet.write_bytes(source.read_bytes())
    particles, weights = load_posterior(parquet)
    point = weighted_medians(particles, weights)
    meta = yaml.safe_load((out_dir / "calibration.yaml").read_text())
    method = "history-matching" if meta.get("method") == "history_matching" else "ABC-SMC"
    provenance = (f"{method} run `{meta.get('name')}` ({out_dir}), installed {dt.date.today().isoformat()}, "
                  f"fitted at grid {meta.get('grid')}")
    tree: dict[str, Any] = {}
    for name, value in point.items():
        if name.startswith("model."):
            *path, leaf = name[len("model."):].split(".")
            node = tree
            for part in path:
                node = node.setdefault(part, {})
            node[leaf] = float(f"{value:.4g}")
    header = [
        "# Calibrated parameter set (issue 3; docs/calibration.md): the weighted posterior median of each",
        f"# calibrated quantity from {provenance},",
        "# on top of the ModelParams defaults. The full posterior (particles and weights) is",
        "# conf/model/calibrated_posterior.parquet beside this file: draw parameter sets from it with",
        "# woundsim.posterior.draw_params(n, rng) to carry the calibration uncertainty.",
        "# A median of each marginal is not a joint optimum; use draws for predictions. The trial's calibrated",
        "# dose is in conf/treatment/hucmscd_trial.yaml.",
    ]
    target = conf_model / "calibrated.yaml"
    target.write_text("\n".join(header) + "\n" + yaml.safe_dump(tree, sort_keys=True))
    regimen = _install_treatment(meta, point, provenance, conf_model.parent / "treatment")
    return target, parquet, regimen, write_record(posterior_metadata(parquet), conf_model / "calibrated.code.json")


def _install_treatment(meta: dict, point: dict[str, float], provenance: str, folder: Path) -> Path:
    """conf/treatment/hucmscd_trial.yaml: the calibration's trial regimen with the calibrated treatment.* values."""
    base_name = (meta.get("trial") or {}).get("treatment", "hucmscd_weekly")
    regimen = named_option("treatment", base_name)
    calibrated = {k[len("treatment."):]: v for k, v in point.items() if k.startswith("treatment.")}
    regimen.update({k: float(f"{v:.4g}") for k, v in calibrated.items()})
    header = [
        f"# The seed trial's regimen (NCT06825884) as calibrated: conf/treatment/{base_name}.yaml with the weighted",
        f"# posterior median of {', '.join(sorted(calibrated)) or 'nothing'} from {provenance}.",
        "# The dose is in µg of a product as potent as the model's default (derivative.units_per_ug); the trial",
        "# did not publish it. Use with model=calibrated (written by `woundsim calibrate install`).",
    ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "hucmscd_trial.yaml"
    path.write_text("\n".join(header) + "\n" + yaml.safe_dump(regimen, sort_keys=False, allow_unicode=True))
    return path


def _claim(out_dir: Path, config: dict) -> None:
    """Write calibration.yaml into a new folder, or check a resumed folder holds the same problem."""
    saved = out_dir / "calibration.yaml"
    if saved.is_file():
        old = yaml.safe_load(saved.read_text()) or {}
        for name in old.get("targets") or {}:
            renamed_statistic(str(name), str(saved))  # a folder from before a rename: say so, not "different problem"
        if problem_hash(old) != problem_hash(config):
            raise InputError(f"{out_dir} holds a calibration of a different problem (cohorts, priors, targets, "
                             "population or seed differ); choose another calibration.name or delete that folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    saved.write_text(yaml.safe_dump(config, sort_keys=False))


def load_config(path: Path) -> dict:
    """The calibration config saved in an output folder."""
    return yaml.safe_load((Path(path) / "calibration.yaml").read_text())


def resume_finish(out_dir: Path, progress: Callable[[str], None] = print) -> Path:
    """Redo export, check, figures and report from what the folder stores (no new generations or waves)."""
    config = load_config(out_dir)
    setup = load_setup(config)
    bind_store(out_dir, what="calibration folder", has_results=True)  # the check simulates with today's code
    fit = backend_for(setup.options["method"]).refit(setup, Path(out_dir), progress)
    return finish(setup, fit, Path(out_dir), progress)

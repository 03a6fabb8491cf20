"""`woundsim calibrate prior-predictive` and `woundsim calibrate confirm`: feasibility before calibration.

    woundsim calibrate prior-predictive [--draws 50] [--soc-candidates 60] [--jobs 2] [--out DIR] [OVERRIDES]
    woundsim calibrate search --from STUDY [--candidates 8] [--trial-arms 2] [--soc-candidates 60] [--out DIR]
    woundsim calibrate confirm --from STUDY --draw K [--set KEY=VALUE ...] [--trial-arms 20] [--soc-enrolled 1000]
    woundsim calibrate confirm [--set KEY=VALUE ...] [OVERRIDES]     # prior medians, KEY=VALUE in natural units

OVERRIDES are Hydra overrides of the calibration config (`calibration=tiny`, `calibration.grid.dx_um=250`,
`calibration.parameters.NEW={target:...,prior:...}`), whose priors, arms and targets the study uses.

A study folder (default outputs/calibration/feasibility/<calibration.name>/prior_predictive or .../confirm-<point>)
holds `study.json` (what was asked: the calibration config, the design, the command, provenance), `code.json`
(the simulation code; a resumed study must run the same), `runs/` (one file per simulated patient, written as it
finishes), then `patients.parquet`, `statistics.parquet`/`.csv` (one row per parameter set), `reach.csv` (per target:
smallest implausibility) or `confirmation.csv` (per statistic: pass/fail), `figures/`, `report.md` and `COMPLETE`.
A search (`calibration.feasibility_search`) fits emulators to a prior predictive study, simulates the candidates they
point to and writes the same tables (`statistics.*`, `reach.csv` over its candidates, `emulators.csv`); `confirm
--from` takes a draw of either. The same command resumes an interrupted study; a prior predictive study asked again with more draws keeps the
draws it has (draw i does not depend on how many are asked).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import shlex
import sys
import time
from pathlib import Path

import pandas as pd

from calibration.app_config import compose_config
from calibration.feasibility import (FeasibilityDesign, abc_values, point_row, point_statistics, prior_draws,
                                     simulate_points)
from calibration.feasibility_report import (confirmation_markdown, plot_confirmation, plot_prior_predictive,
                                            prior_predictive_markdown, search_markdown)
from calibration.feasibility_search import FIRST_CANDIDATE, SearchOptions, choose_candidates, fit_emulators
from calibration.implausibility import Z95, add_implausibilities, observed_sizes, reach_table, targets_by_statistic
from calibration.setup import CalibrationSetup, load_setup
from woundsim.codekey import bind_store
from woundsim.errors import InputError, require
from woundsim.output import COMPLETE, mark_complete, provenance, remove_outputs, write_json
from woundsim.parallel import ParallelConfig
from woundsim.seeds import (FEASIBILITY_CONFIRM, FEASIBILITY_SEARCH, PRIOR_PREDICTIVE, feasibility_bootstrap_rng,
                            feasibility_rng)
from woundsim.store import ResultStore, config_hash
from woundsim.tables import read_parquet
from woundsim.trial.pools import RunIn

OUTPUTS = ("patients.parquet", "statistics.parquet", "statistics.csv", "reach.csv", "confirmation.csv", "figures",
           "report.md", "emulators.csv", COMPLETE)


def _say(line: str) -> None:
    print(f"[feasibility] {line}", flush=True)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--soc-candidates", type=int, default=60, metavar="N",
                        help="standard-care candidates screened per batch (default 60: about 50 enrolled if the run-in "
                             "excludes 10-30%%, as real run-ins did)")
    parser.add_argument("--runin-days", type=float, default=None,
                        help="run-in length (d; default the calibration's soc.runin.days, 14)")
    parser.add_argument("--runin-max-shrink", type=float, default=None,
                        help="exclude ulcers that shrink by more than this fraction in the run-in (default the "
                             "calibration's soc.runin.max_shrink_fraction, 0.30)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--backend", default="loky", help="woundsim.parallel back end: serial | loky | dask | ray")
    parser.add_argument("--out", type=Path, default=None, help="study folder (default under outputs/calibration/feasibility/)")


def _runin(opts: argparse.Namespace, setup: CalibrationSetup) -> RunIn:
    """The study's run-in: the calibration's (`soc.runin`) unless --runin-days / --runin-max-shrink replace it."""
    runin = setup.soc.runin or RunIn()
    return RunIn(runin.days if opts.runin_days is None else opts.runin_days,
                 runin.max_shrink_fraction if opts.runin_max_shrink is None else opts.runin_max_shrink)


def _parse(parser: argparse.ArgumentParser, args: list[str]) -> tuple[argparse.Namespace, list[str]]:
    opts, overrides = parser.parse_known_args(args)
    bad = [a for a in overrides if a.startswith("-")]
    require(not bad, f"{parser.prog}: unknown option(s) {bad}; see --help")
    return opts, overrides


def prior_predictive_command(args: list[str]) -> Path:
    """Entry of `woundsim calibrate prior-predictive`."""
    parser = argparse.ArgumentParser(
        prog="woundsim calibrate prior-predictive",
        description="Simulate every calibration statistic at parameter sets drawn from the calibration priors: a "
                    "seed-trial arm of the observed size and a standard-care population enrolled through the pivotal "
                    "trials' run-in per draw; table, figure and each target's smallest implausibility.",
        epilog="Other arguments are Hydra overrides of the calibration config, e.g. calibration=tiny.")
    parser.add_argument("--draws", type=int, default=50, help="prior draws (default 50)")
    _common(parser)
    opts, overrides = _parse(parser, args)
    config = compose_config(overrides)
    setup = load_setup(config)
    design = FeasibilityDesign(PRIOR_PREDICTIVE, setup.seed, 1, opts.soc_candidates, 0,
                               _runin(opts, setup))
    folder = opts.out or Path("outputs/calibration/feasibility") / setup.name / "prior_predictive"
    study = open_study(folder, "prior_predictive", config, design, setup, {"draws": opts.draws})
    points = prior_draws(setup, opts.draws, setup.seed)
    rows = simulate_points(setup, design, points, ResultStore(folder), _parallel(opts), _say)
    return finish_prior_predictive(folder, study, setup, points, rows)


def search_command(args: list[str]) -> Path:
    """Entry of `woundsim calibrate search`."""
    parser = argparse.ArgumentParser(
        prog="woundsim calibrate search",
        description="Look for one parameter set that meets every target: fit an emulator per statistic to a finished "
                    "prior predictive study, score many prior draws with them, and simulate the most promising "
                    "candidates (one history-matching wave without the cut-off). Confirm the best one with "
                    "`woundsim calibrate confirm --from <this study> --draw K`.")
    parser.add_argument("--from", dest="source", type=Path, action="append", required=True,
                        help="a finished prior predictive study folder; repeat it with finished searches of the same "
                             "calibration for a further wave, whose emulators are fitted to all of them")
    parser.add_argument("--candidates", type=int, default=SearchOptions.candidates,
                        help=f"parameter sets to simulate (default {SearchOptions.candidates})")
    parser.add_argument("--score-draws", type=int, default=SearchOptions.draws,
                        help=f"prior draws scored by the emulators (default {SearchOptions.draws})")
    parser.add_argument("--pool", type=int, default=SearchOptions.pool,
                        help=f"best-scoring draws the candidates are chosen from, kept apart (default {SearchOptions.pool})")
    parser.add_argument("--trial-arms", type=int, default=2, help="replicate trial arms per candidate (default 2)")
    parser.add_argument("--soc-enrolled", type=int, default=0, metavar="N",
                        help="screen further standard-care batches until at least N candidates pass the run-in (default 0: "
                             "one batch). Where the run-in excludes most candidates, one batch enrols a handful, whose "
                             "large Monte Carlo SD lowers the implausibility: a search then drifts there")
    _common(parser)
    opts, overrides = _parse(parser, args)
    require(not overrides, "search takes no config overrides: it uses the prior predictive study's")
    config, table = _search_sources(opts.source)
    setup = load_setup(config)
    wave = len(opts.source)  # 1: fitted to the prior predictive study alone; k: to it and k - 1 earlier searches
    options = SearchOptions(opts.candidates, opts.score_draws, opts.pool)
    _say(f"wave {wave}: fitting one emulator per statistic to the {len(table)} parameter sets of "
         + ", ".join(str(f) for f in opts.source))
    emulators, diagnostics = fit_emulators(setup, table, options.restarts, setup.seed)
    points, scored = choose_candidates(setup, emulators, options, feasibility_rng(setup.seed, FEASIBILITY_SEARCH, wave - 1),
                                       observed_sizes(), first=FIRST_CANDIDATE * wave)
    design = FeasibilityDesign(FEASIBILITY_SEARCH, setup.seed, opts.trial_arms, opts.soc_candidates, opts.soc_enrolled,
                               _runin(opts, setup))
    folder = opts.out or opts.source[0].parent / ("search" if wave == 1 else f"search-{wave}")
    sources = str(opts.source[0]) if wave == 1 else [str(f) for f in opts.source]
    study = open_study(folder, "search", config, design, setup,
                       {"source": sources, "options": dataclasses.asdict(options), "scored": scored})
    diagnostics.to_csv(folder / "emulators.csv", index=False)
    _say(f"{100 * scored['share_below_3']:.2f}% of {scored['draws']} prior draws have every emulated implausibility "
         f"<= 3 (best {scored['best_emulated_max']:.2f}); simulating {len(points)} candidates")
    rows = simulate_points(setup, design, points, ResultStore(folder), _parallel(opts), _say)
    return finish_search(folder, study, setup, points, rows, diagnostics)


def _search_sources(folders: list[Path]) -> tuple[dict, pd.DataFrame]:
    """(calibration config, the evaluated parameter sets of all of them) of a search's sources: a finished prior
    predictive study first, then finished searches of the same calibration config."""
    config, tables = None, []
    for k, folder in enumerate(folders):
        study = read_study(folder)
        stage = "prior_predictive" if k == 0 else "search"
        require(study.get("stage") == stage and (folder / COMPLETE).is_file(),
                f"{folder} is not a finished {stage.replace('_', ' ')} study ("
                + ("run woundsim calibrate prior-predictive first" if k == 0 else "give the prior predictive study "
                   "first, then finished searches") + ")")
        require(config is None or study["calibration"] == config,
                f"{folder} is a study of another calibration config than {folders[0]}")
        config = study["calibration"]
        tables.append(read_parquet(folder / "statistics.parquet"))
    common = [c for c in tables[0].columns if all(c in t.columns for t in tables)]
    return config, pd.concat([t[common] for t in tables], ignore_index=True)


def confirm_command(args: list[str]) -> Path:
    """Entry of `woundsim calibrate confirm`."""
    parser = argparse.ArgumentParser(
        prog="woundsim calibrate confirm",
        description="Confirm one parameter set on seeds the search never used: replicate seed-trial arms and at "
                    "least N enrolled standard-care patients; each statistic's mean against its 95% interval.",
        epilog="Other arguments are Hydra overrides of the calibration config (not with --from).")
    parser.add_argument("--from", dest="source", type=Path, default=None, help="a prior predictive or search study folder")
    parser.add_argument("--draw", type=int, default=None, help="the draw of that study to confirm")
    parser.add_argument("--set", dest="values", action="append", default=[], metavar="KEY=VALUE",
                        help="a free parameter's natural value (others: the draw's with --from, else prior medians); "
                             "repeatable")
    parser.add_argument("--trial-arms", type=int, default=20, help="replicate trial arms (default 20)")
    parser.add_argument("--soc-enrolled", type=int, default=1000, help="standard-care patients to enrol (default 1000)")
    _common(parser)
    opts, overrides = _parse(parser, args)
    config, point = _confirm_point(opts, overrides)
    setup = load_setup(config)
    design = FeasibilityDesign(FEASIBILITY_CONFIRM, setup.seed, opts.trial_arms, opts.soc_candidates, opts.soc_enrolled,
                               _runin(opts, setup))
    row = point_row(setup, point["draw"], point["abc"] if "abc" in point else _abc_of(setup, point["natural"]))
    label = (f"draw{point['draw']}" + (f"-set-{config_hash(sorted(opts.values))[:8]}" if opts.values else "")
             if opts.source else f"point-{config_hash(row)[:8]}")
    folder = opts.out or Path("outputs/calibration/feasibility") / setup.name / f"confirm-{label}"
    study = open_study(folder, "confirm", config, design, setup, {"point": row})
    rows = simulate_points(setup, design, pd.DataFrame([row]), ResultStore(folder), _parallel(opts), _say)
    return finish_confirmation(folder, study, setup, row, rows)


def _confirm_point(opts: argparse.Namespace, overrides: list[str]) -> tuple[dict, dict]:
    """(calibration config, {"draw", "abc"} or {"draw", "natural"}) of the parameter set to confirm."""
    values = set_values(opts.values)
    if opts.source is not None:
        require(opts.draw is not None and not overrides,
                "confirm --from STUDY needs --draw K and takes no config overrides (the study's are used)")
        study, _, abc = study_draw(opts.source, opts.draw, values)
        return study["calibration"], {"draw": int(opts.draw), "abc": abc}
    require(opts.draw is None, "--draw needs --from STUDY")
    return compose_config(overrides), {"draw": 0, "natural": values}


def study_draw(folder: Path, draw: int, values: dict[str, float]) -> tuple[dict, CalibrationSetup, dict[str, float]]:
    """(study, its calibration problem, the ABC-space values of its draw `draw`) of a finished feasibility study,
    with `values` ({key: natural value}) replacing some of the draw's (e.g. post-closure parameters fitted on its
    stored closure states)."""
    study = read_study(folder)
    table = read_parquet(Path(folder) / "statistics.parquet")
    hit = table[table["draw"] == draw]
    require(len(hit) == 1, f"{folder}: no draw {draw}; it has draws {table['draw'].min()}-{table['draw'].max()}")
    setup = load_setup(study["calibration"])
    return study, setup, _abc_of(setup, values, keep=abc_values(setup, hit.iloc[0]))


def set_values(items: list[str]) -> dict[str, float]:
    """{key: natural value} of the --set KEY=VALUE options."""
    values = {}
    for item in items:
        key, sep, value = item.partition("=")
        require(sep == "=", f"--set {item!r}: give KEY=VALUE")
        try:
            values[key] = float(value)
        except ValueError:
            raise InputError(f"--set {item!r}: {value!r} is not a number") from None
    return values


def _abc_of(setup: CalibrationSetup, natural: dict[str, float], keep: dict[str, float] | None = None) -> dict[str, float]:
    """ABC-space values of the free parameters: the given natural values by key, else `keep`'s (a draw's) or the
    prior medians."""
    keys = {p.key for p in setup.parameters}
    require(set(natural) <= keys, f"--set names unknown parameters {sorted(set(natural) - keys)}; allowed {sorted(keys)}")
    return {p.key: p.to_abc(natural[p.key]) if p.key in natural else
            (keep[p.key] if keep is not None else float(p.distribution().median())) for p in setup.parameters}


def _parallel(opts: argparse.Namespace) -> ParallelConfig:
    return ParallelConfig(backend=opts.backend, n_jobs=opts.jobs)


# ---- the study folder ---------------------------------------------------------------------------------
def open_study(folder: Path, stage: str, config: dict, design: FeasibilityDesign, setup: CalibrationSetup,
               extra: dict) -> dict:
    """Create or resume a study folder; refuses one holding another problem or simulation code.

    The problem is the calibration config, the stage and the design (not the number of prior draws, so that a
    study can be extended); the simulation code is checked by `woundsim.codekey.bind_store`.
    """
    folder = Path(folder)
    identity = config_hash({"stage": stage, "calibration": config, "design": design.to_dict(),
                            "point": extra.get("point"),
                            **{k: extra[k] for k in ("source", "options") if k in extra}})  # a search's
    if (folder / "study.json").is_file():
        stored = read_study(folder)
        require(stored.get("identity") == identity,
                f"{folder} holds a {stored.get('stage')} study of another problem (calibration config, design or "
                "parameter set differ); give another --out or remove it")
    bind_store(folder, what="feasibility study")
    remove_outputs(folder, OUTPUTS)  # nothing that looks current until this session finishes
    study = {"stage": stage, "identity": identity, "folder": str(folder), "calibration": config, "design": design.to_dict(),
             "trial_patients": setup.trial.n_patients, "grid": _grid(setup),
             "command": "woundsim calibrate " + " ".join(shlex.quote(a) for a in sys.argv[2:])
             if len(sys.argv) > 1 and sys.argv[1] == "calibrate" else shlex.join(sys.argv), **extra,
             "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    study["provenance"] = provenance(setup.seed)  # the code that simulates: the commit this session started at
    write_json(folder / "study.json", study)
    return study


def read_study(folder: Path) -> dict:
    """The `study.json` of a feasibility study folder."""
    import json

    path = Path(folder) / "study.json"
    require(path.is_file(), f"{folder} is not a feasibility study folder (no study.json)")
    study = json.loads(path.read_text())
    soc = (study.get("calibration") or {}).get("soc")
    if isinstance(soc, dict) and "runin" not in soc and "runin" in (study.get("design") or {}):
        # made before calibration configs had `soc.runin`: its candidates went through the design's run-in
        soc["runin"] = dict(study["design"]["runin"])
    return study


def _grid(setup: CalibrationSetup) -> str:
    n = setup.base.numerics
    return f"{n.dx_um:g} µm / {n.dt_agent_h:g} h"


def _statistics(folder: Path, study: dict, setup: CalibrationSetup, points: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    rows.to_parquet(folder / "patients.parquet", index=False)
    rng = feasibility_bootstrap_rng(setup.seed, study_key(study))
    table = points.merge(point_statistics(rows, setup, rng), on="draw")
    return add_implausibilities(table, setup.targets, observed_sizes())


def study_key(study: dict) -> int:
    return {"prior_predictive": PRIOR_PREDICTIVE, "search": FEASIBILITY_SEARCH}.get(study["stage"], FEASIBILITY_CONFIRM)


def finish_prior_predictive(folder: Path, study: dict, setup: CalibrationSetup, points: pd.DataFrame,
                            rows: pd.DataFrame) -> Path:
    """Statistics, implausibilities, reach table, figure and report of a simulated prior predictive study."""
    table = _statistics(folder, study, setup, points, rows)
    table.to_parquet(folder / "statistics.parquet", index=False)
    table.to_csv(folder / "statistics.csv", index=False)
    reach = reach_table(table, setup.targets)
    reach.to_csv(folder / "reach.csv", index=False)
    plot_prior_predictive(folder)
    study = {**study, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # provenance: as the study started
    (folder / "report.md").write_text(prior_predictive_markdown(study, reach, table))
    write_json(folder / "study.json", study)
    mark_complete(folder)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        _say("each target over the prior:\n" + reach.drop(columns=["low", "high", "verdict"]).round(3).to_string(index=False))
    for t in reach.itertuples(index=False):
        _say(f"{t.id or t.target}: {t.verdict} (smallest implausibility {t.min_implausibility:.2f})")
    _say(f"tables, figure and report in {folder}")
    return folder


def finish_search(folder: Path, study: dict, setup: CalibrationSetup, points: pd.DataFrame, rows: pd.DataFrame,
                  diagnostics: pd.DataFrame) -> Path:
    """Statistics and implausibilities of the simulated candidates beside their emulated ones; reach table, report."""
    table = _statistics(folder, study, setup, points, rows)  # each candidate's emulated statistics beside its simulated
    table.to_parquet(folder / "statistics.parquet", index=False)
    table.to_csv(folder / "statistics.csv", index=False)
    reach = reach_table(table, setup.targets)
    reach.to_csv(folder / "reach.csv", index=False)
    study = {**study, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # provenance: as the study started
    (folder / "report.md").write_text(search_markdown(study, reach, table, diagnostics))
    write_json(folder / "study.json", study)
    mark_complete(folder)
    columns = ["draw", "implausibility.max", "emulated_implausibility.max"] + [t.name for t in setup.targets]
    with pd.option_context("display.width", 220, "display.max_columns", 20):
        _say("candidates (simulated statistics):\n" + table[columns].round(3).to_string(index=False))
    best = table.loc[table["implausibility.max"].idxmin()] if table["implausibility.max"].notna().any() else None
    if best is not None:
        _say(f"best candidate: draw {int(best['draw'])} (largest implausibility {best['implausibility.max']:.2f}); "
             f"confirm it with: woundsim calibrate confirm --from {folder} --draw {int(best['draw'])}")
    _say(f"tables and report in {folder}")
    return folder


def finish_confirmation(folder: Path, study: dict, setup: CalibrationSetup, point: dict, rows: pd.DataFrame) -> Path:
    """Per statistic: mean, Monte Carlo SD, the clinic's interval and pass/fail; figure and report."""
    table = _statistics(folder, study, setup, pd.DataFrame([point]), rows)
    table.to_parquet(folder / "statistics.parquet", index=False)
    table.to_csv(folder / "statistics.csv", index=False)
    out = confirmation_table(table.iloc[0], setup)
    out.to_csv(folder / "confirmation.csv", index=False)
    plot_confirmation(folder)
    study = {**study, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # provenance: as the study started
    (folder / "report.md").write_text(confirmation_markdown(study, out))
    write_json(folder / "study.json", study)
    mark_complete(folder)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        _say("confirmation:\n" + out.round(3).to_string(index=False))
    _say(f"{int(out['passed'].sum())} of {len(out)} statistics inside their 95% interval; tables in {folder}")
    return folder


def confirmation_table(row: pd.Series, setup: CalibrationSetup) -> pd.DataFrame:
    """Per target: the mean at the confirmed point, its Monte Carlo SD, the interval, pass/fail and whether the
    verdict is decided (the mean's Monte Carlo 95% interval wholly on one side of each edge)."""
    ids = {k: r["id"] for k, r in targets_by_statistic().items()}
    out = []
    for t in setup.targets:
        mean, sd = float(row[t.name]), float(row.get(f"mc_sd.{t.name}", math.nan))
        half = Z95 * (sd if math.isfinite(sd) else 0.0)
        passed = bool(t.low <= mean <= t.high) if math.isfinite(mean) else False
        decided = not math.isfinite(mean) or all(abs(mean - edge) > half for edge in (t.low, t.high)
                                                 if edge != t.observed)
        sample = (f"{int(row['trial_arms'])} arms of {setup.trial.n_patients}" if t.name.startswith("trial_")
                  else f"{int(row['soc_enrolled'])} enrolled")
        out.append({"target": t.name, "id": ids.get(t.name, ""), "observed": t.observed, "low": t.low, "high": t.high,
                    "mean": mean, "mc_sd": sd, "simulated": sample, "passed": passed, "decided": bool(decided),
                    "implausibility": float(row[f"implausibility.{t.name}"])})
    return pd.DataFrame(out)


"""`report.md` of a study folder: design, noise, and the parameters ranked per output (from the folder's tables)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
from woundsim.errors import renamed
from woundsim.tables import read_parquet


SHOWN = 10  # parameters listed per output
OVERALL = 15  # parameters in the overall ranking


__getattr__ = renamed(__name__, {"write_report": "write_sensitivity_report"})


def write_sensitivity_report(folder: Path | str) -> Path:
    """Write `<folder>/report.md` and return its path."""
    folder = Path(folder)
    info = json.loads((folder / "study.json").read_text(encoding="utf-8"))
    indices = read_parquet(folder / "indices.parquet")
    noise = read_parquet(folder / "noise.parquet")
    ranking = read_parquet(folder / "ranking.parquet")
    spec = info["spec"]
    lines = _header(info) + _noise_section(noise, spec) + _overall_section(ranking, spec["method"])
    for output in dict.fromkeys(indices["output"]):
        lines += _output_section(indices[indices["output"] == output], output, spec["method"])
    lines += _figures(folder, spec["method"])
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _header(info: dict) -> list[str]:
    spec, model = info["spec"], info["model"]
    size = (f"r = {spec['n']} trajectories, {spec['num_levels']} levels" if spec["method"] == "morris"
            else f"N = {spec['n']} base points (Saltelli scheme, no second-order terms)")
    lines = [f"# Sensitivity study `{spec['name']}` ({spec['method']})", "",
             f"- Design: {info['parameters']} parameters, {size}: {info['rows']} rows x {spec['replicates']} "
             f"replicates x {len(_arms(spec))} arm(s) = {info['evaluations']} model evaluations "
             f"({info['tasks']} tasks; {info['tasks_stored_before']} were already stored when this run started).",
             f"- Seeds: root seed {spec['seed']}; " + ("common random numbers (replicate r of every row shares "
                                                       "one seed)" if spec["crn"] else "independent seeds per row"),
             _wall_time(info),
             f"- Intervals: SALib bootstrap, {spec['bootstrap_resamples']} resamples, "
             f"{spec['conf_level']:.0%} level (value ± conf)."]
    if model.get("model") == "woundsim":
        p, t, num = model["patient"], model["treatment"], model["params"]["numerics"]
        lines.append(f"- Model: woundsim at {num['dx_um']:g} µm voxels; base patient {p['area_cm2']:g} cm², "
                     f"Texas {p['texas_grade']}{p['texas_stage']}, {p['duration_weeks']:g} weeks, HbA1c "
                     f"{p['hba1c_pct']:g}%; treated arm: {t['product']} {t['dose_ug_per_site']:g} µg x {t['sites']} "
                     f"sites on days {t['schedule_days']}; horizons (weeks) {model['horizon_weeks']}.")
    else:
        lines.append(f"- Model: {model}")
    return lines + [""]


def _wall_time(info: dict) -> str:
    sessions = info.get("sessions") or []
    eval_s = sum(float(s["wall_time_evaluations_s"]) for s in sessions) or info["wall_time_evaluations_s"]
    text = (f"- Wall time: {eval_s:.0f} s of evaluations on {info['parallel']['workers']} "
            f"{info['parallel']['backend']} worker(s) ({info['cpu_count']} cores; load average at the end of the "
            f"last session {info['load_average']}).")
    if len(sessions) > 1:
        runs = "; ".join(f"{s['tasks_run']} tasks in {float(s['wall_time_evaluations_s']):.0f} s" for s in sessions)
        text += f" Summed over {len(sessions)} sessions (resumed): {runs}."
    if info.get("cpu_time_evaluations_s"):
        missing = info.get("tasks_without_cpu_time", 0)
        text += (f" CPU time of the evaluations in their workers: {info['cpu_time_evaluations_s']:.0f} core-s "
                 f"(= {info['cpu_time_evaluations_s'] / info['cpu_count']:.0f} s of wall time on {info['cpu_count']} "
                 "otherwise idle cores)" + (f", not recorded for {missing} tasks." if missing else "."))
    return text


def _arms(spec: dict) -> list[str]:
    return list(dict.fromkeys(a for o in spec["outputs"] for a in [o["arm"], o["minus"]] if a))


def _noise_section(noise: pd.DataFrame, spec: dict) -> list[str]:
    lines = ["## Outputs and their noise", "",
             "The analysed output is the replicate mean. `noise var` is the pooled within-row variance of one "
             "replicate; `noise share` = noise var / replicates / total var is the part of the analysed variance "
             "that replicate noise alone explains (compare Sobol indices with it). Censored outputs count a closure "
             "not seen within the horizon as the horizon (restricted mean time to closure).", "",
             "| output | arm | metric | total var | noise var | noise share | censored | note |",
             "|---|---|---|---|---|---|---|---|"]
    by_name = {o["name"]: o for o in spec["outputs"]}
    for row in noise.itertuples(index=False):
        o = by_name[row.output]
        arm = o["arm"] + (f" - {o['minus']}" if o["minus"] else "")
        note = "constant: no indices" if row.constant else ""
        lines.append(f"| {row.output} | {arm} | {o['metric']} | {_g(row.total_var)} | {_g(row.noise_var)} | "
                     f"{_pct(row.noise_share)} | {_pct(row.censored_share)} | {note} |")
    return lines + [""]


def _overall_section(ranking: pd.DataFrame, method: str) -> list[str]:
    what = "mu* relative to the largest mu* of the same output" if method == "morris" else "ST"
    lines = ["## Overall ranking", "", f"Score: {what}, averaged over the outputs with indices; max: its largest "
             "value and where.", "", "| rank | parameter | score | max | output of max |", "|---|---|---|---|---|"]
    for row in ranking.head(OVERALL).itertuples(index=False):
        lines.append(f"| {row.rank} | `{row.parameter}` | {row.score:.3f} | {row.max_score:.3f} | {row.max_output} |")
    return lines + [""]


def _output_section(part: pd.DataFrame, output: str, method: str) -> list[str]:
    wide = {index: g.set_index("parameter") for index, g in part.groupby("index")}
    rank_by = "mu_star" if method == "morris" else "ST"
    order = wide[rank_by].sort_values("rank").head(SHOWN)
    noise = order["noise"].iloc[0] if len(order) else math.nan
    if method == "morris":
        intro = f"Noise floor of mu* (pooled over all steps): {_g(noise)}."
        head = ["| rank | parameter | mu* [CI] | above noise | mu | sigma |", "|---|---|---|---|---|---|"]
        rows = [f"| {int(r['rank'])} | `{name}` | {_ci(r)} | {_yes(r['above_noise'])} | "
                f"{_g(wide['mu'].loc[name, 'value'])} | {_g(wide['sigma'].loc[name, 'value'])} |"
                for name, r in order.iterrows()]
    else:
        intro = f"Noise share of the output: {_pct(noise)}."
        head = ["| rank | parameter | ST [CI] | S1 [CI] | ST above noise |", "|---|---|---|---|---|"]
        rows = [f"| {int(r['rank'])} | `{name}` | {_ci(r)} | {_ci(wide['S1'].loc[name])} | {_yes(r['above_noise'])} |"
                for name, r in order.iterrows()]
    return [f"## {output}", "", intro, ""] + head + rows + [""]


def _figures(folder: Path, method: str) -> list[str]:
    names = ["morris_mu_star_sigma.png" if method == "morris" else "sobol_indices.png", "convergence.png"]
    shown = [f"![{n}](figures/{n})" for n in names if (folder / "figures" / n).is_file()]
    return ["## Figures", ""] + shown if shown else []


def _ci(row) -> str:
    return f"{_g(row['value'])} [{_g(row['ci_low'])}, {_g(row['ci_high'])}]"


def _g(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _yes(x) -> str:
    return "n/a" if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)) else ("yes" if x else "no")

"""Identifiability of the calibrated parameters and the run's report (report.md).

A parameter is judged by how much the data narrowed it: the width of its central 90% posterior
interval over that of its prior, both in ABC space (log10 for scale parameters):

| ratio | verdict |
|---|---|
| < 0.5 | identified: the targets pin it down |
| 0.5-0.8 | weakly identified |
| >= 0.8 | not identified: the posterior is about the prior |

Pairs of parameters with a weighted posterior correlation |r| >= 0.6 form ridges: the data fix a
combination (e.g. dose x potency) but not each one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from woundsim.errors import renamed
from woundsim.posterior import weighted_quantile
from calibration.priors import FreeParameter

IDENTIFIED, WEAK = 0.5, 0.8
RIDGE = 0.6

__getattr__ = renamed(__name__, {"write_report": "write_calibration_report"})


def identifiability(posterior: pd.DataFrame, parameters: list[FreeParameter], level: float = 0.9) -> pd.DataFrame:
    """One row per parameter: prior and posterior intervals, their width ratio and the verdict."""
    w = posterior["weight"].to_numpy(dtype=float)
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    rows = []
    for p in parameters:
        x = posterior[f"abc.{p.key}"].to_numpy(dtype=float)
        prior_lo, prior_hi = p.distribution().interval(level)
        post_lo, post_hi = weighted_quantile(x, w, lo_q), weighted_quantile(x, w, hi_q)
        ratio = (post_hi - post_lo) / (prior_hi - prior_lo)
        rows.append({"key": p.key, "quantity": p.target, "scale": "log10" if p.log else "linear",
                     "prior_low": p.to_natural(prior_lo), "prior_high": p.to_natural(prior_hi),
                     "posterior_median": p.to_natural(weighted_quantile(x, w, 0.5)),
                     "posterior_low": p.to_natural(post_lo), "posterior_high": p.to_natural(post_hi),
                     "width_ratio": ratio, "verdict": verdict(ratio)})
    return pd.DataFrame(rows)


def _check_lines(check: pd.DataFrame) -> list[str]:
    """The report's section on the check at the observed studies' sizes (`calibration.predictive`)."""
    cols = ["target", "observed", "low", "high", "study_n", "simulated_n", "median", "p05", "p95",
            "observed_in_central_90", "median_in_interval", "verdict"]
    undecided = check.loc[check["verdict"] == "undecided", "target"].tolist()
    failed = check.loc[check["verdict"] == "FAIL", "target"].tolist()
    lines = ["### At the observed studies' sizes", "",
             "Each draw's statistics read as a replicate of the observed study would report them at its size "
             "(`study_n`; `simulated_n`: mean patients behind each draw's statistic): the observed value must lie in "
             "the predictive central 90% (p05-p95) and the predictive median in the target's 95% interval, both at "
             "either end of their bootstrap Monte Carlo intervals (`predictive_check.csv`; "
             "figures/predictive_check.png).", "", markdown_table(check[cols]), ""]
    if failed:
        lines += [f"**Not reproduced**: {', '.join(failed)}.", ""]
    if undecided:
        lines += [f"**Undecided** (rerun the check with more draws, `calibration.check.draws`): {', '.join(undecided)}.", ""]
    if not failed and not undecided:
        lines += ["Every target is reproduced.", ""]
    return lines


def verdict(ratio: float) -> str:
    """Verdict of a posterior/prior interval width ratio."""
    if ratio < IDENTIFIED:
        return "identified"
    return "weakly identified" if ratio < WEAK else "not identified"


def correlations(posterior: pd.DataFrame, parameters: list[FreeParameter]) -> pd.DataFrame:
    """Weighted posterior correlation matrix in ABC space (rows and columns by key)."""
    keys = [p.key for p in parameters]
    x = posterior[[f"abc.{k}" for k in keys]].to_numpy(dtype=float)
    w = posterior["weight"].to_numpy(dtype=float)
    cov = np.cov(x.T, aweights=w / w.sum())
    sd = np.sqrt(np.clip(np.diag(np.atleast_2d(cov)), 1e-300, None))
    return pd.DataFrame(np.atleast_2d(cov) / np.outer(sd, sd), index=keys, columns=keys)


def ridges(corr: pd.DataFrame, threshold: float = RIDGE) -> list[tuple[str, str, float]]:
    """Pairs with |correlation| >= threshold, strongest first."""
    keys = list(corr.index)
    pairs = [(a, b, float(corr.loc[a, b])) for i, a in enumerate(keys) for b in keys[i + 1:]
             if abs(corr.loc[a, b]) >= threshold]
    return sorted(pairs, key=lambda p: -abs(p[2]))


def misfits(ppc: pd.DataFrame) -> list[str]:
    """Targets whose simulated 95% interval does not overlap the observed 95% interval."""
    bad = ppc[(ppc["sim_high"] < ppc["observed_low"]) | (ppc["sim_low"] > ppc["observed_high"])]
    return list(bad["target"])


def _soc_arm(run: dict) -> str:
    """The standard-care arm in words: candidates screened through the run-in, the statistics over the enrolled."""
    runin = run["soc_runin"]
    return (f"{run['n_soc']} candidates screened per particle through a {runin.days:g}-day run-in (excluded if "
            f"shrinking more than {100 * runin.max_shrink_fraction:g}% or closed; statistics over the enrolled)")


def write_calibration_report(out_dir: Path, run: dict, generations: pd.DataFrame, ident: pd.DataFrame,
                             corr: pd.DataFrame, ppc: pd.DataFrame, check: pd.DataFrame | None = None,
                             diagnostics: pd.DataFrame | None = None, wall_time: pd.DataFrame | None = None) -> Path:
    """Write report.md: run facts, generations (ABC-SMC) or waves and emulator diagnostics (history matching),
    posterior predictive table, identifiability."""
    lines = [f"# Calibration `{run['name']}`", "", *_method_lines(run),
             f"- resolution {run['grid']}; trial arm {run['n_trial']} patients, standard care {_soc_arm(run)}",
             "", *_progress_lines(run, generations, diagnostics, wall_time),
             "## Posterior predictive check", "",
             f"{run['draws']} posterior draws, each simulated with fresh patients and seeds.", "",
             markdown_table(ppc.drop(columns=["source"])), ""]
    bad = misfits(ppc)
    if bad:
        lines += [f"**Not reproduced** (simulated 95% interval misses the observed one): {', '.join(bad)}.", ""]
    if check is not None:
        lines += _check_lines(check)
    lines += ["## Identifiability", "",
              "Width of the 90% posterior interval over the prior's (ABC space): < 0.5 identified, "
              "0.5-0.8 weakly, >= 0.8 not identified.", "", markdown_table(ident), ""]
    pairs = ridges(corr)
    lines += ["Posterior correlations with |r| >= 0.6 (ridges: the data fix a combination, not each):", ""]
    lines += [f"- {a} ~ {b}: r = {r:+.2f}" for a, b, r in pairs] or ["- none"]
    lines += ["", _statement(ident, pairs, run), ""]
    path = Path(out_dir) / "report.md"
    path.write_text("\n".join(lines))
    return path


def _method_lines(run: dict) -> list[str]:
    if run.get("method", "abc_smc") == "abc_smc":
        return [f"- database: `{run['db']}` (pyabc run {run['abc_id']}; resume with the same command)",
                f"- {run['generations']} generations, {run['simulations']} model evaluations, "
                f"final threshold eps = {run['epsilon']:.3g} (distance in units of the targets' 95% half-widths)",
                f"- ABC wall time {run['abc_wall_min']:.1f} min over all sessions; sampler {run['sampler']}"]
    return [f"- history matching: {run['waves']} waves, {run['simulations']} model evaluations stored in "
            f"`{run['folder']}` (resume with the same command); sampler {run['sampler']}",
            f"- implausibility cut-off {run['cutoff']:g} on the {run['combine'].replace('_', ' ')} over targets; "
            f"non-implausible share of the prior after the last wave {run['nonimplausible_share']:.3g}",
            f"- posterior: likelihood-tempered sequential Monte Carlo on the last wave's emulator likelihood inside "
            f"that region ({run['tempering_stages']} stages, {run['emulator_evaluations']} emulator evaluations, "
            f"last Metropolis acceptance {run['acceptance']:.2f}); Kish ESS (sum w)^2 / sum w^2 over the "
            f"{run['distinct_particles']} distinct particles = {run['ess']:.0f}"
            f"{'' if run['ess_reached'] else ' (BELOW the configured minimum)'}"]


def _progress_lines(run: dict, progress: pd.DataFrame, diagnostics: pd.DataFrame | None,
                    wall_time: pd.DataFrame | None) -> list[str]:
    if run.get("method", "abc_smc") == "abc_smc":
        return ["## Generations", "", markdown_table(progress), ""]
    lines = ["## Waves", "", markdown_table(progress), ""]
    if diagnostics is not None:
        lines += ["## Emulator diagnostics", "",
                  "Standardised leave-one-out errors: an emulator passes with >= 95% within +-3 and their SD "
                  "within 0.7-1.4. A statistic defined at too few of a wave's design points (a mean closure time "
                  "where few points closed anyone) is not emulated in that wave (emulated False): that wave does "
                  "not cut on it, and if it is the last wave the posterior's emulator likelihood leaves it out; "
                  "the real-model predictive check still judges it.", "", markdown_table(diagnostics), ""]
    if wall_time is not None:
        lines += ["## Projected wall time", "",
                  "The waves' simulations against workers (Dask: `calibration.sampler.kind=dask`), from the measured "
                  "CPU seconds per evaluation: rounds of one evaluation per worker, emulator fits and scheduling "
                  "left out.", "", markdown_table(wall_time), ""]
    return lines


def _statement(ident: pd.DataFrame, pairs: list, run: dict) -> str:
    groups = {v: list(ident.loc[ident["verdict"] == v, "key"]) for v in ("identified", "weakly identified",
                                                                         "not identified")}
    text = (f"**Statement.** Identified: {', '.join(groups['identified']) or 'none'}. "
            f"Weakly identified: {', '.join(groups['weakly identified']) or 'none'}. "
            f"Not identified (posterior close to prior): {', '.join(groups['not identified']) or 'none'}.")
    if pairs:
        text += " Correlated pairs: " + "; ".join(f"{a}/{b}" for a, b, _ in pairs) + "."
    if "epsilon" in run:
        text += (f" These verdicts hold at the final threshold eps = {run['epsilon']:.3g}; a longer run "
                 "(smaller eps) usually narrows the posterior further.")
    if run.get("ess", float("inf")) < 50:
        text += (f" The final generation's effective sample size is {run['ess']:.0f} particles, so the interval "
                 "widths, and the verdicts read from them, are themselves uncertain.")
    return text


def markdown_table(table: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (floats to 3 significant digits)."""
    def fmt(v):
        if isinstance(v, (float, np.floating)):
            return f"{v:.3g}"
        return str(v)
    head = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "---|" * len(table.columns)
    body = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([head, rule, *body])

"""Figures and report.md of a design study, drawn from the tables in its run folder (and nothing else).

Reads power.csv, power_by_draw.csv, assurance.csv, recommended.csv, pools.csv, checks.csv,
typical_trial.csv, trials.parquet and study.json (written by experiments/trial.py); writes
figures/{power_curves,assurance_curves,km_typical_trial,closure_rates}.png and report.md.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from woundsim.errors import renamed
from woundsim.tables import read_parquet
from woundsim.trial.power import smallest_n
from woundsim.units import days_to_weeks

FIGURES = ("power_curves", "assurance_curves", "km_typical_trial", "closure_rates")
PUBLISHED_CONTROL = (0.18, 0.38)  # control arms of pivotal DFU trials, closure by week 12 (DESIGN.md section 9)


__getattr__ = renamed(__name__, {"write_report": "write_trial_report"})


def load_tables(folder: Path) -> dict:
    """The study's tables (missing optional ones are empty)."""
    folder = Path(folder)
    out = {}
    for name in ("power", "power_by_draw", "assurance", "recommended", "pools", "checks", "typical_trial"):
        path = folder / f"{name}.csv"
        out[name] = pd.read_csv(path) if path.is_file() and path.stat().st_size > 1 else pd.DataFrame()
    out["trials"] = read_parquet(folder / "trials.parquet")
    out["study"] = json.loads((folder / "study.json").read_text())
    return out


def write_trial_report(folder: Path) -> Path:
    """Draw the figures and write report.md in `folder`; returns the report's path."""
    folder = Path(folder)
    t = load_tables(folder)
    (folder / "figures").mkdir(exist_ok=True)
    _figures(folder / "figures", t)
    path = folder / "report.md"
    path.write_text(render_markdown(t))
    return path


# --- figures ----------------------------------------------------------------------------------------------

def _figures(out: Path, t: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    targets = t["study"]["config"]["analysis"]["targets"]
    for name, draw in (("power_curves", _power_figure), ("assurance_curves", _assurance_figure),
                       ("km_typical_trial", _km_figure), ("closure_rates", _rates_figure)):
        fig = draw(plt, t, targets)
        fig.savefig(out / f"{name}.png", dpi=120, bbox_inches="tight")
        plt.close(fig)


def _target_lines(ax, targets) -> None:
    for y in targets:
        ax.axhline(y, color="grey", lw=0.7, ls=":")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("control-arm size n")
    ax.grid(alpha=0.3)


def _power_figure(plt, t: dict, targets):
    pw = t["power"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for f, g in pw[pw["endpoint"] == "primary"].groupby("effect", sort=False):
        g = g.sort_values("arm_size")
        line, = ax1.plot(g["arm_size"], g["power"], "o-", label=f"effect x{f:g}")
        ax1.fill_between(g["arm_size"], g["ci_low"], g["ci_high"], color=line.get_color(), alpha=0.2)
        ax1.errorbar(g["arm_size"], g["power"], yerr=g["pool_sd"], fmt="none", ecolor=line.get_color(), alpha=0.5)
    ax1.set_title("primary endpoint: power (band: MC 95%; bars: ±pool_sd)")
    full = pw[pw["effect"] == pw["effect"].max()]
    for ep, g in full.groupby("endpoint", sort=False):
        g = g.sort_values("arm_size")
        line, = ax2.plot(g["arm_size"], g["power"], "o-", label=ep)
        ax2.fill_between(g["arm_size"], g["ci_low"], g["ci_high"], color=line.get_color(), alpha=0.2)
    ax2.set_title(f"all endpoints, effect x{pw['effect'].max():g}")
    for ax in (ax1, ax2):
        _target_lines(ax, targets)
        ax.set_ylabel("power at the reference parameters")
        ax.legend(fontsize=8)
    return fig


def _assurance_figure(plt, t: dict, targets):
    asr, per_draw = t["assurance"], t["power_by_draw"]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    if len(asr):
        full = per_draw[(per_draw["endpoint"] == "primary") & (per_draw["effect"] == per_draw["effect"].max())]
        for _, g in full.groupby("draw"):
            ax.plot(g["arm_size"], g["power"], color="grey", lw=0.6, alpha=0.5)
        for f, g in asr[asr["endpoint"] == "primary"].groupby("effect", sort=False):
            g = g.sort_values("arm_size")
            line, = ax.plot(g["arm_size"], g["assurance"], "o-", label=f"effect x{f:g}")
            ax.fill_between(g["arm_size"], g["ci_low"], g["ci_high"], color=line.get_color(), alpha=0.2)
    _target_lines(ax, targets)
    ax.set_ylabel("assurance (primary endpoint)")
    ax.set_title(f"assurance over {t['study']['config']['draws']['n']} {t['study']['config']['draws']['source']} "
                 "draws (grey: each draw's power, full effect)", fontsize=9)
    ax.legend(fontsize=8)
    return fig


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier step function (lifelines): (times from 0, survival just after each)."""
    from lifelines import KaplanMeierFitter

    km = KaplanMeierFitter().fit(np.asarray(time, float), np.asarray(event, bool))
    sf = km.survival_function_
    return sf.index.to_numpy(float), sf.iloc[:, 0].to_numpy(float)


def _km_figure(plt, t: dict, targets):
    tt = t["typical_trial"]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for label, g in tt.groupby("label", sort=False):
        x, s = kaplan_meier(g["closure_time_days"], g["closure_event"].astype(bool))
        x, s = np.append(x, g["closure_time_days"].max()), np.append(s, s[-1])  # to the last visit
        line, = ax.step(days_to_weeks(x), 1 - s, where="post", label=f"{label} (n={len(g)})")
        cens = g[~g["closure_event"].astype(bool) & (g["closure_time_days"] < g["closure_time_days"].max())]
        if len(cens):
            idx = np.searchsorted(x, cens["closure_time_days"].to_numpy(float), side="right") - 1
            ax.plot(days_to_weeks(cens["closure_time_days"]), 1 - s[idx], "|", color=line.get_color(), ms=8)
    if len(tt):
        ax.set_xlim(0, days_to_weeks(tt["closure_time_days"].max()) + 0.5)
    ax.set_xlabel("weeks after randomisation")
    ax.set_ylabel("cumulative confirmed closure (1 - KM)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    if len(tt):
        n, i = int(tt["arm_size"].iloc[0]), int(tt["trial"].iloc[0])
        ax.set_title(f"one typical simulated trial (n={n}, trial {i}); ticks: dropouts", fontsize=9)
    ax.legend(fontsize=8)
    return fig


def _rates_figure(plt, t: dict, targets):
    tr, tt = t["trials"], t["typical_trial"]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    if len(tt):
        n, f = int(tt["arm_size"].iloc[0]), float(tt["effect"].iloc[0])
        sel = tr[(tr["pool"] == 0) & (tr["effect"] == f) & (tr["arm_size"] == n)]
        labels = list(dict.fromkeys(tt["label"]))
        bins = np.linspace(0, 1, 41)
        for col, label in zip(("rate_a", "rate_b"), labels):
            ax.hist(sel[col], bins=bins, alpha=0.55, label=label)
        ax.axvspan(*PUBLISHED_CONTROL, color="grey", alpha=0.15, label="published control arms (18-38%)")
        ax.set_title(f"12-week closure rate of {len(sel)} simulated trials (n={n}, effect x{f:g})", fontsize=9)
    ax.set_xlabel("fraction with confirmed closure by week 12 (ITT, dropouts = not closed)")
    ax.set_ylabel("simulated trials")
    ax.legend(fontsize=8)
    return fig


# --- markdown -----------------------------------------------------------------------------------------------

def _fmt(x, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.{digits}f}" if isinstance(x, float) and not float(x).is_integer() else f"{int(x)}"


def _table(df: pd.DataFrame, columns: dict[str, str], digits: int = 2) -> str:
    head = "| " + " | ".join(columns.values()) + " |\n|" + "---|" * len(columns) + "\n"
    rows = ["| " + " | ".join(_fmt(r[c], digits) if not isinstance(r[c], str) else r[c] for c in columns) + " |"
            for r in df.to_dict("records")]
    return head + "\n".join(rows) + "\n"


def render_markdown(t: dict) -> str:
    """The report's text."""
    s, cfg = t["study"], t["study"]["config"]
    parts = [f"# Virtual phase III trial: {s['name']}\n", _design_text(cfg), _recommend_text(t, cfg),
             _endpoint_text(t, cfg), _pool_text(t, cfg), _checks_text(t), _figures_text(), _assumptions_text(cfg),
             _run_text(s, t["pools"])]
    return "\n".join(parts)


def _design_text(cfg: dict) -> str:
    d, c, r = cfg["design"], cfg["cohort"], cfg["runin"]
    arms = d["arms"]
    grades = ", ".join(f"{k}: {v:g}" for k, v in c["grade_mix"].items() if v)
    return (f"## Design\n\n- arms: **{arms[0].get('label') or arms[0]['name']}** vs "
            f"**{arms[1].get('label') or arms[1]['name']}**, allocation {d.get('allocation_ratio', 1):g}:1, "
            f"stratified by {d.get('stratify_by') or 'nothing'}\n"
            f"- treatment: {arms[0]['treatment']['product']}, {arms[0]['treatment']['dose_ug_per_site']:g} µg x "
            f"{arms[0]['treatment']['sites']} sites on days {arms[0]['treatment']['schedule_days']} after "
            f"randomisation; control: {arms[1]['treatment']['product']} on days "
            f"{arms[1]['treatment']['schedule_days']}\n"
            f"- cohort `{c['name']}`: area {c['area_min_cm2']:g}-{c['area_max_cm2']:g} cm² (median "
            f"{c['area_median_cm2']:g}), Texas grade mix {grades}, stages {c['stage_mix']}, HbA1c "
            f"{c['hba1c_min_pct']:g}-{c['hba1c_max_pct']:g}%, duration {c['duration_min_weeks']:g}-"
            f"{c['duration_max_weeks']:g} weeks\n"
            f"- run-in: {r['days']:g} days of standard care; ulcers shrinking more than "
            f"{100 * r['max_shrink_fraction']:g}% (or closed) are excluded before randomisation\n"
            f"- dropout {100 * d['dropout']['rate']:g}% ({d['dropout']['timing']} over follow-up), visits every "
            f"{d['visit_interval_days']:g} days, primary at day {d['primary_day']:g} confirmed "
            f"{d['confirmation_days']:g} days later, follow-up {d['followup_days']:g} days, recurrence ("
            f"{d.get('recurrence_site', 'same_site').replace('_', '-')}) over "
            f"{d.get('recurrence_followup_months', 12):g} months\n"
            f"- alpha {d['alpha']:g} (two-sided); arm sizes scanned {d['arm_sizes']}; {d['n_trials']} trials per size "
            f"at the reference parameters, {cfg['analysis']['n_trials_draw']} per size and draw\n")


def _recommend_text(t: dict, cfg: dict) -> str:
    rec = t["recommended"]
    src = cfg["draws"]["source"]
    warn = ("\n> **Parameter draws are a prior-predictive stand-in** (`draws.source: prior`): the calibration "
            "posterior was not used. Power is at the model's reference (uncalibrated) parameters.\n"
            if src == "prior" else
            f"\n> Parameter draws: {cfg['draws']['n']} posterior draws by weight from the calibration "
            "(`conf/model/calibrated_posterior.parquet`, each with its own fitted trial dose for the hUC-MSCD "
            "arm); reference parameters: the calibrated point summary (`model=calibrated`). The calibration is a "
            "screening posterior (docs/calibration.md): read assurance as the spread a 10-patient phase II "
            "leaves, not as a prediction.\n")
    text = ("## Recommended arm sizes (primary endpoint: confirmed closure by week 12)\n" + warn +
            "\nSmallest control-arm size reaching each target, interpolated on the scan, then simulated again at "
            "exactly that size (power: reference parameters, Wilson 95% MC interval, `pool_sd` = SD of the power "
            "from the finite pools; assurance: mean power over the draws, 95% interval).\n\n")
    cols = {"effect": "effect kept", "target": "target", "basis": "basis", "arm_size": "n (control)",
            "n_treatment": "n (treatment)", "power": "power", "power_ci_low": "MC low", "power_ci_high": "MC high",
            "pool_sd": "pool_sd", "assurance": "assurance", "assurance_ci_low": "low", "assurance_ci_high": "high"}
    return (text + _headline(rec) + "\n" + _table(rec, cols)
            + "\n'–': the target is not reached within the scanned sizes.\n")


def _headline(rec: pd.DataFrame) -> str:
    """One line per effect scenario: the sizes for each target by power and by assurance."""
    lines = []
    for f, g in rec.groupby("effect", sort=False):
        parts = []
        for target, h in g.groupby("target", sort=True):
            size = {r["basis"]: r for r in h.to_dict("records")}
            pw, asr = size.get("power"), size.get("assurance")
            parts.append(f"{int(100 * target)}% power: **n = {_fmt(pw['arm_size'])}** per control arm "
                         f"(power {_fmt(pw['power'])}, assurance {_fmt(pw['assurance'])}); "
                         f"{int(100 * target)}% assurance: n = {_fmt(asr['arm_size'])}")
        lines.append(f"- effect x{f:g}: " + "; ".join(parts))
    return "\n".join(lines) + "\n"


def _endpoint_text(t: dict, cfg: dict) -> str:
    pw = t["power"]
    rows = []
    for f in cfg["analysis"]["effect_fractions"]:
        for ep in cfg["analysis"]["endpoints"]:
            sel = pw[pw["effect"] == f]
            rows.append({"effect": f, "endpoint": ep, **{f"n{int(100 * q)}": smallest_n(sel, ep, q)
                                                         for q in cfg["analysis"]["targets"]}})
    cols = {"effect": "effect kept", "endpoint": "endpoint", **{f"n{int(100 * q)}": f"n for {int(100 * q)}% power"
                                                                for q in cfg["analysis"]["targets"]}}
    return ("## Every endpoint (reference parameters, interpolated on the scan)\n\n" + _table(pd.DataFrame(rows), cols)
            + "\nprimary: chi-square (Fisher below expected count 5); logrank / cox: time to confirmed closure, "
              "stratified; par_week4: Mann-Whitney; recurrence: Fisher among healed.\n")


def _pool_text(t: dict, cfg: dict) -> str:
    pools, rec = t["pools"], t["recommended"]
    ref = pools[pools["pool"] == 0]
    draws = pools[pools["pool"] > 0]
    m_ref = int(ref["eligible"].min())
    m_draw = int(draws["eligible"].min()) if len(draws) else 0
    n = rec[(rec["basis"] == "power") & (rec["effect"] == rec["effect"].max())]["arm_size"].dropna()
    n0 = int(n.iloc[0]) if len(n) else int(max(cfg["design"]["arm_sizes"]))
    ratio_ref, ratio_draw = n0 / m_ref, (n0 / m_draw if m_draw else float("nan"))
    shift = 0.84 * 0.28 * ratio_draw / 2
    paired = float(ref["paired_variance_ratio"].iloc[0])
    pairing = (f"the pools' error in the closure difference has {paired:.2f} times the variance of independent "
               f"pools (`paired_variance_ratio`): the true SD is about {math.sqrt(paired):.2f} x `pool_sd`"
               if math.isfinite(paired) else "their error in the closure difference is smaller than for "
               "independent pools (not estimable here: no closures)")
    cols = {"parameters": "parameters", "arm": "arm", "candidates": "screened", "eligible": "eligible",
            "excluded_pct": "excluded %", "runin_par_median_pct": "run-in PAR median %",
            "runin_agreement": "same exclusion in both arms", "closed_primary": "closed by primary day",
            "median_closure_day": "median closure day", "par_week4_median": "PAR wk 4 median %"}
    return ("## Pools and their sampling error\n\n" + _table(pools, cols) +
            f"\nTrials are resampled from pools of {m_ref} eligible patients per arm at the reference parameters and "
            f"{m_draw} per arm and draw. At n = {n0} (the 80%-power size at the full effect, or the largest "
            f"scanned size if not reached) the ratio n/M is {ratio_ref:.3f} "
            f"(reference) and {ratio_draw:.3f} (draws). A pool's sampling error moves the power with SD about "
            f"phi(Phi^-1(P)) sqrt(n/M) (column `pool_sd`; {0.28 * math.sqrt(ratio_ref):.3f} at P = 0.8 for the "
            f"reference pools) for independent pools. Both arms' pools hold the same patients and seeds, so "
            f"{pairing}. Assurance "
            f"averages the draws' pool errors out; what remains is a mean shift of about -z phi(z) n/(2M) = "
            f"-{shift:.3f} at P = 0.8 (power of each draw slightly understated).\n")


def _checks_text(t: dict) -> str:
    cols = {"check": "check", "detail": "detail", "n_treatment": "n_a", "n_control": "n_b", "simulated": "simulated",
            "expected": "expected", "rule": "rule", "tolerance": "tolerance", "passed": "passed", "note": "note"}
    checks = t["checks"].assign(passed=lambda d: d["passed"].map({True: "yes", False: "**no**"}),
                                note=lambda d: d["note"].fillna(""))
    return ("## Statistical checks\n\nSimulated power against its known value: `±` passes when |simulated - expected| "
            "< tolerance (3 MC SE, plus the normal approximation's own error for statsmodels), `<=` when "
            "simulated - expected < tolerance. Settings in woundsim/trial/checks.py; the same checks at fixed "
            "settings are tests/test_trial_stats.py.\n\n" + _table(checks, cols, 3))


def _figures_text() -> str:
    return "## Figures\n\n" + "\n".join(f"![{name}](figures/{name}.png)" for name in FIGURES) + "\n"


def _assumptions_text(cfg: dict) -> str:
    num = cfg["model"].get("numerics", {})
    return ("## Assumptions\n\n"
            "- One simulated patient per pool row; a trial draws its patients from the pools with replacement; "
            "each trial is analysed on its own (woundsim.trial.endpoints).\n"
            "- Closure is recorded at the first weekly visit after it and counts when still closed at the visit "
            "two weeks later; dropouts before the confirmation visit count as not closed (primary) and are "
            "censored at their last visit (time to closure).\n"
            "- The run-in is simulated in each patient's own run (standard care only); randomisation is at its end "
            "and every outcome is measured from there.\n"
            "- Effect scenarios replace a share (1 - effect) of the treated pool by control patients (mixture); "
            "they scale every rate difference, not the hazard ratio.\n"
            f"- Model grid {num.get('dx_um', 100):g} µm, agent step {num.get('dt_agent_h', 1):g} h "
            "(see docs/trial.md for the resolution check).\n"
            f"- Parameter draws: `{cfg['draws']['source']}`"
            + (f", log-uniform on {cfg['draws']['prior']}" if cfg["draws"]["source"] == "prior" else "") + ".\n")


def _run_text(s: dict, pools: pd.DataFrame) -> str:
    git = s.get("git", {})
    cached = int(pools["from_cache"].sum()) if len(pools) else 0
    source = (f"all {len(pools)} pools read from the cache" if len(pools) and cached == len(pools) else
              f"{len(pools) - cached} of {len(pools)} pools simulated")
    return (f"## Run\n\nwall time {s['wall_time_s'] / 60:.1f} min (pools {s['pool_time_s'] / 60:.1f} min, {source}) on "
            f"{s['workers']} {s['backend']} workers; load average at start {s['load_average_start'][0]:.2f}, "
            f"at end {s['load_average_end'][0]:.2f} ({s['cpu_count']} cores); seed {s['seed']}; git "
            f"{git.get('commit', '?')[:10]}{' (dirty)' if git.get('dirty') else ''}.\n")

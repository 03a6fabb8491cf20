"""Where the dose-response rises: the half-maximal dose per site (ED50) over prior draws of its parameters.

    python -m woundsim.dose_response [--draws 50] [--workers 2] [--seed 17]

Issue 17 item 6 (docs/dose_response.md). Each draw of the dose-response priors (`PRIORS`: uptake, cargo decay,
EC50s, vesicle clearance and release, dermis thickness) is run at a ladder of doses per site (`DOSES_UG`) of
the trial's regimen (conf/treatment/hucmscd_weekly.yaml: the mixture, 8 perilesional sites, weekly x4) in the
default patient (conf/patient/default.yaml) with a 1 cm² ulcer for the first 28 days, at 200 µm. Its exposure at a dose is the
mean, over those days' records, of the share of the maximal effect the cells see: the keratinocytes' Emax
fraction of their cargo and the fibroblasts' Emax fraction of the local vesicle concentration (the two
channels that reach closure), averaged. The ED50 is the dose at which the exposure reaches half of its value at
the top dose, interpolated on log dose. The check passes when at least half of the draws put the ED50 inside the
trial-dose prior of conf/calibration/default.yaml (`dose`: log-uniform 1-1000 µg per site per session).

The exposure is what the cells see, not closure: closure also waits for granulation and the edge cap, and a
closure-based ED50 per draw would cost a cohort per dose (the dose-response study, conf/experiment/
dose_response.yaml, shows closure against dose at the prior centre).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from woundsim.config import named_option, named_params, named_patient, named_treatment
from woundsim.model import WoundModel
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import Patient
from woundsim.layout import EV
from woundsim.treatment import Treatment

#: (name, low, high) of each dose-response parameter, every one log-uniform; sources in docs/dose_response.md
PRIORS: tuple[tuple[str, float, float], ...] = (
    ("keratinocyte.ev_uptake_per_h", 0.02, 0.2),  # 1/h, uptake at low concentration
    ("keratinocyte.ev_uptake_km", 1.0, 25.0),  # u, 50-1250 µg/mL
    ("keratinocyte.cargo_half_life_d", 3.0, 28.0),  # d, miRNA cargo decay
    ("keratinocyte.cargo_ec50", 0.1, 6.0),  # u, cargo of half effect
    ("fibroblast.ev_ec50", 0.1, 2.5),  # u, 5-125 µg/mL
    ("macrophage.ev_ec50", 0.1, 2.5),  # u
    ("fields.ev.half_life_h", 6.0, 72.0),  # h, vesicle clearance from tissue
    ("derivative.ev_release_half_life_h", 12.0, 72.0),  # h
    ("derivative.exosome_release_half_life_h", 12.0, 72.0),  # h
    ("tissue.dermis_thickness_mm", 1.0, 4.0),  # mm
)
DOSES_UG = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 10000.0)  # µg per site per session
DAYS = 28  # days simulated per dose: the four weekly sessions and a week after the last


def ed50_patient() -> Patient:
    """The ED50 check's patient: the default one (conf/patient/default.yaml, Texas IIA, 15 weeks) with the seed
    1 cm² ulcer (the seed-trial cohort's median is 1.5 cm²), which keeps 50 draws x 10 doses to minutes."""
    return dataclasses.replace(named_patient("default"), area_cm2=1.0)
DX_UM = 200.0  # µm, the calibration's grid


@dataclass
class DrawResult:
    """One prior draw: its parameter values, the exposure at each dose of `DOSES_UG` and the ED50 (µg per site)."""

    values: dict[str, float]
    exposure: np.ndarray
    ed50_ug: float


def trial_dose_prior() -> tuple[float, float]:
    """(low, high) of the calibration's dose prior (µg per site per session), from conf/calibration/default.yaml."""
    dose = named_option("calibration", "default")["parameters"]["dose"]
    return float(dose["low"]), float(dose["high"])


def draw_priors(n: int, seed: int) -> list[dict[str, float]]:
    """`n` draws of `PRIORS` (log-uniform each), from one generator seeded by `seed`."""
    rng = np.random.default_rng(seed)
    return [{name: float(math.exp(rng.uniform(math.log(lo), math.log(hi)))) for name, lo, hi in PRIORS}
            for _ in range(n)]


def exposure_index(params: ModelParams, treatment: Treatment, seed: int = 1, days: int = DAYS) -> float:
    """Mean over the first `days` daily records of the Emax fraction the keratinocytes' cargo and the
    fibroblasts' local vesicle concentration give (the two averaged); 0 without cells or vesicles."""
    model = WoundModel(params, ed50_patient(), treatment, seed=seed)
    k, f = model.populations["keratinocyte"], model.populations["fibroblast"]
    kp, fp = params.keratinocyte, params.fibroblast
    ev = model.fields.c[EV]
    shares = []
    while model.running and model.day < days:
        model.advance()
        if abs(model.day - round(model.day)) < 1e-9:
            kc = float(np.mean(_emax_fraction(k.state[: k.n], kp.cargo_ec50))) if k.n else 0.0
            fb = float(np.mean(_emax_fraction(ev[f.y[: f.n], f.x[: f.n]], fp.ev_ec50))) if f.n else 0.0
            shares.append(0.5 * (kc + fb))
    return float(np.mean(shares)) if shares else 0.0


def _emax_fraction(exposure: np.ndarray, ec50: float) -> np.ndarray:
    """`woundsim.rules.emax_fraction` over an array (exposures >= 0)."""
    return exposure / (ec50 + exposure)


def half_maximal_dose(doses: np.ndarray, exposure_at: np.ndarray) -> float:
    """The dose at which `exposure_at` first reaches half of its value at the top dose (log-linear
    interpolation); NaN when nothing rises."""
    half = 0.5 * exposure_at[-1]
    if half <= 0.0:
        return math.nan
    k = int(np.argmax(exposure_at >= half))
    if k == 0:
        return float(doses[0])
    x0, x1 = math.log(doses[k - 1]), math.log(doses[k])
    y0, y1 = exposure_at[k - 1], exposure_at[k]
    return float(math.exp(x0 + (half - y0) / (y1 - y0) * (x1 - x0)))


def _exposure_job(job: tuple[dict[str, float], float]) -> float:
    values, dose = job
    params = with_overrides(named_params("default"), {**values, "numerics.dx_um": DX_UM, "numerics.mesa_sync_hours": 0.0})
    base = named_treatment("hucmscd_weekly")
    treatment = Treatment(**{**base.to_dict(), "dose_ug_per_site": dose})
    return exposure_index(params, treatment)


def run_draws(draws: list[dict[str, float]], workers: int = 2) -> list[DrawResult]:
    """Each draw's exposure at every dose of `DOSES_UG` and its ED50."""
    jobs = [(values, dose) for values in draws for dose in DOSES_UG]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        flat = np.array(list(pool.map(_exposure_job, jobs, chunksize=1)))
    per_draw = flat.reshape(len(draws), len(DOSES_UG))
    doses = np.array(DOSES_UG)
    return [DrawResult(values, e, half_maximal_dose(doses, e)) for values, e in zip(draws, per_draw)]


def ed50_table(results: list[DrawResult]) -> str:
    """A Markdown summary: the ED50 quantiles and the share of draws inside the trial-dose prior."""
    low, high = trial_dose_prior()
    ed50 = np.array([r.ed50_ug for r in results])
    inside = (ed50 >= low) & (ed50 <= high)
    q = np.nanquantile(ed50, [0.05, 0.25, 0.5, 0.75, 0.95])
    lines = ["| draws | ED50 5% | 25% | median | 75% | 95% (µg per site) | below the prior | inside | above |",
             "|---|---|---|---|---|---|---|---|---|",
             f"| {len(results)} | {q[0]:.3g} | {q[1]:.3g} | {q[2]:.3g} | {q[3]:.3g} | {q[4]:.3g} | "
             f"{np.sum(ed50 < low)} | {int(inside.sum())} ({inside.mean():.0%}) | {np.sum(ed50 > high)} |"]
    verdict = "passes" if inside.mean() >= 0.5 else "fails"
    lines.append(f"\nThe check {verdict}: {inside.mean():.0%} of the draws put the ED50 inside the trial-dose prior "
                 f"({low:g}-{high:g} µg per site per session; at least half must).")
    return "\n".join(lines)


def print_ed50_check(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m woundsim.dose_response", description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=50, help="prior draws (default 50)")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--seed", type=int, default=17, help="seed of the prior draws (default 17)")
    ns = parser.parse_args(argv)
    results = run_draws(draw_priors(ns.draws, ns.seed), ns.workers)
    print(ed50_table(results))
    low, high = trial_dose_prior()
    return 0 if np.mean([low <= r.ed50_ug <= high for r in results]) >= 0.5 else 1


if __name__ == "__main__":
    raise SystemExit(print_ed50_check())

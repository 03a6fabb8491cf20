"""A standard-care cohort split by the patient's foot, checked by hand (docs/foot.md; issue 17 item 4).

    .venv/bin/python -m experiments.foot_cohort [--n 30] [--seed 2026] [--dx 200] [--set impairment.senescence_max=0]

Samples `--n` patients of conf/cohort/pivotal_control.yaml, simulates them under standard care for the run-in
plus 20 weeks (in-process, one core), screens them by a 14-day run-in (excluded if the ulcer shrinks > 30% or
closes) and prints, for the enrolled: closed by weeks 12 and 20 after randomisation (first closure, limit 0),
PAR at week 4 (mean and SD), and one row per patient with its load intensity (`woundsim.foot.load_intensity`).
A check of the rule's shape, not a calibration statistic: the calibration's own are `calibration.statistics`.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from woundsim.cohort import sample_patients, simulate_patients
from woundsim.config import named_option
from woundsim.foot import load_intensity
from woundsim.parallel import ParallelConfig
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import CohortSpec
from woundsim.treatment import standard_care

RUNIN_DAYS = 14.0  # days of standard care before randomisation
RUNIN_SHRINK = 0.30  # excluded if the open area shrinks by more than this during the run-in


def foot_cohort(n: int, seed: int, dx_um: float, overrides: dict[str, float]) -> tuple[dict, pd.DataFrame]:
    """The enrolled patients' outcomes (summary dict, one row per enrolled patient)."""
    spec = CohortSpec(**named_option("cohort", "pivotal_control"))
    params = with_overrides(ModelParams(), {"numerics.dx_um": dx_um, "numerics.horizon_weeks": 22.0, **overrides})
    patients = sample_patients(spec, n, seed)
    table, series = simulate_patients(patients, standard_care(), params, seed=seed,
                                      parallel=ParallelConfig(backend="serial"), timeseries=True)
    area = series.pivot_table(index="patient", columns="day", values="open_area_cm2")
    runin_area = area[RUNIN_DAYS]
    enrolled = ((1.0 - runin_area / area[0.0]) <= RUNIN_SHRINK).to_numpy() & (runin_area > 0).to_numpy()
    closure = table["first_closure_day"].to_numpy()[enrolled] - RUNIN_DAYS
    par4 = 100.0 * (1.0 - area[RUNIN_DAYS + 28.0] / runin_area).to_numpy()[enrolled]
    rows = pd.DataFrame({"load_intensity": [load_intensity(p, params.foot) for p in patients],
                         "plantar_load": [p.plantar_load for p in patients],
                         "adherence": [p.offloading_adherence for p in patients]})[enrolled]
    rows = rows.assign(closure_day=closure, par_week4=par4).sort_values("load_intensity")
    summary = {"screened": n, "excluded_by_runin": int(n - enrolled.sum()), "enrolled": int(enrolled.sum()),
               "closed_by_week12": float(np.mean(closure <= 84.0)), "closed_by_week20": float(np.mean(closure <= 140.0)),
               "par_week4_mean": float(np.nanmean(par4)), "par_week4_sd": float(np.nanstd(par4))}
    return summary, rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--dx", type=float, default=200.0)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a model parameter override")
    args = parser.parse_args(argv)
    overrides = {k: float(v) for k, v in (item.split("=", 1) for item in args.set)}
    summary, rows = foot_cohort(args.n, args.seed, args.dx, overrides)
    print(summary)
    print(rows.round(3).to_string(index=False))


if __name__ == "__main__":
    main()

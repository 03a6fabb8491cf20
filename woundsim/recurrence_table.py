"""The recurrence model's cumulative incidences at its default (hand-set) parameters against the clinical
targets (docs/recurrence.md):

    python -m woundsim.recurrence_table [--patients 20000] [--seed 0] [--scar-maturity 0.5]

Populations are drawn from the cohort specs in conf/cohort (their foot and recurrence risks); healing is not
simulated, so every drawn patient stands for a healer with the given scar maturity at confirmed closure.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from woundsim.cohort import sample_patients
from woundsim.config import cohort_from, named_option
from woundsim.errors import renamed
from woundsim.params import RecurrenceParams
from woundsim.recurrence import (REC09_HAZARD_RATIO, REC09_LOAD_EXPONENT, ClosureState, cumulative_incidence,
                                 death_risk, log_hazard_ratio, odds_ratio_to_risk_ratio,
                                 recurrences_per_100_person_years)

TRIAL_ARM = 10  # SEED03: 0 of 10 treated healers recurred at the same site within 24 months


__getattr__ = renamed(__name__, {"main": "print_recurrence_table"})


def population(cohort: str, n: int, seed: int, scar_maturity: float) -> ClosureState:
    """Closure states of `n` patients drawn from conf/cohort/<cohort>.yaml, all with `scar_maturity`."""
    return ClosureState.from_patients(sample_patients(cohort_from(named_option("cohort", cohort)), n, seed),
                                      scar_maturity)


def zero_of_ten(risk_24m: np.ndarray, rng: np.random.Generator, arms: int = 4000) -> float:
    """Probability that none of a 10-patient arm's healers recurs at the same site within 24 months: the mean
    over `arms` arms drawn from the population of prod(1 - p_i)."""
    picks = rng.integers(0, risk_24m.size, size=(arms, TRIAL_ARM))
    return float(np.mean(np.prod(1.0 - risk_24m[picks], axis=1)))


def target_rows(n: int, seed: int, scar_maturity: float, params: RecurrenceParams) -> list[tuple[str, ...]]:
    """(quantity, target id and role, observed [interval], model) rows."""
    healers = population("pivotal_control", n, seed, scar_maturity)
    ci = cumulative_incidence(healers, [12, 24, 36, 60], params)
    any_site, same, died = ci.any_site.mean(0), ci.same_site.mean(0), death_risk(healers, [24], params).mean()
    rows = [
        ("any-site recurrence within 12 months", "REC01/REC04, fitted", "0.40 [0.30, 0.50]", f"{any_site[0]:.3f}"),
        ("any-site recurrence within 24 months", "REC07 note (same cohort as REC04)", "0.42", f"{any_site[1]:.3f}"),
        ("same-site recurrence within 24 months", "REC07, fitted", "0.08 [0.059, 0.202]", f"{same[1]:.3f}"),
        ("other-site recurrence within 24 months", "REC07 note", "0.34", f"{ci.other_site.mean(0)[1]:.3f}"),
        ("death within 24 months (any order)", "REC07 note (cohort aged ~65?)", "0.14",
         f"{died:.3f} (mean age {healers.age_years.mean():.0f} y)"),
        ("any-site recurrence within 36 / 60 months", "DESIGN.md 7 (Armstrong 2017), no row", "~0.60 / ~0.65",
         f"{any_site[2]:.3f} / {any_site[3]:.3f}"),
    ]
    for months in (12, 24, 36, 60):
        rows.append((f"first recurrences per 100 person-years, {months}-month follow-up", "REC08, shaping",
                     "22.1 [19.0, 25.2]", f"{recurrences_per_100_person_years(healers, months, params):.1f}"))
    rng = np.random.default_rng(seed)
    for q in (scar_maturity, 0.0, 1.0):
        arm = population("seed_trial", n, seed, q)
        risk = cumulative_incidence(arm, [24], params).same_site[:, 0]
        rows.append((f"trial arm (seed_trial cohort, Q = {q:g}): P(0 of 10 same-site within 24 months)",
                     "SEED03, fitted", "0/10 observed", f"{zero_of_ten(risk, rng):.3f} (mean risk {risk.mean():.3f})"))
    any_risk = cumulative_incidence(population("seed_trial", n, seed, scar_maturity), [24], params).any_site[:, 0]
    rows.append(("the same arm read as any-site: P(0 of 10 any-site within 24 months)", "SEED03 misread",
                 "0/10 observed", f"{zero_of_ten(any_risk, rng):.2g}"))
    return rows


def conversion_rows(params: RecurrenceParams) -> list[tuple[str, ...]]:
    """(risk, source, OR, RR, HR) rows of the odds-ratio conversions."""
    p0 = params.rec10_reference_risk
    rows = []
    for name, label in (("plantar", "plantar site"), ("neuropathy", "neuropathy"),
                        ("pad", "peripheral artery disease (stage C/D)"), ("smoker", "smoking"), ("male", "male sex")):
        odds = getattr(params, f"{name}_odds_ratio")
        rows.append((label, "REC10", f"{odds:.2f}", f"{odds_ratio_to_risk_ratio(odds, p0):.2f}",
                     f"{np.exp(log_hazard_ratio(params, name)):.2f}"))
    rows.append(("improved vs usual offloading, worn >= 80% of steps", "REC09", "0.38", f"{0.257 / 0.478:.2f}",
                 f"{REC09_HAZARD_RATIO:.3f} (load exponent {REC09_LOAD_EXPONENT:.2f})"))
    return rows


def markdown(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def print_recurrence_table(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m woundsim.recurrence_table", description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=20000, help="patients drawn per population")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scar-maturity", type=float, default=0.5, help="Q at confirmed closure, 0-1 (assumed)")
    args = parser.parse_args(argv)
    params = RecurrenceParams()
    print(f"Default post-closure parameters (hand-set priors, not a calibration); {args.patients} patients per "
          f"population, seed {args.seed}, scar maturity {args.scar_maturity:g}.\n")
    print(markdown(("quantity", "target, role", "observed [95% interval]", "model"),
                   target_rows(args.patients, args.seed, args.scar_maturity, params)))
    print(f"\nOdds ratios to hazard ratios (reference risk p0 = {params.rec10_reference_risk:g} for REC10; REC09 "
          "from its two risks over 18 months):\n")
    print(markdown(("risk", "source", "OR", "RR", "HR"), conversion_rows(params)))
    return 0


if __name__ == "__main__":
    sys.exit(print_recurrence_table())

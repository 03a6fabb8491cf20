"""Deeper grade by hand (issue 17 items 3 and 9; docs/chronic.md): grade II vs III on several sets of seeds.

tests/test_behaviour.py's "deeper grade" case compares the treated 1 cm² ulcer's first-closure day at Texas II and
III over its 20 seeds (GRADE_SEEDS; paired one-sided t, alpha 0.005). This script repeats that comparison on other
sets of 20 seeds, to show how consistent the effect and the test's verdict are next to the closure day's noise.
Nothing is fitted to it.

    .venv/bin/python -m scripts.grade_depth_check [name=value ...]      # from the repository's root

Each name=value overrides a model parameter (e.g. tissue.depth_grade3_mm=3.5 makes grade III a grade II ulcer).
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
from scipy import stats

from tests.test_behaviour import BASE, GRADE_SEEDS, closure_days
from woundsim.treatment import Treatment

SEED_SETS = (GRADE_SEEDS, *(tuple(range(first, first + len(GRADE_SEEDS))) for first in (1, 1001, 5001, 9001)))


def main(overrides: dict[str, float]) -> None:
    for seeds in SEED_SETS:
        grade2, grade3 = (closure_days(dataclasses.replace(BASE, texas_grade=g), Treatment(), overrides, seeds)
                          for g in (2, 3))
        p = stats.ttest_rel(grade3, grade2, alternative="greater").pvalue
        print(f"seeds {seeds[0]}..{seeds[-1]}: grade II {grade2.mean():.1f} d, III {grade3.mean():.1f} d, "
              f"difference {np.mean(grade3 - grade2):+.2f} d, one-sided p {p:.2g}", flush=True)


if __name__ == "__main__":
    if any(arg in ("-h", "--help") for arg in sys.argv[1:]):
        print(__doc__)
        raise SystemExit(0)
    main({name: float(value) for name, value in (arg.split("=", 1) for arg in sys.argv[1:])})

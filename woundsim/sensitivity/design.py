"""The design of a study: SALib samples, the model value of each parameter on each row, and the seeds.

Samples come from SALib's own samplers through a `ProblemSpec` (`sample_morris` for Morris trajectories,
`sample_sobol` for Saltelli's scheme on a scrambled Sobol sequence, without second-order terms). Both draw
from a generator derived from the study seed, so a design is reproducible. Row order is SALib's: Morris
trajectory t is rows t (k + 1) ... t (k + 1) + k; Sobol base point i is rows i (k + 2) ... i (k + 2) + k + 1,
so the first r' trajectories (or N' base points) form a smaller design of the same kind (used by the
convergence analysis).

Seeds: replicate r of a row runs with `task_seeds(seed, replicates)[r]` on every row when `crn` is on (common
random numbers: rows differ by their parameters, not by their noise), otherwise with
`task_seeds(seed, rows x replicates)[row x replicates + r]`. Either way a seed depends on the row and replicate
indices only, never on the back end or the number of workers. Both arms of a replicate share its seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from SALib import ProblemSpec

from woundsim.errors import InputError, renamed
from woundsim.seeds import sensitivity_bootstrap_seed, sensitivity_sample_rng, task_seeds
from woundsim.sensitivity.spec import StudySpec

__getattr__ = renamed(__name__, {"replicate_seeds": "design_seeds"})


def problem(spec: StudySpec) -> dict:
    """SALib problem dictionary: names, bounds and dists (discrete parameters are uniform on [0, 1])."""
    names, bounds, dists = [], [], []
    for p in spec.all_parameters():
        b, d = p.salib_bounds()
        names.append(p.name)
        bounds.append(b)
        dists.append(d)
    return {"names": names, "bounds": bounds, "dists": dists}


def sample(spec: StudySpec) -> ProblemSpec:
    """A `ProblemSpec` holding the study's samples (SALib-scaled, one row per model row)."""
    sp = ProblemSpec(problem(spec))
    rng = sensitivity_sample_rng(spec.seed)
    if spec.method == "morris":
        sp.sample_morris(spec.n, num_levels=spec.num_levels, seed=rng)
    else:
        sp.sample_sobol(spec.n, calc_second_order=False, seed=rng)
    if not np.isfinite(sp.samples).all():
        raise InputError("sensitivity.parameters: a distribution gave non-finite samples; check the bounds")
    return sp


def bootstrap_seed(spec: StudySpec) -> int:
    """Seed of SALib's bootstrap (non-zero: SALib ignores a seed of 0), fixed by the study seed."""
    return sensitivity_bootstrap_seed(spec.seed)


def design_table(spec: StudySpec, samples: np.ndarray) -> pd.DataFrame:
    """Model values of every parameter on every row (discrete choices and integers applied).

    Args:
        spec: the study.
        samples: SALib-scaled samples, shape (rows, parameters).

    Returns:
        DataFrame with a `row` column, then one column per parameter (its model name).
    """
    table = pd.DataFrame({"row": np.arange(samples.shape[0])})
    for j, p in enumerate(spec.all_parameters()):
        table[p.name] = p.to_model(samples[:, j])
    return table


def design_seeds(spec: StudySpec, n_rows: int) -> np.ndarray:
    """Seeds of shape (rows, replicates); see the module docstring."""
    r = spec.replicates
    if spec.crn:
        return np.tile(task_seeds(spec.seed, r), (n_rows, 1))
    return task_seeds(spec.seed, n_rows * r).reshape(n_rows, r)


def points(design: pd.DataFrame) -> list[dict]:
    """Each row's parameter values as a plain dict (numpy scalars converted)."""
    columns = [c for c in design.columns if c != "row"]
    return [{c: _plain(v) for c, v in zip(columns, values)} for values in design[columns].itertuples(index=False)]


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value

"""Read and draw from an installed calibration posterior (no pyabc needed).

The calibration application (`calibration/posterior.py`) writes the file; the library only reads it. The
posterior file (Parquet) has one row per particle of the final ABC-SMC generation: `weight` (normalised to
sum 1), `distance`, one column per free parameter in natural units named by what it sets
(`model.keratinocyte.speed_um_day`, `treatment.dose_ug_per_site`, ...), and the same values in ABC space as
`abc.<key>` columns. Its metadata (key `METADATA_KEY`) hold the free-parameter specifications.

Users (the virtual trial's assurance, sweeps, sensitivity analysis) call:

    particles, weights = load_posterior()                 # conf/model/calibrated_posterior.parquet
    params = draw_params(100, np.random.default_rng(1))  # list[ModelParams] drawn by weight
    scenarios = draw_scenarios(100, rng, treatment)      # (ModelParams, Treatment) pairs, with the trial dose
    draws = draw_particles(100, rng)                      # rows: particle id, natural and ABC-space values
    woundsim.cohort.simulate_draws(patients, treatment, draws, per="patient")  # a cohort over the draws
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd

from woundsim.config import CONF_DIR
from woundsim.errors import require, require_parquet_file
from woundsim.params import RETIRED_PARAMETERS, ModelParams, with_overrides
from woundsim.tables import read_parquet
from woundsim.treatment import Treatment

DEFAULT_POSTERIOR = CONF_DIR / "model" / "calibrated_posterior.parquet"
PARTICLE = "particle"  # the column naming a particle of the posterior file (its row in the final generation)
METADATA_KEY = b"woundsim.calibration"  # Parquet schema metadata: free parameters and provenance (JSON)


def load_particles(path: str | Path | None = None) -> pd.DataFrame:
    """The whole posterior table: `particle` (its identity), `weight` (normalised), `distance`, the natural
    values (`model.*`, `treatment.*`) and the ABC-space values (`abc.<key>`, what the calibration seeded the
    particle's patients with: `calibration.setup.CalibrationSetup.arms` rebuilds them).

    Args:
        path: posterior Parquet file (default conf/model/calibrated_posterior.parquet).

    Raises:
        InputError: the file does not exist or is not a calibration posterior.
    """
    path = Path(path) if path is not None else DEFAULT_POSTERIOR
    remedy = ("run `woundsim calibrate run` and `woundsim calibrate install OUT_DIR`" +
              (", or restore the installed one with `git checkout conf/model`" if path == DEFAULT_POSTERIOR else ""))
    require_parquet_file(path, "posterior file", remedy)
    table = read_parquet(path)
    require("weight" in table.columns, f"{path} has no 'weight' column; not a calibration posterior")
    table = table.reset_index(drop=True)
    if PARTICLE not in table.columns:
        table.insert(0, PARTICLE, np.arange(len(table)))
    table["weight"] = table["weight"].to_numpy(dtype=float) / table["weight"].to_numpy(dtype=float).sum()
    return table


def value_columns(table: pd.DataFrame) -> list[str]:
    """The natural-value columns of a posterior table or draw (`model.*`, `treatment.*`), in file order, less
    version 1's recurrence parameters (`woundsim.params.RETIRED_PARAMETERS`: retired by recurrence version 2, so
    a version-1 posterior leaves the recurrence parameters at their defaults)."""
    return [c for c in table.columns if c.startswith(("model.", "treatment.")) and not _retired(c)]


def _retired(column: str) -> bool:
    return column.removeprefix("model.") in RETIRED_PARAMETERS


def load_posterior(path: str | Path | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Particles (natural units, one column per calibrated quantity) and their normalised weights.

    Args:
        path: posterior Parquet file (default conf/model/calibrated_posterior.parquet).

    Raises:
        InputError: the file does not exist or is not a calibration posterior.
    """
    table = load_particles(path)
    return table[value_columns(table)], table["weight"].to_numpy(dtype=float)


def posterior_metadata(path: str | Path | None = None) -> dict:
    """The metadata stored with a posterior file (free parameters, provenance)."""
    import pyarrow.parquet as pq

    path = Path(path) if path is not None else DEFAULT_POSTERIOR
    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta.get(METADATA_KEY, b"{}"))


def draw_particles(n: int, rng: np.random.Generator, path: str | Path | None = None) -> pd.DataFrame:
    """`n` particles drawn with replacement by weight: one row per draw with the particle's identity
    (`particle`), its natural values (`model.*`, `treatment.*`) and its ABC-space values (`abc.<key>`)."""
    require(int(n) >= 1, f"n = {n} must be >= 1")
    table = load_particles(path)
    index = rng.choice(len(table), size=int(n), replace=True, p=table["weight"].to_numpy(dtype=float))
    keep = [PARTICLE, *value_columns(table), *(c for c in table.columns if c.startswith("abc."))]
    return table[keep].iloc[index].reset_index(drop=True)


def draw_params(n: int, rng: np.random.Generator, path: str | Path | None = None,
                base: ModelParams | None = None) -> list[ModelParams]:
    """`n` ModelParams drawn from the posterior by weight (model.* quantities on top of `base`).

    Args:
        n: number of parameter sets.
        rng: the generator that draws them.
        path: posterior file (default conf/model/calibrated_posterior.parquet).
        base: parameters the draws override (default `ModelParams()`; numerics are never calibrated).
    """
    rows = draw_particles(n, rng, path)
    return [apply_particle(row, base)[0] for _, row in rows.iterrows()]


def draw_scenarios(n: int, rng: np.random.Generator, treatment: Treatment, path: str | Path | None = None,
                   base: ModelParams | None = None) -> list[tuple[ModelParams, Treatment]]:
    """`n` (ModelParams, Treatment) pairs: posterior draws with the calibrated treatment.* quantities
    (the seed trial's unknown dose) applied to `treatment` when it gives a product (see `apply_particle`)."""
    rows = draw_particles(n, rng, path)
    return [apply_particle(row, base, treatment) for _, row in rows.iterrows()]


def apply_particle(row: pd.Series | dict, base: ModelParams | None = None,
                   treatment: Treatment | None = None) -> tuple[ModelParams, Treatment | None]:
    """ModelParams (and Treatment, if given) with one particle's natural values applied.

    The `treatment.*` values (the seed trial's calibrated dose) go only to a treatment that gives a product:
    standard care and placebo inject none, so they come back unchanged. Other columns of a draw (`particle`,
    `abc.*`) are ignored, and so are version 1's recurrence parameters (see `value_columns`).
    """
    row = dict(row)
    model = {k[len("model."):]: float(v) for k, v in row.items() if k.startswith("model.") and not _retired(k)}
    params = with_overrides(base if base is not None else ModelParams(), model)
    if treatment is not None and treatment.gives_product:
        treat = {k[len("treatment."):]: v for k, v in row.items() if k.startswith("treatment.")}
        treatment = dataclasses.replace(treatment, **treat)
    return params, treatment


def weighted_medians(particles: pd.DataFrame, weights: np.ndarray) -> dict[str, float]:
    """Weighted posterior median of each quantity (natural units): the named set's point values."""
    return {c: weighted_quantile(particles[c].to_numpy(dtype=float), weights, 0.5) for c in particles.columns}


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Quantile `q` of `values` under normalised `weights` (interpolated on the weighted CDF)."""
    values, weights = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    order = np.argsort(values)
    v, w = values[order], weights[order] / weights.sum()
    cdf = np.cumsum(w) - 0.5 * w
    return float(np.interp(q, cdf, v))

"""The calibrated posterior: export from a pyabc history, load, draw parameter sets, point summary.

The posterior file (Parquet) has one row per particle of the final ABC-SMC generation:
`weight` (normalised to sum 1), `distance`, one column per free parameter in natural units named by
what it sets (`model.keratinocyte.speed_um_day`, `treatment.dose_ug_per_site`, ...), and the same
values in ABC space as `abc.<key>` columns. Its metadata hold the free-parameter specifications.

Users (the virtual trial's assurance, sweeps, sensitivity analysis) call:

    particles, weights = load_posterior()                 # conf/model/calibrated_posterior.parquet
    params = draw_params(100, np.random.default_rng(1))  # list[ModelParams] drawn by weight
    scenarios = draw_scenarios(100, rng, treatment)      # (ModelParams, Treatment) pairs, with the trial dose
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyabc

from calibration.priors import FreeParameter
from woundsim.errors import InputError, require
from woundsim.params import ModelParams, with_overrides
from woundsim.treatment import Treatment

CONF_MODEL = Path(__file__).resolve().parents[1] / "conf" / "model"
DEFAULT_POSTERIOR = CONF_MODEL / "calibrated_posterior.parquet"
_META_KEY = b"woundsim.calibration"


def posterior_table(history: pyabc.History, parameters: list[FreeParameter], t: int | None = None) -> pd.DataFrame:
    """Particles of generation `t` (default: the last) with weights, distances and natural values."""
    t = history.max_t if t is None else int(t)
    particles = history.get_population(t=t).particles
    weights = np.array([q.weight for q in particles], dtype=float)
    table = pd.DataFrame({"particle": np.arange(len(particles)), "weight": weights / weights.sum(),
                          "distance": [q.distance for q in particles]})
    for p in parameters:
        table[p.target] = [p.to_natural(q.parameter[p.key]) for q in particles]
    for p in parameters:
        table[f"abc.{p.key}"] = [float(q.parameter[p.key]) for q in particles]
    table.attrs["generation"] = t
    return table


def write_posterior(table: pd.DataFrame, parameters: list[FreeParameter], path: Path, provenance: dict) -> Path:
    """Write the posterior table to Parquet with the parameter specifications in its metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = {"parameters": [dataclasses.asdict(p) for p in parameters], **provenance}
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), _META_KEY: json.dumps(meta).encode()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(arrow, path)
    return path


def load_posterior(path: str | Path | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Particles (natural units, one column per calibrated quantity) and their normalised weights.

    Args:
        path: posterior Parquet file (default conf/model/calibrated_posterior.parquet).

    Raises:
        InputError: the file does not exist or is not a calibration posterior.
    """
    path = Path(path) if path is not None else DEFAULT_POSTERIOR
    if not path.is_file():
        raise InputError(f"posterior file {path} not found; run `python -m calibration run` and "
                         "`python -m calibration install OUT_DIR` first")
    table = pd.read_parquet(path)
    require("weight" in table.columns, f"{path} has no 'weight' column; not a calibration posterior")
    columns = [c for c in table.columns if c.startswith(("model.", "treatment."))]
    weights = table["weight"].to_numpy(dtype=float)
    return table[columns].reset_index(drop=True), weights / weights.sum()


def posterior_metadata(path: str | Path | None = None) -> dict:
    """The metadata stored with a posterior file (free parameters, provenance)."""
    import pyarrow.parquet as pq

    path = Path(path) if path is not None else DEFAULT_POSTERIOR
    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta.get(_META_KEY, b"{}"))


def draw_particles(n: int, rng: np.random.Generator, path: str | Path | None = None) -> pd.DataFrame:
    """`n` particles drawn with replacement by weight (natural units)."""
    require(int(n) >= 1, f"n = {n} must be >= 1")
    particles, weights = load_posterior(path)
    index = rng.choice(len(particles), size=int(n), replace=True, p=weights)
    return particles.iloc[index].reset_index(drop=True)


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
    (the seed trial's unknown dose) applied to `treatment`."""
    rows = draw_particles(n, rng, path)
    return [apply_particle(row, base, treatment) for _, row in rows.iterrows()]


def apply_particle(row: pd.Series | dict, base: ModelParams | None = None,
                   treatment: Treatment | None = None) -> tuple[ModelParams, Treatment | None]:
    """ModelParams (and Treatment, if given) with one particle's natural values applied."""
    row = dict(row)
    model = {k[len("model."):]: float(v) for k, v in row.items() if k.startswith("model.")}
    params = with_overrides(base if base is not None else ModelParams(), model)
    if treatment is not None:
        treat = {k[len("treatment."):]: v for k, v in row.items() if k.startswith("treatment.")}
        treatment = dataclasses.replace(treatment, **treat)
    return params, treatment


def point_summary(particles: pd.DataFrame, weights: np.ndarray) -> dict[str, float]:
    """Weighted posterior median of each quantity (natural units): the named set's point values."""
    return {c: weighted_quantile(particles[c].to_numpy(dtype=float), weights, 0.5) for c in particles.columns}


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Quantile `q` of `values` under normalised `weights` (interpolated on the weighted CDF)."""
    values, weights = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    order = np.argsort(values)
    v, w = values[order], weights[order] / weights.sum()
    cdf = np.cumsum(w) - 0.5 * w
    return float(np.interp(q, cdf, v))

"""The calibrated posterior: export from a pyabc history to the file that `woundsim.posterior` reads.

The file's layout (one row per particle of the final generation: `weight`, `distance`, natural values named
by target, `abc.<key>` columns; free parameters in its metadata) is described in `woundsim.posterior`,
which loads it and draws from it without pyabc. The readers (`load_posterior`, `draw_params`,
`draw_scenarios`, `draw_particles`, `apply_particle`, `posterior_metadata`, `weighted_quantile`) moved
there; they are re-exported here for existing scripts. `point_summary` is now
`woundsim.posterior.weighted_medians`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyabc

from calibration.priors import FreeParameter
from woundsim.posterior import (DEFAULT_POSTERIOR, METADATA_KEY, apply_particle, draw_params,  # noqa: F401
                                draw_particles, draw_scenarios, load_posterior, posterior_metadata,
                                weighted_quantile)

CONF_MODEL = DEFAULT_POSTERIOR.parent


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
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), METADATA_KEY: json.dumps(meta).encode()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(arrow, path)
    return path


def __getattr__(name: str):
    if name == "point_summary":
        raise ImportError("calibration.posterior.point_summary moved to woundsim.posterior.weighted_medians")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

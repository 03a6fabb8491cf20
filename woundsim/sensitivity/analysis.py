"""Sensitivity indices with bootstrap intervals, their noise floors, convergence and rankings (tidy tables).

Indices come from SALib's own analysers through a `ProblemSpec` (`analyze_morris`: mu, mu*, sigma and a
bootstrap interval of mu*; `analyze_sobol` without second-order terms: S1 and ST with bootstrap intervals).
SALib reports an interval as a half-width `conf` (normal approximation to `bootstrap_resamples` resamples at
`conf_level`); the tables give `ci_low = value - conf` and `ci_high = value + conf` (mu* clipped at 0).

Every index row carries a `noise` level in the index's own units, so a reader sees when an index is below
the noise of the stochastic model:
- Sobol: the output's noise share, (noise variance of one replicate / replicates) / variance of the analysed
  replicate means: the part of the analysed variance that replicate noise alone explains.
- Morris: the mu* that elementary effects made of noise alone would have, sqrt(2/pi) x the noise sd of an
  elementary effect of the replicate mean; that sd is measured from the spread of the same elementary effect
  across replicates (so it includes the correlation that common random numbers give), pooled over all steps.
`above_noise` is true when the index's lower interval bound exceeds its noise level (missing with a single
replicate, where the noise is not measured).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from SALib import ProblemSpec

from woundsim.sensitivity.design import bootstrap_seed, problem
from woundsim.sensitivity.spec import StudySpec

COLUMNS = ["output", "parameter", "index", "value", "conf", "ci_low", "ci_high", "noise", "above_noise", "rank"]
RANK_BY = {"morris": "mu_star", "sobol": "ST"}


def analyze(spec: StudySpec, samples: np.ndarray, values: dict[str, np.ndarray], noise: pd.DataFrame, *,
            size: int | None = None) -> pd.DataFrame:
    """Indices of every non-constant output, one tidy row per (output, parameter, index).

    Args:
        spec: the study.
        samples: SALib-scaled samples of the whole design, shape (rows, parameters).
        values: each output's values per row and replicate (`evaluate.replicate_values`).
        noise: the study's noise table (`evaluate.noise_table`).
        size: analyse only the first `size` trajectories (Morris) or base points (Sobol); default all.
    """
    size = spec.n if size is None else size
    n_rows = size * (len(spec.all_parameters()) + (1 if spec.method == "morris" else 2))
    frames = []
    for row in noise.itertuples(index=False):
        if row.constant:
            continue
        v = values[row.output][:n_rows]
        if spec.method == "morris":
            indices = _morris(spec, samples[:n_rows], v)
        else:
            indices = _sobol(spec, samples[:n_rows], v, row.noise_share)
        frames.append(indices.assign(output=row.output))
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    above = (table["ci_low"] > table["noise"]).astype("boolean")
    table["above_noise"] = above.mask(table["noise"].isna() | table["ci_low"].isna())  # unknown without a noise level
    ranked = table[table["index"] == RANK_BY[spec.method]]
    rank = ranked.groupby("output")["value"].rank(ascending=False, method="first")
    table["rank"] = table.set_index(["output", "parameter"]).index.map(
        dict(zip(zip(ranked["output"], ranked["parameter"]), rank.astype(int))))
    return table[COLUMNS]


def _problem_spec(spec: StudySpec, samples: np.ndarray, y: np.ndarray) -> ProblemSpec:
    sp = ProblemSpec(problem(spec))
    return sp.set_samples(samples).set_results(y)


def _morris(spec: StudySpec, samples: np.ndarray, v: np.ndarray) -> pd.DataFrame:
    sp = _problem_spec(spec, samples, v.mean(axis=1))
    sp.analyze_morris(num_levels=spec.num_levels, num_resamples=spec.bootstrap_resamples,
                      conf_level=spec.conf_level, seed=bootstrap_seed(spec))
    a = sp.analysis
    floor = morris_noise_floor(spec, samples, v)
    names = list(a["names"])
    conf = np.asarray(a["mu_star_conf"], dtype=float)
    mu_star = np.asarray(a["mu_star"], dtype=float)
    frames = [
        _rows(names, "mu_star", mu_star, conf, np.maximum(mu_star - conf, 0.0), mu_star + conf, floor),
        _rows(names, "mu", np.asarray(a["mu"], dtype=float)),
        _rows(names, "sigma", np.asarray(a["sigma"], dtype=float)),
    ]
    return pd.concat(frames, ignore_index=True)


def _sobol(spec: StudySpec, samples: np.ndarray, v: np.ndarray, noise_share: float) -> pd.DataFrame:
    k = samples.shape[1]
    sp = _problem_spec(spec, samples, v.mean(axis=1))
    sp.analyze_sobol(calc_second_order=False, num_resamples=spec.bootstrap_resamples, conf_level=spec.conf_level,
                     seed=bootstrap_seed(spec))
    a = sp.analysis
    names = list(sp["names"])
    frames = []
    for index in ("S1", "ST"):
        value, conf = np.asarray(a[index], dtype=float), np.asarray(a[f"{index}_conf"], dtype=float)
        frames.append(_rows(names, index, value, conf, value - conf, value + conf, np.full(k, noise_share)))
    return pd.concat(frames, ignore_index=True)


def _rows(names, index, value, conf=None, low=None, high=None, noise=None) -> pd.DataFrame:
    nan = np.full(len(names), math.nan)
    return pd.DataFrame({"parameter": names, "index": index, "value": value,
                         "conf": nan if conf is None else conf, "ci_low": nan if low is None else low,
                         "ci_high": nan if high is None else high, "noise": nan if noise is None else noise})


def morris_noise_floor(spec: StudySpec, samples: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The mu* of pure-noise elementary effects, pooled over all steps (NaN with a single replicate).

    Each elementary effect is computed per replicate; their variance across replicates, divided by the number of
    replicates, is the noise variance of the elementary effect of the replicate mean. It is pooled over every
    step of every trajectory: a parameter has only r steps, too few for its own estimate with 2 replicates.

    Args:
        spec: the study (Morris).
        samples: SALib-scaled samples of whole trajectories, shape (trajectories x (k + 1), k).
        v: output values per row and replicate, shape (rows, replicates).

    Returns:
        The floor repeated for each of the k parameters.
    """
    k = samples.shape[1]
    r = v.shape[1]
    if r < 2:
        return np.full(k, math.nan)
    delta = spec.num_levels / (2.0 * (spec.num_levels - 1))
    steps_x = np.diff(samples.reshape(-1, k + 1, k), axis=1)  # (trajectories, k steps, k parameters)
    steps_y = np.diff(v.reshape(-1, k + 1, r), axis=1)  # (trajectories, k steps, replicates)
    moved = np.argmax(np.abs(steps_x), axis=2)  # the parameter each step moves
    sign = np.sign(np.take_along_axis(steps_x, moved[..., None], axis=2)[..., 0])
    ee = steps_y / (sign * delta)[..., None]
    var_of_mean = float((ee.var(axis=2, ddof=1) / r).mean())
    return np.full(k, math.sqrt(2.0 / math.pi * var_of_mean))


def convergence_sizes(spec: StudySpec) -> list[int]:
    """Sizes at which indices are recomputed: up to 6 trajectory counts (Morris), powers of 2 >= 8 (Sobol)."""
    if spec.method == "morris":
        return sorted({int(round(x)) for x in np.linspace(2, spec.n, min(spec.n - 1, 6))})
    return [2**e for e in range(3, int(math.log2(spec.n)) + 1)] or [spec.n]


def convergence(spec: StudySpec, samples: np.ndarray, values: dict[str, np.ndarray], noise: pd.DataFrame
                ) -> pd.DataFrame:
    """Indices recomputed on the first r' trajectories or N' base points (column `size`)."""
    frames = [analyze(spec, samples, values, noise, size=s).assign(size=s) for s in convergence_sizes(spec)]
    return pd.concat(frames, ignore_index=True)


def overall_ranking(indices: pd.DataFrame, method: str) -> pd.DataFrame:
    """Parameters ranked over all outputs by their mean relative index.

    The relative index is mu* divided by the largest mu* of the same output (Morris: outputs have different
    units) or ST (Sobol). Columns: parameter, score (mean over outputs), max_score, max_output (where the
    maximum is reached), rank.
    """
    part = indices[indices["index"] == RANK_BY[method]].copy()
    columns = ["parameter", "score", "max_score", "max_output", "rank"]
    if part.empty:
        return pd.DataFrame(columns=columns)
    if method == "morris":
        part["value"] = part["value"] / part.groupby("output")["value"].transform("max").replace(0.0, math.nan)
    best = part.sort_values("value", ascending=False).groupby("parameter").head(1).set_index("parameter")
    table = part.groupby("parameter")["value"].mean().rename("score").to_frame()
    table["max_score"] = best["value"]
    table["max_output"] = best["output"]
    table = table.sort_values(["score", "max_score"], ascending=False).reset_index()
    table["rank"] = np.arange(1, len(table) + 1)
    return table[columns]

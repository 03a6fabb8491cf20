"""Every seed derivation of woundsim and its applications, in one place with named spawn keys.

A study has one root seed; everything random in it comes from `np.random.SeedSequence(root)` and its
children. The spawn keys below give independent streams for the different uses of one root seed. Their
values are fixed: changing a key or a formula here changes results (the regression baseline and every
cached pool or store would differ).

| use | derivation |
|---|---|
| seed of task i (patient, replicate, evaluation) | `task_seeds(root, n)[i]`: child i of `SeedSequence(root)`, 64-bit word >> 1 |
| replicates of `woundsim run` | `replicate_seeds(seed, n)`: child i, 32-bit word (the seed itself when n = 1) |
| patients drawn from a cohort spec | `cohort_rng(seed)`: spawn key `COHORT_SAMPLE` |
| their foot and recurrence risks | `patient_risk_rng(seed)`: spawn key `PATIENT_RISK` |
| a healed patient's first event after closure | `recurrence_rng(seed)` of its run seed: spawn key `RECURRENCE_EVENTS` |
| a trial pool's cohort and run seeds | `pool_seeds(seed)`: children 0 and 1, 32-bit words |
| a calibration particle's two arms | `particle_seeds(root, values)`: spawn key from a hash of the values, children 0 and 1 |
| the posterior predictive check | `predictive_check_seed(seed)`, `predictive_draws_rng(seed)`: fixed offsets of the seed |
| the trial designer's statistical checks | `design_check_seeds(seed)`: fixed offsets of the design seed |
| the trial designer's parameter draws | `trial_draws_rng(seed)`: spawn key `TRIAL_DRAWS` |
| an effect scenario's shrunk pool | `effect_scenario_rng(seed, key)`: spawn key (`EFFECT_SCENARIO`, *key) |
| trial i of a given arm size | `trial_rng(seed, seed_key, arm_size, i)`: spawn key (*seed_key, arm_size, i) |
| a sensitivity design's samples | `sensitivity_sample_rng(seed)`: spawn key `SENSITIVITY_SAMPLE` |
| SALib's bootstrap | `sensitivity_bootstrap_seed(seed)`: spawn key `SENSITIVITY_BOOTSTRAP` |
| the prior predictive check's draws, arms and cohorts | `feasibility_rng(seed, PRIOR_PREDICTIVE, *key)`, `feasibility_seed(...)` |
| the feasibility search's candidates, arms and cohorts | `feasibility_rng(seed, FEASIBILITY_SEARCH, *key)`, `feasibility_seed(...)` |
| the feasibility confirmation's arms and cohorts | `feasibility_seed(seed, FEASIBILITY_CONFIRM, *key)`: never the search's patients |
| a feasibility study's bootstrap of its patients | `feasibility_bootstrap_rng(seed, stage)`: spawn key (`FEASIBILITY_BOOTSTRAP`, stage) |
| the predictive check's replicated studies | `predictive_replicates_rng(seed)`: spawn key `PREDICTIVE_REPLICATES` |
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import numpy as np

from woundsim.errors import require

COHORT_SAMPLE = 0xC0  # patients drawn from a CohortSpec (woundsim.cohort.sample_patients)
PATIENT_RISK = 0xF007  # their foot and recurrence risks (CohortSpec.sample_risks), apart from COHORT_SAMPLE's draws
RECURRENCE_EVENTS = 0x2EC  # a healed patient's first event after confirmed closure (woundsim.endpoints.recurrence_outcomes)
TRIAL_DRAWS = 0xD4A  # parameter draws of a trial design study (prior stand-in or posterior)
EFFECT_SCENARIO = 0x5C  # the treatment pool of an effect scenario (woundsim.trial.power.shrink_effect)
SENSITIVITY_SAMPLE = 0x5A  # SALib samples of a sensitivity design
SENSITIVITY_BOOTSTRAP = 0xB0  # SALib's bootstrap of the indices
PRIOR_PREDICTIVE = 0xFEA5  # the prior predictive check (calibration.feasibility): draws, arms, cohorts
FEASIBILITY_SEARCH = 0x5EA2  # the emulator-guided search after the prior predictive check: candidates, arms, cohorts
FEASIBILITY_CONFIRM = 0xC04F  # the confirmation of one parameter set on seeds the search never used
FEASIBILITY_BOOTSTRAP = 0xB007  # the Monte Carlo SDs of a feasibility study (bootstrap of its patients)
PREDICTIVE_REPLICATES = 0x2E9  # the predictive check's replicated studies and their bootstrap (calibration.predictive)
PREDICTIVE_CHECK_OFFSET = 7919  # the predictive check's patients: root seed + this (never the fit's patients)
PREDICTIVE_DRAWS_OFFSET = 1  # the predictive check's posterior draws: root seed + this
DESIGN_CHECK_OFFSET = 7919  # the trial designer's statistical checks: design seed + this (+1, +2)


def check_seed(seed, name: str = "seed", *, allow_none: bool = False) -> None:
    """Refuse a seed that is not a non-negative integer, in one line naming it (`name`, e.g. "run.seed").

    Python and NumPy integers are seeds; bools, floats (even 3.0) and strings (even "3") are not, so a value
    read from the wrong place is never silently turned into a seed. `allow_none`: None (fresh entropy) passes.
    """
    if seed is None and allow_none:
        return
    whole = isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_))
    require(whole, f"{name} = {seed!r} ({type(seed).__name__}) is not a seed; give a non-negative integer, e.g. 7")
    require(seed >= 0, f"{name} = {seed} is negative; give a non-negative integer, e.g. 7")


def task_seeds(root_seed: int, n: int) -> np.ndarray:
    """One seed per task index, from `SeedSequence(root_seed).spawn(n)`.

    Args:
        root_seed: the study's root seed (non-negative integer).
        n: number of tasks.

    Returns:
        int64 array of shape (n,): entry i is the first 64-bit word of child i's state shifted right by
        one bit, so it fits int64 (JSON, Parquet and pandas keep it exactly). Entry i depends only on
        `root_seed` and i, never on n, the back end or the worker count.
    """
    require(isinstance(root_seed, (int, np.integer)) and root_seed >= 0,
            f"root_seed = {root_seed!r} must be a non-negative integer")
    require(isinstance(n, (int, np.integer)) and n >= 0, f"n = {n!r} must be a non-negative integer")
    children = np.random.SeedSequence(int(root_seed)).spawn(int(n))
    words = [child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1) for child in children]
    return np.array(words, dtype=np.int64)


def replicate_seeds(seed: int, n: int) -> list[int]:
    """Seeds of `n` replicates of one run: the seed itself for one, else the first 32-bit word of each child
    of `SeedSequence(seed)` (unlike `task_seeds`, which takes 64-bit words)."""
    check_seed(seed)
    if n == 1:
        return [int(seed)]
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(int(seed)).spawn(int(n))]


def keyed_rng(seed: int, *key: int) -> np.random.Generator:
    """A generator on `SeedSequence(seed, spawn_key=key)`."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=tuple(int(k) for k in key)))


def cohort_rng(seed: int) -> np.random.Generator:
    """Generator of the patients drawn from a cohort spec (independent of the patients' run seeds)."""
    return keyed_rng(seed, COHORT_SAMPLE)


def patient_risk_rng(seed: int) -> np.random.Generator:
    """Generator of the foot and recurrence risks of the patients drawn from a cohort spec: a stream of its own,
    so adding these attributes left the draws of `cohort_rng` (area, duration, grade, ...) unchanged."""
    return keyed_rng(seed, PATIENT_RISK)


def recurrence_rng(seed: int) -> np.random.Generator:
    """Generator of a healed patient's first event after confirmed closure (recurrence or death), from its run
    seed: a stream apart from the run's, so drawing the event changes nothing of the healing."""
    return keyed_rng(seed, RECURRENCE_EVENTS)


def pool_seeds(seed: int) -> tuple[int, int]:
    """(cohort seed, run seed) of a trial pool: the first 32-bit words of children 0 and 1 of
    `SeedSequence(seed)`."""
    children = np.random.SeedSequence(int(seed)).spawn(2)
    return tuple(int(c.generate_state(1, dtype=np.uint32)[0]) for c in children)


def particle_seeds(root_seed: int, pars: Mapping[str, float]) -> tuple[int, int]:
    """(trial seed, standard-care seed) of a calibration particle: a function of the root seed and its values
    only (the spawn key is four 32-bit words of the SHA-256 of the sorted values)."""
    payload = b"".join(k.encode() + np.float64(pars[k]).tobytes() for k in sorted(pars))
    digest = hashlib.sha256(payload).digest()
    words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]
    children = np.random.SeedSequence(int(root_seed), spawn_key=tuple(words)).spawn(2)
    return tuple(int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children)


def predictive_check_seed(seed: int) -> int:
    """Root seed of the posterior predictive check's patients (never the fit's patients)."""
    return int(seed) + PREDICTIVE_CHECK_OFFSET


def predictive_draws_rng(seed: int) -> np.random.Generator:
    """Generator of the posterior draws of the predictive check."""
    return np.random.default_rng(int(seed) + PREDICTIVE_DRAWS_OFFSET)


def predictive_replicates_rng(seed: int) -> np.random.Generator:
    """Generator of the predictive check's replicates of the observed studies and of their Monte Carlo bootstrap."""
    return keyed_rng(seed, PREDICTIVE_REPLICATES)


def design_check_seeds(seed: int) -> tuple[int, int, int]:
    """Seeds of the trial designer's Bernoulli, Schoenfeld and type-I-error checks."""
    first = int(seed) + DESIGN_CHECK_OFFSET
    return first, first + 1, first + 2


def trial_draws_rng(seed: int) -> np.random.Generator:
    """Generator of a trial design study's parameter draws."""
    return keyed_rng(seed, TRIAL_DRAWS)


def effect_scenario_rng(seed: int, key: Sequence[int]) -> np.random.Generator:
    """Generator of the treatment pool of one effect scenario; `key` = (pool index, effect key)."""
    return keyed_rng(seed, EFFECT_SCENARIO, *key)


def trial_rng(seed: int, seed_key: Sequence[int], arm_size: int, i: int) -> np.random.Generator:
    """Generator of trial `i` at `arm_size` (patients drawn, then their visits); `seed_key` is the scenario's
    prefix, e.g. (pool index, effect key)."""
    return keyed_rng(seed, *seed_key, arm_size, i)


def sensitivity_sample_rng(seed: int) -> np.random.Generator:
    """Generator of a sensitivity design's SALib samples."""
    return keyed_rng(seed, SENSITIVITY_SAMPLE)


def sensitivity_bootstrap_seed(seed: int) -> int:
    """Seed of SALib's bootstrap (non-zero: SALib ignores a seed of 0), fixed by the study seed."""
    word = np.random.SeedSequence(int(seed), spawn_key=(SENSITIVITY_BOOTSTRAP,)).generate_state(1)[0]
    return int(word % (2**31 - 2)) + 1


def feasibility_rng(seed: int, stage: int, *key: int) -> np.random.Generator:
    """Generator of one use in a feasibility study: `stage` is `PRIOR_PREDICTIVE`, `FEASIBILITY_SEARCH` or
    `FEASIBILITY_CONFIRM`, `key` e.g. (draw index,) for a prior draw or (draw, arm, replicate) for an arm's seed."""
    require(stage in (PRIOR_PREDICTIVE, FEASIBILITY_SEARCH, FEASIBILITY_CONFIRM), f"feasibility stage {stage!r} is unknown")
    return keyed_rng(seed, stage, *key)


def feasibility_seed(seed: int, stage: int, *key: int) -> int:
    """Root seed (a 32-bit word) of one arm or cohort batch of a feasibility study (see `feasibility_rng`)."""
    return int(feasibility_rng(seed, stage, *key).integers(0, 2**32, dtype=np.uint64))


def feasibility_bootstrap_rng(seed: int, stage: int) -> np.random.Generator:
    """Generator of a feasibility study's bootstrap of its patients (Monte Carlo SDs of its statistics)."""
    return keyed_rng(seed, FEASIBILITY_BOOTSTRAP, stage)

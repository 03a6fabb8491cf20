"""simulate(): the one function every study calls for one simulated patient."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from woundsim.errors import require, require_range
from woundsim.model import WoundModel, check_run_inputs
from woundsim.params import ModelParams
from woundsim.patient import Patient
from woundsim.summary import summarise
from woundsim.treatment import Treatment
from woundsim.units import HOURS_PER_DAY, hours_to_days

SNAPSHOT_DAYS = (0.0, 7.0, 14.0, 28.0)  # day 0 and weeks 1, 2, 4 (closure is added when it happens)


@dataclass
class SimulationResult:
    """What one simulated patient leaves: daily series, summary, wound snapshots and its inputs."""

    timeseries: pd.DataFrame
    summary: dict
    snapshots: dict[str, dict[str, np.ndarray]]
    injection_sites: list[tuple[int, int]]
    dx_um: float
    seed: int | None
    patient: Patient
    treatment: Treatment
    params: ModelParams
    extra: dict = field(default_factory=dict)


def simulate(params: ModelParams | None = None, patient: Patient | None = None, treatment: Treatment | None = None,
             *, seed: int | None = 0, snapshot_days: tuple[float, ...] = (), progress: bool | None = False,
             stop_after_day: Callable[[list[dict]], bool] | None = None) -> SimulationResult:
    """Simulate one patient from trial entry to the horizon (or to confirmed closure, or to a stop).

    Args:
        params: model parameters (default `ModelParams()`). A horizon left unset (`numerics.horizon_weeks`
            None, the default) follows the policy `woundsim run` follows (`woundsim.params.with_horizon`):
            12 weeks with injections, 20 for standard care alone, plus the 2-week closure confirmation.
        patient: the patient (default `Patient()`).
        treatment: the regimen on top of standard care (default: standard care alone).
        seed: the one seed that determines the run.
        snapshot_days: days at which to keep wound snapshots for figures (closure is always kept).
        progress: show a progress bar over simulated days; None shows one only if the run lasts > 3 s.
        stop_after_day: called at the end of every simulated day (day 1 on) with the daily records so far
            (rows of `.timeseries`, day 0 first, the day just ended last); the run stops there when it
            returns True, and `.extra["stopped_after_day"]` says so. The trial's run-in uses it to end the
            run of a patient it excludes; the summary then describes the run up to that day (closure by a
            later week is None: not known).

    Returns:
        SimulationResult with `.timeseries` (one row per day) and `.summary` (see docs/ARCHITECTURE.md).

    Raises:
        InputError: one line naming a bad argument (wrong type, a seed that is not a non-negative integer, a
            Patient set into an invalid state) or parameter.
    """
    check_run_inputs(params, patient, treatment, seed)
    params = params if params is not None else ModelParams()
    # the model is not returned, so nobody looks at its Mesa agents: skip the mirror (results are identical)
    params = dataclasses.replace(params, numerics=dataclasses.replace(params.numerics, mesa_sync_hours=0.0))
    model = WoundModel(params, patient if patient is not None else Patient(), treatment, seed=seed)
    model.snapshot_days = snapshot_days_checked(snapshot_days, model.horizon_h / HOURS_PER_DAY)
    if 0.0 in model.snapshot_days:
        model._snapshot("day 0")
    extra = {}
    total_days = int(round(hours_to_days(model.horizon_h)))
    with tqdm(total=total_days, desc="simulating", unit="day", disable=progress is False,
              delay=3.0 if progress is None else 0.0, leave=False) as bar:
        # the steps between events in one compiled call, without Mesa's event-loop wrapper: a caller of
        # simulate() never sees the model, its Mesa clock or its agents
        while model.running:
            days_recorded = len(model.records)
            model.advance()
            if len(model.records) > days_recorded:  # advance() stops at every day's end, which adds its record
                bar.update(1)
                if stop_after_day is not None and stop_after_day(model.records):
                    extra["stopped_after_day"] = model.records[-1]["day"]
                    break
    ts = pd.DataFrame.from_records(model.records)
    summary = summarise(model, ts, stopped_early="stopped_after_day" in extra)
    # a run that stops at a confirmed closure never reaches the later snapshot days: say so rather than omit them
    missed = [d for d in model.snapshot_days if f"day {d:g}" not in model.snapshots]
    if missed:
        extra["snapshot_days_not_reached"] = missed
    return SimulationResult(timeseries=ts, summary=summary, snapshots=model.snapshots,
                            injection_sites=list(model.injection_sites), dx_um=params.numerics.dx_um, seed=seed,
                            patient=model.patient, treatment=model.treatment, params=model.params, extra=extra)


def snapshot_days_checked(days, last_day: float) -> tuple[float, ...]:
    """The snapshot days as floats, refusing any that the run cannot record (one-line InputError).

    Args:
        days: requested snapshot days (d).
        last_day: the run's last day (d): horizon plus the closure confirmation window.
    """
    out = []
    for day in days:
        require_range("run.snapshot_days", day, 0.0, float("inf"), unit="d")
        require(float(day) <= last_day, f"run.snapshot_days has day {day:g}, after the run's last day {last_day:g} "
                                        "(horizon plus confirmation window); drop it or lengthen run.horizon_weeks")
        require(float(day) == round(float(day)), f"run.snapshot_days has day {day}; snapshots are taken at the end "
                                                 "of whole days, so give whole days")
        out.append(float(day))
    return tuple(out)

"""The model the interactive page drives: a WoundModel built from flat, page-sized controls.

Mesa's SolaraViz re-creates the model on Reset as `type(model)(**controls)`, so the page's model
takes one keyword per control (`VizModel(area_cm2=3.0, product="exosomes", ...)`) and builds the
`Patient`, `Treatment` and `ModelParams` from them. With `compare=True` it also steps a
standard-care arm of the same patient and seed (common random numbers), so the plots compare arms.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from woundsim.config import named_option, named_params
from woundsim.errors import InputError, require
from woundsim.model import WoundModel
from woundsim.params import ModelParams, with_overrides
from woundsim.patient import Patient
from woundsim.products import NO_PRODUCT, lookup
from woundsim.products import choices as product_choices
from woundsim.treatment import Treatment, standard_care
from woundsim.units import HOURS_PER_DAY, weeks_to_days

#: injection schedules offered on the page: label -> days of the sessions
SCHEDULES: dict[str, tuple[float, ...]] = {
    "weekly x4 (days 0, 7, 14, 21)": (0.0, 7.0, 14.0, 21.0),
    "single dose (day 0)": (0.0,),
    "fortnightly x3 (days 0, 14, 28)": (0.0, 14.0, 28.0),
    "twice weekly x4 weeks": (0.0, 3.0, 7.0, 10.0, 14.0, 17.0, 21.0, 24.0),
    "weekly x8 (days 0-49)": tuple(weeks_to_days(k) for k in range(8)),
}
DEFAULT_SCHEDULE = next(iter(SCHEDULES))
RESOLUTIONS_UM = (200.0, 100.0)  # µm voxel edges offered on the page (200 µm: smooth; 100 µm: the design grid)
STEPS_PER_FRAME = round(HOURS_PER_DAY)  # one-hour steps per redraw: a day a frame
MESA_SYNC_HOURS = HOURS_PER_DAY  # h; the page draws from the arrays, so the Mesa agent mirror is refreshed daily
# the seed trial's calibrated dose (treatment=hucmscd_trial), to the page's 1 µg slider step
TRIAL_DOSE_UG = float(round(named_option("treatment", "hucmscd_trial")["dose_ug_per_site"]))


def make_treatment(product: str, dose_ug_per_site: float, sites: int, schedule: str) -> Treatment:
    """The treatment the page's controls describe.

    Args:
        product: one of `woundsim.products.choices()` ("none" = standard care alone).
        dose_ug_per_site: dose per site per session (µg; ignored for placebo and none).
        sites: injection sites on the ring 2 mm outside the edge (count, >= 1).
        schedule: a key of `SCHEDULES`.

    Raises:
        InputError: unknown product or schedule, or a value out of range.
    """
    product = str(product).strip().lower()
    require(product in product_choices(), f"product = {product!r} is unknown; allowed {', '.join(product_choices())}")
    require(schedule in SCHEDULES, f"schedule = {schedule!r} is unknown; allowed {', '.join(SCHEDULES)}")
    if product == NO_PRODUCT:
        return standard_care()
    releases = lookup(product).releases  # placebo: vehicle only
    dose = float(dose_ug_per_site) if releases else 0.0
    if releases and dose <= 0.0:
        raise InputError(f"dose_ug_per_site = {dose_ug_per_site} must be > 0 µg for product {product!r}")
    return Treatment(product=product, dose_ug_per_site=dose, sites=int(sites), distance_mm=2.0,
                     schedule_days=list(SCHEDULES[schedule]))


def page_params(dx_um: float) -> ModelParams:
    """The calibrated parameters (`model=calibrated`, as `woundsim run`) at the page's resolution `dx_um` (µm),
    with a daily Mesa agent sync."""
    require(float(dx_um) in RESOLUTIONS_UM, f"dx_um = {dx_um} is not offered; allowed {RESOLUTIONS_UM} µm")
    return with_overrides(named_params("calibrated"),
                          {"numerics.dx_um": float(dx_um), "numerics.mesa_sync_hours": MESA_SYNC_HOURS})


class VizModel(WoundModel):
    """A WoundModel built from the page's controls; optionally steps a standard-care arm alongside.

    Args:
        area_cm2: ulcer area at entry (cm²).
        texas_grade: University of Texas grade, "I", "II" or "III" (or 1-3).
        hba1c_pct: HbA1c (%).
        duration_weeks: ulcer duration before entry (weeks).
        product: derivative injected ("none" = standard care alone).
        dose_ug_per_site: dose per site per session (µg).
        sites: injection sites (count).
        schedule: injection schedule, a key of `SCHEDULES`.
        dx_um: voxel edge (µm), one of `RESOLUTIONS_UM`.
        compare: also simulate the same patient under standard care (same seed).
        seed: the run's seed.
    """

    def __init__(self, area_cm2: float = 2.0, texas_grade: str | int = "II", hba1c_pct: float = 8.0,
                 duration_weeks: float = 15.0, product: str = "mixture", dose_ug_per_site: float = TRIAL_DOSE_UG,
                 sites: int = 8, schedule: str = DEFAULT_SCHEDULE, dx_um: float | str = 200.0,
                 compare: bool = True, seed: int | str = 0) -> None:
        try:
            seed = int(seed)
        except (TypeError, ValueError):
            raise InputError(f"seed = {seed!r} must be a whole number >= 0") from None
        require(seed >= 0, f"seed = {seed} must be a whole number >= 0")
        patient = Patient(area_cm2=float(area_cm2), texas_grade=texas_grade, hba1c_pct=float(hba1c_pct),
                          duration_weeks=float(duration_weeks))
        treatment = make_treatment(product, dose_ug_per_site, sites, schedule)
        params = page_params(float(dx_um))
        super().__init__(params, patient, treatment, seed=seed)
        self.schedule = schedule
        self.control: WoundModel | None = None
        if compare and treatment.injects:
            self.control = WoundModel(params, patient, standard_care(), seed=seed)

    def step(self) -> None:
        """Advance the treated arm (and the standard-care arm, if any) one step."""
        super().step()
        if self.control is not None and self.control.running:
            self.control.step()

    def step_day(self) -> None:
        """Advance one day (`STEPS_PER_FRAME` steps), stopping early at the end of the horizon."""
        for _ in range(STEPS_PER_FRAME):
            if not self.running:
                return
            self.step()

    def describe(self) -> str:
        """One line naming the patient and the treatment (what the page shows above the grid)."""
        p, t = self.patient, self.treatment
        grade = ("I", "II", "III")[p.texas_grade - 1]
        who = (f"{p.area_cm2:g} cm² Texas {grade}{p.texas_stage}, HbA1c {p.hba1c_pct:g}%, "
               f"{p.duration_weeks:g} weeks open")
        if not t.injects:
            return f"{who} · standard care alone"
        dose = "vehicle" if t.product == "placebo" else f"{t.dose_ug_per_site:g} µg"
        return f"{who} · {t.product.replace('_', ' ')} {dose} × {t.sites} sites, {self.schedule}"


@dataclass
class FrameTiming:
    """Wall time of one frame of the page, split into stepping the model and drawing it (s)."""

    step_s: float
    draw_s: float

    @property
    def fps(self) -> float:
        """Frames (simulated days) per second."""
        return 1.0 / (self.step_s + self.draw_s)


def time_frames(model: VizModel, n_frames: int, draw) -> FrameTiming:
    """Mean wall time per frame over `n_frames` frames: `step_day()`, then `draw(model)`.

    Args:
        model: the page's model (advanced in place).
        n_frames: frames to time (>= 1).
        draw: callable drawing the page's figures for `model` (e.g. `woundsim.viz.serve.render_frame`).
    """
    require(int(n_frames) >= 1, f"n_frames = {n_frames} must be >= 1")
    step_s = draw_s = 0.0
    for _ in range(int(n_frames)):
        t0 = time.perf_counter()
        model.step_day()
        t1 = time.perf_counter()
        draw(model)
        step_s += t1 - t0
        draw_s += time.perf_counter() - t1
    return FrameTiming(step_s / n_frames, draw_s / n_frames)


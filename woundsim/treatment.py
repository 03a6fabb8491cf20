"""The intervention: how perilesional injections of hUC-MSC derivatives are given (DESIGN.md section 5).

What is given (each product's release, field shares and potency) is `woundsim.products`; a treatment is
delivery: which product, the dose, the sites on a ring around the margin and the schedule.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from woundsim import products
from woundsim.errors import InputError, require, require_range
from woundsim.units import HOURS_PER_DAY

_MOVED = {"PRODUCTS": "woundsim.products.blendable()", "PRODUCT_CHOICES": "woundsim.products.choices()"}


def __getattr__(name: str):
    if name in _MOVED:
        raise ImportError(f"woundsim.treatment.{name} moved: the products are records in woundsim.products.CATALOGUE "
                          f"(use {_MOVED[name]})")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class Treatment:
    """A perilesional injection regimen on top of standard care.

    Attributes:
        product: a name in `woundsim.products.CATALOGUE` (conditioned_medium, extracellular_vesicles, exosomes,
            mixture, placebo), or none (standard care alone).
        dose_ug_per_site: protein-equivalent dose per injection site per session (µg).
        sites: number of injection sites on a ring around the margin.
        distance_mm: distance of the ring from the ulcer edge (mm; > 0 outside, < 0 inside).
        schedule_days: days of injection sessions (day 0 = trial entry).
        mixture: for product "mixture", the share of the dose given as each product.
        volume_ml_per_site: injected volume per site per session (mL); with the dermis' thickness it sets the
            bolus's plan-view footprint, a disc of radius sqrt(V / (pi h)) (`woundsim.geometry.bolus_radius_mm`).
    """

    product: str = "mixture"
    dose_ug_per_site: float = 10.0
    sites: int = 8
    distance_mm: float = 2.0
    schedule_days: list[float] = field(default_factory=lambda: [0.0, 7.0, 14.0, 21.0])
    mixture: dict[str, float] = field(default_factory=products.default_mixture)
    volume_ml_per_site: float = 0.1  # mL; perilesional injections of 0.1-0.3 mL per site are usual (SEED10: the trial's is unpublished)

    def __post_init__(self) -> None:
        self.product = str(self.product).strip().lower()
        self.schedule_days = [float(d) for d in (self.schedule_days or [])]
        self.mixture = {str(k): float(v) for k, v in (self.mixture or {}).items()}
        validate_treatment(self)

    @property
    def injects(self) -> bool:
        """True when the regimen has injection sessions (including placebo)."""
        return self.product != products.NO_PRODUCT and len(self.schedule_days) > 0

    @property
    def gives_product(self) -> bool:
        """True when the injections carry a product that releases into the fields (not placebo, not none)."""
        return self.product != products.NO_PRODUCT and products.lookup(self.product).releases

    def product_doses(self) -> dict[str, float]:
        """Dose per site per session (µg) of each product with a depot; empty for placebo/none."""
        if self.product == products.NO_PRODUCT:
            return {}
        return products.lookup(self.product).doses(self.dose_ug_per_site, self.mixture)

    def to_dict(self) -> dict:
        return asdict(self)


#: standard care alone, the one definition: no product, no dose, no sites, no ring, no sessions
#: (conf/treatment/standard_care.yaml says the same; tests/test_first_api.py checks it)
STANDARD_CARE = {"product": products.NO_PRODUCT, "dose_ug_per_site": 0.0, "sites": 0, "distance_mm": 0.0,
                 "schedule_days": []}


def standard_care() -> Treatment:
    """Standard care alone (weekly debridement, offloading, dressings: in the model's baseline rates); no injections."""
    return Treatment(**STANDARD_CARE)


def _check_distinct_days(days: list[float], dt_h: float | None) -> None:
    """Refuse a day given twice, or two days that fall on the same agent step (they would inject once)."""
    seen: dict[float, float] = {}
    for day in days:
        step = round(day * HOURS_PER_DAY / dt_h) if dt_h else day  # as WoundModel places injections
        if step in seen:
            same = f"has day {day:g} twice" if seen[step] == day else \
                f"has days {seen[step]:g} and {day:g}, which fall on the same {dt_h:g} h agent step"
            raise InputError(f"treatment.schedule_days = [{', '.join(f'{d:g}' for d in days)}] {same}; "
                             "give each injection day once")
        seen[step] = day


def validate_treatment(t: Treatment, horizon_days: float | None = None, dt_h: float | None = None) -> None:
    """Raise InputError naming the first treatment attribute out of range.

    Args:
        t: the treatment.
        horizon_days: simulated horizon (days); injection days must fall inside it.
        dt_h: the agent step (h); injection days must fall on different steps (what is recorded is what runs).
    """
    require(t.product in products.choices(),
            f"treatment.product = {t.product!r} is unknown; allowed {', '.join(products.choices())}")
    require_range("treatment.dose_ug_per_site", t.dose_ug_per_site, 0.0, 1.0e4, unit="µg")
    require_range("treatment.distance_mm", t.distance_mm, -20.0, 20.0, unit="mm")
    require_range("treatment.sites", t.sites, 0, 64)
    require_range("treatment.volume_ml_per_site", t.volume_ml_per_site, 0.0, 5.0, low_open=True, unit="mL")
    require(float(t.sites) == int(t.sites), f"treatment.sites = {t.sites} must be a whole number")
    if t.product != products.NO_PRODUCT:
        require(int(t.sites) >= 1 and t.schedule_days,
                f"treatment.product = {t.product!r} needs sites >= 1 and a non-empty schedule_days")
    else:
        given = {k: getattr(t, k) for k in STANDARD_CARE if getattr(t, k) != STANDARD_CARE[k]}
        require(not given, f"treatment.product = 'none' is standard care alone, which injects nothing, but the "
                           f"treatment sets {given}; use treatment=standard_care (woundsim.treatment.standard_care())")
    for day in t.schedule_days:
        require_range("treatment.schedule_days", day, 0.0, 1.0e4, unit="days")
        if horizon_days is not None:
            require(day <= horizon_days, f"treatment.schedule_days has day {day:g}, after the simulated horizon of "
                                         f"{horizon_days:g} days; allowed [0, {horizon_days:g}] (or raise run.horizon_weeks)")
    _check_distinct_days(t.schedule_days, dt_h)
    record = products.lookup(t.product) if t.product != products.NO_PRODUCT else None
    if isinstance(record, products.Mixture):
        unknown = set(t.mixture) - set(products.blendable())
        require(not unknown, f"treatment.mixture has unknown products {sorted(unknown)}; "
                             f"allowed {', '.join(products.blendable())}")
        require(sum(t.mixture.values()) > 0 and all(v >= 0 for v in t.mixture.values()),
                "treatment.mixture shares must be >= 0 with a positive sum")
    if t.gives_product and t.dose_ug_per_site == 0:
        raise InputError(f"treatment.dose_ug_per_site = 0 with product {t.product!r}; use product=placebo for vehicle")

"""What is injected: one record per product (DESIGN.md section 5), apart from how it is given.

A `Product` is one derivative with a depot: how fast it leaves the injected bolus (its release
half-life), which fields the released amount goes into and in what shares, and its potency (a factor
on every share). A `Mixture` is a named blend of products, dosed by `treatment.mixture`. A product with
no shares is vehicle only (`placebo`). The regimen (sites, ring, dose, schedule) is `woundsim.treatment`;
the model (`WoundModel._build_injections`) builds its depots and routing from these records.

Each number of a record is either a value or the dotted name of the `ModelParams` entry that holds it
(e.g. `"derivative.cm_fraction_il10"`), so the calibration, the sensitivity analysis and Hydra overrides
(`model.derivative.cm_fraction_il10=0.4`) vary it by that name.

To add a product: append its record to `CATALOGUE` below and give it a regimen in
`conf/treatment/<name>.yaml` (`product: <name>`). Its numbers need entries in `woundsim.params` only if
a study should vary them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from woundsim.errors import InputError, require, require_range
from woundsim.layout import FIELD_NAMES
from woundsim.params import ModelParams, parameter_value
from woundsim.units import half_life_to_rate

#: a value, or the dotted name of the ModelParams entry that holds it
Number = float | str

NO_PRODUCT = "none"  # treatment.product of standard care alone: no injections (not a product)


@dataclass(frozen=True)
class Product:
    """One injected derivative with a depot.

    Attributes:
        name: the name a treatment gives (`treatment.product`, a key of `treatment.mixture`).
        shares: field name (`woundsim.layout.FIELD_NAMES`) -> share of the released amount that goes into it
            (-); empty for a vehicle that releases nothing (placebo).
        release_half_life_h: half-life (h) of first-order release from the depot (required with shares).
        potency: factor (-) on every share (cargo effect per unit relative to the reference product).
        about: what it is, for the docs.
    """

    name: str
    shares: Mapping[str, Number] = field(default_factory=dict)
    release_half_life_h: Number | None = None
    potency: Number = 1.0
    about: str = ""

    def __post_init__(self) -> None:
        unknown = [f for f in self.shares if f not in FIELD_NAMES]
        require(not unknown, f"product {self.name!r} has shares into unknown fields {unknown}; "
                             f"allowed {', '.join(FIELD_NAMES)}")
        require(not self.shares or self.release_half_life_h is not None,
                f"product {self.name!r} has shares but no release_half_life_h")

    @property
    def releases(self) -> bool:
        """True when the product puts something into the fields (False for a vehicle)."""
        return bool(self.shares)

    def doses(self, dose_ug_per_site: float, mixture: Mapping[str, float]) -> dict[str, float]:
        """Dose per site per session (µg) of each product with a depot: this one, or none for a vehicle."""
        return {self.name: dose_ug_per_site} if self.releases else {}


@dataclass(frozen=True)
class Mixture:
    """A blend of products, given in the shares of `treatment.mixture` (default: equal shares of `parts`).

    Attributes:
        name: the name a treatment gives (`treatment.product`).
        parts: the products blended by default, in the order of the default `treatment.mixture`.
        about: what it is, for the docs.
    """

    name: str
    parts: tuple[str, ...]
    about: str = ""

    releases = True

    def doses(self, dose_ug_per_site: float, mixture: Mapping[str, float]) -> dict[str, float]:
        """Dose per site per session (µg) of each product in the blend: the dose split by the mixture's shares."""
        total = sum(mixture.values())
        return {p: dose_ug_per_site * w / total for p, w in mixture.items() if w > 0}

    def default_shares(self) -> dict[str, float]:
        """Equal shares of every part (the default `treatment.mixture`)."""
        return {p: 1.0 / len(self.parts) for p in self.parts}


def _catalogue(*records: Product | Mixture) -> dict[str, Product | Mixture]:
    return {r.name: r for r in records}


#: every product a treatment can name, in depot order (products that feed one field add up in this order)
CATALOGUE: dict[str, Product | Mixture] = _catalogue(
    Product("conditioned_medium",
            shares={"il10": "derivative.cm_fraction_il10", "tgfb": "derivative.cm_fraction_tgfb",
                    "vegf": "derivative.cm_fraction_vegf", "egf": "derivative.cm_fraction_egf"},
            release_half_life_h="derivative.cm_release_half_life_h",
            about="soluble secretome: IL-10, TGF-b1, VEGF and EGF/KGF/HGF equivalents; leaves its depot fast"),
    Product("extracellular_vesicles", shares={"ev": 1.0}, release_half_life_h="derivative.ev_release_half_life_h",
            about="vesicles (the reference potency of the ev field's cargo); retained longer in the bolus"),
    Product("exosomes", shares={"ev": 1.0}, release_half_life_h="derivative.exosome_release_half_life_h",
            potency="derivative.exosome_potency", about="small vesicles; cargo effect per unit relative to EVs"),
    Mixture("mixture", parts=("conditioned_medium", "extracellular_vesicles", "exosomes"),
            about="the seed trial's hUC-MSCD: conditioned medium, EVs and exosomes (NCT06825884)"),
    Product("placebo", about="vehicle injected at the same sites and days; no derivative"),
)


def lookup(name: str) -> Product | Mixture:
    """The record of a product name.

    Raises:
        InputError: an unknown name (the message lists the catalogue).
    """
    record = CATALOGUE.get(name)
    require(record is not None, f"treatment.product = {name!r} is unknown; allowed {', '.join(choices())}")
    return record


def choices() -> tuple[str, ...]:
    """Every value `treatment.product` may take: the catalogue's names and "none" (standard care alone)."""
    return tuple(CATALOGUE) + (NO_PRODUCT,)


def blendable() -> tuple[str, ...]:
    """Products a mixture may blend (keys of `treatment.mixture`): those with a depot, in catalogue order."""
    return tuple(n for n, r in CATALOGUE.items() if isinstance(r, Product) and r.releases)


def default_mixture() -> dict[str, float]:
    """The default `treatment.mixture`: equal shares of the parts of the catalogue's "mixture"."""
    record = CATALOGUE["mixture"]
    return record.default_shares() if isinstance(record, Mixture) else {}


def value(number: Number, params: ModelParams) -> float:
    """A record's number: the value itself, or the model parameter it names."""
    return float(parameter_value(params, number)) if isinstance(number, str) else float(number)


@dataclass(frozen=True)
class Routing:
    """Depots of the products a treatment gives, and where their release goes (the kernels' arrays).

    Attributes:
        products: the products with a depot, in catalogue order (`depot_per_site` order).
        release_per_h: (n,) first-order release rate of each depot (1/h).
        release_to: (n, width) target field index of each share (-1: none).
        release_share: (n, width) share x potency of each target (-).
    """

    products: tuple[str, ...]
    release_per_h: np.ndarray
    release_to: np.ndarray
    release_share: np.ndarray


def routing(names: Any, params: ModelParams) -> Routing:
    """The depots and release routing of the named products (those without a depot are left out).

    Args:
        names: product names (e.g. the keys of `Treatment.product_doses()`), any order.
        params: the model parameters that the records' named numbers read.
    """
    wanted = set(names)
    given = [r for n, r in CATALOGUE.items() if n in wanted and isinstance(r, Product) and r.releases]
    width = max([len(r.shares) for r in given], default=1)
    release_to = np.full((len(given), width), -1, dtype=np.int64)
    release_share = np.zeros((len(given), width))
    rate = np.zeros(len(given))
    for k, record in enumerate(given):
        half_life_h, shares = _numbers(record, params)
        rate[k] = half_life_to_rate(half_life_h)
        for t, (name, share) in enumerate(shares.items()):
            release_to[k, t] = FIELD_NAMES.index(name)
            release_share[k, t] = share
    return Routing(tuple(r.name for r in given), rate, release_to, release_share)


def _numbers(record: Product, params: ModelParams) -> tuple[float, dict[str, float]]:
    """A product's release half-life (h) and its share x potency into each field, read from `params`."""
    try:
        potency = value(record.potency, params)
        shares = {name: value(share, params) * potency for name, share in record.shares.items()}
        half_life_h = value(record.release_half_life_h, params)
    except InputError as exc:
        raise InputError(f"product {record.name!r}: {exc}") from None
    require_range(f"product {record.name!r} release_half_life_h", half_life_h, 0.0, float("inf"),
                  low_open=True, high_open=True, unit="h")
    return half_life_h, shares


def check_catalogue(params: ModelParams | None = None) -> None:
    """Check every record's named numbers exist in `params` (default `ModelParams()`) and every mixture's
    parts are products with a depot.

    Raises:
        InputError: naming the first record that does not hold.
    """
    params = params if params is not None else ModelParams()
    for record in CATALOGUE.values():
        if isinstance(record, Mixture):
            bad = [p for p in record.parts if p not in blendable()]
            require(not bad, f"mixture {record.name!r} blends {bad}, which are not products with a depot")
            continue
        if record.releases:
            _numbers(record, params)

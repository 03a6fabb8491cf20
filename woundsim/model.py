"""WoundModel: a diabetic foot ulcer healing on a lattice, with or without hUC-MSCD injections.

`step()` advances one agent step (`dt_agent_h`, 1 h by default; Mesa's time counts steps) and
reads as the biology: inject, debride, recruit, act, remodel, diffuse, observe. Recruit to diffuse
run as one compiled call (`woundsim.kernels.step.hourly_rules`) over the model's arrays; `advance()`
runs all the steps up to the next one that needs Python in one call (what `simulate()` uses).
"""

from __future__ import annotations

import math

import mesa
import numpy as np
from mesa.discrete_space import OrthogonalVonNeumannGrid

from woundsim import chronic
from woundsim.agents import CellPopulation
from woundsim.contraction import contract_wound, daily_area_fraction, myofibroblast_activity
from woundsim.errors import InputError
from woundsim import layout as L
from woundsim.fields import FactorFields
from woundsim.foot import load_intensity
from woundsim.geometry import bolus_radius_mm, build_geometry
from woundsim.kernels import step as S
from woundsim.kernels.bundles import CellArrays, DepotArrays, PopulationArrays, RuleVectors
from woundsim.kernels.cells import compact
from woundsim.kernels.tissue import open_voxels
from woundsim.params import ModelParams, validate, with_horizon
from woundsim.patient import Patient, validate_patient
from woundsim.products import routing
from woundsim.rates import fibroblast_vector, keratinocyte_vector, macrophage_vector, tissue_vector
from woundsim.rules import impairment_strength
from woundsim.seeds import check_seed
from woundsim.tissue import TissueState
from woundsim.treatment import Treatment, standard_care, validate_treatment
from woundsim.units import DAYS_PER_WEEK, HOURS_PER_DAY, cm2_per_s_to_um2_per_h, half_life_to_rate
from woundsim.units import per_day_to_per_hour, reference_voxels_per_voxel, speed_um_per_day_to_per_h, voxels_to_area_cm2


def check_run_inputs(params, patient, treatment, seed) -> None:
    """Refuse, in one line, inputs of the wrong type, a bad seed and a Patient changed into an invalid state.

    A Patient checks itself when built; its attributes can be set afterwards (it is the structured config
    Hydra fills, so it cannot be frozen), hence the check again here, where it is used. None is allowed for
    params, patient and treatment (the defaults) and for the seed (fresh entropy).

    Raises:
        InputError: naming the argument, what it got and what it takes.
    """
    for name, value, kind, hint in (("params", params, ModelParams, "ModelParams() or woundsim.params.with_overrides"),
                                    ("patient", patient, Patient, "Patient(area_cm2=..., ...)"),
                                    ("treatment", treatment, Treatment, "Treatment(...) or woundsim.treatment.standard_care()")):
        if value is not None and not isinstance(value, kind):
            raise InputError(f"{name} must be a {kind.__module__}.{kind.__name__}, got {type(value).__name__} "
                             f"{_short(value)}; build one with {hint}")
    check_seed(seed, allow_none=True)
    if patient is not None:
        validate_patient(patient)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


INGROWTH_REFERENCE_DEPTH_MM = 1.0  # mm; fibroblast.ingrowth_um_day is the lateral front speed at this deficit depth


def _of_tissue(name: str) -> property:
    """A read-only model attribute that is `model.tissue.<name>` (the tissue state owns it)."""
    return property(lambda model: getattr(model.tissue, name), doc=f"`model.tissue.{name}` (read only).")


class WoundModel(mesa.Model):
    """Agent-based model of one ulcer. `WoundModel()` builds a small default patient in well under a second.

    Args:
        params: model parameters (default `ModelParams()`).
        patient: the patient (default: a 1 cm² Texas II ulcer).
        treatment: injections on top of standard care (default: standard care alone).
        seed: the one seed that determines the run.
    """

    def __init__(self, params: ModelParams | None = None, patient: Patient | None = None,
                 treatment: Treatment | None = None, *, seed: int | None = 0) -> None:
        check_run_inputs(params, patient, treatment, seed)
        super().__init__(rng=seed)
        self.patient = patient = patient if patient is not None else Patient(area_cm2=1.0)
        self.treatment = treatment = treatment if treatment is not None else standard_care()
        params = params if params is not None else ModelParams()
        self.params = params = with_horizon(params, treatment.injects)  # the horizon policy, if none is set
        self.seed = seed
        validate(params)
        num = params.numerics
        self.dt = num.dt_agent_h
        # the horizon plus the 2-week window in which a closure at the horizon is confirmed
        self.horizon_h = (num.horizon_weeks + num.confirm_weeks) * DAYS_PER_WEEK * HOURS_PER_DAY
        validate_treatment(treatment, num.horizon_weeks * DAYS_PER_WEEK, dt_h=num.dt_agent_h)
        self.hours = 0.0
        self._steps_per_day = round(HOURS_PER_DAY / self.dt)
        interval_h = params.standard_care.debridement_interval_days * HOURS_PER_DAY
        self._debride_every = max(round(interval_h / self.dt), 1) if interval_h > 0 else 0  # steps; 0: never
        self._sync_every = max(round(num.mesa_sync_hours / self.dt), 1) if num.mesa_sync_hours > 0 else 0  # ditto
        self._confirm_h = num.confirm_weeks * DAYS_PER_WEEK * HOURS_PER_DAY  # closure must hold this long
        self.impairment = impairment_strength(patient.glucose_mM, params.impairment.glucose_normal_mM,
                                              params.impairment.glucose_high_mM, params.impairment.strength_max)
        # probability that a fibroblast or edge keratinocyte cohort is senescent at entry (woundsim.chronic)
        self.entry_senescent_share = chronic.entry_senescent_share(patient.duration_weeks, params)
        self._build_tissue()
        self._build_fields()
        self._build_populations()
        self._build_injections()
        self._build_contraction()
        self._refresh_vectors()
        self.first_closure_h = math.nan
        self.scar_maturity = math.nan  # Q at confirmed closure (TissueState.scar_maturity), NaN until then
        self.records: list[dict] = []
        self.snapshots: dict[str, dict[str, np.ndarray]] = {}
        self.snapshot_days: tuple[float, ...] = ()
        self._observe_day()
        if self._sync_every > 0:
            self.sync_agents()

    # ---- construction -------------------------------------------------------------------------
    def _build_tissue(self) -> None:
        p, pt = self.params, self.patient
        depth = (p.tissue.depth_grade1_mm, p.tissue.depth_grade2_mm, p.tissue.depth_grade3_mm)[pt.texas_grade - 1]
        # the margin holds the injection ring; widen it only when a site itself would sit within 1 mm of the
        # domain edge (a bolus reaching past the edge is reflected by the no-flux boundary)
        extra = max(0.0, self.treatment.distance_mm - p.numerics.margin_mm + 1.0) if self.treatment.injects else 0.0
        self._grid: OrthogonalVonNeumannGrid | None = None
        self.geometry = g = build_geometry(pt, depth, p.numerics.dx_um, p.numerics.margin_mm, self.rng, extra,
                                           deficit_edge_fraction=p.tissue.deficit_edge_fraction)
        # the chronic bed its history left (woundsim.chronic): granulation by duration and grade, debris by care
        self.tissue = TissueState.at_entry(g, p.tissue, ischaemic=pt.ischaemic,
                                           granulation=chronic.entry_granulation(g.deficit_mm, g.wound,
                                                                                 pt.duration_weeks, p),
                                           debris=chronic.entry_debris(p, pt.infected))
        self.n_open = self.tissue.n_wound

    def _build_fields(self) -> None:
        fp = self.params.fields
        diff = [cm2_per_s_to_um2_per_h(getattr(fp, n).diff_cm2_s) for n in L.FIELD_NAMES]
        decay = [half_life_to_rate(getattr(fp, n).half_life_h) for n in L.FIELD_NAMES]
        self.fields = FactorFields(self.geometry.shape, diff, decay, self.params.numerics.dx_um,
                                   uptake_fields=L.UPTAKE_FIELDS)
        num = self.params.numerics
        n_sub = max(1, math.ceil(num.dt_agent_h / num.dt_field_h - 1e-9))
        # sources and uptake held over the agent step, solved in n_sub equal field steps
        self._field_args = self.fields.kernel_args(num.dt_agent_h / n_sub, n_sub)

    def _build_populations(self) -> None:
        shape = self.geometry.shape
        self.next_uid = np.array([1], dtype=np.int64)
        # one agent per voxel and kind at most, so a capacity of one per voxel bounds every birth in a step
        self.populations = {k: CellPopulation(k, capacity=shape[0] * shape[1]) for k in L.CELL_KINDS}
        self._counts = np.zeros(len(self.populations), dtype=np.int64)
        self.occupancy = {k: np.zeros(shape, dtype=np.int64) for k in self.populations}
        wy, wx = np.divmod(self.tissue.wound_idx, shape[1])
        m = self.params.macrophage
        # the chronic bed (woundsim.chronic): M1-like macrophages; fibroblasts in proportion to its granulation
        fibroblast_density = chronic.fibroblast_entry_density(self.tissue.granulation[wy, wx], self.params)
        for kind, density, phi in (("macrophage", m.initial_density, m.phi_initial), ("fibroblast", fibroblast_density, 0.0)):
            pick = self.rng.random(self.tissue.n_wound) < density
            self._add(kind, wy[pick], wx[pick], phi)
        ey, ex = np.nonzero(self.tissue.edge_ring())
        pick = self.rng.random(ey.size) < self.params.keratinocyte.initial_edge_fraction
        self._add("keratinocyte", ey[pick], ex[pick], 0.0)
        # a senescent share of the bed's fibroblasts and of the edge's keratinocytes, set by the ulcer's duration
        for kind in chronic.EDGE_KINDS:
            c = self.populations[kind]
            c.senescent[: c.n] = chronic.draw_senescent(self.rng, c.n, self.entry_senescent_share)

    def _add(self, kind: str, ys: np.ndarray, xs: np.ndarray, phi: float) -> None:
        self.populations[kind].add(ys, xs, self.next_uid, phi)
        self.occupancy[kind][ys, xs] += 1

    def _build_injections(self) -> None:
        t, d = self.treatment, self.params.derivative
        self.injection_sites = self.geometry.injection_sites(t.sites, t.distance_mm) if t.injects else []
        # every site gets the same dose spread evenly over its bolus disc, and every depot voxel releases at
        # the product's rate, so each product's depot is (amount per site) x a fixed footprint weight map
        # a bolus spreads through the dermis: its volume and the dermis' thickness set its disc (and its reach)
        self.bolus_radius_mm = bolus_radius_mm(t.volume_ml_per_site, self.params.tissue.dermis_thickness_mm)
        self.tissue.place_depots([self.geometry.disc(s, self.bolus_radius_mm) for s in self.injection_sites])
        # one depot per product the treatment gives (woundsim.products: its release, field shares and potency)
        route = routing(t.product_doses(), self.params)
        self.depot_products = route.products
        self.depot_per_site = np.zeros(len(route.products))  # u·voxel (of this grid) per site, not yet released
        # units_per_ug is stated in u·voxel of a 100 µm voxel: a site's amount (u·µm²) must not depend on the grid,
        # so on a dx grid it is (100 µm / dx)² as many u·voxel; spread over the bolus disc (n ∝ 1/dx² voxels) this
        # gives the same concentration on every grid (without it the injected concentration grew as dx²: 6.25x at
        # 250 µm, and the 0.52 cm² trial ulcer closed 19 days early there)
        self.units_per_ug_voxel = d.units_per_ug / reference_voxels_per_voxel(self.params.numerics.dx_um)
        self.injection_hours = sorted({round(day * HOURS_PER_DAY / self.dt) for day in t.schedule_days}) \
            if t.injects else []
        self.release_per_h = route.release_per_h
        self.release_frac = -np.expm1(-self.release_per_h * self.dt)  # per agent step
        self.release_rate = np.zeros(len(L.FIELD_NAMES))  # u/h per unit footprint weight, this step
        self.release_to, self.release_share = route.release_to, route.release_share  # target field, share x potency

    def _build_contraction(self) -> None:
        c = self.params.contraction
        # k_c of this patient: plantar skin, tethered to the plantar fascia, contracts less
        self.contraction_per_day = c.rate_per_day * ((1.0 - c.plantar_tethering) if self.patient.plantar else 1.0)
        self._contraction_floor = c.floor_fraction * self.tissue.initial_n_wound  # A_inf, voxels
        # the remap's rounding offsets come from a stream of their own (spawned: the model's stream is not
        # advanced), so a run without contraction draws exactly what it drew before contraction existed
        self._contraction_rng = self.rng.spawn(1)[0]
        self.myofibroblast_activity = 0.0  # m at the last day's end
        self.contracted_voxels = 0  # open voxels removed by contraction so far (docs/contraction.md)

    def _refresh_vectors(self) -> None:
        p, s = self.params, self.impairment
        self.load_intensity = load_intensity(self.patient, p.foot)  # (unoffloaded load)^exponent; woundsim.foot
        self.tp = tissue_vector(p, s, self.load_intensity, self.patient.infected)
        self.mp, self.fp, self.kp = macrophage_vector(p, s), fibroblast_vector(p, s), keratinocyte_vector(p, s)
        m, f, k = p.macrophage, p.fibroblast, p.keratinocyte
        self.rates = np.zeros(L.R_LEN)
        self.rates[[L.R_RECRUIT_M, L.R_RECRUIT_TNF_GAIN, L.R_RECRUIT_DEBRIS_GAIN, L.R_ENTRY_PDGF_GAIN, L.R_PHI_RECRUIT,
                    L.R_PURSE_COVER]] = (
            per_day_to_per_hour(m.recruit_per_day), m.recruit_tnf_gain, m.recruit_debris_gain, f.entry_pdgf_gain,
            m.phi_initial, k.purse_string_granulation * k.cover_granulation)
        self.rates[L.R_ENTRY_F] = per_day_to_per_hour(f.entry_per_day)  # senescence is the cohorts' (woundsim.chronic)
        # a ringed hole of one voxel closes from both sides at the purse string's speed (woundsim.kernels.closure)
        self.rates[L.R_PURSE_STRING] = 2.0 * speed_um_per_day_to_per_h(k.purse_string_um_day) / p.numerics.dx_um
        self.rates[L.R_PURSE_EXPONENT] = k.purse_string_neighbour_exponent
        # granulation's ingrowth from the walls: a front speed per voxel edge at the reference depth, slowed by diabetes
        # as the fibroblasts that lay it are (their senescence is the cohorts' own and acts where they stand), and in
        # proportion to the regional arterial supply, since the front is capillary sprouts from the walls' vessels
        # with the fibroblasts they carry (exactly 1 in a foot without ischaemia)
        supply = p.tissue.perfusion_ischaemic / p.tissue.perfusion_intact if self.patient.ischaemic else 1.0
        self.rates[L.R_INGROWTH] = (speed_um_per_day_to_per_h(f.ingrowth_um_day) / p.numerics.dx_um
                                    * INGROWTH_REFERENCE_DEPTH_MM * (1.0 - self.fp[L.F_GLYC]) * supply)

    # ---- one step -----------------------------------------------------------------------------
    def step(self) -> None:
        """Advance one agent step (dt_agent_h hours)."""
        self._inject()
        self._debride()
        self._rules(1)  # recruit, act, remodel, diffuse
        self._observe()

    def advance(self) -> int:
        """Advance to the next agent step that needs Python (an injection, a debridement, a day's record, a
        Mesa sync, a closure or re-opening, the confirmation, the horizon): the same run as that many `step()`
        calls, with the rules of the steps in between in one compiled loop. Mesa's own clock is not advanced.

        Returns:
            The number of agent steps taken (>= 1).
        """
        self._inject()
        self._debride()
        steps = self._rules(self._quiet_steps())
        for _ in range(steps - 1):
            self.hours += self.dt  # one step at a time, as step() would (the same floating-point sums)
        self._observe()
        return steps

    def _quiet_steps(self) -> int:
        """Steps that can run in one call from the current one: no event starts within them (after the first)
        and none is due at their end (before the last). Float-derived bounds err on the short side."""
        s0 = round(self.hours / self.dt)
        limits = [self._steps_per_day * (s0 // self._steps_per_day + 1)]
        limits += [h for h in self.injection_hours if h > s0][:1]
        for every in (self._debride_every, self._sync_every):
            if every > 0:
                limits.append(every * (s0 // every + 1))
        limits.append(math.floor((self.horizon_h - 1e-9) / self.dt))
        if not math.isnan(self.first_closure_h):
            limits.append(math.floor((self.first_closure_h + self._confirm_h) / self.dt) - 1)
        return max(1, min(limits) - s0)

    def _inject(self) -> None:
        step = round(self.hours / self.dt)
        if step not in self.injection_hours:
            return
        doses = self.treatment.product_doses()
        for k, product in enumerate(self.depot_products):
            self.depot_per_site[k] += doses[product] * self.units_per_ug_voxel

    def _debride(self) -> None:
        sc = self.params.standard_care
        if self._debride_every <= 0 or round(self.hours / self.dt) % self._debride_every != 0:
            return
        open_ = self.tissue.wound & (self.tissue.epithelium < 1.0)
        self.tissue.debris[open_] *= 1.0 - sc.debridement_efficiency
        chronic.debride_senescent(self.populations, self.occupancy, open_, sc.senescence_reset, self.rng)

    def _rules(self, n_steps: int) -> int:
        """Recruit, act, remodel and diffuse, for up to `n_steps` agent steps in one compiled call
        (`woundsim.kernels.step.run_steps`, which stops early after a closure or re-opening); returns the
        steps taken."""
        counts = self._counts
        for k, population in enumerate(self.populations.values()):
            counts[k] = population.n
        closed = not math.isnan(self.first_closure_h)
        steps, n_open, bad = S.run_steps(n_steps, closed, self.rng, self._cell_arrays(), self.tissue.arrays,
                                         self._field_args, self._rule_vectors(), self._depot_arrays(), self.dt)
        for k, population in enumerate(self.populations.values()):
            population.n = int(counts[k])
        self.n_open = n_open
        if bad >= 0:
            raise InputError(self.fields.bad_input_message(int(bad)))
        return steps

    # ---- the kernels' arguments, by name (woundsim.kernels.bundles) ---------------------------------
    def _cell_arrays(self) -> CellArrays:
        """Each population's arrays as they are now (`CellPopulation.reserve` may have replaced them since)."""
        kinds = {kind: PopulationArrays(c.y, c.x, c.uid, c.state, self.occupancy[kind], c.senescent)
                 for kind, c in self.populations.items()}
        return CellArrays(counts=self._counts, next_uid=self.next_uid, **kinds)

    def _rule_vectors(self) -> RuleVectors:
        return RuleVectors(tissue=self.tp, macrophage=self.mp, fibroblast=self.fp, keratinocyte=self.kp,
                           rates=self.rates)

    def _depot_arrays(self) -> DepotArrays:
        return DepotArrays(per_site=self.depot_per_site, release_frac=self.release_frac, release_to=self.release_to,
                           release_share=self.release_share, release_rate=self.release_rate)

    # ---- a tissue that changes during the run ----------------------------------------------------
    def tissue_changed(self) -> None:
        """Bring the model up to date after the wound's geometry changed (`TissueState.heal`, or a process that
        edits `model.tissue`'s mask, deficit, layers or footprint, such as contraction): re-derive the tissue's
        indices (`TissueState.reindex`), take off the agents standing where their kind may no longer be
        (`TissueState.may_hold`: fibroblasts off the wound, keratinocytes on open voxels), and recount the
        open voxels. Fields, depots and the other agents are left as they are."""
        self.tissue.reindex()
        for kind, population in self.populations.items():
            live = slice(0, population.n)
            off = ~self.tissue.may_hold(kind)[population.y[live], population.x[live]]
            if off.any():
                np.subtract.at(self.occupancy[kind], (population.y[live][off], population.x[live][off]), 1)
                population.y[live][off] = -1
                population.n = compact(population.n, PopulationArrays(population.y, population.x, population.uid,
                                                                      population.state, self.occupancy[kind],
                                                                      population.senescent))
        self.n_open = open_voxels(self.tissue.wound_idx, self.tissue.epithelium)

    # ---- the tissue's arrays, owned by self.tissue (woundsim.tissue.TissueState), read as the model's ----
    wound = _of_tissue("wound")
    n_wound = _of_tissue("n_wound")
    deficit_mm = _of_tissue("deficit_mm")
    granulation = _of_tissue("granulation")
    epithelium = _of_tissue("epithelium")
    debris = _of_tissue("debris")
    perfusion = _of_tissue("perfusion")
    perfusion_max = _of_tissue("perfusion_max")
    maturity = _of_tissue("maturity")
    footprint = _of_tissue("footprint")

    @property
    def depot(self) -> np.ndarray:
        """Injected derivative not yet released, per product of `depot_products` (u·voxel per voxel),
        shape (len(depot_products), ny, nx)."""
        return self.depot_per_site[:, None, None] * self.tissue.footprint[None]

    def _observe(self) -> None:
        self.hours += self.dt
        day_end = round(self.hours / self.dt) % self._steps_per_day == 0
        if day_end:
            self._contract()
        n_open = self.n_open  # counted by the tissue step; diffusion leaves the epithelium alone
        if n_open == 0 and math.isnan(self.first_closure_h):
            self.first_closure_h = self.hours
            self._snapshot("closure")
        elif n_open > 0 and not math.isnan(self.first_closure_h):
            self.first_closure_h = math.nan  # re-opened before confirmation
            self.scar_maturity = math.nan
        if self._sync_every > 0 and round(self.hours / self.dt) % self._sync_every == 0:
            self.sync_agents()
        if day_end:
            self._observe_day()
        confirmed = not math.isnan(self.first_closure_h) and self.hours >= self.first_closure_h + self._confirm_h
        if confirmed and math.isnan(self.scar_maturity):
            self.scar_maturity = self.tissue.scar_maturity(self.params.foot.maturation_days,
                                                           self.params.tissue.scar_maturation_days)
        if self.hours >= self.horizon_h - 1e-9 or (confirmed and self.params.numerics.stop_at_confirmed_closure):
            self.running = False
            if self._sync_every > 0:
                self.sync_agents()

    def _contract(self) -> None:
        """The day's wound contraction (docs/contraction.md): m, the myofibroblast activity over the open wound,
        sets the fraction of the open area that a day of dA/dt = -k_c m (A - A_inf) removes; `contract_wound`
        remaps the tissue, fields, depots and cohorts by it, then the model re-derives what depends on the geometry."""
        t = self.tissue
        open_mask = t.wound & (t.epithelium < 1.0)
        self.myofibroblast_activity = m = myofibroblast_activity(self.populations["fibroblast"], open_mask)
        days = self._steps_per_day * self.dt / HOURS_PER_DAY
        outline = float(self.tissue.initial_n_wound - self.contracted_voxels)
        f = daily_area_fraction(self.contraction_per_day, m, outline, self._contraction_floor, days)
        if f <= 0.0 or self.n_open == 0:
            return
        fractions, amounts = self.contraction_layers()
        done = contract_wound(f, t.wound, t.epithelium, fractions=fractions, amounts=amounts,
                              cohorts=self.populations, occupancy=self.occupancy,
                              offset=tuple(self._contraction_rng.random(2)), reach=self.params.contraction.reach_radii)
        self.contracted_voxels += done.open_before - done.open_after
        t.maturity[t.wound & (t.epithelium < 1.0)] = 0.0  # an open voxel holds no mature repair tissue (the remap mixes)
        self.tissue_changed()

    def contraction_layers(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """What the day's contraction moves besides the wound mask and the epithelium: the fraction layers (each
        voxel takes the weighted mean of what it receives) and the amounts (totals kept). Every layer of
        `TissueState` must be in one of them (tests/test_contraction.py checks it)."""
        t = self.tissue
        fractions = {"granulation": t.granulation, "perfusion": t.perfusion, "perfusion_max": t.perfusion_max,
                     "maturity": t.maturity, "deficit_mm": t.deficit_mm}
        amounts = {"debris": t.debris, "fields": self.fields.c, "footprint": t.footprint}
        return fractions, amounts

    def _observe_day(self) -> None:
        self.fields.check()
        from woundsim.observe import daily_record  # local: observe imports the model's arrays only

        rec = daily_record(self)
        self.records.append(rec)
        day = rec["day"]
        for target in self.snapshot_days:
            if abs(day - target) < 1e-9:
                self._snapshot(f"day {target:g}")

    def _snapshot(self, label: str) -> None:
        from woundsim.observe import snapshot

        self.snapshots[label] = snapshot(self)

    # ---- views --------------------------------------------------------------------------------
    @property
    def grid(self) -> OrthogonalVonNeumannGrid:
        """The Mesa grid the agents sit on; built on first use (it costs ~0.4 s per 60 000 voxels)."""
        if self._grid is None:
            self._grid = OrthogonalVonNeumannGrid(self.geometry.shape, torus=False, random=self.random)
        return self._grid

    def sync_agents(self) -> None:
        """Bring the Mesa agents (model.agents, on model.grid) up to date with the population arrays."""
        for population in self.populations.values():
            population.sync(self, self.grid)

    @property
    def cohorts(self):
        raise AttributeError("WoundModel.cohorts is now WoundModel.populations (woundsim.agents.CellPopulation)")

    @property
    def closure_quality(self):
        raise AttributeError("WoundModel.closure_quality (relative perfusion at first closure, version 1's recurrence "
                             "input) is now WoundModel.scar_maturity (at confirmed closure)")

    @property
    def open_area_cm2(self) -> float:
        t = self.tissue
        return voxels_to_area_cm2(open_voxels(t.wound_idx, t.epithelium), self.params.numerics.dx_um)

    @property
    def day(self) -> float:
        return self.hours / HOURS_PER_DAY


_MOVED = {"INITIAL_MACROPHAGE_DENSITY": "macrophage.initial_density",
          "INITIAL_FIBROBLAST_DENSITY": "fibroblast.initial_density"}


def __getattr__(name: str):
    if name in _MOVED:
        raise ImportError(f"woundsim.model.{name} is now the model parameter {_MOVED[name]} (woundsim.params)")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The patient's foot: the plantar load an ulcer bears after offloading (DESIGN.md 4.1; docs/foot.md).

One definition of the unoffloaded load, used while the ulcer heals (`woundsim.kernels.foot`: load breaks down
the fresh front) and after it has closed (`woundsim.recurrence`: load drives re-ulceration):

    U = plantar_load x (1 - relief x adherence)

plantar_load is the site's peak plantar load relative to a typical neuropathic plantar forefoot site (1),
adherence the share of steps taken in the prescribed offloading, relief the fraction of the load that the
offloading removes when worn. Only the relief differs between the two uses: the healing phase's offloading
devices (`FootParams.offloading_relief`) against the footwear worn after closure
(`woundsim.params.RecurrenceParams.offloading_relief`, `model.recurrence`).
"""

from __future__ import annotations

import numpy as np

from woundsim.params import FootParams
from woundsim.patient import Patient


def unoffloaded_load(plantar_load, offloading_adherence, offloading_relief):
    """U = plantar_load x (1 - relief x adherence): the load the site still bears (x a typical plantar forefoot
    site), for floats or per-patient arrays."""
    return plantar_load * (1.0 - offloading_relief * offloading_adherence)


def load_intensity(patient: Patient, foot: FootParams) -> float:
    """The patient's load intensity while the ulcer heals, (U / 1)^load_exponent: 0 for an ulcer off the
    weight-bearing plantar surface, 1 for a typical plantar forefoot site bearing its whole load. The load
    rates of `FootParams` (stated at U = 1) are multiplied by it."""
    if not patient.plantar:
        return 0.0
    load = unoffloaded_load(patient.plantar_load, patient.offloading_adherence, foot.offloading_relief)
    return float(np.power(max(load, 0.0), foot.load_exponent))

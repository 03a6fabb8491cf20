"""Numba kernels: flat arrays and scalars in, arrays updated in place; no Python objects.

Modules:
    diffusion: implicit LOD diffusion-decay of the paracrine fields (`lod_diffuse_decay_2d`).
    cells: the macrophage, fibroblast and keratinocyte rules over cohort arrays.
    tissue: debris, perfusion, matrix breakdown, closure, recruitment rates, depot release.
    step: one agent step of all of them (`hourly_rules`), the only kernel that draws random
        numbers (from the model's NumPy Generator, passed in).

Public wrappers that validate input before calling these live outside this package
(for example `woundsim.fields.FactorFields`, `woundsim.model.WoundModel`). Every kernel is cached
on disk under one stamp of all kernel sources (`woundsim._kernel_cache`).
"""

from woundsim import _kernel_cache

_kernel_cache.register()  # before the first kernel is defined

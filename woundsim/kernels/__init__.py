"""Numba kernels: flat arrays and scalars in, arrays updated in place; no Python objects, no random draws.

Modules:
    diffusion: implicit LOD diffusion-decay of the paracrine fields (`lod_diffuse_decay_2d`).

Public wrappers that validate input before calling these live outside this package
(for example `woundsim.fields.FactorFields`).
"""

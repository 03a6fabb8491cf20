"""Hydra apps of woundsim studies: sweeps, sensitivity analysis, the virtual trial."""

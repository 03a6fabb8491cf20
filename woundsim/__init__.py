"""woundsim: agent-based simulation of diabetic foot ulcer healing under hUC-MSCD injections."""
__version__ = "0.1.0"

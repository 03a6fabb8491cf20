"""Global sensitivity analysis of woundsim outputs with SALib (Morris screening, Sobol indices).

    spec = StudySpec(method="sobol", n=64, replicates=2, parameters=[...], outputs=[...])
    result = run_study(spec, WoundsimModel(params, patient, treatment), out_dir)

Modules: `spec` (what a study is), `models` (woundsim and the Ishigami test function), `design` (SALib
samples, seeds), `evaluate` (resumable evaluations, replicate means, noise), `analysis` (indices, intervals,
noise floors, convergence, ranking), `study` (the whole run into one folder), `plots`, `report`.
The Hydra app is `experiments/sensitivity.py`; docs/sensitivity.md explains the choices.
"""

from woundsim.sensitivity.models import IshigamiModel, WoundsimModel
from woundsim.sensitivity.spec import OutputSpec, ParameterSpec, StudySpec
from woundsim.sensitivity.study import StudyResult, run_study

__all__ = ["IshigamiModel", "OutputSpec", "ParameterSpec", "StudyResult", "StudySpec", "WoundsimModel", "run_study"]

"""Global sensitivity analysis as a Hydra app: a study from conf/sensitivity/, run into outputs/sensitivity/.

    woundsim sensitivity +sensitivity=morris_screening          # screen every uncertain input
    woundsim sensitivity +sensitivity=sobol_top                 # Sobol indices of the top ones
    woundsim sensitivity +sensitivity=sobol_top sensitivity.n=256 treatment=exosomes
    woundsim sensitivity -m +sensitivity=sobol_top treatment=exosomes,conditioned_medium

(`python -m experiments.sensitivity ...` is the same app.)
The config is `woundsim run`'s (conf/config.yaml: patient, treatment, model, grid, parallel groups give the base
case) plus the `sensitivity` node (SensitivityConf). `sensitivity=NAME` without the `+` is accepted too. A study
writes into `outputs/sensitivity/<name>` (fixed, no timestamp), evaluations into its `store/`: running the same
command again after a kill resumes where it stopped and gives the same indices. See docs/sensitivity.md.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from woundsim.app import AppHelp, run_hydra_app
from woundsim.config import CONF_DIR, WoundsimConf, parallel_from, to_objects  # noqa: F401  (CONF_DIR for tests)
from woundsim.errors import require
from woundsim.params import HORIZON_WEEKS_STANDARD_CARE, HORIZON_WEEKS_TREATED
from woundsim.sensitivity import IshigamiModel, StudyResult, StudySpec, WoundsimModel, run_study

MODELS = ("woundsim", "ishigami")
HELP = AppHelp("global sensitivity analysis (Morris screening, Sobol indices) of the simulated patient around a "
               "base case, into outputs/sensitivity/<name>/ (the same command resumes a killed study).",
               ("+sensitivity", "patient", "treatment", "model", "grid", "parallel"),
               "sensitivity.* sets the design (method, n, parameters and their ranges, outputs, arms' horizons).")


@dataclass
class IshigamiConf:
    """The Ishigami test function (see woundsim.sensitivity.models.IshigamiModel)."""

    a: float = 7.0
    b: float = 0.1
    noise_sd: float = 0.0
    eval_seconds: float = 0.0


@dataclass
class SensitivityConf(StudySpec):
    """The `sensitivity` node: a StudySpec plus what the app needs to build the model and its folder."""

    model: str = "woundsim"  # woundsim | ishigami
    horizon_weeks: dict[str, float] = field(default_factory=lambda: {"treated": HORIZON_WEEKS_TREATED,
                                                                    "soc": HORIZON_WEEKS_STANDARD_CARE})  # weeks per arm
    ishigami: IshigamiConf = field(default_factory=IshigamiConf)
    store_dir: str | None = None  # default: <output dir>/store
    figures: bool = True

    def __post_init__(self) -> None:
        """No checks here: the schema's defaults have no parameters yet; `StudySpec` checks the composed study."""


@dataclass
class SensitivityAppConf(WoundsimConf):
    """`woundsim run`'s config plus the `sensitivity` node."""

    sensitivity: SensitivityConf = field(default_factory=SensitivityConf)


def main(argv: list[str] | None = None) -> None:
    """`woundsim sensitivity [OVERRIDES]` (also `python -m experiments.sensitivity`; Hydra parses the
    overrides, including -m and --help)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    argv = ["+" + a if a.startswith("sensitivity=") else a for a in argv]
    run_hydra_app(_job, argv, prog="woundsim sensitivity", schemas={"woundsim_schema": SensitivityAppConf},
                  app_help=HELP)


def _job(cfg: DictConfig) -> dict:
    from hydra.core.hydra_config import HydraConfig

    result = run_from_config(cfg, Path(HydraConfig.get().runtime.output_dir))
    _print_summary(result)
    return {"folder": str(result.folder), "wall_time_s": result.info["wall_time_total_s"]}


def run_from_config(cfg: DictConfig, out: Path) -> StudyResult:
    """Run the configured study into `out` (the Hydra output folder)."""
    node = cfg.get("sensitivity")
    require(node is not None and len(node.parameters) > 0,
            "no sensitivity study chosen; add one, e.g. +sensitivity=morris_screening (options: conf/sensitivity/)")
    data = OmegaConf.to_container(node, resolve=True)
    spec = StudySpec(**{f.name: data[f.name] for f in dataclasses.fields(StudySpec)})
    return run_study(spec, model_from(cfg, data), out, store_dir=data["store_dir"],
                     parallel=parallel_from(cfg.get("parallel")), figures=bool(data["figures"]))


def model_from(cfg: DictConfig, data: dict) -> Any:
    """The study model: woundsim with the composed base case, or the Ishigami function."""
    require(data["model"] in MODELS, f"sensitivity.model = {data['model']!r} is unknown; allowed {', '.join(MODELS)}")
    if data["model"] == "ishigami":
        return IshigamiModel(**data["ishigami"])
    params, patient, treatment, _ = to_objects(cfg)
    return WoundsimModel(params, patient, treatment, dict(data["horizon_weeks"]))


def _print_summary(result: StudyResult) -> None:
    info = result.info
    print(f"[woundsim] {info['spec']['name']}: {info['evaluations']} evaluations, "
          f"{info['wall_time_total_s']:.0f} s -> {result.folder / 'report.md'}")
    for row in result.ranking.head(10).itertuples(index=False):
        print(f"  {row.rank:2d}. {row.parameter:45s} {row.score:.3f} (max {row.max_score:.3f}: {row.max_output})")


if __name__ == "__main__":
    main()

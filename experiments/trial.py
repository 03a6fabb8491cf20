"""Virtual phase III trial designer (issue 5) as a Hydra app; the study itself is `woundsim.trial.study`.

    woundsim trial                                   # the default design, conf/trial/default.yaml
    woundsim trial design.arm_sizes=[20,40,80] draws.n=4 pool.candidates=200
    woundsim trial draws.source=prior model=default  # prior-predictive stand-in, uncalibrated

(`python -m experiments.trial ...` is the same app.) The config (schema `woundsim.trial.study.TrialStudyConf`)
is composed from conf/trial/; the run folder is outputs/trial/<time>_<name>/. See docs/trial.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from woundsim.app import AppHelp, register_schema, run_hydra_app
from woundsim.config import CONF_DIR  # noqa: F401  (tests compose from it)
from woundsim.trial.study import TrialStudyConf, load_study, run_design_study  # noqa: F401  (re-exported)

CONFIG_NAME = "trial/default"
SCHEMAS = {"trial_schema": TrialStudyConf}
HELP = AppHelp("virtual phase III trial designer: power and assurance of arm sizes from simulated patient pools, "
               "into outputs/trial/<time>_<name>/.", ("cohort", "model", "parallel"),
               "The arms' regimens are treatment options (treatment/: "
               + ", ".join(sorted(p.stem for p in (CONF_DIR / "treatment").glob("*.yaml")))
               + "), chosen with\ntreatment@treatments.hucmscd=OPTION and treatment@treatments.placebo=OPTION; "
               "the cohort's inclusion window (cohort.*) is the trial's, set on top of the chosen cohort;\n"
               "design.*, draws.*, pool.*, runin.* and analysis.* set the study.")


def register_configs() -> None:
    """Register the study's schema ("trial_schema", the defaults of conf/trial/*.yaml)."""
    for name, node in SCHEMAS.items():
        register_schema(name, node)


def main(argv: list[str] | None = None) -> None:
    """`woundsim trial [OVERRIDES]` (Hydra parses them, including --help and --cfg job)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    run_hydra_app(_job, argv, prog="woundsim trial", config_name=CONFIG_NAME, schemas=SCHEMAS, app_help=HELP)


def _job(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    out = Path(HydraConfig.get().runtime.output_dir)
    summary = run_design_study(OmegaConf.to_container(cfg, resolve=True), out)
    print(f"[trial] report: {summary['report']}  (wall time {summary['wall_time_s'] / 60:.1f} min)")


def __getattr__(name: str):
    if name == "run_study":
        raise ImportError("experiments.trial.run_study moved to woundsim.trial.study.run_design_study")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    main()

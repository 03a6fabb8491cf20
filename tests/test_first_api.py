"""The API a newcomer meets first is the one `woundsim run` runs: horizon policy, loaders, README example."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from woundsim.cli import run_scenario
from woundsim.config import CONF_DIR, named_params, named_treatment, register_configs, to_objects
from woundsim.errors import InputError
from woundsim.model import WoundModel
from woundsim.params import ModelParams, policy_horizon_weeks, with_horizon, with_overrides
from woundsim.patient import Patient
from woundsim.posterior import apply_particle, draw_particles, load_particles
from woundsim.simulate import simulate
from woundsim.treatment import Treatment, standard_care

ROOT = Path(__file__).resolve().parents[1]
SMALL = Patient(area_cm2=0.6, texas_grade=1)


@pytest.mark.parametrize("treatment, weeks", [(Treatment(), 12.0), (standard_care(), 20.0),
                                              (Treatment(product="placebo", dose_ug_per_site=0.0), 12.0)])
def test_horizon_policy_is_applied_by_the_model_as_by_woundsim_run(treatment, weeks):
    model = WoundModel(ModelParams(), SMALL, treatment)
    assert model.params.numerics.horizon_weeks == weeks == policy_horizon_weeks(treatment.injects)
    params, *_ = to_objects({"treatment": treatment.to_dict()})
    assert params.numerics.horizon_weeks == weeks


def test_a_horizon_that_is_set_wins_over_the_policy():
    set_12 = with_overrides(ModelParams(), {"numerics.horizon_weeks": 12})
    assert with_horizon(set_12, injects=False).numerics.horizon_weeks == 12.0
    assert with_horizon(set_12, injects=False, weeks=3).numerics.horizon_weeks == 3.0
    params, *_ = to_objects({"treatment": standard_care().to_dict(), "model": {"numerics": {"horizon_weeks": 8}}})
    assert params.numerics.horizon_weeks == 8.0
    params, *_ = to_objects({"treatment": standard_care().to_dict(), "model": {"numerics": {"horizon_weeks": 8}},
                             "run": {"horizon_weeks": 5}})
    assert params.numerics.horizon_weeks == 5.0


def test_simulate_standard_care_reports_week20():
    params = with_overrides(ModelParams(), {"numerics.dx_um": 250.0})
    result = simulate(params, SMALL, standard_care(), seed=1)
    assert result.summary["horizon_days"] == 140.0 and result.params.numerics.horizon_weeks == 20.0
    assert result.summary["closed_by_week20"] in (True, False)


def readme_example() -> str:
    """The README's Python example (the python block that calls named_params)."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    found = [b for b in blocks if "named_params(" in b]
    assert len(found) == 1, "README.md should have one Python example calling named_params"
    return found[0]


def compose_run(overrides: list[str]):
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def test_readme_example_builds_what_woundsim_run_simulates():
    code = readme_example()
    inputs: dict = {}
    exec(code[:code.index("result = simulate(")], inputs)  # noqa: S102  (the README's own text)
    params, patient, treatment, run = to_objects(compose_run([]))
    # simulate() decides the horizon as woundsim run does (with_horizon), so compare after that step
    readme_params = with_horizon(inputs["params"], inputs["treatment"].injects)
    assert (readme_params, inputs["patient"], inputs["treatment"]) == (params, patient, treatment)
    assert re.search(r"simulate\(params, patient, treatment, seed=0\)", code) and run.seed == 0 and run.replicates == 1


def test_readme_example_prints_what_woundsim_run_prints(tmp_path, capsys):
    """The README block run at 200 µm gives woundsim run grid=coarse's summary and line, for the same seed."""
    code = readme_example().replace('grid="default"', 'grid="coarse"')
    exec(code, {})  # noqa: S102
    printed = capsys.readouterr().out.splitlines()
    cfg = compose_run(["grid=coarse", "run.figures=false"])
    summary = run_scenario(cfg, tmp_path, OmegaConf.to_yaml(cfg))
    cli_line = capsys.readouterr().out
    assert printed[0] in cli_line and cli_line.startswith(f"[woundsim] {printed[0]} -> ")
    assert printed[1] == str(summary_of_run(summary))
    as_json = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in summary_of_run(summary).items()}
    assert json.loads((tmp_path / "summary.json").read_text()) == pytest.approx(as_json)  # JSON has no NaN: null


def summary_of_run(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "seed"}


@pytest.mark.parametrize("grid", ["default", "coarse", "fine"])
@pytest.mark.parametrize("model", ["calibrated", "default"])
def test_one_call_loads_a_parameter_set_at_a_grid(model, grid):
    params, *_ = to_objects(compose_run([f"model={model}", f"grid={grid}", "treatment=standard_care"]))
    assert with_horizon(named_params(model, grid=grid), injects=False) == params


def test_an_unknown_option_is_one_line():
    with pytest.raises(InputError, match=r"^grid=nonesuch not found in .*conf/grid; allowed coarse, default, fine$"):
        named_params(grid="nonesuch")


def test_standard_care_has_one_definition():
    composed = to_objects(compose_run(["treatment=standard_care"]))[2]
    assert named_treatment("standard_care") == standard_care() == composed
    assert not standard_care().injects and standard_care().product_doses() == {}


def test_product_none_with_injection_settings_is_refused_in_one_line():
    with pytest.raises(InputError, match=r"^treatment\.product = 'none' is standard care alone, which injects "
                                         r"nothing, but the treatment sets \{'dose_ug_per_site': 102\.8.*"
                                         r"use treatment=standard_care"):
        to_objects(compose_run(["treatment.product=none"]))


def test_posterior_draws_keep_their_particle_identity():
    table = load_particles()
    draws = draw_particles(6, np.random.default_rng(2))
    assert "particle" in draws.columns and any(c.startswith("abc.") for c in draws.columns)
    for _, draw in draws.iterrows():
        row = table.loc[table["particle"] == draw["particle"]].iloc[0]
        assert row[draws.columns].to_dict() == draw.to_dict()


def test_a_draw_gives_no_dose_to_a_treatment_that_gives_no_product():
    draw = draw_particles(1, np.random.default_rng(0)).iloc[0]
    placebo = Treatment(product="placebo", dose_ug_per_site=0.0)
    assert apply_particle(draw, None, standard_care())[1] == standard_care()
    assert apply_particle(draw, None, placebo)[1] == placebo
    assert apply_particle(draw, None, Treatment())[1].dose_ug_per_site == draw["treatment.dose_ug_per_site"]

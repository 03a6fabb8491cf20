"""woundsim.seeds: every derivation gives the numbers the scattered formulas it replaced gave."""

import numpy as np

from woundsim import seeds

SS = np.random.SeedSequence


def test_task_and_replicate_seeds_are_the_children_words():
    children = SS(42).spawn(5)
    assert list(seeds.task_seeds(42, 5)) == [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
                                            for c in children]
    assert seeds.replicate_seeds(42, 5) == [int(c.generate_state(1)[0]) for c in children]  # uint32 words
    assert seeds.replicate_seeds(42, 1) == [42]
    assert list(seeds.task_seeds(42, 3)) == list(seeds.task_seeds(42, 5)[:3])


def test_keyed_generators_use_the_named_spawn_keys():
    def same(a, b):
        return np.array_equal(a.integers(0, 2**62, 8), b.integers(0, 2**62, 8))

    rng = lambda seed, *key: np.random.default_rng(SS(seed, spawn_key=key))  # noqa: E731
    assert same(seeds.cohort_rng(7), rng(7, 0xC0))
    assert same(seeds.patient_risk_rng(7), rng(7, 0xF007))
    assert not same(seeds.cohort_rng(7), seeds.patient_risk_rng(7))
    assert same(seeds.trial_draws_rng(7), rng(7, 0xD4A))
    assert same(seeds.effect_scenario_rng(7, (2, 750)), rng(7, 0x5C, 2, 750))
    assert same(seeds.trial_rng(7, (2, 750), 40, 3), rng(7, 2, 750, 40, 3))
    assert same(seeds.sensitivity_sample_rng(7), rng(7, 0x5A))
    assert same(seeds.predictive_draws_rng(7), np.random.default_rng(8))
    assert not same(seeds.cohort_rng(7), seeds.trial_draws_rng(7))


def test_offsets_pool_particle_and_bootstrap_seeds():
    assert seeds.predictive_check_seed(3) == 3 + 7919
    assert seeds.design_check_seeds(3) == (3 + 7919, 3 + 7920, 3 + 7921)
    assert seeds.pool_seeds(9) == tuple(int(c.generate_state(1, dtype=np.uint32)[0]) for c in SS(9).spawn(2))
    word = SS(5, spawn_key=(0xB0,)).generate_state(1)[0]
    assert seeds.sensitivity_bootstrap_seed(5) == int(word % (2**31 - 2)) + 1
    a = seeds.particle_seeds(1, {"x": 1.0, "y": 2.0})
    assert a == seeds.particle_seeds(1, {"y": 2.0, "x": 1.0}) != seeds.particle_seeds(1, {"x": 1.0, "y": 2.5})
    assert a == (2256968773661879726, 1270063220638062556)  # calibration.model.particle_seeds before the move

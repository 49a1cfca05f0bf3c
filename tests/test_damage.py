"""Weight ablation mid-episode and failed actuators, on the real Ant."""

import dataclasses

import numpy as np
import pytest
import torch

from metaheb.config import TaskConfig, load_config
from metaheb.damage import ablate_
from metaheb.errors import UserError
from metaheb.networks import PolicyNetwork
from metaheb.rollout import rollout_batch
from metaheb.tasks import make_task

SIZES = (28, 16, 8)


def test_ablation_zeroes_the_fraction_in_the_chosen_layers_per_agent_seed():
    network = PolicyNetwork((27, 128, 64, 8))
    weights = network.random_weights([1, 2])
    config = TaskConfig(ablation_fraction=0.5, ablation_layers=[1])
    ablate_(weights, [1, 2], config, 3)
    assert (weights[0] != 0).all() and (weights[2] != 0).all()
    zeroed = (weights[1] == 0).float().mean(dim=(1, 2))
    assert torch.allclose(zeroed, torch.tensor([0.5, 0.5]), atol=0.03)
    alone = network.random_weights([2])
    ablate_(alone, [2], config, 3)
    assert torch.equal(alone[1][0], weights[1][1])  # the same cut, whatever the batch


def episode(model: str, **damage):
    config = TaskConfig(max_steps=120, burn_in=5, **damage)
    network = PolicyNetwork(SIZES, model=model)
    genomes = torch.randn(2, network.genome_layout.size, generator=torch.Generator().manual_seed(3))
    task = make_task(config)
    return rollout_batch(task, network, genomes, [8, 9]), task


def test_full_ablation_silences_a_static_network_but_the_rule_keeps_running():
    # Static: with every weight zeroed at step 60 the outputs are 0 from then on.
    _, task = episode("static", ablation_fraction=1.0, ablation_step=60)
    assert np.allclose([env.data.ctrl for env in task.envs(2, "intact")], 0.0)
    # Hebbian: the same cut, then the rule grows new weights: the final actions are not all 0.
    plastic, task = episode("hebbian", ablation_fraction=1.0, ablation_step=60)
    assert not np.allclose([env.data.ctrl for env in task.envs(2, "intact")], 0.0)
    intact, _ = episode("hebbian")
    assert not np.array_equal(plastic.fitness, intact.fitness)


def test_failed_actuators_get_no_control():
    _, task = episode("hebbian", failed_actuators=[0, 5])
    for env in task.envs(2, "intact"):
        assert env.data.ctrl[0] == 0.0 and env.data.ctrl[5] == 0.0
        assert np.abs(env.data.ctrl).sum() > 0


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("task.ablation_fraction=1.5", "'task.ablation_fraction' must be less than or equal to 1"),
        ("task.failed_actuators=[8]", "must be less than or equal to 7"),
    ],
)
def test_bad_damage_settings_are_clear_errors(override, message):
    with pytest.raises(UserError, match=message):
        load_config(None, [override])


def test_default_task_has_no_damage():
    config = TaskConfig()
    assert config.ablation_fraction == 0 and config.failed_actuators == []
    assert dataclasses.asdict(config)["ablation_layers"] == []


def test_weight_traces_show_the_ablation():
    config = TaskConfig(max_steps=60, burn_in=5, ablation_fraction=0.5, ablation_step=40)
    network = PolicyNetwork(SIZES)
    generator = torch.Generator().manual_seed(3)
    genomes = 0.01 * torch.randn(2, network.genome_layout.size, generator=generator)
    result = rollout_batch(make_task(config), network, genomes, [8, 9], trace_every=1)
    at = {trace.step: trace for trace in result.traces}
    assert sorted(at) == list(range(60))  # gentle rules: nobody falls, every step traced
    assert at[0].mean_abs.shape == (2, 2)  # (layers, agents)
    assert np.all(at[0].max_abs <= 0.1)  # U(-0.1, 0.1) at the start
    # Traces are taken before a step's cut: half the weights are gone one step later.
    assert np.all(at[41].mean_abs < 0.6 * at[40].mean_abs)
    assert np.all(at[39].mean_abs > 0.9 * at[40].mean_abs)


@pytest.mark.parametrize("ablation", [0.0, 0.5])
def test_a_seeded_evaluation_on_every_morphology_is_reproducible_to_the_bit(ablation):
    from metaheb.rollout import evaluate_batch
    from metaheb.tasks.morphologies import available_morphologies

    config = TaskConfig(
        max_steps=120,
        burn_in=5,
        morphologies=available_morphologies(),
        ablation_fraction=ablation,
        ablation_step=60,
        episodes=2,
    )
    network = PolicyNetwork(SIZES)
    genomes = torch.randn(3, network.genome_layout.size, generator=torch.Generator().manual_seed(5))
    first = evaluate_batch(make_task(config), network, genomes, [1, 2, 3])
    again = evaluate_batch(make_task(config), network, genomes, [1, 2, 3])
    assert first.by_morphology.shape == (3, len(config.morphologies))
    assert np.array_equal(first.by_morphology, again.by_morphology)
    assert np.array_equal(first.fitness, again.fitness)
    one_episode = evaluate_batch(
        make_task(dataclasses.replace(config, episodes=1)), network, genomes, [1, 2, 3]
    )
    assert not np.array_equal(first.fitness, one_episode.fitness)  # the second episode counts

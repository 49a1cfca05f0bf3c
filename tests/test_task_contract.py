"""The task contract (tasks/base.py): every task's facts, and per-step rewards that add up."""

import numpy as np
import pytest
import torch

from metaheb.config import NetworkConfig, TaskConfig
from metaheb.networks import OUTPUT_ACTIVATIONS, PolicyNetwork
from metaheb.rollout import rollout_batch
from metaheb.tasks import TASKS, make_task

# a name per task
EXAMPLES = {
    "ant": "ant",
    "ant_bullet": "ant_bullet",
    "carracing": "carracing",
    "gym": "gym:Hopper-v5",
}


def test_every_task_family_has_an_example():
    assert set(EXAMPLES) == set(TASKS)


@pytest.mark.parametrize("family", list(TASKS))
def test_every_task_states_its_facts(family):
    kind = TASKS[family]  # what a report or a network asks before any environment exists
    assert kind.output_activation in OUTPUT_ACTIVATIONS
    assert kind.output_rule_input in ("squashed", "linear")
    assert isinstance(kind.bodies, bool)
    assert kind.encoder in ("none", "carracing_conv")
    task = make_task(TaskConfig(name=EXAMPLES[family]))
    assert task.fps > 0 and task.obs_dim > 0 and task.act_dim > 0
    assert task.unit and (task.per_metre > 0 or (task.unit != "m" and np.isnan(task.per_metre)))
    for method in ("envs", "reset", "step", "score", "frames"):
        assert callable(getattr(task, method))


def rewards_and_fitness(config: TaskConfig, seeds: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Run a batch through the rollout, summing each agent's per-step reward as it goes."""
    task = make_task(config)
    encoder = "carracing_conv" if config.name == "carracing" else "none"
    network = PolicyNetwork.of_task(NetworkConfig(hidden=[8], encoder=encoder), task)
    genomes = torch.randn(
        len(seeds), network.genome_layout.size, generator=torch.Generator().manual_seed(1)
    )
    summed = np.zeros(len(seeds))

    def add(step, active, envs, score):
        summed[active] += score.reward[active]
        assert np.allclose(score.fitness[active], summed[active]) or step < config.burn_in

    result = rollout_batch(task, network, genomes * 0.1, seeds, on_step=add)
    return summed, result.fitness


@pytest.mark.parametrize("score_from", ["policy", "reset"])
def test_the_ant_s_step_rewards_add_up_to_its_fitness(score_from):
    summed, fitness = rewards_and_fitness(
        TaskConfig(max_steps=120, burn_in=20, score_from=score_from), [3, 4, 5]
    )
    assert np.allclose(summed, fitness) and np.all(fitness != 0)


def test_the_bullet_ant_s_step_rewards_add_up_to_its_fitness():
    config = TaskConfig(name="ant_bullet", max_steps=120, burn_in=20)
    summed, fitness = rewards_and_fitness(config, [3, 4, 5])
    assert np.allclose(summed, fitness) and np.all(fitness != 0)


def test_carracing_s_step_rewards_add_up_to_its_return():
    summed, fitness = rewards_and_fitness(TaskConfig(name="carracing", max_steps=40), [7, 8])
    assert np.allclose(summed, fitness) and np.all(fitness != 0)


@pytest.mark.parametrize("fitness", ["distance", "return"])
def test_a_gym_body_s_step_rewards_add_up_to_its_fitness(fitness):
    config = TaskConfig(name="gym:HalfCheetah-v5", fitness=fitness, max_steps=80)
    summed, result = rewards_and_fitness(config, [1, 2])
    assert np.allclose(summed, result) and np.all(result != 0)

"""The task contract (tasks/base.py): every task's facts, and per-step rewards that add up."""

import numpy as np
import pytest
import torch

from metaheb.config import NetworkConfig, TaskConfig
from metaheb.networks import OUTPUT_ACTIVATIONS, PolicyNetwork
from metaheb.rollout import rollout_batch
from metaheb.tasks import TASKS, make_task


@pytest.mark.parametrize("name", list(TASKS))
def test_every_task_states_its_facts_without_building_an_environment(name):
    task = TASKS[name]
    assert task.output_activation in OUTPUT_ACTIVATIONS
    assert task.output_rule_input in ("squashed", "linear")
    assert task.fps > 0 and isinstance(task.bodies, bool)
    for method in ("envs", "reset", "step", "score"):
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


def test_carracing_s_step_rewards_add_up_to_its_return():
    summed, fitness = rewards_and_fitness(TaskConfig(name="carracing", max_steps=40), [7, 8])
    assert np.allclose(summed, fitness) and np.all(fitness != 0)

"""The batched rollout against one plain episode written from the paper's protocol."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from metaheb.config import TaskConfig
from metaheb.networks import PolicyNetwork
from metaheb.rollout import rollout_batch
from metaheb.tasks import make_task
from metaheb.tasks.ant import ForwardProgress

SIZES = (27, 16, 8, 8)


def reference_episode(genome: np.ndarray, seed: int, config: TaskConfig) -> tuple[float, int]:
    """One agent, gymnasium's wrapped Ant-v5, numpy float64: forward, step, stop check, update."""
    env = gym.make("Ant-v5", include_cfrc_ext_in_observation=False, healthy_z_range=(0.2, 10.0))
    network = PolicyNetwork(SIZES)
    weights = [w[0].double().numpy() for w in network.random_weights([seed])]
    coefficients = [
        c[0].double().numpy()
        for c in network.genome_layout.decode(torch.from_numpy(genome)[None])["rule"]
    ]
    obs, _ = env.reset(seed=seed)
    start = last = env.unwrapped.data.qpos[0]
    negative_run = 0
    for step in range(config.max_steps):
        if step < config.burn_in:
            action = np.zeros(8)
        else:
            activations = [obs]
            for w in weights:
                activations.append(np.tanh(w @ activations[-1]))
            action = activations[-1]
        obs, _, fell, _, _ = env.step(action)
        x = env.unwrapped.data.qpos[0]
        negative_run = negative_run + 1 if x - last < 0 else 0
        last = x
        stalled = step >= config.early_stop_after and negative_run > config.early_stop_patience
        if fell or stalled or step + 1 == config.max_steps:
            return last - start, step + 1
        if step >= config.burn_in:
            for w, (a, b, c, d, eta), pre, post in zip(
                weights, coefficients, activations[:-1], activations[1:]
            ):
                w += eta * (a * np.outer(post, pre) + b * pre[None, :] + c * post[:, None] + d)
    raise AssertionError("unreachable")


def test_batched_rollout_matches_a_plain_episode():
    # Small coefficients keep the float32 batch and the float64 reference within rounding of each
    # other; large ones make contact dynamics amplify the rounding into different trajectories.
    config = TaskConfig(max_steps=120, burn_in=10)
    task = make_task(config)
    network = PolicyNetwork(SIZES)
    generator = torch.Generator().manual_seed(4)
    genomes = 0.01 * torch.randn(3, network.genome_layout.size, generator=generator)
    seeds = [11, 12, 13]
    batch = rollout_batch(task, network, genomes, seeds)
    frozen = rollout_batch(task, network, torch.zeros_like(genomes), seeds)
    for k, seed in enumerate(seeds):
        fitness, steps = reference_episode(genomes[k].numpy(), seed, config)
        assert batch.steps[k] == steps
        assert batch.fitness[k] == pytest.approx(fitness, abs=1e-5)
        assert abs(batch.fitness[k] - frozen.fitness[k]) > 1e-2  # the rule did change the gait


def test_an_agent_scores_the_same_alone_or_in_any_batch():
    task = make_task(TaskConfig(max_steps=150, burn_in=5))
    network = PolicyNetwork(SIZES)
    genomes = torch.randn(5, network.genome_layout.size, generator=torch.Generator().manual_seed(0))
    seeds = [3, 1, 4, 1, 5]
    together = rollout_batch(task, network, genomes, seeds)
    for k in range(5):
        alone = rollout_batch(task, network, genomes[k : k + 1], seeds[k : k + 1])
        assert alone.fitness[0] == together.fitness[k]
        assert alone.steps[0] == together.steps[k]


def test_weights_are_fresh_each_episode_and_drawn_from_the_seed():
    network = PolicyNetwork((27, 128, 64, 8))
    first, again, other = (network.random_weights(s) for s in ([7, 8], [7, 8], [9, 8]))
    for a, b, c in zip(first, again, other):
        assert torch.equal(a, b)
        assert not torch.equal(a[0], c[0]) and torch.equal(a[1], c[1])
        assert a.abs().max() <= 0.1


def test_plasticity_changes_behaviour_and_no_plasticity_keeps_random_weights():
    task = make_task(TaskConfig(max_steps=100, burn_in=5))
    network = PolicyNetwork(SIZES)
    frozen = torch.zeros(2, network.genome_layout.size)  # eta = 0: weights stay as drawn
    plastic = torch.randn(2, network.genome_layout.size, generator=torch.Generator().manual_seed(1))
    assert not np.array_equal(
        rollout_batch(task, network, frozen, [1, 2]).fitness,
        rollout_batch(task, network, plastic, [1, 2]).fitness,
    )


def test_early_stop_after_a_run_of_negative_progress_and_not_before_the_window():
    config = TaskConfig(max_steps=1000, early_stop_after=200, early_stop_patience=30)
    score = ForwardProgress(np.zeros(2), config)
    agents = np.array([0, 1])
    x = np.zeros(2)
    for step in range(240):
        x = x - np.array([0.01, 0.0])  # agent 0 walks backwards, agent 1 stands still
        done = score.update(step, agents, x, np.zeros(2, dtype=bool))
        if step < 200:
            assert not done.any(), step
        if done[0]:
            break
    assert step == 200 and not done[1]
    assert score.fitness[0] == pytest.approx(-0.01 * 201)
    assert score.steps[0] == 201


def test_burn_in_applies_no_action():
    task = make_task(TaskConfig(max_steps=40, burn_in=40))
    network = PolicyNetwork(SIZES)
    genomes = torch.randn(2, network.genome_layout.size)  # never used: the policy never acts
    result = rollout_batch(task, network, genomes, [5, 5])
    env = gym.make("Ant-v5", include_cfrc_ext_in_observation=False).unwrapped
    env.reset(seed=5)
    start = env.data.qpos[0]
    for _ in range(40):
        env.step(np.zeros(8))
    assert result.fitness[0] == result.fitness[1] == pytest.approx(env.data.qpos[0] - start)

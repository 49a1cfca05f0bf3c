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
from metaheb.tasks.ant_observation import AntObservation

SIZES = {"bullet": (28, 16, 8, 8), "raw": (27, 16, 8, 8)}


def reference_episode(genome: np.ndarray, seed: int, config: TaskConfig) -> tuple[float, int]:
    """One agent, gymnasium's Ant-v5, numpy float64, the authors' loop (fitness_functions.py).

    Burn-in steps of zero action first; then per policy step t: forward, env step, the progress
    summed, and only once t > early_stop_after the negative run counted and a fall or a stall
    checked; then the Hebbian update (none on the final step).
    """
    env = gym.make("Ant-v5", include_cfrc_ext_in_observation=False, terminate_when_unhealthy=False)
    env = env.unwrapped
    observe = AntObservation(config.observation, env.model)
    network = PolicyNetwork(SIZES[config.observation])
    weights = [w[0].double().numpy() for w in network.random_weights([seed])]
    coefficients = [
        c[0].double().numpy()
        for c in network.genome_layout.decode(torch.from_numpy(genome)[None])["rule"]
    ]
    env.reset(seed=seed)
    z0 = np.array([env.data.qpos[2]])
    for _ in range(config.burn_in):
        env.step(np.zeros(8))
    obs = observe([env.data], z0)[0]
    start = last = env.data.qpos[0]
    negative_run = 0
    for t in range(config.max_steps - config.burn_in):
        activations = [obs]
        for w in weights:
            activations.append(np.tanh(w @ activations[-1]))
        env.step(activations[-1])
        obs = observe([env.data], z0)[0]
        x = env.data.qpos[0]
        progress, last = x - last, x
        if t > config.early_stop_after:
            negative_run = negative_run + 1 if progress < 0 else 0
            fell = env.data.qpos[2] < config.fall_height
            if fell or negative_run > config.early_stop_patience:
                return last - start, config.burn_in + t + 1
        if config.burn_in + t + 1 == config.max_steps:
            return last - start, config.max_steps
        for w, (a, b, c, d, eta), pre, post in zip(
            weights, coefficients, activations[:-1], activations[1:]
        ):
            w += eta * (a * np.outer(post, pre) + b * pre[None, :] + c * post[:, None] + d)
    raise AssertionError("unreachable")


@pytest.mark.parametrize("observation", ["bullet", "raw"])
def test_batched_rollout_matches_a_plain_episode(observation):
    # Small coefficients keep the float32 batch and the float64 reference within rounding of each
    # other; large ones make contact dynamics amplify the rounding into different trajectories.
    # A short early-stop window puts the stop and fall checks inside the episode.
    config = TaskConfig(max_steps=160, burn_in=10, early_stop_after=20, observation=observation)
    task = make_task(config)
    network = PolicyNetwork(SIZES[observation])
    generator = torch.Generator().manual_seed(4)
    genomes = 0.01 * torch.randn(3, network.genome_layout.size, generator=generator)
    seeds = [11, 12, 13]
    batch = rollout_batch(task, network, genomes, seeds)
    frozen = rollout_batch(task, network, torch.zeros_like(genomes), seeds)
    for k, seed in enumerate(seeds):
        fitness, steps = reference_episode(genomes[k].numpy(), seed, config)
        assert batch.steps[k] == steps
        assert batch.fitness[k] == pytest.approx(fitness, abs=1e-5)
        assert abs(batch.fitness[k] - frozen.fitness[k]) > 1e-3  # the rule did change the gait


def test_an_agent_scores_the_same_alone_or_in_any_batch():
    task = make_task(TaskConfig(max_steps=150, burn_in=5))
    network = PolicyNetwork(SIZES["bullet"])
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
    network = PolicyNetwork(SIZES["bullet"])
    frozen = torch.zeros(2, network.genome_layout.size)  # eta = 0: weights stay as drawn
    plastic = torch.randn(2, network.genome_layout.size, generator=torch.Generator().manual_seed(1))
    assert not np.array_equal(
        rollout_batch(task, network, frozen, [1, 2]).fitness,
        rollout_batch(task, network, plastic, [1, 2]).fitness,
    )


def walk_backwards(config: TaskConfig, fell_at: int = -1) -> tuple[ForwardProgress, int]:
    """Agent 0 walks backwards 0.01 per step, agent 1 stands still; return the score and the step
    at which agent 0's episode ended. Agent 0 is below the fall height from ``fell_at`` on."""
    score = ForwardProgress(np.zeros(2), config)
    agents, x = np.array([0, 1]), np.zeros(2)
    for step in range(config.max_steps):
        x = x - np.array([0.01, 0.0])
        fell = np.array([0 <= fell_at <= step, False])
        done = score.update(step, agents, x, fell, np.zeros(2, dtype=bool))
        assert not done[1]
        if done[0]:
            return score, step
    raise AssertionError("agent 0 never stopped")


def test_the_authors_early_stop_counts_only_past_policy_step_200():
    # Their loop: t is the policy step (burn-in excluded); once t > 200 a step of negative
    # progress adds to the run, and more than 30 in a row ends the episode.
    config = TaskConfig(max_steps=1000, burn_in=40, early_stop_after=200, early_stop_patience=30)
    score, stopped = walk_backwards(config)
    assert stopped == 40 + 231  # t = 201 .. 231: a run of 31
    # The fitness sums the progress of policy steps only: the burn-in's drift is not in it.
    assert score.fitness[0] == pytest.approx(-0.01 * (stopped + 1 - 40))
    assert score.steps[0] == stopped + 1


def test_the_earlier_rule_counts_from_the_first_step_and_scores_from_reset():
    config = TaskConfig(
        max_steps=1000,
        burn_in=40,
        early_stop_after=200,
        early_stop_patience=30,
        early_stop_count="always",
        score_from="reset",
    )
    score, stopped = walk_backwards(config)
    assert stopped == 200
    assert score.fitness[0] == pytest.approx(-0.01 * 201)


def test_a_fall_ends_the_episode_inside_the_window_only_unless_checked_always():
    config = TaskConfig(max_steps=1000, burn_in=40, early_stop_after=200, early_stop_patience=500)
    assert walk_backwards(config, fell_at=100)[1] == 40 + 201  # the first step of the window
    always = TaskConfig(**{**vars(config), "fall_check": "always"})
    assert walk_backwards(always, fell_at=100)[1] == 100


def test_fitness_from_the_end_of_burn_in_leaves_out_the_settling():
    shared = dict(max_steps=60, burn_in=40)
    network = PolicyNetwork(SIZES["bullet"])
    genomes = torch.zeros(1, network.genome_layout.size)
    runs = {
        origin: rollout_batch(
            make_task(TaskConfig(score_from=origin, **shared)), network, genomes, [5]
        )
        for origin in ("policy", "reset")
    }
    env = gym.make("Ant-v5", include_cfrc_ext_in_observation=False).unwrapped
    env.reset(seed=5)
    start = env.data.qpos[0]
    for _ in range(40):
        env.step(np.zeros(8))
    settled = env.data.qpos[0] - start
    assert runs["reset"].fitness[0] - runs["policy"].fitness[0] == pytest.approx(settled)


def test_burn_in_applies_no_action():
    task = make_task(TaskConfig(max_steps=40, burn_in=40, score_from="reset"))
    network = PolicyNetwork(SIZES["bullet"])
    genomes = torch.randn(2, network.genome_layout.size)  # never used: the policy never acts
    result = rollout_batch(task, network, genomes, [5, 5])
    env = gym.make("Ant-v5", include_cfrc_ext_in_observation=False).unwrapped
    env.reset(seed=5)
    start = env.data.qpos[0]
    for _ in range(40):
        env.step(np.zeros(8))
    assert result.fitness[0] == result.fitness[1] == pytest.approx(env.data.qpos[0] - start)

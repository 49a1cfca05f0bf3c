"""The peers for scripts/bench_learning.py: EvoTorch's own neuroevolution of a static Ant policy.

What a user would otherwise pick (EvoTorch, Toklu et al. 2023): ``GymNE`` on gymnasium's Ant-v5
with its default observation (105 values), ``observation_normalization=True``, and one of two
policies (``PEERS``): ``pgpe-linear``, the linear policy of EvoTorch's MuJoCo examples (the peer's
strongest documented configuration), or ``pgpe``, an obs-128-64-8 tanh network. Both are trained
by PGPE (Sehnke et al. 2010) with the ClipUp optimiser (Toklu et al. 2020)
at the settings EvoTorch documents for MuJoCo locomotion (centre lr 0.01125, stdev lr 0.1, max
speed 0.015, radius 0.27), at metaheb's population (64) and training episode length (300).
Fitness is the forward distance (the x displacement, metaheb's Ant fitness) in place of Ant-v5's
reward. EvoTorch steps one agent at a time in each Ray actor. Every ``EVAL_EVERY`` generations
its search centre, with the normalisation statistics gathered so far, walks the same 10 held-out
1000-step episodes as metaheb's runs (``metaheb.evolve.heldout.heldout_seeds``); those steps are
not counted in the budget. A run is not resumable: it writes ``curve.json`` when it ends, and a
benchmark run again reads that file instead of training.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import gymnasium
import numpy as np
import torch

from metaheb.config import load_config
from metaheb.evolve.heldout import heldout_seeds
from metaheb.runs import atomic_write_bytes

# Population, episode length and held-out protocol are the Hebbian preset's, read from it.
PRESET = load_config(str(Path(__file__).resolve().parent.parent / "envs" / "ant.toml"), [])
POPSIZE = PRESET.evolve.popsize
EPISODE = PRESET.task.max_steps
EVAL_EVERY = PRESET.evolve.eval_every
EVAL_EPISODES = PRESET.evolve.eval_episodes
EVAL_STEPS = PRESET.evolve.eval_max_steps
PEERS = {  # arm -> GymNE network
    "pgpe-linear": "Linear(obs_length, act_length)",
    "pgpe": (
        "Linear(obs_length, 128) >> Tanh() >> Linear(128, 64) >> Tanh()"
        " >> Linear(64, act_length) >> Tanh()"
    ),
}


class ForwardDistance(gymnasium.Wrapper):
    """Ant-v5 rewarded by its x displacement per step, so a return is the forward distance."""

    def step(self, action):
        observation, _, terminated, truncated, info = self.env.step(action)
        return observation, info["x_velocity"] * self.env.unwrapped.dt, terminated, truncated, info


def make_ant(**kwargs) -> gymnasium.Env:
    return ForwardDistance(gymnasium.make("Ant-v5", **kwargs))


def heldout_distance(policy: torch.nn.Module) -> tuple[float, float]:
    """Mean and std of the policy's forward distance over the held-out 1000-step episodes."""
    env = make_ant(max_episode_steps=EVAL_STEPS)
    distances = []
    for seed in heldout_seeds(EVAL_EPISODES):
        observation, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            with torch.no_grad():
                action = policy(torch.as_tensor(observation, dtype=torch.float32)).numpy()
            observation, reward, terminated, truncated, _ = env.step(action)
            total, done = total + reward, terminated or truncated
        distances.append(total)
    env.close()
    return float(np.mean(distances)), float(np.std(distances))


def train_peer(arm: str, seed: int, budget: int, out: Path, workers: int) -> dict:
    """PGPE on GymNE with the ``arm``'s network until ``budget`` env steps; the centre's curve."""
    done = out / "curve.json"
    if done.exists():
        return json.loads(done.read_text())
    from evotorch.algorithms import PGPE
    from evotorch.neuroevolution import GymNE

    print(f"# {arm} seed {seed}: EvoTorch GymNE on Ant-v5, {budget:,} env steps", flush=True)
    torch.manual_seed(seed)
    np.random.seed(seed)
    problem = GymNE(
        env=make_ant,
        network=PEERS[arm],
        observation_normalization=True,
        episode_length=EPISODE,
        num_actors=workers,
    )
    searcher = PGPE(
        problem,
        popsize=POPSIZE,
        center_learning_rate=0.01125,
        stdev_learning_rate=0.1,
        optimizer="clipup",
        optimizer_config={"max_speed": 0.015},
        radius_init=0.27,
    )

    def centre_point() -> list[float]:
        policy = problem.to_policy(searcher.status["center"])
        return [problem.interaction_count, *heldout_distance(policy)]

    curve, generation, seconds = [centre_point()], 0, 0.0
    while problem.interaction_count < budget:
        started = time.perf_counter()
        searcher.step()
        seconds += time.perf_counter() - started
        generation += 1
        if generation % EVAL_EVERY == 0 or problem.interaction_count >= budget:
            curve.append(centre_point())
            steps, metres = curve[-1][:2]
            print(f"#   {arm} gen {generation}: {steps:,} steps, {metres:.2f} m", flush=True)
    result = {"curve": curve, "env_steps": problem.interaction_count, "train_seconds": seconds}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(done, json.dumps(result).encode())
    problem.kill_actors()
    return result

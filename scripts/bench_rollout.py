"""Benchmark the Ant rollout on one core: gymnasium's step, metaheb's step, the physics limit.

All in one run, env-steps/s on one core:
- gymnasium: ``AntEnv.step`` with random actions, one env (the usual loop);
- metaheb step: ``AntTask.step`` over a batch of agents, random actions (physics stepped directly);
- physics: bare ``mj_step`` with Ant-v5's frame skip, the same batch (the limit);
- rollout: metaheb's whole episode loop (Hebbian network forward + rule update + physics) over
  the batch, coefficients near zero so that no agent stops early.
Prints the ratios; ``--json PATH`` writes them.

    python scripts/bench_rollout.py [--agents 64] [--steps 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np
import torch

from metaheb.config import TaskConfig
from metaheb.networks import PolicyNetwork
from metaheb.rollout import rollout_batch
from metaheb.runs import atomic_write_bytes
from metaheb.tasks import make_task


def rate(function, steps: int) -> float:
    started = time.perf_counter()
    function()
    return steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=64)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (args.steps, args.agents, 8))
    task = make_task(TaskConfig(max_steps=args.steps, burn_in=0))
    envs = task.envs(args.agents, "intact")

    reference = gym.make("Ant-v5", include_cfrc_ext_in_observation=False)
    reference.reset(seed=0)

    def gymnasium_loop() -> None:
        for t in range(args.steps):
            for k in range(args.agents // 8):  # fewer agents: the same per-step cost, sooner
                reference.step(actions[t, k])

    def metaheb_step() -> None:
        task.reset(envs, list(range(args.agents)))
        for t in range(args.steps):
            task.step(envs, actions[t])

    def physics() -> None:
        task.reset(envs, list(range(args.agents)))
        for t in range(args.steps):
            for env, action in zip(envs, actions[t]):
                env.data.ctrl[:] = action
                mujoco.mj_step(env.model, env.data, nstep=env.frame_skip)

    network = PolicyNetwork((27, 128, 64, 8))
    genomes = 0.01 * torch.randn(args.agents, network.genome_layout.size)

    def rollout() -> None:
        rollout_batch(task, network, genomes, list(range(args.agents)))

    metaheb_step()  # warm up
    figures = {
        "gymnasium_steps_per_s": rate(gymnasium_loop, args.steps * (args.agents // 8)),
        "metaheb_step_steps_per_s": rate(metaheb_step, args.steps * args.agents),
        "physics_steps_per_s": rate(physics, args.steps * args.agents),
        "rollout_steps_per_s": rate(rollout, args.steps * args.agents),
    }
    physics_rate = figures["physics_steps_per_s"]
    figures["metaheb_step_over_gymnasium"] = (
        figures["metaheb_step_steps_per_s"] / figures["gymnasium_steps_per_s"]
    )
    figures["metaheb_step_over_physics"] = figures["metaheb_step_steps_per_s"] / physics_rate
    figures["rollout_over_physics"] = figures["rollout_steps_per_s"] / physics_rate
    print(f"Ant-v5, one core, batch of {args.agents}, {args.steps} steps; env-steps/s:")
    for key in ("gymnasium", "metaheb_step", "physics", "rollout"):
        print(f"  {key:<14}{figures[key + '_steps_per_s']:>10,.0f}")
    print(
        f"metaheb step / gymnasium step {figures['metaheb_step_over_gymnasium']:.2f}x; "
        f"metaheb step / physics {figures['metaheb_step_over_physics']:.2f}; "
        f"whole rollout (network + rule + physics) / physics {figures['rollout_over_physics']:.2f}"
    )
    if args.json:
        atomic_write_bytes(Path(args.json), json.dumps(figures, indent=2).encode())


if __name__ == "__main__":
    main()

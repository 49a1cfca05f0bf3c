"""How far unevolved networks walk in each simulator's Ant, and where the torso rests unpowered.

For ``ant`` (MuJoCo) and ``ant_bullet`` (pybullet): 16 random static networks (weights
N(0, std^2), std 0.1 and 1), one 1000-step episode each on the same seeds, their mean and best
distance in metres (pybullet's a.u. / 57.9) and mean episode length; then the torso's height
after 300 steps of zero torque. What selection can see before anything is evolved
(docs/tuning.md, "pybullet's Ant").

    python scripts/probe_random_policies.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from metaheb.config import load_config
from metaheb.networks import PolicyNetwork
from metaheb.rollout import evaluate_batch
from metaheb.runs import atomic_write_bytes
from metaheb.tasks import TASKS, make_task

AGENTS = 16


def random_walks(task_name: str, std: float) -> dict:
    config = load_config(None, [f"task.name={task_name}", "network.model=static"])
    config.task.max_steps = 1000
    task = make_task(config.task)
    network = PolicyNetwork.of_task(config.network, task)
    generator = torch.Generator().manual_seed(0)
    genomes = torch.randn(AGENTS, network.genome_layout.size, generator=generator) * std
    result = evaluate_batch(task, network, genomes, list(range(AGENTS)))
    metres = result.fitness / TASKS[task_name].per_metre
    return {"mean_m": float(metres.mean()), "best_m": float(metres.max()),
            "steps": float(result.steps.mean())}  # fmt: skip


def resting_height(task_name: str) -> float:
    """The torso's height after 300 steps of zero torque from the first seed's reset."""
    config = load_config(None, [f"task.name={task_name}"])
    task = make_task(config.task)
    envs = task.envs(1, "intact")
    task.reset(envs, [0])
    for _ in range(300):
        task.step(envs, np.zeros((1, 8)))
    if task_name == "ant_bullet":
        return float(envs[0].torso()[0][2])
    return float(envs[0].unwrapped.data.qpos[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    figures = {}
    for name in ("ant", "ant_bullet"):
        walks = {str(std): random_walks(name, std) for std in (0.1, 1.0)}
        figures[name] = {"random_networks": walks, "resting_torso_z": resting_height(name)}
        for std, w in walks.items():
            print(f"{name:>10} std {std}: mean {w['mean_m']:6.2f} m, best {w['best_m']:5.2f} m, "
                  f"{w['steps']:6.1f} steps")  # fmt: skip
        print(f"{name:>10} torso at rest: {figures[name]['resting_torso_z']:.3f} m")
    if args.json:
        atomic_write_bytes(Path(args.json), json.dumps(figures, indent=1).encode())


if __name__ == "__main__":
    main()

"""Benchmark the Ant rollout's env paths against each other, in paired rounds.

On one core, the same batch of agents (the walkers presets' network, fused update) runs the same
episodes three ways, which give the same bits:
- ``python``: the Python loop over envs (ctrl, ``mujoco.mj_step``, numpy's stacking), each env on
  its own copy of the body's ``mjModel`` (the path before ``metaheb.tasks.mujoco_batch``);
- ``built``: the batch stepped and gathered by the built loop, each env on its own model copy;
- ``shared``: the built loop with one ``mjModel`` per body (what ``AntTask`` does).
Each round runs the three back to back, in alternating order, and each ratio is read per round
(its rollout over the ``python`` one just beside it): this machine's speed drifts by tens of
percent within a minute, and a pair of runs seconds apart shares most of the drift. Prints the
median and quartiles of the per-round ratios. ``--json PATH`` writes the same figures.

    python scripts/bench_ant_paths.py [--agents 64] [--steps 150] [--rounds 12] [--json out.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from pathlib import Path

import torch

from metaheb.config import TaskConfig
from metaheb.networks import PolicyNetwork
from metaheb.rollout import rollout_batch
from metaheb.runs import atomic_write_bytes
from metaheb.tasks import make_task
from metaheb.tasks.mujoco_batch import Simulation

PATHS = ("python", "built", "shared")


def ant_task(path: str, agents: int, steps: int):
    """An Ant task whose ``agents`` envs step by ``path`` (see the module docstring)."""
    task = make_task(TaskConfig(max_steps=steps, burn_in=0))
    envs = task.envs(agents, "intact")
    if path != "shared":
        for env in envs:  # a model of its own per env, as before the models were shared
            own = copy.deepcopy(env.model)
            task._handles[id(env)] = Simulation.of(own, env.data, env.frame_skip)
    if path == "python":
        task.built_loop = False
    return task


def rollout_rate(task, network: PolicyNetwork, genomes: torch.Tensor) -> float:
    started = time.perf_counter()
    result = rollout_batch(task, network, genomes, list(range(len(genomes))))
    return float(result.steps.sum()) / (time.perf_counter() - started)


def paired_rounds(args: argparse.Namespace) -> dict[str, list[float]]:
    tasks = {path: ant_task(path, args.agents, args.steps) for path in PATHS}
    network = PolicyNetwork((28, 128, 64, 8), normalise="max_abs", fused=True)
    genomes = 0.01 * torch.randn(args.agents, network.genome_layout.size)
    for task in tasks.values():
        rollout_batch(task, network, genomes[:2], [0, 1])  # warm up
    rates: dict[str, list[float]] = {path: [] for path in PATHS}
    for round_ in range(args.rounds):
        for path in PATHS if round_ % 2 == 0 else PATHS[::-1]:
            rates[path].append(rollout_rate(tasks[path], network, genomes))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=64)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rates = paired_rounds(args)
    episodes = f"{args.steps}-step episodes, {args.rounds} rounds"
    print(f"Ant-v5, one core, batch {args.agents}, {episodes}")
    figures = {"env_steps_per_s_median": {p: statistics.median(r) for p, r in rates.items()}}
    for path in PATHS[1:]:
        ratios = [ours / theirs for ours, theirs in zip(rates[path], rates["python"])]
        low, median, high = statistics.quantiles(ratios, n=4)
        figures[f"{path}_over_python"] = {"median": median, "quartiles": [low, high]}
        print(f"  {path}/python  median {median:.3f}  quartiles {low:.3f} - {high:.3f}")
    medians = figures["env_steps_per_s_median"].items()
    print("  env-steps/s, medians: " + ", ".join(f"{p} {r:,.0f}" for p, r in medians))
    if args.json:
        atomic_write_bytes(Path(args.json), json.dumps(figures, indent=2).encode())


if __name__ == "__main__":
    main()

"""Benchmark the evolution loop on the Ant, every figure measured in this one run.

1. workers: generation throughput (env-steps/s) with 2 Ray workers against 1 (goal >= 1.8x),
   population 128, the best of two interleaved runs of each; beside it, two plain processes
   against one (the machine's own scaling).
2. evotorch: metaheb's evaluation (one batch per worker, agents in lockstep) against EvoTorch's
   own Ray actors (``Problem(num_actors=2)``) evaluating the same episodes one agent at a time,
   the same OpenES searcher on both: seconds per generation, ratio.
3. overhead: at population 256, the share of a generation spent outside evaluation (ask, tell,
   Ray dispatch, logging, checkpoint), from the slowest worker's batch time (goal < 5%).
4. memory: the driver's resident memory over 100 generations at population 500 with the full
   60,800-value Ant genome (episodes cut to 2 steps: the driver's memory does not depend on them).

    python scripts/bench_evolve.py [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import tempfile
import time
from pathlib import Path

import numpy as np
import ray
import torch
from evotorch import Problem, Solution

from metaheb.config import load_config
from metaheb.evolve.openes import OpenES
from metaheb.evolve.trainer import train
from metaheb.networks import PolicyNetwork
from metaheb.rollout import rollout_batch
from metaheb.runs import atomic_write_bytes, read_metrics
from metaheb.tasks import make_task


def rss_mib() -> dict[str, float]:
    """The driver's resident memory, split: its own (anonymous) and Ray's shared object store."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name = line.split(":")[0]
        if name in ("RssAnon", "RssShmem"):
            fields[name] = int(line.split()[1]) / 1024
    return fields


def rollout_rate(agents: int) -> float:
    """env-steps/s of one plain process running one batch (no Ray): the machine's own scaling."""
    torch.set_num_threads(1)
    config = load_config(None, ["task.max_steps=300"])
    task, network = make_task(config.task), PolicyNetwork((27, 128, 64, 8))
    genomes = 0.01 * torch.randn(agents, network.genome_layout.size)
    rollout_batch(task, network, genomes[:2], [0, 1])
    started = time.perf_counter()
    result = rollout_batch(task, network, genomes, list(range(agents)))
    return float(result.steps.sum() / (time.perf_counter() - started))


def run_job(out: Path, name: str, overrides: list[str], echo=lambda line: None) -> list[dict]:
    config = load_config(None, [f"run.out_dir={out}", f"run.name={name}", *overrides])
    return read_metrics(train(config, echo=echo))


def throughput(metrics: list[dict]) -> float:
    """env-steps/s over the generations after the first (workers warm up in the first)."""
    later = metrics[1:] or metrics
    return sum(m["env_steps"] for m in later) / sum(m["seconds"] for m in later)


ROUNDS = 2


def bench_workers(out: Path, job: list[str], popsize: int) -> dict:
    # Interleaved rounds, the best of each: this machine's speed drifts by tens of percent
    # over a minute, and a ratio of two runs made minutes apart would measure the drift.
    one = two = 0.0
    for round_ in range(ROUNDS):
        one = max(one, throughput(run_job(out, f"one-{round_}", [*job, "ray.num_workers=1"])))
        two = max(two, throughput(run_job(out, f"two-{round_}", [*job, "ray.num_workers=2"])))
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        (alone,) = pool.map(rollout_rate, [popsize])
    with context.Pool(2) as pool:
        pair = sum(pool.map(rollout_rate, [popsize // 2, popsize // 2]))
    return {
        "one_worker_steps_per_s": one,
        "two_workers_steps_per_s": two,
        "ratio": two / one,
        "plain_processes_ratio": pair / alone,
    }


class PerAgentProblem(Problem):
    """The same episodes evaluated the common EvoTorch way: one solution per call, on actors."""

    def __init__(self, task_overrides: list[str], hidden: list[int], popsize: int) -> None:
        config = load_config(None, task_overrides)
        self.task_config = config.task
        self.network = PolicyNetwork.for_task(config.network, 27, 8, "tanh")
        self.steps = 0
        super().__init__(
            "max",
            solution_length=self.network.genome_layout.size,
            dtype=torch.float32,
            num_actors=2,
            seed=0,
            initial_bounds=(-1.0, 1.0),
        )

    def seed(self, value: int) -> None:
        """EvoTorch 0.6.1's actors call ``problem.seed``, which its Problem lacks."""
        self.manual_seed(value)

    def _evaluate(self, solution: Solution) -> None:
        torch.set_num_threads(1)
        if not hasattr(self, "_task"):
            self._task = make_task(self.task_config)
        seed = int(torch.randint(0, 2**31 - 1, (1,)))
        result = rollout_batch(self._task, self.network, solution.values[None].clone(), [seed])
        solution.set_evals(float(result.fitness[0]))

    def _evaluate_batch(self, batch) -> None:  # per solution, as EvoTorch's default does
        for solution in batch:
            self._evaluate(solution)


def bench_evotorch(out: Path, job: list[str], popsize: int, generations: int) -> dict:
    """Seconds per generation, same searcher, population and episode limit on both sides.

    The job's gentle coefficients keep every episode running to ``task.max_steps`` on both sides.
    """
    metrics = run_job(out, "ours", [*job, "ray.num_workers=2"])
    ours = float(np.mean([m["seconds"] for m in metrics[1:]]))
    problem = PerAgentProblem(job, [128, 64], popsize)
    searcher = OpenES(problem, load_config(None, job).evolve, seed=0)
    searcher.step()  # actors start and build their environments
    seconds = []
    for _ in range(generations - 1):
        started = time.perf_counter()
        searcher.step()
        seconds.append(time.perf_counter() - started)
    problem.kill_actors()
    theirs = float(np.mean(seconds))
    return {
        "metaheb_generation_seconds": ours,
        "evotorch_actors_generation_seconds": theirs,
        "speedup": theirs / ours,
    }


def bench_overhead(out: Path, job: list[str]) -> dict:
    stamps: list[float] = []

    def echo(line: str) -> None:
        if line.startswith("gen "):
            stamps.append(time.perf_counter())

    metrics = run_job(out, "overhead", job, echo)
    periods = np.diff(stamps)  # generation g's line to g+1's: everything a generation costs
    evals = np.array([m["eval_seconds"] for m in metrics[1:]])
    outside = 1.0 - evals / periods
    return {
        "generation_seconds": float(periods.mean()),
        "eval_seconds": float(evals.mean()),
        "outside_share": float(outside.mean()),
    }


def bench_memory(out: Path, generations: int) -> dict:
    samples: list[dict[str, float]] = []

    def echo(line: str) -> None:
        if line.startswith("gen "):
            samples.append(rss_mib())

    job = [
        "evolve.popsize=500",
        f"evolve.generations={generations}",
        "task.max_steps=2",
        "task.burn_in=1",
    ]
    run_job(out, "memory", job, echo)
    settled = samples[min(10, len(samples) - 1)]
    return {
        "own_mib_generation_1": samples[0]["RssAnon"],
        "own_mib_generation_10": settled["RssAnon"],
        "own_mib_last": samples[-1]["RssAnon"],
        "own_growth_after_generation_10_mib": samples[-1]["RssAnon"] - settled["RssAnon"],
        "object_store_mapped_mib_last": samples[-1]["RssShmem"],
        "total_mib_max": max(x["RssAnon"] + x["RssShmem"] for x in samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller budgets, for a smoke run")
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args()
    popsize, steps, generations = (16, 100, 3) if args.quick else (32, 300, 4)
    # Coefficients near zero: no agent falls, so every episode runs to task.max_steps and both
    # sides of each comparison step exactly popsize x max_steps environments.
    gentle = ["evolve.init_std=0.01", "evolve.sigma=0.002"]
    job = [
        *gentle,
        f"evolve.popsize={popsize}",
        f"evolve.generations={generations}",
        f"task.max_steps={steps}",
    ]
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.ERROR)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        # A population of 128 for the worker scaling: halving it per worker keeps 64 agents a
        # batch, where the lockstep rollout's per-agent cost has levelled off (bench_rollout).
        scaling = 32 if args.quick else 128
        workers_job = [*job, f"evolve.popsize={scaling}"]
        results["workers"] = bench_workers(out, workers_job, scaling)
        w = results["workers"]
        print(
            f"workers: 1 -> {w['one_worker_steps_per_s']:,.0f} env-steps/s, "
            f"2 -> {w['two_workers_steps_per_s']:,.0f}; ratio {w['ratio']:.2f}x (goal >= 1.8); "
            f"two plain processes without Ray on this machine: {w['plain_processes_ratio']:.2f}x"
        )
        results["evotorch"] = bench_evotorch(out, job, popsize, generations)
        e = results["evotorch"]
        print(
            f"evotorch: generation {e['metaheb_generation_seconds']:.2f} s in metaheb, "
            f"{e['evotorch_actors_generation_seconds']:.2f} s with EvoTorch's actors evaluating "
            f"one agent at a time; metaheb {e['speedup']:.2f}x faster"
        )
        big = [
            *gentle,
            "evolve.popsize=256",
            "evolve.generations=3" if not args.quick else "evolve.generations=2",
            f"task.max_steps={200 if not args.quick else 60}",
        ]
        results["overhead"] = bench_overhead(out, big)
        o = results["overhead"]
        print(
            f"overhead at population 256: generation {o['generation_seconds']:.2f} s, "
            f"evaluation {o['eval_seconds']:.2f} s; outside evaluation "
            f"{100 * o['outside_share']:.1f}% (goal < 5%)"
        )
        results["memory"] = bench_memory(out, 20 if args.quick else 100)
        m = results["memory"]
        print(
            f"driver memory, population 500 x 60,800: own {m['own_mib_generation_1']:.0f} MiB at "
            f"generation 1, {m['own_mib_generation_10']:.0f} at 10, {m['own_mib_last']:.0f} at "
            f"the end; Ray object store pages mapped {m['object_store_mapped_mib_last']:.0f} MiB; "
            f"max total {m['total_mib_max']:.0f} MiB (goal < 2048, flat)"
        )
    ray.shutdown()
    if args.json:
        atomic_write_bytes(Path(args.json), json.dumps(results, indent=2).encode())


if __name__ == "__main__":
    main()

"""Benchmark the driver's own work per generation as the population grows (no episodes run).

For the Ant genome (60,800 values) and populations of 500, 2,000 and 10,000, in one run:
ask (OpenES antithetic sampling), dispatch (the population to numpy and into Ray's object store,
as the evaluator does, split into per-worker batches), and tell (ranks, the gradient step).
Prints seconds per generation for each part and the driver's peak resident memory;
``--json PATH`` writes the same figures.

    python scripts/bench_driver.py [--popsizes 500 2000 10000] [--workers 64] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import time
from pathlib import Path

import numpy as np
import ray
import torch

from metaheb.config import EvolveConfig
from metaheb.evolve.openes import openes_ask, openes_init, openes_tell
from metaheb.runs import atomic_write_bytes

GENOME = 60_800


def timed(function):
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def measure(popsize: int, workers: int) -> dict[str, float]:
    """One generation's ask, dispatch and tell at this population size."""
    config = EvolveConfig(popsize=popsize)
    generator = torch.Generator().manual_seed(0)
    state = openes_init(config, GENOME, generator)
    (solutions, eps), ask = timed(lambda: openes_ask(state, popsize, generator))

    def dispatch() -> list:
        values = solutions.numpy()
        parts = np.array_split(np.arange(popsize), workers)
        return [ray.put(values[part]) for part in parts]

    _, sent = timed(dispatch)
    fitness = torch.randn(popsize, dtype=torch.float64, generator=generator)
    _, tell = timed(lambda: openes_tell(state, config, solutions, eps, fitness))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return {
        "ask_s": ask,
        "dispatch_s": sent,
        "tell_s": tell,
        "total_s": ask + sent + tell,
        "peak_rss_gib": peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--popsizes", type=int, nargs="+", default=[500, 2000, 10000])
    parser.add_argument("--workers", type=int, default=64, help="batches per generation")
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        logging_level=logging.ERROR,
        object_store_memory=8 * 2**30,
    )
    results = {}
    print(f"Ant genome {GENOME:,} values, {args.workers} batches per generation; seconds:")
    print(
        f"{'population':>10}{'ask':>8}{'dispatch':>10}{'tell':>8}{'total':>8}{'peak RSS GiB':>14}"
    )
    for popsize in args.popsizes:
        row = results[popsize] = measure(popsize, args.workers)
        print(
            f"{popsize:>10}{row['ask_s']:>8.2f}{row['dispatch_s']:>10.2f}{row['tell_s']:>8.2f}"
            f"{row['total_s']:>8.2f}{row['peak_rss_gib']:>14.2f}"
        )
    ray.shutdown()
    if args.json:
        atomic_write_bytes(Path(args.json), json.dumps(results, indent=2).encode())


if __name__ == "__main__":
    main()

"""Evaluate a population over Ray workers: one batch per worker per generation.

A generation's population is cut into ``num_workers`` contiguous batches; each batch is one Ray
task that steps its agents in lockstep (``metaheb.rollout``). Each agent's episode seed is a
function of (run seed, generation, member) alone, so the fitness of every member is the same
whether one worker or many evaluated it. A task whose worker process dies is run again by Ray
(``max_retries``), on the same inputs, so it returns the same numbers.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import ray
import torch

from metaheb.config import RayConfig, TaskConfig
from metaheb.errors import UserError, first_line
from metaheb.interrupts import terminate_as_interrupt
from metaheb.networks import PolicyNetwork
from metaheb.rollout import BatchResult, evaluate_batch
from metaheb.tasks import process_task


@ray.remote(num_cpus=1, max_retries=3)
def evaluate_batch_remote(
    task_config: TaskConfig, network: PolicyNetwork, genomes: np.ndarray, seeds: list[int]
) -> BatchResult:
    torch.set_num_threads(1)  # one worker per core; Ray leaves torch's intra-op pool at all cores
    result = evaluate_batch(process_task(task_config), network, torch.tensor(genomes), seeds)
    result.nodes = [ray.get_runtime_context().get_node_id()] * len(seeds)
    return result


class RayEvaluator:
    """Splits a population into per-worker batches and gathers their fitness in member order."""

    def __init__(self, task_config: TaskConfig, network: PolicyNetwork, num_workers: int) -> None:
        self.task_config = task_config
        self.network = network
        self.num_workers = num_workers

    def evaluate(self, genomes: torch.Tensor, seeds: Sequence[int]) -> BatchResult:
        parts = np.array_split(np.arange(len(seeds)), min(self.num_workers, len(seeds)))
        values = genomes.detach().cpu().numpy()
        futures = [
            evaluate_batch_remote.remote(
                self.task_config, self.network, values[part], [seeds[k] for k in part]
            )
            for part in parts
        ]
        results = ray.get(futures)
        return BatchResult(
            fitness=np.concatenate([r.fitness for r in results]),
            steps=np.concatenate([r.steps for r in results]),
            seconds=max(r.seconds for r in results),  # the slowest batch: the critical path
            by_morphology=np.concatenate([r.by_morphology for r in results]),
            nodes=[node for r in results for node in r.nodes],
        )


CLIENT_ATTEMPTS = 3


def _connect(address: str, num_workers: int, options: dict) -> None:
    """``ray.init`` for a local Ray or an address. A Ray client's first connection can fail
    while the head starts the server process that serves it (a busy head takes longer than
    the client waits): that failure is retried."""
    for attempt in range(CLIENT_ATTEMPTS):
        try:
            with warnings.catch_warnings():
                # The one-line error of ray_session says it; Ray's warning would be a second line.
                warnings.filterwarnings("ignore", message="Ray Client connection timed out")
                if address == "local":
                    ray.init(address="local", num_cpus=num_workers or None, **options)
                else:
                    ray.init(address=address, **options)
            return
        except ConnectionAbortedError as err:
            starting = str(err).startswith("Initialization failure from server")
            if not starting or attempt == CLIENT_ATTEMPTS - 1:
                raise
            ray.shutdown()
            time.sleep(2.0)


@contextmanager
def ray_session(config: RayConfig) -> Iterator[int]:
    """Connect to Ray (an embedded local instance unless an address is given); yield worker count.

    A Ray already initialised by the caller is used as it is and left running. While the block
    lasts, SIGTERM stops the command as Ctrl-C does (``metaheb.interrupts``).
    """
    started = False
    # No address: the cluster of a `ray job submit` (RAY_ADDRESS), else a Ray of its own ("local"),
    # even where `ray start` runs one on this machine that ray.init() would otherwise join.
    address = config.address or os.environ.get("RAY_ADDRESS") or "local"
    if not ray.is_initialized():
        options = {"include_dashboard": False, "logging_level": logging.ERROR}
        try:
            _connect(address, config.num_workers, options)
        except (ConnectionError, ValueError, RuntimeError) as err:
            raise UserError(
                f"cannot start or reach Ray at {address}: {first_line(err)}; "
                "check ray.address (empty for a local Ray)"
            ) from None
        started = True
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        with terminate_as_interrupt():
            yield config.num_workers or max(cpus, 1)
    finally:
        if started:
            ray.shutdown()

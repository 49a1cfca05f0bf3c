"""An EvoTorch ``Problem`` whose evaluation is a batch of episodes on metaheb's Ray evaluator.

EvoTorch's searchers call ``_evaluate_batch``; EvoTorch's own Ray actors (``num_actors``) stay off,
since metaheb batches per worker and seeds each member by (run seed, generation, member). The
problem's own generator, which EvoTorch's searchers sample from, is seeded by the run seed.

A member whose episode produced NaN or inf fitness is ranked below every other member (given the
generation's lowest finite fitness minus one) and counted, so one diverging genome never stops a
run nor poisons the searcher's update.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import torch
from evotorch import Problem, SolutionBatch

from metaheb.errors import RunStopped
from metaheb.evolve.evaluator import RayEvaluator
from metaheb.rollout import BatchResult
from metaheb.seeding import population_seeds

# EvoTorch announces every problem's dtype and device at INFO; metaheb prints its own summary.
logging.getLogger("evotorch").setLevel(logging.WARNING)


def replace_nonfinite(fitness: np.ndarray) -> tuple[np.ndarray, int]:
    """NaN / inf -> the lowest finite fitness minus one (-1 if none is finite), and a count."""
    bad = ~np.isfinite(fitness)
    if not bad.any():
        return fitness, 0
    worst = fitness[~bad].min() - 1.0 if (~bad).any() else -1.0
    return np.where(bad, worst, fitness), int(bad.sum())


class RolloutProblem(Problem):
    """Maximise episode fitness; ``generation`` must be set before each generation's evaluation."""

    def __init__(
        self, genome_size: int, evaluator: RayEvaluator, run_seed: int, seeding: str = "member"
    ) -> None:
        super().__init__(
            "max",
            solution_length=genome_size,
            dtype=torch.float32,
            eval_dtype=torch.float64,
            initial_bounds=(-1.0, 1.0),  # only fills CMA-ES's first population, resampled at once
            seed=run_seed,
        )
        self.evaluator = evaluator
        self.run_seed = run_seed
        self.seeding = seeding
        self.generation = 0
        self.last_result = BatchResult(fitness=np.zeros(0), steps=np.zeros(0, dtype=np.int64))
        self.last_seeds: list[int] = []
        self.last_nonfinite = 0

    def _evaluate_batch(self, batch: SolutionBatch) -> None:
        self.last_seeds = population_seeds(self.seeding, self.run_seed, self.generation, len(batch))
        result = self.evaluator.evaluate(batch.values, self.last_seeds)
        fitness, self.last_nonfinite = replace_nonfinite(result.fitness)
        if self.last_nonfinite == len(fitness):
            raise RunStopped(
                f"every member of generation {self.generation + 1} has a non-finite fitness "
                "(NaN or inf): the search has likely diverged; lower evolve.sigma, evolve.lr "
                "or evolve.init_std, then train again"
            )
        self.last_result = dataclasses.replace(result, fitness=fitness)
        batch.set_evals(torch.from_numpy(fitness))

"""An EvoTorch ``Problem`` whose evaluation is a batch of episodes on metaheb's Ray evaluator.

EvoTorch's searchers call ``_evaluate_batch``; EvoTorch's own Ray actors (``num_actors``) stay off,
since metaheb batches per worker and seeds each member by (run seed, generation, member).
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from evotorch import Problem, SolutionBatch

from metaheb.evolve.evaluator import RayEvaluator
from metaheb.rollout import BatchResult
from metaheb.seeding import population_seeds

# EvoTorch announces every problem's dtype and device at INFO; metaheb prints its own summary.
logging.getLogger("evotorch").setLevel(logging.WARNING)


class RolloutProblem(Problem):
    """Maximise episode fitness; ``generation`` must be set before each generation's evaluation."""

    def __init__(
        self, genome_size: int, evaluator: RayEvaluator, run_seed: int, seeding: str = "member"
    ) -> None:
        super().__init__(
            "max", solution_length=genome_size, dtype=torch.float32, eval_dtype=torch.float64
        )
        self.evaluator = evaluator
        self.run_seed = run_seed
        self.seeding = seeding
        self.generation = 0
        self.last_result = BatchResult(fitness=np.zeros(0), steps=np.zeros(0, dtype=np.int64))
        self.last_seeds: list[int] = []

    def _evaluate_batch(self, batch: SolutionBatch) -> None:
        self.last_seeds = population_seeds(self.seeding, self.run_seed, self.generation, len(batch))
        self.last_result = self.evaluator.evaluate(batch.values, self.last_seeds)
        batch.set_evals(torch.from_numpy(self.last_result.fitness))

"""Held-out evaluation of the search centre: the number a user should read during training.

A generation's best member is the luckiest of a population on that generation's episodes, so it
overstates what evolution has found. The search centre (OpenES's theta, CMA-ES's mean) is the
genome the searcher believes in; it is scored here on ``evolve.eval_episodes`` fixed episode
seeds that no training episode uses (the same for every run, so runs compare on the same
episodes), each ``evolve.eval_max_steps`` long, on the run's own bodies and damage. The episodes
are split over the Ray workers like a population, and each episode's seed fixes it, so the
figures are the same with any number of workers and after a resume.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from metaheb.config import Config
from metaheb.evolve.evaluator import RayEvaluator
from metaheb.networks import PolicyNetwork
from metaheb.seeding import episode_seeds

HELDOUT = 2**32 - 2  # the "run seed" coordinate of held-out seeds: run.seed is below 2^31


def heldout_seeds(count: int) -> list[int]:
    """The episode seeds of the held-out evaluation, the same for every run."""
    return episode_seeds(HELDOUT, 0, range(count))


class HeldOutEvaluation:
    """Scores a genome on the held-out episodes; ``due`` says on which generations."""

    def __init__(self, config: Config, network: PolicyNetwork, num_workers: int) -> None:
        evolve = config.evolve
        self.every = evolve.eval_every
        self.generations = evolve.generations
        task = dataclasses.replace(config.task, max_steps=evolve.eval_max_steps, episodes=1)
        self.morphologies = task.morphologies
        self.evaluator = RayEvaluator(task, network, num_workers)
        self.seeds = heldout_seeds(evolve.eval_episodes)

    def due(self, generation: int, last: bool = False) -> bool:
        """After the 0-based ``generation``: every ``every``-th one, and the run's last."""
        if not self.every:
            return False
        return last or (generation + 1) % self.every == 0 or generation + 1 == self.generations

    def evaluate(self, genome: torch.Tensor) -> dict[str, Any]:
        """Mean and std of the fitness over the held-out episodes, per body too, and the cost;
        NaN where an episode's fitness is not finite, counted in ``nonfinite``."""
        genomes = genome.detach().reshape(1, -1).repeat(len(self.seeds), 1)
        result = self.evaluator.evaluate(genomes, self.seeds)
        return {
            "nonfinite": int((~np.isfinite(result.fitness)).sum()),
            "mean": float(np.mean(result.fitness)),
            "std": float(np.std(result.fitness)),
            "episodes": [float(f) for f in result.fitness],
            "morphologies": {
                name: float(np.mean(result.by_morphology[:, k]))
                for k, name in enumerate(self.morphologies)
            },
            "env_steps": int(result.steps.sum()),
        }

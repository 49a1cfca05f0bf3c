"""Seeds derived from (run seed, generation, member), so no result depends on how work is split."""

from __future__ import annotations

import numpy as np


def episode_seeds(run_seed: int, generation: int, members: range | list[int]) -> list[int]:
    """One 31-bit episode seed per population member, a pure function of its coordinates."""
    return [
        int(np.random.SeedSequence([run_seed, generation, member]).generate_state(1)[0] >> 1)
        for member in members
    ]


def population_seeds(mode: str, run_seed: int, generation: int, popsize: int) -> list[int]:
    """Episode seeds of one generation under ``evolve.seeding`` (member, generation or fixed)."""
    if mode == "member":
        return episode_seeds(run_seed, generation, range(popsize))
    shared_generation = generation if mode == "generation" else 0
    return episode_seeds(run_seed, shared_generation, [0]) * popsize


def repeat_seed(seed: int, episode: int) -> int:
    """The seed of a genome's ``episode``-th episode (0: the seed itself)."""
    if episode == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), episode]).generate_state(1)[0] >> 1)

"""Seeds derived from (run seed, generation, member), so no result depends on how work is split."""

from __future__ import annotations

import numpy as np


def episode_seeds(run_seed: int, generation: int, members: range | list[int]) -> list[int]:
    """One 31-bit episode seed per population member, a pure function of its coordinates."""
    return [
        int(np.random.SeedSequence([run_seed, generation, member]).generate_state(1)[0] >> 1)
        for member in members
    ]

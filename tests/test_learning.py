"""A short seeded evolution on the real Ant, over a real local Ray, raises mean fitness.

Early in evolution, Hebbian Ant fitness is dominated by episode noise: a rule that walks from one
start state and one draw of random weights rarely walks from another (measured: the correlation
of a genome's fitness across two episode seeds is near zero at the paper's N(0, 1) start). The
runs below are therefore seeded and fully deterministic (episode seeds depend only on the run
seed, generation and member), and the assertion compares the population's mean fitness over the
first and last three generations of two independent seeds.
"""

import numpy as np
import pytest

from metaheb.config import load_config
from metaheb.evolve.trainer import train
from metaheb.runs import read_metrics


@pytest.mark.parametrize("seed", [0, 1])
def test_openes_raises_mean_fitness_on_the_ant(tmp_path, local_ray, seed):
    # The paper's lr of 0.2 is for a population of 500: the per-coordinate step of OpenES is
    # lr / (sigma sqrt(N)), so a population of 64 takes lr ~ 0.2 sqrt(64 / 500) / 1.4 = 0.05.
    config = load_config(
        None,
        [
            f"run.seed={seed}",
            f"run.out_dir={tmp_path}",
            "task.max_steps=150",
            "task.burn_in=10",
            "network.hidden=[32, 16]",
            "evolve.popsize=64",
            "evolve.generations=15",
            "evolve.lr=0.05",
        ],
    )
    means = [record["mean"] for record in read_metrics(train(config, echo=lambda line: None))]
    assert np.mean(means[-3:]) > np.mean(means[:3]) + 0.1, np.round(means, 2)

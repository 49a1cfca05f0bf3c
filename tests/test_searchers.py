"""Every searcher through `train` on the real Ant and Ray; memory refusal; NaN; TensorBoard."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from metaheb.config import SEARCHERS, load_config
from metaheb.evolve.problem import replace_nonfinite
from metaheb.evolve.trainer import train
from metaheb.networks import PolicyNetwork
from metaheb.rollout import rollout_batch
from metaheb.runs import load_agent, read_metrics
from metaheb.tasks import make_task

SMALL = [
    "task.max_steps=40",
    "task.burn_in=5",
    "network.hidden=[4]",
    "evolve.popsize=6",
    "evolve.generations=3",
]
ALGORITHMS = list(SEARCHERS)  # every searcher metaheb runs


def run(tmp_path, *overrides):
    config = load_config(None, [*SMALL, f"run.out_dir={tmp_path}", *overrides])
    return train(config, echo=lambda line: None)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_searcher_evolves_and_does_not_depend_on_the_worker_count(
    tmp_path, local_ray, algorithm
):
    one = run(tmp_path, f"evolve.algorithm={algorithm}", "ray.num_workers=1", "run.name=one")
    two = run(tmp_path, f"evolve.algorithm={algorithm}", "ray.num_workers=2", "run.name=two")
    first, second = read_metrics(one), read_metrics(two)
    assert len(first) == 3
    keys = ("best", "mean", "min", "env_steps", "spread")
    assert [[m[k] for k in keys] for m in first] == [[m[k] for k in keys] for m in second]
    center = load_agent(one / "agents" / "center.safetensors")
    assert center.genome.shape == (PolicyNetwork((28, 4, 8)).genome_layout.size,)
    # The centres moved: each searcher updated its distribution from the fitness it was told.
    start = torch.randn(center.genome.size, generator=torch.Generator().manual_seed(0))
    assert not np.allclose(center.genome, start.numpy())


def test_full_cmaes_on_a_large_genome_is_refused_in_one_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "metaheb.cli",
            "train",
            "evolve.algorithm=cmaes",
            f"run.out_dir={tmp_path / 'runs'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "61,440 values needs" in line and "sepcmaes" in line and "bottleneck" in line
    assert not (tmp_path / "runs").exists()


def test_nonfinite_fitness_ranks_last_and_is_counted():
    fitness, count = replace_nonfinite(np.array([1.0, np.nan, -2.0, np.inf]))
    assert count == 2 and fitness.tolist() == [1.0, -3.0, -2.0, -3.0]
    assert replace_nonfinite(np.array([np.nan]))[0].tolist() == [-1.0]


def test_an_episode_whose_network_outputs_nan_ends_with_nan_fitness():
    network = PolicyNetwork((28, 8, 8))
    genomes = torch.randn(2, network.genome_layout.size, generator=torch.Generator().manual_seed(0))
    genomes[1, :10] = float("nan")
    result = rollout_batch(make_task(load_config().task), network, genomes, [1, 2])
    assert np.isfinite(result.fitness[0]) and np.isnan(result.fitness[1])
    assert result.steps[1] < result.steps[0]


def test_tensorboard_holds_every_generation(tmp_path, local_ray):
    path = run(tmp_path, "run.name=tb")
    events = EventAccumulator(str(path / "tensorboard"))
    events.Reload()
    means = events.Scalars("fitness/mean")
    assert [e.step for e in means] == [0, 1, 2]
    assert [e.value for e in means] == pytest.approx([m["mean"] for m in read_metrics(path)])
    assert "search/env_steps_per_s" in events.Tags()["scalars"]

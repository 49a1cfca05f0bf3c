import logging

import pytest
import ray

FUZZ_CASES_RUN = pytest.StashKey[list]()  # ids of the fuzz cases run (tests/test_fuzz.py)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    tried = config.stash.get(FUZZ_CASES_RUN, [])
    if tried:
        terminalreporter.write_line(f"fuzz: {len(tried)} malformed inputs tried")


@pytest.fixture(scope="session")
def local_ray():
    """One embedded two-CPU Ray for the whole session (starting one costs about 3 s)."""
    if not ray.is_initialized():
        ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.ERROR)
    yield
    ray.shutdown()


def train_small(out_dir, *overrides):
    """A one-generation job on a tiny network over the session's Ray; returns its run path."""
    from metaheb.config import load_config
    from metaheb.evolve.trainer import train

    config = load_config(
        None,
        [
            f"run.out_dir={out_dir}",
            "run.name=agent",
            "task.burn_in=5",
            "network.hidden=[8]",
            "evolve.popsize=4",
            "evolve.generations=1",
            *overrides,
        ],
    )
    return train(config, echo=lambda line: None)


def metaheb_cli(*args: str, cwd=None, timeout: float = 600):
    """``metaheb ARGS`` in a fresh process, as a user types it; its output captured."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "metaheb.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def carracing_rollout(steps: int = 60):
    """Three seeded CarRacing agents (the authors' network, random genomes) for ``steps`` steps:
    what a compiled path must score bit for bit as the plain one does."""
    import torch

    from metaheb.config import load_config
    from metaheb.networks import PolicyNetwork
    from metaheb.rollout import rollout_batch
    from metaheb.tasks import make_task

    overrides = ["task.name=carracing", "network.encoder=carracing_conv"]
    overrides += ["network.normalise=max_abs", f"task.max_steps={steps}"]
    config = load_config(None, [*overrides, f"task.early_stop_after={steps}"])
    task = make_task(config.task)
    network = PolicyNetwork.of_task(config.network, task)
    genomes = 0.1 * torch.randn(
        3, network.genome_layout.size, generator=torch.Generator().manual_seed(0)
    )
    return rollout_batch(task, network, genomes, [4, 5, 6])


def assert_same_rollout(monkeypatch, module, name: str, plain, compiled) -> None:
    """``module.name`` set to ``plain``, then to ``compiled``: the same fitness, bit for bit."""
    import numpy as np

    monkeypatch.setattr(module, name, plain)
    before = carracing_rollout()
    monkeypatch.setattr(module, name, compiled)
    after = carracing_rollout()
    assert np.array_equal(before.fitness, after.fitness)
    assert np.array_equal(before.steps, after.steps)

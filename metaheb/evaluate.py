"""Evaluate a saved agent on chosen morphologies and damage: fitness over seeded episodes.

The agent file names its task and network; ``task.*`` overrides change what it is tested on
(an unseen morphology, a weight ablation, failed motors). Episode seeds come from the run seed
and the episode index, apart from every training seed, so an evaluation is reproducible to the
bit. Layer 4: it runs the
rollout in this process (one batch: every seed at once, per morphology).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from metaheb.config import apply_overrides, config_from_dict
from metaheb.encoders import FEATURES
from metaheb.errors import UserError
from metaheb.networks import PolicyNetwork, check_encoder
from metaheb.rollout import evaluate_batch
from metaheb.runs import Agent, load_agent
from metaheb.seeding import episode_seeds
from metaheb.tasks import Task, make_task, process_task

EVALUATION = 2**32 - 1  # the "generation" coordinate of evaluation seeds: never a training one


@dataclass
class Evaluation:
    morphologies: list[str]
    seeds: list[int]
    fitness: np.ndarray  # (seeds, morphologies)


def resolve_agent(path: str | Path) -> Agent:
    """An agent file, or a run directory (its best agent)."""
    path = Path(path)
    if path.is_dir():
        path = path / "agents" / "best.safetensors"
    return load_agent(path)


# The Ant's protocol before task.observation existed: what an agent file without the key ran.
EARLIER_ANT_PROTOCOL = {
    "observation": "raw",
    "early_stop_count": "always",
    "fall_height": 0.2,
    "fall_check": "always",
    "score_from": "reset",
}


# CarRacing before task.preprocess existed: its frames were cropped.
EARLIER_CARRACING_PROTOCOL = {"preprocess": "crop"}


def saved_task(agent: Agent) -> dict:
    """The task an agent was evolved on, as its file records it (older files: their protocol)."""
    task = dict(agent.meta["task"])
    if task.get("name", "ant") == "ant" and "observation" not in task:
        task = {**EARLIER_ANT_PROTOCOL, **task}
    if task.get("name") == "carracing" and "preprocess" not in task:
        task = {**EARLIER_CARRACING_PROTOCOL, **task}
    return task


def agent_setup(
    agent: Agent, overrides: list[str], reuse: bool = False
) -> tuple[Task, PolicyNetwork]:
    """The agent's own task with ``task.*`` overrides applied, and its network.

    ``reuse``: the process's task for that config (``tasks.process_task``), so that a report
    worker compiles a body and builds its environments once, whichever agent runs next."""
    for item in overrides:
        if not item.startswith("task."):
            raise UserError(f"only task.* settings can change for a saved agent, not {item!r}")
    saved = {"task": saved_task(agent)}
    config = config_from_dict(apply_overrides(saved, overrides)).task
    torch.set_num_threads(1)
    task = process_task(config) if reuse else make_task(config)
    network = PolicyNetwork.from_dict(agent.meta["network"])
    check_encoder(network.encoder, task)
    inputs = FEATURES.get(network.encoder, task.obs_dim)
    if (network.sizes[0], network.sizes[-1]) != (inputs, task.act_dim):
        raise UserError(
            f"the agent's network maps {network.sizes[0]} inputs to {network.sizes[-1]} actions; "
            f"its task gives {inputs} and takes {task.act_dim}: the agent file is damaged"
        )
    return task, network


def evaluate_agent(agent: Agent, overrides: list[str], episodes: int = 5) -> Evaluation:
    """The agent's fitness in ``episodes`` seeded episodes per morphology of its task."""
    if episodes < 1:
        raise UserError(f"--episodes must be at least 1, got {episodes}")
    task, network = agent_setup(agent, overrides)
    seeds = episode_seeds(agent.meta.get("run_seed", 0), EVALUATION, range(episodes))
    genomes = torch.from_numpy(agent.genome)[None].repeat(episodes, 1)
    result = evaluate_batch(task, network, genomes, seeds)
    return Evaluation(list(task.config.morphologies), seeds, result.by_morphology)

"""The evaluation grid of a robustness report: agents x morphologies x ablation levels x seeds.

Each run's agent (its best, or its search centre) is evaluated on every morphology of its
morphology folder (the ones it trained on marked as seen) at each ablation level: that fraction
of its weights zeroed at the ablation step, mid-episode by default (Najarro & Risi 2020,
recovery experiment; ``metaheb.damage``). Every cell is one Ray task that steps all its seeded
episodes in lockstep; every agent sees the same episode seeds (common random numbers across
agents), and a cell's numbers do not depend on where or beside what it ran, so a report is
reproducible to the bit.

Besides each episode's fitness, a cell records its recovery curve: the mean fitness so far (for
the Ant, the distance walked) at every ``CURVE_EVERY``-th step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import ray
import torch

from metaheb.config import RayConfig, read_run_config
from metaheb.errors import UserError
from metaheb.evaluate import EVALUATION, agent_setup
from metaheb.evolve.evaluator import ray_session
from metaheb.rollout import rollout_batch
from metaheb.runs import Agent, HeldOutCurve, heldout_curve, load_agent
from metaheb.seeding import episode_seeds
from metaheb.tasks import Score
from metaheb.tasks.morphologies import available_morphologies, morphology_path

CURVE_EVERY = 10
LEVELS = (0.0, 0.1, 0.25, 0.5)


@dataclass
class ReportAgent:
    """One run's agent and what the report needs to know about its training."""

    name: str  # the run directory's name
    run: str  # the run directory as given
    arm: str  # runs with equal settings but the seed form an arm, e.g. "hebbian ABCD_lr"
    agent: Agent
    seen: list[str]  # the morphologies it trained on
    # How the run learned (its held-out centre against env steps); empty for an agent with no run.
    training: HeldOutCurve = field(default_factory=lambda: HeldOutCurve([], 0, 0.0, 0))
    note: str = ""  # where the agent differs from its arm's label (``rules_note``)

    @property
    def task(self) -> dict[str, Any]:
        return self.agent.meta["task"]


@dataclass
class Cell:
    morphology: str
    level: float
    fitness: list[float]  # one per seed
    steps: list[int]
    curve: list[float]  # mean distance walked at steps 0, CURVE_EVERY, ...


@dataclass
class AgentResult:
    agent: ReportAgent
    ablation_step: int
    cells: list[Cell] = field(default_factory=list)

    def cell(self, morphology: str, level: float) -> Cell:
        return next(c for c in self.cells if c.morphology == morphology and c.level == level)


def arm_label(config: dict[str, Any]) -> str:
    """The settings that make an arm: model, rule, bottleneck and init (not the seed)."""
    network = config.get("network", {})
    if network.get("model") == "static":
        return "static"
    label = f"hebbian {network.get('rule', 'ABCD_lr')}"
    if network.get("bottleneck"):
        label += f" K={network['bottleneck']}"
    merged = config.get("evolve", {}).get("merge_rules")
    if merged:
        label += f" merged to {merged[-1]}"
    if network.get("init", "uniform") != "uniform":
        label += f" init={network['init']}"
    if network.get("modulation", "none") != "none":
        label += f" modulated by {network['modulation']}"
    return label


def rules_note(config: dict[str, Any], agent: Agent) -> str:
    """Where a merged run's agent has other rules than its arm's label says: the label names the
    merge schedule's last count, and an agent saved before that merge (a best or best centre
    from earlier generations) still has the rules of its own generation."""
    schedule = config.get("evolve", {}).get("merge_rules")
    if not schedule:
        return ""
    network = agent.meta.get("network", {})
    assignment = network.get("assignment") or ()
    rules = max(assignment) + 1 if assignment else network.get("bottleneck", 0)
    if rules == schedule[-1]:
        return ""
    has = f"{rules:,} rules" if rules else "a rule per synapse"
    return f"this agent: {has}, saved before the merge to {schedule[-1]}"


def load_report_agent(run_dir: str, which: str = "best") -> ReportAgent:
    """The ``which`` agent (a key of ``runs.AGENTS``) of a run directory; a bad path is a
    UserError."""
    path = Path(run_dir)
    if not (path / "config.toml").is_file():
        raise UserError(f"{run_dir!r} is not a run directory (no config.toml): give runs/NAME")
    agent_file = path / "agents" / f"{which}.safetensors"
    if not agent_file.is_file():
        hints = {
            "center": "wait for it to finish or use --agent best",
            "best_center": "it has had no held-out evaluation: is evolve.eval_every 0?",
        }
        hint = hints.get(which, "no agent yet")
        raise UserError(f"run {run_dir!r} has no {which} agent ({hint})")
    config = read_run_config(path)
    agent = load_agent(agent_file)
    return ReportAgent(
        path.name,
        run_dir,
        arm_label(config),
        agent,
        agent.meta["task"]["morphologies"],
        heldout_curve(path),
        rules_note(config, agent),
    )


def grid_morphologies(agents: list[ReportAgent], chosen: list[str] | None) -> list[str]:
    """Every morphology in the agents' folder (or ``chosen``, each checked to exist there)."""
    tasks = {agent.task.get("name", "ant") for agent in agents}
    if len(tasks) > 1:
        raise UserError(
            f"the runs are of different tasks ({', '.join(sorted(tasks))}): a report compares "
            "runs of one task, whose bodies and units are the same"
        )
    (task,) = tasks
    known = available_morphologies(agents[0].task.get("morphology_dir", ""), task)
    for name in chosen or []:
        if name not in known:
            raise UserError(f"unknown morphology {name!r}; known: {', '.join(known)}")
    names = list(chosen) if chosen else known
    for agent in agents:  # a body renamed since the run trained is named in one line
        for body in agent.seen:
            morphology_path(body, agent.task.get("morphology_dir", ""), task)
    for agent in agents[1:]:
        folder = agent.task.get("morphology_dir", "")
        missing = set(names) - set(available_morphologies(folder, task))
        if missing:
            raise UserError(
                f"run {agent.run!r} has no morphology {sorted(missing)[0]!r} in its folder: "
                "report runs that share task.morphology_dir"
            )
    return names


def report_seeds(seed: int, count: int) -> list[int]:
    """The report's episode seeds: shared by every agent and cell, apart from training seeds."""
    return episode_seeds(seed, EVALUATION, range(count))


@ray.remote(num_cpus=1, max_retries=3)
def _evaluate_cell_remote(
    agent: Agent, morphology: str, level: float, ablation_step: int, seeds: list[int]
) -> Cell:
    torch.set_num_threads(1)
    overrides = [
        f"task.morphologies=['{morphology}']",
        f"task.ablation_fraction={level}",
        f"task.ablation_step={ablation_step}",
        "task.episodes=1",
    ]
    task, network = agent_setup(agent, overrides, reuse=True)
    max_steps = task.config.max_steps
    so_far = np.full((len(seeds), max_steps), np.nan)  # fitness so far after each step

    def record(step: int, active: np.ndarray, envs: list, score: Score) -> None:
        so_far[active, step] = score.fitness[active]

    genomes = torch.tensor(agent.genome)[None].repeat(len(seeds), 1)  # a copy: Ray's is read-only
    result = rollout_batch(task, network, genomes, seeds, morphology, on_step=record)
    # An episode that ended early keeps its final fitness for the rest of the curve.
    ended = np.arange(max_steps)[None, :] >= result.steps[:, None]
    walked = np.where(ended, result.fitness[:, None], so_far)
    return Cell(
        morphology,
        level,
        [float(f) for f in result.fitness],
        [int(s) for s in result.steps],
        [float(v) for v in walked[:, ::CURVE_EVERY].mean(axis=0)],
    )


def evaluate_grid(
    agents: list[ReportAgent],
    morphologies: list[str],
    levels: list[float],
    seeds: list[int],
    ablation_step: int | None,
    ray_config: RayConfig,
) -> list[AgentResult]:
    """Every (agent, morphology, level) cell over ``seeds``, in parallel over Ray."""
    results = []
    with ray_session(ray_config):
        futures = []
        for agent in agents:
            step = agent.task["max_steps"] // 2 if ablation_step is None else ablation_step
            results.append(AgentResult(agent, step))
            ref = ray.put(agent.agent)
            futures.append(
                [
                    _evaluate_cell_remote.remote(ref, morphology, level, step, seeds)
                    for morphology in morphologies
                    for level in levels
                ]
            )
        for result, cells in zip(results, futures):
            result.cells = ray.get(cells)
    return results

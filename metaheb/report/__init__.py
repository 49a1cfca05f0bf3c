"""Robustness reports: evaluate runs' agents on damage x ablation, compare arms, write files.

``make_report`` is the whole pipeline, read top to bottom: load each run's agent (``grid``),
evaluate the grid over Ray (``grid``), group runs into arms and rank-test them (``stats``), and
write report.json / .md / .html with their figures (``documents``, ``figures``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from metaheb.agent_names import AGENTS
from metaheb.config import SEED_LIMIT, RayConfig, task_family
from metaheb.errors import UserError
from metaheb.families import FAMILY_TASKS, Family, load_family, write_family
from metaheb.report.claim import claim
from metaheb.report.documents import Grid, write_report
from metaheb.report.grid import (
    LEVELS,
    ReportAgent,
    evaluate_grid,
    grid_morphologies,
    load_report_agent,
    report_seeds,
)
from metaheb.report.profiles import family_profile
from metaheb.report.stats import compare, compared_pairs, group_arms
from metaheb.runs import check_writable
from metaheb.tasks import TASKS


def _check_arguments(
    run_dirs: Sequence[str],
    episodes: int,
    agent: str,
    seed: int,
    levels: Sequence[float],
    ablation_step: int | None,
) -> None:
    """Refuse bad report arguments in one line each, before any run is read."""
    if not run_dirs:
        raise UserError("give at least one run directory, e.g. metaheb report runs/NAME")
    if episodes < 1:
        raise UserError(f"--seeds must be at least 1, got {episodes}")
    if agent not in AGENTS:
        raise UserError(f"--agent must be one of {', '.join(AGENTS)}, got {agent!r}")
    if not 0 <= seed < SEED_LIMIT:
        raise UserError(f"--seed must be within 0..2^32-1, got {seed}")
    if ablation_step is not None and ablation_step < 0:
        raise UserError(f"--ablation-step must be >= 0, got {ablation_step}")
    for level in levels:
        if not 0.0 <= level <= 1.0:
            raise UserError(f"ablation level {level} is outside 0..1: give fractions like 0.25")
    if len({Path(run).resolve() for run in run_dirs}) < len(run_dirs):
        raise UserError("a run directory is given twice")


def make_report(
    run_dirs: Sequence[str],
    out: str | Path,
    episodes: int = 10,
    seed: int = 0,
    agent: str = "best",
    morphologies: Sequence[str] | None = None,
    levels: Sequence[float] = LEVELS,
    ablation_step: int | None = None,
    ray_config: RayConfig | None = None,
    max_steps: int | None = None,
    family: str | None = None,
) -> list[Path]:
    """Evaluate and write a report of ``run_dirs`` into ``out``; return the files written.

    ``max_steps``: every episode's length (burn-in included); None: each run's own training
    episodes' (runs trained on short episodes are judged on the paper's 1000 with 1000).
    ``family``: every body of that family too (``metaheb.families``, written under
    ``out/bodies``), and each arm's robustness profile over it (``profiles``)."""
    _check_arguments(run_dirs, episodes, agent, seed, levels, ablation_step)
    if family and 0.0 not in levels:
        raise UserError("--family profiles read unablated episodes: include 0 in --ablation")
    check_writable(out, "--out")
    agents = [load_report_agent(run, agent) for run in run_dirs]
    bodies = _family_bodies(family, agents, Path(out)) if family else None
    if max_steps is not None:
        if not max_steps > max(a.task.get("burn_in") or 0 for a in agents):
            raise UserError(f"--max-steps {max_steps} must be past every run's burn-in")
        for a in agents:
            a.task["max_steps"] = max_steps
    with_bodies = ", ".join(name for name, task in TASKS.items() if task.bodies)
    for a in agents:
        name = a.task.get("name", "ant")
        if not TASKS[task_family(name)].bodies:
            raise UserError(
                f"run {a.run!r} is a {name} run, and {name} has no bodies to damage: reports "
                f"evaluate tasks with morphologies ({with_bodies})"
            )
    steps = {a.task["max_steps"] for a in agents}
    if ablation_step is not None and ablation_step >= min(steps):
        raise UserError(f"--ablation-step {ablation_step} is past the episode end ({min(steps)})")
    grid = Grid(
        grid_morphologies(agents, list(morphologies) if morphologies else None),
        [float(level) for level in levels],
        report_seeds(seed, episodes),
        agent,
        TASKS[task_family(agents[0].task.get("name", "ant"))].unit,
    )
    results = evaluate_grid(
        agents, grid.morphologies, grid.levels, grid.seeds, ablation_step, ray_config or RayConfig()
    )
    arms = group_arms(results)
    pairs = compared_pairs(arms)
    comparisons = [c for arm, base in pairs for c in compare(arm, base)]
    profile = family_profile(bodies, results, arms) if bodies else None
    claimed = claim(results, arms, pairs)
    return write_report(Path(out), grid, results, arms, comparisons, claimed, profile)


def _family_bodies(name: str, agents: list[ReportAgent], out: Path) -> Family:
    """The family, its bodies written beside the installed ones under ``out/bodies``, and every
    run pointed at that folder (the runs' own bodies are among the installed ones)."""
    family = load_family(name)
    tasks = {a.task.get("name", "ant") for a in agents}
    if len(tasks) > 1 or next(iter(tasks)) not in FAMILY_TASKS:
        raise UserError(f"--family changes the Ant's legs: give Ant runs of one task, not {tasks}")
    folder = write_family(family, next(iter(tasks)), out / "bodies", installed=True)
    for a in agents:
        if a.task.get("morphology_dir"):
            raise UserError(
                f"run {a.run!r} trained on bodies of its own folder: --family "
                "generates bodies from the installed ones; report it without"
            )
        a.task["morphology_dir"] = str(folder.resolve())
    return family

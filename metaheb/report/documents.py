"""A report's files: ``report.json`` (every raw number), ``report.md`` and ``report.html``.

The Markdown and the HTML are two renderings (``render.py``) of one list of blocks, so they
cannot say different things; the figures are PNG files beside the Markdown. Every file is written
atomically; ``report.json`` holds no timestamp or path of this machine beyond the runs as given,
so the same runs and seeds give the same bytes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metaheb.report.blocks import Block, Figure, Table, fmt
from metaheb.report.claim import Claim
from metaheb.report.claim_document import claim_blocks, claim_json
from metaheb.report.figures import heatmap, learning_curves, recovery_curves
from metaheb.report.grid import AgentResult
from metaheb.report.profiles import FamilyProfile, profile_blocks, profile_json
from metaheb.report.render import to_html, to_markdown
from metaheb.report.stats import Arm, Comparison
from metaheb.runs import atomic_write_bytes, finite_or_null

REPORT_FORMAT = "metaheb-report"
REPORT_VERSION = 1


@dataclass
class Grid:
    """What was evaluated: shared by every agent of the report."""

    morphologies: list[str]
    levels: list[float]
    seeds: list[int]
    agent: str  # a key of runs.AGENTS
    unit: str = "m"  # the fitness's unit (the task's): metres, or pybullet's a.u.


def report_json(
    grid: Grid,
    results: list[AgentResult],
    arms: list[Arm],
    comparisons: list[Comparison],
    claim: Claim,
) -> dict[str, Any]:
    """report.json: the grid, every agent's episodes, the arms, the comparisons and the claim."""
    return {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "agent": grid.agent,
        "unit": grid.unit,
        "morphologies": grid.morphologies,
        "levels": grid.levels,
        "seeds": grid.seeds,
        "agents": [_agent_json(r) for r in results],
        "arms": [_arm_json(arm) for arm in arms],
        "comparisons": [
            {
                "arm": c.arm,
                "baseline": c.baseline,
                "morphology": c.morphology,
                "level": c.level,
                "difference": finite_or_null(c.difference),
                "p_value": finite_or_null(c.p_value),
            }
            for c in comparisons
        ],
        "claim": claim_json(claim),
    }


def _agent_json(r: AgentResult) -> dict[str, Any]:
    """One agent: where it comes from, how it trained, and every episode of every cell."""
    return {
        "name": r.agent.name,
        "run": r.agent.run,
        "arm": r.agent.arm,
        "note": r.agent.note,
        "seen": r.agent.seen,
        "training_fitness": r.agent.agent.meta.get("fitness"),
        "generation": r.agent.agent.meta.get("generation"),
        "max_steps": r.agent.task["max_steps"],
        "ablation_step": r.ablation_step,
        "training": {
            "env_steps": r.agent.training.env_steps,
            "seconds": finite_or_null(r.agent.training.seconds),
            "generations": r.agent.training.generations,
            "heldout": [
                finite_or_null([steps, mean, std]) for steps, mean, std in r.agent.training.points
            ],
        },
        "cells": [
            {
                "morphology": c.morphology,
                "level": c.level,
                "fitness": [finite_or_null(f) for f in c.fitness],
                "steps": c.steps,
                "curve": [finite_or_null(v) for v in c.curve],
            }
            for c in r.cells
        ],
    }


def _arm_json(arm: Arm) -> dict[str, Any]:
    """One arm: its runs and, per cell, the mean and std over them."""
    return {
        "arm": arm.label,
        "runs": arm.runs,
        "cells": [
            {
                "morphology": c.morphology,
                "level": c.level,
                "mean": finite_or_null(c.mean),
                "std": finite_or_null(c.std),
                "run_means": [finite_or_null(m) for m in c.run_means],
            }
            for c in arm.cells
        ],
    }


def _seen_mark(morphology: str, seen: list[str]) -> str:
    return f"{morphology} ({'seen' if morphology in seen else 'unseen'})"


def report_blocks(
    grid: Grid,
    results: list[AgentResult],
    arms: list[Arm],
    comparisons: list[Comparison],
    claim: Claim,
) -> list[Block]:
    """The report, top to bottom: settings, arms, comparisons, each agent, recovery curves."""
    return [
        *_settings_blocks(grid, results),
        *_learning_blocks(results),
        *_arm_blocks(grid, arms, results[0].agent.seen),
        *_comparison_blocks(grid, comparisons, results[0].agent.seen),
        *claim_blocks(claim),
        *_agent_blocks(grid, results),
        *_recovery_blocks(grid, results, arms),
    ]


def _settings_blocks(grid: Grid, results: list[AgentResult]) -> list[Block]:
    """What was run: the grid's episodes, bodies and ablation levels, and each agent."""
    steps = sorted({r.ablation_step for r in results})
    header = ["run", "arm", "trained on", "training fitness", "generation (1-based)"]
    rows = [
        [
            r.agent.name,
            f"{r.agent.arm} ({r.agent.note})" if r.agent.note else r.agent.arm,
            ", ".join(r.agent.seen),
            fmt(r.agent.agent.meta.get("fitness")),
            _generation(r.agent.agent.meta.get("generation")),
            f"{r.agent.training.env_steps:,}",
            fmt(r.agent.training.points[-1][1] if r.agent.training.points else None),
        ]
        for r in results
    ]
    return [
        ("h1", "Robustness report"),
        (
            "p",
            f"Each run's {grid.agent} agent, {len(grid.seeds)} seeded episodes per cell (the same "
            f"seeds for every agent), on {len(grid.morphologies)} morphologies x "
            f"{len(grid.levels)} ablation levels (that fraction of all weights zeroed at step "
            f"{', '.join(map(str, steps))}). Fitness: distance walked along x, in {grid.unit}. "
            "Seen: a morphology the agent trained on.",
        ),
        ("h2", "Agents"),
        ("table", Table([*header, "env steps", "held-out centre, last"], rows)),
    ]


def _level_names(grid: Grid) -> list[str]:
    return [f"{level:.0%} ablated" for level in grid.levels]


def _arm_blocks(grid: Grid, arms: list[Arm], seen: list[str]) -> list[Block]:
    """Each arm's mean +- std over its runs, per body and ablation level."""
    blocks: list[Block] = [
        ("h2", "Arms: mean +- std over runs"),
        (
            "p",
            "An arm is the runs that differ only in their seed. With several runs, the std is "
            "across the runs' mean fitness; with one run, across its episodes.",
        ),
    ]
    for arm in arms:
        rows = [
            [_seen_mark(m, seen)]
            + [f"{fmt(c.mean)} +- {fmt(c.std)}" for c in (arm.cell(m, x) for x in grid.levels)]
            for m in grid.morphologies
        ]
        blocks += [
            ("h3", f"{arm.label} ({len(arm.runs)} run{'s' * (len(arm.runs) > 1)})"),
            ("table", Table(["morphology", *_level_names(grid)], rows)),
        ]
    return blocks


def _comparison_blocks(grid: Grid, comparisons: list[Comparison], seen: list[str]) -> list[Block]:
    """Each compared pair of arms: the difference per cell and its rank test."""
    pairs = list(dict.fromkeys((c.arm, c.baseline) for c in comparisons))
    if not pairs:
        return []
    blocks: list[Block] = [
        ("h2", "Comparisons"),
        (
            "p",
            "Difference of the arms' mean fitness per cell, and the two-sided Mann-Whitney U "
            "test's p-value on their pooled episodes.",
        ),
    ]
    for arm, baseline in pairs:
        cells = {
            (c.morphology, c.level): c
            for c in comparisons
            if (c.arm, c.baseline) == (arm, baseline)
        }
        rows = [
            [_seen_mark(m, seen)]
            + [
                f"{fmt(cells[m, x].difference, sign=True)} (p={fmt(cells[m, x].p_value, 3)})"
                for x in grid.levels
            ]
            for m in grid.morphologies
        ]
        blocks += [
            ("h3", f"{arm} against {baseline}"),
            ("table", Table(["morphology", *_level_names(grid)], rows)),
        ]
    return blocks


def _agent_blocks(grid: Grid, results: list[AgentResult]) -> list[Block]:
    """Each agent's mean +- std over its episodes, and its heatmap."""
    blocks: list[Block] = [("h2", "Agents: mean +- std over episodes")]
    scale = _fitness_range(results)  # one colour scale: heatmaps compare at a glance
    for index, r in enumerate(results, 1):
        rows = [
            [_seen_mark(m, r.agent.seen)] + [_mean_std(r.cell(m, x).fitness) for x in grid.levels]
            for m in grid.morphologies
        ]
        blocks += [
            ("h3", f"{r.agent.name} ({r.agent.arm})"),
            ("table", Table(["morphology", *_level_names(grid)], rows)),
            (
                "figure",
                Figure(
                    f"heatmap-{index:02d}-{_slug(r.agent.name)}.png",
                    heatmap(r, grid.morphologies, grid.levels, scale),
                    f"{r.agent.name}: mean fitness per morphology and ablation level",
                ),
            ),
        ]
    return blocks


def _recovery_blocks(grid: Grid, results: list[AgentResult], arms: list[Arm]) -> list[Block]:
    """Per arm, the distance walked over the episode at each ablation level."""
    blocks: list[Block] = [("h2", "Recovery curves")]
    distance = _curve_range(results)  # one y-range: the same body reads alike in every arm
    for index, arm in enumerate(arms, 1):
        members = [r for r in results if r.agent.arm == arm.label]
        blocks.append(
            (
                "figure",
                Figure(
                    f"recovery-{index:02d}-{_slug(arm.label)}.png",
                    recovery_curves(members, grid.morphologies, grid.levels, arm.label, distance),
                    f"{arm.label}: distance walked over the episode (mean over runs and seeds); "
                    "dashed: the ablation step",
                ),
            )
        )
    return blocks


def _learning_blocks(results: list[AgentResult]) -> list[Block]:
    """How each run learned: its held-out centre against training env steps, if it was scored."""
    curves = [(r.agent.arm, r.agent.training.points) for r in results if r.agent.training.points]
    if not curves:
        return []
    title = "search centre on held-out episodes, each run"
    return [
        ("h2", "Learning curves"),
        (
            "figure",
            Figure(
                "learning.png",
                learning_curves(curves, title),
                "each run's search centre, mean fitness on its held-out episodes (evolve.eval_*), "
                "against the env steps of its training episodes",
            ),
        ),
    ]


def _generation(value: int | None) -> str:
    return "-" if value is None else str(value + 1)  # as training prints it: gen 1 is the first


def _mean_std(values: list[float]) -> str:
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return f"{fmt(mean)} +- {fmt(std)}"


def _slug(text: str) -> str:
    """A file-name part safe in a Markdown link: letters, digits, dots and dashes only."""
    return "".join(ch if ch.isalnum() or ch in "._" else "-" for ch in text).strip("-.") or "run"


def _finite_range(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return (0.0, 1.0)
    low, high = min(finite), max(finite)
    return (low, high) if high > low else (low - 0.5, high + 0.5)


def _fitness_range(results: list[AgentResult]) -> tuple[float, float]:
    """The span of every cell's mean fitness, over all agents of the report."""
    means = [sum(c.fitness) / len(c.fitness) for r in results for c in r.cells]
    return _finite_range(means)


def _curve_range(results: list[AgentResult]) -> tuple[float, float]:
    """The span of every recovery curve of the report, padded by 5%."""
    low, high = _finite_range([v for r in results for c in r.cells for v in c.curve])
    pad = 0.05 * (high - low)
    return (low - pad, high + pad)


def write_report(
    out: Path,
    grid: Grid,
    results: list[AgentResult],
    arms: list[Arm],
    comparisons: list[Comparison],
    claim: Claim,
    profile: FamilyProfile | None = None,
) -> list[Path]:
    """Write report.json, the figures, report.md and report.html into ``out``; return them.

    Every file's bytes are made before the first is written, so a failure leaves nothing new.
    ``profile``: a body family's robustness profiles, a section of their own.
    """
    document = report_json(grid, results, arms, comparisons, claim)
    blocks = report_blocks(grid, results, arms, comparisons, claim)
    if profile is not None:
        document["family"] = profile_json(profile)
        blocks += profile_blocks(profile, grid.unit)
    data = json.dumps(document, indent=1) + "\n"
    files = {Path("figures") / value.name: value.png for kind, value in blocks if kind == "figure"}
    files[Path("report.json")] = data.encode()
    files[Path("report.md")] = to_markdown(blocks).encode()
    files[Path("report.html")] = to_html(blocks).encode()
    for name, content in files.items():
        atomic_write_bytes(out / name, content)
    # A report written again into the same folder keeps no figure of the one before.
    for stale in sorted((out / "figures").glob("*.png")):
        if stale.relative_to(out) not in files and stale.name.startswith(("heatmap-", "recovery-")):
            stale.unlink()
    return [out / name for name in files]

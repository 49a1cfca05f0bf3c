"""The numbers of a report: per-cell summaries, arms over seeds, and rank tests between arms.

An arm is the runs that share their settings but the seed (``grid.arm_label``). A cell of an
arm is summarised over its runs: the mean and standard deviation of the runs' mean fitness
(over seeds of evolution, as the paper reports), and the episodes pooled. Two arms are compared
cell by cell with the two-sided Mann-Whitney U test on the pooled episodes (a rank test: no
normality assumed, robust to the heavy tails of falls), p-values as scipy computes them.
Compared pairs: every plastic arm against every static arm, and every bottleneck arm against
the per-synapse arm of the same rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import mannwhitneyu

from metaheb.report.grid import AgentResult


@dataclass
class ArmCell:
    morphology: str
    level: float
    run_means: list[float]  # one per run of the arm
    episodes: list[float]  # every episode of every run

    @property
    def mean(self) -> float:
        return float(np.mean(self.run_means))

    @property
    def std(self) -> float:
        """Across runs when the arm has several, else across the one run's episodes."""
        return float(np.std(self.run_means if len(self.run_means) > 1 else self.episodes))


@dataclass
class Arm:
    label: str
    runs: list[str]
    cells: list[ArmCell]

    def cell(self, morphology: str, level: float) -> ArmCell:
        return next(c for c in self.cells if c.morphology == morphology and c.level == level)


@dataclass
class Comparison:
    arm: str
    baseline: str
    morphology: str
    level: float
    difference: float  # mean of arm minus mean of baseline
    p_value: float


def group_arms(results: list[AgentResult]) -> list[Arm]:
    """Results grouped by arm, in order of first appearance."""
    arms: dict[str, list[AgentResult]] = {}
    for result in results:
        arms.setdefault(result.agent.arm, []).append(result)
    grouped = []
    for label, members in arms.items():
        cells = [
            ArmCell(
                cell.morphology,
                cell.level,
                [float(np.mean(m.cell(cell.morphology, cell.level).fitness)) for m in members],
                [f for m in members for f in m.cell(cell.morphology, cell.level).fitness],
            )
            for cell in members[0].cells
        ]
        grouped.append(Arm(label, [m.agent.name for m in members], cells))
    return grouped


def compared_pairs(arms: list[Arm]) -> list[tuple[Arm, Arm]]:
    """(arm, baseline): plastic against static; a bottleneck or merged arm against per-synapse
    rules and a modulated arm against the same rules unmodulated (the label before " K=",
    " merged" or " modulated"); a merged arm also against the fixed bottlenecks of its rules,
    the other way of sharing them (Pedersen & Risi 2021)."""
    static = [a for a in arms if a.label == "static"]
    plastic = [a for a in arms if a.label != "static"]
    pairs = [(arm, base) for base in static for arm in plastic]
    for arm in plastic:
        for marker in (" K=", " merged", " modulated"):
            if marker in arm.label:
                plain = arm.label.split(marker)[0]
                pairs += [(arm, base) for base in plastic if base.label == plain]
                if marker == " merged":
                    fixed = plain + " K="
                    pairs += [(arm, base) for base in plastic if base.label.startswith(fixed)]
                break
    return pairs


def compare(arm: Arm, baseline: Arm) -> list[Comparison]:
    """Per cell: the difference of means and the rank test's p-value (NaN if undefined)."""
    comparisons = []
    for cell in arm.cells:
        base = baseline.cell(cell.morphology, cell.level)
        comparisons.append(
            Comparison(
                arm.label,
                baseline.label,
                cell.morphology,
                cell.level,
                cell.mean - base.mean,
                rank_test(cell.episodes, base.episodes),
            )
        )
    return comparisons


def rank_test(first: list[float], second: list[float]) -> float:
    """Two-sided Mann-Whitney U p-value; NaN when a sample is empty or holds a NaN."""
    a, b = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    if not len(a) or not len(b) or np.isnan(a).any() or np.isnan(b).any():
        return math.nan
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)

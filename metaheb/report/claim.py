"""The paper's damage claim as numbers: unseen/seen ratios, their difference, and recovery.

Najarro & Risi (2020) evolve on some bodies and test on an unseen damaged leg; their claim is
that the Hebbian network keeps more of its gait there than the static one. Distances differ
across simulators, so the claim is compared as a ratio: an arm's mean distance on an unseen body
over its mean distance on the bodies it was trained on (no ablation).

- **Ratio and interval**: the resampling unit is one (run, report seed): its distance on the
  unseen body and its mean over the seen bodies, so runs and episodes are both resampled.
  95% percentile bootstrap (``scipy.stats.bootstrap``, paired).
- **Difference of ratios** between a plastic and a static arm: bootstrap interval (the two arms
  resampled independently) and a two-sided permutation test of the units' arm labels
  (``scipy.stats.permutation_test``).
- **Recovery after ablation** (the paper's recovery experiment): the distance walked in each
  100-step window, for every ablation level, beside the unablated episode's same window. A drop
  after the ablation step that closes by the last window is re-learning; no drop at all is
  insensitivity; a drop that stays is lasting damage.

Every resampling is seeded, so a report's numbers are reproducible to the bit.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import bootstrap, permutation_test

from metaheb.config import task_family
from metaheb.report.grid import CURVE_EVERY, AgentResult
from metaheb.report.stats import Arm
from metaheb.tasks import TASKS

RESAMPLES = 9999
CONFIDENCE = 0.95
WINDOW = 100  # env steps per recovery window
SEED = 0  # of every resampling


@dataclass
class Ratio:
    arm: str
    unseen: str
    seen_mean: float  # mean distance over the seen bodies
    unseen_mean: float
    value: float  # unseen_mean / seen_mean; NaN when the arm does not walk on the seen bodies
    low: float
    high: float


@dataclass
class RatioDifference:
    arm: str
    baseline: str
    unseen: str
    value: float  # ratio of arm minus ratio of baseline
    low: float
    high: float
    p_value: float


@dataclass
class Recovery:
    arm: str
    morphology: str
    level: float
    ablation_step: int
    window_starts: list[int]
    distance: list[float]  # walked in each window, mean over runs and seeds
    unablated: list[float]  # the same windows at ablation level 0
    walking: float = 0.1  # the least distance per window that is a walk, in fitness units


def units(members: list[AgentResult], unseen: str) -> tuple[np.ndarray, np.ndarray]:
    """Per (run, seed): distance on ``unseen``, and mean distance on the runs' seen bodies."""
    on_unseen, on_seen = [], []
    for member in members:
        seen = member.agent.seen
        on_unseen += member.cell(unseen, 0.0).fitness
        per_body = np.array([member.cell(body, 0.0).fitness for body in seen])
        on_seen += list(per_body.mean(axis=0))
    return np.asarray(on_unseen, dtype=np.float64), np.asarray(on_seen, dtype=np.float64)


def _ratio(unseen: np.ndarray, seen: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(unseen, axis=axis) / np.mean(seen, axis=axis)


def percentile_interval(data: tuple, statistic, paired: bool = False) -> tuple[float, float]:
    """The seeded 95% percentile bootstrap interval of ``statistic`` over ``data``."""
    result = bootstrap(
        data,
        statistic,
        paired=paired,
        vectorized=True,
        n_resamples=RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        rng=np.random.default_rng(SEED),
    )
    low, high = result.confidence_interval
    return float(low), float(high)


def unseen_ratio(arm: str, members: list[AgentResult], unseen: str) -> Ratio:
    """The arm's unseen/seen ratio with its 95% bootstrap interval over runs and episodes."""
    on_unseen, on_seen = units(members, unseen)
    seen_mean, unseen_mean = float(on_seen.mean()), float(on_unseen.mean())
    if seen_mean <= 0 or len(on_seen) < 2:
        return Ratio(arm, unseen, seen_mean, unseen_mean, math.nan, math.nan, math.nan)
    low, high = percentile_interval((on_unseen, on_seen), _ratio, paired=True)
    return Ratio(arm, unseen, seen_mean, unseen_mean, unseen_mean / seen_mean, low, high)


def ratio_difference(
    arm: tuple[str, list[AgentResult]], baseline: tuple[str, list[AgentResult]], unseen: str
) -> RatioDifference:
    """Ratio of ``arm`` minus that of ``baseline``: bootstrap interval and permutation p-value."""
    (label, members), (base_label, base_members) = arm, baseline
    first, second = units(members, unseen), units(base_members, unseen)
    if min(first[1].mean(), second[1].mean()) <= 0 or min(len(first[0]), len(second[0])) < 2:
        return RatioDifference(label, base_label, unseen, math.nan, math.nan, math.nan, math.nan)
    # Resample indices, so each unit keeps its (unseen, seen) pair together.
    on_unseen = np.concatenate([first[0], second[0]])
    on_seen = np.concatenate([first[1], second[1]])
    a, b = np.arange(len(first[0])), np.arange(len(first[0]), len(on_unseen))

    def difference(i: np.ndarray, j: np.ndarray, axis: int = -1) -> np.ndarray:
        return _ratio(on_unseen[i], on_seen[i], axis) - _ratio(on_unseen[j], on_seen[j], axis)

    low, high = percentile_interval((a, b), difference)
    test = permutation_test(
        (a, b),
        difference,
        permutation_type="independent",
        vectorized=True,
        n_resamples=RESAMPLES,
        alternative="two-sided",
        rng=np.random.default_rng(SEED),
    )
    value = float(difference(a, b))
    return RatioDifference(label, base_label, unseen, value, low, high, float(test.pvalue))


def windows(curve: list[float], final: float, max_steps: int) -> tuple[list[int], list[float]]:
    """Distance walked in each ``WINDOW``-step window of an episode, from its recovery curve."""
    points = np.append(np.asarray(curve, dtype=np.float64), final)  # after steps 0, 10, ..., end
    steps = np.append(np.arange(len(curve)) * CURVE_EVERY, max_steps)
    starts = list(range(0, max_steps, WINDOW))
    at = [float(np.interp(step, steps, points)) for step in [*starts, max_steps]]
    return starts, [end - start for start, end in itertools.pairwise(at)]


def recovery(arm: str, members: list[AgentResult], morphology: str, level: float) -> Recovery:
    """The arm's distance per window at ``level``, beside the same windows unablated."""
    max_steps = members[0].agent.task["max_steps"]

    def mean_windows(at_level: float) -> tuple[list[int], list[float]]:
        per_run = []
        for member in members:
            cell = member.cell(morphology, at_level)
            starts, distance = windows(cell.curve, float(np.mean(cell.fitness)), max_steps)
            per_run.append(distance)
        return starts, [float(v) for v in np.mean(per_run, axis=0)]

    starts, distance = mean_windows(level)
    _, unablated = mean_windows(0.0)
    task = TASKS[task_family(members[0].agent.task.get("name", "ant"))]
    walking = WALKING * task.per_metre
    return Recovery(
        arm, morphology, level, members[0].ablation_step, starts, distance, unablated, walking
    )


LOSS = 0.1  # a window this much below its unablated twin is a drop, not noise
# Below this distance per window (0.1 m per 100 steps: 1 m per 1000) the unablated episode is not
# walking, and a ratio of two windows is noise over noise. In metres: a task's per_metre converts.
WALKING = 0.1


def window_pair(recovery: Recovery) -> tuple[int, int, int]:
    """Indices of the windows just before and just after the ablation step, and of the last."""
    starts = recovery.window_starts
    after = next((k for k, start in enumerate(starts) if start >= recovery.ablation_step), -1)
    after = after if after >= 0 else len(starts) - 1
    return max(after - 1, 0), after, len(starts) - 1


def recovery_kind(recovery: Recovery) -> str:
    """How an ablated episode reads against the unablated one, from two windows' distances.

    ``insensitive``: neither the window after the ablation nor the last window lose ``LOSS`` of
    the unablated distance; ``re-learning``: the window after does, and the last window has won
    back at least half of that loss; ``lasting damage``: otherwise. ``no walk`` when the
    unablated episode walks less than ``WALKING`` metres in either window (nothing to lose).
    """
    _, after, last = window_pair(recovery)
    if min(recovery.unablated[after], recovery.unablated[last]) < recovery.walking:
        return "no walk"
    loss_after = 1 - recovery.distance[after] / recovery.unablated[after]
    loss_last = 1 - recovery.distance[last] / recovery.unablated[last]
    if loss_after < LOSS and loss_last < LOSS:
        return "insensitive"
    if loss_after >= LOSS and loss_last <= loss_after / 2:
        return "re-learning"
    return "lasting damage"


@dataclass
class Claim:
    ratios: list[Ratio]
    differences: list[RatioDifference]
    recoveries: list[Recovery]


def claim(results: list[AgentResult], arms: list[Arm], pairs: list[tuple[Arm, Arm]]) -> Claim:
    """Every arm's ratio on every unseen body, every compared pair's difference, all recoveries."""
    members = {arm.label: [r for r in results if r.agent.arm == arm.label] for arm in arms}
    bodies = [c.morphology for c in results[0].cells if c.level == 0.0]
    unseen = [body for body in bodies if body not in results[0].agent.seen]
    ratios = [unseen_ratio(arm.label, members[arm.label], body) for arm in arms for body in unseen]
    differences = [
        ratio_difference((arm.label, members[arm.label]), (base.label, members[base.label]), body)
        for arm, base in pairs
        for body in unseen
    ]
    levels = sorted({c.level for c in results[0].cells})
    recoveries = [
        recovery(arm.label, members[arm.label], body, level)
        for arm in arms
        for body in bodies
        for level in levels
        if level > 0
    ]
    return Claim(ratios, differences, recoveries)

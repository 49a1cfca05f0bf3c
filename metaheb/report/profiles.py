"""Robustness profiles over a body family: distance against the scale of a leg, per arm.

A family (``metaheb.families``) scales leg segments; each panel of a profile is one set of legs
and one segment (``front_left lower``), its points the family's scales plus the intact body at
scale 1, each the arm's mean distance over its runs and episodes (no ablation). One number per
arm sums a profile up: its area, the distance averaged over the scale range (the trapezoid
integral over the scales, divided by their span) and then over the panels, in the task's unit.
The area is computed per unit (a run and one episode seed: every body walked on the same seed),
so its 95% interval is a percentile bootstrap over units, as the claim's ratios are
(``metaheb.report.claim``); two arms' difference resamples each arm's units independently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from metaheb.families import Family, FamilyBody
from metaheb.report.claim import percentile_interval
from metaheb.report.figures import png_bytes
from metaheb.report.grid import AgentResult
from metaheb.report.stats import Arm, compared_pairs
from metaheb.runs import finite_or_null


@dataclass
class Panel:
    legs: str  # e.g. "front_left" or "front_left+front_right"
    segment: str
    scales: list[float]  # rising, 1.0 (the intact body) among them
    bodies: list[str]  # the body at each scale

    @property
    def title(self) -> str:
        return f"{self.legs.replace('+', ' + ')} {self.segment}"


@dataclass
class ArmProfile:
    arm: str
    runs: int
    means: dict[str, list[float]]  # panel title -> mean distance at each scale
    area: float
    interval: tuple[float, float]
    units: np.ndarray  # the area of each (run, episode) unit
    # The area over the intact body's distance: how much of its gait the arm keeps across the
    # family, whatever its gait's length (a paired bootstrap over units, as the claim's ratios).
    relative: float = math.nan
    relative_interval: tuple[float, float] = (math.nan, math.nan)


@dataclass
class AreaDifference:
    arm: str
    baseline: str
    difference: float
    interval: tuple[float, float]


@dataclass
class FamilyProfile:
    family: str
    panels: list[Panel]
    arms: list[ArmProfile]
    differences: list[AreaDifference]
    seen: list[str]


def panels(family: Family) -> list[Panel]:
    """The family's bodies grouped by legs and segment, each with the intact body at scale 1."""
    grouped: dict[tuple[str, str], list[FamilyBody]] = {}
    for body in family.bodies:
        grouped.setdefault((body.legs, body.segment), []).append(body)
    made = []
    for (legs, segment), bodies in grouped.items():
        points = sorted([(b.scale, b.name) for b in bodies] + [(1.0, "intact")])
        made.append(Panel(legs, segment, [s for s, _ in points], [n for _, n in points]))
    return made


def family_profile(family: Family, results: list[AgentResult], arms: list[Arm]) -> FamilyProfile:
    """Every arm's profile and area with its interval, and the compared pairs' differences."""
    shown = panels(family)
    profiles = {arm.label: _arm_profile(arm, results, shown) for arm in arms}
    differences = [
        _difference(profiles[arm.label], profiles[base.label]) for arm, base in compared_pairs(arms)
    ]
    return FamilyProfile(
        family.name, shown, list(profiles.values()), differences, results[0].agent.seen
    )


def _arm_profile(arm: Arm, results: list[AgentResult], shown: list[Panel]) -> ArmProfile:
    members = [r for r in results if r.agent.arm == arm.label]
    # distance[panel][unit, scale]: units are (run, episode) pairs, episodes paired by seed
    distance = {
        panel.title: np.concatenate(
            [np.array([m.cell(b, 0.0).fitness for b in panel.bodies]).T for m in members]
        )
        for panel in shown
    }
    units = np.mean([_areas(distance[p.title], p.scales) for p in shown], axis=0)
    intact = np.concatenate([m.cell("intact", 0.0).fitness for m in members])
    means = {title: [float(v) for v in d.mean(axis=0)] for title, d in distance.items()}
    profile = ArmProfile(
        arm.label, len(members), means, float(units.mean()), _interval(units), units
    )
    if intact.mean() > 0 and len(units) >= 2:
        profile.relative = float(units.mean() / intact.mean())
        profile.relative_interval = percentile_interval(
            (units, intact), lambda a, b, axis=-1: a.mean(axis=axis) / b.mean(axis=axis), True
        )
    return profile


def _areas(distance: np.ndarray, scales: list[float]) -> np.ndarray:
    """Per unit: the trapezoid integral of distance over scale, divided by the scale span."""
    x = np.asarray(scales, dtype=np.float64)
    return np.trapezoid(distance, x, axis=1) / (x[-1] - x[0])


def _interval(units: np.ndarray) -> tuple[float, float]:
    if len(units) < 2 or np.ptp(units) == 0:
        return (math.nan, math.nan)
    return percentile_interval((units,), lambda u, axis=-1: np.mean(u, axis=axis))


def _difference(arm: ArmProfile, base: ArmProfile) -> AreaDifference:
    def statistic(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean(a, axis=axis) - np.mean(b, axis=axis)

    value = arm.area - base.area
    if min(len(arm.units), len(base.units)) < 2:
        return AreaDifference(arm.arm, base.arm, value, (math.nan, math.nan))
    return AreaDifference(
        arm.arm, base.arm, value, percentile_interval((arm.units, base.units), statistic)
    )


def profile_figure(profile: FamilyProfile, unit: str) -> bytes:
    """Distance against scale, one panel per legs and segment, one line per arm; a ring marks a
    body the runs trained on, a dotted line the intact body's scale."""
    count = len(profile.panels)
    columns = min(count, 4)
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(3.4 * columns, 2.8 * rows + 0.5))
    axes = np.atleast_1d(figure.subplots(rows, columns, sharey=True, squeeze=False)).ravel()
    for axis, panel in zip(axes, profile.panels):
        for k, arm in enumerate(profile.arms):
            means = arm.means[panel.title]
            axis.plot(panel.scales, means, marker=".", color=f"C{k}", label=arm.arm)
            for scale, body, mean in zip(panel.scales, panel.bodies, means):
                if body in profile.seen:
                    axis.scatter([scale], [mean], s=90, facecolors="none", edgecolors="black")
        axis.axvline(1.0, color="grey", linewidth=0.6, linestyle=":")
        axis.set_title(panel.title, fontsize=9)
        axis.set_xlabel("segment length scale")
    for axis in axes[count:]:
        axis.set_visible(False)
    for axis in axes[::columns]:
        axis.set_ylabel(f"distance ({unit})")
    axes[0].legend(fontsize=7)
    figure.suptitle(f"family {profile.family}: mean distance per body (ring: a seen body)", size=10)
    return png_bytes(figure)


def profile_blocks(profile: FamilyProfile, unit: str) -> list:
    """The report's section on the family: the figure, each arm's area, the differences."""
    from metaheb.report.blocks import Figure as FigureBlock
    from metaheb.report.blocks import Table, fmt

    bodies = sum(len(panel.bodies) - 1 for panel in profile.panels)
    rows = [
        [
            a.arm,
            str(a.runs),
            fmt(a.area),
            f"[{fmt(a.interval[0])}, {fmt(a.interval[1])}]",
            f"{fmt(a.relative)} [{fmt(a.relative_interval[0])}, {fmt(a.relative_interval[1])}]",
        ]
        for a in profile.arms
    ]
    differences = [
        [
            f"{d.arm} - {d.baseline}",
            fmt(d.difference, sign=True),
            f"[{fmt(d.interval[0], sign=True)}, {fmt(d.interval[1], sign=True)}]",
        ]
        for d in profile.differences
    ]
    blocks = [
        ("h2", f"Robustness profiles: family {profile.family}"),
        (
            "p",
            f"{bodies} bodies of the family `{profile.family}` and the intact one, unablated. "
            f"Area: the mean distance over each panel's scale range, averaged over the panels "
            f"({unit}); 95% percentile bootstrap over (run, episode) units.",
        ),
        ("figure", FigureBlock("profile.png", profile_figure(profile, unit), "profiles")),
        ("table", Table(["arm", "runs", f"area ({unit})", "95% CI", "area / intact"], rows)),
    ]
    if differences:
        blocks.append(
            ("table", Table(["arm - baseline", "area difference", "95% CI"], differences))
        )
    return blocks


def profile_json(profile: FamilyProfile) -> dict:
    """report.json's ``family`` entry: panels, each arm's profile and area, the differences."""

    return {
        "name": profile.family,
        "panels": [
            {"legs": p.legs, "segment": p.segment, "scales": p.scales, "bodies": p.bodies}
            for p in profile.panels
        ],
        "arms": [
            {
                "arm": a.arm,
                "runs": a.runs,
                "means": a.means,
                "area": finite_or_null(a.area),
                "interval": [finite_or_null(v) for v in a.interval],
                "relative": finite_or_null(a.relative),
                "relative_interval": [finite_or_null(v) for v in a.relative_interval],
            }
            for a in profile.arms
        ],
        "differences": [
            {
                "arm": d.arm,
                "baseline": d.baseline,
                "difference": finite_or_null(d.difference),
                "interval": [finite_or_null(v) for v in d.interval],
            }
            for d in profile.differences
        ],
    }

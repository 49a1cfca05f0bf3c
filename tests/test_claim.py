"""The damage claim's numbers: ratios with bootstrap intervals, differences, recovery windows."""

import math

import numpy as np
import pytest

from metaheb.report.claim import (
    WINDOW,
    Recovery,
    claim,
    ratio_difference,
    recovery,
    recovery_kind,
    units,
    unseen_ratio,
    windows,
)
from metaheb.report.claim_document import claim_blocks
from metaheb.report.grid import CURVE_EVERY, AgentResult, Cell, ReportAgent
from metaheb.report.stats import compared_pairs, group_arms
from metaheb.runs import Agent

SEEN = ["intact", "front_right_lower_x0.25"]
MAX_STEPS = 1000


def straight(speed: float, seeds: int) -> list[float]:
    """The recovery curve of walking ``speed`` metres per step from step 0."""
    return [speed * step for step in range(0, MAX_STEPS, CURVE_EVERY)]


def member(arm: str, name: str, distances: dict[str, list[float]], levels=(0.0,)) -> AgentResult:
    agent = Agent(np.zeros(1, np.float32), {"task": {"max_steps": MAX_STEPS}})
    result = AgentResult(ReportAgent(name, name, arm, agent, SEEN), ablation_step=500)
    for body, fitness in distances.items():
        for level in levels:
            curve = straight(np.mean(fitness) / MAX_STEPS, len(fitness))
            result.cells.append(Cell(body, level, list(fitness), [MAX_STEPS] * len(fitness), curve))
    return result


def arm_of(arm: str, rng: np.random.Generator, seen: float, unseen: float, runs=3, seeds=10):
    return [
        member(
            arm,
            f"{arm}-{k}",
            {
                "intact": list(rng.normal(seen, 1.0, seeds)),
                "front_right_lower_x0.25": list(rng.normal(seen, 1.0, seeds)),
                "front_left_lower_x0.25": list(rng.normal(unseen, 1.0, seeds)),
            },
        )
        for k in range(runs)
    ]


def test_a_unit_is_a_run_and_seed_with_its_unseen_and_mean_seen_distance():
    bodies = ("intact", "front_right_lower_x0.25", "front_left_lower_x0.25")
    runs = [
        member("a", "r0", dict(zip(bodies, ([2, 4], [6, 8], [1, 3])))),
        member("a", "r1", dict(zip(bodies, ([10, 10], [0, 2], [5, 7])))),
    ]
    on_unseen, on_seen = units(runs, "front_left_lower_x0.25")
    assert on_unseen.tolist() == [1, 3, 5, 7]
    assert on_seen.tolist() == [4, 6, 5, 6]
    ratio = unseen_ratio("a", runs, "front_left_lower_x0.25")
    assert ratio.value == pytest.approx(4 / 5.25)
    assert ratio.low <= ratio.value <= ratio.high


def test_the_interval_is_a_percentile_bootstrap_over_units():
    rng = np.random.default_rng(1)
    runs = arm_of("hebbian", rng, seen=10.0, unseen=5.0)
    ratio = unseen_ratio("hebbian", runs, "front_left_lower_x0.25")
    # The same interval by hand: resample (run, seed) units, take the 2.5 and 97.5 percentiles.
    on_unseen, on_seen = units(runs, "front_left_lower_x0.25")
    picks = np.random.default_rng(7).integers(0, len(on_seen), (4000, len(on_seen)))
    by_hand = on_unseen[picks].mean(axis=1) / on_seen[picks].mean(axis=1)
    assert ratio.low == pytest.approx(np.percentile(by_hand, 2.5), abs=0.01)
    assert ratio.high == pytest.approx(np.percentile(by_hand, 97.5), abs=0.01)
    again = unseen_ratio("hebbian", runs, "front_left_lower_x0.25")
    assert (again.low, again.high) == (ratio.low, ratio.high)  # seeded: bit for bit


def test_a_real_difference_of_ratios_is_found_and_none_is_not_invented():
    rng = np.random.default_rng(2)
    hebbian = arm_of("hebbian", rng, seen=10.0, unseen=8.0)
    static = arm_of("static", rng, seen=10.0, unseen=2.0)
    found = ratio_difference(("hebbian", hebbian), ("static", static), "front_left_lower_x0.25")
    assert found.value == pytest.approx(0.6, abs=0.05)
    assert 0 < found.low < found.value < found.high and found.p_value < 0.001
    twin = arm_of("static-twin", rng, seen=10.0, unseen=2.0)
    none = ratio_difference(("static-twin", twin), ("static", static), "front_left_lower_x0.25")
    assert none.low < 0 < none.high and none.p_value > 0.05


def test_an_arm_that_does_not_walk_on_its_seen_bodies_has_no_ratio():
    rng = np.random.default_rng(3)
    still = arm_of("static", rng, seen=-1.0, unseen=0.5)
    ratio = unseen_ratio("static", still, "front_left_lower_x0.25")
    assert math.isnan(ratio.value)
    hebbian = arm_of("hebbian", rng, seen=10.0, unseen=8.0)
    assert math.isnan(
        ratio_difference(("hebbian", hebbian), ("static", still), "front_left_lower_x0.25").value
    )


def test_windows_are_the_distance_walked_in_each_100_steps():
    curve = straight(0.01, 1)  # 1 m per 100 steps
    starts, distance = windows(curve, final=10.0, max_steps=MAX_STEPS)
    assert starts == list(range(0, MAX_STEPS, WINDOW))
    assert distance == pytest.approx([1.0] * 10)


def test_recovery_tells_re_learning_from_insensitivity():
    intact = member("a", "r0", {"intact": [10.0]}, levels=(0.0, 0.5))
    # Ablated at step 500: the gait stops for 200 steps, then walks at its old speed again.
    x, curve = 0.0, []
    for step in range(0, MAX_STEPS, CURVE_EVERY):
        curve.append(x)
        x += 0.0 if 500 <= step < 700 else 0.01 * CURVE_EVERY
    ablated = intact.cell("intact", 0.5)
    ablated.curve, ablated.fitness = curve, [x]
    relearned = recovery("a", [intact], "intact", 0.5)
    assert relearned.unablated == pytest.approx([1.0] * 10)
    assert relearned.distance[4] == pytest.approx(1.0)  # before the ablation: unchanged
    assert relearned.distance[5] == pytest.approx(0.0)  # right after it: stopped
    assert relearned.distance[-1] == pytest.approx(1.0)  # by the end: as before
    assert recovery_kind(relearned) == "re-learning"


def _recovery_of(distance: list[float], unablated: list[float]) -> Recovery:
    return Recovery("a", "intact", 0.5, 500, list(range(0, MAX_STEPS, WINDOW)), distance, unablated)


@pytest.mark.parametrize(
    "after, last, unablated, kind",
    [
        (0.95, 1.0, 1.0, "insensitive"),  # within 10% in both windows
        (0.0, 0.95, 1.0, "re-learning"),  # stopped, then back
        (0.2, 0.5, 1.0, "lasting damage"),  # won back less than half the 80% loss
        (0.95, 0.5, 1.0, "lasting damage"),  # fine at first, lost later
        (0.3, 0.3, -0.2, "no walk"),  # the unablated episode goes nowhere: nothing to lose
        (0.0, 0.03, 0.03, "no walk"),  # 0.3 m per 1000 steps is not walking either
    ],
)
def test_recovery_kind_reads_the_windows_after_the_ablation_and_at_the_end(
    after, last, unablated, kind
):
    distance = [1.0] * 5 + [after] + [1.0] * 3 + [last]
    assert recovery_kind(_recovery_of(distance, [unablated] * 10)) == kind


def test_the_claim_covers_every_arm_unseen_body_pair_and_level():
    rng = np.random.default_rng(4)
    results = arm_of("hebbian ABCD_lr", rng, 10.0, 6.0) + arm_of("static", rng, 10.0, 3.0)
    arms = group_arms(results)
    found = claim(results, arms, compared_pairs(arms))
    assert [(r.arm, r.unseen) for r in found.ratios] == [
        ("hebbian ABCD_lr", "front_left_lower_x0.25"),
        ("static", "front_left_lower_x0.25"),
    ]
    assert [(d.arm, d.baseline) for d in found.differences] == [("hebbian ABCD_lr", "static")]
    assert found.recoveries == []  # no ablation level in this grid
    tables = [value for kind, value in claim_blocks(found) if kind == "table"]
    ratio = found.ratios[0]
    assert tables[0].rows[0][4] == f"{ratio.value:.2f} [{ratio.low:.2f}, {ratio.high:.2f}]"


def test_each_arm_is_compared_with_static_and_with_its_own_plain_rules():
    from metaheb.report.stats import Arm

    labels = [
        "hebbian ABCD_lr",
        "static",
        "hebbian ABCD_lr K=16",
        "hebbian ABCD_lr modulated by both",
        "hebbian ABCD_lr merged to 384",
        "hebbian ABCD K=16",  # other rules: not the merged arm's fixed bottleneck
    ]
    arms = [Arm(label, [label], []) for label in labels]
    pairs = [(arm.label, base.label) for arm, base in compared_pairs(arms)]
    assert pairs == [
        ("hebbian ABCD_lr", "static"),
        ("hebbian ABCD_lr K=16", "static"),
        ("hebbian ABCD_lr modulated by both", "static"),
        ("hebbian ABCD_lr merged to 384", "static"),
        ("hebbian ABCD K=16", "static"),
        ("hebbian ABCD_lr K=16", "hebbian ABCD_lr"),
        ("hebbian ABCD_lr modulated by both", "hebbian ABCD_lr"),
        ("hebbian ABCD_lr merged to 384", "hebbian ABCD_lr"),
        ("hebbian ABCD_lr merged to 384", "hebbian ABCD_lr K=16"),
    ]

"""The results page's plain reading: a shape is claimed only when both arms walk."""

import pytest

from metaheb.report.results_page import verdict

SEEN = ["intact", "front_right_lower_x0.25"]


def report_and_rows(seen_metres: float, difference: float, interval: tuple[float, float]):
    """A report with a Hebbian and a static arm, both ``seen_metres`` on every seen body."""
    report = {
        "unit": "m",
        "agents": [{"seen": SEEN}],
        "claim": {
            "ratios": [
                {"arm": arm, "unseen": "front_left_lower_x0.25", "ratio": r, "interval": [r, r]}
                for arm, r in (("hebbian ABCD_lr", 0.5), ("static", 0.2))
            ],
            "differences": [
                {
                    "arm": "hebbian ABCD_lr",
                    "baseline": "static",
                    "unseen": "front_left_lower_x0.25",
                    "difference": difference,
                    "interval": list(interval),
                    "p_value": 0.01,
                }
            ],
        },
    }
    rows = [
        {"arm": arm, "runs": 3, "bodies": {m: (seen_metres, 1.0) for m in SEEN}}
        for arm in ("hebbian ABCD_lr", "static")
    ]
    return report, rows


@pytest.mark.parametrize(
    ("difference", "interval", "reading"),
    [
        (0.3, (0.1, 0.5), "The paper's shape reproduces"),
        (-0.3, (-0.5, -0.1), "The paper's shape is reversed"),
        (0.1, (-0.1, 0.3), "This budget does not settle the paper's shape"),
    ],
)
def test_walking_arms_get_the_shape_their_interval_shows(difference, interval, reading):
    lines = verdict(*report_and_rows(20.0, difference, interval))
    assert any(line.startswith(f"**{reading}") for line in lines)
    assert not any("does not make the paper's test" in line for line in lines)


@pytest.mark.parametrize("interval", [(0.1, 0.5), (-0.5, -0.1)])
def test_arms_that_do_not_walk_get_no_shape_either_way(interval):
    lines = verdict(*report_and_rows(2.0, sum(interval) / 2, interval))
    assert any(line.startswith("**This budget does not make the paper's test**") for line in lines)
    assert not any("shape reproduces" in line or "is reversed" in line for line in lines)

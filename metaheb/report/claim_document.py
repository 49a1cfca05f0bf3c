"""The damage claim's part of a report: its JSON and its tables (``claim.py`` makes the numbers)."""

from __future__ import annotations

import math
from typing import Any

from metaheb.report.blocks import Block, Table, fmt
from metaheb.report.claim import (
    CONFIDENCE,
    LOSS,
    RESAMPLES,
    WINDOW,
    Claim,
    Recovery,
    recovery_kind,
    window_pair,
)
from metaheb.runs import finite_or_null


def claim_json(claim: Claim) -> dict[str, Any]:
    return {
        "confidence": CONFIDENCE,
        "resamples": RESAMPLES,
        "ratios": [
            {
                "arm": r.arm,
                "unseen": r.unseen,
                "seen_mean": r.seen_mean,
                "unseen_mean": r.unseen_mean,
                "ratio": finite_or_null(r.value),
                "interval": [finite_or_null(r.low), finite_or_null(r.high)],
            }
            for r in claim.ratios
        ],
        "differences": [
            {
                "arm": d.arm,
                "baseline": d.baseline,
                "unseen": d.unseen,
                "difference": finite_or_null(d.value),
                "interval": [finite_or_null(d.low), finite_or_null(d.high)],
                "p_value": finite_or_null(d.p_value),
            }
            for d in claim.differences
        ],
        "recovery": [
            {
                "arm": r.arm,
                "morphology": r.morphology,
                "level": r.level,
                "ablation_step": r.ablation_step,
                "window": WINDOW,
                "window_starts": r.window_starts,
                "distance": r.distance,
                "unablated": r.unablated,
                "walking": r.walking,
                "reads_as": recovery_kind(r),
            }
            for r in claim.recoveries
        ],
    }


def _interval(value: float, low: float, high: float, sign: bool = False) -> str:
    if math.isnan(value):
        return "n/a (no walk on the seen bodies)"
    return f"{fmt(value, sign=sign)} [{fmt(low, sign=sign)}, {fmt(high, sign=sign)}]"


def _relative(part: float, whole: float) -> str:
    return fmt(part / whole) if whole > 0 else "-"


RECOVERY_HEADER = [
    "arm, body",
    "ablated",
    "window before",
    "window after",
    "last window",
    "after / unablated",
    "last / unablated",
    "reads as",
]


def recovery_row(recovery: Recovery) -> list[str]:
    """Windows just before and after the ablation, and the last one, against unablated."""
    before, after, last = window_pair(recovery)
    return [
        f"{recovery.arm}, {recovery.morphology}",
        f"{recovery.level:.0%}",
        *(
            f"{fmt(recovery.distance[k])} / {fmt(recovery.unablated[k])}"
            for k in (before, after, last)
        ),
        _relative(recovery.distance[after], recovery.unablated[after]),
        _relative(recovery.distance[last], recovery.unablated[last]),
        recovery_kind(recovery),
    ]


def _recovery_blocks(claim: Claim) -> list[Block]:
    """The recovery windows: distance per window, ablated over unablated, and their reading."""
    return [
        ("h2", f"Recovery after ablation: distance per {WINDOW}-step window"),
        (
            "p",
            "Each cell: distance walked in the window with the weights ablated / without. "
            "The window before the ablation must match (nothing changed yet); a drop in the "
            "window after that closes by the last window is re-learning, no drop at all is "
            "insensitivity, a drop that stays is lasting damage (reads as: a drop is a loss "
            f"of at least {LOSS:.0%}; re-learning wins back at least half of it).",
        ),
        ("table", Table(RECOVERY_HEADER, [recovery_row(r) for r in claim.recoveries])),
    ]


def claim_blocks(claim: Claim) -> list[Block]:
    """The claim's section: unseen/seen ratios, their differences, and the recovery windows."""
    blocks: list[Block] = [
        ("h2", "The damage claim: distance on unseen bodies relative to the seen ones"),
        (
            "p",
            "Ratio: an arm's mean distance on an unseen body over its mean distance on the bodies "
            f"it trained on, no ablation. Brackets: {CONFIDENCE:.0%} percentile bootstrap over "
            f"(run, seed) units ({RESAMPLES} resamples). Differences: plastic arm minus baseline, "
            "with a bootstrap interval and a two-sided permutation test of the arm labels.",
        ),
        (
            "table",
            Table(
                ["arm", "unseen body", "seen mean", "unseen mean", "unseen/seen [95% CI]"],
                [
                    [
                        r.arm,
                        r.unseen,
                        fmt(r.seen_mean),
                        fmt(r.unseen_mean),
                        _interval(r.value, r.low, r.high),
                    ]
                    for r in claim.ratios
                ],
            ),
        ),
    ]
    if claim.differences:
        blocks.append(
            (
                "table",
                Table(
                    ["arm - baseline", "unseen body", "difference of ratios [95% CI]", "p"],
                    [
                        [
                            f"{d.arm} - {d.baseline}",
                            d.unseen,
                            _interval(d.value, d.low, d.high, sign=True),
                            fmt(d.p_value, 4),
                        ]
                        for d in claim.differences
                    ],
                ),
            )
        )
    if claim.recoveries:
        blocks += _recovery_blocks(claim)
    return blocks

"""Interleaved rounds of a benchmark, and the spread of a figure over them.

These machines are shared: a figure timed twice a minute apart can move by tens of percent. A
bench therefore times every figure once per round, the rounds one after another, and reads a
ratio per round (two figures timed seconds apart see the same load). The goals are read on the
median of the rounds; the minimum and maximum show how far the machine moved it. Shared by the
benchmarks in ``scripts/``.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable


def run_rounds(measures: dict[str, Callable[[], float | None]], rounds: int) -> dict[str, list]:
    """Every measure once per round, in order, ``rounds`` times: each measure's values."""
    values: dict[str, list] = {name: [] for name in measures}
    for _ in range(rounds):
        for name, measure in measures.items():
            values[name].append(measure())
    return values


def spread(values: list[float]) -> dict[str, float]:
    """The min, median and max of a figure's rounds."""
    return {
        "min": min(values),
        "median": statistics.median(values),
        "max": max(values),
    }


def per_round_ratio(numerator: list[float], denominator: list[float]) -> list[float]:
    """Each round's own ratio of two figures timed in it."""
    return [top / bottom for top, bottom in zip(numerator, denominator)]


def show(figure: dict[str, float], digits: int = 2) -> str:
    """'min / median / max' of a spread."""
    return " / ".join(f"{figure[key]:.{digits}f}" for key in ("min", "median", "max"))

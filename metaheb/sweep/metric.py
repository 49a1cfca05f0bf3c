"""A run's sweep metric: its held-out search centre (``evolve.eval_*``), read from metrics.jsonl.

The centre, not a generation's best member: the best member is the luckiest of a population on
that generation's episodes (docs/walkers.md). Only evaluations after training began count (the
starting centre says nothing about a setting).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from metaheb.runs import read_metrics
from metaheb.sweep.spec import Metric


def heldout_points(records: list[dict[str, Any]], metric: Metric) -> list[tuple[int, float]]:
    """(env steps so far, score) of each held-out evaluation, on the metric's bodies."""
    points, steps = [], 0
    for record in records:
        steps += record["env_steps"]
        heldout = record.get("heldout")
        if heldout is not None:
            points.append((steps, _score(heldout, metric)))
    return points


def _score(heldout: dict[str, Any], metric: Metric) -> float:
    if not metric.bodies:
        value = heldout["mean"]
    else:
        per_body = heldout.get("morphologies", {})
        values = [per_body.get(body) for body in metric.bodies]
        value = None if None in values else float(np.mean(values))
    return math.nan if value is None else float(value)


def metric_value(points: list[tuple[int, float]], metric: Metric) -> float:
    """The metric over a run's evaluations so far; NaN before the first, or if none is finite."""
    scores = [score for _, score in points]
    if metric.heldout == "last":
        scores = scores[-1:]
    elif metric.heldout == "mean_last":
        scores = scores[-metric.last :]
    finite = [s for s in scores if math.isfinite(s)]
    if not finite or (metric.heldout != "best" and len(finite) < len(scores)):
        return math.nan
    return float(max(finite) if metric.heldout == "best" else np.mean(finite))


def run_metric(run_path: str | Path, metric: Metric) -> tuple[float, int, float]:
    """(metric, env steps of training, training seconds) of a run directory."""
    records = read_metrics(run_path)
    env_steps = sum(record["env_steps"] for record in records)
    seconds = sum(record["seconds"] for record in records)
    return metric_value(heldout_points(records, metric), metric), env_steps, seconds

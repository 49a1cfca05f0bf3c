"""The sweep's figure: the metric against each varied key, one panel per key."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from metaheb.report.figures import png_bytes
from metaheb.sweep.spec import SweepSpec
from metaheb.sweep.trial import SettingOutcome


def metric_by_key(spec: SweepSpec, outcomes: list[SettingOutcome], unit: str) -> bytes:
    """Per key: each run's metric (dots; hollow if its setting was pruned) and each setting's
    mean (a bar of crosses), against the key's value; log scale for a loguniform key."""
    keys = spec.keys
    figure = Figure(figsize=(3.6 * len(keys) + 0.6, 3.4))
    axes = np.atleast_1d(figure.subplots(1, len(keys)))
    for axis, key in zip(axes, keys):
        positions, labels = _positions(spec, key, outcomes)
        for outcome in outcomes:
            x = positions[_label(outcome.setting[key])]
            pruned = outcome.pruned_at is not None
            metrics = [run.metric for run in outcome.runs if math.isfinite(run.metric)]
            axis.scatter(
                [x] * len(metrics),
                metrics,
                facecolors="none" if pruned else "C0",
                edgecolors="C0",
                s=18,
            )
            if metrics and not pruned:
                axis.scatter([x], [np.mean(metrics)], marker="x", color="C3", s=40)
        if labels is not None:
            axis.set_xticks(range(len(labels)), labels, fontsize=8)
        elif _log(spec, key):
            axis.set_xscale("log")
        axis.set_xlabel(key)
        axis.set_ylabel(f"metric ({unit})")
    figure.suptitle(f"sweep {spec.path.stem}: dots runs (hollow: pruned), x setting mean", size=9)
    return png_bytes(figure)


def _positions(spec: SweepSpec, key: str, outcomes: list[SettingOutcome]):
    """x position of each value; categorical keys get evenly spaced labelled ticks."""
    values = [o.setting[key] for o in outcomes]
    declared = spec.grid.get(key) or (
        spec.sample[key].values if spec.sample[key].kind == "choice" else None
    )
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if declared is None or (numeric and len(declared) > 1 and spec.grid):
        return {_label(v): v for v in values}, None
    labels = [_label(v) for v in declared]
    return {label: i for i, label in enumerate(labels)}, labels


def _label(value: Any) -> Any:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def _log(spec: SweepSpec, key: str) -> bool:
    return key in spec.sample and spec.sample[key].kind == "loguniform"

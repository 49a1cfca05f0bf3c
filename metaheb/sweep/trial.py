"""One setting of a sweep: its runs, one per seed, advanced rung by rung in lockstep.

Each run is an ordinary metaheb run directory (``SWEEP/trials/<setting>-s<seed>``): it can be
replayed, reported and resumed like any other. A setting is judged at each pruner rung on the
mean over its seeds, so one lucky or unlucky seed does not decide it; its runs reach a rung by
``train``/``resume`` with ``pause_at``, which stops a run at its first held-out evaluation from
that many env steps on and leaves it resumable. A paused run resumed gives the numbers of an
uninterrupted one, so a pruner's pauses change nothing in a setting that goes on.
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metaheb.errors import RunStopped
from metaheb.evolve.trainer import resume, train
from metaheb.runs import read_metrics
from metaheb.sweep.metric import heldout_points, run_metric
from metaheb.sweep.spec import SweepSpec

Echo = Callable[[str], None]


@dataclass
class SeedRun:
    """One seed of a setting: where its run directory is and how far it got."""

    seed: int
    path: Path
    metric: float = math.nan
    env_steps: int = 0
    seconds: float = 0.0
    stopped: str = ""  # why the run could not go on (``RunStopped``), if it could not


@dataclass
class SettingOutcome:
    slot: int
    setting: dict[str, Any]
    runs: list[SeedRun]
    pruned_at: int | None = None  # the rung (env steps) at which the pruner stopped it
    rung_values: list[tuple[int, float]] = field(default_factory=list)

    @property
    def value(self) -> float:
        """The mean metric over the setting's seeds (NaN if any seed has none)."""
        return float(np.mean([run.metric for run in self.runs]))


def setting_name(slot: int, setting: dict[str, Any]) -> str:
    """A folder name a person can read: ``t03-lr0.07-sigma0.1`` (the last part of each key)."""
    parts = [f"{key.rsplit('.', 1)[-1]}{short(value)}" for key, value in setting.items()]
    return re.sub(r"[^A-Za-z0-9._+-]", "_", "-".join([f"t{slot:02d}", *parts]))


def short(value: Any) -> str:
    """A setting's value as a person reads it: 4 significant digits, a list as ``128x64``."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "x".join(map(short, value))
    return str(value)


def describe(setting: dict[str, Any]) -> str:
    return ", ".join(f"{key}={short(value)}" for key, value in setting.items())


def run_setting(
    spec: SweepSpec,
    slot: int,
    setting: dict[str, Any],
    trials_dir: Path,
    judge: Callable[[int, float], bool],
    echo: Echo,
) -> SettingOutcome:
    """Advance every seed's run rung by rung to the budget; ``judge(rung, mean)`` returning True
    prunes the setting there."""
    name = setting_name(slot, setting)
    runs = [SeedRun(seed, trials_dir / f"{name}-s{seed}") for seed in spec.seeds]
    outcome = SettingOutcome(slot, setting, runs)
    for rung in [*spec.pruner.rungs, None]:
        for run in runs:
            if not run.stopped:
                _advance(spec, setting, run, rung, echo)
        if rung is None or any(run.stopped for run in runs):
            break
        value = outcome.value
        outcome.rung_values.append((rung, value))
        if judge(rung, value):
            outcome.pruned_at = rung
            echo(f"  {name}: pruned at {rung / 1e6:.2f}M env steps (mean {value:.2f})")
            break
    return outcome


def _advance(
    spec: SweepSpec, setting: dict[str, Any], run: SeedRun, rung: int | None, echo: Echo
) -> None:
    """Bring one run to ``rung`` env steps (None: to the budget), then read its metric."""
    points = heldout_points(read_metrics(run.path), spec.metric)
    reached = points[-1][0] if points else 0
    if reached < (rung or spec.budget) and not _complete(run.path, spec.budget):
        try:
            _train_or_resume(spec, setting, run, rung)
        except RunStopped as err:
            run.stopped = str(err)
            echo(f"  {run.path.name}: stopped: {err}")
    run.metric, run.env_steps, run.seconds = run_metric(run.path, spec.metric)
    echo(
        f"  {run.path.name}: {run.env_steps / 1e6:.2f}M env steps, {run.seconds:.0f} s, "
        f"metric {run.metric:.2f}"
    )


def _train_or_resume(
    spec: SweepSpec, setting: dict[str, Any], run: SeedRun, rung: int | None
) -> None:
    quiet: Echo = lambda line: None  # noqa: E731 - the sweep prints one line per run and rung
    if (run.path / "checkpoint.pt").is_file():
        resume(run.path, echo=quiet, pause_at=rung)
        return
    # A folder without a checkpoint was cut off in its first generation: start it afresh.
    shutil.rmtree(run.path, ignore_errors=True)
    config = spec.run_config(setting, run.seed, run.path.parent, run.path.name)
    train(config, echo=quiet, pause_at=rung)


def _complete(path: Path, budget: int) -> bool:
    """Whether a run has spent its env-step budget (a paused one has not)."""
    if not (path / "checkpoint.pt").is_file():
        return False
    return sum(record["env_steps"] for record in read_metrics(path)) >= budget

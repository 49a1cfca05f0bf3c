"""The sweep loop over an Optuna study (Akiba et al. 2019) kept in SQLite beside the trials.

One Optuna trial is one setting of the varied keys; its runs, one per seed, use the whole Ray
cluster through metaheb's evaluator, one setting after another. Optuna keeps the study (what was
tried, what it scored, what was pruned) and supplies the samplers and pruners; metaheb keeps the
runs. A setting's slot is the number of settings finished before it was drawn, and the sampler
for slot ``i`` is seeded with ``sample.seed + i``: a sweep killed and run again draws the same
settings as an uninterrupted one. On the rerun, a setting that was running when the process
died is drawn again with its parameters, and its runs resume from their checkpoints; a finished
setting is never run again.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from metaheb.config import load_config
from metaheb.errors import UserError
from metaheb.evolve.evaluator import ray_session
from metaheb.runs import atomic_write_bytes
from metaheb.sweep.results import read_outcome, write_results
from metaheb.sweep.spec import SweepSpec
from metaheb.sweep.trial import SettingOutcome, describe, run_setting

Echo = Callable[[str], None]
STUDY = "sweep"


def run_sweep(spec: SweepSpec, out: Path, echo: Echo = print) -> Path:
    """Run (or finish) the sweep in ``out``; write results.json and results.md; return out."""
    import optuna  # heavy, and only a sweep needs it

    optuna.logging.set_verbosity(logging.WARNING)
    _claim_folder(spec, out)
    study = optuna.create_study(
        study_name=STUDY,
        storage=f"sqlite:///{out / 'study.db'}",
        load_if_exists=True,
        direction="maximize",
        pruner=_pruner(spec),
    )
    retries = _reclaim_interrupted(study)
    if len(_finished_slots(study)) < spec.settings_total:
        _run_settings(spec, out, study, retries, echo)
    results = write_results(spec, out, _outcomes(spec, study, out))
    echo(f"done: {results['best']}; see {out / 'results.md'}")
    return out


def _run_settings(spec: SweepSpec, out: Path, study, retries: list, echo: Echo) -> None:
    """Run the settings not finished yet, one after another, on one Ray session."""
    base = load_config(spec.base, list(spec.overrides))
    with ray_session(base.ray) as workers:
        echo(
            f"sweep {spec.path}: {spec.settings_total} settings x {len(spec.seeds)} seeds, "
            f"{spec.budget / 1e6:g}M env steps per run, {workers} Ray workers; folder {out}"
        )
        while len(done := _finished_slots(study)) < spec.settings_total:
            slot, trial, setting = _next_setting(spec, study, done, retries)
            echo(f"setting {slot + 1}/{spec.settings_total}: {describe(setting)}")
            outcome = run_setting(spec, slot, setting, out / "trials", _judge(trial), echo)
            _tell(study, trial, outcome)
            write_results(spec, out, _outcomes(spec, study, out))


def _claim_folder(spec: SweepSpec, out: Path) -> None:
    """A folder holds one sweep: a rerun with other settings would mix two studies."""
    out.mkdir(parents=True, exist_ok=True)
    record = out / "sweep.json"
    mine = spec.to_json()
    if record.is_file() and _identity(json.loads(record.read_text())) != _identity(mine):
        raise UserError(
            f"{out} holds another sweep (its sweep.json differs from this file and its "
            "overrides): give --out a new folder, or rerun the same sweep to finish it"
        )
    atomic_write_bytes(record, json.dumps(mine, indent=1).encode())


def _identity(spec: dict[str, Any]) -> dict[str, Any]:
    """What makes two sweeps the same: all but where the file sits and how many Ray workers run
    it (a seed fixes a run whatever the workers, so a sweep may finish on another cluster)."""
    same = {key: value for key, value in spec.items() if key != "path"}
    same["overrides"] = [o for o in spec.get("overrides", []) if not o.startswith("ray.")]
    return same


def _pruner(spec: SweepSpec):
    import optuna

    pruner = spec.pruner
    if pruner.kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=pruner.startup, n_warmup_steps=0)
    if pruner.kind == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=pruner.rungs[0], reduction_factor=3
        )
    return optuna.pruners.NopPruner()


def _reclaim_interrupted(study) -> list[tuple[int, dict[str, Any]]]:
    """Settings that were running when a sweep process died: marked failed, to be run again."""
    from optuna.trial import TrialState

    retries = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        retries.append((trial.user_attrs["slot"], trial.user_attrs["setting"]))
        study.tell(trial.number, state=TrialState.FAIL)
    return sorted(retries)


def _finished_slots(study) -> set[int]:
    from optuna.trial import TrialState

    finished = (TrialState.COMPLETE, TrialState.PRUNED)
    return {
        trial.user_attrs["slot"]
        for trial in study.get_trials(deepcopy=False)
        if trial.state in finished or trial.user_attrs.get("stopped")
    }


def _next_setting(spec: SweepSpec, study, done: set[int], retries: list):
    """(slot, Optuna trial, setting) of the next setting to run: an interrupted one first."""
    import optuna

    if retries:
        slot, setting = retries.pop(0)
        study.enqueue_trial(_params(setting), skip_if_exists=False)
    elif spec.grid:
        slot = min(set(range(spec.settings_total)) - done)
        study.enqueue_trial(_params(spec.grid_settings()[slot]), skip_if_exists=False)
    else:
        slot = len(done)
    seed = spec.sample_seed + slot
    study.sampler = (
        optuna.samplers.TPESampler(seed=seed)
        if spec.method == "tpe"
        else optuna.samplers.RandomSampler(seed=seed)
    )
    trial = study.ask(_distributions(spec))
    setting = {key: _unparam(trial.params[key]) for key in spec.keys}
    trial.set_user_attr("slot", slot)
    trial.set_user_attr("setting", setting)
    return slot, trial, setting


def _distributions(spec: SweepSpec) -> dict[str, Any]:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if spec.grid:
        return {k: CategoricalDistribution(_params_list(v)) for k, v in spec.grid.items()}
    made = {}
    for key, dist in spec.sample.items():
        if dist.kind == "choice":
            made[key] = CategoricalDistribution(_params_list(dist.values))
        elif dist.kind == "int":
            made[key] = IntDistribution(*dist.values)
        else:
            made[key] = FloatDistribution(*dist.values, log=dist.kind == "loguniform")
    return made


def _params(setting: dict[str, Any]) -> dict[str, Any]:
    return {key: _param(value) for key, value in setting.items()}


def _params_list(values) -> tuple:
    return tuple(_param(v) for v in values)


def _param(value: Any) -> Any:
    """Optuna's categorical values are scalars: a list (``network.hidden``) travels as JSON."""
    return json.dumps(value) if isinstance(value, list | dict) else value


def _unparam(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        return json.loads(value)
    return value


def _judge(trial) -> Callable[[int, float], bool]:
    def judge(rung: int, value: float) -> bool:
        trial.report(value if math.isfinite(value) else -math.inf, step=rung)
        return trial.should_prune()

    return judge


def _tell(study, trial, outcome: SettingOutcome) -> None:
    from optuna.trial import TrialState

    stopped = next((run.stopped for run in outcome.runs if run.stopped), "")
    if stopped:
        trial.set_user_attr("stopped", stopped)
        study.tell(trial, state=TrialState.FAIL)
    elif outcome.pruned_at is not None:
        trial.set_user_attr("pruned_at", outcome.pruned_at)
        study.tell(trial, state=TrialState.PRUNED)
    else:
        value = outcome.value
        study.tell(trial, value if math.isfinite(value) else -math.inf)


def _outcomes(spec: SweepSpec, study, out: Path) -> list[SettingOutcome]:
    """Every finished setting, re-read from its runs' folders (the runs are the record)."""
    from optuna.trial import TrialState

    outcomes = {}
    for trial in study.get_trials(deepcopy=False):
        attrs = trial.user_attrs
        finished = trial.state in (TrialState.COMPLETE, TrialState.PRUNED) or attrs.get("stopped")
        if finished and "slot" in attrs:
            outcomes[attrs["slot"]] = (attrs["setting"], attrs.get("pruned_at"))
    return [
        read_outcome(spec, slot, setting, pruned_at, out / "trials")
        for slot, (setting, pruned_at) in sorted(outcomes.items())
    ]

"""What a sweep leaves beside its trials: results.json (one entry per run) and results.md.

results.md gives, per setting, the mean metric over its seeds with a 95% percentile bootstrap
interval (Efron & Tibshirani 1993; over the seeds, so it needs two or more), the best setting
among those that ran to the budget, the settings pruned and at how many env steps, the env
steps and wall time spent, the metric against each varied key (``results.png``) and each run's
held-out curve (``curves.png``). Written atomically after every setting.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from metaheb.config import load_config
from metaheb.report.claim import percentile_interval
from metaheb.report.figures import learning_curves
from metaheb.runs import atomic_write_bytes, finite_or_null, heldout_curve
from metaheb.sweep.figure import metric_by_key
from metaheb.sweep.metric import run_metric
from metaheb.sweep.spec import SweepSpec
from metaheb.sweep.trial import SeedRun, SettingOutcome, describe, setting_name, short
from metaheb.tasks import fitness_unit


def read_outcome(
    spec: SweepSpec,
    slot: int,
    setting: dict[str, Any],
    pruned_at: int | None,
    trials_dir: Path,
) -> SettingOutcome:
    """A finished setting as its run folders hold it."""
    runs = []
    for seed in spec.seeds:
        path = trials_dir / f"{setting_name(slot, setting)}-s{seed}"
        metric, env_steps, seconds = run_metric(path, spec.metric)
        runs.append(SeedRun(seed, path, metric, env_steps, seconds))
    return SettingOutcome(slot, setting, runs, pruned_at)


def interval(values: list[float]) -> tuple[float, float]:
    """The mean's 95% bootstrap interval over seeds; NaNs when fewer than two are finite."""
    finite = np.asarray([v for v in values if math.isfinite(v)], dtype=np.float64)
    if len(finite) < 2 or np.ptp(finite) == 0:
        value = float(finite.mean()) if len(finite) else math.nan
        return (value, value) if len(finite) >= 2 else (math.nan, math.nan)
    return percentile_interval((finite,), lambda x, axis=-1: np.mean(x, axis=axis))


def write_results(spec: SweepSpec, out: Path, outcomes: list[SettingOutcome]) -> dict[str, Any]:
    """results.json, results.md and the figures, from the finished settings."""
    unit = fitness_unit(load_config(spec.base, list(spec.overrides)).task)
    summary = results_json(spec, outcomes, unit)
    atomic_write_bytes(out / "results.json", json.dumps(summary, indent=1).encode())
    atomic_write_bytes(out / "results.png", metric_by_key(spec, outcomes, unit))
    curves = [
        (setting_name(o.slot, o.setting), heldout_curve(run.path).points)
        for o in outcomes
        for run in o.runs
        if (run.path / "metrics.jsonl").is_file()
    ]
    title = f"sweep {spec.path.stem}: held-out search centre per run"
    png = learning_curves(curves, title, ylabel=f"held-out search centre ({unit})")
    atomic_write_bytes(out / "curves.png", png)
    atomic_write_bytes(out / "results.md", results_markdown(spec, summary).encode())
    return summary


def results_json(spec: SweepSpec, outcomes: list[SettingOutcome], unit: str) -> dict[str, Any]:
    trials, settings = [], []
    for outcome in outcomes:
        for run in outcome.runs:
            trials.append(
                {
                    "setting": outcome.slot,
                    "settings": outcome.setting,
                    "seed": run.seed,
                    "run": str(run.path),
                    "metric": _json_number(run.metric),
                    "env_steps": run.env_steps,
                    "seconds": round(run.seconds, 1),
                    "pruned": outcome.pruned_at is not None,
                    "pruned_at": outcome.pruned_at,
                }
            )
        low, high = interval([run.metric for run in outcome.runs])
        settings.append(
            {
                "setting": outcome.slot,
                "settings": outcome.setting,
                "mean": _json_number(outcome.value),
                "interval": [_json_number(low), _json_number(high)],
                "per_seed": [_json_number(run.metric) for run in outcome.runs],
                "pruned_at": outcome.pruned_at,
                "env_steps": sum(run.env_steps for run in outcome.runs),
                "seconds": round(sum(run.seconds for run in outcome.runs), 1),
            }
        )
    return {
        "sweep": str(spec.path),
        "base": str(spec.base),
        "metric": spec.metric.describe(),
        "unit": unit,
        "seeds": list(spec.seeds),
        "budget": spec.budget,
        "settings_total": spec.settings_total,
        "env_steps": sum(t["env_steps"] for t in trials),
        "seconds": round(sum(t["seconds"] for t in trials), 1),
        "best": _best(settings, unit),
        "settings": settings,
        "trials": trials,
    }


def _best(settings: list[dict[str, Any]], unit: str) -> str:
    ran = [s for s in settings if s["pruned_at"] is None and s["mean"] is not None]
    if not ran:
        return "no setting has run to its budget yet"
    best = max(ran, key=lambda s: s["mean"])
    return f"best setting {describe(best['settings'])}: {best['mean']:.2f} {unit}"


def _json_number(value: float) -> float | None:
    return finite_or_null(round(float(value), 4))


def results_markdown(spec: SweepSpec, summary: dict[str, Any]) -> str:
    unit, keys = summary["unit"], spec.keys
    lines = [
        f"# Sweep {spec.path.stem}",
        "",
        f"Base `{spec.base.name}`; varied {', '.join(f'`{k}`' for k in keys)} "
        f"({spec.method}, {spec.settings_total} settings); seeds {list(spec.seeds)}; "
        f"{spec.budget / 1e6:g}M env steps of training per run.",
        f"Metric: the {summary['metric']} ({unit}); pruner: {_pruner_text(spec)}.",
        f"Spent: {summary['env_steps'] / 1e6:.2f}M env steps and "
        f"{summary['seconds'] / 60:.1f} min of training over {len(summary['trials'])} runs "
        f"({len(summary['settings'])} of {spec.settings_total} settings finished, "
        f"{sum(s['pruned_at'] is not None for s in summary['settings'])} of them pruned).",
        "",
        f"**{summary['best'][0].upper()}{summary['best'][1:]}.**",
        "",
        f"| setting | {' | '.join(keys)} | mean ({unit}) | 95% interval | per seed | pruned "
        "| env steps | minutes |",
        "|---|" + "---|" * (len(keys) + 6),
    ]
    for s in sorted(summary["settings"], key=_rank):
        values = " | ".join(short(s["settings"][k]) for k in keys)
        pruned = "-" if s["pruned_at"] is None else f"at {s['pruned_at'] / 1e6:.2f}M"
        seeds = ", ".join(_fmt(v) for v in s["per_seed"])
        low, high = s["interval"]
        lines.append(
            f"| t{s['setting']:02d} | {values} | {_fmt(s['mean'])} | "
            f"[{_fmt(low)}, {_fmt(high)}] | {seeds} | {pruned} | {s['env_steps'] / 1e6:.2f}M | "
            f"{s['seconds'] / 60:.1f} |"
        )
    lines += [
        "",
        "Settings ranked: those that ran to the budget first, by mean; a pruned setting's "
        "numbers are its metric when it was stopped. The interval is over seeds; env steps and "
        "minutes are the setting's training, summed over its seeds.",
        "",
        "![metric against each varied key](results.png)",
        "",
        "![each run's held-out curve](curves.png)",
        "",
    ]
    return "\n".join(lines)


def _rank(setting: dict[str, Any]) -> tuple:
    mean = setting["mean"] if setting["mean"] is not None else -math.inf
    return (setting["pruned_at"] is not None, -mean)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _pruner_text(spec: SweepSpec) -> str:
    pruner = spec.pruner
    if pruner.kind == "none":
        return "none"
    rungs = ", ".join(f"{r / 1e6:g}M" for r in pruner.rungs)
    name = {"median": "median (Optuna's MedianPruner)", "halving": "successive halving"}
    after = f"{pruner.startup} setting{'s' * (pruner.startup != 1)}"
    return f"{name[pruner.kind]} at {rungs} env steps, once {after} finished"

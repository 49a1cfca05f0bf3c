"""The table ``metaheb runs`` prints: one row per run directory, its status and progress."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from metaheb.config import config_from_dict, read_toml
from metaheb.errors import UserError
from metaheb.runs import RunDirectory, curve_of, read_metrics
from metaheb.tasks import fitness_unit


def _status(run: RunDirectory) -> str:
    if run.agent_path("center").exists():
        return "done"
    return "running" if run.is_running() else "stopped"


def summarize_runs(out_dir: str | Path) -> list[dict[str, Any]]:
    """One row per run directory under ``out_dir``, oldest first.

    Status: ``done`` once the final centre agent is written; ``running`` while a process runs
    it; otherwise ``stopped``, resumable from its checkpoint. Progress is in env steps where the
    budget is (``evolve.max_env_steps``), in generations otherwise.
    """
    rows = []
    root = Path(out_dir)
    paths = (
        sorted(root.glob("*/config.toml"), key=lambda p: p.stat().st_mtime) if root.is_dir() else []
    )
    for config_path in paths:
        run = RunDirectory(config_path.parent)
        try:
            config = config_from_dict(read_toml(config_path, "run config"))
            metrics = read_metrics(run.path)
        except UserError as err:
            rows.append({"name": run.path.name, "status": "damaged", "problem": str(err)})
            continue
        heldout = [mean for _, mean, _ in curve_of(metrics).points if math.isfinite(mean)]
        rows.append(
            {
                "name": run.path.name,
                "status": _status(run),
                "done": len(metrics),
                "total": config.evolve.generations,
                "env_steps": sum(m["env_steps"] for m in metrics),
                "max_env_steps": config.evolve.max_env_steps,
                "best": max((m["best"] for m in metrics), default=None),
                "heldout_last": heldout[-1] if heldout else None,
                "heldout_best": max(heldout, default=None),
                "unit": fitness_unit(config.task),
                "search": f"{config.evolve.algorithm} / {config.network.model} {config.task.name}",
            }
        )
    return rows

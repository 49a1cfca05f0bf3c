"""Run directories and agent files, every file written atomically (temp file, then rename).

A run directory holds ``config.toml`` (the resolved config), ``metrics.jsonl`` (one JSON
object per generation), ``checkpoint.pt`` (to resume), ``tensorboard/`` and
``agents/*.safetensors``. An agent file is a safetensors file, loadable without executing code:
the genome tensor plus JSON metadata naming everything needed to rebuild the agent (task,
network, rule, seed, fitness).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save

from metaheb.errors import UserError

AGENT_FORMAT = "metaheb-agent"
AGENT_VERSION = 1


_UMASK = os.umask(0)
os.umask(_UMASK)  # read once: the permissions a plain open() would give a new file


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o666 & ~_UMASK)  # not mkstemp's owner-only 0600
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class Agent:
    genome: np.ndarray  # (G,) float32
    meta: dict[str, Any]


def save_agent(path: Path, genome: np.ndarray, meta: dict[str, Any]) -> None:
    header = {"format": AGENT_FORMAT, "version": AGENT_VERSION, **meta}
    tensors = {"genome": np.ascontiguousarray(genome, dtype=np.float32)}
    atomic_write_bytes(path, save(tensors, metadata={"metaheb": json.dumps(header)}))


def load_agent(path: str | Path) -> Agent:
    """Read an agent file; a missing, foreign or corrupted file is a ``UserError``."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"agent file {str(path)!r} not found: give a .safetensors file from a run")
    try:
        with safe_open(str(path), framework="numpy") as handle:
            header = json.loads((handle.metadata() or {}).get("metaheb", "{}"))
        genome = load_file(str(path))["genome"]
    except (SafetensorError, OSError, ValueError, KeyError) as err:
        raise UserError(
            f"agent file {str(path)!r} is corrupted or not an agent file ({err})"
        ) from None
    if header.get("format") != AGENT_FORMAT:
        raise UserError(f"{str(path)!r} is not a metaheb agent file")
    if header.get("version") != AGENT_VERSION:
        raise UserError(
            f"agent file {str(path)!r} has format version {header.get('version')}; this metaheb "
            f"reads version {AGENT_VERSION}: use the metaheb release that wrote it"
        )
    return Agent(genome=genome, meta=header)


class RunDirectory:
    """One job's output folder under ``out_dir``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, out_dir: str, name: str) -> RunDirectory:
        """Make a new run folder; a name already taken gets a numeric suffix, never overwritten."""
        root = Path(out_dir)
        path = root / name
        suffix = 1
        while True:
            try:
                path.mkdir(parents=True, exist_ok=False)
                return cls(path)
            except FileExistsError:
                suffix += 1
                path = root / f"{name}-{suffix}"

    @staticmethod
    def default_name(task: str, model: str, seed: int) -> str:
        return f"{task}-{model}-s{seed}-{time.strftime('%Y%m%d-%H%M%S')}"

    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_bytes(self.path / "config.toml", tomli_w.dumps(config).encode())

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Append one generation's record as a single line in one write."""
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with open(self.path / "metrics.jsonl", "a") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def agent_path(self, name: str) -> Path:
        return self.path / "agents" / f"{name}.safetensors"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.pt"

    def truncate_metrics(self, generations: int) -> None:
        """Keep the first ``generations`` lines of metrics.jsonl (rewritten atomically)."""
        path = self.path / "metrics.jsonl"
        if path.exists():
            lines = path.read_text().splitlines(keepends=True)[:generations]
            atomic_write_bytes(path, "".join(lines).encode())


def read_metrics(run_path: str | Path) -> list[dict[str, Any]]:
    """One record per finished generation; none before the first."""
    path = Path(run_path) / "metrics.jsonl"
    if not path.exists():
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def summarize_runs(out_dir: str | Path) -> list[dict[str, Any]]:
    """One row per run directory under ``out_dir``, oldest first.

    Status: ``done`` once the final centre agent is written; otherwise ``stopped`` (or still
    running: a run directory cannot tell), resumable from its checkpoint.
    """
    rows = []
    root = Path(out_dir)
    paths = (
        sorted(root.glob("*/config.toml"), key=lambda p: p.stat().st_mtime) if root.is_dir() else []
    )
    for config_path in paths:
        run = RunDirectory(config_path.parent)
        config = tomllib.loads(config_path.read_text())
        metrics = read_metrics(run.path)
        evolve, network = config.get("evolve", {}), config.get("network", {})
        rows.append(
            {
                "name": run.path.name,
                "status": "done" if run.agent_path("center").exists() else "stopped",
                "done": len(metrics),
                "total": evolve.get("generations", 0),
                "best": max((m["best"] for m in metrics), default=None),
                "search": f"{evolve.get('algorithm')} / {network.get('model')} "
                f"{config.get('task', {}).get('name')}",
            }
        )
    return rows

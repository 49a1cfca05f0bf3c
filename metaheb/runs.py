"""Run directories and agent files, every file written atomically (temp file, then rename).

A run directory holds ``config.toml`` (the resolved config), ``metrics.jsonl`` (one JSON
object per generation), ``checkpoint.pt`` (to resume), ``tensorboard/`` and
``agents/*.safetensors``. An agent file is a safetensors file, loadable without executing code:
the genome tensor plus JSON metadata naming everything needed to rebuild the agent (task,
network, rule, seed, fitness).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save

from metaheb.config import (
    SEED_LIMIT,
    NetworkConfig,
    TaskConfig,
    check_section,
)
from metaheb.errors import UserError
from metaheb.networks import OUTPUT_ACTIVATIONS, PolicyNetwork

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


MIN_FREE_BYTES = 64 * 2**20  # a run writes checkpoints of up to tens of MB: refuse a full disk


def check_writable(folder: str | Path, what: str) -> None:
    """Refuse, before any work, a folder that cannot be made, written or has no disk space.

    Creates nothing: the test file goes into the nearest folder that exists, and is removed.
    """
    folder = Path(folder)
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{what} {str(folder)!r} is inside a file, not a folder: choose another")
    try:
        probe, name = tempfile.mkstemp(dir=existing, prefix=".metaheb-probe-")
        os.close(probe)
        os.unlink(name)
    except OSError as err:
        raise UserError(
            f"{what} {str(folder)!r} cannot be written ({err.strerror}): choose another folder"
        ) from None
    free = shutil.disk_usage(existing).free
    if free < MIN_FREE_BYTES:
        raise UserError(
            f"{what} {str(folder)!r} has {free / 2**20:.0f} MB free; metaheb needs "
            f"{MIN_FREE_BYTES // 2**20} MB: free some space or choose another folder"
        )


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
    if not isinstance(header, dict) or header.get("format") != AGENT_FORMAT:
        raise UserError(f"{str(path)!r} is not a metaheb agent file")
    if header.get("version") != AGENT_VERSION:
        raise UserError(
            f"agent file {str(path)!r} has format version {header.get('version')!r}; this metaheb "
            f"reads version {AGENT_VERSION}: use the metaheb release that wrote it"
        )
    try:
        _check_agent(header, genome)
    except UserError as err:
        raise UserError(f"agent file {str(path)!r} is damaged: {err}") from None
    return Agent(genome=genome, meta=header)


def _check_agent(header: dict[str, Any], genome: np.ndarray) -> None:
    """The metadata rebuilds a valid network whose genome is the stored tensor, value for value."""
    for key in ("task", "network"):
        if not isinstance(header.get(key), dict):
            raise UserError(f"its metadata has no {key!r} table")
    check_section("task", TaskConfig, header["task"])
    network = dict(header["network"])
    sizes, output = network.pop("sizes", None), network.pop("output_activation", None)
    _check_assignment(network.pop("assignment", []), sizes)
    if not (isinstance(sizes, list) and len(sizes) >= 2):
        raise UserError(f"network.sizes must list the layer sizes, got {sizes!r}")
    if any(isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= 10**6 for n in sizes):
        raise UserError(f"network.sizes must hold positive integers, got {sizes!r}")
    if output not in OUTPUT_ACTIVATIONS:
        raise UserError(f"network.output_activation {output!r} is not one of metaheb's")
    check_section("network", NetworkConfig, {**network, "hidden": sizes[1:-1]})
    for key in ("run_seed", "episode_seed"):
        seed = header.get(key, 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
            raise UserError(f"{key} must be an integer 0..2^32-1, got {seed!r}")
    if genome.ndim != 1 or genome.dtype != np.float32:
        raise UserError(f"its genome must be 1-D float32, got {genome.dtype} {genome.shape}")
    expected = PolicyNetwork.from_dict(header["network"]).genome_layout.size
    if genome.size != expected:
        raise UserError(f"its genome holds {genome.size:,} values, its network needs {expected:,}")


def _check_assignment(assignment: Any, sizes: Any) -> None:
    """A merged network's assignment: one rule index per synapse, every rule 0..K-1 used."""
    if not isinstance(assignment, list) or not assignment:
        if assignment == []:
            return
        raise UserError(f"network.assignment must list rule indices, got {type(assignment)}")
    if any(isinstance(r, bool) or not isinstance(r, int) or r < 0 for r in assignment):
        raise UserError("network.assignment must hold rule indices >= 0")
    synapses = sum(a * b for a, b in pairwise(sizes)) if isinstance(sizes, list) else 0
    if len(assignment) != synapses or len(set(assignment)) != max(assignment) + 1:
        raise UserError(
            f"network.assignment holds {len(assignment):,} rule indices for {synapses:,} "
            "synapses, or skips a rule"
        )


RUNNING_MARKER = "running.json"  # written while a train or resume runs the directory


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
        task = task.replace(":", "-").replace("/", "-")  # gym:<id> as one plain name
        return f"{task}-{model}-s{seed}-{time.strftime('%Y%m%d-%H%M%S')}"

    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_bytes(self.path / "config.toml", tomli_w.dumps(config).encode())

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Append one generation's record as a single line in one write."""
        line = metrics_line(record)
        with open(self.path / "metrics.jsonl", "a") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def agent_path(self, name: str) -> Path:
        return self.path / "agents" / f"{name}.safetensors"

    @contextmanager
    def running(self) -> Iterator[None]:
        """Mark the run as running (this host and process) while the block lasts."""
        marker = self.path / RUNNING_MARKER
        owner = {"host": socket.gethostname(), "pid": os.getpid()}
        atomic_write_bytes(marker, json.dumps(owner).encode())
        try:
            yield
        finally:
            marker.unlink(missing_ok=True)

    def is_running(self) -> bool:
        """Whether a process still runs it. A marker left by a killed process on this host is
        stale (its pid is gone); one from another host cannot be checked and is believed."""
        try:
            owner = json.loads((self.path / RUNNING_MARKER).read_text())
            host, pid = owner["host"], int(owner["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return False
        if host != socket.gethostname():
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # alive, someone else's
            return True
        return True

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.pt"

    def truncate_metrics(self, generations: int) -> None:
        """Keep the first ``generations`` records of metrics.jsonl (rewritten atomically)."""
        records = read_metrics(self.path)[:generations]
        lines = [metrics_line(record) for record in records]
        if (self.path / "metrics.jsonl").exists():
            atomic_write_bytes(self.path / "metrics.jsonl", "".join(lines).encode())


def metrics_line(record: dict[str, Any]) -> str:
    """One record as strict JSON (RFC 8259, which has no NaN or Infinity): a number that is not
    finite is written as null; the record counts its non-finite values beside them."""
    return json.dumps(finite_or_null(record), separators=(",", ":"), allow_nan=False) + "\n"


def finite_or_null(value: Any) -> Any:
    """``value`` with every non-finite float (in dicts, lists and tuples too) made None: what
    strict JSON, which has no NaN or Infinity, can hold. Every JSON metaheb writes goes through
    it."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_or_null(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_null(item) for item in value]
    return value


# What every generation's record holds, and of which type (metaheb reads these back).
METRICS_FIELDS = {
    "generation": int,
    "best": float,
    "mean": float,
    "env_steps": int,
    "seconds": float,
}


def read_metrics(run_path: str | Path) -> list[dict[str, Any]]:
    """One record per finished generation; none before the first.

    A torn last line (what a crash or a full disk leaves mid-write) is dropped: its generation
    runs again on resume. Damage anywhere else is a ``UserError`` naming the line.
    """
    path = Path(run_path) / "metrics.jsonl"
    if not path.exists():
        return []
    lines = path.read_bytes().splitlines()
    records = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except ValueError:  # also a line that is not UTF-8
            if number == len(lines):
                break
            raise UserError(
                f"{path} line {number} is not JSON: the run's metrics are damaged "
                "(restore the file from a copy, or train the run again)"
            ) from None
        if not _is_record(record, len(records)):
            raise UserError(
                f"{path} line {number} is not generation {len(records)}'s record "
                f"({', '.join(METRICS_FIELDS)}): the run's metrics are damaged"
            )
        records.append(record)
    return records


@dataclass
class HeldOutCurve:
    """A run's search centre on its held-out episodes, against the training env steps so far."""

    points: list[tuple[int, float, float]]  # (env steps, mean, std); the start at 0 env steps
    env_steps: int  # of training episodes, held-out episodes not counted
    seconds: float  # training wall time, summed over generations
    generations: int


def heldout_curve(run_path: str | Path) -> HeldOutCurve:
    """The held-out centre's learning curve of a run, from its metrics (``evolve.eval_*``)."""
    return curve_of(read_metrics(run_path))


def curve_of(records: list[dict[str, Any]]) -> HeldOutCurve:
    """The held-out curve that a run's metrics records hold."""
    points: list[tuple[int, float, float]] = []
    steps, seconds = 0, 0.0
    for record in records:
        if "heldout_start" in record:
            start = record["heldout_start"]
            points.append((0, _number(start["mean"]), _number(start["std"])))
        steps += record["env_steps"]
        seconds += record["seconds"]
        if "heldout" in record:
            heldout = record["heldout"]
            points.append((steps, _number(heldout["mean"]), _number(heldout["std"])))
    return HeldOutCurve(points, steps, seconds, len(records))


def _number(value: float | None) -> float:
    """A metric as read back: null (not finite when written) is NaN."""
    return math.nan if value is None else float(value)


def _is_record(record: Any, generation_index: int) -> bool:
    if not isinstance(record, dict):
        return False
    for key, kind in METRICS_FIELDS.items():
        value = record.get(key)
        if isinstance(value, bool) or not isinstance(value, int | kind):
            return False
    return record["generation"] == generation_index

"""A sweep file: a base config, the keys to vary, the seeds, the budget, the metric, the pruner.

A sweep file is TOML (``envs/sweeps/*.toml``)::

    base = "../ant-quick.toml"        # a metaheb config, relative to the sweep file
    seeds = [0, 1]                    # run.seed of every setting's runs
    budget = 400_000                  # env steps of training per run (evolve.max_env_steps)
    overrides = ["evolve.eval_every=2"]  # fixed for every run (optional)

    [grid]                            # every combination of these values ...
    "evolve.lr" = [0.03, 0.07]

    [sample]                          # ... or ``count`` settings drawn from distributions
    count = 8
    method = "random"                 # or "tpe" (Bergstra et al. 2011)
    seed = 0
    [sample.keys]
    "evolve.sigma" = { loguniform = [0.02, 0.2] }
    "network.bottleneck" = { choice = [16, 64] }

    [metric]                          # the held-out search centre (evolve.eval_*) ...
    heldout = "best"                  # ... its best, last, or "mean_last" evaluations
    last = 3                          # k of mean_last
    bodies = "seen"                   # or a list of the run's bodies

    [pruner]                          # stop a weak setting early
    kind = "median"                   # "median", "halving" or "none"
    rungs = [100_000, 200_000]        # env steps at which a setting is judged
    startup = 2                       # settings that finish before the median prunes

Everything is checked before any run starts; a mistake is one ``UserError`` line.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metaheb.config import Config, load_config, read_toml
from metaheb.errors import UserError

DISTRIBUTIONS = ("choice", "uniform", "loguniform", "int")
METRICS = ("best", "last", "mean_last")
PRUNERS = ("median", "halving", "none")
METHODS = ("random", "tpe")
# A sweep sets these itself: the seeds, where each run goes, and the budget.
RESERVED = ("run.seed", "run.name", "run.out_dir", "evolve.max_env_steps", "evolve.generations")
TOP_LEVEL = ("base", "seeds", "budget", "overrides", "grid", "sample", "metric", "pruner")
GENERATIONS = 1_000_000  # a trial stops at its env-step budget, never at a generation count


@dataclass(frozen=True)
class Distribution:
    """One sampled key: ``choice`` over values, ``uniform`` / ``loguniform`` / ``int`` in bounds."""

    kind: str
    values: tuple[Any, ...]  # choice: the values; otherwise (low, high)


@dataclass(frozen=True)
class Metric:
    heldout: str = "best"
    last: int = 3
    bodies: tuple[str, ...] = ()  # () means the run's seen bodies, as the held-out mean

    def describe(self) -> str:
        which = {"best": "best", "last": "last", "mean_last": f"mean of the last {self.last}"}
        where = ", ".join(self.bodies) if self.bodies else "the seen bodies"
        return f"held-out search centre, {which[self.heldout]} evaluation(s), on {where}"


@dataclass(frozen=True)
class Pruner:
    kind: str = "none"
    rungs: tuple[int, ...] = ()
    startup: int = 2


@dataclass(frozen=True)
class SweepSpec:
    path: Path
    base: Path
    seeds: tuple[int, ...]
    budget: int
    overrides: tuple[str, ...]
    grid: dict[str, tuple[Any, ...]]
    sample: dict[str, Distribution]
    count: int  # settings sampled (0 for a grid)
    method: str  # "grid", "random" or "tpe"
    sample_seed: int
    metric: Metric
    pruner: Pruner

    @property
    def keys(self) -> list[str]:
        return list(self.grid or self.sample)

    @property
    def settings_total(self) -> int:
        return math.prod(len(v) for v in self.grid.values()) if self.grid else self.count

    def grid_settings(self) -> list[dict[str, Any]]:
        """Every combination of the grid's values, the last key varying fastest."""
        keys = list(self.grid)
        return [dict(zip(keys, values)) for values in itertools.product(*self.grid.values())]

    def run_config(self, setting: dict[str, Any], seed: int, out_dir: Path, name: str) -> Config:
        """The config of one run: base, fixed overrides, the setting, the seed and the budget."""
        return load_config(self.base, self._overrides(setting, seed, out_dir, name))

    def _overrides(self, setting: dict[str, Any], seed: int, out_dir: Path, name: str) -> list[str]:
        varied = [f"{key}={json.dumps(value)}" for key, value in setting.items()]
        run = [
            f"run.seed={seed}",
            f"run.out_dir={json.dumps(str(out_dir))}",
            f"run.name={json.dumps(name)}",
            f"evolve.max_env_steps={self.budget}",
            f"evolve.generations={GENERATIONS}",
        ]
        return [*self.overrides, *varied, *run]

    def to_json(self) -> dict[str, Any]:
        """What identifies the sweep: a folder holds one sweep, and a rerun must match it."""
        data = dataclasses.asdict(self)
        data["path"], data["base"] = str(self.path), str(self.base)
        return json.loads(json.dumps(data))


def load_sweep(path: str | Path, overrides: list[str] = ()) -> SweepSpec:
    """Read and check a sweep file; ``overrides`` (``key=value``) apply to every run."""
    path = Path(path)
    if path.is_dir() or not path.is_file():
        kind = "a folder" if path.is_dir() else "not found"
        raise UserError(f"sweep file {str(path)!r} is {kind}: give the path of a TOML sweep file")
    data = read_toml(path, "sweep file")
    _check_known(data, TOP_LEVEL, "the sweep file")
    base = _base(path, data)
    grid = _grid(data.get("grid"))
    sample, count, method, sample_seed = _sample(data.get("sample"))
    if bool(grid) == bool(sample):
        raise UserError(
            "a sweep varies its keys by [grid] or by [sample] (exactly one of them, not empty): "
            "see envs/sweeps/quick.toml"
        )
    spec = SweepSpec(
        path=path,
        base=base,
        seeds=_seeds(data.get("seeds")),
        budget=_positive_int(data.get("budget"), "budget", "env steps of training per run"),
        overrides=(*_strings(data.get("overrides", []), "overrides"), *overrides),
        grid=grid,
        sample=sample,
        count=count,
        method="grid" if grid else method,
        sample_seed=sample_seed,
        metric=_metric(data.get("metric", {})),
        pruner=_pruner(data.get("pruner", {})),
    )
    _check_against_base(spec)
    return spec


def _check_known(table: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in known:
            raise UserError(f"unknown key {key!r} in {where}; known: {', '.join(known)}")


def _base(path: Path, data: dict[str, Any]) -> Path:
    if not isinstance(data.get("base"), str):
        raise UserError('the sweep file needs base = "CONFIG.toml" (relative to the sweep file)')
    return (path.parent / data["base"]).resolve()


def _grid(table: Any) -> dict[str, tuple[Any, ...]]:
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise UserError('[grid] is a table of "section.key" = [values]')
    grid = {}
    for key, values in table.items():
        _check_key(key)
        if not isinstance(values, list) or not values:
            raise UserError(f"[grid] {key!r} needs a non-empty list of values, e.g. [0.03, 0.07]")
        grid[key] = tuple(values)
    return grid


def _sample(table: Any) -> tuple[dict[str, Distribution], int, str, int]:
    if table is None:
        return {}, 0, "random", 0
    table = _table(table, "[sample]", ("count", "method", "seed", "keys"))
    count = _positive_int(table.get("count"), "[sample] count", "settings to draw")
    method = _one_of(table.get("method", "random"), METHODS, "[sample] method")
    seed = table.get("seed", 0)
    if not isinstance(seed, int) or seed < 0:
        raise UserError(f"[sample] seed must be a whole number >= 0, got {seed!r}")
    keys = table.get("keys")
    if not isinstance(keys, dict) or not keys:
        raise UserError('[sample.keys] needs at least one "section.key" = { kind = [...] }')
    return {key: _distribution(key, spec) for key, spec in keys.items()}, count, method, seed


def _distribution(key: str, spec: Any) -> Distribution:
    _check_key(key)
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
        raise UserError(
            f"[sample.keys] {key!r} must be one of {{ choice = [...] }}, {{ uniform = [low, "
            "high] }, { loguniform = [low, high] }, { int = [low, high] }"
        )
    kind, values = next(iter(spec.items()))
    if not isinstance(values, list) or not values:
        raise UserError(f"[sample.keys] {key!r}: {kind} needs a non-empty list")
    if kind == "choice":
        return Distribution(kind, tuple(values))
    numeric = (int,) if kind == "int" else (int, float)
    if len(values) != 2 or not all(
        isinstance(v, numeric) and not isinstance(v, bool) for v in values
    ):
        raise UserError(f"[sample.keys] {key!r}: {kind} needs [low, high], two numbers")
    low, high = values
    if not low < high or (kind == "loguniform" and low <= 0):
        floor = " and low > 0" if kind == "loguniform" else ""
        raise UserError(f"[sample.keys] {key!r}: bad bounds {values}; need low < high{floor}")
    return Distribution(kind, (low, high))


def _check_key(key: str) -> None:
    if key in RESERVED:
        raise UserError(
            f"a sweep sets {key!r} itself (seeds, budget and run folders): vary another key"
        )


def _seeds(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise UserError("the sweep file needs seeds = [0, 1, ...]: at least one run seed")
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value):
        raise UserError(f"seeds must be whole numbers >= 0, got {value!r}")
    if len(set(value)) != len(value):
        raise UserError(f"seeds repeat: {value!r}; give each seed once")
    return tuple(value)


def _positive_int(value: Any, name: str, meaning: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise UserError(f"{name} must be a whole number > 0 ({meaning}), got {value!r}")
    return value


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and "=" in v for v in value):
        raise UserError(f'{name} must be a list of "section.key=value" strings')
    return tuple(value)


def _table(table: Any, name: str, known: tuple[str, ...]) -> dict[str, Any]:
    """A sub-table of the sweep file, its keys all known."""
    if not isinstance(table, dict):
        raise UserError(f"{name} is a table: {', '.join(known)}")
    _check_known(table, known, name)
    return table


def _one_of(value: Any, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise UserError(f"{where} {value!r} is unknown; choose {', '.join(choices)}")
    return value


def _metric(table: Any) -> Metric:
    table = _table(table, "[metric]", ("heldout", "last", "bodies"))
    heldout = _one_of(table.get("heldout", "best"), METRICS, "[metric] heldout")
    last = _positive_int(table.get("last", 3), "[metric] last", "evaluations of mean_last")
    bodies = table.get("bodies", "seen")
    if bodies == "seen":
        return Metric(heldout, last)
    if not isinstance(bodies, list) or not bodies or not all(isinstance(b, str) for b in bodies):
        raise UserError('[metric] bodies is "seen" or a list of body names')
    return Metric(heldout, last, tuple(bodies))


def _pruner(table: Any) -> Pruner:
    table = _table(table, "[pruner]", ("kind", "rungs", "startup"))
    kind = _one_of(table.get("kind", "none"), PRUNERS, "[pruner] kind")
    rungs = table.get("rungs", [])
    if not isinstance(rungs, list) or not all(isinstance(r, int) and r > 0 for r in rungs):
        raise UserError("[pruner] rungs must be a list of env-step counts > 0")
    if rungs != sorted(set(rungs)):
        raise UserError(f"[pruner] rungs must rise: {rungs!r}")
    if kind != "none" and not rungs:
        raise UserError(f"[pruner] kind {kind!r} needs rungs = [env steps, ...] to judge at")
    startup = table.get("startup", 2)
    if not isinstance(startup, int) or startup < 0:
        raise UserError(f"[pruner] startup must be a whole number >= 0, got {startup!r}")
    return Pruner(kind, tuple(rungs), startup)


def _check_against_base(spec: SweepSpec) -> None:
    """Every run's config loads: the base, each key at its extremes, the metric's bodies."""
    for setting in _probe_settings(spec):
        config = spec.run_config(setting, spec.seeds[0], Path("runs"), "probe")
    if not config.evolve.eval_every:
        raise UserError(
            "the sweep's metric is the held-out centre, but evolve.eval_every is 0 in the base "
            'config: set it (e.g. overrides = ["evolve.eval_every=5"])'
        )
    unknown = [body for body in spec.metric.bodies if body not in config.task.morphologies]
    if unknown:
        raise UserError(
            f"[metric] bodies {unknown} are not among the runs' bodies "
            f"{list(config.task.morphologies)}: the held-out centre is scored on those"
        )
    if spec.pruner.rungs and spec.pruner.rungs[-1] >= spec.budget:
        raise UserError(f"[pruner] rungs must stay below the budget ({spec.budget:,} env steps)")


def _probe_settings(spec: SweepSpec) -> list[dict[str, Any]]:
    """Settings that exercise every value a run can get: the grid, or each bound of a sample."""
    if spec.grid:
        return spec.grid_settings()
    lows = {key: d.values[0] for key, d in spec.sample.items()}
    highs = {key: d.values[-1] for key, d in spec.sample.items()}
    choices = [
        {**lows, key: value}
        for key, d in spec.sample.items()
        if d.kind == "choice"
        for value in d.values
    ]
    return [lows, highs, *choices]

"""Typed configuration: TOML files plus ``section.key=value`` overrides, checked before any work.

Every key has a default here, so a config file names only what it changes. Unknown keys, values
of the wrong type and out-of-range values raise ``UserError`` with one line naming the key and the
fix, before a run directory or a Ray cluster exists.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import shutil
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metaheb.errors import UserError
from metaheb.rules import RULES


@dataclass
class RunConfig:
    name: str = ""  # directory name under out_dir; empty: <task>-<model>-s<seed>-<timestamp>
    seed: int = 0
    out_dir: str = "runs"


@dataclass
class TaskConfig:
    name: str = "ant"
    max_steps: int = 1000  # the episode limit, burn-in included
    burn_in: int = 40  # zero-action steps at the start, with no plasticity
    # The Ant's input: "bullet", pybullet AntBulletEnv's 28 scaled values (the paper's simulator),
    # or "raw", MuJoCo Ant-v5's 27 unscaled ones (tasks/ant_observation.py).
    observation: str = "bullet"
    early_stop_after: int = 200  # policy steps (after burn-in) before the early stop applies
    early_stop_patience: int = 30  # stop after more than this many steps of negative progress
    # "after": negative steps are counted only past early_stop_after (the authors' Ant);
    # "always": counted from the first step, the stop considered from env step early_stop_after.
    early_stop_count: str = "after"
    fall_height: float = 0.26  # the Ant has fallen when its torso is below this (pybullet's Ant)
    fall_check: str = "after"  # "after": a fall ends the episode only inside the window; "always"
    score_from: str = "policy"  # the Ant's distance from the end of burn-in ("policy") or "reset"
    # Bodies each genome is evaluated on (envs/ant/NAME.xml); fitness is the mean over them.
    morphologies: list[str] = field(default_factory=lambda: ["intact"])
    morphology_dir: str = ""  # a folder of one's own MJCF files; empty: the installed envs/ant
    episodes: int = 1  # episodes per morphology for each evaluation (fitness: their mean)
    # Damage during episodes (metaheb/damage.py): zero this fraction of the weights at this step,
    # in these layers (0-based; empty: all); and motors that get no control all episode.
    ablation_fraction: float = 0.0
    ablation_step: int = 500
    ablation_layers: list[int] = field(default_factory=list)
    failed_actuators: list[int] = field(default_factory=list)
    renderer: str = "fast"  # who draws CarRacing's observation: "fast" or "gymnasium"


@dataclass
class NetworkConfig:
    model: str = "hebbian"
    rule: str = "ABCD_lr"
    hidden: list[int] = field(default_factory=lambda: [128, 64])
    # Weights at the start of every episode: "uniform" U(-init_scale, init_scale), "normal"
    # N(0, init_std^2), both drawn fresh each episode; or "coevolved", part of the genome.
    init: str = "uniform"
    init_scale: float = 0.1
    init_std: float = 0.024
    normalise: str = "none"  # "max_abs": divide each layer by its max |w| after every update
    bottleneck: int = 0  # K > 0: K shared rules and a synapse-to-rule assignment (bottleneck.py)
    encoder: str = "none"  # "carracing_conv": the paper's evolved convolutions (encoders.py)
    # The rule update compiled into one pass over memory (rules.fused_hebbian_step_): faster for
    # large populations; needs a C++ compiler and compiles for ~30 s on first use.
    fused: bool = False


@dataclass
class EvolveConfig:
    algorithm: str = "openes"
    popsize: int = 200
    generations: int = 300
    # Stop after the generation that brings the run's env steps to this many (0: no budget):
    # arms whose episodes end early at different rates then compare at equal env steps.
    max_env_steps: int = 0
    init_std: float = 1.0  # the search starts at theta ~ N(0, init_std^2)
    lr: float = 0.2
    lr_decay: float = 0.995
    lr_min: float = 0.001
    sigma: float = 0.1
    sigma_decay: float = 0.999
    sigma_min: float = 0.01
    l2: float = 0.01  # fitness -= l2 * mean(theta^2) before ranking (OpenES)
    shaping: str = "centered"  # OpenES and PGPE: "centered" ranks (standardised) or "raw" fitness
    stdev_lr: float = 0.1  # PGPE's learning rate of sigma (lr is its ClipUp centre rate)
    # Episode seeds (start state and random initial weights): "member", one per (generation,
    # member), as the paper; "generation", shared by a generation's members (common random
    # numbers); "fixed", one episode for every evaluation (a deterministic objective).
    seeding: str = "member"
    # Held-out evaluation of the search centre (evolve/heldout.py): every eval_every generations
    # (and the last; 0: never), on eval_episodes fixed seeds no training episode uses, each of
    # eval_max_steps env steps. Its env steps are not counted in max_env_steps.
    eval_every: int = 10
    eval_episodes: int = 10
    eval_max_steps: int = 1000


@dataclass
class RayConfig:
    address: str = ""  # empty: start an embedded local Ray; "auto" or "ray://host:10001": a cluster
    num_workers: int = 0  # batches per generation; 0: one per CPU Ray reports


@dataclass
class Config:
    run: RunConfig = field(default_factory=RunConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    evolve: EvolveConfig = field(default_factory=EvolveConfig)
    ray: RayConfig = field(default_factory=RayConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


CHOICES = {
    "task.name": ("ant", "carracing"),
    "task.renderer": ("fast", "gymnasium"),
    "task.observation": ("bullet", "raw"),
    "task.early_stop_count": ("after", "always"),
    "task.fall_check": ("after", "always"),
    "task.score_from": ("policy", "reset"),
    "network.model": ("hebbian", "static"),
    "network.rule": tuple(RULES),
    "network.init": ("uniform", "normal", "coevolved"),
    "network.normalise": ("none", "max_abs"),
    "network.encoder": ("none", "carracing_conv"),
    "evolve.algorithm": ("openes", "cmaes", "sepcmaes", "pgpe", "snes"),
    "evolve.shaping": ("centered", "raw"),
    "evolve.seeding": ("member", "generation", "fixed"),
}
POSITIVE = (
    "task.max_steps",
    "task.episodes",
    "evolve.popsize",
    "evolve.generations",
    "evolve.lr",
    "evolve.sigma",
    "network.init_scale",
    "network.init_std",
    "evolve.eval_episodes",
    "evolve.eval_max_steps",
)
NON_NEGATIVE = (
    "task.burn_in",
    "task.ablation_step",
    "task.early_stop_after",
    "task.early_stop_patience",
    "task.fall_height",
    "evolve.init_std",
    "evolve.lr_min",
    "network.bottleneck",
    "evolve.sigma_min",
    "evolve.l2",
    "evolve.stdev_lr",
    "evolve.max_env_steps",
    "evolve.eval_every",
    "ray.num_workers",
)


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> Config:
    """Read a TOML file (or start from the defaults), apply ``key=value`` overrides, validate."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise UserError(f"config file {str(path)!r} not found: give the path of a TOML file")
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as err:
            raise UserError(f"config file {str(path)!r} is not valid TOML: {err}") from None
    return config_from_dict(apply_overrides(data, overrides))


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Set each ``section.key=value`` (the value read as TOML, else a string) in nested dicts."""
    data = {
        section: dict(table) if isinstance(table, dict) else table
        for section, table in data.items()
    }
    for item in overrides:
        key, value = _parse_override(item)
        section, _, name = key.partition(".")
        if not name:
            raise UserError(f"override {item!r} needs a dotted key like evolve.popsize=16")
        data.setdefault(section, {})
        if not isinstance(data[section], dict):
            raise UserError(f"config key {section!r} must be a table of keys")
        data[section][name] = value
    return data


def config_from_dict(data: dict[str, Any]) -> Config:
    """Build and validate a ``Config`` from nested dicts (as TOML or a saved run gives them)."""
    sections = {}
    for section_field in dataclasses.fields(Config):
        given = data.get(section_field.name, {})
        if not isinstance(given, dict):
            raise UserError(
                f"config key {section_field.name!r} must be a table, like [{section_field.name}]"
            )
        sections[section_field.name] = _build_section(section_field.name, section_field.type, given)
    unknown = set(data) - set(sections)
    if unknown:
        name = sorted(unknown)[0]
        raise UserError(f"unknown config section {name!r}{_suggest(name, sections)}")
    config = Config(**sections)
    _validate(config)
    return config


def _build_section(section: str, cls_name: Any, given: dict[str, Any]) -> Any:
    cls = globals()[cls_name] if isinstance(cls_name, str) else cls_name
    hints = typing.get_type_hints(cls)
    values = {}
    for key, value in given.items():
        if key not in hints:
            raise UserError(f"unknown config key '{section}.{key}'{_suggest(key, hints, section)}")
        values[key] = _coerce(f"{section}.{key}", value, hints[key])
    return cls(**values)


def _coerce(key: str, value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is list:
        (item_type,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise UserError(f"config key {key!r} must be a list, like {key}=[128, 64]")
        return [_coerce(key, item, item_type) for item in value]
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is str and not isinstance(value, str):
        return str(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise UserError(
            f"config key {key!r} must be {hint.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


def _validate(config: Config) -> None:
    flat = {
        f"{section}.{key}": value
        for section, table in config.to_dict().items()
        for key, value in table.items()
    }
    for key, allowed in CHOICES.items():
        if flat[key] not in allowed:
            raise UserError(
                f"config key {key!r} is {flat[key]!r}; choose one of: {', '.join(allowed)}"
            )
    for key in POSITIVE:
        if flat[key] <= 0:
            raise UserError(f"config key {key!r} must be > 0, got {flat[key]}")
    for key in NON_NEGATIVE:
        if flat[key] < 0:
            raise UserError(f"config key {key!r} must be >= 0, got {flat[key]}")
    if any(size <= 0 for size in config.network.hidden):
        raise UserError(
            f"config key 'network.hidden' must hold positive sizes, got {config.network.hidden}"
        )
    if config.evolve.algorithm in ("openes", "pgpe") and config.evolve.popsize % 2:
        raise UserError(
            "evolve.popsize must be even for the antithetic pairs of OpenES and PGPE, "
            f"got {config.evolve.popsize}"
        )
    if config.network.encoder != "none" and config.task.name == "ant":
        raise UserError(
            f"network.encoder {config.network.encoder!r} reads pixels; the ant task gives a "
            "state vector: use network.encoder=none"
        )
    if not 0.0 <= config.task.ablation_fraction <= 1.0:
        raise UserError(
            f"task.ablation_fraction must be within 0..1, got {config.task.ablation_fraction}"
        )
    if config.task.name == "carracing":
        if config.network.encoder != "carracing_conv":
            raise UserError(
                "the carracing task gives pixels: use network.encoder=carracing_conv "
                "(envs/carracing.toml)"
            )
        if config.task.morphologies != ["intact"] or config.task.failed_actuators:
            raise UserError(
                "task.morphologies and task.failed_actuators are Ant settings: leave them unset "
                "for carracing"
            )
    if any(not 0 <= motor < 8 for motor in config.task.failed_actuators):
        raise UserError("task.failed_actuators holds motor indices 0..7 of the Ant")
    if not config.task.morphologies:
        raise UserError('task.morphologies is empty: name at least one, e.g. ["intact"]')
    if config.task.burn_in >= config.task.max_steps:
        raise UserError("task.burn_in must be smaller than task.max_steps")
    if config.evolve.eval_every and config.task.burn_in >= config.evolve.eval_max_steps:
        raise UserError("task.burn_in must be smaller than evolve.eval_max_steps")
    if config.network.fused and not _cxx_compiler():
        raise UserError(
            "network.fused compiles the rule update and needs a C++ compiler, none found "
            "(g++, clang++ or $CXX): install one (apt-get install g++) or set network.fused=false"
        )


def _cxx_compiler() -> str | None:
    """The C++ compiler torch.compile would build the fused rule update with, if any."""
    names = [os.environ["CXX"]] if os.environ.get("CXX") else ["g++", "clang++", "c++"]
    return next((path for path in map(shutil.which, names) if path), None)


def _parse_override(item: str) -> tuple[str, Any]:
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise UserError(f"override {item!r} is not key=value, e.g. evolve.popsize=16")
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text  # a bare word such as task.name=ant is a string
    return key.strip(), value


def _suggest(name: str, known: Any, section: str = "") -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    if not close:
        return f"; known keys: {', '.join(sorted(known))}"
    return f"; did you mean '{section + '.' if section else ''}{close[0]}'?"

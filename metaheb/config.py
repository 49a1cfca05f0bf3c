"""Typed configuration: TOML files plus ``section.key=value`` overrides, checked before any work.

Every key has a default here, so a config file names only what it changes. Unknown keys, values
of the wrong type and out-of-range values raise ``UserError`` with one line naming the key and the
fix, before a run directory or a Ray cluster exists.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.dataclasses import dataclass as pydantic_dataclass

from metaheb.errors import UserError
from metaheb.rules import RULES

# Every section checks its own values as it is built (pydantic): finite numbers, ranges, integer
# bounds, names from a fixed list, and names that stay inside their folder. Checks that relate two
# keys live in ``_validate``.
# Strict: true is not 1, "8" is not 8 (an int still serves where a float is asked for).
SECTION = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
# A run or morphology name is one path component: it cannot climb out of its folder or hide in a
# subfolder that ``metaheb runs`` would not list.
NAME = r"^[A-Za-z0-9][A-Za-z0-9._+-]*$"
SEED_LIMIT = 2**32  # numpy's SeedSequence and gymnasium take seeds 0..2^32-1
Count = Annotated[int, Field(ge=1, le=10**9)]
Steps = Annotated[int, Field(ge=0, le=10**9)]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Decay = Annotated[float, Field(gt=0, le=1)]
# Text keys take a number as its text: run.name=123 on the command line reads 123 as an int.
Text = Annotated[str, BeforeValidator(lambda value: str(value) if _is_number(value) else value)]
Name = Annotated[Text, Field(pattern=NAME, max_length=200)]


@pydantic_dataclass(config=SECTION)
class RunConfig:
    # directory name under out_dir; empty: <task>-<model>-s<seed>-<timestamp>
    name: Annotated[Text, Field(pattern=f"{NAME}|^$", max_length=200)] = ""
    seed: Annotated[int, Field(ge=0, lt=SEED_LIMIT)] = 0
    out_dir: Annotated[Text, Field(min_length=1)] = "runs"


@pydantic_dataclass(config=SECTION)
class TaskConfig:
    name: Literal["ant", "carracing"] = "ant"
    max_steps: Count = 1000  # the episode limit, burn-in included
    # Keys left unset take the task's own value, as its authors' code has it (TASK_DEFAULTS).
    burn_in: Steps | None = None  # zero-action steps at the start, with no plasticity
    # The Ant's input: "bullet", pybullet AntBulletEnv's 28 scaled values (the paper's simulator),
    # or "raw", MuJoCo Ant-v5's 27 unscaled ones (tasks/ant_observation.py).
    observation: Literal["bullet", "raw"] = "bullet"
    early_stop_after: Steps | None = None  # policy steps before the early stop applies
    early_stop_patience: Steps | None = None  # stop after more than this many negative steps
    # "after": negative steps are counted only past early_stop_after (the authors' Ant);
    # "always": counted from the first step, the stop considered from env step early_stop_after
    # (the authors' CarRacing, with early_stop_after 0).
    early_stop_count: Literal["after", "always"] | None = None
    # The agent acts every action_repeat-th step and holds its action in between (the steps,
    # fitness and early stop still count every one); CarRacing draws no frame it does not look at.
    action_repeat: Annotated[int, Field(ge=1, le=1000)] = 1
    fall_height: NonNegative = 0.26  # the Ant has fallen when its torso is below this (pybullet)
    fall_check: Literal["after", "always"] = "after"  # "after": falls end episodes in the window
    score_from: Literal["policy", "reset"] = "policy"  # distance from the end of burn-in, or reset
    # Bodies each genome is evaluated on (envs/ant/NAME.xml); fitness is the mean over them.
    morphologies: Annotated[list[Name], Field(min_length=1)] = field(
        default_factory=lambda: ["intact"]
    )
    morphology_dir: Text = ""  # a folder of one's own MJCF files; empty: the installed envs/ant
    episodes: Count = 1  # episodes per morphology for each evaluation (fitness: their mean)
    # Damage during episodes (metaheb/damage.py): zero this fraction of the weights at this step,
    # in these layers (0-based; empty: all); and motors that get no control all episode.
    ablation_fraction: Fraction = 0.0
    ablation_step: Steps = 500
    ablation_layers: list[Annotated[int, Field(ge=0, le=1000)]] = field(default_factory=list)
    failed_actuators: list[Annotated[int, Field(ge=0, le=7)]] = field(default_factory=list)
    renderer: Literal["fast", "gymnasium"] = "fast"  # who draws CarRacing's observation
    # CarRacing's 96x96 frame to the network's 84x84: "resize" the whole frame (the authors'
    # code, indicator bar included) or "crop" rows 0..83, columns 6..89 (metaheb's earlier choice).
    preprocess: Literal["resize", "crop"] = "resize"

    def __post_init__(self) -> None:
        for key, value in TASK_DEFAULTS[self.name].items():
            if getattr(self, key) is None:
                setattr(self, key, value)


# What an unset task key means, per task: the authors' code (Najarro & Risi 2020). The Ant: a
# 40-step burn-in, then the early stop past policy step 200 after more than 30 negative steps;
# CarRacing: no burn-in, the early stop from the first step after more than 20 negative rewards.
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "ant": {"burn_in": 40, "early_stop_after": 200, "early_stop_patience": 30,
            "early_stop_count": "after"},
    "carracing": {"burn_in": 0, "early_stop_after": 0, "early_stop_patience": 20,
                  "early_stop_count": "always"},
}  # fmt: skip


@pydantic_dataclass(config=SECTION)
class NetworkConfig:
    model: Literal["hebbian", "static"] = "hebbian"
    rule: Literal[tuple(RULES)] = "ABCD_lr"
    hidden: list[Annotated[int, Field(ge=1, le=65536)]] = field(default_factory=lambda: [128, 64])
    # Weights at the start of every episode: "uniform" U(-init_scale, init_scale), "normal"
    # N(0, init_std^2), both drawn fresh each episode; or "coevolved", part of the genome.
    init: Literal["uniform", "normal", "coevolved"] = "uniform"
    init_scale: Positive = 0.1
    init_std: Positive = 0.024
    normalise: Literal["none", "max_abs"] = "none"  # "max_abs": each layer / max|w| per update
    # K > 0: K shared rules and a synapse-to-rule assignment (bottleneck.py)
    bottleneck: Annotated[int, Field(ge=0, le=10**6)] = 0
    encoder: Literal["none", "carracing_conv"] = "none"  # the paper's evolved convolutions
    # The rule update compiled into one pass over memory (rules.fused_hebbian_step_): faster for
    # large populations; needs a C++ compiler and compiles for ~30 s on first use.
    fused: bool = False
    # What the output layer's rule sees as its post-synaptic activity: "task", the task's own
    # choice as its authors' code has it (the Ant: the squashed action; CarRacing: the linear
    # output before tanh/sigmoid); or "squashed" or "linear" for every task.
    output_rule_input: Literal["task", "squashed", "linear"] = "task"


@pydantic_dataclass(config=SECTION)
class EvolveConfig:
    algorithm: Literal["openes", "cmaes", "sepcmaes", "pgpe", "snes"] = "openes"
    popsize: Count = 200
    generations: Count = 300
    # Stop after the generation that brings the run's env steps to this many (0: no budget):
    # arms whose episodes end early at different rates then compare at equal env steps.
    max_env_steps: Annotated[int, Field(ge=0, le=10**15)] = 0
    init_std: NonNegative = 1.0  # the search starts at theta ~ N(0, init_std^2)
    lr: Positive = 0.2
    lr_decay: Decay = 0.995
    lr_min: NonNegative = 0.001
    sigma: Positive = 0.1
    sigma_decay: Decay = 0.999
    sigma_min: NonNegative = 0.01
    l2: NonNegative = 0.01  # fitness -= l2 * mean(theta^2) before ranking (OpenES)
    # theta in that mean: "coefficients", the rule coefficients only (a static network: its
    # weights), as the authors' code; or the whole "genome" (convolutions, co-evolved weights).
    l2_on: Literal["coefficients", "genome"] = "coefficients"
    # OpenES and PGPE: "centered" ranks (standardised) or "raw" fitness
    shaping: Literal["centered", "raw"] = "centered"
    stdev_lr: NonNegative = 0.1  # PGPE's learning rate of sigma (lr is its ClipUp centre rate)
    # Episode seeds (start state and random initial weights): "member", one per (generation,
    # member), as the paper; "generation", shared by a generation's members (common random
    # numbers); "fixed", one episode for every evaluation (a deterministic objective).
    seeding: Literal["member", "generation", "fixed"] = "member"
    # Held-out evaluation of the search centre (evolve/heldout.py): every eval_every generations
    # (and the last; 0: never), on eval_episodes fixed seeds no training episode uses, each of
    # eval_max_steps env steps. Its env steps are not counted in max_env_steps.
    eval_every: Steps = 10
    eval_episodes: Count = 10
    eval_max_steps: Count = 1000


@pydantic_dataclass(config=SECTION)
class RayConfig:
    # empty: start an embedded local Ray; "auto" or "ray://host:10001": a cluster
    address: Text = ""
    num_workers: Annotated[int, Field(ge=0, le=100_000)] = 0  # 0: one per CPU Ray reports


@dataclass
class Config:
    run: RunConfig = field(default_factory=RunConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    evolve: EvolveConfig = field(default_factory=EvolveConfig)
    ray: RayConfig = field(default_factory=RayConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> Config:
    """Read a TOML file (or start from the defaults), apply ``key=value`` overrides, validate."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise UserError(f"config file {str(path)!r} not found: give the path of a TOML file")
        data = read_toml(path, "config file")
    return config_from_dict(apply_overrides(data, overrides))


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """A TOML file's tables; unreadable, binary or malformed text is a one-line ``UserError``."""
    try:
        return tomllib.loads(path.read_text())
    except UnicodeDecodeError:
        raise UserError(f"{what} {str(path)!r} is not text: give a TOML file") from None
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"{what} {str(path)!r} is not valid TOML: {err}") from None
    except OSError as err:
        raise UserError(f"{what} {str(path)!r} cannot be read: {err.strerror}") from None


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
        sections[section_field.name] = check_section(
            section_field.name, globals()[section_field.type], given
        )
    unknown = set(data) - set(sections)
    if unknown:
        name = sorted(unknown)[0]
        raise UserError(f"unknown config section {name!r}{_suggest(name, sections)}")
    config = Config(**sections)
    _validate(config)
    return config


def check_section(section: str, cls: type, given: dict[str, Any]) -> Any:
    """The section ``cls`` built from ``given``; an unknown key or bad value is a ``UserError``."""
    known = {f.name for f in dataclasses.fields(cls)}
    for key in given:
        if key not in known:
            raise UserError(f"unknown config key '{section}.{key}'{_suggest(key, known, section)}")
    try:
        return cls(**given)
    except ValidationError as err:
        raise UserError(_one_line(section, err)) from None


def _one_line(section: str, err: ValidationError) -> str:
    """pydantic's first complaint as one line: the key, what it must be, what it got."""
    problem = err.errors(include_url=False)[0]
    where = ".".join(str(part) for part in problem["loc"] if not isinstance(part, int))
    index = [part for part in problem["loc"] if isinstance(part, int)]
    item = f" (item {index[0]})" if index else ""
    message = re.sub(r"^\w+ should", "must", problem["msg"])
    if problem["type"] == "literal_error":
        choices = ", ".join(re.findall(r"'([^']*)'", problem["ctx"]["expected"]))
        return f"config key '{section}.{where}' is {problem['input']!r}; choose one of: {choices}"
    if problem["type"] == "string_pattern_mismatch":
        message = "must be a plain name: letters, digits and . _ + - (no slash, no leading .)"
    return f"config key '{section}.{where}'{item} {message}, got {problem['input']!r}"


def _validate(config: Config) -> None:
    """The checks that relate two keys (each key's own range is checked as its section is built)."""
    if not config.network.hidden:
        raise UserError("config key 'network.hidden' is empty: give layer sizes like [128, 64]")
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
    layers = len(config.network.hidden) + 1
    if any(layer >= layers for layer in config.task.ablation_layers):
        raise UserError(
            f"task.ablation_layers names layers 0..{layers - 1} of a network with "
            f"{len(config.network.hidden)} hidden layers, got {config.task.ablation_layers}"
        )
    if config.evolve.algorithm in ("cmaes", "sepcmaes") and config.evolve.popsize < 4:
        raise UserError(
            f"evolve.popsize must be at least 4 for CMA-ES, got {config.evolve.popsize}"
        )
    if config.task.name == "carracing":
        if config.network.encoder != "carracing_conv":
            raise UserError(
                "task.name=carracing gives pixels: use network.encoder=carracing_conv "
                "(envs/carracing.toml)"
            )
        if config.task.morphologies != ["intact"] or config.task.failed_actuators:
            raise UserError(
                "task.morphologies and task.failed_actuators are Ant settings: leave them unset "
                "for carracing"
            )
    if config.task.burn_in >= config.task.max_steps:
        raise UserError("task.burn_in must be smaller than task.max_steps")
    if config.evolve.eval_every and config.task.burn_in >= config.evolve.eval_max_steps:
        raise UserError("task.burn_in must be smaller than evolve.eval_max_steps")
    if config.network.fused and not _cxx_compiler():
        raise UserError(
            "network.fused compiles the rule update and needs a C++ compiler, none found "
            "(g++, clang++ or $CXX): install one (apt-get install g++) or set network.fused=false"
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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

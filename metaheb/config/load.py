"""Reading a config: TOML files plus ``section.key=value`` overrides, checked before any work.

Unknown keys, values of the wrong type and out-of-range values raise ``UserError`` with one line
naming the key and the fix, before a run directory or a Ray cluster exists. The keys themselves,
with their defaults and meanings, are declared in ``sections.py``.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from metaheb.config.sections import SEARCHERS, SECTIONS, TASK_DEFAULTS, Config, task_family
from metaheb.errors import UserError
from metaheb.native import cxx_compiler


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> Config:
    """Read a TOML file (or start from the defaults), apply ``key=value`` overrides, validate."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if path.is_dir():
            hint = (
                " (to continue a run, metaheb resume RUN_DIR)"
                if (path / "config.toml").is_file()
                else ""
            )
            raise UserError(
                f"config file {str(path)!r} is a folder: give the path of a TOML file{hint}"
            )
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


# What a run recorded before a key existed ran: keys its config.toml lacks, by the run's encoder.
EARLIER_RUN_PROTOCOL = {"carracing_conv": {"network": {"encoder_tanh": "torch"}}}


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """A run's ``config.toml``, with what runs recorded before a key existed ran in its place (a
    CarRacing run from before 2026-12-08: the encoder's torch.tanh), so a resume goes on alike."""
    data = read_toml(run_dir / "config.toml", "run config")
    network = data.get("network", {})
    earlier = EARLIER_RUN_PROTOCOL.get(network.get("encoder", "none"), {})
    for section, keys in earlier.items():
        data[section] = {**keys, **data.get(section, {})}
    return data


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
            section_field.name, SECTIONS[section_field.name], given
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
    problems = err.errors(include_url=False)
    problem = problems[0]
    key = problem["loc"][0]
    branches = [p for p in problems if p["loc"][0] == key and len(p["loc"]) > 1]
    if len(branches) > 1 and all(isinstance(p["loc"][1], str) for p in branches):
        # A key of several kinds (bool or "auto"): one line naming every kind it may be.
        kinds = " or ".join(re.sub(r"^Input should be ", "", p["msg"]) for p in branches)
        return f"config key '{section}.{key}' must be {kinds}, got {problem['input']!r}"
    where = ".".join(str(part) for part in problem["loc"] if not isinstance(part, int))
    index = [part for part in problem["loc"] if isinstance(part, int)]
    item = f" (item {index[0]})" if index else ""
    message = re.sub(r"^\w+ should", "must", problem["msg"])
    if problem["type"] == "literal_error":
        choices = ", ".join(re.findall(r"'([^']*)'", problem["ctx"]["expected"]))
        return f"config key '{section}.{where}' is {problem['input']!r}; choose one of: {choices}"
    if problem["type"] == "string_pattern_mismatch" and (section, where) == ("task", "name"):
        return (
            f"config key 'task.name' is {problem['input']!r}; choose one of: ant, carracing, "
            "gym:<id> (a gymnasium MuJoCo locomotion id, e.g. gym:HalfCheetah-v5)"
        )
    if problem["type"] == "string_pattern_mismatch":
        message = "must be a plain name: letters, digits and . _ + - (no slash, no leading .)"
    return f"config key '{section}.{where}'{item} {message}, got {problem['input']!r}"


def _validate(config: Config) -> None:
    """The checks that relate two keys (each key's own range is checked as its section is built)."""
    if not config.network.hidden:
        raise UserError("config key 'network.hidden' is empty: give layer sizes like [128, 64]")
    evolve, searcher = config.evolve, SEARCHERS[config.evolve.algorithm]
    if searcher.antithetic and evolve.popsize % 2:
        raise UserError(
            f"evolve.popsize must be even for the antithetic pairs of {evolve.algorithm}, "
            f"got {evolve.popsize}"
        )
    if evolve.popsize < searcher.min_popsize:
        raise UserError(
            f"evolve.popsize must be at least {searcher.min_popsize} for {evolve.algorithm}, "
            f"got {evolve.popsize}"
        )
    family = task_family(config.task.name)
    own = TASK_DEFAULTS[family]["fitness"]
    if family != "gym" and config.task.fitness != own:
        raise UserError(
            f"task.fitness={config.task.fitness} is for gym:<id> tasks; {config.task.name}'s "
            f"fitness is its {own}: leave task.fitness unset"
        )
    layers = len(config.network.hidden) + 1
    if any(layer >= layers for layer in config.task.ablation_layers):
        raise UserError(
            f"task.ablation_layers names layers 0..{layers - 1} of a network with "
            f"{len(config.network.hidden)} hidden layers, got {config.task.ablation_layers}"
        )
    ant_settings = config.task.morphologies != ["intact"] or config.task.failed_actuators
    if family not in ("ant", "ant_bullet") and ant_settings:
        raise UserError(
            "task.morphologies and task.failed_actuators are Ant settings: leave them unset "
            f"for {config.task.name}"
        )
    if config.task.burn_in >= config.task.max_steps:
        raise UserError("task.burn_in must be smaller than task.max_steps")
    if config.evolve.eval_every and config.task.burn_in >= config.evolve.eval_max_steps:
        raise UserError("task.burn_in must be smaller than evolve.eval_max_steps")
    _check_merge(config)
    if config.network.fused is True and not cxx_compiler():
        raise UserError(
            "network.fused builds the rule update and needs a C++ compiler, none found "
            "(g++, clang++ or $CXX): install one (apt-get install g++) or set network.fused=false"
        )


def _check_merge(config: Config) -> None:
    """Evolve and merge: a schedule that is whole, on per-synapse Hebbian rules, with OpenES."""
    evolve, network = config.evolve, config.network
    if not evolve.merge_rules:
        if evolve.merge_at or evolve.merge_every:
            raise UserError(
                "evolve.merge_at/merge_every need evolve.merge_rules: the rules after "
                "each merge, e.g. [3072, 768, 384]"
            )
        return
    if bool(evolve.merge_at) == bool(evolve.merge_every):
        raise UserError(
            "evolve.merge_rules needs when to merge: evolve.merge_every=N or "
            "evolve.merge_at=[generations], one of the two"
        )
    if evolve.merge_at and len(evolve.merge_at) != len(evolve.merge_rules):
        raise UserError(
            f"evolve.merge_at has {len(evolve.merge_at)} generations for "
            f"{len(evolve.merge_rules)} merges in evolve.merge_rules: give one each"
        )
    for name, values in (("merge_at", evolve.merge_at), ("merge_rules", evolve.merge_rules[::-1])):
        if values != sorted(set(values)):
            raise UserError(
                f"evolve.{name} must strictly {'rise' if name == 'merge_at' else 'fall'}"
                f", got {getattr(evolve, name)}"
            )
    if network.model != "hebbian" or network.bottleneck:
        raise UserError(
            "evolve.merge_rules merges per-synapse Hebbian rules: use "
            "network.model=hebbian and network.bottleneck=0"
        )
    if evolve.algorithm != "openes":
        raise UserError(
            f"evolve.merge_rules runs with evolve.algorithm=openes (its state is the "
            f"centre, lr and sigma, carried over a merge); {evolve.algorithm} is not "
            "supported"
        )


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

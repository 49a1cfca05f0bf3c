"""Typed configuration: the sections and their keys (``sections``), reading and checking a config
(``load``), and the reference ``metaheb config`` prints (``reference``)."""

from metaheb.config.load import (
    apply_overrides,
    check_section,
    config_from_dict,
    load_config,
    read_run_config,
    read_toml,
)
from metaheb.config.sections import (
    SEARCHERS,
    SECTIONS,
    SEED_LIMIT,
    TASK_DEFAULTS,
    Config,
    EvolveConfig,
    NetworkConfig,
    RayConfig,
    RunConfig,
    TaskConfig,
    task_family,
)

__all__ = [
    "SEARCHERS",
    "SECTIONS",
    "SEED_LIMIT",
    "TASK_DEFAULTS",
    "Config",
    "EvolveConfig",
    "NetworkConfig",
    "RayConfig",
    "RunConfig",
    "TaskConfig",
    "apply_overrides",
    "check_section",
    "config_from_dict",
    "load_config",
    "read_run_config",
    "read_toml",
    "task_family",
]

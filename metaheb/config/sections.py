"""The config's sections and keys: each key's type, range, default and meaning, declared once.

Every key has a default here, so a config file names only what it changes. Each section checks
its own values as it is built (pydantic): finite numbers, ranges, integer bounds, names from a
fixed list, and names that stay inside their folder. Each key's ``Doc`` is its one-line meaning,
the text ``metaheb config`` prints. Checks that relate two keys live in ``load._validate``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, StrictBool
from pydantic.dataclasses import dataclass as pydantic_dataclass

from metaheb.rules import RULES

# Strict: true is not 1, "8" is not 8 (an int still serves where a float is asked for).
SECTION = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
# A run or morphology name is one path component: it cannot climb out of its folder or hide in a
# subfolder that ``metaheb runs`` would not list.
NAME = r"^[A-Za-z0-9][A-Za-z0-9._+-]*$"
SEED_LIMIT = 2**32  # numpy's SeedSequence and gymnasium take seeds 0..2^32-1
# The tasks by name (metaheb/tasks): two of their own, and any gymnasium id behind "gym:".
TASK_NAME = r"^(ant|ant_bullet|carracing|gym:[A-Za-z0-9_./-]+-v[0-9]+)$"


@dataclass(frozen=True)
class Searcher:
    """A searcher as the config knows it: its paper, its population rules, and who builds it."""

    paper: str
    builder: str  # the function of metaheb.evolve.searchers that builds it (imported there)
    antithetic: bool = False  # samples +-eps pairs: the population must be even
    min_popsize: int = 1


# Every searcher metaheb runs: the one table behind evolve.algorithm's choices, its checks,
# evolve.searchers.make_searcher, metaheb inspect and the tests parametrised over searchers.
SEARCHERS: dict[str, Searcher] = {
    "openes": Searcher(
        "OpenAI-ES, Salimans et al. (2017), as Najarro & Risi (2020)",
        "openes",
        antithetic=True,
        min_popsize=2,
    ),
    "cmaes": Searcher(
        "CMA-ES, Hansen & Ostermeier (2001), full covariance", "cmaes", min_popsize=4
    ),
    "sepcmaes": Searcher("separable CMA-ES, Ros & Hansen (2008)", "cmaes", min_popsize=4),
    "pgpe": Searcher(
        "PGPE, Sehnke et al. (2010), with ClipUp (Toklu et al. 2020)",
        "pgpe",
        antithetic=True,
        min_popsize=2,
    ),
    "snes": Searcher("separable NES, Schaul, Glasmachers & Schmidhuber (2011)", "snes"),
}
Count = Annotated[int, Field(ge=1, le=10**9)]
Steps = Annotated[int, Field(ge=0, le=10**9)]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Decay = Annotated[float, Field(gt=0, le=1)]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# Text keys take a number as its text: run.name=123 on the command line reads 123 as an int.
Text = Annotated[str, BeforeValidator(lambda value: str(value) if _is_number(value) else value)]
Name = Annotated[Text, Field(pattern=NAME, max_length=200)]


def Doc(meaning: str) -> Any:  # capitalised: it reads as part of a type, Annotated[int, Doc(...)]
    """A key's one-line meaning, kept in its field (``metaheb config`` prints it)."""
    return Field(description=meaning)


@pydantic_dataclass(config=SECTION)
class RunConfig:
    name: Annotated[
        Text,
        Field(pattern=f"{NAME}|^$", max_length=200),
        Doc("the run directory's name under out_dir; empty: <task>-<model>-s<seed>-<timestamp>"),
    ] = ""
    seed: Annotated[
        int, Field(ge=0, lt=SEED_LIMIT), Doc("fixes the run, whatever the number of workers")
    ] = 0
    out_dir: Annotated[Text, Field(min_length=1), Doc("where run directories are made")] = "runs"


@pydantic_dataclass(config=SECTION)
class TaskConfig:
    name: Annotated[
        Text,
        Field(pattern=TASK_NAME),
        Doc(
            "the environment: ant (MuJoCo), ant_bullet (pybullet, the paper's), carracing, or "
            "gym:<id> (any gymnasium MuJoCo locomotion id)"
        ),
    ] = "ant"
    max_steps: Annotated[Count, Doc("the episode limit, burn-in included")] = 1000
    fitness: Annotated[
        Literal["distance", "return"] | None,
        Doc("distance along +x (the Ant) or the env's return (CarRacing); unset: the task's"),
    ] = None
    # Keys left unset (None) take the task's own value, as its authors' code has it (TASK_DEFAULTS).
    burn_in: Annotated[
        Steps | None, Doc("zero-action steps at the start, with no plasticity; unset: the task's")
    ] = None
    observation: Annotated[
        Literal["bullet", "raw"],
        Doc(
            "the Ant's input: pybullet AntBulletEnv's 28 scaled values (the paper's simulator), "
            "or MuJoCo Ant-v5's 27 unscaled ones"
        ),
    ] = "bullet"
    early_stop_after: Annotated[
        Steps | None, Doc("policy steps before the early stop applies; unset: the task's")
    ] = None
    early_stop_patience: Annotated[
        Steps | None,
        Doc("stop after more than this many negative-progress steps; unset: the task's"),
    ] = None
    early_stop_count: Annotated[
        Literal["after", "always"] | None,
        Doc(
            "after: negative steps counted only past early_stop_after (the authors' Ant); "
            "always: counted from the first step (their CarRacing); unset: the task's"
        ),
    ] = None
    action_repeat: Annotated[
        int,
        Field(ge=1, le=1000),
        Doc(
            "act every k-th step and hold the action in between (steps, fitness and early stop "
            "count every one); CarRacing draws no frame it does not look at"
        ),
    ] = 1
    fall_height: Annotated[
        NonNegative, Doc("the Ant has fallen when its torso is below this (pybullet's 0.26)")
    ] = 0.26
    fall_check: Annotated[
        Literal["after", "always"], Doc("after: falls end episodes past early_stop_after only")
    ] = "after"
    score_from: Annotated[
        Literal["policy", "reset"],
        Doc("the Ant's distance counted from the end of burn-in, or from the reset"),
    ] = "policy"
    morphologies: Annotated[
        list[Name],
        Field(min_length=1),
        Doc(
            "bodies each genome is evaluated on (envs/ant/NAME.xml, envs/ant_bullet/ for "
            "ant_bullet); fitness: their mean (or min, morphology_fitness)"
        ),
    ] = field(default_factory=lambda: ["intact"])
    morphology_fitness: Annotated[
        Literal["mean", "min"],
        Doc(
            "how an agent's fitness combines its bodies: mean (the paper), or min (pays only for "
            "walking on every body; a deviation from the paper)"
        ),
    ] = "mean"
    morphology_dir: Annotated[
        Text, Doc("a folder of one's own MJCF bodies; empty: the task's installed envs/<task>")
    ] = ""
    episodes: Annotated[
        Count, Doc("episodes per morphology for each evaluation (fitness: their mean)")
    ] = 1
    ablation_fraction: Annotated[
        Fraction, Doc("damage: zero this fraction of the weights at ablation_step")
    ] = 0.0
    ablation_step: Annotated[Steps, Doc("the step at which the weights are zeroed")] = 500
    ablation_layers: Annotated[
        list[Annotated[int, Field(ge=0, le=1000)]],
        Doc("the layers ablated (0-based); empty: all"),
    ] = field(default_factory=list)
    failed_actuators: Annotated[
        list[Annotated[int, Field(ge=0, le=7)]], Doc("the Ant's motors that get no control")
    ] = field(default_factory=list)
    renderer: Annotated[Literal["fast", "gymnasium"], Doc("who draws CarRacing's observation")] = (
        "fast"
    )
    preprocess: Annotated[
        Literal["resize", "crop"],
        Doc(
            "CarRacing's 96x96 frame to 84x84: resize the whole frame (the authors' code) or "
            "crop rows 0..83, columns 6..89 (metaheb's earlier choice)"
        ),
    ] = "resize"

    def __post_init__(self) -> None:
        for key, value in TASK_DEFAULTS[task_family(self.name)].items():
            if getattr(self, key) is None:
                setattr(self, key, value)


def task_family(name: str) -> str:
    """The task a ``task.name`` is run by: ``ant``, ``carracing``, or ``gym`` for gym:<id>."""
    return "gym" if name.startswith("gym:") else name


# What an unset task key means, per task: the authors' code (Najarro & Risi 2020). The Ant: a
# 40-step burn-in, then the early stop past policy step 200 after more than 30 negative steps;
# CarRacing: no burn-in, the early stop from the first step after more than 20 negative rewards.
# A gym:<id> body takes the Ant's early stop, with no burn-in (it starts on its feet).
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "ant": {"burn_in": 40, "early_stop_after": 200, "early_stop_patience": 30,
            "early_stop_count": "after", "fitness": "distance"},
    "ant_bullet": {"burn_in": 40, "early_stop_after": 200, "early_stop_patience": 30,
                   "early_stop_count": "after", "fitness": "distance"},
    "carracing": {"burn_in": 0, "early_stop_after": 0, "early_stop_patience": 20,
                  "early_stop_count": "always", "fitness": "return"},
    "gym": {"burn_in": 0, "early_stop_after": 200, "early_stop_patience": 30,
            "early_stop_count": "after", "fitness": "distance"},
}  # fmt: skip


@pydantic_dataclass(config=SECTION)
class NetworkConfig:
    model: Annotated[
        Literal["hebbian", "static"],
        Doc("hebbian: the genome is rule coefficients; static: the genome is the weights"),
    ] = "hebbian"
    rule: Annotated[
        Literal[tuple(RULES)], Doc("the Hebbian rule of every plastic synapse (metaheb/rules.py)")
    ] = "ABCD_lr"
    hidden: Annotated[list[Annotated[int, Field(ge=1, le=65536)]], Doc("hidden layer sizes")] = (
        field(default_factory=lambda: [128, 64])
    )
    init: Annotated[
        Literal["uniform", "normal", "coevolved"],
        Doc(
            "weights at the start of every episode: U(-init_scale, init_scale) or "
            "N(0, init_std^2) drawn fresh each episode, or coevolved as part of the genome"
        ),
    ] = "uniform"
    init_scale: Annotated[Positive, Doc("the uniform start weights' bound")] = 0.1
    init_std: Annotated[Positive, Doc("the normal start weights' standard deviation")] = 0.024
    normalise: Annotated[
        Literal["none", "max_abs"], Doc("max_abs: each layer divided by its max|w| per update")
    ] = "none"
    bottleneck: Annotated[
        int,
        Field(ge=0, le=10**6),
        Doc("K > 0: K shared rules and a synapse-to-rule assignment (genomic bottleneck)"),
    ] = 0
    encoder: Annotated[
        Literal["none", "carracing_conv"], Doc("carracing_conv: the paper's evolved convolutions")
    ] = "none"
    encoder_tanh: Annotated[
        Literal["rational", "torch"],
        Doc(
            "the encoder's tanh: rational, a fixed rational function with the same bits on every "
            "CPU and several times faster (metaheb/rational_tanh.py); torch, torch.tanh, as runs "
            "before 2026-12-08 had it"
        ),
    ] = "rational"
    fused: Annotated[
        StrictBool | Literal["auto"],
        Doc(
            "the rule update compiled into one pass over memory, with the eager update's bits: "
            "true needs a C++ compiler; auto: on in training runs of at least "
            "1M planned env steps where a compiler is found (compiling costs seconds per worker)"
        ),
    ] = "auto"
    output_rule_input: Annotated[
        Literal["task", "squashed", "linear"],
        Doc(
            "what the output layer's rule sees: the task's choice (Ant: the squashed action; "
            "CarRacing: the linear output), or squashed or linear for every task"
        ),
    ] = "task"
    modulation: Annotated[
        Literal["none", "reward", "neuron", "both"],
        Doc(
            "a global factor m_t on every update (metaheb/modulation.py): reward, g times the "
            "reward-prediction error; neuron, tanh of an evolved readout of the hidden layers; "
            "both, that readout with the reward-prediction error as an input"
        ),
    ] = "none"


@pydantic_dataclass(config=SECTION)
class EvolveConfig:
    algorithm: Annotated[
        Literal[tuple(SEARCHERS)], Doc("the searcher, built by metaheb/evolve/searchers.py")
    ] = "openes"
    popsize: Annotated[Count, Doc("genomes per generation")] = 200
    generations: Annotated[Count, Doc("generations at most")] = 300
    max_env_steps: Annotated[
        int,
        Field(ge=0, le=10**15),
        Doc("stop after the generation that brings the run to this many env steps (0: none)"),
    ] = 0
    init_std: Annotated[NonNegative, Doc("the search starts at theta ~ N(0, init_std^2)")] = 1.0
    lr: Annotated[Positive, Doc("learning rate (OpenES step; PGPE's ClipUp centre rate)")] = 0.2
    lr_decay: Annotated[Decay, Doc("lr multiplied by this every generation (OpenES)")] = 0.995
    lr_min: Annotated[NonNegative, Doc("lr never decays below this")] = 0.001
    sigma: Annotated[Positive, Doc("the search distribution's initial standard deviation")] = 0.1
    sigma_decay: Annotated[Decay, Doc("sigma multiplied by this every generation (OpenES)")] = 0.999
    sigma_min: Annotated[NonNegative, Doc("sigma never decays below this")] = 0.01
    l2: Annotated[NonNegative, Doc("fitness -= l2 * mean(theta^2) before ranking (OpenES)")] = 0.01
    l2_on: Annotated[
        Literal["coefficients", "genome"],
        Doc(
            "theta in that mean: the rule coefficients only (a static network: its weights), "
            "as the authors' code, or the whole genome"
        ),
    ] = "coefficients"
    shaping: Annotated[
        Literal["centered", "raw"], Doc("OpenES and PGPE: centred ranks or raw fitness")
    ] = "centered"
    stdev_lr: Annotated[NonNegative, Doc("PGPE's learning rate of sigma")] = 0.1
    seeding: Annotated[
        Literal["member", "generation", "fixed"],
        Doc(
            "episode seeds: one per (generation, member) as the paper, shared by a generation "
            "(common random numbers), or one fixed episode"
        ),
    ] = "member"
    eval_every: Annotated[
        Steps,
        Doc(
            "score the search centre on held-out episodes every this many generations and at "
            "the last (0: never); not counted in max_env_steps"
        ),
    ] = 10
    eval_episodes: Annotated[Count, Doc("held-out episodes, on seeds no training uses")] = 10
    eval_max_steps: Annotated[Count, Doc("env steps of each held-out episode")] = 1000
    merge_rules: Annotated[
        list[Annotated[int, Field(ge=1, le=10**7)]],
        Doc(
            "evolve and merge (Pedersen & Risi 2021): the number of shared rules after each "
            "merge, falling; [] never merges"
        ),
    ] = field(default_factory=list)
    merge_at: Annotated[
        list[Annotated[int, Field(ge=1, le=10**7)]],
        Doc("the generations after which each merge happens, rising (or merge_every)"),
    ] = field(default_factory=list)
    merge_every: Annotated[
        int, Field(ge=0, le=10**7), Doc("merge after every this many generations (0: merge_at)")
    ] = 0

    def merge_schedule(self) -> list[tuple[int, int]]:
        """(generation after which, rules after) of each merge, in order."""
        at = self.merge_at or [self.merge_every * (k + 1) for k in range(len(self.merge_rules))]
        return list(zip(at, self.merge_rules))


@pydantic_dataclass(config=SECTION)
class RayConfig:
    address: Annotated[
        Text, Doc('empty: an embedded local Ray; "auto" or "ray://host:10001": a cluster')
    ] = ""
    num_workers: Annotated[
        int, Field(ge=0, le=100_000), Doc("evaluation workers; 0: one per CPU Ray reports")
    ] = 0


@dataclass
class Config:
    run: RunConfig = field(default_factory=RunConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    evolve: EvolveConfig = field(default_factory=EvolveConfig)
    ray: RayConfig = field(default_factory=RayConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# The sections by name, as a config file's tables name them.
SECTIONS: dict[str, type] = {
    "run": RunConfig,
    "task": TaskConfig,
    "network": NetworkConfig,
    "evolve": EvolveConfig,
    "ray": RayConfig,
}

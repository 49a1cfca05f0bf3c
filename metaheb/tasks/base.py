"""The contract every task meets: what the rollout, replay, evaluate and report may ask of one.

A task makes batched environments (one per agent) for a body, resets them with seeds, steps them
with a batch of actions, and scores the episodes as they go; it knows nothing of networks,
genomes or evolution. Its facts: the output activation, what the output layer's rule sees, and
whether it has named bodies to damage, and the network encoder its input needs are class
attributes, read before any environment exists;
sizes and the replay frame rate may depend on the environment (a gym:<id> task reads them there).

The batched layout is EvoJAX's task split (Tang et al. 2022) kept for Python environments: one
Python call steps the whole batch, so the per-step overhead is paid once per batch.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import numpy as np

from metaheb.config import TaskConfig


class Score(Protocol):
    """A batch's episodes scored as they run, every array indexed by agent (0..n-1)."""

    steps: np.ndarray  # (n,) env steps each agent has taken
    reward: np.ndarray  # (n,) each agent's last observed step's contribution to its fitness

    @property
    def fitness(self) -> np.ndarray:
        """(n,) the fitness so far: at the episode's end, its fitness."""
        ...

    def observe(self, step: int, agents: np.ndarray, envs: list[Any], outcome: Any) -> np.ndarray:
        """Record step ``step`` (0-based) of ``agents`` from their envs and the step's outcome;
        return which of them are now done (early stop, fall, end of the episode)."""
        ...


class FrameSource(Protocol):
    """Video frames of an environment (``metaheb.tasks.frames``)."""

    def frame(self, env: Any) -> np.ndarray:
        """The env now, as an (height, width, 3) uint8 image."""
        ...

    def close(self) -> None: ...


class Task(Protocol):
    """Batched environments for one task, and how their episodes are scored."""

    config: TaskConfig
    obs_dim: int  # values per observation (pixels flattened)
    act_dim: int
    output_activation: ClassVar[str]  # the network's output squashing (networks.OUTPUT_ACTIVATIONS)
    output_rule_input: ClassVar[str]  # what the output layer's rule sees: "squashed" or "linear"
    fps: float  # env steps per simulated second: the replay video's frame rate
    bodies: ClassVar[bool]  # named morphologies (task.morphologies) that a report can damage
    encoder: ClassVar[str]  # the network's input stage it needs (network.encoder), e.g. "none"
    unit: str  # the fitness's unit, as a report prints it: "m", "a.u." (pybullet), "points"
    per_metre: float  # fitness units per metre walked (1 for metres; nan if not a distance)

    def envs(self, count: int, morphology: str) -> list[Any]:
        """``count`` environments of a body, created once per process and reused."""
        ...

    def reset(self, envs: list[Any], seeds: list[int]) -> np.ndarray:
        """Reset each env with its own seed; return the batch's observations (n, obs...)."""
        ...

    def step(
        self, envs: list[Any], actions: np.ndarray, look: bool = True
    ) -> tuple[np.ndarray, Any]:
        """Step every env with its action row; return (observations, outcome for the score).

        ``look`` false: the agent will not read this observation (it holds its action), so a
        task whose observation costs a frame may skip drawing it."""
        ...

    def score(self, envs: list[Any]) -> Score:
        """A new score for episodes just reset in ``envs``."""
        ...

    def frames(self, size: tuple[int, int]) -> FrameSource:
        """Where replay's video frames come from; ``size`` (height, width) where it is chosen."""
        ...

"""Any gymnasium MuJoCo locomotion environment by id: ``task.name = "gym:HalfCheetah-v5"``.

The body's own observation and action spaces; the network's tanh outputs scaled to the action
bounds; fitness (``task.fitness``) the distance the root body travels along +x (``qpos[0]``, the
Ant's measure, as in HalfCheetah, Hopper, Walker2d, Swimmer and Humanoid) or the environment's own
return. The Ant's episode choices apply where they make sense: ``burn_in`` zero-action steps,
fitness counted from the end of burn-in (``task.score_from``), and the early stop on a run of
negative steps past ``early_stop_after`` (``metaheb.tasks.early_stop``). An environment's own
termination (Hopper or Walker2d falling over) ends its episode at once. There are no named
bodies to damage; weight ablation and failed motors apply as for every task.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import gymnasium as gym
import mujoco
import numpy as np

from metaheb.config import TaskConfig
from metaheb.errors import UserError
from metaheb.tasks.ant import ForwardProgress
from metaheb.tasks.carracing import EpisodeReturn
from metaheb.tasks.frames import TrackingCamera

PREFIX = "gym:"


@contextmanager
def quiet_compile() -> Iterator[None]:
    """Drop MuJoCo's warnings while a gymnasium body compiles.

    Some of gymnasium's own model files use attributes MuJoCo now deprecates (HalfCheetah's
    ``settotalmass``); MuJoCo writes each such warning to MUJOCO_LOG.TXT in the working directory:
    a file the user did not ask for, about a file they cannot change.
    """
    previous = mujoco.get_mju_user_warning()
    mujoco.set_mju_user_warning(lambda message: None)
    try:
        yield
    finally:
        mujoco.set_mju_user_warning(previous)


def make_env(env_id: str) -> gym.Env:
    """The unwrapped environment (the episode limit and early stop are metaheb's); one line if
    the id is unknown or not a MuJoCo body with continuous actions."""
    try:
        with quiet_compile():
            env = gym.make(env_id).unwrapped
    except gym.error.Error as err:
        raise UserError(
            f"task.name 'gym:{env_id}': gymnasium has no such environment ({err}); "
            "e.g. gym:HalfCheetah-v5, gym:Hopper-v5, gym:Walker2d-v5, gym:Swimmer-v5"
        ) from None
    if not hasattr(env, "data") or not isinstance(env.action_space, gym.spaces.Box):
        env.close()
        raise UserError(
            f"task.name 'gym:{env_id}' is not a MuJoCo locomotion environment (a body with "
            "continuous motors): e.g. gym:HalfCheetah-v5, gym:Hopper-v5"
        )
    return env


class GymLocomotionTask:
    """Batched gymnasium MuJoCo environments of one id, scored by distance or return."""

    output_activation = "tanh"
    output_rule_input = "squashed"  # as the Ant: the output layer's rule sees the action
    bodies = False  # one body, the environment's own
    encoder = "none"  # a state vector needs no encoder

    def __init__(self, config: TaskConfig) -> None:
        self.config = config
        self.env_id = config.name.removeprefix(PREFIX)
        probe = make_env(self.env_id)
        self.obs_dim = int(np.prod(probe.observation_space.shape))
        self.act_dim = int(np.prod(probe.action_space.shape))
        self.action_scale = np.asarray(probe.action_space.high, dtype=np.float64)
        self.action_dtype = probe.action_space.dtype  # float32: what the env's space holds
        self.fps = 1.0 / probe.dt  # env steps per simulated second
        distance = config.fitness == "distance"
        self.unit, self.per_metre = ("m", 1.0) if distance else ("return", float("nan"))
        self._envs: list[gym.Env] = [probe]

    def envs(self, count: int, morphology: str = "intact") -> list[gym.Env]:
        """``count`` environments, created once per process and reused."""
        while len(self._envs) < count:
            self._envs.append(make_env(self.env_id))
        return self._envs[:count]

    def reset(self, envs: list[gym.Env], seeds: list[int]) -> np.ndarray:
        observations = [env.reset(seed=int(seed))[0] for env, seed in zip(envs, seeds)]
        return np.stack(observations).astype(np.float64).reshape(len(envs), -1)

    def step(
        self, envs: list[gym.Env], actions: np.ndarray, look: bool = True
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Step every env; return (observations, (rewards, ended by the env, broken))."""
        observations = np.empty((len(envs), self.obs_dim))
        rewards = np.empty(len(envs))
        ended = np.empty(len(envs), dtype=bool)
        for k, (env, action) in enumerate(zip(envs, actions)):
            scaled = (action * self.action_scale).astype(self.action_dtype)
            obs, rewards[k], terminated, truncated, _ = env.step(scaled)
            observations[k] = np.ravel(obs)
            ended[k] = terminated or truncated
        broken = ~np.isfinite(observations).all(axis=1) | ~np.isfinite(rewards)
        return observations, (rewards, ended, broken)

    def frames(self, size: tuple[int, int]) -> TrackingCamera:
        """Replay's video frames: the camera follows the body."""
        return TrackingCamera(size)

    def score(self, envs: list[gym.Env]) -> ForwardProgress | EpisodeReturn:
        if self.config.fitness == "return":
            return _Return(len(envs), self.config)
        return _Distance(np.array([env.data.qpos[0] for env in envs]), self.config)


class _Distance(ForwardProgress):
    """The Ant's forward progress of the root body; the env's own end stops an episode at once."""

    def observe(self, step, agents, envs, outcome) -> np.ndarray:
        _, ended, broken = outcome
        x = np.array([env.data.qpos[0] for env in envs])
        return self.update(step, agents, x, np.zeros(len(agents), dtype=bool), broken | ended)


class _Return(EpisodeReturn):
    """The environment's own return; a state no longer finite ends the episode at once."""

    def observe(self, step, agents, envs, outcome) -> np.ndarray:
        rewards, ended, broken = outcome
        return super().observe(step, agents, envs, (rewards, ended | broken))

"""MuJoCo quadruped: gymnasium's Ant-v5 physics, scored by distance walked along +x.

Protocol of Najarro & Risi (2020), quadruped experiments, with gymnasium's Ant-v5 in place of
pybullet's AntBulletEnv:

- observation: Ant-v5 without contact forces (27 numbers: torso height and orientation, joint
  angles, velocities), fed raw to the network;
- the first ``burn_in`` (40) steps apply zero action, so the body settles before the policy acts;
  no plasticity happens during them; they count inside the ``max_steps`` (1000) limit;
- fitness = forward progress, the torso's x at the end minus its x at reset, not gymnasium's
  shaped reward (no control or survival terms);
- morphologies: the body is a named MJCF file (``envs/ant/``: intact, or one lower leg shortened
  to a quarter); with several, a genome's fitness is its mean over them, one episode each;
- early stop: after step ``early_stop_after`` (200), when the per-step progress has been negative
  for more than ``early_stop_patience`` (30) steps in a row; or on a fall, which is Ant-v5's own
  "unhealthy" termination (torso z outside [0.2, 1.0]).
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np

from metaheb.config import TaskConfig
from metaheb.errors import UserError
from metaheb.tasks.morphologies import morphology_path


class AntTask:
    """Ant-v5 environments plus the forward-progress score; one env per agent of a batch."""

    obs_dim = 27
    act_dim = 8
    output_activation = "tanh"

    def __init__(self, config: TaskConfig) -> None:
        self.config = config
        self.model_files = {
            name: morphology_path(name, config.morphology_dir) for name in config.morphologies
        }
        for name, path in self.model_files.items():
            check_model(name, path)
        self._envs: dict[str, list[gym.Env]] = {name: [] for name in config.morphologies}

    def envs(self, count: int, morphology: str) -> list[gym.Env]:
        """``count`` environments of a morphology, created once per process and reused."""
        pool = self._envs[morphology]
        while len(pool) < count:
            # The unwrapped env: the episode limit and early stop are ours, and the wrappers'
            # checks cost about a quarter of a step. The fall test is the torso below 0.2 only.
            env = gym.make(
                "Ant-v5",
                xml_file=str(self.model_files[morphology]),
                include_cfrc_ext_in_observation=False,
                healthy_z_range=(0.2, 10.0),
            ).unwrapped
            pool.append(env)
        return pool[:count]

    def reset(self, envs: list[gym.Env], seeds: list[int]) -> np.ndarray:
        """Reset each env with its own seed (gymnasium's reset noise); stack the observations."""
        return np.stack([env.reset(seed=int(seed))[0] for env, seed in zip(envs, seeds)])

    def step(self, envs: list[gym.Env], actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Step every env with its action row; return (observations, fell).

        The physics is stepped directly (``mj_step`` with Ant-v5's frame skip): the same state,
        observation and termination as gymnasium's ``AntEnv.step`` (tested step by step), without
        its reward terms and info dict, which metaheb does not use and which cost about a quarter
        of a step. Observation: qpos without x, y, then qvel; a fall: torso z below 0.2 or a
        non-finite state (gymnasium's ``is_healthy`` with metaheb's z range).
        """
        observations = np.empty((len(envs), self.obs_dim))
        fell = np.empty(len(envs), dtype=bool)
        for k, (env, action) in enumerate(zip(envs, actions)):
            data = env.data
            data.ctrl[:] = action
            mujoco.mj_step(env.model, data, nstep=env.frame_skip)
            observations[k, :13] = data.qpos[2:]
            observations[k, 13:] = data.qvel
            z = data.qpos[2]
            fell[k] = not (0.2 <= z <= 10.0 and np.isfinite(observations[k]).all())
        return observations, fell

    @staticmethod
    def x_positions(envs: list[gym.Env]) -> np.ndarray:
        return np.array([env.unwrapped.data.qpos[0] for env in envs])

    def score(self, envs: list[gym.Env]) -> ForwardProgress:
        return ForwardProgress(self.x_positions(envs), self.config)


def check_model(name: str, path: Path) -> None:
    """Compile a morphology's MJCF once, here, so a broken file is one line, not a worker crash."""
    try:
        model = mujoco.MjModel.from_xml_path(str(path))
    except ValueError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else "cannot be compiled"
        raise UserError(f"morphology {name!r} ({path}) is not a valid MJCF file: {first}") from None
    if model.nu != AntTask.act_dim or model.nq != 15:
        raise UserError(
            f"morphology {name!r} ({path}) is not an Ant: it has {model.nu} motors and "
            f"{model.nq} position coordinates (an Ant has 8 and 15)"
        )


class ForwardProgress:
    """Fitness and early stop for a batch of Ant episodes, indexed by agent."""

    def __init__(self, start_x: np.ndarray, config: TaskConfig) -> None:
        self.config = config
        self.start_x = start_x.astype(np.float64)
        self.last_x = self.start_x.copy()
        self.negative_run = np.zeros(len(start_x), dtype=np.int64)
        self.steps = np.zeros(len(start_x), dtype=np.int64)

    def update(self, step: int, agents: np.ndarray, x: np.ndarray, fell: np.ndarray) -> np.ndarray:
        """Record step ``step`` (0-based) for ``agents``; return which of them are now done."""
        progress = x - self.last_x[agents]
        self.last_x[agents] = x
        self.steps[agents] = step + 1
        negative = progress < 0
        self.negative_run[agents] = np.where(negative, self.negative_run[agents] + 1, 0)
        stalled = (step >= self.config.early_stop_after) & (
            self.negative_run[agents] > self.config.early_stop_patience
        )
        return fell | stalled | (step + 1 >= self.config.max_steps)

    def observe(
        self, step: int, agents: np.ndarray, envs: list[gym.Env], fell: np.ndarray
    ) -> np.ndarray:
        """``update`` from the envs of ``agents`` (the rollout's task-neutral call)."""
        return self.update(step, agents, AntTask.x_positions(envs), fell)

    @property
    def fitness(self) -> np.ndarray:
        return self.last_x - self.start_x

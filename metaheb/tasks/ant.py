"""MuJoCo quadruped: gymnasium's Ant-v5 physics, scored by distance walked along +x.

Protocol of Najarro & Risi (2020), quadruped experiments, with gymnasium's Ant-v5 in place of
pybullet's AntBulletEnv:

- observation (``task.observation``): ``bullet``, pybullet AntBulletEnv's 28 scaled values
  computed from MuJoCo's state (the paper's simulator), or ``raw``, Ant-v5's 27 unscaled ones
  (``metaheb.tasks.ant_observation``);
- the first ``burn_in`` (40) steps apply zero action, so the body settles before the policy acts;
  no plasticity happens during them; they count inside the ``max_steps`` (1000) limit;
- fitness = forward progress along +x, the sum of the progress term only (no alive bonus, no
  electricity cost), as the authors' ``rewards[1]``: the torso's x at the end minus its x at the
  end of the burn-in (``task.score_from = "policy"``: their sum runs over policy steps only;
  ``"reset"``: from the x at reset); in metres, where pybullet's unit is about 1/60.6 m;
- morphologies: the body is a named MJCF file (``envs/ant/``: intact, or one lower leg shortened
  to a quarter); with several, a genome's fitness is its mean over them, one episode each;
- early stop (``metaheb.tasks.early_stop``): past policy step ``early_stop_after`` (200), when the
  progress has been negative for more than ``early_stop_patience`` (30) steps in a row; or on a
  fall, the torso below ``fall_height`` (0.26, pybullet's Ant), which the authors' code checks
  inside the same window (``task.fall_check = "after"``; ``"always"``: at every step). A state
  that is no longer finite ends the episode at once.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np

from metaheb.config import TaskConfig
from metaheb.errors import UserError, first_line
from metaheb.tasks.ant_observation import SIZES, AntObservation
from metaheb.tasks.early_stop import NegativeRun
from metaheb.tasks.frames import TrackingCamera
from metaheb.tasks.morphologies import morphology_path
from metaheb.tasks.mujoco_batch import (
    Simulation,
    built_loop_works,
    gather_built,
    gather_python,
    step_built,
    step_python,
)


class AntTask:
    """Ant-v5 environments plus the forward-progress score; one env per agent of a batch."""

    act_dim = 8
    output_activation = "tanh"
    output_rule_input = "squashed"  # the authors' Ant rule sees tanh(output), the action itself
    fps = 20.0  # Ant-v5: frame skip 5 x timestep 0.01 = 0.05 s per env step
    bodies = True  # envs/ant/*.xml: intact and damaged legs
    encoder = "none"  # a state vector needs no encoder
    unit, per_metre = "m", 1.0

    def __init__(self, config: TaskConfig) -> None:
        self.config = config
        self.obs_dim = SIZES[config.observation]
        self.model_files = {
            name: morphology_path(name, config.morphology_dir) for name in config.morphologies
        }
        for name, path in self.model_files.items():
            check_model(name, path)
        self._envs: dict[str, list[gym.Env]] = {name: [] for name in config.morphologies}
        # Per env (by id): its MuJoCo handles, its body's observation builder and its torso
        # height at reset (z0).
        self._handles: dict[int, Simulation] = {}
        self._observers: dict[int, AntObservation] = {}
        self._initial_z: dict[int, float] = {}
        # Whether the batch steps and gathers through metaheb.tasks.mujoco_batch's built loop:
        # set where it serves; False forces the Python loop (the same bits, slower).
        self.built_loop = False

    def envs(self, count: int, morphology: str) -> list[gym.Env]:
        """``count`` environments of a morphology, created once per process and reused."""
        pool = self._envs[morphology]
        observer = None
        while len(pool) < count:
            # The unwrapped env: the episode limit and early stop are ours, and the wrappers'
            # checks cost about a quarter of a step. The fall test is metaheb's (task.fall_height).
            env = gym.make(
                "Ant-v5",
                xml_file=str(self.model_files[morphology]),
                include_cfrc_ext_in_observation=False,
                healthy_z_range=(0.2, 10.0),
            ).unwrapped
            if pool:
                # One mjModel per body, shared by its envs: they were built from the same file,
                # and a step only reads it. 64 copies of it crowd the agents' network state out
                # of the cache (docs/speed.md); each env keeps its own mjData.
                env.model = pool[0].model
            pool.append(env)
            self._handles[id(env)] = Simulation.of(env.model, env.data, env.frame_skip)
            observer = observer or AntObservation(self.config.observation, env.model)
            self._observers[id(env)] = observer
            self.built_loop = built_loop_works(env.model, env.frame_skip, observer.feet)
        return pool[:count]

    def reset(self, envs: list[gym.Env], seeds: list[int]) -> np.ndarray:
        """Reset each env with its own seed (gymnasium's reset noise); return the observations."""
        for env, seed in zip(envs, seeds):
            env.reset(seed=int(seed))
            self._initial_z[id(env)] = float(env.data.qpos[2])
        return self.observe(envs)

    def observe(self, envs: list[gym.Env]) -> np.ndarray:
        """The batch's observations now, in ``task.observation``'s layout (one body a batch)."""
        return self._observe(envs, [self._handles[id(env)] for env in envs])[0]

    def step(
        self, envs: list[gym.Env], actions: np.ndarray, look: bool = True
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Step every env with its action row; return (observations, (x, fell, broken)).

        The physics is stepped directly (``mj_step`` with Ant-v5's frame skip, the batch in one
        call where ``metaheb.tasks.mujoco_batch``'s built loop serves): the same state,
        observation and termination as gymnasium's ``AntEnv.step`` (tested step by step), without
        its reward terms and info dict, which metaheb does not use and which cost about a quarter
        of a step. ``x``: the torso's x, for the score; ``fell``: the torso below
        ``task.fall_height``; ``broken``: the state is no longer finite (the score ends those at
        once, whatever the window). The observation is always computed (``look`` is for tasks
        whose observation costs a frame): it is cheap.
        """
        handles = [self._handles[id(env)] for env in envs]
        (step_built if self.built_loop else step_python)(handles, actions)
        observations, qpos = self._observe(envs, handles)
        finite = np.isfinite(observations).all(axis=1) & np.isfinite(qpos[:, 2])
        return observations, (qpos[:, 0], qpos[:, 2] < self.config.fall_height, ~finite)

    def _observe(
        self, envs: list[gym.Env], handles: list[Simulation]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(observations, qpos) of the batch, read through its envs' ``handles``."""
        observer = self._observers[id(envs[0])]
        state = (gather_built if self.built_loop else gather_python)(handles, observer.feet)
        initial_z = np.array([self._initial_z[id(env)] for env in envs])
        return observer.from_state(*state, initial_z), state[0]

    @staticmethod
    def x_positions(envs: list[gym.Env]) -> np.ndarray:
        return np.array([env.unwrapped.data.qpos[0] for env in envs])

    def frames(self, size: tuple[int, int]) -> TrackingCamera:
        """Replay's video frames: the camera follows the body."""
        return TrackingCamera(size)

    def score(self, envs: list[gym.Env]) -> ForwardProgress:
        return ForwardProgress(self.x_positions(envs), self.config)


def check_model(name: str, path: Path) -> None:
    """Compile a morphology's MJCF once, here, so a broken file is one line, not a worker crash."""
    try:
        model = mujoco.MjModel.from_xml_path(str(path))
    except ValueError as err:
        first = first_line(err, empty="cannot be compiled")
        raise UserError(f"morphology {name!r} ({path}) is not a valid MJCF file: {first}") from None
    if model.nu != AntTask.act_dim or model.nq != 15:
        raise UserError(
            f"morphology {name!r} ({path}) is not an Ant: it has {model.nu} motors and "
            f"{model.nq} position coordinates (an Ant has 8 and 15)"
        )


class ForwardProgress:
    """Fitness and early stop for a batch of Ant episodes, indexed by agent (a ``Score``)."""

    def __init__(self, start_x: np.ndarray, config: TaskConfig) -> None:
        self.config = config
        self.start_x = start_x.astype(np.float64)
        self.last_x = self.start_x.copy()
        self.negative_run = NegativeRun(len(start_x), config)
        self.steps = np.zeros(len(start_x), dtype=np.int64)
        self.reward = np.zeros(len(start_x))  # the last step's progress, as fitness counts it

    def update(
        self, step: int, agents: np.ndarray, x: np.ndarray, fell: np.ndarray, broken: np.ndarray
    ) -> np.ndarray:
        """Record step ``step`` (0-based) for ``agents``; return which of them are now done."""
        config = self.config
        progress = x - self.last_x[agents]
        self.last_x[agents] = x
        self.steps[agents] = step + 1
        counted = config.score_from == "reset" or step + 1 > config.burn_in
        self.reward[agents] = progress if counted else 0.0
        if config.score_from == "policy" and step + 1 == config.burn_in:
            self.start_x[agents] = x  # the authors sum progress over policy steps only
        stalled = self.negative_run.update(step, agents, progress < 0)
        fall_counts = config.fall_check == "always" or self.negative_run.window_open(step)
        return broken | (fell & fall_counts) | stalled | (step + 1 >= config.max_steps)

    def observe(
        self,
        step: int,
        agents: np.ndarray,
        envs: list[gym.Env],
        outcome: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> np.ndarray:
        """``update`` from the step's outcome, (x, fell, broken) (the rollout's task-neutral
        call)."""
        return self.update(step, agents, *outcome)

    @property
    def fitness(self) -> np.ndarray:
        return self.last_x - self.start_x

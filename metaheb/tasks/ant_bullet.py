"""pybullet's Ant, the quadruped of Najarro & Risi (2020): ``task.name = "ant_bullet"``.

pybullet's AntBulletEnv-v0 (``pybullet_envs``) rebuilt for batches, one direct pybullet client
(no GUI) per environment, the same physics call for call:

- the world: gravity 9.8, contact ERP 0.9, 5 solver iterations, deterministic overlapping
  pairs, one control step of 0.0165 s made of 4 sub-steps; the floor ``plane_stadium.sdf``
  (lateral friction 0.8, restitution 0.5); the body an MJCF file loaded with self-collision
  (``envs/ant_bullet/``: pybullet's own ``mjcf/ant.xml`` and its damaged legs);
- reset: the torso back at its loaded pose at rest, each of the 8 hinges at U(-0.1, 0.1) rad
  with zero speed, drawn from the episode's seed (pybullet's ``robot_specific_reset``); every
  motor disabled (position control with zero force), then driven by torque
  ``2.5 x 100 x clip(a, -1, 1)`` N m;
- the 28 observations of ``WalkerBase.calc_state`` (``metaheb.tasks.ant_observation`` lists the
  layout), float32 as pybullet's, the foot contacts the previous step's as in pybullet;
- fitness: the sum of the progress term, the authors' ``rewards[1]``: the change of the
  potential ``-d / dt``, d the distance from the mean position of every part (the floor's
  included, as pybullet's part list holds it after the first reset) to the target 1000 m along
  +x, dt = 0.0165 s: 21/22 of a metre per dt, about 57.9 a.u. per metre. The potential at
  reset counts the robot's parts only, as in the authors' code, which makes a new environment
  for every episode;
- a fall: the torso at or below 0.26 m (pybullet's ``alive_bonus``, strictly: z > 0.26 is
  alive), with the burn-in, early stop and fall window of ``metaheb.tasks.ant`` (the authors'
  code checks both only past policy step 200).

pybullet is an optional extra: ``pip install -e .[bullet]``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np

from metaheb.config import TaskConfig
from metaheb.errors import UserError
from metaheb.tasks.ant import ForwardProgress
from metaheb.tasks.ant_observation import TARGET_X, bullet_layout
from metaheb.tasks.morphologies import morphology_path

CONTROL_STEP = 0.0165  # s per env step: 4 sub-steps of 0.0165 / 4
SUB_STEPS = 4
TORQUE = 2.5 * 100.0  # WalkerBase power x each joint's power_coef
FEET = ("front_left_foot", "front_right_foot", "left_back_foot", "right_back_foot")


@cache
def pybullet() -> ModuleType:
    """The pybullet module, or one line saying how to install it."""
    try:
        with quiet_stderr():  # its C library prints its build time on import
            import pybullet as module
    except ImportError:
        raise UserError(
            "task.name = 'ant_bullet' needs pybullet, which is not installed: "
            "pip install -e '.[bullet]' (or pip install pybullet)"
        ) from None
    return module


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send what C code writes to stderr (file descriptor 2) to /dev/null meanwhile, so that
    stderr keeps metaheb's own lines (an error is one line)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def floor_file() -> str:
    import pybullet_data  # ships with pybullet

    return str(Path(pybullet_data.getDataPath()) / "plane_stadium.sdf")


class BulletAnt:
    """One Ant in its own direct pybullet client; ``reset``, ``act``, then read its state."""

    def __init__(self, model_file: Path) -> None:
        p = pybullet()
        self.p = p
        self.client = p.connect(p.DIRECT)
        kw = {"physicsClientId": self.client}
        p.resetSimulation(**kw)
        p.setPhysicsEngineParameter(deterministicOverlappingPairs=1, **kw)
        p.setGravity(0, 0, -9.8, **kw)
        p.setDefaultContactERP(0.9, **kw)
        p.setPhysicsEngineParameter(
            fixedTimeStep=CONTROL_STEP, numSolverIterations=5, numSubSteps=SUB_STEPS, **kw
        )
        (self.floor,) = p.loadSDF(floor_file(), **kw)
        p.changeDynamics(self.floor, -1, lateralFriction=0.8, restitution=0.5, **kw)
        flags = p.URDF_USE_SELF_COLLISION | p.URDF_USE_SELF_COLLISION_EXCLUDE_ALL_PARENTS
        (self.body,) = p.loadMJCF(str(model_file), flags=flags, **kw)
        links = [p.getJointInfo(self.body, j, **kw) for j in range(p.getNumJoints(self.body, **kw))]
        self.links = list(range(len(links)))
        self.joints = [j for j, info in enumerate(links) if info[2] == p.JOINT_REVOLUTE]
        low = np.array([links[j][8] for j in self.joints])
        high = np.array([links[j][9] for j in self.joints])
        self.joint_mid, self.joint_half_range = 0.5 * (low + high), 0.5 * (high - low)
        names = [info[12].decode() for info in links]
        self.feet = np.array([names.index(foot) for foot in FEET])
        self.floor_xy = np.array(p.getBasePositionAndOrientation(self.floor, **kw)[0][:2])
        self.motors_off(self.links)  # every link's, as pybullet's addToScene
        self.loaded_state = p.saveState(**kw)
        self.contacts = np.zeros(4)
        self.initial_z = 0.0
        self.potential = 0.0  # -distance to the target / dt, as of the last reset or step

    def reset(self, seed: int) -> None:
        """Back to the loaded pose; hinges at U(-0.1, 0.1) rad from ``seed``, at rest."""
        p, kw = self.p, {"physicsClientId": self.client}
        p.restoreState(self.loaded_state, **kw)
        angles = np.random.default_rng(seed).uniform(-0.1, 0.1, size=len(self.joints))
        for joint, angle in zip(self.joints, angles):
            p.resetJointState(self.body, joint, targetValue=float(angle), targetVelocity=0.0, **kw)
        self.motors_off(self.joints)
        self.contacts = np.zeros(4)
        self.initial_z = self.torso()[0][2]

    def motors_off(self, indices: list[int]) -> None:
        """Position control towards 0 with zero force: the motor exerts nothing (pybullet's
        ``disable_motor``), so the torques of ``act`` alone drive the hinges."""
        zeros, gains = [0.0] * len(indices), [0.1] * len(indices)
        self.p.setJointMotorControlArray(
            self.body, indices, self.p.POSITION_CONTROL, targetPositions=zeros,
            targetVelocities=zeros, forces=zeros, positionGains=gains, velocityGains=gains,
            physicsClientId=self.client,
        )  # fmt: skip

    def act(self, action: np.ndarray) -> None:
        """Torque on every hinge from ``action`` in [-1, 1], then one control step."""
        p, kw = self.p, {"physicsClientId": self.client}
        torques = TORQUE * np.clip(action, -1.0, 1.0)
        p.setJointMotorControlArray(
            self.body, self.joints, p.TORQUE_CONTROL, forces=torques.tolist(), **kw
        )
        p.stepSimulation(**kw)

    def torso(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return self.p.getBasePositionAndOrientation(self.body, physicsClientId=self.client)

    def state(self, with_floor: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(qpos: torso xyz, quaternion wxyz, hinge angles; motion: the parts' mean x, y, torso
        velocity xyz, hinge speeds) as the observation and the potential need them."""
        p, kw = self.p, {"physicsClientId": self.client}
        position, orientation = self.torso()
        velocity = p.getBaseVelocity(self.body, **kw)[0]
        links = p.getLinkStates(self.body, self.links, **kw)
        parts = np.array([position[:2]] + [link[0][:2] for link in links])
        if with_floor:
            parts = np.vstack([parts, self.floor_xy])
        joints = p.getJointStates(self.body, self.joints, **kw)
        x, y, z, w = orientation
        pose = np.array([*position, w, x, y, z, *(joint[0] for joint in joints)])
        motion = np.array([*parts.mean(axis=0), *velocity, *(joint[1] for joint in joints)])
        return pose, motion

    def touch(self) -> np.ndarray:
        """1.0 for each foot touching the floor now (pybullet reads them after the state)."""
        points = self.p.getContactPoints(self.body, self.floor, physicsClientId=self.client)
        touching = {point[3] for point in points}
        return np.array([1.0 if foot in touching else 0.0 for foot in self.feet])

    def close(self) -> None:
        if self.client is not None:
            self.p.disconnect(physicsClientId=self.client)
            self.client = None

    def __del__(self) -> None:
        # A direct client is a physics server of ~30 MB that lives until it is disconnected:
        # a task dropped after a report cell would otherwise leave its Ants behind in the worker.
        with suppress(Exception):  # at interpreter exit pybullet may be gone
            self.close()


def bullet_observation(ants: list[BulletAnt], with_floor: bool = True) -> tuple[np.ndarray, ...]:
    """The batch's 28 observations (float32, as pybullet's), potentials and torso heights."""
    n = len(ants)
    pose = np.empty((n, 15))
    motion = np.empty((n, 13))
    for k, ant in enumerate(ants):
        pose[k], motion[k] = ant.state(with_floor)
    centre = motion[:, :2]
    velocity = np.zeros((n, 14))  # MuJoCo's qvel order; the layout reads no angular velocity
    velocity[:, :3], velocity[:, 6:] = motion[:, 2:5], motion[:, 5:]
    contacts = np.stack([ant.contacts for ant in ants])
    initial_z = np.array([ant.initial_z for ant in ants])
    observation = bullet_layout(
        pose, velocity, centre, contacts, initial_z, ants[0].joint_mid, ants[0].joint_half_range
    )
    distance = np.hypot(centre[:, 1], TARGET_X - centre[:, 0])
    # float32 as pybullet's (rounding after the clip at +-5 equals rounding before it)
    return observation.astype(np.float32), -distance / CONTROL_STEP, pose[:, 2]


class AntBulletTask:
    """Batched pybullet Ants scored by the authors' progress term (a.u.); one client per agent."""

    obs_dim = 28
    act_dim = 8
    output_activation = "tanh"
    output_rule_input = "squashed"  # the authors' Ant rule sees tanh(output), the action
    fps = 1.0 / CONTROL_STEP
    bodies = True  # envs/ant_bullet/*.xml: intact and damaged legs
    encoder = "none"
    # The progress term: 21/22 of the robot's own metre per 0.0165 s (the floor is one of the 22
    # parts whose mean position the potential reads), 57.9 a.u. per metre.
    unit, per_metre = "a.u.", 21 / 22 / CONTROL_STEP

    def __init__(self, config: TaskConfig) -> None:
        self.config = config
        pybullet()
        self.model_files = {
            name: morphology_path(name, config.morphology_dir, config.name)
            for name in config.morphologies
        }
        for name, path in self.model_files.items():
            check_model(name, path)
        self._envs: dict[str, list[BulletAnt]] = {name: [] for name in config.morphologies}

    def envs(self, count: int, morphology: str) -> list[BulletAnt]:
        pool = self._envs[morphology]
        while len(pool) < count:
            pool.append(BulletAnt(self.model_files[morphology]))
        return pool[:count]

    def reset(self, envs: list[BulletAnt], seeds: list[int]) -> np.ndarray:
        for env, seed in zip(envs, seeds):
            env.reset(int(seed))
        observations, potential, _ = bullet_observation(envs, with_floor=False)
        for env, value in zip(envs, potential):
            env.potential = float(value)
        return observations.astype(np.float64)

    def step(
        self, envs: list[BulletAnt], actions: np.ndarray, look: bool = True
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Step every env; return (observations, (fell, broken)); the score reads potentials."""
        for env, action in zip(envs, actions):
            env.act(action)
        observations, potential, z = bullet_observation(envs)
        for env, value in zip(envs, potential):
            env.contacts = env.touch()
            env.potential = float(value)
        finite = np.isfinite(observations).all(axis=1) & np.isfinite(potential)
        return observations.astype(np.float64), (z <= self.config.fall_height, ~finite)

    def score(self, envs: list[BulletAnt]) -> ForwardProgress:
        return _Progress(potentials(envs), self.config)

    def frames(self, size: tuple[int, int]) -> BulletCamera:
        return BulletCamera(size)


def potentials(envs: list[BulletAnt]) -> np.ndarray:
    return np.array([env.potential for env in envs])


class _Progress(ForwardProgress):
    """ForwardProgress over the potential: each step's change is the authors' ``rewards[1]``."""

    def observe(self, step, agents, envs, outcome) -> np.ndarray:
        return self.update(step, agents, potentials(envs), *outcome)


class BulletCamera:
    """Replay's frames: pybullet's software renderer, a camera 3 m behind and above the torso."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.height, self.width = size

    def frame(self, env: BulletAnt) -> np.ndarray:
        p, kw = env.p, {"physicsClientId": env.client}
        view = p.computeViewMatrixFromYawPitchRoll(
            cameraTargetPosition=env.torso()[0], distance=3.0, yaw=0.0, pitch=-30.0, roll=0.0,
            upAxisIndex=2,
        )  # fmt: skip
        projection = p.computeProjectionMatrixFOV(
            fov=60.0, aspect=self.width / self.height, nearVal=0.1, farVal=100.0
        )
        image = p.getCameraImage(
            self.width, self.height, viewMatrix=view, projectionMatrix=projection,
            renderer=p.ER_TINY_RENDERER, **kw,
        )[2]  # fmt: skip
        return np.asarray(image, dtype=np.uint8).reshape(self.height, self.width, 4)[:, :, :3]

    def close(self) -> None:
        pass


def check_model(name: str, path: Path) -> None:
    """Load a morphology once, here, so a broken file is one line, not a worker crash."""
    p = pybullet()
    client = p.connect(p.DIRECT)
    try:
        try:
            (body,) = p.loadMJCF(str(path), physicsClientId=client)
        except (p.error, ValueError):
            raise UserError(
                f"morphology {name!r} ({path}) cannot be loaded by pybullet as one MJCF body"
            ) from None
        count = p.getNumJoints(body, physicsClientId=client)
        kinds = [p.getJointInfo(body, j, physicsClientId=client)[2] for j in range(count)]
        hinges = kinds.count(p.JOINT_REVOLUTE)
        if hinges != AntBulletTask.act_dim:
            raise UserError(
                f"morphology {name!r} ({path}) is not an Ant: it has {hinges} hinges (an Ant has 8)"
            )
    finally:
        p.disconnect(physicsClientId=client)

"""What the Ant's network sees: MuJoCo's raw state, or pybullet's scaled AntBulletEnv layout.

``raw`` (27 values): Ant-v5 without contact forces, qpos without x and y, then qvel, unscaled.
Joint speeds reach 12-15 rad/s and body angular speeds 5-6 rad/s, which saturate a tanh layer.

``bullet`` (28 values, the default): the observation of pybullet's AntBulletEnv-v0, the simulator
of Najarro & Risi (2020), computed from MuJoCo's state in its order, with its scalings and clip
(pybullet ``robot_locomotors.WalkerBase.calc_state``):

    0      z - z0                     torso height above its height at reset
    1, 2   sin(a), cos(a)             a = angle to a target 1000 m along +x, minus the yaw
    3..5   0.3 (vx, vy, vz)           torso velocity rotated into the heading frame
    6, 7   roll, pitch                torso orientation
    8..23  (p_j, 0.1 w_j) per joint   angle mapped to [-1, 1] between its limits, 0.1 x speed,
                                      interleaved, joints in the MJCF's order (hip_1, ankle_1, ..)
    24..27 foot contacts              1 where a lower leg touches the floor (front left, front
                                      right, back left, back right), else 0
    all clipped to [-5, 5]

Two details differ from pybullet and are stated: the contacts are this step's (pybullet's
observation carries the previous step's, as it updates them after computing the state), and
the body's x, y for the target angle is the mean of the bodies' positions as in pybullet, taken
over MuJoCo's bodies (pybullet's links are the same bodies of the same MJCF).
"""

from __future__ import annotations

from collections.abc import Sequence

import mujoco
import numpy as np

from metaheb.tasks.mujoco_batch import gather_python

OBSERVATIONS = ("bullet", "raw")
SIZES = {"raw": 27, "bullet": 28}
TARGET_X = 1000.0  # pybullet's walk target: (1000, 0)
FEET = ("left_ankle_geom", "right_ankle_geom", "third_ankle_geom", "fourth_ankle_geom")
JOINTS = slice(7, 15)  # qpos of the eight hinges (after the free joint's 7)
JOINT_SPEEDS = slice(6, 14)


class AntObservation:
    """Assembles a batch's observation from its envs' MuJoCo data, for one body (model)."""

    def __init__(self, kind: str, model: mujoco.MjModel) -> None:
        self.kind = kind
        self.size = SIZES[kind]
        low, high = model.jnt_range[1:9, 0], model.jnt_range[1:9, 1]  # radians, after compiling
        self.joint_mid = 0.5 * (low + high)
        self.joint_half_range = 0.5 * (high - low)
        self.bodies = model.nbody - 1  # the world body excluded
        self.floor = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, "floor")
        feet = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, g) for g in FEET]
        self.foot_slot = np.full(2 * model.ngeom, 4, dtype=np.int64)  # int64: the built gather's
        self.foot_slot[feet] = np.arange(4)

    @property
    def feet(self) -> AntObservation | None:
        """What the state's gathering needs for the contacts (none for ``raw``, which reads
        neither contacts nor body positions)."""
        return None if self.kind == "raw" else self

    def __call__(self, datas: Sequence[mujoco.MjData], initial_z: np.ndarray) -> np.ndarray:
        """``(n, size)`` float64 observations of the envs whose data are ``datas``."""
        return self.from_state(*gather_python(datas, self.feet), initial_z)

    def from_state(
        self,
        qpos: np.ndarray,
        qvel: np.ndarray,
        xpos: np.ndarray | None,
        contacts: np.ndarray | None,
        initial_z: np.ndarray,
    ) -> np.ndarray:
        """The observations from a batch's state (``metaheb.tasks.mujoco_batch``'s gather):
        qpos (n, 15), qvel (n, 14), body positions xpos (n, bodies + 1, 3), the feet's floor
        contacts (n, 4)."""
        if self.kind == "raw":
            return np.concatenate([qpos[:, 2:], qvel], axis=1)
        centre = xpos[:, 1:, :2].sum(axis=1) / self.bodies
        return self.bullet(qpos, qvel, centre, contacts, initial_z)

    def bullet(
        self,
        qpos: np.ndarray,
        qvel: np.ndarray,
        centre: np.ndarray,
        contacts: np.ndarray,
        initial_z: np.ndarray,
    ) -> np.ndarray:
        """pybullet's 28 values from batched state (see the module docstring for the layout)."""
        return bullet_layout(
            qpos, qvel, centre, contacts, initial_z, self.joint_mid, self.joint_half_range
        )


def bullet_layout(
    qpos: np.ndarray,
    qvel: np.ndarray,
    centre: np.ndarray,
    contacts: np.ndarray,
    initial_z: np.ndarray,
    joint_mid: np.ndarray,
    joint_half_range: np.ndarray,
) -> np.ndarray:
    """pybullet's 28 values from batched MuJoCo-ordered state: qpos (n, 15) torso xyz, quaternion
    wxyz, 8 hinge angles; qvel (n, 14) torso velocity, angular velocity, 8 hinge speeds; centre
    (n, 2) the parts' mean x, y; contacts (n, 4). Serves MuJoCo's Ant and pybullet's own."""
    roll, pitch, yaw = quaternion_to_rpy(qpos[:, 3:7])
    target_angle = np.arctan2(-centre[:, 1], TARGET_X - centre[:, 0]) - yaw
    cos_yaw, sin_yaw = np.cos(yaw), np.sin(yaw)
    vx, vy, vz = qvel[:, 0], qvel[:, 1], qvel[:, 2]
    joints = np.empty((len(qpos), 16))
    joints[:, 0::2] = (qpos[:, JOINTS] - joint_mid) / joint_half_range
    joints[:, 1::2] = 0.1 * qvel[:, JOINT_SPEEDS]
    observation = np.concatenate(
        [
            np.stack(
                [
                    qpos[:, 2] - initial_z,
                    np.sin(target_angle),
                    np.cos(target_angle),
                    0.3 * (cos_yaw * vx + sin_yaw * vy),  # R(-yaw) v
                    0.3 * (-sin_yaw * vx + cos_yaw * vy),
                    0.3 * vz,
                    roll,
                    pitch,
                ],
                axis=1,
            ),
            joints,
            contacts,
        ],
        axis=1,
    )
    return np.clip(observation, -5.0, 5.0)


def quaternion_to_rpy(quaternion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MuJoCo's (w, x, y, z) quaternions -> roll, pitch, yaw as pybullet's getEulerFromQuaternion.

    The rotation is R = Rz(yaw) Ry(pitch) Rx(roll).
    """
    w, x, y, z = quaternion.T
    roll = np.arctan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    pitch = np.arcsin(np.clip(2.0 * (w * y - z * x), -1.0, 1.0))
    yaw = np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return roll, pitch, yaw

"""The Ant's pybullet-style observation against values worked out by hand for known states."""

import math

import gymnasium as gym
import mujoco
import numpy as np
import pytest
import torch

from metaheb.config import TaskConfig
from metaheb.evaluate import evaluate_agent
from metaheb.networks import PolicyNetwork
from metaheb.runs import Agent
from metaheb.tasks import make_task
from metaheb.tasks.ant_observation import AntObservation, quaternion_to_rpy


def ant():
    return gym.make("Ant-v5", include_cfrc_ext_in_observation=False).unwrapped


def set_state(env, qpos, qvel):
    env.data.qpos[:] = qpos
    env.data.qvel[:] = qvel
    mujoco.mj_forward(env.model, env.data)


def test_torso_entries_for_a_known_pose_and_velocity():
    env = ant()
    qpos = np.zeros(15)
    qpos[:3] = (1.0, 2.0, 3.0)  # in the air: no contacts
    qpos[3:7] = (math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4))  # yaw 90 degrees
    qvel = np.zeros(14)
    qvel[:3] = (1.0, 2.0, 3.0)
    set_state(env, qpos, qvel)
    # With every hinge at zero the legs are symmetric about the torso: the bodies' mean is (1, 2).
    assert env.data.xpos[1:, :2].mean(axis=0) == pytest.approx([1.0, 2.0])
    obs = AntObservation("bullet", env.model)([env.data], np.array([0.75]))[0]
    angle = math.atan2(-2.0, 999.0) - math.pi / 2
    assert obs[0] == pytest.approx(3.0 - 0.75)
    assert obs[1:3] == pytest.approx([math.sin(angle), math.cos(angle)])
    # World velocity (1, 2, 3) seen from a heading of +y: forward 2, to the right 1 (y = -1).
    assert obs[3:6] == pytest.approx([0.3 * 2.0, 0.3 * -1.0, 0.3 * 3.0])
    assert obs[6:8] == pytest.approx([0.0, 0.0], abs=1e-12)
    assert np.array_equal(obs[24:], np.zeros(4))


def test_joints_map_their_range_to_plus_minus_one_and_speeds_scale_by_a_tenth():
    env = ant()
    low, high = env.model.jnt_range[1:9].T
    qpos = np.zeros(15)
    qpos[2] = 3.0
    qpos[3] = 1.0
    qpos[7:15] = [high[0], low[1], 0.5 * (low[2] + high[2]), high[3], low[4], high[5], low[6], 0]
    qvel = np.zeros(14)
    qvel[6:14] = [1.0, -2.0, 3.0, -4.0, 5.0, 20.0, -70.0, 0.5]
    set_state(env, qpos, qvel)
    obs = AntObservation("bullet", env.model)([env.data], np.array([qpos[2]]))[0]
    angle_of_zero = (0.0 - 0.5 * (low[7] + high[7])) / (0.5 * (high[7] - low[7]))
    assert obs[8:24:2] == pytest.approx([1, -1, 0, 1, -1, 1, -1, angle_of_zero])
    # 0.1 x speed, and the clip at +-5 on the last but one: -7 -> -5.
    assert obs[9:24:2] == pytest.approx([0.1, -0.2, 0.3, -0.4, 0.5, 2.0, -5.0, 0.05])


def test_roll_pitch_yaw_of_a_composed_rotation():
    roll, pitch, yaw = 0.3, -0.2, 2.5

    def axis(angle, k):
        q = np.zeros(4)
        q[0], q[k] = math.cos(angle / 2), math.sin(angle / 2)
        return q

    quaternion = np.zeros(4)
    # R = Rz(yaw) Ry(pitch) Rx(roll), composed as quaternions.
    mujoco.mju_mulQuat(quaternion, axis(yaw, 3), axis(pitch, 2))
    mujoco.mju_mulQuat(quaternion, quaternion.copy(), axis(roll, 1))
    got = quaternion_to_rpy(quaternion[None])
    assert [float(v[0]) for v in got] == pytest.approx([roll, pitch, yaw])


def test_a_foot_on_the_floor_reads_one_and_a_lifted_foot_zero():
    env = ant()
    env.reset(seed=0)
    for _ in range(60):  # settle on the floor with no control
        env.do_simulation(np.zeros(8), env.frame_skip)
    observe = AntObservation("bullet", env.model)
    contacts = observe([env.data], np.array([0.75]))[0][24:]
    floor = mujoco.mj_name2id(env.model, mujoco.mjtObj.mjOBJ_GEOM, "floor")
    feet = ["left_ankle_geom", "right_ankle_geom", "third_ankle_geom", "fourth_ankle_geom"]
    for k, name in enumerate(feet):
        foot = mujoco.mj_name2id(env.model, mujoco.mjtObj.mjOBJ_GEOM, name)
        gap = mujoco.mj_geomDistance(env.model, env.data, foot, floor, 0.1, None)
        # MuJoCo makes a contact within the two geoms' margins (0.01 each in the Ant's MJCF).
        margins = env.model.geom_margin[foot] + env.model.geom_margin[floor]
        assert contacts[k] == float(gap < margins), (name, gap)
    assert contacts.sum() >= 2  # a settled Ant stands on its feet


def test_random_episodes_stay_inside_the_clip_and_mostly_inside_the_scale():
    task = make_task(TaskConfig())
    envs = task.envs(8, "intact")
    observations = [task.reset(envs, list(range(8)))]
    actions = np.random.default_rng(0).uniform(-1, 1, (300, 8, 8))
    for action in actions:
        observations.append(task.step(envs, action)[0])
    values = np.concatenate(observations)
    assert values.shape[1] == 28 and np.abs(values).max() <= 5.0
    clipped = (np.abs(values) == 5.0).mean(axis=0)
    assert clipped.max() < 0.01, clipped  # the scaling, not the clip, keeps them in range


def test_an_agent_file_from_before_the_observation_key_runs_its_own_protocol():
    network = PolicyNetwork((27, 8, 8))
    old_task = {
        key: value
        for key, value in vars(TaskConfig(max_steps=80, burn_in=5)).items()
        if key not in ("observation", "early_stop_count", "fall_height", "fall_check", "score_from")
    }
    genome = 0.1 * torch.randn(
        network.genome_layout.size, generator=torch.Generator().manual_seed(0)
    )
    agent = Agent(genome=genome.numpy(), meta={"task": old_task, "network": network.to_dict()})
    evaluation = evaluate_agent(agent, [], episodes=2)
    assert evaluation.fitness.shape == (2, 1) and np.isfinite(evaluation.fitness).all()


def test_the_task_reads_each_env_through_views_that_outlive_its_resets():
    # The task keeps views of every env's MjData arrays (one attribute read per env and step is
    # ~1% of the physics); a reset must rewrite the same arrays, not replace them.
    task = make_task(TaskConfig())
    envs = task.envs(3, "intact")
    read_from_data = AntObservation("bullet", envs[0].model)
    actions = np.random.default_rng(1).uniform(-1, 1, (40, 3, 8))
    for seeds in ([0, 1, 2], [5, 4, 3]):
        task.reset(envs, seeds)
        initial_z = np.array([env.data.qpos[2] for env in envs])
        for action in actions:
            obs, (x, fell, _) = task.step(envs, action)
            assert np.array_equal(obs, read_from_data([env.data for env in envs], initial_z))
            assert np.array_equal(x, [env.data.qpos[0] for env in envs])
            low = [env.data.qpos[2] < task.config.fall_height for env in envs]
            assert np.array_equal(fell, low)

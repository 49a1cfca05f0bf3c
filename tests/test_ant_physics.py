"""metaheb's direct stepping of Ant-v5 equals gymnasium's AntEnv.step, step by step.

With ``task.observation = "raw"`` the observation is gymnasium's own; with ``fall_height`` 0.2 the
fall is Ant-v5's unhealthy termination."""

import gymnasium as gym
import numpy as np
import pytest

from metaheb.config import TaskConfig
from metaheb.tasks import make_task


@pytest.mark.parametrize("morphology", ["intact", "front_left_lower_x0.25"])
def test_direct_stepping_matches_gymnasium_for_the_same_actions(morphology):
    task = make_task(TaskConfig(morphologies=[morphology], observation="raw", fall_height=0.2))
    (ours,) = task.envs(1, morphology)
    reference = gym.make(
        "Ant-v5",
        xml_file=str(task.model_files[morphology]),
        include_cfrc_ext_in_observation=False,
        healthy_z_range=(0.2, 10.0),
    ).unwrapped
    obs = task.reset([ours], [7])
    reference_obs, _ = reference.reset(seed=7)
    assert np.array_equal(obs[0], reference_obs)
    actions = np.random.default_rng(0).uniform(-1, 1, (300, 8))
    actions[100:140] = 1.0  # hard pushes, to reach contacts and large states
    for action in actions:
        obs, (x, fell, broken) = task.step([ours], action[None])
        reference_obs, _, terminated, _, _ = reference.step(action)
        assert np.array_equal(obs[0], reference_obs)
        assert (fell[0] or broken[0]) == terminated
        assert x[0] == ours.data.qpos[0] == reference.data.qpos[0]  # forward progress
        if terminated:
            break

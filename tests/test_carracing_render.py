"""The fast CarRacing renderer draws gymnasium's observation: frames, tile colours, scores."""

import cv2
import numpy as np
import pytest
from conftest import train_small
from gymnasium.envs.box2d.car_racing import CarRacing

from metaheb.config import TaskConfig
from metaheb.evaluate import evaluate_agent
from metaheb.runs import load_agent
from metaheb.tasks import make_task
from metaheb.tasks.carracing_fidelity import frame_agreement, paired_frames
from metaheb.tasks.carracing_render import FastCarRacing


@pytest.mark.parametrize("seed", [0, 7])
def test_fast_frames_agree_with_gymnasium_s_over_random_driving(seed):
    # 150 steps: the zoom of the first second, then the car on and off the road.
    fast, reference = paired_frames(seed, steps=150)
    assert fast.shape == reference.shape == (151, 96, 96, 3) and fast.dtype == np.uint8
    whole = frame_agreement(fast, reference)
    crop = frame_agreement(fast[:, :84, 6:90], reference[:, :84, 6:90])  # what the agent sees
    assert whole["mean_abs_diff"] < 1.5 and whole["within_8"] > 0.94, whole
    assert crop["mean_abs_diff"] < 1.0 and crop["within_8"] > 0.945, crop
    # Not one agreeing frame: every frame, the first second's zoom included.
    per_frame = np.abs(fast.astype(int) - reference.astype(int)).mean(axis=(1, 2, 3))
    assert per_frame.max() < 4.0, per_frame.argmax()


def test_a_visited_tile_changes_colour_in_the_fast_renderer_too():
    env = FastCarRacing()
    env.reset(seed=3)
    colors = env._track.colors  # the rows the track draws with
    # Every tile's colour array is a row of the renderer's: where the contact listener writes.
    rows = [(tile.color.ctypes.data - colors.ctypes.data) // colors.strides[0] for tile in env.road]
    assert all(np.shares_memory(tile.color, colors) for tile in env.road)
    assert sorted(rows) == sorted(set(rows)) and np.array_equal(colors[rows[5]], env.road[5].color)
    unvisited = colors[rows].copy()
    for _ in range(60):
        env.step(np.array([0.0, 0.5, 0.0]))
    visited = [k for k, tile in enumerate(env.road) if tile.road_visited]
    changed = [k for k in visited if not np.array_equal(unvisited[k], env.road_color)]
    assert len(visited) > 3 and changed  # some tiles' shade differs from the road colour
    assert all(np.array_equal(colors[rows[k]], env.road_color) for k in visited)
    env.close()


def test_the_gymnasium_renderer_is_one_config_key_away():
    task = make_task(TaskConfig(name="carracing", renderer="gymnasium"))
    (env,) = task.envs(1)
    assert type(env).__mro__[2] is CarRacing  # gymnasium's own, with the frame hold before it
    obs = task.reset([env], [5])
    reference = CarRacing()
    frame, _ = reference.reset(seed=5)
    resized = cv2.resize(frame, (84, 84), interpolation=cv2.INTER_AREA)
    assert np.array_equal(obs[0], np.moveaxis(resized, -1, 0) / np.float32(255))
    assert isinstance(make_task(TaskConfig(name="carracing")).envs(1)[0], FastCarRacing)


def test_an_agent_scores_the_same_under_either_renderer(tmp_path, local_ray):
    run = train_small(
        tmp_path,
        "task.name=carracing",
        "network.encoder=carracing_conv",
        "network.normalise=max_abs",
        "network.hidden=[16, 8]",
        "task.max_steps=120",
        "task.burn_in=0",
        "evolve.popsize=6",
    )
    agent = load_agent(run / "agents" / "best.safetensors")
    fast = evaluate_agent(agent, ["task.renderer=fast"], episodes=3)
    reference = evaluate_agent(agent, ["task.renderer=gymnasium"], episodes=3)
    fast_mean, reference_mean = fast.fitness.mean(), reference.fitness.mean()
    assert abs(fast_mean - reference_mean) <= 0.05 * abs(reference_mean), (fast, reference)

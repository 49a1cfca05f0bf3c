"""task.name = "gym:<id>": any gymnasium MuJoCo locomotion body through train, replay, evaluate."""

import json

import gymnasium as gym
import imageio.v2 as imageio
import numpy as np
import pytest
from conftest import metaheb_cli

from metaheb.config import TaskConfig, load_config
from metaheb.errors import UserError
from metaheb.runs import read_metrics
from metaheb.tasks import make_task
from metaheb.tasks.gym_locomotion import quiet_compile

BODIES = {"HalfCheetah-v5": (17, 6), "Hopper-v5": (11, 3)}  # observations, motors


# One body end to end in the default suite; the second with the slower checks.
@pytest.mark.parametrize(
    "env_id", ["HalfCheetah-v5", pytest.param("Hopper-v5", marks=pytest.mark.slow)]
)
def test_a_gym_body_trains_replays_to_mp4_and_evaluates(tmp_path, env_id):
    small = [
        f"task.name=gym:{env_id}",
        "task.max_steps=60",
        "network.hidden=[8]",
        "evolve.popsize=6",
        "evolve.generations=3",
        "evolve.eval_every=2",
        "evolve.eval_episodes=2",
        "evolve.eval_max_steps=60",
        "ray.num_workers=2",
        f"run.out_dir={tmp_path}",
        "run.name=body",
    ]
    trained = metaheb_cli("train", *small, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-2000:]
    run = tmp_path / "body"
    metrics = read_metrics(run)
    assert len(metrics) == 3 and all(np.isfinite(m["mean"]) for m in metrics)
    assert "heldout" in metrics[1] and "heldout" in metrics[2]
    assert "network " + "-".join(map(str, (BODIES[env_id][0], 8, BODIES[env_id][1]))) in (
        trained.stdout
    )

    video = tmp_path / "body.mp4"
    replayed = metaheb_cli("replay", str(run), "--video", str(video), cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    steps = int(replayed.stdout.splitlines()[0].split(" in ")[1].split()[0])
    frames = [frame for frame in imageio.get_reader(video)]  # its length is unknown: no list()
    assert len(frames) == steps > 0 and frames[0].shape == (480, 640, 3)
    assert np.ptp(frames[0]) > 50  # a rendered scene, not a blank frame

    evaluated = metaheb_cli("evaluate", str(run), "--episodes", "2", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert "(2 episodes:" in evaluated.stdout

    reported = metaheb_cli("report", str(run), "--out", str(tmp_path / "report"), cwd=tmp_path)
    assert reported.returncode == 2 and "has no bodies to damage" in reported.stderr
    assert not (tmp_path / "report").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["body", "body.mp4"]  # no MuJoCo log


def test_the_task_steps_the_body_as_gymnasium_does_and_scores_its_distance():
    config = TaskConfig(name="gym:HalfCheetah-v5", max_steps=50)
    task = make_task(config)
    with quiet_compile():  # MuJoCo would log gymnasium's deprecated attribute to the cwd
        reference = gym.make("HalfCheetah-v5")  # with gymnasium's own wrappers
    envs = task.envs(1, "intact")
    obs = task.reset(envs, [11])
    expected, _ = reference.reset(seed=11)
    np.testing.assert_allclose(obs[0], expected)
    score = task.score(envs)
    start = reference.unwrapped.data.qpos[0]
    rng = np.random.default_rng(0)
    total = 0.0
    for step in range(config.max_steps):
        action = rng.uniform(-1, 1, size=(1, task.act_dim))
        obs, outcome = task.step(envs, action)
        expected, reward, *_ = reference.step(action[0].astype(np.float32))
        np.testing.assert_allclose(obs[0], expected, rtol=1e-5, atol=1e-6)
        done = score.observe(step, np.array([0]), envs, outcome)
        total += reward
    assert done[0]  # the episode limit is metaheb's
    walked = reference.unwrapped.data.qpos[0] - start
    assert score.fitness[0] == pytest.approx(walked)
    returns = make_task(TaskConfig(name="gym:HalfCheetah-v5", fitness="return", max_steps=50))
    assert returns.score(envs).fitness.shape == (1,) and task.fps == pytest.approx(20.0)


def test_an_env_s_own_end_stops_its_episode_at_once():
    # Hopper falls over within a few dozen steps of full-force random motors; gymnasium says so.
    task = make_task(TaskConfig(name="gym:Hopper-v5", max_steps=1000))
    envs = task.envs(1, "intact")
    task.reset(envs, [2])
    score = task.score(envs)
    rng = np.random.default_rng(1)
    for step in range(1000):
        _, outcome = task.step(envs, rng.choice([-1.0, 1.0], size=(1, task.act_dim)))
        if score.observe(step, np.array([0]), envs, outcome)[0]:
            break
    assert step < 999 and outcome[1][0]  # ended by the env, long before the limit


@pytest.mark.parametrize(
    "name, message",
    [
        ("gym:Nope-v1", "gymnasium has no such environment"),
        ("gym:CartPole-v1", "is not a MuJoCo locomotion environment"),
    ],
)
def test_a_gym_id_that_is_not_a_body_is_one_line(name, message):
    with pytest.raises(UserError, match=message):
        make_task(TaskConfig(name=name))


def test_gym_settings_that_belong_to_other_tasks_are_refused():
    with pytest.raises(UserError, match="Ant settings"):
        load_config(
            None, ["task.name=gym:Hopper-v5", "task.morphologies=['back_right_lower_x0.25']"]
        )
    with pytest.raises(UserError, match="is for gym:<id> tasks"):
        load_config(None, ["task.fitness=return"])
    config = load_config(None, ["task.name=gym:Hopper-v5"])
    assert (config.task.fitness, config.task.burn_in, config.task.early_stop_after) == (
        "distance",
        0,
        200,
    )
    assert json.dumps(config.to_dict())  # a run's config.toml holds plain values

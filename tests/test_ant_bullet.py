"""task.name = "ant_bullet": pybullet's Ant, checked against pybullet's own AntBulletEnv class."""

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pybullet
import pybullet_data
import pytest
from bullet_reference import ant_bullet_env
from conftest import metaheb_cli

from metaheb.config import TaskConfig, load_config
from metaheb.errors import UserError
from metaheb.runs import read_metrics
from metaheb.tasks import make_task
from metaheb.tasks.ant_bullet import CONTROL_STEP, check_model
from metaheb.tasks.morphologies import available_morphologies, morphology_path

ROOT = Path(__file__).resolve().parents[1]
BODIES = [
    f"{corner}_lower_x0.25" for corner in ("front_left", "front_right", "back_left", "back_right")
]


def test_the_task_steps_and_scores_as_pybullet_s_own_ant_env():
    """Same seeds, same actions: the same 28 observations and the authors' summed rewards[1].

    One task env serves both episodes (restored from its saved state), where the reference is
    made new for each, as the authors' code makes it."""
    task = make_task(TaskConfig(name="ant_bullet", max_steps=260))
    (env,) = task.envs(1, "intact")
    rng = np.random.default_rng(0)
    for seed in (3, 4):
        reference = ant_bullet_env()
        reference.seed(seed)
        expected = reference.reset()
        np.testing.assert_array_equal(task.reset([env], [seed])[0], expected)
        score, summed = task.score([env]), 0.0
        for step in range(task.config.max_steps):
            action = np.zeros(8) if step < task.config.burn_in else rng.uniform(-1, 1, 8)
            expected, *_ = reference.step(action)
            observation, outcome = task.step([env], action[None])
            np.testing.assert_array_equal(observation[0], expected)
            done = score.observe(step, np.array([0]), [env], outcome)
            summed += reference.rewards[1] if step >= task.config.burn_in else 0.0
        assert done[0] and score.fitness[0] == pytest.approx(summed, rel=1e-9, abs=1e-9)
        assert score.fitness[0] != 0
        reference.close()


def test_progress_is_about_58_a_u_per_metre_and_the_fall_is_pybullet_s():
    """The potential is the mean of 22 parts' positions (21 of the robot, the floor at the
    origin) over dt: a metre walked by the whole robot is 21/22/0.0165 = 57.9 a.u."""
    task = make_task(TaskConfig(name="ant_bullet", max_steps=100, burn_in=0))
    (env,) = task.envs(1, "intact")
    task.reset([env], [1])
    score = task.score([env])
    start = env.state()[1][:2] * 22 / 21  # the robot's own mean position
    for step in range(60):
        _, (fell, broken) = task.step([env], np.full((1, 8), 0.5 * (-1) ** (step // 10)))
        score.observe(step, np.array([0]), [env], (fell, broken))
    moved = env.state()[1][:2] * 22 / 21 - start
    assert score.fitness[0] == pytest.approx(moved[0] * 21 / 22 / CONTROL_STEP, rel=0.05)
    z = env.torso()[0][2]
    assert fell[0] == (z <= 0.26) and not broken[0]


def test_the_bodies_are_pybullet_s_ant_and_its_damaged_legs(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_morphologies.py"), "--sim", "bullet",
         "--out", str(tmp_path)],
        check=True, capture_output=True,
    )  # fmt: skip
    own = Path(pybullet_data.getDataPath()) / "mjcf" / "ant.xml"
    assert morphology_path("intact", task="ant_bullet").read_bytes() == own.read_bytes()
    assert available_morphologies(task="ant_bullet") == sorted(["intact", *BODIES])
    for name in ["intact", *BODIES]:
        made = (tmp_path / f"{name}.xml").read_text()
        assert made == morphology_path(name, task="ant_bullet").read_text()
    intact = list(ET.parse(own).getroot().iter())
    for name in BODIES:
        damaged = list(ET.parse(morphology_path(name, task="ant_bullet")).getroot().iter())
        changed = [(a, b) for a, b in zip(intact, damaged) if a.attrib != b.attrib]
        assert len(changed) == 1 and changed[0][0].get("name").endswith("ankle_geom")
        before = np.array(changed[0][0].get("fromto").split(), dtype=float)
        after = np.array(changed[0][1].get("fromto").split(), dtype=float)
        assert np.allclose(after[3:] - after[:3], 0.25 * (before[3:] - before[:3]))


def test_a_damaged_leg_changes_the_walk_and_a_broken_file_is_one_line(tmp_path):
    config = TaskConfig(name="ant_bullet", morphologies=["intact", "front_left_lower_x0.25"])
    task = make_task(config)
    centres = []  # of the parts' mass: a shorter lower leg moves it
    for body in config.morphologies:
        (env,) = task.envs(1, body)
        task.reset([env], [5])
        for _ in range(40):
            task.step([env], np.zeros((1, 8)))
        centres.append(env.state()[1][:2])
    assert np.abs(centres[0] - centres[1]).max() > 1e-3
    broken = tmp_path / "broken.xml"
    broken.write_text("<mujoco><worldbody><body name='x'>")
    with pytest.raises(UserError, match="cannot be loaded by pybullet"):
        check_model("broken", broken)
    with pytest.raises(UserError, match="unknown morphology 'nope'"):
        make_task(load_config(None, ["task.name=ant_bullet", "task.morphologies=['nope']"]).task)


def test_a_dropped_task_disconnects_its_pybullet_clients():
    # A report builds a task per cell in a long-lived Ray worker: every client left connected
    # kept ~30 MB, and a report of two runs grew its workers to ~11 GB each.
    task = make_task(TaskConfig(name="ant_bullet", morphologies=["intact"]))
    clients = [env.client for env in task.envs(3, "intact")]
    assert all(pybullet.getConnectionInfo(c)["isConnected"] for c in clients)
    del task
    assert not any(pybullet.getConnectionInfo(c)["isConnected"] for c in clients)


def test_without_pybullet_the_task_says_how_to_install_it(tmp_path):
    script = "import sys; sys.modules['pybullet'] = None\nfrom metaheb.cli import main; main()\n"
    done = subprocess.run(
        [sys.executable, "-c", script, "train", "task.name=ant_bullet", f"run.out_dir={tmp_path}"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "metaheb: error: task.name = 'ant_bullet' needs pybullet, which is not installed: "
        "pip install -e '.[bullet]' (or pip install pybullet)"
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_mistake_in_a_bullet_config_is_one_line_on_stderr(tmp_path):
    done = metaheb_cli(
        "train", "task.name=ant_bullet", "task.morphologies=['damaged_nope']",
        f"run.out_dir={tmp_path}", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2 and list(tmp_path.iterdir()) == []
    assert len(done.stderr.splitlines()) == 1  # pybullet's own build banner kept off stderr
    assert "unknown morphology 'damaged_nope'" in done.stderr


@pytest.mark.slow  # 90 s: pybullet's training, replay, evaluation and report end to end
def test_a_bullet_ant_trains_replays_to_mp4_evaluates_and_reports(tmp_path):
    small = [
        "task.name=ant_bullet",
        "task.max_steps=80",
        "task.burn_in=10",
        "task.morphologies=['intact','front_right_lower_x0.25']",
        "network.hidden=[8]",
        "network.normalise=max_abs",
        "evolve.popsize=6",
        "evolve.generations=2",
        "evolve.eval_every=2",
        "evolve.eval_episodes=2",
        "evolve.eval_max_steps=80",
        "ray.num_workers=2",
        f"run.out_dir={tmp_path}",
        "run.name=bullet",
    ]
    trained = metaheb_cli("train", *small, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-2000:]
    run = tmp_path / "bullet"
    metrics = read_metrics(run)
    assert len(metrics) == 2 and all(np.isfinite(m["mean"]) for m in metrics)
    assert "network 28-8-8" in trained.stdout and "heldout" in metrics[1]

    video = tmp_path / "walk.mp4"
    replayed = metaheb_cli(
        "replay", str(run), "--morphology", "front_left_lower_x0.25", "--video", str(video),
        cwd=tmp_path,
    )  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    frames = [frame for frame in imageio.get_reader(video)]
    assert len(frames) > 10 and frames[0].shape == (480, 640, 3) and np.ptp(frames[0]) > 50

    evaluated = metaheb_cli("evaluate", str(run), "--episodes", "2", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert "(2 episodes:" in evaluated.stdout

    out = tmp_path / "report"
    reported = metaheb_cli(
        "report", str(run), "--out", str(out), "--seeds", "2", "--ablation", "0,0.5",
        "--ablation-step", "50", cwd=tmp_path,
    )  # fmt: skip
    assert reported.returncode == 0, reported.stderr[-2000:]
    markdown = (out / "report.md").read_text()
    assert "front_left_lower_x0.25" in markdown and "a.u." in markdown
    page_path = tmp_path / "results.md"
    written = metaheb_cli("results", str(out), "--out", str(page_path), cwd=tmp_path)
    assert written.returncode == 0, written.stderr[-2000:]
    page = page_path.read_text()
    assert "unseen front left (a.u.)" in page and "same, m (/57.9)" in page
    assert "pybullet's Ant (AntBulletEnv-v0)" in page and "held-out start (a.u.)" in page

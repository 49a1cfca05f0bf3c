"""The Ant's batch stepped and its state gathered by the built loop: the bindings' bits, their
errors, one shared model per body, and the Python loop with one line where nothing builds."""

import os
import subprocess
import sys

import mujoco
import numpy as np
import pytest

from metaheb.config import TaskConfig
from metaheb.tasks import make_task
from metaheb.tasks import mujoco_batch as batch

# Two boxes and a floor in an 8 KB arena: the first step runs MuJoCo out of stack (mju_error).
TOO_SMALL = """<mujoco><size memory="8K"/><worldbody><geom type="plane" size="1 1 .1"/>
<body pos="0 0 .1"><freejoint/><geom type="box" size=".1 .1 .1"/></body>
<body pos="0 0 .5"><freejoint/><geom type="box" size=".1 .1 .1"/></body></worldbody></mujoco>"""


@pytest.fixture(scope="module")
def built():
    if batch._library() is None:
        pytest.skip("the built loop does not build here")


def stepped_episode(built_loop: bool, observation: str, steps: int = 80) -> tuple[list, list]:
    """Every observation and outcome (x, fell, broken) of a 4-env batch under random actions,
    stepped by one loop."""
    task = make_task(TaskConfig(observation=observation))
    envs = task.envs(4, "intact")
    task.built_loop = built_loop
    observations, outcomes = [task.reset(envs, [3, 1, 4, 1])], []
    for action in np.random.default_rng(5).uniform(-1, 1, (steps, 4, 8)):
        obs, outcome = task.step(envs, action)
        observations.append(obs)
        outcomes.extend(outcome)
    return observations, outcomes


def as_bytes(arrays: list) -> list[bytes]:
    return [array.tobytes() for array in arrays]


@pytest.mark.parametrize("observation", ["bullet", "raw"])
def test_the_built_loop_gives_the_bindings_loop_bits(built, observation):
    (ours, our_outcomes), (theirs, their_outcomes) = (
        stepped_episode(loop, observation) for loop in (True, False)
    )
    assert as_bytes(ours) == as_bytes(theirs)
    assert as_bytes(our_outcomes) == as_bytes(their_outcomes)


def test_the_built_loop_reads_feet_on_and_off_the_floor(built):
    contacts = np.concatenate(stepped_episode(True, "bullet")[0])[:, 24:]
    assert (contacts == 1.0).any() and (contacts == 0.0).any()


def test_a_task_steps_with_the_built_loop_where_it_builds(built):
    task = make_task(TaskConfig())
    task.envs(2, "intact")
    assert task.built_loop


def test_a_mujoco_error_comes_back_as_the_bindings_fatal_error(built):
    model = mujoco.MjModel.from_xml_string(TOO_SMALL)
    failing = batch.Simulation.of(model, mujoco.MjData(model), 5)
    with pytest.raises(mujoco.FatalError, match="out of memory"):
        batch.step_built([failing], np.zeros((1, 0)))
    # The process goes on, and the loop serves the next call.
    task = make_task(TaskConfig())
    envs = task.envs(2, "intact")
    task.reset(envs, [0, 1])
    assert np.isfinite(task.step(envs, np.zeros((2, 8)))[0]).all()


def test_a_loop_that_differs_from_the_bindings_is_not_used(built, monkeypatch, capsys):
    def off_by_a_little(simulations, actions):
        batch.step_python(simulations, np.asarray(actions) * 1.0001)

    monkeypatch.setattr(batch, "_verdict", {})
    monkeypatch.setattr(batch, "step_built", off_by_a_little)
    model = make_task(TaskConfig()).envs(1, "intact")[0].model
    assert not batch.built_loop_works(model, 5, None)
    line = capsys.readouterr().err.strip()
    assert line.count("\n") == 0 and "differs from the bindings' loop" in line


def test_the_envs_of_one_body_share_its_model_and_keep_their_own_data():
    task = make_task(TaskConfig(morphologies=["intact", "front_left_lower_x0.25"]))
    intact, damaged = task.envs(3, "intact"), task.envs(2, "front_left_lower_x0.25")
    assert len({id(env.model) for env in intact}) == 1
    assert len({id(env.data) for env in intact}) == 3
    assert intact[0].model is not damaged[0].model
    assert damaged[0].model is damaged[1].model


def test_where_nothing_builds_one_line_says_so_and_the_python_loop_steps(tmp_path):
    script = (
        "import numpy as np\n"
        "from metaheb.config import TaskConfig\n"
        "from metaheb.tasks import make_task\n"
        "task = make_task(TaskConfig())\n"
        "envs = task.envs(2, 'intact')\n"
        "task.reset(envs, [0, 1])\n"
        "print(task.built_loop, task.step(envs, np.zeros((2, 8)))[0].shape)\n"
    )
    compiler = tmp_path / "no-c++"
    compiler.write_text("#!/bin/sh\necho no compiler here >&2\nexit 1\n")
    compiler.chmod(0o755)
    env = {**os.environ, "CXX": str(compiler), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False (2, 28)"
    lines = [line for line in done.stderr.splitlines() if "MuJoCo batch loop" in line]
    assert len(lines) == 1 and "no compiler here" in lines[0], done.stderr


@pytest.mark.parametrize("step", [batch.step_built, batch.step_python])
def test_both_loops_step_with_mujoco_s_timers_off_and_put_the_callback_back(built, step):
    model = mujoco.MjModel.from_xml_string(TOO_SMALL.replace('<size memory="8K"/>', ""))
    data = mujoco.MjData(model)  # the bindings install their clock as the timer callback here
    installed = batch._timer_callback().value
    assert installed is not None
    simulation = batch.Simulation.of(model, data, frame_skip=3)
    mujoco.mj_step(model, data)
    timer = data.timer[mujoco.mjtTimer.mjTIMER_STEP]
    timed = timer.duration
    assert timed > 0  # the bindings' step reads the clock
    state = data.qpos.copy()
    step([simulation], np.zeros((1, 0)))
    assert timer.number == 4 and timer.duration == timed  # three more steps, their time unread
    assert not np.array_equal(data.qpos, state)  # but stepped
    assert batch._timer_callback().value == installed

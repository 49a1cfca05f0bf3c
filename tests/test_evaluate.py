"""metaheb evaluate: a trained agent on unseen bodies and damage, reproducible to the bit."""

import subprocess
import sys

import numpy as np
import pytest
from conftest import train_small

from metaheb.errors import UserError
from metaheb.evaluate import evaluate_agent, resolve_agent


@pytest.fixture(scope="module")
def trained(tmp_path_factory, local_ray):
    return train_small(
        tmp_path_factory.mktemp("runs"),
        "task.max_steps=60",
        'task.morphologies=["intact", "front_right_lower_x0.25"]',
    )


def test_evaluation_on_an_unseen_leg_with_ablation_is_reproducible(trained):
    agent = resolve_agent(trained)
    unseen = [
        'task.morphologies=["intact", "front_left_lower_x0.25"]',
        "task.ablation_fraction=0.5",
        "task.ablation_step=30",
    ]
    first = evaluate_agent(agent, unseen, episodes=3)
    again = evaluate_agent(agent, unseen, episodes=3)
    assert first.morphologies == ["intact", "front_left_lower_x0.25"]
    assert first.fitness.shape == (3, 2)
    assert np.array_equal(first.fitness, again.fitness)
    plain = evaluate_agent(agent, ['task.morphologies=["intact", "front_left_lower_x0.25"]'], 3)
    assert not np.array_equal(plain.fitness, first.fitness)  # the ablation changed the episodes
    trained_on = evaluate_agent(agent, [], 3)
    assert trained_on.morphologies == ["intact", "front_right_lower_x0.25"]  # the run's own bodies


def test_evaluate_command_prints_one_line_per_morphology(trained):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "metaheb.cli",
            "evaluate",
            str(trained),
            'task.morphologies=["front_left_lower_x0.25"]',
            "--episodes",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.strip().splitlines()
    assert line.startswith("front_left_lower_x0.25") and "(2 episodes:" in line


@pytest.mark.parametrize(
    ("overrides", "message"),
    [(["evolve.popsize=3"], "only task"), (['task.morphologies=["x"]'], "unknown morphology")],
)
def test_bad_evaluation_settings(trained, overrides, message):
    with pytest.raises(UserError, match=message):
        evaluate_agent(resolve_agent(trained), overrides, 1)

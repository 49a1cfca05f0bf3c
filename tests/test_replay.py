"""metaheb replay: the agent's own episode again, an mp4 of it, and its weight figure."""

import subprocess
import sys

import imageio.v2 as imageio
import pytest
from conftest import train_small

from metaheb.errors import UserError
from metaheb.evaluate import resolve_agent
from metaheb.replay import plot_traces, replay_agent


@pytest.fixture(scope="module")
def run(tmp_path_factory, local_ray):
    return train_small(
        tmp_path_factory.mktemp("runs"),
        "task.max_steps=30",
        "evolve.init_std=0.05",  # gentle rules: the episode runs its 30 steps
    )


def test_replay_command_repeats_the_recorded_episode_and_writes_video_and_figure(run, tmp_path):
    agent = resolve_agent(run)
    video, figure = tmp_path / "walk.mp4", tmp_path / "weights.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "metaheb.cli",
            "replay",
            str(run),
            "--video",
            str(video),
            "--traces",
            str(figure),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    first = result.stdout.splitlines()[0]
    assert first == f"intact: fitness {agent.meta['fitness']:.3f} in 30 steps"
    reader = imageio.get_reader(video)
    frames = [frame for frame in reader]
    assert len(frames) == 30 and frames[0].shape == (480, 640, 3)
    assert figure.stat().st_size > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["walk.mp4", "weights.png"]


def test_replay_with_ablation_marks_it_in_the_traces(run, tmp_path):
    overrides = ["task.ablation_fraction=0.5", "task.ablation_step=15"]
    result = replay_agent(resolve_agent(run), overrides, seed=3)
    assert result.task.ablation_step == 15 and result.steps == 30
    assert [t.step for t in result.traces] == [0, 5, 10, 15, 20, 25]
    plot_traces(result, tmp_path / "w.png")
    assert (tmp_path / "w.png").exists()


def test_replay_refuses_non_task_overrides(run):
    with pytest.raises(UserError, match="only task"):
        replay_agent(resolve_agent(run), ["evolve.popsize=2"], seed=0)


def _replay_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "metaheb.cli", "replay", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_replay_morphology_and_ablate_options_are_the_task_overrides(run, tmp_path):
    figure = tmp_path / "w.png"
    result = _replay_cli(
        str(run), "--morphology", "front_left_lower_x0.25", "--ablate", "0.5@15", "--seed", "3"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    overrides = ['task.morphologies=["front_left_lower_x0.25"]', "task.ablation_fraction=0.5"]
    expected = replay_agent(resolve_agent(run), [*overrides, "task.ablation_step=15"], seed=3)
    assert result.stdout.splitlines()[0] == (
        f"front_left_lower_x0.25: fitness {expected.fitness:.3f} in {expected.steps} steps"
    )
    assert not figure.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--morphology", "five_legs"], "unknown morphology 'five_legs'"),
        (["--ablate", "1.5@10"], "'task.ablation_fraction' must be less than or equal to 1"),
        (["--ablate", "0.5"], "is not FRACTION@STEP"),
        (["--ablate", "half@10"], "task.ablation_fraction"),
    ],
)
def test_replay_bad_options_are_one_line_exit_2_and_no_video(run, tmp_path, args, message):
    video = tmp_path / "v.mp4"
    result = _replay_cli(str(run), *args, "--video", str(video))
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_replay_of_a_missing_run_is_one_line_exit_2(tmp_path):
    result = _replay_cli(str(tmp_path / "no-such-run"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1

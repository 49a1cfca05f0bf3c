"""The CarRacing task: frames, actions, the return as fitness, early stop, and training."""

import numpy as np
import pytest
import torch
from conftest import train_small

from metaheb.config import TaskConfig, load_config
from metaheb.errors import UserError
from metaheb.networks import PolicyNetwork
from metaheb.rollout import rollout_batch
from metaheb.runs import load_agent, read_metrics
from metaheb.tasks import make_task
from metaheb.tasks.carracing import EpisodeReturn

CAR = [
    "task.name=carracing",
    "network.encoder=carracing_conv",
    "network.normalise=max_abs",
    "task.max_steps=40",
    "task.early_stop_patience=100",  # every episode runs its 40 steps
]


def test_observations_are_cropped_scaled_channels_first_frames():
    task = make_task(TaskConfig(name="carracing"))
    envs = task.envs(2)
    obs = task.reset(envs, [0, 1])
    assert obs.shape == (2, 3, 84, 84) and obs.dtype == np.float32
    assert obs.min() >= 0.0 and obs.max() <= 1.0
    assert not np.array_equal(obs[0], obs[1])  # two seeds, two tracks
    obs, (rewards, ended) = task.step(envs, np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]]))
    assert obs.shape == (2, 3, 84, 84) and rewards.shape == (2,) and not ended.any()


def test_the_return_is_the_fitness_and_a_car_without_new_tiles_stops():
    config = TaskConfig(
        name="carracing",
        max_steps=1000,
        burn_in=0,
        early_stop_after=5,
        early_stop_patience=3,
        early_stop_count="always",
    )
    score = EpisodeReturn(2, config)
    agents = np.arange(2)
    done = [
        score.observe(step, agents, [], (np.array([3.0, -0.1]), np.zeros(2, bool)))
        for step in range(6)
    ]
    assert score.fitness == pytest.approx([18.0, -0.6])
    assert [d.tolist() for d in done][-2:] == [[False, False], [False, True]]


def test_an_agent_drives_the_same_alone_as_in_a_batch():
    # Training evaluates batches; a replay runs one agent. Both must give the same return.
    config = load_config(None, [*CAR, "task.burn_in=0"])
    task = make_task(config.task)
    network = PolicyNetwork.of_task(config.network, task)
    genomes = 0.5 * torch.randn(
        3, network.genome_layout.size, generator=torch.Generator().manual_seed(1)
    )
    together = rollout_batch(task, network, genomes, [4, 5, 6], trace_every=39)
    for k, seed in enumerate([4, 5, 6]):
        alone = rollout_batch(task, network, genomes[k : k + 1], [seed], trace_every=39)
        assert alone.fitness[0] == together.fitness[k] and alone.steps[0] == together.steps[k]
        # the plastic weights after 39 steps, to the last bit (a return rounds small differences)
        assert np.array_equal(alone.traces[-1].mean_abs[:, 0], together.traces[-1].mean_abs[:, k])
    assert len(set(together.fitness)) == 3  # three different drives


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ([*CAR, "task.morphologies=['back_right_lower_x0.25']"], "Ant settings"),
        ([*CAR, "task.renderer=pygame"], "choose one of: fast, gymnasium"),
    ],
)
def test_bad_carracing_settings_are_one_line_errors(overrides, message):
    with pytest.raises(UserError, match=message):
        load_config(None, overrides)


@pytest.mark.parametrize("model", ["hebbian", "static"])
def test_carracing_trains_through_the_same_loop(tmp_path, local_ray, model):
    run = train_small(tmp_path, *CAR, f"network.model={model}", "network.hidden=[16, 8]")
    (record,) = read_metrics(run)
    assert record["env_steps"] > 0 and np.isfinite(record["best"])
    agent = load_agent(run / "agents" / "best.safetensors")
    assert agent.meta["task"]["name"] == "carracing" and agent.meta["network"]["model"] == model


@pytest.mark.slow  # 24 s; replay's own tests film the Ant in the default suite
def test_replay_films_a_carracing_agent_at_the_game_s_window_size(tmp_path, local_ray):
    import imageio.v2 as imageio

    from metaheb.evaluate import resolve_agent
    from metaheb.replay import replay_agent

    run = train_small(tmp_path, *CAR, "network.hidden=[8]")
    video = tmp_path / "drive.mp4"
    result = replay_agent(resolve_agent(run), [], seed=3, video=video)
    frames = [frame for frame in imageio.get_reader(video)]  # its len() is inf: no list()
    assert len(frames) == result.steps == 40 and frames[0].shape == (400, 600, 3)

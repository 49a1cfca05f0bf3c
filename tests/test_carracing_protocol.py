"""The authors' CarRacing protocol, key by key, and action repeat (drivers)."""

import cv2
import numpy as np
import pytest
import torch
from conftest import train_small
from gymnasium.envs.box2d.car_racing import CarRacing

from metaheb.config import EvolveConfig, TaskConfig, load_config
from metaheb.evolve.openes import openes_tell
from metaheb.evolve.searchers import COEFFICIENTS
from metaheb.networks import PolicyNetwork
from metaheb.rollout import rollout_batch
from metaheb.runs import load_agent, read_metrics
from metaheb.tasks import carracing_render, make_task
from metaheb.tasks.carracing import CROP, EpisodeReturn

CAR = ["task.name=carracing", "network.encoder=carracing_conv", "network.normalise=max_abs"]


@pytest.mark.parametrize("preprocess", ["resize", "crop"])
def test_the_frame_is_resized_whole_or_cropped(preprocess):
    task = make_task(TaskConfig(name="carracing", renderer="gymnasium", preprocess=preprocess))
    obs = task.reset(task.envs(1), [3])
    frame, _ = CarRacing().reset(seed=3)
    if preprocess == "resize":  # the authors' gym ResizeObservation: OpenCV, area interpolation
        expected = cv2.resize(frame, (84, 84), interpolation=cv2.INTER_AREA)
    else:
        expected = frame[CROP]
    assert np.array_equal(obs[0], np.moveaxis(expected, -1, 0) / np.float32(255))
    assert TaskConfig(name="carracing").preprocess == "resize"


def test_unset_keys_take_each_task_s_own_protocol():
    car, ant = TaskConfig(name="carracing"), TaskConfig(name="ant")
    assert (car.burn_in, car.early_stop_after, car.early_stop_patience) == (0, 0, 20)
    assert car.early_stop_count == "always"
    assert (ant.burn_in, ant.early_stop_after, ant.early_stop_patience) == (40, 200, 30)
    assert ant.early_stop_count == "after"
    assert TaskConfig(name="carracing", early_stop_patience=50).early_stop_patience == 50
    saved = load_config(None, CAR).to_dict()["task"]  # a run's config.toml holds the values
    assert (saved["burn_in"], saved["early_stop_patience"]) == (0, 20)


def test_a_car_stops_after_more_than_20_negative_rewards_counted_from_the_first_step():
    # The authors' loop: neg_count = neg_count + 1 if reward < 0 else 0; break if neg_count > 20.
    score = EpisodeReturn(2, TaskConfig(name="carracing"))
    agents, ended = np.arange(2), np.zeros(2, bool)
    done_at = [None, None]
    for step in range(40):
        rewards = np.array([-0.1, -0.1 if step != 10 else 3.0])  # the second finds a tile
        done = score.observe(step, agents, [], (rewards, ended))
        for k in np.flatnonzero(done):
            done_at[k] = done_at[k] if done_at[k] is not None else step
    assert done_at == [20, 31]  # 21 negative steps in a row, from step 0 and from step 11


def test_the_carracing_output_rule_sees_the_linear_output_and_the_ant_s_the_action():
    car = load_config(None, CAR)
    task = make_task(car.task)
    net = PolicyNetwork.for_task(
        car.network, task.obs_dim, task.act_dim, task.output_activation, task.output_rule_input
    )
    assert net.output_rule_input == "linear"
    weights, _ = net.start_episode(torch.randn(2, net.genome_layout.size), [0, 1])
    frames = torch.rand(2, 3, 84, 84)
    activations = net.forward(weights, frames)
    pre = torch.bmm(activations[-2].unsqueeze(1), weights[2].transpose(1, 2)).squeeze(1)
    torch.testing.assert_close(activations[-1], pre)
    expected = torch.cat([torch.tanh(pre[:, :1]), torch.sigmoid(pre[:, 1:])], dim=1)
    torch.testing.assert_close(net.actions(activations), expected)
    ant = load_config(None, [])
    ant_task = make_task(ant.task)
    ant_net = PolicyNetwork.for_task(
        ant.network, 28, 8, ant_task.output_activation, ant_task.output_rule_input
    )
    assert ant_net.output_rule_input == "squashed"
    assert PolicyNetwork.from_dict({"sizes": [28, 8]}).output_rule_input == "squashed"  # old files
    chosen = load_config(None, [*CAR, "network.output_rule_input=squashed"]).network
    assert PolicyNetwork.for_task(chosen, 1, 3, "tanh_sigmoid", "linear").output_rule_input == (
        "squashed"
    )


def test_l2_on_coefficients_leaves_the_convolutions_unpenalised():
    net = PolicyNetwork(
        (648, 8, 3), "tanh_sigmoid", encoder="carracing_conv", output_rule_input="linear"
    )
    layout = net.genome_layout
    mask = layout.mask(COEFFICIENTS)
    assert int(mask.sum()) == layout.size - 1_362  # every entry but the two conv kernels
    # Two genomes with equal fitness, one with huge convolution kernels: penalising the genome
    # ranks it last, penalising the coefficients only ties them (their order then decides).
    config = EvolveConfig(popsize=2, l2=1.0, lr=1.0, sigma=1.0)
    solutions = torch.zeros(2, layout.size)
    solutions[1, ~mask] = 100.0
    eps, fitness = torch.eye(2, layout.size), torch.zeros(2)
    from metaheb.evolve.openes import OpenESState

    state = OpenESState(torch.zeros(layout.size), 1.0, 1.0)
    whole = openes_tell(state, config, solutions, eps, fitness).center
    coefficients = openes_tell(state, config, solutions, eps, fitness, mask).center
    assert whole[0] > 0 > whole[1]  # the big-kernel genome was penalised
    assert coefficients[0] < 0 < coefficients[1]  # tie: ranks by position only


CALLS = {"frames": 0, "encode": 0, "forward": 0}


class CountingNetwork(PolicyNetwork):
    """The same network, counting the frames it encodes and its forward passes."""

    def encode(self, weights, obs):
        CALLS["encode"] += 1
        return super().encode(weights, obs)

    def forward_features(self, weights, features):
        CALLS["forward"] += 1
        return super().forward_features(weights, features)


def test_action_repeat_acts_and_draws_on_every_kth_frame(monkeypatch):
    render = carracing_render.render_state

    def counted(*args):
        CALLS["frames"] += 1
        return render(*args)

    monkeypatch.setattr(carracing_render, "render_state", counted)
    config = load_config(None, [*CAR, "task.max_steps=40", "task.early_stop_patience=100"])
    net = PolicyNetwork.for_task(config.network, 0, 3, "tanh_sigmoid", "linear")
    counting = CountingNetwork(**{k: getattr(net, k) for k in net.__dataclass_fields__})
    genomes = 0.1 * torch.randn(
        2, net.genome_layout.size, generator=torch.Generator().manual_seed(0)
    )
    results = {}
    for repeat in (1, 4):
        task = make_task(TaskConfig(**{**vars(config.task), "action_repeat": repeat}))
        CALLS.update(frames=0, encode=0, forward=0)
        result = rollout_batch(task, counting, genomes, [1, 2])
        results[repeat] = (dict(CALLS), result.steps.tolist())
    # Per car: one frame at reset, then one after each step that a decision reads; a batch's
    # frames are encoded once per decision, the last step's never (no decision reads them).
    assert results[1] == ({"frames": 2 * 41, "encode": 40, "forward": 40}, [40, 40])
    assert results[4] == ({"frames": 2 * 11, "encode": 10, "forward": 10}, [40, 40])


def test_carracing_trains_with_a_held_out_centre(tmp_path, local_ray):
    run = train_small(
        tmp_path,
        *CAR,
        "network.hidden=[8]",
        "task.max_steps=30",
        "evolve.eval_every=1",
        "evolve.eval_episodes=2",
        "evolve.eval_max_steps=40",
        "task.action_repeat=2",
    )
    (record,) = read_metrics(run)
    assert len(record["heldout"]["episodes"]) == 2 and "heldout_start" in record


def test_agent_files_from_before_a_protocol_key_replay_as_they_were_evolved():
    from metaheb.evaluate import saved_task
    from metaheb.runs import Agent

    def agent(task: dict) -> Agent:
        return Agent(np.zeros(1, np.float32), {"task": task})

    assert saved_task(agent({"name": "carracing"}))["preprocess"] == "crop"  # before the key
    new = saved_task(agent({"name": "carracing", "preprocess": "resize"}))
    assert new["preprocess"] == "resize"
    old_ant = saved_task(agent({"name": "ant"}))
    assert (old_ant["observation"], old_ant["fall_height"]) == ("raw", 0.2)
    assert "preprocess" not in old_ant


def test_agent_files_and_runs_from_before_the_rational_tanh_keep_torch_s(tmp_path):
    from metaheb.config import read_run_config
    from metaheb.evaluate import evaluate_agent
    from metaheb.runs import save_agent

    config = load_config(None, [*CAR, "network.hidden=[8]"])
    new = PolicyNetwork.for_task(config.network, 0, 3, "tanh_sigmoid", "linear").to_dict()
    assert new["encoder_tanh"] == "rational"
    before = {key: value for key, value in new.items() if key != "encoder_tanh"}
    assert PolicyNetwork.from_dict(before).encoder_tanh == "torch"
    genome = 0.3 * torch.randn(PolicyNetwork.from_dict(new).genome_layout.size)
    fitness = {}
    for name, network in (("before", before), ("torch", {**new, "encoder_tanh": "torch"})):
        path = tmp_path / f"{name}.safetensors"
        save_agent(path, genome.numpy(), {"task": vars(config.task), "network": network})
        agent = load_agent(path)
        fitness[name] = evaluate_agent(agent, ["task.max_steps=25"], episodes=1).fitness
    assert np.array_equal(fitness["before"], fitness["torch"])  # replayed as it was evolved
    frames = torch.rand(2, 3, 84, 84, generator=torch.Generator().manual_seed(1))
    weights = PolicyNetwork.from_dict(new).start_episode(genome[None].repeat(2, 1), [0, 1])[0]
    encoded = {
        name: PolicyNetwork.from_dict(network).encode(weights, frames)
        for name, network in (("before", before), ("torch", {**new, "encoder_tanh": "torch"}))
    }
    encoded["rational"] = PolicyNetwork.from_dict(new).encode(weights, frames)
    assert torch.equal(encoded["before"], encoded["torch"])
    assert not torch.equal(encoded["before"], encoded["rational"])
    # A run recorded before the key resumes with torch.tanh too; a later run as recorded.
    (tmp_path / "config.toml").write_text('[network]\nencoder = "carracing_conv"\n')
    assert read_run_config(tmp_path)["network"]["encoder_tanh"] == "torch"
    (tmp_path / "config.toml").write_text(
        '[network]\nencoder = "carracing_conv"\nencoder_tanh = "rational"\n'
    )
    assert read_run_config(tmp_path)["network"]["encoder_tanh"] == "rational"
    (tmp_path / "config.toml").write_text('[network]\nencoder = "none"\n')
    assert "encoder_tanh" not in read_run_config(tmp_path)["network"]

"""End to end on the real Ant over a real local Ray: run directory, agent files, worker count."""

import dataclasses
import tomllib

import numpy as np
import pytest
import torch

from metaheb.config import config_from_dict, load_config
from metaheb.errors import UserError
from metaheb.evolve.heldout import heldout_seeds
from metaheb.evolve.trainer import _network, train
from metaheb.networks import PolicyNetwork
from metaheb.rollout import rollout_batch
from metaheb.runs import load_agent, read_metrics
from metaheb.tasks import make_task

SMALL = [
    "task.max_steps=60",
    "task.burn_in=5",
    "network.hidden=[16]",
    "evolve.popsize=6",
    "evolve.generations=2",
    "evolve.eval_every=1",
    "evolve.eval_episodes=3",
    "evolve.eval_max_steps=80",
]


def small_run(tmp_path, *extra):
    config = load_config(None, [*SMALL, f"run.out_dir={tmp_path}", *extra])
    lines = []
    return train(config, echo=lines.append), lines


def test_run_directory_holds_config_metrics_and_a_replayable_agent(tmp_path, local_ray):
    run, lines = small_run(tmp_path, "run.name=job")
    assert run == tmp_path / "job"
    assert any("genome of 2,880 values" in line for line in lines)
    assert any(str(run) in line for line in lines)
    assert sum(line.startswith("gen ") for line in lines) == 2
    assert sum("held-out centre" in line for line in lines) == 2

    saved = config_from_dict(tomllib.loads((run / "config.toml").read_text()))
    assert saved.evolve.popsize == 6 and saved.network.hidden == [16]

    metrics = read_metrics(run)
    assert [m["generation"] for m in metrics] == [0, 1]
    assert all(m["env_steps"] > 0 and m["env_steps_per_s"] > 0 for m in metrics)

    agent = load_agent(run / "agents" / "best.safetensors")  # safetensors + JSON: no pickle
    assert agent.meta["fitness"] == max(m["best"] for m in metrics)
    network = PolicyNetwork.from_dict(agent.meta["network"])
    task = make_task(saved.task)
    replay = rollout_batch(
        task, network, torch.from_numpy(agent.genome)[None], [agent.meta["episode_seed"]]
    )
    assert replay.fitness[0] == agent.meta["fitness"]
    center = load_agent(run / "agents" / "center.safetensors")
    assert center.genome.shape == (2880,)
    # The held-out figures are the saved centre's, on the fixed held-out seeds, at full length.
    assert "heldout_start" in metrics[0] and "heldout_start" not in metrics[1]
    heldout = metrics[-1]["heldout"]
    assert center.meta["heldout"] == heldout["mean"]
    eval_task = dataclasses.replace(saved.task, max_steps=80)
    episodes = rollout_batch(
        make_task(eval_task),
        network,
        torch.from_numpy(center.genome)[None].repeat(3, 1),
        heldout_seeds(3),
    )
    assert episodes.fitness.tolist() == heldout["episodes"]
    assert heldout["env_steps"] == episodes.steps.sum()
    assert heldout["mean"] == pytest.approx(np.mean(episodes.fitness))


def test_best_center_is_the_centre_of_the_best_held_out_evaluation(tmp_path, local_ray):
    run, _ = small_run(tmp_path, "evolve.generations=4", "evolve.eval_every=1", "run.name=job")
    metrics = read_metrics(run)
    scores = [metrics[0]["heldout_start"]["mean"]] + [m["heldout"]["mean"] for m in metrics]
    best = load_agent(run / "agents" / "best_center.safetensors")
    assert best.meta["heldout"] == max(scores)
    assert best.meta["generation"] == int(np.argmax(scores)) - 1  # -1: the starting centre
    # Scored again on the held-out seeds, the saved genome gives the score that chose it.
    network = PolicyNetwork.from_dict(best.meta["network"])
    task = make_task(dataclasses.replace(load_config(None, SMALL).task, max_steps=80))
    episodes = rollout_batch(
        task, network, torch.from_numpy(best.genome)[None].repeat(3, 1), heldout_seeds(3)
    )
    assert np.mean(episodes.fitness) == pytest.approx(best.meta["heldout"])


def test_fitness_does_not_depend_on_the_number_of_workers(tmp_path, local_ray):
    one, _ = small_run(tmp_path, "ray.num_workers=1", "run.name=one")
    two, _ = small_run(tmp_path, "ray.num_workers=2", "run.name=two")
    keys = ("best", "mean", "std", "min", "env_steps", "heldout")
    assert [[m[k] for k in keys] for m in read_metrics(one)] == [
        [m[k] for k in keys] for m in read_metrics(two)
    ]
    assert read_metrics(one)[0]["heldout_start"] == read_metrics(two)[0]["heldout_start"]


def test_a_fused_run_gives_the_eager_runs_numbers_whatever_the_workers(tmp_path, local_ray):
    normalised = "network.normalise=max_abs"  # fused into the same pass
    fused, lines = small_run(tmp_path, normalised, "network.fused=true", "run.name=f")
    eager, _ = small_run(tmp_path, normalised, "network.fused=false", "ray.num_workers=1")
    assert any("fused rule update" in line for line in lines)
    keys = ("best", "mean", "std", "min", "env_steps", "heldout")
    assert [[m[k] for k in keys] for m in read_metrics(fused)] == [
        [m[k] for k in keys] for m in read_metrics(eager)
    ]
    agent = load_agent(fused / "agents" / "best.safetensors")
    network = PolicyNetwork.from_dict(agent.meta["network"])
    assert network.fused and network.normalise == "max_abs"  # the agent file says which ran
    task = make_task(config_from_dict(tomllib.loads((fused / "config.toml").read_text())).task)
    genome = torch.from_numpy(agent.genome)[None]
    for update in (network, dataclasses.replace(network, fused=False)):
        replay = rollout_batch(task, update, genome, [agent.meta["episode_seed"]])
        assert replay.fitness[0] == agent.meta["fitness"]


@pytest.mark.parametrize(
    ("overrides", "fused"),
    [
        ([], False),  # a short run: compiling would cost more than it saves
        (["evolve.max_env_steps=1000000"], True),
        (["evolve.popsize=100", "evolve.generations=200", "task.max_steps=60"], True),
        (["evolve.max_env_steps=1000000", "network.fused=false"], False),
        (["evolve.max_env_steps=1000000", "network.model=static"], False),
        (["network.fused=true"], True),
    ],
)
def test_auto_fuses_the_update_in_runs_long_enough_to_repay_compiling(overrides, fused):
    config = load_config(None, [*SMALL, *overrides])
    assert _network(config, echo=lambda line: None).fused is fused


def test_a_taken_run_name_gets_a_new_directory(tmp_path, local_ray):
    first, _ = small_run(tmp_path, "run.name=same", "evolve.generations=1")
    second, _ = small_run(tmp_path, "run.name=same", "evolve.generations=1")
    assert first != second and first.exists() and second.exists()


def test_corrupted_and_foreign_agent_files_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(UserError, match="corrupted or not an agent file"):
        load_agent(bad)
    with pytest.raises(UserError, match="not found"):
        load_agent(tmp_path / "missing.safetensors")
    from safetensors.numpy import save_file

    save_file({"genome": np.zeros(3, dtype=np.float32)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(UserError, match="not a metaheb agent file"):
        load_agent(tmp_path / "foreign.safetensors")


def test_seeding_modes():
    from metaheb.seeding import population_seeds

    member = population_seeds("member", 0, 3, 4)
    assert len(set(member)) == 4 and member == population_seeds("member", 0, 3, 4)
    shared = population_seeds("generation", 0, 3, 4)
    assert len(set(shared)) == 1 and shared != population_seeds("generation", 0, 4, 4)
    assert population_seeds("fixed", 0, 3, 4) == population_seeds("fixed", 0, 9, 4)
    assert population_seeds("member", 1, 3, 4) != member

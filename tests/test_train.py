"""End to end on the real Ant over a real local Ray: run directory, agent files, worker count."""

import tomllib

import numpy as np
import pytest
import torch

from metaheb.config import config_from_dict, load_config
from metaheb.errors import UserError
from metaheb.evolve.trainer import train
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
]


def small_run(tmp_path, *extra):
    config = load_config(None, [*SMALL, f"run.out_dir={tmp_path}", *extra])
    lines = []
    return train(config, echo=lines.append), lines


def test_run_directory_holds_config_metrics_and_a_replayable_agent(tmp_path, local_ray):
    run, lines = small_run(tmp_path, "run.name=job")
    assert run == tmp_path / "job"
    assert any("genome of 2,800 values" in line for line in lines)
    assert any(str(run) in line for line in lines)
    assert sum(line.startswith("gen ") for line in lines) == 2

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
    assert load_agent(run / "agents" / "center.safetensors").genome.shape == (2800,)


def test_fitness_does_not_depend_on_the_number_of_workers(tmp_path, local_ray):
    one, _ = small_run(tmp_path, "ray.num_workers=1", "run.name=one")
    two, _ = small_run(tmp_path, "ray.num_workers=2", "run.name=two")
    keys = ("best", "mean", "std", "min", "env_steps")
    assert [[m[k] for k in keys] for m in read_metrics(one)] == [
        [m[k] for k in keys] for m in read_metrics(two)
    ]


def test_a_fused_run_replays_to_its_bits_whatever_the_workers(tmp_path, local_ray):
    one, _ = small_run(tmp_path, "network.fused=true", "ray.num_workers=1", "run.name=one")
    two, _ = small_run(tmp_path, "network.fused=true", "ray.num_workers=2", "run.name=two")
    keys = ("best", "mean", "std", "min", "env_steps")
    assert [[m[k] for k in keys] for m in read_metrics(one)] == [
        [m[k] for k in keys] for m in read_metrics(two)
    ]
    agent = load_agent(one / "agents" / "best.safetensors")
    network = PolicyNetwork.from_dict(agent.meta["network"])
    assert network.fused  # the agent file says which update it ran with
    task = make_task(config_from_dict(tomllib.loads((one / "config.toml").read_text())).task)
    genome = torch.from_numpy(agent.genome)[None]
    replay = rollout_batch(task, network, genome, [agent.meta["episode_seed"]])
    assert replay.fitness[0] == agent.meta["fitness"]


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

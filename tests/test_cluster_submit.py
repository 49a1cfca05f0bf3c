"""The same `metaheb train` against a running Ray cluster, the three ways a user reaches one:
``ray.address=auto`` on a cluster node, a ``ray://`` client from outside, and ``ray job submit``.
Each run equals the run on an embedded local Ray with the same seed.

The cluster is a real head node started here (ray.cluster_utils: a raylet, the dashboard's job
server and the client server, each a process of its own), shut down by the fixture alone, so a
Ray that other work runs on this machine is left alone.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from metaheb.config import load_config
from metaheb.evolve.trainer import train
from metaheb.runs import read_metrics

JOB = [
    "task.max_steps=60",
    "task.burn_in=5",
    "network.hidden=[4]",
    "evolve.popsize=8",
    "evolve.generations=2",
    "ray.num_workers=2",
    "evolve.init_std=0.05",
]
COMPARED = ("best", "mean", "std", "min", "env_steps")
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    ports = {"dashboard": free_port(), "client": free_port(), "agent": free_port()}
    head = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 2,
            "include_dashboard": True,
            "dashboard_host": "127.0.0.1",
            "dashboard_port": ports["dashboard"],
            "ray_client_server_port": ports["client"],
            # Its own port: another Ray on this machine may hold the default one.
            "dashboard_agent_listen_port": ports["agent"],
        },
    )
    yield head, ports
    head.shutdown()


def metaheb_train(out: Path, name: str, address: str | None) -> list[str]:
    where = [f"ray.address={address}"] if address is not None else []
    return [str(BIN / "metaheb"), "train", *JOB, *where, f"run.out_dir={out}", f"run.name={name}"]


def numbers(run: Path) -> list[list[float]]:
    return [[m[k] for k in COMPARED] for m in read_metrics(run)]


@pytest.fixture(scope="module")
def local_numbers(tmp_path_factory, local_ray):
    out = tmp_path_factory.mktemp("local")
    config = load_config(None, [f"run.out_dir={out}", "run.name=local", *JOB])
    return numbers(train(config, echo=lambda line: None))


def run_train(out: Path, name: str, address: str, ray_address_env: str | None) -> list[list]:
    """``metaheb train`` in a process of its own, with RAY_ADDRESS set as given; its numbers."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    if ray_address_env is not None:
        env["RAY_ADDRESS"] = ray_address_env
    command = metaheb_train(out, name, address)
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return numbers(out / name)


@pytest.mark.slow
def test_address_auto_on_a_cluster_node(cluster, local_numbers, tmp_path):
    head, _ = cluster  # a node of a cluster has RAY_ADDRESS
    assert run_train(tmp_path, "auto", "auto", head.address) == local_numbers


@pytest.mark.slow
def test_ray_client_address_from_outside_the_cluster(cluster, local_numbers, tmp_path):
    _, ports = cluster
    address = f"ray://127.0.0.1:{ports['client']}"
    assert run_train(tmp_path, "client", address, None) == local_numbers


@pytest.mark.slow
def test_ray_job_submit_of_the_same_command(cluster, local_numbers, tmp_path):
    _, ports = cluster
    submit = [
        str(BIN / "ray"),
        "job",
        "submit",
        "--address",
        f"http://127.0.0.1:{ports['dashboard']}",
        "--",
        *metaheb_train(tmp_path, "job", None),  # the job's RAY_ADDRESS names the cluster
    ]
    for _ in range(20):  # the head's job agent comes up some seconds after the head itself
        result = subprocess.run(submit, capture_output=True, text=True, timeout=300)
        if "No available agent" not in result.stderr:
            break
        time.sleep(2)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "succeeded" in result.stdout.lower()
    assert "done: best fitness" in result.stdout  # the job's own output, streamed back
    assert numbers(tmp_path / "job") == local_numbers


@pytest.mark.slow
def test_an_unreachable_cluster_is_one_line_exit_2(tmp_path):
    address = f"ray://127.0.0.1:{free_port()}"
    result = subprocess.run(
        metaheb_train(tmp_path, "nowhere", address), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(result.stderr.strip().splitlines()) == 1 and "ray.address" in result.stderr
    assert not (tmp_path / "nowhere").exists()

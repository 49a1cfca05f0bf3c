"""A job on a real two-node Ray cluster: batches spread over the nodes; losing the worker node
mid-run changes no number (its batches run again on the head)."""

import subprocess
import sys
from pathlib import Path

import multinode_job
import pytest

from metaheb.config import load_config
from metaheb.evolve.trainer import train
from metaheb.runs import read_metrics

COMPARED = ("best", "mean", "std", "min", "env_steps")
JOB = Path(__file__).with_name("multinode_job.py")


def cluster_run(tmp_path: Path, mode: str) -> list[dict]:
    result = subprocess.run(
        [sys.executable, str(JOB), str(tmp_path / mode), mode],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    if mode == "kill":
        assert "worker node removed" in result.stdout
    return read_metrics(tmp_path / mode / "cluster")


@pytest.mark.slow
def test_batches_spread_over_nodes_and_node_loss_changes_nothing(tmp_path, local_ray):
    config = load_config(None, [f"run.out_dir={tmp_path}", "run.name=single", *multinode_job.JOB])
    single = read_metrics(train(config, echo=lambda line: None))
    spread = cluster_run(tmp_path, "spread")
    assert len(spread[0]["nodes"]) == 2  # both nodes evaluated a batch
    assert sum(spread[0]["nodes"].values()) == 8
    killed = cluster_run(tmp_path, "kill")
    assert len(killed[-1]["nodes"]) == 1  # after the loss, only the head is left
    for run in (spread, killed):
        assert [[m[k] for k in COMPARED] for m in run] == [[m[k] for k in COMPARED] for m in single]

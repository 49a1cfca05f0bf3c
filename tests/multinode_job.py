"""Run a short job on a two-node Ray cluster started here (a head and one worker node, each a real
raylet), optionally removing the worker node once the first generation is done. Prints the run
directory. Used by tests/test_multinode.py in a process of its own."""

import sys
import threading
import time

import ray
from ray.cluster_utils import Cluster

from metaheb.config import load_config
from metaheb.evolve.trainer import train

JOB = [
    "task.max_steps=200",
    "task.burn_in=5",
    "network.hidden=[4]",
    "evolve.popsize=8",
    "evolve.generations=3",
    "ray.num_workers=2",
    "evolve.init_std=0.05",
]


def main(out: str, kill_worker_node: bool) -> None:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, logging_level="ERROR")
    config = load_config(None, [f"run.out_dir={out}", "run.name=cluster", *JOB])
    generations = []

    def echo(line: str) -> None:
        if line.startswith("gen "):
            generations.append(line)

    def remove_worker_node() -> None:
        while not generations:
            time.sleep(0.01)
        time.sleep(0.2)  # inside the second generation's episodes
        cluster.remove_node(worker, allow_graceful=False)
        print("worker node removed", flush=True)

    if kill_worker_node:
        threading.Thread(target=remove_worker_node, daemon=True).start()
    path = train(config, echo=echo)
    print(f"run {path}", flush=True)
    ray.shutdown()
    cluster.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] == "kill")
    sys.exit(0)

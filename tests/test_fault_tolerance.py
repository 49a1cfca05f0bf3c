"""A Ray worker killed mid-generation: its batch runs again elsewhere, with the same numbers."""

import os
import signal
import threading
import time
from pathlib import Path

from metaheb.config import load_config
from metaheb.evolve.trainer import train
from metaheb.runs import read_metrics

SMALL = [
    "task.max_steps=150",
    "task.burn_in=5",
    "network.hidden=[4]",
    "evolve.popsize=8",
    "evolve.generations=3",
]
COMPARED = ("best", "mean", "std", "min", "env_steps")


def parent_of(pid: int) -> int:
    """The parent PID of ``pid`` (0 once it is gone), from /proc/PID/stat."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rpartition(")")[2].split()[1])  # after the command name, which may hold spaces


def descends_from_us(pid: int) -> bool:
    """Whether ``pid`` was started by this test process (through the Ray it started)."""
    while pid > 1:
        pid = parent_of(pid)
        if pid == os.getpid():
            return True
    return False


def busy_workers() -> list[int]:
    """PIDs of this session's Ray workers running a metaheb batch (Ray titles them by the task's
    name); another Ray on the machine (a user's run) is left alone."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"ray::evaluate_batch_remote" in cmdline and descends_from_us(int(entry.name)):
                pids.append(int(entry.name))
    return pids


def test_a_killed_worker_does_not_change_the_run(tmp_path, local_ray):
    overrides = [*SMALL, f"run.out_dir={tmp_path}"]
    whole = train(load_config(None, [*overrides, "run.name=whole"]), echo=lambda line: None)

    killed: list[int] = []
    done = threading.Event()

    def kill_one_busy_worker() -> None:
        while not done.is_set() and not killed:
            for pid in busy_workers():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break
            time.sleep(0.005)

    killer = threading.Thread(target=kill_one_busy_worker)
    killer.start()
    try:
        hit = train(load_config(None, [*overrides, "run.name=hit"]), echo=lambda line: None)
    finally:
        done.set()
        killer.join()
    assert killed, "no busy worker was found to kill"
    assert [[m[k] for k in COMPARED] for m in read_metrics(hit)] == [
        [m[k] for k in COMPARED] for m in read_metrics(whole)
    ]

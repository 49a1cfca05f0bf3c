"""Resume: a stopped run, resumed, writes exactly the metrics of an uninterrupted run."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from metaheb.config import load_config
from metaheb.errors import UserError
from metaheb.evolve.trainer import resume, train
from metaheb.run_table import summarize_runs
from metaheb.runs import RunDirectory, load_agent, read_metrics

SMALL = [
    "task.max_steps=40",
    "task.burn_in=5",
    "network.hidden=[4]",
    "evolve.popsize=6",
    "evolve.generations=4",
    "evolve.eval_every=2",
    "evolve.eval_episodes=2",
    "evolve.eval_max_steps=50",
]
COMPARED = ("generation", "best", "mean", "std", "min", "env_steps", "spread", "nonfinite")
HELD_OUT = ("heldout", "heldout_start")  # in some records only


def comparable(path):
    return [
        {key: record[key] for key in (*COMPARED, *HELD_OUT) if key in record or key in COMPARED}
        for record in read_metrics(path)
    ]


class Stop(Exception):
    pass


def stop_after(lines: int):
    seen = []

    def echo(line: str) -> None:
        seen.append(line)
        if sum(x.startswith("gen ") for x in seen) == lines:
            raise Stop  # after generation 2's metrics line, before its checkpoint

    return echo


@pytest.mark.parametrize("algorithm", ["openes", "pgpe"])
def test_resume_after_an_interruption_matches_an_uninterrupted_run(tmp_path, local_ray, algorithm):
    overrides = [*SMALL, f"run.out_dir={tmp_path}", f"evolve.algorithm={algorithm}"]
    whole = train(load_config(None, [*overrides, "run.name=whole"]), echo=lambda line: None)
    with pytest.raises(Stop):
        train(load_config(None, [*overrides, "run.name=cut"]), echo=stop_after(2))
    cut = tmp_path / "cut"
    assert len(read_metrics(cut)) == 2  # the second line outran its checkpoint
    assert torch.load(cut / "checkpoint.pt", weights_only=True)["generations_done"] == 1
    assert [row["status"] for row in summarize_runs(tmp_path)] == ["done", "stopped"]

    resume(cut, echo=lambda line: None)
    assert comparable(cut) == comparable(whole)
    assert ["heldout" in record for record in read_metrics(cut)] == [False, True, False, True]
    kept = [load_agent(run / "agents" / "best_center.safetensors") for run in (cut, whole)]
    assert kept[0].meta == kept[1].meta and (kept[0].genome == kept[1].genome).all()
    with pytest.raises(UserError, match="already complete"):
        resume(cut, echo=lambda line: None)


def test_a_torn_last_metrics_line_is_dropped_and_its_generation_runs_again(tmp_path, local_ray):
    """What a crash mid-write or a full disk leaves: half a line, no newline, then resume."""
    overrides = [*SMALL, f"run.out_dir={tmp_path}"]
    whole = train(load_config(None, [*overrides, "run.name=whole"]), echo=lambda line: None)
    with pytest.raises(Stop):
        train(load_config(None, [*overrides, "run.name=cut"]), echo=stop_after(2))
    metrics = tmp_path / "cut" / "metrics.jsonl"
    first, second = metrics.read_bytes().splitlines(keepends=True)
    metrics.write_bytes(first + second[: len(second) // 2])
    assert len(read_metrics(tmp_path / "cut")) == 1
    assert [row["status"] for row in summarize_runs(tmp_path)] == ["done", "stopped"]
    resume(tmp_path / "cut", echo=lambda line: None)
    assert comparable(tmp_path / "cut") == comparable(whole)


def metaheb(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "metaheb.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kwargs,
    )


def into_the_third_generation(job: subprocess.Popen, run: Path) -> None:
    """Wait until the run in ``job`` has written two generations' metrics, then a moment more."""
    metrics = run / "metrics.jsonl"
    deadline = time.monotonic() + 300
    while not (metrics.exists() and metrics.read_text().count("\n") >= 2):
        assert job.poll() is None, job.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)  # into the third generation's episodes


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["openes", "cmaes", "sepcmaes", "pgpe", "snes"])
def test_sigkill_mid_generation_then_resume_matches_an_uninterrupted_run(
    tmp_path, local_ray, algorithm
):
    overrides = [
        *SMALL,
        "evolve.generations=6",
        "task.max_steps=150",
        f"run.out_dir={tmp_path}",
        f"evolve.algorithm={algorithm}",
    ]
    whole = train(load_config(None, [*overrides, "run.name=whole"]), echo=lambda line: None)

    job = metaheb("train", *overrides, "run.name=killed", "ray.num_workers=1")
    into_the_third_generation(job, tmp_path / "killed")
    os.killpg(job.pid, signal.SIGKILL)  # the driver and the Ray it started, at once
    job.wait()
    assert len(read_metrics(tmp_path / "killed")) < 6

    resumed = metaheb("resume", str(tmp_path / "killed"))
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-2000:]
    assert "resuming" in out
    assert comparable(tmp_path / "killed") == comparable(whole)


def test_an_env_step_budget_ends_the_run_and_survives_a_resume(tmp_path, local_ray):
    # 40-step episodes of 6 members: at most 240 steps a generation, so 300 takes two.
    overrides = [*SMALL, f"run.out_dir={tmp_path}", "evolve.max_env_steps=300"]
    whole = train(load_config(None, [*overrides, "run.name=whole"]), echo=lambda line: None)
    steps = [record["env_steps"] for record in read_metrics(whole)]
    assert len(steps) < 4 and sum(steps) >= 300 and sum(steps[:-1]) < 300
    assert (whole / "agents" / "center.safetensors").exists()

    with pytest.raises(Stop):
        train(load_config(None, [*overrides, "run.name=cut"]), echo=stop_after(2))
    resume(tmp_path / "cut", echo=lambda line: None)
    assert comparable(tmp_path / "cut") == comparable(whole)
    with pytest.raises(UserError, match="already complete"):
        resume(tmp_path / "cut", echo=lambda line: None)


def test_a_finished_run_resumed_with_a_larger_budget_goes_on_as_an_unbroken_run(
    tmp_path, local_ray
):
    overrides = [*SMALL, f"run.out_dir={tmp_path}", "evolve.generations=100"]
    quiet = lambda line: None  # noqa: E731
    probe = train(load_config(None, [*overrides, "run.name=probe", "evolve.generations=2"]), quiet)
    steps = sum(record["env_steps"] for record in read_metrics(probe))  # of two generations
    short = [*overrides, f"evolve.max_env_steps={steps}"]
    longer = f"evolve.max_env_steps={4 * steps}"
    whole = train(load_config(None, [*overrides, "run.name=whole", longer]), echo=quiet)
    short_run = train(load_config(None, [*short, "run.name=short"]), echo=lambda line: None)
    with pytest.raises(UserError, match="already complete"):
        resume(short_run, echo=lambda line: None)
    with pytest.raises(UserError, match="resume changes only the budget"):
        resume(short_run, echo=lambda line: None, budget=["evolve.popsize=8"])
    resume(short_run, echo=lambda line: None, budget=[longer])
    training = [{k: r[k] for k in COMPARED} for r in read_metrics(short_run)]
    assert training == [{k: r[k] for k in COMPARED} for r in read_metrics(whole)]
    assert load_config(short_run / "config.toml").evolve.max_env_steps == 4 * steps
    final = [load_agent(run / "agents" / "center.safetensors") for run in (short_run, whole)]
    assert torch.equal(torch.as_tensor(final[0].genome), torch.as_tensor(final[1].genome))


def test_a_run_reads_running_while_a_process_runs_it_and_stopped_once_it_is_gone(tmp_path):
    run = RunDirectory.create(str(tmp_path), "job")
    run.write_config(load_config(None, ["evolve.max_env_steps=5000"]).to_dict())
    with run.running():
        (row,) = summarize_runs(tmp_path)
        assert (row["status"], row["env_steps"], row["max_env_steps"]) == ("running", 0, 5000)
    assert summarize_runs(tmp_path)[0]["status"] == "stopped"
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    marker = {"host": socket.gethostname(), "pid": int(gone.stdout)}  # a killed run's marker
    (run.path / "running.json").write_text(json.dumps(marker))
    assert summarize_runs(tmp_path)[0]["status"] == "stopped"


def ray_processes_of(driver_pid: int) -> list[str]:
    """The command lines of the processes of the Ray a driver started: its session folder's name
    ends with the driver's pid."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        if f"_{driver_pid}/" in text and "session_" in text:
            found.append(text[:200])
    return found


# SIGINT as a terminal's Ctrl-C delivers it: a shell's background job starts with it ignored.
WITH_CTRL_C = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'metaheb'; runpy.run_module('metaheb.cli', run_name='__main__')"
)


@pytest.mark.parametrize(
    "stop",
    [signal.SIGTERM, pytest.param(signal.SIGINT, marks=pytest.mark.slow)],
    ids=["SIGTERM", "SIGINT"],
)
def test_sigterm_or_ctrl_c_stops_a_run_in_one_line_and_resume_goes_on(tmp_path, local_ray, stop):
    overrides = [*SMALL, "evolve.generations=6", "task.max_steps=150", f"run.out_dir={tmp_path}"]
    whole = train(load_config(None, [*overrides, "run.name=whole"]), echo=lambda line: None)
    job = subprocess.Popen(
        [sys.executable, "-c", WITH_CTRL_C, "train", *overrides, "run.name=cut"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    into_the_third_generation(job, tmp_path / "cut")
    # A scheduler's SIGTERM goes to the driver; a terminal's Ctrl-C to the whole process group.
    job.send_signal(stop) if stop == signal.SIGTERM else os.killpg(job.pid, stop)
    _, err = job.communicate(timeout=120)

    assert job.returncode == 128 + stop
    name = "SIGTERM" if stop == signal.SIGTERM else r"Ctrl-C \(SIGINT\)"
    expected = rf"metaheb: stopped by {name} after generation [2-5]: `metaheb resume .*cut` goes on"
    assert re.fullmatch(expected + " from there", err.strip()), err[-2000:]
    assert not (tmp_path / "cut" / "running.json").exists()
    deadline = time.monotonic() + 30
    while ray_processes_of(job.pid):  # Ray's own processes end a moment after the driver
        assert time.monotonic() < deadline, ray_processes_of(job.pid)
        time.sleep(0.2)

    resume(tmp_path / "cut", echo=lambda line: None)
    assert comparable(tmp_path / "cut") == comparable(whole)

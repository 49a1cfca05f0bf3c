"""metaheb sweep: settings x seeds as ordinary runs, judged on the held-out centre, pruned at
rungs, resumed after a kill without redoing a finished setting; bad sweep files in one line."""

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from metaheb.config import load_config
from metaheb.errors import UserError
from metaheb.evolve.trainer import resume, train
from metaheb.runs import read_metrics
from metaheb.sweep import load_sweep
from metaheb.sweep.metric import metric_value
from metaheb.sweep.spec import Metric
from metaheb.sweep.study import _claim_folder, _distributions, _next_setting, run_sweep
from metaheb.sweep.trial import run_setting
from tests.conftest import metaheb_cli
from tests.test_resume import comparable

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "task.max_steps=60",
    "task.burn_in=5",
    "network.hidden=[8]",
    "evolve.popsize=8",
    "evolve.eval_every=2",
    "evolve.eval_episodes=2",
    "evolve.eval_max_steps=60",
    "ray.num_workers=2",
]
TINY_SWEEP = f"""
base = "{ROOT / "envs" / "ant-quick.toml"}"
seeds = [0, 1]
budget = 3000
overrides = {json.dumps(TINY)}

[grid]
"evolve.lr" = [0.07, 0.02]

[pruner]
kind = "median"
rungs = [900]
startup = 1
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def quiet(line: str) -> None:
    pass


def test_a_sweep_runs_each_setting_and_seed_as_a_run_and_writes_its_results(tmp_path, local_ray):
    spec = load_sweep(write(tmp_path / "tiny.toml", TINY_SWEEP))
    lines = []
    run_sweep(spec, tmp_path / "sweep", echo=lines.append)
    results = json.loads((tmp_path / "sweep" / "results.json").read_text())
    assert [(t["settings"]["evolve.lr"], t["seed"]) for t in results["trials"]] == [
        (0.07, 0),
        (0.07, 1),
        (0.02, 0),
        (0.02, 1),
    ]
    for trial in results["trials"]:
        run = Path(trial["run"])
        config = load_config(run / "config.toml")  # an ordinary run directory
        assert config.evolve.lr == trial["settings"]["evolve.lr"]
        assert config.run.seed == trial["seed"]
        assert trial["env_steps"] == sum(r["env_steps"] for r in read_metrics(run))
        scores = [r["heldout"]["mean"] for r in read_metrics(run) if "heldout" in r]
        assert trial["metric"] == pytest.approx(max(scores), abs=1e-4)  # "best" by default
        if not trial["pruned"]:
            assert trial["env_steps"] >= 3000 and (run / "agents" / "center.safetensors").is_file()
    page = (tmp_path / "sweep" / "results.md").read_text()
    assert "| t00 | 0.07 |" in page and "95% interval" in page and "results.png" in page
    assert any(line.startswith("setting 2/2: evolve.lr=0.02") for line in lines)

    again = []  # a finished sweep run again redoes nothing
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "sweep").rglob("metrics.jsonl")}
    run_sweep(spec, tmp_path / "sweep", echo=again.append)
    assert not any(line.startswith("setting ") for line in again)
    assert stamps == {p: p.stat().st_mtime_ns for p in (tmp_path / "sweep").rglob("metrics.jsonl")}


def test_a_pruned_setting_stops_at_its_rung_and_its_runs_stay_resumable(tmp_path, local_ray):
    spec = load_sweep(write(tmp_path / "tiny.toml", TINY_SWEEP))
    judged = []

    def prune(rung, value):
        judged.append((rung, value))
        return True

    outcome = run_setting(spec, 0, {"evolve.lr": 0.07}, tmp_path / "trials", prune, quiet)
    assert outcome.pruned_at == 900 and [rung for rung, _ in judged] == [900]
    assert judged[0][1] == pytest.approx(outcome.value)
    for run in outcome.runs:
        assert 900 <= run.env_steps < 3000  # paused at the first held-out evaluation past 900
        assert "heldout" in read_metrics(run.path)[-1]

    # Resumed to the end, a paused run gives the numbers of a run that never paused.
    paused = outcome.runs[0].path
    resume(paused, echo=quiet)
    config = spec.run_config({"evolve.lr": 0.07}, 0, tmp_path, "whole")
    whole = train(config, echo=quiet)
    assert comparable(paused) == comparable(whole)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_sweep_killed_mid_setting_finishes_with_the_numbers_of_an_unbroken_one(tmp_path, stop):
    sweep = write(tmp_path / "tiny.toml", TINY_SWEEP.replace("[0, 1]", "[0]"))
    whole = metaheb_cli("sweep", str(sweep), "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "metaheb.cli", "sweep", str(sweep), "--out"]
    process = subprocess.Popen(
        [*command, str(tmp_path / "cut")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    for line in process.stdout:  # kill in the first setting, as its run goes on past the rung
        if "t00-lr0.07-s0: " in line:
            break
    if stop == signal.SIGKILL:
        os.killpg(process.pid, stop)  # the driver and the Ray it started, at once
        process.wait()
    else:  # a scheduler's stop: one line that says how the sweep goes on
        process.send_signal(stop)
        _, err = process.communicate(timeout=120)
        assert process.returncode == 128 + stop
        assert err.strip().startswith("metaheb: stopped by SIGTERM: run the same `metaheb sweep`")
        assert len(err.strip().splitlines()) == 1, err[-2000:]
    finish = metaheb_cli("sweep", str(sweep), "--out", str(tmp_path / "cut"))
    assert finish.returncode == 0, finish.stderr
    assert "setting 1/2" in finish.stdout  # the interrupted setting ran again, from its runs
    for name in ("t00-lr0.07-s0", "t01-lr0.02-s0"):
        assert comparable(tmp_path / "cut" / "trials" / name) == comparable(
            tmp_path / "whole" / "trials" / name
        )
    results = [json.loads((tmp_path / d / "results.json").read_text()) for d in ("cut", "whole")]
    metrics = [[t["metric"] for t in result["trials"]] for result in results]
    assert metrics[0] == metrics[1]


@pytest.mark.slow
def test_the_quick_sweep_prunes_its_weaker_setting_and_finishes_on_a_rerun(tmp_path):
    out = tmp_path / "quick"
    first = metaheb_cli("sweep", "envs/sweeps/quick.toml", "--out", str(out), cwd=ROOT)
    assert first.returncode == 0, first.stderr
    results = json.loads((out / "results.json").read_text())
    assert [t["pruned_at"] for t in results["trials"]] == [None, 20000]
    assert "evolve.lr=0.07" in results["best"]
    again = metaheb_cli("sweep", "envs/sweeps/quick.toml", "--out", str(out), cwd=ROOT)
    assert again.returncode == 0 and "setting 1/" not in again.stdout


def test_sampled_settings_are_drawn_within_bounds_and_the_same_on_every_rerun(tmp_path):
    sweep = write(
        tmp_path / "sampled.toml",
        TINY_SWEEP.split("[grid]")[0]
        + """
[sample]
count = 4
seed = 3
[sample.keys]
"evolve.sigma" = { loguniform = [0.01, 0.3] }
"evolve.popsize" = { int = [4, 12] }
"network.hidden" = { choice = [[8], [8, 4]] }
""",
    )
    spec = load_sweep(sweep)
    drawn = []
    for _ in range(2):
        study = optuna.create_study(direction="maximize")
        settings = [_next_setting(spec, study, set(range(slot)), [])[2] for slot in range(4)]
        drawn.append(settings)
    assert drawn[0] == drawn[1] and len({json.dumps(s) for s in drawn[0]}) == 4
    for setting in drawn[0]:
        assert 0.01 <= setting["evolve.sigma"] <= 0.3
        assert isinstance(setting["evolve.popsize"], int) and 4 <= setting["evolve.popsize"] <= 12
        assert setting["network.hidden"] in ([8], [8, 4])
    assert set(_distributions(spec)) == {"evolve.sigma", "evolve.popsize", "network.hidden"}


def test_the_metric_reads_the_best_the_last_or_the_mean_of_the_last_evaluations():
    points = [(100, 1.0), (200, 5.0), (300, 2.0), (400, 3.0)]
    assert metric_value(points, Metric("best")) == 5.0
    assert metric_value(points, Metric("last")) == 3.0
    assert metric_value(points, Metric("mean_last", last=2)) == 2.5
    assert math.isnan(metric_value([], Metric("best")))
    with_nan = [*points, (500, math.nan)]
    assert metric_value(with_nan, Metric("best")) == 5.0
    assert math.isnan(metric_value(with_nan, Metric("last")))


BAD = {
    "an unknown config key": ('"evolve.lrr" = [0.1]', "unknown config key 'evolve.lrr'"),
    "an empty grid": ('"evolve.lr" = []', "needs a non-empty list"),
    "a reserved key": ('"run.seed" = [1, 2]', "a sweep sets 'run.seed' itself"),
    "a value out of range": ('"evolve.popsize" = [-3]', "evolve.popsize"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_grid_is_one_line(tmp_path, case):
    grid, message = BAD[case]
    sweep = write(tmp_path / "bad.toml", TINY_SWEEP.replace('"evolve.lr" = [0.07, 0.02]', grid))
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        load_sweep(sweep)


GRID = '[grid]\n"evolve.lr" = [0.07, 0.02]'
SAMPLE = '[sample]\ncount = 2\n[sample.keys]\n"evolve.lr" = {}'


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("seeds = [0, 1]", "seeds = []", "needs seeds"),
        ("seeds = [0, 1]", "seeds = [0, 0]", "seeds repeat"),
        ("budget = 3000", "budget = 0", "budget must be"),
        ("ant-quick.toml", "missing.toml", "not found"),
        ("rungs = [900]", "rungs = [9000]", "below the budget"),
        ("rungs = [900]", "rungs = []", "needs rungs"),
        ('kind = "median"', 'kind = "hyperband"', "kind 'hyperband' is unknown"),
        (GRID, SAMPLE.format("{ uniform = [1, 0] }"), "bad bounds"),
        (GRID, SAMPLE.format("{ loguniform = [0, 1] }"), "low > 0"),
        (GRID, SAMPLE.format("{ normal = [0, 1] }"), "must be one of"),
        ("budget = 3000", "budget = 3000\nbugdet = 3", "unknown key 'bugdet'"),
        ('"evolve.lr"', '"evolve.eval_every" = [0]\n"evolve.lr"', "eval_every is 0"),
    ],
)
def test_a_bad_sweep_file_is_one_line(tmp_path, old, new, message):
    sweep = write(tmp_path / "bad.toml", TINY_SWEEP.replace(old, new))
    with pytest.raises(UserError, match=message):
        load_sweep(sweep)


def test_bad_sweeps_on_the_command_line_exit_2_with_one_line(tmp_path):
    bad = write(tmp_path / "bad.toml", TINY_SWEEP.replace("evolve.lr", "evolve.lrr"))
    for args in (
        [str(bad)],
        [str(tmp_path / "missing.toml")],
        [str(write(tmp_path / "base.toml", TINY_SWEEP.replace(str(ROOT / "envs"), "/nowhere")))],
    ):
        result = metaheb_cli("sweep", *args, "--out", str(tmp_path / "out"))
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
        assert result.stderr.startswith("metaheb: error:") and not (tmp_path / "out").exists()


def test_a_folder_holds_one_sweep(tmp_path, local_ray):
    spec = load_sweep(write(tmp_path / "tiny.toml", TINY_SWEEP.replace("[0, 1]", "[0]")))
    _claim_folder(spec, tmp_path / "mine")
    # The same sweep on fewer Ray workers is the same sweep (a seed fixes a run whatever the
    # workers); any other override makes another one.
    _claim_folder(load_sweep(spec.path, ["ray.num_workers=1"]), tmp_path / "mine")
    with pytest.raises(UserError, match="holds another sweep"):
        _claim_folder(load_sweep(spec.path, ["evolve.sigma=0.2"]), tmp_path / "mine")
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "sweep.json").write_text(json.dumps({"seeds": [7]}))
    with pytest.raises(UserError, match="holds another sweep"):
        run_sweep(spec, tmp_path / "sweep", echo=quiet)

"""The command line: help, and bad input as one line with exit code 2 and nothing left behind."""

import pytest
from conftest import metaheb_cli, train_small

from metaheb.runs import heldout_curve


def metaheb(*args, cwd=None):
    return metaheb_cli(*args, cwd=cwd, timeout=120)


def test_help_lists_train(tmp_path):
    result = metaheb("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "train" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "evolve.popsiz=8"], "did you mean 'evolve.popsize'"),
        (["train", "nope.toml"], "not found"),
        (["train", "."], "'.' is a folder: give the path of a TOML file"),
        (["train", "task.name=walker"], "choose one of"),
        (["train", "evolve.popsize=ten"], "must be a valid integer"),
        (["train", "envs.toml", "oops"], "not key=value"),
        (["fly"], "No such command"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_run_directory(tmp_path, args, message):
    (tmp_path / "envs.toml").write_text("[evolve]\npopsize = 4\n")
    result = metaheb(*args, f"run.out_dir={tmp_path / 'runs'}", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()


def test_inspect_prints_the_layout_and_size_without_running(tmp_path):
    result = metaheb("inspect", "network.rule=ABC", "network.init=coevolved", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "dw = A o_i o_j + B o_i + C o_j" in result.stdout
    assert "[0:10752]  layer 1 rule 3x128x28  (A,B,C per synapse)" in result.stdout
    assert f"total: {4 * 12_288:,} values" in result.stdout
    static = metaheb("inspect", "network.model=static", cwd=tmp_path)
    assert "total: 12,288 values" in static.stdout
    bottleneck = metaheb("inspect", "network.bottleneck=16", cwd=tmp_path)
    assert "[0:80]  all layers shared rule bank 16x5" in bottleneck.stdout
    assert f"total: {80 + 12_288:,} values" in bottleneck.stdout


def test_runs_lists_the_held_out_centre_last_and_best_with_its_unit(tmp_path, local_ray):
    run = train_small(tmp_path, "task.max_steps=20", "evolve.generations=2", "evolve.eval_every=1")
    means = [mean for _, mean, _ in heldout_curve(run).points]
    result = metaheb("runs", "--out-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.strip().splitlines()
    assert "held-out last" in header and "best member" in header
    fields = row.split()
    assert fields[:4] == ["agent", "done", "2/2", "gen"]  # no env-step budget: generations
    assert [float(v) for v in fields[4:6]] == pytest.approx([means[-1], max(means)], abs=0.006)
    assert fields[7] == "m"

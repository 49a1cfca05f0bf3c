"""Non-finite numbers: metrics stay strict JSON, and a generation with no finite member stops the
run in one line (exit code 1) instead of training on noise to the end."""

import json
import math
from pathlib import Path

import pytest
from conftest import metaheb_cli, train_small

from metaheb.runs import heldout_curve, metrics_line, read_metrics

ROOT = Path(__file__).resolve().parents[1]


def strict_loads(line: str):
    """json.loads that refuses NaN and Infinity, as RFC 8259, jq and JavaScript do."""

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(line, parse_constant=refuse)


def test_a_metrics_line_is_strict_json_with_null_for_what_is_not_a_number():
    record = {"mean": math.nan, "best": 1.5, "episodes": [math.inf, 2.0], "by": {"x": -math.inf}}
    parsed = strict_loads(metrics_line(record))
    assert parsed == {"mean": None, "best": 1.5, "episodes": [None, 2.0], "by": {"x": None}}


def test_a_runs_metrics_read_back_strictly(tmp_path, local_ray):
    run = train_small(
        tmp_path, "task.max_steps=20", "evolve.eval_every=1", "evolve.eval_episodes=2"
    )
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [strict_loads(line) for line in lines] == read_metrics(run)
    assert all(
        "nonfinite" in record and "nonfinite" in record["heldout"] for record in read_metrics(run)
    )
    assert all(math.isfinite(mean) for _, mean, _ in heldout_curve(run).points)


@pytest.mark.slow
def test_a_generation_of_only_nonfinite_members_stops_the_run_in_one_line(tmp_path):
    result = metaheb_cli(
        "train",
        str(ROOT / "envs" / "ant-quick.toml"),
        "evolve.sigma=1e308",
        "evolve.popsize=4",
        "task.max_steps=60",
        "network.hidden=[4]",
        "ray.num_workers=1",
        f"run.out_dir={tmp_path}",
        timeout=300,
    )
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "non-finite" in line and "evolve.sigma" in line
    assert "Warning" not in result.stdout
    assert read_metrics(tmp_path / "quickstart") == []  # no generation was recorded

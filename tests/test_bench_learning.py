"""scripts/bench_learning.py: its figures from held-out curves; a real CarRacing arm end to end."""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
sys.path.insert(0, str(SCRIPTS))
import bench_learning  # noqa: E402


def test_steps_to_a_level_is_the_first_point_at_or_above_it():
    curve = [[0, 1.0, 0.1], [100, 6.0, 0.2], [200, 4.0, 0.3], [300, 11.0, 0.1]]
    assert bench_learning.steps_to(curve, 5.0) == 100
    assert bench_learning.steps_to(curve, 10.0) == 300
    assert bench_learning.steps_to(curve, 12.0) is None


def test_an_arm_has_a_median_only_when_every_seed_gets_there():
    bench = bench_learning.BENCHES["carracing"]
    reach = {"curve": [[0, 0.0, 0.0], [500, 350.0, 1.0]], "env_steps": 500, "train_seconds": 1.0}
    stall = {"curve": [[0, 0.0, 0.0], [500, 50.0, 1.0]], "env_steps": 500, "train_seconds": 1.0}
    runs = [
        bench_learning.summarise(bench, "hebbian", seed, r) for seed, r in enumerate([reach, stall])
    ]
    assert runs[0]["steps_to_100"] == 500 and runs[1]["steps_to_100"] is None
    summary = bench_learning.arm_summary(bench, runs)
    assert summary["seeds_reaching_300"] == 1
    assert summary["median_steps_to_300"] is None
    assert summary["mean_final"] == pytest.approx(200.0)
    assert bench_learning.arm_summary(bench, runs[:1])["median_steps_to_300"] == 500


@pytest.mark.slow
def test_a_carracing_arm_with_action_repeat_trains_and_is_summarised(tmp_path):
    out, figures, page = tmp_path / "runs", tmp_path / "bench.json", tmp_path / "results.md"
    page.write_text("# Results\n\n## The claim\n\nthe Ant's, kept\n")
    command = [
        sys.executable, str(SCRIPTS / "bench_learning.py"), "--task", "carracing",
        "--arms", "static", "--action-repeat", "4", "--seeds", "1", "--budget", "1500",
        "--out", str(out), "--json", str(figures), "--results", str(page),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(figures.read_text())
    assert result["task"] == "carracing" and list(result["arms"]) == ["static-repeat4"]
    (run,) = result["runs"]
    assert run["env_steps"] >= 1500 and len(run["curve"]) >= 2  # the start and the last generation
    config = tomllib.loads((out / "static-repeat4-s0" / "config.toml").read_text())
    assert config["task"]["action_repeat"] == 4 and config["network"]["model"] == "static"
    assert (out / "learning.png").read_bytes()[:4] == b"\x89PNG"
    assert "static-repeat4 s0" in done.stdout
    text = page.read_text()
    assert text.startswith("# Results\n\n## The claim\n\nthe Ant's, kept\n\n## CarRacing\n")
    assert "| static | 4 |" in text and "![CarRacing" in text
    assert (tmp_path / "figures" / "carracing" / "learning.png").is_file()

"""The README's two commands: the quick start runs a real job; CI runs the README's test command."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_quick_start_names_the_two_scripts_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^bash (scripts/\S+\.sh)", readme, flags=re.MULTILINE)
    assert commands[:2] == ["scripts/quickstart.sh", "scripts/test.sh"]
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
    for script in ("install.sh", "quickstart.sh", "test.sh"):
        subprocess.run(["bash", "-n", str(ROOT / "scripts" / script)], check=True)


def test_quickstart_script_installs_and_runs_a_real_evolution(tmp_path):
    # The install step runs for real against this interpreter's environment (already satisfied,
    # so it is quick); the job is the quick-start preset, cut to two generations.
    env = {**os.environ, "METAHEB_VENV": sys.prefix}
    result = subprocess.run(
        [
            "bash",
            str(ROOT / "scripts" / "quickstart.sh"),
            f"run.out_dir={tmp_path}",
            "evolve.generations=2",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "genome of 61,440 values" in out
    assert re.search(r"gen +2/2 +best +-?\d+\.\d+ +mean +-?\d+\.\d+ +env-steps/s +[\d,]+", out)
    run = tmp_path / "quickstart"
    assert f"run directory {run}" in out
    assert (run / "metrics.jsonl").read_text().count("\n") == 2
    assert (run / "agents" / "best.safetensors").is_file()

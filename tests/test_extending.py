"""docs/extending.md, followed as written: each recipe's code goes where the guide says, in a copy
of the package, and the result trains for a generation as a user would run it."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "docs" / "extending.md").read_text()
SMALL = ["network.hidden=[4]", "evolve.popsize=4", "evolve.generations=1", "ray.num_workers=1"]


def recipe(name: str) -> str:
    """The code block after ``<!-- recipe: NAME -->`` in the guide."""
    match = re.search(rf"<!-- recipe: {name} -->\n```python\n(.*?)```", GUIDE, re.DOTALL)
    assert match, f"the guide has no recipe {name!r}"
    return match.group(1)


def insert_after(path: Path, anchor: str, code: str) -> None:
    """Put ``code`` on the lines after the one holding ``anchor`` (which must be there once)."""
    text = path.read_text()
    assert text.count(anchor) == 1, f"{anchor!r} is not once in {path}"
    end = text.index("\n", text.index(anchor)) + 1
    path.write_text(text[:end] + code + text[end:])


@pytest.fixture
def package(tmp_path):
    """A copy of metaheb/ that the recipes edit; a subprocess given its folder imports it."""
    shutil.copytree(ROOT / "metaheb", tmp_path / "pkg" / "metaheb")
    return tmp_path / "pkg" / "metaheb"


def metaheb(package: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(package.parent)}
    return subprocess.run(
        [sys.executable, "-m", "metaheb.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        cwd=package.parent,
    )


def trains(package: Path, *overrides: str) -> None:
    result = metaheb(package, "train", *SMALL, *overrides, f"run.out_dir={package.parent}/runs")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "done: best fitness" in result.stdout


@pytest.mark.slow  # a package built and installed, then a run: 26 s
def test_the_rule_recipe(package):
    rules = package / "rules.py"
    insert_after(
        rules,
        'Rule("ABCD", ("A", "B", "C", "D"), (), "A o_i o_j + B o_i + C o_j + D"),',
        recipe("rule"),
    )
    shown = metaheb(package, "inspect", "network.rule=BC_lr")
    assert shown.returncode == 0, shown.stderr
    assert "dw = eta (B o_i + C o_j)" in shown.stdout
    assert "total: 36,864 values" in shown.stdout  # 3 coefficients x 12,288 synapses
    trains(package, "network.rule=BC_lr", "task.max_steps=60")


@pytest.mark.slow
def test_the_searcher_recipe(package):
    insert_after(package / "config" / "sections.py", '"snes": Searcher(', recipe("searcher entry"))
    searchers = package / "evolve" / "searchers.py"
    text = searchers.read_text()
    end = text.index("\n\n\n", text.index("def snes(")) + 3
    searchers.write_text(text[:end] + recipe("searcher builder") + "\n\n" + text[end:])
    trains(package, "evolve.algorithm=cem", "task.max_steps=60")


@pytest.mark.slow
def test_the_task_recipe(package):
    (package / "tasks" / "pendulum.py").write_text(recipe("task file"))
    tasks = package / "tasks" / "__init__.py"
    insert_after(tasks, "from metaheb.tasks.gym_locomotion import", recipe("task import"))
    insert_after(tasks, '"gym": GymLocomotionTask,', recipe("task entry"))
    sections = package / "config" / "sections.py"
    text = sections.read_text().replace('TASK_NAME = r"^(ant|', 'TASK_NAME = r"^(pendulum|ant|', 1)
    sections.write_text(
        text.replace("}  # fmt: skip", recipe("task defaults") + "}  # fmt: skip", 1)
    )
    trains(package, "task.name=pendulum", "task.max_steps=50")

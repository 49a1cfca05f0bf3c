"""Bodies named by where their leg sits in the walking frame, read from the geometry.

The Ant walks along +x (+y is left). Najarro & Risi (2020) trained on the front-right damage
(``fourth_ankle_geom``) and held out its mirror image across the walking axis, the front left
(``left_ankle_geom``). These tests read every position from the MJCF files as MuJoCo compiles
them, never from a body's or geom's name.
"""

from pathlib import Path

import numpy as np
import pytest
from conftest import metaheb_cli, train_small

from metaheb.config import load_config
from metaheb.runs import load_agent, save_agent
from metaheb.tasks.legs import corner, leg_damage, leg_geoms, mirror
from metaheb.tasks.morphologies import RETIRED, available_morphologies, morphology_path

ROOT = Path(__file__).resolve().parents[1]
UNSEEN = "front_left_lower_x0.25"
SIMS = ["ant", "ant_bullet"]
# Every preset that trains on a damaged body: the reproduction arms and the damage preset.
DAMAGE_PRESETS = [
    *sorted((ROOT / "envs" / "reproduce").glob("*.toml")),
    ROOT / "envs" / "ant-damage.toml",
]


def damaged_bodies(task: str) -> list[str]:
    return [name for name in available_morphologies(task=task) if name != "intact"]


@pytest.mark.parametrize("task", SIMS)
def test_each_body_is_named_by_the_corner_of_the_leg_it_changes(task):
    intact = morphology_path("intact", task=task)
    corners = set()
    for name in damaged_bodies(task):
        damage = leg_damage(morphology_path(name, task=task), intact)
        assert damage.name == name
        x, y = damage.position
        assert name.startswith(("front" if x > 0 else "back") + ("_left" if y > 0 else "_right"))
        assert damage.segment == "lower" and damage.scale == 0.25
        assert damage.geom in morphology_path(name, task=task).read_text().split("-->")[0]
        corners.add(damage.corner)
    assert corners == {"front_left", "front_right", "back_left", "back_right"}


@pytest.mark.parametrize("task", SIMS)
def test_the_lower_legs_sit_at_the_four_corners_beyond_the_upper_ones(task):
    legs = leg_geoms(morphology_path("intact", task=task))
    lower = {name: xy for name, (segment, xy) in legs.items() if segment == "lower"}
    upper = {name: xy for name, (segment, xy) in legs.items() if segment == "upper"}
    assert len(lower) == len(upper) == 4
    assert sorted(corner(*xy) for xy in lower.values()) == sorted(
        corner(*xy) for xy in upper.values()
    )
    # A foot lies further out than the thigh at its corner.
    for xy in lower.values():
        (thigh,) = [u for u in upper.values() if corner(*u) == corner(*xy)]
        assert np.hypot(*xy) > np.hypot(*thigh)


@pytest.mark.parametrize("preset", DAMAGE_PRESETS, ids=lambda path: path.stem)
@pytest.mark.parametrize("task", SIMS)
def test_every_presets_seen_damage_is_the_mirror_of_the_unseen_front_left(preset, task):
    config = load_config(preset, [f"task.name={task}"])
    seen = [name for name in config.task.morphologies if name != "intact"]
    assert "intact" in config.task.morphologies and UNSEEN not in seen
    intact = morphology_path("intact", task=task)
    held_out = leg_damage(morphology_path(UNSEEN, task=task), intact)
    assert held_out.corner == "front_left" and held_out.position[0] > 0
    (trained,) = [leg_damage(morphology_path(name, task=task), intact) for name in seen]
    assert trained.position == pytest.approx(mirror(held_out.position))
    assert (trained.segment, trained.scale) == (held_out.segment, held_out.scale)


def test_a_retired_body_name_is_one_line_naming_its_new_name(tmp_path):
    result = metaheb_cli(
        "train",
        'task.morphologies=["intact", "damaged_front_right"]',
        f"run.out_dir={tmp_path / 'runs'}",
        timeout=120,
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "'damaged_front_right'" in line and "'back_left_lower_x0.25'" in line
    assert not (tmp_path / "runs").exists()
    # Each old name points to the body that shortens the same geom as its old file did.
    old_geoms = {
        "damaged_front_left": "left_ankle_geom",
        "damaged_front_right": "right_ankle_geom",
        "damaged_back": "third_ankle_geom",
        "damaged_right_back": "fourth_ankle_geom",
    }
    intact = morphology_path("intact")
    for old, new in RETIRED.items():
        assert leg_damage(morphology_path(new), intact).geom == old_geoms[old]


@pytest.mark.slow
def test_a_run_trained_under_an_old_body_name_is_one_line_everywhere(tmp_path, local_ray):
    """An agent file of a run from before the renaming: evaluate, replay and report each say
    which name the body has now, in one line, and write nothing."""
    run = train_small(tmp_path, "task.max_steps=20", 'task.morphologies=["intact"]')
    for name in ("best", "center"):
        agent = load_agent(run / "agents" / f"{name}.safetensors")
        meta = {k: v for k, v in agent.meta.items() if k not in ("format", "version")}
        meta["task"] = {**meta["task"], "morphologies": ["intact", "damaged_right_back"]}
        save_agent(run / "agents" / f"{name}.safetensors", agent.genome, meta)
    for command in (
        ["evaluate", str(run), "--episodes", "1"],
        ["replay", str(run)],
        ["report", str(run), "--out", str(tmp_path / "report"), "--agent", "center"],
    ):
        result = metaheb_cli(*command, timeout=120)
        assert result.returncode == 2, (command, result.stderr)
        (line,) = result.stderr.strip().splitlines()
        assert "'damaged_right_back' is now named 'front_right_lower_x0.25'" in line, line
    assert not (tmp_path / "report").exists()

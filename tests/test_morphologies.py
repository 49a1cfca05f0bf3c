"""Ant morphologies: generated from gymnasium's ant.xml, damaged only where named, trainable."""

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from metaheb.config import TaskConfig, load_config
from metaheb.errors import UserError
from metaheb.evolve.trainer import train
from metaheb.networks import PolicyNetwork
from metaheb.rollout import evaluate_batch, rollout_batch
from metaheb.runs import read_metrics
from metaheb.tasks import make_task
from metaheb.tasks.morphologies import available_morphologies, morphology_path

ROOT = Path(__file__).resolve().parents[1]
# The geom each body shortens, by where it sits in gymnasium's ant.xml (the MJCF's body names
# differ: right_ankle_geom hangs from the body called front_right_leg, at -x).
DAMAGED = {
    "front_left_lower_x0.25": "left_ankle_geom",  # fromto 0.4 0.4: +x, +y
    "front_right_lower_x0.25": "fourth_ankle_geom",  # 0.4 -0.4: +x, -y
    "back_left_lower_x0.25": "right_ankle_geom",  # -0.4 0.4: -x, +y
    "back_right_lower_x0.25": "third_ankle_geom",  # -0.4 -0.4: -x, -y
}


def elements(path):
    return list(ET.parse(path).getroot().iter())


def capsule_length(element):
    values = [float(v) for v in element.get("fromto").split()]
    return float(np.linalg.norm(np.subtract(values[3:], values[:3])))


def test_the_files_are_what_the_script_makes_from_gymnasiums_ant(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_morphologies.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in ["intact", *DAMAGED]:
        assert (tmp_path / f"{name}.xml").read_text() == morphology_path(name).read_text()
    assert set(available_morphologies()) >= {"intact", *DAMAGED}


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_damage_shortens_one_lower_leg_to_a_quarter_and_nothing_else(name):
    intact, damaged = elements(morphology_path("intact")), elements(morphology_path(name))
    assert [e.tag for e in intact] == [e.tag for e in damaged]
    changed = [(a, b) for a, b in zip(intact, damaged) if a.attrib != b.attrib]
    assert len(changed) == 1
    before, after = changed[0]
    assert before.get("name") == DAMAGED[name]
    assert set(before.attrib) == set(after.attrib)
    assert {k for k in before.attrib if before.get(k) != after.get(k)} == {"fromto"}
    assert capsule_length(after) == pytest.approx(capsule_length(before) / 4)
    # MuJoCo compiles it: the geom is a shorter capsule, and only that geom changed size.
    models = [
        gym.make("Ant-v5", xml_file=str(morphology_path(m))).unwrapped.model
        for m in ("intact", name)
    ]
    sizes = [model.geom_size.copy() for model in models]
    changed_geoms = np.flatnonzero(np.any(sizes[0] != sizes[1], axis=1))
    assert [models[0].geom(int(i)).name for i in changed_geoms] == [DAMAGED[name]]


def test_unknown_morphology_is_a_clear_error(tmp_path):
    with pytest.raises(
        UserError, match=r"unknown morphology 'three_legs' in .*; known: back_left_lower_x0.25"
    ):
        make_task(TaskConfig(morphologies=["intact", "three_legs"]))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "metaheb.cli",
            "train",
            'task.morphologies=["nope"]',
            f"run.out_dir={tmp_path / 'runs'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_fitness_over_several_morphologies_is_their_mean():
    config = TaskConfig(max_steps=60, burn_in=5, morphologies=["intact", "front_right_lower_x0.25"])
    task = make_task(config)
    network = PolicyNetwork((28, 8, 8))
    genomes = torch.randn(3, network.genome_layout.size, generator=torch.Generator().manual_seed(2))
    result = evaluate_batch(task, network, genomes, [4, 5, 6])
    alone = [
        rollout_batch(task, network, genomes, [4, 5, 6], m).fitness for m in config.morphologies
    ]
    assert np.array_equal(result.by_morphology, np.stack(alone, axis=1))
    assert np.array_equal(result.fitness, (alone[0] + alone[1]) / 2)
    assert not np.array_equal(alone[0], alone[1])  # the damaged leg changes the episode


def test_training_records_fitness_per_morphology(tmp_path, local_ray):
    config = load_config(
        None,
        [
            f"run.out_dir={tmp_path}",
            "task.max_steps=40",
            "task.burn_in=5",
            "network.hidden=[4]",
            "evolve.popsize=4",
            "evolve.generations=2",
            'task.morphologies=["intact", "front_right_lower_x0.25"]',
        ],
    )
    metrics = read_metrics(train(config, echo=lambda line: None))
    for record in metrics:
        per = record["morphologies"]
        assert set(per) == {"intact", "front_right_lower_x0.25"}
        assert record["mean"] == pytest.approx((per["intact"] + per["front_right_lower_x0.25"]) / 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<mujoco><worldbody><body></mujoco>", "is not a valid MJCF file"),
        ("<mujoco><worldbody/></mujoco>", "is not an Ant: it has 0 motors"),
    ],
)
def test_a_malformed_morphology_file_is_one_line_and_exit_2(tmp_path, text, message):
    (tmp_path / "broken.xml").write_text(text)
    with pytest.raises(UserError, match=message):
        make_task(TaskConfig(morphologies=["broken"], morphology_dir=str(tmp_path)))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "metaheb.cli",
            "train",
            'task.morphologies=["broken"]',
            f"task.morphology_dir={tmp_path}",
            f"run.out_dir={tmp_path / 'runs'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert message.split(":")[0] in line
    assert not (tmp_path / "runs").exists()


def test_a_users_own_morphology_folder(tmp_path):
    (tmp_path / "mine.xml").write_text(morphology_path("back_right_lower_x0.25").read_text())
    task = make_task(TaskConfig(morphologies=["mine"], morphology_dir=str(tmp_path)))
    assert task.model_files["mine"] == tmp_path / "mine.xml"


def test_fitness_can_be_the_minimum_over_the_bodies():
    """task.morphology_fitness = "min": a genome scores what it walks on its worst body."""
    config = TaskConfig(
        max_steps=60,
        burn_in=5,
        morphologies=["intact", "front_right_lower_x0.25"],
        morphology_fitness="min",
    )
    task = make_task(config)
    network = PolicyNetwork((28, 8, 8))
    genomes = torch.randn(3, network.genome_layout.size, generator=torch.Generator().manual_seed(2))
    result = evaluate_batch(task, network, genomes, [4, 5, 6])
    assert np.array_equal(result.fitness, result.by_morphology.min(axis=1))
    assert not np.array_equal(result.fitness, result.by_morphology.mean(axis=1))

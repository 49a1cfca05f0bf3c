"""Body families: leg segments scaled from the intact MJCF, named by where the leg sits."""

import json

import mujoco
import numpy as np
import pytest

from metaheb.errors import UserError
from metaheb.families import FamilyBody, LegChange, body_xml, load_family, write_family
from metaheb.tasks.legs import _fromtos, leg_damage, leg_geoms
from metaheb.tasks.morphologies import morphology_path
from tests.conftest import metaheb_cli, train_small


def test_the_builtin_families_hold_their_bodies():
    assert len(load_family("leg-length").bodies) == 20
    assert len(load_family("many-bodies").bodies) == 32
    pairs = load_family("leg-pairs")
    assert len(pairs.bodies) == 16
    assert pairs.names[0] == "front_left_lower_x0.5+front_right_lower_x0.5"


@pytest.mark.parametrize("task", ["ant", "ant_bullet"])
def test_each_body_is_named_by_the_leg_its_geometry_changes(tmp_path, task):
    folder = write_family(load_family("leg-length"), task, tmp_path)
    intact = folder / "intact.xml"
    for path in sorted(folder.glob("*_lower_*.xml")):
        damage = leg_damage(path, intact)  # read from the geometry, not the name
        assert path.stem == damage.name
        assert mujoco.MjModel.from_xml_path(str(path)).nu == 8


def test_the_reproductions_damaged_bodies_are_members_of_leg_length(tmp_path):
    folder = write_family(load_family("leg-length"), "ant", tmp_path)
    for name in ("front_left_lower_x0.25", "front_right_lower_x0.25", "back_left_lower_x0.25"):
        assert _fromtos(folder / f"{name}.xml") == _fromtos(morphology_path(name))


def test_a_scaled_upper_segment_moves_the_knee_and_keeps_the_foot_attached(tmp_path):
    intact = morphology_path("intact")
    path = tmp_path / "b.xml"
    path.write_text(body_xml(intact, FamilyBody((LegChange("front_left", "upper", 1.5),))))
    lengths = {}
    for mjcf in (intact, path):
        model = mujoco.MjModel.from_xml_path(str(mjcf))
        data = mujoco.MjData(model)
        mujoco.mj_forward(model, data)
        upper, lower = (model.geom(name) for name in ("left_leg_geom", "left_ankle_geom"))
        half = model.geom_size[upper.id][1]  # a capsule's half length
        axis = data.geom_xmat[upper.id].reshape(3, 3)[:, 2]
        knee = data.geom_xpos[upper.id] + half * axis
        foot_start = data.xpos[model.geom_bodyid[lower.id]]
        assert np.allclose(knee, foot_start, atol=1e-9) or np.allclose(
            data.geom_xpos[upper.id] - half * axis, foot_start, atol=1e-9
        )
        lengths[mjcf.name] = 2 * half
    assert lengths["b.xml"] == pytest.approx(1.5 * lengths["intact.xml"])
    segments = {name: seg for name, (seg, _) in leg_geoms(path).items()}
    assert segments["left_leg_geom"] == "upper" and segments["left_ankle_geom"] == "lower"


def test_a_family_is_written_once_and_kept(tmp_path):
    family = load_family("leg-pairs")
    folder = write_family(family, "ant", tmp_path)
    stamps = {p: p.stat().st_mtime_ns for p in folder.glob("*.xml")}
    assert len(stamps) == 17
    write_family(family, "ant", tmp_path)
    assert stamps == {p: p.stat().st_mtime_ns for p in folder.glob("*.xml")}
    changed = _fromtos(folder / "front_left_lower_x0.5+front_right_lower_x0.5.xml")
    original = _fromtos(folder / "intact.xml")
    assert {n for n in original if original[n] != changed[n]} == {
        "left_ankle_geom",
        "fourth_ankle_geom",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[group]]\nlegs = ["front_middle"]\nscales = [0.5]', "distinct names among"),
        ('[[group]]\nlegs = ["front_left"]\nscales = []', "non-empty list"),
        ('[[group]]\nlegs = ["front_left"]\nscales = [9]', "non-empty list of numbers"),
        ('[[group]]\nlegs = ["front_left"]\nsegment = "middle"\nscales = [0.5]', "segment"),
        ('[[group]]\nlegs = ["front_left"]\nscales = [0.5]\ncolour = 1', "legs, segment"),
        ("name = 3", r"needs \[\[group\]\]"),
        ('[[group]]\nlegs = ["front_left", "front_left"]\nscales = [0.5]', "twice"),
    ],
)
def test_a_bad_family_file_is_one_line(tmp_path, text, message):
    path = tmp_path / "mine.toml"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        load_family(str(path))


@pytest.mark.slow  # 12 s; the family report evaluates every body in the default suite
def test_evaluate_lists_every_body_of_a_family(tmp_path, local_ray):
    run = train_small(tmp_path, "task.max_steps=30")
    result = metaheb_cli("evaluate", str(run), "--family", "leg-length", "--episodes", "1")
    assert result.returncode == 0, result.stderr
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == ["intact", *load_family("leg-length").names]
    assert (run / "bodies" / "ant" / "leg-length" / "back_right_lower_x1.5.xml").is_file()
    bad = metaheb_cli("evaluate", str(run), "--family", "no-such-family")
    assert bad.returncode == 2 and "unknown body family 'no-such-family'" in bad.stderr


FAMILY = """
[[group]]
legs = ["front_left", "back_right"]
segment = "lower"
scales = [0.5, 1.5]

[[group]]
legs = [["front_left", "front_right"]]
segment = "upper"
scales = [0.75]
"""


def test_a_family_report_draws_profiles_and_sums_each_arm_into_an_area(tmp_path, local_ray):
    from metaheb.report import make_report

    task = ["task.max_steps=40", "evolve.init_std=0.05"]
    runs = [
        train_small(tmp_path / "h1", *task, "run.seed=1"),
        train_small(tmp_path / "h2", *task, "run.seed=2"),
        train_small(tmp_path / "s", *task, "network.model=static"),
    ]
    family = tmp_path / "mine.toml"
    family.write_text(FAMILY)
    out = tmp_path / "report"
    make_report([str(r) for r in runs], out, episodes=3, levels=[0.0], family=str(family))
    report = json.loads((out / "report.json").read_text())
    profile = report["family"]
    assert [(p["legs"], p["segment"], p["scales"]) for p in profile["panels"]] == [
        ("front_left", "lower", [0.5, 1.0, 1.5]),
        ("back_right", "lower", [0.5, 1.0, 1.5]),
        ("front_left+front_right", "upper", [0.75, 1.0]),
    ]
    assert set(report["morphologies"]) >= {"intact", "front_right_lower_x0.25"}  # installed too
    # The Hebbian arm's area from the report's own episodes: per (run, episode), the trapezoid
    # over each panel divided by its span, averaged over panels, then over units.
    cells = {
        (a["run"], c["morphology"]): c["fitness"]
        for a in report["agents"]
        for c in a["cells"]
        if a["arm"] == "hebbian ABCD_lr"
    }
    units = []
    for run in (str(runs[0]), str(runs[1])):
        for episode in range(3):
            per_panel = []
            for panel in profile["panels"]:
                y = [cells[(run, body)][episode] for body in panel["bodies"]]
                x = panel["scales"]
                per_panel.append(np.trapezoid(y, x) / (x[-1] - x[0]))
            units.append(np.mean(per_panel))
    hebbian, static = profile["arms"]
    assert hebbian["area"] == pytest.approx(np.mean(units))
    assert hebbian["interval"][0] <= hebbian["area"] <= hebbian["interval"][1]
    (difference,) = profile["differences"]
    assert difference["difference"] == pytest.approx(hebbian["area"] - static["area"])
    assert (out / "figures" / "profile.png").is_file()
    assert "## Robustness profiles: family mine" in (out / "report.md").read_text()
    assert out / "bodies" / "ant" / "mine" / "front_left_upper_x0.75+front_right_upper_x0.75.xml"

    page = tmp_path / "docs" / "results.md"
    page.parent.mkdir()
    page.write_text("# Results\n\n## The claim\n\nkept as it is\n")
    written = metaheb_cli("results", str(out), "--out", str(page), "--section", "family")
    assert written.returncode == 0, written.stderr
    text = page.read_text()
    assert "## The claim\n\nkept as it is" in text
    assert "## Robustness over a body family" in text and "hebbian ABCD_lr - static" in text
    assert (page.parent / "figures" / "family" / "mine.png").is_file()

    with pytest.raises(UserError, match="include 0 in --ablation"):
        make_report([str(runs[0])], tmp_path / "r2", levels=[0.5], family=str(family))

"""Body families: many Ant bodies generated from a simulator's intact MJCF, each a point on a curve.

A family scales leg segments: a leg is named by its corner in the walking frame (front/back,
left/right: ``metaheb.tasks.legs``, read from the geometry), its segment is ``lower`` (the foot's
capsule) or ``upper`` (the capsule from hip to knee), and a scale multiplies the segment's
length (0.25 shortens it to a quarter, 1.5 lengthens it by half). Scaling the upper segment moves
the knee, so the lower segment's body moves with it and the foot stays attached. A body changes
one leg or a group of legs at one scale and is named by its changes, e.g.
``front_left_lower_x0.5`` or ``front_left_lower_x0.5+front_right_lower_x0.5``: the damaged bodies
of ``envs/ant`` are members of the built-in ``leg-length`` family.

A family file (``envs/families/NAME.toml``, or a path) lists groups::

    [[group]]
    legs = ["front_left", "back_right"]          # each leg alone; a list in the list: together
    segment = "lower"                            # or "upper"
    scales = [0.25, 0.5, 0.75, 1.25, 1.5]

Bodies are written when asked, into a folder the caller keeps (a run's or a report's), and a
body already written with the same text is not written again.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from metaheb.config import read_toml
from metaheb.errors import UserError
from metaheb.runs import atomic_write_bytes
from metaheb.tasks.legs import SEGMENTS, corner, leg_geoms
from metaheb.tasks.morphologies import morphology_path

CORNERS = ("front_left", "front_right", "back_left", "back_right")
SCALES = (0.05, 5.0)  # a segment scaled outside these is no longer a leg of this Ant


@dataclass(frozen=True)
class LegChange:
    corner: str
    segment: str
    scale: float

    @property
    def name(self) -> str:
        return f"{self.corner}_{self.segment}_x{self.scale:g}"


@dataclass(frozen=True)
class FamilyBody:
    """One body of a family: the leg segments it scales (none: the intact body)."""

    changes: tuple[LegChange, ...]

    @property
    def name(self) -> str:
        return "+".join(change.name for change in self.changes) or "intact"

    @property
    def legs(self) -> str:
        """The legs changed, as a profile's panel title: ``front_left`` or ``front_left+...``."""
        return "+".join(change.corner for change in self.changes)

    @property
    def segment(self) -> str:
        return self.changes[0].segment if self.changes else ""

    @property
    def scale(self) -> float:
        return self.changes[0].scale if self.changes else 1.0


@dataclass(frozen=True)
class Family:
    name: str
    bodies: tuple[FamilyBody, ...]

    @property
    def names(self) -> list[str]:
        return [body.name for body in self.bodies]


def family_path(name: str) -> Path:
    """A family file: a path to a TOML file, or the name of one in ``envs/families``."""
    path = Path(name)
    if path.suffix == ".toml" or path.is_file():
        if not path.is_file():
            raise UserError(f"family file {name!r} not found: give a TOML file or a built-in name")
        return path
    builtin = Path(str(files("metaheb_envs"))) / "families" / f"{name}.toml"
    if not builtin.is_file():
        known = ", ".join(builtin_families())
        raise UserError(f"unknown body family {name!r}; built in: {known}, or a family file")
    return builtin


def builtin_families() -> list[str]:
    folder = Path(str(files("metaheb_envs"))) / "families"
    return sorted(path.stem for path in folder.glob("*.toml"))


def load_family(name: str) -> Family:
    """Read and check a family file; a mistake in it is one ``UserError`` line."""
    path = family_path(name)
    data = read_toml(path, "family file")
    unknown = set(data) - {"group"}
    if unknown or not isinstance(data.get("group"), list) or not data["group"]:
        raise UserError(
            f"family file {str(path)!r} needs [[group]] tables (legs, segment, scales) and "
            "nothing else: see envs/families/leg-length.toml"
        )
    bodies = [body for group in data["group"] for body in _group_bodies(group, path)]
    names = [body.name for body in bodies]
    if len(set(names)) != len(names):
        raise UserError(f"family file {str(path)!r} names a body twice; give each once")
    return Family(path.stem, tuple(bodies))


def _group_bodies(group: Any, path: Path) -> list[FamilyBody]:
    where = f"family file {str(path)!r}"
    if not isinstance(group, dict) or set(group) - {"legs", "segment", "scales"}:
        raise UserError(f"{where}: a [[group]] has legs, segment and scales only")
    segment = group.get("segment", "lower")
    if segment not in SEGMENTS:
        raise UserError(f"{where}: segment {segment!r} is not one of {', '.join(SEGMENTS)}")
    scales = group.get("scales")
    if (
        not isinstance(scales, list)
        or not scales
        or not all(
            isinstance(s, int | float) and not isinstance(s, bool) and SCALES[0] <= s <= SCALES[1]
            for s in scales
        )
    ):
        raise UserError(
            f"{where}: scales must be a non-empty list of numbers in {SCALES[0]}..{SCALES[1]}"
        )
    return [
        FamilyBody(tuple(LegChange(leg, segment, float(scale)) for leg in legs))
        for legs in _leg_sets(group.get("legs"), where)
        for scale in scales
        if scale != 1
    ]


def _leg_sets(legs: Any, where: str) -> list[tuple[str, ...]]:
    if not isinstance(legs, list) or not legs:
        raise UserError(f"{where}: legs must list legs ({', '.join(CORNERS)}) or lists of them")
    sets = [tuple(leg) if isinstance(leg, list) else (leg,) for leg in legs]
    for legs_together in sets:
        bad = [leg for leg in legs_together if leg not in CORNERS]
        if bad or not legs_together or len(set(legs_together)) != len(legs_together):
            raise UserError(
                f"{where}: legs {list(legs_together)} must be distinct names among "
                f"{', '.join(CORNERS)}"
            )
    return sets


def body_xml(intact: Path, body: FamilyBody) -> str:
    """The intact MJCF with each of the body's leg segments scaled, a comment saying which."""
    geoms = {(corner(*xy), segment): name for name, (segment, xy) in leg_geoms(intact).items()}
    tree = ET.parse(intact)
    parents = {child: parent for parent in tree.iter() for child in parent}
    for change in body.changes:
        geom_name = geoms[(change.corner, change.segment)]
        geom = tree.getroot().find(f".//geom[@name='{geom_name}']")
        _scale_capsule(geom, parents[geom], change.scale)
    tree.getroot().insert(0, ET.Comment(f" {body.name}: generated by metaheb.tasks.families "))
    ET.indent(tree)
    return ET.tostring(tree.getroot(), encoding="unicode")


def _scale_capsule(geom: ET.Element, body: ET.Element, scale: float) -> None:
    """Scale a capsule from its near end; a child body at its far end moves to the new end."""
    values = [float(v) for v in geom.get("fromto").split()]
    start, end = values[:3], values[3:]
    new_end = [s + scale * (e - s) for s, e in zip(start, end)]
    geom.set("fromto", " ".join(f"{v:g}" for v in (*start, *new_end)))
    for child in body.findall("body"):
        pos = [float(v) for v in child.get("pos", "0 0 0").split()]
        if all(abs(p - e) < 1e-9 for p, e in zip(pos, end)):
            child.set("pos", " ".join(f"{v:g}" for v in new_end))


def write_family(family: Family, task: str, folder: Path, installed: bool = False) -> Path:
    """Write the family's bodies and the intact one into ``folder/<task>/<family>``; return it.

    ``installed``: the task's installed bodies too (a report's runs name them as seen bodies).
    A body already there with the same text is left as it is (a cache a run or report keeps).
    """
    out = folder / task / family.name
    intact = morphology_path("intact", "", task)
    texts = {"intact": intact.read_text()}
    if installed:
        texts.update({p.stem: p.read_text() for p in intact.parent.glob("*.xml")})
    texts.update({body.name: body_xml(intact, body) for body in family.bodies})
    for name, text in texts.items():
        path = out / f"{name}.xml"
        if not path.is_file() or path.read_text() != text:
            atomic_write_bytes(path, text.encode())
    return out


FAMILY_TASKS = ("ant", "ant_bullet")  # the tasks whose bodies are MJCF Ants


def family_overrides(name: str, task: str, folder: Path) -> list[str]:
    """The ``task.*`` overrides that test an agent on every body of a family (the intact one
    first), its bodies written under ``folder`` if they are not there yet."""
    if task not in FAMILY_TASKS:
        raise UserError(
            f"body families change the Ant's legs; this agent's task is {task}: use an Ant agent"
        )
    family = load_family(name)
    out = write_family(family, task, folder)
    bodies = ", ".join(f'"{body}"' for body in ["intact", *family.names])
    return [f'task.morphology_dir="{out}"', f"task.morphologies=[{bodies}]"]

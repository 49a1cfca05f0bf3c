"""Where each Ant leg sits in the walking frame, read from the MJCF's geometry, never its names.

The Ant's fitness is its distance along +x, so it walks along +x: in its walking frame +x is
forward and +y is left. The MJCF's body names mislead: the body gymnasium and pybullet call
``front_right_leg`` holds ``right_ankle_geom``, which sits at (-x, +y), a back leg when walking,
and ``right_back_leg`` holds the front-right foot. Najarro & Risi (2020) trained on the body that
shortens ``fourth_ankle_geom``, at (+x, -y): the front right, and held out its mirror image across
the walking axis, ``left_ankle_geom`` at (+x, +y): the front left.

A damaged body is named by what this module reads from its file: the corner of the changed leg,
its segment (``lower``: the foot's capsule; ``upper``: the capsule above it) and the scale of its
length, as ``front_right_lower_x0.25``. MuJoCo compiles the file (``mj_forward`` at the rest pose)
to place each geom; pybullet's ant.xml compiles alike.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

SEGMENTS = ("lower", "upper")  # by height above the leaf of the leg's body chain


@dataclass(frozen=True)
class LegDamage:
    """One changed capsule of a body against the intact one, placed in the walking frame."""

    geom: str  # the MJCF geom's name, e.g. fourth_ankle_geom
    corner: str  # front_left, front_right, back_left or back_right
    segment: str  # lower (the foot) or upper
    scale: float  # its length over the intact length
    position: tuple[float, float]  # (x, y) of the intact capsule's centre at rest

    @property
    def name(self) -> str:
        """The body's readable name, e.g. ``front_right_lower_x0.25``."""
        return f"{self.corner}_{self.segment}_x{self.scale:g}"


def corner(x: float, y: float) -> str:
    """The corner of a point in the walking frame: +x is front, +y is left."""
    if x == 0 or y == 0:
        raise ValueError(f"({x:g}, {y:g}) sits on an axis of the walking frame: no corner")
    return f"{'front' if x > 0 else 'back'}_{'left' if y > 0 else 'right'}"


def leg_geoms(mjcf: Path) -> dict[str, tuple[str, tuple[float, float]]]:
    """Every capsule of the legs: name -> (segment, (x, y) of its centre at the rest pose)."""
    model = mujoco.MjModel.from_xml_path(str(mjcf))
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    parents = [int(p) for p in model.body_parentid]
    leaves = {b for b in range(1, model.nbody) if b not in parents[1:]}
    legs = {}
    for g in range(model.ngeom):
        body, name = int(model.geom_bodyid[g]), model.geom(g).name
        if model.geom_type[g] != mujoco.mjtGeom.mjGEOM_CAPSULE or not name:
            continue
        children = {b for b in range(1, model.nbody) if parents[b] == body}
        height = 0 if body in leaves else 1 if children and children <= leaves else 2
        if height < len(SEGMENTS):
            x, y = data.geom_xpos[g][:2]
            legs[name] = (SEGMENTS[height], (float(x), float(y)))
    return legs


def leg_damage(body: Path, intact: Path) -> LegDamage:
    """The one leg capsule ``body`` changes against ``intact``, its corner and length scale."""
    changed = _changed_capsules(intact, body)
    if len(changed) != 1:
        raise ValueError(f"{body} changes {len(changed)} capsules of {intact}, not one")
    geom, (before, after) = next(iter(changed.items()))
    legs = leg_geoms(intact)
    if geom not in legs:
        raise ValueError(f"{body} changes {geom}, which is not a leg's capsule")
    segment, (x, y) = legs[geom]
    scale = round(_length(after) / _length(before), 4)
    return LegDamage(geom, corner(x, y), segment, scale, (x, y))


def _changed_capsules(intact: Path, body: Path) -> dict[str, tuple[list[float], list[float]]]:
    """name -> (intact fromto, body fromto) of every named geom whose fromto differs."""
    before, after = (_fromtos(path) for path in (intact, body))
    return {name: (before[name], after[name]) for name in before if before[name] != after.get(name)}


def _fromtos(path: Path) -> dict[str, list[float]]:
    root = ET.parse(path).getroot()
    return {
        geom.get("name"): [float(v) for v in geom.get("fromto").split()]
        for geom in root.iter("geom")
        if geom.get("name") and geom.get("fromto")
    }


def _length(fromto: list[float]) -> float:
    return float(np.linalg.norm(np.subtract(fromto[3:], fromto[:3])))


def mirror(position: tuple[float, float]) -> tuple[float, float]:
    """A point's mirror image across the walking axis (x): y changes sign."""
    return position[0], -position[1]

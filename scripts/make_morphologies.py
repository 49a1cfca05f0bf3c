"""Write the Ant morphologies from the simulator's own ant.xml, so they stay in step:
envs/ant/ from gymnasium's (MuJoCo), envs/ant_bullet/ from pybullet's (``--sim bullet``).

intact.xml is the simulator's file as it is, byte for byte. Each damaged body shortens one lower
leg (the "ankle" capsule) to a quarter of its length, as Najarro & Risi (2020) did:
``left_ankle_geom`` fromto 0 0 0 0.4 0.4 0 -> 0 0 0 0.1 0.1 0. Nothing else changes (tested).
A body is named by where its leg sits when the Ant walks along +x, read from the geometry
(metaheb.tasks.legs), e.g. ``front_right_lower_x0.25``; a comment at the top of each file says
which geom it changes and where that leg is.

    python scripts/make_morphologies.py [--sim mujoco|bullet] [--out envs/ant]
"""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET
from pathlib import Path

import gymnasium

from metaheb.tasks.legs import LegDamage, corner, leg_geoms

LENGTH_FACTOR = 0.25


def gymnasium_ant_xml() -> Path:
    return Path(gymnasium.__file__).parent / "envs" / "mujoco" / "assets" / "ant.xml"


def pybullet_ant_xml() -> Path:
    import pybullet_data  # pip install -e .[bullet]

    return Path(pybullet_data.getDataPath()) / "mjcf" / "ant.xml"


SOURCES = {"mujoco": (gymnasium_ant_xml, "ant"), "bullet": (pybullet_ant_xml, "ant_bullet")}


def shorten(tree: ET.ElementTree, geom_name: str, factor: float) -> None:
    """Scale the far end of a capsule's fromto towards its near end."""
    geom = tree.getroot().find(f".//geom[@name='{geom_name}']")
    if geom is None:
        raise ValueError(f"no geom {geom_name!r} in the Ant model")
    start_end = [float(v) for v in geom.get("fromto").split()]
    start, end = start_end[:3], start_end[3:]
    end = [s + factor * (e - s) for s, e in zip(start, end)]
    geom.set("fromto", " ".join(f"{v:g}" for v in (*start, *end)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", choices=sorted(SOURCES), default="mujoco")
    parser.add_argument("--out", help="default: envs/ant (mujoco) or envs/ant_bullet (bullet)")
    args = parser.parse_args()
    source_file, folder = SOURCES[args.sim]
    out = Path(args.out or Path(__file__).resolve().parents[1] / "envs" / folder)
    out.mkdir(parents=True, exist_ok=True)
    source = source_file().read_text()
    (out / "intact.xml").write_text(source)
    for geom, (segment, position) in sorted(leg_geoms(out / "intact.xml").items()):
        if segment != "lower":
            continue
        damage = LegDamage(geom, corner(*position), segment, LENGTH_FACTOR, position)
        tree = ET.ElementTree(ET.fromstring(source))
        shorten(tree, geom, LENGTH_FACTOR)
        tree.getroot().insert(0, ET.Comment(f" {describe(damage)} "))
        ET.indent(tree)
        tree.write(out / f"{damage.name}.xml", encoding="unicode")
        print(f"{damage.name}: {describe(damage)}")


def describe(damage: LegDamage) -> str:
    """The comment a damaged body's file starts with: what changed, and where that leg is."""
    x, y = damage.position
    return (
        f"{damage.name}: {damage.geom} (the {damage.segment} segment of the leg at x {x:+g}, "
        f"y {y:+g}: {damage.corner.replace('_', ' ')} when the Ant walks along +x) shortened to "
        f"{damage.scale:g} of its length"
    )


if __name__ == "__main__":
    main()

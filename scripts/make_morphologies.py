"""Write the Ant morphologies from the simulator's own ant.xml, so they stay in step:
envs/ant/ from gymnasium's (MuJoCo), envs/ant_bullet/ from pybullet's (``--sim bullet``).

intact.xml is the simulator's file as it is, byte for byte. Each damaged_*.xml shortens one lower
leg (the "ankle" capsule) to a quarter of its length, as Najarro & Risi (2020) did:
``left_ankle_geom`` fromto 0 0 0 0.4 0.4 0 -> 0 0 0 0.1 0.1 0. Nothing else changes (tested).
Both files name the four lower legs alike.

    python scripts/make_morphologies.py [--sim mujoco|bullet] [--out envs/ant]
"""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET
from pathlib import Path

import gymnasium

# morphology name -> the lower-leg geom it shortens (names from gymnasium's ant.xml bodies)
DAMAGED_LEGS = {
    "damaged_front_left": "left_ankle_geom",  # body front_left_leg
    "damaged_front_right": "right_ankle_geom",  # body front_right_leg
    "damaged_back": "third_ankle_geom",  # body back_leg
    "damaged_right_back": "fourth_ankle_geom",  # body right_back_leg
}
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
    for name, geom in DAMAGED_LEGS.items():
        tree = ET.ElementTree(ET.fromstring(source))
        shorten(tree, geom, LENGTH_FACTOR)
        ET.indent(tree)
        tree.write(out / f"{name}.xml", encoding="unicode")
        print(f"{name}: {geom} shortened to {LENGTH_FACTOR:g} of its length")


if __name__ == "__main__":
    main()

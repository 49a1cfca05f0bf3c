"""Draw the Ant seen from above, rendered by MuJoCo from its MJCF, with the walking direction and
each leg's name in the walking frame (+x forward, +y left): docs/figures/ant-legs.png.

The labels come from the geometry (metaheb.tasks.legs), the picture from an orthographic camera
straight above the torso (checked: a foot painted red shows where its label points).

    MUJOCO_GL=egl python scripts/draw_ant_legs.py [--out docs/figures/ant-legs.png]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import matplotlib

matplotlib.use("Agg")
import io

import matplotlib.pyplot as plt
import mujoco
import numpy as np

from metaheb.runs import atomic_write_bytes
from metaheb.tasks.legs import leg_damage, leg_geoms
from metaheb.tasks.morphologies import available_morphologies, morphology_path

VIEW = 3.4  # metres of the ground the picture spans, on each side
PIXELS = 480  # the default offscreen framebuffer
ROLES = {"front_left": "unseen (held out)", "front_right": "seen damage (trained)"}


def top_view(model: mujoco.MjModel) -> np.ndarray:
    """An orthographic image straight down on the torso: +x to the right, +y up."""
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    model.vis.global_.orthographic = 1
    model.vis.global_.fovy = VIEW  # an orthographic camera's fovy is its height in metres
    camera = mujoco.MjvCamera()
    camera.lookat[:] = (0.0, 0.0, data.qpos[2])
    camera.distance, camera.azimuth, camera.elevation = 5.0, 90.0, -90.0
    with mujoco.Renderer(model, PIXELS, PIXELS) as renderer:
        renderer.update_scene(data, camera)
        return renderer.render()


def bodies_by_geom() -> dict[str, str]:
    """The damaged body of each lower-leg geom, from the files in envs/ant."""
    intact = morphology_path("intact")
    return {
        leg_damage(morphology_path(name), intact).geom: name
        for name in available_morphologies()
        if name != "intact"
    }


def draw(out: Path) -> None:
    intact = morphology_path("intact")
    image = top_view(mujoco.MjModel.from_xml_path(str(intact)))
    fig, ax = plt.subplots(figsize=(6.4, 6.4), dpi=100)
    half = VIEW / 2
    ax.imshow(image, extent=(-half, half, -half, half))
    names = bodies_by_geom()
    for geom, (segment, (x, y)) in leg_geoms(intact).items():
        if segment != "lower":
            continue
        corner = names[geom].rsplit("_lower", 1)[0]
        role = ROLES.get(corner, "unseen")
        text = f"{corner.replace('_', ' ')}\n{names[geom]}\n({geom})\n{role}"
        ax.annotate(
            text, (x, y), xytext=(x * 2.1, y * 2.1), ha="center", va="center", fontsize=8,
            bbox={"boxstyle": "round", "fc": "white", "alpha": 0.85},
            arrowprops={"arrowstyle": "-", "color": "0.3"},
        )  # fmt: skip
    ax.annotate(
        "walks along +x", xy=(half * 0.95, 0.2), xytext=(half * 0.3, 0.2), va="bottom",
        fontsize=9, bbox={"boxstyle": "round", "fc": "white", "alpha": 0.85},
        arrowprops={"arrowstyle": "-|>", "color": "crimson", "lw": 2},
    )  # fmt: skip
    ax.set_xlabel("x (m): forward")
    ax.set_ylabel("y (m): left")
    ax.set_title("The Ant from above: legs named by where they sit when it walks")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    atomic_write_bytes(out, buffer.getvalue())
    plt.close(fig)
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--out", type=Path, default=root / "docs" / "figures" / "ant-legs.png")
    draw(parser.parse_args().out)


if __name__ == "__main__":
    main()

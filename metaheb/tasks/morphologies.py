"""Named Ant morphologies: MJCF files in ``envs/ant/`` (installed as ``metaheb_envs``).

A morphology is data: copy ``envs/ant/intact.xml`` to ``envs/ant/NAME.xml`` (or to a folder of
your own, named by ``task.morphology_dir``), edit it, and name it in ``task.morphologies``. The
damaged legs are generated from gymnasium's own ant.xml by ``scripts/make_morphologies.py`` and
named by where the leg sits when the Ant walks along +x (``metaheb.tasks.legs``), e.g.
``front_right_lower_x0.25``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from metaheb.errors import UserError

# The bodies' names before they were named by corner: the MJCF's body names, which put two legs
# at the wrong end (``damaged_front_right`` shortened a back leg). A run or agent file that names
# one fails with a line naming the body it meant, rather than silently meaning another leg.
RETIRED = {
    "damaged_front_left": "front_left_lower_x0.25",
    "damaged_front_right": "back_left_lower_x0.25",
    "damaged_back": "back_right_lower_x0.25",
    "damaged_right_back": "front_right_lower_x0.25",
}


def morphology_dir(folder: str = "", task: str = "ant") -> Path:
    """``folder`` if given (a user's own MJCF files), else the task's installed bodies:
    ``envs/ant`` (MuJoCo) or ``envs/ant_bullet`` (pybullet, ``task.name = "ant_bullet"``)."""
    return Path(folder) if folder else Path(str(files("metaheb_envs"))) / task


def available_morphologies(folder: str = "", task: str = "ant") -> list[str]:
    return sorted(path.stem for path in morphology_dir(folder, task).glob("*.xml"))


def morphology_path(name: str, folder: str = "", task: str = "ant") -> Path:
    """The MJCF file of morphology ``name``; an unknown name is a ``UserError``."""
    path = morphology_dir(folder, task) / f"{name}.xml"
    if not path.is_file() and name in RETIRED and not folder:
        raise UserError(
            f"morphology {name!r} is now named {RETIRED[name]!r} (bodies are named by where "
            f"the leg sits when the Ant walks along +x); use that name"
        )
    if not path.is_file():
        known = ", ".join(available_morphologies(folder, task)) or "none"
        raise UserError(
            f"unknown morphology {name!r} in {morphology_dir(folder, task)}; known: {known} "
            f"(add {name}.xml there)"
        )
    return path

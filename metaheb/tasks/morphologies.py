"""Named Ant morphologies: MJCF files in ``envs/ant/`` (installed as ``metaheb_envs``).

A morphology is data: copy ``envs/ant/intact.xml`` to ``envs/ant/NAME.xml`` (or to a folder of
your own, named by ``task.morphology_dir``), edit it, and name it in ``task.morphologies``. The
damaged legs are generated from gymnasium's own ant.xml by ``scripts/make_morphologies.py``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from metaheb.errors import UserError


def morphology_dir(folder: str = "") -> Path:
    """``folder`` if given (a user's own MJCF files), else the installed ``envs/ant``."""
    return Path(folder) if folder else Path(str(files("metaheb_envs"))) / "ant"


def available_morphologies(folder: str = "") -> list[str]:
    return sorted(path.stem for path in morphology_dir(folder).glob("*.xml"))


def morphology_path(name: str, folder: str = "") -> Path:
    """The MJCF file of morphology ``name``; an unknown name is a ``UserError``."""
    path = morphology_dir(folder) / f"{name}.xml"
    if not path.is_file():
        known = ", ".join(available_morphologies(folder)) or "none"
        raise UserError(
            f"unknown morphology {name!r} in {morphology_dir(folder)}; known: {known} "
            f"(add {name}.xml there)"
        )
    return path

"""Named Ant morphologies: MJCF files in ``envs/ant/`` (installed as the package ``metaheb_envs``).

A morphology is data: copy ``envs/ant/intact.xml`` to ``envs/ant/NAME.xml``, edit it, and name it
in ``task.morphologies``. The damaged legs are generated from gymnasium's own ant.xml by
``scripts/make_morphologies.py``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from metaheb.errors import UserError


def morphology_dir() -> Path:
    return Path(str(files("metaheb_envs"))) / "ant"


def available_morphologies() -> list[str]:
    return sorted(path.stem for path in morphology_dir().glob("*.xml"))


def morphology_path(name: str) -> Path:
    """The MJCF file of morphology ``name``; an unknown name is a ``UserError``."""
    path = morphology_dir() / f"{name}.xml"
    if not path.is_file():
        known = ", ".join(available_morphologies())
        raise UserError(f"unknown morphology {name!r}; known: {known} (or add envs/ant/{name}.xml)")
    return path

"""pybullet's own AntBulletEnv-v0 class, the reference the ant_bullet task is checked against.

``pybullet_envs`` (shipped inside the pybullet wheel) was written for the unmaintained ``gym``
package and setuptools' ``pkg_resources``, neither of which is installed here, and its package
``__init__`` registers environments with a registry API gym no longer has. The environment
classes themselves only need ``gym.Env``, ``gym.spaces`` and ``gym.utils.seeding``, which
gymnasium provides under the same names, and ``parse_version``, which ``packaging`` provides. So
the reference is pybullet's own code, loaded without its package ``__init__``.
"""

import importlib.util
import sys
import types

import gymnasium
from packaging.version import parse


def ant_bullet_env():
    """A new pybullet AntBulletEnv (its own class, its own physics client)."""
    sys.modules.setdefault("gym", gymnasium)
    if "pkg_resources" not in sys.modules:
        sys.modules["pkg_resources"] = types.SimpleNamespace(parse_version=parse)
    if "pybullet_envs" not in sys.modules:
        spec = importlib.util.find_spec("pybullet_envs")
        package = types.ModuleType("pybullet_envs")
        package.__path__ = list(spec.submodule_search_locations)  # its modules, not its __init__
        sys.modules["pybullet_envs"] = package
    from pybullet_envs.gym_locomotion_envs import AntBulletEnv

    return AntBulletEnv()

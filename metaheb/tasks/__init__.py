"""Tasks: an environment, how an agent's output becomes an action, and how an episode is scored.

A task knows nothing of networks, genomes or evolution (layer 1 of the design).
"""

from __future__ import annotations

from metaheb.config import TaskConfig, task_family
from metaheb.tasks.ant import AntTask
from metaheb.tasks.ant_bullet import AntBulletTask
from metaheb.tasks.base import Score, Task
from metaheb.tasks.carracing import CarRacingTask
from metaheb.tasks.gym_locomotion import GymLocomotionTask

# Every task by its family (config.sections.task_family: "gym" runs every gym:<id>); each meets
# the contract of tasks/base.py.
TASKS: dict[str, type[Task]] = {
    "ant": AntTask,
    "ant_bullet": AntBulletTask,
    "carracing": CarRacingTask,
    "gym": GymLocomotionTask,
}

__all__ = ["TASKS", "Score", "Task", "fitness_unit", "make_task"]


def make_task(config: TaskConfig) -> Task:
    """Build the task named by ``config.name`` (the config has already checked the name)."""
    return TASKS[task_family(config.name)](config)


_PROCESS_TASKS: dict[str, Task] = {}


def process_task(config: TaskConfig) -> Task:
    """This process's task for ``config``, built on first use and kept: a Ray worker builds its
    environments (and compiles a body) once, whichever batch or agent it runs next."""
    key = repr(config)
    if key not in _PROCESS_TASKS:
        _PROCESS_TASKS[key] = make_task(config)
    return _PROCESS_TASKS[key]


def fitness_unit(config: TaskConfig) -> str:
    """The unit of a task's fitness ("m", "a.u.", "points", "return"), without building it."""
    unit = getattr(TASKS[task_family(config.name)], "unit", None)  # gym:<id> sets its own
    return unit or ("m" if config.fitness == "distance" else "return")

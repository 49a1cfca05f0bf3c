"""Tasks: an environment, how an agent's output becomes an action, and how an episode is scored.

A task knows nothing of networks, genomes or evolution (layer 1 of the design).
"""

from __future__ import annotations

from metaheb.config import TaskConfig
from metaheb.tasks.ant import AntTask
from metaheb.tasks.base import Score, Task
from metaheb.tasks.carracing import CarRacingTask

# Every task by its task.name; each meets the contract of tasks/base.py.
TASKS: dict[str, type[Task]] = {"ant": AntTask, "carracing": CarRacingTask}

__all__ = ["TASKS", "Score", "Task", "make_task"]


def make_task(config: TaskConfig) -> Task:
    """Build the task named by ``config.name`` (the config has already checked the name)."""
    return TASKS[config.name](config)

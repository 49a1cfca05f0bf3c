"""The early stop shared by the tasks: a run of negative per-step rewards that lasts too long.

Najarro & Risi's code (quadruped): once past policy step 200, an episode ends when the progress
has been negative for more than 30 steps in a row; the steps before that window are not counted
at all (``task.early_stop_count = "after"``). ``"always"`` counts from the first step and
considers the stop only from env step ``early_stop_after`` on (metaheb's earlier rule, kept
reachable by config). Policy steps are env steps after the ``burn_in`` zero-action steps.
"""

from __future__ import annotations

import numpy as np

from metaheb.config import TaskConfig


class NegativeRun:
    """Per agent, the current run of negative rewards; ``update`` says who has stalled."""

    def __init__(self, count: int, config: TaskConfig) -> None:
        self.config = config
        self.run = np.zeros(count, dtype=np.int64)

    def window_open(self, step: int) -> bool:
        """Whether env step ``step`` (0-based, burn-in included) is inside the early-stop window."""
        config = self.config
        if config.early_stop_count == "always":
            return step >= config.early_stop_after
        return step - config.burn_in > config.early_stop_after

    def update(self, step: int, agents: np.ndarray, negative: np.ndarray) -> np.ndarray:
        """Record whether each of ``agents`` had a negative reward at ``step``; return stalled."""
        open_ = self.window_open(step)
        if self.config.early_stop_count == "always" or open_:
            self.run[agents] = np.where(negative, self.run[agents] + 1, 0)
        if not open_:
            return np.zeros(len(agents), dtype=bool)
        return self.run[agents] > self.config.early_stop_patience

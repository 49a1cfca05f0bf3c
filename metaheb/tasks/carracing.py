"""CarRacing from pixels: gymnasium's CarRacing-v3 physics and tracks, scored by its return.

Protocol of Najarro & Risi (2020), CarRacing experiments:

- observation: the whole 96x96 RGB frame resized to 84x84 (OpenCV's area interpolation, as the
  authors' gym ``ResizeObservation``: the indicator bar stays in; ``task.preprocess = "crop"``
  keeps rows 0..83 and columns 6..89 instead), scaled to [0, 1], channels first; it feeds the
  evolved convolutions (``metaheb.encoders``);
- action: the network's three outputs squashed as [tanh, sigmoid, sigmoid]: steering in [-1, 1],
  gas and brake in [0, 1] (the network's ``tanh_sigmoid`` output); the output layer's plastic
  rule sees the outputs before the squashing, as in the authors' code
  (``network.output_rule_input``);
- fitness: the episode return (+1000/N per new track tile, -0.1 per frame; -100 and the end for
  leaving the playfield), gymnasium's own reward;
- early stop, the authors' rule: the episode ends once the reward has been negative for more than
  20 steps in a row (no new tile reached), counted from the first step
  (``TASK_DEFAULTS`` in ``metaheb.config``; ``metaheb.tasks.early_stop``); also gymnasium's own
  ends (every tile visited, or off the playfield), and 1000 steps;
- action repeat (``task.action_repeat = k``, default 1 as the paper): the agent looks and acts on
  every k-th frame and holds its action in between; the frames it does not look at are not drawn.

The observation is drawn by ``metaheb.tasks.carracing_render`` (``task.renderer = "fast"``, the
default: the same scene drawn straight at observation size) or by gymnasium's own renderer
(``"gymnasium"``: about 97% of a step). The env is gymnasium's unwrapped CarRacing: the episode
limit and early stop are metaheb's.
"""

from __future__ import annotations

import cv2
import gymnasium as gym
import numpy as np
from gymnasium.envs.box2d.car_racing import CarRacing

from metaheb.config import TaskConfig
from metaheb.tasks.area_resize import CompiledAreaResize
from metaheb.tasks.carracing_render import FastCarRacing
from metaheb.tasks.early_stop import NegativeRun
from metaheb.tasks.frames import OwnRendering

CROP = (slice(0, 84), slice(6, 90))
SIZE = 84
# OpenCV's area resize compiled for a batch, once a process has drawn enough frames (the same
# bits; metaheb.tasks.area_resize).
COMPILED_RESIZE = CompiledAreaResize()


class _FrameHold:
    """While ``hold_frame`` is set, a step keeps the last observation instead of drawing one."""

    hold_frame = False

    def _render(self, mode: str):
        if self.hold_frame and mode == "state_pixels" and getattr(self, "state", None) is not None:
            return self.state
        return super()._render(mode)


class HeldFastCarRacing(_FrameHold, FastCarRacing):
    pass


class HeldCarRacing(_FrameHold, CarRacing):
    pass


class CarRacingTask:
    """CarRacing-v3 environments plus the return score; one env per agent of a batch."""

    obs_dim = 3 * 84 * 84
    obs_shape = (3, 84, 84)
    act_dim = 3
    output_activation = "tanh_sigmoid"
    output_rule_input = "linear"  # the authors' rule sees the output before tanh and sigmoid
    fps = 50.0  # CarRacing-v3's own frame rate
    bodies = False  # one car: no morphologies to damage
    encoder = "carracing_conv"  # what its pixels need: the evolved convolutions
    unit, per_metre = "points", float("nan")  # the game's score

    def __init__(self, config: TaskConfig) -> None:
        self.config = config
        self._envs: list[gym.Env] = []

    def envs(self, count: int, morphology: str = "intact") -> list[gym.Env]:
        """``count`` environments, created once per process and reused (one track per reset)."""
        while len(self._envs) < count:
            # rgb_array costs nothing until render() is called: replay films these very envs.
            kind = HeldFastCarRacing if self.config.renderer == "fast" else HeldCarRacing
            self._envs.append(kind(render_mode="rgb_array"))
        return self._envs[:count]

    def reset(self, envs: list[gym.Env], seeds: list[int]) -> np.ndarray:
        """Reset each env with its own seed (its own track); stack the observations."""
        for env in envs:
            env.hold_frame = False
        observations = [env.reset(seed=int(seed))[0] for env, seed in zip(envs, seeds)]
        return frames(observations, self.config.preprocess)

    def step(
        self, envs: list[gym.Env], actions: np.ndarray, look: bool = True
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Step every env; return (observations, (rewards, ended by gymnasium)).

        With ``look`` false no frame is drawn (the agent holds its action this step) and the
        observations returned are the last ones drawn.
        """
        observations, rewards, ended = [], np.empty(len(envs)), np.empty(len(envs), dtype=bool)
        for k, (env, action) in enumerate(zip(envs, actions)):
            env.hold_frame = not look
            obs, rewards[k], terminated, truncated, _ = env.step(action.astype(np.float32))
            observations.append(obs)
            ended[k] = terminated or truncated
        return frames(observations, self.config.preprocess), (rewards, ended)

    def frames(self, size: tuple[int, int]) -> OwnRendering:
        """Replay's video frames: gymnasium's own frame, at its window size."""
        return OwnRendering()

    def score(self, envs: list[gym.Env]) -> EpisodeReturn:
        return EpisodeReturn(len(envs), self.config)


def frames(observations: list[np.ndarray], preprocess: str = "resize") -> np.ndarray:
    """96x96x3 uint8 frames -> (n, 3, 84, 84) float32 in [0, 1], resized or cropped.

    The array is a view of (84, 84, n, 3) memory, each pixel's channels of all frames side by
    side: the layout the encoder's grouped convolution reads (``metaheb.encoders``), so no
    transposing copy is made on the way. A process that has drawn many frames resizes them with
    OpenCV's arithmetic compiled for the batch (``COMPILED_RESIZE``): the same values."""
    if preprocess == "resize" and COMPILED_RESIZE.ready(len(observations)):
        return COMPILED_RESIZE(observations)
    if preprocess == "crop":
        pixels = [obs[CROP] for obs in observations]
    else:
        size = (SIZE, SIZE)
        pixels = [cv2.resize(obs, size, interpolation=cv2.INTER_AREA) for obs in observations]
    batch = np.stack(pixels)  # (n, 84, 84, 3)
    scaled = np.empty((SIZE, SIZE, len(pixels), 3), dtype=np.float32)
    np.divide(batch.transpose(1, 2, 0, 3), np.float32(255.0), out=scaled, dtype=np.float32)
    return scaled.transpose(2, 3, 0, 1)


class EpisodeReturn:
    """The return and early stop of a batch of CarRacing episodes, indexed by agent (a Score)."""

    def __init__(self, count: int, config: TaskConfig) -> None:
        self.config = config
        self.fitness = np.zeros(count)
        self.negative_run = NegativeRun(count, config)
        self.steps = np.zeros(count, dtype=np.int64)
        self.reward = np.zeros(count)  # the last step's reward

    def observe(
        self,
        step: int,
        agents: np.ndarray,
        envs: list[gym.Env],
        outcome: tuple[np.ndarray, np.ndarray],
    ) -> np.ndarray:
        """Record step ``step`` (0-based) for ``agents``; return which of them are now done."""
        rewards, ended = outcome
        config = self.config
        counted = config.score_from == "reset" or step + 1 > config.burn_in  # as the Ant's
        self.reward[agents] = rewards if counted else 0.0
        self.fitness[agents] += self.reward[agents]
        self.steps[agents] = step + 1
        stalled = self.negative_run.update(step, agents, rewards < 0)
        return ended | stalled | (step + 1 >= config.max_steps)

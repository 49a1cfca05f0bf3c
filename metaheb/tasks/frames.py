"""Video frames of a task's environment, for replay: a camera that follows a MuJoCo body, or the
environment's own ``rgb_array`` rendering (CarRacing).

MuJoCo renders offscreen through ``MUJOCO_GL`` (egl, set by ``metaheb/__init__``; osmesa where no
EGL device exists).
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np


class TrackingCamera:
    """Frames of a MuJoCo body from a camera that follows its root body (body 1, the torso)."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size  # (height, width)
        self.renderer: mujoco.Renderer | None = None
        self.camera = mujoco.MjvCamera()
        self.camera.type = mujoco.mjtCamera.mjCAMERA_TRACKING
        self.camera.trackbodyid = 1
        self.camera.distance, self.camera.elevation = 4.0, -20.0

    def frame(self, env: Any) -> np.ndarray:
        if self.renderer is None:
            self.renderer = mujoco.Renderer(env.model, *self.size)
        self.renderer.update_scene(env.data, camera=self.camera)
        return self.renderer.render()

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()


class OwnRendering:
    """The environment's own ``rgb_array`` frame, at its own size."""

    def frame(self, env: Any) -> np.ndarray:
        return env.render()

    def close(self) -> None:
        pass

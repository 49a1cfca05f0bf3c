"""metaheb: evolutionary meta-learning of Hebbian plasticity rules (Najarro & Risi 2020)."""

import ctypes.util
import os

# MuJoCo picks its OpenGL backend when first imported: headless EGL where the EGL library exists,
# else OSMesa (software rendering), unless the user chose one with MUJOCO_GL.
if "MUJOCO_GL" not in os.environ:
    os.environ["MUJOCO_GL"] = "egl" if ctypes.util.find_library("EGL") else "osmesa"

__version__ = "0.1.0"

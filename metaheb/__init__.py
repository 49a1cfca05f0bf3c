"""metaheb: evolutionary meta-learning of Hebbian plasticity rules (Najarro & Risi 2020)."""

import os

# MuJoCo picks its OpenGL backend when first imported: headless EGL unless the user chose one
# (MUJOCO_GL=osmesa for software rendering where no EGL device exists).
os.environ.setdefault("MUJOCO_GL", "egl")

__version__ = "0.1.0"

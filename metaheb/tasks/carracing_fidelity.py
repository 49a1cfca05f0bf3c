"""How closely the fast CarRacing renderer draws gymnasium's observation.

Two envs on the same seed, driven by the same seeded random actions, step in lockstep: Box2D is
deterministic, so both hold the same world at every step and their observations differ only by
who drew them. Used by ``tests/test_carracing_render.py`` and ``scripts/bench_carracing.py``.
"""

from __future__ import annotations

import numpy as np
from gymnasium.envs.box2d.car_racing import CarRacing

from metaheb.tasks.carracing_render import FastCarRacing


def random_driving(seed: int, steps: int) -> np.ndarray:
    """(steps, 3) actions of a car that weaves on and off the road: a random walk of the
    steering, mostly gas, an occasional brake."""
    rng = np.random.default_rng(seed)
    steering = np.clip(np.cumsum(rng.normal(0.0, 0.3, steps)), -1.0, 1.0)
    gas = rng.uniform(0.2, 1.0, steps)
    brake = np.where(rng.random(steps) < 0.1, rng.uniform(0.0, 0.8, steps), 0.0)
    return np.stack([steering, gas, brake], axis=1)


def paired_frames(seed: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The fast and gymnasium observations (steps + 1, 96, 96, 3) of one seeded drive, reset
    frame first."""
    drives = []
    for kind in (FastCarRacing, CarRacing):
        env = kind()
        frames = [env.reset(seed=seed)[0]]
        for action in random_driving(seed, steps):
            frames.append(env.step(action)[0])
        env.close()
        drives.append(np.stack(frames))
    return drives[0], drives[1]


def frame_agreement(frames: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Mean absolute difference per pixel and channel (in levels of 0..255) and the share of
    pixels whose three channels all lie within 8 levels of the reference's."""
    difference = np.abs(frames.astype(np.int16) - reference.astype(np.int16))
    return {
        "mean_abs_diff": float(difference.mean()),
        "within_8": float((difference.max(axis=-1) <= 8).mean()),
    }

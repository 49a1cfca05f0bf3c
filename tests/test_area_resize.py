"""CarRacing's compiled 96 -> 84 area resize gives OpenCV's bits, so nothing a run computes
depends on whether a process has switched to it."""

import cv2
import numpy as np
import pytest
from conftest import assert_same_rollout

from metaheb.tasks import carracing
from metaheb.tasks.area_resize import CompiledAreaResize, block_weights

CAR = ["task.name=carracing", "network.encoder=carracing_conv", "network.normalise=max_abs"]


def opencv(frames: list[np.ndarray]) -> np.ndarray:
    return np.stack([cv2.resize(f, (84, 84), interpolation=cv2.INTER_AREA) for f in frames])


def test_the_block_weights_are_opencv_s_table():
    # The kernel's arithmetic in numpy, no compiler: each product rounded, then the sum.
    a, b = block_weights()
    frames = np.random.default_rng(1).integers(0, 256, (20, 96, 96, 3), np.uint8)
    source = frames.astype(np.float32).reshape(20, 12, 8, 12, 8, 3)
    rows = source[..., :7, :] * a[:, None] + source[..., 1:, :] * b[:, None]
    small = rows[:, :, :7] * a[:, None, None, None] + rows[:, :, 1:] * b[:, None, None, None]
    values = np.clip(np.rint(small.reshape(20, 84, 84, 3)), 0, 255)
    assert np.array_equal(values, opencv(list(frames)))


@pytest.fixture(scope="module")
def compiled():
    resize = CompiledAreaResize(switch_after=0)
    if not resize.ready(1):
        pytest.skip("the built resize does not build here (OpenCV serves)")
    return resize


@pytest.mark.parametrize("agents", [1, 3, 50])
def test_the_compiled_resize_gives_opencv_s_bits_in_metaheb_s_layout(compiled, agents):
    frames = list(np.random.default_rng(agents).integers(0, 256, (agents, 96, 96, 3), np.uint8))
    resized = compiled(frames)
    assert np.array_equal(resized, opencv(frames).transpose(0, 3, 1, 2) / np.float32(255))
    assert resized.strides == carracing.frames(frames).strides  # what the encoder reads


def test_a_rollout_scores_the_same_bits_with_the_compiled_resize(compiled, monkeypatch):
    plain = CompiledAreaResize(switch_after=10**12)
    assert_same_rollout(monkeypatch, carracing, "COMPILED_RESIZE", plain, compiled)


def test_a_process_switches_only_after_many_frames():
    resize = CompiledAreaResize(switch_after=100)
    assert not resize.ready(60)
    assert resize._kernel is None  # nothing compiled for a short replay

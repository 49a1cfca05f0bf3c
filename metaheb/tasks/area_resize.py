"""CarRacing's 96x96 -> 84x84 area resize, built for this CPU, with OpenCV's bits.

The authors' observation is OpenCV's ``resize(frame, (84, 84), interpolation=INTER_AREA)``. For
this non-integer ratio (8 source pixels to 7) OpenCV takes its general area path, one frame and
one pixel at a time: about 0.07 ms per frame here, 6-10% of an agent-step. The same arithmetic
is six multiplies and three adds per output value; ``area_resize.cpp`` runs it over a whole
batch of frames in one call, from the frames' bytes straight into the layout the encoder reads
(each pixel's channels of all agents side by side), built by ``metaheb.native``.

Bit for bit, as OpenCV computes it (``resizeArea_`` with float buffers; weights from
``computeResizeAreaTab``, in double then rounded to float):

    row buffer   b[x] = s[i(x)] a(x) + s[i(x) + 1] b(x)       (each product rounded, then the sum)
    output       d[y] = B[i(y)] a(y) + B[i(y) + 1] b(y)
    value        round half to even, clamped to 0..255, then / 255 as metaheb's frames are

Every output pixel of an 8-pixel block reads source pixels j and j + 1 of the block (j < 7) with
the same two weights in every block, so the weights are two 7-vectors. The kernel must not
contract a * b + c * d into a fused multiply-add (OpenCV rounds the product): it is built with
contraction off. ``CompiledAreaResize`` checks the bits against OpenCV once per process and
keeps OpenCV where they differ or nothing builds. Building costs a second or two (once per
machine: the library is cached), so a process switches to the kernel only after
``SWITCH_AFTER_FRAMES`` frames: the numbers are the same either way, and a short replay never
pays for it.
"""

from __future__ import annotations

import ctypes
import math
from pathlib import Path

import cv2
import numpy as np

from metaheb import native
from metaheb.errors import SwitchAfterFrames, compiled_path_notice

SOURCE, TARGET = 96, 84
SWITCH_AFTER_FRAMES = 50_000
KERNEL = Path(__file__).with_name("area_resize.cpp")
_FLOATS = np.ctypeslib.ndpointer(np.float32, flags="C_CONTIGUOUS")
_ARGTYPES = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int64, _FLOATS, _FLOATS, _FLOATS]


def area_table(source: int, target: int) -> list[tuple[int, int, float]]:
    """OpenCV's ``computeResizeAreaTab`` for one axis: (output index, source index, weight)."""
    scale = 1.0 / (target / source)
    table = []
    for out in range(target):
        start, end = out * scale, out * scale + scale
        cell = min(scale, source - start)
        first, last = math.ceil(start), math.floor(end)
        last = min(last, source - 1)
        first = min(first, last)
        if first - start > 1e-3:
            table.append((out, first - 1, float(np.float32((first - start) / cell))))
        table += [(out, s, float(np.float32(1.0 / cell))) for s in range(first, last)]
        if end - last > 1e-3:
            table.append((out, last, float(np.float32(min(min(end - last, 1.0), cell) / cell))))
    return table


def block_weights(source: int = SOURCE, target: int = TARGET) -> tuple[np.ndarray, np.ndarray]:
    """The two weights (a, b) of each output pixel in a block, (7,) float32 each; raises if the
    table is not the two-tap, block-periodic one the kernel computes."""
    blocks = math.gcd(source, target)
    width, outputs = source // blocks, target // blocks
    pairs = {}
    for out, src, weight in area_table(source, target):
        pairs.setdefault(out, []).append((src, weight))
    a, b = np.empty(outputs, np.float32), np.empty(outputs, np.float32)
    for out, taps in pairs.items():
        block, j = divmod(out, outputs)
        if [s for s, _ in taps] != [block * width + j, block * width + j + 1]:
            raise ValueError(f"output {out} does not read source pixels j and j + 1 of its block")
        weights = np.float32([w for _, w in taps])
        if block == 0:
            a[j], b[j] = weights
        elif (a[j], b[j]) != tuple(weights):
            raise ValueError(f"output {out}'s weights differ from its block's first")
    return a, b


class CompiledAreaResize(SwitchAfterFrames):
    """The built resize of a batch of frames, once a process has drawn enough of them."""

    def __init__(self, switch_after: int = SWITCH_AFTER_FRAMES) -> None:
        super().__init__(switch_after)
        self._kernel = None
        self._a, self._b = block_weights()

    def ready(self, count: int) -> bool:
        """Whether the next ``count`` frames go through the kernel (built and checked on the
        call that crosses the threshold)."""
        return self._ready(count, self._build_and_check)

    def __call__(self, observations: list[np.ndarray]) -> np.ndarray:
        """96x96x3 uint8 frames -> (n, 3, 84, 84) float32, a view of (84, 84, n, 3) memory."""
        frames = [np.ascontiguousarray(frame, dtype=np.uint8) for frame in observations]
        for frame in frames:
            if frame.shape != (SOURCE, SOURCE, 3):
                raise ValueError(f"a frame of shape {frame.shape}, not {(SOURCE, SOURCE, 3)}")
        out = np.empty((TARGET, TARGET, len(frames), 3), dtype=np.float32)
        addresses = (ctypes.c_void_p * len(frames))(*(f.ctypes.data for f in frames))
        self._kernel(addresses, len(frames), self._a, self._b, out)
        return out.transpose(2, 3, 0, 1)

    def _build_and_check(self) -> bool:
        """Build the kernel; True if it gives OpenCV's bits on random frames and a saturated
        one, else a one-line notice and False."""
        try:
            self._kernel = native.load(native.build(KERNEL), "area_resize", _ARGTYPES)
        except native.BUILD_ERRORS as error:  # no compiler: OpenCV gives the same numbers
            return _notice(f"it does not build here ({native.build_error_line(error)})")
        frames = list(np.random.default_rng(0).integers(0, 256, (5, SOURCE, SOURCE, 3), np.uint8))
        frames += [np.full((SOURCE, SOURCE, 3), 255, np.uint8)]
        reference = np.stack(
            [cv2.resize(f, (TARGET, TARGET), interpolation=cv2.INTER_AREA) for f in frames]
        )
        expected = reference.astype(np.float32) / np.float32(255.0)
        if not np.array_equal(self(frames), expected.transpose(0, 3, 1, 2)):
            return _notice("its bits differ from OpenCV's on this machine")
        return True


def _notice(why: str) -> bool:
    compiled_path_notice("CarRacing's built resize", why, "OpenCV's")
    return False

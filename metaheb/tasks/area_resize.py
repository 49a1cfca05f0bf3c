"""CarRacing's 96x96 -> 84x84 area resize, compiled, with OpenCV's bits.

The authors' observation is OpenCV's ``resize(frame, (84, 84), interpolation=INTER_AREA)``. For
this non-integer ratio (8 source pixels to 7) OpenCV takes its general area path, one frame and
one pixel at a time: about 0.07 ms per frame here, 6-10% of an agent-step. The same arithmetic
batched is six multiplies and three adds per output value, so it is compiled (torch.compile) into
one loop over a whole batch of frames, each pixel's channels of all agents side by side.

Bit for bit, as OpenCV computes it (``resizeArea_`` with float buffers; weights from
``computeResizeAreaTab``, in double then rounded to float):

    row buffer   b[x] = s[i(x)] a(x) + s[i(x) + 1] b(x)       (each product rounded, then the sum)
    output       d[y] = B[i(y)] a(y) + B[i(y) + 1] b(y)
    value        round half to even, clamped to 0..255, then / 255 as metaheb's frames are

Every output pixel of an 8-pixel block reads source pixels j and j + 1 of the block (j < 7) with
the same two weights in every block, so the weights are two 7-vectors. The compiled kernel must
not contract a * b + c * d into a fused multiply-add (OpenCV rounds the product): it is built
with contraction off. ``CompiledAreaResize`` checks the bits against OpenCV once per process and
keeps OpenCV where they differ or nothing compiles. Compiling costs seconds, so a process
switches to the kernel only after ``SWITCH_AFTER_FRAMES`` frames: the numbers are the same
either way, and a short replay never pays for it.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch

from metaheb.errors import SwitchAfterFrames, compiled_path_notice, first_line

SOURCE, TARGET = 96, 84
SWITCH_AFTER_FRAMES = 50_000
MAX_AGENTS_PER_CALL = 42  # OpenCV 5 merges at most 128 channels: 3 per agent


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


def resize_and_scale(stacked: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(96, 96, N) float frames (N = agents x 3 channels) -> (84, 84, N) float32 in [0, 1]."""
    n = stacked.shape[2]
    source = stacked.view(12, 8, 12, 8, n)
    a_col, b_col = a.view(1, 1, 1, 7, 1), b.view(1, 1, 1, 7, 1)
    rows = source[:, :, :, :7] * a_col + source[:, :, :, 1:] * b_col  # (12, 8, 12, 7, N)
    a_row, b_row = a.view(1, 7, 1, 1, 1), b.view(1, 7, 1, 1, 1)
    small = rows[:, :7] * a_row + rows[:, 1:] * b_row  # (12, 7, 12, 7, N)
    return (small.round().clamp(0, 255) / 255.0).view(84, 84, n)


class CompiledAreaResize(SwitchAfterFrames):
    """The compiled resize of a batch of frames, once a process has drawn enough of them."""

    def __init__(self, switch_after: int = SWITCH_AFTER_FRAMES) -> None:
        super().__init__(switch_after)
        self._kernel = None
        a, b = block_weights()
        self._a, self._b = torch.from_numpy(a), torch.from_numpy(b)

    def ready(self, count: int) -> bool:
        """Whether the next ``count`` frames go through the kernel (compiled and checked on the
        call that crosses the threshold)."""
        return self._ready(count, self._compile_and_check)

    def __call__(self, observations: list[np.ndarray]) -> np.ndarray:
        """96x96x3 uint8 frames -> (n, 3, 84, 84) float32, a view of (84, 84, n, 3) memory."""
        chunks = [
            self._resize(observations[start : start + MAX_AGENTS_PER_CALL])
            for start in range(0, len(observations), MAX_AGENTS_PER_CALL)
        ]
        batch = chunks[0] if len(chunks) == 1 else np.concatenate(chunks, axis=2)
        return batch.transpose(2, 3, 0, 1)

    def _resize(self, frames: list[np.ndarray]) -> np.ndarray:
        """Up to ``MAX_AGENTS_PER_CALL`` frames -> (84, 84, n, 3) float32."""
        # Each frame's channels as planes, merged into one image of 3n channels: the agents
        # side by side in every pixel, in two vectorised OpenCV passes.
        planes = [plane for frame in frames for plane in cv2.split(frame)]
        stacked = torch.from_numpy(cv2.merge(planes).reshape(SOURCE, SOURCE, -1)).float()
        small = self._kernel(stacked, self._a, self._b).numpy()
        return small.reshape(TARGET, TARGET, len(frames), 3)

    def _compile_and_check(self) -> bool:
        """Compile the kernel; True if it gives OpenCV's bits on random frames and a saturated
        one, else a one-line notice and False."""
        try:
            self._kernel = torch.compile(
                resize_and_scale,
                dynamic=True,
                fullgraph=True,
                options={"cpp.enable_floating_point_contract_flag": "off"},
            )
            frames = list(
                np.random.default_rng(0).integers(0, 256, (5, SOURCE, SOURCE, 3), np.uint8)
            )
            frames += [np.full((SOURCE, SOURCE, 3), 255, np.uint8)]
            compiled = self(frames)
        except Exception as error:  # no compiler, or it fails: OpenCV gives the same numbers
            return _notice(f"it does not compile here ({first_line(error)[:160]})")
        reference = np.stack(
            [cv2.resize(f, (TARGET, TARGET), interpolation=cv2.INTER_AREA) for f in frames]
        )
        expected = reference.astype(np.float32) / np.float32(255.0)
        if not np.array_equal(compiled, expected.transpose(0, 3, 1, 2)):
            return _notice("its bits differ from OpenCV's on this machine")
        return True


def _notice(why: str) -> bool:
    compiled_path_notice("CarRacing's compiled resize", why, "OpenCV's")
    return False

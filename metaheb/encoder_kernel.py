"""The CarRacing encoder's convolutions and max pools built for this CPU, with oneDNN's bits.

``metaheb.encoders`` runs each convolution as one grouped oneDNN call over the batch and pools
it with two maxima: about 0.17 ms per agent-step at batch 8, the largest part of the agent's own
work (docs/speed.md). oneDNN's direct kernel computes each output as one fused multiply-add chain
over the taps in (row, column, input channel) order, starting from the first tap's product
(measured here: the same bits for every output of both layers). ``encoder_kernel.cpp`` runs that
chain for every output: the first layer eight outputs of a row at once, every output channel
from one load of the input (``encoder_rows.h``); the second the eight output channels of a pixel
at once, each tap's weights in one vector (``encoder_pixels.h``). It pools as it goes and, with
the rational tanh (``metaheb.rational_tanh``), applies it to the pooled values. Each agent is
computed alone, so its bits do not depend on the batch.

The source is built with the system's C++ compiler for this CPU (``metaheb.native``; each lane
computes the same chain, so the vector width does not change the bits) and cached by the hash
of source, headers, flags and CPU. ``CompiledConvPool`` checks the kernel against torch's path
once per process, and keeps torch's path with a one-line notice where the values differ or
nothing builds. As with the compiled resize, a process switches only after
``SWITCH_AFTER_FRAMES`` frames, so a short replay never builds anything.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from pathlib import Path

import torch

from metaheb import native
from metaheb.errors import SwitchAfterFrames, compiled_path_notice

SOURCE = Path(__file__).with_name("encoder_kernel.cpp")
SWITCH_AFTER_FRAMES = 50_000
_INT64_4 = ctypes.c_int64 * 4


def build() -> Path:
    """The kernel's shared library for this CPU (``metaheb.native.build``)."""
    return native.build(SOURCE)


def load(path: Path) -> Callable[..., int]:
    """The kernel's ``conv_pool`` entry point."""
    return native.load(path, "conv_pool")


def conv_pool_into(
    kernel: Callable[..., int],
    x: torch.Tensor,
    kernels: torch.Tensor,
    stride: int,
    out: torch.Tensor,
    tanh: torch.Tensor | None = None,
) -> None:
    """``max_pool_2x2(conv2d(x_p, kernels_p, stride))`` of every agent p into ``out``, each value
    then through ``metaheb.rational_tanh`` when ``tanh`` holds its ``KERNEL_NUMBERS``.

    ``x``: ``(P, C, H, W)`` float32 at any strides; ``kernels``: ``(P, O, C, K, K)``; ``out``:
    ``(P, O, OH // 2, OW // 2)`` at any strides."""
    kernels = kernels.contiguous()
    agents, channels, height, width = x.shape
    status = kernel(
        ctypes.c_void_p(x.data_ptr()),
        _INT64_4(*x.stride()),
        agents,
        channels,
        height,
        width,
        ctypes.c_void_p(kernels.data_ptr()),
        kernels.shape[1],
        kernels.shape[-1],
        stride,
        ctypes.c_void_p(out.data_ptr()),
        _INT64_4(*out.stride()),
        ctypes.c_void_p(None if tanh is None else tanh.data_ptr()),
    )
    if status != 0:
        raise ValueError(f"no kernel built for convolution {tuple(kernels.shape[1:])}")


class CompiledConvPool(SwitchAfterFrames):
    """The built convolution-and-pool, once a process has encoded enough frames."""

    def __init__(self, switch_after: int = SWITCH_AFTER_FRAMES) -> None:
        super().__init__(switch_after)
        self.kernel: Callable[..., int] | None = None

    def ready(self, count: int, check: Callable[[Callable[..., int]], bool]) -> bool:
        """Whether the next ``count`` frames go through the kernel; on the call that crosses the
        threshold it is built and ``check(kernel)`` must find torch's values."""
        return self._ready(count, lambda: self._build_and_check(check))

    def _build_and_check(self, check: Callable[[Callable[..., int]], bool]) -> bool:
        try:
            self.kernel = load(build())
            same = check(self.kernel)
        except (*native.BUILD_ERRORS, ValueError) as error:
            return _notice(f"it does not build here ({native.build_error_line(error)})")
        return same or _notice("its values differ from torch's on this machine")


def _notice(why: str) -> bool:
    compiled_path_notice("CarRacing's built encoder kernel", why, "torch's convolutions")
    return False

"""The CarRacing pixel encoder of Najarro & Risi (2020): two small convolutions, evolved directly.

Input: an 84x84 RGB frame scaled to [0, 1], channels first. Then

    conv 3->6, 3x3, stride 1, no bias -> tanh -> maxpool 2     (84 -> 82 -> 41)
    conv 6->8, 5x5, stride 2, no bias -> tanh -> maxpool 2     (41 -> 19 -> 9)
    flatten -> 8 x 9 x 9 = 648 features

Only the fully connected layers after it are plastic; the 162 + 1,200 = 1,362 convolution
weights are part of the genome and fixed during an episode. Every agent of a batch has its own
convolution weights: the batch runs as one grouped convolution (groups = agents), in channels-last
memory (each pixel's channels of all agents side by side). In that layout the grouped convolution
gives each agent the bits its own convolution gives, whatever the batch (so a replay of one agent
sees what its training batch saw); the default layout's grouped kernel rounds differently for one
agent than for several, and is several times slower here for the 3->6 convolution.

Each "tanh -> maxpool" runs as "maxpool -> tanh", on a quarter of the values: tanh is monotone,
so the max of the tanh values is the tanh of the max (bit for bit with torch.tanh, within a few
units in the last place with the rational tanh, whose rounding wobbles); and the 2x2 max pool is
two elementwise maxima of strided views, about ten times faster here than ``max_pool2d``'s
kernel and exact (a maximum does not round).

The tanh is ``network.encoder_tanh``'s: ``rational``, the fixed rational function of
``metaheb.rational_tanh`` (the same bits on every CPU, computed inside the pool), or ``torch``,
``torch.tanh`` (MKL's bits for the CPU at hand), which agent files evolved before 2026-12-08 keep.

A process that has encoded many frames runs each convolution and its pool, and the rational
tanh, with the kernel ``metaheb.encoder_kernel`` builds for its CPU: oneDNN's chain of fused
multiply-adds, the same values, in under half the time (docs/speed.md).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from metaheb.encoder_kernel import CompiledConvPool, conv_pool_into
from metaheb.rational_tanh import KERNEL_NUMBERS, rational_tanh

CONV_SHAPES: dict[str, tuple[tuple[int, int, int, int], ...]] = {
    "carracing_conv": ((6, 3, 3, 3), (8, 6, 5, 5)),
}
CONV_STRIDES = {"carracing_conv": (1, 2)}
FEATURES = {"carracing_conv": 648}
FRAME = {"carracing_conv": (3, 84, 84)}
TANHS = ("rational", "torch")  # network.encoder_tanh
# The convolutions and pools built for this CPU, once a process has encoded enough frames (the
# same values; metaheb.encoder_kernel).
COMPILED_CONV = CompiledConvPool()


def conv_features(
    name: str, frames: torch.Tensor, kernels: list[torch.Tensor], tanh: str = "rational"
) -> torch.Tensor:
    """``(P, 3, 84, 84)`` frames and per-agent kernels ``(P, out, in, k, k)`` -> ``(P, 648)``,
    with the ``tanh`` of ``TANHS``."""
    agents, channels, height, width = frames.shape
    # Agents stacked as channel groups, channels last: (H, W, P, C) memory seen as (1, P * C, H,
    # W), the layout frames from ``tasks.carracing`` already have (otherwise one copy makes it).
    # The batch stride is set to the canonical one: a tensor channels last only by the size-1
    # batch's exemption gets another, batch-variant, convolution kernel.
    shape = (1, agents * channels, height, width)
    strides = (height * width * agents * channels, 1, width * agents * channels, agents * channels)
    if frames.permute(2, 3, 0, 1).is_contiguous():
        x = frames.as_strided(shape, strides)
    else:
        x = torch.empty(shape, dtype=frames.dtype, memory_format=torch.channels_last)
        x.permute(0, 2, 3, 1).view(height, width, agents, channels).copy_(
            frames.permute(2, 3, 0, 1)
        )
    built = COMPILED_CONV.kernel if COMPILED_CONV.ready(agents, kernel_matches) else None
    rational = tanh == "rational"
    for kernel, stride in zip(kernels, CONV_STRIDES[name]):
        x = conv_pool(x, kernel, stride, built, rational)
        x = x if rational else torch.tanh(x)
    return x.reshape(agents, -1)


def conv_pool(
    x: torch.Tensor,
    kernel: torch.Tensor,
    stride: int,
    built: Callable[..., int] | None = None,
    rational: bool = False,
) -> torch.Tensor:
    """One layer: ``max_pool_2x2(conv2d(x, kernel))`` of every agent, then the rational tanh if
    ``rational`` (else none yet), from and to ``(1, P * channels, H, W)`` channels last. By
    oneDNN's grouped convolution, or with ``built`` by ``metaheb.encoder_kernel``'s, which gives
    the same values (and the same layout, so a torch.tanh after it rounds each value as it would
    have); the kernel reads float32 only."""
    agents, out_channels = kernel.shape[:2]
    if built is None or x.dtype != torch.float32 or kernel.dtype != torch.float32:
        grouped = kernel.reshape(-1, *kernel.shape[2:])  # (P * out, in, k, k)
        pooled = max_pool_2x2(F.conv2d(x, grouped, stride=stride, groups=agents))
        return rational_tanh(pooled) if rational else pooled
    height, width = (((size - kernel.shape[-1]) // stride + 1) // 2 for size in x.shape[-2:])
    pooled = torch.empty(
        (1, agents * out_channels, height, width), memory_format=torch.channels_last
    )
    per_agent = x.view(agents, -1, *x.shape[-2:])
    out = pooled.view(agents, out_channels, height, width)
    conv_pool_into(built, per_agent, kernel, stride, out, KERNEL_NUMBERS if rational else None)
    return pooled


def kernel_matches(built: Callable[..., int]) -> bool:
    """Whether the built kernel gives torch's values for both CarRacing layers, with and without
    the rational tanh, on random frames and kernels at batches of 1, 3 and 9 agents (each agent's
    offsets into the batch)."""
    generator = torch.Generator().manual_seed(0)
    for agents, rational in ((1, True), (3, False), (9, True), (9, False)):
        x = torch.rand(1, agents * 3, 84, 84, generator=generator)
        x = x.contiguous(memory_format=torch.channels_last)
        for shape, stride in zip(CONV_SHAPES["carracing_conv"], CONV_STRIDES["carracing_conv"]):
            kernel = 2 * torch.randn(agents, *shape, generator=generator)
            expected = conv_pool(x, kernel, stride, rational=rational)
            got = conv_pool(x, kernel, stride, built, rational)
            if not torch.equal(expected, got) or expected.stride() != got.stride():
                return False
            x = expected if rational else torch.tanh(expected)
    return True


def max_pool_2x2(x: torch.Tensor) -> torch.Tensor:
    """``F.max_pool2d(x, 2)``'s values (an odd last row or column dropped, NaN kept)."""
    x = x[..., : x.shape[-2] // 2 * 2, : x.shape[-1] // 2 * 2]
    rows = torch.maximum(x[..., 0::2, :], x[..., 1::2, :])
    return torch.maximum(rows[..., 0::2], rows[..., 1::2])

"""The memory floor of a plastic network's step, and the rollout speed it leaves at most.

A rule step (Najarro & Risi 2020, w += eta (A o_i o_j + B o_i + C o_j + D)) reads every weight
and every per-synapse rule factor and writes every weight back; the forward pass reads the same
weights. However it is fused, a step that touches each of those bytes once cannot beat the time
to stream them once: a torch copy of half that many bytes (it reads one half and writes the
other), measured on this machine in the same run, with a working set as large as the batch's
network state, so that a batch that outgrows the cache pays memory's bandwidth as the rollout
does. Shared by the benchmarks in ``scripts/``.
"""

from __future__ import annotations

import time

import torch

from metaheb.rules import Terms


def touched_bytes(weights: list[torch.Tensor], terms: list[Terms]) -> int:
    """Bytes one step of the whole batch must touch once: each weight read and written and each
    rule factor read (a static network, no terms: its weights read by the forward pass)."""
    synapses = sum(w.numel() * w.element_size() for w in weights)
    factors = sum(t.numel() * t.element_size() for layer in terms for t in layer if t is not None)
    return 2 * synapses + factors if terms else synapses


def copy_buffers(nbytes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A source and a target whose copy streams ``nbytes`` (half read, half written)."""
    source = torch.ones(max(1, nbytes // 8), dtype=torch.float32)
    return source, torch.empty_like(source)


def stream_seconds(nbytes: int, repeats: int = 5) -> float:
    """The best of ``repeats`` timed copies streaming ``nbytes``: the floor of any step that
    touches those bytes once (the best, so that the floor is the most generous one)."""
    source, target = copy_buffers(nbytes)
    target.copy_(source)  # first touch: the pages are mapped before the clock runs
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        target.copy_(source)
        best = min(best, time.perf_counter() - started)
    return best


def ceiling(limit_seconds: float, floor_seconds: float) -> float:
    """The most ``limit / (limit + own work)`` can reach when the own work is at its floor:
    the ratio of a rollout to its environment's step rate, both per agent-step."""
    return limit_seconds / (limit_seconds + floor_seconds)

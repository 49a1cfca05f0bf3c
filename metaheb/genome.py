"""Genome codec: one flat vector per agent <-> named per-layer tensors.

A layout is a sequence of segments, each one tensor of one layer, laid end to end:

- ``rule``: a layer's Hebbian coefficients, ``(k, out, in)``, coefficient by coefficient, each a
  row-major ``(out, in)`` block (for ABCD_lr: ``[A | B | C | D | eta]``);
- ``init``: a layer's initial weights ``(out, in)``, when they are co-evolved;
- ``weights``: a layer's fixed weights ``(out, in)``, for the static-weight baseline;
- ``conv``: a convolution kernel ``(out, in, k, k)`` of a pixel encoder, evolved directly;
- ``bank`` and ``assign``: the genomic bottleneck's K shared rules ``(K, k)`` (one segment for
  all layers) and a layer's per-synapse assignment keys ``(out, in)`` (``metaheb.bottleneck``);
- ``modulation``: the parameters of the global modulation of plasticity ``(n,)``, one segment
  for all layers, last in the genome (``metaheb.modulation``).

The rule segments of every layer come first, then the init segments, so that a co-evolved init
only appends to the genome. Decoding a population ``(P, G)`` is a reshape: every segment comes
out as a ``(P, *shape)`` view of the flat tensor, with no copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import torch

from metaheb.modulation import describe_parameters


@dataclass(frozen=True)
class Segment:
    kind: str  # "rule", "init", "weights", "bank", "assign", "conv" or "modulation"
    layer: int  # -1: shared by all layers
    shape: tuple[int, ...]
    names: tuple[str, ...] = ()  # the coefficient names of a rule segment

    @property
    def size(self) -> int:
        return prod(self.shape)


@dataclass(frozen=True)
class GenomeLayout:
    """Where each segment sits in the flat genome."""

    segments: tuple[Segment, ...]

    @property
    def size(self) -> int:
        return sum(segment.size for segment in self.segments)

    def mask(self, kinds: tuple[str, ...]) -> torch.Tensor:
        """A boolean ``(size,)`` mask of the genome positions of segments of these kinds."""
        mask = torch.zeros(self.size, dtype=torch.bool)
        for segment, where in zip(self.segments, self.slices()):
            mask[where] = segment.kind in kinds
        return mask

    def slices(self) -> list[slice]:
        bounds, start = [], 0
        for segment in self.segments:
            bounds.append(slice(start, start + segment.size))
            start += segment.size
        return bounds

    def decode(self, genomes: torch.Tensor) -> dict[str, list[torch.Tensor]]:
        """``(P, size)`` -> {kind: per layer ``(P, *shape)`` views}."""
        if genomes.shape[-1] != self.size:
            raise ValueError(f"genome has {genomes.shape[-1]} values, layout needs {self.size}")
        decoded: dict[str, list[torch.Tensor]] = {}
        for part, segment in zip(self.slices(), self.segments):
            view = genomes[:, part].view(genomes.shape[0], *segment.shape)
            decoded.setdefault(segment.kind, []).append(view)
        return decoded

    def encode(self, decoded: dict[str, list[torch.Tensor]]) -> torch.Tensor:
        """Inverse of ``decode``."""
        position = {kind: 0 for kind in decoded}
        parts = []
        for segment in self.segments:
            tensor = decoded[segment.kind][position[segment.kind]]
            position[segment.kind] += 1
            parts.append(tensor.reshape(tensor.shape[0], -1))
        return torch.cat(parts, dim=1)

    def describe(self) -> str:
        """One line per segment: its slice of the flat vector and what it holds."""
        lines = []
        for part, segment in zip(self.slices(), self.segments):
            what = {
                "rule": "rule",
                "init": "initial weights",
                "weights": "weights",
                "bank": "shared rule bank",
                "conv": "convolution kernel",
                "assign": "rule assignment keys",
                "modulation": "modulation",
            }[segment.kind]
            where = "all layers" if segment.layer < 0 else f"layer {segment.layer + 1}"
            if segment.kind == "conv":
                where = f"conv {segment.layer + 1}"
            detail = f"  ({','.join(segment.names)} per synapse)" if segment.names else ""
            if segment.kind == "modulation":
                detail = f"  ({describe_parameters(segment.names)})"
            shape = "x".join(map(str, segment.shape))
            lines.append(f"  [{part.start}:{part.stop}]  {where} {what} {shape}{detail}")
        lines.append(f"  total: {self.size:,} values")
        return "\n".join(lines)

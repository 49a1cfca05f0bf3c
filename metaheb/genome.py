"""Genome codec: one flat vector per agent <-> per-layer Hebbian coefficient tensors.

Layout, for a network whose layers have weight shapes (out_l, in_l): layer by layer, and within a
layer coefficient by coefficient, each coefficient a row-major ``(out, in)`` block:

    [ A_1 | B_1 | C_1 | D_1 | eta_1 | A_2 | ... | eta_L ]

so that decoding a population ``(P, G)`` is a reshape: every layer's coefficients come out as a
``(P, 5, out, in)`` view of the flat tensor, with no copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import torch

from metaheb.rules import ABCD_LR_ORDER


@dataclass(frozen=True)
class GenomeLayout:
    """Where each layer's coefficients sit in the flat genome."""

    layer_shapes: tuple[tuple[int, int], ...]
    coefficient_names: tuple[str, ...] = ABCD_LR_ORDER

    @property
    def per_synapse(self) -> int:
        return len(self.coefficient_names)

    @property
    def synapses(self) -> int:
        return sum(prod(shape) for shape in self.layer_shapes)

    @property
    def size(self) -> int:
        return self.synapses * self.per_synapse

    def layer_slices(self) -> list[slice]:
        slices, start = [], 0
        for shape in self.layer_shapes:
            stop = start + prod(shape) * self.per_synapse
            slices.append(slice(start, stop))
            start = stop
        return slices

    def decode(self, genomes: torch.Tensor) -> list[torch.Tensor]:
        """``(P, size)`` -> per layer ``(P, per_synapse, out, in)`` views."""
        if genomes.shape[-1] != self.size:
            raise ValueError(f"genome has {genomes.shape[-1]} values, layout needs {self.size}")
        return [
            genomes[:, part].view(genomes.shape[0], self.per_synapse, *shape)
            for part, shape in zip(self.layer_slices(), self.layer_shapes)
        ]

    def encode(self, layers: list[torch.Tensor]) -> torch.Tensor:
        """Inverse of ``decode``: per layer ``(P, per_synapse, out, in)`` -> ``(P, size)``."""
        return torch.cat([layer.reshape(layer.shape[0], -1) for layer in layers], dim=1)

    def describe(self) -> str:
        """One line per layer: its slice of the flat vector and what it holds."""
        lines = []
        for index, (part, (out, inp)) in enumerate(zip(self.layer_slices(), self.layer_shapes)):
            names = ",".join(self.coefficient_names)
            lines.append(
                f"  layer {index + 1}: [{part.start}:{part.stop}]  {inp}->{out}  "
                f"{out * inp} synapses x ({names})"
            )
        lines.append(f"  total: {self.size} values ({self.synapses} synapses x {self.per_synapse})")
        return "\n".join(lines)

"""The plastic MLP of Najarro & Risi (2020): random weights every episode, changed by the rule.

Sizes obs-128-64-act, tanh on every layer (the last one too for the Ant), no bias. Each episode
starts from fresh weights w ~ U(-0.1, 0.1), drawn from the episode's seed so that an agent's
episode does not depend on which batch it ran in. After every step, every layer is updated in
place from the activations of that step's single forward pass (``metaheb.rules``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from metaheb.config import NetworkConfig
from metaheb.genome import GenomeLayout
from metaheb.rules import abcd_lr_, fold_learning_rate

OUTPUT_ACTIVATIONS = {"tanh": torch.tanh, "linear": lambda x: x}


@dataclass(frozen=True)
class HebbianMLP:
    """A bias-free MLP whose weights are state, not parameters; its genome is the rule."""

    sizes: tuple[int, ...]
    output_activation: str = "tanh"
    init_scale: float = 0.1

    @classmethod
    def for_task(cls, config: NetworkConfig, obs_dim: int, act_dim: int, output: str) -> HebbianMLP:
        """The network of ``config`` between a task's observation and action sizes."""
        return cls((obs_dim, *config.hidden, act_dim), output, config.init_scale)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sizes": list(self.sizes), "model": "hebbian", "rule": "ABCD_lr"}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HebbianMLP:
        return cls(tuple(data["sizes"]), data["output_activation"], data["init_scale"])

    @property
    def layer_shapes(self) -> tuple[tuple[int, int], ...]:
        return tuple((out, inp) for inp, out in zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def genome_layout(self) -> GenomeLayout:
        return GenomeLayout(self.layer_shapes)

    def initial_weights(self, seeds: Sequence[int]) -> list[torch.Tensor]:
        """Per layer ``(P, out, in)`` weights ~ U(-init_scale, init_scale), one stream per seed."""
        per_agent = []
        for seed in seeds:
            rng = np.random.default_rng([int(seed), 1])  # stream 1: weights; the env uses the seed
            per_agent.append(
                [
                    rng.uniform(-self.init_scale, self.init_scale, shape)
                    for shape in self.layer_shapes
                ]
            )
        return [
            torch.from_numpy(np.stack([agent[layer] for agent in per_agent]).astype(np.float32))
            for layer in range(len(self.layer_shapes))
        ]

    def rules(self, genomes: torch.Tensor) -> list[torch.Tensor]:
        """Decode ``(P, G)`` genomes into per-layer rule tensors with eta folded into A..D."""
        return [fold_learning_rate(layer) for layer in self.genome_layout.decode(genomes)]

    def forward(self, weights: list[torch.Tensor], obs: torch.Tensor) -> list[torch.Tensor]:
        """Return every layer's activations o_0 (the observation) .. o_L (the output)."""
        activations = [obs]
        last = len(weights) - 1
        for index, layer in enumerate(weights):
            pre = batched_matvec(layer, activations[-1])
            squash = OUTPUT_ACTIVATIONS[self.output_activation] if index == last else torch.tanh
            activations.append(squash(pre))
        return activations

    @staticmethod
    def plasticity_step(
        weights: list[torch.Tensor], activations: list[torch.Tensor], rules: list[torch.Tensor]
    ) -> None:
        """Update every layer in place from one forward pass's activations (pre-update weights)."""
        for layer, rule, pre, post in zip(weights, rules, activations[:-1], activations[1:]):
            abcd_lr_(layer, pre, post, rule)


def batched_matvec(weights: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """``(P, out, in) x (P, in) -> (P, out)``, bit-identical for an agent whatever P is.

    torch's bmm takes a different (gemv) kernel for a batch of one, whose rounding differs from
    the batched kernel; an agent left alone at the end of a batch would then score differently
    than in a batch of two. Duplicating the lone agent keeps every agent on the same kernel.
    """
    if weights.shape[0] == 1:
        return torch.bmm(weights.expand(2, -1, -1).contiguous(), inputs.expand(2, -1).unsqueeze(2))[
            :1, :, 0
        ]
    return torch.bmm(weights, inputs.unsqueeze(2)).squeeze(2)

"""Policy networks: the plastic MLP of Najarro & Risi (2020) and its static-weight baseline.

A bias-free MLP, tanh on every hidden layer, the output squashed by the task's choice (tanh for
the Ant). Two models share it, so that every comparison is like for like:

- ``hebbian``: the genome is a plasticity rule per synapse (``metaheb.rules``). Each episode
  starts from fresh weights, U(-0.1, 0.1) or N(0, 0.024) drawn from the episode's seed (so that an
  agent's episode does not depend on which batch ran it), or co-evolved initial weights taken from
  the genome. After every step, every layer is updated in place from that step's single forward
  pass; optionally each layer is then divided by its max |w| (the paper's CarRacing setting).
- ``static``: the genome is the weights; nothing changes during an episode.

With ``bottleneck = K``, a Hebbian genome holds K shared rules and a synapse-to-rule assignment
instead of a rule per synapse (``metaheb.bottleneck``); the episode then runs exactly as with
per-synapse rules, the coefficients gathered from the bank once per episode.

With ``modulation`` other than none, a global factor m_t per agent multiplies every layer's
update (three-factor plasticity, ``metaheb.modulation``); its evolved parameters end the genome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from metaheb.bottleneck import assign, gather_rules
from metaheb.config import NetworkConfig
from metaheb.encoders import CONV_SHAPES, FEATURES, conv_features
from metaheb.errors import UserError
from metaheb.genome import GenomeLayout, Segment
from metaheb.modulation import Modulator, parameter_names
from metaheb.rules import (
    RULES,
    Terms,
    fused_hebbian_step_,
    fused_update_works,
    hebbian_step_,
    normalise_max_abs_,
)

OUTPUT_ACTIVATIONS = {
    "tanh": torch.tanh,
    "linear": lambda x: x,
    # CarRacing: steering in [-1, 1], gas and brake in [0, 1] (Najarro & Risi 2020)
    "tanh_sigmoid": lambda x: torch.cat([torch.tanh(x[:, :1]), torch.sigmoid(x[:, 1:])], dim=1),
}


@dataclass(frozen=True)
class PolicyNetwork:
    """Network shape and model; everything an agent file needs to rebuild the agent."""

    sizes: tuple[int, ...]
    output_activation: str = "tanh"
    model: str = "hebbian"
    rule: str = "ABCD_lr"
    init: str = "uniform"
    init_scale: float = 0.1
    init_std: float = 0.024
    normalise: str = "none"
    bottleneck: int = 0
    encoder: str = "none"  # "carracing_conv": evolved convolutions before the MLP (encoders.py)
    fused: bool = False  # the compiled rule update (the eager one's bits, faster in long runs)
    # The output layer's post-synaptic activity in its rule: the "squashed" action, or the
    # "linear" output before the squashing (the authors' CarRacing). Older agent files: squashed.
    output_rule_input: str = "squashed"
    modulation: str = "none"  # metaheb.modulation.MODES; older agent files: none
    # The encoder's tanh (encoders.TANHS): agent files from before 2026-12-08 ran torch.tanh.
    encoder_tanh: str = "torch"
    # Evolve and merge (metaheb.merge): each synapse's shared rule, across layers; () per synapse.
    assignment: tuple[int, ...] = ()

    @classmethod
    def for_task(
        cls,
        config: NetworkConfig,
        obs_dim: int,
        act_dim: int,
        output: str,
        output_rule_input: str = "squashed",
    ) -> PolicyNetwork:
        """The network of ``config`` between a task's observation and action sizes.

        ``output_rule_input`` is the task's own choice, used where the config says "task".
        """
        inputs = FEATURES[config.encoder] if config.encoder != "none" else obs_dim
        chosen = config.output_rule_input
        if config.modulation != "none" and config.model != "hebbian":
            raise UserError(
                f"network.modulation={config.modulation} gates plasticity, and a static network "
                "has none: use network.model=hebbian or network.modulation=none"
            )
        return cls(
            (inputs, *config.hidden, act_dim),
            output,
            config.model,
            config.rule,
            config.init,
            config.init_scale,
            config.init_std,
            config.normalise,
            config.bottleneck,
            config.encoder,
            config.fused is True,  # "auto" is the trainer's to decide
            output_rule_input if chosen == "task" else chosen,
            config.modulation,
            encoder_tanh=config.encoder_tanh,
        )

    @classmethod
    def of_task(cls, config: NetworkConfig, task: Any) -> PolicyNetwork:
        """The network of ``config`` for a task object: its sizes, output and rule input."""
        check_encoder(config.encoder, task)
        return cls.for_task(
            config, task.obs_dim, task.act_dim, task.output_activation, task.output_rule_input
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sizes": list(self.sizes), "assignment": list(self.assignment)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicyNetwork:
        assignment = tuple(data.get("assignment", ()))
        return cls(**{**data, "sizes": tuple(data["sizes"]), "assignment": assignment})

    @property
    def merged_rules(self) -> int:
        """The number of shared rules after a merge; 0 before any."""
        return max(self.assignment) + 1 if self.assignment else 0

    @property
    def synapses(self) -> int:
        return sum(out * inp for out, inp in self.layer_shapes)

    @property
    def layer_shapes(self) -> tuple[tuple[int, int], ...]:
        return tuple((out, inp) for inp, out in zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def plastic(self) -> bool:
        return self.model == "hebbian"

    @property
    def genome_layout(self) -> GenomeLayout:
        layers = list(enumerate(self.layer_shapes))
        if not self.plastic:
            weights = tuple(Segment("weights", k, shape) for k, shape in layers)
            return GenomeLayout(weights + self.conv_segments)
        rule = RULES[self.rule]
        if self.assignment:  # merged: the rules only, their synapses fixed by the assignment
            segments = [Segment("bank", -1, (self.merged_rules, rule.size), rule.coefficients)]
        elif self.bottleneck:
            segments = [Segment("bank", -1, (self.bottleneck, rule.size), rule.coefficients)]
            segments += [Segment("assign", k, shape) for k, shape in layers]
        else:
            segments = [Segment("rule", k, (rule.size, *s), rule.coefficients) for k, s in layers]
        if self.init == "coevolved":
            segments += [Segment("init", k, shape) for k, shape in layers]
        segments += self.conv_segments
        names = parameter_names(self.modulation, self.hidden_units)
        if names:
            segments.append(Segment("modulation", -1, (len(names),), names))
        return GenomeLayout(tuple(segments))

    @property
    def hidden_units(self) -> int:
        return sum(self.sizes[1:-1])

    @property
    def conv_segments(self) -> tuple[Segment, ...]:
        shapes = CONV_SHAPES.get(self.encoder, ())
        return tuple(Segment("conv", k, shape) for k, shape in enumerate(shapes))

    def start_episode(
        self, genomes: torch.Tensor, seeds: Sequence[int]
    ) -> tuple[list[torch.Tensor], list[Terms]]:
        """Per layer: the episode's starting weights ``(P, out, in)`` and its folded rule terms."""
        decoded = self.genome_layout.decode(genomes)
        kernels = [k.contiguous() for k in decoded.get("conv", [])]  # fixed during the episode
        if not self.plastic:
            return [w.contiguous() for w in decoded["weights"]] + kernels, []
        rule = RULES[self.rule]
        terms = [rule.fold(coefficients) for coefficients in self.rule_coefficients(decoded)]
        if self.init == "coevolved":
            weights = [w.clone() for w in decoded["init"]]  # the rule writes into these
        else:
            weights = self.random_weights(seeds)
        return weights + kernels, terms

    def modulator(self, genomes: torch.Tensor) -> Modulator | None:
        """The episode's modulation of these agents, or None without ``modulation``."""
        if self.modulation == "none":
            return None
        return Modulator(self.modulation, self.genome_layout.decode(genomes)["modulation"][0])

    def rule_coefficients(self, decoded: dict[str, list[torch.Tensor]]) -> list[torch.Tensor]:
        """Per layer ``(P, k, out, in)``: the genome's own, or gathered from the shared bank by
        the evolved assignment keys (bottleneck) or the fixed assignment (merged)."""
        if self.assignment:
            agents = decoded["bank"][0].shape[0]
            indices = torch.tensor(self.assignment, dtype=torch.long).expand(agents, -1)
        elif self.bottleneck:
            keys = torch.cat([layer.flatten(1) for layer in decoded["assign"]], dim=1)
            indices = assign(keys, self.bottleneck)
        else:
            return decoded["rule"]
        sizes = [out * inp for out, inp in self.layer_shapes]
        return [
            gather_rules(decoded["bank"][0], part, shape)
            for part, shape in zip(indices.split(sizes, dim=1), self.layer_shapes)
        ]

    def random_weights(self, seeds: Sequence[int]) -> list[torch.Tensor]:
        """Fresh weights per agent from its own seed: U(-scale, scale) or N(0, std)."""
        per_agent = []
        for seed in seeds:
            rng = np.random.default_rng([int(seed), 1])  # stream 1: weights; the env uses the seed
            if self.init == "normal":
                per_agent.append([rng.normal(0.0, self.init_std, s) for s in self.layer_shapes])
            else:
                scale = self.init_scale
                per_agent.append([rng.uniform(-scale, scale, s) for s in self.layer_shapes])
        return [
            torch.from_numpy(np.stack([agent[layer] for agent in per_agent]).astype(np.float32))
            for layer in range(len(self.layer_shapes))
        ]

    def forward(self, weights: list[torch.Tensor], obs: torch.Tensor) -> list[torch.Tensor]:
        """Return every layer's activations o_0 (the input features) .. o_L (the output).

        o_L is what the output layer's rule sees: the squashed output, or the linear one with
        ``output_rule_input = "linear"`` (``actions`` squashes it then). With an encoder,
        ``weights`` ends with the agents' convolution kernels and ``obs`` is a batch of frames;
        o_0 is then the encoder's features.
        """
        return self.forward_features(weights, self.encode(weights, obs))

    def encode(self, weights: list[torch.Tensor], obs: torch.Tensor) -> torch.Tensor:
        """o_0: the encoder's features of a batch of frames (its kernels end ``weights``), or the
        observation itself without an encoder. The kernels are fixed during an episode, so the
        features do not depend on when in a step they are computed."""
        if self.encoder == "none":
            return obs
        return conv_features(
            self.encoder, obs, weights[len(self.layer_shapes) :], self.encoder_tanh
        )

    def forward_features(
        self, weights: list[torch.Tensor], features: torch.Tensor
    ) -> list[torch.Tensor]:
        """``forward`` from the encoded input o_0 on: the plastic layers only."""
        activations = [features]
        last = len(self.layer_shapes) - 1
        for index, layer in enumerate(weights[: len(self.layer_shapes)]):
            pre = batched_matvec(layer, activations[-1])
            if index < last:
                activations.append(torch.tanh(pre))
            elif self.output_rule_input == "linear":
                activations.append(pre)
            else:
                activations.append(OUTPUT_ACTIVATIONS[self.output_activation](pre))
        return activations

    def actions(self, activations: list[torch.Tensor]) -> torch.Tensor:
        """The actions of a forward pass: its output, squashed by the task's activation."""
        if self.output_rule_input == "linear":
            return OUTPUT_ACTIVATIONS[self.output_activation](activations[-1])
        return activations[-1]

    def plasticity_step(
        self,
        weights: list[torch.Tensor],
        activations: list[torch.Tensor],
        terms: list[Terms],
        modulation: torch.Tensor | None = None,
    ) -> None:
        """Update every layer in place from one forward pass's activations (pre-update weights),
        each agent's update multiplied by its ``modulation`` m_t ``(P,)`` when given."""
        normalise = self.normalise == "max_abs"
        fused = self.fused and fused_update_works()
        for layer, rule, pre, post in zip(weights, terms, activations[:-1], activations[1:]):
            if fused:
                fused_hebbian_step_(layer, pre, post, rule, modulation, normalise)
                continue
            hebbian_step_(layer, pre, post, rule, modulation)
            if normalise:
                normalise_max_abs_(layer)


def batched_matvec(weights: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """``(P, out, in) x (P, in) -> (P, out)``, bit-identical for an agent whatever P is.

    Written as row vector times W^T, ``(P, 1, in) @ (P, in, out)``: measured 2-7x faster than
    ``W @ x`` on CPU for these shapes. torch takes a different kernel for a batch of one, whose
    rounding differs; an agent left alone at the end of a batch would then score differently
    than in a batch of two, so a lone agent is duplicated to stay on the batched kernel.
    """
    if weights.shape[0] == 1:
        return batched_matvec(weights.expand(2, -1, -1), inputs.expand(2, -1))[:1]
    return torch.bmm(inputs.unsqueeze(1), weights.transpose(1, 2)).squeeze(1)


def check_encoder(encoder: str, task: Any) -> None:
    """The network's input stage must be the one the task needs (``task.encoder``): pixels need
    their convolutions, a state vector none."""
    if encoder == task.encoder:
        return
    name = task.config.name
    if task.encoder == "none":
        raise UserError(
            f"network.encoder {encoder!r} reads pixels; task.name={name} gives a state vector: "
            "use network.encoder=none"
        )
    raise UserError(
        f"task.name={name} gives pixels: use network.encoder={task.encoder} (envs/carracing.toml)"
    )

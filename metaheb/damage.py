"""Damage during an episode: weight ablation and failed actuators.

Morphology damage is data (``envs/ant/*.xml``, ``metaheb.tasks.morphologies``); this module holds
what happens to a running agent:

- weight ablation (Najarro & Risi 2020, recovery experiment): at step ``ablation_step`` a fraction
  of the weights of the chosen layers is set to zero, each agent's weights chosen at random from
  its own episode seed (so an agent's episode does not depend on its batch). The plastic rule
  keeps running afterwards, so a Hebbian network can regrow what was cut; a static network
  cannot.
- failed actuators: the listed motors receive a control of 0 for the whole episode (the same as
  a gear of 0: the motor exerts no torque), whatever the network outputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from metaheb.config import TaskConfig


def ablation_due(config: TaskConfig, step: int) -> bool:
    return config.ablation_fraction > 0 and step == config.ablation_step


def ablate_(
    weights: list[torch.Tensor], seeds: Sequence[int], config: TaskConfig, layer_count: int
) -> None:
    """Zero ``ablation_fraction`` of each agent's weights in the chosen layers, in place."""
    layers = config.ablation_layers or list(range(layer_count))
    for agent, seed in enumerate(seeds):
        rng = np.random.default_rng([int(seed), 2])  # stream 2: ablation (1: initial weights)
        for layer in layers:
            shape = weights[layer].shape[1:]
            cut = torch.from_numpy(rng.random(shape) < config.ablation_fraction)
            weights[layer][agent].masked_fill_(cut, 0.0)


def disable_actuators(actions: np.ndarray, config: TaskConfig) -> np.ndarray:
    """Actions with the failed motors' controls set to 0."""
    if not config.failed_actuators:
        return actions
    actions = actions.copy()
    actions[:, config.failed_actuators] = 0.0
    return actions

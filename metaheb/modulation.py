"""Neuromodulated (three-factor) plasticity: one global signal m_t gating every synapse's rule.

The rule's update of ``metaheb.rules``, dw_ij = eta_ij (A_ij o_i o_j + B_ij o_i + C_ij o_j + D_ij)
for ABCD_lr, becomes m_t dw_ij, with one m_t per agent and step (``network.modulation``):

    none     m_t = 1: no factor, the update bit for bit as without modulation
    reward   m_t = g e_t
    neuron   m_t = tanh(v . h_t / sqrt(H) + b)
    both     m_t = tanh(v . h_t / sqrt(H) + u e_t + b)

with the reward-prediction error (Schultz, Dayan & Montague 1997) in units of its own size:

    delta_t = R_t - rbar_{t-1}           rbar_t = rbar_{t-1} + alpha delta_t
    s_t = s_{t-1} + alpha (|delta_t| - s_{t-1})      e_t = delta_t / (s_t + 1e-8)

R_t is the task's reward since the previous update (``Score.reward``: the Ant's forward progress
per step, a car's return per frame), summed over the frames an action was held; rbar and s start
at 0 and track R and |delta| with the evolved rate alpha = sigmoid(a) in (0, 1), a time constant
of 1/alpha updates. This is the reward-gated Hebbian learning of three-factor rules (Fremaux &
Gerstner 2016). Why e_t rather than delta_t itself: an Ant's progress is ~0.01 m a step, so with
a genome drawn N(0, 1) g delta_t would start near 0 and freeze plasticity, and the gain that suits
one task's reward units would not suit another's; |e_t| <= 1/alpha, since s_t >= alpha |delta_t|.
h_t is every
hidden layer's activity of step t's forward pass, concatenated, read by one evolved modulatory
neuron as in neuromodulated plastic networks (Soltoggio et al. 2008; Miconi et al. 2019,
"Backpropamine"), whose tanh keeps m_t within (-1, 1): plasticity can be switched off, or
reversed (anti-Hebbian), by the network's own state. The readout is divided by sqrt(H), the H
hidden units' fan-in, so that a readout drawn N(0, 1) drives the neuron by O(1) rather than by
O(sqrt(H)), which would start every agent with a saturated, sign-flipping m_t.

The evolved parameters are one genome segment shared by all layers, appended after every other
segment (so a genome without modulation is laid out as before): reward [g, a]; neuron
[v_1..v_H, b]; both [v_1..v_H, u, b, a], H the number of hidden units. They are not penalised by
``evolve.l2_on = "coefficients"``, which shrinks the paper's rule coefficients only.
"""

from __future__ import annotations

import numpy as np
import torch

MODES = ("none", "reward", "neuron", "both")


def parameter_names(mode: str, hidden_units: int) -> tuple[str, ...]:
    """The evolved parameters of a mode, in genome order (empty for ``none``)."""
    readout = tuple(f"v{k + 1}" for k in range(hidden_units))
    return {
        "none": (),
        "reward": ("gain", "rate"),
        "neuron": (*readout, "bias"),
        "both": (*readout, "rpe", "bias", "rate"),
    }[mode]


def describe_parameters(names: tuple[str, ...]) -> str:
    """A modulation segment's parameters (``parameter_names``) in words, for ``metaheb inspect``."""
    units = sum(name.startswith("v") for name in names)
    if not units:
        return "g, a: m = g e, e the reward-prediction error over its running size, rate sigmoid(a)"
    if "rpe" not in names:
        return f"v over {units} hidden units, b: m = tanh(v.h / sqrt({units}) + b)"
    return f"v over {units} hidden units, u, b, a: m = tanh(v.h / sqrt({units}) + u e + b)"


class Modulator:
    """The modulation of a batch of agents through one episode (see the module docstring).

    ``observe`` is called after every env step with the step's rewards, ``factor`` at every
    plastic update with that step's activations, ``keep`` when agents leave the batch.
    """

    def __init__(self, mode: str, parameters: torch.Tensor) -> None:
        if mode not in MODES[1:]:
            raise ValueError(f"no modulation to run for mode {mode!r}")
        self.mode = mode
        self.parameters = parameters  # (P, n), in parameter_names order
        agents = parameters.shape[0]
        self.uses_reward = mode in ("reward", "both")
        self.baseline = torch.zeros(agents, dtype=parameters.dtype)  # rbar
        self.size = torch.zeros(agents, dtype=parameters.dtype)  # s, the running mean |delta|
        self.pending = torch.zeros(agents, dtype=parameters.dtype)  # R since the last update
        self.last = torch.full((agents,), float("nan"), dtype=parameters.dtype)  # m, for traces

    def observe(self, rewards: np.ndarray) -> None:
        """Add each agent's reward of the step just taken to its R."""
        if self.uses_reward:
            self.pending += torch.from_numpy(np.asarray(rewards)).to(self.pending.dtype)

    def factor(self, activations: list[torch.Tensor]) -> torch.Tensor:
        """m_t for every agent ``(P,)``, from this step's activations and the rewards since the
        previous update; the baseline moves on and R restarts from 0."""
        if self.uses_reward:
            delta = self.pending - self.baseline
            rate = torch.sigmoid(self.parameters[:, -1])
            self.baseline = self.baseline + rate * delta
            self.size = self.size + rate * (delta.abs() - self.size)
            error = delta / (self.size + 1e-8)  # e_t
            self.pending = torch.zeros_like(self.pending)
        if self.mode == "reward":
            modulation = self.parameters[:, 0] * error
        else:
            hidden = torch.cat(activations[1:-1], dim=1)  # h_t: (P, H)
            units = hidden.shape[1]
            drive = (hidden * self.parameters[:, :units]).sum(dim=1) / units**0.5
            if self.mode == "both":
                drive = drive + self.parameters[:, units] * error + self.parameters[:, units + 1]
            else:
                drive = drive + self.parameters[:, units]
            modulation = torch.tanh(drive)
        self.last = modulation
        return modulation

    def keep(self, index: torch.Tensor) -> None:
        """Keep only the agents at ``index`` (the others' episodes ended)."""
        self.parameters = self.parameters[index]
        self.baseline = self.baseline[index]
        self.size = self.size[index]
        self.pending = self.pending[index]
        self.last = self.last[index]

"""Genomic bottleneck: K shared Hebbian rules, every synapse assigned to one of them.

Palm, Najarro & Risi (2020), "Testing the genomic bottleneck hypothesis in Hebbian
meta-learning": instead of one rule per synapse, the genome holds a bank of K rules and an
assignment of synapses to rules, both evolved together.

Assignment encoding chosen here: one real "key" per synapse, read as a shift from the synapse's
home rule. Synapse s (counted across all layers, row-major (post, pre) within a layer) has the
home position h_s = (s + 1/2) K / S among S synapses, and uses rule

    r_s = clamp(floor(h_s + key_s), 0, K - 1)

Why this encoding:
- it is one value per synapse (a categorical encoding with K logits per synapse would make the
  K = 16 genome larger than the per-synapse one, defeating the bottleneck);
- the two extremes are exact: K = 1 gives every synapse the same rule; K = S with keys in
  [-1/2, 1/2) gives every synapse a rule of its own, the per-synapse genome (both tested);
- home positions group consecutive synapses, i.e. the inputs of neighbouring post-synaptic
  neurons, so the search starts from "neuron types" sharing a rule and moves synapses to
  neighbouring rules by small key changes, which ES can discover by small perturbations. A key
  far from 0 reaches any rule; a hard assignment means the fitness is piecewise constant in a
  key, which ES smooths by its Gaussian perturbations.
"""

from __future__ import annotations

import torch


def home_positions(synapses: int, bank_size: int) -> torch.Tensor:
    """h_s = (s + 1/2) K / S for s = 0 .. S-1, float64 so K = S maps s to exactly s + 1/2."""
    return (torch.arange(synapses, dtype=torch.float64) + 0.5) * (bank_size / synapses)


def assign(keys: torch.Tensor, bank_size: int) -> torch.Tensor:
    """``(P, S)`` keys -> ``(P, S)`` rule indices r_s = clamp(floor(h_s + key_s), 0, K - 1)."""
    positions = home_positions(keys.shape[1], bank_size) + keys.double()
    return positions.floor().clamp_(0, bank_size - 1).long()


def gather_rules(bank: torch.Tensor, indices: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """Bank ``(P, K, k)`` and a layer's indices ``(P, out*in)`` -> coefficients (P, k, out, in)."""
    agents, _, per_synapse = bank.shape
    expanded = indices.unsqueeze(2).expand(-1, -1, per_synapse)
    chosen = torch.gather(bank, 1, expanded)  # (P, out*in, k)
    return chosen.transpose(1, 2).reshape(agents, per_synapse, *shape)

"""Genomic bottleneck: the assignment encoding, its two extremes, and evolution through train."""

import torch

from metaheb.bottleneck import assign, gather_rules, home_positions
from metaheb.networks import PolicyNetwork

SIZES = (5, 4, 3)  # 20 + 12 = 32 synapses


def test_home_positions_spread_synapses_evenly_over_the_bank():
    indices = assign(torch.zeros(1, 32), 4)[0]
    assert indices.tolist() == [k for k in range(4) for _ in range(8)]
    assert home_positions(32, 32).tolist() == [s + 0.5 for s in range(32)]


def test_keys_shift_a_synapse_to_another_rule_and_clamp_at_the_ends():
    keys = torch.zeros(1, 32)
    keys[0, 0] = 2.0  # home 0.0625 + 2 -> rule 2
    keys[0, 1] = -5.0  # clamped to rule 0
    keys[0, 31] = 9.0  # clamped to rule 3
    indices = assign(keys, 4)[0]
    assert (indices[0], indices[1], indices[31]) == (2, 0, 3)


def test_gather_builds_per_synapse_coefficients_from_the_bank():
    bank = torch.arange(2 * 3 * 5, dtype=torch.float32).view(2, 3, 5)  # P=2, K=3, k=5
    indices = torch.tensor([[0, 2, 1, 1], [2, 2, 0, 1]])
    coefficients = gather_rules(bank, indices, (2, 2))
    assert coefficients.shape == (2, 5, 2, 2)
    assert torch.equal(coefficients[0, :, 0, 1], bank[0, 2])
    assert torch.equal(coefficients[1, :, 1, 0], bank[1, 0])


def bottleneck_and_per_synapse(bank_size, bank, keys):
    """Run one episode step of both networks from the same weights and inputs."""
    shared = PolicyNetwork(SIZES, bottleneck=bank_size)
    plain = PolicyNetwork(SIZES)
    genome = torch.cat([bank.flatten(), keys.flatten()])[None]
    weights, terms = shared.start_episode(genome, [3])
    indices = assign(keys[None], bank_size)
    per_synapse = [
        gather_rules(bank[None], part, shape)
        for part, shape in zip(indices.split([20, 12], dim=1), plain.layer_shapes)
    ]
    plain_genome = torch.cat([c.flatten() for c in per_synapse])[None]
    plain_weights, plain_terms = plain.start_episode(plain_genome, [3])
    obs = torch.randn(1, 5)
    for network, w, t in ((shared, weights, terms), (plain, plain_weights, plain_terms)):
        network.plasticity_step(w, network.forward(w, obs), t)
    return weights, plain_weights, plain_genome


def test_one_shared_rule_is_the_same_rule_at_every_synapse():
    bank = torch.randn(1, 5)
    weights, plain_weights, plain_genome = bottleneck_and_per_synapse(1, bank, torch.randn(32))
    assert all(torch.equal(a, b) for a, b in zip(weights, plain_weights))
    for layer in PolicyNetwork(SIZES).genome_layout.decode(plain_genome)["rule"]:
        per_synapse = layer[0].flatten(1).T  # (synapses, 5)
        assert torch.equal(per_synapse, bank.expand_as(per_synapse))  # every synapse: rule 0


def test_one_rule_per_synapse_is_the_per_synapse_genome():
    bank = torch.randn(32, 5)
    keys = torch.rand(32) - 0.5  # within half a bin of home: the identity assignment
    weights, plain_weights, _ = bottleneck_and_per_synapse(32, bank, keys)
    assert all(torch.equal(a, b) for a, b in zip(weights, plain_weights))
    assert assign(keys[None], 32)[0].tolist() == list(range(32))


def test_bottleneck_genome_size_for_the_ant():
    network = PolicyNetwork((27, 128, 64, 8), bottleneck=16)
    assert network.genome_layout.size == 16 * 5 + 12_160

"""Weight-init schemes, the static baseline, normalisation, and every model through `train`."""

import numpy as np
import pytest
import torch

from metaheb.config import load_config
from metaheb.evolve.trainer import train
from metaheb.networks import PolicyNetwork
from metaheb.rules import RULES
from metaheb.runs import load_agent, read_metrics

SIZES = (27, 16, 8)


def test_normal_init_has_the_papers_spread():
    weights = PolicyNetwork((27, 128, 64, 8), init="normal").random_weights(range(8))
    flat = torch.cat([w.flatten() for w in weights])
    assert abs(float(flat.std()) - 0.024) < 0.001
    assert abs(float(flat.mean())) < 0.001


def test_coevolved_init_starts_from_the_genome_and_never_writes_it():
    network = PolicyNetwork(SIZES, init="coevolved")
    genomes = torch.randn(3, network.genome_layout.size)
    before = genomes.clone()
    weights, terms = network.start_episode(genomes, [1, 2, 3])
    decoded = network.genome_layout.decode(genomes)
    assert all(torch.equal(w, init) for w, init in zip(weights, decoded["init"]))
    activations = network.forward(weights, torch.randn(3, 27))
    network.plasticity_step(weights, activations, terms)
    assert not torch.equal(weights[0], decoded["init"][0])
    assert torch.equal(genomes, before)


def test_static_network_uses_the_genome_as_weights():
    network = PolicyNetwork(SIZES, model="static")
    genomes = torch.randn(2, network.genome_layout.size)
    weights, terms = network.start_episode(genomes, [0, 0])
    assert terms == []
    obs = torch.randn(2, 27)
    hidden = torch.tanh(genomes[:, :432].view(2, 16, 27) @ obs.unsqueeze(2)).squeeze(2)
    expected = torch.tanh(genomes[:, 432:].view(2, 8, 16) @ hidden.unsqueeze(2)).squeeze(2)
    torch.testing.assert_close(network.forward(weights, obs)[-1], expected)


def test_max_abs_normalisation_divides_each_agents_layer_by_its_peak():
    network = PolicyNetwork(SIZES, normalise="max_abs")
    genomes = torch.randn(2, network.genome_layout.size)
    weights, terms = network.start_episode(genomes, [4, 5])
    network.plasticity_step(weights, network.forward(weights, torch.randn(2, 27)), terms)
    for layer in weights:
        assert torch.allclose(layer.abs().amax(dim=(1, 2)), torch.ones(2))


MODELS = [
    *(["network.model=hebbian", f"network.rule={name}"] for name in RULES),
    ["network.init=normal"],
    ["network.init=coevolved"],
    ["network.normalise=max_abs"],
    ["network.bottleneck=16"],
    ["network.bottleneck=4", "network.init=coevolved"],
    ["network.model=static"],
]


@pytest.mark.parametrize("overrides", MODELS, ids=lambda o: ",".join(x.split("=")[1] for x in o))
def test_every_model_evolves_the_ant_through_train(tmp_path, local_ray, overrides):
    config = load_config(
        None,
        [
            f"run.out_dir={tmp_path}",
            "run.name=job",
            "task.max_steps=40",
            "task.burn_in=5",
            "network.hidden=[8]",
            "evolve.popsize=4",
            "evolve.generations=2",
            *overrides,
        ],
    )
    run = train(config, echo=lambda line: None)
    metrics = read_metrics(run)
    assert len(metrics) == 2 and all(np.isfinite(m["mean"]) for m in metrics)
    agent = load_agent(run / "agents" / "best.safetensors")
    network = PolicyNetwork.from_dict(agent.meta["network"])
    assert network == PolicyNetwork.for_task(config.network, 28, 8, "tanh")
    assert agent.genome.shape == (network.genome_layout.size,)

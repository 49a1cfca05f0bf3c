"""Evolve and merge (Pedersen & Risi 2021): K-means over the centre's per-synapse rules during
evolution, the searcher going on over the shared rules; exact across a merge and a resume."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from metaheb.config import load_config
from metaheb.errors import UserError
from metaheb.evolve.stage import merge_center
from metaheb.evolve.trainer import resume, train
from metaheb.merge import merge_rules
from metaheb.networks import PolicyNetwork
from metaheb.rollout import rollout_batch
from metaheb.rules import RULES
from metaheb.runs import load_agent, read_metrics
from metaheb.tasks import make_task
from tests.test_resume import Stop, comparable, stop_after
from tests.test_rules import reference_step

SMALL = [
    "task.max_steps=40",
    "task.burn_in=5",
    "network.hidden=[8]",
    "evolve.popsize=6",
    "evolve.generations=6",
    "evolve.eval_every=2",
    "evolve.eval_episodes=2",
    "evolve.eval_max_steps=50",
    "evolve.merge_rules=[40, 10]",
    "evolve.merge_every=2",
]


def network_and_task(*overrides):
    config = load_config(None, [*SMALL, *overrides])
    task = make_task(config.task)
    return config, PolicyNetwork.of_task(config.network, task), task


def centre_of_few_rules(network, distinct: int, seed: int = 0) -> torch.Tensor:
    """A per-synapse genome whose synapses hold only ``distinct`` different rule vectors."""
    generator = torch.Generator().manual_seed(seed)
    rules = torch.randn(distinct, RULES[network.rule].size, generator=generator)
    which = torch.randint(distinct, (network.synapses,), generator=generator)
    vectors, parts, start = rules[which], [], 0
    for out, inp in network.layer_shapes:
        layer = vectors[start : start + out * inp]  # (out*in, k), row-major synapses
        parts.append(layer.T.reshape(1, -1, out, inp))
        start += out * inp
    return network.genome_layout.encode({"rule": parts})[0]


def test_the_centroids_are_the_means_of_their_members_and_the_merge_is_seeded():
    vectors = np.random.default_rng(1).normal(size=(500, 5)).astype(np.float32)
    merged = merge_rules(vectors, 12, seed=3)
    assert merged.rules.shape == (12, 5) and sorted(set(merged.assignment)) == list(range(12))
    for k in range(12):
        mean = vectors[merged.assignment == k].astype(np.float64).mean(axis=0)
        assert np.array_equal(merged.rules[k], mean.astype(np.float32))
    again = merge_rules(vectors, 12, seed=3)
    assert np.array_equal(again.assignment, merged.assignment)
    assert np.array_equal(again.rules, merged.rules)


def test_a_merge_of_identical_rules_changes_no_fitness_bit(local_ray):
    config, network, task = network_and_task()
    centre = centre_of_few_rules(network, distinct=4)
    merged_network, merged_centre = merge_center(network, centre, 40, config)
    assert merged_network.merged_rules == 4  # no more rules than distinct vectors
    assert merged_centre.numel() == 4 * 5
    seeds = [11, 12, 13]
    before = rollout_batch(task, network, centre.expand(3, -1), seeds)
    after = rollout_batch(task, merged_network, merged_centre.expand(3, -1), seeds)
    assert np.array_equal(before.fitness, after.fitness)


def test_a_merged_genome_decodes_to_the_coefficients_its_assignment_implies():
    config, network, _ = network_and_task()
    centre = torch.randn(network.genome_layout.size, generator=torch.Generator().manual_seed(2))
    merged, genome = merge_center(network, centre, 10, config)
    bank = genome.reshape(10, 5)
    assignment = torch.tensor(merged.assignment)
    coefficients = merged.rule_coefficients(merged.genome_layout.decode(genome[None]))
    start = 0
    for layer, (out, inp) in zip(coefficients, merged.layer_shapes):
        implied = bank[assignment[start : start + out * inp]].T.reshape(5, out, inp)
        assert torch.equal(layer[0], implied)
        start += out * inp
    assert start == merged.synapses == len(merged.assignment)


def test_a_merged_networks_update_follows_the_equation_in_float64():
    config, network, _ = network_and_task()
    centre = torch.randn(network.genome_layout.size, generator=torch.Generator().manual_seed(4))
    merged, genome = merge_center(network, centre, 10, config)
    genomes = genome.expand(2, -1)
    weights, terms = merged.start_episode(genomes, [5, 6])
    generator = torch.Generator().manual_seed(5)
    activations = [torch.tanh(torch.randn(2, size, generator=generator)) for size in merged.sizes]
    expected = [
        reference_step(RULES[merged.rule], w, pre, post, c)
        for w, pre, post, c in zip(
            weights,
            activations[:-1],
            activations[1:],
            merged.rule_coefficients(merged.genome_layout.decode(genomes)),
        )
    ]
    merged.plasticity_step(weights, activations, terms)
    for got, want in zip(weights, expected):
        torch.testing.assert_close(got.double(), want, atol=1e-5, rtol=1e-5)


def test_the_fused_update_serves_merged_rules_with_the_eager_bits(local_ray):
    config, network, task = network_and_task("network.normalise=max_abs")
    centre = torch.randn(network.genome_layout.size, generator=torch.Generator().manual_seed(6))
    merged, genome = merge_center(network, centre, 10, config)
    fused = dataclasses.replace(merged, fused=True)
    eager = rollout_batch(task, merged, genome.expand(2, -1), [1, 2]).fitness
    assert np.array_equal(rollout_batch(task, fused, genome.expand(2, -1), [1, 2]).fitness, eager)


def test_a_run_merges_on_schedule_and_its_agents_replay(tmp_path, local_ray):
    lines = []
    run = train(load_config(None, [*SMALL, f"run.out_dir={tmp_path}", "run.name=m"]), lines.append)
    merges = [(r["generation"], r["merge"]) for r in read_metrics(run) if "merge" in r]
    assert [(g, m["rules"], m["genome"]) for g, m in merges] == [(1, 40, 200), (3, 10, 50)]
    assert all("heldout" in m for _, m in merges)
    assert sum("merged into" in line for line in lines) == 2
    center = load_agent(run / "agents" / "center.safetensors")
    network = PolicyNetwork.from_dict(center.meta["network"])
    assert network.merged_rules == 10 and center.genome.size == 50
    task = make_task(load_config(None, SMALL).task)
    score = rollout_batch(task, network, torch.from_numpy(center.genome)[None], [3])
    assert np.isfinite(score.fitness).all()


@pytest.mark.parametrize("cut_after", [2, 3])  # checkpointed before / after the first merge
def test_a_run_resumed_across_a_merge_matches_an_unbroken_one(tmp_path, local_ray, cut_after):
    overrides = [*SMALL, f"run.out_dir={tmp_path}"]
    whole = train(load_config(None, [*overrides, "run.name=whole"]), echo=lambda line: None)
    with pytest.raises(Stop):
        train(load_config(None, [*overrides, "run.name=cut"]), echo=stop_after(cut_after))
    resume(tmp_path / "cut", echo=lambda line: None)
    assert comparable(tmp_path / "cut") == comparable(whole)
    merges = [[r.get("merge") for r in read_metrics(run)] for run in (tmp_path / "cut", whole)]
    assert merges[0] == merges[1]
    agents = [
        load_agent(run / "agents" / "center.safetensors") for run in (tmp_path / "cut", whole)
    ]
    assert agents[0].meta == agents[1].meta and np.array_equal(agents[0].genome, agents[1].genome)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["evolve.merge_every=0"], "needs when to merge"),
        (["evolve.merge_at=[2, 4]"], "one of the two"),
        (["evolve.merge_every=0", "evolve.merge_at=[4, 2]"], "must strictly rise"),
        (["evolve.merge_rules=[10, 40]"], "must strictly fall"),
        (["evolve.merge_every=0", "evolve.merge_at=[2]"], "1 generations for 2 merges"),
        (["evolve.algorithm=cmaes"], "evolve.algorithm=openes"),
        (["network.bottleneck=16"], "network.bottleneck=0"),
        (["network.model=static"], "network.model=hebbian"),
        (["evolve.merge_rules=[]"], "need evolve.merge_rules"),
    ],
)
def test_a_bad_merge_schedule_is_one_line(overrides, message):
    with pytest.raises(UserError, match=message):
        load_config(None, [*SMALL, *overrides])


def test_merging_into_as_many_rules_as_synapses_is_refused(tmp_path):
    config = load_config(None, [*SMALL, f"run.out_dir={tmp_path}", "evolve.merge_rules=[288, 10]"])
    with pytest.raises(UserError, match="fewer rules than synapses"):
        train(config, echo=lambda line: None)


def test_a_merged_run_is_reported_as_its_own_arm_beside_per_synapse_rules(tmp_path, local_ray):
    from metaheb.report import make_report

    overrides = [*SMALL, f"run.out_dir={tmp_path}"]
    merged = train(load_config(None, [*overrides, "run.name=m"]), echo=lambda line: None)
    plain = [o for o in overrides if not o.startswith("evolve.merge")]
    per_synapse = train(load_config(None, [*plain, "run.name=p"]), echo=lambda line: None)
    out = tmp_path / "report"
    make_report(
        [str(merged), str(per_synapse)],
        out,
        episodes=2,
        morphologies=["intact"],
        levels=[0.0],
        agent="center",
    )
    report = json.loads((out / "report.json").read_text())
    assert [arm["arm"] for arm in report["arms"]] == [
        "hebbian ABCD_lr merged to 10",
        "hebbian ABCD_lr",
    ]
    assert [agent["note"] for agent in report["agents"]] == ["", ""]  # centres: all merges done
    assert {(c["arm"], c["baseline"]) for c in report["comparisons"]} == {
        ("hebbian ABCD_lr merged to 10", "hebbian ABCD_lr")
    }


def test_an_agent_saved_before_the_last_merge_is_noted_beside_its_arm():
    from metaheb.report.grid import rules_note
    from metaheb.runs import Agent

    config = {"evolve": {"merge_rules": [40, 10]}}

    def agent(network: dict) -> Agent:
        return Agent(np.zeros(1, np.float32), {"network": network})

    assert rules_note(config, agent({"assignment": [0, 9, 3]})) == ""
    assert rules_note(config, agent({"assignment": [0, 39, 3]})) == (
        "this agent: 40 rules, saved before the merge to 10"
    )
    assert rules_note(config, agent({})) == (
        "this agent: a rule per synapse, saved before the merge to 10"
    )
    assert rules_note(config, agent({"bottleneck": 64})) == (
        "this agent: 64 rules, saved before the merge to 10"
    )
    assert rules_note({"evolve": {}}, agent({})) == ""  # no merge: the label says it all

"""What the generation loop evolves with: a network, its evaluators, problem and searcher.

A run has one stage, or one per merge (evolve and merge, ``metaheb.merge``): a merge clusters the
search centre's per-synapse rules into fewer shared ones, and the next stage evolves those. Its
network holds the synapse-to-rule assignment, so its genome is the rules alone; its OpenES goes
on from the merged centre with the lr and sigma the schedule had reached and the same random
stream (OpenES keeps no other state: no momentum to carry over or re-set), and its problem keeps
the episode-seed generator. Nothing else changes, so a run resumed after a merge (the checkpoint
holds the assignment) gives the numbers of an unbroken one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch

from metaheb.config import Config
from metaheb.evolve.evaluator import RayEvaluator
from metaheb.evolve.heldout import HeldOutEvaluation
from metaheb.evolve.problem import RolloutProblem
from metaheb.evolve.searchers import make_searcher, search_center
from metaheb.merge import merge_rules
from metaheb.networks import PolicyNetwork


@dataclass
class Stage:
    network: PolicyNetwork
    problem: RolloutProblem
    searcher: Any
    heldout: HeldOutEvaluation
    agent_meta: dict[str, Any]  # what every agent file of this stage says of itself


def build_stage(config: Config, network: PolicyNetwork, num_workers: int) -> Stage:
    evaluator = RayEvaluator(config.task, network, num_workers)
    problem = RolloutProblem(
        network.genome_layout.size, evaluator, config.run.seed, config.evolve.seeding
    )
    searcher = make_searcher(config.evolve, problem, config.run.seed, network.genome_layout)
    meta = {"task": vars(config.task), "network": network.to_dict(), "run_seed": config.run.seed}
    return Stage(network, problem, searcher, HeldOutEvaluation(config, network, num_workers), meta)


def merge_stage(config: Config, stage: Stage, rules: int, num_workers: int) -> Stage:
    """The next stage: the centre's rules merged into ``rules`` shared ones, search state kept."""
    network, center = merge_center(stage.network, search_center(stage.searcher), rules, config)
    merged = build_stage(config, network, num_workers)
    old, new = stage.searcher, merged.searcher
    new.state = dataclasses.replace(old.state, center=center)
    new.generator = old.generator
    merged.problem.generator.set_state(stage.problem.generator.get_state())
    return merged


def merge_center(
    network: PolicyNetwork, center: torch.Tensor, rules: int, config: Config
) -> tuple[PolicyNetwork, torch.Tensor]:
    """A centre's per-synapse rule vectors clustered into ``rules`` shared rules (seeded by the
    run): the merged network and its centre, every other segment (modulation, ...) kept."""
    layout = network.genome_layout
    decoded = layout.decode(center.reshape(1, -1))
    coefficients = network.rule_coefficients(decoded)  # per layer (1, k, out, in)
    vectors = torch.cat([layer[0].flatten(1).T for layer in coefficients])  # (S, k), row-major
    merged = merge_rules(vectors.numpy(), rules, config.run.seed)
    network = dataclasses.replace(network, assignment=tuple(merged.assignment.tolist()))
    kept = {kind: parts for kind, parts in decoded.items() if kind not in ("rule", "bank")}
    kept["bank"] = [torch.from_numpy(merged.rules).unsqueeze(0)]
    return network, network.genome_layout.encode(kept)[0]

"""Benchmark: one Hebbian step (forward + rule update) of the Ant network, batched vs per agent.

For the 27-128-64-8 network over a population of P agents, per agent-step:
- batched: metaheb's step, one forward and one in-place update for the whole population;
- loop: the same torch code run agent by agent (the usual way of writing it);
- floor: the time to stream the bytes the step must touch (weights read and written, every rule
  factor read) once, with a torch copy of that many bytes, measured in the same run.
Prints, per rule variant (and the static network), the ratios loop/batched and batched/floor;
``--json PATH`` writes the same figures.

    python scripts/bench_rules.py [--population 256] [--steps 50] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from metaheb.networks import PolicyNetwork
from metaheb.rules import RULES, Terms, hebbian_step_

SIZES = (27, 128, 64, 8)


def seconds_per_call(function, repeats: int) -> float:
    function()  # warm up
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            function()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def bench_model(network: PolicyNetwork, population: int, steps: int) -> dict[str, float]:
    genomes = torch.randn(population, network.genome_layout.size)
    weights, terms = network.start_episode(genomes, range(population))
    weights = [w.clone() for w in weights]  # the loop below works on per-agent views of these
    obs = torch.randn(population, SIZES[0])

    def batched() -> None:
        activations = network.forward(weights, obs)
        if network.plastic:
            network.plasticity_step(weights, activations, terms)

    # The usual way: one agent at a time, a plain matrix-vector product per layer and the rule
    # applied in place to that agent's (out, in) weights.
    agents = [
        (
            [w[k] for w in weights],
            [Terms(*(t if t is None else t[k] for t in layer)) for layer in terms],
        )
        for k in range(population)
    ]

    def loop() -> None:
        for k, (agent_weights, agent_terms) in enumerate(agents):
            activations = [obs[k]]
            for w in agent_weights:
                activations.append(torch.tanh(torch.mv(w, activations[-1])))
            for w, t, pre, post in zip(agent_weights, agent_terms, activations, activations[1:]):
                hebbian_step_(w[None], pre[None], post[None], t)

    factors = sum(t.numel() for layer in terms for t in layer if t is not None)
    synapses = sum(w.numel() for w in weights)
    touched = 4 * (2 * synapses + factors) if network.plastic else 4 * synapses
    source = torch.empty(touched // 8, dtype=torch.float32)
    target = torch.empty_like(source)

    t_batched = seconds_per_call(batched, steps)
    t_loop = seconds_per_call(loop, max(2, steps // 10))
    t_floor = seconds_per_call(lambda: target.copy_(source), steps)
    agent_steps = population
    return {
        "batched_us_per_agent_step": 1e6 * t_batched / agent_steps,
        "loop_us_per_agent_step": 1e6 * t_loop / agent_steps,
        "floor_us_per_agent_step": 1e6 * t_floor / agent_steps,
        "loop_over_batched": t_loop / t_batched,
        "batched_over_floor": t_batched / t_floor,
        "bytes_per_step": touched,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=256)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    models = {name: PolicyNetwork(SIZES, rule=name) for name in RULES}
    models["bottleneck K=16"] = PolicyNetwork(SIZES, bottleneck=16)
    models["static"] = PolicyNetwork(SIZES, model="static")
    results = {}
    print(
        f"Ant network {'-'.join(map(str, SIZES))}, population {args.population}, "
        f"{args.threads} thread(s); times per agent-step"
    )
    print(
        f"{'model':<22}{'batched us':>11}{'loop us':>10}{'floor us':>10}"
        f"{'loop/batched':>14}{'batched/floor':>15}"
    )
    for name, network in models.items():
        figures = bench_model(network, args.population, args.steps)
        results[name] = figures
        print(
            f"{name:<22}{figures['batched_us_per_agent_step']:>11.2f}"
            f"{figures['loop_us_per_agent_step']:>10.2f}{figures['floor_us_per_agent_step']:>10.2f}"
            f"{figures['loop_over_batched']:>14.1f}{figures['batched_over_floor']:>15.2f}"
        )
    if args.json:
        from pathlib import Path

        from metaheb.runs import atomic_write_bytes

        payload = {"population": args.population, "threads": args.threads, "models": results}
        atomic_write_bytes(Path(args.json), json.dumps(payload, indent=2).encode())


if __name__ == "__main__":
    main()

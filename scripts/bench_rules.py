"""Benchmark: one Hebbian step (forward + rule update) of the Ant network, batched vs per agent.

For the 27-128-64-8 network over a population of P agents, per agent-step:
- eager: metaheb's step, one forward and one in-place update for the whole population;
- fused: the same with the update in one pass (``network.fused = true``): the kernel built for
  this CPU (``metaheb.update_kernel``);
- compiled: the fused update by torch.compile instead (where no kernel builds);
- loop: agent by agent, the usual way of writing it: a matrix-vector product per layer and the
  rule's dw built from its equation, then added (``w += F_A outer(o_j, o_i) + ...``);
- in-place loop: agent by agent with metaheb's own in-place update (a stronger baseline);
- floor: the time to stream the bytes the step must touch (weights read and written, every rule
  factor read) once, with a torch copy of that many bytes, measured in the same run.
Prints, per rule variant (and the static network), loop/eager, loop/fused, in-place loop/fused,
loop/floor (the most a step that streams its bytes once can gain over the loop), eager/floor
and fused/floor; ``--json PATH`` writes the same figures.

    python scripts/bench_rules.py [--population 256] [--steps 20] [--json out.json]
    python scripts/bench_rules.py --sizes 648 128 64 3 --rules ABCD_lr --normalise max_abs \
        --population 8   # CarRacing's plastic layers, as its preset runs them
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from unittest import mock

import torch
from memory_floor import copy_buffers, touched_bytes  # scripts/ is on sys.path when run

from metaheb import rules
from metaheb.networks import PolicyNetwork
from metaheb.rules import RULES, Terms, hebbian_step_

SIZES = (27, 128, 64, 8)


def seconds_per_call(functions: dict[str, tuple], rounds: int = 5) -> dict[str, float]:
    """Best time per call of each ``name: (function, repeats)``, measured in interleaved rounds:
    memory bandwidth here drifts by tens of percent over seconds, and interleaving exposes every
    function to the same drift, so that their ratios hold."""
    best = {name: float("inf") for name in functions}
    for function, _ in functions.values():
        function()  # warm up (and compile)
    for _ in range(rounds):
        for name, (function, repeats) in functions.items():
            start = time.perf_counter()
            for _ in range(repeats):
                function()
            best[name] = min(best[name], (time.perf_counter() - start) / repeats)
    return best


def bench_model(network: PolicyNetwork, population: int, steps: int) -> dict[str, float]:
    genomes = torch.randn(population, network.genome_layout.size)
    weights, terms = network.start_episode(genomes, range(population))
    weights = [w.clone() for w in weights]  # the loop below works on per-agent views of these
    obs = torch.randn(population, network.sizes[0])

    def batched() -> None:
        activations = network.forward(weights, obs)
        if network.plastic:
            network.plasticity_step(weights, activations, terms)

    fused_network = dataclasses.replace(network, fused=True)

    def fused() -> None:
        activations = fused_network.forward(weights, obs)
        if network.plastic:
            fused_network.plasticity_step(weights, activations, terms)

    def compiled() -> None:
        with mock.patch.object(rules, "_built_update_works", lambda: False):
            fused()

    agents = [
        (
            [w[k] for w in weights],
            [Terms(*(t if t is None else t[k] for t in layer)) for layer in terms],
        )
        for k in range(population)
    ]

    def agent_forward(k: int, agent_weights: list[torch.Tensor]) -> list[torch.Tensor]:
        activations = [obs[k]]
        for w in agent_weights:
            activations.append(torch.tanh(torch.mv(w, activations[-1])))
        return activations

    def loop() -> None:
        for k, (agent_weights, agent_terms) in enumerate(agents):
            activations = agent_forward(k, agent_weights)
            if not network.plastic:
                continue
            for w, t, pre, post in zip(agent_weights, agent_terms, activations, activations[1:]):
                change = t.hebbian * torch.outer(post, pre)  # every rule has the A term
                if t.pre is not None:
                    change = change + t.pre * pre
                if t.post is not None:
                    change = change + t.post * post[:, None]
                if t.constant is not None:
                    change = change + t.constant
                w += change

    def in_place_loop() -> None:
        for k, (agent_weights, agent_terms) in enumerate(agents):
            activations = agent_forward(k, agent_weights)
            if not network.plastic:
                continue
            for w, t, pre, post in zip(agent_weights, agent_terms, activations, activations[1:]):
                hebbian_step_(w[None], pre[None], post[None], t)

    touched = touched_bytes(weights, terms)
    source, target = copy_buffers(touched)

    slow = max(1, steps // 10)
    times = seconds_per_call(
        {
            "eager": (batched, steps),
            "fused": (fused, steps),
            "compiled": (compiled, steps),
            "loop": (loop, slow),
            "in_place_loop": (in_place_loop, slow),
            "floor": (lambda: target.copy_(source), steps),
        }
    )
    figures = {f"{name}_us_per_agent_step": 1e6 * t / population for name, t in times.items()}
    return {
        **figures,
        "loop_over_eager": times["loop"] / times["eager"],
        "loop_over_fused": times["loop"] / times["fused"],
        "compiled_over_fused": times["compiled"] / times["fused"],
        "in_place_loop_over_fused": times["in_place_loop"] / times["fused"],
        "loop_over_floor": times["loop"] / times["floor"],  # the most any step can gain
        "eager_over_floor": times["eager"] / times["floor"],
        "fused_over_floor": times["fused"] / times["floor"],
        "bytes_per_step": touched,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=list(SIZES), help="648 128 64 3: CarRacing's"
    )
    parser.add_argument("--rules", nargs="+", choices=list(RULES), help="these rules only")
    parser.add_argument(
        "--normalise",
        choices=("none", "max_abs"),
        default="none",
        help="max_abs: metaheb's steps normalise each layer (the per-agent loops do not)",
    )
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    sizes, normalise = tuple(args.sizes), args.normalise
    models = {
        name: PolicyNetwork(sizes, rule=name, normalise=normalise) for name in args.rules or RULES
    }
    if args.rules is None:
        models["bottleneck K=16"] = PolicyNetwork(sizes, bottleneck=16, normalise=normalise)
        models["static"] = PolicyNetwork(sizes, model="static")
    results = {}
    print(
        f"network {'-'.join(map(str, sizes))} ({normalise} normalisation), population "
        f"{args.population}, {args.threads} thread(s); times per agent-step"
    )
    columns = {
        "eager_us_per_agent_step": ("eager us", ".2f"),
        "fused_us_per_agent_step": ("fused us", ".2f"),
        "compiled_us_per_agent_step": ("compiled us", ".2f"),
        "loop_us_per_agent_step": ("loop us", ".1f"),
        "floor_us_per_agent_step": ("floor us", ".2f"),
        "loop_over_eager": ("loop/eager", ".1f"),
        "loop_over_fused": ("loop/fused", ".1f"),
        "compiled_over_fused": ("compiled/fused", ".2f"),
        "in_place_loop_over_fused": ("in-place/fused", ".1f"),
        "loop_over_floor": ("loop/floor", ".1f"),
        "eager_over_floor": ("eager/floor", ".2f"),
        "fused_over_floor": ("fused/floor", ".2f"),
    }
    print(f"{'model':<22}" + "".join(f"{title:>15}" for title, _ in columns.values()))
    for name, network in models.items():
        figures = bench_model(network, args.population, args.steps)
        results[name] = figures
        cells = (f"{figures[key]:>15{form}}" for key, (_, form) in columns.items())
        print(f"{name:<22}" + "".join(cells))
    print(
        "goals: loop/(metaheb's step) >= 10, (metaheb's step)/floor <= 2; "
        "loop/floor bounds what any step that streams its bytes once can reach"
    )
    if args.json:
        from pathlib import Path

        from metaheb.runs import atomic_write_bytes

        payload = {"population": args.population, "threads": args.threads, "models": results}
        atomic_write_bytes(Path(args.json), json.dumps(payload, indent=2).encode())


if __name__ == "__main__":
    main()

"""Benchmark the Ant rollout on one core against the physics limit and a plain gymnasium loop.

All in one run, env-steps/s on one core, Ant-v5 (intact), obs-128-64-8 Hebbian ABCD_lr network
with coefficients near zero (no agent stops early, so every figure counts the same steps):
- physics: bare ``mj_step`` with Ant-v5's frame skip over the batch's models, MuJoCo's profiling
  timers off as in the rollout (the limit);
- rollout: metaheb's whole episode loop over a batch (observation, plastic network forward and
  rule update for the batch, physics), for batch sizes 1, 8, 64 and 256, with the walkers
  presets' network (max |w| normalisation), with the eager rule update and with the fused one
  (the same bits; what ``network.fused = "auto"`` picks in a long run where it compiles);
- gymnasium loop: ``gym.make("Ant-v5")`` stepped one agent at a time, the same network and rule
  written per agent (matrix-vector products, in-place update).
Prints rollout/physics and rollout/gymnasium-loop for every batch size, the network's memory floor
(its state's bytes streamed once per step, ``scripts/memory_floor.py``), the ceiling it puts on
rollout/physics and each round's own ratio, then where an agent-step of the rollout goes at one
batch size (physics, observation, forward, update, bookkeeping; the parts timed apart in one loop
like the rollout's). Then, where pybullet is installed, pybullet's Ant (``task.name =
"ant_bullet"``) the same way: its bare physics (torques set and ``stepSimulation``, one client per
agent) against metaheb's rollout. ``--json PATH`` writes the same figures.

    python scripts/bench_rollout.py [--steps 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np
import torch
from memory_floor import ceiling, stream_seconds, touched_bytes  # scripts/ is on sys.path
from rounds import per_round_ratio, show, spread

from metaheb.config import TaskConfig
from metaheb.errors import UserError
from metaheb.networks import PolicyNetwork
from metaheb.rollout import rollout_batch
from metaheb.rules import RULES, fused_update_works, hebbian_step_
from metaheb.runs import atomic_write_bytes
from metaheb.tasks import make_task
from metaheb.tasks.mujoco_batch import engine_timers_off

HIDDEN = (128, 64)
RAW_OBSERVATION = 27  # what gym.make("Ant-v5") gives the plain loop


def mujoco_step(env, action: np.ndarray) -> None:
    env.data.ctrl[:] = action
    mujoco.mj_step(env.model, env.data, nstep=env.frame_skip)


def bullet_step(env, action: np.ndarray) -> None:
    env.act(action)  # torques and one stepSimulation: nothing else


def physics_rate(task, agents: int, steps: int, advance=mujoco_step) -> float:
    """The bare physics of a task's envs: ``advance(env, action)`` per env and step, no agent;
    MuJoCo's profiling timers off, as the rollout steps (``mujoco_batch.engine_timers_off``)."""
    envs = task.envs(agents, "intact")
    task.reset(envs, list(range(agents)))
    actions = np.random.default_rng(0).uniform(-0.1, 0.1, (steps, agents, 8))
    with engine_timers_off():
        started = time.perf_counter()
        for t in range(steps):
            for env, action in zip(envs, actions[t]):
                advance(env, action)
        return agents * steps / (time.perf_counter() - started)


def preset_network(task, fused: bool) -> PolicyNetwork:
    """The walkers presets' network (envs/ant.toml: max |w| normalisation) for the task."""
    sizes = (task.obs_dim, *HIDDEN, task.act_dim)
    return PolicyNetwork(sizes, normalise="max_abs", fused=fused)


def state_floor(task, agents: int) -> float:
    """Seconds per agent-step to stream the network state of ``agents`` agents once: the weights
    and rule factors the preset's step must touch (``memory_floor``)."""
    network = preset_network(task, fused=False)
    genomes = 0.01 * torch.randn(agents, network.genome_layout.size)
    weights, terms = network.start_episode(genomes, list(range(agents)))
    return stream_seconds(touched_bytes(weights, terms)) / agents


def rollout_rate(task, agents: int, steps: int, fused: bool = False) -> float:
    network = preset_network(task, fused)
    genomes = 0.01 * torch.randn(agents, network.genome_layout.size)
    rollout_batch(task, network, genomes[:2], [0, 1])  # warm up (and compile for a batch)
    started = time.perf_counter()
    result = rollout_batch(task, network, genomes, list(range(agents)))
    return float(result.steps.sum()) / (time.perf_counter() - started)


PARTS = ("physics", "observation", "forward", "update")


def breakdown(task, agents: int, steps: int, fused: bool) -> dict[str, float]:
    """Microseconds per agent-step of each part of MuJoCo's Ant rollout, timed apart.

    One loop does what ``rollout_batch`` does for ``agents`` agents (forward pass and actions,
    physics, observation, rule update) with a clock between the parts; ``bookkeeping`` is what
    the real rollout, timed right after, spends beyond their sum (early stop, score, the loop).
    """
    network = preset_network(task, fused)
    genomes = 0.01 * torch.randn(agents, network.genome_layout.size)
    seeds = list(range(agents))
    envs = task.envs(agents, "intact")
    observations = task.reset(envs, seeds)
    weights, terms = network.start_episode(genomes, seeds)
    spent = dict.fromkeys(PARTS, 0.0)
    clock = time.perf_counter
    for _ in range(steps):
        started = clock()
        activations = network.forward(weights, torch.from_numpy(observations).float())
        actions = network.actions(activations).numpy()
        acted = clock()
        for env, action in zip(envs, actions):
            mujoco_step(env, action)
        stepped = clock()
        observations = task.observe(envs)
        observed = clock()
        network.plasticity_step(weights, activations, terms)
        updated = clock()
        spent["forward"] += acted - started
        spent["physics"] += stepped - acted
        spent["observation"] += observed - stepped
        spent["update"] += updated - observed
    parts = {part: 1e6 * seconds / (agents * steps) for part, seconds in spent.items()}
    parts["bookkeeping"] = 1e6 / rollout_rate(task, agents, steps, fused) - sum(parts.values())
    return parts


def gymnasium_loop_rate(agents: int, steps: int) -> float:
    """One agent at a time: wrapped gymnasium env, per-agent network and rule."""
    network = PolicyNetwork((RAW_OBSERVATION, *HIDDEN, 8))
    rule = RULES["ABCD_lr"]
    env = gym.make("Ant-v5", include_cfrc_ext_in_observation=False, max_episode_steps=steps)
    done_steps = 0
    started = time.perf_counter()
    for agent in range(agents):
        genome = 0.01 * torch.randn(1, network.genome_layout.size)
        weights = [w[0] for w in network.random_weights([agent])]
        terms = [rule.fold(c) for c in network.genome_layout.decode(genome)["rule"]]
        obs, _ = env.reset(seed=agent)
        for _ in range(steps):
            activations = [torch.from_numpy(obs).float()]
            for w in weights:
                activations.append(torch.tanh(torch.mv(w, activations[-1])))
            obs, _, terminated, truncated, _ = env.step(activations[-1].numpy())
            done_steps += 1
            for w, t, pre, post in zip(weights, terms, activations, activations[1:]):
                hebbian_step_(w[None], pre[None], post[None], t)
            if terminated or truncated:
                break
    return done_steps / (time.perf_counter() - started)


def bullet_figures(args: argparse.Namespace) -> dict:
    """pybullet's Ant: rollout against its bare physics per batch size (empty without pybullet)."""
    try:
        task = make_task(TaskConfig(name="ant_bullet", max_steps=args.steps, burn_in=0))
    except UserError as missing:
        print(f"pybullet's Ant skipped: {missing}")
        return {}
    print(f"pybullet Ant, one core, {args.steps}-step episodes of 0.0165 s")
    print(f"{'batch':>6}{'physics':>10}{'rollout':>10}{'rollout/physics':>17}{'ceiling':>9}")
    figures = {}
    for agents in args.batches:
        limit = physics_rate(task, agents, args.steps, bullet_step)
        ours = rollout_rate(task, agents, args.steps, fused_update_works())
        most = ceiling(1 / limit, state_floor(task, agents))
        figures[agents] = {
            "physics_steps_per_s": limit,
            "rollout_steps_per_s": ours,
            "rollout_over_physics": ours / limit,
            "ceiling_rollout_over_physics": most,
        }
        print(f"{agents:>6}{limit:>10,.0f}{ours:>10,.0f}{ours / limit:>17.2f}{most:>9.2f}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 64, 256])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per figure")
    parser.add_argument("--breakdown", type=int, default=64, help="batch of the breakdown")
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    task = make_task(TaskConfig(max_steps=args.steps, burn_in=0))
    plain = gymnasium_loop_rate(8, args.steps)
    print(
        f"Ant-v5, one core, {args.steps}-step episodes; gymnasium loop with the same network, "
        f"one agent at a time: {plain:,.0f} env-steps/s"
    )
    fused = fused_update_works()  # what a long run uses (network.fused = "auto")
    updates = {"eager": False, "fused": True} if fused else {"eager": False}
    header = "".join(f"{name:>10}{name + '/physics':>16}" for name in updates)
    print(f"{'batch':>6}{'physics':>10}{header}{'eager/loop':>12}{'floor us':>10}{'ceiling':>9}")
    figures = {"gymnasium_loop_steps_per_s": plain, "batches": {}}
    spreads = []
    for agents in args.batches:
        # Interleaved rounds, each figure the median of its rounds: load that comes and goes
        # on a shared machine falls on every figure alike.
        rounds = [
            (
                physics_rate(task, agents, args.steps),
                state_floor(task, agents),
                *(rollout_rate(task, agents, args.steps, on) for on in updates.values()),
            )
            for _ in range(args.rounds)
        ]
        limit, floor, *medians = (statistics.median(figure) for figure in zip(*rounds))
        rates = dict(zip(updates, medians))
        most = ceiling(1 / limit, floor)
        # Each round's own ratio (its rollout over the physics timed just before it); the goal
        # is read on their median, the min and max show how far this machine's drift moves it.
        ratios = {
            name: spread(per_round_ratio([r[2 + k] for r in rounds], [r[0] for r in rounds]))
            for k, name in enumerate(updates)
        }
        figures["batches"][agents] = {
            "physics_steps_per_s": limit,
            **{f"{name}_steps_per_s": rate for name, rate in rates.items()},
            **{f"{name}_over_physics": ratios[name]["median"] for name in updates},
            "eager_over_gymnasium_loop": rates["eager"] / plain,
            "state_floor_us_per_agent_step": 1e6 * floor,
            "ceiling_rollout_over_physics": most,
            **{f"{name}_over_physics_rounds": figure for name, figure in ratios.items()},
        }
        spreads.append(
            f"batch {agents}: " + ", ".join(f"{name} {show(r)}" for name, r in ratios.items())
        )
        cells = "".join(f"{rates[name]:>10,.0f}{ratios[name]['median']:>16.2f}" for name in updates)
        floor_cells = f"{1e6 * floor:>10.1f}{most:>9.2f}"
        print(f"{agents:>6}{limit:>10,.0f}{cells}{rates['eager'] / plain:>12.2f}{floor_cells}")
    print(f"rollout/physics per round, min / median / max: {'; '.join(spreads)}")
    print("goals (the median of the rounds): rollout/physics >= 0.90 at batch 64, >= 0.85 at 256")
    print(
        "floor: the network state's bytes streamed once per agent-step; ceiling: rollout/physics "
        "if the agent's own work took only that"
    )
    figures["breakdown_us"] = {}
    for name, on in updates.items():
        parts = breakdown(task, args.breakdown, args.steps, on)
        whole = sum(parts.values())
        print(f"\nan agent-step at batch {args.breakdown}, {name} update, microseconds (share):")
        print("  ".join(f"{part} {us:.1f} ({us / whole:.0%})" for part, us in parts.items()))
        figures["breakdown_us"][name] = {"batch": args.breakdown, **parts}
    figures["bullet"] = bullet_figures(args)
    if args.json:
        atomic_write_bytes(Path(args.json), json.dumps(figures, indent=2).encode())


if __name__ == "__main__":
    main()

"""Benchmark CarRacing-v3 env steps on one core: the fast renderer against gymnasium's, EnvPool's
C++ port and the physics alone, and the whole agent step.

All in one run, env-steps/s on one core (one thread), the same seeds and the same random driving
for every env (a car weaving on and off the road):
- gymnasium: CarRacing-v3 as gymnasium ships it (observation drawn at window size by pygame);
- fast: the same env with metaheb's renderer (``task.renderer = "fast"``, the default);
- physics: the same env with the observation drawing replaced by nothing (the limit);
- fast batch: ``--agents`` fast envs stepped in turn with no agent, as the agent loop steps its
  batch (the envs then share the caches);
- EnvPool: its C++ CarRacing-v3, one env, one thread (``pip install metaheb[bench]``; skipped
  with a note when it is not installed);
- agent: metaheb's whole episode loop over a batch of CarRacing agents (render, resize, the
  evolved convolutions, the plastic 648-128-64-3 network and its ABCD_lr update, normalised),
  with the eager rule update and, where it compiles, the fused one (the same bits); frames resized
  by the compiled resize a training worker switches to, and once more by OpenCV frame by frame
  (``agent opencv``: what the agent step was before it, the same bits), with the encoder's
  convolutions by torch instead of the kernel built for this CPU (``agent torchconv``, the same
  values), and with the encoder's tanh by torch.tanh instead of the rational one (``agent
  torchtanh``: the agent step of files evolved before 2026-12-08, other bits); the encoder
  alone, frames per second: torch's convolutions and tanh (``encoder torch``), the built kernel
  with torch.tanh after it (``encoder torchtanh``) and with the rational tanh in it (``encoder
  built``).
Prints each rate, the ratios the task is judged by, the share of a fast step spent drawing, and
where an agent-step goes (env step, preprocessing, encoder, network, update, bookkeeping), and
the memory floor of the agents' network state (its bytes streamed once per step,
``scripts/memory_floor.py``) with the ceiling it puts on agent/fast;
``--fidelity`` also prints how closely the fast frames match gymnasium's; ``--json PATH``
writes the same figures. Every rate is timed once per round over ``--rounds`` interleaved
rounds and printed as min / median / max; each ratio is read per round (its two rates timed
seconds apart) and the goal on the median (``scripts/rounds.py``).

    python scripts/bench_carracing.py [--steps 600] [--rounds 3] [--fidelity] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from gymnasium.envs.box2d.car_racing import CarRacing
from memory_floor import ceiling, stream_seconds, touched_bytes  # scripts/ is on sys.path
from rounds import per_round_ratio, run_rounds, show, spread

from metaheb import encoders
from metaheb.config import load_config
from metaheb.encoder_kernel import CompiledConvPool
from metaheb.encoders import conv_features
from metaheb.networks import PolicyNetwork
from metaheb.rollout import rollout_batch
from metaheb.rules import fused_update_works
from metaheb.runs import atomic_write_bytes
from metaheb.tasks import carracing, make_task
from metaheb.tasks.area_resize import CompiledAreaResize
from metaheb.tasks.carracing import frames as preprocess
from metaheb.tasks.carracing_fidelity import frame_agreement, paired_frames, random_driving
from metaheb.tasks.carracing_render import FastCarRacing


class PhysicsOnly(CarRacing):
    """CarRacing-v3 that draws no observation: what a step costs without rendering."""

    def _render(self, mode: str):
        return None if mode == "state_pixels" else super()._render(mode)


def drive_rate(make_env: Callable[[int], object], seeds: list[int], steps: int) -> float:
    """Env-steps/s over one seeded drive of ``steps`` per seed (creation and reset excluded);
    ``make_env(seed)`` returns a reset env whose ``step`` takes one action."""
    elapsed = 0.0
    for seed in seeds:
        env = make_env(seed)
        actions = random_driving(seed, steps)
        started = time.perf_counter()
        for action in actions:
            env.step(action)
        elapsed += time.perf_counter() - started
        env.close()
    return len(seeds) * steps / elapsed


def batch_drive_rate(agents: int, steps: int) -> float:
    """Env-steps/s of ``agents`` fast envs stepped in turn, as the agent loop steps its batch
    (no agent): what the fast env costs once a batch's envs share the caches."""
    envs = [gymnasium_env(FastCarRacing)(seed) for seed in range(agents)]
    actions = [random_driving(seed, steps) for seed in range(agents)]
    started = time.perf_counter()
    for step in range(steps):
        for env, drive in zip(envs, actions):
            env.step(drive[step])
    elapsed = time.perf_counter() - started
    for env in envs:
        env.close()
    return agents * steps / elapsed


def gymnasium_env(kind: type[CarRacing]) -> Callable[[int], CarRacing]:
    def make(seed: int) -> CarRacing:
        env = kind()
        env.reset(seed=seed)
        return env

    return make


def envpool_rate(seeds: list[int], steps: int) -> float | None:
    """EnvPool's CarRacing-v3, one env on one thread, or None when it is not installed."""
    try:
        import envpool
    except ImportError:
        return None

    class OneEnv:
        def __init__(self, seed: int) -> None:
            self.pool = envpool.make(
                "CarRacing-v3", "gymnasium", num_envs=1, batch_size=1, num_threads=1, seed=seed
            )
            self.pool.reset()

        def step(self, action: np.ndarray) -> None:
            self.pool.step(action.astype(np.float32)[None])

        def close(self) -> None:
            self.pool.close()

    return drive_rate(OneEnv, seeds, steps)


def agent_setup(steps: int, fused: bool = False, tanh: str = "rational") -> tuple:
    """The CarRacing task and the authors' network (max |w| normalisation), every agent running
    the whole episode, with the encoder's ``tanh``."""
    config = load_config(
        None,
        [
            "task.name=carracing",
            "network.encoder=carracing_conv",
            "network.normalise=max_abs",
            f"network.fused={str(fused).lower()}",
            f"task.max_steps={steps}",
            "task.burn_in=0",
            f"task.early_stop_after={steps}",  # every agent runs the whole episode
            f"network.encoder_tanh={tanh}",
        ],
    )
    task = make_task(config.task)
    return task, PolicyNetwork.of_task(config.network, task)


def agent_rate(
    agents: int,
    steps: int,
    fused: bool = False,
    opencv: bool = False,
    torch_conv: bool = False,
    tanh: str = "rational",
) -> float:
    """The whole agent step, metaheb's rollout loop over ``agents`` CarRacing agents, timed from
    the end of the first step: the reset (a new track per env, tens of milliseconds each) is left
    out, as the environments' rates leave it out. ``opencv``: frames resized by OpenCV one at a
    time, as before the compiled resize; ``torch_conv``: the encoder's convolutions by torch's
    oneDNN, as before the built kernel (the same bits either way); ``tanh``: the encoder's."""
    with plain_paths(opencv, torch_conv):
        return _agent_rate(agents, steps, fused, tanh)


@contextlib.contextmanager
def plain_paths(opencv: bool, torch_conv: bool) -> Iterator[None]:
    """The compiled resize and the built encoder kernel set aside while in the block."""
    saved = carracing.COMPILED_RESIZE, encoders.COMPILED_CONV
    never = 2**62
    if opencv:
        carracing.COMPILED_RESIZE = CompiledAreaResize(switch_after=never)
    if torch_conv:
        encoders.COMPILED_CONV = CompiledConvPool(switch_after=never)
    try:
        yield
    finally:
        carracing.COMPILED_RESIZE, encoders.COMPILED_CONV = saved


def _agent_rate(agents: int, steps: int, fused: bool, tanh: str) -> float:
    task, network = agent_setup(steps, fused, tanh)
    genomes = 0.1 * torch.randn(agents, network.genome_layout.size)
    first_step_done = []

    def clock(step: int, *_) -> None:
        if step == 0:
            first_step_done.append(time.perf_counter())

    result = rollout_batch(task, network, genomes, list(range(agents)), on_step=clock)
    elapsed = time.perf_counter() - first_step_done[0]
    return float(result.steps.sum() - agents) / elapsed


def encoder_rate(agents: int, built: bool, tanh: str = "rational", repeats: int = 300) -> float:
    """Frames per second through the encoder alone (both convolutions, pools and tanh) at a batch
    of ``agents``: torch's convolutions, or the kernel built for this CPU (the same values), with
    the encoder's ``tanh``."""
    generator = torch.Generator().manual_seed(0)
    frames = torch.rand(84, 84, agents, 3, generator=generator).permute(2, 3, 0, 1)
    kernels = [torch.randn(agents, 6, 3, 3, 3), torch.randn(agents, 8, 6, 5, 5)]
    with plain_paths(opencv=False, torch_conv=not built):
        started = time.perf_counter()
        for _ in range(repeats):
            conv_features("carracing_conv", frames, kernels, tanh)
        return agents * repeats / (time.perf_counter() - started)


def state_floor(agents: int) -> float:
    """Seconds per agent-step to stream the plastic layers' state of ``agents`` agents once."""
    _, network = agent_setup(1)
    genomes = 0.1 * torch.randn(agents, network.genome_layout.size)
    weights, terms = network.start_episode(genomes, list(range(agents)))
    layers = len(network.layer_shapes)
    return stream_seconds(touched_bytes(weights[:layers], terms)) / agents


BREAKDOWN = ("env step", "preprocess", "encoder", "network", "update")


def agent_breakdown(agents: int, steps: int, fused: bool) -> dict[str, float]:
    """Milliseconds per agent-step of each part of the CarRacing rollout, timed apart in one loop
    like ``rollout_batch``'s; ``bookkeeping`` is what the real rollout spends beyond their sum."""
    task, network = agent_setup(steps, fused)
    mlp = dataclasses.replace(network, encoder="none")
    layers = len(network.layer_shapes)
    genomes = 0.1 * torch.randn(agents, network.genome_layout.size)
    seeds = list(range(agents))
    envs = task.envs(agents)
    frames = task.reset(envs, seeds)
    weights, terms = network.start_episode(genomes, seeds)
    spent = dict.fromkeys(BREAKDOWN, 0.0)
    clock = time.perf_counter
    for _ in range(steps):
        started = clock()
        features = conv_features(network.encoder, torch.from_numpy(frames), weights[layers:])
        encoded = clock()
        activations = mlp.forward(weights[:layers], features)
        actions = network.actions(activations).numpy()
        acted = clock()
        observations = []
        for env, action in zip(envs, actions):
            observations.append(env.step(action.astype(np.float32))[0])
        stepped = clock()
        frames = preprocess(observations, task.config.preprocess)
        drawn = clock()
        network.plasticity_step(weights[:layers], activations, terms)
        updated = clock()
        for part, seconds in zip(
            BREAKDOWN,
            (stepped - acted, drawn - stepped, encoded - started, acted - encoded, updated - drawn),
        ):
            spent[part] += seconds
    parts = {part: 1e3 * seconds / (agents * steps) for part, seconds in spent.items()}
    parts["bookkeeping"] = 1e3 / agent_rate(agents, steps, fused) - sum(parts.values())
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600, help="steps per seeded drive")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--agents", type=int, default=8, help="batch of the agent step")
    parser.add_argument("--fidelity", action="store_true")
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    # A training worker's steady state: it switches to the compiled resize (OpenCV's bits)
    # once it has drawn 50,000 frames, in its first generations.
    carracing.COMPILED_RESIZE.switch_after = 0
    encoders.COMPILED_CONV.switch_after = 0  # and to the built encoder kernel (the same values)
    seeds = list(range(args.seeds))
    measures = {
        "gymnasium": lambda: drive_rate(gymnasium_env(CarRacing), seeds, args.steps),
        "fast": lambda: drive_rate(gymnasium_env(FastCarRacing), seeds, args.steps),
        "fast batch": lambda: batch_drive_rate(args.agents, args.steps),
        "physics": lambda: drive_rate(gymnasium_env(PhysicsOnly), seeds, args.steps),
        "envpool": lambda: envpool_rate(seeds, args.steps),
        "agent": lambda: agent_rate(args.agents, args.steps),
        "state floor": lambda: 1 / state_floor(args.agents),  # agent-steps/s at the floor
    }
    fused = fused_update_works()  # the same bits as the eager update, where it compiles
    if fused:
        measures["agent fused"] = lambda: agent_rate(args.agents, args.steps, fused=True)
    # The same agent with OpenCV's per-frame resize: the compiled resize's gain, in this run.
    measures["agent opencv"] = lambda: agent_rate(args.agents, args.steps, fused, opencv=True)
    # ... and with torch's convolutions: the built encoder kernel's gain, in this run.
    measures["agent torchconv"] = lambda: agent_rate(
        args.agents, args.steps, fused, torch_conv=True
    )
    # ... and with torch.tanh in the encoder: the rational tanh's gain (other bits).
    measures["agent torchtanh"] = lambda: agent_rate(args.agents, args.steps, fused, tanh="torch")
    # The encoder alone: torch's convolutions and tanh (before any kernel), the built kernel
    # with torch.tanh after it, and the built kernel with the rational tanh inside it (now).
    measures["encoder torch"] = lambda: encoder_rate(args.agents, built=False, tanh="torch")
    measures["encoder torchtanh"] = lambda: encoder_rate(args.agents, built=True, tanh="torch")
    measures["encoder built"] = lambda: encoder_rate(args.agents, built=True)
    for on in {False, fused}:  # compile outside the clock: the update, the resize, the shapes
        agent_rate(args.agents, 5, fused=on)
    # Interleaved rounds: this machine's speed drifts by tens of percent over a minute, and
    # interleaving exposes every measure to the same drift; each ratio is read per round.
    values = run_rounds(measures, args.rounds)
    print(
        f"CarRacing-v3, one core, {args.seeds} seeds x {args.steps} steps of random driving, "
        f"{args.rounds} rounds: steps/s min / median / max"
    )
    rates = {}
    for name, rounds in values.items():
        if rounds[0] is None:
            print(f"  {name:<18}not installed")
            continue
        rates[name] = spread(rounds)
        print(f"  {name:<18}" + " / ".join(f"{rates[name][k]:,.0f}" for k in rates[name]))
    pairs = {
        "fast_over_gymnasium": ("fast", "gymnasium"),
        "physics_over_gymnasium": ("physics", "gymnasium"),
        "agent_over_gymnasium": ("agent", "gymnasium"),
        "agent_over_fast": ("agent", "fast"),
        "agent_fused_over_fast": ("agent fused", "fast"),
        "agent_opencv_resize_over_fast": ("agent opencv", "fast"),
        "agent_torch_conv_over_fast": ("agent torchconv", "fast"),
        "agent_torch_tanh_over_fast": ("agent torchtanh", "fast"),
        "fast_over_envpool": ("fast", "envpool"),
        "fast_over_physics": ("fast", "physics"),
        "fast_batch_over_fast": ("fast batch", "fast"),
        "encoder_built_over_torch": ("encoder built", "encoder torch"),
        "encoder_built_over_torchtanh": ("encoder built", "encoder torchtanh"),
    }
    ratios = {
        name: spread(per_round_ratio(values[top], values[bottom]))
        for name, (top, bottom) in pairs.items()
        if top in rates and bottom in rates
    }
    # agent/fast if the agent's own work were only its network state streamed once per step
    floor_seconds = 1 / rates["state floor"]["median"]
    ratios["ceiling_agent_over_fast"] = spread(
        [ceiling(1 / fast, floor_seconds) for fast in values["fast"]]
    )
    print("  ratios, per round: min / median / max")
    for name, figure in ratios.items():
        print(f"  {name:<30}{show(figure)}")
    drawing = 1 - rates["fast"]["median"] / rates["physics"]["median"]
    print(f"  drawing's share of a fast step (medians): {drawing:.0%}")
    print("goal: agent/fast >= 0.5 (the median of the rounds); fast/gymnasium >= 20")
    print(
        "state floor: the agents' plastic layers streamed once per agent-step; ceiling: "
        "agent/fast if the agent's own work took only that"
    )
    figures = {
        "rounds": args.rounds,
        "steps_per_s": rates,
        "ratios": ratios,
        "drawing_share_of_fast_step": drawing,
        "breakdown_ms": {},
    }
    for name, on in {"eager": False, **({"fused": True} if fused else {})}.items():
        parts = agent_breakdown(args.agents, args.steps, on)
        whole = sum(parts.values())
        print(f"an agent-step at batch {args.agents}, {name} update, milliseconds (share):")
        print("  " + "  ".join(f"{part} {ms:.2f} ({ms / whole:.0%})" for part, ms in parts.items()))
        figures["breakdown_ms"][name] = parts
    if args.fidelity:
        fast, reference = zip(*(paired_frames(seed, args.steps // 2) for seed in seeds))
        fast, reference = np.concatenate(fast), np.concatenate(reference)
        figures["fidelity"] = {
            "frame": frame_agreement(fast, reference),
            "agent_crop_84": frame_agreement(fast[:, :84, 6:90], reference[:, :84, 6:90]),
        }
        for name, figure in figures["fidelity"].items():
            print(
                f"  fidelity {name:<14} mean |diff| {figure['mean_abs_diff']:.2f}/255, "
                f"pixels within 8/255: {figure['within_8']:.1%}"
            )
    if args.json:
        atomic_write_bytes(Path(args.json), json.dumps(figures, indent=2).encode())


if __name__ == "__main__":
    main()

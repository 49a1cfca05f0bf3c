"""Run a batch of agents through their episodes in lockstep; return each agent's fitness.

The network is evaluated once per step for the whole batch (batched matmuls and one in-place
rule update per layer), so the per-step Python cost is paid once per batch, not per agent.
Step order, as in Najarro & Risi's code: forward pass with the current weights; env step; early
stop check (an agent whose episode ended gets no update on its final step); then the plastic
update of every layer from that one forward pass. Agents whose episode ends leave the batch (their
weights and rule terms are dropped) and the rest go on without waiting. An agent whose network
outputs NaN or inf ends its episode there with NaN fitness, for the searcher to rank last.
Damage configured in the task (weight ablation at a step, failed motors) is applied on the way
(``metaheb.damage``). With ``task.action_repeat = k``, the agent decides (forward pass, then its
plastic update) on every k-th policy step and holds its action in between; the task is asked to
draw only the observations a decision will read. With ``network.modulation``, each agent's
update is multiplied by its m_t (``metaheb.modulation``), from the rewards of the steps since its
previous update and the update step's activations.

The next step's input features (the CarRacing encoder's, from frames) are computed as soon as its
observations are drawn, before the plastic update: the encoder's kernels are fixed during an
episode, so the values are the same, and the frames are still in cache rather than evicted by
the update's stream over the network state (docs/speed.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from metaheb.config import TaskConfig
from metaheb.damage import ablate_, ablation_due, disable_actuators
from metaheb.modulation import Modulator
from metaheb.networks import PolicyNetwork
from metaheb.rules import Terms
from metaheb.seeding import repeat_seed
from metaheb.tasks import Score, Task


@dataclass
class BatchResult:
    fitness: np.ndarray  # (n,) float64: the mean (or min) over morphologies
    steps: np.ndarray  # (n,) env steps each agent took, all morphologies together
    seconds: float = 0.0  # wall time of the batch where it ran
    by_morphology: np.ndarray | None = None  # (n, M) fitness on each of task.morphologies
    traces: list[WeightStats] | None = None  # every trace_every steps, when asked for
    nodes: list[str] | None = None  # per agent, the Ray node that evaluated it


@dataclass
class WeightStats:
    """Per-layer weight statistics of the agents still running at one step."""

    step: int
    agents: np.ndarray  # (a,) indices into the batch
    mean_abs: np.ndarray  # (layers, a)
    std: np.ndarray  # (layers, a)
    max_abs: np.ndarray  # (layers, a)
    modulation: np.ndarray | None = None  # (a,) the last update's m_t (NaN before the first)

    @classmethod
    def of(
        cls,
        step: int,
        agents: np.ndarray,
        weights: list[torch.Tensor],
        modulator: Modulator | None = None,
    ) -> WeightStats:
        flat = [w.flatten(1) for w in weights]
        return cls(
            step,
            agents.copy(),
            torch.stack([w.abs().mean(1) for w in flat]).numpy(),
            torch.stack([w.std(1) for w in flat]).numpy(),
            torch.stack([w.abs().amax(1) for w in flat]).numpy(),
            None if modulator is None else modulator.last.numpy().copy(),
        )


def decides(config: TaskConfig, step: int) -> bool:
    """Whether the agent computes a new action at env step ``step`` (0-based)."""
    return step >= config.burn_in and (step - config.burn_in) % config.action_repeat == 0


COMBINE_BODIES = {"mean": np.mean, "min": np.min}


@torch.no_grad()
def evaluate_batch(
    task: Task, network: PolicyNetwork, genomes: torch.Tensor, seeds: Sequence[int]
) -> BatchResult:
    """``task.episodes`` episodes per agent on each morphology; fitness is the mean over the
    episodes of each body, then the mean over bodies (the paper) or their minimum
    (``task.morphology_fitness = "min"``: a genome scores only what it walks on its worst body)."""
    started = time.perf_counter()
    by_morphology, steps = [], np.zeros(len(seeds), dtype=np.int64)
    for morphology in task.config.morphologies:
        episodes = []
        for episode in range(task.config.episodes):
            repeat = [repeat_seed(seed, episode) for seed in seeds]
            result = rollout_batch(task, network, genomes, repeat, morphology)
            episodes.append(result.fitness)
            steps += result.steps
        by_morphology.append(np.mean(episodes, axis=0))
    by_morphology = np.stack(by_morphology, axis=1)
    return BatchResult(
        fitness=COMBINE_BODIES[task.config.morphology_fitness](by_morphology, axis=1),
        steps=steps,
        seconds=time.perf_counter() - started,
        by_morphology=by_morphology,
    )


def _encode(network: PolicyNetwork, weights: list[torch.Tensor], obs: np.ndarray) -> torch.Tensor:
    """o_0 of the agents' next forward pass, computed as soon as their observations are drawn."""
    return network.encode(weights, torch.from_numpy(obs).float())


def _act(
    network: PolicyNetwork,
    weights: list[torch.Tensor],
    features: torch.Tensor,
    diverged: np.ndarray,
    active: np.ndarray,
) -> tuple[list[torch.Tensor], np.ndarray]:
    """One forward pass from the encoded observations: (every layer's activations, the actions).
    An agent whose actions are not finite is marked in ``diverged`` and acts zero: the physics
    would reset itself and hide it, so its episode ends with a non-finite fitness instead."""
    activations = network.forward_features(weights, features)
    actions = network.actions(activations).numpy()
    broken = ~np.isfinite(actions).all(axis=1)
    if broken.any():
        diverged[active[broken]] = True
        actions = np.where(broken[:, None], 0.0, actions)
    return activations, actions


def _keep_state(
    weights: list[torch.Tensor],
    terms: list[Terms],
    index: torch.Tensor,
    modulator: Modulator | None,
) -> tuple[list[torch.Tensor], list[Terms]]:
    """The weights and rule terms of the agents at ``index`` (those whose episodes go on); the
    modulator, if any, keeps only theirs too."""
    if modulator is not None:
        modulator.keep(index)
    kept = [Terms(*(t if t is None else t[index] for t in layer)) for layer in terms]
    return [w[index] for w in weights], kept


@torch.no_grad()
def rollout_batch(
    task: Task,
    network: PolicyNetwork,
    genomes: torch.Tensor,
    seeds: Sequence[int],
    morphology: str = "intact",
    trace_every: int = 0,
    on_step: Callable[[int, np.ndarray, list, Score], None] | None = None,
) -> BatchResult:
    """Evaluate ``genomes`` (n, G), agent k for one episode seeded by ``seeds[k]``.

    With ``trace_every = k > 0``, per-layer weight statistics are recorded at step 0 and every
    k steps after (before that step's forward pass), and returned in ``traces``. ``on_step``,
    if given, is called after every env step with (step, agents still running, their envs, the
    score): replay renders frames there, the report reads the fitness so far.
    """
    started, config = time.perf_counter(), task.config
    live_envs = task.envs(len(seeds), morphology)  # of the agents still running, in active order
    obs = task.reset(live_envs, list(seeds))
    weights, terms = network.start_episode(genomes, seeds)
    features = _encode(network, weights, obs) if decides(config, 0) else None
    modulator = network.modulator(genomes)
    score, active = task.score(live_envs), np.arange(len(seeds))
    actions = zero_action = np.zeros((len(seeds), task.act_dim))
    diverged = np.zeros(len(seeds), dtype=bool)
    traces: list[WeightStats] = []  # stays empty unless trace_every
    layers = len(network.layer_shapes)
    for step in range(config.max_steps):
        if trace_every and step % trace_every == 0:
            traces.append(WeightStats.of(step, active, weights[:layers], modulator))
        if ablation_due(config, step):
            ablate_(weights, [seeds[k] for k in active], config, layers)
        deciding = decides(config, step)
        if deciding:
            activations, actions = _act(network, weights, features, diverged, active)
        elif step < config.burn_in:
            actions = zero_action[: len(active)]
        look = config.action_repeat == 1 or decides(config, step + 1)
        obs, outcome = task.step(live_envs, disable_actuators(actions, config), look)
        done = score.observe(step, active, live_envs, outcome) | diverged[active]
        if modulator is not None:
            modulator.observe(score.reward[active])
        if on_step is not None:
            on_step(step, active, live_envs, score)
        if done.any():
            keep = np.flatnonzero(~done)
            index = torch.from_numpy(keep)
            weights, terms = _keep_state(weights, terms, index, modulator)
            active, obs, actions = active[keep], obs[keep], actions[keep]
            live_envs = [live_envs[k] for k in keep]
            activations = [a[index] for a in activations] if deciding else None
            if len(active) == 0:
                break
        if decides(config, step + 1):  # encoded while the frames are in cache (module doc)
            features = _encode(network, weights, obs)
        if deciding and network.plastic:
            modulation = None if modulator is None else modulator.factor(activations)
            network.plasticity_step(weights, activations, terms, modulation)
    fitness, seconds = np.where(diverged, np.nan, score.fitness), time.perf_counter() - started
    return BatchResult(fitness, score.steps.copy(), seconds, traces=traces or None)

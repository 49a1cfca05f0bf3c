"""The generation loop: ask, evaluate over Ray, tell, log, keep the best agent, checkpoint.

Read top to bottom: build the task, network and searcher from the config; then each generation
one ``searcher.step()`` (ask -> Ray evaluation -> tell), every ``evolve.eval_every`` generations
the search centre on held-out episodes (``heldout.py``; also the starting centre, in the first
record), one metrics record, the best agent so far, the centre with the best held-out score so
far (``best_center``: a centre's score swings between evaluations, and the report scores it on
other episodes than the ones that chose it) and a checkpoint written to the run directory.
``resume`` rebuilds the same objects from a run directory, restores the checkpoint and
continues: the metrics it writes are those an uninterrupted run writes.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from metaheb.config import Config, apply_overrides, config_from_dict, read_run_config
from metaheb.errors import Interrupted, UserError
from metaheb.evolve.checkpoint import CANNOT_RESUME, load_checkpoint, restore, save_checkpoint
from metaheb.evolve.evaluator import ray_session
from metaheb.evolve.problem import RolloutProblem
from metaheb.evolve.progress import GenerationLog
from metaheb.evolve.searchers import check_memory, search_center, search_spread
from metaheb.evolve.stage import Stage, build_stage, merge_stage
from metaheb.interrupts import describe
from metaheb.native import cxx_compiler
from metaheb.networks import PolicyNetwork
from metaheb.runs import RunDirectory, check_writable, read_metrics, save_agent
from metaheb.tasks import make_task

Echo = Callable[[str], None]


def train(config: Config, echo: Echo = print, pause_at: int | None = None) -> Path:
    """Run one evolution job to completion in a new run directory; return its path.

    ``pause_at`` (env steps) stops the run early, resumable, at its first held-out evaluation
    from that many env steps on: a sweep's pruner reads the run there (``metaheb.sweep``)."""
    network = _network(config, echo)
    check_writable(config.run.out_dir, "run.out_dir")
    with ray_session(config.ray) as num_workers:
        name = config.run.name or RunDirectory.default_name(
            config.task.name, config.network.model, config.run.seed
        )
        run = RunDirectory.create(config.run.out_dir, name)
        run.write_config(config.to_dict())
        echo(f"run directory: {run.path}  ({num_workers} Ray workers)")
        with run.running(), _resumable_when_stopped(run):
            _evolve(config, run, network, num_workers, echo, None, pause_at)
    return run.path


# What a resume may change: when the run stops, never what it does on the way there.
BUDGET_KEYS = ("evolve.max_env_steps", "evolve.generations")


def resume(
    path: str | Path, echo: Echo = print, budget: list[str] = (), pause_at: int | None = None
) -> Path:
    """Continue a stopped run from its last checkpoint, in the same run directory.

    ``budget`` overrides (``evolve.max_env_steps=6000000``, ``evolve.generations=500``) extend a
    run, a finished one too: the search goes on exactly as an uninterrupted run with that budget
    would (the budget only says when to stop), and config.toml records the new budget.
    ``pause_at`` as for ``train``."""
    run = RunDirectory(Path(path))
    if not (run.path / "config.toml").is_file():
        raise UserError(f"{str(path)!r} is not a run directory (no config.toml): give runs/NAME")
    if not run.checkpoint_path.is_file():
        raise UserError(f"run {str(path)!r} has no checkpoint yet: start it again with train")
    config = _with_budget(read_run_config(run.path), budget)
    checkpoint = load_checkpoint(run.checkpoint_path)
    done = checkpoint["generations_done"]
    recorded = len(read_metrics(run.path))
    if recorded < done:
        raise UserError(
            f"run {str(path)!r} has a checkpoint at generation {done} but metrics for only "
            f"{recorded}: its metrics.jsonl lost records; train the run again"
        )
    if done >= config.evolve.generations or _budget_spent(config, _env_steps(run, done)):
        raise UserError(f"run {str(path)!r} is already complete ({done} generations)")
    network = _network(config, echo)
    if "assignment" in checkpoint:  # merged rules: the genome is the rules of this assignment
        network = dataclasses.replace(network, assignment=tuple(checkpoint["assignment"].tolist()))
        _check_assignment(network, run.path)
    check_writable(run.path, "run")
    if budget:
        run.write_config(config.to_dict())
    with ray_session(config.ray) as num_workers:
        echo(f"resuming {run.path} at generation {done + 1}  ({num_workers} Ray workers)")
        with run.running(), _resumable_when_stopped(run):
            _evolve(config, run, network, num_workers, echo, checkpoint, pause_at)
    return run.path


@contextmanager
def _resumable_when_stopped(run: RunDirectory) -> Iterator[None]:
    """Ctrl-C or SIGTERM during the run: one line saying where it stopped and how it goes on
    (an ``Interrupted``). The checkpoint of the last finished generation is whole, being written
    atomically; a generation cut off runs again on resume, to the same numbers."""
    try:
        yield
    except KeyboardInterrupt as stop:
        cause, exit_code = describe(stop)
        if not run.checkpoint_path.is_file():
            where = f"before its first generation ended: nothing to resume ({run.path})"
        else:
            done = load_checkpoint(run.checkpoint_path)["generations_done"]
            where = f"after generation {done}: `metaheb resume {run.path}` goes on from there"
        raise Interrupted(f"stopped by {cause} {where}", cause, exit_code) from None


def _check_assignment(network: PolicyNetwork, path: Path) -> None:
    if len(network.assignment) != network.synapses:
        raise UserError(
            f"run {str(path)!r}: its checkpoint assigns {len(network.assignment):,} synapses to "
            f"rules, its network has {network.synapses:,}; {CANNOT_RESUME}"
        )


def _with_budget(saved: dict[str, Any], budget: list[str]) -> Config:
    """A run's saved config with its budget changed by ``key=value`` overrides of BUDGET_KEYS."""
    for item in budget:
        key = item.partition("=")[0].strip()
        if key not in BUDGET_KEYS:
            raise UserError(
                f"resume changes only the budget ({', '.join(BUDGET_KEYS)}), not {key!r}: "
                "train a new run to change anything else"
            )
    return config_from_dict(apply_overrides(saved, list(budget)))


def _env_steps(run: RunDirectory, generations: int) -> int:
    """Env steps of the run's first ``generations`` generations, from its metrics."""
    return sum(record["env_steps"] for record in read_metrics(run.path)[:generations])


def _budget_spent(config: Config, env_steps: int) -> bool:
    return 0 < config.evolve.max_env_steps <= env_steps


FUSED_FROM_ENV_STEPS = 1_000_000  # compiling costs a few seconds per worker; these repay it


def planned_env_steps(config: Config) -> int:
    """The run's budget in env steps: ``evolve.max_env_steps``, or every episode at full length."""
    if config.evolve.max_env_steps:
        return config.evolve.max_env_steps
    task, evolve = config.task, config.evolve
    return (
        evolve.popsize
        * evolve.generations
        * task.max_steps
        * task.episodes
        * len(task.morphologies)
    )


def _network(config: Config, echo: Echo) -> PolicyNetwork:
    task = make_task(config.task)
    network = PolicyNetwork.of_task(config.network, task)
    if config.network.fused == "auto":
        fused = network.plastic and planned_env_steps(config) >= FUSED_FROM_ENV_STEPS
        network = dataclasses.replace(network, fused=fused and cxx_compiler() is not None)
    size = network.genome_layout.size
    check_memory(config.evolve, size)
    if config.evolve.merge_rules and config.evolve.merge_rules[0] >= network.synapses:
        raise UserError(
            f"evolve.merge_rules starts at {config.evolve.merge_rules[0]:,} rules; the network has "
            f"{network.synapses:,} synapses: merge into fewer rules than synapses"
        )
    sizes = "-".join(map(str, network.sizes))
    model = f"Hebbian ({network.rule}, init {network.init})" if network.plastic else "static"
    update = ", fused rule update" if network.fused else ""
    echo(f"network {sizes}, {model}{update}: genome of {size:,} values; {config.evolve.algorithm}")
    return network


def _evolve(
    config: Config,
    run: RunDirectory,
    network: PolicyNetwork,
    num_workers: int,
    echo: Echo,
    checkpoint: dict[str, Any] | None,
    pause_at: int | None = None,
) -> None:
    """The generation loop: ask, evaluate over Ray, tell; record, score the centre held out,
    keep the best member and centre, merge rules when scheduled, checkpoint; stop at the
    generations or the budget, or pause at the first held-out evaluation from ``pause_at`` on."""
    stage = build_stage(config, network, num_workers)
    start, best_fitness, best_heldout = _restore(checkpoint, stage, run)
    log = GenerationLog(run, config.evolve.generations, echo, start=start)
    env_steps = _env_steps(run, start)
    heldout_start = None
    if start == 0 and stage.heldout.every:
        heldout_start, best_heldout = _score_center(stage, run, best_heldout, generation=-1)
    merges = dict(config.evolve.merge_schedule())

    generation, record = start - 1, {}
    for generation in range(start, config.evolve.generations):
        stage.problem.generation = generation
        started = time.perf_counter()
        stage.searcher.step()
        elapsed = time.perf_counter() - started
        record = _record(config, generation, stage.problem, stage.searcher, elapsed)
        steps = record["env_steps"]
        last = _is_last(config, generation, env_steps + steps)
        if heldout_start is not None:
            record["heldout_start"], heldout_start = heldout_start, None
        if stage.heldout.due(generation, last):
            record["heldout"], best_heldout = _score_center(stage, run, best_heldout, generation)
        best_fitness = _keep_best_member(run, stage, best_fitness, generation)
        if generation + 1 in merges and not last:
            stage, record["merge"] = _merge(config, stage, merges[generation + 1], num_workers)
        log.record(record)
        save_checkpoint(
            run.checkpoint_path,
            generation + 1,
            best_fitness,
            stage.searcher,
            stage.problem,
            best_heldout,
            stage.network.assignment,
        )
        env_steps += steps
        if _pausing(pause_at, last, record, env_steps):
            log.close()
            echo(f"paused at {env_steps:,} env steps (generation {generation + 1}): resumable")
            return
        if last and generation + 1 < config.evolve.generations:
            echo(f"env-step budget reached: {env_steps:,} steps in {generation + 1} generations")
            break
    log.close()
    _save_center(run, stage, generation, record)
    echo(f"done: best fitness {best_fitness:.3f}; run directory {run.path}")


def _merge(config: Config, stage: Stage, rules: int, num_workers: int) -> tuple[Stage, dict]:
    """The next stage of an evolve-and-merge run, and what its metrics record says of it: the
    rules and genome size after the merge, and the merged centre on the held-out episodes."""
    stage = merge_stage(config, stage, rules, num_workers)
    merge = {"rules": stage.network.merged_rules, "genome": stage.network.genome_layout.size}
    if stage.heldout.every:
        merge["heldout"] = stage.heldout.evaluate(search_center(stage.searcher))["mean"]
    return stage, merge


def _save_center(run: RunDirectory, stage: Stage, generation: int, record: dict) -> None:
    """The final search centre as ``agents/center``, with its held-out score."""
    meta = {**stage.agent_meta, "generation": generation}
    if "heldout" in record:  # the last generation is always evaluated
        meta["heldout"] = record["heldout"]["mean"]
    save_agent(run.agent_path("center"), search_center(stage.searcher).numpy(), meta)


def _is_last(config: Config, generation: int, env_steps: int) -> bool:
    """The 0-based ``generation`` ends the run: the generations done or the budget spent."""
    return generation + 1 == config.evolve.generations or _budget_spent(config, env_steps)


def _pausing(pause_at: int | None, last: bool, record: dict[str, Any], env_steps: int) -> bool:
    """Pause here: ``pause_at`` env steps spent, the centre just scored, the budget not spent."""
    return pause_at is not None and not last and "heldout" in record and env_steps >= pause_at


def _score_center(
    stage: Stage, run: RunDirectory, best_heldout: float, generation: int
) -> tuple[dict[str, Any], float]:
    """The search centre on the held-out episodes, kept as ``best_center`` if it is the best so
    far; (its scores, the best held-out mean so far)."""
    center = search_center(stage.searcher)
    scores = stage.heldout.evaluate(center)
    best = _keep_best_center(run, center, scores, best_heldout, stage.agent_meta, generation)
    return scores, best


def _restore(
    checkpoint: dict[str, Any] | None, stage: Stage, run: RunDirectory
) -> tuple[int, float, float]:
    """(first generation to run, best member's fitness, best held-out mean) of a new run, or of
    a resumed one with its searcher and generators restored from ``checkpoint``."""
    if checkpoint is None:
        return 0, -np.inf, -np.inf
    restore(checkpoint, stage.searcher, stage.problem)
    start = checkpoint["generations_done"]
    run.truncate_metrics(start)  # a generation cut off after its metrics line runs again
    return start, checkpoint["best_fitness"], checkpoint.get("best_heldout", -np.inf)


def _record(
    config: Config, generation: int, problem: RolloutProblem, searcher: Any, seconds: float
) -> dict[str, Any]:
    """A generation's line of metrics.jsonl, from its evaluated population."""
    result = problem.last_result
    steps = int(result.steps.sum())
    return {
        "generation": generation,
        "best": float(result.fitness.max()),
        "mean": float(result.fitness.mean()),
        "std": float(result.fitness.std()),
        "min": float(result.fitness.min()),
        "nonfinite": problem.last_nonfinite,
        "env_steps": steps,
        "env_steps_per_s": steps / seconds,
        "seconds": seconds,
        "eval_seconds": result.seconds,
        "spread": search_spread(searcher),
        "nodes": dict(Counter(node[:8] for node in result.nodes)),
        "morphologies": {
            name: float(np.nanmean(result.by_morphology[:, k]))
            for k, name in enumerate(config.task.morphologies)
        },
    }


def _keep_best_member(
    run: RunDirectory, stage: Stage, best_fitness: float, generation: int
) -> float:
    """Save the generation's best member as ``best`` (with its episode seed) if it beats
    ``best_fitness``; return the best fitness so far."""
    fitness = stage.problem.last_result.fitness
    if not fitness.max() > best_fitness:
        return best_fitness
    best = int(fitness.argmax())
    meta = {
        **stage.agent_meta,
        "fitness": float(fitness[best]),
        "generation": generation,
        "episode_seed": stage.problem.last_seeds[best],
    }
    save_agent(run.agent_path("best"), stage.searcher.population.values[best].numpy(), meta)
    return float(fitness[best])


def _keep_best_center(
    run: RunDirectory,
    center: Any,
    heldout: dict[str, Any],
    best_heldout: float,
    agent_meta: dict[str, Any],
    generation: int,
) -> float:
    """Save the centre as ``best_center`` if its held-out mean beats ``best_heldout``; return the
    best held-out mean so far. ``generation`` -1 is the starting centre."""
    if not heldout["mean"] > best_heldout:
        return best_heldout
    meta = {**agent_meta, "generation": generation, "heldout": heldout["mean"]}
    save_agent(run.agent_path("best_center"), center.numpy(), meta)
    return heldout["mean"]

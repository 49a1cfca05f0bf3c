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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from metaheb.config import Config, apply_overrides, config_from_dict, read_toml
from metaheb.config.load import cxx_compiler
from metaheb.errors import UserError
from metaheb.evolve.checkpoint import load_checkpoint, restore, save_checkpoint
from metaheb.evolve.evaluator import RayEvaluator, ray_session
from metaheb.evolve.heldout import HeldOutEvaluation
from metaheb.evolve.problem import RolloutProblem
from metaheb.evolve.progress import GenerationLog
from metaheb.evolve.searchers import check_memory, make_searcher, search_center, search_spread
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
    config = _with_budget(read_toml(run.path / "config.toml", "run config"), budget)
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
    check_writable(run.path, "run")
    if budget:
        run.write_config(config.to_dict())
    with ray_session(config.ray) as num_workers:
        echo(f"resuming {run.path} at generation {done + 1}  ({num_workers} Ray workers)")
        _evolve(config, run, network, num_workers, echo, checkpoint, pause_at)
    return run.path


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
    keep the best member and centre, checkpoint; stop at the generations or the env-step budget,
    or pause at the first held-out evaluation from ``pause_at`` env steps on."""
    evaluator = RayEvaluator(config.task, network, num_workers)
    problem = RolloutProblem(
        network.genome_layout.size, evaluator, config.run.seed, config.evolve.seeding
    )
    searcher = make_searcher(config.evolve, problem, config.run.seed, network.genome_layout)
    start, best_fitness, best_heldout = _restore(checkpoint, searcher, problem, run)
    agent_meta = _agent_meta(config, network)
    log = GenerationLog(run, config.evolve.generations, echo, start=start)
    env_steps = _env_steps(run, start)
    heldout = HeldOutEvaluation(config, network, num_workers)
    heldout_start = None
    if start == 0 and heldout.every:
        heldout_start, best_heldout = _score_center(
            heldout, searcher, run, best_heldout, agent_meta, generation=-1
        )

    generation, record = start - 1, {}
    for generation in range(start, config.evolve.generations):
        problem.generation = generation
        started = time.perf_counter()
        searcher.step()
        record = _record(config, generation, problem, searcher, time.perf_counter() - started)
        steps = record["env_steps"]
        last = _is_last(config, generation, env_steps + steps)
        if heldout_start is not None:
            record["heldout_start"], heldout_start = heldout_start, None
        if heldout.due(generation, last):
            record["heldout"], best_heldout = _score_center(
                heldout, searcher, run, best_heldout, agent_meta, generation
            )
        log.record(record)
        best_fitness = _keep_best_member(
            run, problem, searcher, best_fitness, agent_meta, generation
        )
        save_checkpoint(
            run.checkpoint_path, generation + 1, best_fitness, searcher, problem, best_heldout
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
    _save_center(run, searcher, {**agent_meta, "generation": generation}, record)
    echo(f"done: best fitness {best_fitness:.3f}; run directory {run.path}")


def _save_center(
    run: RunDirectory, searcher: Any, meta: dict[str, Any], record: dict[str, Any]
) -> None:
    """The final search centre as ``agents/center``, with its held-out score."""
    if "heldout" in record:  # the last generation is always evaluated
        meta["heldout"] = record["heldout"]["mean"]
    save_agent(run.agent_path("center"), search_center(searcher).numpy(), meta)


def _is_last(config: Config, generation: int, env_steps: int) -> bool:
    """The 0-based ``generation`` ends the run: the generations done or the budget spent."""
    return generation + 1 == config.evolve.generations or _budget_spent(config, env_steps)


def _pausing(pause_at: int | None, last: bool, record: dict[str, Any], env_steps: int) -> bool:
    """Pause here: ``pause_at`` env steps spent, the centre just scored, the budget not spent."""
    return pause_at is not None and not last and "heldout" in record and env_steps >= pause_at


def _score_center(
    heldout: HeldOutEvaluation,
    searcher: Any,
    run: RunDirectory,
    best_heldout: float,
    agent_meta: dict[str, Any],
    generation: int,
) -> tuple[dict[str, Any], float]:
    """The search centre on the held-out episodes, kept as ``best_center`` if it is the best so
    far; (its scores, the best held-out mean so far)."""
    scores = heldout.evaluate(search_center(searcher))
    best = _keep_best_center(
        run, search_center(searcher), scores, best_heldout, agent_meta, generation
    )
    return scores, best


def _agent_meta(config: Config, network: PolicyNetwork) -> dict[str, Any]:
    """What every agent file of the run says of itself: its task, network and run seed."""
    return {"task": vars(config.task), "network": network.to_dict(), "run_seed": config.run.seed}


def _restore(
    checkpoint: dict[str, Any] | None, searcher: Any, problem: RolloutProblem, run: RunDirectory
) -> tuple[int, float, float]:
    """(first generation to run, best member's fitness, best held-out mean) of a new run, or of
    a resumed one with its searcher and generators restored from ``checkpoint``."""
    if checkpoint is None:
        return 0, -np.inf, -np.inf
    restore(checkpoint, searcher, problem)
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
    run: RunDirectory,
    problem: RolloutProblem,
    searcher: Any,
    best_fitness: float,
    agent_meta: dict[str, Any],
    generation: int,
) -> float:
    """Save the generation's best member as ``best`` (with its episode seed) if it beats
    ``best_fitness``; return the best fitness so far."""
    fitness = problem.last_result.fitness
    if not fitness.max() > best_fitness:
        return best_fitness
    best = int(fitness.argmax())
    meta = {
        **agent_meta,
        "fitness": float(fitness[best]),
        "generation": generation,
        "episode_seed": problem.last_seeds[best],
    }
    save_agent(run.agent_path("best"), searcher.population.values[best].numpy(), meta)
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

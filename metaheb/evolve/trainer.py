"""The generation loop: ask, evaluate over Ray, tell, log, keep the best agent.

Read top to bottom: build the task, network and searcher from the config; then each generation
one ``searcher.step()`` (ask -> Ray evaluation -> tell), one metrics record, and the best agent so
far written to the run directory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from metaheb.config import Config
from metaheb.evolve.evaluator import RayEvaluator, ray_session
from metaheb.evolve.problem import RolloutProblem
from metaheb.evolve.progress import GenerationLog
from metaheb.evolve.searchers import check_memory, make_searcher, search_center, search_spread
from metaheb.networks import PolicyNetwork
from metaheb.runs import RunDirectory, save_agent
from metaheb.tasks import make_task


def train(config: Config, echo: Callable[[str], None] = print) -> Path:
    """Run one evolution job to completion; return its run directory."""
    task = make_task(config.task)
    network = PolicyNetwork.for_task(
        config.network, task.obs_dim, task.act_dim, task.output_activation
    )
    layout = network.genome_layout
    check_memory(config.evolve, layout.size)
    sizes = "-".join(map(str, network.sizes))
    model = f"Hebbian ({network.rule}, init {network.init})" if network.plastic else "static"
    echo(f"network {sizes}, {model}: genome of {layout.size:,} values; {config.evolve.algorithm}")

    with ray_session(config.ray) as num_workers:
        name = config.run.name or RunDirectory.default_name(
            config.task.name, config.network.model, config.run.seed
        )
        run = RunDirectory.create(config.run.out_dir, name)
        run.write_config(config.to_dict())
        echo(f"run directory: {run.path}  ({num_workers} Ray workers)")

        evaluator = RayEvaluator(config.task, network, num_workers)
        problem = RolloutProblem(layout.size, evaluator, config.run.seed, config.evolve.seeding)
        searcher = make_searcher(config.evolve, problem, config.run.seed)
        agent_meta = {
            "task": vars(config.task),
            "network": network.to_dict(),
            "run_seed": config.run.seed,
        }
        log = GenerationLog(run, config.evolve.generations, echo)
        best_fitness = -np.inf

        for generation in range(config.evolve.generations):
            problem.generation = generation
            started = time.perf_counter()
            searcher.step()
            seconds = time.perf_counter() - started
            fitness, steps = problem.last_result.fitness, int(problem.last_result.steps.sum())
            log.record(
                {
                    "generation": generation,
                    "best": float(fitness.max()),
                    "mean": float(fitness.mean()),
                    "std": float(fitness.std()),
                    "min": float(fitness.min()),
                    "nonfinite": problem.last_nonfinite,
                    "env_steps": steps,
                    "env_steps_per_s": steps / seconds,
                    "seconds": seconds,
                    "spread": search_spread(searcher),
                }
            )
            if fitness.max() > best_fitness:
                best = int(fitness.argmax())
                best_fitness = float(fitness[best])
                save_agent(
                    run.agent_path("best"),
                    searcher.population.values[best].numpy(),
                    {
                        **agent_meta,
                        "fitness": best_fitness,
                        "generation": generation,
                        "episode_seed": problem.last_seeds[best],
                    },
                )
        log.close()
        save_agent(
            run.agent_path("center"),
            search_center(searcher).numpy(),
            {**agent_meta, "generation": config.evolve.generations - 1},
        )
    echo(f"done: best fitness {best_fitness:.3f}; run directory {run.path}")
    return run.path

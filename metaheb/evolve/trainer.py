"""The generation loop: ask, evaluate over Ray, tell, log, keep the best agent.

Read top to bottom: build the task, network and searcher from the config; then each generation
one ``searcher.step()`` (ask -> Ray evaluation -> tell), one metrics line, and the best agent so
far written to the run directory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from metaheb.config import Config
from metaheb.evolve.evaluator import RayEvaluator, ray_session
from metaheb.evolve.openes import OpenES
from metaheb.evolve.problem import RolloutProblem
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
    sizes = "-".join(map(str, network.sizes))
    model = f"Hebbian ({network.rule}, init {network.init})" if network.plastic else "static"
    echo(f"network {sizes}, {model}: genome of {layout.size:,} values")

    with ray_session(config.ray) as num_workers:
        name = config.run.name or RunDirectory.default_name(
            config.task.name, config.network.model, config.run.seed
        )
        run = RunDirectory.create(config.run.out_dir, name)
        run.write_config(config.to_dict())
        echo(f"run directory: {run.path}  ({num_workers} Ray workers)")

        problem = RolloutProblem(
            layout.size,
            RayEvaluator(config.task, network, num_workers),
            config.run.seed,
            config.evolve.seeding,
        )
        searcher = OpenES(problem, config.evolve, seed=config.run.seed)
        agent_meta = {
            "task": vars(config.task),
            "network": network.to_dict(),
            "run_seed": config.run.seed,
        }
        best_fitness = -np.inf

        for generation in range(config.evolve.generations):
            problem.generation = generation
            started = time.perf_counter()
            searcher.step()
            seconds = time.perf_counter() - started
            fitness, steps = problem.last_result.fitness, int(problem.last_result.steps.sum())
            record = {
                "generation": generation,
                "best": float(fitness.max()),
                "mean": float(fitness.mean()),
                "std": float(fitness.std()),
                "min": float(fitness.min()),
                "env_steps": steps,
                "env_steps_per_s": steps / seconds,
                "seconds": seconds,
                "lr": searcher.state.lr,
                "sigma": searcher.state.sigma,
            }
            run.append_metrics(record)
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
            echo(
                f"gen {generation + 1:>4}/{config.evolve.generations}  best {record['best']:8.3f}  "
                f"mean {record['mean']:8.3f}  env-steps/s {record['env_steps_per_s']:8,.0f}  "
                f"({seconds:.1f} s)"
            )
        save_agent(
            run.agent_path("center"),
            searcher.state.center.numpy(),
            {**agent_meta, "generation": config.evolve.generations - 1},
        )
    echo(f"done: best fitness {best_fitness:.3f}; run directory {run.path}")
    return run.path

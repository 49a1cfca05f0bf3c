"""Command line: ``metaheb train [CONFIG.toml] [section.key=value ...]``.

Bad input (a ``UserError``, or a usage mistake) prints one line and exits with code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from metaheb.agent_names import AGENTS
from metaheb.cli_info import config_from_args, config_keys, inspect, runs
from metaheb.config import SEED_LIMIT
from metaheb.errors import Interrupted, RunStopped, UserError
from metaheb.interrupts import describe


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="metaheb")
def cli() -> None:
    """Evolve Hebbian plasticity rules (Najarro & Risi 2020) over Ray workers."""


def task_overrides(
    overrides: tuple[str, ...], morphology: str | None, ablate: str | None
) -> list[str]:
    """``--morphology NAME`` and ``--ablate FRACTION@STEP`` as the task overrides they stand for.

    The config validates the values themselves (a known body, a fraction in [0, 1]).
    """
    result = list(overrides)
    if morphology is not None:
        result.append(f'task.morphologies=["{morphology}"]')
    if ablate is not None:
        fraction, at, step = ablate.partition("@")
        if not at or not fraction.strip() or not step.strip().isdigit():
            raise UserError(
                f"--ablate {ablate!r} is not FRACTION@STEP; e.g. --ablate 0.5@250 zeroes half "
                "the weights at step 250"
            )
        result += [f"task.ablation_fraction={fraction.strip()}", f"task.ablation_step={step}"]
    return result


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def train(args: tuple[str, ...]) -> None:
    """Evolve a population: CONFIG.toml (optional, else defaults) then key=value overrides.

    Example: metaheb train envs/ant-quick.toml evolve.popsize=16 run.seed=3
    """
    config = config_from_args(args)
    from metaheb.evolve.trainer import train as run_training  # heavy imports only when needed

    run_training(config, echo=click.echo)


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("agent")
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
@click.option("--episodes", default=5, show_default=True, help="Seeded episodes per morphology.")
@click.option("--morphology", help="Test on this body instead (a name from envs/ant).")
@click.option("--ablate", metavar="FRACTION@STEP", help="Zero this share of weights at STEP.")
@click.option(
    "--family",
    help="Test on every body of a family: leg-length, many-bodies, leg-pairs or a family file.",
)
def evaluate(
    agent: str,
    overrides: tuple[str, ...],
    episodes: int,
    morphology: str | None,
    ablate: str | None,
    family: str | None,
) -> None:
    """Fitness of a saved agent (a RUN_DIR's best, or an agent file), mean +- std per morphology.

    task.* overrides change what it is tested on, e.g. an unseen leg and an ablation:

    metaheb evaluate runs/NAME 'task.morphologies=["front_left_lower_x0.25"]'
    task.ablation_fraction=0.5 task.ablation_step=500
    """
    from metaheb.evaluate import evaluate_agent, resolve_agent

    overrides = task_overrides(overrides, morphology, ablate)
    saved = resolve_agent(agent)
    if family:
        if morphology:
            raise UserError("give --family or --morphology, not both")
        from metaheb.families import family_overrides

        folder = bodies_folder(Path(agent))
        overrides += family_overrides(family, saved.meta["task"].get("name", "ant"), folder)
    result = evaluate_agent(saved, overrides, episodes)
    for k, name in enumerate(result.morphologies):
        scores = result.fitness[:, k]
        click.echo(
            f"{name:<24} {scores.mean():9.3f} +- {scores.std():7.3f}  "
            f"({episodes} episodes: {' '.join(f'{x:.2f}' for x in scores)})"
        )


def bodies_folder(agent: Path) -> Path:
    """Where a family's bodies are kept: the agent's run directory (``RUN/bodies``)."""
    from metaheb.runs import check_writable

    run = agent if agent.is_dir() else agent.parent
    if run.name == "agents":
        run = run.parent
    check_writable(run, "the agent's run directory (family bodies are written there)")
    return run / "bodies"


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("agent")
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
@click.option("--seed", type=int, help="The episode's seed [default: the agent's own episode].")
@click.option("--video", type=click.Path(dir_okay=False), help="Write the episode to this mp4.")
@click.option("--traces", type=click.Path(dir_okay=False), help="Write the weight figure (png).")
@click.option("--morphology", help="Replay on this body instead (a name from envs/ant).")
@click.option("--ablate", metavar="FRACTION@STEP", help="Zero this share of weights at STEP.")
def replay(
    agent: str,
    overrides: tuple[str, ...],
    seed: int | None,
    video: str | None,
    traces: str | None,
    morphology: str | None,
    ablate: str | None,
) -> None:
    """Replay one episode of an agent (a RUN_DIR's best, or an agent file); print its fitness.

    task.* overrides choose the body and damage, e.g.:

    metaheb replay runs/NAME --morphology front_left_lower_x0.25 --ablate 0.5@250
    --video walk.mp4 --traces weights.png
    """
    from metaheb.evaluate import resolve_agent
    from metaheb.replay import plot_traces, replay_agent
    from metaheb.runs import check_writable

    if seed is not None and not 0 <= seed < SEED_LIMIT:
        raise UserError(f"--seed must be within 0..2^32-1, got {seed}")
    for option, path in (("--video", video), ("--traces", traces)):
        if path:
            check_writable(Path(path).parent, option)
    saved = resolve_agent(agent)
    seed = saved.meta.get("episode_seed", 0) if seed is None else seed
    overrides = task_overrides(overrides, morphology, ablate)
    result = replay_agent(saved, overrides, seed, Path(video) if video else None)
    click.echo(
        f"{result.task.morphologies[0]}: fitness {result.fitness:.3f} in {result.steps} steps"
    )
    if video:
        click.echo(f"video: {video} ({result.frames} frames)")
    if traces:
        plot_traces(result, Path(traces))
        click.echo(f"weights: {traces}")


@cli.command()
@click.argument("run_dirs", nargs=-1)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Report folder.")
@click.option("--seeds", default=10, show_default=True, help="Seeded episodes per cell.")
@click.option("--seed", default=0, show_default=True, help="Seed of the episode seeds.")
@click.option(
    "--agent",
    type=click.Choice(list(AGENTS)),
    default="best",
    show_default=True,
    help="Each run's best member (best), final search centre (center), or the centre with the "
    "best held-out score (best_center; the report's episodes are not the held-out ones).",
)
@click.option("--morphologies", help="Comma-separated [default: every morphology in envs/ant].")
@click.option(
    "--ablation",
    default="0,0.1,0.25,0.5",
    show_default=True,
    help="Fractions of the weights zeroed mid-episode, comma-separated.",
)
@click.option("--ablation-step", type=int, help="Step of the ablation [default: mid-episode].")
@click.option("--max-steps", type=int, help="Every episode's length [default: each run's own].")
@click.option("--ray-address", default="", help="A Ray cluster (auto, ray://...) [local].")
@click.option(
    "--family",
    help="Add every body of a family (leg-length, many-bodies, leg-pairs or a family file) and "
    "each arm's robustness profile over it.",
)
def report(
    run_dirs: tuple[str, ...],
    out: str,
    seeds: int,
    seed: int,
    agent: str,
    morphologies: str | None,
    ablation: str,
    ablation_step: int | None,
    max_steps: int | None,
    ray_address: str,
    family: str | None,
) -> None:
    """Evaluate runs' agents on every morphology x weight ablation; write report.json/md/html.

    Runs that differ only in their seed form an arm; plastic arms are rank-tested against
    static ones. Example: metaheb report runs/hebbian-s* runs/static-s* --out report/
    """
    from metaheb.config import RayConfig
    from metaheb.report import make_report

    try:
        levels = [float(item) for item in ablation.split(",")]
    except ValueError:
        raise UserError(f"--ablation {ablation!r} must be fractions like 0,0.1,0.25,0.5") from None
    written = make_report(
        run_dirs,
        out,
        episodes=seeds,
        seed=seed,
        agent=agent,
        morphologies=morphologies.split(",") if morphologies else None,
        levels=levels,
        ablation_step=ablation_step,
        ray_config=RayConfig(address=ray_address),
        max_steps=max_steps,
        family=family,
    )
    click.echo(f"report: {len(written)} files in {out} ({Path(out) / 'report.html'})")


@cli.command()
@click.argument("report_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    default="docs/results.md",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The page to write.",
)
@click.option(
    "--summary",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A pybullet report's short section goes to this page [default: results.md beside --out].",
)
@click.option(
    "--section",
    type=click.Choice(["family"]),
    help="Write only this section of the page from the report (family: a report made with "
    "--family), keeping the rest of the page.",
)
def results(report_dir: Path, out: Path, summary: Path | None, section: str | None) -> None:
    """Write the results page of a reproduction report (REPORT_DIR, made by metaheb report from
    runs of envs/reproduce/*.toml): the claim beside the paper, read from the numbers.

    Example: metaheb results runs/reproduce/report --out docs/results.md
    """
    if section == "family":
        import json

        from metaheb.report.results_family import write_family_section

        source = report_dir / "report.json"
        if not source.is_file():
            raise UserError(f"{source} does not exist: run metaheb report first")
        for line in write_family_section(json.loads(source.read_text()), report_dir, out):
            click.echo(line)
        return
    from metaheb.report.results_page import write_results

    for line in write_results(report_dir, out, summary):
        click.echo(line)


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("run_dir")
@click.argument("budget", nargs=-1, type=click.UNPROCESSED)
def resume(run_dir: str, budget: tuple[str, ...]) -> None:
    """Continue a stopped run from its last checkpoint (same numbers as an unbroken run); a
    larger budget (evolve.max_env_steps=N, evolve.generations=N) extends a finished run too.

    Example: metaheb resume runs/quickstart evolve.max_env_steps=6000000
    """
    from metaheb.evolve.trainer import resume as resume_training

    resume_training(run_dir, echo=click.echo, budget=list(budget))


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("sweep_file")
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
@click.option("--out", help="The sweep's folder [default: runs/sweeps/<sweep file's name>].")
def sweep(sweep_file: str, overrides: tuple[str, ...], out: str | None) -> None:
    """Search a config's keys across seeds (a SWEEP_FILE, envs/sweeps/); key=value overrides
    apply to every run. Rerun the same command to finish a sweep that was cut off.

    Example: metaheb sweep envs/sweeps/quick.toml --out runs/sweeps/quick ray.num_workers=2
    """
    for item in overrides:
        if "=" not in item:
            raise UserError(f"argument {item!r} is not key=value; the sweep file comes first")
    from metaheb.runs import check_writable
    from metaheb.sweep import load_sweep
    from metaheb.sweep.study import run_sweep

    spec = load_sweep(sweep_file, list(overrides))
    folder = Path(out) if out else Path("runs") / "sweeps" / Path(sweep_file).stem
    check_writable(folder.parent if not folder.exists() else folder, "--out")
    try:
        run_sweep(spec, folder, echo=click.echo)
    except (Interrupted, KeyboardInterrupt) as stop:  # a run's resume would pass its rung
        cause, exit_code = describe(stop)
        again = "run the same `metaheb sweep` command again to finish it (finished runs are kept)"
        raise Interrupted(f"stopped by {cause}: {again}", cause, exit_code) from None


for command in (runs, inspect, config_keys):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command, turning user errors into one line and exit code 2, and a run
    that cannot go on into one line and exit code 1."""
    try:
        cli.main(args=argv, prog_name="metaheb", standalone_mode=False)
    except UserError as err:
        click.echo(f"metaheb: error: {err}", err=True)
        sys.exit(2)
    except RunStopped as err:
        click.echo(f"metaheb: run stopped: {err}", err=True)
        sys.exit(1)
    except Interrupted as err:
        click.echo(f"metaheb: {err}", err=True)
        sys.exit(err.exit_code)
    except click.UsageError as err:
        click.echo(f"metaheb: error: {err.format_message()} (see metaheb --help)", err=True)
        sys.exit(2)
    except click.Abort as err:  # Ctrl-C, or SIGTERM while Ray runs, outside a run's generations
        cause, exit_code = describe(err)
        click.echo(f"metaheb: stopped by {cause}", err=True)
        sys.exit(exit_code)


if __name__ == "__main__":
    main()

"""The commands that read and print, running nothing: ``runs``, ``inspect`` and ``config``.

``metaheb.cli`` adds them to its group; ``config_from_args`` reads a command line's config for
``train`` and ``inspect`` alike.
"""

from __future__ import annotations

from typing import Any

import click

from metaheb.config import SEARCHERS, Config, load_config
from metaheb.errors import UserError


def config_from_args(args: tuple[str, ...]) -> Config:
    """``[CONFIG.toml] [section.key=value ...]`` -> a validated config."""
    config_path = None
    overrides = list(args)
    if overrides and "=" not in overrides[0]:
        config_path = overrides.pop(0)
    for item in overrides:
        if "=" not in item:
            raise UserError(f"argument {item!r} is not key=value; the config file comes first")
    return load_config(config_path, overrides)


@click.command()
@click.option("--out-dir", default="runs", show_default=True, help="Folder holding the runs.")
def runs(out_dir: str) -> None:
    """List the runs in OUT_DIR: status, generations, the held-out centre (last and best).

    The held-out centre is the number to read: the search centre scored on episodes no training
    uses. A generation's best member (the last column) is the luckiest of its population.
    """
    from metaheb.run_table import summarize_runs

    rows = summarize_runs(out_dir)
    if not rows:
        click.echo(f"no runs in {out_dir}")
        return
    width = max(40, 2 + max(len(row["name"]) for row in rows))
    click.echo(
        f"{'run':<{width}}{'status':<10}{'progress':>18}{'held-out last':>15}{'best':>9}"
        f"{'best member':>13}  {'unit':<7}search"
    )
    for row in rows:
        if row["status"] == "damaged":
            click.echo(f"{row['name']:<{width}}{'damaged':<10}  {row['problem']}")
            continue
        last, best, member = (
            "-" if row[key] is None else f"{row[key]:.2f}"
            for key in ("heldout_last", "heldout_best", "best")
        )
        click.echo(
            f"{row['name']:<{width}}{row['status']:<10}{_progress(row):>18}"
            f"{last:>15}{best:>9}{member:>13}  {row['unit']:<7}{row['search']}"
        )


def _progress(row: dict) -> str:
    """How far a run is toward the budget that stops it: env steps, or generations."""
    if row["max_env_steps"]:
        return f"{row['env_steps'] / 1e6:.2f}M/{row['max_env_steps'] / 1e6:g}M steps"
    return f"{row['done']}/{row['total']} gen"


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def inspect(args: tuple[str, ...]) -> None:
    """Print the network, the genome layout (which slice is what) and its size; run nothing.

    Example: metaheb inspect envs/ant-quick.toml network.rule=ABC network.init=coevolved
    """
    config = config_from_args(args)
    from metaheb.networks import PolicyNetwork
    from metaheb.rules import RULES
    from metaheb.tasks import make_task

    task = make_task(config.task)
    network = PolicyNetwork.of_task(config.network, task)
    sizes = "-".join(map(str, network.sizes))
    click.echo(f"task {config.task.name}: {task.obs_dim} observations, {task.act_dim} actions")
    click.echo(f"network {sizes}, no bias, tanh hidden, {network.output_activation} output")
    if network.plastic:
        rule = RULES[network.rule]
        init = {
            "uniform": f"U(-{network.init_scale}, {network.init_scale}) each episode",
            "normal": f"N(0, {network.init_std}^2) each episode",
            "coevolved": "co-evolved (in the genome)",
        }[network.init]
        if network.modulation == "none":
            click.echo(f"model hebbian: rule {rule.name}, dw = {rule.equation}")
        else:
            click.echo(
                f"model hebbian: rule {rule.name}, dw = m_t {rule.equation}, "
                f"m_t modulated by {network.modulation} (metaheb/modulation.py)"
            )
        click.echo(f"initial weights {init}; normalise {network.normalise}")
    else:
        click.echo("model static: the genome is the weights")
    click.echo(f"searcher {config.evolve.algorithm}: {SEARCHERS[config.evolve.algorithm].paper}")
    click.echo("genome layout:")
    click.echo(network.genome_layout.describe())
    for line in merge_stages(config, network):
        click.echo(line)


def merge_stages(config: Config, network: Any) -> list[str]:
    """An evolve-and-merge schedule as lines: after which generation, how many rules, genome."""
    schedule = config.evolve.merge_schedule()
    if not schedule:
        return []
    from metaheb.rules import RULES

    per_rule = RULES[network.rule].size
    rest = network.genome_layout.size - network.synapses * per_rule  # modulation, convolutions
    lines = ["merge schedule (K-means over the centre's rules, across layers; metaheb/merge.py):"]
    lines.append(
        f"  generations 1-{schedule[0][0]}: a rule per synapse, genome of "
        f"{network.genome_layout.size:,} values"
    )
    ends = [at for at, _ in schedule[1:]] + [config.evolve.generations]
    for (at, rules), end in zip(schedule, ends):
        span = f"{at + 1}-{end}" if end > at + 1 else f"{at + 1}"
        lines.append(
            f"  generations {span}: {rules:,} shared rules, genome of "
            f"{rules * per_rule + rest:,} values"
        )
    return lines


@click.command(name="config")
@click.argument("section", required=False)
def config_keys(section: str | None) -> None:
    """Print every config key (or SECTION's) with its default, type, allowed values and meaning.

    The output is TOML: metaheb config > my.toml writes a config file of every default.
    """
    from metaheb.config.reference import reference

    click.echo(reference(section), nl=False)

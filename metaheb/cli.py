"""Command line: ``metaheb train [CONFIG.toml] [section.key=value ...]``.

Bad input (a ``UserError``, or a usage mistake) prints one line and exits with code 2.
"""

from __future__ import annotations

import sys

import click

from metaheb.config import load_config
from metaheb.errors import UserError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="metaheb")
def cli() -> None:
    """Evolve Hebbian plasticity rules (Najarro & Risi 2020) over Ray workers."""


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def train(args: tuple[str, ...]) -> None:
    """Evolve a population: CONFIG.toml (optional, else defaults) then key=value overrides.

    Example: metaheb train envs/ant-quick.toml evolve.popsize=16 run.seed=3
    """
    config_path = None
    overrides = list(args)
    if overrides and "=" not in overrides[0]:
        config_path = overrides.pop(0)
    for item in overrides:
        if "=" not in item:
            raise UserError(f"argument {item!r} is not key=value; the config file comes first")
    config = load_config(config_path, overrides)

    from metaheb.evolve.trainer import train as run_training  # heavy imports only when needed

    run_training(config, echo=click.echo)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command, turning user errors into one line and exit code 2."""
    try:
        cli.main(args=argv, prog_name="metaheb", standalone_mode=False)
    except UserError as err:
        click.echo(f"metaheb: error: {err}", err=True)
        sys.exit(2)
    except click.UsageError as err:
        click.echo(f"metaheb: error: {err.format_message()} (see metaheb --help)", err=True)
        sys.exit(2)
    except click.Abort:
        click.echo("metaheb: aborted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()

"""Options shared by several commands."""

from __future__ import annotations

import click

from mesonportal.experiments.config import MODES

experiment_option = click.option(
    "--experiment", "-e", default="miniboone", show_default=True,
    help="Shipped experiment name or path to an experiment TOML file.",
)
mode_option = click.option(
    "--mode", "-m", type=click.Choice(MODES), default="nu", show_default=True, help="Beam mode.",
)
seed_option = click.option("--seed", type=int, default=12345, show_default=True, help="Random seed.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")


def samples_option(default: int):
    return click.option(
        "--samples", "-n", type=click.IntRange(min=1), default=default, show_default=True,
        help="Number of sampled primary mesons.",
    )

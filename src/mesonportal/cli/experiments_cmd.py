"""``mesonportal experiments [--json]``: the shipped experiments (a thin layer over
:func:`mesonportal.api.list_experiments`)."""

from __future__ import annotations

import json

import click

__all__ = ["command"]


@click.command("experiments")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def command(as_json: bool) -> None:
    """List every shipped experiment: distance, medium, mass, exposure per mode, technology."""
    from mesonportal.api import list_experiments

    rows = list_experiments()
    if as_json:
        click.echo(json.dumps({"experiments": rows}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title="mesonportal experiments")
    for col in ("name", "beam line", "distance [m]", "shape", "medium", "active mass [t]", "total mass [t]",
                "exposure [POT]", "technology", "dirt"):
        t.add_column(col)
    for r in rows:
        pot = ", ".join(f"{m} {v:.3g}" for m, v in r["exposure_pot"].items())
        t.add_row(r["name"], r["beam_line"], f"{r['distance_m']:.0f}", r["shape"], r["medium"],
                  f"{r['active_mass_t']:.1f}", f"{r['mass_t']:.0f}", pot, r["technology"],
                  r["dirt_medium"] or "-")
    Console().print(t)

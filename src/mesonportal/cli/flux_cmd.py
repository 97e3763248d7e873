"""``mesonportal flux``: neutrino (or dark-particle) flux through an experiment's detector."""

from __future__ import annotations

import json
import sys

import click
import numpy as np

from mesonportal.cli.options import experiment_option, json_option, mode_option, samples_option, seed_option

FLAVOURS = ("numu", "numubar", "nue", "nuebar")


def flux_json(flux: dict) -> dict:
    """The ``--json`` layout: experiment, mode, edges_gev, one list per species, units."""
    out = {"experiment": flux["experiment"], "mode": flux["mode"],
           "edges_gev": [float(x) for x in np.asarray(flux["edges_gev"])]}
    for name in flux.get("species", FLAVOURS):
        out[name] = [float(x) for x in flux[name]]
        if name + "_err" in flux:
            out[name + "_err"] = [float(x) for x in flux[name + "_err"]]
    out["units"] = flux.get("units", "neutrinos / cm^2 / POT / bin")
    for key in ("model", "params", "conventions"):
        if key in flux:
            out[key] = flux[key]
    return out


@click.command("flux")
@experiment_option
@mode_option
@samples_option(300_000)
@seed_option
@json_option
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Draw the prediction (over the official flux where there is one) to FILE.")
def command(experiment, mode, samples, seed, as_json, plot_path):
    """Neutrino flux through the detector from the simulated meson source (per POT)."""
    from mesonportal import api
    from mesonportal.analysis.flux import integrated_flux, mean_energy_gev, official_flux, plot_flux

    flux = api.neutrino_flux(experiment, mode, samples, seed, progress=sys.stderr.isatty())
    if plot_path:
        official = official_flux() if (flux["experiment"] == "miniboone" and mode == "nu") else None
        plot_flux(flux, official, plot_path, title=f"{flux['experiment']} {mode}-mode flux")
    if as_json:
        click.echo(json.dumps(flux_json(flux)))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{flux['experiment']} — {mode} mode — neutrinos / cm² / POT")
    for col in ("flavour", "integrated", "MC stat. error", "mean E [GeV]"):
        table.add_column(col, justify="right")
    for fl in FLAVOURS:
        tot = integrated_flux(flux, fl)
        err = float(np.sqrt(np.sum(np.asarray(flux[fl + "_err"]) ** 2)))
        table.add_row(fl, f"{tot:.4g}", f"{err:.2g}", f"{mean_energy_gev(flux, fl):.3f}" if tot > 0 else "-")
    Console().print(table)
    if plot_path:
        Console(stderr=True).print(f"plot written to {plot_path}")

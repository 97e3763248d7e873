"""``mesonportal flux``: neutrino (or dark-particle) flux through an experiment's detector."""

from __future__ import annotations

import json
import sys

import click
import numpy as np

from mesonportal.cli.options import (
    experiment_option,
    json_option,
    mode_option,
    model_options,
    resolve_mode,
    resolve_model,
    samples_option,
    seed_option,
)

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
@click.option("--dar-neutrinos", type=click.Choice(["official", "all"]), default=None,
              help="Neutrinos from pi/mu decays at rest: 'official' leaves them out as the official MiniBooNE "
                   "flux does, 'all' keeps them (default: official in nu/nubar mode, all in dump mode).")
@click.option("--muon-stop", type=click.Choice(["pipe_wall", "absorber"]), default=None,
              help="Where muons from meson decays stop flying: 'pipe_wall' (decay-pipe wall or absorber, as muons "
                   "range out in the shielding) or 'absorber' only (default: pipe_wall in nu/nubar mode of a horn "
                   "beam, absorber otherwise).")
@model_options
def command(experiment, mode, samples, seed, as_json, plot_path, dar_neutrinos, muon_stop, model_name, params,
            benchmark):
    """Neutrino flux through the detector from the simulated meson source (per POT); with
    --model/--benchmark the flux of the model's dark particle (phi, a or chi) instead."""
    from mesonportal import api
    from mesonportal.analysis.flux import integrated_flux, mean_energy_gev, official_flux, plot_flux

    from mesonportal.cli.checks import check_plot_file

    model = resolve_model(model_name, params, benchmark, required=False)
    mode = resolve_mode(experiment, mode)
    if plot_path:
        check_plot_file(plot_path, "--plot")
    if model is not None:
        _dark(api, model, experiment, mode, samples, seed, as_json, plot_path)
        return
    flux = api.neutrino_flux(experiment, mode, samples, seed, progress=sys.stderr.isatty(),
                              dar_neutrinos=dar_neutrinos, muon_stop=muon_stop)
    if plot_path:
        from mesonportal.datasets import has_official_flux

        official = official_flux() if has_official_flux(flux["experiment"], mode) else None
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


def _dark(api, model, experiment, mode, samples, seed, as_json, plot_path) -> None:
    """Dark-particle flux through the detector (``--model``): same JSON layout as neutrinos.
    The ``--samples`` default of the neutrino flux (300000) is used as the meson sample size."""
    from mesonportal.analysis.plots import plot_dark_flux

    flux = api.dark_flux(experiment, mode, model, samples, seed, progress=sys.stderr.isatty())
    sp = flux["species"][0]
    if plot_path:
        plot_dark_flux(flux, plot_path)
    if as_json:
        click.echo(json.dumps(flux_json(flux)))
        return
    from rich.console import Console
    from rich.table import Table

    e = np.asarray(flux["edges_gev"])
    c = 0.5 * (e[1:] + e[:-1])
    tot = float(np.sum(flux[sp]))
    err = float(np.sqrt(np.sum(np.asarray(flux[sp + "_err"]) ** 2)))
    table = Table(title=f"{flux['experiment']} — {mode} mode — {model.name} — {sp} / cm² / POT")
    for col in ("species", "integrated", "MC stat. error", "mean E [GeV]"):
        table.add_column(col, justify="right")
    table.add_row(sp, f"{tot:.4g}", f"{err:.2g}", f"{float(np.sum(c * flux[sp]) / tot):.3f}" if tot > 0 else "-")
    Console().print(table)
    if plot_path:
        Console(stderr=True).print(f"plot written to {plot_path}")

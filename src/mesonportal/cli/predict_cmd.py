"""``mesonportal predict``: expected signal events of a model in an experiment's beam mode."""

from __future__ import annotations

import json
import sys
import warnings

import click

from mesonportal.cli.options import (experiment_option, json_option, mode_option, model_options, resolve_mode,
                                     resolve_model, seed_option)


@click.command("predict")
@experiment_option
@mode_option
@model_options
@click.option("--samples", "-n", type=click.IntRange(min=1), default=None,
              help="Primary mesons to simulate (default: chosen for --target-mc-error for scalar/pseudoscalar/"
                   "long-lived models, a fixed size per family otherwise).")
@seed_option
@json_option
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), default=None,
              help="Write E_QE, E_vis and cos(theta) figures over MiniBooNE's excess to DIR.")
@click.option("--events", "events_path", type=click.Path(dir_okay=False), default=None,
              help="Write the weighted events to FILE.parquet (all columns + metadata) or FILE.hepmc3 "
                   "(final-state particles, vertices in detector coordinates, weight = events for the exposure).")
@click.option("--criterion", type=click.Choice(["circle", "angle", "circle-table"]), default="circle", show_default=True,
              help="Single-shower criterion for e+e- / gamma gamma pairs (MiniBooNE Cherenkov response).")
@click.option("--coupling-product", "coupling_product", type=click.FloatRange(min=0, min_open=True, max=1e300),
              default=None, help="Report and plot the signal reweighted to this coupling product (e.g. the best "
              "fit of `mesonportal fit`); default: the model's own couplings (reference coupling product).")
@click.option("--dirt/--no-dirt", default=True, show_default=True,
              help="Include up-scattering in the upstream dirt (inelastic DM; stated in the output's conventions).")
@click.option("--allocation", default=None, metavar="METHOD",
              help="How --samples are shared between meson species: importance (pilot-run optimal "
                   "allocation; default for scalar/pseudoscalar/long-lived models), even (previous "
                   "split; default for idm), or fractions summing to 1 such as pi+=0.4,pi-=0.2,K+=0.3,K-=0.1 "
                   "(every contributing species needs a positive fraction).")
@click.option("--target-mc-error", "target_mc_error", type=click.FloatRange(min=0.0, max=1.0, max_open=True),
              default=None, metavar="REL",
              help="Choose the number of primary mesons from the importance-allocation pilot for this relative "
                   "MC error of the events at 200-1250 MeV (dump mode: all events); default 0.02 for "
                   "scalar/pseudoscalar/long-lived models when --samples is not given, 0 = fixed default samples. "
                   "Stated in the output (target_mc_error, samples).")
@click.option("--strata", default=None, metavar="RULE",
              help="momentum-angle (default with a target MC error: also thin the meson rows per species x "
                   "momentum x angle-to-detector stratum; the species rule when the sample cap binds) or species "
                   "(species allocation only; the default without a target). See docs/mc_errors.md section 6.")
def command(experiment, mode, model_name, params, benchmark, samples, seed, as_json, plot_dir, events_path,
            criterion, coupling_product, dirt, allocation, target_mc_error, strata):
    """Expected signal events (for the mode's exposure) with MiniBooNE-binned histograms; for a
    LAr TPC (MicroBooNE, SBND, ICARUS) also events by topology and shower energy/angle histograms."""
    from mesonportal.analysis.events_io import EVENT_SUFFIXES
    from mesonportal.api import predict
    from mesonportal.cli.checks import check_output_dir, check_output_file
    from mesonportal.exceptions import ParameterError

    model = resolve_model(model_name, params, benchmark, required=True)
    mode = resolve_mode(experiment, mode)
    if events_path is not None:
        if not str(events_path).lower().endswith(EVENT_SUFFIXES):
            raise ParameterError(f"--events {events_path!r}: the file name must end in {', '.join(EVENT_SUFFIXES)}")
        check_output_file(events_path, "--events")
    if plot_dir:
        check_output_dir(plot_dir, "--plot")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sample = predict(experiment, mode, model, samples=samples, seed=seed,
                         progress=sys.stderr.isatty(), criterion=criterion, dirt=dirt, allocation=allocation,
                         target_mc_error=target_mc_error, strata=strata)
    for w in caught:
        click.echo(f"mesonportal: warning: {w.message}", err=True)
    if events_path:
        from mesonportal.analysis.events_io import write_events

        write_events(sample, events_path)
    paths = []
    if plot_dir:
        from mesonportal.analysis.plots import plot_prediction

        paths = plot_prediction(sample, plot_dir, coupling_product=coupling_product)
        if coupling_product is None:
            click.echo(f"mesonportal: note: the plots show the signal at the reference coupling product "
                       f"{sample.coupling_product_ref:.3g} {sample.coupling_units} (the model's couplings), not at "
                       "the MiniBooNE best fit; pass --coupling-product with the value from `mesonportal fit`",
                       err=True)
    if as_json:
        out = sample.to_json(coupling_product)
        click.echo(json.dumps(_jsonable(out)))
        return
    _summary(sample, model, coupling_product)
    from rich.console import Console

    err = Console(stderr=True)
    for p in paths:
        err.print(f"plot written to {p}")
    if events_path:
        err.print(f"events written to {events_path}")


def _jsonable(x):
    import math

    import numpy as np

    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else str(x)
    return x


def _summary(sample, model, coupling_product=None) -> None:
    from rich.console import Console
    from rich.table import Table

    tot = sample.totals(coupling_product)
    con = Console()
    t = Table(title=f"{sample.experiment} — {sample.mode} mode — {model.name} ({sample.pot:.4g} POT)")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    x = sample.coupling_product_ref if coupling_product is None else coupling_product
    t.add_row("coupling product", f"{x:.4g} {sample.coupling_units}")
    t.add_row("events (total)", f"{tot['events_total']:.4g} ± {tot['mc_stat_error']:.2g} (MC)")
    t.add_row("events 200 < E_QE < 1250 MeV", f"{tot['events_200_1250']:.4g}")
    for k, v in (sample.info.get("events_by_process", {}) if coupling_product is None else {}).items():
        t.add_row(f"  from {k}", f"{v:.4g}")
    for k, v in (sample.info.get("events_by_region", {}) if coupling_product is None else {}).items():
        t.add_row(f"  in the {k}", f"{v:.4g}")
    ev = sample.events_by_topology(coupling_product, with_errors=True)
    if ev is not None:
        for k in sample.topologies:
            t.add_row(f"topology {k}", f"{ev[k]:.4g} ± {ev[k + '_err']:.2g} (MC)")
    conv = sample.info.get("conventions", {})
    if conv:
        t.add_row("dirt included", "yes" if conv.get("dirt") else "no")
        t.add_row("response", str(conv.get("response")))
    t.add_row("MC events", str(len(sample)))
    tgt = sample.info.get("target_mc_error")
    t.add_row("primary mesons", f"{sample.info.get('samples')}" + (f" (chosen for target MC error {tgt:g})"
                                                                    if tgt is not None else ""))
    t.add_row("time [s]", f"{sample.info['timing_s']['total']:.2f}")
    con.print(t)
    edges, counts, sumw2 = sample.histogram("enu_qe", coupling_product)
    h = Table(title="E_QE histogram (events / bin)")
    for c in ("E_QE [MeV]", "events", "MC stat."):
        h.add_column(c, justify="right")
    for i in range(len(counts)):
        h.add_row(f"{edges[i]:.0f}–{edges[i + 1]:.0f}", f"{counts[i]:.4g}", f"{sumw2[i] ** 0.5:.2g}")
    con.print(h)

"""``mesonportal sensitivity``: expected 90% CL reach in the coupling product vs a mass."""

from __future__ import annotations

import json

import click

from mesonportal.cli.options import experiment_option, json_option, seed_option


@click.command("sensitivity")
@experiment_option
@click.option("--model", "model_name", required=True, help="Model: scalar, pseudoscalar, idm or longlived-vector.")
@click.option("--grid", "grid", required=True,
              help="Mass axis NAME=LOG:start:stop:n (or LIN:..., or v1,v2,...), e.g. m_x=LOG:1:30:8.")
@click.option("--fixed", "fixed", multiple=True, metavar="K=V",
              help="Other model parameters (repeatable); default: the shipped benchmark of the model.")
@click.option("--background", type=float, default=0.0, show_default=True,
              help="Expected background events in the selection for the exposure (stated assumption).")
@click.option("--exposure", "exposure_pot", type=float, default=None,
              help="Exposure in POT (default: the experiment's, e.g. CCM200 2.25e22).")
@click.option("--samples", "-n", type=click.IntRange(min=1), default=None, help="Primary mesons per mass point.")
@click.option("--no-decays", "no_decays", is_flag=True,
              help="Leave decays of a long-lived X inside the detector out of the signal (scattering only).")
@seed_option
@click.option("--out", "out", type=click.Path(dir_okay=False), default="sensitivity.parquet", show_default=True,
              help="Parquet output (one row per mass point; metadata in the file).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Figure of the reach (format from the suffix).")
@click.option("--miniboone-scan", "mb_scan", type=click.Path(exists=True), default=None,
              help="A 'mesonportal scan' output of the same model on MiniBooNE: its preferred region is drawn.")
@json_option
def command(experiment, model_name, grid, fixed, background, exposure_pot, samples, no_decays, seed, out, plot_path,
            mb_scan, as_json):
    """Expected 90% CL reach (coupling product vs mass) for a stated exposure and background."""
    from mesonportal.analysis.scan import parse_axis
    from mesonportal.analysis.sensitivity import plot_sensitivity, sensitivity_scan, write_sensitivity
    from mesonportal.exceptions import ParameterError
    from mesonportal.models.registry import available_benchmarks, benchmark_info, parse_param_assignments

    if not str(out).lower().endswith(".parquet"):
        raise ParameterError(f"--out {out!r}: the file name must end in .parquet")
    axis = parse_axis(grid)
    if axis.name == "coupling_product":
        raise ParameterError("--grid must be a mass axis (the coupling product is solved for)")
    base = dict(benchmark_info(model_name)["params"]) if model_name in available_benchmarks() else {}
    base.pop(axis.name, None)
    params = {**base, **parse_param_assignments(list(fixed))}
    res = sensitivity_scan(experiment, model_name, axis, params, background=background, exposure_pot=exposure_pot,
                           samples=samples, seed=seed, decays=not no_decays)
    write_sensitivity(res, out)
    if plot_path:
        plot_sensitivity(res, plot_path, mb_scan)
    if as_json:
        click.echo(json.dumps({"meta": res["meta"], "columns": res["columns"], "out": str(out),
                               "plot": plot_path}, default=float))
        return
    meta = res["meta"]
    click.echo(f"{meta['experiment']} {meta['model']}: 90% CL reach for {meta['exposure_pot']:.3g} POT, "
               f"background {meta['background_events']:g} events (s90 = {meta['s90_events']:.3f})")
    for m, x, flag in zip(res["columns"][axis.name], res["columns"]["x90"], res["columns"]["excluded_at_any_coupling"]):
        click.echo(f"  {axis.name} = {m:.4g} MeV: " + ("excluded at any coupling product (decays alone)" if flag
                                                      else f"x90 = {x:.3e} {meta['coupling_units']}"))
    click.echo(f"written to {out}" + (f" and {plot_path}" if plot_path else ""))

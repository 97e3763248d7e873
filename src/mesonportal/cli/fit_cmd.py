"""``mesonportal fit``: fit a model's coupling product to the MiniBooNE low-energy excess.

    mesonportal fit --experiment miniboone (--model NAME --param k=v ... | --benchmark NAME)
                    [--modes nu,nubar] [--stat pearson] [--samples N] [--seed S] [--json] [--plot DIR]

Predicts the signal in ν, ν̄ (and dump) mode with
:func:`mesonportal.analysis.predict.predict_signal`, fits with
:func:`mesonportal.analysis.fit.fit_excess`. A prediction that is zero everywhere gives
"no sensitivity" and exit code 1 (``NoSensitivityError``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from mesonportal.cli.options import experiment_option, json_option, model_options, resolve_model, seed_option
from mesonportal.exceptions import ParameterError

__all__ = ["command", "run_fit", "parse_modes", "parse_constraints"]

_STATS = ("pearson", "cnp", "none")


def parse_modes(text: str) -> tuple[str, ...]:
    """``"nu,nubar"`` → ("nu", "nubar"); ParameterError for anything else."""
    ms = tuple(m.strip().lower() for m in text.split(",") if m.strip())
    allowed = ("nu", "nubar")
    if not ms or any(m not in allowed for m in ms) or len(set(ms)) != len(ms):
        raise ParameterError(f"--modes must be a comma-separated subset of {', '.join(allowed)}, got {text!r}")
    return ms


def parse_constraints(text: str | None) -> tuple[str, ...]:
    """``"microboone"`` → ("microboone",); ParameterError for unknown names."""
    from mesonportal.analysis.constraints import CONSTRAINT_EXPERIMENTS

    if not text:
        return ()
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    bad = [n for n in names if n not in CONSTRAINT_EXPERIMENTS]
    if not names or bad:
        raise ParameterError(f"--with must be a comma-separated subset of {', '.join(CONSTRAINT_EXPERIMENTS)}, got {text!r}")
    return names


def run_fit(
    experiment: str,
    model: Any,
    modes: tuple[str, ...] = ("nu", "nubar"),
    *,
    samples: int | None = None,
    seed: int = 12345,
    stat: str = "pearson",
    benchmark: str | None = None,
    progress: bool = False,
    with_dump: bool = True,
    status=None,
    with_constraints: tuple[str, ...] = (),
    dirt: bool = True,
    retain=None,
):
    """Thin wrapper of :func:`mesonportal.api.fit` (kept for compatibility).
    Returns (FitResult, {mode: SignalSample}, dump SignalSample | None)."""
    from mesonportal import api

    return api.fit(experiment, model, modes, samples=samples, seed=seed, stat=stat, benchmark=benchmark,
                   progress=progress, with_dump=with_dump, with_constraints=with_constraints, dirt=dirt,
                   status=status, retain=retain)


@click.command("fit")
@experiment_option
@model_options
@click.option("--modes", default="nu,nubar", show_default=True,
              help="Beam modes fitted: nu, nubar or nu,nubar (combined 60x60 covariance).")
@click.option("--stat", type=click.Choice(_STATS), default="pearson", show_default=True,
              help="Statistical term of the covariance chi2.")
@click.option("--samples", "-n", type=click.IntRange(min=1), default=None,
              help="Sampled primary mesons per mode (default: the prediction's own default).")
@seed_option
@json_option
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), default=None,
              help="Write plots (E_QE, E_vis, cos theta per mode; delta chi2 scan) to DIR.")
@click.option("--with", "with_", default=None, metavar="NAMES",
              help="Also test constraints at each coupling, e.g. 'microboone' (NC Delta 1g1p/1g0p 2021 + e+e- 2025); "
                   "JSON gains constraints: {name: {chi2, ndof, events, verdict}} at the best fit.")
@click.option("--dirt/--no-dirt", default=True, show_default=True,
              help="Include up-scattering in the upstream dirt (inelastic DM; stated in prediction_conventions).")
def command(experiment, model_name, params, benchmark, modes, stat, samples, seed, as_json, plot_dir, with_, dirt):
    """Fit the coupling product to the MiniBooNE excess (best fit, 1σ/2σ, χ², dump, PIENU),
    optionally with constraints (--with microboone)."""
    from mesonportal.cli.checks import check_output_dir

    ms = parse_modes(modes)
    cons = parse_constraints(with_)
    model = resolve_model(model_name, params, benchmark)
    if plot_dir:
        check_output_dir(plot_dir, "--plot")  # before the (long) fit
    tty = sys.stderr.isatty()
    result, preds, dump = run_fit(experiment, model, ms, samples=samples, seed=seed, stat=stat,
                                  benchmark=benchmark or model_name, progress=tty and not as_json, status=_status(tty),
                                  with_constraints=cons, dirt=dirt)
    # the results are printed first: a failing plot never loses them
    if as_json:
        click.echo(json.dumps(result.to_json(scan=False), allow_nan=False))
    else:
        _print_summary(result, [])
    if plot_dir:
        from mesonportal.analysis.fit_plots import plot_fit
        from mesonportal.exceptions import OutputError

        try:
            paths = plot_fit(result, preds, plot_dir)
        except OSError as exc:
            raise OutputError(f"--plot {plot_dir!r}: cannot write the plots ({exc.strerror or exc}); "
                              "the fit result above is complete") from None
        if not as_json:
            from rich.console import Console

            for p in paths:
                Console(stderr=True).print(f"plot written to {p}")


def _status(tty: bool):
    """Progress lines for long fits on a terminal (stderr): one per stage, with elapsed time."""
    if not tty:
        return None
    import time

    t0 = time.perf_counter()

    def say(msg: str) -> None:
        click.echo(f"mesonportal: {msg} ({time.perf_counter() - t0:.0f} s)", err=True)

    return say


def _print_summary(result, paths) -> None:
    from rich.console import Console

    from mesonportal.analysis.report import fit_rich_table

    con = Console()  # terminal width, or 80 columns (COLUMNS) when piped
    con.print(fit_rich_table(result, compact=con.width < 130))
    ev = result.events
    fmt = lambda v: "–" if v is None else f"{v:.4g}"  # noqa: E731
    con.print(f"events at best fit: ν {fmt(ev.get('nu'))}, ν̄ {fmt(ev.get('nubar'))} (200 < E_QE < 1250 MeV); "
              f"dump {fmt(ev.get('dump'))} (all energies)")
    if result.dump:
        d = result.dump
        verdict = "consistent" if d["consistent"] else "INCONSISTENT"
        con.print(f"dump mode ({d['pot']:.3g} POT): {verdict} with MiniBooNE's null result "
                  f"(criterion ≤ {d['upper_limit_events']:.2f} events); per-POT ratio to ν mode "
                  f"{fmt(d.get('ratio_to_scaled_nu_prediction'))}")
    if result.pienu is not None:
        con.print(f"PIENU (proxy bounds): {'allowed' if result.pienu_allowed else 'EXCLUDED'} "
                  f"(R_e = {result.pienu.get('R_e', 0):.3g}, R_mu = {result.pienu.get('R_mu', 0):.3g})")
    for name, c in result.constraints.items():
        v = c["verdict"]
        con.print(f"{name} at the MiniBooNE best fit: chi2 = {c['chi2']:.2f} ({c['ndof']} channels), "
                  f"delta chi2 = {c['delta_chi2']:.2f} -> {v['text']} "
                  f"(90% CL: {'EXCLUDED' if v['excluded_90'] else 'allowed'}, "
                  f"95% CL: {'EXCLUDED' if v['excluded_95'] else 'allowed'})")
    conv = result.prediction_conventions
    if conv:
        con.print(f"conventions: dirt {'included' if conv.get('dirt') else 'not included'}; response {conv.get('response')}")
    for n in result.notes:
        con.print(f"note: {n}")
    for p in paths:
        Console(stderr=True).print(f"plot written to {p}")

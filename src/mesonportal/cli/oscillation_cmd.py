"""``mesonportal oscillation-fit``: the 3+1 ν_μ → ν_e appearance reference fit.

    mesonportal oscillation-fit [--modes nu,nubar] [--dm2-range 0.01:100] [--s22-range 1e-4:1]
                                [--points 61x61] [--stat pearson] [--nubar-sample combined|rhc]
                                [--json] [--plot DIR]

See :mod:`mesonportal.analysis.oscillation` (bundled fully oscillated ntuples of the 2021 release,
same covariance χ² as the dark-sector fits).  ``--json`` prints ``fits: {nu, nubar, combined}``,
each with ``best_fit: {dm2_ev2, sin2_2theta, chi2}``, ``chi2_no_oscillation``, ``delta_chi2``,
``ndof``, plus ``conventions``.
"""

from __future__ import annotations

import json
import sys

import click

from mesonportal.cli.options import json_option
from mesonportal.exceptions import ParameterError

__all__ = ["command", "parse_range", "parse_points", "parse_osc_modes"]


def parse_osc_modes(text: str) -> tuple[str, ...]:
    from mesonportal.analysis.oscillation import OSC_MODES

    ms = tuple(m.strip().lower() for m in text.split(",") if m.strip())
    bad = [m for m in ms if m not in OSC_MODES]
    if bad:
        raise ParameterError(f"--modes: mode {bad[0]!r} has no oscillation ntuple; allowed: {', '.join(OSC_MODES)}")
    if not ms or len(set(ms)) != len(ms):
        raise ParameterError(f"--modes must be a comma-separated subset of {', '.join(OSC_MODES)}, got {text!r}")
    return ms


def parse_range(text: str, name: str) -> tuple[float, float]:
    """``"lo:hi"`` → (lo, hi) floats (positivity and order are checked by the fit)."""
    parts = text.split(":")
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise ParameterError(f"{name} must be LOW:HIGH (two positive numbers), got {text!r}") from None
    return lo, hi


def parse_points(text: str) -> tuple[int, int]:
    """``"61x61"`` (Δm² × sin²2θ) or ``"61"`` (both) → (n_dm2, n_s22)."""
    parts = text.lower().split("x")
    try:
        vals = [int(p) for p in parts]
    except ValueError:
        raise ParameterError(f"--points must be N or NxM (integers >= 5), got {text!r}") from None
    if len(vals) == 1:
        vals = vals * 2
    if len(vals) != 2:
        raise ParameterError(f"--points must be N or NxM (integers >= 5), got {text!r}")
    return vals[0], vals[1]


@click.command("oscillation-fit")
@click.option("--modes", default="nu,nubar", show_default=True,
              help="Modes: nu, nubar or nu,nubar (then the combined 60x60 fit is added).")
@click.option("--dm2-range", default="0.01:100", show_default=True, help="Δm² grid range LOW:HIGH [eV²] (log).")
@click.option("--s22-range", default="1e-4:1", show_default=True, help="sin²2θ grid range LOW:HIGH (log, <= 1).")
@click.option("--points", default="61x61", show_default=True, help="Grid points N (both) or NxM (Δm² x sin²2θ).")
@click.option("--stat", type=click.Choice(("pearson", "cnp", "none")), default="pearson", show_default=True,
              help="Statistical term of the covariance chi2.")
@click.option("--nubar-sample", type=click.Choice(("combined", "rhc")), default="combined", show_default=True,
              help="nubar ntuple rows: all of the combined-fit file, or only those of the rhc/ file.")
@json_option
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), default=None,
              help="Write the Δχ² regions (1/2/3σ, 2 dof) per analysis to DIR.")
def command(modes, dm2_range, s22_range, points, stat, nubar_sample, as_json, plot_dir):
    """3+1 oscillation fit to the MiniBooNE 2021 release (best fit, Δχ² to no oscillation, contours)."""
    from mesonportal.analysis.oscillation import conventions, fit_oscillation

    ms = parse_osc_modes(modes)
    d = parse_range(dm2_range, "--dm2-range")
    s = parse_range(s22_range, "--s22-range")
    nd, ns = parse_points(points)
    fits = fit_oscillation(ms, dm2_range=d, s22_range=s, n_dm2=nd, n_s22=ns, stat=stat, nubar_sample=nubar_sample)
    paths = []
    if plot_dir:
        from mesonportal.analysis.oscillation_plots import plot_oscillation_fits

        paths = plot_oscillation_fits(fits, plot_dir)
    if as_json:
        out = {"fits": {k: f.to_json() for k, f in fits.items()},
               "grid": {"dm2_ev2": list(d), "sin2_2theta": list(s), "points": [nd, ns]},
               "conventions": conventions(nubar_sample, stat)}
        click.echo(json.dumps(out, allow_nan=False))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title="3+1 appearance fit, MiniBooNE 2021 release (arXiv:2006.16883)")
    for h in ("analysis", "Δm² [eV²]", "sin²2θ", "χ²_min/ndof", "χ²_no-osc", "Δχ²", "Z (2 dof)", "events ν / ν̄"):
        t.add_column(h, justify="right")
    for k, f in fits.items():
        ev = " / ".join(f"{f.events(m):.1f}" for m in f.modes)
        t.add_row(k, f"{f.best_dm2:.4g}", f"{f.best_s22:.4g}", f"{f.chi2_min:.2f}/{f.ndof}",
                  f"{f.chi2_no_oscillation:.2f}", f"{f.delta_chi2:.2f}", f"{f.significance_sigma:.2f}σ", ev)
    con = Console(width=None if sys.stdout.isatty() else 160)
    con.print(t)
    for k, v in conventions(nubar_sample, stat).items():
        con.print(f"{k}: {v}")
    for p in paths:
        Console(stderr=True).print(f"plot written to {p}")

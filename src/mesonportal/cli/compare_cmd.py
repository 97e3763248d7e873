"""``mesonportal compare``: the MiniBooNE lens — every explanation of the excess on one release.

    mesonportal compare [--out DIR] [--benchmarks a,b,...] [--samples N] [--seed S]
                        [--no-systematics] [--no-plots] [--osc-points N]
                        [--highenergy] [--highenergy-samples N]

Writes ``DIR/lens.json`` (list of rows: ``hypothesis``, ``eqe_chi2``, ``eqe_ndof``,
``costheta_chi2``, ``evis_chi2``, ``nubar_over_nu``, ``dump_ok``, ``pienu_allowed`` and more),
``DIR/compare.md``, ``DIR/compare.json``, shape plots per hypothesis, the 3+1 contours and
``DIR/<benchmark>/systematics.json``.  See :mod:`mesonportal.analysis.compare`.
"""

from __future__ import annotations


import time
from pathlib import Path

import click

from mesonportal.cli.options import seed_option
from mesonportal.exceptions import ParameterError

__all__ = ["command"]


def _parse(text: str | None) -> list[str] | None:
    if text is None:
        return None
    from mesonportal.models.registry import available_benchmarks

    names = [b.strip() for b in text.split(",") if b.strip()]
    known = available_benchmarks()
    bad = [b for b in names if b not in known]
    if bad:
        raise ParameterError(f"--benchmarks must be a comma-separated subset of {', '.join(known)}; got {text!r}")
    return names


@click.command("compare")
@click.option("--out", "-o", default="compare", show_default=True, type=click.Path(file_okay=False),
              help="Output directory.")
@click.option("--benchmarks", default=None, help="Comma-separated benchmarks (default: every registered benchmark).")
@click.option("--samples", "-n", type=click.IntRange(min=1), default=None,
              help="Sampled primary mesons per mode (default: the prediction's own default).")
@seed_option
@click.option("--no-systematics", is_flag=True, help="Skip the systematic-variation refits.")
@click.option("--no-plots", is_flag=True, help="Skip the plots.")
@click.option("--osc-points", type=click.IntRange(min=5), default=61, show_default=True,
              help="Grid points per axis of the 3+1 fit.")
@click.option("--highenergy", is_flag=True,
              help="Add the CHARM-II, T2K ND280, MINERvA and DUNE ND columns (docs/highenergy.md; a cold run "
                   "first generates the four Pythia 8 tables).")
@click.option("--highenergy-samples", type=click.IntRange(min=1), default=5_000, show_default=True,
              help="Sampled mesons per high-energy prediction (MC errors stated in the table).")
def command(out, benchmarks, samples, seed, no_systematics, no_plots, osc_points, highenergy, highenergy_samples):
    """Score background, 3+1 and every benchmark on the MiniBooNE 2021 release (lens table)."""
    from rich.console import Console

    from mesonportal.analysis.compare import run_compare

    names = _parse(benchmarks)
    err = Console(stderr=True)
    t0 = time.perf_counter()
    with err.status("starting") as st:
        rows = run_compare(out, names, samples=samples, seed=seed, systematics=not no_systematics,
                           plots=not no_plots, osc_points=osc_points, highenergy=highenergy,
                           highenergy_samples=highenergy_samples,
                           status=lambda m: st.update(f"{m} ({time.perf_counter() - t0:.0f} s)"))
    md = (Path(out) / "compare.md").read_text(encoding="utf-8")
    click.echo(md.split("\nDefinitions:")[0])
    err.print(f"written to {Path(out).resolve()} (lens.json, compare.md, compare.json, plots) "
              f"in {time.perf_counter() - t0:.0f} s")
    del rows

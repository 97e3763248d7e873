"""``mesonportal highenergy``: do CHARM-II, T2K ND280, MINERvA and DUNE ND exclude the MiniBooNE
solutions?  A thin layer over :func:`mesonportal.analysis.highenergy.verdict_report`
(docs/highenergy.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from mesonportal.cli.options import json_option, seed_option

__all__ = ["command"]


@click.command("highenergy")
@click.option("--benchmark", "-b", "benchmarks", multiple=True,
              help="Benchmark (repeatable or comma-separated; default: scalar, pseudoscalar, idm-single, idm-double).")
@click.option("--experiment", "-e", "experiments", multiple=True,
              help="charm-ii, t2k-nd280, minerva, dune-nd (repeatable or comma-separated; default: all four).")
@click.option("--samples", "-n", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="Sampled primary mesons per prediction.")
@seed_option
@click.option("--fits", "fits_path", default=None, metavar="SUMMARY.json",
              help="Best fits from a main-job summary.json (default: results/summary.json if it exists; "
                   "benchmarks without one are fitted to MiniBooNE first, which is slow).")
@click.option("--coupling-product", "coupling_product", type=float, default=None,
              help="Use this coupling product instead of the best fit (one benchmark only).")
@json_option
def command(benchmarks, experiments, samples, seed, fits_path, coupling_product, as_json) -> None:
    """Predicted events per high-energy selection at the MiniBooNE best fit, next to what each
    measurement allows at 90% CL, and the verdict (excluded / allowed / projection for DUNE ND)."""
    import math

    from mesonportal.analysis.highenergy import (DEFAULT_BENCHMARKS, HE_EXPERIMENTS, best_fits_from_summary,
                                                 markdown_table, verdict_report)
    from mesonportal.exceptions import ParameterError
    from mesonportal.models.registry import load_benchmark

    def split(values):
        return tuple(v.strip() for s in values for v in s.split(",") if v.strip())

    names = split(benchmarks) or DEFAULT_BENCHMARKS
    exps = split(experiments) or tuple(HE_EXPERIMENTS)
    for e in exps:
        if e not in HE_EXPERIMENTS:
            raise ParameterError(f"--experiment {e!r}: allowed: {', '.join(HE_EXPERIMENTS)}")
    for b in names:
        load_benchmark(b)  # unknown name -> one-line error before any work
    fits: dict[str, float] = {}
    if coupling_product is not None:
        if len(names) != 1:
            raise ParameterError("--coupling-product needs exactly one --benchmark")
        if not (math.isfinite(coupling_product) and coupling_product > 0):
            raise ParameterError(f"--coupling-product = {coupling_product}: must be a finite number > 0")
        fits = {names[0]: coupling_product}
    else:
        path = Path(fits_path) if fits_path else Path("results") / "summary.json"
        if fits_path or path.is_file():
            if not path.is_file():
                raise ParameterError(f"--fits {path}: no such file")
            fits = best_fits_from_summary(path)
    tty = sys.stderr.isatty()

    def status(msg: str) -> None:
        if tty:
            click.echo(f"mesonportal highenergy: {msg}", err=True)

    report = verdict_report(names, exps, samples=samples, seed=seed, fits=fits, status=status)
    if coupling_product is not None:
        report["best_fits"][names[0]]["source"] = "--coupling-product"
    elif fits:
        for b in report["best_fits"]:
            if report["best_fits"][b]["source"] == "given":
                report["best_fits"][b]["source"] = str(fits_path or Path("results") / "summary.json")
    if as_json:
        click.echo(json.dumps(report, indent=2, allow_nan=False, default=float))
        return
    click.echo(markdown_table(report), nl=False)
    click.echo("N_90 = extra events allowed at 90% CL; [a–b] = range from the photon / e+e- pair acceptance; "
               "errors = meson-clustered MC statistics. Conventions and assumptions: --json.")

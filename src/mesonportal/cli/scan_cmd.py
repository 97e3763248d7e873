"""``mesonportal scan`` (parameter scans, resumable, local or Dask) and ``mesonportal plot-scan``."""

from __future__ import annotations

import importlib
import json
import sys

import click

from mesonportal.cli.options import experiment_option, seed_option


def _load_predictor(text: str | None):
    """``module:function`` → callable (hidden option, for tests/benchmarks); ``toy`` is the
    synthetic predictor of :mod:`mesonportal.analysis.scan`."""
    from mesonportal.exceptions import ParameterError

    if text is None:
        return None
    if text == "toy":
        from mesonportal.analysis.scan import toy_predictor

        return toy_predictor
    mod, _, fn = text.partition(":")
    try:
        return getattr(importlib.import_module(mod), fn)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ParameterError(f"--predictor {text!r}: cannot import ({exc})") from None


def build_spec(experiment: str, model_name: str | None, benchmark: str | None, grids, fixed, seed: int,
               samples: int | None, stat: str, rescale: str | None, allocation_reuse: str | None = None,
               strata: str | None = None):
    """ScanSpec from CLI values.  Parameters come from (lowest priority first): the benchmark
    (``--benchmark``, or the shipped benchmark of the same name as ``--model`` when there is one),
    ``--fixed``, then the grid axes."""
    from mesonportal.analysis.scan import ScanSpec, parse_axis
    from mesonportal.exceptions import ParameterError
    from mesonportal.models.registry import available_benchmarks, benchmark_info, parse_param_assignments

    if benchmark is not None and model_name is not None:
        raise ParameterError("give either --benchmark or --model, not both")
    if benchmark is None and model_name is None:
        raise ParameterError("a model is required: --model scalar|pseudoscalar|idm or --benchmark NAME")
    base: dict = {}
    if benchmark is None and model_name in available_benchmarks():
        benchmark = model_name
    if benchmark is not None:
        info = benchmark_info(benchmark)
        if model_name is not None and info["model"] != model_name:
            raise ParameterError(f"benchmark {benchmark!r} is a {info['model']!r} model, not {model_name!r}")
        model_name = info["model"]
        base = dict(info["params"])
    axes = tuple(parse_axis(g) for g in grids)
    kv = parse_param_assignments(list(fixed))
    for a in axes:
        base.pop(a.name, None)  # grid axes replace benchmark values; --fixed on a grid axis is an error
    params = {**base, **kv}
    return ScanSpec(experiment, model_name, axes, params, seed, samples, stat, rescale, allocation_reuse, strata)


#: Usable cores from which a local Dask cluster becomes the default.  Measured on the 2-core
#: reference machine (Quick-start scan, 20 mass points x 50 couplings, warm meson cache, whole
#: process): serial 79-122 s wall / 31 s CPU, LocalCluster with 2 workers 305 s wall / 111 s CPU —
#: the workers spend 3.5x the CPU of the serial run (per-process caches and tables, process
#: start-up, IPC), so below several times that many cores serial is faster.  No machine with more
#: cores was available to measure the crossover: 16 is a conservative threshold.
AUTO_DASK_MIN_CORES = 16
#: ... and from this many mass points (start-up of a LocalCluster is several seconds).
AUTO_DASK_MIN_MASS_POINTS = 8


def usable_cores() -> int:
    """Cores this process may run on (CPU affinity where the OS reports it)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def auto_workers(n_mass_points: int, scheduler: str | None, cores: int | None = None) -> int:
    """Default number of local workers: serial (1) unless the machine has at least
    :data:`AUTO_DASK_MIN_CORES` usable cores, the grid at least
    :data:`AUTO_DASK_MIN_MASS_POINTS` mass points and ``dask.distributed`` is installed; then a
    LocalCluster with cores // 4 workers (each worker costs ~3.5x the CPU of serial work).
    Irrelevant with ``--scheduler``."""
    cores = usable_cores() if cores is None else cores
    if scheduler is not None or n_mass_points < AUTO_DASK_MIN_MASS_POINTS or cores < AUTO_DASK_MIN_CORES:
        return 1
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        return 1
    return max(1, min(cores // 4, n_mass_points))


@click.command("scan")
@experiment_option
@click.option("--model", "model_name", default=None, help="Model: scalar, pseudoscalar, idm or longlived-vector "
              "(parameters not given default to the shipped benchmark of that name, if any).")
@click.option("--benchmark", "-b", default=None, help="Start from a shipped benchmark's parameters.")
@click.option("--grid", "grids", multiple=True, required=True, metavar="NAME=LOG:a:b:n",
              help="Grid axis (repeatable): NAME=LOG:start:stop:n, NAME=LIN:start:stop:n or NAME=v1,v2,...; "
                   "the coupling axis is coupling_product.")
@click.option("--fixed", "fixed", multiple=True, metavar="K=V", help="Fixed model parameter (repeatable).")
@click.option("--out", "-o", default="scan.parquet", show_default=True,
              help="Output dataset directory (one Parquet part per mass point).")
@click.option("--scheduler", default=None, help="Address of an existing dask.distributed scheduler (tcp://host:port).")
@click.option("--workers", "-j", type=click.IntRange(min=1), default=None,
              help="Local workers: 1 = serial in this process, N > 1 = Dask LocalCluster with N processes. "
                   f"Default: serial, unless the machine has >= {AUTO_DASK_MIN_CORES} cores and the grid >= "
                   f"{AUTO_DASK_MIN_MASS_POINTS} mass points (then cores // 4 workers): a LocalCluster costs ~3.5x "
                   "the CPU of serial work (docs/scans.md).")
@click.option("--resume", is_flag=True, help="Continue an interrupted scan: compute only the missing points.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
@seed_option
@click.option("--samples", "-n", type=click.IntRange(min=1), default=None,
              help="Sampled primary mesons per mode (default: the prediction's default).")
@click.option("--stat", type=click.Choice(["pearson", "cnp", "none"]), default="pearson", show_default=True,
              help="Statistical term of the MiniBooNE chi2.")
@click.option("--rescale", type=click.Choice(["lam", "g_n_lam", "g_n"]), default=None,
              help="Scalar models: coupling(s) absorbing coupling_product at fixed g_mu (default lam, as "
                   "predict_signal and the fit); only the reported rescaled_value depends on it.")
@click.option("--allocation-reuse", "allocation_reuse", default=None, metavar="none|every:K",
              help="Mass points take the meson allocation (species shares, sample size, keep probabilities) of "
                   "an anchor mass point instead of running their own pilot: every:K = every K-th mass of each "
                   "mass axis is an anchor, a point uses the nearest anchor at or below it; every point's achieved "
                   "MC error is verified and topped up if above the target. none = every point its own pilot. "
                   "Default: every:4 (docs/scans.md).")
@click.option("--strata", default=None, metavar="species|momentum-angle",
              help="Strata of the predictions' importance allocation (default: the prediction's default; "
                   "momentum-angle is experimental, docs/mc_errors.md).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary to stdout.")
@click.option("--predictor", default=None, hidden=True, help="module:function replacing predict_signal (tests).")
def scan_command(experiment, model_name, benchmark, grids, fixed, out, scheduler, workers, resume, overwrite, seed,
                 samples, stat, rescale, allocation_reuse, strata, no_progress, as_json, predictor):
    """Scan a (mass, coupling) grid: χ² (ν, ν̄, combined), events per mode and the PIENU flag per point."""
    from mesonportal.analysis.scan import run_scan
    from mesonportal.analysis.scan_io import read_scan

    from pathlib import Path

    from mesonportal.cli.checks import check_output_dir

    spec = build_spec(experiment, model_name, benchmark, grids, fixed, seed, samples, stat, rescale, allocation_reuse,
                      strata)
    check_output_dir(Path(out).parent if str(Path(out).parent) else Path("."), "--out")
    if workers is None:
        workers = auto_workers(len(spec.mass_points()), scheduler)
    summary = run_scan(spec, out, workers=workers, scheduler=scheduler, resume=resume, overwrite=overwrite,
                       predictor=_load_predictor(predictor), progress=(not no_progress) and sys.stderr.isatty())
    t = read_scan(out, ["chi2_combined", *[a.name for a in spec.axes]])
    chi2 = t.column("chi2_combined").to_numpy()
    i = int(chi2.argmin())
    best = {a.name: float(t.column(a.name)[i].as_py()) for a in spec.axes}
    result = {**summary.to_json(), "rows": t.num_rows, "best_fit": {**best, "chi2_combined": float(chi2[i])},
              "allocation_reuse": spec.allocation_reuse, "strata": spec.strata}
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"scan written to {summary.out}: {t.num_rows}/{summary.total_points} points "
               f"({summary.computed_mass_points} mass points computed, {summary.skipped_mass_points} reused, "
               f"{summary.seconds:.1f} s, {summary.backend})")
    click.echo("best fit (combined): " + ", ".join(f"{k} = {v:.4g}" for k, v in result["best_fit"].items()))


@click.command("plot-scan")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--chi2", "which", type=click.Choice(["combined", "nu", "nubar"]), default="combined", show_default=True)
@click.option("--x", "x_axis", default=None, help="Mass axis on the horizontal axis (default: the only varying one; "
              "other mass axes are profiled).")
@click.option("--out", "-o", "out_path", default=None, help="Figure file (.png/.pdf; default PATH with .png).")
@click.option("--title", default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the best fit as JSON.")
def plot_scan_command(path, which, x_axis, out_path, title, as_json):
    """Δχ² map with 1σ/2σ/3σ (2 dof) preferred regions, best fit and PIENU-excluded region."""
    from pathlib import Path

    from mesonportal.analysis.scan_plots import plot_scan

    from mesonportal.cli.checks import check_plot_file

    if out_path is None:
        out_path = str(Path(path).with_suffix(".png"))
    check_plot_file(out_path, "--out")
    info = plot_scan(path, out_path, chi2=which, x_axis=x_axis, title=title)
    if as_json:
        click.echo(json.dumps(info))
        return
    bf = info["best_fit"]
    click.echo(f"figure written to {out_path}; best fit: " + ", ".join(f"{k} = {v:.4g}" for k, v in bf.items()))


command = scan_command

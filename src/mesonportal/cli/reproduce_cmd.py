"""``mesonportal reproduce``: the main job — fit all shipped benchmarks and write ``results/``.

    mesonportal reproduce [--out results] [--samples N] [--seed S]
                          [--benchmarks scalar,pseudoscalar,idm-single,idm-double]

For every benchmark: predict ν, ν̄ and dump mode, fit ν+ν̄ (combined covariance; ν-only and
ν̄-only fits alongside), and write ``<out>/<benchmark>/fit.json`` and its plots; then
``<out>/report.md`` (summary table + criteria) and ``<out>/summary.json``. A benchmark without
sensitivity (prediction zero everywhere) is reported as such and does not stop the job; the exit
code is 0 if at least one benchmark was fitted, else 1.

Stale outputs: every run lists the files it wrote in ``<out>/.mesonportal-outputs.json``; a new
run into the same directory first deletes the files of that list (and nothing else), so the
directory never holds results that the new ``report.md`` does not describe (e.g. a benchmark
fitted last time but not this time).  Files of the user in ``<out>`` are left alone.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from pathlib import Path

import click

from mesonportal.cli.options import experiment_option, seed_option
from mesonportal.exceptions import NoSensitivityError, ParameterError

__all__ = ["command", "DEFAULT_BENCHMARKS", "reproduce"]

DEFAULT_BENCHMARKS: tuple[str, ...] = ("scalar", "pseudoscalar", "idm-single", "idm-double")


def _parse_benchmarks(text: str) -> tuple[str, ...]:
    from mesonportal.models.registry import available_benchmarks

    names = tuple(b.strip() for b in text.split(",") if b.strip())
    known = available_benchmarks()
    bad = [b for b in names if b not in known]
    if not names or bad:
        raise ParameterError(f"--benchmarks must be a comma-separated subset of {', '.join(known)}; got {text!r}")
    return names


#: File (inside the output directory) listing the outputs of the last ``reproduce`` run.
MANIFEST = ".mesonportal-outputs.json"


def clean_previous_outputs(outdir: Path) -> list[Path]:
    """Delete the files listed in ``outdir``'s manifest (outputs of the previous run), and the
    benchmark sub-directories they leave empty; returns the deleted files.  Only files inside
    ``outdir`` are ever deleted; a missing or unreadable manifest deletes nothing."""
    man = outdir / MANIFEST
    if not man.is_file():
        return []
    try:
        listed = json.loads(man.read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        listed = []
    root = outdir.resolve()
    removed: list[Path] = []
    for rel in listed:
        p = (outdir / str(rel)).resolve()
        if root not in p.parents or not p.is_file():
            continue
        p.unlink()
        removed.append(p)
        parent = p.parent
        if parent != root and not any(parent.iterdir()):
            parent.rmdir()
    man.unlink(missing_ok=True)
    return removed


def reproduce(
    out: str | Path = "results",
    benchmarks: tuple[str, ...] = DEFAULT_BENCHMARKS,
    *,
    experiment: str = "miniboone",
    samples: int | None = None,
    seed: int = 12345,
    plots: bool = True,
    progress=None,
    stopped: bool = True,
    constraints: tuple[str, ...] = ("microboone",),
    other_experiments: tuple[str, ...] = ("microboone", "sbnd", "icarus"),
    dirt: bool = True,
    lens: bool = True,
) -> list[dict]:
    """Fit ``benchmarks`` and write the results directory; returns the summary rows.
    ``progress``: optional callable(benchmark, message); ``stopped``: add the stopped-pion section
    (:mod:`mesonportal.analysis.stopped_report`).  ``constraints``: tested at each best
    fit (verdict in the report); ``other_experiments``: predicted events (per topology for LAr
    TPCs) at each best fit; ``dirt``: include up-scattering in the dirt (iDM).
    ``lens``: also write the MiniBooNE lens (``<out>/compare/``,
    :func:`mesonportal.analysis.compare.run_compare`) reusing the fits."""
    from mesonportal import __version__
    from mesonportal.analysis.report import failed_row, summary_row, write_summary
    from mesonportal.analysis.retention import slim
    from mesonportal.cli.fit_cmd import run_fit
    from mesonportal.models.registry import load_benchmark

    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    clean_previous_outputs(outdir)
    written: list[Path] = []
    rows: list[dict] = []
    fitted: dict = {}
    best_fits: list[tuple] = []
    t0 = time.perf_counter()
    for name in benchmarks:
        t1 = time.perf_counter()
        say = (lambda msg, _n=name: progress(_n, msg)) if progress else None
        model = load_benchmark(name)
        try:
            result, preds, _dump = run_fit(experiment, model, ("nu", "nubar"), samples=samples, seed=seed,
                                           benchmark=name, status=say, with_constraints=constraints, dirt=dirt)
        except NoSensitivityError as exc:
            rows.append(failed_row(name, "no sensitivity", str(exc)))
            bdir = outdir / name
            bdir.mkdir(parents=True, exist_ok=True)
            (bdir / "fit.json").write_text(json.dumps({"benchmark": name, "status": "no sensitivity",
                                                       "message": str(exc)}, indent=2), encoding="utf-8")
            written.append(bdir / "fit.json")
            continue
        bdir = outdir / name
        bdir.mkdir(parents=True, exist_ok=True)
        (bdir / "fit.json").write_text(json.dumps(result.to_json(), indent=2, allow_nan=False), encoding="utf-8")
        written.append(bdir / "fit.json")
        if plots:
            if say:
                say("plotting")
            from mesonportal.analysis.fit_plots import plot_fit

            written += [Path(p) for p in plot_fit(result, preds, bdir)]
        row = summary_row(name, result)
        if other_experiments:
            if say:
                say("predicting " + ", ".join(other_experiments))
            from mesonportal.api import predictions_at

            row["other_experiments"] = predictions_at(model, result.coupling_product, tuple(other_experiments),
                                                      samples=samples, seed=seed, dirt=dirt,
                                                      reuse=result.constraint_samples)
        # the lens reuses the fit: keep only the columns it reads (same arrays, same numbers)
        result.constraint_samples = {}
        if lens and experiment == "miniboone":
            fitted[name] = (result, {m: slim(s) for m, s in preds.items()}, slim(_dump))
        del preds, _dump
        row["seconds"] = round(time.perf_counter() - t1, 1)
        rows.append(row)
        if result.best.best_fit is not None and math.isfinite(float(result.best.best_fit)):
            best_fits.append((name, model, float(result.best.best_fit)))
    meta = {
        "mesonportal": __version__,
        "experiment": experiment,
        "benchmarks": ", ".join(benchmarks),
        "samples": samples if samples is not None else "prediction default",
        "seed": seed,
        "dirt (inelastic DM)": "included" if dirt else "not included",
        "constraints": ", ".join(constraints) or "none",
        "python": platform.python_version(),
        "wall time [s]": round(time.perf_counter() - t0, 1),
    }
    if lens and experiment == "miniboone":
        from mesonportal.analysis.compare import run_compare

        cdir = outdir / "compare"
        run_compare(cdir, benchmarks, samples=samples, seed=seed, plots=plots, fits=fitted, dirt=dirt,
                    status=(lambda m: progress("lens", m)) if progress else None)
        written += sorted(p for p in cdir.rglob("*") if p.is_file())
        meta["lens"] = "compare/compare.md (3+1, shape tests, systematic variations; compare/lens.json)"
    written += list(write_summary(outdir, rows, meta))
    if stopped and best_fits:
        from mesonportal.analysis.stopped_report import append_to_report, stopped_rows

        written.append(append_to_report(outdir, stopped_rows(best_fits, samples=samples, seed=seed)))
    manifest = {"about": "files written by the last `mesonportal reproduce` into this directory; the next run "
                         "deletes exactly these before writing", "mesonportal": __version__,
                "files": sorted(str(Path(p).relative_to(outdir)) for p in written)}
    (outdir / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return rows


@click.command("reproduce")
@click.option("--out", "-o", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Output directory.")
@click.option("--benchmarks", default=",".join(DEFAULT_BENCHMARKS), show_default=True,
              help="Comma-separated benchmarks to fit.")
@click.option("--samples", "-n", type=click.IntRange(min=1), default=None,
              help="Sampled primary mesons per mode (default: the prediction's own default).")
@seed_option
@experiment_option
@click.option("--no-plots", is_flag=True, help="Skip the plots (JSON and report only).")
@click.option("--no-lens", is_flag=True, help="Skip the MiniBooNE lens (compare/: 3+1, shapes, systematics).")
@click.option("--no-stopped", is_flag=True, help="Skip the stopped-pion section (CCM, LSND, KARMEN, COHERENT, JSNS2).")
@click.option("--dirt/--no-dirt", default=True, show_default=True,
              help="Include up-scattering in the upstream dirt (inelastic DM).")
@click.option("--no-other-experiments", is_flag=True,
              help="Skip the MicroBooNE constraint and the MicroBooNE/SBND/ICARUS predictions.")
def command(out, benchmarks, samples, seed, experiment, no_plots, no_stopped, dirt, no_other_experiments, no_lens):
    """Fit all shipped benchmarks to the MiniBooNE excess and write results/ (JSON, plots, report.md)."""
    from rich.console import Console

    from mesonportal.analysis.report import rich_table

    from mesonportal.cli.checks import check_output_dir

    names = _parse_benchmarks(benchmarks)
    check_output_dir(out, "--out")
    err = Console(stderr=True)
    t0 = time.perf_counter()
    with err.status("starting") as status:
        def progress(bench: str, msg: str) -> None:
            k = f"{names.index(bench) + 1}/{len(names)}" if bench in names else bench
            status.update(f"[{k}] {bench}: {msg} "
                          f"({time.perf_counter() - t0:.0f} s)")
        kw = {"constraints": (), "other_experiments": ()} if no_other_experiments else {}
        rows = reproduce(out, names, experiment=experiment, samples=samples, seed=seed,
                         plots=not no_plots, progress=progress, stopped=not no_stopped, dirt=dirt, lens=not no_lens, **kw)
    con = Console()  # terminal width, or 80 columns (COLUMNS) when piped
    con.print(rich_table(rows, title=f"MiniBooNE excess fits ({time.perf_counter() - t0:.0f} s)",
                         compact=con.width < 150))
    if con.width < 150:
        err.print(f"(compact table; all columns in {Path(out) / 'report.md'})")
    err.print(f"results written to {Path(out).resolve()} (report.md, summary.json, <benchmark>/fit.json, "
              "compare/ lens)")
    if not any(r.get("status") == "ok" for r in rows):
        raise NoSensitivityError("no benchmark could be fitted (see report.md)")

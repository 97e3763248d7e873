"""``mesonportal reproduce``: the main job — fit all shipped benchmarks and write ``results/``.

    mesonportal reproduce [--out results] [--samples N] [--seed S] [--workers N]
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

Cost (docs/benchmarks.md, ``benchmarks/bench_mainjob.py``): each benchmark is one job (fit, plots,
other experiments, lens entry, stopped-pion rows); with ``--workers 2`` the long-lived-X and the
iDM benchmarks run in two processes side by side (identical outputs); predictions keep only the
columns the job reads, the in-process meson memos keep one entry (re-read from the disk cache,
:func:`mesonportal._memory.lean_memos`), and freed memory is returned to the OS between stages.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import click

from mesonportal.cli.options import experiment_option, seed_option
from mesonportal.exceptions import NoSensitivityError, ParameterError

__all__ = ["command", "DEFAULT_BENCHMARKS", "reproduce", "default_workers"]

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


def _benchmark_job(name: str, *, experiment, samples: int | None, seed: int, plots: bool, constraints: tuple[str, ...],
                   other_experiments: tuple[str, ...], dirt: bool, lens: bool, stopped: bool, outdir: str,
                   highenergy: bool = False, progress=None) -> dict[str, Any]:
    """Everything the main job computes for one benchmark, in this process: the fit (ν+ν̄, dump,
    constraints), ``<out>/<name>/fit.json`` and plots, the other BNB experiments at the best fit,
    the lens entry (:func:`mesonportal.analysis.compare.benchmark_entry`, reusing the fit) and
    the stopped-pion rows.  Returns plain data (picklable): ``row`` (summary), ``written``
    (paths), ``lens`` (entry or None), ``stopped`` (rows), ``best_fit`` (x or None).
    Memory: predictions keep only the columns the plots, constraints and lens read
    (:mod:`mesonportal.analysis.retention`), and freed memory goes back to the OS between stages
    (:mod:`mesonportal._memory`); nothing of a benchmark is held once its job returns."""
    from mesonportal._memory import release
    from mesonportal.analysis.report import failed_row, summary_row
    from mesonportal.analysis.retention import LENS_COLUMNS
    from mesonportal.cli.fit_cmd import run_fit
    from mesonportal.models.registry import load_benchmark

    t1 = time.perf_counter()
    say = (lambda msg, _n=name: progress(_n, msg)) if progress else None
    bdir = Path(outdir) / name
    model = load_benchmark(name)
    out: dict[str, Any] = {"name": name, "written": [], "lens": None, "stopped": [], "best_fit": None}
    try:
        # predictions cut to the columns the plots, constraints and the lens read, as they are made
        result, preds, dump = run_fit(experiment, model, ("nu", "nubar"), samples=samples, seed=seed,
                                      benchmark=name, status=say, with_constraints=constraints, dirt=dirt,
                                      retain=LENS_COLUMNS)
    except NoSensitivityError as exc:
        out["row"] = failed_row(name, "no sensitivity", str(exc))
        bdir.mkdir(parents=True, exist_ok=True)
        (bdir / "fit.json").write_text(json.dumps({"benchmark": name, "status": "no sensitivity",
                                                   "message": str(exc)}, indent=2), encoding="utf-8")
        out["written"].append(str(bdir / "fit.json"))
        if lens:  # the lens row of a benchmark without sensitivity (as compare.benchmark_entry gives it)
            from mesonportal.analysis.compare import LENS_KEYS

            out["lens"] = {"row": {"hypothesis": name, "kind": "benchmark", "status": "no sensitivity",
                                   "message": str(exc), **{k: None for k in LENS_KEYS if k != "hypothesis"}}}
        return out
    bdir.mkdir(parents=True, exist_ok=True)
    (bdir / "fit.json").write_text(json.dumps(result.to_json(), indent=2, allow_nan=False), encoding="utf-8")
    out["written"].append(str(bdir / "fit.json"))
    if plots:
        if say:
            say("plotting")
        from mesonportal.analysis.fit_plots import plot_fit

        out["written"] += [str(p) for p in plot_fit(result, preds, bdir)]
    row = summary_row(name, result)
    if other_experiments:
        if say:
            say("predicting " + ", ".join(other_experiments))
        from mesonportal.api import predictions_at

        row["other_experiments"] = predictions_at(model, result.coupling_product, tuple(other_experiments),
                                                  samples=samples, seed=seed, dirt=dirt,
                                                  reuse=result.constraint_samples)
    row["seconds"] = round(time.perf_counter() - t1, 1)
    out["row"] = row
    result.constraint_samples = {}
    fit = (result, preds, dump)
    del preds, dump
    release()
    if lens:
        from mesonportal.analysis.compare import benchmark_entry

        out["lens"] = benchmark_entry(name, fit=fit, samples=samples, seed=seed, dirt=dirt, highenergy=highenergy,
                                      status=(lambda m: progress("lens", m)) if progress else None)
    del fit
    release()
    x = result.best.best_fit
    if x is not None and math.isfinite(float(x)):
        out["best_fit"] = float(x)
        if stopped:
            from mesonportal.analysis.stopped_report import stopped_rows

            if say:
                say("stopped-pion experiments")
            out["stopped"] = stopped_rows([(name, model, float(x))], samples=samples, seed=seed)
            release()
    return out


# ---------------------------------------------------------------------------- worker processes
_QUEUE = None


def _init_worker(queue) -> None:  # pragma: no cover - runs in the worker process
    global _QUEUE
    _QUEUE = queue


def _worker_progress(bench: str, msg: str) -> None:  # pragma: no cover - runs in the worker process
    if _QUEUE is not None:
        _QUEUE.put((bench, msg))


def _run_group(names: tuple[str, ...], options: dict[str, Any]) -> list[dict[str, Any]]:  # pragma: no cover
    """Worker-process entry: :func:`_benchmark_job` for each of ``names`` in turn."""
    from mesonportal._memory import lean_memos

    with lean_memos():
        return [_benchmark_job(n, progress=_worker_progress, **options) for n in names]


def _groups(names: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Benchmarks grouped by the meson samples they use (the prediction family: π±/K± blocks of
    the long-lived X models, π⁰/η/π±/K± groups of iDM), in order of first appearance: a group's
    members share their meson-cache entries, so running groups in parallel never simulates the
    same mesons twice on a cold cache."""
    from mesonportal.analysis.predict import _family
    from mesonportal.models.registry import load_benchmark

    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(_family(load_benchmark(n)), []).append(n)
    return [tuple(g) for g in groups.values()]


#: Available memory (bytes) below which the main job stays in one process by default: two
#: processes peak at ≈ 1.55 GB together (sampled sum; the long-lived-X process ≈ 0.9 GB, the iDM
#: process ≈ 0.85 GB; docs/benchmarks.md), one process at ≈ 1.4 GB.
PARALLEL_MIN_AVAILABLE_BYTES = 4 * 2**30


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def default_workers() -> int:
    """Processes of the main job by default: 2 on a machine with at least 2 usable cores and
    :data:`PARALLEL_MIN_AVAILABLE_BYTES` of available memory (the benchmark groups then run side
    by side), else 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    mem = _available_memory()
    return 2 if cores >= 2 and (mem is None or mem >= PARALLEL_MIN_AVAILABLE_BYTES) else 1


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
    workers: int = 1,
    highenergy: bool = False,
) -> list[dict]:
    """Fit ``benchmarks`` and write the results directory; returns the summary rows.
    ``progress``: optional callable(benchmark, message); ``stopped``: add the stopped-pion section
    (:mod:`mesonportal.analysis.stopped_report`).  ``constraints``: tested at each best
    fit (verdict in the report); ``other_experiments``: predicted events (per topology for LAr
    TPCs) at each best fit; ``dirt``: include up-scattering in the dirt (iDM).
    ``lens``: also write the MiniBooNE lens (``<out>/compare/``,
    :func:`mesonportal.analysis.compare.run_compare`) reusing the fits; ``highenergy``: the lens
    also gets the CHARM-II, T2K ND280, MINERvA and DUNE ND columns (docs/highenergy.md; a cold run
    first builds the four Pythia 8 tables, ≈ 50 s, hence off by default).
    ``workers``: processes (≥ 1).  With 2 or more, the benchmark groups of :func:`_groups` (the
    long-lived X models and the iDM models) run side by side — this process takes the first
    group, worker processes the others; every number is computed exactly as in one process
    (same seeds, same samples), so the outputs are identical."""
    from mesonportal._memory import lean_memos

    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"workers = {workers!r} must be an integer >= 1")
    with lean_memos():  # memory of the main job (mesonportal._memory); no number changes
        return _reproduce(out, benchmarks, experiment=experiment, samples=samples, seed=seed, plots=plots,
                          progress=progress, stopped=stopped, constraints=constraints,
                          other_experiments=other_experiments, dirt=dirt, lens=lens, workers=workers,
                          highenergy=highenergy)


def _reproduce(out, benchmarks, *, experiment, samples, seed, plots, progress, stopped, constraints,
               other_experiments, dirt, lens, workers, highenergy) -> list[dict]:
    from mesonportal import __version__
    from mesonportal.analysis.report import write_summary

    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    clean_previous_outputs(outdir)
    use_lens = bool(lens and experiment == "miniboone")
    options = {"experiment": experiment, "samples": samples, "seed": seed, "plots": plots,
               "constraints": tuple(constraints), "other_experiments": tuple(other_experiments), "dirt": dirt,
               "lens": use_lens, "stopped": stopped, "outdir": str(outdir), "highenergy": bool(highenergy)}
    t0 = time.perf_counter()
    groups = _groups(tuple(benchmarks)) if workers > 1 else [tuple(benchmarks)]
    groups = groups if len(groups) > 1 else [tuple(benchmarks)]
    jobs: dict[str, dict[str, Any]] = {}
    if len(groups) == 1:
        for name in benchmarks:
            jobs[name] = _benchmark_job(name, progress=progress, **options)
    else:
        jobs = _run_parallel(groups[:workers], options, progress)
    written: list[Path] = []
    rows: list[dict] = []
    for name in benchmarks:
        job = jobs[name]
        written += [Path(p) for p in job["written"]]
        rows.append(job["row"])
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
    if use_lens:
        from mesonportal.analysis.compare import run_compare

        cdir = outdir / "compare"
        run_compare(cdir, benchmarks, samples=samples, seed=seed, plots=plots, dirt=dirt, highenergy=highenergy,
                    precomputed={n: jobs[n]["lens"] for n in benchmarks},
                    status=(lambda m: progress("lens", m)) if progress else None)
        written += sorted(p for p in cdir.rglob("*") if p.is_file())
        meta["lens"] = "compare/compare.md (3+1, shape tests, systematic variations; compare/lens.json)"
    written += list(write_summary(outdir, rows, meta))
    stopped_all = [r for n in benchmarks for r in jobs[n]["stopped"]]
    if stopped and stopped_all:
        from mesonportal.analysis.stopped_report import append_to_report

        written.append(append_to_report(outdir, stopped_all))
    manifest = {"about": "files written by the last `mesonportal reproduce` into this directory; the next run "
                         "deletes exactly these before writing", "mesonportal": __version__,
                "files": sorted(str(Path(p).relative_to(outdir)) for p in written)}
    (outdir / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return rows


def _run_parallel(groups: list[tuple[str, ...]], options: dict[str, Any], progress) -> dict[str, dict[str, Any]]:
    """Run ``groups[0]`` in this process and the other groups in worker processes (``spawn``:
    fresh interpreters, no inherited threads or locks); progress messages of the workers are
    forwarded to ``progress``.  Any exception of a worker is raised here."""
    import multiprocessing as mp
    import queue as _queue
    from concurrent.futures import ProcessPoolExecutor, wait

    ctx = mp.get_context("spawn")
    q = ctx.Queue()

    def drain() -> None:
        while True:
            try:
                bench, msg = q.get_nowait()
            except (_queue.Empty, OSError, ValueError):
                return
            if progress:
                progress(bench, msg)

    def local_progress(bench: str, msg: str) -> None:
        drain()
        if progress:
            progress(bench, msg)

    jobs: dict[str, dict[str, Any]] = {}
    with ProcessPoolExecutor(max_workers=len(groups) - 1, mp_context=ctx, initializer=_init_worker,
                             initargs=(q,)) as pool:
        futures = [pool.submit(_run_group, g, options) for g in groups[1:]]
        try:
            for name in groups[0]:
                jobs[name] = _benchmark_job(name, progress=local_progress, **options)
            pending = set(futures)
            while pending:
                _, pending = wait(pending, timeout=0.5)
                drain()
            for f in futures:
                for job in f.result():
                    jobs[job["name"]] = job
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    drain()
    return jobs


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
@click.option("--highenergy", is_flag=True,
              help="Add the CHARM-II, T2K ND280, MINERvA and DUNE ND columns to the lens (needs the pythia8mc "
                   "extra; a cold run first builds the Pythia 8 tables, about 50 s).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes: the long-lived-X and the iDM benchmarks run side by side with 2 "
                   "(default: 2 with >= 2 usable cores and >= 4 GiB available memory, else 1); identical results.")
def command(out, benchmarks, samples, seed, experiment, no_plots, no_stopped, dirt, no_other_experiments, no_lens,
            workers, highenergy):
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
                         plots=not no_plots, progress=progress, stopped=not no_stopped, dirt=dirt, lens=not no_lens,
                         workers=default_workers() if workers is None else workers, highenergy=highenergy, **kw)
    con = Console()  # terminal width, or 80 columns (COLUMNS) when piped
    con.print(rich_table(rows, title=f"MiniBooNE excess fits ({time.perf_counter() - t0:.0f} s)",
                         compact=con.width < 150))
    if con.width < 150:
        err.print(f"(compact table; all columns in {Path(out) / 'report.md'})")
    err.print(f"results written to {Path(out).resolve()} (report.md, summary.json, <benchmark>/fit.json, "
              "compare/ lens)")
    if not any(r.get("status") == "ok" for r in rows):
        raise NoSensitivityError("no benchmark could be fitted (see report.md)")

"""Profile of a scan: where the time of :func:`mesonportal.analysis.scan.run_scan` goes.

Usage: ``python benchmarks/profile_scan.py [--masses N] [--couplings K] [--keep-allocations] [--no-profile]
[--allocation-reuse RULE] [--strata RULE]``

Runs the Quick-start scalar scan (``m_x=LOG:1:30:N``, ``coupling_product=LOG:1e-10:1e-6:K``,
ν + ν̄ + dump, serial, default settings) under :mod:`cProfile` with the meson cache as it is
(run once untimed first to warm it) and the pilot allocations removed (new mass points: pilots
included, unless ``--keep-allocations``), and prints one JSON object: the wall time and the
cumulative time of each stage (pilots, meson assembly, dark chain, per-coupling reweighting and
χ², PIENU flag, Parquet parts, grid check, output preparation), and the achieved MC errors.
Stages are cumulative **process CPU** times of the functions named in ``STAGES`` (the dark chain is the
prediction minus its pilot and assembly).  cProfile adds overhead to Python-level calls: compare
stage shares, not absolute times, with unprofiled runs.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import tempfile
import time
import warnings
from pathlib import Path

#: stage name -> (module file suffix, function name) whose cumulative time is the stage's time
STAGES = {
    "scan_total": ("analysis/scan.py", "run_scan"),
    "grid_check": ("analysis/scan.py", "check_grid"),
    "prepare_output": ("analysis/scan_io.py", "prepare_output"),
    "completed_parts": ("analysis/scan_io.py", "completed_mass_points"),
    "mass_points": ("analysis/scan.py", "evaluate_mass_point"),
    "predictions": ("analysis/predict.py", "predict_signal"),
    "pilots": ("analysis/predict.py", "resolve_allocation"),
    "meson_assembly": ("analysis/allocation.py", "assemble"),
    "reweighting_chi2": ("analysis/scan.py", "evaluate_couplings"),
    "pienu_flag": ("analysis/scan.py", "_pienu"),
    "parquet_parts": ("analysis/scan_io.py", "write_part"),
    "progress_bar": ("analysis/scan.py", "_progress_bar"),
}


def _cum(stats: pstats.Stats, suffix: str, name: str) -> float:
    tot = 0.0
    for (fname, _, fn), (_, _, _, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
        if fn == name and fname.replace(os.sep, "/").endswith(suffix):
            tot += ct
    return tot


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--masses", type=int, default=6)
    ap.add_argument("--couplings", type=int, default=50)
    ap.add_argument("--keep-allocations", action="store_true")
    ap.add_argument("--allocation-reuse", default=None)
    ap.add_argument("--strata", default=None)
    ap.add_argument("--no-profile", action="store_true", help="time only (no cProfile overhead)")
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    from mesonportal.analysis.scan import ScanSpec, parse_axis, run_scan
    from mesonportal.analysis.scan_io import read_scan
    from mesonportal.cache import cache_dir
    from mesonportal.models.registry import benchmark_info

    if not a.keep_allocations:
        shutil.rmtree(cache_dir() / "allocations", ignore_errors=True)
    extra = {}
    if a.allocation_reuse is not None:
        extra["allocation_reuse"] = a.allocation_reuse
    if a.strata is not None:
        extra["strata"] = a.strata
    params = dict(benchmark_info("scalar")["params"])
    params.pop("m_x", None)
    spec = ScanSpec("miniboone", "scalar", (parse_axis(f"m_x=LOG:1:30:{a.masses}"),
                                              parse_axis(f"coupling_product=LOG:1e-10:1e-6:{a.couplings}")),
                    params, **extra)
    prof = cProfile.Profile(time.process_time)  # CPU time: the machine is shared
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        c0 = time.process_time()
        if a.no_profile:
            run_scan(spec, Path(tmp) / "scan.parquet")
        else:
            prof.runcall(run_scan, spec, Path(tmp) / "scan.parquet")
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        cols = ["m_x", "events_nu", "events_nu_mc_error", "events_nubar", "events_nubar_mc_error",
                "events_dump", "events_dump_mc_error"]
        t = read_scan(Path(tmp) / "scan.parquet", cols).to_pydict()
    out: dict = {"masses": a.masses, "couplings": a.couplings, "wall_s": wall, "cpu_s": cpu,
                 "loadavg": list(os.getloadavg()), "profiled": not a.no_profile, "spec": spec.to_json()}
    if not a.no_profile:
        st = pstats.Stats(prof)
        stages = {k: _cum(st, *v) for k, v in STAGES.items()}
        # the pilot's own chain runs inside resolve_allocation: the dark chain proper (and the
        # prediction's bookkeeping) is the rest of the predictions
        stages["dark_chain"] = stages["predictions"] - stages["pilots"] - stages["meson_assembly"]
        stages["other_in_run_scan"] = stages["scan_total"] - sum(
            stages[k] for k in ("grid_check", "prepare_output", "completed_parts", "mass_points", "parquet_parts",
                                "progress_bar"))
        out["stages_s"] = stages
    # largest relative MC error over the couplings, per mass point and mode (ν, ν̄: window
    # events; dump: all events)
    rel = {}
    for m in ("nu", "nubar", "dump"):
        per_mass: dict = {}
        for mx, e, s in zip(t["m_x"], t[f"events_{m}"], t[f"events_{m}_mc_error"]):
            if e > 0:
                per_mass[mx] = max(per_mass.get(mx, 0.0), s / e)
        rel[m] = [round(per_mass[k], 5) for k in sorted(per_mass)]
    out["max_rel_mc_error_by_mass"] = rel
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()

"""Benchmark: parameter scans (prints one JSON object with machine information).

Usage: ``python benchmarks/bench_scan.py [--samples N] [--quick] [--no-memory]``

Timed (targets of the scan issue, 2-core machine):

* ``new_coupling``: one new coupling value at fixed masses — reweighting of the cached ν, ν̄ and
  dump predictions + χ² (ν, ν̄, combined) + events (target ≤ 10 ms);
* ``new_mass_point``: ν + ν̄ + dump predictions at a new mass with the meson cache warm, and
  the MC statistical error reached (target ≤ 5 s at ≤ 2 % MC error);
* ``scan_20x50``: a 20-mass × 50-coupling scan, serial (target ≤ 180 s);
* ``workers``: the same kind of scan (8 masses × 50 couplings) on a Dask LocalCluster with 1 and
  with 2 worker processes (cluster start-up excluded), and the speed-up;
* ``memory``: a 10⁷-meson cache entry written from chunks and read back chunk by chunk in a
  separate process; peak resident memory (target ≤ 2 GB).

The physics prediction is :func:`mesonportal.analysis.predict.predict_signal` (scalar benchmark,
m_Z′ = 49 MeV); if it cannot be imported, the scan timings use the synthetic ``toy_predictor``
and ``new_mass_point`` reports "unavailable".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from mesonportal import __version__
from mesonportal.analysis.scan import CouplingReweighter, ScanSpec, evaluate_couplings, evaluate_mass_point, parse_axis, run_scan, toy_predictor

FIXED = {"m_zprime": 49.0, "g_mu": 1e-4, "g_e": 0.0, "g_n": 1e-4, "lam": 1e-5, "charge": "up"}

_MEMORY_CHILD = r"""
import resource, sys, time, numpy as np
from mesonportal.cache import ChunkedSampleWriter, iter_sample_chunks
from mesonportal.sample import ParticleSample
path, n, chunk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(1)
t0 = time.perf_counter()
with ChunkedSampleWriter(path, {"bench": True}) as w:
    for start in range(0, n, chunk):
        k = min(chunk, n - start)
        w.append(ParticleSample(rng.normal(size=(k, 4)), rng.normal(size=(k, 3)), 211, rng.random(k) / n, 0))
t1 = time.perf_counter()
tot = 0.0; cnt = 0
for ch in iter_sample_chunks(path, chunk):
    tot += float(ch.weight.sum()); cnt += len(ch)
t2 = time.perf_counter()
print(cnt, tot, t1 - t0, t2 - t1, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _machine() -> dict:
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(), "numpy": np.__version__,
            "mesonportal": __version__, "loadavg": list(os.getloadavg())}


def _predictor():
    try:
        from mesonportal.analysis.predict import predict_signal
    except ImportError:
        return None
    return predict_signal


def bench_new_coupling(pred, samples) -> dict:
    from mesonportal.experiments import load_experiment
    from mesonportal.models.registry import make_model

    exp = load_experiment("miniboone")
    model = make_model("scalar", m_x=1.0, **FIXED)
    p = pred or toy_predictor
    sig = {m: p(exp, m, model, samples=samples, seed=12345) for m in ("nu", "nubar", "dump")}
    xs = np.geomspace(1e-11, 1e-8, 50)
    t = time.perf_counter()
    rw = CouplingReweighter(sig)  # coupling-independent work, once per mass point
    t_prep = time.perf_counter() - t
    rw.evaluate(xs[:1])  # warm-up
    times = []
    for x in xs:
        t = time.perf_counter()
        rw.evaluate(np.array([x]))
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    rw.evaluate(xs)
    t50 = time.perf_counter() - t
    t = time.perf_counter()
    evaluate_couplings(sig, xs[:1])
    t_cold = time.perf_counter() - t
    return {"median_ms": 1e3 * float(np.median(times)), "max_ms": 1e3 * float(np.max(times)),
            "vectorised_50_couplings_ms": 1e3 * t50, "prepare_per_mass_point_ms": 1e3 * t_prep,
            "first_coupling_including_prepare_ms": 1e3 * t_cold, "events_mc_nu": len(sig["nu"]),
            "reweighting": "A + B (x/x_ref)^2 (weight_fn detected)" if rw.modes["nu"].affine and sig["nu"].weight_fn
            else ("quadratic" if sig["nu"].weight_fn is None else "general weight_fn"),
            "predictor": "predict_signal" if pred else "toy", "target_ms": 10.0,
            "ok": bool(np.median(times) <= 0.010)}


def bench_new_mass_point(pred, samples) -> dict:
    if pred is None:
        return {"status": "unavailable", "reason": "mesonportal.analysis.predict not importable"}
    spec = ScanSpec("miniboone", "scalar", (parse_axis("m_x=1,7"), parse_axis("coupling_product=LOG:1e-11:1e-8:50")),
                    FIXED, samples=samples)
    p0, p1 = spec.mass_points()
    evaluate_mass_point(spec, p0, predictor=pred)  # warms the meson cache (ν, ν̄, dump)
    t = time.perf_counter()
    cols = evaluate_mass_point(spec, p1, predictor=pred)
    dt = time.perf_counter() - t
    k = int(np.argmin(np.abs(np.asarray(spec.coupling_axis.values) - 3e-9)))  # near the excess size
    rel = {m: float(cols[f"events_{m}_mc_error"][k] / cols[f"events_{m}"][k]) for m in ("nu", "nubar")}
    return {"seconds": dt, "samples": samples, "mc_rel_error_events_200_1250_at_3e-9": rel, "target_s": 5.0,
            "target_mc_rel_error": 0.02, "ok": bool(dt <= 5.0 and max(rel.values()) <= 0.02)}


def bench_scan(pred, samples, n_mass, n_coupling, tmp) -> dict:
    spec = ScanSpec("miniboone", "scalar", (parse_axis(f"m_x=LOG:1:30:{n_mass}"),
                                            parse_axis(f"coupling_product=LOG:1e-11:1e-8:{n_coupling}")), FIXED,
                    samples=samples)
    s = run_scan(spec, Path(tmp) / f"scan{n_mass}x{n_coupling}.parquet", predictor=pred or toy_predictor)
    return {"seconds": s.seconds, "points": s.total_points, "mass_points": s.mass_points, "backend": s.backend,
            "predictor": "predict_signal" if pred else "toy", "target_s": 180.0, "ok": bool(s.seconds <= 180.0)}


def bench_workers(pred, samples, n_mass, tmp) -> dict:
    from distributed import Client, LocalCluster

    spec = ScanSpec("miniboone", "scalar", (parse_axis(f"m_x=LOG:1.5:25:{n_mass}"),
                                            parse_axis("coupling_product=LOG:1e-11:1e-8:50")), FIXED, samples=samples)
    out = {}
    for n in (1, 2):
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0") as cl, Client(cl) as c:
            # warm every worker (imports, likelihood matrices, meson cache read) before timing
            c.run(evaluate_mass_point, spec, spec.mass_points()[0], predictor=pred or toy_predictor)
            s = run_scan(spec, Path(tmp) / f"w{n}.parquet", client=c, predictor=pred or toy_predictor)
            out[f"workers_{n}_s"] = s.seconds
    out["speedup"] = out["workers_1_s"] / out["workers_2_s"]
    out["points"] = spec.n_points
    out["note"] = ("workers warmed first, cluster start-up excluded; the 2 cores are shared with other "
                   "processes (see machine.loadavg), so the speed-up is a lower bound")
    return out


def bench_memory(n: int, chunk: int, tmp) -> dict:
    path = Path(tmp) / "mesons-1e7.npz"
    r = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(path), str(n), str(chunk)], capture_output=True,
                       text=True, check=True)
    cnt, tot, tw, tr, rss_kb = r.stdout.split()
    size = path.stat().st_size
    path.unlink()
    rss_mb = int(rss_kb) / 1024
    return {"mesons": int(cnt), "chunk": chunk, "file_mb": size / 2**20, "write_s": float(tw), "read_s": float(tr),
            "peak_rss_mb": rss_mb, "sum_weight": float(tot), "target_mb": 2048.0, "ok": bool(rss_mb <= 2048.0)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=400_000, help="mesons per mode for the predictions")
    ap.add_argument("--quick", action="store_true", help="smaller scans (5x50, 4 masses for the worker scaling)")
    ap.add_argument("--no-memory", action="store_true", help="skip the 10^7-meson memory test (800 MB of disk)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    pred = _predictor()
    res: dict = {"machine": _machine(), "benchmark": "scan"}
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as tmp:
        res["new_coupling"] = bench_new_coupling(pred, args.samples)
        res["new_mass_point"] = bench_new_mass_point(pred, args.samples)
        res["scan_20x50" if not args.quick else "scan_5x50"] = bench_scan(pred, args.samples, 5 if args.quick else 20, 50, tmp)
        res["workers"] = bench_workers(pred, args.samples, 4 if args.quick else 8, tmp)
        if not args.no_memory:
            res["memory"] = bench_memory(10_000_000, 1_000_000, tmp)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()

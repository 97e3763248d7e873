"""Benchmark: the forced-emission hot path (propagation/forced.py rest_band + draw_from_band,
geometry.ray_sphere_intersection, kinematics.isotropic_directions / rotate_to_axis) against the
straightforward (N, 3) implementation of mesonportal 0.4.0 kept in tests/_forced_reference.py.

Inputs are synthetic but shaped like the MiniBooNE chains (π⁰-like parents of 0–20 GeV along the
beam, detector sphere R = 610 cm at 540 m, daughters of 0, 17 and 120 MeV; N = 300 000 rows;
draws with and without a parent index).  Each function pair is timed interleaved (reference,
optimised, reference, ...) ``--reps`` times; CPU seconds of this process (``time.process_time``,
less sensitive to other load than wall time) and wall seconds, medians, and the median of the
per-pair ratios optimised / reference.  The outputs are checked to be bit-identical first.
Usage: python benchmarks/bench_forced.py [--reps 7] [--n 300000]  (prints JSON)
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _forced_reference import (ref_draw_from_band, ref_isotropic_directions, ref_ray_sphere_intersection,  # noqa: E402
                               ref_rest_band, ref_rotate_to_axis)

from mesonportal.kinematics import isotropic_directions, rotate_to_axis  # noqa: E402
from mesonportal.propagation.forced import draw_from_band, rest_band  # noqa: E402
from mesonportal.propagation.geometry import ray_sphere_intersection  # noqa: E402

CENTER = (0.0, 0.0, 5.4e4)  # cm
RADIUS = 610.0  # cm
M_PARENT = 134.9768  # MeV


def _inputs(n: int, m: float, seed: int = 1):
    rng = np.random.default_rng(seed)
    p = np.exp(rng.uniform(np.log(10.0), np.log(2.0e4), n))
    d = rng.normal(size=(n, 3))
    d[:, 2] = np.abs(d[:, 2]) * 5.0
    d /= np.linalg.norm(d, axis=1)[:, None]
    par = np.column_stack([np.sqrt(p * p + M_PARENT**2), p[:, None] * d])
    e0 = (M_PARENT**2 + m * m) / (2 * M_PARENT)
    u = rng.normal(size=(n, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    rest = np.column_stack([np.full(n, e0), np.sqrt(e0 * e0 - m * m) * u])
    vtx = np.column_stack([rng.normal(0, 30, n), rng.normal(0, 30, n), rng.uniform(0, 5.0e3, n)])
    return par, vtx, rest


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.tobytes() == b.tobytes()


def _pair(ref, new, reps: int) -> dict:
    cpu = {"reference": [], "optimised": []}
    wall = {"reference": [], "optimised": []}
    for r in range(reps):
        order = (("reference", ref), ("optimised", new)) if r % 2 == 0 else (("optimised", new), ("reference", ref))
        for tag, fn in order:
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            cpu[tag].append(time.process_time() - c0)
            wall[tag].append(time.perf_counter() - w0)
    ratio = [b / a for a, b in zip(cpu["reference"], cpu["optimised"]) if a > 0]
    return {"cpu_s_reference": float(np.median(cpu["reference"])), "cpu_s_optimised": float(np.median(cpu["optimised"])),
            "wall_s_reference": float(np.median(wall["reference"])), "wall_s_optimised": float(np.median(wall["optimised"])),
            "cpu_ratio_median": float(np.median(ratio)), "cpu_ratio_min": float(np.min(ratio)),
            "cpu_ratio_max": float(np.max(ratio))}


def main(n: int = 300_000, reps: int = 7) -> dict:
    res = {}
    for m in (0.0, 17.0, 120.0):
        par, vtx, rest = _inputs(n, m)
        bref = ref_rest_band(par, vtx, rest, m, CENTER, RADIUS)
        bnew = rest_band(par, vtx, rest, m, CENTER, RADIUS)
        idx = np.sort(np.random.default_rng(2).integers(0, n, n))
        for i in (None, idx):
            fr = ref_draw_from_band(np.random.default_rng(3), bref, i, m)
            fn = draw_from_band(np.random.default_rng(3), bnew, i, m)
            if not all(_same(getattr(fr, k), getattr(fn, k)) for k in fr._fields):
                raise SystemExit("draw_from_band output differs from the reference")
        res[f"rest_band_m{m:g}"] = _pair(lambda: ref_rest_band(par, vtx, rest, m, CENTER, RADIUS),
                                         lambda: rest_band(par, vtx, rest, m, CENTER, RADIUS), reps)
        res[f"draw_from_band_m{m:g}"] = _pair(lambda: ref_draw_from_band(np.random.default_rng(3), bref, None, m),
                                              lambda: draw_from_band(np.random.default_rng(3), bnew, None, m), reps)
        res[f"draw_from_band_idx_m{m:g}"] = _pair(lambda: ref_draw_from_band(np.random.default_rng(3), bref, idx, m),
                                                  lambda: draw_from_band(np.random.default_rng(3), bnew, idx, m), reps)
    fe = draw_from_band(np.random.default_rng(3), rest_band(par, vtx, rest, 120.0, CENTER, RADIUS), None, 120.0)
    res["ray_sphere_intersection"] = _pair(lambda: ref_ray_sphere_intersection(vtx, fe.direction, CENTER, RADIUS),
                                           lambda: ray_sphere_intersection(vtx, fe.direction, CENTER, RADIUS), reps)
    res["isotropic_directions"] = _pair(lambda: ref_isotropic_directions(np.random.default_rng(4), n),
                                        lambda: isotropic_directions(np.random.default_rng(4), n), reps)
    res["rotate_to_axis"] = _pair(lambda: ref_rotate_to_axis(rest[:, 1:], fe.direction),
                                  lambda: rotate_to_axis(rest[:, 1:], fe.direction), reps)
    tot_ref = sum(v["cpu_s_reference"] for v in res.values())
    tot_new = sum(v["cpu_s_optimised"] for v in res.values())
    return {"benchmark": "forced", "n": n, "reps": reps, "load_average_1min": os.getloadavg()[0],
            "bit_identical": True, "total_cpu_s_reference": tot_ref, "total_cpu_s_optimised": tot_new,
            "total_cpu_ratio": tot_new / tot_ref, "results": res}


if __name__ == "__main__":
    args = sys.argv[1:]
    kw = {}
    if "--reps" in args:
        kw["reps"] = int(args[args.index("--reps") + 1])
    if "--n" in args:
        kw["n"] = int(args[args.index("--n") + 1])
    print(json.dumps(main(**kw), indent=1))

"""Benchmark: MC efficiency and speed of predictions, new vs previous implementation (JSON).

Every figure is measured for this tree ("new") and for the previous implementation
("old": ``git archive <rev> src`` of the baseline revision, default a8ce967, run with the same
interpreter via PYTHONPATH), alternately in fresh processes of the same run, so that the
ratio old/new is a paired comparison on a shared machine (absolute times are inflated by the
load: ``machine.loadavg``).  Caches (meson samples, tables) are warm unless stated.

* ``predict``: each benchmark, ν mode, a fresh process (imports excluded) — time, relative MC
  error of ``events_200_1250`` and the MC efficiency 1/(rel_err² × time) [1/s]; "new" twice:
  ``new_point`` (the importance-allocation pilot included: a model point never seen) and
  ``new_cached`` (pilot result cached, e.g. a second command on the same point);
* ``mass_point``: ν + ν̄ + dump predictions at a new scalar mass, in-process
  (:func:`mesonportal.analysis.scan.evaluate_mass_point`), time and relative MC errors;
* ``fresh_predict``: whole-process ``mesonportal predict --benchmark scalar --mode nu --json``
  (imports and cache loading included);
* ``scan`` (``--scan``): a 20-mass × 50-coupling scan with the default settings;
* ``reproduce`` (``--cold``): the main job with empty caches, wall time and peak RSS.

Usage: ``python benchmarks/bench_mc.py [--repeats N] [--baseline REV] [--scan] [--cold]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCHMARKS = ("scalar", "pseudoscalar", "idm-single", "idm-double")
ROOT = Path(__file__).resolve().parents[1]

_PREDICT = r"""
import json, shutil, sys, time, warnings
warnings.simplefilter("ignore")
from mesonportal.analysis.predict import predict_signal
from mesonportal.models.registry import load_benchmark
bench, mode, fresh_point = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
if fresh_point:
    from mesonportal.cache import cache_dir
    shutil.rmtree(cache_dir() / "allocations", ignore_errors=True)
m = load_benchmark(bench)
t0 = time.perf_counter()
s = predict_signal("miniboone", mode, m)
dt = time.perf_counter() - t0
tot = s.totals()
err = tot.get("mc_stat_error_200_1250")
if err is None:  # previous implementation: clustered error of the window computed here
    import numpy as np
    from mesonportal.analysis.prediction import clustered_sum_w2
    w = s.weights() * s.pot
    win = (s.columns["e_qe"] >= 200.0) & (s.columns["e_qe"] < 1250.0)
    err = float(np.sqrt(clustered_sum_w2(w[win], s.columns["meson_index"][win])))
print(json.dumps({"time_s": dt, "events_200_1250": tot["events_200_1250"], "err_200_1250": err,
                  "allocation": s.info.get("allocation", {"method": "even"})}))
"""

_MASS_POINT = r"""
import json, shutil, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np
from mesonportal.cache import cache_dir
shutil.rmtree(cache_dir() / "allocations", ignore_errors=True)  # a point never seen: pilot included
from mesonportal.analysis.scan import ScanSpec, evaluate_mass_point, parse_axis
from mesonportal.analysis.predict import predict_signal
FIXED = {"m_zprime": 49.0, "g_mu": 1e-4, "g_e": 0.0, "g_n": 1e-4, "lam": 1e-5, "charge": "up"}
masses = sys.argv[1]
axes = (parse_axis("m_x=" + masses), parse_axis("coupling_product=LOG:1e-11:1e-8:50"))
try:  # 0.5.0+: a point never seen runs its own pilot (no anchor of a scan to reuse)
    spec = ScanSpec("miniboone", "scalar", axes, FIXED, allocation_reuse="none")
except TypeError:  # previous implementations: always their own pilot
    spec = ScanSpec("miniboone", "scalar", axes, FIXED)
p0, p1 = spec.mass_points()
evaluate_mass_point(spec, p0, predictor=predict_signal)  # warms imports and tables
evaluate_mass_point(spec, p1, predictor=predict_signal)  # meson blocks of p1 on disk (not timed)
# a point never seen: allocations (pilot) forgotten on disk and in memory; the meson blocks
# stay cached (mass-independent, shared by every point of a scan)
import mesonportal.analysis.predict as _pr
shutil.rmtree(cache_dir() / "allocations", ignore_errors=True)
getattr(_pr, "_ALLOCATIONS", {}).clear()
try:
    import mesonportal.analysis.allocation as _al
    _al._SPECIES_MEMO.clear()
    getattr(_al, "_BLOCK_STRATA_MEMO", {}).clear()
except (ImportError, AttributeError):
    pass
t = time.perf_counter()
cols = evaluate_mass_point(spec, p1, predictor=predict_signal)
dt = time.perf_counter() - t
k = int(np.argmin(np.abs(np.asarray(spec.coupling_axis.values) - 3e-9)))
rel = {m: float(cols[f"events_{m}_mc_error"][k] / cols[f"events_{m}"][k]) for m in ("nu", "nubar", "dump")}
print(json.dumps({"time_s": dt, "rel_mc_error": rel}))
"""

_FRESH_PREDICT = r"""
import subprocess, sys, time, json
t = time.perf_counter()
r = subprocess.run([sys.executable, "-c", "import sys; from mesonportal.cli.main import main; "
                    "sys.exit(main(['predict', '--benchmark', 'scalar', '--mode', 'nu', '--json']))"],
                   capture_output=True, text=True)
dt = time.perf_counter() - t
tot = json.loads(r.stdout) if r.returncode == 0 else {}
print(json.dumps({"time_s": dt, "rc": r.returncode,
                  "rel_mc_error_200_1250": (tot.get("mc_stat_error_200_1250", 0.0) / tot["events_200_1250"])
                  if tot.get("events_200_1250") else None}))
"""

_SCAN = r"""
import json, shutil, sys, time, tempfile, warnings
warnings.simplefilter("ignore")
from mesonportal.cache import cache_dir
shutil.rmtree(cache_dir() / "allocations", ignore_errors=True)  # new model points: pilots included
from pathlib import Path
from mesonportal.analysis.scan import ScanSpec, parse_axis, run_scan
FIXED = {"m_zprime": 49.0, "g_mu": 1e-4, "g_e": 0.0, "g_n": 1e-4, "lam": 1e-5, "charge": "up"}
spec = ScanSpec("miniboone", "scalar", (parse_axis("m_x=LOG:1:30:20"), parse_axis("coupling_product=LOG:1e-11:1e-8:50")), FIXED)
with tempfile.TemporaryDirectory() as tmp:
    t = time.perf_counter()
    s = run_scan(spec, Path(tmp) / "scan.parquet")
    print(json.dumps({"time_s": time.perf_counter() - t, "backend": s.backend, "points": s.total_points}))
"""


def _child(code: str, args: list[str], src: Path | None, env_extra: dict | None = None, timeout: float = 3600) -> dict:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    env.update(env_extra or {})
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=timeout)
    if r.returncode != 0:
        return {"error": r.stderr.strip().splitlines()[-1:] or ["failed"]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def _median(xs: list[dict], key: str):
    v = [x[key] for x in xs if key in x]
    return statistics.median(v) if v else None


def bench_predict(old_src: Path, repeats: int) -> dict:
    out = {}
    for b in BENCHMARKS:
        _child(_PREDICT, [b, "nu", "1"], None)  # warm: meson blocks, tables
        _child(_PREDICT, [b, "nu", "0"], old_src)
        runs: dict[str, list] = {"old": [], "new_point": [], "new_cached": []}
        for _ in range(repeats):
            runs["old"].append(_child(_PREDICT, [b, "nu", "0"], old_src))
            runs["new_point"].append(_child(_PREDICT, [b, "nu", "1"], None))
            runs["new_cached"].append(_child(_PREDICT, [b, "nu", "0"], None))
        res = {}
        for k, rs in runs.items():
            t = _median(rs, "time_s")
            rel = rs[-1]["err_200_1250"] / rs[-1]["events_200_1250"] if rs and "time_s" in rs[-1] else None
            res[k] = {"time_s": t, "rel_mc_error_200_1250": rel,
                      "mc_efficiency_per_s": (1.0 / (rel * rel * t)) if t and rel else None,
                      "allocation": rs[-1].get("allocation") if rs else None}
        for k in ("new_point", "new_cached"):
            if res["old"]["time_s"] and res[k]["time_s"]:
                res[k]["time_ratio_old_over_new"] = res["old"]["time_s"] / res[k]["time_s"]
                res[k]["efficiency_ratio_new_over_old"] = res[k]["mc_efficiency_per_s"] / res["old"]["mc_efficiency_per_s"]
        out[b] = res
    return out


def bench_mass_point(old_src: Path, repeats: int) -> dict:
    runs: dict[str, list] = {"old": [], "new": []}
    for i in range(repeats):
        masses = f"{1.0 + 0.1 * i},{7.0 + 0.1 * i}"
        runs["old"].append(_child(_MASS_POINT, [masses], old_src))
        runs["new"].append(_child(_MASS_POINT, [masses], None))
    res = {k: {"time_s": _median(v, "time_s"), "rel_mc_error": v[-1].get("rel_mc_error")} for k, v in runs.items()}
    if res["old"]["time_s"] and res["new"]["time_s"]:
        res["time_ratio_old_over_new"] = res["old"]["time_s"] / res["new"]["time_s"]
    res["target_s"] = 0.6
    return res


def bench_fresh_predict(old_src: Path, repeats: int) -> dict:
    """Whole-process ``mesonportal predict --benchmark scalar --mode nu --json`` (imports, cache
    loading and the prediction; allocation cached, meson cache warm), old and new alternately.
    Both trees are byte-compiled first (as ``pip install`` and ``make`` do): with
    PYTHONDONTWRITEBYTECODE set, an uncompiled tree would be compiled again in every process."""
    for tree in (ROOT / "src", old_src):
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree)], capture_output=True, check=False)
    _child(_FRESH_PREDICT, [], None)
    _child(_FRESH_PREDICT, [], old_src)
    runs: dict[str, list] = {"old": [], "new": []}
    for _ in range(repeats):
        runs["old"].append(_child(_FRESH_PREDICT, [], old_src))
        runs["new"].append(_child(_FRESH_PREDICT, [], None))
    res = {k: {"time_s": _median(v, "time_s"), "rel_mc_error_200_1250": v[-1].get("rel_mc_error_200_1250")}
           for k, v in runs.items()}
    if res["old"]["time_s"] and res["new"]["time_s"]:
        res["time_ratio_old_over_new"] = res["old"]["time_s"] / res["new"]["time_s"]
    res["target_s"] = 1.0
    return res


def bench_scan(old_src: Path) -> dict:
    # untimed warm-up per tree: meson blocks that some mass point needs are simulated once here,
    # so the timed scans read them from the cache (the allocations are removed in every run)
    _child(_SCAN, [], old_src)
    _child(_SCAN, [], None)
    res = {"old": _child(_SCAN, [], old_src), "new": _child(_SCAN, [], None), "target_s": 20.0}
    if "time_s" in res["old"] and "time_s" in res["new"]:
        res["time_ratio_old_over_new"] = res["old"]["time_s"] / res["new"]["time_s"]
    return res


def _reproduce(src: Path | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        env = dict(os.environ, MESONPORTAL_CACHE_DIR=str(Path(tmp) / "cache"))
        if src is not None:
            env["PYTHONPATH"] = str(src)
        code = ("import sys, resource, time; from mesonportal.cli.main import main; t = time.perf_counter(); "
                f"rc = main(['reproduce', '--out', {str(Path(tmp) / 'results')!r}, '--no-plots']); "
                "print(rc, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=7200)
        if r.returncode != 0:
            return {"error": r.stderr.strip().splitlines()[-1:]}
        rc, dt, rss = r.stdout.strip().splitlines()[-1].split()
        return {"rc": int(rc), "time_s": float(dt), "peak_rss_mb": int(rss) / 1024}


def bench_cold(old_src: Path) -> dict:
    res = {"old": _reproduce(old_src), "new": _reproduce(None), "target_s": 90.0, "target_rss_mb": 1536}
    if "time_s" in res["old"] and "time_s" in res["new"]:
        res["time_ratio_old_over_new"] = res["old"]["time_s"] / res["new"]["time_s"]
    return res


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--baseline", default="a8ce967", help="git revision of the previous implementation")
    ap.add_argument("--scan", action="store_true", help="also the 20 x 50 scan (minutes)")
    ap.add_argument("--cold", action="store_true", help="also the cold main job, old and new (minutes)")
    ap.add_argument("--only", default=None, help="comma list of: predict, mass_point, fresh_predict, scan, cold")
    a = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-mc-old-"))
    try:
        arch = subprocess.run(["git", "-C", str(ROOT), "archive", a.baseline, "src"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=arch.stdout, check=True)
        old_src = tmp / "src"
        only = set(a.only.split(",")) if a.only else {"predict", "mass_point", "fresh_predict"} | ({"scan"} if a.scan else set()) \
            | ({"cold"} if a.cold else set())
        out: dict = {"benchmark": "mc", "baseline": a.baseline, "repeats": a.repeats,
                     "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                                 "loadavg_start": list(os.getloadavg())}}
        t0 = time.perf_counter()
        if "predict" in only:
            out["predict"] = bench_predict(old_src, a.repeats)
        if "mass_point" in only:
            out["mass_point"] = bench_mass_point(old_src, a.repeats)
        if "fresh_predict" in only:
            out["fresh_predict"] = bench_fresh_predict(old_src, a.repeats)
        if "scan" in only:
            out["scan"] = bench_scan(old_src)
        if "cold" in only:
            out["cold_reproduce"] = bench_cold(old_src)
        out["machine"]["loadavg_end"] = list(os.getloadavg())
        out["wall_s"] = time.perf_counter() - t0
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
    _ = resource

"""Benchmark: full ν-mode (and ν̄ / dump) signal predictions per benchmark model. Prints JSON.

For each benchmark: a warm-up prediction fills the on-disk meson cache; then the time of a
full prediction is measured in a **fresh Python process** (imports excluded, meson source read
from the cache, everything else — model tables, rest-frame spectra, forced emission, detection,
reconstruction — from scratch), as in ``mesonportal predict``.  Also reports the events at the
reference couplings, the MC statistical error and its ratio to the total.
Usage: python benchmarks/bench_predict.py [--modes nu,nubar,dump]
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

BENCHMARKS = ("scalar", "pseudoscalar", "idm-single", "idm-double")

_CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
from mesonportal.analysis.predict import predict_signal
from mesonportal.models.registry import load_benchmark
m = load_benchmark(sys.argv[1])
t0 = time.perf_counter()
s = predict_signal("miniboone", sys.argv[2], m)
dt = time.perf_counter() - t0
tot = s.totals()
print(json.dumps({"time_s": dt, "stage_times_s": s.info["timing_s"], "n_events_mc": len(s), **tot,
                  "coupling_product": s.coupling_product_ref, "coupling_units": s.coupling_units,
                  "events_by_process": s.info.get("events_by_process"),
                  "rel_mc_error": tot["mc_stat_error"] / tot["events_total"] if tot["events_total"] > 0 else None}))
"""


def run(bench: str, mode: str) -> dict:
    from mesonportal.analysis.predict import predict_signal
    from mesonportal.models.registry import load_benchmark

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predict_signal("miniboone", mode, load_benchmark(bench))  # warm the meson cache
    out = subprocess.run([sys.executable, "-c", _CHILD, bench, mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(modes=("nu",)) -> dict:
    res = {b: {m: run(b, m) for m in modes} for b in BENCHMARKS}
    return {"benchmark": "predict", "experiment": "miniboone", "results": res}


if __name__ == "__main__":
    modes = ("nu",)
    if len(sys.argv) > 2 and sys.argv[1] == "--modes":
        modes = tuple(sys.argv[2].split(","))
    print(json.dumps(main(modes), indent=1))

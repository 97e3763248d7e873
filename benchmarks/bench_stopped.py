"""Benchmark: a stopped-pion prediction per mass point (target ≤ 2 s).  Prints JSON.

For CCM200 and the scalar model at several masses: a warm-up prediction fills the on-disk meson
cache and the three-body tables; then each mass point is timed in a **fresh Python process**
(imports excluded; meson source from the cache; model, forced emission, detection and the
scintillator response from scratch), as one point of ``mesonportal sensitivity``.
Usage: python benchmarks/bench_stopped.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

MASSES = (1.0, 5.0, 17.0)
TARGET_S = 2.0

_CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
from mesonportal.analysis.predict import predict_signal
from mesonportal.models.registry import make_model
m = make_model("scalar", m_x=float(sys.argv[1]), m_zprime=49.0)
t0 = time.perf_counter()
s = predict_signal("ccm", "beam", m)
dt = time.perf_counter() - t0
tot = s.totals()
print(json.dumps({"time_s": dt, "stage_times_s": s.info["timing_s"], **tot,
                  "rel_mc_error": tot["mc_stat_error"] / tot["events_total"] if tot["events_total"] > 0 else None}))
"""


def run(m_x: float) -> dict:
    from mesonportal.analysis.predict import predict_signal
    from mesonportal.models.registry import make_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predict_signal("ccm", "beam", make_model("scalar", m_x=m_x, m_zprime=49.0))  # warm caches
    out = subprocess.run([sys.executable, "-c", _CHILD, str(m_x)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> dict:
    res = {f"m_x={m:g}": run(m) for m in MASSES}
    worst = max(r["time_s"] for r in res.values())
    return {"benchmark": "stopped", "experiment": "ccm", "model": "scalar", "target_s_per_mass_point": TARGET_S,
            "max_time_s": worst, "meets_target": worst <= TARGET_S, "results": res,
            "note": "whole-process timings on a shared 2-core machine are noisy"}


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))

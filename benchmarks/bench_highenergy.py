"""Speed: a new mass point at a high-energy experiment (issue #16 target <= 3 s).

The Pythia 8 meson table and the meson sample of the beam are generated once and cached (first
call, timed separately); then a scalar model at a new mass point is predicted in MINERvA with the
cached mesons.  Prints one JSON object.  Timings are whole-call wall times on a shared machine
(noisy).  Usage: ``python benchmarks/bench_highenergy.py``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings


def main() -> None:
    os.environ.setdefault("MESONPORTAL_CACHE_DIR", tempfile.mkdtemp(prefix="mp-bench-he-"))
    from mesonportal.analysis.predict import predict_signal
    from mesonportal.models.registry import load_benchmark, make_model

    warnings.simplefilter("ignore", UserWarning)
    bench = load_benchmark("scalar")
    t0 = time.perf_counter()
    predict_signal("minerva", "nu", bench, seed=1)  # Pythia table + meson sample (cached)
    t1 = time.perf_counter()
    times = []
    for m_x in (2.0, 5.0):
        model = make_model("scalar", m_x=m_x, m_zprime=49.0)
        a = time.perf_counter()
        s = predict_signal("minerva", "nu", model, seed=1)
        times.append(time.perf_counter() - a)
    print(json.dumps({"benchmark": "highenergy_new_mass_point", "experiment": "minerva",
                      "first_call_s": t1 - t0,
                      "new_mass_point_s": times, "target_s": 3.0, "pass": max(times) <= 3.0,
                      "events_last": s.totals()["events_total"]}))


if __name__ == "__main__":
    main()

"""Speed of predicting several BNB detectors at one mass point: MiniBooNE alone vs MiniBooNE +
MicroBooNE + SBND + ICARUS, each measured from a fresh (empty) meson cache, so the shared meson
sample is simulated once for all four detectors (cache keyed by the beam line).
Target (issue #11): ratio ≤ 2.  Prints one JSON object.  Timings are noisy on a loaded machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

CODE = r'''
import sys, time, warnings
warnings.simplefilter("ignore")
from mesonportal import api
from mesonportal.models.registry import load_benchmark
m = load_benchmark(sys.argv[1])
t = time.perf_counter()
for e in sys.argv[2].split(","):
    api.predict(e, "nu", m, seed=11)
print(time.perf_counter() - t)
'''


def run(bench: str, exps: str) -> float:
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, MESONPORTAL_CACHE_DIR=d)
        env.pop("MESONPORTAL_NO_CACHE", None)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", CODE, bench, exps], env=env, check=True, capture_output=True)
        return time.perf_counter() - t


def main() -> None:
    out = {"benchmark": "experiments", "target": "MiniBooNE + 3 LAr detectors <= 2x MiniBooNE only", "results": {}}
    for bench in ("scalar", "idm-double"):
        one = run(bench, "miniboone")
        four = run(bench, "miniboone,microboone,sbnd,icarus")
        out["results"][bench] = {"miniboone_s": round(one, 2), "four_detectors_s": round(four, 2),
                                 "ratio": round(four / one, 2), "meets_target": four / one <= 2.0}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

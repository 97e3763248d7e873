"""Benchmark of the three-body machinery: tabulation time per mass point and sampling rate.

Usage: ``python benchmarks/bench_three_body.py [--out FILE]``; prints JSON:
{"tabulation_s": {...per (channel, m_X)...}, "tabulation_s_max", "sample_dark_per_s",
 "sample_full_per_s", "envelope_violations", "acceptance"}.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from mesonportal import constants as C
from mesonportal.models.scalar import lepton_emission_msq
from mesonportal.production.three_body import ThreeBodyTable

CHANNELS = {
    "pi->mu nu S": (C.M_PI, C.M_MU, C.F_PI, C.V_UD, 1),
    "pi->e nu S": (C.M_PI, C.M_E, C.F_PI, C.V_UD, 1),
    "K->mu nu P": (C.M_K, C.M_MU, C.F_K, C.V_US, -1),
}
MASSES = [0.01, 1.0, 10.0, 30.0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None)
    ap.add_argument("--n", type=int, default=1_000_000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    tab: dict[str, float] = {}
    for name, (mm, ml, f, v, par) in CHANNELS.items():
        for mx in MASSES:
            msq = lepton_emission_msq(mm, ml, mx, 1.0, f, v, par)
            t0 = time.perf_counter()
            ThreeBodyTable(mm, ml, 0.0, mx, msq)
            tab[f"{name}, m_X={mx}"] = time.perf_counter() - t0
    mm, ml, f, v, par = CHANNELS["pi->e nu S"]
    table = ThreeBodyTable(mm, ml, 0.0, 1.0, lepton_emission_msq(mm, ml, 1.0, 1.0, f, v, par))
    table.sample_dark(rng, 1000)  # warm-up
    t0 = time.perf_counter()
    table.sample_dark(rng, args.n)
    dark_rate = args.n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    table.sample(rng, args.n)
    full_rate = args.n / (time.perf_counter() - t0)
    out = {
        "tabulation_s": tab,
        "tabulation_s_max": max(tab.values()),
        "sample_dark_per_s": dark_rate,
        "sample_full_per_s": full_rate,
        "sample_channel": "pi->e nu S, m_X = 1 MeV (steepest |M|^2)",
        "envelope_violations": table.envelope_violations,
        "acceptance": (2 * args.n + 1000) / table.n_proposed,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    text = json.dumps(out, indent=2)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

"""Benchmark: charged mesons tracked through the BNB horn per second (one core). Prints JSON."""

from __future__ import annotations

import json
import time

import numpy as np

from mesonportal.experiments.config import load_experiment
from mesonportal.kinematics import rotate_to_axis
from mesonportal.sources import beam
from mesonportal.sources.horn import HornGeometry, track_horn


def main(n: int = 200_000, seed: int = 1) -> dict:
    exp = load_experiment("miniboone")
    rng = np.random.default_rng(seed)
    p, th, _ = beam.sample_production(rng, 211, n, 8.89)
    phi = rng.uniform(0, 2 * np.pi, n)
    d = np.column_stack([np.sin(th) * np.cos(phi), np.sin(th) * np.sin(phi), np.cos(th)])
    d = rotate_to_axis(d, np.tile([0.0, 0.0, 1.0], (n, 1)))
    z = beam.sample_interaction_depth(rng, n, exp.target.length_cm, exp.target.interaction_length_cm)
    pos = np.column_stack([np.zeros(n), np.zeros(n), z])
    geom = HornGeometry(exp.horn)
    t0 = time.perf_counter()
    _, _, status = track_horn(pos, d * p[:, None], np.ones(n), geom, 174.0)
    dt = time.perf_counter() - t0
    t1 = time.perf_counter()
    from mesonportal.sources.transport import simulate_mesons

    simulate_mesons(exp, "nu", n, np.random.default_rng(seed), species=[211])
    dt_full = time.perf_counter() - t1
    res = {
        "n_tracks": n,
        "horn_seconds": dt,
        "horn_tracks_per_second": n / dt,
        "full_transport_pi_plus_per_second": n / dt_full,
        "fraction_exiting_downstream": float(np.mean(status == 2)),
    }
    print(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()

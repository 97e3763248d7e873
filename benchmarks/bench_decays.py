"""Benchmark: SM meson decays with forced detector acceptance per second (prints JSON).

Synthetic BNB-like meson sample (π± , K±, K0_L at decay points along a 50 m decay pipe, momenta
0.3–5 GeV/c within ~30 mrad), MiniBooNE sphere (R = 610.6 cm at 541 m), absorber at 50 m.
Timed: the full chain of :func:`mesonportal.analysis.flux.neutrino_flux` — forced ν from every
meson channel, muon generation/propagation, forced ν from μ decays in flight and at rest, and
the track-length histogramming.  Reported rates: meson decays/s and forced ν emissions/s.

History (this machine, one core, best of 3): 0.49 M decays/s with per-channel forced emission
and per-flavour histogramming; ~2.2 M/s with the batched engine (one cone + frame per decay
point shared by all channels, closed-form chords, one bincount per block).
"""

from __future__ import annotations

import json
import time

import numpy as np

from mesonportal.analysis.flux import neutrino_flux
from mesonportal.constants import mass
from mesonportal.production.sm_decays import DEFAULT_CHUNK_SIZE, neutrinos_towards_sphere
from mesonportal.sample import ParticleSample


def synthetic_mesons(rng: np.random.Generator, n: int) -> ParticleSample:
    pdg = rng.choice([211, -211, 321, -321, 130], n, p=[0.80, 0.08, 0.07, 0.01, 0.04])
    m = np.array([mass(321), mass(211), mass(130), mass(211), mass(321)])[np.searchsorted([-321, -211, 130, 211, 321], pdg)]
    p = rng.uniform(300.0, 5000.0, n)
    th = np.abs(rng.normal(0.0, 0.03, n))
    ph = rng.uniform(0, 2 * np.pi, n)
    p3 = np.column_stack([p * np.sin(th) * np.cos(ph), p * np.sin(th) * np.sin(ph), p * np.cos(th)])
    e = np.sqrt(p * p + m * m)
    vtx = np.column_stack([rng.normal(0, 10, n), rng.normal(0, 10, n), rng.uniform(50.0, 5000.0, n)])
    return ParticleSample(np.column_stack([e, p3]), vtx, pdg, 1.0 / n)


def main() -> None:
    rng = np.random.default_rng(2024)
    n = 1_000_000
    mesons = synthetic_mesons(rng, n)
    center, radius, absorber = np.array([0.0, 0.0, 54100.0]), 610.6, 5000.0
    neutrino_flux(mesons.select(slice(0, 20000)), center, radius, absorber, rng)  # warm-up (tables)
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        neutrino_flux(mesons, center, radius, absorber, rng)
        best = min(best, time.perf_counter() - t0)
    n_nu = len(neutrinos_towards_sphere(mesons.select(slice(0, 100_000)), center, radius, absorber, rng)) * 10
    print(json.dumps({
        "benchmark": "sm_decays_with_detector_acceptance",
        "n_mesons": n,
        "seconds": round(best, 4),
        "meson_decays_per_second": round(n / best),
        "forced_neutrino_emissions_per_second": round(n_nu / best),
        "target_per_second": 1_000_000,
        "includes": "all SM channels + muon decays in flight/at rest + flux histogramming",
        "neutrinos_per_meson": round(n_nu / n, 3),
        "chunk_size": DEFAULT_CHUNK_SIZE,
        "numpy": np.__version__,
    }))


if __name__ == "__main__":
    main()

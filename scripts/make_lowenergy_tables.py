"""Generate the bundled low-energy hadron-production table ``data/lowenergy/urqmd_be.npz``.

NOT imported by the package. Needs ``chromo`` 0.11.0 (PyPI; UrQMD 3.4 runs offline) in a separate venv:

    python -m venv /tmp/chromo_venv && /tmp/chromo_venv/bin/pip install chromo==0.11.0 numpy
    /tmp/chromo_venv/bin/python scripts/make_lowenergy_tables.py [--events 8000] [--jobs 2]

What it does: for each parent (p, n, π+, π−) and each parent momentum of ``P_IN_GEV`` it generates
``--events`` UrQMD 3.4 hadron–⁹Be events (fixed target, lab frame, seed ``SEED + parent index``; one generator
per parent, the momenta in increasing order) and histograms the final-state π+, π−, K+, K− in the lab
(p [GeV/c], θ [rad]) bins ``P_EDGES_GEV`` × ``THETA_EDGES``.

Event definition (checked with chromo 0.11.0): chromo's UrQMD34 disables elastic hadron–nucleon collisions
(CTOption(7) = 1, as in air showers); we switch them back on (CTOption(7) = 0) so that the intranuclear
cascade is complete. UrQMD samples the impact parameter up to the interaction range and repeats events in
which no collision happens, so every stored event is a hadron–nucleus collision with at least one
hadron–nucleon collision (quasi-elastic ones included; no coherent elastic events). chromo's
``cross_section()`` is the geometric π b_max² (1085 mb for p-Be), not the event cross section, so the table
is normalised **per generated event** and the package identifies the event rate with the inelastic
cross section (σ_inel, quasi-elastic included) — see docs/sources.md. π0, η, K0 are left undecayed (π± from
their decays are not counted; negligible: K0_S → π+π− is < 1 % of the π±); chromo's minimum √s check (2 GeV)
is lowered to 0.5 GeV for the low momenta (UrQMD itself is built for these energies).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from pathlib import Path

import numpy as np

SEED = 20260930
PARENTS = {"proton": "p", "neutron": "n", "pi+": "pi+", "pi-": "pi-"}
PARENT_PDG = {"proton": 2212, "neutron": 2112, "pi+": 211, "pi-": -211}
SPECIES = (211, -211, 321, -321)
P_IN_GEV = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.5, 6.5, 8.89)
P_EDGES_GEV = np.concatenate([np.arange(0.0, 1.0, 0.05), np.arange(1.0, 2.0, 0.1), np.arange(2.0, 4.0, 0.25),
                              np.arange(4.0, 9.01, 0.5)])
THETA_EDGES = np.array([0.0, 0.03, 0.06, 0.1, 0.15, 0.21, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 2.0,
                        2.4, np.pi])
TARGET = (9, 4)  # (A, Z) of beryllium-9


def _run_parent(args):
    name, n_events = args
    import warnings

    import chromo
    from chromo.constants import GeV
    from chromo.kinematics import FixedTarget, Momentum

    warnings.simplefilter("ignore")
    k = list(PARENTS).index(name)
    gen = chromo.models.UrQMD34(FixedTarget(Momentum(P_IN_GEV[-1] * GeV), PARENTS[name], TARGET), seed=SEED + k)
    gen._ecm_min = 0.5 * GeV
    gen._lib.options.ctoption[7 - 1] = 0  # elastic hadron-nucleon collisions on
    counts = np.zeros((len(P_IN_GEV), len(SPECIES), len(P_EDGES_GEV) - 1, len(THETA_EDGES) - 1))
    n_mes_events = np.zeros(len(P_IN_GEV))
    for i, p_in in enumerate(P_IN_GEV):
        gen.kinematics = FixedTarget(Momentum(p_in * GeV), PARENTS[name], TARGET)
        t0 = time.time()
        for ev in gen(n_events):
            fs = ev.final_state()
            pid = np.asarray(fs.pid)
            px, py, pz = np.asarray(fs.px), np.asarray(fs.py), np.asarray(fs.pz)
            pt = np.hypot(px, py)
            p = np.hypot(pt, pz)
            th = np.arctan2(pt, pz)
            n_mes_events[i] += np.isin(np.abs(pid), (111, 211, 221, 321, 311, 310, 130)).any()
            for j, s in enumerate(SPECIES):
                sel = pid == s
                if sel.any():
                    h, _, _ = np.histogram2d(p[sel], th[sel], bins=(P_EDGES_GEV, THETA_EDGES))
                    counts[i, j] += h
        print(f"{name} {p_in} GeV/c: {n_events} events in {time.time() - t0:.0f} s, "
              f"pi+ {counts[i, 0].sum() / n_events:.3f} pi- {counts[i, 1].sum() / n_events:.3f} "
              f"K+ {counts[i, 2].sum() / n_events:.4f} /event", flush=True)
    return name, counts, n_mes_events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=8000, help="events per (parent, momentum)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).resolve().parents[1] / "src/mesonportal/data/lowenergy/urqmd_be.npz")
    a = ap.parse_args()
    import chromo

    with mp.get_context("spawn").Pool(a.jobs, maxtasksperchild=1) as pool:
        res = dict((r[0], r[1:]) for r in pool.map(_run_parent, [(n, a.events) for n in PARENTS], chunksize=1))
    counts = np.stack([res[n][0] for n in PARENTS])  # (parent, p_in, species, p, θ)
    mes = np.stack([res[n][1] for n in PARENTS])
    header = {
        "title": "Low-energy meson production on beryllium-9: d2N/dp dOmega per hadron-nucleus event",
        "generator": "UrQMD 3.4 via chromo " + chromo.__version__ + " (PyPI), scripts/make_lowenergy_tables.py",
        "settings": "elastic hadron-nucleon collisions on (CTOption(7)=0); other UrQMD options chromo defaults "
                    "(caltim=outtim=200 fm/c, EoS 1 below 4.9 GeV/c else cascade); chromo ecm_min lowered to 0.5 GeV; "
                    "pi0, eta, K0 undecayed",
        "target": "Be-9 (A=9, Z=4)",
        "seeds": {n: SEED + k for k, n in enumerate(PARENTS)},
        "events_per_point": a.events,
        "normalisation": "counts / events = mesons per hadron-nucleus event with >= 1 hadron-nucleon collision "
                         "(quasi-elastic included); the package identifies this event rate with sigma_inel",
        "units": "momenta GeV/c, angles rad (lab, parent along +z); table = counts per event per bin",
        "axes": "counts[parent, p_in, species, p_bin, theta_bin]",
        "parents": list(PARENTS), "parent_pdg": [PARENT_PDG[n] for n in PARENTS], "species": list(SPECIES),
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(a.out, header=np.array(json.dumps(header, indent=1)), p_in_gev=np.array(P_IN_GEV),
                        p_edges_gev=P_EDGES_GEV, theta_edges=THETA_EDGES, counts=counts.astype(np.int64),
                        n_events=np.full((len(PARENTS), len(P_IN_GEV)), a.events, dtype=np.int64),
                        n_meson_events=mes.astype(np.int64), parent_pdg=np.array([PARENT_PDG[n] for n in PARENTS]),
                        species=np.array(SPECIES))
    print("wrote", a.out)


if __name__ == "__main__":
    main()

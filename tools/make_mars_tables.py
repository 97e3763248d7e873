"""Generate src/mesonportal/data/bnb_official/mars_pbe.txt from the official BNB simulation.

Source: SBNSoftware/G4BNB (commit 7476727ed18d3afc9447a2acb93498efe0673d2a), physics/MARSData.hh —
MARS-15 double-differential p-Be production cross sections d²σ/dp_z dp_T [mb/(GeV/c)²] at 8 GeV
kinetic energy on a grid p_z = 0.1, 0.3, …, 9.9 GeV/c (bin width 0.2) × p_T = 0.005, …, 0.995 GeV/c
(bin width 0.01), and the MARS p-Be inelastic cross section (totalxSectpBeInel_MARS; 220.4 mb at
8 GeV kinetic energy). G4BNB uses these tables for the protons, neutrons and K− leaving a primary
p-Be interaction (input/production.in: protonModel, neutronModel, kaonMinusModel = MARS), rescaled
so that the multiplicity per interaction equals the MARS one (src/BooNEpBeInteraction.cc).

Usage (from the repository root, with a checkout of G4BNB):
    python tools/make_mars_tables.py /path/to/G4BNB/physics/MARSData.hh
Values are copied unchanged.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

NAMES = {"proton": "Proton", "neutron": "Neutron", "K-": "KMinus"}


def read_array(text: str, name: str) -> np.ndarray:
    tag = f"BooNEpBeInteraction::{name}XSecArray_MARS[kNPzBins][kNPtBins]={{"
    i = text.index(tag) + len(tag)
    body = re.sub(r"//[^\n]*", "", text[i:text.index("};", i)])
    vals = [float(v) for v in re.findall(r"[-+]?\d*\.\d+(?:[eE][-+]?\d+)?", body)]
    return np.array(vals).reshape(50, 100)


def main(src: str) -> None:
    text = Path(src).read_text()
    m = re.search(r"totalxSectpBeInel_MARS\[kNEBins\]=\{([^}]*)\}", text)
    sig = [float(v) for v in m.group(1).replace("\n", " ").split(",") if v.strip()]
    out = ["# MARS-15 p-Be production tables of the official BNB simulation: SBNSoftware/G4BNB commit",
           "# 7476727ed18d3afc9447a2acb93498efe0673d2a, physics/MARSData.hh (values unchanged; tools/make_mars_tables.py).",
           "# G4BNB emits the protons, neutrons and K- of a primary p-Be interaction from these tables",
           "# (input/production.in: protonModel/neutronModel/kaonMinusModel MARS), with multiplicity per",
           "# interaction = sum(table) * dpz * dpt / sigma_inel_MARS (src/BooNEpBeInteraction.cc).",
           "# Units: d2sigma/dpz dpt in mb/(GeV/c)^2 at proton kinetic energy 8 GeV (p = 8.89 GeV/c).",
           "# Grid: pz bin centres 0.1, 0.3, ..., 9.9 GeV/c (width 0.2); pt bin centres 0.005, ..., 0.995 GeV/c (width 0.01).",
           f"sigma_inel_mars_mb {sig[7]}   # totalxSectpBeInel_MARS at 8 GeV kinetic energy",
           "# rows: species pz_centre_GeV then 100 values for pt = 0.005 ... 0.995 GeV/c"]
    for key, name in NAMES.items():
        a = read_array(text, name)
        for i, row in enumerate(a):
            out.append(f"{key} {0.1 + 0.2 * i:.1f} " + " ".join(f"{v:.4e}" for v in row))
    Path("src/mesonportal/data/bnb_official/mars_pbe.txt").write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])

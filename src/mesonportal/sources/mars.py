"""MARS-15 p-Be production tables of the official BNB simulation (protons, neutrons, K−).

Bundled in ``data/bnb_official/mars_pbe.txt`` (SBNSoftware/G4BNB commit 7476727, physics/MARSData.hh,
values unchanged): d²σ/dp_z dp_T [mb/(GeV/c)²] for p + Be at 8 GeV kinetic energy (p = 8.89 GeV/c) on a
grid of 50 p_z bins (0–10 GeV/c, width 0.2) × 100 p_T bins (0–1 GeV/c, width 0.01). The official
simulation (input/production.in: ``protonModel``, ``neutronModel``, ``kaonMinusModel`` = MARS) emits the
nucleons and K− of each primary p-Be interaction from them with a multiplicity per interaction
Σ(table) Δp_z Δp_T / σ_inel^MARS (σ_inel^MARS = 220.4 mb; src/BooNEpBeInteraction.cc).

Units: momenta in GeV/c inside the tables; the public functions take and return MeV/c and mb.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

DPZ_GEV = 0.2
DPT_GEV = 0.01
N_PZ, N_PT = 50, 100


@dataclass(frozen=True)
class MarsTable:
    """One species' table: ``values[i, j]`` = d²σ/dp_z dp_T [mb/(GeV/c)²] in the cell
    p_z ∈ [0.2 i, 0.2 (i+1)), p_T ∈ [0.01 j, 0.01 (j+1)) GeV/c."""

    values: np.ndarray
    sigma_inel_mars_mb: float

    @property
    def multiplicity(self) -> float:
        """Mean number per p-Be interaction: Σ values Δp_z Δp_T / σ_inel^MARS."""
        return float(self.values.sum() * DPZ_GEV * DPT_GEV / self.sigma_inel_mars_mb)

    def d2sigma_dp_domega(self, p_mev, theta) -> np.ndarray:
        """d²σ/dpdΩ [mb/(GeV/c sr)] = table(p_z, p_T) p²/(2π p_T) (piecewise constant in the
        cells, as the table); 0 outside the grid or for θ > π/2."""
        p = np.asarray(p_mev, dtype=float) * 1e-3
        th = np.asarray(theta, dtype=float)
        p, th = np.broadcast_arrays(p, th)
        pz, pt = p * np.cos(th), p * np.sin(th)
        i = np.floor(pz / DPZ_GEV).astype(np.int64)
        j = np.floor(pt / DPT_GEV).astype(np.int64)
        ok = (i >= 0) & (i < N_PZ) & (j >= 0) & (j < N_PT) & (pt > 0) & (th <= 0.5 * np.pi)
        v = self.values[np.where(ok, i, 0), np.where(ok, j, 0)]
        return np.where(ok, v * p * p / (2.0 * np.pi * np.where(ok, pt, 1.0)), 0.0)

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(p [MeV/c], θ [rad]) of ``n`` particles drawn from the table (cell ∝ value, uniform
        within the cell); each carries the weight :attr:`multiplicity` per interaction."""
        flat = self.values.ravel()
        cdf = np.cumsum(flat)
        k = np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), flat.size - 1)
        i, j = np.divmod(k, N_PT)
        pz = (i + rng.random(n)) * DPZ_GEV
        pt = (j + rng.random(n)) * DPT_GEV
        return np.hypot(pz, pt) * 1e3, np.arctan2(pt, pz)


@lru_cache(maxsize=1)
def mars_tables() -> dict[str, MarsTable]:
    """The bundled tables by species name ("proton", "neutron", "K-")."""
    from mesonportal.data import read_text
    from mesonportal.exceptions import DataError

    name = "bnb_official/mars_pbe.txt"
    sigma = None
    rows: dict[str, list[list[float]]] = {}
    for n, line in enumerate(read_text(name).splitlines(), 1):
        tok = line.split("#", 1)[0].split()
        if not tok:
            continue
        if tok[0] == "sigma_inel_mars_mb":
            sigma = float(tok[1])
            continue
        if len(tok) != 2 + N_PT:
            raise DataError(f"data/{name}: row {n} must hold species, p_z and {N_PT} values")
        rows.setdefault(tok[0], []).append([float(v) for v in tok[2:]])
    if sigma is None or sigma <= 0:
        raise DataError(f"data/{name}: missing or non-positive sigma_inel_mars_mb")
    out = {}
    for sp in ("proton", "neutron", "K-"):
        a = np.array(rows.get(sp, []))
        if a.shape != (N_PZ, N_PT) or not np.all(np.isfinite(a)) or np.any(a < 0):
            raise DataError(f"data/{name}: species {sp!r} needs {N_PZ} rows of {N_PT} finite values >= 0")
        out[sp] = MarsTable(a, sigma)
    return out


__all__ = ["MarsTable", "mars_tables", "DPZ_GEV", "DPT_GEV"]

"""Response of a scintillation detector (CCM LAr, LSND / KARMEN / JSNS² liquid scintillator,
COHERENT CsI and LAr) to electromagnetic energy deposits.

A scintillator measures the total visible energy of an event and (here) no direction: a photon
or an e⁺e⁻ pair is one "em" deposit of energy E_true = the summed energy of the showers.
Reconstruction: E_vis = E_true (1 + σ_E/E · N(0, 1)) with σ_E/E = a/√(E/MeV) ⊕ b (``smear``);
selection: E_vis ≥ ``threshold_mev`` and ``window_lo_mev`` ≤ E_vis ≤ ``window_hi_mev``, times a flat
``efficiency``.  Quenching is not applied (electromagnetic deposits: quenching factor ≈ 1);
containment is assumed (deposit inside the active volume).  Each TOML states its numbers and
their sources or the assumption.  Units: MeV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mesonportal.exceptions import ParameterError

__all__ = ["ScintillatorResponse", "MAX_WINDOW_MEV"]

#: Largest visible energy a stopped-pion signal can have [MeV] (windows above are unphysical here:
#: a 3 GeV beam cannot give more; the bound is the J-PARC beam kinetic energy).
MAX_WINDOW_MEV = 3000.0


@dataclass(frozen=True)
class ScintillatorResponse:
    """Threshold / window [MeV], resolution σ_E/E = a/√(E/MeV) ⊕ b, flat efficiency."""

    threshold_mev: float
    window_lo_mev: float
    window_hi_mev: float
    resolution_stochastic: float = 0.0
    resolution_constant: float = 0.0
    efficiency: float = 1.0

    def __post_init__(self) -> None:
        if not (0.0 <= self.window_lo_mev < self.window_hi_mev <= MAX_WINDOW_MEV):
            raise ParameterError(f"detector.response window [{self.window_lo_mev}, {self.window_hi_mev}] MeV must "
                                 f"satisfy 0 <= window_lo_mev < window_hi_mev <= {MAX_WINDOW_MEV}")
        if not (0.0 <= self.threshold_mev < self.window_hi_mev):
            raise ParameterError(f"detector.response.threshold_mev = {self.threshold_mev} must be >= 0 and below "
                                 f"window_hi_mev = {self.window_hi_mev}")
        if not (0.0 <= self.efficiency <= 1.0):
            raise ParameterError(f"detector.response.efficiency = {self.efficiency} must be in [0, 1]")

    @classmethod
    def from_spec(cls, spec) -> "ScintillatorResponse":
        return cls(threshold_mev=spec.threshold_mev, window_lo_mev=spec.window_lo_mev,
                   window_hi_mev=spec.window_hi_mev, resolution_stochastic=spec.resolution_stochastic,
                   resolution_constant=spec.resolution_constant, efficiency=spec.efficiency)

    @property
    def min_energy_mev(self) -> float:
        """Lowest true energy that can pass (threshold and window), before smearing [MeV]."""
        return max(self.threshold_mev, self.window_lo_mev)

    def sigma_over_e(self, e_mev: np.ndarray) -> np.ndarray:
        e = np.clip(np.asarray(e_mev, float), 1e-12, None)
        return np.hypot(self.resolution_stochastic / np.sqrt(e), self.resolution_constant)

    def describe(self) -> dict:
        return {"technology": "scintillator", "threshold_mev": self.threshold_mev,
                "window_mev": [self.window_lo_mev, self.window_hi_mev],
                "resolution": f"sigma_E/E = {self.resolution_stochastic}/sqrt(E/MeV) (+) {self.resolution_constant}",
                "efficiency": self.efficiency}

    def reconstruct(self, rng: np.random.Generator, showers_p4: np.ndarray, weights: np.ndarray, *,
                    smear: bool = True, beam_axis=(0.0, 0.0, 1.0)) -> dict[str, np.ndarray]:
        """Columns ``e_true``, ``e_vis`` [MeV], ``cos_theta`` (true direction to the beam axis, not
        measured by a scintillator; for reference), ``e_qe`` (= ``e_vis``: no CCQE reconstruction),
        ``efficiency`` and ``weight`` (= input weight × efficiency × window acceptance)."""
        p4 = np.asarray(showers_p4, float).reshape(-1, 4)
        w = np.asarray(weights, float).reshape(-1)
        e_true = p4[:, 0].copy()
        e_vis = e_true.copy()
        if smear and len(e_true):
            e_vis = e_true * (1.0 + self.sigma_over_e(e_true) * rng.standard_normal(len(e_true)))
            e_vis = np.clip(e_vis, 0.0, None)
        pm = np.linalg.norm(p4[:, 1:], axis=1)
        ax = np.asarray(beam_axis, float)
        cos = np.where(pm > 0, p4[:, 1:] @ ax / np.where(pm > 0, pm, 1.0) / np.linalg.norm(ax), 1.0)
        ok = (e_vis >= self.threshold_mev) & (e_vis >= self.window_lo_mev) & (e_vis <= self.window_hi_mev)
        eff = np.where(ok, self.efficiency, 0.0)
        return {"e_true": e_true, "e_vis": e_vis, "cos_theta": cos, "e_qe": e_vis.copy(), "efficiency": eff,
                "weight": w * eff}

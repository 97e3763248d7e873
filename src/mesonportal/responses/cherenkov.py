"""MiniBooNE mineral-oil Cherenkov response as a pipeline stage (technology ``cherenkov-oil``).

Wraps :mod:`mesonportal.detection.response` (efficiency vs true shower energy, energy/angle
smearing, the single-shower criteria for e⁺e⁻ / γγ pairs, E_QE) behind the interface every
technology response offers to the technology-neutral signal chains
(:mod:`mesonportal.detection.signal`):

* ``min_energy_mev`` — dark particles below this energy cannot give a detected event (the
  MiniBooNE γ/e efficiency is exactly 0 below 50 MeV, the first node of the 2012 table);
* ``select_pairs(a, b)`` — which two-particle final states (decays, χ′ → χe⁺e⁻) are seen as
  one shower, and that shower's four-momentum;
* ``reconstruct(rng, columns, shower_p4, weight, mode, smear)`` — the reconstructed columns
  ``e_true, e_vis, cos_theta, e_qe, efficiency, weight``.

Units: MeV, cm; weights in events per POT.  References: physics.md §4 of the project,
MiniBooNE 2012 data release, arXiv:2210.08021 (Table II).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from mesonportal.detection.response import SHOWER_CRITERIA, reconstruct, single_shower
from mesonportal.exceptions import ParameterError

__all__ = ["CherenkovResponse", "MINIBOONE_MIN_ENERGY_MEV"]

#: The MiniBooNE γ/e efficiency is exactly 0 below this true shower energy (first node of the
#: 2012 data-release table).
MINIBOONE_MIN_ENERGY_MEV = 50.0


class CherenkovResponse:
    """MiniBooNE-like Cherenkov reconstruction (``criterion``: single-shower criterion for
    pairs, ``"circle"`` or ``"angle"``)."""

    name = "miniboone-cherenkov"
    technology = "cherenkov-oil"
    min_energy_mev = MINIBOONE_MIN_ENERGY_MEV

    def __init__(self, criterion: str = "circle"):
        if criterion not in SHOWER_CRITERIA:
            raise ParameterError(f"criterion = {criterion!r}; allowed: {', '.join(SHOWER_CRITERIA)}")
        self.criterion = criterion

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "criterion": self.criterion, "min_energy_mev": self.min_energy_mev}

    def select_pairs(self, a: NDArray[np.float64], b: NDArray[np.float64]):
        """(passed (N,) bool, shower four-momentum (N, 4) [MeV]) of the single-shower criterion."""
        return single_shower(a, b, self.criterion)

    def reconstruct(self, rng: np.random.Generator, columns: dict[str, np.ndarray], shower_p4: np.ndarray,
                    weight: np.ndarray, mode: str, smear: bool = True) -> dict[str, np.ndarray]:
        """Efficiency, smearing and E_QE of the selected showers (``columns`` unused here)."""
        return reconstruct(rng, shower_p4, weight, mode, smear=smear)

"""Measurements at the high-energy beams used to test the MiniBooNE solutions (issue #16).

Each measurement states what it allows for an extra signal in its selection: observed − expected
events δ and the uncertainty σ_δ of that difference (statistical ⊕ systematic), for the
experiment's exposure.  The allowed extra signal at 90% CL (one-sided, Gaussian) is

    N_90 = max(δ, 0) + 1.2816 σ_δ,

and a predicted signal s is **excluded at 90% CL** when s > N_90.  The numbers and their
sources (or the flagged assumptions that replace a number we could not confirm) are in each
module: :mod:`~mesonportal.datasets.charm2_nue`, :mod:`~mesonportal.datasets.minerva_nue_me`,
:mod:`~mesonportal.datasets.t2k_nd280_nc1gamma`.  DUNE ND has no measurement yet
(:data:`DUNE_ND_PROJECTION` only lists the selection for a projection).

Selections act on the generator-level EM object of a signal event (the photon, or the e⁺e⁻
pair summed when the pair is not resolved): energy window, E θ² cut (θ = angle to the
direction from the target to the interaction point), and a flat selection efficiency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mesonportal.exceptions import ParameterError

__all__ = ["Selection", "Measurement", "Z90", "MEASUREMENT_NAMES", "get_measurement", "DUNE_ND_PROJECTION",
           "landau_mip_plane", "dedx_acceptance"]

Z90 = 1.2815515655446004  # scipy.stats.norm.ppf(0.90)


@dataclass(frozen=True)
class Selection:
    """Generator-level selection of a single forward EM shower (MeV, rad)."""

    e_min_mev: float
    e_max_mev: float
    etheta2_max_mev: float  # E θ² cut [MeV rad²]; inf = none
    efficiency: float  # flat efficiency of the rest of the selection (reconstruction, vertex, dE/dx ...)
    photon_acceptance: float = 1.0  # relative acceptance of a photon (vs an electron) shower: central value
    notes: str = ""
    #: relative acceptance of an unresolved e⁺e⁻ pair (vs one electron): both start at the vertex -> 2 MIP
    pair_acceptance: float = 1.0
    #: (low, high) of the photon / pair acceptance: the range carried into the verdict
    photon_acceptance_range: tuple[float, float] = (1.0, 1.0)
    pair_acceptance_range: tuple[float, float] = (1.0, 1.0)


@dataclass(frozen=True)
class Measurement:
    name: str
    experiment: str
    reference: str
    selection: Selection
    observed_minus_expected: float | None  # δ [events]; None: counts not available
    sigma: float | None  # σ_δ [events]
    pot: float
    assumptions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def allowed_90(self) -> float | None:
        """Largest extra signal allowed at 90% CL [events] (None if not available)."""
        if self.observed_minus_expected is None or self.sigma is None:
            return None
        return max(self.observed_minus_expected, 0.0) + Z90 * self.sigma

    def verdict(self, signal_events: float) -> str:
        """'excluded' / 'allowed' at 90% CL, or 'no counts' when the measurement gives none."""
        a = self.allowed_90
        if a is None:
            return "no counts"
        return "excluded" if signal_events > a else "allowed"


MEASUREMENT_NAMES = ("charm2_nue", "minerva_nue_me", "t2k_nd280_nc1gamma")


def get_measurement(name: str) -> Measurement:
    if name == "charm2_nue":
        from mesonportal.datasets.charm2_nue import MEASUREMENT
    elif name == "minerva_nue_me":
        from mesonportal.datasets.minerva_nue_me import MEASUREMENT
    elif name == "t2k_nd280_nc1gamma":
        from mesonportal.datasets.t2k_nd280_nc1gamma import MEASUREMENT
    else:
        raise ParameterError(f"unknown measurement {name!r} (allowed: {', '.join(MEASUREMENT_NAMES)})")
    return MEASUREMENT


#: DUNE ND-LAr: no measurement; a single-shower selection for a projection (ASSUMPTION: E > 100 MeV,
#: forward E θ² < 3.2 GeV rad² × 1e-3 as MINERvA, efficiency 0.5).
DUNE_ND_PROJECTION = Selection(e_min_mev=100.0, e_max_mev=1e9, etheta2_max_mev=3.2, efficiency=0.5,
                               notes="ASSUMPTION: projection only (no DUNE measurement exists)")


# --- dE/dx response of the first planes of a shower (photon / e⁺e⁻ pair vs single electron) ----------------
#: PDG "Passage of particles through matter" (Review of Particle Physics): K = 4π N_A r_e² m_e c².
_K_MEV_CM2_MOL = 0.307075
_ME_EV = 0.51099895e6


def landau_mip_plane(thickness_cm: float = 1.7, z_over_a: float = 0.53768, density_g_cm3: float = 1.06,
                     plasma_energy_ev: float = 21.754) -> tuple[float, float]:
    """(most probable energy loss Δ_p, Landau width ξ) [MeV] of a relativistic e± crossing a plane of
    ``thickness_cm``; defaults: polystyrene scintillator (Z/A, ρ, ħω_p from the PDG atomic and nuclear
    properties table), 1.7 cm (one MINERvA plane).  High-energy (Fermi-plateau) limit of the PDG
    formula Δ_p = ξ [ln(2 m_e c² ξ / (ħω_p)²) + 0.200], ξ = (K/2)(Z/A) ρ x (PDG eq. 34.13)."""
    xi = 0.5 * _K_MEV_CM2_MOL * z_over_a * density_g_cm3 * thickness_cm
    dp = xi * (math.log(2.0 * _ME_EV * xi * 1e6 / plasma_energy_ev**2) + 0.200)
    return dp, xi


def dedx_acceptance(n_particles: int, cut_mev: float, planes: int = 4, *, thickness_cm: float = 1.7,
                    samples: int = 400_000, seed: int = 0) -> float:
    """Probability that the mean energy deposit per plane of the first ``planes`` planes of a
    shower started by ``n_particles`` overlapping relativistic e± (1: an electron; 2: a converted
    photon or an unresolved e⁺e⁻ pair) is below ``cut_mev``.  Per plane and particle the loss is
    Landau distributed (scipy.stats.landau, mode at Δ_p, scale ξ of :func:`landau_mip_plane`);
    shower development within the first planes is neglected (it raises the photon's deposit, so
    the photon acceptance is an upper estimate).  Monte Carlo with its own seeded generator
    (deterministic).  Units: MeV per plane."""
    from scipy.stats import landau

    if n_particles < 1 or planes < 1:
        raise ParameterError("n_particles and planes must be >= 1")
    dp, xi = landau_mip_plane(thickness_cm)
    mode0 = -0.22278  # mode of the standard Landau density (scipy's parametrisation)
    rng = np.random.default_rng(seed)
    loss = landau.rvs(loc=dp - mode0 * xi, scale=xi, size=(samples, planes, n_particles), random_state=rng)
    mean_per_plane = loss.sum(axis=2).mean(axis=1)
    return float(np.mean(mean_per_plane < cut_mev))

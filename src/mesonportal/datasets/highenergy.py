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

from dataclasses import dataclass, field

from mesonportal.exceptions import ParameterError

__all__ = ["Selection", "Measurement", "Z90", "MEASUREMENT_NAMES", "get_measurement", "DUNE_ND_PROJECTION"]

Z90 = 1.2815515655446004  # scipy.stats.norm.ppf(0.90)


@dataclass(frozen=True)
class Selection:
    """Generator-level selection of a single forward EM shower (MeV, rad)."""

    e_min_mev: float
    e_max_mev: float
    etheta2_max_mev: float  # E θ² cut [MeV rad²]; inf = none
    efficiency: float  # flat efficiency of the rest of the selection (reconstruction, vertex, dE/dx ...)
    photon_acceptance: float = 1.0  # relative acceptance of a photon (vs an electron) shower
    notes: str = ""


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

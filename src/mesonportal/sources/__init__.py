"""sources stage: BNB meson production (Sanford–Wang / Feynman scaling), proton beam and target,
horn focusing and transport of mesons to their decay points (physics.md §1, arXiv:0806.1449).

Main entry point: :func:`simulate_mesons` (weights = expected decays per POT).
"""

from mesonportal.sources.beam import interaction_probability, sample_production, target_interaction_probability
from mesonportal.sources.horn import HornGeometry, track_horn
from mesonportal.sources.spectra import d2sigma_dp_domega, total_cross_section_mb
from mesonportal.sources.transport import ALL_SPECIES, FATES, production_per_pot, simulate_mesons

__all__ = [
    "simulate_mesons", "production_per_pot", "ALL_SPECIES", "FATES", "d2sigma_dp_domega",
    "total_cross_section_mb", "interaction_probability", "target_interaction_probability",
    "sample_production", "HornGeometry", "track_horn",
]

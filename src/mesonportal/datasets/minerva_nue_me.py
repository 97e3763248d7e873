"""MINERvA ν–e elastic scattering in the NuMI medium-energy beam (arXiv:1906.00111, PRD 100 (2019) 092001).

From the abstract: 810 ν–e events after background subtraction; the measurement reduces the ν_μ
flux normalisation uncertainty (2–20 GeV) from 7.6% to 3.9%.  The data agree with the a-priori
flux within its 7.6% uncertainty (the flux is *constrained* by them, not in tension).
Selection (MINERvA ν–e analyses, arXiv:1512.07699 for the low-energy beam): one forward EM shower,
E > 0.8 GeV, E θ² < 3.2 MeV rad² (0.0032 GeV rad²), dE/dx consistent with one electron.

ASSUMPTIONS (flagged): δ = observed − expected = 0; σ_δ = 7.6% ⊕ √810 (prior flux uncertainty
and the sample's statistics) = 67.9 events; exposure 1.16e21 POT (shared notes, "verify");
efficiency 0.7 (not read from the paper); photons are treated as electrons (photon_acceptance 1:
the dE/dx cut would reject most single photons, so this maximises the constraint).
"""

import math

from mesonportal.datasets.highenergy import Measurement, Selection

N_NUE = 810.0
MEASUREMENT = Measurement(
    name="minerva_nue_me", experiment="minerva", reference="arXiv:1906.00111",
    selection=Selection(e_min_mev=800.0, e_max_mev=1e9, etheta2_max_mev=3.2, efficiency=0.7, photon_acceptance=1.0,
                        notes="E > 0.8 GeV, E theta^2 < 3.2 MeV rad^2"),
    observed_minus_expected=0.0, sigma=math.hypot(0.076 * N_NUE, math.sqrt(N_NUE)), pot=1.16e21,
    assumptions=("delta = 0 (flux constrained, not in tension)", "sigma = 7.6% (+) sqrt(810)",
                 "efficiency 0.7", "photons treated as electrons (upper bound on the constraint)",
                 "exposure 1.16e21 POT (verify)"),
)

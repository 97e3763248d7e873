"""CHARM-II ν_μ e → ν_μ e (Vilain et al., PLB 335 (1994) 246; detector NIM A278 (1989) 670).

Confirmed here: the detector face 3.7 × 3.7 m² and length 35.67 m (the CHARM-II flux digitisation
bundled as data/highenergy/charm2_numu_flux.txt is normalised to that face; the same numbers are in
charm-ii.toml) and the ν_μ flux shape (mean 24.9 GeV).  NOT confirmed (the paper's tables could not
be read): N ≈ 2677 ν_μ e events after background subtraction in neutrino mode (from memory of the
final result); the exposure 2.5e19 POT; the cuts.  arXiv:1812.08768 (Argüelles, Hostert, Tsai) built
a CHARM-II ν–e constraint on MiniBooNE explanations from the same paper: the place to confirm them.

ASSUMPTIONS (flagged, carried as uncertainty): δ = observed − expected = 0 (the sample is consistent
with the Standard Model: it determined sin²θ_W); σ_δ = √N ⊕ 5% normalisation = 146 events; selection
E_e in 3–24 GeV, E θ² < 3.2 MeV rad², efficiency 0.6.  Photon / e⁺e⁻-pair acceptance: CHARM-II
separated electrons from π⁰ photons by the shower's start and width in its fine-grained glass
calorimeter, but no rejection number was retrieved: the range 0 (a MINERvA-like 2-MIP rejection,
:mod:`mesonportal.datasets.minerva_nue_me`) – 1 (photons look like electrons) is carried into the
verdict, central value 1 (upper bound on the constraint).
"""

import math

from mesonportal.datasets.highenergy import Measurement, Selection

N_NUE = 2677.0
MEASUREMENT = Measurement(
    name="charm2_nue", experiment="charm-ii", reference="Vilain et al., PLB 335 (1994) 246",
    selection=Selection(e_min_mev=3000.0, e_max_mev=24000.0, etheta2_max_mev=3.2, efficiency=0.6,
                        photon_acceptance=1.0, pair_acceptance=1.0,
                        photon_acceptance_range=(0.0, 1.0), pair_acceptance_range=(0.0, 1.0),
                        notes="3 < E < 24 GeV, E theta^2 < 3.2 MeV rad^2; photon/pair acceptance 0-1 (unknown)"),
    observed_minus_expected=0.0, sigma=math.hypot(math.sqrt(N_NUE), 0.05 * N_NUE), pot=2.5e19,
    assumptions=("N = 2677 nu_mu e events (not confirmed)", "delta = 0", "sigma = sqrt(N) (+) 5%",
                 "cuts and efficiency 0.6 (not confirmed)", "exposure 2.5e19 POT (not confirmed)",
                 "photon / e+e- pair acceptance unknown: range 0-1, central 1"),
)

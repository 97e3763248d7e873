"""CHARM-II ν_μ e → ν_μ e (Vilain et al., PLB 335 (1994) 246; detector NIM A278 (1989) 670).

ASSUMPTIONS (flagged; the paper's tables could not be read here): ≈ 2677 ν_μ e candidate events
after background subtraction in neutrino mode (value from memory of the final result, to be
verified); δ = observed − expected = 0 (the sample is consistent with the Standard Model: it is
what determined sin²θ_W); σ_δ = √N ⊕ 5% normalisation = 146 events; selection E_e in 3–24 GeV,
E θ² < 3.2 MeV rad², efficiency 0.6; photons treated as electrons (upper bound on the constraint).
"""

import math

from mesonportal.datasets.highenergy import Measurement, Selection

N_NUE = 2677.0
MEASUREMENT = Measurement(
    name="charm2_nue", experiment="charm-ii", reference="Vilain et al., PLB 335 (1994) 246",
    selection=Selection(e_min_mev=3000.0, e_max_mev=24000.0, etheta2_max_mev=3.2, efficiency=0.6,
                        photon_acceptance=1.0, notes="3 < E < 24 GeV, E theta^2 < 3.2 MeV rad^2"),
    observed_minus_expected=0.0, sigma=math.hypot(math.sqrt(N_NUE), 0.05 * N_NUE), pot=2.5e19,
    assumptions=("N = 2677 nu_mu e events (verify)", "delta = 0", "sigma = sqrt(N) (+) 5%", "cuts and efficiency 0.6",
                 "exposure 2.5e19 POT (verify)", "photons treated as electrons"),
)

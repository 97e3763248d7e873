"""T2K ND280 NC single-photon search (arXiv:1902.03848, J. Phys. G 46 (2019) 08LT01).

From the abstract: 5.738e20 POT in neutrino mode; single photons reconstructed from e⁺e⁻ pairs
converting in the FGDs (95% pure γ sample); no positive evidence of NC single-photon production;
upper limit σ < 0.114e-38 cm² per nucleon (90% CL) at ⟨E_ν⟩ ≈ 0.6 GeV.

The abstract gives no event counts (observed, expected), so no allowed number of extra events can
be formed here: ``observed_minus_expected`` is None and the verdict is "no counts".  The
selection below (E_γ > 100 MeV, forward, efficiency 0.1) is an ASSUMPTION used only to report the
predicted number of selected events.
"""

from mesonportal.datasets.highenergy import Measurement, Selection

MEASUREMENT = Measurement(
    name="t2k_nd280_nc1gamma", experiment="t2k-nd280", reference="arXiv:1902.03848",
    selection=Selection(e_min_mev=100.0, e_max_mev=1e9, etheta2_max_mev=float("inf"), efficiency=0.1,
                        photon_acceptance=1.0, notes="ASSUMPTION: E_gamma > 100 MeV, efficiency 0.1"),
    observed_minus_expected=None, sigma=None, pot=5.738e20,
    assumptions=("no event counts in the abstract: verdict not formed", "selection and efficiency assumed"),
)

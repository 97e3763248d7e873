"""T2K ND280 NC single-photon search (arXiv:1902.03848, J. Phys. G 46 (2019) 08LT01).

From the abstract: 5.738e20 POT in neutrino mode; single photons reconstructed from e⁺e⁻ pairs
converting in the FGDs (95% pure γ sample); no positive evidence of NC single-photon production;
upper limit σ < 0.114e-38 cm² per nucleon (90% CL), flux-averaged at ⟨E_ν⟩ ≈ 0.6 GeV.

The abstract gives no event counts, so the allowed number of extra single-photon *interactions*
is formed from the cross-section limit (:func:`mesonportal.analysis.highenergy.verdict_table`):

    N_90 = σ_lim × N_nucleons(FGD) × Φ_νμ × POT,

with Φ_νμ the package's ν_μ flux through the FGDs (normalised as in docs/highenergy.md).  The
signal is compared *before* detection efficiency (efficiency = 1 below), since the limit is on the
interaction rate: the selection efficiency cancels if it is the same for the dark-sector photons.
ASSUMPTIONS: E_γ > 100 MeV, any angle; FGD nucleons from the 2.2 t CH of t2k-nd280.toml; the
dark photons' efficiency equal to that of NC single photons.
"""

from mesonportal.datasets.highenergy import Measurement, Selection

#: 90% CL upper limit on the flux-averaged NC single-photon cross section per nucleon [cm²]
SIGMA_LIMIT_CM2 = 0.114e-38

MEASUREMENT = Measurement(
    name="t2k_nd280_nc1gamma", experiment="t2k-nd280", reference="arXiv:1902.03848",
    selection=Selection(e_min_mev=100.0, e_max_mev=1e9, etheta2_max_mev=float("inf"), efficiency=1.0,
                        photon_acceptance=1.0, notes="E_gamma > 100 MeV; efficiency cancels against the limit"),
    observed_minus_expected=None, sigma=None, pot=5.738e20,
    assumptions=("no counts in the abstract: N_90 from the cross-section limit x nucleons x model flux x POT",
                 "E_gamma > 100 MeV", "dark photons selected like NC single photons"),
)

"""Validation of the BNB meson source + horn + SM decays against the official MiniBooNE flux.

Reference: MiniBooNE flux data release "april07_baseline_rgen610.6" (arXiv:0806.1449), bundled as
``data/bnb_flux/miniboone_nu_mode_flux.txt``: integrated ν_μ flux 5.19e-10 /cm²/POT, ν̄_μ 3.26e-11.
Geometry and production inputs: the official simulation's own (G4BNB, bundled ``data/bnb_official``),
no calibration constant. Neutrinos from π/μ decays at rest are left out as in the official flux
(``dar_neutrinos="official"``). Targets (issue #9): integrated ν_μ within 10%; every 200 MeV bin
within 20% for 0.2–1.2 GeV and 30% for 1.2–2.0 GeV; ν̄_μ and ν_e integrals within 30%. MC errors
are accounted for: a ratio passes if |r − 1| ≤ tolerance + 2σ_MC.
"""

from __future__ import annotations

import numpy as np
import pytest

from mesonportal import api
from mesonportal.analysis.flux import compare_fluxes, integrated_flux, official_flux

# 3e5 sampled mesons: ~1% MC error on the ν_μ integral, 3-6% in the 1.2-2.0 GeV bins (~20 s).
SAMPLES = 300_000


@pytest.fixture(scope="module")
def nu_flux():
    return api.neutrino_flux("miniboone", "nu", samples=SAMPLES, seed=20260101)


@pytest.fixture(scope="module")
def official():
    return official_flux()


def test_official_convention_stated(nu_flux):
    assert nu_flux["conventions"] == {"dar_neutrinos": "official", "muon_stop": "pipe_wall",
                                      "tertiary_production": True, "tertiary_model": "urqmd_table",
                                      "pi_minus_parametrisation": "table_vi",
                                      "horn_cavity": True, "decay_region_geometry": "bnb_official"}


def test_muon_stop_convention_bad_input():
    from mesonportal.exceptions import ParameterError

    with pytest.raises(ParameterError, match="muon_stop"):
        api.neutrino_flux("miniboone", "nu", samples=1000, seed=1, muon_stop="earth")


def test_integrated_numu_flux_within_10_percent(nu_flux, official):
    cmp = compare_fluxes(nu_flux, official)["numu"]
    assert integrated_flux(official, "numu") == pytest.approx(5.19e-10, rel=0.005)
    assert abs(cmp["integral_ratio"] - 1.0) <= 0.10 + 2 * cmp["integral_ratio_err"], cmp["integral_ratio"]


def test_numu_flux_shape_per_200_mev_bin(nu_flux, official):
    edges = np.round(np.arange(0.2, 2.01, 0.2), 3)
    cmp = compare_fluxes(nu_flux, official, edges)["numu"]
    ratio, err = np.asarray(cmp["ratio"]), np.asarray(cmp["ratio_err"])
    low = (edges[:-1] >= 0.2 - 1e-9) & (edges[1:] <= 1.2 + 1e-9)
    high = (edges[:-1] >= 1.2 - 1e-9) & (edges[1:] <= 2.0 + 1e-9)
    assert low.sum() == 5 and high.sum() == 4
    assert np.all(np.abs(ratio[low] - 1.0) <= 0.20 + 2 * err[low]), ratio[low]
    assert np.all(np.abs(ratio[high] - 1.0) <= 0.30 + 2 * err[high]), ratio[high]


def test_nue_integral_within_30_percent(nu_flux, official):
    cmp = compare_fluxes(nu_flux, official)["nue"]
    assert abs(cmp["integral_ratio"] - 1.0) <= 0.30 + 2 * cmp["integral_ratio_err"], cmp["integral_ratio"]


@pytest.mark.xfail(strict=True, reason="known deficit (ratio 0.65 with tertiary production in the target and the horn "
                   "aluminium, the UrQMD low-energy table and the G4BNB collimator, docs/flux_validation.md): a "
                   "charge-symmetric deficit of nu_mu and nu_mu-bar below 0.2 GeV (~1e-11 /cm2/POT each) that no "
                   "modelled piece explains")
def test_numubar_integral_within_30_percent(official):
    # 1.5e6 mesons (~35 s cold): at 3e5 the MC error of the wrong-sign integral (0.022, heavy tertiary weights) puts
    # the pass threshold 0.70 - 2 sigma = 0.656 within 0.4 sigma of the 2e6 value 0.648, so the verdict would depend
    # on the seed; here sigma = 0.009 and the verdict is the physics' (0.66 at this seed)
    nu_flux = api.neutrino_flux("miniboone", "nu", samples=1_500_000, seed=20260101)
    cmp = compare_fluxes(nu_flux, official)["numubar"]
    assert abs(cmp["integral_ratio"] - 1.0) <= 0.30 + 2 * cmp["integral_ratio_err"], cmp["integral_ratio"]


def test_numubar_above_600_mev_within_30_percent(nu_flux, official):
    # where the wrong-sign flux comes from primary pi-/K- production (modelled), the 30% target holds
    cmp = compare_fluxes(nu_flux, official, [0.0, 0.6, 10.0])["numubar"]
    assert abs(cmp["ratio"][1] - 1.0) <= 0.30 + 2 * cmp["ratio_err"][1], cmp["ratio"][1]


def test_mc_statistical_error_small(nu_flux):
    err = np.sqrt(np.sum(np.asarray(nu_flux["numu_err"]) ** 2)) / integrated_flux(nu_flux, "numu")
    assert err < 0.02


def test_antineutrino_mode_selects_numubar():
    """Reversed horn current: ν̄_μ dominates (arXiv:0806.1449: ~84% ν̄_μ, ~16% ν_μ in ν̄ mode)."""
    f = api.neutrino_flux("miniboone", "nubar", samples=100_000, seed=7)
    nub, nu = integrated_flux(f, "numubar"), integrated_flux(f, "numu")
    assert nub > 3.0 * nu
    assert 0.05 < nu / (nu + nub) < 0.35


def test_dump_mode_is_dominated_by_decays_at_rest():
    """Dump mode: no focusing; charged mesons are born in the steel, where most stop (π+/K+ and μ+
    decays at rest, E_ν < 250 MeV apart from K→μν at 236 MeV) or interact; the few per cent that
    decay in flight while slowing down (sources/fates.py) give the forward tail above 300 MeV.
    Default convention in dump mode: all decays at rest kept."""
    f = api.neutrino_flux("miniboone", "dump", samples=100_000, seed=7)
    assert f["conventions"] == {"dar_neutrinos": "all", "muon_stop": "absorber"}
    edges = np.asarray(f["edges_gev"])
    above = edges[:-1] >= 0.3
    for fl, max_frac in (("numu", 0.2), ("numubar", 0.1), ("nue", 0.02)):
        tot = np.sum(f[fl])
        assert tot > 0
        assert np.sum(np.asarray(f[fl])[above]) < max_frac * tot, fl
        assert np.sum(np.asarray(f[fl])[above]) > 0, fl  # decays in flight in the steel exist


def test_nue_above_100_mev_against_official_column(nu_flux, official):
    """ν_e above 100 MeV: integral within ±20 % and every 400 MeV bin from 0.2 to 3.0 GeV within
    ±30 % (official geometry, 2e6 mesons: 1.11 above 0.3 GeV; docs/flux_validation.md), MC errors
    accounted for (2σ)."""
    cmp = compare_fluxes(nu_flux, official, [0.0, 0.1, 10.0])["nue"]
    assert abs(cmp["ratio"][1] - 1.0) <= 0.20 + 2 * cmp["ratio_err"][1], cmp["ratio"][1]
    cb = compare_fluxes(nu_flux, official, np.round(np.arange(0.2, 3.01, 0.4), 3))["nue"]
    ratio, err = np.asarray(cb["ratio"]), np.asarray(cb["ratio_err"])
    assert np.all(np.abs(ratio - 1.0) <= 0.30 + 2 * err), ratio


def test_nuebar_above_100_mev_against_official_column(nu_flux, official):
    """ν̄_e above 100 MeV (K0_L → π⁺ e⁻ ν̄_e, K⁻ → π⁰ e⁻ ν̄_e, μ⁻ decays): within ±30 % (2σ MC).
    With the G4BNB K0_L coefficients used directly (no factor ½) the former flat 0.66 deficit is
    gone (official geometry, 2e6 mesons: 1.20 integrated; docs/flux_validation.md)."""
    cmp = compare_fluxes(nu_flux, official, [0.0, 0.1, 10.0])["nuebar"]
    assert abs(cmp["ratio"][1] - 1.0) <= 0.30 + 2 * cmp["ratio_err"][1], cmp["ratio"][1]

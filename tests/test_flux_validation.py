"""Validation of the BNB meson source + horn + SM decays against the official MiniBooNE flux.

Reference: MiniBooNE flux data release "april07_baseline_rgen610.6" (arXiv:0806.1449), bundled as
``data/bnb_flux/miniboone_nu_mode_flux.txt``: integrated ν_μ flux 5.19e-10 /cm²/POT, ν̄_μ 3.26e-11.
Targets (issue "Package foundation ..."): integrated ν_μ within 20%; per-bin ratio within ±25% in
every 200 MeV bin from 0.2 to 1.2 GeV and within ±40% from 1.2 to 2.0 GeV; ν̄_μ contamination
within a factor 2.  One calibration constant enters (the target position in the horn,
``horn.z_offset_cm``, derived from the ν-mode flux; docs/flux_validation.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from mesonportal import api
from mesonportal.analysis.flux import compare_fluxes, integrated_flux, official_flux

# 1e6 sampled mesons: ~1% MC error on the integral, 3-6% in the 1.2-2.0 GeV bins (about 15 s).
SAMPLES = 1_000_000


@pytest.fixture(scope="module")
def nu_flux():
    return api.neutrino_flux("miniboone", "nu", samples=SAMPLES, seed=20260101)


@pytest.fixture(scope="module")
def official():
    return official_flux()


def test_integrated_numu_flux_within_20_percent(nu_flux, official):
    pred = integrated_flux(nu_flux, "numu")
    assert integrated_flux(official, "numu") == pytest.approx(5.19e-10, rel=0.005)
    assert pred == pytest.approx(5.19e-10, rel=0.20)


def test_numu_flux_shape_per_200_mev_bin(nu_flux, official):
    edges = np.round(np.arange(0.2, 2.01, 0.2), 3)
    cmp = compare_fluxes(nu_flux, official, edges)["numu"]
    ratio = np.asarray(cmp["ratio"])
    low = (edges[:-1] >= 0.2 - 1e-9) & (edges[1:] <= 1.2 + 1e-9)
    high = (edges[:-1] >= 1.2 - 1e-9) & (edges[1:] <= 2.0 + 1e-9)
    assert low.sum() == 5 and high.sum() == 4
    assert np.all(np.abs(ratio[low] - 1.0) <= 0.25), ratio[low]
    assert np.all(np.abs(ratio[high] - 1.0) <= 0.40), ratio[high]


def test_numubar_contamination_within_factor_two(nu_flux, official):
    r = integrated_flux(nu_flux, "numubar") / integrated_flux(official, "numubar")
    assert 0.5 <= r <= 2.0


def test_mc_statistical_error_small(nu_flux):
    err = np.sqrt(np.sum(np.asarray(nu_flux["numu_err"]) ** 2)) / integrated_flux(nu_flux, "numu")
    assert err < 0.02


def test_antineutrino_mode_selects_numubar():
    """Reversed horn current: ν̄_μ dominates (arXiv:0806.1449: ~84% ν̄_μ, ~16% ν_μ in ν̄ mode)."""
    f = api.neutrino_flux("miniboone", "nubar", samples=200_000, seed=7)
    nub, nu = integrated_flux(f, "numubar"), integrated_flux(f, "numu")
    assert nub > 3.0 * nu
    assert 0.05 < nu / (nu + nub) < 0.35


def test_dump_mode_has_only_decay_at_rest_neutrinos():
    """Dump mode: no focusing, charged mesons stop; ν from π+/K+ and μ+ decays at rest are below
    ~250 MeV apart from K→μν (236 MeV) — the flux above 300 MeV is negligible."""
    f = api.neutrino_flux("miniboone", "dump", samples=100_000, seed=7)
    edges = np.asarray(f["edges_gev"])
    above = edges[:-1] >= 0.3
    for fl in ("numu", "numubar", "nue"):
        tot = np.sum(f[fl])
        assert tot > 0
        assert np.sum(np.asarray(f[fl])[above]) < 0.02 * tot


def test_nue_above_100_mev_against_official_column(nu_flux, official):
    """ν_e above 100 MeV (the μ⁺ decays at rest in the absorber, E < 52.8 MeV, are excluded from
    the official file, docs/flux_validation.md): integral within ±20 % (today 1.14, MC error
    0.5 %) and every 400 MeV bin from 0.2 to 3.0 GeV within ±30 % (today 1.00–1.26)."""
    e = np.asarray(nu_flux["edges_gev"])
    above = e[:-1] >= 0.1 - 1e-9
    r = np.sum(np.asarray(nu_flux["nue"])[above]) / np.sum(np.asarray(official["nue"])[above])
    assert 0.8 <= r <= 1.2, r
    ratio = np.asarray(compare_fluxes(nu_flux, official, np.round(np.arange(0.2, 3.01, 0.4), 3))["nue"]["ratio"])
    assert np.all(np.abs(ratio - 1.0) <= 0.30), ratio


def test_nuebar_above_100_mev_against_official_column(nu_flux, official):
    """ν̄_e above 100 MeV (from K0_L → π e ν̄, K⁻ → π⁰ e ν̄ and μ⁻ decays) is known to be low:
    0.63–0.72 of the official column per 400 MeV bin, 0.66 integrated (MC error 0.4 %), because
    the source lacks low-momentum π⁻/K⁻/K0_L production and tertiary production (K⁻ = 0.1 × K⁺ is
    an estimate; docs/flux_validation.md, "Known differences").  Two-sided window: the deficit
    must stay within a factor 2 (≥ 0.5) and must not turn into an excess (≤ 1.2)."""
    e = np.asarray(nu_flux["edges_gev"])
    above = e[:-1] >= 0.1 - 1e-9
    r = np.sum(np.asarray(nu_flux["nuebar"])[above]) / np.sum(np.asarray(official["nuebar"])[above])
    assert 0.5 <= r <= 1.2, r
    assert np.sum(np.asarray(nu_flux["nuebar_err"])[above] ** 2) ** 0.5 < 0.02 * np.sum(np.asarray(nu_flux["nuebar"])[above])

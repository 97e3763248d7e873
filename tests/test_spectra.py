"""Tests of the meson production parametrisations and the importance sampler."""

import numpy as np
import pytest
from scipy import integrate

from mesonportal.exceptions import ParameterError
from mesonportal.sources import beam, spectra


def test_sw_formula_point():
    # Direct evaluation of the SW formula (arXiv:0806.1449 eq. 7) at p = 2 GeV/c, θ = 0.1 rad.
    c = spectra.SW_PARAMS["pi+"]
    p, th, pb = 2.0, 0.1, 8.89
    ref = c[0] * p ** c[1] * (1 - p / (pb - c[8])) * np.exp(
        -c[2] * p ** c[3] / pb ** c[4] - c[5] * th * (p - c[6] * pb * np.cos(th) ** c[7]))
    assert spectra.sanford_wang(2000.0, 0.1, c) == pytest.approx(ref, rel=1e-12)


def test_zero_outside_range_no_nan():
    p = np.array([-1.0, 0.0, 7889.0, 7891.0, 1000.0])
    th = np.array([0.1, 0.1, 0.1, 0.1, 2.0])
    for pid in spectra.SPECIES:
        v = spectra.d2sigma_dp_domega(pid, p, th)
        assert np.all(np.isfinite(v)) and np.all(v >= 0)
        assert v[-1] == 0.0  # θ > π/2
        if abs(pid) != 321:  # SW: zero above p_B - c9 = 7.89 GeV/c
            assert v[3] == 0.0


def test_derived_species():
    p, th = np.array([500.0, 1500.0]), np.array([0.05, 0.2])
    pi0 = 0.5 * (spectra.d2sigma_dp_domega(211, p, th) + spectra.d2sigma_dp_domega(-211, p, th))
    assert np.allclose(spectra.d2sigma_dp_domega(111, p, th), pi0)
    assert np.allclose(spectra.d2sigma_dp_domega(221, p, th), spectra.ETA_TO_PI0 * pi0)
    # G4BNB applies its SWKaonZeroLongPar fit to K0_L directly (no factor 1/2)
    assert np.allclose(spectra.d2sigma_dp_domega(130, p, th), spectra.sanford_wang(p, th, spectra.SW_PARAMS["K0"]))
    with pytest.raises(ParameterError):
        spectra.d2sigma_dp_domega(2212, p, th)


def test_feynman_x_limits():
    # A meson at rest in the pN CM frame has x_F = 0; the analytic CM beam momentum gives x_F = 1.
    mp = spectra.M_P * 1e-3
    e = np.sqrt(8.89**2 + mp**2)
    beta = 8.89 / (e + mp)
    gamma = 1 / np.sqrt(1 - beta**2)
    m = spectra.M_K * 1e-3
    p_lab = gamma * beta * m  # meson at rest in the CM
    assert spectra.feynman_x(p_lab * 1e3, 0.0, spectra.M_K) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("pid", [211, 321])
def test_sampled_spectrum_matches_integral(pid):
    # Weighted importance samples vs independent scipy dblquad of 2π sinθ d²σ/dpdΩ over bins;
    # agreement within 5% or 3σ (MC statistics), reference: the parametrisation itself.
    rng = np.random.default_rng(5)
    n = 400_000
    p, th, w = beam.sample_production(rng, pid, n, 8.89)
    bins = [(500, 1000, 0.0, 0.05), (1000, 2000, 0.0, 0.1), (2000, 4000, 0.0, 0.05), (300, 800, 0.1, 0.3)]
    for p1, p2, t1, t2 in bins:
        sel = (p >= p1) & (p < p2) & (th >= t1) & (th < t2)
        mc = w[sel].sum() / n
        err = np.sqrt((w[sel] ** 2).sum()) / n
        ref, _ = integrate.dblquad(lambda t, pp: 2 * np.pi * np.sin(t) * spectra.d2sigma_dp_domega(pid, pp, t) * 1e-3,
                                   p1, p2, t1, t2, epsrel=1e-6)
        assert abs(mc - ref) < max(3 * err, 0.05 * ref), (p1, p2, t1, t2, mc, ref, err)


def test_total_cross_section_vs_mc():
    # Gauss-Legendre total σ vs the importance-sampling estimate (1%).
    rng = np.random.default_rng(9)
    _, _, w = beam.sample_production(rng, -211, 200_000, 8.89)
    assert w.mean() == pytest.approx(spectra.total_cross_section_mb(-211), rel=0.01)


def test_official_coefficients_from_bundled_table():
    # Reference: SBNSoftware/G4BNB input/production.in (commit 7476727), read from the package's own
    # data/bnb_official/meson_production.txt: exact digits, incl. the pi- fit's extra digits.
    assert spectra.SW_PARAMS["pi+"] == (220.7, 1.080, 1.000, 1.978, 1.32, 5.572, 0.08678, 9.686, 1.0)
    assert spectra.SW_PARAMS["pi-"] == (213.66, 0.93785, 5.4537, 1.2096, 1.2836, 4.7807, 0.073383, 8.3294, 1.0)
    assert spectra.SW_PARAMS["K0"] == (15.13, 1.975, 4.084, 0.9277, 0.7306, 4.362, 0.04789, 13.3, 1.278)
    assert spectra.FS_KPLUS_PARAMS == (11.70, 0.88, 4.77, 1.51, 2.21, 2.17, 1.51, 0.0)


def test_kaon_xf_endpoints():
    # x_F = p_z*/p*_max (G4BNB FScal): 0 for a kaon at rest in the CM; 1 for the forward kaon of
    # p p -> K+ Lambda p at threshold of the (Lambda p) system, built here by an explicit boost.
    mp, mk = spectra.M_P * 1e-3, spectra.M_K * 1e-3
    from mesonportal.constants import mass
    ml = mass(3122) * 1e-3
    e = np.sqrt(8.89**2 + mp**2)
    s = 2 * mp * (mp + e)
    gamma = np.sqrt(s) / (2 * mp)
    bg = np.sqrt(gamma**2 - 1)
    assert spectra.kaon_xf_g4bnb(bg * mk * 1e3, 0.0) == pytest.approx(0.0, abs=1e-12)
    pstar = np.sqrt((s - (ml + mp + mk) ** 2) * (s - (ml + mp - mk) ** 2)) / (2 * np.sqrt(s))
    estar = np.sqrt(pstar**2 + mk**2)
    p_lab = gamma * pstar + bg * estar
    assert spectra.kaon_xf_g4bnb(p_lab * 1e3, 0.0) == pytest.approx(1.0, rel=1e-9)

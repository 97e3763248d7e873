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
    assert np.allclose(spectra.d2sigma_dp_domega(130, p, th),
                       0.5 * spectra.sanford_wang(p, th, spectra.SW_PARAMS["K0"]))
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

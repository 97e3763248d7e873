"""Free-nucleon CCQE cross section (Llewellyn Smith) used for the 3+1 shape prediction."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mesonportal import constants as C
from mesonportal.detection import ccqe


def test_low_energy_limit_is_inverse_beta_decay():
    # E ≪ M: σ → G_F² cos²θ_c (1 + 3 g_A²) E² / π (zeroth order in E/M, massless lepton;
    # Vogel & Beacom, hep-ph/9903554, eq. 9).  Tolerance 3 %: recoil/weak-magnetism terms are
    # O(E/M) ≈ 1 % at 10 MeV.
    e = 10.0
    ref = C.G_FERMI**2 * C.V_UD**2 * (1 + 3 * ccqe.G_A**2) * e * e / math.pi * C.MEV2_TO_CM2
    for anti in (False, True):
        assert ccqe.total_cross_section(e, anti) == pytest.approx(ref, rel=0.03)


def test_forward_limit():
    # dσ/dQ² at Q² = 0 = G_F² cos²θ_c (1 + g_A²)/(2π) for any E (A = B = 0, C = (1 + g_A²)/4)
    ref = C.G_FERMI**2 * C.V_UD**2 * (1 + ccqe.G_A**2) / (2 * math.pi) * C.MEV2_TO_CM2
    for e in (50.0, 500.0, 2000.0):
        assert float(ccqe.dsigma_dq2(e, 0.0)) == pytest.approx(ref, rel=1e-9)


def test_plateau_value():
    # free-neutron ν CCQE with dipole M_A ≈ 1.0 GeV plateaus near 1.0e-38 cm² above ~1.5 GeV
    # (Formaggio & Zeller, arXiv:1305.7513, Fig. 14 / Llewellyn Smith); tolerance 15 %.
    s = ccqe.total_cross_section(3000.0)
    assert s == pytest.approx(1.0e-38, rel=0.15)
    # antineutrinos are suppressed by the V−A interference (−B term): ratio well below 1 at 1 GeV
    r = ccqe.total_cross_section(1000.0, True) / ccqe.total_cross_section(1000.0)
    assert 0.2 < r < 0.8


def test_sampling_matches_dsigma():
    rng = np.random.default_rng(3)
    e = np.full(10000, 800.0)
    el, ct = ccqe.sample_electron(rng, e)
    q2 = 2 * e * el * (1 - ct)
    assert np.all(el > 0) and np.all(np.abs(ct) <= 1)
    # mean Q² vs the integral of Q² dσ/dQ²; tolerance 4 standard errors of the sample mean
    q = np.linspace(0, float(ccqe.q2_max(800.0)), 4001)
    w = ccqe.dsigma_dq2(800.0, q)
    mean = np.trapezoid(q * w, q) / np.trapezoid(w, q)
    assert abs(q2.mean() - mean) < 4 * q2.std() / math.sqrt(q2.size)
    # same seed → same output
    a = ccqe.sample_electron(np.random.default_rng(5), e[:100])
    b = ccqe.sample_electron(np.random.default_rng(5), e[:100])
    np.testing.assert_array_equal(a[0], b[0])

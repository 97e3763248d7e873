"""Tests of χ T → γ T through scalar exchange (mesonportal.detection.vector_primakoff)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from mesonportal.constants import MEV2_TO_CM2
from mesonportal.detection import vector_primakoff as vp
from mesonportal.detection.targets import TARGETS, t_limits
from mesonportal.exceptions import ParameterError
from mesonportal.models import idm

METRIC = np.array([1.0, -1.0, -1.0, -1.0])


def _dot(a, b):
    return a[0] * b[0] - a[1:] @ b[1:]


def _lab_kinematics(e, t, m, M):
    """χ(k) along z, photon k′ at the angle fixed by t, target p at rest, p′ = p + k − k′."""
    pk = math.sqrt(e * e - m * m)
    eg = e + t / (2 * M)
    cos = (2 * e * eg - m * m + t) / (2 * pk * eg)  # t = m² − 2(E E_γ − p E_γ cos θ)
    sin = math.sqrt(max(1 - cos * cos, 0.0))
    k = np.array([e, 0, 0, pk])
    kp = np.array([eg, eg * sin, 0, eg * cos])
    p = np.array([M, 0, 0, 0.0])
    return k, kp, p, p + k - kp


def _polarizations_massive(k, m):
    """Three real polarisation vectors of a massive vector along z."""
    pk = k[3]
    return [np.array([0, 1, 0, 0.0]), np.array([0, 0, 1, 0.0]), np.array([pk, 0, 0, k[0]]) / m]


def _polarizations_photon(kp):
    n = kp[1:] / kp[0]
    a = np.cross(n, [0, 1, 0.0])
    a /= np.linalg.norm(a)
    b = np.cross(n, a)
    return [np.concatenate([[0], a]), np.concatenate([[0], b])]


def _explicit_pol_sum(e, t, m, M):
    """Σ over explicit polarisation vectors of |(k·k′)(ε·ε′) − (k·ε′)(k′·ε)|² (tensor contraction)."""
    k, kp, p, pp = _lab_kinematics(e, t, m, M)
    vert = _dot(k, kp) * np.diag(METRIC) - np.outer(kp * METRIC, k * METRIC)  # V_{μν}: ε^μ ε′^ν
    tot = 0.0
    for eps in _polarizations_massive(k, m):
        for epsp in _polarizations_photon(kp):
            tot += (eps @ vert @ epsp) ** 2
    return tot, k, kp, p, pp


@pytest.mark.parametrize("e,m,frac", [(300.0, 5.0, 0.3), (900.0, 10.0, 0.7), (60.0, 10.0, 0.05)])
def test_msq_against_explicit_four_vectors(e, m, frac):
    # |M|² derived in the module docstring vs explicit polarisation vectors and, for the proton,
    # an explicit 4×4 Dirac trace ½Tr[(p̸′ + M)(p̸ + M)]; exact identities (rtol 1e-9).
    for name in ("C12", "p"):
        M = TARGETS[name].mass_mev
        lo, hi, _ = t_limits(np.array([e]), m, 0.0, M)
        t = float(hi[0] + frac * (lo[0] - hi[0]))
        pol, k, kp, p, pp = _explicit_pol_sum(e, t, m, M)
        assert pol == pytest.approx(float(vp.polarization_sum(t, m)), rel=1e-9)
        # transversality: ε → k gives zero
        vert = _dot(k, kp) * np.diag(METRIC) - np.outer(kp * METRIC, k * METRIC)
        for epsp in _polarizations_photon(kp):
            assert abs(k @ vert @ epsp) < 1e-9 * abs(_dot(k, kp))
        if name == "p":
            sl = lambda a: np.einsum("m,mij->ij", a * METRIC, idm._G)  # noqa: E731
            tr = np.trace((sl(pp) + M * np.eye(4)) @ (sl(p) + M * np.eye(4))).real / 2.0
            assert float(vp.msq_spin_half(t, m, M)) == pytest.approx(pol * tr / 3.0, rel=1e-9)
        else:
            assert float(vp.msq_spin0(t, m, M)) == pytest.approx(pol * 4 * M * M / 3.0, rel=1e-9)


@pytest.mark.parametrize("e,m,m_phi", [(500.0, 5.0, 650.0), (1500.0, 10.0, 550.0), (80.0, 10.0, 30.0)])
def test_sigma_without_form_factor_against_analytic_integral(e, m, m_phi):
    # Spin-0, F = 1: dσ/dt = λ²g²(m² − t)²/(96π p² (t − m_φ²)²); with u = m_φ² − t, D = m_φ² − m²,
    # ∫ = [u − 2D ln u − D²/u] between the physical limits (elementary).  rtol 1e-6.
    tgt = TARGETS["C12"]
    lam, g = 1e-3, 12.0
    lo, hi, _ = t_limits(np.array([e]), m, 0.0, tgt.mass_mev)
    D = m_phi**2 - m * m
    F = lambda u: u - 2 * D * math.log(u) - D * D / u  # noqa: E731
    p2 = e * e - m * m
    ref = lam**2 * g**2 / (96 * math.pi * p2) * (F(m_phi**2 - lo[0]) - F(m_phi**2 - hi[0])) * MEV2_TO_CM2
    sig = vp.total_cross_section(np.array([e]), m, m_phi, lam, g, tgt, form_factor=False)[0]
    assert sig == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize("name", ["C12", "p"])
def test_sigma_with_form_factor_against_adaptive_quadrature(name):
    # σ(E) from the module's Gauss–Legendre in ln|t| vs scipy.integrate.quad of dσ/dt (Helm for
    # C-12, dipole for the proton); rtol 1e-4.
    tgt = TARGETS[name]
    m, m_phi = 5.0, 650.0
    for e in (200.0, 1000.0, 4000.0):
        lo, hi, _ = t_limits(np.array([e]), m, 0.0, tgt.mass_mev)
        f = lambda t: float(vp.dsigma_dt(e, t, m, m_phi, 1.0, 1.0, tgt))  # noqa: E731
        a, b = float(lo[0]), float(hi[0])
        if not tgt.is_fermion:
            a = max(a, -tgt.abs_t_cut)
        ref = integrate.quad(lambda u: f(-math.exp(u)) * math.exp(u), math.log(-b), math.log(-a),
                             epsabs=0, epsrel=1e-9, limit=400)[0]
        sig = vp.total_cross_section(np.array([e]), m, m_phi, 1.0, 1.0, tgt)[0]
        assert sig == pytest.approx(ref, rel=1e-4)


def test_coherence_threshold_and_coupling_scaling():
    tgt = TARGETS["C12"]
    e = np.array([3.0, 5.0, 1000.0, 4000.0])
    s = vp.total_cross_section(e, 5.0, 650.0, 1.0, 1.0, tgt)
    assert s[0] == 0.0 and s[1] == 0.0 and s[2] > 0
    # At fixed t, dσ/dt ∝ 1/p_χ² (no target-current factor (P·k′)² as in the Z′ case); with |t|
    # cut by the Helm form factor, σ ∝ 1/p_χ² at high energy (rtol 1e-3).
    p2 = e**2 - 25.0
    assert s[2] * p2[2] == pytest.approx(s[3] * p2[3], rel=1e-3)
    s2 = vp.total_cross_section(e, 5.0, 650.0, 2.0, 3.0, tgt)
    np.testing.assert_allclose(s2, 36.0 * s, rtol=1e-12)
    with pytest.raises(ParameterError, match="m_phi"):
        vp.total_cross_section(e, 5.0, 0.0, 1.0, 1.0, tgt)


def test_sampled_photons_follow_dsigma_dt():
    # Mean of ln|t| of sampled conversions vs the quadrature moment (5000 events, 4σ), and
    # energy–momentum bookkeeping E_γ = E_χ + t/(2M).
    tgt = TARGETS["C12"]
    m, m_phi, e = 5.0, 650.0, 800.0
    rng = np.random.default_rng(3)
    p4 = np.tile([e, 0.0, 0.0, math.sqrt(e * e - m * m)], (5000, 1))
    gam, t = vp.sample_photon(rng, p4, m, m_phi, tgt, method="exact")
    np.testing.assert_allclose(gam[:, 0], e + t / (2 * tgt.mass_mev), rtol=1e-12)
    np.testing.assert_allclose(gam[:, 0] ** 2, np.sum(gam[:, 1:] ** 2, axis=1), rtol=1e-9)
    lo, hi, _ = t_limits(np.array([e]), m, 0.0, tgt.mass_mev)
    a = max(lo[0], -tgt.abs_t_cut)
    f = lambda u: float(vp.dsigma_dt(e, -math.exp(u), m, m_phi, 1.0, 1.0, tgt)) * math.exp(u)  # noqa: E731
    ua, ub = math.log(-hi[0]), math.log(-a)
    norm = integrate.quad(f, ua, ub, limit=400)[0]
    mean = integrate.quad(lambda u: u * f(u), ua, ub, limit=400)[0] / norm
    var = integrate.quad(lambda u: u * u * f(u), ua, ub, limit=400)[0] / norm - mean**2
    lt = np.log(-t)
    assert abs(lt.mean() - mean) < 4 * math.sqrt(var / len(lt))

"""Tests of inelastic up-scattering χ + T → χ′ + T and the χ′ three-body decay sampler
(mesonportal.detection.upscattering).

References: physics.md §2.2 (fermion-target |M|²), explicit numerical Dirac traces (helpers shared
with test_primakoff), near-threshold phase-space behaviour σ ∝ p*_χ′ (analytic), scipy quad,
three-body phase space (PDG kinematics review, Dalitz limits).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from mesonportal.constants import M_E, MEV2_TO_CM2
from mesonportal.detection import upscattering as up
from mesonportal.detection.form_factors import KAPPA_P, helm_of_t, nucleon_f1_f2
from mesonportal.detection.targets import get_target, scatter_lab
from mesonportal.exceptions import KinematicsError, ParameterError
from test_primakoff import GAMMA, METRIC, hadron_tensor, slash

C12 = get_target("C12")
PROTON = get_target("p")
M_CHI, M_CHIP = 8.0, 40.0  # "single" benchmark masses of physics.md §2.2
SINGLE = [(1e-3, 17.0)]
DOUBLE = [(1e-3, 17.0), (-4e-3, 200.0)]


def chi_tensor(p1, p3, m, mp):
    """L^{μν} = Tr[(p̸3 + m′) γ^μ (p̸1 + m) γ^ν]."""
    a = slash(p3) + mp * np.eye(4)
    b = slash(p1) + m * np.eye(4)
    return np.array([[np.trace(a @ GAMMA[mu] @ b @ GAMMA[nu]) for nu in range(4)] for mu in range(4)])


def explicit_msq(e, t, target, f1=1.0, f2=0.0, seed=0):
    """Spin-averaged |M|² from explicit traces and lab four-vectors (unit couplings, no A(t))."""
    mass = target.mass_mev
    p = math.sqrt(e * e - M_CHI**2)
    p1 = np.array([[e, 0.6 * p, 0.0, 0.8 * p]])
    p3, p4 = scatter_lab(np.random.default_rng(seed), p1, np.array([t]), M_CHI, M_CHIP, mass)
    p1, p3, p4 = p1[0], p3[0], p4[0]
    p2 = np.array([mass, 0.0, 0.0, 0.0])
    lt = chi_tensor(p1, p3, M_CHI, M_CHIP)
    if target.is_fermion:
        h = hadron_tensor(p2, p4, mass, f1, f2)
        avg = 0.25
    else:
        h = np.outer(p2 + p4, p2 + p4)
        avg = 0.5
    val = avg * np.sum(lt * (METRIC @ h @ METRIC))
    assert abs(val.imag) < 1e-9 * abs(val.real)
    return float(val.real)


@pytest.mark.parametrize("e,frac", [(45.0, 0.5), (200.0, 0.01), (200.0, 0.6), (1500.0, 0.2)])
def test_msq_explicit_traces_and_physics_md(e, frac):
    # spin-½ (with Pauli term, κ = μ_p − 1) and spin-0 invariant formulas vs explicit Dirac
    # traces: rel. 1e-7; physics.md fermion formula = ours for F1 = 1, F2 = 0: rel. 1e-9.
    for target in (PROTON, C12):
        t_lo, t_hi = up.t_range(e, M_CHI, M_CHIP, target)
        t = float(t_hi + frac * (t_lo - t_hi))
        mass = target.mass_mev
        if target.is_fermion:
            f1, f2 = (float(x) for x in nucleon_f1_f2(t, KAPPA_P))
            mine = float(up.msq_spin_half(e, t, M_CHI, M_CHIP, mass, f1, f2))
            assert explicit_msq(e, t, target, f1, f2) == pytest.approx(mine, rel=1e-7, abs=0.0)
            dirac = float(up.msq_spin_half(e, t, M_CHI, M_CHIP, mass, 1.0, 0.0))
            spec = float(up.msq_spin_half_physics_md(e, t, M_CHI, M_CHIP, mass))
            assert dirac == pytest.approx(spec, rel=1e-9, abs=0.0)
        else:
            mine = float(up.msq_spin0(e, t, M_CHI, M_CHIP, mass))
            assert explicit_msq(e, t, target) == pytest.approx(mine, rel=1e-7, abs=0.0)


def test_spin0_vs_fermion_nucleus():
    # Scalar-nucleus and Dirac-fermion forms agree at |t| ≪ M² (rel. 1e-3) and differ at large
    # |t| (C-12 at E = 1 GeV, near backward: spin-0 is < 20 % of the fermion form) — documented.
    mass = C12.mass_mev
    e = 1000.0
    t_lo, t_hi = up.t_range(e, M_CHI, M_CHIP, C12)
    t_small = np.array([t_hi, 3 * t_hi, -100.0])
    r = up.msq_spin0(e, t_small, M_CHI, M_CHIP, mass) / up.msq_spin_half(e, t_small, M_CHI, M_CHIP, mass, 1.0, 0.0)
    np.testing.assert_allclose(r, 1.0, atol=1e-3)
    rb = up.msq_spin0(e, t_lo * 0.999, M_CHI, M_CHIP, mass) / up.msq_spin_half(e, t_lo * 0.999, M_CHI, M_CHIP, mass, 1, 0)
    assert rb < 0.2


def test_coherent_scaling_and_mediator_sum():
    # dσ/dt = Z² F_Helm² |Σ c_i/(t − m_i²)|² × (spin-0 |M|²)/(16π λ) with the physics.md
    # replacement g_χ g_N/(t − m_V²) → Σ ε_i e Z F g′_i/(t − m_Vi²); literal formula, rel. 1e-12.
    e = 300.0
    mass = C12.mass_mev
    t = np.array([-30.0, -400.0, -5000.0])
    amp = 1e-3 / (t - 17.0**2) - 4e-3 / (t - 200.0**2)
    lam = 4 * mass**2 * (e**2 - M_CHI**2)
    lit = 36.0 * helm_of_t(t, 12) ** 2 * amp**2 * up.msq_spin0(e, t, M_CHI, M_CHIP, mass) / (16 * np.pi * lam)
    np.testing.assert_allclose(up.dsigma_dt(e, t, M_CHI, M_CHIP, DOUBLE, C12), lit * MEV2_TO_CM2, rtol=1e-12)
    # (2Z+N)-type charge passed explicitly: exact Q² scaling
    np.testing.assert_allclose(
        up.dsigma_dt(e, t, M_CHI, M_CHIP, SINGLE, C12, charge=18.0),
        (18.0 / 6.0) ** 2 * up.dsigma_dt(e, t, M_CHI, M_CHIP, SINGLE, C12),
        rtol=1e-13,
    )
    # two mediators of equal mass = one with the summed coupling
    np.testing.assert_allclose(
        up.dsigma_dt(e, t, M_CHI, M_CHIP, [(1e-3, 17.0), (2e-3, 17.0)], C12),
        up.dsigma_dt(e, t, M_CHI, M_CHIP, [(3e-3, 17.0)], C12),
        rtol=1e-13,
    )


@pytest.mark.parametrize("target", [C12, PROTON])
def test_threshold_zero_and_continuity(target):
    # σ = 0 below s = (m_χ′ + M)²; just above σ ∝ p*_χ′ ∝ √(E − E_th) (two-body phase space with
    # a finite |M|²): σ(E_th + 4δ)/σ(E_th + δ) = 2 within 1e-3 for δ = 1e-7 E_th.
    e_th = up.threshold(M_CHI, M_CHIP, target)
    mass = target.mass_mev
    assert (M_CHI**2 + mass**2 + 2 * mass * e_th) == pytest.approx((M_CHIP + mass) ** 2, rel=1e-14, abs=0.0)
    delta = 1e-7 * e_th
    s = up.total_cross_section(np.array([e_th * (1 - 1e-9), e_th + delta, e_th + 4 * delta, 2 * e_th]), M_CHI, M_CHIP, SINGLE, target)
    assert s[0] == 0.0
    assert s[1] > 0.0
    assert s[2] / s[1] == pytest.approx(2.0, rel=1e-3, abs=0.0)
    assert s[1] < 1e-3 * s[3]
    assert np.all(up.dsigma_dt(e_th * 0.99, -10.0, M_CHI, M_CHIP, SINGLE, target) == 0.0)


@pytest.mark.parametrize("target", [C12, PROTON])
@pytest.mark.parametrize("e", [45.0, 300.0, 3000.0])
def test_total_cross_section_vs_quad(target, e):
    # σ (composite Gauss–Legendre in ln|t|) vs adaptive quad: rel. 1e-6.
    t_lo, t_hi = up.t_range(e, M_CHI, M_CHIP, target)
    ref = integrate.quad(
        lambda u: float(up.dsigma_dt(e, -math.exp(u), M_CHI, M_CHIP, DOUBLE, target)) * math.exp(u),
        math.log(-t_hi), math.log(-t_lo), limit=2000, epsabs=0.0, epsrel=1e-11,
    )[0]
    assert float(up.total_cross_section(e, M_CHI, M_CHIP, DOUBLE, target)) == pytest.approx(ref, rel=1e-6, abs=0.0)


def test_total_cross_section_table():
    # Tabulated path (> 1024 energies, including energies below threshold) vs direct: rel. 1e-3.
    rng = np.random.default_rng(2)
    e = rng.uniform(10.0, 8000.0, 4000)
    tab = up.total_cross_section(e, M_CHI, M_CHIP, SINGLE, C12)
    direct = up.total_cross_section(e[:600], M_CHI, M_CHIP, SINGLE, C12)
    np.testing.assert_allclose(tab[:600], direct, rtol=1e-3)
    assert np.all(tab[e < up.threshold(M_CHI, M_CHIP, C12)] == 0.0)
    assert np.all(np.isfinite(tab))


def test_bad_input():
    with pytest.raises(ParameterError):
        up.dsigma_dt(100.0, -1.0, 40.0, 8.0, SINGLE, C12)  # m_chi_prime < m_chi
    with pytest.raises(ParameterError):
        up.total_cross_section(100.0, 8.0, 40.0, [], C12)
    with pytest.raises(ParameterError):
        up.total_cross_section(100.0, 8.0, 40.0, [(1.0, -5.0)], C12)


def test_sample_upscatter():
    # χ′ on shell, recoil on shell (rel. 1e-9), t reproduced from four-vectors (abs. 1e-9 E²),
    # MC mean of ln|t| vs quad (4 σ) at E = 500 MeV on C-12.
    rng = np.random.default_rng(9)
    n = 20000
    mass = C12.mass_mev
    e = np.full(n, 500.0)
    e[: n // 2] = rng.uniform(30.0, 3000.0, n // 2)  # includes some below threshold
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    p1 = np.column_stack([e, np.sqrt(e**2 - M_CHI**2)[:, None] * d])
    p3, t = up.sample_upscatter(rng, p1, M_CHI, M_CHIP, DOUBLE, C12)
    ok = e > up.threshold(M_CHI, M_CHIP, C12)
    assert np.all(p3[~ok] == 0.0) and np.all(t[~ok] == 0.0) and np.any(~ok)
    p1, p3, t, e = p1[ok], p3[ok], t[ok], e[ok]
    np.testing.assert_allclose(np.sqrt(p3[:, 0] ** 2 - np.sum(p3[:, 1:] ** 2, axis=1)), M_CHIP, rtol=1e-9)
    rec = p1 + np.array([mass, 0, 0, 0]) - p3
    np.testing.assert_allclose(np.sqrt(rec[:, 0] ** 2 - np.sum(rec[:, 1:] ** 2, axis=1)), mass, rtol=1e-9)
    dq = p1 - p3
    assert np.all(np.abs(dq[:, 0] ** 2 - np.sum(dq[:, 1:] ** 2, axis=1) - t) <= 1e-9 * e**2)
    e0 = 500.0
    u = np.log(-t[e == e0])
    lo, hi = up.t_range(e0, M_CHI, M_CHIP, C12)
    f = lambda x: float(up.dsigma_dt(e0, -math.exp(x), M_CHI, M_CHIP, DOUBLE, C12)) * math.exp(x)  # noqa: E731
    a, b = math.log(-hi), math.log(-lo)
    norm = integrate.quad(f, a, b, limit=1000)[0]
    mean = integrate.quad(lambda x: x * f(x), a, b, limit=1000)[0] / norm
    var = integrate.quad(lambda x: (x - mean) ** 2 * f(x), a, b, limit=1000)[0] / norm
    assert abs(u.mean() - mean) < 4 * math.sqrt(var / len(u))
    assert u.var() == pytest.approx(var, rel=0.05, abs=0.0)


# ----------------------------------------------------------------- three-body decays
def m23_limits(m_parent, m1, m2, m3, x12):
    """PDG kinematics review eq. (49.23): m²₂₃ range at fixed m²₁₂."""
    m12 = np.sqrt(x12)
    e2 = (x12 - m1**2 + m2**2) / (2 * m12)
    e3 = (m_parent**2 - x12 - m3**2) / (2 * m12)
    p2 = np.sqrt(np.clip(e2**2 - m2**2, 0, None))
    p3 = np.sqrt(np.clip(e3**2 - m3**2, 0, None))
    return (e2 + e3) ** 2 - (p2 + p3) ** 2, (e2 + e3) ** 2 - (p2 - p3) ** 2


def _decays(rng, n, msq):
    m_par, m1, m2, m3 = M_CHIP, M_CHI, M_E, M_E
    e = rng.uniform(50.0, 2000.0, n)
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    parent = np.column_stack([e, np.sqrt(e**2 - m_par**2)[:, None] * d])
    return parent, up.sample_three_body_decay(rng, parent, m_par, m1, m2, m3, msq)


def test_three_body_kinematics_and_flat_phase_space():
    # |M|² = 1: m²₁₂ must follow the phase-space projection dN/dm²₁₂ ∝ Δm²₂₃(m²₁₂)
    # (KS test, p > 1e-3 with a fixed seed); four-momentum conservation (1e-9 × E) and masses.
    rng = np.random.default_rng(21)
    n = 20000
    parent, (p1, p2, p3) = _decays(rng, n, lambda x12, x23: np.ones_like(x12))
    np.testing.assert_allclose(p1 + p2 + p3, parent, atol=1e-9 * parent[:, :1].max())
    for p, m in ((p1, M_CHI), (p2, M_E), (p3, M_E)):
        m2 = p[:, 0] ** 2 - np.sum(p[:, 1:] ** 2, axis=1)
        np.testing.assert_allclose(m2, m * m, atol=1e-9 * parent[:, 0].max() ** 2)
    s12 = p1 + p2
    x12 = s12[:, 0] ** 2 - np.sum(s12[:, 1:] ** 2, axis=1)
    lo_x, hi_x = (M_CHI + M_E) ** 2, (M_CHIP - M_E) ** 2
    grid = np.linspace(lo_x, hi_x, 4001)
    lo23, hi23 = m23_limits(M_CHIP, M_CHI, M_E, M_E, grid)
    dens = hi23 - lo23
    cdf = integrate.cumulative_trapezoid(dens, grid, initial=0.0)
    cdf /= cdf[-1]
    p_value = stats.kstest(x12, lambda x: np.interp(x, grid, cdf)).pvalue
    assert p_value > 1e-3
    # the sampled m²₂₃ lies inside the Dalitz limits
    s23 = p2 + p3
    x23 = s23[:, 0] ** 2 - np.sum(s23[:, 1:] ** 2, axis=1)
    lo, hi = m23_limits(M_CHIP, M_CHI, M_E, M_E, x12)
    assert np.all((x23 >= lo - 1e-6 * hi) & (x23 <= hi + 1e-6 * hi))


def test_three_body_toy_msq():
    # Toy |M|² = m²₁₂ · m²₂₃ (depends on both Dalitz arguments, so a swapped argument order
    # would be caught): <m²₁₂> and <m²₂₃> from the sample vs the Dalitz integrals (scipy dblquad),
    # 4 σ statistical each.
    rng = np.random.default_rng(4)
    n = 20000
    _, (p1, p2, p3) = _decays(rng, n, lambda x12, x23: x12 * x23)
    s12, s23 = p1 + p2, p2 + p3
    x12 = s12[:, 0] ** 2 - np.sum(s12[:, 1:] ** 2, axis=1)
    x23 = s23[:, 0] ** 2 - np.sum(s23[:, 1:] ** 2, axis=1)
    lo_x, hi_x = (M_CHI + M_E) ** 2, (M_CHIP - M_E) ** 2

    def integral(fn):
        return integrate.dblquad(
            lambda y, x: fn(x, y), lo_x, hi_x,
            lambda x: float(m23_limits(M_CHIP, M_CHI, M_E, M_E, x)[0]),
            lambda x: float(m23_limits(M_CHIP, M_CHI, M_E, M_E, x)[1]),
            epsrel=1e-8,
        )[0]

    norm = integral(lambda x, y: x * y)
    for sample, k in ((x12, 0), (x23, 1)):
        mom1 = integral(lambda x, y: x * y * (x, y)[k]) / norm
        mom2 = integral(lambda x, y: x * y * (x, y)[k] ** 2) / norm
        sd = math.sqrt((mom2 - mom1**2) / n)
        assert abs(sample.mean() - mom1) < 4 * sd
        # flat |M|² gives a clearly different mean (the test can fail)
        flat = integral(lambda x, y: (x, y)[k]) / integral(lambda x, y: 1.0)
        assert abs(flat - mom1) > 10 * sd


def test_three_body_msq_argument_conventions():
    # msq(m²₁₂, m²₂₃) and the equivalent msq(m²₁₃, m²₂₃) (production.three_body / models.idm
    # convention) must give identical samples for the same seed (exact).
    s = M_CHIP**2 + M_CHI**2 + 2 * M_E**2
    parent = np.array([[500.0, 10.0, -20.0, np.sqrt(500.0**2 - 500.0 - M_CHIP**2)]])
    parent = np.repeat(parent, 500, axis=0)
    a = up.sample_three_body_decay(np.random.default_rng(1), parent, M_CHIP, M_CHI, M_E, M_E, lambda x12, x23: x12 + 3 * x23)
    b = up.sample_three_body_decay(
        np.random.default_rng(1), parent, M_CHIP, M_CHI, M_E, M_E, lambda x13, x23: s - x13 + 2 * x23, msq_args="13,23"
    )
    for pa, pb in zip(a, b):
        np.testing.assert_allclose(pa, pb, rtol=1e-12, atol=1e-9)
    with pytest.raises(ParameterError):
        up.sample_three_body_decay(np.random.default_rng(1), parent, M_CHIP, M_CHI, M_E, M_E, lambda x, y: x, msq_args="12")


def test_three_body_closed():
    with pytest.raises(KinematicsError):
        up.sample_three_body_decay(np.random.default_rng(0), np.array([[100.0, 0, 0, 0]]), 10.0, 8.0, 1.0, 1.5, lambda a, b: a)

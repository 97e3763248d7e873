"""Tests of dark Primakoff scattering X + T → γ + T (mesonportal.detection.primakoff).

References: physics.md §2.1 (spin-0 |M|² formula, λ_eff = λ/2), explicit numerical Dirac/Lorentz
algebra (independent of the invariant formulas in the module), the high-M massless limit
(standard Primakoff form dσ/dΩ = λ² Q² F² k⁴ sin²θ/(16π² q⁴), i.e. Raffelt, "Stars as
Laboratories" (1996) eq. 5.4 with g → λ, Ze → Q and ×2 for the photon-polarisation sum of the
inverse process), and scipy quad integration.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from mesonportal.constants import M_P, MEV2_TO_CM2
from mesonportal.detection import primakoff as pk
from mesonportal.detection.form_factors import KAPPA_P, helm_of_t, nucleon_f1_f2
from mesonportal.detection.targets import NuclearTarget, get_target, scatter_lab
from mesonportal.exceptions import ParameterError

C12 = get_target("C12")
PROTON = get_target("p")

# ----------------------------------------------------------------- explicit Dirac/Lorentz algebra
METRIC = np.diag([1.0, -1.0, -1.0, -1.0])
_I2 = np.eye(2)
_PAULI = [np.array([[0, 1], [1, 0]], complex), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]], complex)]
GAMMA = np.array(
    [np.block([[_I2, 0 * _I2], [0 * _I2, -_I2]])] + [np.block([[0 * _I2, s], [-s, 0 * _I2]]) for s in _PAULI]
)  # γ^μ, Dirac representation


def slash(p):
    return np.einsum("m,mab->ab", METRIC @ p, GAMMA)


def sigma_munu():
    return np.array([[0.5j * (GAMMA[m] @ GAMMA[n] - GAMMA[n] @ GAMMA[m]) for n in range(4)] for m in range(4)])


def hadron_tensor(p_in, p_out, mass, f1, f2):
    """H^{μν} = Tr[(p̸′ + M) Γ^μ (p̸ + M) Γ̄^ν], Γ^μ = F1 γ^μ + i F2 σ^{μν} q_ν/(2M), q = p′ − p."""
    q_low = METRIC @ (p_out - p_in)
    sig = sigma_munu()
    gam = np.array([f1 * GAMMA[m] + 1j * f2 / (2 * mass) * np.einsum("n,nab->ab", q_low, sig[m]) for m in range(4)])
    g0 = GAMMA[0]
    gbar = np.array([g0 @ gam[m].conj().T @ g0 for m in range(4)])
    a = slash(p_out) + mass * np.eye(4)
    b = slash(p_in) + mass * np.eye(4)
    return np.array([[np.trace(a @ gam[m] @ b @ gbar[n]) for n in range(4)] for m in range(4)])


def levi_civita():
    eps = np.zeros((4, 4, 4, 4))
    import itertools

    for perm in itertools.permutations(range(4)):
        p = list(perm)
        sign = 1
        for i in range(4):
            for j in range(i + 1, 4):
                if p[i] > p[j]:
                    sign = -sign
        eps[perm] = sign
    return eps


def dot(a, b):
    return a @ METRIC @ b


def primakoff_vertex(q, kp, parity):
    """V^{αβ} (both indices up) for Z′(q, α) → γ(k′, β)."""
    if parity == "scalar":
        return dot(q, kp) * np.linalg.inv(METRIC) - np.outer(kp, q)
    return np.einsum("abrs,r,s->ab", levi_civita(), METRIC @ q, METRIC @ kp)


def explicit_msq(k, kp, p2, p4, mass, parity, spin, f1=1.0, f2=0.0):
    """−g_{ββ′} V^{αβ}V^{α′β′} H_{αα′}, averaged over the target spin."""
    q = kp - k
    v = primakoff_vertex(q, kp, parity)
    vl = METRIC @ v  # V_α^β
    x = vl @ METRIC @ vl.T  # X_{αα′} = V_α^β g_ββ′ V_α′^β′
    if spin == 0:
        h = np.outer(p2 + p4, p2 + p4)
        return float(-np.sum(x * h))
    h = hadron_tensor(p2, p4, mass, f1, f2)
    val = -np.sum(x * h) / 2.0
    assert abs(val.imag) < 1e-9 * abs(val.real)
    return float(val.real)


def event(e_x, m_x, t, mass, seed=0):
    rng = np.random.default_rng(seed)
    p = math.sqrt(e_x**2 - m_x**2)
    k = np.array([[e_x, 0.3 * p, -0.2 * p, math.sqrt(1 - 0.13) * p]])
    kp, p4 = scatter_lab(rng, k, np.array([t]), m_x, 0.0, mass)
    return k[0], kp[0], np.array([mass, 0, 0, 0.0]), p4[0]


# ----------------------------------------------------------------- |M|² checks
def test_vertex_factor_lambda_over_two():
    # Derivation check: the coefficient of X Z′ A in (λ/4) F′_{μν}F^{μν} for plane waves
    # Z′ = ε e^{−iqx}, A = ε′* e^{ik′x} equals λ_eff ε_α V^{αβ} ε′*_β with λ_eff = λ/2.
    rng = np.random.default_rng(3)
    for _ in range(5):
        q, kp = rng.normal(size=4), rng.normal(size=4)
        eps = rng.normal(size=4) + 1j * rng.normal(size=4)
        epsp = rng.normal(size=4) + 1j * rng.normal(size=4)  # lower-index polarisations
        fz = -1j * (np.outer(METRIC @ q, eps) - np.outer(eps, METRIC @ q))  # F′_{μν}
        fa = 1j * (np.outer(METRIC @ kp, epsp.conj()) - np.outer(epsp.conj(), METRIC @ kp))  # F_{μν}
        fa_up = METRIC @ fa @ METRIC
        lagr = 0.25 * np.sum(fz * fa_up)  # (λ/4) F′F with λ = 1
        v = primakoff_vertex(q, kp, "scalar")
        assert lagr == pytest.approx(pk.lambda_eff(1.0) * eps @ v @ epsp.conj(), rel=1e-12, abs=0.0)


@pytest.mark.parametrize("e_x,m_x,frac", [(50.0, 1.0, 0.3), (500.0, 1.0, 1e-3), (2000.0, 17.0, 0.05), (30.0, 10.0, 0.7)])
def test_spin0_msq_matches_physics_md_and_explicit(e_x, m_x, frac):
    # physics.md §2.1 bracket and explicit four-vector contraction (scalar and pseudoscalar
    # vertex); rel. 1e-8 (interior t, away from the zeros at the endpoints).
    mass = C12.mass_mev
    t_lo, t_hi = pk.t_range(e_x, m_x, C12)
    t = t_hi + frac * (t_lo - t_hi)
    s = m_x**2 + mass**2 + 2 * mass * e_x
    spec = m_x**2 * t * (s + mass**2) - mass**2 * m_x**4 - t * ((s - mass**2) ** 2 + s * t)
    mine = pk.msq_spin0(e_x, t, m_x, mass)
    assert mine == pytest.approx(spec, rel=1e-8, abs=0.0)
    k, kp, p2, p4 = event(e_x, m_x, t, mass)
    for parity in ("scalar", "pseudoscalar"):
        assert explicit_msq(k, kp, p2, p4, mass, parity, 0) == pytest.approx(mine, rel=1e-7, abs=0.0)


@pytest.mark.parametrize("e_x,m_x,frac", [(50.0, 1.0, 0.3), (800.0, 5.0, 0.02), (300.0, 30.0, 0.9)])
def test_spin_half_msq_explicit_dirac_trace(e_x, m_x, frac):
    # Explicit Dirac trace with F1, F2 (Pauli term included, κ = μ_p − 1) vs the invariant
    # formula of the module; both parities; rel. 1e-7.
    mass = M_P
    t_lo, t_hi = pk.t_range(e_x, m_x, PROTON)
    t = t_hi + frac * (t_lo - t_hi)
    f1, f2 = nucleon_f1_f2(t, KAPPA_P)
    mine = pk.msq_spin_half(e_x, t, m_x, mass, f1, f2)
    k, kp, p2, p4 = event(e_x, m_x, t, mass)
    for parity in ("scalar", "pseudoscalar"):
        assert explicit_msq(k, kp, p2, p4, mass, parity, 0.5, float(f1), float(f2)) == pytest.approx(mine, rel=1e-7, abs=0.0)


def test_fermion_reduces_to_scalar_at_low_t():
    # Derived: ½Σ|M|²(Dirac, F1=1, F2=0) = spin-0 result − 2 t (q·k′)²; the extra term is
    # O(m_X⁴/(M E)²) relative at |t| ≪ M², so the ratio → 1 (tolerance 1e-4), while at |t| ~ M²
    # the two differ by more than 1 %.
    e_x, m_x = 1000.0, 1.0
    t = np.array([-1.0, -10.0, -100.0])
    r = pk.msq_spin_half(e_x, t, m_x, M_P, 1.0, 0.0) / pk.msq_spin0(e_x, t, m_x, M_P)
    np.testing.assert_allclose(r, 1.0, atol=1e-4)
    f1, f2 = nucleon_f1_f2(t, KAPPA_P)
    r2 = pk.msq_spin_half(e_x, t, m_x, M_P, f1, f2) / (f1**2 * pk.msq_spin0(e_x, t, m_x, M_P))
    np.testing.assert_allclose(r2, 1.0, atol=1e-3)
    t_big = -0.7e6
    assert abs(pk.msq_spin_half(e_x, t_big, m_x, M_P, 1.0, 0.0) / pk.msq_spin0(e_x, t_big, m_x, M_P) - 1) > 0.01


@pytest.mark.parametrize("theta", [0.05, 0.3, 1.0, 2.0, 3.0])
def test_massless_limit_textbook_primakoff(theta):
    # m_X, m_Z′ → 0 and M → ∞: dσ/dΩ = λ_eff² Q² F² k⁴ sin²θ/(16π² q⁴) (derived in
    # docs/detection.md; = Raffelt 1996 eq. 5.4 ×2).  Heavy fictitious target M = 1e11 MeV with
    # A = 12 Helm form factor; corrections O(|t|/(M E (1 + cos θ)), m²/q²) ≲ 1e-7; tolerance 1e-5.
    heavy = NuclearTarget("heavy", 6, 12, 1.0e11, 0.0)
    e_x, m_x, m_zp, lam, q = 100.0, 1e-4, 1e-4, 0.01, 18.0
    t = -2 * e_x**2 * (1 - math.cos(theta))
    dsdt = pk.dsigma_dt(e_x, t, m_x, m_zp, lam, q, heavy)
    dsdomega = dsdt * e_x**2 / math.pi  # |dt/dΩ| = k k′/π → E²/π for M → ∞
    ff = helm_of_t(t, 12)
    textbook = lam**2 * q**2 * ff**2 * e_x**4 * math.sin(theta) ** 2 / (16 * math.pi**2 * t**2) * MEV2_TO_CM2
    assert dsdomega == pytest.approx(textbook, rel=1e-5, abs=0.0)


# ----------------------------------------------------------------- couplings / coherence
def test_coherent_scaling_and_incoherent_comparison():
    # g_A = Q F_Helm: dσ/dt ∝ Q² exactly; at low |t| the coherent C-12 rate with Q = 2Z+N = 18
    # exceeds the sum over its nucleons (6 p with charge 2, 6 n with charge 1 ≈ Dirac protons)
    # by 18²/30 × F²_Helm/G_D² (kinematics independent of M at E ≫ ...; tolerance 1 %).
    e_x, m_x, m_zp = 2000.0, 1.0, 49.0
    t = -(10.0**2)
    one = pk.dsigma_dt(e_x, t, m_x, m_zp, 1.0, 1.0, C12)
    assert pk.dsigma_dt(e_x, t, m_x, m_zp, 1.0, 18.0, C12) == pytest.approx(324.0 * one, rel=1e-13, abs=0.0)
    coh = pk.dsigma_dt(e_x, t, m_x, m_zp, 1.0, 18.0, C12)
    inc = 6 * pk.dsigma_dt(e_x, t, m_x, m_zp, 1.0, 2.0, PROTON) + 6 * pk.dsigma_dt(e_x, t, m_x, m_zp, 1.0, 1.0, PROTON)
    expected = 324.0 / 30.0 * float(helm_of_t(t, 12)) ** 2 / float(nucleon_f1_f2(t, 0.0)[0]) ** 2
    assert coh / inc == pytest.approx(expected, rel=1e-2, abs=0.0)
    # at large |t| (q = 500 MeV, beyond the first Helm zero) the coherent part is suppressed
    t_big = -(500.0**2)
    coh_b = pk.dsigma_dt(e_x, t_big, m_x, m_zp, 1.0, 18.0, C12)
    inc_b = 6 * pk.dsigma_dt(e_x, t_big, m_x, m_zp, 1.0, 2.0, PROTON) + 6 * pk.dsigma_dt(
        e_x, t_big, m_x, m_zp, 1.0, 1.0, PROTON
    )
    assert coh_b < 0.1 * inc_b


# ----------------------------------------------------------------- t range and σ
def test_t_range_physical():
    # t_max·t_min = M² m_X⁴/s (exact product); t limits from the CM formula directly.
    e_x, m_x, mass = np.array([2.0, 30.0, 800.0]), 1.0, C12.mass_mev
    t_lo, t_hi = pk.t_range(e_x, m_x, C12)
    s = m_x**2 + mass**2 + 2 * mass * e_x
    np.testing.assert_allclose(t_lo * t_hi, mass**2 * m_x**4 / s, rtol=1e-10)
    p_cm = np.sqrt((s - (mass + m_x) ** 2) * (s - (mass - m_x) ** 2)) / (2 * np.sqrt(s))
    k_cm = (s - mass**2) / (2 * np.sqrt(s))
    e_cm = np.sqrt(p_cm**2 + m_x**2)
    np.testing.assert_allclose(t_lo, m_x**2 - 2 * k_cm * (e_cm + p_cm), rtol=1e-10)
    assert np.all(t_hi < 0) and np.all(t_lo < t_hi)
    lo, hi = pk.t_range(0.5, 1.0, C12)  # below m_X: closed
    assert lo == 0.0 and hi == 0.0


@pytest.mark.parametrize("target", [C12, PROTON])
@pytest.mark.parametrize("e_x", [5.0, 150.0, 1500.0])
def test_total_cross_section_vs_quad(target, e_x):
    # σ by composite Gauss–Legendre vs adaptive scipy quad in ln|t|: rel. 1e-6.
    m_x, m_zp, lam, q = 1.0, 49.0, 1e-3, 18.0
    t_lo, t_hi = pk.t_range(e_x, m_x, target)
    ref = integrate.quad(
        lambda u: float(pk.dsigma_dt(e_x, -math.exp(u), m_x, m_zp, lam, q, target)) * math.exp(u),
        math.log(-t_hi), math.log(-t_lo), limit=2000, epsabs=0.0, epsrel=1e-11,
    )[0]
    assert float(pk.total_cross_section(e_x, m_x, m_zp, lam, q, target)) == pytest.approx(ref, rel=1e-6, abs=0.0)


def test_total_cross_section_table_and_mc():
    # (1) tabulated path (> 1024 energies) vs direct evaluation: rel. 1e-3.
    # (2) independent plain Monte Carlo integral of dσ/dt (uniform in ln|t|, 2e5 points): 1 %.
    m_x, m_zp = 1.0, 85.0
    rng = np.random.default_rng(11)
    e = rng.uniform(1.5, 8000.0, 5000)
    tab = pk.total_cross_section(e, m_x, m_zp, 1.0, 1.0, C12)
    direct = pk.total_cross_section(e[:500], m_x, m_zp, 1.0, 1.0, C12)
    np.testing.assert_allclose(tab[:500], direct, rtol=1e-3)
    assert np.all(np.isfinite(tab)) and np.all(tab > 0)
    e0 = 700.0
    t_lo, t_hi = pk.t_range(e0, m_x, C12)
    u = rng.uniform(math.log(-t_hi), math.log(-t_lo), 200000)
    mc = np.mean(pk.dsigma_dt(e0, -np.exp(u), m_x, m_zp, 1.0, 1.0, C12) * np.exp(u)) * (
        math.log(-t_lo) - math.log(-t_hi)
    )
    assert float(pk.total_cross_section(e0, m_x, m_zp, 1.0, 1.0, C12)) == pytest.approx(mc, rel=0.01, abs=0.0)


def test_below_threshold_and_bad_input():
    # E_X ≤ m_X: closed channel, zero (not NaN); negative mass: ParameterError.
    sig = pk.total_cross_section(np.array([0.5, 1.0, 2.0]), 1.0, 49.0, 1.0, 1.0, C12)
    assert sig[0] == 0.0 and sig[1] == 0.0 and sig[2] > 0.0
    assert pk.dsigma_dt(0.5, -1.0, 1.0, 49.0, 1.0, 1.0, C12) == 0.0
    assert pk.dsigma_dt(100.0, 1.0, 1.0, 49.0, 1.0, 1.0, C12) == 0.0  # t > 0 unphysical
    with pytest.raises(ParameterError):
        pk.dsigma_dt(100.0, -1.0, -1.0, 49.0, 1.0, 1.0, C12)


# ----------------------------------------------------------------- sampling
def test_sample_photon_kinematics_and_distribution():
    # Energy-momentum conservation: massless photon, on-shell recoil (rel. 1e-9), t recomputed
    # from the four-vectors (abs. 1e-9 E²); MC mean of ln|t| vs quad-weighted mean (4 σ).
    rng = np.random.default_rng(5)
    n, m_x, m_zp = 20000, 1.0, 49.0
    mass = C12.mass_mev
    e = np.full(n, 400.0)
    e[: n // 2] = rng.uniform(2.0, 3000.0, n // 2)
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    p4x = np.column_stack([e, np.sqrt(e**2 - m_x**2)[:, None] * d])
    gam, t = pk.sample_photon(rng, p4x, m_x, m_zp, C12)
    assert np.all(np.isfinite(gam)) and np.all(np.isfinite(t))
    np.testing.assert_allclose(gam[:, 0] ** 2 - np.sum(gam[:, 1:] ** 2, axis=1), 0.0, atol=1e-9 * 3000.0**2)
    rec = p4x + np.array([mass, 0, 0, 0]) - gam
    m_rec = np.sqrt(rec[:, 0] ** 2 - np.sum(rec[:, 1:] ** 2, axis=1))
    np.testing.assert_allclose(m_rec, mass, rtol=1e-9)
    dq = p4x - gam
    t_rec = dq[:, 0] ** 2 - np.sum(dq[:, 1:] ** 2, axis=1)
    assert np.all(np.abs(t_rec - t) <= 1e-9 * e**2)
    t_lo, t_hi = pk.t_range(e, m_x, C12)
    assert np.all((t >= t_lo) & (t <= t_hi))
    # distribution at fixed E = 400 MeV
    e0 = 400.0
    ts = t[n // 2 :]
    lo, hi = pk.t_range(e0, m_x, C12)
    f = lambda u: float(pk.dsigma_dt(e0, -math.exp(u), m_x, m_zp, 1.0, 1.0, C12)) * math.exp(u)  # noqa: E731
    a, b = math.log(-hi), math.log(-lo)
    norm = integrate.quad(f, a, b, limit=1000)[0]
    mean = integrate.quad(lambda u: u * f(u), a, b, limit=1000)[0] / norm
    var = integrate.quad(lambda u: (u - mean) ** 2 * f(u), a, b, limit=1000)[0] / norm
    u = np.log(-ts)
    assert abs(u.mean() - mean) < 4 * math.sqrt(var / len(u))
    assert u.var() == pytest.approx(var, rel=0.05, abs=0.0)
    # below threshold rows are zeros
    g0, t0 = pk.sample_photon(rng, np.array([[0.8, 0, 0, 0.0]]), 1.0, m_zp, C12)
    assert np.all(g0 == 0.0) and t0[0] == 0.0


def test_t_table_nodes_do_not_depend_on_the_sample():
    # The table's energy nodes sit on a fixed lattice in ln(E − E_th) (not between the sample's
    # own extremes): the t drawn for an event, given the same uniforms, must not change when an
    # extreme (very high or near-threshold) event is appended (exact equality).  On the previous
    # sample-range nodes this moved every event's t (correlated error across rows; mc_errors.md §6).
    m_x, m_zp = 1.0, 49.0
    shape = lambda ee, tt: pk.dsigma_dt(ee, tt, m_x, m_zp, 1.0, 1.0, C12)  # noqa: E731
    e = np.random.default_rng(3).uniform(50.0, 2000.0, 5000)
    base = pk.sample_t_table(np.random.default_rng(17), e, shape, m_x, 0.0, C12.mass_mev, C12.abs_t_cut)
    for extra in (9000.0, 1.0 + 1e-3):
        t = pk.sample_t_table(np.random.default_rng(17), np.append(e, extra), shape, m_x, 0.0,
                              C12.mass_mev, C12.abs_t_cut)
        np.testing.assert_array_equal(t[:-1], base)
    with pytest.raises(ParameterError, match="dx"):
        pk.sample_t_table(np.random.default_rng(1), e, shape, m_x, 0.0, C12.mass_mev, dx=0.0)

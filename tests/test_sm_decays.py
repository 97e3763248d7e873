"""Tests of mesonportal.production.sm_decays (SM π/K/μ decays aimed at a detector)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from mesonportal.constants import M_E, M_K, M_K0L, M_MU, M_PI, M_PI0, TAU_MU, C_LIGHT
from mesonportal.exceptions import ParameterError
from mesonportal.kinematics import boost, four_vector, invariant_mass, isotropic_directions
from mesonportal.production.sm_decays import (
    KL3_FORM_FACTORS,
    SM_CHANNELS,
    forced_massless_emission,
    iter_neutrino_blocks,
    kl3_dalitz_density,
    kl3_decay,
    kl3_lepton_spectrum,
    kl3_neutrino_spectrum,
    muon_decay,
    muon_neutrino_spectrum,
    neutrinos_towards_sphere,
    propagate_muons,
    two_body_decay_with_spin,
    two_body_massless_energy,
)
from mesonportal.sample import ParticleSample

CH = {c.label: c for c in SM_CHANNELS}


def _parents(rng, n, mass, pmax=5000.0):
    p = rng.uniform(0.0, pmax, n)[:, None] * isotropic_directions(rng, n)
    return four_vector(mass, p)


def _mdot(a, b):
    return a[:, 0] * b[:, 0] - np.einsum("ij,ij->i", a[:, 1:], b[:, 1:])


def test_two_body_energy_vs_analytic():
    # Analytic: E_ν = (m² − m_μ²) / (2 (E − p cos θ)) for π → μ ν (textbook two-body kinematics);
    # tolerance 1e-12 relative (the implementation uses a cancellation-free rewrite).
    rng = np.random.default_rng(3)
    par = _parents(rng, 10_000, M_PI, 3000.0)
    d = isotropic_directions(rng, 10_000)
    e = two_body_massless_energy(par, M_MU, d)
    p = np.linalg.norm(par[:, 1:], axis=1)
    cos_t = np.einsum("ij,ij->i", par[:, 1:], d) / np.where(p > 0, p, 1)
    expect = (M_PI**2 - M_MU**2) / (2 * (par[:, 0] - p * cos_t))
    np.testing.assert_allclose(e, expect, rtol=1e-12)


def test_forced_two_body_conserves_four_momentum():
    # The forced ν and the recoil μ (P − k) must form a valid decay: (P − k)² = m_μ² to 1e-9
    # relative (energy-momentum conservation by construction of E_ν).
    rng = np.random.default_rng(4)
    par = _parents(rng, 20_000, M_PI, 8000.0)
    vtx = rng.normal(0, 100, (20_000, 3))
    ch = CH["pi+ -> mu+ nu_mu"]
    k, fac = forced_massless_emission(rng, par, vtx, ch.neutrino_rest_energy, [0, 0, 5e4], 610.6)
    m2 = _mdot(par - k, par - k)
    np.testing.assert_allclose(m2, M_MU**2, rtol=1e-9)
    assert np.all(fac > 0) and np.all(np.isfinite(fac))
    np.testing.assert_allclose(_mdot(k, k) / k[:, 0] ** 2, 0.0, atol=1e-12)  # massless


@pytest.mark.parametrize("label", ["K+ -> pi0 e+ nu_e", "K+ -> pi0 mu+ nu_mu", "K0L -> pi+ mu- nu_mu~"])
def test_kl3_decay_conservation(label):
    # Σ daughters = parent four-momentum (1e-9 relative to E_parent); daughter masses
    # m_π, m_ℓ, 0 within 1e-6 relative in the lab (E² − p² rounding at GeV energies).
    rng = np.random.default_rng(5)
    ch = CH[label]
    par = _parents(rng, 20_000, ch.parent_mass, 6000.0)
    pi, lep, nu = kl3_decay(rng, par, ch)
    tot = pi + lep + nu
    assert np.max(np.abs(tot - par) / par[:, :1]) < 1e-9
    np.testing.assert_allclose(invariant_mass(pi), ch.pion_mass, rtol=1e-6)
    np.testing.assert_allclose(invariant_mass(lep), ch.lepton_mass, rtol=1e-4 if ch.lepton_mass < 1 else 1e-6)
    assert np.all(np.abs(_mdot(nu, nu)) < 1e-9 * nu[:, 0] ** 2)


def test_muon_decay_conservation_and_michel_means():
    # Conservation to 1e-9; at rest the mean energies are the V−A values (m_e → 0):
    # <E_e> = <E_ν_μ-type> = 7/20 m_μ (Michel, ρ = 3/4), <E_ν_e-type> = 3/10 m_μ.
    # Tolerance 5σ of the sample mean.
    rng = np.random.default_rng(6)
    n = 400_000
    rest = np.zeros((n, 4))
    rest[:, 0] = M_MU
    e, a, b = muon_decay(rng, rest)
    assert np.max(np.abs(e + a + b - rest)) < 1e-9 * M_MU
    for arr, mean in ((e, 0.35), (b, 0.35), (a, 0.30)):
        x = arr[:, 0]
        assert abs(x.mean() - mean * M_MU) < 5 * x.std() / np.sqrt(n)
    moving = _parents(rng, 10_000, M_MU, 4000.0)
    e, a, b = muon_decay(rng, moving)
    assert np.max(np.abs(e + a + b - moving) / moving[:, :1]) < 1e-9
    # tabulated samplers used for the forced neutrinos: mean x = 7/10 and 3/5 (analytic)
    for fl, mean in (("mu", 0.7), ("e", 0.6)):
        x = muon_neutrino_spectrum(fl).sample(rng, n)
        assert abs(x.mean() - mean) < 5 * x.std() / np.sqrt(n)
        assert muon_neutrino_spectrum(fl).mean() == pytest.approx(mean, rel=1e-6)


def _ke3_bin_integrals(edges, m_k, m_pi, m_l, lp, l0):
    """Independent numerical integration of the Dalitz density over E_π at fixed E_ν, with the
    E_π limits from the (π ℓ) two-body system recoiling against the ν."""

    def pion_range(en):
        s = m_k**2 - 2 * m_k * en
        rs = np.sqrt(s)
        epi_star = (s + m_pi**2 - m_l**2) / (2 * rs)
        pstar = np.sqrt(max((s - (m_l + m_pi) ** 2) * (s - (m_l - m_pi) ** 2), 0.0)) / (2 * rs)
        return ((m_k - en) * epi_star - en * pstar) / rs, ((m_k - en) * epi_star + en * pstar) / rs

    def g(en):
        lo, hi = pion_range(en)
        f = lambda ep: float(kl3_dalitz_density(ep, m_k - ep - en, m_k, m_pi, m_l, lp, l0))  # noqa: E731
        return integrate.quad(f, lo + 1e-12, hi - 1e-12, epsabs=0, epsrel=1e-9)[0]

    return np.array([integrate.quad(g, a, b, epsrel=1e-8)[0] for a, b in zip(edges[:-1], edges[1:])])


def test_ke3_neutrino_spectrum_vs_numerical_integration():
    # K+ → π0 e+ ν (K_e3, PDG λ+ = 0.0297): the sampled rest-frame E_ν spectrum (1e6 draws)
    # must match an independent double integration of the Dalitz density (χ² over 20 bins,
    # 19 dof, < 45 i.e. p ≈ 7e-4), and the tabulated pdf must match bin integrals to 1e-3.
    rng = np.random.default_rng(7)
    lp, l0 = KL3_FORM_FACTORS["K+"]
    spec = kl3_neutrino_spectrum(M_K, M_PI0, M_E, lp, l0)
    e_max = (M_K**2 - (M_E + M_PI0) ** 2) / (2 * M_K)
    edges = np.linspace(0, e_max, 21)
    ref = _ke3_bin_integrals(edges, M_K, M_PI0, M_E, lp, l0)
    ref /= ref.sum()
    n = 1_000_000
    counts = np.histogram(spec.sample(rng, n), bins=edges)[0]
    chi2 = np.sum((counts - n * ref) ** 2 / (n * ref))
    assert chi2 < 45, chi2
    tab = np.array([np.trapezoid(spec.pdf[(spec.x >= a) & (spec.x <= b)], spec.x[(spec.x >= a) & (spec.x <= b)])
                    for a, b in zip(edges[:-1], edges[1:])])
    np.testing.assert_allclose(tab / tab.sum(), ref, rtol=2e-3, atol=1e-5)
    # the form-factor slope matters: λ+ = 0 changes the spectrum beyond this precision
    flat = _ke3_bin_integrals(edges, M_K, M_PI0, M_E, 0.0, 0.0)
    assert np.max(np.abs(flat / flat.sum() - ref) / ref) > 0.01


def test_kmu3_over_ke3_width_ratio():
    # Integrating the same Dalitz density (PDG form, λ+, λ0 from PDG) gives
    # Γ(K_μ3)/Γ(K_e3) ≈ BR ratio 0.03352/0.0507 = 0.661 (K±) and 0.2704/0.4055 = 0.667 (K_L)
    # (PDG 2022).  Tolerance 2% (radiative corrections, linear form factors).
    for key, m_k, m_pi, br in (("K+", M_K, M_PI0, 0.03352 / 0.0507), ("K0L", M_K0L, M_PI, 0.2704 / 0.4055)):
        lp, l0 = KL3_FORM_FACTORS[key]
        e_mu = _ke3_bin_integrals(np.array([0, (m_k**2 - (M_MU + m_pi) ** 2) / (2 * m_k)]), m_k, m_pi, M_MU, lp, l0)
        e_e = _ke3_bin_integrals(np.array([0, (m_k**2 - (M_E + m_pi) ** 2) / (2 * m_k)]), m_k, m_pi, M_E, lp, l0)
        assert e_mu[0] / e_e[0] == pytest.approx(br, rel=0.02)


def test_kl3_decay_matches_tabulated_spectrum():
    # Accept–reject full decays and the tabulated marginal must give the same E_ν* spectrum
    # (K_μ3, where the m_μ² terms matter): χ² over 15 bins < 40.
    rng = np.random.default_rng(8)
    ch = CH["K+ -> pi0 mu+ nu_mu"]
    n = 300_000
    rest = np.zeros((n, 4))
    rest[:, 0] = M_K
    _, _, nu = kl3_decay(rng, rest, ch)
    spec = kl3_neutrino_spectrum(M_K, M_PI0, M_MU, ch.lambda_plus, ch.lambda_zero)
    edges = np.linspace(0, spec.x[-1], 16)
    a = np.histogram(nu[:, 0], bins=edges)[0]
    b = np.histogram(spec.sample(rng, n), bins=edges)[0]
    chi2 = np.sum((a - b) ** 2 / np.clip(a + b, 1, None))
    assert chi2 < 40, chi2


def test_muon_spin_from_pion_decay():
    # V−A: μ+ from π+ has helicity −1 in the pion frame → spin opposite to its momentum there.
    # Covariant spin must satisfy s·p = 0, s² = −1 (1e-9).
    rng = np.random.default_rng(9)
    par = _parents(rng, 5000, M_PI, 3000.0)
    mu, s = two_body_decay_with_spin(rng, par, M_MU, -1.0)
    np.testing.assert_allclose(_mdot(s, mu) / mu[:, 0], 0.0, atol=1e-9)
    np.testing.assert_allclose(_mdot(s, s), -1.0, rtol=1e-9)
    beta = par[:, 1:] / par[:, :1]
    mu_r, s_r = boost(mu, -beta), boost(s, -beta)
    cos = np.einsum("ij,ij->i", mu_r[:, 1:], s_r[:, 1:]) / np.linalg.norm(mu_r[:, 1:], axis=1) / np.linalg.norm(s_r[:, 1:], axis=1)
    np.testing.assert_allclose(cos, -1.0, atol=1e-7)


def test_muon_propagation():
    # μ+ along z from z=0 to an absorber at 5000 cm: in-flight fraction 1 − exp(−L/λ) with
    # λ = (p/m) c τ_μ (exact); at-rest decays sit on the absorber plane; μ− at rest × (1 − capture).
    rng = np.random.default_rng(10)
    n = 100_000
    p = 300.0
    p4 = four_vector(M_MU, np.tile([0.0, 0.0, p], (n, 1)))
    vtx = np.zeros((n, 3))
    pdg = np.where(np.arange(n) % 2 == 0, -13, 13)
    fl, rs = propagate_muons(rng, p4, vtx, pdg, np.ones(n), np.zeros((n, 4)), np.zeros(n, bool), 5000.0,
                             mu_minus_capture_fraction=0.9)
    lam = p / M_MU * TAU_MU * C_LIGHT
    pf = 1 - np.exp(-5000.0 / lam)
    assert fl.weight.sum() == pytest.approx(n * pf, rel=1e-12)
    plus = rs.pdgid == -13
    assert rs.weight[plus].sum() == pytest.approx(n / 2 * (1 - pf), rel=1e-12)
    assert rs.weight[~plus].sum() == pytest.approx(n / 2 * (1 - pf) * 0.1, rel=1e-12)
    np.testing.assert_allclose(rs.vertex[:, 2], 5000.0)
    z = fl.vertex[:, 2]
    assert z.max() <= 5000.0
    # truncated exponential mean: λ − L e^{−L/λ}/(1 − e^{−L/λ})
    mean = lam - 5000.0 * np.exp(-5000.0 / lam) / pf
    assert abs(z.mean() - mean) < 5 * z.std() / np.sqrt(n)


def _brute_force_polarised_muon_nus(rng, mu, spin, center, radius, flavour, plus):
    """Unforced polarised μ decays: isotropic rest-frame direction, x from the spectrum, kept
    with probability (1 + a cos θ*)/(1 + |a|max) (θ* to the spin boosted with kinematics.boost),
    boosted to the lab; return (E_lab, chord) of ν hitting the sphere."""
    from mesonportal.propagation.geometry import ray_sphere_intersection

    n = len(mu)
    beta = mu[:, 1:] / mu[:, :1]
    s_rest = boost(spin, -beta)[:, 1:]
    s_rest /= np.linalg.norm(s_rest, axis=1)[:, None]
    x = muon_neutrino_spectrum(flavour).sample(rng, n)
    d = isotropic_directions(rng, n)
    cos = np.einsum("ij,ij->i", d, s_rest)
    sgn = 1.0 if plus else -1.0
    a = sgn * (2 * x - 1) / (3 - 2 * x) if flavour == "mu" else -sgn * np.ones(n)
    keep = rng.random(n) * 2.0 < 1 + a * cos  # |a| ≤ 1
    k = np.column_stack([0.5 * M_MU * x, d * (0.5 * M_MU * x)[:, None]])
    k = boost(k[keep], beta[keep])
    vtx = np.zeros((len(k), 3))
    res = ray_sphere_intersection(vtx, k[:, 1:] / k[:, :1], center, radius)
    return k[:, 0], res.chord, keep


def test_polarised_forced_vs_brute_force():
    # Polarised μ+ (from π+ decays) in flight: the forced-direction estimator with
    # cos θ* = −(k·s)/E* (lab four-products) must agree with brute-force accept–reject decays
    # using an explicitly boosted spin (track-length flux per bin, pulls |z| < 5, χ²/ndf < 2).
    from mesonportal.propagation.geometry import ray_sphere_intersection, cone_to_sphere

    rng = np.random.default_rng(12)
    n_par = 20_000
    par = four_vector(M_PI, np.column_stack([rng.normal(0, 20, n_par), rng.normal(0, 20, n_par),
                                             rng.uniform(50, 400, n_par)]))
    mu, spin = two_body_decay_with_spin(rng, par, M_MU, -1.0)
    center, radius = np.array([0.0, 0.0, 300.0]), 150.0
    edges = np.linspace(0, 250, 11)
    for flavour in ("e", "mu"):
        reps = 40
        mu_b, sp_b = np.repeat(mu, reps, 0), np.repeat(spin, reps, 0)
        e_b, ch_b, _ = _brute_force_polarised_muon_nus(rng, mu_b, sp_b, center, radius, flavour, True)
        # accept–reject with envelope 2: each accepted decay carries weight 2/reps
        hb = np.histogram(e_b, edges, weights=2 * ch_b / reps)[0]
        hb2 = np.histogram(e_b, edges, weights=(2 * ch_b / reps) ** 2)[0]
        reps_f = 4
        mu_f, sp_f = np.repeat(mu, reps_f, 0), np.repeat(spin, reps_f, 0)
        x = muon_neutrino_spectrum(flavour).sample(rng, len(mu_f))
        a = (2 * x - 1) / (3 - 2 * x) if flavour == "mu" else -np.ones(len(x))
        vtx = np.zeros((len(mu_f), 3))
        k, fac = forced_massless_emission(rng, mu_f, vtx, 0.5 * M_MU * x, center, radius, spin_lab=sp_f, asymmetry=a,
                                          cone=cone_to_sphere(vtx, center, radius))
        chord = ray_sphere_intersection(vtx, k[:, 1:] / k[:, :1], center, radius).chord
        w = fac * chord / reps_f
        hf = np.histogram(k[:, 0], edges, weights=w)[0]
        hf2 = np.histogram(k[:, 0], edges, weights=w**2)[0]
        ok = hb2 > 0
        z = (hf - hb)[ok] / np.sqrt(hf2 + hb2)[ok]
        assert np.max(np.abs(z)) < 5 and np.mean(z**2) < 2, (flavour, z)
        # the polarisation is visible: the unpolarised forced spectrum is incompatible
        k0, fac0 = forced_massless_emission(rng, mu_f, vtx, 0.5 * M_MU * x, center, radius)
        chord0 = ray_sphere_intersection(vtx, k0[:, 1:] / k0[:, :1], center, radius).chord
        w0 = fac0 * chord0 / reps_f
        h0 = np.histogram(k0[:, 0], edges, weights=w0)[0]
        h02 = np.histogram(k0[:, 0], edges, weights=w0**2)[0]
        z0 = (h0 - hb)[ok] / np.sqrt(h02 + hb2)[ok]
        assert np.mean(z0**2) > 10, (flavour, z0)


def test_bad_pdg_and_options():
    s = ParticleSample(np.array([[1000.0, 0, 0, 990.0]]), np.zeros((1, 3)), 2212, 1.0)
    with pytest.raises(ParameterError, match="pdgid"):
        neutrinos_towards_sphere(s, [0, 0, 1e4], 100.0, 5000.0, np.random.default_rng(0))
    s = ParticleSample(four_vector(M_PI, np.array([[0, 0, 500.0]])), np.zeros((1, 3)), 211, 1.0)
    with pytest.raises(ParameterError, match="capture"):
        neutrinos_towards_sphere(s, [0, 0, 1e4], 100.0, 5000.0, np.random.default_rng(0),
                                 mu_minus_capture_fraction=1.5)
    # π0/η produce no neutrinos: an empty, valid sample
    s = ParticleSample(four_vector(M_PI0, np.array([[0, 0, 500.0]])), np.zeros((1, 3)), 111, 1.0)
    assert len(neutrinos_towards_sphere(s, [0, 0, 1e4], 100.0, 5000.0, np.random.default_rng(0))) == 0


def test_flavours_and_parents():
    # π+ → ν_μ; μ+ → ν_e + ν̄_μ; π− → ν̄_μ; μ− → ν̄_e + ν_μ; K0L → both ν_e and ν̄_e.
    rng = np.random.default_rng(13)
    def run(pdg, mass):
        s = ParticleSample(four_vector(mass, np.tile([0, 0, 2000.0], (2000, 1))), np.zeros((2000, 3)), pdg, 1e-3)
        nus = neutrinos_towards_sphere(s, [0, 0, 2e4], 300.0, 5000.0, rng, mu_minus_capture_fraction=0.0)
        return {(int(p), int(q)) for p, q in zip(nus.pdgid, nus.parent)}
    assert run(211, M_PI) == {(14, 211), (12, 211), (12, -13), (-14, -13)}
    assert run(-211, M_PI) == {(-14, -211), (-12, -211), (-12, 13), (14, 13)}
    assert {p for p, _ in run(130, M_K0L)} == {12, -12, 14, -14}


def test_kl3_lepton_spectrum_vs_decays_and_integration():
    # K_μ3 muon energies in the kaon frame (used for the muons of K± and K0_L μ3 decays):
    # tabulated E_ℓ marginal vs (i) full accept–reject decays kl3_decay (χ² over 15 bins < 40),
    # (ii) independent scipy double integration of the Dalitz density over E_ℓ bins (bin
    # fractions to 2e-3 relative, as the neutrino-spectrum test).  Range m_μ … E_max exact.
    rng = np.random.default_rng(41)
    for label in ("K+ -> pi0 mu+ nu_mu", "K0L -> pi+ mu- nu_mu~"):
        ch = CH[label]
        spec = kl3_lepton_spectrum(ch.parent_mass, ch.pion_mass, ch.lepton_mass, ch.lambda_plus, ch.lambda_zero)
        e_max = (ch.parent_mass**2 + M_MU**2 - ch.pion_mass**2) / (2 * ch.parent_mass)
        assert spec.x[0] == pytest.approx(M_MU, rel=1e-12) and spec.x[-1] == pytest.approx(e_max, rel=1e-12)
        n = 200_000
        rest = np.zeros((n, 4))
        rest[:, 0] = ch.parent_mass
        _, lep, _ = kl3_decay(rng, rest, ch)
        edges = np.linspace(M_MU, e_max, 16)
        a = np.histogram(lep[:, 0], bins=edges)[0]
        b = np.histogram(spec.sample(rng, n), bins=edges)[0]
        assert np.sum((a - b) ** 2 / np.clip(a + b, 1, None)) < 40
        m_k, m_pi, m_l = ch.parent_mass, ch.pion_mass, ch.lepton_mass

        def g(el):  # ∫ ρ dE_π at fixed E_ℓ over the exact E_π range (ℓ recoils against π ν)
            s = m_k**2 + m_l**2 - 2 * m_k * el
            rs = np.sqrt(s)
            epi_star = (s + m_pi**2) / (2 * rs)
            pstar = (s - m_pi**2) / (2 * rs)
            pl = np.sqrt(max(el**2 - m_l**2, 0.0))
            lo = ((m_k - el) * epi_star - pl * pstar) / rs
            hi = ((m_k - el) * epi_star + pl * pstar) / rs
            f = lambda ep: float(kl3_dalitz_density(ep, el, m_k, m_pi, m_l, ch.lambda_plus, ch.lambda_zero))  # noqa: E731
            return integrate.quad(f, lo + 1e-12, hi - 1e-12, epsabs=0, epsrel=1e-9)[0]

        ref = np.array([integrate.quad(g, lo, hi, epsrel=1e-8)[0] for lo, hi in zip(edges[:-1], edges[1:])])
        cdf = np.interp(edges, spec.x, np.concatenate([[0], np.cumsum(0.5 * (spec.pdf[1:] + spec.pdf[:-1]) * np.diff(spec.x))]))
        np.testing.assert_allclose(np.diff(cdf) / np.diff(cdf).sum(), ref / ref.sum(), rtol=2e-3, atol=1e-5)


def _mixed_beam(rng, n, zmax=5000.0):
    from mesonportal.constants import mass

    pdg = rng.choice([211, -211, 321, -321, 130, 111], n, p=[0.5, 0.15, 0.15, 0.05, 0.1, 0.05])
    masses = np.array([mass(int(p)) for p in pdg])
    p3 = np.column_stack([rng.normal(0, 60, n), rng.normal(0, 60, n), rng.uniform(100, 4000, n)])
    vtx = np.column_stack([rng.normal(0, 20, n), rng.normal(0, 20, n), rng.uniform(0, zmax, n)])
    return ParticleSample(four_vector(masses, p3), vtx, pdg, rng.uniform(0.5, 1.5, n) * 1e-3)


def test_batched_blocks_match_single_emission_formulas():
    # Each forced ν of the batched engine (iter_neutrino_blocks, directions requested) must obey
    # the single-emission formulas: unit direction inside the cone of its vertex, lab energy
    # E = E* M/(E_P − p_P·n̂) for two-body channels (1e-10 relative), weight =
    # w BR (Ω/4π)(E/E*)² / n_nu (1e-10), chord = ray–sphere chord along n̂ (1e-9 relative to R)
    # — also for parents decaying inside the detector sphere (chord from the ray there).
    rng = np.random.default_rng(42)
    n = 3000
    center, radius = np.array([0.0, 0.0, 3000.0]), 400.0
    mes = _mixed_beam(rng, n, zmax=3300.0)  # some decay points inside the sphere
    from mesonportal.propagation.geometry import cone_to_sphere, ray_sphere_intersection

    pi = mes.select(mes.pdgid == 211)
    cone = cone_to_sphere(pi.vertex, center, radius)
    assert cone.one_minus_cos.max() == 2.0  # inside points present
    blocks = list(iter_neutrino_blocks(mes, center, radius, 3500.0, rng, with_directions=True, n_nu_per_decay=2))
    bl = blocks[0]
    assert bl.parent == 211 and list(bl.nu_pdg) == [14, 14, 12, 12] and bl.energy.shape == (4, len(pi))
    for row, ch in enumerate([CH["pi+ -> mu+ nu_mu"]] * 2 + [CH["pi+ -> e+ nu_e"]] * 2):
        d = bl.direction[row]
        np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0, rtol=1e-12)
        assert np.all(np.einsum("ij,ij->i", d, cone.axis) >= cone.cos_half_angle - 1e-12)
        e = two_body_massless_energy(pi.p4, ch.lepton_mass, d)
        np.testing.assert_allclose(bl.energy[row], e, rtol=1e-10)
        w = pi.weight * ch.branching_ratio / 2 * cone.solid_angle / (4 * np.pi) * (e / ch.neutrino_rest_energy) ** 2
        np.testing.assert_allclose(bl.weight[row], w, rtol=1e-10)
        ref = ray_sphere_intersection(pi.vertex, d, center, radius).chord
        assert np.max(np.abs(bl.chord[row] - ref)) < 1e-9 * radius
    # every block (mesons, μ in flight, μ at rest): chord consistent with its directions
    for bl in blocks:
        k, m = bl.energy.shape
        org = np.broadcast_to(bl.vertex, (k, m, 3)).reshape(-1, 3)
        ref = ray_sphere_intersection(org, bl.direction.reshape(-1, 3), center, radius).chord
        assert np.max(np.abs(bl.chord.reshape(-1) - ref)) < 1e-9 * radius
        assert np.all(np.isfinite(bl.energy)) and np.all(bl.weight >= 0) and np.all(bl.energy > 0)
    assert {bl.parent for bl in blocks} == {211, -211, 321, -321, 130, 13, -13}


def test_same_seed_same_output():
    # Reproducibility: the same seed gives bit-identical neutrinos; another seed does not.
    mes = _mixed_beam(np.random.default_rng(43), 2000)
    a = neutrinos_towards_sphere(mes, [0, 0, 54100.0], 610.6, 5000.0, np.random.default_rng(5), chunk_size=700)
    b = neutrinos_towards_sphere(mes, [0, 0, 54100.0], 610.6, 5000.0, np.random.default_rng(5), chunk_size=700)
    c = neutrinos_towards_sphere(mes, [0, 0, 54100.0], 610.6, 5000.0, np.random.default_rng(6), chunk_size=700)
    assert len(a) == len(b) and np.array_equal(a.p4, b.p4) and np.array_equal(a.weight, b.weight)
    assert np.array_equal(a.vertex, b.vertex) and np.array_equal(a.pdgid, b.pdgid)
    assert not np.array_equal(a.p4, c.p4)


def test_kmu3_muon_energy_in_kaon_frame():
    # Muons of K_μ3 in the batched engine: boosted back to the kaon frame (kinematics.boost with
    # −β) they must follow kl3_lepton_spectrum (mean within 5σ of the sample mean) and stay on
    # the mass shell (1e-6); K+ at rest → the lab is the kaon frame.
    from mesonportal.production.sm_decays import _kl3_muons

    rng = np.random.default_rng(44)
    ch = CH["K+ -> pi0 mu+ nu_mu"]
    n = 200_000
    par = _parents(rng, n, M_K, 3000.0)
    mu = _kl3_muons(rng, np.ascontiguousarray(par.T), invariant_mass(par), ch).T
    np.testing.assert_allclose(invariant_mass(mu), M_MU, rtol=1e-6)
    e_rest = boost(mu, -par[:, 1:] / par[:, :1])[:, 0]
    spec = kl3_lepton_spectrum(M_K, M_PI0, M_MU, ch.lambda_plus, ch.lambda_zero)
    assert abs(e_rest.mean() - spec.mean()) < 5 * e_rest.std() / np.sqrt(n)

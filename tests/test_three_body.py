"""Tests of the generic three-body machinery (mesonportal.production.three_body).

References: PDG Review "Kinematics" §49.4.3 (Dalitz plot, dΓ = |M|²/(256π³M³) dm²₁₂ dm²₂₃);
analytic phase-space volumes derived in the comments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from mesonportal import constants as C
from mesonportal.exceptions import KinematicsError, ParameterError
from mesonportal.models.scalar import lepton_emission_msq
from mesonportal.production.three_body import ThreeBodyTable, dalitz_limits_23, dalitz_width


def one(x, y):
    return np.ones_like(x)


def scalar_msq(m_x, m_l=C.M_MU, parity=1, meson="pi"):
    m_m, f, v = (C.M_PI, C.F_PI, C.V_UD) if meson == "pi" else (C.M_K, C.F_K, C.V_US)
    return m_m, lepton_emission_msq(m_m, m_l, m_x, 1.0, f, v, parity)


def test_massless_phase_space_volume():
    # Analytic: for m1 = m2 = m3 = 0 the Dalitz region is the triangle x, y >= 0, x + y <= M²,
    # area M⁴/2, so Γ(|M|² = 1) = M⁴/2 / (256 π³ M³) = M / (512 π³).  Tolerance 1e-10 relative.
    M = 139.57
    # m = 0 exactly is allowed; the mapping is linear then
    assert dalitz_width(M, 0.0, 0.0, 0.0, one) == pytest.approx(M / (512 * math.pi**3), rel=1e-10)


@pytest.mark.parametrize("m3", [0.5, 10.0, 60.0, 130.0])
def test_phase_space_volume_one_massive(m3):
    # Analytic (derived): m1 = m2 = 0, m3 = m: hi − lo = (M² − x)(x − m²)/x, so
    # ∫ dx (hi − lo) = (M⁴ − m⁴)/2 − M² m² ln(M²/m²).  Tolerance 1e-8 relative.
    M = 139.57
    area = (M**4 - m3**4) / 2 - M**2 * m3**2 * math.log(M**2 / m3**2)
    assert dalitz_width(M, 0.0, 0.0, m3, one) == pytest.approx(area / (256 * math.pi**3 * M**3), rel=1e-8)


@pytest.mark.parametrize("masses", [(C.M_MU, 0.0, 1.0), (C.M_MU, 0.0, 30.0), (C.M_E, 0.0, 5.0), (20.0, 30.0, 40.0)])
def test_phase_space_volume_massive_vs_scipy(masses):
    # Independent 1-D adaptive quadrature of the Dalitz-region area with the PDG limits; 1e-7 rel.
    M = C.M_PI
    m1, m2, m3 = masses
    a, b = (m1 + m3) ** 2, (M - m2) ** 2

    def width(x):
        lo, hi = dalitz_limits_23(M, m1, m2, m3, np.array([x]))
        return float(hi[0] - lo[0])

    area, _ = integrate.quad(width, a, b, limit=400, epsabs=0, epsrel=1e-11)
    assert dalitz_width(M, m1, m2, m3, one) == pytest.approx(area / (256 * math.pi**3 * M**3), rel=1e-7)


@pytest.mark.parametrize("m_l,m_x", [(C.M_MU, 0.01), (C.M_E, 0.01), (C.M_E, 30.0), (C.M_MU, 33.0)])
def test_width_quadrature_converged(m_l, m_x):
    # Gauss–Legendre in the mapped variables: default n=96 vs n=400 agree to 1e-9 (steep
    # lepton-propagator peak 1/(q² − m_ℓ²)² included).
    M, msq = scalar_msq(m_x, m_l)
    assert dalitz_width(M, m_l, 0, m_x, msq) == pytest.approx(dalitz_width(M, m_l, 0, m_x, msq, n=400), rel=1e-9)


@pytest.mark.parametrize("m_l,m_x,parity", [(C.M_MU, 1.0, 1), (C.M_E, 10.0, -1), (C.M_MU, 17.0, -1)])
def test_dgamma_dex_integrates_to_width(m_l, m_x, parity):
    # ∫ dΓ/dE_X dE_X = Γ (two independent quadratures); 1e-6 relative.
    M, msq = scalar_msq(m_x, m_l, parity)
    t = ThreeBodyTable(M, m_l, 0.0, m_x, msq)
    lo, hi = t.e3_range
    val, _ = integrate.quad(lambda e: float(t.dgamma_dex(e)), lo, hi, limit=200, epsrel=1e-10)
    assert val == pytest.approx(t.width, rel=1e-6)
    assert np.all(t.dgamma_dex(np.array([lo - 1.0, hi + 1.0])) == 0.0)


@pytest.mark.parametrize("m_l,m_x,parity,meson", [(C.M_MU, 1.0, 1, "pi"), (C.M_E, 5.0, -1, "pi"),
                                                  (C.M_MU, 30.0, 1, "K")])
def test_energy_momentum_conservation(m_l, m_x, parity, meson):
    # Every sampled decay: Σ p = (M, 0) and p_i² = m_i², relative 1e-9 of M.
    M, msq = scalar_msq(m_x, m_l, parity, meson)
    t = ThreeBodyTable(M, m_l, 0.0, m_x, msq)
    p1, p2, p3 = t.sample(np.random.default_rng(1), 20000)
    tot = p1 + p2 + p3
    assert np.max(np.abs(tot[:, 0] - M)) < 1e-9 * M
    assert np.max(np.abs(tot[:, 1:])) < 1e-9 * M
    for p, m in ((p1, m_l), (p2, 0.0), (p3, m_x)):
        m2 = p[:, 0] ** 2 - np.sum(p[:, 1:] ** 2, axis=1)
        assert np.max(np.abs(m2 - m * m)) < 1e-9 * M * M
    # isotropy of the orientation: <cos θ_X> = 0 within 5σ
    cz = p3[:, 3] / np.linalg.norm(p3[:, 1:], axis=1)
    assert abs(cz.mean()) < 5 / math.sqrt(3 * len(cz))


def _chi2_pvalue(sample, edges, expected_prob):
    counts, _ = np.histogram(sample, edges)
    exp = expected_prob / expected_prob.sum() * len(sample)
    chi2 = float(np.sum((counts - exp) ** 2 / exp))
    return chi2, stats.chi2.sf(chi2, len(counts) - 1)


def _bin_integrals(f, edges, n=16):
    x, w = np.polynomial.legendre.leggauss(n)
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        pts = 0.5 * (b - a) * x + 0.5 * (a + b)
        out.append(0.5 * (b - a) * np.sum(w * f(pts)))
    return np.array(out)


@pytest.mark.parametrize("m_l,m_x,parity,meson", [(C.M_MU, 1.0, 1, "pi"), (C.M_MU, 10.0, -1, "pi"),
                                                  (C.M_E, 1.0, 1, "pi"), (C.M_MU, 5.0, 1, "K")])
def test_sampled_ex_spectrum_matches_analytic(m_l, m_x, parity, meson):
    # χ² of a 40-bin E_X histogram (2e5 decays, sample_dark and sample) against ∫_bin dΓ/dE_X;
    # require p > 1e-4 (the sampler is exact up to envelope violations, which must be 0).
    M, msq = scalar_msq(m_x, m_l, parity, meson)
    t = ThreeBodyTable(M, m_l, 0.0, m_x, msq)
    lo, hi = t.e3_range
    edges = np.linspace(lo, hi, 41)
    prob = _bin_integrals(t.dgamma_dex, edges)
    rng = np.random.default_rng(7)
    for ex in (t.sample_dark(rng, 200_000)[:, 0], t.sample(rng, 200_000)[2][:, 0]):
        chi2, p = _chi2_pvalue(ex, edges, prob)
        assert p > 1e-4, f"chi2={chi2:.1f}"
    assert t.envelope_violations == 0


def test_sampled_m13_marginal_matches_quadrature():
    # The steep variable q² = m²₁₃ (electron channel, m_X = 1 MeV: |M|² ∝ 1/(q² − m_e²)² over
    # four decades): histogram in log(q² − m_e²) vs dΓ/dm²₁₃ = ∫ dm²₂₃ |M|² /(256π³M³); p > 1e-4.
    m_l, m_x = C.M_E, 1.0
    M, msq = scalar_msq(m_x, m_l)
    t = ThreeBodyTable(M, m_l, 0.0, m_x, msq)
    gx, gw = np.polynomial.legendre.leggauss(32)

    def dgdx(x):
        lo, hi = dalitz_limits_23(M, m_l, 0.0, m_x, x)
        y = lo[:, None] + 0.5 * (gx + 1)[None, :] * (hi - lo)[:, None]
        return (msq(np.repeat(x[:, None], len(gx), 1), y) @ (0.5 * gw)) * (hi - lo)

    a, b = (m_l + m_x) ** 2, M**2
    u_edges = np.linspace(math.log(a - m_l**2), math.log(b - m_l**2), 31)
    x_edges = m_l**2 + np.exp(u_edges)
    prob = _bin_integrals(dgdx, x_edges, n=24)
    p1, p2, p3 = t.sample(np.random.default_rng(3), 200_000)
    q = p1 + p3
    x13 = q[:, 0] ** 2 - np.sum(q[:, 1:] ** 2, axis=1)
    chi2, p = _chi2_pvalue(x13, x_edges, prob)
    assert p > 1e-4, f"chi2={chi2:.1f}"
    # and the tabulated width equals the integral of the marginal (1e-6)
    assert prob.sum() / (256 * math.pi**3 * M**3) == pytest.approx(t.width, rel=1e-6)


def test_closed_decay():
    # M <= m1 + m2 + m3: not an error; zero width, zero spectrum, sampling refused.
    t = ThreeBodyTable(C.M_PI, C.M_MU, 0.0, C.M_PI - C.M_MU, one)
    assert not t.is_open and t.width == 0.0
    assert dalitz_width(C.M_PI, C.M_MU, 0.0, 40.0, one) == 0.0
    assert np.all(t.dgamma_dex(np.array([10.0, 20.0])) == 0.0)
    with pytest.raises(KinematicsError):
        t.sample(np.random.default_rng(0), 10)


def test_bad_input():
    with pytest.raises(ParameterError, match="m3"):
        ThreeBodyTable(C.M_PI, C.M_MU, 0.0, -1.0, one)
    with pytest.raises(ParameterError, match="m_parent"):
        dalitz_width(float("nan"), 0, 0, 0, one)
    with pytest.raises(ParameterError, match="non-finite"), np.errstate(divide="ignore"):
        dalitz_width(C.M_PI, 0, 0, 1.0, lambda x, y: x / 0.0)


def test_envelope_violations_are_counted():
    # A spike narrower than a sampling cell is missed by the 3×3 cell lattice with safety 1:
    # the table must report it (this is the only approximation of the sampler).
    M = 100.0

    def spiky(x, y):
        return 1.0 + 1e4 * np.exp(-(((x - 2501.3) / 1.0) ** 2))

    t = ThreeBodyTable(M, 0.0, 0.0, 0.0, spiky, n_grid=8, safety=1.0)
    t.sample_dark(np.random.default_rng(0), 20000)
    assert t.envelope_violations > 0


def test_cached_table_round_trip_is_identical(tmp_path, monkeypatch):
    """A table reloaded from the on-disk cache samples exactly like the freshly built one
    (same seed -> bitwise identical four-momenta) and has the same width."""
    from mesonportal.production.three_body import ThreeBodyTable, cached_three_body_table

    monkeypatch.setenv("MESONPORTAL_CACHE_DIR", str(tmp_path))
    calls = {"n": 0}

    def msq(x, y):
        calls["n"] += 1
        return 1.0 + 0.3 * x / 139.57**2 + 0.1 * y / 139.57**2

    key = {"test": "toy"}
    built = cached_three_body_table(key, 139.57, 105.66, 0.0, 5.0, msq, n_grid=32)
    n_build = calls["n"]
    assert list(tmp_path.glob("tables/three-body-*.npz"))
    loaded = cached_three_body_table(key, 139.57, 105.66, 0.0, 5.0, msq, n_grid=32)
    assert calls["n"] == n_build  # no |M|^2 evaluation on the grid when reloading
    assert loaded.width == built.width
    a = built.sample(np.random.default_rng(3), 1000)
    b = loaded.sample(np.random.default_rng(3), 1000)
    for u, v in zip(a, b):
        assert np.array_equal(u, v)
    fresh = ThreeBodyTable(139.57, 105.66, 0.0, 5.0, msq, n_grid=32)
    assert fresh.width == built.width

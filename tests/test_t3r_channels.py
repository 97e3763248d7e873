"""U(1)_T3R annihilation channels with t/u-channel η exchange, the WZW π⁰γ vertex and the A′–π⁰
mixing (issue #15 follow-up, docs/t3r.md §3.3).  Each test states its reference and tolerance."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mesonportal import constants as C
from mesonportal.cli.main import main
from mesonportal.models.t3r import annihilation as A
from mesonportal.models.t3r.model import T3RPoint
from mesonportal.models.t3r.relic import (
    channel_fractions,
    channel_thresholds,
    relic_density,
    sigma_channels,
    sigma_v_thermal,
)
from mesonportal.models.t3r.widths import aprime_widths, total_width

#: heavy-DM point where every bosonic channel is open at rest: (m_A', m_phi', m_eta) = (40, 30, 100) MeV
HEAVY = T3RPoint(40.0, 30.0, 100.0, v_gev=10.0)
M = 100.0


def test_trace_formula_matches_explicit_spinors():
    # Sum_spins |v~(p2) M u(p1)|^2 = Tr[M (p1/ + m) M~ (p2/ - m)] (Dirac completeness relations) checked
    # against explicit Dirac-representation spinors for random complex 4x4 M; tolerance 1e-10
    rng = np.random.default_rng(7)
    g = A._GAM
    sig = A._SIG
    m = 40.0

    def spinor(p, s, anti):
        chi = np.eye(2)[s]
        sp = sum(p[i + 1] * sig[i] for i in range(3))
        a, b = chi, sp @ chi / (p[0] + m)
        return np.sqrt(p[0] + m) * (np.concatenate([b, a]) if anti else np.concatenate([a, b]))

    pv = np.array([0.3, -0.5, 0.7]) * 30.0
    p1 = np.array([math.sqrt(m * m + pv @ pv), *pv])
    p2 = np.array([math.sqrt(m * m + pv @ pv), *(-pv)])
    for _ in range(3):
        mat = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
        tot = sum(abs(spinor(p2, s2, True).conj() @ g[0] @ mat @ spinor(p1, s1, False)) ** 2
                  for s1 in range(2) for s2 in range(2))
        assert float(A.spin_sum(mat, p1, p2, m)) == pytest.approx(tot, rel=1e-10)


@pytest.mark.parametrize("channel", ["A' A'", "phi' A'", "pi0 phi'", "pi0 A'"])
def test_high_energy_gauge_cancellation(channel):
    # Unitarity / Goldstone-boson equivalence (Cornwall, Levin, Tiktopoulos, PRD 10 (1974) 1145;
    # Lee, Quigg, Thacker, PRD 16 (1977) 1519): with m_A' = 2 sqrt2 g V, y_eta = m/(sqrt2 V),
    # g_phi'A'A' = sqrt2 m_A'^2/V and the A'-pi0 mixing 2 g f_pi, the longitudinal growth ~ s of the
    # t/u-channel |M|^2 must cancel against the s-channel diagrams.  Full: |M|^2 constant from
    # sqrt(s) = 10 to 100 GeV within 2 %; without the s-channel diagrams it grows like s (x100 within 5 %).
    lo, hi = 1e4**2, 1e5**2
    full = [float(A.msq_boson_channel(HEAVY, M, channel, s, 0.3)) for s in (lo, hi)]
    bad = [float(A.msq_boson_channel(HEAVY, M, channel, s, 0.3, drop=("s", "s2"))) for s in (lo, hi)]
    assert full[1] / full[0] == pytest.approx(1.0, rel=0.02)
    assert bad[1] / bad[0] == pytest.approx(100.0, rel=0.05)
    assert bad[1] / full[1] > 1e3


@pytest.mark.parametrize("channel,wave", [("phi' phi'", "p"), ("A' A'", "s"), ("phi' A'", "s"), ("pi0 gamma", "p"),
                                          ("pi0 phi'", "s"), ("pi0 A'", "p"), ("gamma gamma (pi0)", "s")])
def test_threshold_partial_wave(channel, wave):
    # A Majorana pair at rest is 1S0 (J^PC = 0-+): two identical CP-even scalars (phi'phi'), pi0 A' and
    # the C-odd pi0 gamma (vector part of A') need L = 1 -> sigma v ~ v^2 (p-wave); A'A', phi'A' (axial
    # A' couplings to eta), pi0 phi' and pi0* -> gamma gamma are s-wave (e.g. Kumar & Marfatia,
    # arXiv:1305.1611).  sigma p_i (~ sigma v) at p_i = 0.01 and 0.1 MeV: ratio 1 (s) or 100 (p), 1 %.
    key = A.CHANNEL_KEYS[channel]
    sv = [float(sigma_channels(HEAVY, M, np.array([4 * (M * M + p * p)]))[key][0]) * p for p in (0.01, 0.1)]
    assert sv[0] > 0
    assert sv[1] / sv[0] == pytest.approx(1.0 if wave == "s" else 100.0, rel=0.01)


@pytest.mark.parametrize("channel", ["phi' phi'", "A' A'", "gamma gamma (pi0)"])
def test_identical_bosons_t_u_symmetry(channel):
    # Bose symmetry of identical final bosons: |M|^2(cos theta) = |M|^2(-cos theta) (t <-> u), 1e-10;
    # and the u-channel diagram alone is the t-channel one at -cos theta (crossing k1 <-> k2), 1e-10
    s = (2.6 * M) ** 2
    c = np.array([0.2, 0.7, 0.95])
    a = A.msq_boson_channel(HEAVY, M, channel, s, c)
    b = A.msq_boson_channel(HEAVY, M, channel, s, -c)
    np.testing.assert_allclose(a, b, rtol=1e-10)
    if channel != "gamma gamma (pi0)":
        t_only = A.msq_boson_channel(HEAVY, M, channel, s, c, drop=("u", "s"))
        u_flip = A.msq_boson_channel(HEAVY, M, channel, s, -c, drop=("t", "s"))
        np.testing.assert_allclose(t_only, u_flip, rtol=1e-10)
        assert np.max(np.abs(t_only / a - 1)) > 0.05  # the diagrams interfere: t alone is not the total


def test_pi0_gamma_gamma_width_from_wzw():
    # WZW normalisation (N_c = 3, f_pi = F_pi/sqrt2 = 92.07 MeV): Gamma(pi0 -> gamma gamma) = G^2 m^3/(64 pi)
    # = alpha^2 m^3/(64 pi^3 f_pi^2); PDG 2024: 7.80 +- 0.12 eV (tolerance 3 %, chiral-limit value)
    gam = A.g_pi_gamma_gamma() ** 2 * C.M_PI0**3 / (64 * math.pi) * 1e6  # eV
    assert gam == pytest.approx(7.80, rel=0.03)
    assert A.GAMMA_PI0 * 1e6 == pytest.approx(7.80, rel=0.03)  # total width from the PDG lifetime


def test_pi0_gamma_at_aprime_pole_is_breit_wigner():
    # PDG resonance formula for identical Majorana initial states (as in test_t3r.py): at s = m_A'^2,
    # sigma = 2 (2J+1)/4 (4 pi/k^2) B(A' -> eta eta) B(A' -> pi0 gamma), with the analytic
    # Gamma(A' -> pi0 gamma) = G^2 k^3/(12 pi), G = e g/(4 pi^2 f_pi).  Checks the numerical trace,
    # the epsilon-tensor vertex and the complex-mass propagator together; tolerance 1e-6
    p = T3RPoint(150.0, 120.0, 20.0, v_gev=10.0)
    mm = 150.0
    sig = float(sigma_channels(p, 20.0, np.array([mm * mm]))[A.CHANNEL_KEYS["pi0 gamma"]][0])
    w = aprime_widths(p, mm)
    gam = float(total_width(w)[0])
    k = (mm * mm - C.M_PI0**2) / (2 * mm)
    assert float(w["pi0 gamma"][0]) == pytest.approx(A.g_pi_gamma_aprime(p) ** 2 * k**3 / (12 * math.pi), rel=1e-12)
    k2 = mm * mm / 4 - 20.0**2
    bw = 2 * 3 / 4 * 4 * math.pi / k2 * float(w["eta1 eta1"][0]) * float(w["pi0 gamma"][0]) / gam**2
    assert sig == pytest.approx(bw, rel=1e-6)


def test_gamma_gamma_closed_form_matches_numeric():
    # eta eta -> A'* -> pi0* -> gamma gamma: numerical trace vs the closed form
    # 4 a^2 c^2 G^2 m^2 s^3 / (|mu^2|^2 |s - m_pi^2 + i m_pi Gamma_pi|^2); 1e-10
    for s in ((2.1 * M) ** 2, (5.0 * M) ** 2):
        num = A.msq_boson_channel(HEAVY, M, "gamma gamma (pi0)", s, np.array([0.1, -0.6]))
        np.testing.assert_allclose(num, float(A.msq_gamma_gamma_pi0(HEAVY, M, s)), rtol=1e-10)


def test_new_channels_enter_relic_continuously():
    # Opening a channel adds a positive cross section that rises from zero at threshold (beta^(2L+1)):
    # <sigma v> at fixed x is continuous across 2 m_eta = m_pi0 + m_phi' (within 1 % for a 0.2 % step in m)
    # and the channel shares at fixed x sum to 1 (1e-12)
    p = T3RPoint(150.0, 80.0, 1.0, v_gev=7.0)
    thr = channel_thresholds(p)[A.CHANNEL_KEYS["pi0 phi'"]] / 2
    below = float(sigma_v_thermal(p, thr * 0.999, 20.0)[0])
    above = float(sigma_v_thermal(p, thr * 1.001, 20.0)[0])
    assert above == pytest.approx(below, rel=0.01)
    fr = channel_fractions(T3RPoint(150.0, 80.0, 120.0, v_gev=7.0), 120.0, 20.0)
    assert sum(fr.values()) == pytest.approx(1.0, rel=1e-12)
    assert fr[A.CHANNEL_KEYS["phi' A'"]] > 0


def test_previously_refused_point_runs(capsys):
    # m_eta = 70 MeV was refused before (pi0 gamma within the thermal tail); now the relic density is
    # computed, every channel is listed with its threshold, and the fractions sum to 1 (1e-9)
    rel = relic_density(T3RPoint(150.0, 80.0, 70.0, v_gev=7.0))
    assert 0 < rel.omega_h2 < 1
    rc = main(["t3r", "--m-aprime", "150", "--m-phiprime", "80", "--m-dm", "70", "--v", "7", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    ch = {c["channel"]: c for c in out["relic"]["channels"]}
    assert set(A.CHANNEL_KEYS.values()) <= set(ch)
    assert ch[A.CHANNEL_KEYS["pi0 gamma"]]["open_at_rest"] is True
    assert ch[A.CHANNEL_KEYS["A' A'"]]["open_at_rest"] is False
    assert sum(c["fraction_at_x_f"] for c in ch.values()) == pytest.approx(1.0, rel=1e-9)


def test_s_channel_phi_to_aprime_pair_matches_width_trick():
    # The s-channel phi' diagram of eta eta -> A'A' alone must equal the width-trick cross section
    # y^2 (s - 4m^2) Gamma(phi'* -> A'A')(sqrt s) / (4 p_i |s - m_phi'^2 + i m Gamma|^2) with the analytic
    # Gamma = m^3/(64 pi V^2) beta (1 - 4r + 12 r^2) of widths.py (an independent normalisation of the
    # phi'A'A' vertex sqrt2 m_A'^2/V and of the massive polarisation sums); tolerance 1e-9
    from mesonportal.models.t3r.widths import phi_widths

    ct, wt = np.polynomial.legendre.leggauss(4)
    for rs in (2.3 * M, 4.0 * M):
        s = rs * rs
        pi = math.sqrt(s / 4 - M * M)
        pf = math.sqrt(s / 4 - HEAVY.m_aprime**2)
        msq = A.msq_boson_channel(HEAVY, M, "A' A'", s, ct, drop=("t", "u"))
        sig = 0.5 * pf * (0.5 * np.sum(wt * msq) / 4) / (16 * math.pi * s * pi)
        gam_p = float(total_width(phi_widths(HEAVY, HEAVY.m_phiprime))[0])
        den = (s - HEAVY.m_phiprime**2) ** 2 + (HEAVY.m_phiprime * gam_p) ** 2
        w = float(phi_widths(HEAVY, rs)["A' A'"][0])
        ref = HEAVY.yukawa(M) ** 2 * (s - 4 * M * M) * w / (4 * pi * den)
        assert sig == pytest.approx(ref, rel=1e-9)


def test_aprime_degenerate_with_pi0_refused():
    # The A'-pi0 mixing eps = c m_pi0/|m_A'^2 - m_pi0^2| is treated to first order: eps > 0.3 is refused with a
    # one-line error naming m_aprime; the V lower bound used by the relic solver sits exactly at eps = 0.3 (1e-12)
    from mesonportal.exceptions import ParameterError
    from mesonportal.models.t3r.relic import MIXING_MAX, v_min_mixing_gev

    with pytest.raises(ParameterError, match="m_aprime"):
        relic_density(T3RPoint(135.5, 80.0, 67.0, v_gev=7.0))
    p = T3RPoint(150.0, 80.0, 40.0)
    q = p.with_v(v_min_mixing_gev(p))
    eps = A.mixing_coupling(q) * C.M_PI0 / abs(150.0**2 - C.M_PI0**2)
    assert eps == pytest.approx(MIXING_MAX, rel=1e-12)

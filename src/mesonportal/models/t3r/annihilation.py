"""η η → bosons: the t/u-channel and anomalous annihilation channels of the U(1)_T3R relic
computation (docs/t3r.md §3.3).  Units: MeV; cross sections σ(s) in MeV⁻².

Channels (η = η₁ or η₂, Majorana, mass m; every diagram of the unitary-gauge Lagrangian at
tree level, to first order in the A′–π⁰ mixing):

* η η → φ′φ′: t/u-channel η exchange + s-channel φ′ (cubic φ′³ from V(φ) = λ_φ(|φ|² − V²)²:
  L ⊃ −(m_φ′²/(2√2V)) φ′³, Feynman rule −3i m_φ′²/(√2V));
* η η → A′A′: t/u-channel η + s-channel φ′ (φ′A′A′ vertex i√2 m_A′²/V g^{μν}) — the s-channel φ′
  cancels the growth of the longitudinal amplitude (checked in the tests);
* η η → φ′A′: t/u-channel η + s-channel A′ (same φ′A′A′ vertex);
* η η → A′* → π⁰γ through the Wess–Zumino–Witten term (anomaly convention below);
* η η → π⁰φ′, π⁰A′ and η η → π⁰* → γγ through the A′–π⁰ mixing of the chiral Lagrangian.

**Chiral / anomaly convention.**  f_π = F_π/√2 = 92.07 MeV (F_π = 130.2 MeV of
:mod:`mesonportal.constants`), U = exp(iπ^aτ^a/f_π), D_μU = ∂_μU − i r_μU + iUl_μ with the
right-handed external field r_μ = A′_μ T_R, T_R = g_T3R diag(q_uR, q_dR) = −2 g_T3R τ³ (Gasser &
Leutwyler, Ann. Phys. 158 (1984) 142).  Then

* (f_π²/4) tr(D_μU D^μU†) ⊃ 2 g_T3R f_π A′^μ ∂_μπ⁰ (A′–π⁰ mixing; equivalently the isovector
  axial current q̄γ^μγ⁵(τ³/2)q = −f_π∂^μπ⁰ coupled to the axial part −g_T3R τ³ of A′);
* the quark-mass term with m_q ∝ ⟨φ⟩ gives L ⊃ −(m_π0²/(2√2V)) φ′π⁰π⁰ (as in :mod:`.widths`);
* the WZW term (Wess & Zumino, PLB 37 (1971) 95; Witten, NPB 223 (1983) 422) for vector fields
  with quark charge matrices T_a, T_b: L = −(N_c/(32π²f_π)) Σ_{ab} tr(τ³T_aT_b) π⁰ ε^{μνρσ}
  F^a_μν F^b_ρσ.  With T_γ = eQ it gives π⁰ → γγ with Γ = α²m_π³/(64π³f_π²) (7.73 eV; PDG
  7.80 ± 0.12 eV); the vector part of A′, T′_V = g_T3R diag(−1, +1), gives the π⁰γA′ vertex
  G_πγA′ ε^{μνρσ}k_μ ε_ν q_ρ ε′_σ with |G_πγA′| = e g_T3R/(4π²f_π), while π⁰A′A′ vanishes
  (tr(τ³T′_V²) ∝ tr τ³ = 0; the axial part of A′ enters π⁰γA′ only through C-odd terms).
  Only the vector part of A′ contributes to π⁰γ (C conservation), so no VVA/Bardeen counterterm
  ambiguity enters.  Point-like vertices: no vector-meson form factors (valid for √s ≲ 2m_K).

Spin sums are done numerically as Dirac traces, Σ_spins |v̄(p₂) M u(p₁)|² =
Tr[M (p̸₁ + m) M̄ (p̸₂ − m)], M̄ = γ⁰M†γ⁰, with explicit four-vectors and polarisation vectors
(Dirac representation), and the angular integral by Gauss–Legendre.  Majorana fermion-flow rules
of Denner et al., Nucl. Phys. B387 (1992) 467: both the scalar and the axial vertices are
invariant under flow reversal, and the t- and u-channel diagrams enter with a relative + sign.
The massive-vector propagator of an s-channel A′ uses the complex-mass scheme μ² = M² − iMΓ in
both the denominator and the q_μq_ν/μ² term (keeps the π⁰-mixing amplitudes free of spurious
zeros at the pole).
"""

from __future__ import annotations

import math

import numpy as np

from mesonportal import constants as C
from mesonportal.models.t3r.model import T3R_CHARGES, T3RPoint

__all__ = ["F_PI_92", "GAMMA_PI0", "g_pi_gamma_gamma", "g_pi_gamma_aprime", "mixing_coupling",
           "boson_channels", "BOSON_CHANNELS", "CHANNEL_KEYS", "boson_thresholds", "msq_boson_channel",
           "msq_gamma_gamma_pi0", "sigma_gamma_gamma_pi0", "spin_sum", "S_REACH"]

#: f_π in the 92 MeV normalisation [MeV].
F_PI_92 = C.F_PI / math.sqrt(2.0)
#: Total π⁰ width [MeV] (PDG lifetime via ``particle``).
GAMMA_PI0 = C.HBAR / C.lifetime(111)

# ------------------------------------------------------------------ Dirac algebra (Dirac representation)
_I2, _Z2 = np.eye(2), np.zeros((2, 2))
_SIG = (np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]]))
_GAM = np.array([np.block([[_I2, _Z2], [_Z2, -_I2]])] + [np.block([[_Z2, s], [-s, _Z2]]) for s in _SIG],
                dtype=complex)
_G5 = 1j * _GAM[0] @ _GAM[1] @ _GAM[2] @ _GAM[3]
_ID4 = np.eye(4, dtype=complex)
_METRIC = np.array([1.0, -1.0, -1.0, -1.0])


def _levi_civita() -> np.ndarray:
    eps = np.zeros((4, 4, 4, 4))
    import itertools

    for perm in itertools.permutations(range(4)):
        sign = 1
        p = list(perm)
        for i in range(4):
            while p[i] != i:
                j = p[i]
                p[i], p[j] = p[j], p[i]
                sign = -sign
        eps[perm] = sign
    return eps  # ε^{0123} = +1


_EPS = _levi_civita()
_EPS_TERMS = [(idx, _EPS[idx]) for idx in zip(*np.nonzero(_EPS))]

CHANNEL_KEYS = {
    "phi' phi'": "t/u+s: phi' phi'",
    "A' A'": "t/u+s: A' A'",
    "phi' A'": "t/u+s: phi' A'",
    "pi0 gamma": "A' (WZW): pi0 gamma",
    "pi0 phi'": "A'-pi0 mixing: pi0 phi'",
    "pi0 A'": "A'-pi0 mixing: pi0 A'",
    "gamma gamma (pi0)": "A'-pi0 mixing: gamma gamma",
}
#: The channels of this module (final-state label → key in :func:`~.relic.sigma_channels`).
BOSON_CHANNELS = tuple(CHANNEL_KEYS)


def _dot(a, b):
    """Minkowski product over the last axis (contravariant components)."""
    return np.sum(a * b * _METRIC, axis=-1)


def _lower(a):
    return a * _METRIC


def _slash(p):
    """γ^μ p_μ for contravariant p (..., 4) → (..., 4, 4)."""
    p = np.asarray(p)
    out = np.empty(p.shape[:-1] + (4, 4), complex)
    p0, p1, p2, p3 = p[..., 0], p[..., 1], p[..., 2], p[..., 3]
    z = np.zeros_like(p0)
    # Dirac representation: [[p⁰ 1, −σ·p], [σ·p, −p⁰ 1]], σ·p = [[p³, p¹ − ip²], [p¹ + ip², −p³]]
    sp = ((p3, p1 - 1j * p2), (p1 + 1j * p2, -p3))
    for i in range(2):
        for j in range(2):
            d = p0 if i == j else z
            out[..., i, j] = d
            out[..., i + 2, j + 2] = -d
            out[..., i, j + 2] = -sp[i][j]
            out[..., i + 2, j] = sp[i][j]
    return out


def _bar(m):
    """M̄ = γ⁰ M† γ⁰."""
    return _GAM[0] @ np.conj(np.swapaxes(m, -1, -2)) @ _GAM[0]


def spin_sum(m, p1, p2, mass):
    """Σ_spins |v̄(p₂) M u(p₁)|² = Tr[M (p̸₁ + m)M̄(p̸₂ − m)] for matrices M (..., 4, 4)."""
    a = m @ (_slash(p1) + mass * _ID4) @ _bar(m) @ (_slash(p2) - mass * _ID4)
    return np.real(np.trace(a, axis1=-2, axis2=-1))


def _eps_contract(a, b, c):
    """W^σ = ε^{μνρσ} a_μ b_ν c_ρ (a, b, c contravariant; result contravariant)."""
    al, bl, cl = _lower(a), _lower(b), _lower(c)
    out = np.zeros(np.broadcast_shapes(al.shape, bl.shape, cl.shape))
    for (mu, nu, rho, sg), sign in _EPS_TERMS:
        out[..., sg] += sign * al[..., mu] * bl[..., nu] * cl[..., rho]
    return out


# ------------------------------------------------------------------ couplings
def g_pi_gamma_gamma() -> float:
    """π⁰γγ vertex |G| = e²/(4π²f_π) = α/(πf_π) [MeV⁻¹] (amplitude G ε^{μνρσ}k₁_μ ε₁_ν k₂_ρ ε₂_σ)."""
    return C.E_CHARGE**2 / (4 * math.pi**2 * F_PI_92)


def g_pi_gamma_aprime(point: T3RPoint) -> float:
    """π⁰γA′ vertex |G| = e g_T3R/(4π²f_π) [MeV⁻¹] (WZW, vector part of A′; module docstring)."""
    return C.E_CHARGE * point.g_t3r / (4 * math.pi**2 * F_PI_92)


def mixing_coupling(point: T3RPoint) -> float:
    """c of the A′–π⁰ mixing L ⊃ c A′^μ∂_μπ⁰: c = 2 g_T3R f_π [MeV] (|q_uR| = |q_dR| = 2)."""
    return abs(T3R_CHARGES["u_R"]) * point.g_t3r * F_PI_92


def boson_thresholds(point: T3RPoint) -> dict[str, float]:
    """√s thresholds [MeV] of the channels of this module."""
    m_pi, m_p, m_a = C.M_PI0, point.m_phiprime, point.m_aprime
    return {"phi' phi'": 2 * m_p, "A' A'": 2 * m_a, "phi' A'": m_p + m_a, "pi0 gamma": m_pi,
            "pi0 phi'": m_pi + m_p, "pi0 A'": m_pi + m_a, "gamma gamma (pi0)": 0.0}


_FINAL = {  # (mass of k1, mass of k2, k1 vector?, k2 vector?, identical?)
    "phi' phi'": ("p", "p", False, False, True),
    "A' A'": ("a", "a", True, True, True),
    "phi' A'": ("p", "a", False, True, False),
    "pi0 gamma": ("g", "pi", True, False, False),
    "pi0 phi'": ("p", "pi", False, False, False),
    "pi0 A'": ("a", "pi", True, False, False),
    "gamma gamma (pi0)": ("g", "g", True, True, True),
}


def _pols(k, m, n_hat, massless):
    """Real polarisation basis of a vector with four-momentum k (…, 4) along n_hat (…, 3):
    two transverse (+ longitudinal if massive).  Returns a list of (…, 4) arrays."""
    # transverse: e1 = (0, cθ, 0, −sθ) (in the scattering plane), e2 = (0, 0, 1, 0)
    shape = k.shape
    e1 = np.zeros(shape)
    e1[..., 1] = n_hat[..., 2]
    e1[..., 3] = -n_hat[..., 0]
    e2 = np.zeros(shape)
    e2[..., 2] = 1.0
    out = [e1, e2]
    if not massless:
        kk = np.sqrt(np.sum(k[..., 1:] ** 2, axis=-1))
        el = np.zeros(shape)
        el[..., 0] = kk / m
        el[..., 1:] = k[..., :1] * n_hat / m
        out.append(el)
    return out


def msq_boson_channel(point: T3RPoint, m_eta: float, channel: str, s, cth, drop: tuple[str, ...] = ()) -> np.ndarray:
    """Spin-summed (not averaged) |M|² of η η → ``channel`` (one of :data:`BOSON_CHANNELS`) at
    Mandelstam s [MeV²] and CM scattering angle cos θ of the first final particle (arrays,
    broadcast).  ``drop`` removes diagrams ("t", "u", "s", "s2") — for the gauge-cancellation
    and symmetry checks only.  Zero below threshold."""
    s, cth = np.broadcast_arrays(np.asarray(s, float), np.asarray(cth, float))
    m = m_eta
    masses = {"p": point.m_phiprime, "a": point.m_aprime, "g": 0.0, "pi": C.M_PI0}
    l1, l2, vec1, vec2, _ = _FINAL[channel]
    m3, m4 = masses[l1], masses[l2]
    rs = np.sqrt(s)
    pi = np.sqrt(np.clip(s / 4 - m * m, 0.0, None))
    lam = (s - (m3 + m4) ** 2) * (s - (m3 - m4) ** 2)
    open_ = (lam > 0) & (pi > 0)
    pf = np.sqrt(np.clip(lam, 0.0, None)) / (2 * rs)
    e3 = (s + m3 * m3 - m4 * m4) / (2 * rs)
    e4 = rs - e3
    sth = np.sqrt(np.clip(1 - cth * cth, 0.0, None))
    z = np.zeros_like(s)
    p1 = np.stack([rs / 2, z, z, pi], -1)
    p2 = np.stack([rs / 2, z, z, -pi], -1)
    n_hat = np.stack([sth, z, cth], -1)
    k1 = np.stack([e3, pf * sth, z, pf * cth], -1)
    k2 = np.stack([e4, -pf * sth, z, -pf * cth], -1)
    q = p1 + p2

    # couplings (Feynman rules with the factors of i)
    y = point.yukawa(m)
    a = point.g_t3r * abs(T3R_CHARGES["eta_L"])
    g_paa = point.g_phi_aa
    lam3 = 3 * point.m_phiprime**2 / (math.sqrt(2) * point.v_gev * 1e3)
    kappa = C.M_PI0**2 / (math.sqrt(2) * point.v_gev * 1e3)
    c_mix = mixing_coupling(point)
    m_a, m_p = point.m_aprime, point.m_phiprime
    from mesonportal.models.t3r.widths import aprime_widths, phi_widths, total_width

    gam_p = float(total_width(phi_widths(point, m_p))[0])
    gam_a = float(total_width(aprime_widths(point, m_a))[0])
    mu2_a = m_a * m_a - 1j * m_a * gam_a  # complex-mass scheme (s-channel A′)
    den_p = s - m_p * m_p + 1j * m_p * gam_p
    den_pi = s - C.M_PI0**2 + 1j * C.M_PI0 * GAMMA_PI0

    def v_phi():
        return -1j * y * _ID4

    def v_a(eps):
        return -1j * a * _slash(eps) @ _G5

    def s_f(p):
        return 1j * (_slash(p) + m * _ID4) / (_dot(p, p) - m * m)[..., None, None]

    def a_prop(qq, w, mu2):
        """−i (g_μν − q_μq_ν/μ²) W^ν / (q² − μ²) as a contravariant vector."""
        qw = _dot(qq, w)[..., None]
        return -1j * (w - qq * qw / mu2) / (_dot(qq, qq)[..., None] - mu2)

    def v_a_current(x):
        """η-line vertex contracted with a vector X_μ: −i a γ^μγ⁵ X_μ."""
        return -1j * a * _slash(x) @ _G5

    def pi_emission(k):
        """η emits A′*(k) that turns into the outgoing π⁰ (mixing vertex −c k^ν)."""
        return v_a_current(a_prop(k, -c_mix * k, m_a * m_a + 0j))

    def mixed_pi_leg(k):
        """A′*(k) → outgoing π⁰(k) contracted into the A′ line: −i P(k)·(−c k) (vector)."""
        return a_prop(k, -c_mix * k, m_a * m_a + 0j)

    def sc(x):
        return np.asarray(x)[..., None, None]

    pol1 = _pols(k1, m3, n_hat, m3 == 0.0) if vec1 else [None]
    pol2 = _pols(k2, m4, -n_hat, m4 == 0.0) if vec2 else [None]
    total = np.zeros(s.shape)
    for e1 in pol1:
        for e2 in pol2:
            amp = np.zeros(s.shape + (4, 4), complex)
            if channel == "phi' phi'":
                if "t" not in drop:
                    amp += v_phi() @ s_f(p1 - k1) @ v_phi()
                if "u" not in drop:
                    amp += v_phi() @ s_f(p1 - k2) @ v_phi()
                if "s" not in drop:
                    amp += sc((-1j * y) * 1j / den_p * (-1j * lam3)) * _ID4
            elif channel == "A' A'":
                if "t" not in drop:
                    amp += v_a(e2) @ s_f(p1 - k1) @ v_a(e1)
                if "u" not in drop:
                    amp += v_a(e1) @ s_f(p1 - k2) @ v_a(e2)
                if "s" not in drop:
                    amp += sc((-1j * y) * 1j / den_p * (1j * g_paa * _dot(e1, e2))) * _ID4
            elif channel == "phi' A'":
                if "t" not in drop:
                    amp += v_a(e2) @ s_f(p1 - k1) @ v_phi()
                if "u" not in drop:
                    amp += v_phi() @ s_f(p1 - k2) @ v_a(e2)
                if "s" not in drop:
                    amp += v_a_current(a_prop(q, 1j * g_paa * e2, mu2_a))
            elif channel == "pi0 gamma":
                w = 1j * g_pi_gamma_aprime(point) * _eps_contract(k1, e1, q)
                amp += v_a_current(a_prop(q, w, mu2_a))
            elif channel == "gamma gamma (pi0)":
                amp_pi = 1j * g_pi_gamma_gamma() * _dot(_eps_contract(k1, e1, k2), e2)  # π⁰γγ vertex
                w = -c_mix * q * (1j / den_pi * amp_pi)[..., None]
                amp += v_a_current(a_prop(q, w, mu2_a))
            elif channel == "pi0 phi'":
                if "t" not in drop:
                    amp += pi_emission(k2) @ s_f(p1 - k1) @ v_phi()
                if "u" not in drop:
                    amp += v_phi() @ s_f(p1 - k2) @ pi_emission(k2)
                if "s" not in drop:  # A′*(q) → π⁰*(q) → π⁰ φ′
                    w = -c_mix * q * (1j / den_pi * (-1j * kappa))[..., None]
                    amp += v_a_current(a_prop(q, w, mu2_a))
                if "s2" not in drop:  # A′*(q) → φ′ A′*(k2 → π⁰)
                    amp += v_a_current(a_prop(q, 1j * g_paa * mixed_pi_leg(k2), mu2_a))
            elif channel == "pi0 A'":
                if "t" not in drop:
                    amp += pi_emission(k2) @ s_f(p1 - k1) @ v_a(e1)
                if "u" not in drop:
                    amp += v_a(e1) @ s_f(p1 - k2) @ pi_emission(k2)
                if "s" not in drop:  # φ′*(q) → A′(e1) A′*(k2 → π⁰)
                    amp += sc((-1j * y) * 1j / den_p * (1j * g_paa * _dot(e1, mixed_pi_leg(k2)))) * _ID4
                if "s2" not in drop:  # φ′*(q) → π⁰(k2) π⁰*(k1 → A′): mixing vertex +c k1·ε
                    pi_prop = 1j / (m_a * m_a - C.M_PI0**2)
                    amp += sc((-1j * y) * 1j / den_p * (-1j * kappa) * pi_prop * (c_mix * _dot(k1, e1))) * _ID4
            else:  # pragma: no cover - guarded by callers
                raise KeyError(channel)
            total += spin_sum(amp, p1, p2, m)
    return np.where(open_, total, 0.0)


#: Gauss–Legendre nodes in cos θ: 12 for channels with t/u-channel η exchange (relative error
#: < 1e-4 for √s ≤ 5 m_η, < 1.5 % at the cut √s = 10 m_η, vs 64 nodes); 4 for π⁰γ (pure
#: s-channel vector: |M|² is quadratic in cos θ, so 4 nodes are exact).
_ANGLES = {ch: np.polynomial.legendre.leggauss(4 if ch == "pi0 gamma" else 12) for ch in _FINAL}
#: The numerical channels are evaluated for √s < (2 + S_REACH) m_η only: beyond it the
#: Gondolo–Gelmini kernel is < e^{−S_REACH x}: ≤ e^{−24} for x ≥ 3, and at x < 3 η is deep in chemical
#: equilibrium (Γ_ann ≫ H), so the relic abundance does not depend on it.
S_REACH = 8.0


def msq_gamma_gamma_pi0(point: T3RPoint, m_eta: float, s) -> np.ndarray:
    """Closed form of the spin- and polarisation-summed |M|² of η η → A′* → π⁰* → γγ:
    4 a² c² G_γγ² m² s³ / (|μ_A′²|² |s − m_π0² + i m_π0 Γ_π0|²) (the A′ pole cancels: only the
    longitudinal part q_μq_ν/μ² couples to the mixing; Σ|v̄γ⁵u|² = 2s, Σ_pol|ε(k₁ε₁k₂ε₂)|² = s²/2)."""
    s = np.asarray(s, float)
    a = point.g_t3r * abs(T3R_CHARGES["eta_L"])
    c = mixing_coupling(point)
    from mesonportal.models.t3r.widths import aprime_widths, total_width

    m_a = point.m_aprime
    gam_a = float(total_width(aprime_widths(point, m_a))[0])
    mu2 = abs(m_a * m_a - 1j * m_a * gam_a) ** 2
    den = (s - C.M_PI0**2) ** 2 + (C.M_PI0 * GAMMA_PI0) ** 2
    return 4 * a * a * c * c * g_pi_gamma_gamma() ** 2 * m_eta**2 * s**3 / (mu2 * den)


def sigma_gamma_gamma_pi0(point: T3RPoint, m_eta: float, s) -> np.ndarray:
    """σ(η η → π⁰* → γγ) [MeV⁻²] (isotropic; ½ for identical photons, ¼ spin average)."""
    s = np.asarray(s, float)
    pi = np.sqrt(np.clip(s / 4 - m_eta**2, 0.0, None))
    pf = np.sqrt(s) / 2
    return np.where(pi > 0, 0.5 * pf * msq_gamma_gamma_pi0(point, m_eta, s) / 4.0
                    / (16 * math.pi * s * np.where(pi > 0, pi, 1.0)), 0.0)


def boson_channels(point: T3RPoint, m_eta: float, s) -> dict[str, np.ndarray]:
    """σ(η η → X) [MeV⁻²] at Mandelstam s [MeV²] (array) for every channel of this module, keyed
    as in :func:`~.relic.sigma_channels` (see :data:`CHANNEL_KEYS`).  Spin average 1/4, symmetry
    factor ½ for identical final bosons, σ = (p_f/(16π s p_i)) ⟨Σ|M|²/4⟩_{cos θ} (Gauss–Legendre
    in cos θ, :data:`_ANGLES`).  Closed channels are zero; the numerically evaluated channels are
    set to zero above √s = (2 + :data:`S_REACH`) m_η (thermally irrelevant)."""
    s = np.atleast_1d(np.asarray(s, float))
    rs = np.sqrt(s)
    pi = np.sqrt(np.clip(s / 4 - m_eta**2, 0.0, None))
    thr = boson_thresholds(point)
    reach = rs < (2.0 + S_REACH) * m_eta
    masses = {"p": point.m_phiprime, "a": point.m_aprime, "g": 0.0, "pi": C.M_PI0}
    out: dict[str, np.ndarray] = {}
    for ch in BOSON_CHANNELS:
        sig = np.zeros_like(s)
        sel = (rs > thr[ch]) & (pi > 0) & reach
        if ch == "gamma gamma (pi0)":
            out[CHANNEL_KEYS[ch]] = np.where(pi > 0, sigma_gamma_gamma_pi0(point, m_eta, s), 0.0)
            continue
        if np.any(sel):
            ss = s[sel]
            l1, l2, _, _, ident = _FINAL[ch]
            m3, m4 = masses[l1], masses[l2]
            lam = (ss - (m3 + m4) ** 2) * (ss - (m3 - m4) ** 2)
            pf = np.sqrt(np.clip(lam, 0.0, None)) / (2 * np.sqrt(ss))
            ct, wt = _ANGLES[ch]
            msq = msq_boson_channel(point, m_eta, ch, ss[:, None], ct[None, :])
            avg = 0.5 * np.sum(wt[None, :] * msq, axis=1) / 4.0
            sig[sel] = (0.5 if ident else 1.0) * pf * avg / (16 * math.pi * ss * pi[sel])
        out[CHANNEL_KEYS[ch]] = sig
    return out

"""Vector-portal inelastic dark matter with one or two short-lived mediators (physics.md §2.2).

Lagrangian (Dirac χ, χ′ with m_χ′ > m_χ; i = 1, 2)::

    L ⊃ Σ_i ( e ε_i J_EM^μ + g_i χ̄ γ^μ χ + g′_i (χ̄′ γ^μ χ + χ̄ γ^μ χ′) ) V_{i,μ}

There is **no** diagonal χ̄′γχ′ coupling, so V_i → χ′χ̄′ does not exist at tree level.

Contents
--------
* Widths of V_i: e⁺e⁻, μ⁺μ⁻ (ε), π⁺π⁻ (ε, ρ-dominance pion form factor), π⁰γ (ε, anomaly, scaled
  from Γ(π⁰→γγ)), χχ̄ (g_i), χχ̄′ + χ′χ̄ (g′_i; two distinct final states, each with the
  unequal-mass vector-current width).  Total widths, BRs, lifetimes.
* χ′ decays: on-shell χ′ → χ V_i when m_χ′ − m_χ > m_Vi (then V_i decays with its BRs), else
  off-shell χ′ → χ ℓ⁺ℓ⁻ through V_i exchange with the spin-averaged Dirac |M|²
  :func:`chi_prime_decay_msq`, integrated over the Dalitz plot.
* Production: π±, K± → ℓ± ν V (gauge-invariant internal bremsstrahlung from the lepton, the meson
  and the contact term for a massive vector, plus the structure-dependent F_V, F_A terms), summed
  over spins with explicit Dirac matrices (:func:`radiative_msq`); π⁰/η → γ V.
* :class:`VectorInelasticDM` — the validated, frozen model.

Conventions: Dirac representation of the γ matrices, metric (+,−,−,−), γ⁵ = iγ⁰γ¹γ²γ³,
ε^{0123} = +1 in the SD vector term (the overall sign of each SD term relative to IB is fixed so
that the massless limit reproduces the Bryman et al. / BEG dΓ/dxdy with F_V, F_A > 0; see
docs/models.md).  Units MeV, s.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from mesonportal import constants as C
from mesonportal.exceptions import ParameterError
from mesonportal.kinematics import two_body_decay, two_body_momentum
from mesonportal.models.base import MASS_MIN_MEV, DarkModel, check_real
from mesonportal.production.channels import ProductionChannel
from mesonportal.production.three_body import ThreeBodyTable, cached_three_body_table, dalitz_width
from mesonportal.sample import DARK_PDG, ParticleSample

Array = NDArray[np.float64]
_log = logging.getLogger(__name__)

__all__ = [
    "BR_PI0_GG", "BR_ETA_GG", "FV_PI", "FA_PI", "FV_K", "FA_K",
    "width_v_to_leptons", "width_v_to_fermions", "width_v_to_pipi", "width_v_to_pi0_gamma",
    "width_fermion_to_fermion_vector", "chi_prime_decay_msq", "chi_prime_offshell_width",
    "br_meson_to_gamma_v", "radiative_current", "radiative_msq", "ward_identity_residual",
    "momenta_from_invariants", "PromptDecayReport", "VectorInelasticDM",
]

# --- PDG inputs not provided by `particle` (PDG 2022 Review, meson summary tables) ---------
BR_PI0_GG = 0.98823  # BR(π⁰ → γγ)
BR_ETA_GG = 0.3936  # BR(η → γγ)

# --- structure-dependent form factors of P⁺ → ℓ⁺ ν γ --------------------------------------
# pion: physics.md §2.2 (F_V from CVC and Γ(π⁰→γγ); F_A/F_V = 0.58, PIBETA-like)
FV_PI = 0.0265
FA_PI = 0.58 * FV_PI
# kaon: O(p⁴) ChPT, Bijnens–Ecker–Gasser hep-ph/9209261 (F_V = m_K/(4√2 π² F_π),
# F_A = 4√2 m_K (L9 + L10)/F_π); F_V + F_A = 0.138 vs PDG (K → eνγ) 0.133 ± 0.008.
FV_K = 0.096
FA_K = 0.042

_GAMMA_PI0_GG = BR_PI0_GG * C.HBAR / C.lifetime(111)  # MeV

# ============================================================================ mediator widths


def width_v_to_leptons(m_v: float, eps: float, m_l: float) -> float:
    """Γ(V → ℓ⁺ℓ⁻) [MeV] = (ε² α m_V / 3)(1 + 2m_ℓ²/m_V²)√(1 − 4m_ℓ²/m_V²); 0 below threshold.

    Standard dark-photon result (e.g. arXiv:0811.1030 eq. (10) with the physical α)."""
    if m_v <= 2.0 * m_l:
        return 0.0
    r = m_l * m_l / (m_v * m_v)
    return eps * eps * C.ALPHA_EM * m_v / 3.0 * (1.0 + 2.0 * r) * math.sqrt(1.0 - 4.0 * r)


def width_v_to_fermions(m_v: float, g: float, m1: float, m2: float) -> float:
    """Γ(V → f₁ f̄₂) [MeV] for L = g f̄₁ γ^μ f₂ V_μ (one final state, Dirac fermions) *(derived)*:

        Γ = g² p / (12 π m_V⁴) · (m_V² − (m₁ − m₂)²)(2 m_V² + (m₁ + m₂)²),

    p = two-body momentum.  For m₁ = m₂ = m it reduces to (g²/4π)(m_V/3)(1 + 2m²/m_V²)β.
    Zero below threshold."""
    if m_v <= m1 + m2:
        return 0.0
    p = float(two_body_momentum(m_v, m1, m2))
    return g * g * p / (12.0 * math.pi * m_v**4) * (m_v**2 - (m1 - m2) ** 2) * (2.0 * m_v**2 + (m1 + m2) ** 2)


def _pion_form_factor_sq(s: float) -> float:
    """|F_π(s)|² in ρ dominance, m_ρ, Γ_ρ from PDG (`particle`); F_π(0) = 1."""
    m_rho = C.mass(113)
    from particle import Particle  # local: only for the ρ width

    g_rho = float(Particle.from_pdgid(113).width)
    return m_rho**4 / ((m_rho**2 - s) ** 2 + (m_rho * g_rho) ** 2)


def width_v_to_pipi(m_v: float, eps: float) -> float:
    """Γ(V → π⁺π⁻) [MeV] = (ε² α m_V / 12) β³ |F_π(m_V²)|² with a ρ-dominance form factor
    (adequate below ~0.6 GeV; ω/φ/multi-pion channels are not included)."""
    m = C.M_PI
    if m_v <= 2.0 * m:
        return 0.0
    beta = math.sqrt(1.0 - 4.0 * m * m / (m_v * m_v))
    return eps * eps * C.ALPHA_EM * m_v / 12.0 * beta**3 * _pion_form_factor_sq(m_v * m_v)


def width_v_to_pi0_gamma(m_v: float, eps: float) -> float:
    """Γ(V → π⁰γ) [MeV] from the π⁰γγ anomaly vertex with one photon replaced by εV *(derived)*:

        Γ = ε² (2/3) Γ(π⁰→γγ) (m_V² − m_π⁰²)³ / (m_π⁰³ m_V³);

    the same vertex gives BR(π⁰→γV) = 2ε²(1 − m_V²/m_π²)³ BR(π⁰→γγ) (physics.md §2.2)."""
    m = C.M_PI0
    if m_v <= m:
        return 0.0
    return eps * eps * (2.0 / 3.0) * _GAMMA_PI0_GG * (m_v**2 - m * m) ** 3 / (m**3 * m_v**3)


def width_fermion_to_fermion_vector(m_parent: float, m_child: float, m_v: float, g: float) -> float:
    """Γ(F → f V) [MeV] for L = g (f̄ γ^μ F + h.c.) V_μ, Dirac F of mass M, f of mass m, spin-averaged
    over F *(derived)*:

        Γ = g² p / (8 π M²) · [M² + m² − 2m_V² − 6 m M + (M² − m²)²/m_V²].

    The (M² − m²)²/m_V² term is the longitudinal mode (the χ̄′γχ current is not conserved);
    crossing-symmetric with :func:`width_v_to_fermions`.  Zero below threshold."""
    if m_parent <= m_child + m_v:
        return 0.0
    p = float(two_body_momentum(m_parent, m_child, m_v))
    M, m = m_parent, m_child
    bracket = M * M + m * m - 2.0 * m_v * m_v - 6.0 * m * M + (M * M - m * m) ** 2 / (m_v * m_v)
    return g * g * p / (8.0 * math.pi * M * M) * bracket


def br_meson_to_gamma_v(m_meson: float, m_v: float, eps: float, br_gg: float) -> float:
    """BR(M → γV) = 2ε²(1 − m_V²/m_M²)³ BR(M → γγ) for M = π⁰, η (physics.md §2.2); 0 if closed."""
    if m_v >= m_meson:
        return 0.0
    return 2.0 * eps * eps * (1.0 - m_v * m_v / (m_meson * m_meson)) ** 3 * br_gg


# ============================================================================ χ′ → χ f f̄


def chi_prime_decay_msq(
    m2_13: Array,
    m2_23: Array,
    m_chi_prime: float,
    m_chi: float,
    m_f: float,
    couplings: list[float] | tuple[float, ...],
    m_v: list[float] | tuple[float, ...],
    gamma_v: list[float] | tuple[float, ...],
) -> Array:
    """Spin-averaged |M|² (dimensionless) of χ′(P) → f⁻(p₁) f⁺(p₂) χ(k) through V_i exchange
    *(derived, Dirac χ, χ′)*.

    Labels follow :mod:`mesonportal.production.three_body`: 1 = f⁻, 2 = f⁺, 3 = χ, so
    ``m2_13`` = (p_f⁻ + k)², ``m2_23`` = (p_f⁺ + k)² [MeV²] and q² = (p₁ + p₂)² =
    M² + 2m_f² + m² − m²₁₃ − m²₂₃.  With D(q²) = Σ_i c_i / (q² − m_Vi² + i m_Vi Γ_Vi),

        |M|²  = 16 |D|² [ (k·p₁)(P·p₂) + (k·p₂)(P·p₁) + m_f² (k·P) − m M (p₁·p₂) − 2 m M m_f² ],

    (½ × Tr[(k̸+m)γ^μ(P̸+M)γ^ν] Tr[(p̸₁+m_f)γ_μ(p̸₂−m_f)γ_ν]; the q_μq_ν part of the propagator
    vanishes on the conserved f current).  ``couplings`` c_i = ε_i e g′_i for f = ℓ, or g_i g′_i
    for f = χ (direct diagram only).  Units: masses MeV, widths MeV.
    """
    x = np.asarray(m2_13, float)
    y = np.asarray(m2_23, float)
    M, m, mf = float(m_chi_prime), float(m_chi), float(m_f)
    q2 = M * M + 2.0 * mf * mf + m * m - x - y
    kp1 = 0.5 * (x - m * m - mf * mf)
    pp2 = 0.5 * (M * M + mf * mf - x)
    kp2 = 0.5 * (y - m * m - mf * mf)
    pp1 = 0.5 * (M * M + mf * mf - y)
    kP = 0.5 * (M * M + m * m - q2)
    p1p2 = 0.5 * (q2 - 2.0 * mf * mf)
    d = np.zeros_like(q2, dtype=complex)
    for c, mv, gv in zip(couplings, m_v, gamma_v):
        d = d + c / (q2 - mv * mv + 1j * mv * gv)
    bracket = kp1 * pp2 + kp2 * pp1 + mf * mf * kP - m * M * p1p2 - 2.0 * m * M * mf * mf
    return 16.0 * np.abs(d) ** 2 * bracket


def chi_prime_offshell_width(
    m_chi_prime: float,
    m_chi: float,
    m_f: float,
    couplings: list[float] | tuple[float, ...],
    m_v: list[float] | tuple[float, ...],
    gamma_v: list[float] | tuple[float, ...],
    n: int = 96,
) -> float:
    """Γ(χ′ → χ f f̄) [MeV] from :func:`chi_prime_decay_msq` integrated over the Dalitz plot
    (:func:`mesonportal.production.three_body.dalitz_width`); 0 if closed or no coupling.

    Small-splitting check (tested): for Δ = m_χ′ − m_χ ≪ m_χ, m_V and m_f → 0,
    Γ → 4 ε² α α_D Δ⁵ / (15 π m_V⁴) with α_D = g′²/4π (arXiv:1501.07933-type formula)."""
    if not any(c != 0.0 for c in couplings):
        return 0.0

    def msq(x: Array, y: Array) -> Array:
        return chi_prime_decay_msq(x, y, m_chi_prime, m_chi, m_f, couplings, m_v, gamma_v)

    return dalitz_width(m_chi_prime, m_f, m_f, m_chi, msq, n=n)


# ============================================================================ P⁺ → ℓ⁺ ν V

_METRIC = np.array([1.0, -1.0, -1.0, -1.0])


def _gamma_matrices() -> tuple[np.ndarray, np.ndarray]:
    """Dirac-representation γ^μ (4, 4, 4) and γ⁵ (4, 4), complex."""
    i2 = np.eye(2)
    z2 = np.zeros((2, 2))
    sig = [np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]])]
    g0 = np.block([[i2, z2], [z2, -i2]]).astype(complex)
    gs = [np.block([[z2, s], [-s, z2]]).astype(complex) for s in sig]
    g = np.stack([g0, *gs])
    g5 = 1j * g[0] @ g[1] @ g[2] @ g[3]
    return g, g5


_G, _G5 = _gamma_matrices()
_G_LOW = _G * _METRIC[:, None, None]  # γ_μ
_PL = np.eye(4) - _G5  # (1 − γ⁵)
_G_CAT = _G.transpose(1, 0, 2).reshape(4, 16)  # [j, (α, k)] so that (A @ _G_CAT)[i, α, k] = (A γ^α)_ik


def _levi_civita() -> np.ndarray:
    eps = np.zeros((4, 4, 4, 4))
    import itertools

    for perm in itertools.permutations(range(4)):
        inv = sum(1 for a in range(4) for b in range(a + 1, 4) if perm[a] > perm[b])
        eps[perm] = -1.0 if inv % 2 else 1.0
    return eps


_EPS4 = _levi_civita()  # ε^{0123} = +1


def _slash(a: Array) -> np.ndarray:
    """a̸ = γ^μ a_μ for contravariant four-vectors a (N, 4) → (N, 4, 4)."""
    return np.einsum("nm,mij->nij", a * _METRIC, _G)


def _dot(a: Array, b: Array) -> Array:
    return a[:, 0] * b[:, 0] - np.sum(a[:, 1:] * b[:, 1:], axis=-1)


def momenta_from_invariants(
    m_parent: float, m1: float, m2: float, m3: float, m2_13: Array, m2_23: Array
) -> tuple[Array, Array, Array, Array]:
    """Parent-rest-frame four-momenta (P, p1, p2, p3), each (N, 4) [MeV], for Dalitz invariants
    m²₁₃, m²₂₃ (MeV², arrays): p1 along +z, p3 in the xz plane, p2 = P − p1 − p3."""
    x = np.ravel(np.asarray(m2_13, float))
    y = np.ravel(np.asarray(m2_23, float))
    M = float(m_parent)
    s12 = M * M + m1 * m1 + m2 * m2 + m3 * m3 - x - y
    e1 = (M * M + m1 * m1 - y) / (2.0 * M)
    e3 = (M * M + m3 * m3 - s12) / (2.0 * M)
    q1 = np.sqrt(np.clip(e1 * e1 - m1 * m1, 0.0, None))
    q3 = np.sqrt(np.clip(e3 * e3 - m3 * m3, 0.0, None))
    den = 2.0 * q1 * q3
    cos13 = np.where(den > 0, (m1 * m1 + m3 * m3 + 2.0 * e1 * e3 - x) / np.where(den > 0, den, 1.0), 1.0)
    cos13 = np.clip(cos13, -1.0, 1.0)
    sin13 = np.sqrt(1.0 - cos13 * cos13)
    n = len(x)
    P = np.zeros((n, 4))
    P[:, 0] = M
    p1 = np.zeros((n, 4))
    p1[:, 0], p1[:, 3] = e1, q1
    p3 = np.zeros((n, 4))
    p3[:, 0], p3[:, 1], p3[:, 3] = e3, q3 * sin13, q3 * cos13
    p2 = P - p1 - p3
    return P, p1, p2, p3


_TERMS = ("meson", "lepton", "contact", "sd")


def radiative_current(
    p: Array,
    p_lep: Array,
    k: Array,
    m_lep: float,
    m_v: float,
    f_meson: float,
    f_v: float,
    f_a: float,
    terms: tuple[str, ...] = _TERMS,
) -> np.ndarray:
    """Dirac matrices Γ^α (N, 4, 4, 4) [MeV²] such that the P⁺(p) → ℓ⁺(p_ℓ) ν(p_ν) V(k) amplitude is

        M = (ε e G_F |V_qq′| / √2) · ε*_α(k) ū(p_ν) Γ^α v(p_ℓ),

    with (D_M = m_V² − 2p·k, D_ℓ = 2p_ℓ·k + m_V², Q = p_ℓ + k, L-structure (1 − γ⁵)):

    * meson line:  f (2p − k)^α (p̸ − k̸)(1 − γ⁵) / D_M
    * lepton line: f p̸ (1 − γ⁵)(Q̸ − m_ℓ) γ^α / D_ℓ
    * contact:     −f γ^α (1 − γ⁵)
    * SD:          (1/m_P) [i F_V ε^{ανρσ} k_ρ p_σ γ_ν + F_A (p·k γ^α − p^α k̸)] (1 − γ⁵),
      ε^{0123} = +1; the phases/signs of the two SD terms relative to IB are those that reproduce
      the Bryman et al. (Phys. Rep. 88 (1982) 151) / PDG dΓ/dxdy with F_V, F_A > 0 (tested)

    The IB sum (first three) obeys k_α Γ^α = 0 between on-shell spinors for any k² (Ward identity
    of the conserved EM current of a point-like meson); each SD structure is transverse by itself.
    ``terms`` selects pieces (for tests).  Reference: Bijnens, Ecker, Gasser hep-ph/9209261 (massless
    photon), generalised here to k² = m_V².
    """
    n = len(p)
    m_p = math.sqrt(max(float(_dot(p[:1], p[:1])[0]), 0.0))
    out = np.zeros((n, 4, 4, 4), dtype=complex)
    if "meson" in terms:
        dm = m_v * m_v - 2.0 * _dot(p, k)
        coef = f_meson * (2.0 * p - k) / dm[:, None]  # (N, 4) contravariant α
        mat = _slash(p - k) @ _PL
        out += coef[:, :, None, None] * mat[:, None, :, :]
    if "lepton" in terms:
        dl = 2.0 * _dot(p_lep, k) + m_v * m_v
        left = _slash(p) @ _PL @ (_slash(p_lep + k) - m_lep * np.eye(4))  # (N, 4, 4)
        prod = (left.reshape(n * 4, 4) @ _G_CAT).reshape(n, 4, 4, 4).transpose(0, 2, 1, 3)  # left @ γ^α
        out += f_meson * prod / dl[:, None, None, None]
    if "contact" in terms:
        out += -f_meson * np.einsum("aij,jk->aik", _G, _PL)[None]
    if "sd" in terms:
        klow, plow = k * _METRIC, p * _METRIC
        fab = np.einsum("abrs,nr,ns->nab", _EPS4, klow, plow, optimize=True)  # (N, 4, 4)
        vec = (fab.astype(complex) @ _G_LOW.reshape(4, 16)).reshape(n, 4, 4, 4)
        pk = _dot(p, k)
        ax = pk[:, None, None, None] * _G[None] - p[:, :, None, None] * _slash(k)[:, None]
        sd = 1j * f_v * vec + f_a * ax
        out += (sd @ _PL) / m_p
    return out


def _spin_trace(ga: np.ndarray, gb: np.ndarray, p_lep: Array, p_nu: Array, m_lep: float) -> np.ndarray:
    """T^{αβ} = Tr[p̸_ν Γ^α (p̸_ℓ − m) Γ̄^β], Γ̄ = γ⁰Γ†γ⁰; (N, 4, 4) complex."""
    g0 = _G[0]
    gbar = g0 @ np.swapaxes(gb.conj(), -1, -2) @ g0  # γ0 Γ† γ0
    a = _slash(p_nu)[:, None] @ ga
    b = (_slash(p_lep) - m_lep * np.eye(4))[:, None] @ gbar
    n, na = a.shape[0], a.shape[1]
    # Tr[a^α b^β] = Σ_ij a_ij b_ji
    return a.reshape(n, na, 16) @ np.swapaxes(b, -1, -2).reshape(n, b.shape[1], 16).swapaxes(1, 2)


def radiative_msq(
    m2_13: Array,
    m2_23: Array,
    *,
    m_meson: float,
    m_lep: float,
    m_v: float,
    coupling: float,
    f_meson: float,
    v_ckm: float,
    f_v: float,
    f_a: float,
    terms: tuple[str, ...] = _TERMS,
    chunk: int = 4096,
) -> Array:
    """Spin-summed Σ|M|² (dimensionless) of P⁺ → ℓ⁺ ν V at Dalitz invariants (1 = ℓ, 2 = ν, 3 = V)
    ``m2_13`` = (p_ℓ + k)², ``m2_23`` = (p_ν + k)² [MeV²], for a vector of mass ``m_v`` [MeV]
    coupled as ``coupling`` × e J_EM (coupling = ε).

    Σ|M|² = (ε e G_F V)²/2 · Σ_αβ P_αβ Tr[p̸_ν Γ^α (p̸_ℓ − m_ℓ) Γ̄^β] with the massive-vector
    polarisation sum P_αβ = −g_αβ + k_α k_β/m_V² (just −g_αβ for m_V = 0, allowed because the
    amplitude is gauge invariant).  Explicit 4×4 Dirac matrices, vectorised (chunks of ``chunk``).
    Accepts arrays of any (common) shape; returns that shape.
    """
    x = np.asarray(m2_13, float)
    shape = np.broadcast(x, np.asarray(m2_23, float)).shape
    xb, yb = np.broadcast_to(x, shape).ravel(), np.broadcast_to(np.asarray(m2_23, float), shape).ravel()
    pref = (coupling * C.E_CHARGE * C.G_FERMI * v_ckm) ** 2 / 2.0
    out = np.empty(xb.size)
    pol_low = -np.diag(_METRIC)  # −g_αβ
    for s in range(0, xb.size, chunk):
        P, pl, pn, k = momenta_from_invariants(m_meson, m_lep, 0.0, m_v, xb[s:s + chunk], yb[s:s + chunk])
        ga = radiative_current(P, pl, k, m_lep, m_v, f_meson, f_v, f_a, terms)
        t = _spin_trace(ga, ga, pl, pn, m_lep)
        val = np.einsum("ab,nab->n", pol_low, t).real
        if m_v > 0.0:
            kl = k * _METRIC
            val = val + np.einsum("na,nb,nab->n", kl, kl, t).real / (m_v * m_v)
        out[s:s + chunk] = val
    return (pref * np.clip(out, 0.0, None)).reshape(shape)


def ward_identity_residual(
    m_meson: float, m_lep: float, m_v: float, m2_13: Array, m2_23: Array, *, f_meson: float,
    f_v: float, f_a: float, terms: tuple[str, ...] = _TERMS,
) -> Array:
    """Gauge-invariance test quantity per phase-space point: Σ_spins |k_α ū Γ^α v|² divided by
    the same quantity summed diagram by diagram, Σ_d Σ_spins |k_α ū Γ_d^α v|² (the size of the
    pieces that must cancel).  ~1e-16 (rounding) for a gauge-invariant set of ``terms``; of order
    one for an incomplete set of diagrams (e.g. the lepton line alone)."""
    P, pl, pn, k = momenta_from_invariants(m_meson, m_lep, 0.0, m_v, m2_13, m2_23)
    kl = k * _METRIC

    def k_trace(ts: tuple[str, ...]) -> Array:
        ga = radiative_current(P, pl, k, m_lep, m_v, f_meson, f_v, f_a, ts)
        kga = np.einsum("na,naij->nij", kl, ga)[:, None]
        return _spin_trace(kga, kga, pl, pn, m_lep)[:, 0, 0].real

    num = k_trace(tuple(terms))
    scale = sum(k_trace((t,)) for t in terms)
    return np.abs(num) / np.where(scale > 0, scale, 1.0)


# ============================================================================ the model


@dataclass(frozen=True)
class PromptDecayReport:
    """Book-keeping of :meth:`VectorInelasticDM.prompt_decays_with_report` (weights per POT).

    ``mediator_weight``: summed weight of the V₁/V₂ entering; ``dark_weight``: weight of decays
    into dark final states (χχ̄, χχ̄′); ``visible_weight``: per visible channel (e⁺e⁻, μ⁺μ⁻,
    π⁺π⁻, π⁰γ) — removed from the dark sample, reported here."""

    mediator_weight: float
    dark_weight: float
    visible_weight: dict[str, float]

    @property
    def visible_fraction(self) -> float:
        return sum(self.visible_weight.values()) / self.mediator_weight if self.mediator_weight > 0 else 0.0


_M_V_MAX = 1000.0  # MeV — hadronic widths beyond ρ-dominance ππ and π⁰γ are not modelled
_M_CHI_MAX = 1.0e5
_G_MAX = 4.0 * math.pi


@dataclass(frozen=True)
class VectorInelasticDM(DarkModel):
    """Vector-portal inelastic DM (physics.md §2.2), one (``m_v2 = None``) or two mediators.

    Parameters (MeV / dimensionless): ``m_v1`` ∈ [1e-6, 1000], ``m_v2`` ∈ [1e-6, 1000] or None,
    ``m_chi`` ∈ [1e-6, 1e5], ``m_chi_prime`` ∈ (m_chi, 1e5], ``eps1, eps2`` ∈ [0, 1],
    ``g1, g2, gp1, gp2`` ∈ [0, 4π].  With ``m_v2 = None`` the V₂ couplings must be 0.
    ``n_grid`` sets the sampling grid of the three-body tables (H3's ThreeBodyTable).
    """

    family = "inelastic"

    m_v1: float
    m_chi: float
    m_chi_prime: float
    eps1: float
    g1: float
    gp1: float
    m_v2: float | None = None
    eps2: float = 0.0
    g2: float = 0.0
    gp2: float = 0.0
    include_v2_production: bool = True
    n_grid: int = field(default=96, compare=False)

    name: ClassVar[str] = "idm"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "m_v1", check_real("m_v1", self.m_v1, MASS_MIN_MEV, _M_V_MAX))
        if self.m_v2 is not None:
            set_(self, "m_v2", check_real("m_v2", self.m_v2, MASS_MIN_MEV, _M_V_MAX))
        set_(self, "m_chi", check_real("m_chi", self.m_chi, MASS_MIN_MEV, _M_CHI_MAX))
        set_(self, "m_chi_prime", check_real("m_chi_prime", self.m_chi_prime, MASS_MIN_MEV, _M_CHI_MAX))
        if not self.m_chi_prime > self.m_chi:
            raise ParameterError(
                f"parameter 'm_chi_prime' = {self.m_chi_prime!r} must be > m_chi = {self.m_chi!r} MeV"
            )
        for nm in ("eps1", "eps2"):
            set_(self, nm, check_real(nm, getattr(self, nm), 0.0, 1.0))
        for nm in ("g1", "g2", "gp1", "gp2"):
            set_(self, nm, check_real(nm, getattr(self, nm), 0.0, _G_MAX))
        if self.m_v2 is None:
            for nm in ("eps2", "g2", "gp2"):
                if getattr(self, nm) != 0.0:
                    raise ParameterError(f"parameter {nm!r} requires m_v2 (single-mediator model): allowed value 0")
        if int(self.n_grid) < 8:
            raise ParameterError(f"parameter 'n_grid' = {self.n_grid!r} must be >= 8")

    @property
    def is_double(self) -> bool:
        return self.m_v2 is not None

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "m_v1": self.m_v1, "m_chi": self.m_chi, "m_chi_prime": self.m_chi_prime,
            "eps1": self.eps1, "g1": self.g1, "gp1": self.gp1,
        }
        if self.is_double:
            out.update(m_v2=self.m_v2, eps2=self.eps2, g2=self.g2, gp2=self.gp2)
            if not self.include_v2_production:
                out["include_v2_production"] = False
        return out

    def coupling_product(self) -> float:
        """ε₁ε₂g′₂²/(4π) (two mediators) or ε₁²g′₁²/(4π) (one mediator) — the fit parameter of
        physics.md §2.2."""
        if self.is_double:
            return self.eps1 * self.eps2 * self.gp2**2 / (4.0 * math.pi)
        return self.eps1**2 * self.gp1**2 / (4.0 * math.pi)

    def with_coupling_product(self, x: float) -> "VectorInelasticDM":
        """New model with :meth:`coupling_product` = ``x``, obtained by rescaling the dark
        *inelastic* coupling g′₂ (double) or g′₁ (single) at fixed ε's, g's and masses.  So the
        meson production (∝ ε₁²) and the V₁ branching ratios (unless V → χχ̄′ is open) stay
        fixed, while the χA → χ′A up-scattering rate and the χ′ width scale ∝ x.  Raises
        ParameterError if x < 0, if the ε product is 0, or if the required g′ exceeds 4π."""
        x = check_real("coupling_product", x, 0.0, None)
        eps_prod = self.eps1 * self.eps2 if self.is_double else self.eps1**2
        if eps_prod <= 0.0:
            raise ParameterError("coupling_product: cannot rescale g' when the epsilon product is 0; set eps1/eps2 > 0")
        gp = math.sqrt(4.0 * math.pi * x / eps_prod)
        if gp > _G_MAX:
            raise ParameterError(
                f"coupling_product = {x!r} needs g' = {gp:.3g} > 4π; allowed range [0, {eps_prod * 4 * math.pi:.3g}]"
            )
        return replace(self, gp2=gp) if self.is_double else replace(self, gp1=gp)

    # ------------------------------------------------------------------ mediators
    def _mediators(self) -> list[tuple[str, float, float, float, float]]:
        """(label, m_V, ε, g, g′) of the mediators present."""
        out = [("V1", self.m_v1, self.eps1, self.g1, self.gp1)]
        if self.is_double:
            out.append(("V2", float(self.m_v2), self.eps2, self.g2, self.gp2))  # type: ignore[arg-type]
        return out

    def _mediator(self, label: str) -> tuple[str, float, float, float, float]:
        for med in self._mediators():
            if med[0] == label:
                return med
        raise ParameterError(f"mediator {label!r} not in this model: allowed {[m[0] for m in self._mediators()]}")

    def v_partial_widths(self, label: str = "V1") -> dict[str, float]:
        """Partial widths [MeV] of mediator ``label`` ('V1'/'V2'), closed channels included as 0.
        Keys: 'e+ e-', 'mu+ mu-', 'pi+ pi-', 'pi0 gamma', 'chi chibar', 'chi chibar_prime + h.c.'
        (sum of the two final states χχ̄′ and χ′χ̄).  V → χ′χ̄′ has no tree-level coupling."""
        self._mediator(label)
        return dict(self._v_widths[label])

    @cached_property
    def _v_widths(self) -> dict[str, dict[str, float]]:
        res = {}
        for lab, m, eps, g, gp in self._mediators():
            res[lab] = {
                "e+ e-": width_v_to_leptons(m, eps, C.M_E),
                "mu+ mu-": width_v_to_leptons(m, eps, C.M_MU),
                "pi+ pi-": width_v_to_pipi(m, eps),
                "pi0 gamma": width_v_to_pi0_gamma(m, eps),
                "chi chibar": width_v_to_fermions(m, g, self.m_chi, self.m_chi),
                "chi chibar_prime + h.c.": 2.0 * width_v_to_fermions(m, gp, self.m_chi, self.m_chi_prime),
            }
        return res

    def v_width(self, label: str = "V1") -> float:
        """Total width [MeV] of ``label``."""
        self._mediator(label)
        return float(sum(self._v_widths[label].values()))

    def v_branching_ratios(self, label: str = "V1") -> dict[str, float]:
        """BRs of ``label`` (all zero if the total width vanishes, i.e. all couplings are 0)."""
        self._mediator(label)
        w = self._v_widths[label]
        tot = sum(w.values())
        return {k: (v / tot if tot > 0 else 0.0) for k, v in w.items()}

    def v_lifetime(self, label: str = "V1") -> float:
        """Mean lifetime [s] of ``label`` (inf if it has no open channel)."""
        w = self.v_width(label)
        return C.HBAR / w if w > 0 else math.inf

    # ------------------------------------------------------------------ χ′
    @property
    def delta(self) -> float:
        """Mass splitting m_χ′ − m_χ [MeV]."""
        return self.m_chi_prime - self.m_chi

    def _offshell_couplings(self, kind: str) -> tuple[list[float], list[float], list[float]]:
        cs, ms, gs = [], [], []
        for lab, m, eps, g, gp in self._mediators():
            if self.delta > m:  # on-shell: handled as χ′ → χ V
                continue
            c = eps * C.E_CHARGE * gp if kind == "lepton" else g * gp
            cs.append(c)
            ms.append(m)
            gs.append(self.v_width(lab))
        return cs, ms, gs

    def chi_prime_msq(self, m2_13: Array, m2_23: Array, lepton: str = "e") -> Array:
        """Off-shell χ′ → χ ℓ⁻ℓ⁺ spin-averaged |M|² (labels 1 = ℓ⁻, 2 = ℓ⁺, 3 = χ, see
        :func:`chi_prime_decay_msq`) through the mediators that are *not* on shell.  For sampling
        the decay kinematics with ThreeBodyTable(m_χ′, m_ℓ, m_ℓ, m_χ, msq); on-shell mediators
        (m_V < Δ) are two-step decays χ′ → χV, V → ℓ⁺ℓ⁻ (see :meth:`chi_prime_partial_widths`)."""
        m_l = _lepton_mass(lepton)
        cs, ms, gs = self._offshell_couplings("lepton")
        return chi_prime_decay_msq(m2_13, m2_23, self.m_chi_prime, self.m_chi, m_l, cs, ms, gs)

    @cached_property
    def _chi_prime_widths(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for lab, m, eps, g, gp in self._mediators():
            if self.delta > m:
                out[f"chi {lab} (on-shell)"] = width_fermion_to_fermion_vector(self.m_chi_prime, self.m_chi, m, gp)
        cs, ms, gs = self._offshell_couplings("lepton")
        out["chi e+ e- (off-shell)"] = chi_prime_offshell_width(self.m_chi_prime, self.m_chi, C.M_E, cs, ms, gs)
        out["chi mu+ mu- (off-shell)"] = chi_prime_offshell_width(self.m_chi_prime, self.m_chi, C.M_MU, cs, ms, gs)
        cs, ms, gs = self._offshell_couplings("chi")
        out["chi chi chibar (off-shell, direct diagram)"] = chi_prime_offshell_width(
            self.m_chi_prime, self.m_chi, self.m_chi, cs, ms, gs
        )
        return out

    def chi_prime_partial_widths(self) -> dict[str, float]:
        """Partial widths [MeV] of χ′: on-shell 'chi V_i (on-shell)' (V_i then decays with its
        BRs), off-shell χe⁺e⁻, χμ⁺μ⁻, χχχ̄ (direct diagram only; the identical-χ exchange
        interference is neglected).  Interference between on- and off-shell mediators is
        neglected (the on-shell one dominates)."""
        return dict(self._chi_prime_widths)

    def chi_prime_width(self, lepton: str | None = None) -> float:
        """Γ(χ′) [MeV]: total (``lepton=None``) or Γ(χ′ → χ ℓ⁺ℓ⁻) for ``lepton`` = 'e' / 'mu',
        summing on-shell χ′ → χV_i × BR(V_i → ℓℓ) and the off-shell three-body width."""
        w = self._chi_prime_widths
        if lepton is None:
            return float(sum(w.values()))
        key = {"e": "e+ e-", "mu": "mu+ mu-"}[_lepton_key(lepton)]
        tot = w[f"chi {key} (off-shell)"]
        for lab, *_ in self._mediators():
            on = w.get(f"chi {lab} (on-shell)", 0.0)
            if on:
                tot += on * self.v_branching_ratios(lab)[key]
        return float(tot)

    def chi_prime_lifetime(self) -> float:
        """Mean lifetime of χ′ [s] (inf if stable)."""
        w = self.chi_prime_width()
        return C.HBAR / w if w > 0 else math.inf

    def chi_prime_br(self, lepton: str = "e") -> float:
        """BR(χ′ → χ ℓ⁺ℓ⁻) — the visible fraction of χ′ decays."""
        tot = self.chi_prime_width()
        return self.chi_prime_width(lepton) / tot if tot > 0 else 0.0

    # ------------------------------------------------------------------ production
    def radiative_msq_function(self, meson: str, lepton: str, label: str = "V1"):
        """``msq(m2_13, m2_23)`` of P⁺ → ℓ⁺ ν V_label (meson 'pi'/'K', lepton 'e'/'mu')."""
        _, m_v, eps, _, _ = self._mediator(label)
        m_p, f, v, fv, fa = _meson_inputs(meson)
        m_l = _lepton_mass(lepton)

        def msq(x: Array, y: Array) -> Array:
            return radiative_msq(x, y, m_meson=m_p, m_lep=m_l, m_v=m_v, coupling=eps, f_meson=f,
                                 v_ckm=v, f_v=fv, f_a=fa)

        return msq

    @cached_property
    def _channels(self) -> list[ProductionChannel]:
        chans: list[ProductionChannel] = []
        labels = ["V1"] + (["V2"] if self.is_double and self.include_v2_production else [])
        for lab in labels:
            _, m_v, eps, _, _ = self._mediator(lab)
            pdg = DARK_PDG[lab]
            for meson, parent, tau in (("pi", 211, C.TAU_PI), ("K", 321, C.TAU_K)):
                m_p = _meson_inputs(meson)[0]
                for lepton, lname in (("mu", "mu"), ("e", "e")):
                    label = f"{'pi' if meson == 'pi' else 'K'}+ -> {lname}+ nu {lab}"
                    m_l = _lepton_mass(lepton)
                    if eps == 0.0 or m_p <= m_l + m_v:
                        chans.append(ProductionChannel(parent, label, 0.0, pdg, m_v, None, True, False))
                        continue
                    table = _radiative_table(meson, lepton, m_v, int(self.n_grid))
                    br = eps * eps * table.width * tau / C.HBAR  # table built for ε = 1; rate ∝ ε²
                    chans.append(ProductionChannel(parent, label, br, pdg, m_v, table.sample_dark, True, table.is_open))
            for parent, m_m, brgg, nm in ((111, C.M_PI0, BR_PI0_GG, "pi0"), (221, C.M_ETA, BR_ETA_GG, "eta")):
                br = br_meson_to_gamma_v(m_m, m_v, eps, brgg)
                is_open = m_v < m_m and eps > 0.0
                sampler = _two_body_sampler(m_m, m_v, 0.0) if is_open else None
                chans.append(ProductionChannel(parent, f"{nm} -> gamma {lab}", br, pdg, m_v, sampler, False, is_open))
        return chans

    def production_channels(self) -> list[ProductionChannel]:
        """π±, K± → ℓ±νV (ℓ = μ, e) and π⁰, η → γV for V₁ (and V₂ if present and
        ``include_v2_production``); closed channels listed with BR 0.  BRs use the PDG total
        widths of π±, K± (``particle`` lifetimes)."""
        return list(self._channels)

    # ------------------------------------------------------------------ prompt decays
    def _dark_decay_table(self, label: str) -> list[tuple[str, float, int, float, int, float]]:
        """(channel, BR, pdg_a, m_a, pdg_b, m_b) of the dark decays of ``label``."""
        br = self.v_branching_ratios(label)
        chi, chip = DARK_PDG["chi"], DARK_PDG["chi_prime"]
        return [
            ("chi chibar", br["chi chibar"], chi, self.m_chi, chi, self.m_chi),
            ("chi chibar_prime + h.c.", br["chi chibar_prime + h.c."], chi, self.m_chi, chip, self.m_chi_prime),
        ]

    def prompt_decays_with_report(
        self, sample: ParticleSample, rng: np.random.Generator
    ) -> tuple[ParticleSample, PromptDecayReport]:
        """Replace every V₁/V₂ (codes ``DARK_PDG['V1'/'V2']``) by its dark daughters at the same
        vertex; other particles pass unchanged.

        * An unpolarised vector (averaged over its 3 spin states) decays isotropically in its
          rest frame: each decay is drawn isotropically there and boosted to the lab.  (The V from
          P → ℓνV is in fact partially polarised; that spin correlation is neglected.)
        * Weights are split deterministically, not drawn: for each V of weight w, every open dark
          channel c yields its two daughters, each with weight w·BR_c (weight = expected number of
          such particles per POT).  χ and χ̄ are both stored with code ``DARK_PDG['chi']`` and χ′/χ̄′
          with ``DARK_PDG['chi_prime']`` (the up-scattering and decay rates are C-symmetric);
          χ′ is kept (it decays later).  ``parent`` keeps the meson code of the V.
        * Visible SM channels (e⁺e⁻, μ⁺μ⁻, π⁺π⁻, π⁰γ) are removed from the dark sample; their
          weight is returned in the report (and logged), never dropped silently.
        """
        out = [sample.select(~np.isin(sample.pdgid, [DARK_PDG["V1"], DARK_PDG["V2"]]))]
        med_w, dark_w = 0.0, 0.0
        vis: dict[str, float] = {}
        labels = ["V1"] + (["V2"] if self.is_double else [])
        for lab in labels:
            sel = sample.pdgid == DARK_PDG[lab]
            if not np.any(sel):
                continue
            sub = sample.select(sel)
            w_in = float(np.sum(sub.weight))
            med_w += w_in
            brs = self.v_branching_ratios(lab)
            for ch in ("e+ e-", "mu+ mu-", "pi+ pi-", "pi0 gamma"):
                vis[f"{lab} -> {ch}"] = vis.get(f"{lab} -> {ch}", 0.0) + w_in * brs[ch]
            if self.v_width(lab) <= 0.0:
                raise ParameterError(f"mediator {lab} has no open decay channel (all couplings 0); cannot decay it")
            for ch, br, pa, ma, pb, mb in self._dark_decay_table(lab):
                if br <= 0.0:
                    continue
                d1, d2 = two_body_decay(rng, sub.p4, ma, mb)
                w = sub.weight * br
                dark_w += float(np.sum(w))
                for d, code in ((d1, pa), (d2, pb)):
                    out.append(ParticleSample(d, sub.vertex, code, w, sub.parent))
        report = PromptDecayReport(med_w, dark_w, vis)
        if med_w > 0:
            _log.info("idm prompt decays: %.4g of the mediator weight went to visible SM channels %s",
                      report.visible_fraction, {k: v for k, v in vis.items() if v > 0})
        return ParticleSample.concatenate(out), report

    def prompt_decays(self, sample: ParticleSample, rng: np.random.Generator) -> ParticleSample:
        """:meth:`prompt_decays_with_report` without the report (the visible fraction is logged
        at INFO level and is also in :meth:`describe` as the V branching ratios)."""
        return self.prompt_decays_with_report(sample, rng)[0]

    # ------------------------------------------------------------------ description
    def describe(self) -> dict[str, Any]:
        meds = {}
        for lab, m, eps, g, gp in self._mediators():
            meds[lab] = {
                "mass_mev": m, "eps": eps, "g": g, "gp": gp,
                "partial_widths_mev": self.v_partial_widths(lab),
                "total_width_mev": self.v_width(lab),
                "branching_ratios": self.v_branching_ratios(lab),
                "lifetime_s": self.v_lifetime(lab),
            }
        chans = [
            {"label": c.label, "parent": c.parent, "branching_ratio": c.branching_ratio, "is_open": c.is_open}
            for c in self.production_channels()
        ]
        return {
            "model": self.name,
            "variant": "double" if self.is_double else "single",
            "params": self.params(),
            "conventions": {
                "lagrangian": "sum_i (e eps_i J_EM + g_i chibar g^mu chi + g'_i (chibar' g^mu chi + h.c.)) V_i",
                "fermions": "Dirac chi, chi'; no chibar' gamma chi' coupling (V -> chi' chibar' absent)",
                "coupling_product": "eps1*eps2*gp2^2/(4pi)" if self.is_double else "eps1^2*gp1^2/(4pi)",
                "with_coupling_product_scales": "gp2" if self.is_double else "gp1",
                "sd_form_factors": {"pi": [FV_PI, FA_PI], "K": [FV_K, FA_K]},
                "species_codes": {"chi (and chibar)": DARK_PDG["chi"], "chi_prime (and bar)": DARK_PDG["chi_prime"]},
            },
            "coupling_product": self.coupling_product(),
            "mediators": meds,
            "chi_prime": {
                "delta_mev": self.delta,
                "partial_widths_mev": self.chi_prime_partial_widths(),
                "total_width_mev": self.chi_prime_width(),
                "br_chi_ee": self.chi_prime_br("e"),
                "br_chi_mumu": self.chi_prime_br("mu"),
                "lifetime_s": self.chi_prime_lifetime(),
                "ctau_cm": self.chi_prime_lifetime() * C.C_LIGHT,
            },
            "production_channels": chans,
        }


# ============================================================================ helpers


def _lepton_key(lepton: str) -> str:
    key = {"e": "e", "e-": "e", "e+": "e", "mu": "mu", "mu-": "mu", "mu+": "mu"}.get(lepton)
    if key is None:
        raise ParameterError(f"lepton {lepton!r} unknown: allowed 'e', 'mu'")
    return key


def _lepton_mass(lepton: str) -> float:
    return C.M_E if _lepton_key(lepton) == "e" else C.M_MU


def _meson_inputs(meson: str) -> tuple[float, float, float, float, float]:
    """(m_P, f_P, |V|, F_V, F_A) for 'pi' / 'K'."""
    if meson == "pi":
        return C.M_PI, C.F_PI, C.V_UD, FV_PI, FA_PI
    if meson == "K":
        return C.M_K, C.F_K, C.V_US, FV_K, FA_K
    raise ParameterError(f"meson {meson!r} unknown: allowed 'pi', 'K'")


@lru_cache(maxsize=64)
def _radiative_table(meson: str, lepton: str, m_v: float, n_grid: int) -> ThreeBodyTable:
    """ThreeBodyTable of P⁺ → ℓ⁺ν V for unit coupling ε = 1 (the shape does not depend on ε, the
    width scales as ε²); cached across models so that coupling scans reuse it."""
    m_p, f, v, fv, fa = _meson_inputs(meson)
    m_l = _lepton_mass(lepton)

    def msq(x: Array, y: Array) -> Array:
        return radiative_msq(x, y, m_meson=m_p, m_lep=m_l, m_v=m_v, coupling=1.0, f_meson=f, v_ckm=v,
                             f_v=fv, f_a=fa)

    key = {"process": "radiative P -> l nu V (IB + SD)", "meson": meson, "lepton": lepton, "f_meson": f,
           "v_ckm": v, "f_v": fv, "f_a": fa, "coupling": 1.0}
    return cached_three_body_table(key, m_p, m_l, 0.0, m_v, msq, n_grid=n_grid)


def _two_body_sampler(m_parent: float, m_dark: float, m_other: float):
    """Rest-frame sampler of the dark daughter of a two-body decay (H3's meson_decays helper)."""
    from mesonportal.production.meson_decays import two_body_sampler

    return two_body_sampler(m_parent, m_dark, m_other)



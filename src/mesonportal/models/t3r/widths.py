"""Decay widths of φ′ and A′ at an arbitrary (off-shell) mass — used for the physical widths in
the propagators and, through the s-channel "width trick", for DM annihilation (docs/t3r.md §3).

All widths in MeV, masses in MeV; ``point`` is a :class:`~.model.T3RPoint` with V set.

Hadrons (valid below ~1 GeV, stated in every output): φ′ → ππ through the quark-mass term of
leading-order chiral perturbation theory, m_π² ∝ m_q ∝ ⟨φ⟩ ⇒ L ⊃ −(m_π²/(2√2V)) φ′ π^a π^a;
A′ → π⁺π⁻ through the isovector quark current (A′ couples to u and d with vector charges
−g and +g, so g_{A′ππ} = −2g), point-like pion form factor (no ρ enhancement).  φ′ → γγ and the
φ′A′γ vertex are computed from lepton loops only (quark/hadron loops omitted).
"""

from __future__ import annotations

import math

import numpy as np

from mesonportal import constants as C
from mesonportal.models.scalar import loop_function_f
from mesonportal.models.t3r.model import T3R_CHARGES, fermion_mass

__all__ = ["phi_widths", "aprime_widths", "beta"]


def beta(m, m1, m2=None):
    """Two-body velocity factor √(1 − 4m₁²/m²) (equal masses) or λ^½/m² (unequal); 0 if closed."""
    m = np.asarray(m, float)
    if m2 is None:
        x = 1.0 - 4.0 * m1 * m1 / np.maximum(m * m, 1e-300)
        return np.sqrt(np.clip(x, 0.0, None))
    a = (1 - ((m1 + m2) / m) ** 2) * (1 - ((m1 - m2) / m) ** 2)
    return np.sqrt(np.clip(a, 0.0, None))


def _gamma_gamma(point, m) -> np.ndarray:
    """Γ(φ′ → γγ) at mass m through the e and μ loops (scalar loop amplitude 2τ[1+(1−τ)f(τ)])."""
    m = np.atleast_1d(np.asarray(m, float))
    amp = np.zeros(m.shape, complex)
    for name in ("e", "mu"):
        ml = fermion_mass(name)
        y = point.yukawa(ml)
        tau = 4 * ml * ml / (m * m)
        f = loop_function_f(tau)
        amp += y / ml * 2 * tau * (1 + (1 - tau) * f)
    return C.ALPHA_EM**2 * m**3 * np.abs(amp) ** 2 / (256 * math.pi**3)


def phi_widths(point, m, include_dark: bool = True) -> dict[str, np.ndarray]:
    """Partial widths [MeV] of a scalar with φ′'s couplings at mass ``m`` [MeV] (array).

    Channels: e⁺e⁻, μ⁺μ⁻ (y_f² m β³/8π), ν_s ν_s and active νν (Majorana, y² m β³/16π; active
    coupling y_νs θ²), γγ (lepton loops), π⁺π⁻ and π⁰π⁰ (g = m_π²/(√2V): g²β/(16πm) and
    g²β/(32πm)), A′A′ (vertex √2 m_A′²/V: m³/(64πV²) β (1 − 4r + 12r²), r = m_A′²/m²) and, with
    ``include_dark``, η₁η₁, η₂η₂ (Majorana)."""
    m = np.atleast_1d(np.asarray(m, float))
    out: dict[str, np.ndarray] = {}
    for name, lab in (("e", "e+ e-"), ("mu", "mu+ mu-")):
        mf = fermion_mass(name)
        out[lab] = point.yukawa(mf) ** 2 * m * beta(m, mf) ** 3 / (8 * math.pi)
    ys = point.yukawa(point.m_nus)
    out["nu_s nu_s"] = ys**2 * m * beta(m, point.m_nus) ** 3 / (16 * math.pi)
    out["nu nu (active)"] = (ys * point.theta_nu**2) ** 2 * m / (16 * math.pi)
    out["gamma gamma"] = _gamma_gamma(point, m)
    v = point.v_gev * 1e3
    g_pp = C.M_PI**2 / (math.sqrt(2) * v)
    g_p0 = C.M_PI0**2 / (math.sqrt(2) * v)
    out["pi+ pi-"] = g_pp**2 * beta(m, C.M_PI) / (16 * math.pi * m)
    out["pi0 pi0"] = g_p0**2 * beta(m, C.M_PI0) / (32 * math.pi * m)
    r = point.m_aprime**2 / (m * m)
    out["A' A'"] = m**3 / (64 * math.pi * v * v) * beta(m, point.m_aprime) * (1 - 4 * r + 12 * r * r)
    if include_dark:
        for lab, me in (("eta1 eta1", point.m_eta1), ("eta2 eta2", point.m_eta2)):
            out[lab] = point.yukawa(me) ** 2 * m * beta(m, me) ** 3 / (16 * math.pi)
    return out


def aprime_widths(point, m, include_dark: bool = True) -> dict[str, np.ndarray]:
    """Partial widths [MeV] of a vector with A′'s couplings at mass ``m`` [MeV] (array).

    Dirac f with f̄γ^μ(g_V + g_A γ⁵)f: N_c m β [g_V²(1 + 2r) + g_A² (1 − 4r)] / (12π), r = m_f²/m²
    (e, μ); Majorana with axial Feynman rule a γ^μγ⁵ (ν_s, active ν via θ², η₁, η₂):
    a² m β³ / (24π); π⁺π⁻: g_ππ² m β³ / (48π) with g_ππ = 2 g_T3R; π⁰γ through the WZW term,
    G² k³/(12π) with G = e g_T3R/(4π² f_π) (:mod:`.annihilation`; A′ → π⁰φ′ is not included)."""
    m = np.atleast_1d(np.asarray(m, float))
    out: dict[str, np.ndarray] = {}
    for name, lab in (("e", "e+ e-"), ("mu", "mu+ mu-")):
        mf = fermion_mass(name)
        gv, ga = point.aprime_fermion(name)
        r = mf * mf / (m * m)
        b = beta(m, mf)
        out[lab] = m * b * (gv**2 * (1 + 2 * r) + ga**2 * (1 - 4 * r)) * (b > 0) / (12 * math.pi)
    g = point.g_t3r
    a_nu = g * abs(T3R_CHARGES["nu_R"])
    out["nu_s nu_s"] = a_nu**2 * m * beta(m, point.m_nus) ** 3 / (24 * math.pi)
    out["nu nu (active)"] = (a_nu * point.theta_nu**2) ** 2 * m / (24 * math.pi)
    g_pp = 2.0 * g
    out["pi+ pi-"] = g_pp**2 * m * beta(m, C.M_PI) ** 3 / (48 * math.pi)
    # WZW (docs/t3r.md §3.3): |G| = e g/(4π² f_π), Γ = G² k³/(12π), k = (m² − m_π0²)/(2m)
    g_wzw = C.E_CHARGE * g / (4 * math.pi**2 * C.F_PI / math.sqrt(2.0))
    k = np.clip(m * m - C.M_PI0**2, 0.0, None) / (2 * m)
    out["pi0 gamma"] = g_wzw**2 * k**3 / (12 * math.pi)
    if include_dark:
        a_eta = g * abs(T3R_CHARGES["eta_L"])
        for lab, me in (("eta1 eta1", point.m_eta1), ("eta2 eta2", point.m_eta2)):
            out[lab] = a_eta**2 * m * beta(m, me) ** 3 / (24 * math.pi)
    return out


def total_width(widths: dict[str, np.ndarray]) -> np.ndarray:
    """Sum of partial widths."""
    return np.sum(np.array(list(widths.values())), axis=0)



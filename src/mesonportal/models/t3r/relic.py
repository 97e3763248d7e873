"""Thermal freeze-out of η₁, η₂ (docs/t3r.md §3).

* Cross sections σ(s) [MeV⁻²] of η_i η_i → X for the s-channel φ′ (every φ′* decay channel, via
  σ = y_η² (s − 4m²) Γ_X(√s) / (4 p_i |s − m_φ′² + i m_φ′ Γ_φ′|²)) and the s-channel A′
  (η axial current; f f̄ from the full unitary-gauge trace, π⁺π⁻ from the conserved isovector
  current) — spin-summed interference terms between φ′ and A′ vanish (single-γ⁵ traces) — and,
  from :mod:`.annihilation`, the coherent sums of all diagrams for η η → φ′φ′, A′A′, φ′A′
  (t/u-channel η + s-channel), π⁰γ (WZW), π⁰φ′, π⁰A′ and γγ via the A′–π⁰ mixing.  Computed
  domain: m_η2 · 2 · 1.2 below the K K̄ threshold (pion-only chiral couplings).
* Thermal average: Gondolo & Gelmini, Nucl. Phys. B360 (1991) 145,
  ⟨σv⟩ = x / (8 m⁵ K₂(x)²) ∫_{4m²}^∞ σ(s)(s − 4m²)√s K₁(x√s/m) ds,
  integrated on composite Gauss–Legendre panels refined towards threshold and around every
  resonance pole (s_R ± k m_R Γ_R), so narrow resonances are resolved.
* Coannihilation of η₁, η₂ (Griest & Seckel, PRD 43 (1991) 3191; Edsjö & Gondolo, PRD 56
  (1997) 1879): Y = Y₁ + Y₂, ⟨σ_eff v⟩ = Σ_i (n_i^eq)² ⟨σ_ii v⟩ / (Σ_i n_i^eq)² (η₁η₂ → SM has no
  tree-level coupling in this model: φ′ and A′ couple diagonally).  The formalism assumes
  n₂/n₁ stays at its equilibrium value; here that is maintained by the conversion
  η₂η₂ ↔ η₁η₁ through s-channel φ′ and A′, whose couplings (y_η1 y_η2, g²) are at least as large
  as those of annihilation into SM states (y_η y_f, g g_f), so conversion outlasts annihilation.
* Boltzmann equation in x = m_η1/T (Gondolo–Gelmini form):
  dY/dx = −√(π/45) M_Pl g_*^½ m x⁻² ⟨σ_eff v⟩ (Y² − Y_eq²),
  g_*^½ = (h_eff/√g_eff)(1 + T dh_eff/(3 h_eff dT)); g_eff, h_eff from ideal-gas integrals of the
  particles in equilibrium (γ, 3 ν, e±, μ±, π±, π⁰ — valid below the QCD transition, T < 150 MeV —
  plus the thermalised dark states A′, φ′, ν_s); solved by implicit Euler on a fine log grid.
* Ω h² = m Y_∞ s₀ / (ρ_c/h²), s₀ = 2891.2 cm⁻³, ρ_c/h² = 1.05371e-5 GeV cm⁻³ (PDG 2024 cosmological
  parameters); target Ω h² = 0.120 (Planck 2018, arXiv:1807.06209: 0.120 ± 0.001).

Units: MeV, cm, s; ⟨σv⟩ is reported in cm³/s (× ħ²c³).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import kve

from mesonportal import constants as C
from mesonportal.exceptions import ParameterError
from mesonportal.models.t3r.annihilation import (
    CHANNEL_KEYS,
    GAMMA_PI0,
    boson_channels,
    boson_thresholds,
    mixing_coupling,
)
from mesonportal.models.t3r.model import T3R_CHARGES, T3RPoint, fermion_mass
from mesonportal.models.t3r.widths import aprime_widths, phi_widths, total_width

__all__ = ["sigma_channels", "sigma_v_thermal", "thermal_average", "solve_boltzmann", "relic_density",
           "solve_v_for_relic", "RelicResult", "g_eff", "freeze_out_approx", "OMEGA_H2_PLANCK", "MPL_MEV",
           "SIGMAV_TO_CM3_S", "closed_channel_check", "channel_thresholds", "channel_fractions",
           "HADRONIC_LIMIT", "MIXING_MAX", "v_min_mixing_gev"]

_N_STEPS = 20000
MPL_MEV = 1.220890e22  # Planck mass [MeV] (PDG)
S0_CM3 = 2891.2  # entropy density today [cm^-3]
RHO_C_H2_MEV_CM3 = 1.05371e-2  # critical density / h^2 [MeV cm^-3]
OMEGA_H2_PLANCK = 0.120
#: ⟨σv⟩ in MeV⁻² → cm³/s: (ħc)² c.
SIGMAV_TO_CM3_S = C.HBARC**2 * C.C_LIGHT

# ------------------------------------------------------------------ thermodynamics
_BOSONS = (("pi+-", C.M_PI, 2.0), ("pi0", C.M_PI0, 1.0))
_FERMIONS = (("e", C.M_E, 4.0), ("mu", C.M_MU, 4.0))


def _rho_s_factors(m_over_t: np.ndarray, fermion: bool) -> tuple[np.ndarray, np.ndarray]:
    """(g_eff, h_eff) contribution per internal d.o.f. of a species with m/T (ideal gas,
    normalised to 1 (bosons) / 7/8 (fermions) in the massless limit)."""
    z = np.atleast_1d(m_over_t)
    t, w = np.polynomial.laguerre.laggauss(60)
    # energy and entropy integrals: ∫ q² E/(e^E ± 1) dq etc. in units of T, q = momentum / T
    q = t[None, :]
    e = np.sqrt(q * q + z[:, None] ** 2)
    sgn = 1.0 if fermion else -1.0
    with np.errstate(over="ignore"):
        occ = 1.0 / (np.exp(e) + sgn)
    wq = w[None, :] * np.exp(q)  # Laguerre weight e^{-q} removed
    rho = np.sum(wq * q * q * e * occ, axis=1) * 15 / math.pi**4  # → 1 for massless bosons
    p = np.sum(wq * q**4 / (3 * e) * occ, axis=1) * 15 / math.pi**4
    s = (rho + p) * 3 / 4  # h contribution: (ρ + p)/T ∝ s, normalised like ρ
    return rho, s


def g_eff(T, dark: tuple[tuple[float, float, bool], ...] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(g_eff, h_eff, g_*^½) at temperature T [MeV] (array); ``dark`` = ((mass, dof, fermion), ...)
    adds thermalised dark states.  Valid for 0.05 < T < 150 MeV (below the QCD transition;
    neutrinos counted as coupled, T_ν = T)."""
    T = np.atleast_1d(np.asarray(T, float))

    def both(TT):
        g = np.full(TT.shape, 2.0 + 7.0 / 8.0 * 6.0)
        h = g.copy()
        for _, m, dof in _BOSONS:
            r, s = _rho_s_factors(m / TT, False)
            g += dof * r
            h += dof * s
        for _, m, dof in _FERMIONS:
            r, s = _rho_s_factors(m / TT, True)
            g += dof * r
            h += dof * s
        for m, dof, ferm in dark:
            r, s = _rho_s_factors(m / TT, ferm)
            g += dof * r
            h += dof * s
        return g, h

    g, h = both(T)
    eps = 1e-3
    _, hp = both(T * (1 + eps))
    _, hm = both(T * (1 - eps))
    dlnh = (np.log(hp) - np.log(hm)) / (2 * eps)
    gs = h / np.sqrt(g) * (1 + dlnh / 3)
    return g, h, gs


# ------------------------------------------------------------------ cross sections
def _aprime_ff_msq(s, cth, m, a_eta, mf, gv, ga, m_a, gam_a):
    """Spin-summed |M|² of η η → A′* → f f̄ (η Majorana with axial Feynman rule a_η γ^μγ⁵, f
    Dirac with γ^μ(g_V + g_A γ⁵)), unitary-gauge propagator (docs/t3r.md §3.2)."""
    rs = np.sqrt(s)
    pi = np.sqrt(np.clip(s / 4 - m * m, 0, None))
    pf = np.sqrt(np.clip(s / 4 - mf * mf, 0, None))
    e = rs / 2
    # CM frame: p1 = (e, 0, 0, pi), p2 = (e, 0, 0, -pi), p3 = (e, pf sinθ, 0, pf cosθ), p4 = (e, -..)
    p1p3 = e * e - pi * pf * cth
    p1p4 = e * e + pi * pf * cth
    p12 = s / 2 - m * m
    p34 = s / 2 - mf * mf
    vpa = gv * gv + ga * ga
    vma = gv * gv - ga * ga
    lh = 16 * vpa * (2 * (p1p3 * p1p3 + p1p4 * p1p4) - 2 * m * m * p34) - 16 * vma * mf * mf * (4 * m * m - 2 * p12)
    long = 64 * m * m * ga * ga * mf * mf * s * (s / m_a**2 - 2) / m_a**2
    den = (s - m_a**2) ** 2 + (m_a * gam_a) ** 2
    return a_eta**2 * (lh + long) / den


def _aprime_pipi_msq(s, cth, m, a_eta, g_pp, m_a, gam_a):
    """Spin-summed |M|² of η η → A′* → π⁺π⁻ (conserved current g_ππ (p₃ − p₄))."""
    pi = np.sqrt(np.clip(s / 4 - m * m, 0, None))
    pf = np.sqrt(np.clip(s / 4 - C.M_PI**2, 0, None))
    # q = p3 - p4 = (0, 2 pf sinθ, 0, 2 pf cosθ);  p1·q = -pi·2pf cosθ, p2·q = +2 pi pf cosθ
    p1q = -2 * pi * pf * cth
    p2q = 2 * pi * pf * cth
    q2 = -4 * pf * pf
    p12 = s / 2 - m * m
    lh = 4 * g_pp**2 * (2 * p1q * p2q - q2 * (p12 - m * m))
    den = (s - m_a**2) ** 2 + (m_a * gam_a) ** 2
    return a_eta**2 * lh / den


_CTH, _WTH = np.polynomial.legendre.leggauss(8)


def sigma_channels(point: T3RPoint, m_eta: float, s) -> dict[str, np.ndarray]:
    """σ(η η → X) [MeV⁻²] for an η of mass ``m_eta`` [MeV] at Mandelstam s [MeV²] (array), by
    final state and mediator: keys "phi': <final>", "A': <final>" (s-channel only), and the
    channels of :mod:`.annihilation` ("t/u+s: phi' phi'", "t/u+s: A' A'", "t/u+s: phi' A'",
    "A' (WZW): pi0 gamma", "A'-pi0 mixing: pi0 phi'" / "pi0 A'" / "gamma gamma"), each the
    coherent sum of all its diagrams."""
    s = np.atleast_1d(np.asarray(s, float))
    rs = np.sqrt(s)
    pi = np.sqrt(np.clip(s / 4 - m_eta**2, 0, None))
    open_ = pi > 0
    out: dict[str, np.ndarray] = {}
    # --- s-channel φ′ (width trick)
    y = point.yukawa(m_eta)
    wphi = phi_widths(point, rs, include_dark=False)
    gphi = float(total_width(phi_widths(point, point.m_phiprime))[0])
    den = (s - point.m_phiprime**2) ** 2 + (point.m_phiprime * gphi) ** 2
    pref = np.where(open_, y * y * (s - 4 * m_eta**2) / (4 * np.where(open_, pi, 1.0) * den), 0.0)
    for k, w in wphi.items():
        if k == "A' A'":  # computed with the t/u-channel diagrams it interferes with (below)
            continue
        out[f"phi': {k}"] = pref * w
    # --- s-channel A′
    a_eta = point.g_t3r * abs(T3R_CHARGES["eta_L"])
    m_a = point.m_aprime
    gam_a = float(total_width(aprime_widths(point, m_a))[0])
    cth = _CTH[:, None]
    flux = np.where(open_, 1.0 / (16 * math.pi * s * np.where(open_, pi, 1.0)), 0.0)
    chans = []
    for name, lab in (("e", "e+ e-"), ("mu", "mu+ mu-")):
        mf = fermion_mass(name)
        gv, ga = point.aprime_fermion(name)
        chans.append((lab, mf, gv, ga, 1.0))
    a_nu = point.g_t3r * abs(T3R_CHARGES["nu_R"])
    chans.append(("nu_s nu_s", point.m_nus, 0.0, a_nu, 0.5))
    chans.append(("nu nu (active)", 0.0, 0.0, a_nu * point.theta_nu**2, 0.5))
    for lab, mf, gv, ga, sym in chans:
        pf = np.sqrt(np.clip(s / 4 - mf * mf, 0, None))
        msq = _aprime_ff_msq(s[None, :], cth, m_eta, a_eta, mf, gv, ga, m_a, gam_a)
        avg = 0.5 * np.sum(_WTH[:, None] * msq, axis=0) / 4.0  # angular average, 1/4 spin average
        out[f"A': {lab}"] = sym * flux * pf * avg * (pf > 0)
    pf = np.sqrt(np.clip(s / 4 - C.M_PI**2, 0, None))
    msq = _aprime_pipi_msq(s[None, :], cth, m_eta, a_eta, 2.0 * point.g_t3r, m_a, gam_a)
    out["A': pi+ pi-"] = flux * pf * 0.5 * np.sum(_WTH[:, None] * msq, axis=0) / 4.0 * (pf > 0)
    # --- t/u-channel and anomalous / π⁰-mixing channels (:mod:`.annihilation`)
    out.update(boson_channels(point, m_eta, s))
    return out


#: Upper end of the computed domain [MeV]: the thermal reach 2 m_η2 · THERMAL_MARGIN must stay below
#: the K K̄ threshold — the hadronic channels use leading-order chiral couplings of pions only (no
#: kaons, η meson, ρ/ω form factors), see :mod:`.annihilation`.
HADRONIC_LIMIT = 2 * C.M_K

#: Largest A′–π⁰ mixing ε = c m_π0/|m_A′² − m_π0²| for the first-order treatment of :mod:`.annihilation`
#: (neglected terms O(ε²) ≤ 10 %).
MIXING_MAX = 0.3

#: The thermal tail reaches √s ≈ 2m(1 + 10/x_f) ≈ 2.4 m (x_f ≈ 20 → e^{-8} suppression beyond it).
THERMAL_MARGIN = 1.2


def channel_thresholds(point: T3RPoint) -> dict[str, float]:
    """√s thresholds [MeV] of every annihilation channel, keyed as in :func:`sigma_channels`."""
    mf = {"e+ e-": fermion_mass("e"), "mu+ mu-": fermion_mass("mu"), "nu_s nu_s": point.m_nus,
          "nu nu (active)": 0.0}
    out = {}
    for k, m in mf.items():
        out[f"phi': {k}"] = 2 * m
        out[f"A': {k}"] = 2 * m
    out.update({"phi': gamma gamma": 0.0, "phi': pi+ pi-": 2 * C.M_PI, "phi': pi0 pi0": 2 * C.M_PI0,
                "A': pi+ pi-": 2 * C.M_PI})
    for k, thr in boson_thresholds(point).items():
        out[CHANNEL_KEYS[k]] = thr
    return out


def v_min_mixing_gev(point: T3RPoint) -> float:
    """Smallest V [GeV] with A′–π⁰ mixing c m_π0/|m_A′² − m_π0²| ≤ :data:`MIXING_MAX`
    (c = 2 g_T3R f_π = f_π m_A′/(√2 V))."""
    f_pi = C.F_PI / math.sqrt(2.0)
    return f_pi * point.m_aprime * C.M_PI0 / (math.sqrt(2.0) * MIXING_MAX * abs(point.m_aprime**2 - C.M_PI0**2)) / 1e3


def closed_channel_check(point: T3RPoint) -> None:
    """Refuse points outside the computed domain: (i) every tree-level channel closed (m_η ≤ m_e
    and m_η ≤ m_νs: only loop-level γγ and the θ⁴-suppressed active νν remain); (ii) the thermal
    tail (2 m_η2 · 1.2) reaching the K K̄ threshold, beyond which the pion-only chiral treatment of
    the hadronic channels fails; (iii) with V set, m_A′ so close to m_π0 that the A′–π⁰ mixing
    c m_π0/|m_A′² − m_π0²| exceeds :data:`MIXING_MAX`."""
    m1 = point.m_eta1
    if m1 <= C.M_E and m1 <= point.m_nus:
        raise ParameterError(
            f"parameter 'm_dm' = {m1:.4g} MeV closes every tree-level annihilation channel (e+e-, nu_s nu_s, "
            f"mu+mu-, pi pi); allowed range: m_dm > min(m_e, m_nus) = {min(C.M_E, point.m_nus):.4g} MeV"
        )
    if point.v_gev is not None:
        eps = mixing_coupling(point) * C.M_PI0 / abs(point.m_aprime**2 - C.M_PI0**2)
        if eps > MIXING_MAX:
            raise ParameterError(
                f"parameter 'm_aprime' = {point.m_aprime:.4g} MeV is too close to m_pi0 = {C.M_PI0:.4g} MeV: "
                f"A'-pi0 mixing {eps:.2g} > {MIXING_MAX} (treated to first order); allowed range: "
                f"|m_aprime^2 - m_pi0^2| > {mixing_coupling(point) * C.M_PI0 / MIXING_MAX:.4g} MeV^2 at this V"
            )
    reach = 2 * point.m_eta2 * THERMAL_MARGIN
    if reach > HADRONIC_LIMIT:
        raise ParameterError(
            f"parameter 'm_dm' = {m1:.4g} MeV (with delta = {point.delta:.4g}) puts the thermal tail above the "
            f"K K~ threshold (hadronic channels computed with pions only); allowed range: "
            f"m_dm + delta < {HADRONIC_LIMIT / (2 * THERMAL_MARGIN):.4g} MeV"
        )


def _s_nodes(point: T3RPoint, m_eta: float) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes/weights in √s − 2m (MeV) on [0, 60 m]: log panels from threshold and
    around the φ′ and A′ poles (± k Γ, k = 1 … 1e6)."""
    top = 60.0 * m_eta
    edges = {0.0, top}
    for k in range(-12, 2):
        edges.add(m_eta * 10.0**k)
    for mr, wid in ((point.m_phiprime, float(total_width(phi_widths(point, point.m_phiprime))[0])),
                    (point.m_aprime, float(total_width(aprime_widths(point, point.m_aprime))[0]))):
        er = mr - 2 * m_eta
        wid = max(wid, 1e-14 * mr)
        for k in range(0, 8):
            for sgn in (-1, 1):
                e = er + sgn * wid * 10.0**k
                if 0 < e < top:
                    edges.add(e)
        if 0 < er < top:
            edges.add(er)
    for thr in channel_thresholds(point).values():
        e = thr - 2 * m_eta
        if 0 < e < top:
            edges.add(e)
            for k in (-2, 0):  # resolve the opening (β^n rise) of each channel
                if e + m_eta * 10.0**k < top:
                    edges.add(e + m_eta * 10.0**k)
    er = C.M_PI0 - 2 * m_eta  # π⁰ pole of η η → π⁰* → γγ
    for k in range(0, 8):
        for sgn in (-1, 1):
            e = er + sgn * GAMMA_PI0 * 10.0**k
            if 0 < e < top:
                edges.add(e)
    ed = np.array(sorted(edges))
    t, w = np.polynomial.legendre.leggauss(12)
    a, b = ed[:-1, None], ed[1:, None]
    return (0.5 * (b - a) * (t + 1) + a).ravel(), (0.5 * (b - a) * w).ravel()


def thermal_average(sigma_of_s, m: float, x, nodes: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Gondolo–Gelmini ⟨σv⟩ (units of σ) of a pair of equal-mass (m [MeV]) particles at x = m/T:
    x/(8 m⁵ K₂(x)²) ∫ σ(s)(s − 4m²)√s K₁(x√s/m) ds, integrated over the quadrature ``nodes``
    (values, weights) in √s − 2m [MeV]; ``sigma_of_s`` is vectorised in s [MeV²]."""
    x = np.atleast_1d(np.asarray(x, float))
    eps, w = nodes
    rs = 2 * m + eps
    s = rs * rs
    sig = np.asarray(sigma_of_s(s), float)
    # ds = 2 √s d√s; kernel K1(x√s/m) / K2(x)² with exponential scaling
    z = x[:, None] * rs[None, :] / m
    ker = kve(1, z) * np.exp(-(z - 2 * x[:, None])) / kve(2, x)[:, None] ** 2
    integrand = sig * (s - 4 * m**2) * rs * 2 * rs
    return x / (8 * m**5) * np.sum(ker * integrand[None, :] * w[None, :], axis=1)


def sigma_v_thermal(point: T3RPoint, m_eta: float, x) -> np.ndarray:
    """Gondolo–Gelmini ⟨σv⟩ [MeV⁻²] of η η (mass ``m_eta``) at x = m_eta/T (array), all channels."""

    def sig(s):
        return np.sum(np.array(list(sigma_channels(point, m_eta, s).values())), axis=0)

    return thermal_average(sig, m_eta, x, _s_nodes(point, m_eta))


def channel_fractions(point: T3RPoint, m_eta: float, x: float) -> dict[str, float]:
    """Fraction of the Gondolo–Gelmini ⟨σv⟩ of η η (mass ``m_eta`` [MeV]) carried by each channel
    at x = m_eta/T (keys of :func:`sigma_channels`; they sum to 1)."""
    eps, w = _s_nodes(point, m_eta)
    s = (2 * m_eta + eps) ** 2
    sig = sigma_channels(point, m_eta, s)
    vals = {k: float(thermal_average(lambda _s, v=v: v, m_eta, x, (eps, w))[0]) for k, v in sig.items()}
    tot = sum(vals.values())
    return {k: (v / tot if tot > 0 else 0.0) for k, v in vals.items()}


# ------------------------------------------------------------------ Boltzmann
@dataclass
class RelicResult:
    """Freeze-out result: Ω h², Y_∞, x_f (Y − Y_eq = Y_eq), ⟨σ_eff v⟩ at x_f [cm³/s]."""

    omega_h2: float
    y_inf: float
    x_f: float
    sigma_v_xf_cm3_s: float
    mass_mev: float


def _yeq(x, m_list, g_list, h):
    """Y_eq = Σ_i 45 g_i (x_i² K₂(x_i)) / (4π⁴ h_eff), x_i = m_i/T (x = m₁/T)."""
    tot = 0.0
    for m, g in zip(m_list, g_list):
        xi = x * m / m_list[0]
        tot = tot + g * xi**2 * kve(2, xi) * np.exp(-xi)
    return 45.0 / (4 * math.pi**4 * h) * tot


def solve_boltzmann(mass: float, sigma_v, dark=(), g_dm=(2.0,), masses=None, x_range=(1.0, 1000.0)) -> RelicResult:
    """Integrate dY/dx for DM of mass ``mass`` [MeV] with ⟨σ_eff v⟩(x) [MeV⁻²] given by the
    callable ``sigma_v`` (vectorised in x).  ``masses``/``g_dm``: coannihilating states (first
    = DM), ``dark``: other thermalised states for g_eff (see :func:`g_eff`)."""
    masses = [mass] if masses is None else list(masses)
    xs = np.geomspace(x_range[0], x_range[1], 400)
    T = mass / xs
    g, h, gs = g_eff(np.clip(T, 0.05, None), dark)
    sv = np.asarray(sigma_v(xs), float)
    if np.any(~np.isfinite(sv)) or np.any(sv < 0):
        raise ParameterError("thermal cross section not finite or negative")
    yeq = _yeq(xs, masses, list(g_dm), h)
    lam = math.sqrt(math.pi / 45) * MPL_MEV * gs * mass / xs**2 * sv  # dY/dx = -lam (Y² - Yeq²)
    # Implicit (backward) Euler on a fine logarithmic x grid: each step is the positive root of
    # h λ Y² + Y − (Y_n + h λ Y_eq²) = 0, unconditionally stable through the stiff equilibrium
    # phase; first order, 20000 steps per decade-span (relative error < 1e-3, checked in tests).
    xf_grid = np.geomspace(x_range[0], x_range[1], _N_STEPS)
    lx = np.log(xs)
    lam_f = np.exp(np.interp(np.log(xf_grid), lx, np.log(np.maximum(lam, 1e-300))))
    yeq_f = np.exp(np.interp(np.log(xf_grid), lx, np.log(np.maximum(yeq, 1e-300))))
    hs = np.diff(xf_grid)
    yy_f = np.empty_like(xf_grid)
    y = float(yeq_f[0])
    yy_f[0] = y
    for i in range(len(hs)):
        hl = hs[i] * lam_f[i + 1]
        c = y + hl * yeq_f[i + 1] ** 2
        y = 2 * c / (1 + math.sqrt(1 + 4 * hl * c))  # stable form of (−1 + √(1 + 4 hλ c)) / (2 hλ)
        yy_f[i + 1] = y
    y_inf = float(yy_f[-1])
    yy = np.exp(np.interp(lx, np.log(xf_grid), np.log(yy_f)))
    over = np.nonzero(yy > 2 * yeq)[0]
    x_f = float(xs[over[0]]) if len(over) else float("nan")
    sv_f = float(np.interp(math.log(x_f), lx, sv)) if math.isfinite(x_f) else float("nan")
    m_eff = mass
    omega = m_eff * y_inf * S0_CM3 / RHO_C_H2_MEV_CM3
    return RelicResult(omega, y_inf, x_f, sv_f * SIGMAV_TO_CM3_S, m_eff)


def freeze_out_approx(mass: float, sigma_v0: float, g_dm: float, g_star: float) -> float:
    """Standard s-wave freeze-out approximation (Kolb & Turner, The Early Universe, eqs. 5.43–5.45):
    x_f = ln(c(c+2) √(45/8) g m M_Pl σ₀ / (2π³ √g_* x_f^½)) with c = ½ (iterated), and
    Ω h² = 1.07e9 GeV⁻¹ x_f / (√g_* M_Pl σ₀); σ₀ [MeV⁻²], masses MeV; g_* = g_*s constant."""
    c = 0.5
    xf = 20.0
    for _ in range(50):
        xf = math.log(c * (c + 2) * math.sqrt(45 / 8) * g_dm * mass * MPL_MEV * sigma_v0
                      / (2 * math.pi**3 * math.sqrt(g_star) * math.sqrt(xf)))
    return 1.07e9 * 1e-3 * xf / (math.sqrt(g_star) * MPL_MEV * sigma_v0)


def _dark_states(point: T3RPoint) -> tuple:
    return ((point.m_aprime, 3.0, False), (point.m_phiprime, 1.0, False), (point.m_nus, 2.0, True))


def relic_density(point: T3RPoint) -> RelicResult:
    """Ω h² of η₁ + η₂ for a point with V set (coannihilation, module docstring)."""
    closed_channel_check(point)
    m1, m2 = point.m_eta1, point.m_eta2

    def sv_eff(x):
        s1 = sigma_v_thermal(point, m1, x)
        if point.delta == 0.0:
            return 0.5 * s1  # two degenerate species, no η₁η₂ channel: Σ n_i²σ/(Σ n_i)² = σ/2
        s2 = sigma_v_thermal(point, m2, x * m2 / m1)
        r = (m2 / m1) ** 1.5 * np.exp(-x * (m2 - m1) / m1)  # n₂/n₁ (non-relativistic, equal g)
        return (s1 + r * r * s2) / (1 + r) ** 2

    return solve_boltzmann(m1, sv_eff, dark=_dark_states(point), g_dm=(2.0, 2.0), masses=(m1, m2))


def solve_v_for_relic(point: T3RPoint, target: float = OMEGA_H2_PLANCK) -> tuple[float, RelicResult]:
    """V [GeV] with Ω h² = ``target`` (Ω h² grows monotonically with V: σ ∝ V⁻⁴, or V⁻² on a
    narrow resonance).  ParameterError if no V in [V_min, 1e4 GeV] reaches it."""
    closed_channel_check(point)
    from scipy.optimize import brentq

    vmin = max(point.v_min_gev(), v_min_mixing_gev(point)) * 1.0001
    vmax = 0.999e4

    def f(lv):
        return math.log(relic_density(point.with_v(math.exp(lv))).omega_h2 / target)

    flo, fhi = f(math.log(vmin)), f(math.log(vmax))
    if flo > 0:
        raise ParameterError(
            f"no V reaches Omega h^2 = {target}: even at the smallest allowed V = {vmin:.4g} GeV "
            f"Omega h^2 = {target * math.exp(flo):.3g} (annihilation too weak for these masses; "
            f"parameter 'm_dm' or the mediator masses must change)"
        )
    if fhi < 0:
        raise ParameterError(f"no V <= {vmax:g} GeV gives Omega h^2 = {target} (annihilation too strong)")
    lv = brentq(f, math.log(vmin), math.log(vmax), xtol=1e-6)
    v = math.exp(lv)
    return v, relic_density(point.with_v(v))



"""Long-lived vector χ detected through a heavy scalar φ — the third scenario of the reference
talk (PRL 129 111803; arXiv:2309.02599; physics.md §2.3; conventions in docs/longlived_vector.md).

Lagrangian (χ a massive vector of mass m_χ, φ a scalar of mass m_φ; all couplings real)::

    L ⊃ χ_μ [ g_e ē γ^μ e + g_μ μ̄ γ^μ μ + g_νe ν̄_e γ^μ P_L ν_e + g_νμ ν̄_μ γ^μ P_L ν_μ
              + g_u ū γ^μ u + g_d (d̄ γ^μ d + s̄ γ^μ s) ]
        + g_φN φ N̄ N + (λ/4) φ χ_{μν} F^{μν}

(χ_{μν} = ∂_μχ_ν − ∂_νχ_μ; s couples like d — an assumption stated in every output).  With two
distinct vector fields the χ(k) φ γ(k′) vertex is i λ_eff [(k·k′) g^{αβ} − k′^α k^β], λ_eff = λ/2
(same algebra as physics.md §2.1, see :mod:`mesonportal.detection.vector_primakoff`).

Fit parameter (the signal of a long-lived χ scales as its square)::

    ḡ = g_prod · g_φN · λ   [MeV⁻¹],   g_prod = g_μ (the muon coupling; "production coupling")

Production (:func:`vector_emission_msq`): P⁺(p) → ℓ⁺(p_ℓ) ν(p_ν) χ(k), P = π, K, with χ radiated
from the meson line, the antilepton line, the neutrino line, the contact (seagull) term and the
structure-dependent terms, weighted by the χ charges

    Q_P = g_u − g_d (π⁺ = u d̄, and K⁺ = u s̄ with g_s = g_d),  Q_ℓ̄ = −g_ℓ,  Q_ν = g_νℓ,

    M = (G_F |V| / √2) ε*_α(k) ū(p_ν) Γ^α v(p_ℓ),
    Γ^α = Q_P (meson + contact + SD) + Q_ℓ̄ (lepton line) + Q_ν (neutrino line),

the IB pieces as in :func:`mesonportal.models.idm.radiative_current` (photon-like charges reproduce
it exactly) plus the neutrino line f γ^α (p̸_ν + k̸) p̸ (1 − γ⁵)/(2p_ν·k + m_χ²).  Contracting
with k gives k_α Γ^α = (Q_ℓ̄ + Q_ν − Q_P) f ū p̸(1 − γ⁵) v: the current is conserved (Ward
identity) iff the charges balance, Q_P = Q_ℓ̄ + Q_ν; otherwise the longitudinal χ has an amplitude
∝ 1/m_χ and Γ ∝ (m_P/m_χ)² for light χ (Goldstone equivalence; tested).  The spin sum uses the
massive polarisation sum −g_αβ + k_α k_β/m_χ².  The SD form factors (F_V, F_A of π/K → ℓνγ) are
scaled by Q_P/e — an assumption (exact for photon-like charges).

π⁰, η → γχ through the anomaly with one photon replaced by χ:
BR = 2 κ² (1 − m_χ²/m_M²)³ BR(M → γγ), κ = (2 g_u + g_d)/e (the ratio Tr[Q Q_χ T]/Tr[Q² T] for
T = τ₃ and for an octet η with g_s = g_d; η–η′ mixing neglected).

Decays of χ: e⁺e⁻, μ⁺μ⁻ (Γ = g²m/(12π)(1 + 2m_ℓ²/m²)β), νν̄ per flavour (g_ν² m/(24π), one
helicity), and 3γ through charged-lepton loops for m_χ < 2m_ℓ (Euler–Heisenberg limit,
Pospelov–Ritz–Voloshin arXiv:0807.3279: Γ = 17 α³ (g²/4π) m⁹ / (2⁷ 3⁶ 5³ π³ m_ℓ⁸), quoted).
χ → γγ is forbidden (Landau–Yang).

Units: masses and energies MeV, λ and ḡ MeV⁻¹, widths MeV, lifetimes s, cτ cm.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from mesonportal import constants as C
from mesonportal.exceptions import ParameterError
from mesonportal.models import idm as _idm
from mesonportal.models.base import MASS_MIN_MEV, DarkModel, DecayingDarkParticle, check_real
from mesonportal.production.channels import ProductionChannel
from mesonportal.production.three_body import ThreeBodyTable, cached_three_body_table
from mesonportal.sample import DARK_PDG

Array = NDArray[np.float64]

__all__ = [
    "LongLivedVector",
    "emission_current",
    "vector_emission_msq",
    "goldstone_msq",
    "ward_residual",
    "width_vector_to_leptons",
    "width_vector_to_neutrinos",
    "width_vector_to_three_photons",
    "br_neutral_meson_to_gamma_vector",
    "anomaly_ratio",
]

#: Names of the amplitude pieces (for tests / diagnostics).
PIECES = ("meson", "contact", "lepton", "neutrino", "sd")

_COUPLING_MAX = 4.0 * math.pi
_LAM_MAX = 1.0  # MeV^-1
_M_CHI_MAX = 1.0e3  # MeV (hadronic χ widths above ~1 GeV are not modelled)
_M_PHI_MAX = 1.0e5  # MeV


# ============================================================================ production amplitude


def emission_current(
    p: Array, p_lep: Array, p_nu: Array, k: Array, *, m_lep: float, m_v: float, f_meson: float,
    q_meson: float, q_lepbar: float, q_nu: float, f_v: float, f_a: float,
    pieces: tuple[str, ...] = PIECES,
) -> np.ndarray:
    """Dirac matrices Γ^α (N, 4, 4, 4) [MeV] of P⁺(p) → ℓ⁺(p_ℓ) ν(p_ν) χ(k) such that
    M = (G_F|V|/√2) ε*_α ū(p_ν) Γ^α v(p_ℓ) (module docstring).  Charges as defined there
    (dimensionless couplings); ``pieces`` selects terms (``"meson"``, ``"contact"``,
    ``"lepton"``, ``"neutrino"``, ``"sd"``).  The meson/contact/lepton/SD matrices are those of
    :func:`mesonportal.models.idm.radiative_current` (unit charge), multiplied by the charges."""
    n = len(p)
    out = np.zeros((n, 4, 4, 4), dtype=complex)
    for piece, q in (("meson", q_meson), ("contact", q_meson), ("lepton", q_lepbar), ("sd", q_meson)):
        if piece in pieces and q != 0.0:
            out += q * _idm.radiative_current(p, p_lep, k, m_lep, m_v, f_meson, f_v, f_a, (piece,))
    if "neutrino" in pieces and q_nu != 0.0:
        d_nu = 2.0 * _idm._dot(p_nu, k) + m_v * m_v
        right = (_idm._slash(p_nu + k) @ _idm._slash(p) @ _idm._PL) / d_nu[:, None, None]  # (N, 4, 4)
        out += q_nu * f_meson * np.einsum("aij,njk->naik", _idm._G, right)
    return out


def _momenta(m_meson, m_lep, m_v, x, y):
    return _idm.momenta_from_invariants(m_meson, m_lep, 0.0, m_v, x, y)


def vector_emission_msq(
    m2_13: Array, m2_23: Array, *, m_meson: float, m_lep: float, m_v: float, f_meson: float, v_ckm: float,
    q_meson: float, q_lepbar: float, q_nu: float, f_v: float, f_a: float,
    pieces: tuple[str, ...] = PIECES, polarization: str = "all", chunk: int = 4096,
) -> Array:
    """Spin-summed Σ|M|² (dimensionless) of P⁺ → ℓ⁺ ν χ at Dalitz invariants (1 = ℓ, 2 = ν,
    3 = χ) ``m2_13`` = (p_ℓ + k)², ``m2_23`` = (p_ν + k)² [MeV²]:

        Σ|M|² = (G_F|V|)²/2 · P_αβ Tr[p̸_ν Γ^α (p̸_ℓ − m_ℓ) Γ̄^β],

    P_αβ = −g_αβ + k_αk_β/m_χ² (``polarization="all"``), or only the longitudinal state
    (``"longitudinal"``: ε_L^α ε_L^β* with ε_L = (|k|, E k̂)/m_χ in the meson rest frame), or
    −g_αβ alone (``"feynman"``: equal to ``"all"`` only for a conserved current, where the
    k_αk_β term vanishes by the Ward identity; avoids its 1/m_χ² rounding for m_χ → 0).
    Explicit 4×4 Dirac matrices (chunks of ``chunk`` points); returns the broadcast shape."""
    x = np.asarray(m2_13, float)
    y = np.asarray(m2_23, float)
    shape = np.broadcast(x, y).shape
    xb, yb = np.broadcast_to(x, shape).ravel(), np.broadcast_to(y, shape).ravel()
    pref = (C.G_FERMI * v_ckm) ** 2 / 2.0
    out = np.empty(xb.size)
    metric = _idm._METRIC
    for s in range(0, xb.size, chunk):
        P, pl, pn, k = _momenta(m_meson, m_lep, m_v, xb[s:s + chunk], yb[s:s + chunk])
        ga = emission_current(P, pl, pn, k, m_lep=m_lep, m_v=m_v, f_meson=f_meson, q_meson=q_meson,
                              q_lepbar=q_lepbar, q_nu=q_nu, f_v=f_v, f_a=f_a, pieces=pieces)
        t = _idm._spin_trace(ga, ga, pl, pn, m_lep)
        if polarization in ("all", "feynman"):
            val = -np.einsum("a,naa->n", metric, t).real
            if polarization == "all":
                kl = k * metric
                val = val + np.einsum("na,nb,nab->n", kl, kl, t).real / (m_v * m_v)
        elif polarization == "longitudinal":
            kk = np.linalg.norm(k[:, 1:], axis=1)
            eps = np.column_stack([kk, k[:, 1:] * (k[:, 0] / np.where(kk > 0, kk, 1.0))[:, None]]) / m_v
            el = eps * metric
            val = np.einsum("na,nb,nab->n", el, el, t).real
        else:
            raise ParameterError(f"polarization = {polarization!r}; allowed: all, feynman, longitudinal")
        out[s:s + chunk] = val
    return (pref * np.clip(out, 0.0, None)).reshape(shape)


def goldstone_msq(m2_13: Array, m2_23: Array, *, m_meson: float, m_lep: float, m_v: float, f_meson: float,
                  v_ckm: float, delta_q: float) -> Array:
    """Goldstone-equivalence limit of the longitudinal rate for a non-conserved current
    (analytic, no Dirac matrices): with k_αΓ^α = −ΔQ f ū p̸(1 − γ⁵) v, ΔQ = Q_P − Q_ℓ̄ − Q_ν,

        Σ|M_L|² → (G_F|V| f ΔQ)²/2 · 8 [2(p_ν·p)(p_ℓ·p) − m_P² (p_ν·p_ℓ)] / m_χ²,

    valid for m_χ ≪ m_P (corrections O(m_χ²/E_χ²))."""
    x = np.asarray(m2_13, float)
    y = np.asarray(m2_23, float)
    M2, ml2, mv2 = m_meson**2, m_lep**2, m_v**2
    m12 = M2 + ml2 + mv2 - x - y  # (p_ℓ + p_ν)²
    pnu_pl = 0.5 * (m12 - ml2)
    pnu_p = 0.5 * (M2 - x)  # p_ν·p = (M² + 0 − m²₁₃)/2
    pl_p = 0.5 * (M2 + ml2 - y)
    bracket = 8.0 * (2.0 * pnu_p * pl_p - M2 * pnu_pl)
    return (C.G_FERMI * v_ckm * f_meson * delta_q) ** 2 / 2.0 * bracket / mv2


def ward_residual(m2_13: Array, m2_23: Array, *, m_meson: float, m_lep: float, m_v: float, f_meson: float,
                  q_meson: float, q_lepbar: float, q_nu: float, f_v: float, f_a: float) -> Array:
    """Σ_spins |k_α ū Γ^α v|² divided by the same summed piece by piece (the size of what must
    cancel): ~1e-16 when the charges balance (Q_P = Q_ℓ̄ + Q_ν), O(1) otherwise."""
    P, pl, pn, k = _momenta(m_meson, m_lep, m_v, m2_13, m2_23)
    kl = k * _idm._METRIC
    kw = dict(m_lep=m_lep, m_v=m_v, f_meson=f_meson, q_meson=q_meson, q_lepbar=q_lepbar, q_nu=q_nu,
              f_v=f_v, f_a=f_a)

    def k_trace(pieces):
        ga = emission_current(P, pl, pn, k, pieces=pieces, **kw)
        kga = np.einsum("na,naij->nij", kl, ga)[:, None]
        return _idm._spin_trace(kga, kga, pl, pn, m_lep)[:, 0, 0].real

    num = k_trace(PIECES)
    scale = sum(k_trace((pc,)) for pc in PIECES)
    return np.abs(num) / np.where(scale > 0, scale, 1.0)


# ============================================================================ χ widths, neutral mesons


def width_vector_to_leptons(m_v: float, g: float, m_l: float) -> float:
    """Γ(χ → ℓ⁺ℓ⁻) [MeV] = g² m/(12π) (1 + 2m_ℓ²/m²) √(1 − 4m_ℓ²/m²) for L = g χ_μ ℓ̄γ^μℓ;
    0 below threshold (the dark-photon formula with εe → g)."""
    if g == 0.0 or m_v <= 2.0 * m_l:
        return 0.0
    r = m_l * m_l / (m_v * m_v)
    return g * g * m_v / (12.0 * math.pi) * (1.0 + 2.0 * r) * math.sqrt(1.0 - 4.0 * r)


def width_vector_to_neutrinos(m_v: float, g: float) -> float:
    """Γ(χ → ν ν̄) [MeV] = g² m/(24π) for one left-handed flavour, L = g χ_μ ν̄γ^μP_Lν
    (half the massless Dirac-fermion width)."""
    return g * g * m_v / (24.0 * math.pi)


def width_vector_to_three_photons(m_v: float, g: float, m_l: float) -> float:
    """Γ(χ → 3γ) [MeV] through a charged-lepton loop in the heavy-lepton limit m_χ ≪ 2m_ℓ
    (Euler–Heisenberg; Pospelov, Ritz, Voloshin arXiv:0807.3279 eq. for V → 3γ with
    α′ = g²/4π): 17 α³ α′ m⁹ / (2⁷ 3⁶ 5³ π³ m_ℓ⁸).  Returned only for m_χ < 2m_ℓ (above, the
    tree-level ℓ⁺ℓ⁻ width dominates and this limit does not apply: 0)."""
    if g == 0.0 or m_v >= 2.0 * m_l:
        return 0.0
    a_p = g * g / (4.0 * math.pi)
    return 17.0 * C.ALPHA_EM**3 * a_p * m_v**9 / (2.0**7 * 3.0**6 * 5.0**3 * math.pi**3 * m_l**8)


def anomaly_ratio(g_u: float, g_d: float) -> float:
    """κ = A(M → γχ)/A(M → γγ) = (2g_u + g_d)/e for M = π⁰ (and for an octet η with g_s = g_d)."""
    return (2.0 * g_u + g_d) / C.E_CHARGE


def br_neutral_meson_to_gamma_vector(m_meson: float, m_v: float, g_u: float, g_d: float, br_gg: float) -> float:
    """BR(M → γχ) = 2 κ² (1 − m_χ²/m_M²)³ BR(M → γγ) (module docstring); 0 if closed."""
    if m_v >= m_meson:
        return 0.0
    return 2.0 * anomaly_ratio(g_u, g_d) ** 2 * (1.0 - m_v * m_v / (m_meson * m_meson)) ** 3 * br_gg


# ============================================================================ model

_MESONS = {  # name -> (pdg, mass, f, |V|, F_V, F_A, lifetime)
    "pi": (211, C.M_PI, C.F_PI, C.V_UD, _idm.FV_PI, _idm.FA_PI, C.TAU_PI),
    "K": (321, C.M_K, C.F_K, C.V_US, _idm.FV_K, _idm.FA_K, C.TAU_K),
}
_LEPTONS = {"mu": (C.M_MU, "mu+", "nu_mu"), "e": (C.M_E, "e+", "nu_e")}


@lru_cache(maxsize=64)
def _emission_table(meson: str, lepton: str, m_v: float, q_meson: float, q_lepbar: float, q_nu: float,
                    n_grid: int) -> ThreeBodyTable:
    _, m_p, f, v, fv, fa, _ = _MESONS[meson]
    m_l = _LEPTONS[lepton][0]
    kw = dict(m_meson=m_p, m_lep=m_l, m_v=m_v, f_meson=f, v_ckm=v, q_meson=q_meson, q_lepbar=q_lepbar,
              q_nu=q_nu, f_v=fv, f_a=fa)

    def msq(x: Array, y: Array) -> Array:
        return vector_emission_msq(x, y, **kw)

    key = {"process": "P -> l nu chi (vector, general charges: meson, contact, lepton, neutrino, SD)",
           "meson": meson, "lepton": lepton, "f_meson": f, "v_ckm": v, "f_v": fv, "f_a": fa,
           "charges": [q_meson, q_lepbar, q_nu]}
    return cached_three_body_table(key, m_p, m_l, 0.0, m_v, msq, n_grid=n_grid)


@dataclass(frozen=True)
class LongLivedVector(DecayingDarkParticle, DarkModel):
    """Long-lived vector χ + heavy scalar φ (module docstring; physics.md §2.3).

    Parameters (ParameterError names the parameter and its range):
    ``m_chi`` [1e-6, 1000] MeV — must be below m_K − m_e for any production (checked);
    ``m_phi`` [1e-6, 1e5] MeV; ``g_e, g_mu, g_nu_e, g_nu_mu, g_u, g_d`` (χ couplings) in
    [−4π, 4π]; ``g_phi_n`` (φ–nucleon scalar coupling) in [−4π, 4π]; ``lam`` (φχγ, MeV⁻¹) in
    [−1, 1].  ``n_grid`` sets the sampling grid of the three-body tables.
    """

    m_chi: float
    m_phi: float
    g_mu: float = 1.0e-4
    g_e: float = 0.0
    g_nu_e: float = 0.0
    g_nu_mu: float = 0.0
    g_u: float = 0.0
    g_d: float = 0.0
    g_phi_n: float = 1.0e-3
    lam: float = 1.0e-3
    n_grid: int = field(default=96, compare=False)

    name: ClassVar[str] = "longlived-vector"
    family: ClassVar[str] = "long-lived"
    _dark_key: ClassVar[str] = "chi"
    _fields: ClassVar[tuple[str, ...]] = ("m_chi", "m_phi", "g_mu", "g_e", "g_nu_e", "g_nu_mu", "g_u", "g_d",
                                          "g_phi_n", "lam")

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "m_chi", check_real("m_chi", self.m_chi, MASS_MIN_MEV, _M_CHI_MAX))
        set_(self, "m_phi", check_real("m_phi", self.m_phi, MASS_MIN_MEV, _M_PHI_MAX))
        for nm in ("g_mu", "g_e", "g_nu_e", "g_nu_mu", "g_u", "g_d", "g_phi_n"):
            set_(self, nm, check_real(nm, getattr(self, nm), -_COUPLING_MAX, _COUPLING_MAX))
        set_(self, "lam", check_real("lam", self.lam, -_LAM_MAX, _LAM_MAX))
        if self.m_chi >= C.M_K - C.M_E:
            raise ParameterError(
                f"parameter 'm_chi' = {self.m_chi!r} MeV is above every production threshold; allowed range "
                f"(0, {C.M_K - C.M_E:.4g}) MeV (K+ -> e+ nu chi)"
            )
        if isinstance(self.n_grid, bool) or int(self.n_grid) < 8:
            raise ParameterError(f"parameter 'n_grid' = {self.n_grid!r} must be an integer >= 8")

    # ------------------------------------------------------------------ scalar-family interface
    @property
    def m_x(self) -> float:
        """Mass of the long-lived particle [MeV] (= m_chi; the long-lived-X chain interface)."""
        return self.m_chi

    @property
    def lam_eff(self) -> float:
        """χφγ vertex coupling λ_eff = λ/2 [MeV⁻¹] for (λ/4) φ χ_{μν}F^{μν}."""
        return 0.5 * self.lam

    @property
    def coupling_product(self) -> float:
        """ḡ = g_μ g_φN λ [MeV⁻¹] (production × φ–nucleon × φχγ); the Primakoff-like signal of
        a long-lived χ scales as ḡ²."""
        return self.g_mu * self.g_phi_n * self.lam

    @property
    def coupling_units(self) -> str:
        """Units and definition of :attr:`coupling_product` (for outputs)."""
        return "MeV^-1 (gbar = g_mu g_phi_n lam)"

    def with_coupling_product(self, x: float) -> "LongLivedVector":
        """Model with ḡ = ``x``, obtained by rescaling λ at fixed g's (production BRs and χ
        lifetime unchanged, conversion rate ∝ x²); beyond |λ| = 1 MeV⁻¹ the rest goes into g_φN.
        ParameterError if g_μ g_φN = 0 or g_φN would exceed 4π."""
        x = check_real("coupling_product", x, None, None)
        base = self.g_mu * self.g_phi_n
        if base == 0.0:
            raise ParameterError("coupling_product: cannot rescale lam when g_mu * g_phi_n = 0; set both > 0")
        lam = x / base
        if abs(lam) <= _LAM_MAX:
            return replace(self, lam=lam)
        lam = math.copysign(_LAM_MAX, lam)
        g_n = x / (self.g_mu * lam)
        if abs(g_n) > _COUPLING_MAX:
            raise ParameterError(f"coupling_product = {x!r} needs g_phi_n = {g_n:.3g} beyond 4π; allowed "
                                 f"|coupling_product| <= {abs(self.g_mu) * _LAM_MAX * _COUPLING_MAX:.3g} MeV^-1")
        return replace(self, lam=lam, g_phi_n=g_n)

    def nucleus_scalar_charge(self, Z: float, A: float) -> float:
        """Coherent φ coupling of a nucleus: g_φN A (equal scalar couplings to p and n —
        convention); the form factor is applied by the cross-section module."""
        A = check_real("A", A, 1.0, 400.0)
        return self.g_phi_n * A

    def proton_scalar_charge(self) -> float:
        """φ coupling of a free proton, g_φN (dipole form factor applied in the cross section)."""
        return self.g_phi_n

    def conversion_cross_section(self, e: Array, target) -> Array:
        """σ(χ T → γ T) [cm²] at lab energies ``e`` [MeV] on a :class:`NuclearTarget` (C-12
        coherent with Helm, proton with dipole) — the long-lived-X chain interface."""
        from mesonportal.detection import vector_primakoff as vp

        g = self.proton_scalar_charge() if target.is_fermion else self.nucleus_scalar_charge(target.Z, target.A)
        return vp.total_cross_section(e, self.m_chi, self.m_phi, self.lam_eff, g, target)

    def sample_conversion(self, rng: np.random.Generator, p4: Array, target) -> tuple[Array, Array]:
        """Photon four-momenta and t of χ T → γ T for incoming χ ``p4`` (N, 4) [MeV]."""
        from mesonportal.detection import vector_primakoff as vp

        return vp.sample_photon(rng, p4, self.m_chi, self.m_phi, target)

    # ------------------------------------------------------------------ charges
    def charges(self, meson: str, lepton: str) -> tuple[float, float, float]:
        """(Q_P, Q_ℓ̄, Q_ν) of P⁺ → ℓ⁺ ν χ (module docstring)."""
        q_m = self.g_u - self.g_d
        g_l = self.g_mu if lepton == "mu" else self.g_e
        g_nu = self.g_nu_mu if lepton == "mu" else self.g_nu_e
        return q_m, -g_l, g_nu

    def current_is_conserved(self, meson: str = "pi", lepton: str = "mu") -> bool:
        """True if the χ charges balance in P⁺ → ℓ⁺ν (Q_P = Q_ℓ̄ + Q_ν): no longitudinal enhancement."""
        q_m, q_l, q_n = self.charges(meson, lepton)
        return math.isclose(q_m, q_l + q_n, rel_tol=1e-12, abs_tol=1e-300)

    # ------------------------------------------------------------------ χ decays
    def partial_widths(self) -> dict[str, float]:
        """Partial widths of χ [MeV]: 'e+ e-', 'mu+ mu-', 'nu nubar' (both flavours), '3 gamma'
        (lepton loops, m_χ < 2m_ℓ only).  Hadronic channels (m_χ > 2m_π) are not modelled."""
        m = self.m_chi
        return {
            "e+ e-": width_vector_to_leptons(m, self.g_e, C.M_E),
            "mu+ mu-": width_vector_to_leptons(m, self.g_mu, C.M_MU),
            "nu nubar": width_vector_to_neutrinos(m, self.g_nu_e) + width_vector_to_neutrinos(m, self.g_nu_mu),
            "3 gamma": (width_vector_to_three_photons(m, self.g_e, C.M_E)
                        + width_vector_to_three_photons(m, self.g_mu, C.M_MU)),
        }


    def decay_length_cm(self, energy_mev: float) -> float:
        """Lab decay length γβcτ [cm] at energy ``energy_mev``."""
        e = check_real("energy_mev", energy_mev, self.m_chi, None)
        return math.sqrt(e * e - self.m_chi**2) / self.m_chi * self.ctau

    def check_reaches(self, distance_cm: float, energy_mev: float = 1000.0, *, strict: bool = False) -> float:
        """Survival probability exp(−L/(γβcτ)) over ``distance_cm`` at ``energy_mev``.  If it is
        below 1e-6 (χ decays before the detector): ParameterError when ``strict``, else a
        UserWarning (the prediction is then an explicit, near-zero number)."""
        lam = self.decay_length_cm(energy_mev)
        p = math.exp(-distance_cm / lam) if lam > 0 else 0.0
        if p < 1e-6:
            msg = (f"chi decays before the detector: survival {p:.2e} over {distance_cm:.3g} cm at "
                   f"{energy_mev:.4g} MeV (c tau = {self.ctau:.3g} cm); reduce g_e/g_nu couplings")
            if strict:
                raise ParameterError(msg)
            warnings.warn(msg, UserWarning, stacklevel=2)
        return p

    # ------------------------------------------------------------------ production
    def _charge_scale(self, meson: str, lepton: str) -> tuple[float, tuple[float, float, float]]:
        q = self.charges(meson, lepton)
        s = max(abs(v) for v in q)
        return s, tuple(v / s for v in q) if s > 0 else q  # type: ignore[return-value]

    def emission_table(self, meson: str, lepton: str) -> ThreeBodyTable:
        """Cached :class:`ThreeBodyTable` of P⁺ → ℓ⁺ ν χ (meson 'pi'/'K', lepton 'mu'/'e') for
        the charges divided by the largest |charge| s (the shape depends only on their ratios;
        the width of the model is ``table.width · s²``), so rescaled couplings reuse the table."""
        if meson not in _MESONS or lepton not in _LEPTONS:
            raise ParameterError(f"unknown channel {meson!r}/{lepton!r}; allowed mesons pi, K and leptons mu, e")
        _, q = self._charge_scale(meson, lepton)
        return _emission_table(meson, lepton, self.m_chi, *q, int(self.n_grid))

    def production_branching_ratio(self, meson: str, lepton: str) -> float:
        """BR(P⁺ → ℓ⁺ ν χ) = Γ/(ħ/τ_P), PDG lifetimes; 0 if closed or uncoupled."""
        if meson not in _MESONS or lepton not in _LEPTONS:
            raise ParameterError(f"unknown channel {meson!r}/{lepton!r}; allowed mesons pi, K and leptons mu, e")
        if not any(self.charges(meson, lepton)):
            return 0.0
        m_p, m_l = _MESONS[meson][1], _LEPTONS[lepton][0]
        if m_p <= m_l + self.m_chi:
            return 0.0
        scale, _ = self._charge_scale(meson, lepton)
        return self.emission_table(meson, lepton).width * scale**2 * _MESONS[meson][6] / C.HBAR

    def production_channels(self) -> list[ProductionChannel]:
        """π±, K± → ℓ± ν χ (ℓ = μ, e) and π⁰, η → γχ; closed or uncoupled ones with BR 0."""
        from mesonportal.production.meson_decays import two_body_sampler

        out: list[ProductionChannel] = []
        pdg = DARK_PDG["chi"]
        for meson, (parent, m_p, *_rest) in _MESONS.items():
            for lepton, (m_l, lname, nuname) in _LEPTONS.items():
                label = f"{'pi' if meson == 'pi' else 'K'}+ -> {lname} {nuname} chi"
                is_open = m_p > m_l + self.m_chi
                if not is_open or not any(self.charges(meson, lepton)):
                    out.append(ProductionChannel(parent, label, 0.0, pdg, self.m_chi, None, True, is_open))
                    continue
                table = self.emission_table(meson, lepton)
                br = self.production_branching_ratio(meson, lepton)
                out.append(ProductionChannel(parent, label, br, pdg, self.m_chi, table.sample_dark, True, True))
        for parent, m_m, brgg, nm in ((111, C.M_PI0, _idm.BR_PI0_GG, "pi0"), (221, C.M_ETA, _idm.BR_ETA_GG, "eta")):
            br = br_neutral_meson_to_gamma_vector(m_m, self.m_chi, self.g_u, self.g_d, brgg)
            is_open = self.m_chi < m_m
            sampler = two_body_sampler(m_m, self.m_chi, 0.0) if (is_open and br > 0) else None
            out.append(ProductionChannel(parent, f"{nm} -> gamma chi", br, pdg, self.m_chi, sampler, False, is_open))
        return out

    # ------------------------------------------------------------------ bookkeeping
    def params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._fields}

    def describe(self) -> dict[str, Any]:
        chans = [{"label": c.label, "parent": c.parent, "branching_ratio": c.branching_ratio, "is_open": c.is_open}
                 for c in self.production_channels()]
        return {
            "model": self.name,
            "params": self.params(),
            "units": {"masses": "MeV", "lam": "MeV^-1", "coupling_product": "MeV^-1", "widths": "MeV",
                      "lifetime": "s", "ctau": "cm"},
            "lagrangian": ("chi_mu [g_e e~g^mu e + g_mu mu~g^mu mu + g_nu nu~g^mu P_L nu + g_u u~g^mu u + "
                           "g_d (d~g^mu d + s~g^mu s)] + g_phi_n phi N~N + (lam/4) phi chi_{mn} F^{mn}"),
            "conventions": {
                "coupling_product": "gbar = g_mu * g_phi_n * lam [MeV^-1] (production x phi-nucleon x phi-chi-gamma)",
                "lam_eff": "lam / 2 (vertex of (lam/4) phi chi_{mn} F^{mn})",
                "phi_nucleus_coupling": "g_phi_n * A x Helm(t) (coherent, equal p/n); proton g_phi_n x dipole",
                "strange_quark": "g_s = g_d (K+ charge g_u - g_d)",
                "sd_terms": "F_V, F_A of P -> l nu gamma scaled by (g_u - g_d)/e",
                "neutral_mesons": "BR(M -> gamma chi) = 2 kappa^2 (1 - m^2/M^2)^3 BR(M -> gamma gamma), "
                                  "kappa = (2 g_u + g_d)/e (pi0; octet eta)",
                "current_conserved_pi_mu": self.current_is_conserved("pi", "mu"),
                "signal_scaling": "conversion events scale as gbar^2 (lam rescaled at fixed g's); decays fixed",
            },
            "coupling_product": self.coupling_product,
            "widths": self.partial_widths(),
            "total_width": self.total_width,
            "branching_ratios": self.branching_ratios(),
            "lifetime_s": self.lifetime,
            "ctau_cm": self.ctau,
            "production_channels": chans,
        }

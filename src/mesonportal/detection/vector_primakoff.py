"""Vector "inverse Primakoff" conversion χ + T → γ + T through t-channel exchange of a scalar φ
(long-lived vector scenario, physics.md §2.3; mirrors :mod:`mesonportal.detection.primakoff`
with the roles of the long-lived particle and the mediator swapped).

Lagrangian  L ⊃ (λ/4) φ χ_{μν} F^{μν} + g_T φ T̄T.  Expanding χ_{μν}F^{μν} =
2(∂_μχ_ν ∂^μA^ν − ∂_μχ_ν ∂^νA^μ) with χ(k, ε) incoming and γ(k′, ε′) outgoing gives the vertex

    i λ_eff [(k·k′)(ε·ε′*) − (k·ε′*)(k′·ε)],   λ_eff = λ/2,

transverse in both k (ε → k gives 0) and k′.  With the scalar propagator i/(t − m_φ²),
t = (k − k′)², and the target vertex g_T F(t) × 2M (spin-0 nucleus: ⟨p′|T̄T|p⟩ = 2M for
relativistically normalised states) or g_T F(t) ū′u (spin-½ proton):

    Σ_pol |V|² = 2 (k·k′)² = (m_χ² − t)²/2       (χ: −g + kk/m², γ: −g; the kk part drops),

    spin-0:  ⅓ Σ|M|² = (2/3) λ_eff² g_T² F²(t) M² (m_χ² − t)² / (t − m_φ²)²,
    spin-½:  ⅓·½ Σ|M|² = (1/6) λ_eff² g_T² F²(t) (4M² − t) (m_χ² − t)² / (t − m_φ²)²,

(average over the 3 χ polarisations and the proton spin) and

    dσ/dt = ⅓Σ̄|M|² / (16π λ(s, m_χ², M²)),  λ(s, m_χ², M²) = 4M² p_χ² (lab)  → cm²/MeV².

For the spin-0 target dσ/dt = λ_eff² g_T² F² (m_χ² − t)² / (96 π p_χ² (t − m_φ²)²), whose t
integral with F = 1 is elementary (tested against this module's quadrature).  Conventions
(stated by the model): g_T = g_φN A for a nucleus (equal scalar couplings to protons and
neutrons, Helm form factor), g_φN for the proton with the dipole form factor G_D(t).
Units: MeV, cm²; λ_eff in MeV⁻¹; couplings dimensionless.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mesonportal.constants import MEV2_TO_CM2
from mesonportal.detection.primakoff import _use_table, sample_t_table
from mesonportal.detection.targets import (
    NuclearTarget,
    integrate_dsigma_dt,
    sample_t,
    scatter_lab,
    t_limits,
    tabulated,
)
from mesonportal.exceptions import ParameterError

Array = NDArray[np.float64]

__all__ = ["msq_spin0", "msq_spin_half", "dsigma_dt", "total_cross_section", "sample_photon", "polarization_sum"]


def _check(m_chi: float, m_phi: float) -> None:
    if not (math.isfinite(m_chi) and m_chi > 0.0):
        raise ParameterError(f"m_chi = {m_chi!r} MeV must be finite and > 0")
    if not (math.isfinite(m_phi) and m_phi > 0.0):
        raise ParameterError(f"m_phi = {m_phi!r} MeV must be finite and > 0")


def polarization_sum(t: ArrayLike, m_chi: float) -> Array:
    """Σ over χ (3) and γ (2) polarisations of |(k·k′)(ε·ε′*) − (k·ε′*)(k′·ε)|² = (m_χ² − t)²/2 [MeV⁴]."""
    t = np.asarray(t, float)
    return 0.5 * (m_chi * m_chi - t) ** 2


def msq_spin0(t: ArrayLike, m_chi: float, mass: float) -> Array:
    """Polarisation-averaged |M|² for a spin-0 target with unit couplings, F = 1 and no
    propagator [MeV⁶]: ⅓ · polarisation sum · 4M² = (2/3) M² (m_χ² − t)²."""
    return polarization_sum(t, m_chi) * 4.0 * mass * mass / 3.0


def msq_spin_half(t: ArrayLike, m_chi: float, mass: float) -> Array:
    """Averaged |M|² for a spin-½ target (scalar coupling ū′u), unit couplings, F = 1 and no
    propagator [MeV⁶]: ⅓ · polarisation sum · ½Tr[(p̸′ + M)(p̸ + M)] = (1/6)(4M² − t)(m_χ² − t)²."""
    t = np.asarray(t, float)
    return polarization_sum(t, m_chi) * (4.0 * mass * mass - t) / 3.0


def _dsdt_unit(e: Array, t: Array, m_chi: float, m_phi: float, target: NuclearTarget, form_factor: bool = True) -> Array:
    """dσ/dt [MeV⁻⁴] for λ_eff = 1 MeV⁻¹ and g_T = 1 (no kinematic mask)."""
    M = target.mass_mev
    msq = msq_spin_half(t, m_chi, M) if target.is_fermion else msq_spin0(t, m_chi, M)
    if form_factor:
        ff = target.form_factor(t)
        msq = msq * ff * ff
    prop = (t - m_phi * m_phi) ** 2
    lam = 4.0 * M * M * np.clip(e * e - m_chi * m_chi, 0.0, None)
    den = 16.0 * np.pi * lam * prop
    return np.where(den > 0.0, np.clip(msq, 0.0, None) / np.where(den > 0.0, den, 1.0), 0.0)


def dsigma_dt(e_chi: ArrayLike, t: ArrayLike, m_chi: float, m_phi: float, lam_eff: float, g_target: float,
              target: NuclearTarget, *, form_factor: bool = True) -> Array:
    """dσ/dt [cm²/MeV²] of χ + T → γ + T at lab energy E_χ [MeV] and t [MeV²] (broadcast); zero
    outside the physical t range.  ``lam_eff`` = λ/2 [MeV⁻¹]; ``g_target`` the target's scalar
    coupling (g_φN A or g_φN); ``form_factor=False`` drops Helm/dipole (for tests)."""
    _check(m_chi, m_phi)
    e, t = np.broadcast_arrays(np.asarray(e_chi, float), np.asarray(t, float))
    t_lo, t_hi, is_open = t_limits(e, m_chi, 0.0, target.mass_mev)
    inside = is_open & (t >= t_lo) & (t <= t_hi)
    val = _dsdt_unit(e, t, m_chi, m_phi, target, form_factor)
    return np.where(inside, val, 0.0) * (lam_eff * g_target) ** 2 * MEV2_TO_CM2


def _sigma_unit_direct(e: Array, m_chi: float, m_phi: float, target: NuclearTarget, form_factor: bool) -> Array:
    t_lo, t_hi, _ = t_limits(e, m_chi, 0.0, target.mass_mev)
    cut = target.abs_t_cut if form_factor else math.inf
    return integrate_dsigma_dt(e, lambda ee, tt: _dsdt_unit(ee, tt, m_chi, m_phi, target, form_factor),
                               t_lo, t_hi, cut)


def total_cross_section(e_chi: ArrayLike, m_chi: float, m_phi: float, lam_eff: float, g_target: float,
                        target: NuclearTarget, *, form_factor: bool = True, n_table: int = 512) -> Array:
    """σ(χ + T → γ + T) [cm²] at lab energies E_χ [MeV] (any shape; 0 for E_χ ≤ m_χ): composite
    Gauss–Legendre in ln|t| (as :func:`mesonportal.detection.primakoff.total_cross_section`),
    tabulated in ln–ln above 1024 energies."""
    _check(m_chi, m_phi)
    scale = (lam_eff * g_target) ** 2 * MEV2_TO_CM2
    sig = tabulated(e_chi, lambda e: _sigma_unit_direct(e, m_chi, m_phi, target, form_factor), float(m_chi),
                    n_table=n_table)
    return sig * scale


def sample_photon(rng: np.random.Generator, p4_chi: ArrayLike, m_chi: float, m_phi: float, target: NuclearTarget,
                  *, n_grid: int = 400, method: str = "auto") -> tuple[Array, Array]:
    """One conversion per incoming χ (lab ``p4_chi`` (N, 4) [MeV]) on a target at rest: t from
    dσ/dt (couplings cancel in the shape), photon with uniform azimuth.  Returns
    ``(p4_gamma (N, 4) [MeV], t (N,) [MeV²])``; below threshold p4 = 0, t = 0."""
    _check(m_chi, m_phi)
    p4 = np.asarray(p4_chi, float).reshape(-1, 4)
    e = p4[:, 0]
    t_lo, t_hi, is_open = t_limits(e, m_chi, 0.0, target.mass_mev)
    shape = lambda ee, tt: _dsdt_unit(ee, tt, m_chi, m_phi, target)  # noqa: E731
    if _use_table(method, len(e)):
        t = sample_t_table(rng, e, shape, m_chi, 0.0, target.mass_mev, target.abs_t_cut, n_grid=n_grid)
    else:
        t = sample_t(rng, e, shape, t_lo, t_hi, target.abs_t_cut, n_grid=n_grid)
    out = np.zeros_like(p4)
    if np.any(is_open):
        gam, _ = scatter_lab(rng, p4[is_open], t[is_open], m_chi, 0.0, target.mass_mev)
        out[is_open] = gam
    return out, np.where(is_open, t, 0.0)

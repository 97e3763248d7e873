"""Inelastic up-scattering χ + T → χ′ + T through vector-mediator exchange, and χ′ → χ e⁺e⁻
event generation (physics.md §2.2).

Lagrangian  L ⊃ Σ_i (e ε_i J_EM^μ + g′_i (χ̄′γ^μχ + h.c.) + …) V_{i,μ}.  The amplitude is
ū_χ′(p₃)γ^μ u_χ(p₁) · A(t) · J_μ^T with the mediator sum

    A(t) = Σ_i c_i /(t − m_Vi²),     c_i = ε_i e g′_i      ("coupling product" passed in),

and the target current  J^μ = Z F_Helm(t) (p₂ + p₄)^μ for a spin-0 nucleus (C-12, coherent) or
ū(p₄)[F₁γ^μ + iF₂σ^{μν}q_ν/(2M)]u(p₂) (charge × dipole F₁, F₂) for a proton.  The q^μq^ν/m_V²
part of each propagator vanishes on the conserved (elastic) target current; it would *not*
vanish on the χ side (q_μ ū′γ^μu = (m_χ − m_χ′) ū′u).

With L^{μν} = Tr[(p̸₃ + m′)γ^μ(p̸₁ + m)γ^ν] = 4[p₃^μp₁^ν + p₁^μp₃^ν − g^{μν}(p₁·p₃ − m m′)],
p₁·p₃ = (m² + m′² − t)/2, P = p₂ + p₄, (p₁·P) = (p₃·P) = (s − u)/2 = (4 M E_χ + m² − m′² + t)/2:

* spin-0 nucleus (used for C-12):  ½ Σ|M|² = Z² F² |A|² [(s − u)² − (4M² − t)((m − m′)² − t)]
* spin-½ proton (Dirac, F₁ = G_D, F₂ = κ-term):
  ¼ Σ|M|² = ¼ |A|² [2(F₁² + τF₂²) L·PP + 2G_M² t L·g − 2G_M² L·qq],
  L·PP = 2[(s − u)² − P²((m − m′)² − t)], L·g = 4[4mm′ − (m² + m′² − t)],
  L·qq = 4[2(p₁·q)(p₃·q) − t(p₁·p₃ − mm′)], p₁·q = m² − p₁·p₃, p₃·q = p₁·p₃ − m′².
  For F₁ = 1, F₂ = 0 this equals physics.md's fermion formula ¼·8[2M⁴ + 4M²(m m′ − s) + …]
  (checked numerically in tests together with an explicit Dirac-matrix trace).

physics.md writes the fermion-target form for the nucleus; C-12 is spin 0, and the two differ at
large |t| (see docs/detection.md for the comparison); this module uses the spin-0 form for nuclei.

dσ/dt = ⟨|M|²⟩ / (16π λ(s, m_χ², M²)) with λ = 4M² p_χ² (lab), returned in cm²/MeV².
σ = 0 below the threshold s < (m_χ′ + M)².
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mesonportal.constants import MEV2_TO_CM2
from mesonportal.detection.form_factors import nucleon_f1_f2
from mesonportal.detection.targets import (
    NuclearTarget,
    integrate_dsigma_dt,
    sample_t,
    scatter_lab,
    t_limits,
    tabulated,
    threshold_energy,
)
from mesonportal.exceptions import KinematicsError, ParameterError
from mesonportal.kinematics import beta_of, boost

Array = NDArray[np.float64]
Mediators = Sequence[tuple[float, float]]

__all__ = [
    "mediator_amplitude",
    "msq_spin0",
    "msq_spin_half",
    "msq_spin_half_physics_md",
    "dsigma_dt",
    "t_range",
    "threshold",
    "total_cross_section",
    "sample_upscatter",
    "sample_three_body_decay",
]


def _check(m_chi: float, m_chi_prime: float, mediators: Mediators) -> tuple[tuple[float, float], ...]:
    if not (math.isfinite(m_chi) and m_chi >= 0.0):
        raise ParameterError(f"m_chi = {m_chi!r} MeV must be finite and >= 0")
    if not (math.isfinite(m_chi_prime) and m_chi_prime >= m_chi):
        raise ParameterError(f"m_chi_prime = {m_chi_prime!r} MeV must be finite and >= m_chi = {m_chi}")
    meds = tuple((float(c), float(m)) for c, m in mediators)
    if not meds:
        raise ParameterError("mediators must be a non-empty list of (coupling product, m_V [MeV]) pairs")
    for c, m in meds:
        if not (math.isfinite(c) and math.isfinite(m) and m >= 0.0):
            raise ParameterError(f"mediator (coupling={c!r}, m_V={m!r}): need finite coupling and m_V >= 0 MeV")
    return meds


def mediator_amplitude(t: ArrayLike, mediators: Mediators) -> Array:
    """A(t) = Σ_i c_i/(t − m_Vi²) [MeV⁻²] for (c_i, m_Vi [MeV]) pairs (t ≤ 0 in MeV²)."""
    t = np.asarray(t, float)
    out = np.zeros(t.shape)
    for c, m in mediators:
        out = out + c / (t - m * m)
    return out


def msq_spin0(e_chi: ArrayLike, t: ArrayLike, m_chi: float, m_chi_prime: float, mass: float) -> Array:
    """χ-spin-averaged |M|² for a spin-0 target, unit charge/form factor/|A| [MeV⁴]:
    (s − u)² − (4M² − t)((m − m′)² − t)."""
    e, t = np.asarray(e_chi, float), np.asarray(t, float)
    smu = 4.0 * mass * e + m_chi**2 - m_chi_prime**2 + t
    return smu * smu - (4.0 * mass * mass - t) * ((m_chi - m_chi_prime) ** 2 - t)


def msq_spin_half(
    e_chi: ArrayLike, t: ArrayLike, m_chi: float, m_chi_prime: float, mass: float, f1: ArrayLike, f2: ArrayLike
) -> Array:
    """¼ Σ_spins |M|² for a spin-½ target with current F₁γ^μ + iF₂σ^{μν}q_ν/(2M), |A| = 1 [MeV⁴]."""
    e, t = np.asarray(e_chi, float), np.asarray(t, float)
    f1, f2 = np.asarray(f1, float), np.asarray(f2, float)
    m, mp, M = m_chi, m_chi_prime, mass
    smu = 4.0 * M * e + m * m - mp * mp + t
    p13 = 0.5 * (m * m + mp * mp - t)
    l_pp = 2.0 * (smu * smu - (4.0 * M * M - t) * ((m - mp) ** 2 - t))
    l_g = 4.0 * (4.0 * m * mp - 2.0 * p13)
    l_qq = 4.0 * (2.0 * (m * m - p13) * (p13 - mp * mp) - t * (p13 - m * mp))
    tau = -t / (4.0 * M * M)
    gm = f1 + f2
    return 0.25 * (2.0 * (f1 * f1 + tau * f2 * f2) * l_pp + 2.0 * gm * gm * t * l_g - 2.0 * gm * gm * l_qq)


def msq_spin_half_physics_md(e_chi: ArrayLike, t: ArrayLike, m_chi: float, m_chi_prime: float, mass: float) -> Array:
    """physics.md §2.2 fermion-target formula ¼·8[2M⁴ + 4M²(mm′ − s) + 2(m² − s)(m′² − s)
    − t(m − m′)² + 2st + t²] (unit couplings, no propagator) [MeV⁴] — for cross-checks."""
    e, t = np.asarray(e_chi, float), np.asarray(t, float)
    m, mp, M = m_chi, m_chi_prime, mass
    s = m * m + M * M + 2.0 * M * e
    return 2.0 * (2 * M**4 + 4 * M * M * (m * mp - s) + 2 * (m * m - s) * (mp * mp - s) - t * (m - mp) ** 2 + 2 * s * t + t * t)


def threshold(m_chi: float, m_chi_prime: float, target: NuclearTarget) -> float:
    """Lab threshold energy [MeV] of χ for χ + T → χ′ + T: s = (m_χ′ + M)²."""
    return threshold_energy(m_chi, m_chi_prime, target.mass_mev)


def t_range(e_chi: ArrayLike, m_chi: float, m_chi_prime: float, target: NuclearTarget) -> tuple[Array, Array]:
    """Physical (t_min, t_max) [MeV²] (t_min ≤ t ≤ t_max < 0); (0, 0) below threshold."""
    t_lo, t_hi, _ = t_limits(e_chi, m_chi, m_chi_prime, target.mass_mev)
    return t_lo, t_hi


def _dsdt(
    e: Array, t: Array, m_chi: float, m_chi_prime: float, meds: Mediators, charge: float,
    target: NuclearTarget, kappa: float,
) -> Array:
    """dσ/dt [MeV⁻⁴] without range mask."""
    M = target.mass_mev
    amp = mediator_amplitude(t, meds) * charge
    if target.is_fermion:
        f1, f2 = nucleon_f1_f2(t, kappa, M)
        msq = msq_spin_half(e, t, m_chi, m_chi_prime, M, f1, f2)
    else:
        ff = target.form_factor(t)
        msq = msq_spin0(e, t, m_chi, m_chi_prime, M) * ff * ff
    lam = 4.0 * M * M * np.clip(e * e - m_chi * m_chi, 0.0, None)
    den = 16.0 * np.pi * lam
    return np.where(den > 0.0, np.clip(msq, 0.0, None) * amp * amp / np.where(den > 0.0, den, 1.0), 0.0)


def _charge(target: NuclearTarget, charge: float | None) -> float:
    return float(target.Z if charge is None else charge)


def dsigma_dt(
    e_chi: ArrayLike,
    t: ArrayLike,
    m_chi: float,
    m_chi_prime: float,
    mediators: Mediators,
    target: NuclearTarget,
    *,
    charge: float | None = None,
    kappa: float = 0.0,
) -> Array:
    """dσ/dt [cm²/MeV²] of χ(E_χ [MeV]) + T → χ′ + T at t [MeV²] (broadcast); 0 outside the
    physical range and below threshold.  ``mediators``: (ε_i e g′_i, m_Vi [MeV]) pairs;
    ``charge`` defaults to the target's Z (dark-photon coupling to the EM current); ``kappa``
    is the proton anomalous moment in F₂ (default 0: Dirac proton, physics.md)."""
    meds = _check(m_chi, m_chi_prime, mediators)
    e, t = np.broadcast_arrays(np.asarray(e_chi, float), np.asarray(t, float))
    t_lo, t_hi, is_open = t_limits(e, m_chi, m_chi_prime, target.mass_mev)
    inside = is_open & (t >= t_lo) & (t <= t_hi)
    val = _dsdt(e, t, m_chi, m_chi_prime, meds, _charge(target, charge), target, kappa)
    return np.where(inside, val, 0.0) * MEV2_TO_CM2


def total_cross_section(
    e_chi: ArrayLike,
    m_chi: float,
    m_chi_prime: float,
    mediators: Mediators,
    target: NuclearTarget,
    *,
    charge: float | None = None,
    kappa: float = 0.0,
    n_table: int = 512,
) -> Array:
    """σ(χ + T → χ′ + T) [cm²] at lab energies E_χ [MeV] (any shape); 0 below threshold.
    Composite Gauss–Legendre in ln|t| (16 × 12 nodes); > 1024 energies are tabulated on
    ``n_table`` points in ln(E − E_th) and interpolated ln–ln."""
    meds = _check(m_chi, m_chi_prime, mediators)
    q = _charge(target, charge)
    M = target.mass_mev

    def direct(e: Array) -> Array:
        t_lo, t_hi, _ = t_limits(e, m_chi, m_chi_prime, M)
        return integrate_dsigma_dt(
            e, lambda ee, tt: _dsdt(ee, tt, m_chi, m_chi_prime, meds, q, target, kappa), t_lo, t_hi, target.abs_t_cut
        )

    return tabulated(e_chi, direct, threshold(m_chi, m_chi_prime, target), n_table=n_table) * MEV2_TO_CM2


def sample_upscatter(
    rng: np.random.Generator,
    p4_chi: ArrayLike,
    m_chi: float,
    m_chi_prime: float,
    mediators: Mediators,
    target: NuclearTarget,
    *,
    kappa: float = 0.0,
    n_grid: int = 400,
    method: str = "auto",
) -> tuple[Array, Array]:
    """One up-scattering per incoming χ of lab four-momentum ``p4_chi`` (N, 4) [MeV] on a target
    at rest: t from dσ/dt, χ′ lab four-momentum with uniform azimuth about the χ direction.
    Returns ``(p4_chi_prime (N, 4) [MeV], t (N,) [MeV²])``; events below threshold get zeros.
    ``method``: ``"exact"`` (per-event grid), ``"table"`` (2D inverse-CDF table,
    :func:`mesonportal.detection.primakoff.sample_t_table`) or ``"auto"`` (table for large N)."""
    meds = _check(m_chi, m_chi_prime, mediators)
    p4 = np.asarray(p4_chi, float).reshape(-1, 4)
    e = p4[:, 0]
    M = target.mass_mev
    t_lo, t_hi, is_open = t_limits(e, m_chi, m_chi_prime, M)
    from mesonportal.detection.primakoff import _use_table, sample_t_table

    shape = lambda ee, tt: _dsdt(ee, tt, m_chi, m_chi_prime, meds, 1.0, target, kappa)  # noqa: E731
    if _use_table(method, len(e)):
        t = sample_t_table(rng, e, shape, m_chi, m_chi_prime, M, target.abs_t_cut, n_grid=n_grid)
    else:
        t = sample_t(rng, e, shape, t_lo, t_hi, target.abs_t_cut, n_grid=n_grid)
    out = np.zeros_like(p4)
    if np.any(is_open):
        out[is_open], _ = scatter_lab(rng, p4[is_open], t[is_open], m_chi, m_chi_prime, M)
    return out, np.where(is_open, t, 0.0)


def sample_three_body_decay(
    rng: np.random.Generator,
    p4_parent: ArrayLike,
    m_parent: float,
    m1: float,
    m2: float,
    m3: float,
    msq: Callable[[Array, Array], Array],
    *,
    msq_args: str = "12,23",
) -> tuple[Array, Array, Array]:
    """Decay each parent (lab four-momenta (N, 4) [MeV], mass ``m_parent``) into 1 2 3
    (e.g. χ′ → χ e⁻ e⁺) distributed as ``msq(m2_12, m2_23)`` × phase space, where msq is the
    spin-averaged |M|² as a function of the Dalitz invariants m²₁₂ = (p₁ + p₂)², m²₂₃ [MeV²]
    (any normalisation).  ``msq_args="13,23"`` instead passes (m²₁₃, m²₂₃), the convention of
    ``production.three_body`` and of ``models.idm.chi_prime_decay_msq`` (labels 1 = e⁻, 2 = e⁺,
    3 = χ there).  Rest-frame sampling by
    :class:`mesonportal.production.three_body.ThreeBodyTable` (exact accept–reject, random
    orientation), then a boost with each parent's velocity.  Returns lab (p1, p2, p3), each (N, 4)."""
    from mesonportal.production.three_body import ThreeBodyTable

    p4 = np.asarray(p4_parent, float).reshape(-1, 4)
    if m_parent <= m1 + m2 + m3:
        raise KinematicsError(
            f"three-body decay closed: m_parent = {m_parent} MeV <= m1 + m2 + m3 = {m1 + m2 + m3} MeV"
        )
    sum_m2 = m_parent**2 + m1**2 + m2**2 + m3**2
    if msq_args not in ("12,23", "13,23"):
        raise ParameterError(f"msq_args = {msq_args!r} must be '12,23' or '13,23'")

    def msq13(x13: Array, x23: Array) -> Array:
        return msq(sum_m2 - x13 - x23, x23)

    table = ThreeBodyTable(m_parent, m1, m2, m3, msq13 if msq_args == "12,23" else msq)
    r1, r2, r3 = table.sample(rng, len(p4))
    beta = beta_of(p4)
    return boost(r1, beta), boost(r2, beta), boost(r3, beta)

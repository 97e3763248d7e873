"""Dark Primakoff scattering X + T → γ + T through t-channel Z′ exchange (physics.md §2.1).

Lagrangian  L ⊃ (λ/4) X F′_{μν} F^{μν}  (X = φ; for the pseudoscalar a: F̃ instead of F) plus
g Z′_α J^α_T.  Expanding F′F = 2(∂_μ Z′_ν ∂^μ A^ν − ∂_μ Z′_ν ∂^ν A^μ), the two *distinct* vector
fields each contract once, so the vertex X(k) Z′(q, α, incoming) γ(k′, β, outgoing) is

    i λ_eff [(q·k′) g^{αβ} − k′^α q^β],   λ_eff = λ/2

(pseudoscalar: i λ_eff ε^{αβρσ} q_ρ k′_σ, again λ_eff = λ/2).  With a target current
g_T (p + p′)^α (spin-0 nucleus) or ū′[F₁γ^α + i F₂ σ^{αν} q_ν/(2M)]u (proton), Z′ propagator
−i g_{αα′}/(t − m_Z′²) (the q^α q^α′ part vanishes on the conserved target current) and photon
polarisation sum −g_{ββ′} (the vertex is transverse: k′_β V^{αβ} = 0), one finds with
P = p + p′, q = k′ − k, t = q², q·P = 0:

    spin-0:   Σ|M|² = −λ_eff² g_T² F²(t) [ (q·k′)² P² + (P·k′)² t ] / (t − m_Z′²)²
    spin-½:  ¼Σ… → ½Σ|M|² = −λ_eff² g_T² [ (F₁² + τF₂²)((q·k′)² P² + (P·k′)² t)
                                          + 2 G_M² t (q·k′)² ] / (t − m_Z′²)²

where q·k′ = (t − m_X²)/2, P² = 4M² − t, P·k′ = (s − u)/2 = (4 M E_X + m_X² + t)/2 (lab E_X),
τ = −t/(4M²), G_M = F₁ + F₂.  The spin-0 bracket equals physics.md's
m_X² t (s + M²) − M² m_X⁴ − t((s − M²)² + s t) (checked in tests); the pseudoscalar vertex gives
the same Σ|M|².  For the proton the spin-½ hadronic tensor is
2(F₁² + τF₂²) P^μP^ν + 2G_M² t g^{μν} − 2G_M² q^μq^ν; at |t| ≪ M², m_X ≪ E it reduces to the
spin-0 result with g_T = charge (ratio → 1, tested).  Full derivation: docs/detection.md.

dσ/dt = Σ̄|M|² / (16π λ(s, m_X², M²)),  λ(s, m_X², M²) = 4M² p_X² (lab)  — returned in cm²/MeV².

Couplings: ``lam_eff`` [MeV⁻¹] is λ/2 for the physics.md Lagrangian (:func:`lambda_eff`);
``charge`` is the target's coherent Z′ charge (model convention, e.g. g_n(2Z + N) for C-12,
2 g_u + g_d for the proton), multiplied by the Helm form factor (nucleus) or by the dipole F₁, F₂
(proton, anomalous moment ``kappa``, default 0 = pure Dirac proton as in physics.md).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mesonportal.constants import MEV2_TO_CM2
from mesonportal.detection.form_factors import nucleon_f1_f2
from mesonportal.detection.targets import (
    NuclearTarget,
    _log_t_bounds,
    integrate_dsigma_dt,
    sample_t,
    scatter_lab,
    t_limits,
    tabulated,
)
from mesonportal.exceptions import ParameterError

Array = NDArray[np.float64]

__all__ = [
    "lambda_eff",
    "msq_spin0",
    "msq_spin_half",
    "dsigma_dt",
    "t_range",
    "total_cross_section",
    "sample_photon",
    "sample_t_table",
]


def lambda_eff(lam: float) -> float:
    """Vertex coupling λ_eff = λ/2 [MeV⁻¹] of the Lagrangian term (λ/4) X F′_{μν}F^{μν}
    (two distinct vector fields; see the module docstring)."""
    return 0.5 * float(lam)


def _check(m_x: float, m_zp: float) -> None:
    if not (math.isfinite(m_x) and m_x >= 0.0):
        raise ParameterError(f"m_x = {m_x!r} MeV must be finite and >= 0")
    if not (math.isfinite(m_zp) and m_zp >= 0.0):
        raise ParameterError(f"m_zp = {m_zp!r} MeV must be finite and >= 0")


def _invariants(e_x: Array, t: Array, m_x: float, M: float) -> tuple[Array, Array, Array]:
    qk = 0.5 * (t - m_x * m_x)  # q·k′
    pk = 0.5 * (4.0 * M * e_x + m_x * m_x + t)  # P·k′ = (s − u)/2
    p2 = 4.0 * M * M - t  # P²
    return qk, pk, p2


def msq_spin0(e_x: ArrayLike, t: ArrayLike, m_x: float, mass: float) -> Array:
    """Σ|M|² for a spin-0 target with unit couplings, unit form factor and no propagator
    (i.e. divide by λ_eff² g² F²/(t − m_Z′²)²) [MeV⁶]: −[(q·k′)² P² + (P·k′)² t]."""
    e_x, t = np.asarray(e_x, float), np.asarray(t, float)
    qk, pk, p2 = _invariants(e_x, t, m_x, mass)
    return -(qk * qk * p2 + pk * pk * t)


def msq_spin_half(e_x: ArrayLike, t: ArrayLike, m_x: float, mass: float, f1: ArrayLike, f2: ArrayLike) -> Array:
    """Spin-averaged (½ Σ over target spins) |M|² for a spin-½ target with vector current
    F₁γ^α + iF₂σ^{αν}q_ν/(2M), unit coupling and no propagator [MeV⁶]."""
    e_x, t = np.asarray(e_x, float), np.asarray(t, float)
    f1, f2 = np.asarray(f1, float), np.asarray(f2, float)
    qk, pk, p2 = _invariants(e_x, t, m_x, mass)
    tau = -t / (4.0 * mass * mass)
    gm = f1 + f2
    return -((f1 * f1 + tau * f2 * f2) * (qk * qk * p2 + pk * pk * t) + 2.0 * gm * gm * t * qk * qk)


def t_range(e_x: ArrayLike, m_x: float, target: NuclearTarget) -> tuple[Array, Array]:
    """Physical (t_min, t_max) [MeV²] of X(E_X) + T → γ + T, t_min ≤ t ≤ t_max ≤ 0; (0, 0) where
    E_X < m_X."""
    t_lo, t_hi, _ = t_limits(e_x, m_x, 0.0, target.mass_mev)
    return t_lo, t_hi


def _dsdt_unit(e_x: Array, t: Array, m_x: float, m_zp: float, target: NuclearTarget, kappa: float) -> Array:
    """dσ/dt [MeV⁻⁴] for λ_eff = 1 MeV⁻¹ and charge = 1, no kinematic-range mask."""
    M = target.mass_mev
    if target.is_fermion:
        f1, f2 = nucleon_f1_f2(t, kappa, M)
        msq = msq_spin_half(e_x, t, m_x, M, f1, f2)
    else:
        ff = target.form_factor(t)
        msq = msq_spin0(e_x, t, m_x, M) * ff * ff
    prop = (t - m_zp * m_zp) ** 2
    lam = 4.0 * M * M * np.clip(e_x * e_x - m_x * m_x, 0.0, None)
    den = 16.0 * np.pi * lam * prop
    return np.where(den > 0.0, np.clip(msq, 0.0, None) / np.where(den > 0.0, den, 1.0), 0.0)


def dsigma_dt(
    e_x: ArrayLike,
    t: ArrayLike,
    m_x: float,
    m_zp: float,
    lam_eff: float,
    charge: float,
    target: NuclearTarget,
    *,
    kappa: float = 0.0,
) -> Array:
    """dσ/dt [cm²/MeV²] of X + T → γ + T at lab energy E_X [MeV] and t [MeV²] (broadcast);
    zero outside the physical t range.  ``lam_eff`` [MeV⁻¹] = λ/2, ``charge`` dimensionless
    (form factor applied here), ``kappa`` the proton's Z′ anomalous moment (proton only)."""
    _check(m_x, m_zp)
    e_x, t = np.broadcast_arrays(np.asarray(e_x, float), np.asarray(t, float))
    t_lo, t_hi, is_open = t_limits(e_x, m_x, 0.0, target.mass_mev)
    inside = is_open & (t >= t_lo) & (t <= t_hi)
    val = _dsdt_unit(e_x, t, m_x, m_zp, target, kappa)
    return np.where(inside, val, 0.0) * (lam_eff * charge) ** 2 * MEV2_TO_CM2


def _sigma_unit_direct(e: Array, m_x: float, m_zp: float, target: NuclearTarget, kappa: float) -> Array:
    t_lo, t_hi, _ = t_limits(e, m_x, 0.0, target.mass_mev)
    return integrate_dsigma_dt(
        e, lambda ee, tt: _dsdt_unit(ee, tt, m_x, m_zp, target, kappa), t_lo, t_hi, target.abs_t_cut
    )


def total_cross_section(
    e_x: ArrayLike,
    m_x: float,
    m_zp: float,
    lam_eff: float,
    charge: float,
    target: NuclearTarget,
    *,
    kappa: float = 0.0,
    n_table: int = 512,
) -> Array:
    """σ(X + T → γ + T) [cm²] at lab energies E_X [MeV] (any shape; 0 for E_X ≤ m_X).

    Composite Gauss–Legendre (16 × 12 nodes) in ln|t| between the physical limits (the Helm
    tail beyond q = 10 ħc/s is dropped); arrays of more than 1024 energies are tabulated on
    ``n_table`` energies and interpolated in ln–ln (accuracy ≲ 1e-4, tested)."""
    _check(m_x, m_zp)
    scale = (lam_eff * charge) ** 2 * MEV2_TO_CM2
    sig = tabulated(
        e_x, lambda e: _sigma_unit_direct(e, m_x, m_zp, target, kappa), float(m_x), n_table=n_table
    )
    return sig * scale


#: Above this many events the samplers use the per-mass-point 2D inverse-CDF table
#: (:func:`sample_t_table`) instead of the exact per-event grid of ``targets.sample_t``.
TABLE_SAMPLING_MIN_EVENTS = 4096


#: Fixed lattice of the t-table energy nodes: x_j = j·T_TABLE_DX in x = ln((E − E_th)/MeV)
#: (1/16: a power of two, so x/h and the node positions are exact in floating point).  The node
#: positions never depend on the sample (an extreme event cannot move the nodes the other
#: events use — no sample-wide correlated error).  Only the j range covering the sample is built.
T_TABLE_DX = 1.0 / 16.0
#: x is clipped to [ln 1e-5, ln 1e7] (E − E_th in MeV) before locating the nodes (bounds the node
#: count to ≤ 479; events closer than 1e-5 MeV to threshold use the shape in v of the lowest node
#: with their own t limits).
T_TABLE_X_RANGE = (math.log(1e-5), math.log(1e7))


def sample_t_table(
    rng: np.random.Generator,
    e: ArrayLike,
    dsigma_dt_shape,
    m_in: float,
    m_out: float,
    target_mass: float,
    abs_t_cut: float = math.inf,
    *,
    dx: float = T_TABLE_DX,
    n_grid: int = 400,
) -> Array:
    """Draw one t [MeV²] per event (lab energies ``e`` [MeV]) of a(m_in) + T → b(m_out) + T from
    ``dsigma_dt_shape(E, t)`` (any normalisation, broadcasting) with a 2D inverse-CDF table —
    fast for large samples (1e5 events in ~0.1 s instead of ~6 s).

    Construction (per call, i.e. per mass point): energy nodes on a **fixed lattice** in
    x = ln((E − E_th)/MeV), x_j = j·``dx`` (default :data:`T_TABLE_DX`), for the j range
    covering the open events only — so the t drawn for an event (given its uniform) does not
    depend on the other events of the sample; at each node the density in the normalised
    variable v ∈ [0, 1], u = ln|t| = u_a(E) + v (u_b(E) − u_a(E)) (bounds as in
    ``targets.sample_t``: forward limit to min(|t_lo|, cut)), is evaluated on ``n_grid`` nodes
    (trapezoid CDF).  An event between nodes j, j+1 draws r ~ U(0, 1), inverts both nodes'
    CDFs at r (linear within grid cells) and interpolates the two v values linearly in x —
    quantile ("displacement") interpolation between neighbouring energy nodes; exact at the
    nodes up to the O(Δu²) grid error of ``targets.sample_t``.  Accuracy is tested against
    quadrature moments (tests/test_primakoff.py, tests/test_upscattering.py,
    tests/test_predict.py).  Events below threshold (or with zero cross section) get t = t_hi
    (0 below threshold).  Draws N uniforms."""
    if not (math.isfinite(dx) and dx > 0.0):
        raise ParameterError(f"dx must be a finite positive spacing in ln(E - E_th), got {dx!r}")
    e = np.asarray(e, float).ravel()
    n = len(e)
    t_lo, t_hi, is_open = t_limits(e, m_in, m_out, target_mass)
    out = np.array(t_hi, float, copy=True)
    r = rng.random(n)
    if not np.any(is_open):
        return out
    e_th = max(float(m_in), ((m_out + target_mass) ** 2 - m_in * m_in - target_mass**2) / (2.0 * target_mass))
    eo = e[is_open]
    x = np.clip(np.log(np.clip(eo - e_th, 1e-300, None)), *T_TABLE_X_RANGE)
    fj = x / dx
    jf = np.floor(fj)
    j_lo = int(jf.min())
    j_hi = int(jf.max()) + 1
    k = j_hi - j_lo + 1  # nodes j_lo … j_hi (≥ 2)
    xs = np.arange(j_lo, j_hi + 1, dtype=float) * dx
    e_nodes = e_th + np.exp(xs)
    tl, th, op = t_limits(e_nodes, m_in, m_out, target_mass)
    ua, ub = _log_t_bounds(tl, th, abs_t_cut)
    v = np.linspace(0.0, 1.0, int(n_grid))
    u = ua[:, None] + (ub - ua)[:, None] * v[None, :]
    g = np.clip(dsigma_dt_shape(e_nodes[:, None], -np.exp(u)) * np.exp(u), 0.0, None)
    g = np.where(op[:, None], g, 0.0)
    cdf = np.concatenate([np.zeros((k, 1)), np.cumsum(0.5 * (g[:, 1:] + g[:, :-1]), axis=1)], axis=1)
    tot = cdf[:, -1]
    good = tot > 0.0
    cdf = cdf / np.where(good, tot, 1.0)[:, None]
    j0 = (jf - j_lo).astype(np.intp)
    wx = np.clip(fj - jf, 0.0, 1.0)
    ro = r[is_open]
    v0 = np.zeros(len(x))
    v1 = np.zeros(len(x))
    order = np.argsort(j0, kind="stable")
    bounds = np.searchsorted(j0[order], np.arange(k + 1))
    inv = {}
    for j in range(k):
        sel = order[bounds[j]:bounds[j + 1]]
        if sel.size == 0:
            continue
        for jj, dest in ((j, v0), (min(j + 1, k - 1), v1)):
            if not good[jj]:
                continue
            if jj not in inv:  # strictly increasing CDF support (flat pieces have zero probability)
                c, idx = np.unique(cdf[jj], return_index=True)
                inv[jj] = (c, v[idx])
            c, vi = inv[jj]
            dest[sel] = np.interp(ro[sel], c, vi)
    g0, g1 = good[j0], good[np.minimum(j0 + 1, k - 1)]
    v0 = np.where(g0, v0, v1)
    v1 = np.where(g1, v1, v0)
    vv = np.where(g0 | g1, v0 * (1.0 - wx) + v1 * wx, 0.0)
    ua_e, ub_e = _log_t_bounds(t_lo[is_open], t_hi[is_open], abs_t_cut)
    t = -np.exp(ua_e + np.clip(vv, 0.0, 1.0) * (ub_e - ua_e))
    out[is_open] = np.clip(t, t_lo[is_open], t_hi[is_open])
    return out


def sample_photon(
    rng: np.random.Generator,
    p4_x: ArrayLike,
    m_x: float,
    m_zp: float,
    target: NuclearTarget,
    *,
    kappa: float = 0.0,
    n_grid: int = 400,
    method: str = "auto",
) -> tuple[Array, Array]:
    """One dark-Primakoff scattering per incoming X of lab four-momentum ``p4_x`` (N, 4) [MeV]
    on a target at rest: t drawn from dσ/dt (couplings cancel in the shape), outgoing photon lab
    four-momentum with uniform azimuth about the X direction.

    Returns ``(p4_gamma (N, 4) [MeV], t (N,) [MeV²])``.  Events below threshold (E_X ≤ m_X)
    get t = 0 and p4_gamma = 0 (their cross section is zero).

    ``method``: ``"exact"`` (per-event grid, ``targets.sample_t``), ``"table"`` (2D inverse-CDF
    table, :func:`sample_t_table`) or ``"auto"`` (table above TABLE_SAMPLING_MIN_EVENTS events)."""
    _check(m_x, m_zp)
    p4 = np.asarray(p4_x, float).reshape(-1, 4)
    e = p4[:, 0]
    t_lo, t_hi, is_open = t_limits(e, m_x, 0.0, target.mass_mev)
    shape = lambda ee, tt: _dsdt_unit(ee, tt, m_x, m_zp, target, kappa)  # noqa: E731
    if _use_table(method, len(e)):
        t = sample_t_table(rng, e, shape, m_x, 0.0, target.mass_mev, target.abs_t_cut, n_grid=n_grid)
    else:
        t = sample_t(rng, e, shape, t_lo, t_hi, target.abs_t_cut, n_grid=n_grid)
    out = np.zeros_like(p4)
    if np.any(is_open):
        gam, _ = scatter_lab(rng, p4[is_open], t[is_open], m_x, 0.0, target.mass_mev)
        out[is_open] = gam
    return out, np.where(is_open, t, 0.0)


def _use_table(method: str, n: int) -> bool:
    if method not in ("auto", "exact", "table"):
        raise ParameterError(f"method = {method!r}; allowed: auto, exact, table")
    return method == "table" or (method == "auto" and n >= TABLE_SAMPLING_MIN_EVENTS)

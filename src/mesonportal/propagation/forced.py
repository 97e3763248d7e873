"""Forced emission of massive daughters towards a spherical detector.

A parent (meson or mediator V) of lab velocity β decays, emitting a daughter of mass m whose
rest-frame momentum is p0 (energy E0), isotropically in the parent rest frame.  Instead of
drawing the rest-frame direction and keeping the rare daughters that hit the detector, the
**lab** direction n̂ is drawn uniformly inside the cone from the decay vertex to the detector
sphere (:func:`mesonportal.propagation.geometry.cone_to_sphere`) and the event is weighted by
the probability density of that lab direction.

Derivation (physics.md §3, docs/prediction.md).  Rest-frame isotropy means
dN = δ(|p*| − p0) d³p*/(4π p0²).  With the invariant d³p*/E* = d³p/E and
|p*| → p along the fixed lab direction n̂ (c = n̂·β̂), E* = γ(E − β c p) and
d|p*|/dp = (E*/p0) γ (p − β c E)/E, hence

    dN/dΩ = Σ_roots p² / (4π p0 γ |p − β c E|),

where the roots p ≥ 0 solve γ(E − βcp) = E0 along n̂:

    p = [(E0/γ) β c ± √D] / (1 − β²c²),   D = (E0/γ)² − m²(1 − β²c²),

with E0/γ + β c p > 0 (no spurious root of the squared equation).  On each root
p − β c E = ±√D, so |p − βcE| = √D.  Limits: m = 0 → (E/E0)²/(4π); parent at rest → 1/(4π).
1 − β²c² is evaluated as 1/γ² + β² |n̂ × β̂|² (no cancellation for fast parents and small angles).

The Monte Carlo weight factor of one sampled direction is Ω_cone × dN/dΩ: with two roots one is
picked at random and its term doubled (unbiased); no root means the daughter cannot fly in that
direction (weight 0).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mesonportal.exceptions import ParameterError
from mesonportal.propagation.geometry import _check_sphere, cone_to_sphere, sample_directions_in_cone

Array = NDArray[np.float64]

__all__ = ["ForcedEmission", "lab_momenta_along", "solid_angle_density", "force_towards_sphere",
           "force_towards_sphere_restframe", "rest_band", "draw_from_band"]


class ForcedEmission(NamedTuple):
    """Result of :func:`force_towards_sphere`; all fields (N,) or (N, 3)/(N, 4).

    p4      : lab four-momentum of the daughter [MeV] (zeros where ``weight == 0``)
    direction : unit lab direction n̂ (inside the cone to the sphere)
    weight  : Ω_cone × dN/dΩ — probability that the daughter flies into the cone, estimated by
              this one direction (multiply the parent weight by it)
    n_roots : number of kinematic solutions (0, 1, 2) along n̂
    """

    p4: Array
    direction: Array
    weight: Array
    n_roots: NDArray[np.int64]


def _parent_kinematics(parent_p4: Array) -> tuple[Array, Array, Array, Array]:
    """β (N,), γ (N,), 1/γ² (N,) and unit β̂ (N, 3) of lab four-momenta (N, 4)."""
    e = parent_p4[:, 0]
    p3 = parent_p4[:, 1:]
    p = np.sqrt(np.einsum("ij,ij->i", p3, p3))
    m2 = np.clip(e * e - p * p, 0.0, None)
    if np.any(m2 <= 0.0) or np.any(e <= 0.0):
        raise ParameterError("parent four-momenta must be massive with E > 0 MeV")
    beta = p / e
    inv_g2 = m2 / (e * e)  # 1/γ² = m²/E² (exact, no 1 − β² cancellation)
    gamma = e / np.sqrt(m2)
    bhat = p3 / np.where(p > 0.0, p, 1.0)[:, None]
    still = p <= 0.0
    if still.any():
        bhat[still] = (0.0, 0.0, 1.0)
    return beta, gamma, inv_g2, bhat


def lab_momenta_along(parent_p4: ArrayLike, directions: ArrayLike, e0: ArrayLike, p0: ArrayLike,
                      m: ArrayLike) -> tuple[Array, Array, Array, NDArray[np.int64]]:
    """Lab momentum magnitudes of a daughter (rest-frame energy ``e0``, momentum ``p0``, mass
    ``m``, MeV; scalars or (N,)) emitted along unit lab ``directions`` (N, 3) by parents of lab
    four-momenta ``parent_p4`` (N, 4).

    Returns ``(p_plus, p_minus, sqrt_d, n_roots)``: the larger / smaller valid root [MeV]
    (0 where absent), √D [MeV] and the number of valid roots (0, 1 or 2).
    """
    pp4 = np.asarray(parent_p4, float).reshape(-1, 4)
    n = len(pp4)
    d = np.asarray(directions, float).reshape(n, 3)
    e0 = np.broadcast_to(np.asarray(e0, float), (n,))
    p0 = np.broadcast_to(np.asarray(p0, float), (n,))
    m = np.broadcast_to(np.asarray(m, float), (n,))
    beta, gamma, inv_g2, bhat = _parent_kinematics(pp4)
    c = np.einsum("ij,ij->i", d, bhat)
    cr = np.cross(d, bhat)
    s2 = np.einsum("ij,ij->i", cr, cr)
    a = inv_g2 + beta * beta * s2  # 1 − β²c²  (> 0)
    eg = e0 / gamma
    disc = eg * eg - m * m * a
    sq = np.sqrt(np.clip(disc, 0.0, None))
    bc = beta * c
    has = disc >= 0.0
    p_hi = (eg * bc + sq) / a
    # smaller root without cancellation: p_lo p_hi = (m² − eg²)/a
    p_lo = np.where(p_hi > 0.0, (m * m - eg * eg) / (a * np.where(p_hi > 0.0, p_hi, 1.0)), (eg * bc - sq) / a)

    def valid(p):
        return has & (p >= 0.0) & (eg + bc * p > 0.0)

    v_hi = valid(p_hi)
    v_lo = valid(p_lo) & (sq > 0.0)
    # when only the smaller root is valid, report it as p_plus
    p_plus = np.where(v_hi, p_hi, np.where(v_lo, p_lo, 0.0))
    p_minus = np.where(v_hi & v_lo, p_lo, 0.0)
    n_roots = v_hi.astype(np.int64) + v_lo.astype(np.int64)
    return p_plus, p_minus, sq, n_roots


def solid_angle_density(parent_p4: ArrayLike, directions: ArrayLike, e0: ArrayLike, p0: ArrayLike,
                        m: ArrayLike) -> tuple[Array, Array, Array, NDArray[np.int64]]:
    """dN/dΩ_lab [1/sr] of the daughter along each lab direction (N, 3):
    Σ_roots p²/(4π p0 γ √D) (module docstring).

    Returns ``(total, dens_plus, dens_minus, n_roots)``: the sum, the terms of the larger and
    smaller root (0 where absent) and the number of roots."""
    pp4 = np.asarray(parent_p4, float).reshape(-1, 4)
    n = len(pp4)
    p_plus, p_minus, sq, n_roots = lab_momenta_along(pp4, directions, e0, p0, m)
    p0 = np.broadcast_to(np.asarray(p0, float), (n,))
    _, gamma, _, _ = _parent_kinematics(pp4)
    dens_plus, dens_minus = _densities(p_plus, p_minus, sq, n_roots, p0, gamma)
    return dens_plus + dens_minus, dens_plus, dens_minus, n_roots


def _densities(p_plus, p_minus, sq, n_roots, p0, gamma):
    """Per-root dN/dΩ.  For √D → 0 the Jacobian diverges (integrably); for a parent at rest
    (β = 0) the formula is evaluated in its exact limit p = p0: 1/(4π)."""
    pos = sq > 0.0
    safe = np.where(pos, sq, 1.0)
    den = 4.0 * np.pi * p0 * gamma
    safe_den = np.where(den > 0.0, den, 1.0)
    d_plus = np.where((n_roots >= 1) & pos, p_plus * p_plus / (safe_den * safe), 0.0)
    d_minus = np.where((n_roots == 2) & pos, p_minus * p_minus / (safe_den * safe), 0.0)
    # p0 = 0 (daughter at rest in the parent frame): it moves with the parent; a measure-zero
    # direction — no density in any sampled direction
    d_plus = np.where(p0 > 0.0, d_plus, 0.0)
    d_minus = np.where(p0 > 0.0, d_minus, 0.0)
    return d_plus, d_minus


def force_towards_sphere(
    rng: np.random.Generator,
    parent_p4: ArrayLike,
    vertex: ArrayLike,
    rest_p4: ArrayLike,
    m: float,
    center: ArrayLike,
    radius: float,
) -> ForcedEmission:
    """Emit one daughter per parent towards a sphere.

    Parameters
    ----------
    parent_p4 : (N, 4) MeV, lab four-momenta of the parents (at rest allowed: (M, 0, 0, 0))
    vertex : (N, 3) cm, decay points
    rest_p4 : (N, 4) MeV, daughter four-momentum in the parent rest frame (only E0 = rest_p4[:, 0]
        and p0 = |rest_p4[:, 1:]| are used; e.g. from ``channel.sample_rest_frame``)
    m : daughter mass [MeV]
    center, radius : detector sphere [cm]

    Returns
    -------
    :class:`ForcedEmission` — lab four-momenta along a direction drawn uniformly in the cone
    and the weight factor Ω_cone × dN/dΩ (one root picked at random and doubled when two exist).
    Draws: directions in the cone (``sample_directions_in_cone``), then N uniforms (root choice).
    """
    pp4 = np.asarray(parent_p4, float).reshape(-1, 4)
    n = len(pp4)
    rp = np.asarray(rest_p4, float).reshape(n, 4)
    e0 = rp[:, 0]
    p0 = np.sqrt(np.einsum("ij,ij->i", rp[:, 1:], rp[:, 1:]))
    cone = cone_to_sphere(np.asarray(vertex, float).reshape(n, 3), center, radius)
    d = sample_directions_in_cone(rng, cone)
    p_plus, p_minus, sq, n_roots = lab_momenta_along(pp4, d, e0, p0, m)
    _, gamma, _, _ = _parent_kinematics(pp4)
    dp, dm = _densities(p_plus, p_minus, sq, n_roots, p0, gamma)
    u = rng.random(n)
    pick_minus = (n_roots == 2) & (u < 0.5)
    p = np.where(pick_minus, p_minus, p_plus)
    dens = np.where(n_roots == 2, 2.0 * np.where(pick_minus, dm, dp), dp)
    w = cone.solid_angle * dens
    w = np.where(np.isfinite(w), w, 0.0)
    p4 = np.zeros((n, 4))
    ok = w > 0.0
    p4[:, 0] = np.where(ok, np.sqrt(p * p + m * m), 0.0)
    p4[:, 1:] = np.where(ok[:, None], d * p[:, None], 0.0)
    return ForcedEmission(p4, d, np.where(ok, w, 0.0), n_roots)


# ------------------------------------------------------------------------- rest-frame band
def force_towards_sphere_restframe(
    rng: np.random.Generator,
    parent_p4: ArrayLike,
    vertex: ArrayLike,
    rest_p4: ArrayLike,
    m: float,
    center: ArrayLike,
    radius: float,
    repeat: int = 1,
) -> ForcedEmission:
    """Emit daughters towards a sphere by sampling the **rest-frame** direction in a band that
    contains every direction reaching the sphere (bounded weights).

    The sphere is seen from the vertex as a cone of half-angle α around â, at angle ψ from the
    parent direction β̂; its lab polar angles lie in [ψ − α, ψ + α] and its azimuths around β̂
    within ±Δφ of â's (sin Δφ = sin α / sin ψ; all azimuths if ψ ≤ α).  The rest-frame polar
    band is the preimage of that lab range (one interval of cos θ*, or two for a parent faster
    than the daughter's rest-frame speed, whose lab angles stop at θ_max); the azimuth is
    unchanged by the boost.  cos θ* and φ* are drawn uniformly in the band, the daughter is
    boosted, and the weight is the band's share of the sphere, (Δcos θ*/2)(Δφ/π), times the
    indicator that the lab direction is inside the cone.  Unbiased like
    :func:`force_towards_sphere` (same expectation, tested against brute force), but without the
    integrable 1/√D Jacobian peak whose weights have (log-)infinite variance for massive
    daughters of fast parents (V → χχ̄).  Acceptance ≈ π/4 for small cones.

    ``repeat`` > 1 draws that many daughters per parent (rows ordered parent by parent, i.e.
    ``np.repeat``); the band is computed once per parent (only valid when every parent's
    ``rest_p4`` is the same for its copies — two-body decays).  Draws 2 N·repeat uniforms.
    """
    if int(repeat) == 1:
        pp4 = np.asarray(parent_p4, float).reshape(-1, 4)
        if len(pp4) > BLOCK_ROWS:
            return _restframe_blocks(rng, pp4, vertex, rest_p4, m, center, radius)
    band = rest_band(parent_p4, vertex, rest_p4, m, center, radius)
    idx = None if int(repeat) == 1 else np.repeat(np.arange(len(band["beta"])), int(repeat))
    return draw_from_band(rng, band, idx, m)


#: Rows per block of :func:`force_towards_sphere_restframe` (``repeat`` = 1): the ~40 per-row
#: temporaries of :func:`rest_band` / :func:`draw_from_band` (~0.4 kB a row) are held for one
#: block at a time instead of for all rows (peak memory of the main job, issue #10).
BLOCK_ROWS = 1 << 17


def _restframe_blocks(rng: np.random.Generator, pp4: Array, vertex: ArrayLike, rest_p4: ArrayLike, m: float,
                      center: ArrayLike, radius: float) -> ForcedEmission:
    """:func:`force_towards_sphere_restframe` (``repeat`` = 1) block by block, bitwise identical
    to the one-block form: the uniforms are drawn for all rows first, in the same order (u1 of
    every row, then u2), and every step of the band and the draw is row-local
    (tests/test_forced_identity.py)."""
    n = len(pp4)
    vtx = np.asarray(vertex, float).reshape(n, 3)
    rp = np.asarray(rest_p4, float).reshape(n, 4)

    def block(sl: slice, uniforms: tuple[Array, Array]) -> ForcedEmission:
        band = rest_band(pp4[sl], vtx[sl], rp[sl], m, center, radius)
        return draw_from_band(None, band, None, m, uniforms=uniforms)

    return _in_blocks(rng, n, block)


def _in_blocks(rng: np.random.Generator, n: int, block) -> ForcedEmission:
    """``n`` daughters made :data:`BLOCK_ROWS` at a time by ``block(slice, (u1, u2))``, with the
    2 n uniforms drawn first in the one-block order (u1 of every row, then u2)."""
    u1, u2 = rng.random(n), rng.random(n)
    p4 = np.empty((n, 4))
    d = np.empty((n, 3))
    w = np.empty(n)
    n_roots = np.empty(n, np.int64)
    for s in range(0, n, BLOCK_ROWS):
        sl = slice(s, min(s + BLOCK_ROWS, n))
        fe = block(sl, (u1[sl], u2[sl]))
        p4[sl], d[sl], w[sl], n_roots[sl] = fe.p4, fe.direction, fe.weight, fe.n_roots
        del fe
    return ForcedEmission(p4, d, w, n_roots)


def _dot3(ax: Array, ay: Array, az: Array, bx: Array, by: Array, bz: Array) -> Array:
    """Row-wise dot products of vectors given by their components (N,) each, summed as
    (a_x b_x + a_z b_z) + a_y b_y: the association NumPy's ``einsum("ij,ij->i")`` uses for three
    components (NumPy 2.4; pinned in tests/test_forced_identity.py), so that the component form
    gives bit-identical results to the (N, 3) form it replaces."""
    out = ax * bx
    out += az * bz
    out += ay * by
    return out


#: per-parent (N,) arrays of :func:`rest_band` that :func:`draw_from_band` gathers
_ROWS = ("ltot", "l1", "c1_lo", "c2_lo", "phi_a", "dphi", "gamma", "p0", "beta_e0", "w_band", "one_minus_cos",
         "inside_f", "fast_f", "ax1", "ax2", "ax3", "e1x", "e1y", "e1z", "e2x", "e2y", "e2z", "bx", "by", "bz")


def rest_band(parent_p4: ArrayLike, vertex: ArrayLike, rest_p4: ArrayLike, m: float, center: ArrayLike,
              radius: float) -> dict[str, Array]:
    """Per-parent rest-frame band of :func:`force_towards_sphere_restframe`.

    Returns a dict of (N,) arrays: ``beta``, ``gamma``, ``e0`` and ``p0`` [MeV] (rest-frame
    energy and momentum), ``one_minus_cos`` and ``inside`` (cone), ``l1``/``ltot`` (forward /
    total band length in cos θ*), ``c1_lo``/``c2_lo`` (lower edges of the forward / backward
    interval), ``dphi`` (half width in φ*, rad), ``phi_a`` (azimuth of the cone axis â, rad),
    ``fast`` (two kinematic branches), the frame (e1, e2, β̂) around the parent direction as
    components ``e1x`` … ``bz``, â's components in that frame ``ax1``, ``ax2``, ``ax3``, the
    weight of an in-cone draw ``w_band`` = (ltot/2)(dphi/π), ``beta_e0`` = β E0, and ``ax``
    (3, N): â in the lab.

    The rest-frame cos θ* at a lab angle θ on the forward (+) / backward (−) branch is
    γ (p cos θ − β E)/p0 on the root p = [(E0/γ) β cos θ ± √D]/a, a = 1/γ² + β² sin²θ,
    D = (E0/γ)² − m² a (roots of :func:`lab_momenta_along`).

    The arithmetic is component-wise, in place where possible; every quantity is the same IEEE
    operation sequence as the straightforward (N, 3) form (tests/test_forced_identity.py pins
    bit identity against it)."""
    pp4 = np.asarray(parent_p4, float).reshape(-1, 4)
    n = len(pp4)
    rp = np.asarray(rest_p4, float).reshape(n, 4)
    e0 = rp[:, 0]
    p0 = np.sqrt(_dot3(rp[:, 1], rp[:, 2], rp[:, 3], rp[:, 1], rp[:, 2], rp[:, 3]))
    vtx = np.asarray(vertex, float).reshape(n, 3)
    c, r = _check_sphere(center, radius)
    # separate (N,) arrays (one (K, N) block would exceed malloc's mmap threshold for large N and
    # be page-faulted afresh on every call)
    row = {k: np.empty(n) for k in _ROWS}
    # --- cone to the sphere (as geometry.cone_to_sphere, component-wise)
    ax = np.subtract(c[:, None], vtx.T)  # (3, N) vertex → centre
    axx, axy, axz = ax
    dist = np.sqrt(_dot3(axx, axy, axz, axx, axy, axz))
    inside = dist <= r
    any_inside = bool(inside.any())
    safe = np.where(inside, 1.0, dist) if any_inside else dist
    axx /= safe
    axy /= safe
    axz /= safe
    if any_inside:
        axx[inside], axy[inside], axz[inside] = 0.0, 0.0, 1.0
    s2 = r / safe
    s2 **= 2  # sin² α
    if any_inside:
        s2[inside] = 1.0
    omc = row["one_minus_cos"]
    np.subtract(1.0, s2, out=omc)
    np.sqrt(omc, out=omc)
    omc += 1.0
    np.divide(s2, omc, out=omc)  # 1 − cos α = sin²α / (1 + cos α)
    if any_inside:
        omc[inside] = 2.0
    # --- parent kinematics (as _parent_kinematics, component-wise)
    e = pp4[:, 0]
    pbx, pby, pbz = pp4[:, 1], pp4[:, 2], pp4[:, 3]
    p = np.sqrt(_dot3(pbx, pby, pbz, pbx, pby, pbz))
    ee = e * e
    m2 = ee - p * p
    np.clip(m2, 0.0, None, out=m2)
    if np.any(m2 <= 0.0) or np.any(e <= 0.0):
        raise ParameterError("parent four-momenta must be massive with E > 0 MeV")
    beta = p / e
    inv_g2 = np.divide(m2, ee, out=ee)  # 1/γ² = m²/E² (exact, no 1 − β² cancellation)
    gamma = row["gamma"]
    np.sqrt(m2, out=gamma)
    np.divide(e, gamma, out=gamma)
    pos = p > 0.0
    psafe = p if bool(pos.all()) else np.where(pos, p, 1.0)
    still = p <= 0.0
    any_still = bool(still.any())
    bx, by, bz = row["bx"], row["by"], row["bz"]
    np.divide(pbx, psafe, out=bx)
    np.divide(pby, psafe, out=by)
    np.divide(pbz, psafe, out=bz)
    if any_still:
        np.copyto(bx, 0.0, where=still)
        np.copyto(by, 0.0, where=still)
        np.copyto(bz, 1.0, where=still)
    at_rest = beta <= 0.0
    any_rest = bool(at_rest.any())
    if any_rest:  # parent at rest: any axis will do, take the cone's
        np.copyto(bx, axx, where=at_rest)
        np.copyto(by, axy, where=at_rest)
        np.copyto(bz, axz, where=at_rest)
    # --- frame (e1, e2, β̂) around the parent direction (geometry.orthonormal_frame)
    e1x, e1y, e1z, e2x, e2y, e2z = (row[k] for k in ("e1x", "e1y", "e1z", "e2x", "e2y", "e2z"))
    sign = np.where(bz >= 0.0, 1.0, -1.0)
    a = np.add(sign, bz)
    np.divide(-1.0, a, out=a)
    np.multiply(bx, by, out=e2x)
    e2x *= a  # b = x y a
    np.multiply(sign, bx, out=e1z)
    e1z *= bx
    e1z *= a
    np.add(1.0, e1z, out=e1x)  # 1 + sign x x a
    np.multiply(sign, e2x, out=e1y)
    np.multiply(-sign, bx, out=e1z)
    np.multiply(by, by, out=e2y)
    e2y *= a
    np.add(sign, e2y, out=e2y)
    np.negative(by, out=e2z)
    # components of â in that frame (also cos ψ and the azimuth of â)
    ax1 = row["ax1"]
    ax1[:] = _dot3(e1x, e1y, e1z, axx, axy, axz)
    ax2 = row["ax2"]
    ax2[:] = _dot3(e2x, e2y, e2z, axx, axy, axz)
    ax3 = row["ax3"]
    ax3[:] = _dot3(bx, by, bz, axx, axy, axz)
    cos_psi = np.clip(ax3, -1.0, 1.0)
    # |β̂ × â| from the components
    c0 = by * axz
    c0 -= bz * axy
    c1 = bz * axx
    c1 -= bx * axz
    c2 = bx * axy
    c2 -= by * axx
    c0 *= c0
    c1 *= c1
    c2 *= c2
    c0 += c1
    c0 += c2
    sin_psi = np.sqrt(c0, out=c0)
    psi = np.arctan2(sin_psi, cos_psi)
    sin_a = np.subtract(2.0, omc, out=c1)
    sin_a *= omc
    np.clip(sin_a, 0.0, None, out=sin_a)
    np.sqrt(sin_a, out=sin_a)
    alpha = np.arctan2(sin_a, np.subtract(1.0, omc, out=c2))
    if any_inside:
        alpha[inside] = np.pi
    th_lo = np.subtract(psi, alpha)
    np.clip(th_lo, 0.0, np.pi, out=th_lo)
    th_hi = np.add(psi, alpha)
    np.clip(th_hi, 0.0, np.pi, out=th_hi)
    mf = float(m)
    all_e0 = bool(np.all(e0 > 0))
    beta0 = p0 / e0 if all_e0 else np.where(e0 > 0, p0 / np.where(e0 > 0, e0, 1.0), 0.0)
    if mf > 0.0:
        fast = beta > beta0
    else:
        fast = np.zeros(n, bool)
    f = np.flatnonzero(fast)
    # maximal lab angle for fast parents: cos θ_max = √(1 − E0²/(γ² m²)) / β
    th_h = th_hi.copy()
    empty = np.zeros(n, bool)
    if f.size:
        gf = gamma[f]
        t = e0[f] / (gf * mf)
        t **= 2
        np.subtract(1.0, t, out=t)
        np.clip(t, 0.0, None, out=t)
        np.sqrt(t, out=t)
        t /= beta[f]
        np.clip(t, -1.0, 1.0, out=t)
        th_max = np.arccos(t, out=t)
        th_h[f] = np.minimum(th_hi[f], th_max)
        empty[f] = th_lo[f] >= th_max
    # rest-frame cos θ* at the band edges: forward branch (+√D) for every parent, backward
    # (−√D) for fast parents only; cos θ* = γ (p cos θ − β E)/p0 on the root p ≥ 0 of
    # γ(E − β cos θ p) = E0 (docstring)
    eg = e0 / gamma
    egeg = eg * eg
    mm2 = mf * mf
    bb = beta * beta
    p0s = p0 if bool(np.all(p0 > 0)) else np.where(p0 > 0, p0, 1.0)
    c1_lo, c1_hi = row["c1_lo"], np.empty(n)
    c2_lo = row["c2_lo"]
    c2_lo[:] = 0.0
    c2_hi = np.zeros(n)
    if f.size:
        beta_f, gamma_f, p0s_f = beta[f], gamma[f], p0s[f]
    for th, plus_out, minus_out in ((th_h, c1_lo, c2_hi), (th_lo, c1_hi, c2_lo)):
        cth, sth = np.cos(th), np.sin(th)
        aa = bb * sth
        aa *= sth
        aa += inv_g2  # a = 1 − β² cos²θ = 1/γ² + β² sin²θ
        sq = np.multiply(mm2, aa)
        np.subtract(egeg, sq, out=sq)
        np.clip(sq, 0.0, None, out=sq)
        np.sqrt(sq, out=sq)
        egbc = eg * beta
        egbc *= cth
        _cos_star_root(egbc, sq, aa, cth, beta, gamma, mm2, p0s, +1, plus_out)
        if f.size:
            minus_out[f] = _cos_star_root(egbc[f], sq[f], aa[f], cth[f], beta_f, gamma_f, mm2, p0s_f, -1)
        if any_rest:  # parent at rest: cos θ* = cos θ (th_h = th_hi there: not fast)
            np.copyto(c1_lo if plus_out is c1_lo else c1_hi, cth, where=at_rest)
    l1 = row["l1"]
    np.subtract(c1_hi, c1_lo, out=l1)
    np.clip(l1, 0.0, None, out=l1)
    ltot = row["ltot"]
    l2 = np.zeros(n)
    if f.size:
        l2f = c2_hi[f] - c2_lo[f]
        l2[f] = np.clip(l2f, 0.0, None, out=l2f)
    np.add(l1, l2, out=ltot)
    zero = p0 <= 0.0
    if f.size or zero.any():
        ltot[empty | zero] = 0.0
    inside_alpha = (psi > alpha)
    if any_inside:
        inside_alpha &= ~inside
    dphi = row["dphi"]
    dphi[:] = np.pi
    k = np.flatnonzero(inside_alpha)
    if k.size:
        t = sin_a[k] / np.where(sin_psi[k] > 0, sin_psi[k], 1.0)
        np.clip(t, 0.0, 1.0, out=t)
        dphi[k] = np.arcsin(t, out=t)
    np.arctan2(ax2, ax1, out=row["phi_a"])
    row["p0"][:] = p0
    np.multiply(beta, e0, out=row["beta_e0"])
    wb = row["w_band"]
    np.multiply(0.5, ltot, out=wb)
    wb *= dphi
    wb /= np.pi
    row["inside_f"][:] = inside
    row["fast_f"][:] = fast
    return {**row, "beta": beta, "e0": e0, "ax": ax, "inside": inside, "fast": fast}


def _cos_star_root(egbc, sq, aa, cth, beta, gamma, mm2, p0s, branch: int, out=None):
    """Rest-frame cos θ* on one branch (``branch`` = ±1) from the pieces shared by both:
    egbc = (E0/γ) β cos θ, sq = √D, aa = 1/γ² + β² sin²θ [MeV, MeV, 1]; returns
    clip(γ (p cos θ − β E)/p0, −1, 1) at the root p = max((egbc ± sq)/aa, 0).  ``out``: (N,)."""
    p = egbc + sq if branch > 0 else egbc - sq
    p /= aa
    np.clip(p, 0.0, None, out=p)
    e = p * p
    e += mm2
    np.sqrt(e, out=e)
    e *= beta
    p *= cth
    p -= e
    p *= gamma
    p /= p0s
    return np.clip(p, -1.0, 1.0, out=p if out is None else out)


def _draw_blocks(rng: np.random.Generator, band: dict[str, Array], idx: NDArray[np.intp], m: float) -> ForcedEmission:
    return _in_blocks(rng, len(idx), lambda sl, uniforms: draw_from_band(None, band, idx[sl], m, uniforms=uniforms))


def draw_from_band(rng: np.random.Generator | None, band: dict[str, Array], idx: NDArray[np.intp] | None,
                   m: float, uniforms: tuple[Array, Array] | None = None) -> ForcedEmission:
    """One daughter per entry of ``idx`` (parent row of ``band``; None: one per parent, in
    order — no gathers).  Draws 2 uniforms per daughter.

    Only per-parent (N,) arrays are gathered (band, frame components, components of the cone
    axis â in the frame): with the lab momentum p = a e1 + b e2 + c β̂,
    p·â = a (e1·â) + b (e2·â) + c (β̂·â) and |p|² = a² + b² + c² (no (n, 3) gather of â).
    ``uniforms``: the two (n,) uniform arrays (u1 of every daughter, then u2) drawn by the
    caller instead of from ``rng`` (they are overwritten in place).

    With ``idx`` given and more than :data:`BLOCK_ROWS` daughters, the daughters are drawn block
    by block (the gathered per-daughter arrays are held for one block at a time), the uniforms
    for all of them first in the same order: bitwise identical to one block."""
    if idx is not None and uniforms is None and len(idx) > BLOCK_ROWS:
        return _draw_blocks(rng, band, np.asarray(idx), m)
    g = band if idx is None else {k: band[k][idx] for k in _ROWS}
    n = len(g["ltot"])
    R = {k: k for k in _ROWS}
    if uniforms is None:
        u1, u2 = rng.random(n), rng.random(n)
    else:  # drawn by the caller (block form); used in place
        u1, u2 = uniforms
        if len(u1) != n or len(u2) != n:
            raise ParameterError(f"uniforms must be two arrays of {n} draws in [0, 1)")
    x = u1
    x *= g[R["ltot"]]
    l1 = g[R["l1"]]
    cstar = np.add(g[R["c1_lo"]], x)
    back = ~(x < l1)  # (not x >= l1: NaN rows take the backward branch, as before)
    if back.any():
        np.add(g[R["c2_lo"]], np.subtract(x, l1), out=cstar, where=back)
    np.clip(cstar, -1.0, 1.0, out=cstar)
    sstar = np.multiply(cstar, cstar)
    np.subtract(1.0, sstar, out=sstar)
    np.sqrt(sstar, out=sstar)
    phi = u2
    phi *= 2.0
    phi -= 1.0
    phi *= g[R["dphi"]]
    np.add(g[R["phi_a"]], phi, out=phi)
    p0 = g[R["p0"]]
    p_par = np.multiply(p0, cstar, out=cstar)
    p_par += g[R["beta_e0"]]
    p_par *= g[R["gamma"]]
    p_perp = np.multiply(p0, sstar, out=sstar)
    ca = np.cos(phi)
    ca *= p_perp
    sa = np.sin(phi, out=phi)
    sa *= p_perp
    # lab four-momentum, component-major (4, n): p = ca e1 + sa e2 + p_par β̂
    p4c = np.empty((4, n))
    t = np.empty(n)
    for k, (r1, r2, r3) in enumerate(((R["e1x"], R["e2x"], R["bx"]), (R["e1y"], R["e2y"], R["by"]),
                                      (R["e1z"], R["e2z"], R["bz"]))):
        col = p4c[k + 1]
        np.multiply(g[r1], ca, out=col)
        col += np.multiply(g[r2], sa, out=t)
        col += np.multiply(g[r3], p_par, out=t)
    pl = np.multiply(ca, ca)
    pl += np.multiply(sa, sa, out=t)
    pl += np.multiply(p_par, p_par, out=t)
    np.sqrt(pl, out=pl)
    pos = pl > 0
    all_pos = bool(pos.all())
    safe = pl if all_pos else np.where(pos, pl, 1.0)
    dc = p4c[1:] / safe
    one_minus = np.multiply(ca, g[R["ax1"]], out=ca)
    one_minus += np.multiply(sa, g[R["ax2"]], out=sa)
    one_minus += np.multiply(p_par, g[R["ax3"]], out=p_par)
    one_minus /= safe
    np.subtract(1.0, one_minus, out=one_minus)
    ok = one_minus <= g[R["one_minus_cos"]]
    ok |= g[R["inside_f"]] > 0.0
    if not all_pos:
        ok &= pos
    w = np.where(ok, g[R["w_band"]], 0.0)
    ok = w > 0
    e = p4c[0]
    np.multiply(pl, pl, out=e)
    e += float(m) * float(m)
    np.sqrt(e, out=e)
    # (n, 4) / (n, 3) outputs in one transposing pass each; failed draws (weight 0) get a zero
    # four-momentum and point along the cone axis
    p4 = np.zeros((n, 4))
    np.copyto(p4.T, p4c, where=ok)
    d = np.empty((n, 3))
    np.copyto(d.T, dc)
    bad = ~ok
    if bad.any():
        ax = band["ax"]
        if idx is None:
            np.copyto(d.T, ax, where=bad)
        else:
            rows = np.flatnonzero(bad)
            d[rows] = ax[:, idx[rows]].T
    n_roots = g[R["fast_f"]].astype(np.int64) + 1
    return ForcedEmission(p4, d, w, n_roots)

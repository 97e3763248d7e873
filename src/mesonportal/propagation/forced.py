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
from mesonportal.propagation.geometry import cone_to_sphere, sample_directions_in_cone

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
def _cos_star(beta, gamma, inv_g2, e0, p0, m, theta, branch: int, cs=None):
    """Rest-frame cos θ* of the daughter emitted at lab angle ``theta`` to the boost axis on the
    forward (``branch=+1``, larger lab momentum) or backward (−1) kinematic branch.  Uses the
    roots of :func:`lab_momenta_along` and cos θ* = γ(p cos θ − β E)/p0.  ``cs``: (cos θ, sin θ)
    if already known."""
    c, s = (np.cos(theta), np.sin(theta)) if cs is None else cs
    a = inv_g2 + beta * beta * s * s
    eg = e0 / gamma
    sq = np.sqrt(np.clip(eg * eg - m * m * a, 0.0, None))
    p = (eg * beta * c + branch * sq) / a
    p = np.clip(p, 0.0, None)
    e = np.sqrt(p * p + m * m)
    return np.clip(gamma * (p * c - beta * e) / np.where(p0 > 0, p0, 1.0), -1.0, 1.0)


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
    band = rest_band(parent_p4, vertex, rest_p4, m, center, radius)
    idx = None if int(repeat) == 1 else np.repeat(np.arange(len(band["beta"])), int(repeat))
    return draw_from_band(rng, band, idx, m)


def rest_band(parent_p4: ArrayLike, vertex: ArrayLike, rest_p4: ArrayLike, m: float, center: ArrayLike,
              radius: float) -> dict[str, Array]:
    """Per-parent rest-frame band of :func:`force_towards_sphere_restframe` (arrays (N,))."""
    pp4 = np.asarray(parent_p4, float).reshape(-1, 4)
    n = len(pp4)
    rp = np.asarray(rest_p4, float).reshape(n, 4)
    e0 = rp[:, 0]
    p0 = np.sqrt(np.einsum("ij,ij->i", rp[:, 1:], rp[:, 1:]))
    vtx = np.asarray(vertex, float).reshape(n, 3)
    cone = cone_to_sphere(vtx, center, radius)
    beta, gamma, inv_g2, bhat = _parent_kinematics(pp4)
    at_rest = beta <= 0.0
    ax = cone.axis
    any_rest = bool(at_rest.any())
    if any_rest:
        bhat[at_rest] = ax[at_rest]  # bhat is a fresh array
    cos_psi = np.clip(np.einsum("ij,ij->i", bhat, ax), -1.0, 1.0)
    # |β̂ × â| from the components (no (N, 3) temporaries)
    bx, by, bz = bhat[:, 0], bhat[:, 1], bhat[:, 2]
    axx, axy, axz = ax[:, 0], ax[:, 1], ax[:, 2]
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
    inside = cone.cos_half_angle <= -1.0
    sin_a = np.sqrt(np.clip(cone.one_minus_cos * (2.0 - cone.one_minus_cos), 0.0, None))
    alpha = np.where(inside, np.pi, np.arctan2(sin_a, 1.0 - cone.one_minus_cos))
    th_lo = np.clip(psi - alpha, 0.0, np.pi)
    th_hi = np.clip(psi + alpha, 0.0, np.pi)
    mm = np.full(n, float(m))
    beta0 = np.where(e0 > 0, p0 / np.where(e0 > 0, e0, 1.0), 0.0)
    fast = (beta > beta0) & (mm > 0.0)
    # maximal lab angle for fast parents: cos θ_max = √(1 − E0²/(γ² m²)) / β
    cmax = np.where(fast, np.sqrt(np.clip(1.0 - (e0 / (gamma * np.where(mm > 0, mm, 1.0))) ** 2, 0.0, None))
                    / np.where(beta > 0, beta, 1.0), -1.0)
    th_max = np.where(fast, np.arccos(np.clip(cmax, -1.0, 1.0)), np.pi)
    th_h = np.minimum(th_hi, th_max)
    empty = fast & (th_lo >= th_max)
    cs_h = (np.cos(th_h), np.sin(th_h))
    cs_lo = (np.cos(th_lo), np.sin(th_lo))
    c1_lo = _cos_star(beta, gamma, inv_g2, e0, p0, mm, th_h, +1, cs_h)
    c1_hi = _cos_star(beta, gamma, inv_g2, e0, p0, mm, th_lo, +1, cs_lo)
    # backward branch only exists for fast parents: evaluate it on those rows only
    c2_lo = np.zeros(n)
    c2_hi = np.zeros(n)
    f = np.flatnonzero(fast)
    if f.size:
        args = (beta[f], gamma[f], inv_g2[f], e0[f], p0[f], mm[f])
        c2_lo[f] = _cos_star(*args, th_lo[f], -1, (cs_lo[0][f], cs_lo[1][f]))
        c2_hi[f] = _cos_star(*args, th_h[f], -1, (cs_h[0][f], cs_h[1][f]))
    if any_rest:
        c1_lo[at_rest] = np.cos(th_hi[at_rest])
        c1_hi[at_rest] = cs_lo[0][at_rest]
    l1 = np.clip(c1_hi - c1_lo, 0.0, None)
    l2 = np.where(fast & ~at_rest, np.clip(c2_hi - c2_lo, 0.0, None), 0.0)
    ltot = np.where(empty | (p0 <= 0.0), 0.0, l1 + l2)
    dphi = np.where((psi > alpha) & ~inside,
                    np.arcsin(np.clip(sin_a / np.where(sin_psi > 0, sin_psi, 1.0), 0.0, 1.0)), np.pi)
    e1, e2 = _frame(bhat)
    phi_a = np.arctan2(np.einsum("ij,ij->i", ax, e2), np.einsum("ij,ij->i", ax, e1))
    return {"beta": beta, "gamma": gamma, "e0": e0, "p0": p0, "bhat": bhat, "e1": e1, "e2": e2, "ax": ax,
            "one_minus_cos": cone.one_minus_cos, "inside": inside, "l1": l1, "ltot": ltot, "c1_lo": c1_lo,
            "c2_lo": c2_lo, "dphi": dphi, "phi_a": phi_a, "fast": fast}


def draw_from_band(rng: np.random.Generator, band: dict[str, Array], idx: NDArray[np.intp] | None,
                   m: float) -> ForcedEmission:
    """One daughter per entry of ``idx`` (parent row of ``band``; None: one per parent, in
    order — no gathers).  Draws 2 uniforms per daughter."""
    # Gather only per-parent scalars; the cone test uses the components of â in the parent
    # frame (e1, e2, β̂), so no (n, 3) gather of â is needed: with p = a e1 + b e2 + c β̂,
    # p·â = a (e1·â) + b (e2·â) + c (β̂·â) and |p|² = a² + b² + c².
    ax = band["ax"]
    ax1 = np.einsum("ij,ij->i", band["e1"], ax)
    ax2 = np.einsum("ij,ij->i", band["e2"], ax)
    ax3 = np.einsum("ij,ij->i", band["bhat"], ax)
    scal = ("ltot", "l1", "c1_lo", "c2_lo", "phi_a", "dphi", "gamma", "p0", "beta", "e0", "inside",
            "one_minus_cos", "fast")
    if idx is None:
        b = {k: band[k] for k in scal}
        e1, e2, bh = band["e1"], band["e2"], band["bhat"]
        n = len(ax)
    else:
        b = {k: band[k][idx] for k in scal}
        e1, e2, bh = band["e1"][idx], band["e2"][idx], band["bhat"][idx]
        ax1, ax2, ax3 = ax1[idx], ax2[idx], ax3[idx]
        n = len(idx)
    u1, u2 = rng.random(n), rng.random(n)
    x = u1 * b["ltot"]
    cstar = np.clip(np.where(x < b["l1"], b["c1_lo"] + x, b["c2_lo"] + (x - b["l1"])), -1.0, 1.0)
    sstar = np.sqrt(1.0 - cstar * cstar)
    phi = b["phi_a"] + (2.0 * u2 - 1.0) * b["dphi"]
    p_par = b["gamma"] * (b["p0"] * cstar + b["beta"] * b["e0"])
    p_perp = b["p0"] * sstar
    ca, sa = p_perp * np.cos(phi), p_perp * np.sin(phi)
    p3 = e1 * ca[:, None]
    p3 += e2 * sa[:, None]
    p3 += bh * p_par[:, None]
    pl = np.sqrt(ca * ca + sa * sa + p_par * p_par)
    safe = np.where(pl > 0, pl, 1.0)
    d = p3 / safe[:, None]
    one_minus = 1.0 - (ca * ax1 + sa * ax2 + p_par * ax3) / safe
    in_cone = b["inside"] | (one_minus <= b["one_minus_cos"])
    w = np.where(in_cone & (pl > 0), 0.5 * b["ltot"] * b["dphi"] / np.pi, 0.0)
    ok = w > 0
    p4 = np.empty((n, 4))
    p4[:, 0] = np.where(ok, np.sqrt(pl * pl + m * m), 0.0)
    p4[:, 1:] = p3
    bad = ~ok
    if bad.any():
        p4[bad, 1:] = 0.0
        d[bad] = ax[bad] if idx is None else ax[idx[bad]]
    n_roots = b["fast"].astype(np.int64) + 1
    return ForcedEmission(p4, d, w, n_roots)


def _frame(axis: Array) -> tuple[Array, Array]:
    from mesonportal.propagation.geometry import orthonormal_frame

    return orthonormal_frame(axis)

"""Reference (straightforward (N, 3)) implementation of the rest-frame forced emission, as in
mesonportal 0.4.0 (propagation/forced.py rest_band / draw_from_band, geometry.cone_to_sphere /
orthonormal_frame, ray_sphere_intersection, sample_directions_in_cone; kinematics.isotropic_directions,
rotate_to_axis), kept verbatim so that tests/test_forced_identity.py can pin the optimised
component-wise code to the same output bits."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mesonportal.exceptions import ParameterError
from mesonportal.propagation.forced import ForcedEmission
from mesonportal.propagation.geometry import Cone, RayIntersection, _as_points, _check_sphere

Array = NDArray[np.float64]


def ref_parent_kinematics(parent_p4: Array) -> tuple[Array, Array, Array, Array]:
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


def ref_cos_star(beta, gamma, inv_g2, e0, p0, m, theta, branch: int, cs=None):
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


def ref_rest_band(parent_p4: ArrayLike, vertex: ArrayLike, rest_p4: ArrayLike, m: float, center: ArrayLike,
              radius: float) -> dict[str, Array]:
    """Per-parent rest-frame band of :func:`force_towards_sphere_restframe` (arrays (N,))."""
    pp4 = np.asarray(parent_p4, float).reshape(-1, 4)
    n = len(pp4)
    rp = np.asarray(rest_p4, float).reshape(n, 4)
    e0 = rp[:, 0]
    p0 = np.sqrt(np.einsum("ij,ij->i", rp[:, 1:], rp[:, 1:]))
    vtx = np.asarray(vertex, float).reshape(n, 3)
    cone = ref_cone_to_sphere(vtx, center, radius)
    beta, gamma, inv_g2, bhat = ref_parent_kinematics(pp4)
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
    c1_lo = ref_cos_star(beta, gamma, inv_g2, e0, p0, mm, th_h, +1, cs_h)
    c1_hi = ref_cos_star(beta, gamma, inv_g2, e0, p0, mm, th_lo, +1, cs_lo)
    # backward branch only exists for fast parents: evaluate it on those rows only
    c2_lo = np.zeros(n)
    c2_hi = np.zeros(n)
    f = np.flatnonzero(fast)
    if f.size:
        args = (beta[f], gamma[f], inv_g2[f], e0[f], p0[f], mm[f])
        c2_lo[f] = ref_cos_star(*args, th_lo[f], -1, (cs_lo[0][f], cs_lo[1][f]))
        c2_hi[f] = ref_cos_star(*args, th_h[f], -1, (cs_h[0][f], cs_h[1][f]))
    if any_rest:
        c1_lo[at_rest] = np.cos(th_hi[at_rest])
        c1_hi[at_rest] = cs_lo[0][at_rest]
    l1 = np.clip(c1_hi - c1_lo, 0.0, None)
    l2 = np.where(fast & ~at_rest, np.clip(c2_hi - c2_lo, 0.0, None), 0.0)
    ltot = np.where(empty | (p0 <= 0.0), 0.0, l1 + l2)
    dphi = np.where((psi > alpha) & ~inside,
                    np.arcsin(np.clip(sin_a / np.where(sin_psi > 0, sin_psi, 1.0), 0.0, 1.0)), np.pi)
    e1, e2 = ref_orthonormal_frame(bhat)
    phi_a = np.arctan2(np.einsum("ij,ij->i", ax, e2), np.einsum("ij,ij->i", ax, e1))
    return {"beta": beta, "gamma": gamma, "e0": e0, "p0": p0, "bhat": bhat, "e1": e1, "e2": e2, "ax": ax,
            "one_minus_cos": cone.one_minus_cos, "inside": inside, "l1": l1, "ltot": ltot, "c1_lo": c1_lo,
            "c2_lo": c2_lo, "dphi": dphi, "phi_a": phi_a, "fast": fast}


def ref_draw_from_band(rng: np.random.Generator, band: dict[str, Array], idx: NDArray[np.intp] | None,
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


def ref_cone_to_sphere(points: ArrayLike, center: ArrayLike, radius: float) -> Cone:
    """The cone of directions from each point that intersect the sphere.

    Half-angle α with sin α = R / D (D = distance point–centre); solid angle
    Ω = 2π (1 − cos α).  Points inside (or on) the sphere see it in all directions:
    cos α = −1, Ω = 4π, and the axis is then +z (arbitrary).

    Parameters
    ----------
    points : (N, 3) cm; center : (3,) cm; radius : cm

    Returns
    -------
    Cone
    """
    c, r = _check_sphere(center, radius)
    p = _as_points(points, "points")
    rel = c - p
    dist = np.sqrt(np.einsum("ij,ij->i", rel, rel))
    inside = dist <= r
    safe = np.where(inside, 1.0, dist)
    axis = rel
    axis /= safe[:, None]  # rel is a fresh array
    if inside.any():
        axis[inside] = (0.0, 0.0, 1.0)
    s2 = np.where(inside, 1.0, (r / safe) ** 2)  # sin² α
    cos_a = np.sqrt(1.0 - s2)
    # 1 − cos α = sin²α / (1 + cos α): no cancellation for distant spheres
    one_minus = np.where(inside, 2.0, s2 / (1.0 + cos_a))
    cos_a = np.where(inside, -1.0, cos_a)
    return Cone(axis, cos_a, one_minus, 2.0 * np.pi * one_minus)


def ref_orthonormal_frame(axis: Array) -> tuple[Array, Array]:
    """Two unit vectors e1, e2 (N, 3) completing unit ``axis`` (N, 3) to a right-handed
    orthonormal basis (e1, e2, axis); branch-free construction of Duff et al., "Building an
    Orthonormal Basis, Revisited", JCGT 6 (2017) 1, stable for every axis direction."""
    x, y, z = axis[:, 0], axis[:, 1], axis[:, 2]
    sign = np.where(z >= 0.0, 1.0, -1.0)
    a = -1.0 / (sign + z)
    b = x * y * a
    e1 = np.empty_like(axis)
    e1[:, 0] = 1.0 + sign * x * x * a
    e1[:, 1] = sign * b
    e1[:, 2] = -sign * x
    e2 = np.empty_like(axis)
    e2[:, 0] = b
    e2[:, 1] = sign + y * y * a
    e2[:, 2] = -y
    return e1, e2


def ref_ray_sphere_intersection(
    origins: ArrayLike, directions: ArrayLike, center: ArrayLike, radius: float
) -> RayIntersection:
    """Exact intersection of forward rays with a sphere.

    Parameters
    ----------
    origins : (N, 3) cm
        Start points of the rays.
    directions : (N, 3)
        **Unit** direction vectors (not re-normalised; a non-unit vector gives distances in
        units of its length).
    center : (3,) cm, radius : cm
        The sphere.

    Returns
    -------
    RayIntersection
        ``entry``, ``exit``, ``chord`` (cm) and ``hit``; see the module conventions (misses
        give zeros, origins inside give ``entry = 0``).
    """
    c, r = _check_sphere(center, radius)
    o = _as_points(origins, "origins")
    d = _as_points(directions, "directions")
    if len(o) != len(d):
        raise ParameterError(f"origins ({len(o)}) and directions ({len(d)}) must have equal length")
    rel = o - c  # centre -> origin
    t_ca = -np.einsum("ij,ij->i", rel, d)  # distance to the point of closest approach
    perp = rel + t_ca[:, None] * d
    b2 = np.einsum("ij,ij->i", perp, perp)
    h2 = r * r - b2
    half = np.sqrt(np.clip(h2, 0.0, None))
    t1 = t_ca - half
    t2 = t_ca + half
    hit = (h2 > 0.0) & (t2 > 0.0)
    entry = np.where(hit, np.maximum(t1, 0.0), 0.0)
    exit_ = np.where(hit, t2, 0.0)
    chord = exit_ - entry
    return RayIntersection(entry, exit_, chord, hit)


def ref_sample_directions_in_cone(rng: np.random.Generator, cone: Cone) -> Array:
    """One direction per row, uniform in solid angle inside the cone (density 1/Ω).

    cos θ (to the axis) is uniform in [cos α, 1] and φ uniform in [0, 2π) (drawn together from
    a uniform point in the unit disc); the local vector is expressed in an orthonormal frame
    around the cone axis.  Sampling is done in
    ``1 − cos θ`` to keep precision for the micro-steradian cones of distant detectors.

    Returns
    -------
    (N, 3) unit vectors.
    """
    axis = cone.axis
    n = len(axis)
    # Marsaglia-style: (a, b) uniform in the unit disc gives r² ~ U(0, 1) and an independent
    # uniform azimuth (a, b)/r, without trigonometric functions.
    a = np.empty(n)
    b = np.empty(n)
    filled = 0
    while filled < n:
        m = int(1.3 * (n - filled)) + 16
        ab = rng.random((2, m)) * 2.0 - 1.0
        r2 = ab[0] * ab[0] + ab[1] * ab[1]
        ok = np.flatnonzero((r2 < 1.0) & (r2 > 0.0))[: n - filled]
        a[filled : filled + len(ok)] = ab[0, ok]
        b[filled : filled + len(ok)] = ab[1, ok]
        filled += len(ok)
    r2 = a * a + b * b
    q = cone.one_minus_cos
    omc = r2 * q  # 1 − cos θ, uniform on [0, 1 − cos α]
    scale = np.sqrt(q * (2.0 - omc))  # sin θ / r
    cx = a * scale
    cy = b * scale
    cz = 1.0 - omc
    e1, e2 = ref_orthonormal_frame(axis)
    return e1 * cx[:, None] + e2 * cy[:, None] + axis * cz[:, None]


def ref_isotropic_directions(rng: np.random.Generator, n: int) -> Array:
    """``n`` unit vectors distributed uniformly on the sphere, shape (n, 3)."""
    cos_t = rng.uniform(-1.0, 1.0, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    sin_t = np.sqrt(1.0 - cos_t**2)
    return np.column_stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t])


def ref_rotate_to_axis(vectors: Array, axis: Array) -> Array:
    """Rotate vectors given in a frame whose z-axis is ``axis`` (unit, shape (N, 3)) into the
    lab frame.  Rodrigues rotation taking ẑ onto ``axis``; rows are independent."""
    v = np.asarray(vectors, float)
    a = np.asarray(axis, float)
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    # k = z × a ; sin = |k| ; cos = a_z
    kx, ky = -a[:, 1], a[:, 0]
    s = np.hypot(kx, ky)
    c = a[:, 2]
    safe = s > 1e-15
    ux = np.where(safe, kx / np.where(safe, s, 1.0), 1.0)
    uy = np.where(safe, ky / np.where(safe, s, 1.0), 0.0)
    # Rodrigues with unit axis u=(ux,uy,0)
    vx, vy, vz = v[:, 0], v[:, 1], v[:, 2]
    udotv = ux * vx + uy * vy
    cross_x = uy * vz
    cross_y = -ux * vz
    cross_z = ux * vy - uy * vx
    out = np.empty_like(v)
    out[:, 0] = vx * c + cross_x * s + ux * udotv * (1 - c)
    out[:, 1] = vy * c + cross_y * s + uy * udotv * (1 - c)
    out[:, 2] = vz * c + cross_z * s
    # anti-parallel axis: rotation by pi about x
    flip = (~safe) & (c < 0)
    if np.any(flip):
        out[flip, 1] = -v[flip, 1]
        out[flip, 2] = -v[flip, 2]
    return out

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
from mesonportal.propagation.forced import _parent_kinematics as ref_parent_kinematics  # unchanged since 0.4.0
from mesonportal.propagation.geometry import Cone, RayIntersection, _as_points, _check_sphere, uniform_in_unit_disc

Array = NDArray[np.float64]


def ref_cos_star(beta, gamma, inv_g2, e0, p0, m, theta, branch: int, cs=None):
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
    cmax = np.where(fast, np.sqrt(np.clip(1.0 - (e0 / (gamma * np.where(mm > 0, mm, 1.0))) ** 2, 0.0, None))
                    / np.where(beta > 0, beta, 1.0), -1.0)
    th_max = np.where(fast, np.arccos(np.clip(cmax, -1.0, 1.0)), np.pi)
    th_h = np.minimum(th_hi, th_max)
    empty = fast & (th_lo >= th_max)
    cs_h = (np.cos(th_h), np.sin(th_h))
    cs_lo = (np.cos(th_lo), np.sin(th_lo))
    c1_lo = ref_cos_star(beta, gamma, inv_g2, e0, p0, mm, th_h, +1, cs_h)
    c1_hi = ref_cos_star(beta, gamma, inv_g2, e0, p0, mm, th_lo, +1, cs_lo)
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
    one_minus = np.where(inside, 2.0, s2 / (1.0 + cos_a))
    cos_a = np.where(inside, -1.0, cos_a)
    return Cone(axis, cos_a, one_minus, 2.0 * np.pi * one_minus)


def ref_orthonormal_frame(axis: Array) -> tuple[Array, Array]:
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
    axis = cone.axis
    n = len(axis)
    a, b = uniform_in_unit_disc(rng, n)  # the rejection loop, unchanged since 0.4.0
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
    cos_t = rng.uniform(-1.0, 1.0, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    sin_t = np.sqrt(1.0 - cos_t**2)
    return np.column_stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t])


def ref_rotate_to_axis(vectors: Array, axis: Array) -> Array:
    v = np.asarray(vectors, float)
    a = np.asarray(axis, float)
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    kx, ky = -a[:, 1], a[:, 0]
    s = np.hypot(kx, ky)
    c = a[:, 2]
    safe = s > 1e-15
    ux = np.where(safe, kx / np.where(safe, s, 1.0), 1.0)
    uy = np.where(safe, ky / np.where(safe, s, 1.0), 0.0)
    vx, vy, vz = v[:, 0], v[:, 1], v[:, 2]
    udotv = ux * vx + uy * vy
    cross_x = uy * vz
    cross_y = -ux * vz
    cross_z = ux * vy - uy * vx
    out = np.empty_like(v)
    out[:, 0] = vx * c + cross_x * s + ux * udotv * (1 - c)
    out[:, 1] = vy * c + cross_y * s + uy * udotv * (1 - c)
    out[:, 2] = vz * c + cross_z * s
    flip = (~safe) & (c < 0)
    if np.any(flip):
        out[flip, 1] = -v[flip, 1]
        out[flip, 2] = -v[flip, 2]
    return out


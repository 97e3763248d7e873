"""Vectorised relativistic kinematics on event arrays (MeV).

Four-vectors are arrays of shape ``(N, 4)`` ordered ``(E, px, py, pz)``; three-vectors ``(N, 3)``.
All functions are pure and work on whole event arrays at once.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def kallen(a, b, c):
    """Källén function λ(a, b, c) = a² + b² + c² − 2ab − 2ac − 2bc."""
    return a * a + b * b + c * c - 2.0 * (a * b + a * c + b * c)


def two_body_momentum(m_parent, m1, m2):
    """Momentum of either daughter in the rest frame of the parent (MeV); 0 if closed."""
    lam = kallen(np.asarray(m_parent, float) ** 2, np.asarray(m1, float) ** 2, np.asarray(m2, float) ** 2)
    return np.sqrt(np.clip(lam, 0.0, None)) / (2.0 * np.asarray(m_parent, float))


def invariant_mass(p4: Array) -> Array:
    """√(E² − |p|²), clipped at 0."""
    m2 = p4[..., 0] ** 2 - np.sum(p4[..., 1:] ** 2, axis=-1)
    return np.sqrt(np.clip(m2, 0.0, None))


def isotropic_directions(rng: np.random.Generator, n: int) -> Array:
    """``n`` unit vectors distributed uniformly on the sphere, shape (n, 3).  Draws n uniforms
    for cos θ, then n for φ."""
    cos_t = rng.uniform(-1.0, 1.0, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    out = np.empty((len(cos_t), 3))
    sin_t = np.multiply(cos_t, cos_t)
    np.subtract(1.0, sin_t, out=sin_t)
    np.sqrt(sin_t, out=sin_t)
    np.multiply(sin_t, np.cos(phi), out=out[:, 0])
    np.multiply(sin_t, np.sin(phi, out=phi), out=out[:, 1])
    out[:, 2] = cos_t
    return out


def directions_from_angles(cos_theta, phi) -> Array:
    """Unit vectors from polar cosine and azimuth, shape (N, 3)."""
    cos_theta = np.asarray(cos_theta, float)
    sin_t = np.sqrt(np.clip(1.0 - cos_theta**2, 0.0, None))
    return np.column_stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_theta])


def rotate_to_axis(vectors: Array, axis: Array) -> Array:
    """Rotate vectors given in a frame whose z-axis is ``axis`` (unit, shape (N, 3)) into the
    lab frame.  Rodrigues rotation taking ẑ onto ``axis``; rows are independent.
    (Component-wise arithmetic, the same operations in the same order as the (N, 3) form.)"""
    v = np.asarray(vectors, float)
    a = np.asarray(axis, float)
    ax, ay, az = a[:, 0], a[:, 1], a[:, 2]
    nrm = ax * ax
    nrm += ay * ay
    nrm += az * az
    np.sqrt(nrm, out=nrm)  # = np.linalg.norm(a, axis=-1)
    # k = z × a ; sin = |k| ; cos = a_z  (of the normalised axis)
    kx = np.divide(ay, nrm)
    np.negative(kx, out=kx)
    ky = np.divide(ax, nrm)
    c = np.divide(az, nrm, out=nrm)
    s = np.hypot(kx, ky)
    safe = s > 1e-15
    if safe.all():
        ux = np.divide(kx, s, out=kx)
        uy = np.divide(ky, s, out=ky)
    else:
        ss = np.where(safe, s, 1.0)
        ux = np.where(safe, kx / ss, 1.0)
        uy = np.where(safe, ky / ss, 0.0)
    # Rodrigues with unit axis u=(ux,uy,0)
    vx, vy, vz = v[:, 0], v[:, 1], v[:, 2]
    omc = 1.0 - c
    udotv = ux * vx
    udotv += uy * vy
    out = np.empty_like(v)
    t = np.empty(len(v))
    # out_x = (vx c + (uy vz) s) + (ux (u·v)) (1 − c)
    o = out[:, 0]
    np.multiply(vx, c, out=o)
    np.multiply(uy, vz, out=t)
    t *= s
    o += t
    np.multiply(ux, udotv, out=t)
    t *= omc
    o += t
    o = out[:, 1]
    np.multiply(vy, c, out=o)
    np.multiply(-ux, vz, out=t)
    t *= s
    o += t
    np.multiply(uy, udotv, out=t)
    t *= omc
    o += t
    o = out[:, 2]
    np.multiply(vz, c, out=o)
    np.multiply(ux, vy, out=t)
    t -= uy * vx
    t *= s
    o += t
    # anti-parallel axis: rotation by pi about x
    flip = (~safe) & (c < 0)
    if np.any(flip):
        out[flip, 1] = -v[flip, 1]
        out[flip, 2] = -v[flip, 2]
    return out


def boost(p4: Array, beta: Array) -> Array:
    """Lorentz-boost four-vectors ``p4`` (N, 4) by velocity ``beta`` (N, 3) (frame moving with
    −beta sees them; i.e. a particle at rest in the parent frame gets velocity ``beta``)."""
    p4 = np.asarray(p4, float)
    beta = np.asarray(beta, float)
    b2 = np.sum(beta * beta, axis=-1)
    gamma = 1.0 / np.sqrt(np.clip(1.0 - b2, 1e-300, None))
    bp = np.sum(beta * p4[:, 1:], axis=-1)
    gamma2 = np.where(b2 > 0, (gamma - 1.0) / np.where(b2 > 0, b2, 1.0), 0.0)
    out = np.empty_like(p4)
    out[:, 0] = gamma * (p4[:, 0] + bp)
    out[:, 1:] = p4[:, 1:] + (gamma2 * bp + gamma * p4[:, 0])[:, None] * beta
    return out


def beta_of(p4: Array) -> Array:
    """Velocity three-vector p/E, shape (N, 3)."""
    return p4[:, 1:] / p4[:, :1]


def four_vector(mass, p3: Array) -> Array:
    """Build (E, p) from a mass (scalar or (N,)) and momenta (N, 3)."""
    p3 = np.asarray(p3, float)
    e = np.sqrt(np.sum(p3 * p3, axis=-1) + np.asarray(mass, float) ** 2)
    return np.column_stack([e, p3])


def two_body_decay(
    rng: np.random.Generator, parent_p4: Array, m1: float, m2: float
) -> tuple[Array, Array]:
    """Isotropic (in the parent rest frame) two-body decays of every parent; returns the two
    daughters' lab four-vectors."""
    n = len(parent_p4)
    m_parent = invariant_mass(parent_p4)
    p = two_body_momentum(m_parent, m1, m2)
    d = isotropic_directions(rng, n)
    p1 = four_vector(m1, d * p[:, None])
    p2 = four_vector(m2, -d * p[:, None])
    beta = beta_of(parent_p4)
    return boost(p1, beta), boost(p2, beta)

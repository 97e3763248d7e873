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
    """``n`` unit vectors distributed uniformly on the sphere, shape (n, 3)."""
    cos_t = rng.uniform(-1.0, 1.0, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    sin_t = np.sqrt(1.0 - cos_t**2)
    return np.column_stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t])


def directions_from_angles(cos_theta, phi) -> Array:
    """Unit vectors from polar cosine and azimuth, shape (N, 3)."""
    cos_theta = np.asarray(cos_theta, float)
    sin_t = np.sqrt(np.clip(1.0 - cos_theta**2, 0.0, None))
    return np.column_stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_theta])


def rotate_to_axis(vectors: Array, axis: Array) -> Array:
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
